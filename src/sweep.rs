//! Monte Carlo replications, parameter sweeps and sharding.
//!
//! A sweep runs every point of a parameter [`Grid`] (the cross product of
//! `--set PATH=V1,V2,...` values applied to a base scenario) for replications
//! `0..N` with one seed, on a local thread pool. Replication `r` mixes `r` into
//! every random stream, so replications are independent; each run is the usual
//! single-threaded deterministic run and writes only its own partition
//! `OUT/point=<k>/replication=<r>/`. The sweep-level tables are then rebuilt from
//! the partitions in a fixed order ([`tables::merge`]), so the output is the same
//! bytes whatever the thread count, and whether the runs were done by one process
//! or by shards on a cluster and merged with [`merge`].
//!
//! Layout of `OUT/` (see `docs/sweeps.md`):
//!
//! | file | content |
//! |---|---|
//! | `sweep.json` | the manifest: base scenario, seed per point, swept paths and values |
//! | `point=<k>/replication=<r>/` | one run: `summary.json` and its Parquet files |
//! | `points.parquet` | one row per point with the swept values |
//! | `summary.parquet` | one row per run |
//! | `servers.parquet` | one row per run and server |
//! | `aggregate.parquet` | one row per point: mean and 95% interval of each metric |
//! | `bands.parquet` | per point, gauge series and tick: mean and 95% interval |
//! | `sweep.png` | the chart of each key metric against the swept values |
//! | `sweep.html` | the chart (inline SVG) and the aggregate table |

pub mod chart;
pub mod grid;
pub mod html;
pub mod stats;
pub mod tables;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rayon::prelude::*;

pub use grid::{Grid, Point, SetSpec, YamlPath};
pub use stats::{Acc, Ci};
pub use tables::{AggregateRow, Manifest, ManifestPoint, Metric, SummaryRow, Tables, merge};

use crate::engine::run::{RunError, draw_seed};
use crate::engine::time::SimTime;
use crate::metrics::outdir::OutDir;
use crate::metrics::sink::WriterMode;
use crate::metrics::sink::{OutputError, OutputSelection};
use crate::scenario::{Diagnostic, ScenarioError};
use crate::{RunOptions, run};

/// A grid point that failed validation.
#[derive(Debug, Clone)]
pub struct PointProblem {
    /// Point index.
    pub point: usize,
    /// `path=value, ...` of the point.
    pub assignments: String,
    /// What validation found (paths into the scenario; no line numbers, since
    /// they would point into the edited text).
    pub diagnostics: Vec<Diagnostic>,
}

fn render_points(problems: &[PointProblem]) -> String {
    let mut o = String::new();
    for p in problems {
        o.push_str(&format!(
            "point {} ({}) is invalid:\n",
            p.point, p.assignments
        ));
        for d in &p.diagnostics {
            for line in d.to_string().lines() {
                o.push_str("  ");
                o.push_str(line);
                o.push('\n');
            }
        }
    }
    let n = problems.len();
    o.push_str(&format!(
        "{n} invalid point{}; nothing was run",
        if n == 1 { "" } else { "s" }
    ));
    o
}

/// Why a sweep could not be planned, run or merged.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The base scenario is invalid.
    #[error("{0}")]
    Scenario(ScenarioError),
    /// A swept path does not fit the scenario's tree.
    #[error("--set {path}: {reason}")]
    Path {
        /// The path as written.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The grid itself is malformed (a path set twice, too many points).
    #[error("{0}")]
    Grid(String),
    /// Some points fail validation; nothing was run.
    #[error("{}", render_points(.0))]
    InvalidPoints(Vec<PointProblem>),
    /// Options that do not go together or are out of range.
    #[error("{0}")]
    Options(String),
    /// The output directory holds another sweep.
    #[error(
        "{} belongs to a different sweep (other scenario, grid, seed or replications); use a new --out directory",
        path.display()
    )]
    Mismatch {
        /// The manifest found.
        path: PathBuf,
    },
    /// A run failed.
    #[error("point {point} replication {replication}: {source}")]
    Run {
        /// Point index.
        point: usize,
        /// Replication index.
        replication: u64,
        /// The run's error.
        source: RunError,
    },
    /// A file-system operation failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path concerned.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// Writing an output failed.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// A Parquet file could not be written or read.
    #[error("Parquet error in {}: {source}", path.display())]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The library's error.
        source: parquet::errors::ParquetError,
    },
    /// A record batch could not be built (a bug).
    #[error("cannot build a record batch: {0}")]
    Arrow(String),
    /// A file of the sweep is not what it should be.
    #[error("{}: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The sweep was stopped (Ctrl-C) before every run finished.
    #[error("stopped before every run finished")]
    Stopped,
    /// The sweep chart could not be drawn.
    #[error("cannot draw the sweep chart: {0}")]
    Chart(crate::report::ReportError),
}

