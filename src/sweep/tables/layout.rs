//! Where things are in a sweep's output directory: the names of the
//! sweep-level files, the partition of each run, and which replications of a
//! point are on disk.

use std::path::{Path, PathBuf};

use crate::sweep::SweepError;

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

/// Directory of one run: `OUT/point=<k>/replication=<r>`.
pub fn partition_dir(out: &Path, point: usize, replication: u64) -> PathBuf {
    out.join(format!("point={point}"))
        .join(format!("replication={replication}"))
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
