//! Streaming Parquet sinks: `requests.parquet`, `samples.parquet`,
//! `events.parquet`, `spans.parquet`.
//!
//! The engine pushes plain records ([`RequestRecord`], [`SampleRecord`],
//! [`EventRecord`], [`SpanRecord`]); each sink keeps them in a row buffer and, every few
//! thousand rows, hands the buffer to the file's writer thread, which appends
//! the rows to column buffers and, every [`BATCH_ROWS`] rows, encodes,
//! compresses and writes them as one record batch. The simulation's thread thus
//! pays one record copy per row; the Parquet work runs beside it. Rows reach
//! each writer in push order and batches are cut at fixed row counts, so the
//! files' bytes do not depend on thread timing. Memory is bounded by a few row
//! buffers and one record batch per file plus the writer's open row group,
//! whatever the run's length.
//!
//! A write error on a writer thread is returned by a later push (one that hands
//! rows over), or by [`Sinks::finish`].
//!
//! Files are written under hidden temporary names (`.requests.parquet.partial`)
//! and renamed by [`Sinks::finish`], which records the run's status in each file's
//! metadata (`asyncflow.status`: `complete` or `interrupted`). Sinks dropped
//! without `finish` (an error or a panic) delete their temporary files: a run never
//! leaves a file that looks complete but is not.
//!
//! `spans.parquet` is opened lazily, on the first span pushed: a run without
//! service calls (every AsyncFlow scenario) never creates it, not even under
//! its temporary name, and its directory lists the same files as before spans
//! existed.

mod columns;
mod error;
mod file;
mod writer;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, SyncSender};

pub use error::OutputError;
pub use file::{ROW_GROUP_ROWS, engine_metadata, writer_properties};

use self::columns::{
    Columns, ConnectionColumns, EventColumns, RequestColumns, SampleColumns, SpanColumns,
    string_values,
};
use self::file::ParquetFile;
use self::writer::{Encode, Writer};
use crate::metrics::outdir::{OutDir, partial_path, sync_dir};
use crate::metrics::record::{
    ConnectionRecord, EventRecord, Names, RequestRecord, RunIdentity, SampleRecord, SpanRecord,
};
use crate::metrics::schema::OutputFile;

/// Rows buffered before they are written as one record batch.
pub const BATCH_ROWS: usize = 16 * 1024;

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
    /// `spans.parquet`, written only if the run makes service calls (the file is
    /// created on the first span).
    pub spans: bool,
    /// `connections.parquet`, written only if the run opens connections (the
    /// file is created on the first closed connection); not in the default
    /// selection.
    pub connections: bool,
}

impl OutputSelection {
    /// Every file.
    pub const ALL: OutputSelection = OutputSelection {
        requests: true,
        samples: true,
        events: true,
        spans: true,
        connections: true,
    };
    /// No file.
    pub const NONE: OutputSelection = OutputSelection {
        requests: false,
        samples: false,
        events: false,
        spans: false,
        connections: false,
    };
    /// What a run writes unless told otherwise: every file but
    /// `connections.parquet` (one row per connection is one row per request
    /// with per-request connections: ask for it).
    pub const DEFAULT: OutputSelection = OutputSelection {
        connections: false,
        ..OutputSelection::ALL
    };
}

impl Default for OutputSelection {
    fn default() -> Self {
        OutputSelection::DEFAULT
    }
}

impl FromStr for OutputSelection {
    type Err = OutputError;

