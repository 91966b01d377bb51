//! The writer thread of one Parquet file.
//!
//! Encoding, compressing and writing rows costs far more than collecting them,
//! so each file gets a thread of its own: the simulation's thread hands it rows
//! in batches over a bounded channel and goes on simulating. The channel keeps
//! the batches in order (the file's bytes depend only on them, not on timing) and
//! its bound keeps memory to a few batches if the writer falls behind: the
//! simulation then waits for it. What the thread does with a batch is its
//! [`Encode`].
//!
//! A failure on the writer thread ends the thread, which drops its
//! [`ParquetFile`] and so removes the temporary file; the simulation's thread
//! learns of it at its next hand-over or at [`Writer::finish`], and gets the
//! thread's own error. A writer dropped without `finish` tells the thread to stop
//! and waits for it, so the temporary file is gone when `drop` returns.
//!
//! When the cores are already busy with other runs (a sweep with several jobs),
//! a thread per file only adds switching: [`Writer::inline`] does the same work
//! on the caller's thread, with the same bytes and the same error contract.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, SyncSender};
use std::thread::{self, JoinHandle};

use super::file::ParquetFile;
use super::{OutputError, RunStatus};

/// Batches queued for a writer thread beyond the one it is taking in: enough to
/// absorb a slow one (a record batch being encoded, a row group closing)
/// without holding the simulation up, few enough to keep memory small.
pub(crate) const QUEUED_BATCHES: usize = 2;

/// The work of a writer thread: what it does with each batch it receives, and
/// with what it still holds when the file closes.
pub(crate) trait Encode: Send + 'static {
    /// What the simulation's thread hands over.
    type Batch: Send + 'static;
    /// Take in one batch, writing to `file` whatever is ready.
    fn batch(&mut self, file: &mut ParquetFile, batch: Self::Batch) -> Result<(), OutputError>;
    /// Write whatever is still held, before the file closes.
    fn flush(&mut self, file: &mut ParquetFile) -> Result<(), OutputError>;
}

/// What the simulation's thread sends.
enum Message<T> {
    /// Rows to append, in order.
    Batch(T),
    /// Close the file with this status and publish it.
    Finish(RunStatus),
}

/// What the writer thread returns: the published path after `Finish`, `None` if
/// it was told to stop first.
type Outcome = Result<Option<PathBuf>, OutputError>;

/// The simulation's end of a writer thread (or the writer itself, inline).
pub(crate) struct Writer<E: Encode> {
    /// Inline mode: the file and its encoder, `None` once failed.
    inline: Option<(ParquetFile, E)>,
    /// `None` once the thread has ended (finished, failed or stopped), and in
    /// inline mode.
    to_thread: Option<SyncSender<Message<E::Batch>>>,
    thread: Option<JoinHandle<Outcome>>,
    /// Set by `drop`, so the thread skips the batches still queued.
    abandoned: Arc<AtomicBool>,
    /// The file's temporary path, for errors reported on this side.
    partial: PathBuf,
}

impl<E: Encode> Writer<E> {
    /// Start the thread (`"{name} writer"`) that owns `file` and hands it each
    /// batch it receives through `encode`.
    pub(crate) fn spawn(
        name: &str,
        mut file: ParquetFile,
        mut encode: E,
    ) -> Result<Self, OutputError> {
        let partial = file.partial().to_path_buf();
        let (to_thread, from_sim) = mpsc::sync_channel::<Message<E::Batch>>(QUEUED_BATCHES);
        let abandoned = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&abandoned);
        let body = move || -> Outcome {
            for message in from_sim {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                match message {
                    Message::Batch(batch) => encode.batch(&mut file, batch)?,
                    Message::Finish(status) => {
                        encode.flush(&mut file)?;
                        return file.finish(status).map(Some);
                    }
                }
            }
            // Stopped, or the sender vanished: `file` is dropped here and takes
            // its temporary file with it.
            Ok(None)
        };
        // If the thread cannot start, the closure (and the file in it) is dropped,
        // which removes the temporary file.
        let thread = thread::Builder::new()
            .name(format!("{name} writer"))
            .spawn(body)
            .map_err(|e| OutputError::io("start the writer thread of", &partial, e))?;
        Ok(Writer {
            inline: None,
            to_thread: Some(to_thread),
            thread: Some(thread),
            abandoned,
            partial,
        })
    }

    /// Encode and write on the caller's thread: no thread, no channel.
    pub(crate) fn inline(file: ParquetFile, encode: E) -> Self {
        Writer {
            partial: file.partial().to_path_buf(),
            inline: Some((file, encode)),
            to_thread: None,
            thread: None,
            abandoned: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Queue a batch, waiting if the thread is [`QUEUED_BATCHES`] behind. An error
    /// if the thread has stopped: its own error the first time, then
    /// [`OutputError::Stopped`].
    pub(crate) fn send(&mut self, batch: E::Batch) -> Result<(), OutputError> {
        if self.thread.is_none() && self.to_thread.is_none() {
            let Some((file, encode)) = &mut self.inline else {
                return Err(self.stopped());
            };
            let res = encode.batch(file, batch);
            if res.is_err() {
                // Dropping the file removes its temporary file.
                self.inline = None;
            }
            return res;
        }
        let Some(to_thread) = &self.to_thread else {
            return Err(self.stopped());
        };
        match to_thread.send(Message::Batch(batch)) {
            Ok(()) => Ok(()),
            // The receiver is gone: the thread returned, which it only does
            // early on an error.
            Err(_) => Err(self.join()),
        }
    }

    /// Close the file with `status` in its metadata and publish it; the final
    /// path. Waits for every queued batch to be written first.
    pub(crate) fn finish(mut self, status: RunStatus) -> Result<PathBuf, OutputError> {
        if let Some((mut file, mut encode)) = self.inline.take() {
            encode.flush(&mut file)?;
            return file.finish(status);
        }
        let Some(to_thread) = self.to_thread.take() else {
            return Err(self.stopped());
        };
        // A send error means the thread already ended; its outcome says why.
        let _ = to_thread.send(Message::Finish(status));
        drop(to_thread);
        match self.outcome() {
            Some(Ok(Some(path))) => Ok(path),
            Some(Err(e)) => Err(e),
            Some(Ok(None)) | None => Err(self.stopped()),
        }
    }

    /// The thread's error after it ended early.
    #[cold]
    fn join(&mut self) -> OutputError {
        self.to_thread = None;
        match self.outcome() {
            Some(Err(e)) => e,
            Some(Ok(_)) | None => self.stopped(),
        }
    }

    /// Wait for the thread and take what it returned (`None` if already taken).
    /// A panic on the writer thread continues on this one.
    fn outcome(&mut self) -> Option<Outcome> {
        let thread = self.thread.take()?;
        match thread.join() {
            Ok(outcome) => Some(outcome),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    fn stopped(&self) -> OutputError {
        OutputError::Stopped {
            path: self.partial.clone(),
        }
    }
}

impl<E: Encode> Drop for Writer<E> {
    fn drop(&mut self) {
        // Not finished: stop the thread without writing what is still queued,
        // and wait until it has removed the temporary file. Its outcome has no
        // one to go to (and a panic there must not become a second one here).
        self.abandoned.store(true, Ordering::Relaxed);
        self.to_thread = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
