//! The sinks as a world resource, remembering the first write error so the hot
//! path never has to branch on a `Result`.
//!
//! Resources must be `Sync` and the sinks are not (they hold the receiving end
//! of a channel from each writer thread); the sinks sit in a `Mutex` that is
//! only ever reached through `&mut` (`Mutex::get_mut`), so no lock is ever taken.

use std::sync::{Mutex, PoisonError};

use bevy_ecs::prelude::*;

use crate::metrics::record::{
    ConnectionRecord, EventRecord, RequestRecord, SampleRecord, SpanRecord,
};
use crate::metrics::sink::{OutputError, Sinks};

/// Output sinks plus the first error any push returned.
#[derive(Resource, Debug)]
pub struct Output {
    sinks: Mutex<Sinks>,
    /// First failure; the run loop stops at the next sync point when set.
    pub error: Option<OutputError>,
}

impl Output {
    /// Wrap sinks.
    pub fn new(sinks: Sinks) -> Self {
        Output {
            sinks: Mutex::new(sinks),
            error: None,
        }
    }

    /// The sinks (exclusive access, no locking).
    #[inline]
    pub fn sinks(&mut self) -> &mut Sinks {
        self.sinks.get_mut().unwrap_or_else(PoisonError::into_inner)
    }

    /// Take the sinks out to finish them.
    pub fn into_sinks(self) -> Sinks {
        self.sinks
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn keep(&mut self, r: Result<(), OutputError>) {
        if let Err(e) = r
            && self.error.is_none()
        {
            self.error = Some(e);
        }
    }

    /// Append a request record.
    #[inline]
    pub fn push_request(&mut self, r: &RequestRecord) {
        let res = self.sinks().push_request(r);
        self.keep(res);
    }

    /// Append a finished call (one attempt): one row of `spans.parquet`, which
    /// the first span creates.
    #[inline]
    pub fn push_span(&mut self, s: &SpanRecord) {
        let res = self.sinks().push_span(s);
        self.keep(res);
    }

    /// Append a closed connection: one row of `connections.parquet`, which
    /// the first one creates.
    #[inline]
    pub fn push_connection(&mut self, c: &ConnectionRecord) {
        let res = self.sinks().push_connection(c);
        self.keep(res);
    }

    /// Append a gauge sample.
    #[inline]
    pub fn push_sample(&mut self, s: &SampleRecord) {
        let res = self.sinks().push_sample(s);
        self.keep(res);
    }

    /// Append an injected event record.
    pub fn push_event(&mut self, e: &EventRecord) {
        let res = self.sinks().push_event(e);
        self.keep(res);
    }
}
