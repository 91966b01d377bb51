//! The discrete-event engine: time, event queue, requests, the network, the
//! node-kind seam, world building and the run loop.
//!
//! Data flow: a validated [`Scenario`](crate::scenario::Scenario) is turned into a
//! bevy `World` by [`world::build`], each registered node kind
//! ([`node::NodeKind`], the kinds live in [`crate::model`]) building its own
//! nodes; [`run::run`] alternates the dispatch phase ([`dispatch`]) with the
//! batch schedule (injections, gauge sampling) at sync points; records stream to
//! the sinks of [`crate::metrics`]; the summary is assembled at the end. The
//! engine knows the seam, never a kind.
pub mod connection;
pub mod dispatch;
pub mod event;
pub mod network;
pub mod node;
pub mod output;
pub mod queue;
pub mod request;
pub mod rng;
pub mod run;
pub mod time;
pub mod world;
