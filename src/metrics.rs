//! Metrics: gauges, request records, summary statistics and output sinks.
pub mod record;