    /// A comma-separated list of `requests`, `samples`, `events`, `spans`,
    /// `connections`; or `all`, `default` (all but `connections`), or `none`
    /// (also the empty string). Spaces around items are ignored.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        match s {
            "all" => return Ok(OutputSelection::ALL),
            "default" => return Ok(OutputSelection::DEFAULT),
            "" | "none" => return Ok(OutputSelection::NONE),
            _ => {}
        }
        let mut sel = OutputSelection::NONE;
        for item in s.split(',').map(str::trim) {
            match item {
                "requests" => sel.requests = true,
                "samples" => sel.samples = true,
                "events" => sel.events = true,
                "spans" => sel.spans = true,
                "connections" => sel.connections = true,
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
            (self.spans, "spans"),
            (self.connections, "connections"),
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

/// Where the Parquet files are encoded and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WriterMode {
    /// One writer thread per file, beside the simulation (a single run).
    #[default]
    Threads,
    /// On the simulation's own thread (runs that already fill every core, such
    /// as a sweep with several jobs). Same bytes either way.
    Inline,
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

/// Rows handed to a writer thread at a time: a fraction of a record batch, so
/// the row buffers in flight (one filling, a few queued, one being taken in)
/// stay small next to the batch the writer assembles.
const HANDOVER_ROWS: usize = BATCH_ROWS / 4;

// The writer completes a record batch from whole hand-overs, so every batch but
// the last holds exactly `BATCH_ROWS` rows, as when rows went straight to columns.
const _: () = assert!(BATCH_ROWS.is_multiple_of(HANDOVER_ROWS));

/// One output file: its rows, as the engine pushed them, on the simulation's
/// thread; its column buffers and Parquet writer on a thread of its own.
///
/// A row is kept whole rather than split into columns as it arrives: one copy
/// of a small `Copy` record is all the simulation pays per row, and the
/// transposition to columns happens on the writer thread with the encoding.
struct Table<C: Columns> {
    rows: Vec<C::Record>,
    writer: Writer<Encoder<C>>,
    /// Row buffers the writer thread has emptied, for reuse, so that handing
    /// rows over allocates nothing once the first few buffers have gone round.
    spare: Receiver<Vec<C::Record>>,
}

impl<C: Columns> Table<C> {
    /// Open `file` in `dir` and start its writer thread, which fills `columns`.
    fn open(
        dir: &OutDir,
        file: OutputFile,
        id: &RunIdentity,
        columns: C,
        mode: WriterMode,
    ) -> Result<Self, OutputError> {
        let parquet = ParquetFile::create(dir, file, id)?;
        let name = file.file_name().trim_end_matches(".parquet");
        Self::with_file(name, parquet, columns, mode)
    }

    fn with_file(
        name: &str,
        parquet: ParquetFile,
        columns: C,
        mode: WriterMode,
    ) -> Result<Self, OutputError> {
        // Room for every buffer that can be in flight at once, so none the
        // simulation could reuse is freed.
        let (give_back, spare) = mpsc::sync_channel(writer::QUEUED_BATCHES + 2);
        let encoder = Encoder {
            columns,
            rows: 0,
            give_back,
        };
        let writer = match mode {
            WriterMode::Threads => Writer::spawn(name, parquet, encoder)?,
            WriterMode::Inline => Writer::inline(parquet, encoder),
        };
        Ok(Table {
            rows: Vec::with_capacity(HANDOVER_ROWS),
            writer,
            spare,
        })
    }

    #[inline]
    fn push(&mut self, r: &C::Record) -> Result<(), OutputError> {
        self.rows.push(*r);
        if self.rows.len() >= HANDOVER_ROWS {
            self.hand_over()?;
        }
        Ok(())
    }

    #[cold]
    fn hand_over(&mut self) -> Result<(), OutputError> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let next = self
            .spare
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(HANDOVER_ROWS));
        let rows = std::mem::replace(&mut self.rows, next);
        self.writer.send(rows)
    }

    fn finish(mut self, status: RunStatus) -> Result<PathBuf, OutputError> {
        self.hand_over()?;
        self.writer.finish(status)
    }
}

/// The writer thread's half of a table: rows in, record batches of
/// [`BATCH_ROWS`] rows out.
struct Encoder<C: Columns> {
    columns: C,
    /// Rows in `columns`.
    rows: usize,
    /// Emptied row buffers, back to the simulation's thread.
    give_back: SyncSender<Vec<C::Record>>,
}

impl<C: Columns> Encode for Encoder<C> {
    type Batch = Vec<C::Record>;

