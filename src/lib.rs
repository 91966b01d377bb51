//! # asyncflow
//!
//! A discrete-event simulator of asynchronous distributed backends: a request
//! generator, a client, an optional load balancer, event-loop servers (cores, RAM,
//! I/O) and the network edges between them. Scenarios are AsyncFlow-compatible
//! YAML (or built in code); results are a [`Summary`] plus Parquet files.
//!
//! ```no_run
//! use asyncflow::{RunOptions, Scenario};
//!
//! let scenario = Scenario::load("scenarios/quickstart.yml".as_ref())?;
//! let results = asyncflow::run(&scenario, RunOptions { seed: Some(1), ..Default::default() })?;
//! println!("p99 = {:.4} s", results.summary.results.latency.p99_s);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Data flow
//!
//! [`scenario`] (YAML → validated model) → [`engine::world`] (model → bevy
//! `World`) → [`engine::run`] (dispatch events with the handlers of [`model`];
//! batch systems at sync points) → [`metrics`] (gauges, streaming statistics,
//! Parquet sinks) → [`Summary`]. Each step only reads what the previous one made.
//!
//! ## Determinism contract
//!
//! The same scenario, seed and replication index give bit-identical outputs — the
//! summary (apart from its `wall` section of wall-clock figures) and every Parquet
//! file — on every run, machine and thread count:
//!
//! - simulated time is an integer count of nanoseconds;
//! - events at the same instant run in the order they were scheduled
//!   (`(time, seq)` keys), and batch systems run at sync points after every
//!   earlier event and before any event of that instant;
//! - every source of randomness (generator, each edge, each server) has its own
//!   PCG stream seeded from (seed, replication, entity kind, entity name), so
//!   adding an unrelated entity does not change another's draws;
//! - nothing iterates a hash map to decide an outcome; a run is single-threaded.
//!
//! The test suite checks this (`tests/it/determinism.rs`).
#![warn(missing_docs)]

pub mod engine;
pub mod metrics;
pub mod model;
pub mod report;
pub mod scenario;
pub mod sweep;

pub use engine::run::{Results, RunError, RunOptions, Summary};
pub use scenario::Scenario;

/// Run `scenario` with every node kind of [`model::registry`] to its horizon
/// (or until stopped).
pub fn run(scenario: &Scenario, opts: RunOptions) -> Result<Results, RunError> {
    engine::run::run(scenario, &model::registry(), opts)
}
