//! The discrete-event engine: time, event queue, world building and the run loop.
pub mod time;
