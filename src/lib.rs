//! asyncflow
pub mod engine;
pub mod metrics;
pub mod scenario;
