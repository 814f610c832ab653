//! A fake peer for the command protocol (the tests' fixture): a plain shifted
//! softmax, log-softmax or sigmoid in f64 (outputs rounded to the dtype), that
//! misbehaves on request.
//!
//! `sl-fake-peer [MODE]`, MODE one of: `ok` (default), `exit-at-hello`,
//! `exit-mid-call`, `hang` (at the first forward, blocks reading stdin forever),
//! `malformed` (a reply line that is not JSON), `missing-bytes` (a reply without
//! `bytes`), `short` (announces more bytes than it sends, then exits),
//! `wrong-length` (one element too many), `not-ok` (`ok:false`), `unavailable`
//! (hello answers that its package is missing).

use std::io::{BufRead, BufReader, Read, Write};
use std::time::Instant;

use serde_json::{json, Value};

fn size_of(dtype: &str) -> usize {
    match dtype {
        "f16" | "bf16" => 2,
        "f32" => 4,
        _ => 8,
    }
}

fn decode(dtype: &str, b: &[u8]) -> Vec<f64> {
    match dtype {
        "f16" => b
            .chunks_exact(2)
            .map(|c| half::f16::from_bits(u16::from_le_bytes([c[0], c[1]])).to_f64())
            .collect(),
        "bf16" => b
            .chunks_exact(2)
            .map(|c| half::bf16::from_bits(u16::from_le_bytes([c[0], c[1]])).to_f64())
            .collect(),
        "f32" => b
            .chunks_exact(4)
            .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
        _ => b
            .chunks_exact(8)
            .map(|c| {
                let mut a = [0u8; 8];
                a.copy_from_slice(c);
                f64::from_le_bytes(a)
            })
            .collect(),
    }
}

fn encode(dtype: &str, v: &[f64]) -> Vec<u8> {
    let mut out = Vec::new();
    for &x in v {
        match dtype {
            "f16" => out.extend(half::f16::from_f64(x).to_bits().to_le_bytes()),
            "bf16" => out.extend(half::bf16::from_f64(x).to_bits().to_le_bytes()),
            "f32" => out.extend((x as f32).to_le_bytes()),
            _ => out.extend(x.to_le_bytes()),
        }
    }
    out
}

fn forward_row(function: &str, x: &[f64], t: f64, y: &mut [f64]) {
    match function {
        "sigmoid" => {
            for (o, &v) in y.iter_mut().zip(x) {
                *o = 1.0 / (1.0 + (-v).exp());
            }
        }
        _ => {
            let m = x.iter().fold(f64::NEG_INFINITY, |a, &v| a.max(v / t));
            let s: f64 = x.iter().map(|&v| (v / t - m).exp()).sum();
            for (o, &v) in y.iter_mut().zip(x) {
                *o = if function == "log_softmax" {
                    (v / t - m) - s.ln()
                } else {
                    (v / t - m).exp() / s
                };
            }
        }
    }
}

fn backward_row(function: &str, y: &[f64], dy: &[f64], t: f64, dx: &mut [f64]) {
    match function {
        "sigmoid" => {
            for i in 0..y.len() {
                dx[i] = dy[i] * y[i] * (1.0 - y[i]);
            }
        }
        "log_softmax" => {
            let s: f64 = dy.iter().sum();
            for i in 0..y.len() {
                dx[i] = (dy[i] - y[i].exp() * s) / t;
            }
        }
        _ => {
            let dot: f64 = dy.iter().zip(y).map(|(a, b)| a * b).sum();
            for i in 0..y.len() {
                dx[i] = y[i] * (dy[i] - dot) / t;
            }
        }
    }
}

fn forward(function: &str, x: &[f64], n: usize, t: f64) -> Vec<f64> {
    let mut y = vec![0.0; x.len()];
    for (xr, yr) in x.chunks(n).zip(y.chunks_mut(n)) {
        forward_row(function, xr, t, yr);
    }
    y
}

fn backward(function: &str, y: &[f64], dy: &[f64], n: usize, t: f64) -> Vec<f64> {
    let mut dx = vec![0.0; y.len()];
    for ((yr, gr), dr) in y.chunks(n).zip(dy.chunks(n)).zip(dx.chunks_mut(n)) {
        backward_row(function, yr, gr, t, dr);
    }
    dx
}

