//! Times the training study of a scenario file (default `scenarios/training.toml`)
//! in its full and quick forms and prints headline numbers:
//! `cargo run --release -p softmax-lab-training --example time_study [-- FILE [quick|full]]`.

use std::time::Instant;

use softmax_lab_training::{run, Factor, RawSpec};

/// The parts of a scenario file this example needs (other fields are ignored).
#[derive(serde::Deserialize)]
struct File {
    seed: u64,
    training: RawSpec,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .map_or("scenarios/training.toml", String::as_str);
    let forms: Vec<bool> = match args.get(2).map(String::as_str) {
        Some("quick") => vec![true],
        Some("full") => vec![false],
        _ => vec![true, false],
    };
    let text = std::fs::read_to_string(path)?;
    let file: File = toml::from_str(&text)?;
    for quick in forms {
        let spec = file
            .training
            .validate(quick)
            .map_err(|e| format!("{path}: {e:?}"))?;
        let start = Instant::now();
        let out = run(&spec, file.seed)?;
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{} form: {:.1} s, {} epoch rows, {} comparisons",
            if quick { "quick" } else { "full" },
            secs,
            out.epochs.len(),
            out.comparisons.len()
        );
        for c in &out.comparisons {
            let interesting = matches!(
                c.metric,
                "final_accuracy"
                    | "final_prob_sum_mean"
                    | "final_prob_sum_above_one_fraction"
                    | "final_log_loss_std"
                    | "train_loss_rises"
                    | "early_accuracy"
                    | "epochs_to_target_accuracy"
                    | "final_true_prob_mae"
                    | "final_log_loss"
            );
            if interesting {
                let arm = |h: softmax_lab_training::Head, s: bool| {
                    format!("{}{}", h.name(), if s { "+std" } else { "" })
                };
                println!(
                    "  {:<15} {:<13} {:<6} {:<24} vs {:<24} {:<34} {:>9.4} vs {:>9.4}  t {:>8.2}  p {:.2e}",
                    if c.factor == Factor::Head { "head" } else { "standardisation" },
                    c.dataset.name(),
                    c.model.name(),
                    arm(c.head_a, c.standardised_a),
                    arm(c.head_b, c.standardised_b),
                    c.metric,
                    c.a.value,
                    c.b.value,
                    c.test.t,
                    c.test.p
                );
            }
        }
    }
    Ok(())
}
