//! One Parquet file being written: a hidden temporary name while the run lasts,
//! the real name only once the writer has closed it.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_schema::{DataType, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use super::{OutputError, RunStatus};
use crate::metrics::outdir::{OutDir, partial_path, sync_dir};
use crate::metrics::record::RunIdentity;
use crate::metrics::schema::{self, OutputFile};

/// Rows per row group: a few record batches each, so readers (DuckDB, Polars) can
/// split a large file across threads, while the writer's in-progress row group
/// (encoded pages held in memory until the group closes) stays a few MB.
pub const ROW_GROUP_ROWS: usize = 256 * 1024;

/// Key-value metadata every file written by the project carries: engine version
/// and scenario SHA-256.
pub fn engine_metadata(id: &RunIdentity) -> Vec<KeyValue> {
    vec![
        KeyValue::new(
            schema::META_ENGINE_VERSION.to_owned(),
            id.engine_version.clone(),
        ),
        KeyValue::new(
            schema::META_SCENARIO_SHA256.to_owned(),
            id.scenario_sha256.clone(),
        ),
    ]
}

/// The writer settings of every output file: zstd, dictionary encoding (the string
/// columns repeat a handful of ids; numeric columns only where
/// [`OutputFile::numeric_dictionary`] says they repeat), chunk-level statistics
/// on the numeric columns for predicate pushdown (time ranges, latency
/// thresholds), none on the string columns, and the run's identity as key-value
/// metadata.
///
/// The string columns go without statistics because they could not prune
/// anything: rows are in time order, so every row group holds nearly every
/// server, edge, status and metric, and a group's min/max spans the whole
/// vocabulary. The writer would still compare every row's string to compute
/// them (it has no way to take them from the dictionary): about a seventh of
/// the writing work on the 10-server load-balancer benchmark.
pub fn writer_properties(id: &RunIdentity, file: OutputFile) -> WriterProperties {
    let mut kv = engine_metadata(id);
    kv.extend([
        KeyValue::new(schema::META_SEED.to_owned(), id.seed.to_string()),
        KeyValue::new(
            schema::META_REPLICATION.to_owned(),
            id.replication.to_string(),
        ),
    ]);
    let mut builder = WriterProperties::builder();
    for field in file.schema().fields() {
        let column = ColumnPath::from(field.name().as_str());
        if matches!(field.data_type(), DataType::Dictionary(..)) {
            builder = builder.set_column_statistics_enabled(column, EnabledStatistics::None);
        } else if !file.numeric_dictionary() {
            builder = builder.set_column_dictionary_enabled(column, false);
        }
    }
    builder
        // Level 1, the fastest: higher levels cost far more CPU (level 3: about
        // +28% of the writing work on the load-balancer benchmark) for files
        // under 1% smaller, the columns being mostly dictionary keys and floats.
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_dictionary_enabled(true)
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_created_by(format!("asyncflow {}", id.engine_version))
        .set_key_value_metadata(Some(kv))
        .build()
}

/// A Parquet file open for writing under its temporary name.
///
/// Dropping it without [`ParquetFile::finish`] deletes the temporary file, so an
/// aborted run leaves nothing that could pass for output.
pub(crate) struct ParquetFile {
    writer: Option<ArrowWriter<File>>,
    partial: PathBuf,
    path: PathBuf,
    /// Renamed into place; nothing left to clean up.
    published: bool,
}

impl ParquetFile {
    pub(crate) fn create(
        dir: &OutDir,
        file: OutputFile,
        id: &RunIdentity,
    ) -> Result<Self, OutputError> {
        let path = dir.join(file.file_name());
        let partial = partial_path(&path);
        let out = File::create(&partial).map_err(|e| OutputError::io("create", &partial, e))?;
        Self::with_output(out, partial, path, file, id)
    }

    /// A writer into `out`, already open at `partial`, to be published as `path`.
    pub(super) fn with_output(
        out: File,
        partial: PathBuf,
        path: PathBuf,
        file: OutputFile,
        id: &RunIdentity,
    ) -> Result<Self, OutputError> {
        let schema: SchemaRef = file.schema();
        let props = writer_properties(id, file);
        let writer = match ArrowWriter::try_new(out, schema, Some(props)) {
            Ok(w) => w,
            Err(source) => {
                let _ = fs::remove_file(&partial);
                return Err(OutputError::Parquet {
                    path: partial,
                    source,
                });
            }
        };
        Ok(ParquetFile {
            writer: Some(writer),
            partial,
            path,
            published: false,
        })
    }

