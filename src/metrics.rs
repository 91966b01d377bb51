//! Metrics: gauges, request records, summary statistics and output sinks.
pub mod gauge;
pub mod outdir;
pub mod record;
pub mod schema;
pub mod sink;
pub mod summary;
