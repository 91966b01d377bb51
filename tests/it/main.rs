//! Integration tests: one binary, one module per behaviour.
mod calls;
mod compat;
mod determinism;
mod golden;
mod load_balancer;
mod oracles;
mod outputs;
mod parquet_roundtrip;
mod peer;
mod queueing;
mod report;
mod scenario_props;
mod scenarios_run;
mod support;
mod sweep;
mod timeline;
mod validation;
