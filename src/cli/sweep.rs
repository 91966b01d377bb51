//! `asyncflow sweep SCENARIO --replications N [--jobs K] [--seed S] [--out DIR]
//! [--set PATH=V1,V2,...]... [--until-ci METRIC=TARGET] [--shard i/n|auto]`
//!
//! Expands and validates the grid (exit 2 with every invalid point), runs every
//! (point, replication) on K threads, rebuilds the sweep tables and prints the
//! per-point means with 95% intervals. A shard runs its share only; merge the
//! directory with `sweep-merge` once every shard is done.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use asyncflow::engine::time::SimTime;
use asyncflow::metrics::sink::OutputSelection;
use asyncflow::sweep::{
    CiTarget, Grid, Metric, SetSpec, ShardSpec, SweepError, SweepOptions, Tables, html, run_sweep,
};

/// Arguments of `sweep`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The base scenario file.
    pub scenario: PathBuf,
    /// Replications per point (the most, with --until-ci).
    #[arg(long, short = 'n')]
    pub replications: u64,
    /// Worker threads [default: the number of cores].
    #[arg(long, short = 'j')]
    pub jobs: Option<usize>,
    /// Seed of every run [default: sim_settings.seed, else drawn and recorded].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Output directory [default: out/<scenario file stem>-sweep].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// A swept parameter: a YAML path and its values (repeatable; the grid is the
    /// cross product, the last flag varying fastest).
    #[arg(long = "set", value_name = "PATH=V1,V2,...")]
    pub sets: Vec<SetSpec>,
    /// Stop after this many simulated seconds instead of `total_simulation_time`.
    #[arg(long, value_name = "SECONDS", value_parser = super::parse_horizon)]
    pub horizon: Option<SimTime>,
    /// Parquet files each run writes: a comma-separated subset of requests,samples,events,spans,connections,
    /// or all, or default (all but connections), or none.
    #[arg(long, default_value = "default")]
    pub outputs: OutputSelection,
    /// Add replications in rounds of --jobs until the relative 95% half-width of
    /// METRIC is below TARGET at every point (e.g. p99=2%).
    #[arg(long, value_name = "METRIC=TARGET")]
    pub until_ci: Option<CiTarget>,
    /// Run only the runs whose linear index (point * N + replication) modulo n is
    /// i; `auto` reads JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID.
    #[arg(long, value_name = "i/n|auto|auto/n")]
    pub shard: Option<ShardSpec>,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Run the subcommand; returns the exit code.
pub fn main(args: Args) -> u8 {
    let horizon = args.horizon;
    let shard = match args.shard.map(ShardSpec::resolve).transpose() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: --shard: {e}");
            return 2;
        }
    };
    let grid = match Grid::load(&args.scenario, &args.sets) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| default_out(&args.scenario));
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        // A second handler cannot be installed (tests may call main twice); ignore.
        let _ = ctrlc::set_handler(move || stop.store(true, Ordering::Relaxed));
    }
    let opts = SweepOptions {
        replications: args.replications,
        jobs,
        seed: args.seed,
        horizon,
        outputs: args.outputs,
        shard,
        until_ci: args.until_ci,
        stop: Some(Arc::clone(&stop)),
    };
    if !args.quiet {
        let total = grid.points.len() as u64 * args.replications;
        let mine = match shard {
            Some(s) => format!(
                " (shard {}/{}: about {})",
                s.index,
                s.count,
                total.div_ceil(s.count)
            ),
            None => String::new(),
        };
        eprintln!(
            "sweep      {} point(s) x {} replication(s) = {total} run(s){mine} on {jobs} thread(s) -> {}",
            grid.points.len(),
            args.replications,
            out.display()
        );
    }
    let started = std::time::Instant::now();
    match run_sweep(&grid, &out, &opts) {
        Ok(outcome) => {
            if !args.quiet {
                match &outcome.tables {
                    Some(t) => print!("{}", render(t)),
                    None => println!(
                        "shard done: {} run(s); run `asyncflow sweep-merge {}` once every shard has finished",
                        outcome.runs,
                        out.display()
                    ),
                }
                println!(
                    "ran        {} run(s) in {:.3} s wall",
                    outcome.runs,
                    started.elapsed().as_secs_f64()
                );
            }
            0
        }
        Err(SweepError::Stopped) => {
            eprintln!(
                "stopped: completed runs are in {}; the sweep tables were not written",
                out.display()
            );
            130
        }
        Err(e @ (SweepError::Options(_) | SweepError::Mismatch { .. } | SweepError::Output(_))) => {
            eprintln!("error: {e}");
            2
        }
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

fn default_out(scenario: &Path) -> PathBuf {
    let stem = scenario
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into());
    PathBuf::from("out").join(format!("{stem}-sweep"))
}

/// The per-point table printed after a sweep or a merge.
pub fn render(t: &Tables) -> String {
    use std::fmt::Write;
    let m = &t.manifest;
    let shown = [
        Metric::LatencyMean,
        Metric::LatencyP95,
        Metric::LatencyP99,
        Metric::Throughput,
        Metric::Dropped,
        Metric::CpuUtilisationMax,
    ];
    let mut header: Vec<String> = vec!["point".into()];
    header.extend(m.paths.iter().cloned());
    header.push("n".into());
    header.extend(shown.iter().map(|x| html::display(*x).0.to_owned()));
    let mut rows: Vec<Vec<String>> = Vec::new();
    for r in &t.aggregate {
        let mut row = vec![r.point.to_string()];
        if let Some(mp) = m.points.get(r.point as usize) {
            row.extend(mp.values.iter().map(|v| match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            }));
        }
        row.push(r.replications.to_string());
        for metric in shown {
            let (_, scale, digits) = html::display(metric);
            row.push(match r.get(metric) {
                Some(ci) => html::cell(ci.mean, ci.half, scale, digits),
                None => "-".into(),
            });
        }
        rows.push(row);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                .chain([header[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut o = String::new();
    let line = |cells: &[String], o: &mut String| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:>w$}"))
            .collect();
        let _ = writeln!(o, "{}", parts.join("  "));
    };
    line(&header, &mut o);
    for r in &rows {
        line(r, &mut o);
    }
    let _ = writeln!(o, "(mean ± 95% half-width across replications)");
    if !t.missing.is_empty() {
        let _ = writeln!(
            o,
            "warning: {} run(s) missing, e.g. point {} replication {}",
            t.missing.len(),
            t.missing[0].point,
            t.missing[0].replication
        );
    }
    for f in &t.files {
        let _ = writeln!(o, "wrote      {}", f.display());
    }
    o
}
