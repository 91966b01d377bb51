//! The discrete-event engine: time, event queue, world building and the run loop.
//!
//! Data flow: a validated [`Scenario`](crate::scenario::Scenario) is turned into a
//! bevy `World` by [`world::build`]; [`run::run`] alternates the dispatch phase
//! ([`dispatch::dispatch_until`], model handlers in [`crate::model`]) with the
//! batch schedule (injections, gauge sampling) at sync points; records stream to
//! the sinks of [`crate::metrics`]; the summary is assembled at the end.
pub mod dispatch;
pub mod event;
pub mod output;
pub mod queue;
pub mod rng;
pub mod run;
pub mod time;
pub mod world;
