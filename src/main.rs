//! The `asyncflow` command: parses arguments, calls the library, renders results.
//!
//! Exit codes: 0 success, 1 the run failed, 2 bad input (scenario or arguments).

mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Simulate asynchronous distributed backends from AsyncFlow-compatible YAML scenarios.
#[derive(Debug, Parser)]
#[command(name = "asyncflow", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check scenario files and report every problem found.
    Validate(cli::validate::Args),
    /// Run a scenario and write its outputs.
    Run(cli::run::Args),
    /// Re-render dashboard.png and report.html from a run's output directory.
    Report(cli::report::Args),
    /// Run replications of a scenario over a parameter grid, in parallel or sharded.
    Sweep(cli::sweep::Args),
    /// Rebuild a sweep's tables from its partitions (after sharded runs).
    SweepMerge(cli::sweep_merge::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Validate(args) => cli::validate::main(args),
        Command::Run(args) => cli::run::main(args),
        Command::Report(args) => cli::report::main(args),
        Command::Sweep(args) => cli::sweep::main(args),
        Command::SweepMerge(args) => cli::sweep_merge::main(args),
    };
    ExitCode::from(code)
}
