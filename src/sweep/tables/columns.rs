//! The sweep tables as Arrow record batches (`points`, `summary`, `servers`,
//! `aggregate`; `bands` builds its own with [`Cols`]) and writing a batch as a
//! Parquet file with the sweep-level metadata.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray, UInt64Array,
};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::file::metadata::KeyValue;
use serde_json::Value as Json;

use super::layout::META_POINTS;
use super::manifest::Manifest;
use super::metric::Metric;
use super::rows::{AggregateRow, SummaryRow};
use crate::metrics::outdir::write_atomic;
use crate::metrics::record::RunIdentity;
use crate::metrics::schema::OutputFile;
use crate::metrics::sink::{engine_metadata, writer_properties};
use crate::sweep::SweepError;
use crate::sweep::stats::Ci;

pub(super) fn write_parquet(
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
pub(super) struct Cols {
    fields: Vec<Field>,
    arrays: Vec<ArrayRef>,
}

impl Cols {
    pub(super) fn u64(&mut self, name: &str, v: Vec<u64>) {
        self.fields.push(Field::new(name, DataType::UInt64, false));
        self.arrays.push(Arc::new(UInt64Array::from(v)));
    }
    pub(super) fn f64(&mut self, name: &str, v: Vec<f64>) {
        self.fields.push(Field::new(name, DataType::Float64, false));
        self.arrays.push(Arc::new(Float64Array::from(v)));
    }
    pub(super) fn opt_f64(&mut self, name: &str, v: Vec<Option<f64>>) {
        self.fields.push(Field::new(name, DataType::Float64, true));
        self.arrays.push(Arc::new(Float64Array::from(v)));
    }
    pub(super) fn str(&mut self, name: &str, v: Vec<String>) {
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
    pub(super) fn batch(self) -> Result<RecordBatch, SweepError> {
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

pub(super) fn points_batch(m: &Manifest) -> Result<RecordBatch, SweepError> {
    let mut c = Cols::default();
    c.u64("point", m.points.iter().map(|p| p.point as u64).collect());
    c.u64("seed", m.points.iter().map(|p| p.seed).collect());
    let idx: Vec<usize> = (0..m.points.len()).collect();
    swept_columns(&mut c, m, &idx);
    c.batch()
}

pub(super) fn summary_batch(rows: &[SummaryRow]) -> Result<RecordBatch, SweepError> {
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

pub(super) fn servers_batch(
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

pub(super) fn aggregate_batch(
    m: &Manifest,
    rows: &[AggregateRow],
) -> Result<RecordBatch, SweepError> {
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
