//! Plain records the engine hands to the output sinks.
//!
//! Strings never travel here: every name is an index into the run's
//! [`Names`] table, and the sinks turn indices into dictionary-encoded columns.
//! Times are [`SimTime`]; sinks convert to Float64 seconds.

use crate::engine::time::SimTime;
use crate::scenario::schema::{EventKind, SampleMetric};

/// Index of a name in [`Names`].
pub type NameId = u32;

/// Every name a run can write (node, edge, endpoint and event ids), interned once
/// at build time; a column's dictionary is this table.
#[derive(Debug, Clone, Default)]
pub struct Names {
    names: Vec<String>,
    index: std::collections::HashMap<String, NameId>,
}

impl Names {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// The id of `name`, adding it if new.
    pub fn intern(&mut self, name: &str) -> NameId {
        if let Some(&id) = self.index.get(name) {
            return id;
        }
        let id = NameId::try_from(self.names.len()).expect("fewer than 2^32 names");
        self.names.push(name.to_owned());
        self.index.insert(name.to_owned(), id);
        id
    }

    /// The name with this id.
    pub fn get(&self, id: NameId) -> &str {
        &self.names[id as usize]
    }

    /// The id of `name`, if interned.
    pub fn lookup(&self, name: &str) -> Option<NameId> {
        self.index.get(name).copied()
    }

    /// All names, in id order.
    pub fn as_slice(&self) -> &[String] {
        &self.names
    }

    /// How many names.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// How a request (root or call) ended: exactly one of these each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RequestStatus {
    /// Came back to its caller (the client for a root request).
    Completed,
    /// Lost on an edge (or found no server up at a load balancer).
    Dropped,
    /// No socket at the target.
    Refused,
    /// A queue cap was reached.
    Rejected,
    /// No rate-limit token.
    RateLimited,
    /// The caller stopped waiting (a call's `timeout_s`).
    TimedOut,
    /// A circuit breaker was open.
    CircuitOpen,
    /// No connection from the pool in time.
    PoolTimeout,
    /// A dependency failed and there was no retry left.
    Failed,
}

impl RequestStatus {
    /// Every status, in column order.
    pub const ALL: [RequestStatus; 9] = [
        RequestStatus::Completed,
        RequestStatus::Dropped,
        RequestStatus::Refused,
        RequestStatus::Rejected,
        RequestStatus::RateLimited,
        RequestStatus::TimedOut,
        RequestStatus::CircuitOpen,
        RequestStatus::PoolTimeout,
        RequestStatus::Failed,
    ];

    /// Column spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Completed => "completed",
            RequestStatus::Dropped => "dropped",
            RequestStatus::Refused => "refused",
            RequestStatus::Rejected => "rejected",
            RequestStatus::RateLimited => "rate_limited",
            RequestStatus::TimedOut => "timed_out",
            RequestStatus::CircuitOpen => "circuit_open",
            RequestStatus::PoolTimeout => "pool_timeout",
            RequestStatus::Failed => "failed",
        }
    }
}

/// Where a request's or call's time went, per phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Breakdown {
    /// Time waiting for RAM.
    pub ram_wait: SimTime,
    /// Time waiting for a core.
    pub cpu_wait: SimTime,
    /// Time running on a core.
    pub cpu: SimTime,
    /// Time in I/O waits.
    pub io: SimTime,
    /// Time waiting for calls to other services (core released).
    pub call: SimTime,
    /// Time in transit on edges.
    pub network: SimTime,
    /// Time getting a connection: a keep-alive pool's queue, the target's
    /// accept backlog, the handshake.
    pub connect: SimTime,
}

/// One row of `connections.parquet`: a connection that carried requests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConnectionRecord {
    /// Its edge.
    pub edge: NameId,
    /// When it was opened (its handshake started).
    pub opened: SimTime,
    /// When it closed.
    pub closed: SimTime,
    /// Requests it carried.
    pub requests: u32,
}