    fn batch(
        &mut self,
        file: &mut ParquetFile,
        mut rows: Vec<C::Record>,
    ) -> Result<(), OutputError> {
        self.columns.extend(&rows);
        self.rows += rows.len();
        rows.clear();
        // The simulation may have stopped taking them back; then it is freed.
        let _ = self.give_back.try_send(rows);
        if self.rows >= BATCH_ROWS {
            self.flush(file)?;
        }
        Ok(())
    }

    fn flush(&mut self, file: &mut ParquetFile) -> Result<(), OutputError> {
        if self.rows == 0 {
            return Ok(());
        }
        self.rows = 0;
        let batch = self
            .columns
            .take_batch()
            .map_err(|source| OutputError::Arrow {
                path: file.partial().to_path_buf(),
                source,
            })?;
        file.write(&batch)
    }
}

/// A file opened only when its first row arrives (`spans.parquet`,
/// `connections.parquet`): a run that never produces one writes no file.
enum Lazy<C: Columns> {
    /// No row yet, so no file: what opening it takes.
    Pending {
        file: OutputFile,
        dir: OutDir,
        id: RunIdentity,
        columns: Box<C>,
        mode: WriterMode,
    },
    /// Open, under its temporary name.
    Open(Box<Table<C>>),
    /// Opening it failed (that error was returned); the temporary path.
    Failed(PathBuf),
}

impl<C: Columns> Lazy<C> {
    fn state(&self) -> &'static str {
        match self {
            Lazy::Pending { .. } => "pending",
            Lazy::Open(_) => "open",
            Lazy::Failed(_) => "failed",
        }
    }

    /// Push a row into a file that may not exist yet: the first row creates
    /// it, and an error doing so is returned once; later rows then get
    /// [`OutputError::Stopped`].
    #[cold]
    fn open_and_push(slot: &mut Option<Lazy<C>>, row: &C::Record) -> Result<(), OutputError> {
        let Some(sink) = slot.take() else {
            return Ok(());
        };
        let (sink, res) = match sink {
            Lazy::Pending {
                file,
                dir,
                id,
                columns,
                mode,
            } => match Table::open(&dir, file, &id, *columns, mode) {
                Ok(mut table) => {
                    let res = table.push(row);
                    (Lazy::Open(Box::new(table)), res)
                }
                Err(e) => {
                    let partial = partial_path(&dir.join(file.file_name()));
                    (Lazy::Failed(partial), Err(e))
                }
            },
            Lazy::Open(mut table) => {
                let res = table.push(row);
                (Lazy::Open(table), res)
            }
            Lazy::Failed(partial) => {
                let err = OutputError::Stopped {
                    path: partial.clone(),
                };
                (Lazy::Failed(partial), Err(err))
            }
        };
        *slot = Some(sink);
        res
    }

    /// Close it: the final path if it was opened; when no row came, remove a
    /// file of that name left by an earlier run, so the directory never pairs
    /// this run's requests with another run's rows.
    fn finish(this: Option<Lazy<C>>, status: RunStatus) -> Result<Option<PathBuf>, OutputError> {
        match this {
            None | Some(Lazy::Failed(_)) => Ok(None),
            Some(Lazy::Open(t)) => t.finish(status).map(Some),
            Some(Lazy::Pending { dir, file, .. }) => {
                let stale = dir.join(file.file_name());
                match std::fs::remove_file(&stale) {
                    Ok(()) => sync_dir(&stale)?,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(OutputError::io("remove the stale", &stale, e)),
                }
                Ok(None)
            }
        }
    }
}

/// The run's Parquet outputs (any subset of the four files, or none).
pub struct Sinks {
    requests: Option<Table<RequestColumns>>,
    samples: Option<Table<SampleColumns>>,
    events: Option<Table<EventColumns>>,
    spans: Option<Lazy<SpanColumns>>,
    connections: Option<Lazy<ConnectionColumns>>,
}

