//! The sweep-level tables, rebuilt from the partitions on disk: `points.parquet`,
//! `summary.parquet`, `servers.parquet`, `aggregate.parquet`, `bands.parquet`.
//!
//! Every table is computed from files (each partition's `summary.json` and
//! `samples.parquet`) read in a fixed order (point, then replication), never from
//! what a worker thread happened to hand back first. So `sweep`, `sweep` with any
//! `--jobs`, and `sweep-merge` after sharded runs all write the same bytes.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, UInt32Type};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray, UInt64Array,
};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::metadata::KeyValue;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::SweepError;
use super::stats::{Acc, Ci};
use crate::engine::run::Summary;
use crate::metrics::outdir::write_atomic;
use crate::metrics::record::RunIdentity;
use crate::metrics::schema::{self, OutputFile};
use crate::metrics::sink::{engine_metadata, writer_properties};

/// Name of the sweep manifest in the output directory.
pub const MANIFEST_FILE: &str = "sweep.json";
/// One row per point.
pub const POINTS_FILE: &str = "points.parquet";
/// One row per point and replication.
pub const SUMMARY_FILE: &str = "summary.parquet";
/// One row per point, replication and server.
pub const SERVERS_FILE: &str = "servers.parquet";
/// One row per point: means and confidence intervals.
pub const AGGREGATE_FILE: &str = "aggregate.parquet";
/// One row per point, gauge series and tick: mean and confidence interval.
pub const BANDS_FILE: &str = "bands.parquet";
/// The sweep report.
pub const HTML_FILE: &str = "sweep.html";

/// Key-value metadata key of the sweep tables: number of points.
pub const META_POINTS: &str = "asyncflow.sweep_points";

/// What every shard of a sweep agrees on, written as `sweep.json`; `sweep-merge`
/// needs nothing else besides the partitions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format version of this file.
    pub format: u32,
    /// Engine version.
    pub engine_version: String,
    /// Base scenario path as given.
    pub scenario: Option<String>,
    /// SHA-256 of the base scenario text.
    pub scenario_sha256: String,
    /// Replications per point (the cap, with `until_ci`).
    pub replications: u64,
    /// Horizon override in seconds, if any.
    pub horizon_s: Option<f64>,
    /// Parquet files written per run.
    pub outputs: String,
    /// Sequential stopping rule, if any (`p99=2%`).
    pub until_ci: Option<String>,
    /// Swept paths, in flag order.
    pub paths: Vec<String>,
    /// Every point.
    pub points: Vec<ManifestPoint>,
}

/// A point in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestPoint {
    /// Point index.
    pub point: usize,
    /// Seed of every run of the point.
    pub seed: u64,
    /// SHA-256 of the point's scenario text.
    pub scenario_sha256: String,
    /// One value per swept path.
    pub values: Vec<Json>,
}

/// Directory of one run: `OUT/point=<k>/replication=<r>`.
pub fn partition_dir(out: &Path, point: usize, replication: u64) -> PathBuf {
    out.join(format!("point={point}"))
        .join(format!("replication={replication}"))
}

/// A per-replication figure that can be aggregated across replications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Mean latency of completed requests, seconds.
    LatencyMean,
    /// Median latency, seconds.
    LatencyP50,
    /// 95th percentile latency, seconds.
    LatencyP95,
    /// 99th percentile latency, seconds.
    LatencyP99,
    /// Mean completions per second.
    Throughput,
    /// Requests dropped.
    Dropped,
    /// Dropped over generated.
    DropRate,
    /// Highest CPU utilisation of any server.
    CpuUtilisationMax,
}

impl Metric {
    /// Every metric, in the column order of `aggregate.parquet`.
    pub const ALL: [Metric; 8] = [
        Metric::LatencyMean,
        Metric::LatencyP50,
        Metric::LatencyP95,
        Metric::LatencyP99,
        Metric::Throughput,
        Metric::Dropped,
        Metric::DropRate,
        Metric::CpuUtilisationMax,
    ];

