//! The sweep manifest, `sweep.json`: what every shard agrees on, and reading it
//! back.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::layout::MANIFEST_FILE;
use crate::sweep::SweepError;

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
