//! `asyncflow validate [--json] FILE...`
//!
//! Exit status: 0 when every file is valid, 2 otherwise. Human output: `FILE: ok`
//! on stdout for a valid file, one block per problem on stderr otherwise. JSON
//! output: one array on stdout, one object per file
//! (`{ "file", "valid", "io_error", "diagnostics" }`).
use std::path::PathBuf;

use asyncflow::scenario::Scenario;

/// Arguments of `validate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario files to check.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Print the results as JSON (one array for all files) on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Run the subcommand; returns the exit code.
pub fn main(args: Args) -> u8 {
    let mut code = 0;
    let mut report = Vec::new();
    for f in &args.files {
        let result = Scenario::load(f);
        if result.is_err() {
            code = 2;
        }
        match (args.json, result) {
            (false, Ok(_)) => println!("{}: ok", f.display()),
            (false, Err(e)) => eprintln!("{}\n", e.render_human()),
            (true, Ok(_)) => report.push(serde_json::json!({
                "file": f,
                "valid": true,
                "io_error": null,
                "diagnostics": [],
            })),
            (true, Err(e)) => {
                let mut v = e.to_json();
                v["file"] = serde_json::json!(f);
                v["valid"] = serde_json::json!(false);
                report.push(v);
            }
        }
    }
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("error: cannot render JSON: {e}");
                code = 2;
            }
        }
    }
    code
}
