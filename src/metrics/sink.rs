//! Streaming Parquet sinks: `requests.parquet`, `samples.parquet`,
//! `events.parquet`.
//!
//! The engine pushes plain records ([`RequestRecord`], [`SampleRecord`],
//! [`EventRecord`]); each sink appends them to column buffers and, every
//! [`BATCH_ROWS`] rows, hands a record batch to one Parquet writer per file. Memory
//! is therefore bounded by one batch plus the writer's open row group, whatever
//! the run's length.
//!
//! Files are written under hidden temporary names (`.requests.parquet.partial`)
//! and renamed by [`Sinks::finish`], which records the run's status in each file's
//! metadata (`asyncflow.status`: `complete` or `interrupted`). Sinks dropped
//! without `finish` (an error or a panic) delete their temporary files: a run never
//! leaves a file that looks complete but is not.

mod columns;
mod error;
mod file;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

pub use error::OutputError;
pub use file::{ROW_GROUP_ROWS, engine_metadata, writer_properties};

use self::columns::{Columns, EventColumns, RequestColumns, SampleColumns, string_values};
use self::file::ParquetFile;
use crate::metrics::outdir::OutDir;
use crate::metrics::record::{EventRecord, Names, RequestRecord, RunIdentity, SampleRecord};
use crate::metrics::schema::OutputFile;

/// Rows buffered before they are written as one record batch.
pub const BATCH_ROWS: usize = 64 * 1024;

/// Initial room in the events buffer: injected events are few, so it starts
/// small and grows only if a scenario has many.
const EVENT_ROWS: usize = 1024;

/// Which Parquet files a run writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputSelection {
    /// `requests.parquet`.
    pub requests: bool,
    /// `samples.parquet`.
    pub samples: bool,
    /// `events.parquet`.
    pub events: bool,
}

impl OutputSelection {
    /// Every file.
    pub const ALL: OutputSelection = OutputSelection {
        requests: true,
        samples: true,
        events: true,
    };
    /// No file.
    pub const NONE: OutputSelection = OutputSelection {
        requests: false,
        samples: false,
        events: false,
    };
}

impl Default for OutputSelection {
    fn default() -> Self {
        OutputSelection::ALL
    }
}

impl FromStr for OutputSelection {
    type Err = OutputError;

    /// A comma-separated list of `requests`, `samples`, `events`; or `all`, or
    /// `none` (also the empty string). Spaces around items are ignored.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        match s {
            "all" => return Ok(OutputSelection::ALL),
            "" | "none" => return Ok(OutputSelection::NONE),
            _ => {}
        }
        let mut sel = OutputSelection::NONE;
        for item in s.split(',').map(str::trim) {
            match item {
                "requests" => sel.requests = true,
                "samples" => sel.samples = true,
                "events" => sel.events = true,
                other => {
                    return Err(OutputError::Selection {
                        given: other.to_owned(),
                    });
                }
            }
        }
        Ok(sel)
    }
}

impl fmt::Display for OutputSelection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items: Vec<&str> = [
            (self.requests, "requests"),
            (self.samples, "samples"),
            (self.events, "events"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        if items.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&items.join(","))
        }
    }
}

/// How the run ended, as recorded in each file's `asyncflow.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunStatus {
    /// The run reached its horizon.
    Complete,
    /// The run was stopped early (Ctrl-C): the files hold what happened until then.
    Interrupted,
}

impl RunStatus {
    /// The metadata spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Complete => "complete",
            RunStatus::Interrupted => "interrupted",
        }
    }
}

/// One output file: its column buffers and its writer.
struct Table<C: Columns> {
    columns: C,
    file: ParquetFile,
}

impl<C: Columns> Table<C> {
    #[inline]
    fn push(&mut self, r: &C::Record) -> Result<(), OutputError> {
        self.columns.push(r);
        if self.columns.len() >= BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    #[cold]
    fn flush(&mut self) -> Result<(), OutputError> {
        if self.columns.len() == 0 {
            return Ok(());
        }
        let batch = self
            .columns
            .take_batch()
            .map_err(|source| OutputError::Arrow {
                path: self.file.partial().to_path_buf(),
                source,
            })?;
        self.file.write(&batch)
    }

    fn finish(mut self, status: RunStatus) -> Result<PathBuf, OutputError> {
        self.flush()?;
        self.file.finish(status)
    }
}

/// The run's Parquet outputs (any subset of the three files, or none).
pub struct Sinks {
    requests: Option<Table<RequestColumns>>,
    samples: Option<Table<SampleColumns>>,
    events: Option<Table<EventColumns>>,
}

impl fmt::Debug for Sinks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sinks")
            .field("requests", &self.requests.is_some())
            .field("samples", &self.samples.is_some())
            .field("events", &self.events.is_some())
            .finish()
    }
}

