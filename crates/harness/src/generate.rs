//! The input generators: seeded, deterministic rows of logits, drawn with statrs
//! distributions from a ChaCha8 stream.
//!
//! A stream depends only on the scenario's seed, the generator's index and the row
//! length, never on the dtype, the scale or the thread that runs it: every dtype
//! and every scale of a sweep sees the same underlying draws, so a sweep isolates
//! the effect of the scale. Values are generated in f64, multiplied by the scale and
//! rounded once to the dtype (`Format::round_f64`); the rounded values are what both
//! the variant and the reference see. `near_ties` alone works in the dtype's grid,
//! since ties exist only there.

use rand::distributions::Distribution;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use softmax_lab_core::dtype::{exponent_of, pow2};
use softmax_lab_core::DType;
use statrs::distribution::{Bernoulli, Cauchy, DiscreteUniform, Normal, Uniform};

use crate::results::Key;
use crate::scenario::{Dist, Kind};

/// One point of a scenario: a batch of generated rows (already values of the
/// dtype) and where it sits in the sweep. What every measurement module takes.
#[derive(Clone, Debug)]
pub struct Input {
    /// The scenario name.
    pub scenario: String,
    /// The measurement kind.
    pub kind: Kind,
    /// The dtype the values are in.
    pub dtype: DType,
    /// Row length.
    pub n: usize,
    /// Number of rows.
    pub rows: usize,
    /// The generator's label.
    pub generator: String,
    /// The logit scale the generator's values were multiplied by.
    pub scale: f64,
    /// The temperature to run at.
    pub temperature: f64,
    /// `rows * n` values, row-major.
    pub x: Vec<f64>,
    /// Run each variant's call with flush-to-zero and denormals-are-zero set
    /// (`softmax_lab_core::fpenv`); the reference never is.
    pub flush_subnormals: bool,
}

impl Input {
    /// The key columns of a record of `variant` at this point.
    pub fn key(&self, variant: &str) -> Key {
        Key {
            scenario: self.scenario.clone(),
            kind: self.kind,
            variant: variant.to_string(),
            dtype: self.dtype,
            n: self.n,
            rows: self.rows,
            generator: self.generator.clone(),
            temperature: self.temperature,
            scale: self.scale,
        }
    }

    /// A variant's refusal at this point, with its context.
    pub fn variant_error(
        &self,
        variant: &str,
        source: softmax_lab_core::VariantError,
    ) -> crate::HarnessError {
        crate::HarnessError::Variant {
            scenario: self.scenario.clone(),
            variant: variant.to_string(),
            dtype: self.dtype.name().to_string(),
            source: Box::new(source),
        }
    }

    /// The options a variant runs with at this point.
    pub fn options(&self) -> softmax_lab_core::Options {
        softmax_lab_core::Options {
            temperature: self.temperature,
        }
    }
}

/// SplitMix64's finaliser: a bijective mix of 64 bits.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A generator stream for `seed` and a path of integers (generator index, row
/// length, purpose): distinct paths give independent-looking streams.
pub fn stream(seed: u64, path: &[u64]) -> ChaCha8Rng {
    let s = path.iter().fold(mix(seed), |acc, &p| mix(acc ^ mix(p)));
    ChaCha8Rng::seed_from_u64(s)
}

/// A distribution parameter that statrs refused: validation should have caught it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid parameters for dist '{dist}': {message}")]
pub struct GenerateError {
    /// The dist name.
    pub dist: &'static str,
    /// statrs's message.
    pub message: String,
}

fn bad(dist: &'static str) -> impl Fn(String) -> GenerateError {
    move |message| GenerateError { dist, message }
}

fn normal(dist: &'static str, mean: f64, std: f64) -> Result<Normal, GenerateError> {
    Normal::new(mean, std).map_err(|e| bad(dist)(e.to_string()))
}

