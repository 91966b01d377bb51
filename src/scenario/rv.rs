//! Random variables: one [`Sampler`] type built from an [`RvConfig`].
//!
//! The semantics are this project's, not AsyncFlow v0.1's (see the migration table
//! in `docs/scenario.md`): every distribution has the mean the file says, and
//! `variance` really is a variance.
//!
//! | distribution | sample |
//! |---|---|
//! | `exponential` | Exp with the given mean |
//! | `poisson` | Poisson(mean), as f64 |
//! | `normal` | Normal(mean, sqrt(variance)), resampled until >= 0 |
//! | `log_normal` | log-normal whose own mean and variance are `mean`, `variance` |
//! | `uniform` | U(mean - sqrt(3 var), mean + sqrt(3 var)), or U(0, 2 mean); clamped >= 0 |

use rand::Rng;
use rand::RngExt;
use rand::distr::Uniform;
use rand_distr::{Distribution as _, Exp, LogNormal, Normal, Poisson};

use super::schema::{Distribution, RvConfig, StepValue};

/// How many rejected draws a truncated normal tolerates before returning 0.
///
/// Validation keeps means positive, so each draw is accepted with probability at
/// least 1/2 and 64 rejections in a row have probability < 1e-19; the cap only
/// guarantees termination.
const MAX_NORMAL_REJECTIONS: u32 = 64;

/// A ready-to-draw random variable (or constant).
#[derive(Debug, Clone)]
pub enum Sampler {
    /// Always the same value.
    Constant(f64),
    /// Exponential.
    Exponential(Exp<f64>),
    /// Poisson.
    Poisson(Poisson<f64>),
    /// Normal truncated to >= 0 by rejection.
    Normal(Normal<f64>),
    /// Log-normal parameterised by its own mean and variance.
    LogNormal(LogNormal<f64>),
    /// Uniform, clamped to >= 0.
    Uniform(Uniform<f64>),
}

/// An [`RvConfig`] whose parameters no distribution accepts.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{distribution} with mean {mean} and variance {variance:?}: {reason}")]
pub struct SamplerError {
    /// The distribution asked for.
    pub distribution: &'static str,
    /// The mean given.
    pub mean: f64,
    /// The variance given, if any.
    pub variance: Option<f64>,
    /// Why it was refused.
    pub reason: &'static str,
}

impl Sampler {
    /// Build a sampler; fails for non-finite or out-of-range parameters.
    pub fn new(rv: &RvConfig) -> Result<Sampler, SamplerError> {
        let err = |reason| SamplerError {
            distribution: rv.distribution.as_str(),
            mean: rv.mean,
            variance: rv.variance,
            reason,
        };
        let mean = rv.mean;
        if !mean.is_finite() || mean < 0.0 {
            return Err(err("the mean must be a finite number >= 0"));
        }
        if let Some(v) = rv.variance
            && (!v.is_finite() || v < 0.0)
        {
            return Err(err("the variance must be a finite number >= 0"));
        }
        if mean == 0.0 {
            return Ok(Sampler::Constant(0.0));
        }
        Ok(match rv.distribution {
            Distribution::Exponential => {
                Sampler::Exponential(Exp::new(1.0 / mean).map_err(|_| err("bad rate"))?)
            }
            Distribution::Poisson => {
                Sampler::Poisson(Poisson::new(mean).map_err(|_| err("mean too large"))?)
            }
            Distribution::Normal => {
                let var = rv.variance.unwrap_or(mean);
                if var == 0.0 {
                    Sampler::Constant(mean)
                } else {
                    Sampler::Normal(Normal::new(mean, var.sqrt()).map_err(|_| err("bad std"))?)
                }
            }
            Distribution::LogNormal => {
                let var = rv.variance.unwrap_or(mean);
                if var == 0.0 {
                    Sampler::Constant(mean)
                } else {
                    // If X = exp(N(mu, s^2)), E[X] = exp(mu + s^2/2) and
                    // Var[X] = (exp(s^2) - 1) E[X]^2; solve for mu and s^2.
                    let s2 = (1.0 + var / (mean * mean)).ln();
                    let mu = mean.ln() - s2 / 2.0;
                    Sampler::LogNormal(LogNormal::new(mu, s2.sqrt()).map_err(|_| err("bad sigma"))?)
                }
            }
            Distribution::Uniform => {
                let (lo, hi) = match rv.variance {
                    Some(v) => {
                        let half = (3.0 * v).sqrt();
                        (mean - half, mean + half)
                    }
                    None => (0.0, 2.0 * mean),
                };
                if lo == hi {
                    Sampler::Constant(mean)
                } else {
                    Sampler::Uniform(Uniform::new(lo, hi).map_err(|_| err("empty range"))?)
                }
            }
        })
    }