    /// The temporary path, for error messages.
    pub(crate) fn partial(&self) -> &Path {
        &self.partial
    }

    pub(crate) fn write(&mut self, batch: &RecordBatch) -> Result<(), OutputError> {
        let Some(writer) = self.writer.as_mut() else {
            return Ok(());
        };
        let row_groups = writer.flushed_row_groups().len();
        writer.write(batch).map_err(|source| OutputError::Parquet {
            path: self.partial.clone(),
            source,
        })?;
        // A row group went to the file: sync it now, on the writer's thread, so
        // the sync at `finish` (which the run waits for) has only the last row
        // group left to write rather than the whole file.
        if writer.flushed_row_groups().len() > row_groups {
            writer
                .inner()
                .sync_data()
                .map_err(|e| OutputError::io("sync", &self.partial, e))?;
        }
        Ok(())
    }

    /// Close the writer with the run's status in the metadata, fsync, rename into
    /// place; the final path.
    pub(crate) fn finish(mut self, status: RunStatus) -> Result<PathBuf, OutputError> {
        let Some(mut writer) = self.writer.take() else {
            return Ok(self.path.clone());
        };
        writer.append_key_value_metadata(KeyValue::new(
            schema::META_STATUS.to_owned(),
            status.as_str().to_owned(),
        ));
        let parquet_err = |source| OutputError::Parquet {
            path: self.partial.clone(),
            source,
        };
        writer.finish().map_err(parquet_err)?;
        // `finish` flushed the writer's buffer into the file; make it durable
        // before the rename publishes it.
        writer
            .inner()
            .sync_all()
            .map_err(|e| OutputError::io("sync", &self.partial, e))?;
        drop(writer);
        fs::rename(&self.partial, &self.path)
            .map_err(|e| OutputError::io("rename into place", &self.path, e))?;
        self.published = true;
        sync_dir(&self.path)?;
        Ok(std::mem::take(&mut self.path))
    }
}

impl Drop for ParquetFile {
    fn drop(&mut self) {
        // Not published means the run never finished this file (or finishing it
        // failed): remove the partial file, best effort, as there is no one to
        // report an error to.
        if !self.published {
            drop(self.writer.take());
            let _ = fs::remove_file(&self.partial);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> RunIdentity {
        RunIdentity {
            engine_version: "1.2.3".to_owned(),
            scenario_sha256: "f".repeat(64),
            seed: 7,
            replication: 2,
        }
    }

    #[test]
    fn properties_compress_and_carry_the_identity() {
        let props = writer_properties(&id(), OutputFile::Samples);
        let any = ColumnPath::from("t_s");
        assert_eq!(
            props.compression(&any),
            Compression::ZSTD(ZstdLevel::default())
        );
        assert!(props.dictionary_enabled(&any));
        assert_eq!(props.max_row_group_row_count(), Some(ROW_GROUP_ROWS));
        let kv: Vec<(String, Option<String>)> = props
            .key_value_metadata()
            .unwrap()
            .iter()
            .map(|e| (e.key.clone(), e.value.clone()))
            .collect();
        let get = |k: &str| {
            kv.iter()
                .find(|(key, _)| key == k)
                .and_then(|(_, v)| v.clone())
        };
        assert_eq!(get(schema::META_ENGINE_VERSION).as_deref(), Some("1.2.3"));
        assert_eq!(get(schema::META_SEED).as_deref(), Some("7"));
        assert_eq!(get(schema::META_REPLICATION).as_deref(), Some("2"));
        assert_eq!(get(schema::META_SCENARIO_SHA256), Some("f".repeat(64)));
        // The status is only known at close.
        assert_eq!(get(schema::META_STATUS), None);
    }

    #[test]
    fn statistics_on_numeric_columns_only() {
        for file in OutputFile::ALL {
            let props = writer_properties(&id(), file);
            for field in file.schema().fields() {
                let want = match field.data_type() {
                    DataType::Dictionary(..) => EnabledStatistics::None,
                    _ => EnabledStatistics::Chunk,
                };
                let col = ColumnPath::from(field.name().as_str());
                assert_eq!(props.statistics_enabled(&col), want, "{}", field.name());
            }
        }
    }

    #[test]
    fn requests_use_dictionary_pages_for_strings_only() {
        let props = writer_properties(&id(), OutputFile::Requests);
        for col in ["server", "status", "dropped_on"] {
            assert!(props.dictionary_enabled(&ColumnPath::from(col)), "{col}");
        }
        for col in ["request_id", "created_s", "latency_s"] {
            assert!(!props.dictionary_enabled(&ColumnPath::from(col)), "{col}");
        }
    }
}
