//! `asyncflow validate FILE...`
use std::path::PathBuf;

/// Arguments of `validate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario files to check.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Print the errors as JSON (one array for all files).
    #[arg(long)]
    pub json: bool,
}

/// Run the subcommand; returns the exit code.
pub fn main(args: Args) -> u8 {
    let mut code = 0;
    for f in &args.files {
        match asyncflow::scenario::Scenario::load(f) {
            Ok(_) => println!("{}: ok", f.display()),
            Err(e) => {
                eprintln!("{}: {e}", f.display());
                code = 2;
            }
        }
    }
    code
}