/// This process's share of a sharded sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which shard, `0..count`.
    pub index: u64,
    /// How many shards.
    pub count: u64,
}

impl Shard {
    /// Whether the run with this linear index (point * replications +
    /// replication) belongs to the shard.
    pub fn owns(&self, linear: u64) -> bool {
        linear % self.count == self.index
    }

    /// `auto` or `auto/N`: the index from `JOB_COMPLETION_INDEX` (Kubernetes
    /// Indexed Job) or `SLURM_ARRAY_TASK_ID` minus `SLURM_ARRAY_TASK_MIN` (Slurm
    /// array); the count from `/N`, else `ASYNCFLOW_SHARD_COUNT`, else
    /// `SLURM_ARRAY_TASK_COUNT`.
    pub fn from_env(
        count: Option<u64>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Shard, String> {
        let num = |name: &str| -> Result<Option<u64>, String> {
            match env(name) {
                None => Ok(None),
                Some(v) => v
                    .trim()
                    .parse::<u64>()
                    .map(Some)
                    .map_err(|_| format!("{name}={v:?} is not a non-negative integer")),
            }
        };
        let index = if let Some(i) = num("JOB_COMPLETION_INDEX")? {
            i
        } else if let Some(i) = num("SLURM_ARRAY_TASK_ID")? {
            let min = num("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            i.checked_sub(min)
                .ok_or("SLURM_ARRAY_TASK_ID is below SLURM_ARRAY_TASK_MIN")?
        } else {
            return Err(
                "--shard auto needs JOB_COMPLETION_INDEX (Kubernetes) or SLURM_ARRAY_TASK_ID (Slurm)"
                    .into(),
            );
        };
        let count = match count {
            Some(n) => n,
            None => num("ASYNCFLOW_SHARD_COUNT")?
                .or(num("SLURM_ARRAY_TASK_COUNT")?)
                .ok_or("--shard auto needs the shard count: --shard auto/N, ASYNCFLOW_SHARD_COUNT or SLURM_ARRAY_TASK_COUNT")?,
        };
        Shard::new(index, count)
    }

    fn new(index: u64, count: u64) -> Result<Shard, String> {
        if count == 0 || index >= count {
            return Err(format!(
                "shard {index}/{count}: the index must be below the count"
            ));
        }
        Ok(Shard { index, count })
    }
}

/// `--shard` as given: `i/n`, `auto` or `auto/n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardSpec {
    /// Fixed.
    Fixed(Shard),
    /// From the environment, with an optional count.
    Auto(Option<u64>),
}

impl ShardSpec {
    /// Resolve against the process environment.
    pub fn resolve(self) -> Result<Shard, String> {
        match self {
            ShardSpec::Fixed(s) => Ok(s),
            ShardSpec::Auto(n) => Shard::from_env(n, |k| std::env::var(k).ok()),
        }
    }
}

impl FromStr for ShardSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (i, n) = match s.split_once('/') {
            Some((i, n)) => (i.trim(), Some(n.trim())),
            None => (s.trim(), None),
        };
        let n = n
            .map(|n| {
                n.parse::<u64>()
                    .map_err(|_| format!("`{s}`: the shard count must be an integer"))
            })
            .transpose()?;
        if i == "auto" {
            return Ok(ShardSpec::Auto(n));
        }
        let i = i
            .parse::<u64>()
            .map_err(|_| format!("`{s}`: expected i/n (e.g. 0/4), auto or auto/n"))?;
        let n = n.ok_or_else(|| format!("`{s}`: expected i/n (e.g. 0/4)"))?;
        Shard::new(i, n).map(ShardSpec::Fixed)
    }
}