/// `rows` rows of `n` values of `dist`, times `scale`, rounded to `dtype`.
/// Deterministic for a given `rng` state; never NaN for valid parameters (callers
/// still check, since a NaN here would be scored as if it were data).
pub fn generate(
    dist: &Dist,
    dtype: DType,
    n: usize,
    rows: usize,
    scale: f64,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<f64>, GenerateError> {
    let f = dtype.format();
    // A size the allocator refuses is an error here, not an abort of the process.
    let too_large = || bad(dist.name())(format!("cannot allocate {n} x {rows} values"));
    let len = n.checked_mul(rows).ok_or_else(too_large)?;
    let mut v: Vec<f64> = Vec::new();
    v.try_reserve_exact(len).map_err(|_| too_large())?;
    let raw: Vec<f64> = match *dist {
        Dist::Normal { mean, std } => {
            let d = normal("normal", mean, std)?;
            v.extend((0..len).map(|_| d.sample(rng) * scale));
            v
        }
        Dist::Uniform { low, high } => {
            let d = Uniform::new(low, high).map_err(|e| bad("uniform")(e.to_string()))?;
            v.extend((0..len).map(|_| d.sample(rng) * scale));
            v
        }
        Dist::Cauchy { location, width } => {
            let d = Cauchy::new(location, width).map_err(|e| bad("cauchy")(e.to_string()))?;
            v.extend((0..len).map(|_| d.sample(rng) * scale));
            v
        }
        Dist::Spike { height, std } => {
            let d = normal("spike", 0.0, std)?;
            let at =
                DiscreteUniform::new(0, n as i64 - 1).map_err(|e| bad("spike")(e.to_string()))?;
            for _ in 0..rows {
                let k: i64 = at.sample(rng);
                let start = v.len();
                v.extend((0..n).map(|_| d.sample(rng) * scale));
                v[start + k as usize] = height * scale;
            }
            v
        }
        Dist::NearTies { center, ulps } => {
            let c = f.round_f64(center * scale);
            let step = if c == 0.0 || !c.is_finite() {
                f.min_subnormal()
            } else {
                pow2(f.quantum_exponent(exponent_of(c) as i64) as i32)
            };
            let k = DiscreteUniform::new(-(ulps as i64), ulps as i64)
                .map_err(|e| bad("near_ties")(e.to_string()))?;
            v.extend((0..len).map(|_| {
                let j: i64 = k.sample(rng);
                c + j as f64 * step
            }));
            v
        }
        Dist::Linspace { low, high } => {
            let row: Vec<f64> = (0..n)
                .map(|i| {
                    let t = if n == 1 {
                        0.0
                    } else {
                        i as f64 / (n - 1) as f64
                    };
                    (low + t * (high - low)) * scale
                })
                .collect();
            v.extend((0..rows).flat_map(|_| row.iter().copied()));
            v
        }
        Dist::Masked { fraction, std } => {
            let d = normal("masked", 0.0, std)?;
            let m = Bernoulli::new(fraction).map_err(|e| bad("masked")(e.to_string()))?;
            for _ in 0..rows {
                let start = v.len();
                for _ in 0..n {
                    let masked: bool = m.sample(rng);
                    let x = d.sample(rng) * scale;
                    v.push(if masked { f64::NEG_INFINITY } else { x });
                }
                // A row of nothing but −inf has no softmax; keep its first entry.
                if v[start..].iter().all(|x| *x == f64::NEG_INFINITY) {
                    v[start] = 0.0;
                }
            }
            v
        }
    };
    Ok(raw.into_iter().map(|x| f.round_f64(x)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_dists() -> Vec<Dist> {
        vec![
            Dist::Normal {
                mean: 0.0,
                std: 1.0,
            },
            Dist::Uniform {
                low: -1.0,
                high: 1.0,
            },
            Dist::Cauchy {
                location: 0.0,
                width: 1.0,
            },
            Dist::Spike {
                height: 10.0,
                std: 1e-3,
            },
            Dist::NearTies {
                center: 1.0,
                ulps: 3,
            },
            Dist::Linspace {
                low: -1.0,
                high: 1.0,
            },
            Dist::Masked {
                fraction: 0.5,
                std: 1.0,
            },
        ]
    }

    #[test]
    fn same_seed_same_values_and_never_nan() {
        for dist in all_dists() {
            for dtype in DType::ALL {
                for scale in [1.0, 1e3, 1e5] {
                    let a = generate(&dist, dtype, 17, 9, scale, &mut stream(7, &[1, 17]));
                    let b = generate(&dist, dtype, 17, 9, scale, &mut stream(7, &[1, 17]));
                    let (a, b) = (a.unwrap_or_default(), b.unwrap_or_default());
                    assert_eq!(a.len(), 17 * 9, "{dist:?}");
                    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&a), bits(&b), "{dist:?} {dtype}");
                    assert!(a.iter().all(|x| !x.is_nan()), "{dist:?} {dtype} {scale}");
                    // Every value is a value of the dtype.
                    for &x in &a {
                        assert_eq!(dtype.format().round_f64(x).to_bits(), x.to_bits());
                    }
                }
            }
        }
    }

    #[test]
    fn other_seed_other_values_and_scale_only_scales() {
        let d = Dist::Normal {
            mean: 0.0,
            std: 1.0,
        };
        let a = generate(&d, DType::F64, 8, 2, 1.0, &mut stream(1, &[0, 8])).unwrap_or_default();
        let b = generate(&d, DType::F64, 8, 2, 1.0, &mut stream(2, &[0, 8])).unwrap_or_default();
        let c = generate(&d, DType::F64, 8, 2, 4.0, &mut stream(1, &[0, 8])).unwrap_or_default();
        assert_ne!(a, b);
        for (x, y) in a.iter().zip(&c) {
            assert_eq!(x * 4.0, *y);
        }
    }

    #[test]
    fn shapes_of_the_special_generators() {
        let mut r = stream(3, &[0]);
        let spike = Dist::Spike {
            height: 10.0,
            std: 1e-3,
        };
        let v = generate(&spike, DType::F32, 100, 4, 2.0, &mut r).unwrap_or_default();
        for row in v.chunks(100) {
            assert_eq!(row.iter().filter(|&&x| x == 20.0).count(), 1);
            assert!(row.iter().filter(|&&x| x != 20.0).all(|x| x.abs() < 0.1));
        }
        let ties = Dist::NearTies {
            center: 1000.0,
            ulps: 2,
        };
        let v = generate(&ties, DType::F16, 50, 1, 1.0, &mut r).unwrap_or_default();
        // f16 spacing at 1000 is 0.5: every value is 1000 ± k/2, k <= 2.
        assert!(v
            .iter()
            .all(|&x| (x - 1000.0).abs() <= 1.0 && (2.0 * x).fract() == 0.0));
        let masked = Dist::Masked {
            fraction: 0.9,
            std: 1.0,
        };
        let v = generate(&masked, DType::F32, 3, 200, 1.0, &mut r).unwrap_or_default();
        for row in v.chunks(3) {
            assert!(row.iter().any(|x| x.is_finite()), "{row:?}");
        }
        assert!(v.contains(&f64::NEG_INFINITY));
        let lin = Dist::Linspace {
            low: -1.0,
            high: 1.0,
        };
        let v = generate(&lin, DType::F64, 5, 1, 10.0, &mut r).unwrap_or_default();
        assert_eq!(v, vec![-10.0, -5.0, 0.0, 5.0, 10.0]);
    }
}