    /// Column stem in `summary.parquet` and `aggregate.parquet`.
    pub fn column(self) -> &'static str {
        match self {
            Metric::LatencyMean => "latency_mean_s",
            Metric::LatencyP50 => "latency_p50_s",
            Metric::LatencyP95 => "latency_p95_s",
            Metric::LatencyP99 => "latency_p99_s",
            Metric::Throughput => "throughput_mean_rps",
            Metric::Dropped => "dropped",
            Metric::DropRate => "drop_rate",
            Metric::CpuUtilisationMax => "cpu_utilisation_max",
        }
    }

    /// Parse a short name (`mean`, `p50`, `p95`, `p99`, `throughput`, `dropped`,
    /// `drop_rate`, `utilisation`) or a column stem.
    pub fn parse(s: &str) -> Option<Metric> {
        let s = s.trim();
        Metric::ALL
            .into_iter()
            .find(|m| m.column() == s)
            .or(match s {
                "mean" | "latency" | "latency_mean" => Some(Metric::LatencyMean),
                "p50" => Some(Metric::LatencyP50),
                "p95" => Some(Metric::LatencyP95),
                "p99" => Some(Metric::LatencyP99),
                "throughput" => Some(Metric::Throughput),
                "drops" => Some(Metric::Dropped),
                "utilisation" | "utilization" | "cpu" => Some(Metric::CpuUtilisationMax),
                _ => None,
            })
    }

    /// Its value in one run's row.
    pub fn of(self, r: &SummaryRow) -> f64 {
        match self {
            Metric::LatencyMean => r.latency_mean_s,
            Metric::LatencyP50 => r.latency_p50_s,
            Metric::LatencyP95 => r.latency_p95_s,
            Metric::LatencyP99 => r.latency_p99_s,
            Metric::Throughput => r.throughput_mean_rps,
            Metric::Dropped => r.dropped as f64,
            Metric::DropRate => r.drop_rate,
            Metric::CpuUtilisationMax => r.cpu_utilisation_max,
        }
    }
}

/// One run's figures: a row of `summary.parquet`.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryRow {
    /// Point index.
    pub point: u64,
    /// Replication index.
    pub replication: u64,
    /// Seed.
    pub seed: u64,
    /// `complete` or `interrupted`.
    pub status: String,
    /// Simulated seconds.
    pub simulated_s: f64,
    /// Requests generated.
    pub generated: u64,
    /// Requests completed.
    pub completed: u64,
    /// Requests dropped.
    pub dropped: u64,
    /// Requests still in flight at the horizon.
    pub in_flight: u64,
    /// `dropped / generated` (0 without requests).
    pub drop_rate: f64,
    /// Mean latency, s.
    pub latency_mean_s: f64,
    /// Median latency, s.
    pub latency_p50_s: f64,
    /// p95 latency, s.
    pub latency_p95_s: f64,
    /// p99 latency, s.
    pub latency_p99_s: f64,
    /// Largest latency, s.
    pub latency_max_s: f64,
    /// Mean completions per second.
    pub throughput_mean_rps: f64,
    /// Highest CPU utilisation over the servers.
    pub cpu_utilisation_max: f64,
    /// Highest ready-queue length over the servers.
    pub ready_queue_max: f64,
    /// Highest RAM in use over the servers, MB.
    pub ram_in_use_max_mb: f64,
    /// Events dispatched.
    pub events_processed: u64,
}

impl SummaryRow {
    /// The row of one run's summary.
    pub fn new(point: u64, s: &Summary) -> SummaryRow {
        let r = &s.results;
        let fold = |f: fn(&crate::metrics::summary::ServerSummary) -> f64| {
            r.servers.iter().map(f).fold(0.0, f64::max)
        };
        SummaryRow {
            point,
            replication: s.run.replication,
            seed: s.run.seed,
            status: s.run.status.clone(),
            simulated_s: s.run.simulated_s,
            generated: r.requests.generated,
            completed: r.requests.completed,
            dropped: r.requests.dropped,
            in_flight: r.requests.in_flight_at_horizon,
            drop_rate: if r.requests.generated == 0 {
                0.0
            } else {
                r.requests.dropped as f64 / r.requests.generated as f64
            },
            latency_mean_s: r.latency.mean_s,
            latency_p50_s: r.latency.p50_s,
            latency_p95_s: r.latency.p95_s,
            latency_p99_s: r.latency.p99_s,
            latency_max_s: r.latency.max_s,
            throughput_mean_rps: r.throughput.mean_rps,
            cpu_utilisation_max: fold(|x| x.cpu_utilisation),
            ready_queue_max: fold(|x| x.ready_queue_max),
            ram_in_use_max_mb: fold(|x| x.ram_in_use_max_mb),
            events_processed: s.engine_figures.events_processed,
        }
    }
}

