//! Subcommands of the binary; each file parses nothing and decides nothing that
//! the library could own.
pub mod report;
pub mod run;
pub mod sweep;
pub mod sweep_merge;
pub mod validate;

use asyncflow::engine::time::SimTime;

/// `--horizon SECONDS`: a positive, finite number of simulated seconds.
pub fn parse_horizon(s: &str) -> Result<SimTime, String> {
    match s.trim().parse::<f64>() {
        Ok(h) if h.is_finite() && h > 0.0 => Ok(SimTime::from_secs_f64(h)),
        _ => Err(format!("must be a positive number of seconds, got {s}")),
    }
}
