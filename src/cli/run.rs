//! `asyncflow run SCENARIO [--seed N] [--out DIR] [--horizon S] [--outputs LIST] [--no-plots]`
//!
//! Validates the scenario (exit 2 with every problem found), checks that the
//! output directory is writable (exit 2 otherwise) before simulating anything,
//! runs, renders `dashboard.png` and `report.html` from the directory (unless
//! `--no-plots`), prints a compact summary and the paths written. Ctrl-C stops
//! the run at the next sync point; outputs are closed and marked interrupted
//! (exit 130). A progress bar shows on stderr when it is a terminal and the run
//! lasts more than a second.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use asyncflow::engine::run::Progress;
use asyncflow::engine::time::SimTime;
use asyncflow::metrics::outdir::OutDir;
use asyncflow::metrics::sink::OutputSelection;
use asyncflow::{RunOptions, Scenario, Summary};

/// Arguments of `run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The scenario file.
    pub scenario: PathBuf,
    /// Seed of every random stream (overrides `sim_settings.seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Output directory [default: out/<scenario file stem>].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Stop after this many simulated seconds instead of `total_simulation_time`.
    #[arg(long, value_name = "SECONDS", value_parser = super::parse_horizon)]
    pub horizon: Option<SimTime>,
    /// Parquet files to write: a comma-separated subset of requests,samples,events,spans,connections,
    /// or all, or default (all but connections), or none (spans.parquet only when the scenario makes
    /// service calls, connections.parquet only when it opens connections).
    #[arg(long, default_value = "default")]
    pub outputs: OutputSelection,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
    /// Also print wall time per phase and events per kind.
    #[arg(long)]
    pub profile: bool,
    /// Do not render dashboard.png and report.html.
    #[arg(long)]
    pub no_plots: bool,
}

/// Run the subcommand; returns the exit code.
pub fn main(args: Args) -> u8 {
    let scenario = match Scenario::load(&args.scenario) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{}", e.render_human());
            return 2;
        }
    };
    let horizon = args.horizon;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| default_out(&args.scenario));
    if let Err(e) = OutDir::prepare(&out) {
        eprintln!("error: {e}");
        return 2;
    }
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        // A second handler cannot be installed (tests may call main twice); ignore.
        let _ = ctrlc::set_handler(move || stop.store(true, Ordering::Relaxed));
    }
    let bar = (!args.quiet && std::io::stderr().is_terminal()).then(progress_bar);
    let opts = RunOptions {
        seed: args.seed,
        horizon,
        out_dir: Some(out.clone()),
        outputs: Some(args.outputs),
        stop: Some(Arc::clone(&stop)),
        profile: args.profile,
        progress: bar.as_ref().map(progress_callback),
        ..RunOptions::default()
    };
    let outcome = asyncflow::run(&scenario, opts);
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    match outcome {
        Ok(results) => {
            let mut files = results.files.clone();
            let mut code = if stop.load(Ordering::Relaxed) { 130 } else { 0 };
            if !args.no_plots {
                // Rendered from the files just written, as `asyncflow report` does.
                match asyncflow::report::render_dir(&out) {
                    Ok(paths) => files.extend(paths),
                    Err(e) => {
                        eprintln!("error: cannot render the report: {e}");
                        code = 1;
                    }
                }
            }
            if !args.quiet {
                print!("{}", render(&results.summary, args.profile));
                for f in &files {
                    println!("wrote      {}", f.display());
                }
            }
            code
        }
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

/// A bar kept hidden until the run has lasted a second, so short runs print
/// nothing but their summary.
fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(1), ProgressDrawTarget::hidden());
    if let Ok(style) =
        ProgressStyle::with_template("{bar:24.cyan/blue} {percent:>3}%  {msg}  ETA {eta}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

fn progress_callback(bar: &ProgressBar) -> Box<dyn FnMut(Progress) + Send> {
    let bar = bar.clone();
    let start = Instant::now();
    let mut shown = false;
    Box::new(move |p: Progress| {
        let wall = start.elapsed();
        if !shown && wall >= Duration::from_secs(1) {
            bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(10));
            shown = true;
        }
        // Milliseconds of simulated time: fine-grained enough for the bar and ETA.
        bar.set_length((p.horizon.as_nanos() / 1_000_000).max(1));
        bar.set_position(p.now.as_nanos() / 1_000_000);
        let rate = p.generated as f64 / wall.as_secs_f64().max(1e-3);
        bar.set_message(format!(
            "{:.0}/{:.0} s  {} req/s",
            p.now.as_secs_f64(),
            p.horizon.as_secs_f64(),
            rate_label(rate)
        ));
    })
}

