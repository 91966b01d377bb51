//! Random variables: the mean, variance and sampler rules every distributed
//! quantity obeys (user counts, request rates, step durations and sizes, edge
//! latencies). The rule files of those things call [`Validator::rv`] with the
//! lower bound their mean must respect.

use super::{Validator, fmt_num};
use crate::scenario::diagnostic::Diagnostic;
use crate::scenario::rv::Sampler;
use crate::scenario::schema::RvConfig;

/// Lower bound a mean must respect.
#[derive(Clone, Copy)]
pub(super) enum MeanRule {
    NonNegative,
    Positive,
}

impl Validator<'_> {
    /// Mean, variance and sampler checks shared by every random variable.
    /// Returns whether the variable is usable.
    pub(super) fn rv(&mut self, path: &str, rv: &RvConfig, rule: MeanRule) -> bool {
        let mut ok = true;
        let mean_ok = match rule {
            MeanRule::NonNegative => rv.mean.is_finite() && rv.mean >= 0.0,
            MeanRule::Positive => rv.mean.is_finite() && rv.mean > 0.0,
        };
        if !mean_ok {
            let expected = match rule {
                MeanRule::NonNegative => "a finite mean >= 0",
                MeanRule::Positive => "a finite mean > 0",
            };
            self.err(format!("{path}.mean"), expected, fmt_num(rv.mean));
            ok = false;
        }
        if let Some(var) = rv.variance
            && !(var.is_finite() && var >= 0.0)
        {
            self.err(
                format!("{path}.variance"),
                "a finite variance >= 0",
                fmt_num(var),
            );
            ok = false;
        }
        if ok && let Err(e) = Sampler::new(rv) {
            self.push(
                Diagnostic::new(path, "parameters the distribution accepts", e.to_string())
                    .with_hint("lower the mean or pick another distribution"),
            );
            ok = false;
        }
        ok
    }
}
