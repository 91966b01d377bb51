//! Mean and Student-t confidence intervals across replications.
//!
//! Replications are independent and identically distributed (same scenario,
//! independent random streams), so for a per-replication figure X the interval
//! mean ± t(0.975, n-1) · s / √n covers E[X] with probability 95% when X is close
//! to normal (a per-run mean or quantile over many requests is).
//!
//! Values are accumulated with Welford's update in a fixed order (replication
//! index), so the result is the same bits however the runs were scheduled.

use statrs::distribution::{ContinuousCDF, StudentsT};

/// Confidence level of every interval.
pub const CONFIDENCE: f64 = 0.95;

/// Running count, mean and sum of squared deviations.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Acc {
    n: u64,
    mean: f64,
    m2: f64,
}

impl Acc {
    /// Add one value.
    pub fn push(&mut self, x: f64) {
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
    }

    /// Values pushed.
    pub fn n(&self) -> u64 {
        self.n
    }

    /// The mean and its confidence interval.
    pub fn ci(&self) -> Ci {
        let half = if self.n >= 2 {
            let sd = (self.m2 / (self.n - 1) as f64).sqrt();
            Some(t_quantile(self.n - 1) * sd / (self.n as f64).sqrt())
        } else {
            None
        };
        Ci {
            n: self.n,
            mean: if self.n == 0 { f64::NAN } else { self.mean },
            half,
        }
    }
}

/// A mean with its 95% confidence half-width.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ci {
    /// Replications.
    pub n: u64,
    /// Sample mean (NaN without values).
    pub mean: f64,
    /// Half-width; `None` with fewer than two values.
    pub half: Option<f64>,
}

impl Ci {
    /// Lower bound.
    pub fn low(&self) -> Option<f64> {
        self.half.map(|h| self.mean - h)
    }

    /// Upper bound.
    pub fn high(&self) -> Option<f64> {
        self.half.map(|h| self.mean + h)
    }

    /// Half-width over |mean|: infinite when undefined or the mean is 0 with a
    /// non-zero width, 0 when every value was 0.
    pub fn relative_half(&self) -> f64 {
        match self.half {
            None => f64::INFINITY,
            Some(0.0) => 0.0,
            Some(_) if self.mean == 0.0 => f64::INFINITY,
            Some(h) => h / self.mean.abs(),
        }
    }
}

/// The normal 0.975 quantile.
const Z_975: f64 = 1.959_963_984_540_054;

/// Above this many degrees of freedom the quantile comes from the Cornish-Fisher
/// expansion: statrs inverts the incomplete beta function, which loses digits
/// for very large df (1e-4 off at df = 1e6), while the expansion's first omitted
/// term is below 1e-12 here.
const EXPANSION_DF: u64 = 10_000;

/// The two-sided 95% Student t critical value with `df` degrees of freedom.
pub fn t_quantile(df: u64) -> f64 {
    let p = 0.5 + CONFIDENCE / 2.0;
    if df > EXPANSION_DF {
        // t = z + (z^3 + z) / (4 v) + (5 z^5 + 16 z^3 + 3 z) / (96 v^2) + O(v^-3)
        // (Abramowitz and Stegun 26.7.5).
        let (z, v) = (Z_975, df as f64);
        return z
            + (z.powi(3) + z) / (4.0 * v)
            + (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / (96.0 * v * v);
    }
    match StudentsT::new(0.0, 1.0, df as f64) {
        Ok(t) => t.inverse_cdf(p),
        // df >= 1 always here; the normal quantile is the limit.
        Err(_) => Z_975,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_the_tables() {
        // Two-sided 95% critical values from any Student t table.
        for (df, t) in [
            (1, 12.706),
            (2, 4.303),
            (4, 2.776),
            (9, 2.262),
            (19, 2.093),
            (29, 2.045),
            (99, 1.984),
        ] {
            assert!(
                (t_quantile(df) - t).abs() < 1e-3,
                "df {df}: {}",
                t_quantile(df)
            );
        }
        // Both sides of the switch to the expansion agree, and the limit is z.
        let (a, b) = (t_quantile(EXPANSION_DF), t_quantile(EXPANSION_DF + 1));
        assert!(a > b && a - b < 1e-7, "{a} {b}");
        assert!((t_quantile(1_000_000) - 1.959_966).abs() < 1e-6);
        assert!((t_quantile(u64::MAX) - Z_975).abs() < 1e-12);
    }

    #[test]
    fn welford_matches_the_two_pass_formula() {
        let xs = [1.0, 4.0, 2.5, 7.0, 3.25];
        let mut a = Acc::default();
        xs.iter().for_each(|&x| a.push(x));
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
        let ci = a.ci();
        assert!((ci.mean - mean).abs() < 1e-12);
        let want = t_quantile(4) * (var / n).sqrt();
        assert!((ci.half.unwrap() - want).abs() < 1e-12);
        assert!((ci.low().unwrap() - (mean - want)).abs() < 1e-12);
    }

    #[test]
    fn one_value_has_no_interval() {
        let mut a = Acc::default();
        a.push(3.0);
        assert_eq!(a.ci().half, None);
        assert_eq!(a.ci().relative_half(), f64::INFINITY);
        let mut z = Acc::default();
        z.push(0.0);
        z.push(0.0);
        assert_eq!(z.ci().relative_half(), 0.0);
    }
}