/// One point's means and intervals: a row of `aggregate.parquet`.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregateRow {
    /// Point index.
    pub point: u64,
    /// Replications found.
    pub replications: u64,
    /// One interval per [`Metric::ALL`] entry.
    pub metrics: Vec<(Metric, Ci)>,
}

impl AggregateRow {
    /// The interval of `m`.
    pub fn get(&self, m: Metric) -> Option<&Ci> {
        self.metrics.iter().find(|(x, _)| *x == m).map(|(_, c)| c)
    }
}

/// Aggregate the rows of one point (in replication order).
pub fn aggregate_point(point: u64, rows: &[&SummaryRow]) -> AggregateRow {
    let metrics = Metric::ALL
        .iter()
        .map(|&m| {
            let mut acc = Acc::default();
            rows.iter().for_each(|r| acc.push(m.of(r)));
            (m, acc.ci())
        })
        .collect();
    AggregateRow {
        point,
        replications: rows.len() as u64,
        metrics,
    }
}

/// A run the manifest expects but no partition holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Missing {
    /// Point index.
    pub point: usize,
    /// Replication index.
    pub replication: u64,
}

/// What a merge produced.
#[derive(Debug, Clone)]
pub struct Tables {
    /// The manifest.
    pub manifest: Manifest,
    /// Per run, point-major.
    pub summary: Vec<SummaryRow>,
    /// Per point.
    pub aggregate: Vec<AggregateRow>,
    /// Runs expected without `until_ci` but not found (empty with it).
    pub missing: Vec<Missing>,
    /// Files written.
    pub files: Vec<PathBuf>,
}

/// Read `sweep.json`.
pub fn read_manifest(out: &Path) -> Result<Manifest, SweepError> {
    let path = out.join(MANIFEST_FILE);
    let text = std::fs::read_to_string(&path).map_err(|source| SweepError::Io {
        action: "read the sweep manifest",
        path: path.clone(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| SweepError::Corrupt {
        path,
        reason: e.to_string(),
    })
}

/// Replication indices with a `summary.json` under `OUT/point=<k>/`, sorted, below `cap`.
pub fn replications_on_disk(out: &Path, point: usize, cap: u64) -> Result<Vec<u64>, SweepError> {
    let dir = out.join(format!("point={point}"));
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(SweepError::Io {
                action: "list",
                path: dir,
                source,
            });
        }
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| SweepError::Io {
            action: "list",
            path: dir.clone(),
            source,
        })?;
        let name = entry.file_name();
        let Some(r) = name
            .to_str()
            .and_then(|n| n.strip_prefix("replication="))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        if r < cap && entry.path().join("summary.json").is_file() {
            found.push(r);
        }
    }
    found.sort_unstable();
    Ok(found)
}

/// Read one run's `summary.json` and check it belongs to this sweep.
pub fn read_summary(
    out: &Path,
    mp: &ManifestPoint,
    replication: u64,
) -> Result<Summary, SweepError> {
    let path = partition_dir(out, mp.point, replication).join("summary.json");
    let text = std::fs::read_to_string(&path).map_err(|source| SweepError::Io {
        action: "read",
        path: path.clone(),
        source,
    })?;
    let s: Summary = serde_json::from_str(&text).map_err(|e| SweepError::Corrupt {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    if s.run.seed != mp.seed
        || s.run.replication != replication
        || s.scenario.sha256 != mp.scenario_sha256
    {
        return Err(SweepError::Corrupt {
            path,
            reason: format!(
                "it is not from this sweep (seed {}, replication {}, scenario {}; expected seed {}, replication {replication}, scenario {})",
                s.run.seed, s.run.replication, s.scenario.sha256, mp.seed, mp.scenario_sha256
            ),
        });
    }
    Ok(s)
}

/// Rebuild every sweep table from the partitions under `out`, reading and
/// writing files on as many threads as there are cores.
pub fn merge(out: &Path) -> Result<Tables, SweepError> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| SweepError::Options(format!("cannot start {threads} threads: {e}")))?;
    merge_in(out, &pool)
}