    /// A sampler for a step value: a constant or a random variable.
    pub fn for_step(value: &StepValue) -> Result<Sampler, SamplerError> {
        match value {
            StepValue::Fixed(v) => Ok(Sampler::Constant(*v)),
            StepValue::Random(rv) => Sampler::new(rv),
        }
    }

    /// Whether every draw is the same value (and consumes no randomness).
    pub fn is_constant(&self) -> bool {
        matches!(self, Sampler::Constant(_))
    }

    /// Draw one value (>= 0). Always inlined: it sits on the engine's hottest
    /// paths (an edge's latency, a step's duration), where an out-of-line call
    /// per draw was measured at ~30 M instructions on lb10 (20 s).
    #[inline(always)]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match self {
            Sampler::Constant(v) => *v,
            Sampler::Exponential(d) => d.sample(rng),
            Sampler::Poisson(d) => d.sample(rng),
            Sampler::Normal(d) => {
                for _ in 0..MAX_NORMAL_REJECTIONS {
                    let x = d.sample(rng);
                    if x >= 0.0 {
                        return x;
                    }
                }
                0.0
            }
            Sampler::LogNormal(d) => d.sample(rng),
            Sampler::Uniform(d) => rng.sample(d).max(0.0),
        }
    }
}

#[cfg(test)]
mod tests {
    //! Each sampler's sample mean and variance against the documented values.
    //!
    //! With n draws of a variable with variance s^2, the sample mean has standard
    //! error s / sqrt(n); the sample variance has standard error
    //! sqrt((mu4 - s^4) / n), where mu4 is the fourth central moment. Each check
    //! allows 5 standard errors (two-sided false-alarm rate ~ 6e-7 per check), with
    //! fixed seeds so a pass is repeatable.
    use super::*;
    use rand::SeedableRng;
    use rand_pcg::Pcg64;

    const N: usize = 400_000;

    fn moments(s: &Sampler, seed: u64) -> (f64, f64) {
        let mut rng = Pcg64::seed_from_u64(seed);
        let xs: Vec<f64> = (0..N).map(|_| s.sample(&mut rng)).collect();
        let m = xs.iter().sum::<f64>() / N as f64;
        let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (N as f64 - 1.0);
        (m, v)
    }

    /// Assert mean and variance within 5 standard errors; `mu4` is the fourth
    /// central moment of the distribution.
    fn check(rv: RvConfig, mean: f64, var: f64, mu4: f64) {
        let s = Sampler::new(&rv).unwrap();
        let (m, v) = moments(&s, 7);
        let n = N as f64;
        let se_mean = (var / n).sqrt();
        let se_var = ((mu4 - var * var) / n).sqrt();
        assert!(
            (m - mean).abs() < 5.0 * se_mean,
            "{rv:?}: mean {m} vs {mean} (se {se_mean})"
        );
        assert!(
            (v - var).abs() < 5.0 * se_var,
            "{rv:?}: var {v} vs {var} (se {se_var})"
        );
    }