/// Sequential stopping rule: `p99=2%` (or `p99=0.02`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CiTarget {
    /// The metric watched.
    pub metric: Metric,
    /// Largest relative half-width accepted (0.02 for 2%).
    pub relative: f64,
}

impl FromStr for CiTarget {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (m, v) = s
            .split_once('=')
            .ok_or_else(|| format!("`{s}`: expected METRIC=TARGET such as p99=2%"))?;
        let metric = Metric::parse(m).ok_or_else(|| {
            format!("`{m}`: unknown metric (mean, p50, p95, p99, throughput, dropped, drop_rate, utilisation)")
        })?;
        let v = v.trim();
        let relative = match v.strip_suffix('%') {
            Some(p) => p.trim().parse::<f64>().map(|x| x / 100.0),
            None => v.parse::<f64>(),
        }
        .ok()
        .filter(|x| x.is_finite() && *x > 0.0)
        .ok_or_else(|| format!("`{v}`: the target must be a positive number, e.g. 2% or 0.02"))?;
        Ok(CiTarget { metric, relative })
    }
}

impl std::fmt::Display for CiTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}={}%", self.metric.column(), self.relative * 100.0)
    }
}

/// How to run a sweep.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// Replications per point (the cap with `until_ci`).
    pub replications: u64,
    /// Worker threads.
    pub jobs: usize,
    /// Seed of every run; else each point's `sim_settings.seed`; else drawn once.
    pub seed: Option<u64>,
    /// Horizon override.
    pub horizon: Option<SimTime>,
    /// Parquet files each run writes.
    pub outputs: OutputSelection,
    /// Run only this shard's share and skip the sweep-level tables.
    pub shard: Option<Shard>,
    /// Add replications in rounds of `jobs` until this holds at every point.
    pub until_ci: Option<CiTarget>,
    /// Set to stop: runs in progress close their outputs, no new run starts.
    pub stop: Option<Arc<AtomicBool>>,
}

impl Default for SweepOptions {
    fn default() -> Self {
        SweepOptions {
            replications: 1,
            jobs: 1,
            seed: None,
            horizon: None,
            outputs: OutputSelection::DEFAULT,
            shard: None,
            until_ci: None,
            stop: None,
        }
    }
}

/// What a sweep did.
#[derive(Debug, Clone)]
pub struct SweepOutcome {
    /// Runs executed by this process.
    pub runs: usize,
    /// The sweep tables; `None` for a shard (run `sweep-merge` after all shards).
    pub tables: Option<Tables>,
}

/// One run to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Task {
    point: usize,
    replication: u64,
}

/// The manifest of `grid` under `opts`; seeds resolved.
pub fn manifest(grid: &Grid, opts: &SweepOptions) -> Result<Manifest, SweepError> {
    let drawn = std::sync::OnceLock::new();
    let mut points = Vec::with_capacity(grid.points.len());
    for p in &grid.points {
        let seed = match opts.seed.or(p.scenario.model().sim_settings.seed) {
            Some(s) => s,
            None if opts.shard.is_some() => {
                return Err(SweepError::Options(
                    "a sharded sweep needs a seed that every shard agrees on: --seed S or sim_settings.seed".into(),
                ));
            }
            None => *drawn.get_or_init(draw_seed),
        };
        points.push(ManifestPoint {
            point: p.index,
            seed,
            scenario_sha256: p.scenario.sha256().to_owned(),
            values: p
                .values
                .iter()
                .map(|v| serde_json::to_value(v).unwrap_or(serde_json::Value::Null))
                .collect(),
        });
    }
    Ok(Manifest {
        format: 1,
        engine_version: env!("CARGO_PKG_VERSION").to_owned(),
        scenario: grid.source.as_ref().map(|p| p.display().to_string()),
        scenario_sha256: grid.base_sha256.clone(),
        replications: opts.replications,
        horizon_s: opts.horizon.map(SimTime::as_secs_f64),
        outputs: opts.outputs.to_string(),
        until_ci: opts.until_ci.map(|c| c.to_string()),
        paths: grid.paths.iter().map(|p| p.to_string()).collect(),
        points,
    })
}

