//! The node kinds: what each kind of node does with a request.
//!
//! Each file holds one kind: its configuration component (static, from the
//! scenario), its state component (dynamic), its handlers, gauges and summary
//! rows, behind the engine's [`NodeKind`](crate::engine::node::NodeKind) seam.
//! [`registry`] is the one place that lists them. Handlers touch only their own
//! kind's components and the engine core; nodes reach each other only through
//! the network.
pub mod client;
pub mod generator;
pub mod injection;
pub mod load_balancer;
pub mod server;

use crate::engine::node::Registry;

/// Every node kind, in the order their batch systems run (injected events
/// first, so a sample at an outage edge already sees it).
pub fn registry() -> Registry {
    Registry::new()
        .add::<injection::InjectedEvents>()
        .add::<generator::Generators>()
        .add::<client::Clients>()
        .add::<load_balancer::LoadBalancers>()
        .add::<server::Servers>()
}