impl fmt::Debug for Sinks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sinks")
            .field("requests", &self.requests.is_some())
            .field("samples", &self.samples.is_some())
            .field("events", &self.events.is_some())
            .field("spans", &self.spans.as_ref().map(Lazy::state))
            .field("connections", &self.connections.as_ref().map(Lazy::state))
            .finish()
    }
}

impl Sinks {
    /// Open the selected files in `dir` under their temporary names (all but
    /// `spans.parquet`, which waits for its first span). `names` is the run's
    /// name table: every [`NameId`](crate::metrics::record::NameId) the engine
    /// pushes must index it.
    pub fn create(
        dir: &OutDir,
        selection: OutputSelection,
        names: Arc<Names>,
        id: &RunIdentity,
    ) -> Result<Sinks, OutputError> {
        Self::create_with(dir, selection, names, id, WriterMode::Threads)
    }

    /// [`Sinks::create`] with the files written where `mode` says.
    pub fn create_with(
        dir: &OutDir,
        selection: OutputSelection,
        names: Arc<Names>,
        id: &RunIdentity,
        mode: WriterMode,
    ) -> Result<Sinks, OutputError> {
        let values = string_values(names.as_slice());
        // On an error below, the tables already opened are dropped and remove
        // their temporary files.
        let requests = selection
            .requests
            .then(|| {
                Table::open(
                    dir,
                    OutputFile::Requests,
                    id,
                    RequestColumns::new(Arc::clone(&values), BATCH_ROWS),
                    mode,
                )
            })
            .transpose()?;
        let samples = selection
            .samples
            .then(|| {
                Table::open(
                    dir,
                    OutputFile::Samples,
                    id,
                    SampleColumns::new(Arc::clone(&values), BATCH_ROWS),
                    mode,
                )
            })
            .transpose()?;
        let events = selection
            .events
            .then(|| {
                Table::open(
                    dir,
                    OutputFile::Events,
                    id,
                    EventColumns::new(Arc::clone(&values), EVENT_ROWS),
                    mode,
                )
            })
            .transpose()?;
        let spans = selection.spans.then(|| Lazy::Pending {
            file: OutputFile::Spans,
            dir: dir.clone(),
            id: id.clone(),
            columns: Box::new(SpanColumns::new(Arc::clone(&values), BATCH_ROWS)),
            mode,
        });
        let connections = selection.connections.then(|| Lazy::Pending {
            file: OutputFile::Connections,
            dir: dir.clone(),
            id: id.clone(),
            columns: Box::new(ConnectionColumns::new(Arc::clone(&values), BATCH_ROWS)),
            mode,
        });
        Ok(Sinks {
            requests,
            samples,
            events,
            spans,
            connections,
        })
    }

    /// Sinks that write nothing (library runs without outputs).
    pub fn disabled() -> Sinks {
        Sinks {
            requests: None,
            samples: None,
            events: None,
            spans: None,
            connections: None,
        }
    }

    /// Append a finished or dropped request: a copy into the row buffer and,
    /// every few thousand calls, a hand-over to the writer thread (the call
    /// waits only if that thread is several hand-overs behind). Allocation-free once
    /// the first row buffers have come back from the writer thread.
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

    /// Append a finished call (one attempt): as [`Sinks::push_request`]; the
    /// first span creates `spans.parquet` (its temporary file and writer), and
    /// an error doing so is returned here, once; later spans then get
    /// [`OutputError::Stopped`].
    #[inline]
    pub fn push_span(&mut self, s: &SpanRecord) -> Result<(), OutputError> {
        match &mut self.spans {
            Some(Lazy::Open(t)) => t.push(s),
            None => Ok(()),
            Some(_) => Lazy::open_and_push(&mut self.spans, s),
        }
    }

    /// Append a closed connection: as [`Sinks::push_span`], for
    /// `connections.parquet`.
    #[inline]
    pub fn push_connection(&mut self, c: &ConnectionRecord) -> Result<(), OutputError> {
        match &mut self.connections {
            Some(Lazy::Open(t)) => t.push(c),
            None => Ok(()),
            Some(_) => Lazy::open_and_push(&mut self.connections, c),
        }
    }

