//! Subcommands of the binary; each file parses nothing and decides nothing that
//! the library could own.
pub mod report;
pub mod run;
pub mod sweep;
pub mod sweep_merge;
pub mod validate;
