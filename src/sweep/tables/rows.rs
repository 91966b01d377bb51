//! The rows of `summary.parquet` (one run's figures) and `aggregate.parquet`
//! (one point's means and intervals), and the fold from the first to the second.

use super::metric::Metric;
use crate::engine::run::Summary;
use crate::sweep::stats::{Acc, Ci};

/// One run's figures: a row of `summary.parquet`.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryRow {
    /// Point index.
    pub point: u64,
    /// Replication index.
    pub replication: u64,
    /// Seed.
    pub seed: u64,
    /// `complete` or `interrupted`.
    pub status: String,
    /// Simulated seconds.
    pub simulated_s: f64,
    /// Requests generated.
    pub generated: u64,
    /// Requests completed.
    pub completed: u64,
    /// Requests dropped.
    pub dropped: u64,
    /// Requests still in flight at the horizon.
    pub in_flight: u64,
    /// `dropped / generated` (0 without requests).
    pub drop_rate: f64,
    /// Mean latency, s.
    pub latency_mean_s: f64,
    /// Median latency, s.
    pub latency_p50_s: f64,
    /// p95 latency, s.
    pub latency_p95_s: f64,
    /// p99 latency, s.
    pub latency_p99_s: f64,
    /// Largest latency, s.
    pub latency_max_s: f64,
    /// Mean completions per second.
    pub throughput_mean_rps: f64,
    /// Highest CPU utilisation over the servers.
    pub cpu_utilisation_max: f64,
    /// Highest ready-queue length over the servers.
    pub ready_queue_max: f64,
    /// Highest RAM in use over the servers, MB.
    pub ram_in_use_max_mb: f64,
    /// Events dispatched.
    pub events_processed: u64,
}

impl SummaryRow {
    /// The row of one run's summary.
    pub fn new(point: u64, s: &Summary) -> SummaryRow {
        let r = &s.results;
        let fold = |f: fn(&crate::metrics::summary::ServerSummary) -> f64| {
            r.servers.iter().map(f).fold(0.0, f64::max)
        };
        SummaryRow {
            point,
            replication: s.run.replication,
            seed: s.run.seed,
            status: s.run.status.clone(),
            simulated_s: s.run.simulated_s,
            generated: r.requests.generated,
            completed: r.requests.completed,
            dropped: r.requests.dropped,
            in_flight: r.requests.in_flight_at_horizon,
            drop_rate: if r.requests.generated == 0 {
                0.0
            } else {
                r.requests.dropped as f64 / r.requests.generated as f64
            },
            latency_mean_s: r.latency.mean_s,
            latency_p50_s: r.latency.p50_s,
            latency_p95_s: r.latency.p95_s,
            latency_p99_s: r.latency.p99_s,
            latency_max_s: r.latency.max_s,
            throughput_mean_rps: r.throughput.mean_rps,
            cpu_utilisation_max: fold(|x| x.cpu_utilisation),
            ready_queue_max: fold(|x| x.ready_queue_max),
            ram_in_use_max_mb: fold(|x| x.ram_in_use_max_mb),
            events_processed: s.engine_figures.events_processed,
        }
    }
}

/// One point's means and intervals: a row of `aggregate.parquet`.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregateRow {
    /// Point index.
    pub point: u64,
    /// Replications found.
    pub replications: u64,
    /// One interval per [`Metric::ALL`] entry.
    pub metrics: Vec<(Metric, Ci)>,
}

impl AggregateRow {
    /// The interval of `m`.
    pub fn get(&self, m: Metric) -> Option<&Ci> {
        self.metrics.iter().find(|(x, _)| *x == m).map(|(_, c)| c)
    }
}

/// Aggregate the rows of one point (in replication order).
pub fn aggregate_point(point: u64, rows: &[&SummaryRow]) -> AggregateRow {
    let metrics = Metric::ALL
        .iter()
        .map(|&m| {
            let mut acc = Acc::default();
            rows.iter().for_each(|r| acc.push(m.of(r)));
            (m, acc.ci())
        })
        .collect();
    AggregateRow {
        point,
        replications: rows.len() as u64,
        metrics,
    }
}
