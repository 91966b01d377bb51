//! Run statistics in streaming form, and the summary written to `summary.json`.
//!
//! Latency quantiles come from an HDR histogram with 3 significant digits: every
//! reported quantile is within 0.1% (relative) of the exact order statistic's
//! value. Mean, standard deviation, minimum and maximum are exact (the mean is
//! computed from an integer sum of nanoseconds).

use bevy_ecs::prelude::*;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::engine::time::SimTime;
use crate::metrics::record::{RequestRecord, RequestStatus};

/// Relative error bound of reported latency quantiles.
pub const QUANTILE_RELATIVE_ERROR: f64 = 1e-3;

/// Counters and streaming statistics updated as requests end.
#[derive(Resource, Debug)]
pub struct RunStats {
    generated: u64,
    completed: u64,
    dropped: u64,
    /// Root requests ended, per status (`RequestStatus as usize`).
    ended: [u64; RequestStatus::ALL.len()],
    hist: Histogram<u64>,
    sum_ns: u128,
    /// Welford running mean and M2 of latency in seconds (for the variance).
    w_mean: f64,
    w_m2: f64,
    min: SimTime,
    max: SimTime,
    /// Completions per whole simulated second.
    per_second: Vec<u64>,
}

impl RunStats {
    /// Empty statistics for a run of `horizon`.
    pub fn new(horizon: SimTime) -> Self {
        let secs = horizon.as_nanos().div_ceil(SimTime::NANOS_PER_SEC) as usize;
        RunStats {
            generated: 0,
            completed: 0,
            dropped: 0,
            ended: [0; RequestStatus::ALL.len()],
            // A latency can never exceed the horizon; bounding the histogram by it
            // keeps `saturating_record` exact (it clamps rather than resizes).
            hist: Histogram::new_with_bounds(1, horizon.as_nanos().max(2), 3)
                .expect("bounds 1 <= horizon with 3 significant digits are valid"),
            sum_ns: 0,
            w_mean: 0.0,
            w_m2: 0.0,
            min: SimTime::MAX,
            max: SimTime::ZERO,
            per_second: vec![0; secs.max(1)],
        }
    }

    /// Allocate the next request id (generation order, from 1).
    #[inline]
    pub fn next_request_id(&mut self) -> u64 {
        self.generated += 1;
        self.generated
    }

    /// Account a request that ended.
    #[inline]
    pub fn record(&mut self, r: &RequestRecord) {
        self.ended[r.status as usize] += 1;
        match r.status {
            RequestStatus::Dropped => self.dropped += 1,
            RequestStatus::Refused
            | RequestStatus::Rejected
            | RequestStatus::RateLimited
            | RequestStatus::TimedOut
            | RequestStatus::CircuitOpen
            | RequestStatus::PoolTimeout
            | RequestStatus::Failed => {}
            RequestStatus::Completed => {
                self.completed += 1;
                let lat = r.finished - r.created;
                let ns = lat.as_nanos();
                self.hist.saturating_record(ns.max(1));
                self.sum_ns += u128::from(ns);
                let x = lat.as_secs_f64();
                let d = x - self.w_mean;
                self.w_mean += d / self.completed as f64;
                self.w_m2 += d * (x - self.w_mean);
                self.min = self.min.min(lat);
                self.max = self.max.max(lat);
                let sec = (r.finished.as_nanos() / SimTime::NANOS_PER_SEC) as usize;
                if let Some(c) = self.per_second.get_mut(sec) {
                    *c += 1;
                }
            }
        }
    }

    /// Requests generated so far.
    pub fn generated(&self) -> u64 {
        self.generated
    }

    /// Requests completed so far.
    pub fn completed(&self) -> u64 {
        self.completed
    }

    /// Requests dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Root requests ended so far, with any status.
    pub fn ended(&self) -> u64 {
        self.ended.iter().sum()
    }

    /// Root requests still in the system.
    pub fn in_flight(&self) -> u64 {
        self.generated - self.ended()
    }

    /// Root requests ended so far, per status, every status listed.
    pub fn by_status(&self) -> std::collections::BTreeMap<String, u64> {
        RequestStatus::ALL
            .iter()
            .map(|s| (s.as_str().to_owned(), self.ended[*s as usize]))
            .collect()
    }

    /// Latency summary of completed requests.
    pub fn latency(&self) -> LatencySummary {
        let n = self.completed;
        if n == 0 {
            return LatencySummary::default();
        }
        let q = |p: f64| self.hist.value_at_quantile(p) as f64 / 1e9;
        LatencySummary {
            count: n,
            mean_s: (self.sum_ns as f64 / n as f64) / 1e9,
            std_s: if n > 1 {
                (self.w_m2 / (n - 1) as f64).sqrt()
            } else {
                0.0
            },
            min_s: self.min.as_secs_f64(),
            p50_s: q(0.5),
            p95_s: q(0.95),
            p99_s: q(0.99),
            max_s: self.max.as_secs_f64(),
            quantile_relative_error: QUANTILE_RELATIVE_ERROR,
        }
    }

    /// Throughput over whole seconds up to `until` (completions per second).
    pub fn throughput(&self, until: SimTime) -> ThroughputSummary {
        let full = (until.as_nanos() / SimTime::NANOS_PER_SEC) as usize;
        let mut xs: Vec<u64> = self.per_second[..full.min(self.per_second.len())].to_vec();
        if xs.is_empty() {
            return ThroughputSummary::default();
        }
        let mean = xs.iter().sum::<u64>() as f64 / xs.len() as f64;
        xs.sort_unstable();
        // Nearest-rank 95th percentile.
        let rank = ((0.95 * xs.len() as f64).ceil() as usize).clamp(1, xs.len());
        ThroughputSummary {
            window_s: 1.0,
            windows: xs.len() as u64,
            mean_rps: mean,
            p95_rps: xs[rank - 1] as f64,
            max_rps: *xs.last().unwrap_or(&0) as f64,
        }
    }

