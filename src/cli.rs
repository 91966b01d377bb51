//! Subcommands of the binary; each file parses nothing and decides nothing that
//! the library could own.
pub mod run;
pub mod validate;
