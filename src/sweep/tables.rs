//! The sweep-level tables, rebuilt from the partitions on disk: `points.parquet`,
//! `summary.parquet`, `servers.parquet`, `aggregate.parquet`, `bands.parquet`.
//!
//! Every table is computed from files (each partition's `summary.json` and
//! `samples.parquet`) read in a fixed order (point, then replication), never from
//! what a worker thread happened to hand back first. So `sweep`, `sweep` with any
//! `--jobs`, and `sweep-merge` after sharded runs all write the same bytes.

//!
//! The jobs are split by file:
//! - `layout`: file names, partition directories, replications on disk;
//! - `manifest`: `sweep.json`;
//! - `metric` and `rows`: the per-run figures and their per-point fold;
//! - `read`: one partition's `summary.json` and `samples.parquet`;
//! - `bands`: the time-series bands;
//! - `columns`: the record batches and the Parquet writer;
//! - this file: [`merge`], which drives them in a fixed order.

mod bands;
mod columns;
mod layout;
mod manifest;
mod metric;
mod read;
mod rows;

use std::path::{Path, PathBuf};

use rayon::prelude::*;

pub use layout::{
    AGGREGATE_FILE, BANDS_FILE, HTML_FILE, MANIFEST_FILE, META_POINTS, POINTS_FILE, SERVERS_FILE,
    SUMMARY_FILE, partition_dir, replications_on_disk,
};
pub use manifest::{Manifest, ManifestPoint, read_manifest};
pub use metric::Metric;
pub use read::read_summary;
pub use rows::{AggregateRow, SummaryRow, aggregate_point};

use super::SweepError;
use crate::metrics::record::RunIdentity;
use bands::Bands;
use columns::{aggregate_batch, points_batch, servers_batch, summary_batch, write_parquet};
use read::{Loaded, load};

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