fn reply(out: &mut impl Write, header: &Value, bytes: &[u8]) {
    let _ = out.write_all(format!("{header}\n").as_bytes());
    let _ = out.write_all(bytes);
    let _ = out.flush();
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "ok".into());
    let stdin = std::io::stdin();
    let mut input = BufReader::new(stdin.lock());
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut line = String::new();
    loop {
        line.clear();
        match input.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let Ok(h) = serde_json::from_str::<Value>(&line) else {
            return;
        };
        let text = |k: &str| {
            h.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let num = |k: &str| h.get(k).and_then(Value::as_u64).unwrap_or(0) as usize;
        match text("op").as_str() {
            "hello" => match mode.as_str() {
                "exit-at-hello" => std::process::exit(3),
                "unavailable" => reply(
                    &mut out,
                    &json!({"ok": false, "unavailable": true, "error": "fakepkg is not installed"}),
                    &[],
                ),
                _ => reply(
                    &mut out,
                    &json!({"ok": true, "name": "fake peer", "versions": {"fake": "0.1"}}),
                    &[],
                ),
            },
            "bye" => return,
            op @ ("forward" | "backward" | "time") => {
                let (dtype, function) = (text("dtype"), text("function"));
                let (rows, n) = (num("rows"), num("n"));
                let t = h.get("temperature").and_then(Value::as_f64).unwrap_or(1.0);
                let len = rows * n * size_of(&dtype);
                let streams = match (op, text("direction").as_str()) {
                    ("backward", _) => 3,
                    ("time", "backward") => 2,
                    _ => 1,
                };
                let mut data = vec![0u8; streams * len];
                if mode == "hang" {
                    // Block on stdin forever: the runner sends no more than the call.
                    let _ = input.read_to_end(&mut data);
                    return;
                }
                if input.read_exact(&mut data).is_err() {
                    return;
                }
                match mode.as_str() {
                    "exit-mid-call" => std::process::exit(4),
                    "malformed" => {
                        reply(&mut out, &json!("this is not an object"), &[]);
                        let _ = out.write_all(b"oops\n");
                        continue;
                    }
                    "not-ok" => {
                        reply(
                            &mut out,
                            &json!({"ok": false, "error": "fake failure"}),
                            &[],
                        );
                        continue;
                    }
                    _ => {}
                }
                let x = decode(&dtype, &data[..len]);
                if op == "time" {
                    let (samples, reps) = (num("samples").max(1), num("reps").max(1));
                    // Backward: y computed once, before timing, as the protocol says.
                    let backward_of = (text("direction") == "backward").then(|| {
                        let y = forward(&function, &x, n.max(1), t);
                        let dy = decode(&dtype, &data[len..]);
                        (y, dy)
                    });
                    let mut ns = Vec::new();
                    for _ in 0..samples {
                        let start = Instant::now();
                        for _ in 0..reps {
                            match &backward_of {
                                Some((y, dy)) => {
                                    std::hint::black_box(backward(&function, y, dy, n.max(1), t));
                                }
                                None => {
                                    std::hint::black_box(forward(&function, &x, n.max(1), t));
                                }
                            }
                        }
                        ns.push(start.elapsed().as_nanos() as u64);
                    }
                    reply(&mut out, &json!({"ok": true, "sample_ns": ns}), &[]);
                    continue;
                }
                let result = if op == "forward" {
                    forward(&function, &x, n.max(1), t)
                } else {
                    let y = decode(&dtype, &data[len..2 * len]);
                    let dy = decode(&dtype, &data[2 * len..]);
                    backward(&function, &y, &dy, n.max(1), t)
                };
                let mut bytes = encode(&dtype, &result);
                match mode.as_str() {
                    "missing-bytes" => reply(&mut out, &json!({"ok": true}), &bytes),
                    "short" => {
                        reply(
                            &mut out,
                            &json!({"ok": true, "bytes": bytes.len()}),
                            &bytes[..bytes.len() / 2],
                        );
                        return;
                    }
                    "wrong-length" => {
                        bytes.extend(vec![0u8; size_of(&dtype)]);
                        reply(&mut out, &json!({"ok": true, "bytes": bytes.len()}), &bytes);
                    }
                    _ => reply(&mut out, &json!({"ok": true, "bytes": bytes.len()}), &bytes),
                }
            }
            other => reply(
                &mut out,
                &json!({"ok": false, "error": format!("unknown op '{other}'")}),
                &[],
            ),
        }
    }
}
