//! Integration tests: one binary, one module per behaviour.
mod compat;
mod scenario_props;
mod validation;
mod parquet_roundtrip;
mod support;
mod oracles;
mod timeline;
mod load_balancer;
mod determinism;
mod scenarios_run;
mod peer;
mod outputs;
mod sweep;
mod report;
