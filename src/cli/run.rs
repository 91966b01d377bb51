//! `asyncflow run SCENARIO`
use std::path::PathBuf;

/// Arguments of `run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The scenario file.
    pub scenario: PathBuf,
}

/// Run the subcommand; returns the exit code.
pub fn main(args: Args) -> u8 {
    match asyncflow::scenario::Scenario::load(&args.scenario) {
        Ok(_) => 0,
        Err(e) => {
            eprintln!("{e}");
            2
        }
    }
}