/// Write `sweep.json`, or check that the one there is the same. Shards write it
/// concurrently with identical bytes, each through its own temporary name.
fn publish_manifest(out: &Path, m: &Manifest, tag: &str) -> Result<(), SweepError> {
    let path = out.join(tables::MANIFEST_FILE);
    let mut text = serde_json::to_string_pretty(m)
        .map_err(|e| SweepError::Options(format!("cannot encode the manifest: {e}")))?;
    text.push('\n');
    match std::fs::read_to_string(&path) {
        Ok(existing) if existing == text => return Ok(()),
        Ok(_) => return Err(SweepError::Mismatch { path }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(SweepError::Io {
                action: "read",
                path,
                source,
            });
        }
    }
    let tmp = out.join(format!(".sweep.json.{tag}.{}.partial", std::process::id()));
    std::fs::write(&tmp, text.as_bytes()).map_err(|source| SweepError::Io {
        action: "write",
        path: tmp.clone(),
        source,
    })?;
    std::fs::rename(&tmp, &path).map_err(|source| SweepError::Io {
        action: "rename into place",
        path: path.clone(),
        source,
    })?;
    Ok(())
}

/// Run a sweep into `out`.
pub fn run_sweep(grid: &Grid, out: &Path, opts: &SweepOptions) -> Result<SweepOutcome, SweepError> {
    if opts.replications == 0 {
        return Err(SweepError::Options(
            "--replications must be at least 1".into(),
        ));
    }
    if opts.jobs == 0 {
        return Err(SweepError::Options("--jobs must be at least 1".into()));
    }
    if opts.until_ci.is_some() && opts.shard.is_some() {
        return Err(SweepError::Options(
            "--until-ci decides replications from all results, so it cannot be sharded".into(),
        ));
    }
    let manifest = manifest(grid, opts)?;
    OutDir::prepare(out)?;
    let tag = opts
        .shard
        .map_or_else(|| "all".to_owned(), |s| format!("{}-{}", s.index, s.count));
    publish_manifest(out, &manifest, &tag)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs)
        .thread_name(|i| format!("asyncflow-sweep-{i}"))
        .build()
        .map_err(|e| SweepError::Options(format!("cannot start {} threads: {e}", opts.jobs)))?;
    let done = AtomicUsize::new(0);
    let exec = |tasks: &[Task]| -> Result<(), SweepError> {
        let results: Vec<Result<(), SweepError>> = pool.install(|| {
            tasks
                .par_iter()
                .map(|t| {
                    if opts
                        .stop
                        .as_ref()
                        .is_some_and(|s| s.load(Ordering::Relaxed))
                    {
                        return Err(SweepError::Stopped);
                    }
                    run_task(grid, &manifest, out, opts, *t)?;
                    done.fetch_add(1, Ordering::Relaxed);
                    Ok(())
                })
                .collect()
        });
        // The first failure in task order, so the message does not depend on
        // which thread got there first.
        results.into_iter().collect()
    };

    match opts.until_ci {
        None => {
            let tasks: Vec<Task> = (0..grid.points.len())
                .flat_map(|point| {
                    (0..opts.replications).map(move |replication| Task { point, replication })
                })
                .filter(|t| {
                    let linear = t.point as u64 * opts.replications + t.replication;
                    opts.shard.is_none_or(|s| s.owns(linear))
                })
                .collect();
            exec(&tasks)?;
        }
        Some(target) => {
            let step = (opts.jobs as u64).max(2);
            let mut next = vec![0u64; grid.points.len()];
            let mut open: Vec<usize> = (0..grid.points.len()).collect();
            while !open.is_empty() {
                let tasks: Vec<Task> = open
                    .iter()
                    .flat_map(|&point| {
                        let end = (next[point] + step).min(opts.replications);
                        (next[point]..end).map(move |replication| Task { point, replication })
                    })
                    .collect();
                exec(&tasks)?;
                for &p in &open {
                    next[p] = (next[p] + step).min(opts.replications);
                }
                let mut still = Vec::new();
                for &p in &open {
                    let mp = &manifest.points[p];
                    let mut acc = Acc::default();
                    for r in 0..next[p] {
                        let s = tables::read_summary(out, mp, r)?;
                        acc.push(target.metric.of(&SummaryRow::new(p as u64, &s)));
                    }
                    if acc.ci().relative_half() > target.relative && next[p] < opts.replications {
                        still.push(p);
                    }
                }
                open = still;
            }
        }
    }
    let runs = done.load(Ordering::Relaxed);
    if opts.shard.is_some() {
        return Ok(SweepOutcome { runs, tables: None });
    }
    let tables = tables::merge_in(out, &pool)?;
    Ok(SweepOutcome {
        runs,
        tables: Some(tables),
    })
}

