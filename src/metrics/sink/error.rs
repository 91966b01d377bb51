//! Errors of the output directory and the Parquet sinks.

use std::path::PathBuf;

/// Why an output could not be prepared or written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// A file-system operation failed; `action` says which (create, write, rename...).
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done, as a verb phrase.
        action: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The Parquet writer failed (encoding, or an I/O error it wrapped).
    #[error("cannot write Parquet file {}: {source}", path.display())]
    Parquet {
        /// The file being written (its temporary name).
        path: PathBuf,
        /// The writer's error.
        source: parquet::errors::ParquetError,
    },
    /// A record batch could not be built, e.g. a name id outside the run's
    /// [`Names`](crate::metrics::record::Names) table (an engine bug).
    #[error("cannot build a record batch for {}: {source}", path.display())]
    Arrow {
        /// The file the batch was meant for.
        path: PathBuf,
        /// Arrow's error.
        source: arrow_schema::ArrowError,
    },
    /// The file's writer stopped at an earlier error, already reported; nothing
    /// more can be written to it.
    #[error("cannot write {}: its writer stopped at an earlier error", path.display())]
    Stopped {
        /// The file concerned (its temporary name).
        path: PathBuf,
    },
    /// An output selection named an output that does not exist.
    #[error(
        "unknown output `{given}` (expected a comma-separated list of requests, samples, events, spans, or `all` / `none`)"
    )]
    Selection {
        /// The offending item.
        given: String,
    },
}

impl OutputError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        OutputError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