    /// Completions per simulated second (for charts).
    pub fn per_second(&self) -> &[u64] {
        &self.per_second
    }
}

/// Latency statistics of completed requests, in seconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Completed requests.
    pub count: u64,
    /// Exact mean.
    pub mean_s: f64,
    /// Sample standard deviation.
    pub std_s: f64,
    /// Exact minimum.
    pub min_s: f64,
    /// Median (within `quantile_relative_error`).
    pub p50_s: f64,
    /// 95th percentile (within `quantile_relative_error`).
    pub p95_s: f64,
    /// 99th percentile (within `quantile_relative_error`).
    pub p99_s: f64,
    /// Exact maximum.
    pub max_s: f64,
    /// Relative error bound of the quantiles.
    pub quantile_relative_error: f64,
}

/// Completions per time window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ThroughputSummary {
    /// Window length in seconds.
    pub window_s: f64,
    /// Number of whole windows in the run.
    pub windows: u64,
    /// Mean completions per second.
    pub mean_rps: f64,
    /// 95th percentile (nearest rank) of per-window completions.
    pub p95_rps: f64,
    /// Busiest window.
    pub max_rps: f64,
}

/// Request counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestCounts {
    /// Generated.
    pub generated: u64,
    /// Came back to the client.
    pub completed: u64,
    /// Lost on an edge or at a load balancer with no server up.
    pub dropped: u64,
    /// Still in the system at the horizon.
    pub in_flight_at_horizon: u64,
    /// Ended, per status (every status of the `status` column, zeros included).
    #[serde(default)]
    pub by_status: std::collections::BTreeMap<String, u64>,
}

/// Per-server aggregates over the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerSummary {
    /// Server id.
    pub id: String,
    /// Cores.
    pub cpu_cores: u32,
    /// Workers (event loops), each with `cpu_cores / workers` cores; 1 in
    /// summaries written before the key existed.
    #[serde(default = "one_worker")]
    pub workers: u32,
    /// Requests that finished their endpoint here.
    pub served: u64,
    /// Busy core time / (cores × run length).
    pub cpu_utilisation: f64,
    /// Time-weighted mean of the ready queue.
    pub ready_queue_mean: f64,
    /// Maximum of the ready queue.
    pub ready_queue_max: f64,
    /// Time-weighted mean of requests in I/O.
    pub io_sleep_mean: f64,
    /// Maximum of requests in I/O.
    pub io_sleep_max: f64,
    /// Time-weighted mean of RAM in use (MB).
    pub ram_in_use_mean_mb: f64,
    /// Maximum RAM in use (MB).
    pub ram_in_use_max_mb: f64,
    /// Time-weighted mean of the RAM wait queue.
    pub ram_wait_queue_mean: f64,
    /// Maximum of the RAM wait queue.
    pub ram_wait_queue_max: f64,
    /// CPU seconds spent on calls whose caller had stopped waiting (their
    /// `timeout_s` passed).
    #[serde(default)]
    pub orphaned_cpu_s: f64,
}

fn one_worker() -> u32 {
    1
}

/// Per-edge aggregates over the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EdgeSummary {
    /// Edge id.
    pub id: String,
    /// Requests sent on it.
    pub sent: u64,
    /// Requests lost on it.
    pub dropped: u64,
    /// Time-weighted mean of requests in transit.
    pub in_flight_mean: f64,
    /// Maximum in transit.
    pub in_flight_max: f64,
}

/// Per-node socket figures over the run (nodes that declare `sockets`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SocketSummary {
    /// Node id.
    pub id: String,
    /// `server` or `load_balancer`.
    pub kind: String,
    /// `sockets.max` (`None`: unlimited).
    pub max: Option<u32>,
    /// Time-weighted mean of open sockets.
    pub open_mean: f64,
    /// Most sockets open at once.
    pub open_max: f64,
    /// Time-weighted mean of socket RAM (MB).
    pub socket_ram_mean_mb: f64,
    /// Peak socket RAM (MB).
    pub socket_ram_max_mb: f64,
    /// Time-weighted mean of the accept backlog.
    pub backlog_mean: f64,
    /// Longest accept backlog.
    pub backlog_max: f64,
    /// Connections accepted (as a target).
    pub accepted: u64,
    /// Connections refused (no socket, no RAM, full backlog).
    pub refused: u64,
}

/// Per-edge connection figures over the run (edges with a connection model).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConnectionSummary {
    /// Edge id.
    pub id: String,
    /// `per_request` or `keep_alive`.
    pub mode: String,
    /// Connections opened (each one handshake).
    pub opened: u64,
    /// Requests that took an already open connection.
    pub reused: u64,
    /// Requests refused on it.
    pub refused: u64,
    /// Time-weighted mean of open connections.
    pub open_mean: f64,
    /// Most connections open at once.
    pub open_max: f64,
    /// Time-weighted mean of idle connections.
    pub idle_mean: f64,
    /// Connections closed after carrying requests.
    pub closed: u64,
    /// Their mean lifetime, open to close (s).
    pub lifetime_mean_s: f64,
    /// Requests per closed connection.
    pub requests_per_connection: f64,
}