/// One partition's inputs to the tables.
struct Loaded {
    replication: u64,
    summary: Summary,
    samples: Option<Vec<SeriesData>>,
}

fn load(out: &Path, mp: &ManifestPoint, replication: u64) -> Result<Loaded, SweepError> {
    let summary = read_summary(out, mp, replication)?;
    let path = partition_dir(out, mp.point, replication).join(schema::SAMPLES_FILE);
    let samples = if path.is_file() {
        Some(read_samples(&path)?)
    } else {
        None
    };
    Ok(Loaded {
        replication,
        summary,
        samples,
    })
}

/// [`merge`] on `pool`. Files are read in parallel a few per thread at a time,
/// then folded in (point, replication) order, so the result does not depend on
/// the pool; memory holds one such group of partitions, not the whole sweep.
pub fn merge_in(out: &Path, pool: &rayon::ThreadPool) -> Result<Tables, SweepError> {
    let manifest = read_manifest(out)?;
    let mut summary = Vec::new();
    let mut servers: Vec<(u64, u64, crate::metrics::summary::ServerSummary)> = Vec::new();
    let mut aggregate = Vec::new();
    let mut missing = Vec::new();
    let mut bands = Bands::default();
    let group = pool.current_num_threads().max(1) * 4;
    for mp in &manifest.points {
        let reps = replications_on_disk(out, mp.point, manifest.replications)?;
        if manifest.until_ci.is_none() {
            missing.extend(
                (0..manifest.replications)
                    .filter(|r| reps.binary_search(r).is_err())
                    .map(|replication| Missing {
                        point: mp.point,
                        replication,
                    }),
            );
        }
        let first = summary.len();
        for chunk in reps.chunks(group) {
            let loaded: Vec<Result<Loaded, SweepError>> =
                pool.install(|| chunk.par_iter().map(|&r| load(out, mp, r)).collect());
            for l in loaded {
                let l = l?;
                summary.push(SummaryRow::new(mp.point as u64, &l.summary));
                for x in &l.summary.results.servers {
                    servers.push((mp.point as u64, l.replication, x.clone()));
                }
                if let Some(data) = l.samples {
                    bands.add(data);
                }
            }
        }
        let rows: Vec<&SummaryRow> = summary[first..].iter().collect();
        aggregate.push(aggregate_point(mp.point as u64, &rows));
        bands.finish_point(mp.point as u64);
    }
    let identity = RunIdentity {
        engine_version: manifest.engine_version.clone(),
        scenario_sha256: manifest.scenario_sha256.clone(),
        seed: manifest.points.first().map_or(0, |p| p.seed),
        replication: 0,
    };
    let batches = [
        (POINTS_FILE, points_batch(&manifest)?),
        (SUMMARY_FILE, summary_batch(&summary)?),
        (SERVERS_FILE, servers_batch(&servers)?),
        (AGGREGATE_FILE, aggregate_batch(&manifest, &aggregate)?),
        (BANDS_FILE, bands.batch()?),
    ];
    let written: Vec<Result<PathBuf, SweepError>> = pool.install(|| {
        batches
            .par_iter()
            .map(|(name, batch)| {
                let path = out.join(name);
                write_parquet(&path, batch, &identity, manifest.points.len())?;
                Ok(path)
            })
            .collect()
    });
    let mut files = written.into_iter().collect::<Result<Vec<_>, _>>()?;
    files.extend(super::html::write(out, &manifest, &aggregate)?);
    Ok(Tables {
        manifest,
        summary,
        aggregate,
        missing,
        files,
    })
}