/// One row of `spans.parquet`: one call from a caller to a callee.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpanRecord {
    /// The root request's id (`request_id` in `requests.parquet`).
    pub trace_id: u64,
    /// This call's id, unique in the run (from 1).
    pub span_id: u64,
    /// The calling span; `None` when the caller serves the root request.
    pub parent_span_id: Option<u64>,
    /// The calling server.
    pub caller: NameId,
    /// The node called (as named in the `call` step: a server or a load balancer).
    pub callee: NameId,
    /// The server that served it, if it reached one.
    pub server: Option<NameId>,
    /// The endpoint called.
    pub endpoint: Option<NameId>,
    /// Attempt number, from 1.
    pub attempt: u32,
    /// How the call ended.
    pub status: RequestStatus,
    /// Where it was dropped (edge or load balancer id).
    pub dropped_on: Option<NameId>,
    /// When the caller sent it.
    pub start: SimTime,
    /// When its reply reached the caller (or it was lost, or the caller
    /// stopped waiting: then the deadline).
    pub end: SimTime,
    /// Where its time went (until its reply or its loss).
    pub breakdown: Breakdown,
}

/// One row of `requests.parquet`: a request that finished or was dropped.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RequestRecord {
    /// Generation order, from 1.
    pub request_id: u64,
    /// Generator id.
    pub generator: NameId,
    /// Client id.
    pub client: NameId,
    /// Server id, if it reached one.
    pub server: Option<NameId>,
    /// Endpoint name, if it reached a server.
    pub endpoint: Option<NameId>,
    /// How it ended.
    pub status: RequestStatus,
    /// Where it was dropped (edge or load balancer id).
    pub dropped_on: Option<NameId>,
    /// Generation time.
    pub created: SimTime,
    /// Completion or drop time.
    pub finished: SimTime,
    /// Time waiting for RAM.
    pub ram_wait: SimTime,
    /// Time waiting for a core.
    pub cpu_wait: SimTime,
    /// Time running on a core.
    pub cpu: SimTime,
    /// Time in I/O waits.
    pub io: SimTime,
    /// Time in transit on edges.
    pub network: SimTime,
    /// Time waiting for calls to other services.
    pub call: SimTime,
    /// Time getting connections (pool queue, accept backlog, handshake).
    pub connect: SimTime,
}

/// Kind of entity a gauge belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntityKind {
    /// A server.
    Server,
    /// An edge.
    Edge,
    /// A load balancer (its sockets).
    LoadBalancer,
}

impl EntityKind {
    /// Column spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Server => "server",
            EntityKind::Edge => "edge",
            EntityKind::LoadBalancer => "load_balancer",
        }
    }
}

/// One row of `samples.parquet`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleRecord {
    /// Tick time.
    pub t: SimTime,
    /// Server or edge.
    pub entity_kind: EntityKind,
    /// Entity id.
    pub entity: NameId,
    /// Which gauge.
    pub metric: SampleMetric,
    /// Instantaneous value at `t` (the value just before events at `t`).
    pub value: f64,
    /// Time-weighted mean over the period ending at `t`.
    pub mean: f64,
    /// Maximum over that period.
    pub max: f64,
}

/// Start or end of an injected event window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// The window opens.
    Start,
    /// The window closes.
    End,
}

impl Phase {
    /// Column spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Start => "start",
            Phase::End => "end",
        }
    }
}

/// One row of `events.parquet`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EventRecord {
    /// When it took effect.
    pub t: SimTime,
    /// Event id.
    pub event_id: NameId,
    /// Target server or edge id.
    pub target: NameId,
    /// Kind of this edge of the window.
    pub kind: EventKind,
    /// Start or end.
    pub phase: Phase,
}

/// Identity of a run, written into every output file's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunIdentity {
    /// `CARGO_PKG_VERSION` of the engine.
    pub engine_version: String,
    /// SHA-256 (hex) of the scenario source.
    pub scenario_sha256: String,
    /// Seed used.
    pub seed: u64,
    /// Replication index (0 for a single run).
    pub replication: u64,
}