fn rate_label(r: f64) -> String {
    if r >= 1e6 {
        format!("{:.2} M", r / 1e6)
    } else if r >= 1e3 {
        format!("{:.1} k", r / 1e3)
    } else {
        format!("{r:.0}")
    }
}

fn default_out(scenario: &Path) -> PathBuf {
    let stem = scenario
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into());
    PathBuf::from("out").join(stem)
}

/// Thousands separators for counts.
fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ms(s: f64) -> String {
    format!("{:.3} ms", s * 1e3)
}

/// The sockets table (nodes that declare `sockets`) and the connections
/// table (edges with a connection model), when the run has them.
fn render_sockets(o: &mut String, r: &asyncflow::engine::run::ResultsSection, idw: usize) {
    use std::fmt::Write;
    let idw = r
        .sockets
        .iter()
        .map(|x| x.id.len())
        .chain(r.connections.iter().map(|x| x.id.len()))
        .fold(idw, usize::max);
    if !r.sockets.is_empty() {
        let _ = writeln!(
            o,
            "{:<idw$}  {:>7}  {:>15}  {:>19}  {:>11}  {:>9}",
            "sockets", "max", "open mean/peak", "RAM MB mean/peak", "backlog max", "refused"
        );
        for x in &r.sockets {
            let _ = writeln!(
                o,
                "{:<idw$}  {:>7}  {:>15}  {:>19}  {:>11.0}  {:>9}",
                x.id,
                x.max.map_or("-".to_owned(), |m| m.to_string()),
                format!("{:.1}/{:.0}", x.open_mean, x.open_max),
                format!("{:.2}/{:.2}", x.socket_ram_mean_mb, x.socket_ram_max_mb),
                x.backlog_max,
                count(x.refused),
            );
        }
    }
    if !r.connections.is_empty() {
        let _ = writeln!(
            o,
            "{:<idw$}  {:>11}  {:>10}  {:>10}  {:>15}  {:>12}",
            "connections", "mode", "opened", "reused", "open mean/peak", "lifetime"
        );
        for x in &r.connections {
            let _ = writeln!(
                o,
                "{:<idw$}  {:>11}  {:>10}  {:>10}  {:>15}  {:>12}",
                x.id,
                x.mode,
                count(x.opened),
                count(x.reused),
                format!("{:.1}/{:.0}", x.open_mean, x.open_max),
                if x.lifetime_mean_s < 10.0 {
                    ms(x.lifetime_mean_s)
                } else {
                    format!("{:.1} s", x.lifetime_mean_s)
                },
            );
        }
    }
}