fn write_parquet(
    path: &Path,
    batch: &RecordBatch,
    id: &RunIdentity,
    points: usize,
) -> Result<(), SweepError> {
    // The run files' settings (zstd, dictionaries, statistics), with sweep-level
    // metadata in place of a single run's replication index.
    let mut kv = engine_metadata(id);
    kv.push(KeyValue::new(META_POINTS.to_owned(), points.to_string()));
    let props = writer_properties(id, OutputFile::Samples)
        .into_builder()
        .set_key_value_metadata(Some(kv))
        .build();
    let parquet_err = |source| SweepError::Parquet {
        path: path.to_path_buf(),
        source,
    };
    let mut buf = Vec::new();
    let mut w = ArrowWriter::try_new(&mut buf, batch.schema(), Some(props)).map_err(parquet_err)?;
    w.write(batch).map_err(parquet_err)?;
    w.close().map_err(parquet_err)?;
    write_atomic(path, &buf)?;
    Ok(())
}

/// Columns of a table under construction.
#[derive(Default)]
struct Cols {
    fields: Vec<Field>,
    arrays: Vec<ArrayRef>,
}

impl Cols {
    fn u64(&mut self, name: &str, v: Vec<u64>) {
        self.fields.push(Field::new(name, DataType::UInt64, false));
        self.arrays.push(Arc::new(UInt64Array::from(v)));
    }
    fn f64(&mut self, name: &str, v: Vec<f64>) {
        self.fields.push(Field::new(name, DataType::Float64, false));
        self.arrays.push(Arc::new(Float64Array::from(v)));
    }
    fn opt_f64(&mut self, name: &str, v: Vec<Option<f64>>) {
        self.fields.push(Field::new(name, DataType::Float64, true));
        self.arrays.push(Arc::new(Float64Array::from(v)));
    }
    fn str(&mut self, name: &str, v: Vec<String>) {
        self.fields.push(Field::new(name, DataType::Utf8, false));
        self.arrays.push(Arc::new(StringArray::from(v)));
    }
    fn json(&mut self, name: &str, v: Vec<&Json>) {
        // Typed by the values: all integers → Int64, all numbers → Float64, all
        // booleans → Boolean, otherwise text.
        if v.iter().all(|x| x.is_i64()) {
            self.fields.push(Field::new(name, DataType::Int64, true));
            self.arrays.push(Arc::new(Int64Array::from_iter(
                v.iter().map(|x| x.as_i64()),
            )));
        } else if v.iter().all(|x| x.is_number()) {
            self.fields.push(Field::new(name, DataType::Float64, true));
            self.arrays.push(Arc::new(Float64Array::from_iter(
                v.iter().map(|x| x.as_f64()),
            )));
        } else if v.iter().all(|x| x.is_boolean()) {
            self.fields.push(Field::new(name, DataType::Boolean, true));
            self.arrays.push(Arc::new(BooleanArray::from_iter(
                v.iter().map(|x| x.as_bool()),
            )));
        } else {
            self.fields.push(Field::new(name, DataType::Utf8, true));
            self.arrays
                .push(Arc::new(StringArray::from_iter(v.iter().map(|x| {
                    Some(match x {
                        Json::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                }))));
        }
    }
    fn batch(self) -> Result<RecordBatch, SweepError> {
        RecordBatch::try_new(Arc::new(Schema::new(self.fields)), self.arrays)
            .map_err(|e| SweepError::Arrow(e.to_string()))
    }
}

fn swept_columns(cols: &mut Cols, manifest: &Manifest, points: &[usize]) {
    for (i, p) in manifest.paths.iter().enumerate() {
        let v: Vec<&Json> = points
            .iter()
            .map(|&k| manifest.points[k].values.get(i).unwrap_or(&Json::Null))
            .collect();
        cols.json(p, v);
    }
}

fn points_batch(m: &Manifest) -> Result<RecordBatch, SweepError> {
    let mut c = Cols::default();
    c.u64("point", m.points.iter().map(|p| p.point as u64).collect());
    c.u64("seed", m.points.iter().map(|p| p.seed).collect());
    let idx: Vec<usize> = (0..m.points.len()).collect();
    swept_columns(&mut c, m, &idx);
    c.batch()
}

fn summary_batch(rows: &[SummaryRow]) -> Result<RecordBatch, SweepError> {
    let mut c = Cols::default();
    let u = |f: fn(&SummaryRow) -> u64| rows.iter().map(f).collect::<Vec<_>>();
    let f = |f: fn(&SummaryRow) -> f64| rows.iter().map(f).collect::<Vec<_>>();
    c.u64("point", u(|r| r.point));
    c.u64("replication", u(|r| r.replication));
    c.u64("seed", u(|r| r.seed));
    c.str("status", rows.iter().map(|r| r.status.clone()).collect());
    c.f64("simulated_s", f(|r| r.simulated_s));
    c.u64("generated", u(|r| r.generated));
    c.u64("completed", u(|r| r.completed));
    c.u64("dropped", u(|r| r.dropped));
    c.u64("in_flight", u(|r| r.in_flight));
    c.f64("drop_rate", f(|r| r.drop_rate));
    c.f64("latency_mean_s", f(|r| r.latency_mean_s));
    c.f64("latency_p50_s", f(|r| r.latency_p50_s));
    c.f64("latency_p95_s", f(|r| r.latency_p95_s));
    c.f64("latency_p99_s", f(|r| r.latency_p99_s));
    c.f64("latency_max_s", f(|r| r.latency_max_s));
    c.f64("throughput_mean_rps", f(|r| r.throughput_mean_rps));
    c.f64("cpu_utilisation_max", f(|r| r.cpu_utilisation_max));
    c.f64("ready_queue_max", f(|r| r.ready_queue_max));
    c.f64("ram_in_use_max_mb", f(|r| r.ram_in_use_max_mb));
    c.u64("events_processed", u(|r| r.events_processed));
    c.batch()
}

fn servers_batch(
    rows: &[(u64, u64, crate::metrics::summary::ServerSummary)],
) -> Result<RecordBatch, SweepError> {
    let mut c = Cols::default();
    let f = |f: fn(&crate::metrics::summary::ServerSummary) -> f64| {
        rows.iter().map(|(_, _, s)| f(s)).collect::<Vec<_>>()
    };
    c.u64("point", rows.iter().map(|r| r.0).collect());
    c.u64("replication", rows.iter().map(|r| r.1).collect());
    c.str("server", rows.iter().map(|r| r.2.id.clone()).collect());
    c.u64(
        "cpu_cores",
        rows.iter().map(|r| u64::from(r.2.cpu_cores)).collect(),
    );
    c.u64(
        "workers",
        rows.iter().map(|r| u64::from(r.2.workers)).collect(),
    );
    c.u64("served", rows.iter().map(|r| r.2.served).collect());
    c.f64("cpu_utilisation", f(|s| s.cpu_utilisation));
    c.f64("ready_queue_mean", f(|s| s.ready_queue_mean));
    c.f64("ready_queue_max", f(|s| s.ready_queue_max));
    c.f64("io_sleep_mean", f(|s| s.io_sleep_mean));
    c.f64("io_sleep_max", f(|s| s.io_sleep_max));
    c.f64("ram_in_use_mean_mb", f(|s| s.ram_in_use_mean_mb));
    c.f64("ram_in_use_max_mb", f(|s| s.ram_in_use_max_mb));
    c.f64("ram_wait_queue_mean", f(|s| s.ram_wait_queue_mean));
    c.f64("ram_wait_queue_max", f(|s| s.ram_wait_queue_max));
    c.batch()
}

fn aggregate_batch(m: &Manifest, rows: &[AggregateRow]) -> Result<RecordBatch, SweepError> {
    let mut c = Cols::default();
    c.u64("point", rows.iter().map(|r| r.point).collect());
    let idx: Vec<usize> = rows.iter().map(|r| r.point as usize).collect();
    swept_columns(&mut c, m, &idx);
    c.u64(
        "replications",
        rows.iter().map(|r| r.replications).collect(),
    );
    for (i, metric) in Metric::ALL.iter().enumerate() {
        let cis: Vec<Ci> = rows.iter().map(|r| r.metrics[i].1).collect();
        let stem = metric.column();
        c.f64(
            &format!("{stem}_mean"),
            cis.iter().map(|x| x.mean).collect(),
        );
        c.opt_f64(&format!("{stem}_ci_low"), cis.iter().map(Ci::low).collect());
        c.opt_f64(
            &format!("{stem}_ci_high"),
            cis.iter().map(Ci::high).collect(),
        );
        c.opt_f64(
            &format!("{stem}_ci_half"),
            cis.iter().map(|x| x.half).collect(),
        );
    }
    c.batch()
}

/// One gauge series of one replication: its key and its (tick bits, mean)
/// values in tick order.
type SeriesData = ((String, String, String), Vec<(u64, f64)>);

/// Read a replication's `samples.parquet` as series in first-seen order.
fn read_samples(path: &Path) -> Result<Vec<SeriesData>, SweepError> {
    let bad = |reason: String| SweepError::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    let file = File::open(path).map_err(|source| SweepError::Io {
        action: "open",
        path: path.to_path_buf(),
        source,
    })?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|source| SweepError::Parquet {
            path: path.to_path_buf(),
            source,
        })?;
    let mut series: Vec<SeriesData> = Vec::new();
    let mut lookup: HashMap<(String, String, String), usize> = HashMap::new();
    for batch in reader {
        let batch = batch.map_err(|e| bad(e.to_string()))?;
        let col = |name: &str| {
            batch
                .column_by_name(name)
                .ok_or_else(|| bad(format!("no column `{name}`")))
        };
        let dict = |name: &str| -> Result<(Vec<Option<u32>>, Vec<String>), SweepError> {
            let a = col(name)?;
            let d = a
                .as_dictionary_opt::<UInt32Type>()
                .ok_or_else(|| bad(format!("`{name}` is not a dictionary column")))?;
            let values = d
                .values()
                .as_string_opt::<i32>()
                .ok_or_else(|| bad(format!("`{name}` does not hold strings")))?;
            let keys = d.keys().iter().collect();
            let names = (0..values.len())
                .map(|i| values.value(i).to_owned())
                .collect();
            Ok((keys, names))
        };
        let (kinds, kind_names) = dict("entity_kind")?;
        let (entities, entity_names) = dict("entity")?;
        let (metrics, metric_names) = dict("metric")?;
        let t = col("t_s")?
            .as_primitive_opt::<Float64Type>()
            .ok_or_else(|| bad("`t_s` is not Float64".into()))?
            .clone();
        let mean = col("mean")?
            .as_primitive_opt::<Float64Type>()
            .ok_or_else(|| bad("`mean` is not Float64".into()))?
            .clone();
        // Dictionary keys → series, resolved to names once per batch.
        let mut cache: HashMap<(u32, u32, u32), usize> = HashMap::new();
        for i in 0..batch.num_rows() {
            let (Some(k), Some(e), Some(m)) = (kinds[i], entities[i], metrics[i]) else {
                continue;
            };
            if t.is_null(i) || mean.is_null(i) {
                continue;
            }
            let s = match cache.get(&(k, e, m)) {
                Some(&s) => s,
                None => {
                    let name = |names: &[String], key: u32| {
                        names
                            .get(key as usize)
                            .cloned()
                            .ok_or_else(|| bad(format!("dictionary key {key} out of range")))
                    };
                    let key = (
                        name(&kind_names, k)?,
                        name(&entity_names, e)?,
                        name(&metric_names, m)?,
                    );
                    let s = match lookup.get(&key) {
                        Some(&s) => s,
                        None => {
                            series.push((key.clone(), Vec::new()));
                            lookup.insert(key, series.len() - 1);
                            series.len() - 1
                        }
                    };
                    cache.insert((k, e, m), s);
                    s
                }
            };
            series[s].1.push((t.value(i).to_bits(), mean.value(i)));
        }
    }
    for (_, v) in &mut series {
        // Positive f64 bit patterns order like the values; the file is already
        // in tick order, so this stable sort only guards against a reordered file.
        v.sort_by_key(|&(t, _)| t);
    }
    Ok(series)
}

/// Time-series bands: per point, per gauge series (entity kind, entity, metric)
/// and tick, the mean and interval of the replications' `mean` column.
#[derive(Default)]
struct Bands {
    /// Series of the current point, in first-seen order.
    series: Vec<(String, String, String)>,
    lookup: HashMap<(String, String, String), usize>,
    /// Per series: (tick bits, values) in tick order.
    ticks: Vec<Vec<(u64, Acc)>>,
    /// Finished rows.
    rows: BandRows,
}

#[derive(Default)]
struct BandRows {
    point: Vec<u64>,
    entity_kind: Vec<String>,
    entity: Vec<String>,
    metric: Vec<String>,
    t_s: Vec<f64>,
    replications: Vec<u64>,
    mean: Vec<f64>,
    low: Vec<Option<f64>>,
    high: Vec<Option<f64>>,
}

/// Push `add`'s values into `into`, both in tick order; ticks only one side has
/// are kept (an interrupted replication has fewer).
fn merge_ticks(into: &mut Vec<(u64, Acc)>, add: &[(u64, f64)]) {
    if into.len() == add.len() && into.iter().zip(add).all(|(a, b)| a.0 == b.0) {
        for (slot, &(_, x)) in into.iter_mut().zip(add) {
            slot.1.push(x);
        }
        return;
    }
    let old = std::mem::take(into);
    let mut old = old.into_iter().peekable();
    let mut add = add.iter().peekable();
    loop {
        let take_old = match (old.peek(), add.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(a), Some(b)) => a.0 <= b.0,
        };
        if take_old {
            if let Some(x) = old.next() {
                into.push(x);
            }
        } else if let Some(&(t, x)) = add.next() {
            match into.last_mut() {
                Some(last) if last.0 == t => last.1.push(x),
                _ => {
                    let mut a = Acc::default();
                    a.push(x);
                    into.push((t, a));
                }
            }
        }
    }
}

