//! Reading one run's partition: its `summary.json`, checked against the
//! manifest, and the gauge series of its `samples.parquet`.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, UInt32Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::layout::partition_dir;
use super::manifest::ManifestPoint;
use crate::engine::run::Summary;
use crate::metrics::schema;
use crate::sweep::SweepError;

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

/// One partition's inputs to the tables.
pub(super) struct Loaded {
    pub(super) replication: u64,
    pub(super) summary: Summary,
    pub(super) samples: Option<Vec<SeriesData>>,
}

pub(super) fn load(out: &Path, mp: &ManifestPoint, replication: u64) -> Result<Loaded, SweepError> {
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

/// One gauge series of one replication: its key and its (tick bits, mean)
/// values in tick order.
pub(super) type SeriesData = ((String, String, String), Vec<(u64, f64)>);

/// Read a replication's `samples.parquet` as series in first-seen order.
pub(super) fn read_samples(path: &Path) -> Result<Vec<SeriesData>, SweepError> {
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