    /// Whether `spans.parquet` has been created (a span was pushed).
    pub fn has_spans(&self) -> bool {
        matches!(self.spans, Some(Lazy::Open(_)))
    }

    /// Flush, close each writer with `status` in its metadata, rename the files
    /// into place; the final paths (requests, samples, events, spans order,
    /// selected ones only, and spans only if a span was pushed). On an error,
    /// files not yet renamed are removed.
    ///
    /// When spans were selected but none came, no `spans.parquet` is written
    /// and one left in the directory by an earlier run is removed, so the
    /// directory never pairs this run's requests with another run's spans.
    pub fn finish(self, status: RunStatus) -> Result<Vec<PathBuf>, OutputError> {
        let Sinks {
            requests,
            samples,
            events,
            spans,
            connections,
        } = self;
        // A lazy file that could not be created fails the whole finish before
        // anything is published (the tables dropped here remove their files).
        if let Some(Lazy::Failed(partial)) = spans {
            return Err(OutputError::Stopped { path: partial });
        }
        if let Some(Lazy::Failed(partial)) = connections {
            return Err(OutputError::Stopped { path: partial });
        }
        let mut paths = Vec::with_capacity(OutputFile::ALL.len());
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
        paths.extend(Lazy::finish(spans, status)?);
        paths.extend(Lazy::finish(connections, status)?);
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
                events: true,
                spans: false,
                connections: false,
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

    fn identity() -> RunIdentity {
        RunIdentity {
            engine_version: "0.0.0".to_owned(),
            scenario_sha256: "0".repeat(64),
            seed: 1,
            replication: 0,
        }
    }

    /// A name table with one name, shared by the tests' sinks.
    fn one_name() -> Arc<Names> {
        let mut names = Names::new();
        names.intern("x");
        Arc::new(names)
    }

    fn request(i: u64) -> RequestRecord {
        use crate::engine::time::SimTime;
        RequestRecord {
            request_id: i + 1,
            generator: 0,
            client: 0,
            server: None,
            endpoint: None,
            status: crate::metrics::record::RequestStatus::Dropped,
            dropped_on: None,
            created: SimTime(i),
            finished: SimTime(i),
            ram_wait: SimTime::ZERO,
            cpu_wait: SimTime::ZERO,
            cpu: SimTime::ZERO,
            io: SimTime::ZERO,
            network: SimTime::ZERO,
            call: SimTime::ZERO,
            connect: SimTime::ZERO,
        }
    }

    #[test]
    fn disabled_sinks_accept_records_and_write_nothing() {
        let mut sinks = Sinks::disabled();
        sinks.push_request(&request(0)).unwrap();
        assert!(sinks.finish(RunStatus::Complete).unwrap().is_empty());
    }

    /// A requests table whose writer thread writes into `/dev/full`, where every
    /// write fails for lack of space, and whose temporary file is a real (empty)
    /// file in `dir`, so its removal can be seen. The final path is in `dir` too.
    #[cfg(target_os = "linux")]
    fn table_on_a_full_device(
        dir: &std::path::Path,
        mode: WriterMode,
    ) -> (Table<RequestColumns>, PathBuf, PathBuf) {
        let path = dir.join(crate::metrics::schema::REQUESTS_FILE);
        let partial = crate::metrics::outdir::partial_path(&path);
        std::fs::write(&partial, b"").unwrap();
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let id = identity();
        let file = ParquetFile::with_output(
            full,
            partial.clone(),
            path.clone(),
            OutputFile::Requests,
            &id,
        )
        .unwrap();
        let values = string_values(one_name().as_slice());
        let columns = RequestColumns::new(values, BATCH_ROWS);
        let table = Table::with_file("test", file, columns, mode).unwrap();
        (table, partial, path)
    }

    // The writer thread fails when its first row group reaches the device; the
    // simulation's side must hear of it at a later hand-over, with the file's
    // path, and the temporary file must be gone by then.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_write_error_on_the_writer_thread_surfaces_at_a_later_push() {
        for mode in [WriterMode::Threads, WriterMode::Inline] {
            write_error_surfaces_at_a_later_push(mode);
        }
    }