fn run_task(
    grid: &Grid,
    manifest: &Manifest,
    out: &Path,
    opts: &SweepOptions,
    t: Task,
) -> Result<(), SweepError> {
    let point = &grid.points[t.point];
    let run_opts = RunOptions {
        seed: Some(manifest.points[t.point].seed),
        replication: t.replication,
        horizon: opts.horizon,
        out_dir: Some(tables::partition_dir(out, t.point, t.replication)),
        outputs: Some(opts.outputs),
        stop: opts.stop.clone(),
        progress: None,
        profile: false,
        // Several jobs already fill the cores: a writer thread per file would
        // only add switching (measured in docs/performance.md).
        writer: if opts.jobs > 1 {
            WriterMode::Inline
        } else {
            WriterMode::Threads
        },
    };
    let results = run(&point.scenario, run_opts).map_err(|source| SweepError::Run {
        point: t.point,
        replication: t.replication,
        source,
    })?;
    if results.summary.run.status != "complete" {
        return Err(SweepError::Stopped);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_specs_parse() {
        assert_eq!(
            "1/3".parse::<ShardSpec>().unwrap(),
            ShardSpec::Fixed(Shard { index: 1, count: 3 })
        );
        assert_eq!("auto".parse::<ShardSpec>().unwrap(), ShardSpec::Auto(None));
        assert_eq!(
            "auto/4".parse::<ShardSpec>().unwrap(),
            ShardSpec::Auto(Some(4))
        );
        for bad in ["3/3", "1", "x/2", "1/0", "auto/x"] {
            assert!(bad.parse::<ShardSpec>().is_err(), "{bad}");
        }
    }

    #[test]
    fn shards_from_kubernetes_and_slurm_variables() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let k8s = env(&[
            ("JOB_COMPLETION_INDEX", "2"),
            ("ASYNCFLOW_SHARD_COUNT", "5"),
        ]);
        assert_eq!(
            Shard::from_env(None, k8s).unwrap(),
            Shard { index: 2, count: 5 }
        );
        let slurm = env(&[
            ("SLURM_ARRAY_TASK_ID", "4"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert_eq!(
            Shard::from_env(None, slurm).unwrap(),
            Shard { index: 3, count: 4 }
        );
        let none = env(&[]);
        assert!(Shard::from_env(Some(2), none).is_err());
        let no_count = env(&[("JOB_COMPLETION_INDEX", "0")]);
        assert!(Shard::from_env(None, no_count).is_err());
        let too_big = env(&[("JOB_COMPLETION_INDEX", "3")]);
        assert!(Shard::from_env(Some(3), too_big).is_err());
    }

    #[test]
    fn shards_partition_the_linear_indices() {
        let shards: Vec<Shard> = (0..3).map(|index| Shard { index, count: 3 }).collect();
        for linear in 0..20 {
            assert_eq!(shards.iter().filter(|s| s.owns(linear)).count(), 1);
        }
    }

    #[test]
    fn ci_targets_parse() {
        let t: CiTarget = "p99=2%".parse().unwrap();
        assert_eq!(t.metric, Metric::LatencyP99);
        assert!((t.relative - 0.02).abs() < 1e-15);
        let t: CiTarget = "mean=0.05".parse().unwrap();
        assert_eq!(t.metric, Metric::LatencyMean);
        for bad in ["p99", "p98=2%", "p99=-1%", "p99=x"] {
            assert!(bad.parse::<CiTarget>().is_err(), "{bad}");
        }
    }
}