impl Sinks {
    /// Open the selected files in `dir` under their temporary names. `names` is
    /// the run's name table: every [`NameId`](crate::metrics::record::NameId) the
    /// engine pushes must index it.
    pub fn create(
        dir: &OutDir,
        selection: OutputSelection,
        names: Arc<Names>,
        id: &RunIdentity,
    ) -> Result<Sinks, OutputError> {
        let values = string_values(names.as_slice());
        // On an error below, the tables already opened are dropped and remove
        // their temporary files.
        let requests = selection
            .requests
            .then(|| {
                let file = ParquetFile::create(dir, OutputFile::Requests, id)?;
                Ok::<_, OutputError>(Table {
                    columns: RequestColumns::new(Arc::clone(&values), BATCH_ROWS),
                    file,
                })
            })
            .transpose()?;
        let samples = selection
            .samples
            .then(|| {
                let file = ParquetFile::create(dir, OutputFile::Samples, id)?;
                Ok::<_, OutputError>(Table {
                    columns: SampleColumns::new(Arc::clone(&values), BATCH_ROWS),
                    file,
                })
            })
            .transpose()?;
        let events = selection
            .events
            .then(|| {
                let file = ParquetFile::create(dir, OutputFile::Events, id)?;
                Ok::<_, OutputError>(Table {
                    columns: EventColumns::new(Arc::clone(&values), EVENT_ROWS),
                    file,
                })
            })
            .transpose()?;
        Ok(Sinks {
            requests,
            samples,
            events,
        })
    }

    /// Sinks that write nothing (library runs without outputs).
    pub fn disabled() -> Sinks {
        Sinks {
            requests: None,
            samples: None,
            events: None,
        }
    }

    /// Append a finished or dropped request. Allocation-free except when a full
    /// batch is written (every [`BATCH_ROWS`] calls).
    #[inline]
    pub fn push_request(&mut self, r: &RequestRecord) -> Result<(), OutputError> {
        match &mut self.requests {
            Some(t) => t.push(r),
            None => Ok(()),
        }
    }

    /// Append a gauge sample.
    #[inline]
    pub fn push_sample(&mut self, s: &SampleRecord) -> Result<(), OutputError> {
        match &mut self.samples {
            Some(t) => t.push(s),
            None => Ok(()),
        }
    }

    /// Append an injected event's start or end.
    #[inline]
    pub fn push_event(&mut self, e: &EventRecord) -> Result<(), OutputError> {
        match &mut self.events {
            Some(t) => t.push(e),
            None => Ok(()),
        }
    }

    /// Flush, close each writer with `status` in its metadata, rename the files
    /// into place; the final paths (requests, samples, events order, selected
    /// ones only). On an error, files not yet renamed are removed.
    pub fn finish(self, status: RunStatus) -> Result<Vec<PathBuf>, OutputError> {
        let Sinks {
            requests,
            samples,
            events,
        } = self;
        let mut paths = Vec::with_capacity(3);
        // Each `?` drops the remaining tables, whose temporary files go with them.
        if let Some(t) = requests {
            paths.push(t.finish(status)?);
        }
        if let Some(t) = samples {
            paths.push(t.finish(status)?);
        }
        if let Some(t) = events {
            paths.push(t.finish(status)?);
        }
        Ok(paths)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_parses_lists_all_and_none() {
        let s: OutputSelection = "requests, events".parse().unwrap();
        assert_eq!(
            s,
            OutputSelection {
                requests: true,
                samples: false,
                events: true
            }
        );
        assert_eq!(
            "all".parse::<OutputSelection>().unwrap(),
            OutputSelection::ALL
        );
        assert_eq!(
            "none".parse::<OutputSelection>().unwrap(),
            OutputSelection::NONE
        );
        assert_eq!(
            "".parse::<OutputSelection>().unwrap(),
            OutputSelection::NONE
        );
        assert_eq!(s.to_string(), "requests,events");
        assert_eq!(
            OutputSelection::ALL
                .to_string()
                .parse::<OutputSelection>()
                .unwrap(),
            OutputSelection::ALL
        );
    }

    #[test]
    fn selection_rejects_unknown_items_by_name() {
        let err = "requests,sample".parse::<OutputSelection>().unwrap_err();
        assert!(matches!(&err, OutputError::Selection { given } if given == "sample"));
        assert!(err.to_string().contains("`sample`"), "{err}");
    }

    // The engine may run on any thread (replications run in parallel).
    #[test]
    fn sinks_can_move_between_threads() {
        fn is_send<T: Send>() {}
        is_send::<Sinks>();
    }

    #[test]
    fn disabled_sinks_accept_records_and_write_nothing() {
        let mut sinks = Sinks::disabled();
        let r = RequestRecord {
            request_id: 1,
            generator: 0,
            client: 0,
            server: None,
            endpoint: None,
            status: crate::metrics::record::RequestStatus::Dropped,
            dropped_on: None,
            created: crate::engine::time::SimTime::ZERO,
            finished: crate::engine::time::SimTime::ZERO,
            ram_wait: crate::engine::time::SimTime::ZERO,
            cpu_wait: crate::engine::time::SimTime::ZERO,
            cpu: crate::engine::time::SimTime::ZERO,
            io: crate::engine::time::SimTime::ZERO,
            network: crate::engine::time::SimTime::ZERO,
        };
        sinks.push_request(&r).unwrap();
        assert!(sinks.finish(RunStatus::Complete).unwrap().is_empty());
    }
}
