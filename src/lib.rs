//! asyncflow
pub mod engine;
pub mod metrics;
pub mod model;
pub mod scenario;

pub use engine::run::{Results, RunError, RunOptions, Summary, run};
pub use scenario::Scenario;