    #[cfg(target_os = "linux")]
    fn write_error_surfaces_at_a_later_push(mode: WriterMode) {
        let tmp = tempfile::tempdir().unwrap();
        let (mut table, partial, path) = table_on_a_full_device(tmp.path(), mode);
        let limit = 8 * ROW_GROUP_ROWS as u64;
        let err = (0..limit)
            .find_map(|i| table.push(&request(i)).err())
            .expect("the full device fails a write");
        match &err {
            OutputError::Parquet { path: p, .. } => assert_eq!(p, &partial),
            other => panic!("expected a Parquet error, got {other:?}"),
        }
        assert!(
            err.to_string().contains(".requests.parquet.partial"),
            "{err}"
        );
        assert!(!partial.exists(), "the temporary file is removed");
        // Later hand-overs and the close say the writer stopped, naming the file.
        let again = (0..BATCH_ROWS as u64)
            .find_map(|i| table.push(&request(i)).err())
            .expect("a full batch is handed over");
        assert!(matches!(&again, OutputError::Stopped { path: p } if p == &partial));
        let at_finish = table.finish(RunStatus::Complete).unwrap_err();
        assert!(matches!(&at_finish, OutputError::Stopped { path: p } if p == &partial));
        assert!(!path.exists() && !partial.exists());
    }

    // Rows that fit in the first row group reach the device only when the file
    // closes: `finish` returns the writer thread's error.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_write_error_while_closing_surfaces_at_finish() {
        for mode in [WriterMode::Threads, WriterMode::Inline] {
            write_error_surfaces_at_finish(mode);
        }
    }

    #[cfg(target_os = "linux")]
    fn write_error_surfaces_at_finish(mode: WriterMode) {
        let tmp = tempfile::tempdir().unwrap();
        let (mut table, partial, path) = table_on_a_full_device(tmp.path(), mode);
        for i in 0..BATCH_ROWS as u64 + 10 {
            table.push(&request(i)).unwrap();
        }
        let err = table.finish(RunStatus::Complete).unwrap_err();
        assert!(
            matches!(&err, OutputError::Parquet { path: p, .. } if p == &partial),
            "{err:?}"
        );
        assert!(!path.exists() && !partial.exists());
    }

    // Dropped with batches still queued for the writer thread: the drop waits
    // for the thread, which removes the temporary file without writing them.
    #[test]
    fn dropping_a_table_with_queued_batches_removes_its_file() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = OutDir::prepare(tmp.path()).unwrap();
        let id = identity();
        let names = one_name();
        for mode in [WriterMode::Threads, WriterMode::Inline] {
            let mut sinks =
                Sinks::create_with(&dir, OutputSelection::ALL, Arc::clone(&names), &id, mode)
                    .unwrap();
            for i in 0..3 * BATCH_ROWS as u64 {
                sinks.push_request(&request(i)).unwrap();
            }
            assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 3);
            drop(sinks);
            assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
        }
    }

    // Inline writing gives the same bytes as the writer threads.
    #[test]
    fn inline_and_threaded_files_are_identical() {
        let id = identity();
        let names = one_name();
        let files: Vec<Vec<u8>> = [WriterMode::Threads, WriterMode::Inline]
            .into_iter()
            .map(|mode| {
                let tmp = tempfile::tempdir().unwrap();
                let dir = OutDir::prepare(tmp.path()).unwrap();
                let mut sinks =
                    Sinks::create_with(&dir, OutputSelection::ALL, Arc::clone(&names), &id, mode)
                        .unwrap();
                for i in 0..2 * BATCH_ROWS as u64 + 7 {
                    sinks.push_request(&request(i)).unwrap();
                }
                let paths = sinks.finish(RunStatus::Complete).unwrap();
                std::fs::read(&paths[0]).unwrap()
            })
            .collect();
        assert_eq!(files[0], files[1]);
    }
}
