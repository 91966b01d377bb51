//! `asyncflow sweep-merge OUT`
//!
//! Rebuilds `points.parquet`, `summary.parquet`, `servers.parquet`,
//! `aggregate.parquet`, `bands.parquet`, `sweep.png` and `sweep.html` from the partitions of a
//! sweep directory (after sharded runs). Exit 0 when every expected run was
//! found, 1 when some are missing (the tables are still written from the runs
//! present) or the merge failed, 2 when OUT is not a sweep directory.

use std::path::PathBuf;

use asyncflow::sweep::{SweepError, merge};

/// Arguments of `sweep-merge`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The sweep's output directory (holding `sweep.json`).
    pub out: PathBuf,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Run the subcommand; returns the exit code.
pub fn main(args: Args) -> u8 {
    match merge(&args.out) {
        Ok(t) => {
            if !args.quiet {
                print!("{}", super::sweep::render(&t));
            }
            if t.missing.is_empty() {
                0
            } else {
                eprintln!(
                    "error: {} run(s) missing from {}; the tables cover only the runs found",
                    t.missing.len(),
                    args.out.display()
                );
                1
            }
        }
        Err(e @ SweepError::Io { .. }) => {
            eprintln!("error: {e}");
            2
        }
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}