    #[test]
    fn exponential_has_the_given_mean() {
        // Exp(rate 1/m): variance m^2, fourth central moment 9 m^4.
        let m: f64 = 0.003;
        check(
            RvConfig::new(Distribution::Exponential, m),
            m,
            m * m,
            9.0 * m.powi(4),
        );
    }

    #[test]
    fn poisson_mean_and_variance_equal_lambda() {
        // Poisson(l): variance l, fourth central moment l (1 + 3 l).
        let l = 20.0;
        check(
            RvConfig::new(Distribution::Poisson, l),
            l,
            l,
            l * (1.0 + 3.0 * l),
        );
    }

    #[test]
    fn normal_uses_variance_as_variance() {
        // Mean 100, variance 25: truncation at 0 is 20 sd away, negligible.
        let rv = RvConfig {
            mean: 100.0,
            distribution: Distribution::Normal,
            variance: Some(25.0),
        };
        check(rv, 100.0, 25.0, 3.0 * 25.0 * 25.0);
    }

    #[test]
    fn normal_variance_defaults_to_mean() {
        check(
            RvConfig::new(Distribution::Normal, 400.0),
            400.0,
            400.0,
            3.0 * 400.0 * 400.0,
        );
    }

    #[test]
    fn normal_with_zero_variance_is_constant() {
        let rv = RvConfig {
            mean: 5.0,
            distribution: Distribution::Normal,
            variance: Some(0.0),
        };
        assert!(Sampler::new(&rv).unwrap().is_constant());
    }

    #[test]
    fn normal_is_truncated_at_zero() {
        let rv = RvConfig {
            mean: 1.0,
            distribution: Distribution::Normal,
            variance: Some(4.0),
        };
        let s = Sampler::new(&rv).unwrap();
        let mut rng = Pcg64::seed_from_u64(3);
        assert!((0..100_000).all(|_| s.sample(&mut rng) >= 0.0));
    }

    #[test]
    fn log_normal_has_its_own_mean_and_variance() {
        // For X log-normal with s2 = ln(1 + v/m^2): mu4 = m^4 (w^4 + 2 w^3 + 3 w^2 - 3)
        // * (w - 1) with w = exp(s2) (standard log-normal kurtosis identity).
        let (m, v) = (0.05_f64, 0.0004_f64);
        let w = (1.0 + v / (m * m)).ln().exp();
        let mu4 =
            m.powi(4) * (w - 1.0).powi(2) * (w.powi(4) + 2.0 * w.powi(3) + 3.0 * w.powi(2) - 3.0);
        let rv = RvConfig {
            mean: m,
            distribution: Distribution::LogNormal,
            variance: Some(v),
        };
        check(rv, m, v, mu4);
    }

    #[test]
    fn uniform_without_variance_spans_zero_to_twice_the_mean() {
        // U(a, b): variance (b-a)^2/12, fourth central moment (b-a)^4/80.
        let m = 2.0;
        let w: f64 = 2.0 * m;
        check(
            RvConfig::new(Distribution::Uniform, m),
            m,
            w * w / 12.0,
            w.powi(4) / 80.0,
        );
    }

    #[test]
    fn uniform_with_variance_is_centred() {
        let rv = RvConfig {
            mean: 10.0,
            distribution: Distribution::Uniform,
            variance: Some(3.0),
        };
        let w: f64 = 2.0 * (9.0_f64).sqrt();
        check(rv, 10.0, 3.0, w.powi(4) / 80.0);
    }

    #[test]
    fn bad_parameters_are_errors_not_panics() {
        for rv in [
            RvConfig::new(Distribution::Exponential, -1.0),
            RvConfig::new(Distribution::Poisson, f64::NAN),
            RvConfig {
                mean: 1.0,
                distribution: Distribution::Normal,
                variance: Some(-1.0),
            },
            RvConfig::new(Distribution::Uniform, f64::INFINITY),
        ] {
            assert!(Sampler::new(&rv).is_err(), "{rv:?}");
        }
    }
}
