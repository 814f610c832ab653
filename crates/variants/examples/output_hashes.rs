//! One hash per variant of its forward and backward outputs on fixed-seed rows
//! (every supported dtype, several row lengths and temperatures, special values
//! included): a refactoring that moves kernels must leave every line unchanged.
//! `SOFTMAX_LAB_SIMD=portable` checks the portable paths.
//!
//! `cargo run -p softmax-lab-variants --example output_hashes > hashes.txt`

use softmax_lab_core::variant::{forward_backward_f64, forward_f64};
use softmax_lab_core::{Options, VariantError};

/// splitmix64: a seeded stream without dependencies.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [-1, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 * 2f64.powi(-52) - 1.0
    }
}

/// FNV-1a over the bits of the values.
fn fnv(h: &mut u64, v: &[f64]) {
    for x in v {
        for b in x.to_bits().to_le_bytes() {
            *h ^= b as u64;
            *h = h.wrapping_mul(0x100_0000_01b3);
        }
    }
}

fn rows(seed: u64, n: usize, scale: f64, special: bool) -> Vec<f64> {
    let mut r = Rng(seed);
    let mut x: Vec<f64> = (0..3 * n).map(|_| scale * r.unit()).collect();
    if special && n > 2 {
        x[n + 1] = f64::INFINITY;
        x[2 * n] = f64::NEG_INFINITY;
        x[2 * n + 2] = f64::NAN;
    }
    x
}

fn main() {
    let reg = softmax_lab_variants::registry();
    for v in reg.iter() {
        let info = v.info();
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        let mut calls = 0;
        for &dtype in info.dtypes {
            for (k, &n) in [1usize, 3, 17, 40, 255, 4099].iter().enumerate() {
                for (s, &scale) in [1.0, 30.0, 800.0].iter().enumerate() {
                    for special in [false, true] {
                        let temps: &[f64] = if info.temperature {
                            &[1.0, 0.7, 3.0]
                        } else {
                            &[1.0]
                        };
                        let seed = (k * 10 + s) as u64 * 2 + special as u64;
                        let x = rows(seed, n, scale, special);
                        let dy = rows(seed + 1000, n, 1.0, false);
                        for &t in temps {
                            let opts = Options { temperature: t };
                            match forward_backward_f64(v.as_ref(), dtype, &x, &dy, n, &opts) {
                                Ok((y, dx)) => {
                                    fnv(&mut h, &y);
                                    fnv(&mut h, &dx);
                                }
                                Err(VariantError::NoBackward(_)) => {
                                    let y = forward_f64(v.as_ref(), dtype, &x, n, &opts)
                                        .expect("forward runs");
                                    fnv(&mut h, &y);
                                }
                                Err(e) => panic!("{}: {e}", info.id),
                            }
                            calls += 1;
                        }
                    }
                }
            }
        }
        println!("{:<28} {calls:>4} calls  {h:016x}", info.id);
    }
}
