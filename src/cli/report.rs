//! `asyncflow report OUTDIR`
//!
//! Re-renders `dashboard.png` and `report.html` from an earlier run's directory
//! (the same code as the render after `asyncflow run`, hence the same bytes).
//! Exit 2 when the directory holds no `summary.json`, 1 when rendering fails.

use std::path::PathBuf;

/// Arguments of `report`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output directory of an earlier `asyncflow run`.
    pub dir: PathBuf,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Run the subcommand; returns the exit code.
pub fn main(args: Args) -> u8 {
    if !args.dir.join("summary.json").is_file() {
        eprintln!(
            "error: {} is not a run directory (no summary.json)",
            args.dir.display()
        );
        return 2;
    }
    match asyncflow::report::render_dir(&args.dir) {
        Ok(paths) => {
            if !args.quiet {
                for p in paths {
                    println!("wrote      {}", p.display());
                }
            }
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}
