//! The simulated components: what each kind of node and edge does with a request.
//!
//! Each file holds one component kind: its configuration component (static, from
//! the scenario), its state component (dynamic), and the handlers the dispatcher
//! calls for the events that concern it. Handlers touch only the entities named in
//! the event plus the ones the request moves to.
pub mod client;
pub mod edge;
pub mod generator;
pub mod injection;
pub mod load_balancer;
pub mod request;
pub mod server;
