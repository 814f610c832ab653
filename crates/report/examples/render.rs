//! Render a report without the CLI (quick to build while working on the renderer):
//! `cargo run -p softmax-lab-report --example render -- RESULTS_DIR OUT_DIR`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1);
    let (Some(results), Some(out)) = (args.next(), args.next()) else {
        return Err("usage: render RESULTS_DIR OUT_DIR".into());
    };
    let start = std::time::Instant::now();
    let summary = softmax_lab_report::render(&softmax_lab_report::Options {
        results_dir: results.into(),
        out_dir: out.into(),
    })?;
    println!(
        "{} scenarios, {} plot files in {:.2} s; failed: {:?}",
        summary.scenarios.len(),
        summary.plots.len(),
        start.elapsed().as_secs_f64(),
        summary.failed
    );
    Ok(())
}