impl Bands {
    /// Add one replication's series (replications in index order).
    fn add(&mut self, data: Vec<SeriesData>) {
        for (key, values) in data {
            let s = match self.lookup.get(&key) {
                Some(&s) => s,
                None => {
                    self.series.push(key.clone());
                    self.ticks.push(Vec::new());
                    self.lookup.insert(key, self.series.len() - 1);
                    self.series.len() - 1
                }
            };
            merge_ticks(&mut self.ticks[s], &values);
        }
    }

    fn finish_point(&mut self, point: u64) {
        for ((kind, entity, metric), ticks) in self.series.drain(..).zip(self.ticks.drain(..)) {
            for (bits, acc) in ticks {
                let ci = acc.ci();
                let r = &mut self.rows;
                r.point.push(point);
                r.entity_kind.push(kind.clone());
                r.entity.push(entity.clone());
                r.metric.push(metric.clone());
                r.t_s.push(f64::from_bits(bits));
                r.replications.push(acc.n());
                r.mean.push(ci.mean);
                r.low.push(ci.low());
                r.high.push(ci.high());
            }
        }
        self.lookup.clear();
    }

    fn batch(self) -> Result<RecordBatch, SweepError> {
        let r = self.rows;
        let mut c = Cols::default();
        c.u64("point", r.point);
        c.str("entity_kind", r.entity_kind);
        c.str("entity", r.entity);
        c.str("metric", r.metric);
        c.f64("t_s", r.t_s);
        c.u64("replications", r.replications);
        c.f64("mean", r.mean);
        c.opt_f64("ci_low", r.low);
        c.opt_f64("ci_high", r.high);
        c.batch()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acc(xs: &[f64]) -> Acc {
        let mut a = Acc::default();
        xs.iter().for_each(|&x| a.push(x));
        a
    }

    #[test]
    fn ticks_merge_in_order_and_keep_one_sided_ticks() {
        let mut v = Vec::new();
        merge_ticks(&mut v, &[(1, 1.0), (3, 3.0)]);
        merge_ticks(&mut v, &[(1, 2.0), (3, 5.0)]);
        // A shorter replication and one with an extra tick.
        merge_ticks(&mut v, &[(1, 3.0)]);
        merge_ticks(&mut v, &[(2, 7.0), (3, 4.0)]);
        assert_eq!(
            v,
            vec![
                (1, acc(&[1.0, 2.0, 3.0])),
                (2, acc(&[7.0])),
                (3, acc(&[3.0, 5.0, 4.0]))
            ]
        );
    }

    #[test]
    fn metrics_parse_short_names_and_columns() {
        assert_eq!(Metric::parse("p99"), Some(Metric::LatencyP99));
        assert_eq!(Metric::parse("latency_p95_s"), Some(Metric::LatencyP95));
        assert_eq!(
            Metric::parse("utilisation"),
            Some(Metric::CpuUtilisationMax)
        );
        assert_eq!(Metric::parse("p98"), None);
    }
}