fn render(s: &Summary, profile: bool) -> String {
    use std::fmt::Write;
    let r = &s.results;
    let mut o = String::new();
    let path = s.scenario.path.as_deref().unwrap_or("(built in code)");
    let _ = writeln!(
        o,
        "asyncflow {}  {}  seed {}  {:.0} s simulated{}",
        s.engine.version,
        path,
        s.run.seed,
        s.run.simulated_s,
        if s.run.status == "complete" {
            String::new()
        } else {
            format!("  [{}]", s.run.status)
        }
    );
    let q = &r.requests;
    let _ = writeln!(
        o,
        "requests   generated {}  completed {}  dropped {}  in flight {}",
        count(q.generated),
        count(q.completed),
        count(q.dropped),
        count(q.in_flight_at_horizon)
    );
    let other: Vec<String> = q
        .by_status
        .iter()
        .filter(|&(k, &n)| n > 0 && k != "completed" && k != "dropped")
        .map(|(k, &n)| format!("{k} {}", count(n)))
        .collect();
    if !other.is_empty() {
        let _ = writeln!(o, "statuses   {}", other.join("  "));
    }
    let l = &r.latency;
    let _ = writeln!(
        o,
        "latency    mean {}  p50 {}  p95 {}  p99 {}  max {}",
        ms(l.mean_s),
        ms(l.p50_s),
        ms(l.p95_s),
        ms(l.p99_s),
        ms(l.max_s)
    );
    let t = &r.throughput;
    let _ = writeln!(
        o,
        "throughput mean {:.1} rps  p95 {:.0}  max {:.0}",
        t.mean_rps, t.p95_rps, t.max_rps
    );
    let idw = r
        .servers
        .iter()
        .map(|x| x.id.len())
        .chain(r.edges.iter().map(|x| x.id.len()))
        .max()
        .unwrap_or(4)
        .max(6);
    const SHOWN: usize = 12;
    let _ = writeln!(
        o,
        "{:<idw$}  {:>5}  {:>6}  {:>15}  {:>15}  {:>19}",
        "server", "cores", "cpu", "ready mean/max", "io mean/max", "ram MB mean/max"
    );
    for x in r.servers.iter().take(SHOWN) {
        let _ = writeln!(
            o,
            "{:<idw$}  {:>5}  {:>5.1}%  {:>15}  {:>15}  {:>19}",
            x.id,
            x.cpu_cores,
            x.cpu_utilisation * 100.0,
            format!("{:.2}/{:.0}", x.ready_queue_mean, x.ready_queue_max),
            format!("{:.2}/{:.0}", x.io_sleep_mean, x.io_sleep_max),
            format!("{:.0}/{:.0}", x.ram_in_use_mean_mb, x.ram_in_use_max_mb),
        );
    }
    if r.servers.len() > SHOWN {
        let _ = writeln!(
            o,
            "... and {} more servers (see summary.json)",
            r.servers.len() - SHOWN
        );
    }
    let _ = writeln!(
        o,
        "{:<idw$}  {:>10}  {:>8}  {:>15}",
        "edge", "sent", "dropped", "in flight mean"
    );
    for x in r.edges.iter().take(SHOWN) {
        let _ = writeln!(
            o,
            "{:<idw$}  {:>10}  {:>8}  {:>15.3}",
            x.id,
            count(x.sent),
            count(x.dropped),
            x.in_flight_mean
        );
    }
    if r.edges.len() > SHOWN {
        let _ = writeln!(
            o,
            "... and {} more edges (see summary.json)",
            r.edges.len() - SHOWN
        );
    }
    render_sockets(&mut o, r, idw);
    let w = &s.wall;
    let _ = writeln!(
        o,
        "engine     {} events in {:.3} s wall  ({:.2} M events/s, {:.0} k requests/s)",
        count(s.engine_figures.events_processed),
        w.wall_time_s,
        w.events_per_wall_s / 1e6,
        w.requests_per_wall_s / 1e3
    );
    if profile {
        for (phase, secs) in &w.phases_s {
            let _ = writeln!(o, "phase      {phase:<10} {secs:.3} s");
        }
        let rates = w.events_per_wall_s_by_kind.as_ref();
        for (kind, n) in &s.engine_figures.events_by_kind {
            let rate = rates.and_then(|r| r.get(kind)).copied().unwrap_or(0.0);
            let _ = writeln!(
                o,
                "events     {kind:<12} {:>12}  {:>7.2} M/s handler time",
                count(*n),
                rate / 1e6
            );
        }
    }
    o
}
