//! Integration tests: one binary, one module per behaviour.
mod compat;
mod scenario_props;
mod validation;
mod parquet_roundtrip;
