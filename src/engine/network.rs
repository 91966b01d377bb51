//! The network: edges are links with a latency distribution, dropout and
//! spikes. Every request moving between two nodes goes through [`send`]; its
//! arrival event hands it to the target node's kind (see
//! [`crate::engine::node`]), which is how nodes talk without knowing each
//! other's kinds.

use bevy_ecs::prelude::*;
use rand::RngExt;
use rand_pcg::Pcg64;

use super::dispatch::Ctx;
use super::event::{Event, EventKind};
use super::node::KindId;
use super::request;
use super::time::SimTime;
use crate::metrics::gauge::Gauge;
use crate::metrics::record::{NameId, RequestStatus};
use crate::scenario::rv::Sampler;

/// Edge configuration.
#[derive(Component, Debug, Clone)]
pub struct EdgeConfig {
    /// Edge id.
    pub name: NameId,
    /// Transit time in seconds.
    pub latency: Sampler,
    /// Probability of losing a request.
    pub dropout: f64,
    /// Receiving node.
    pub target: Entity,
    /// Its kind.
    pub target_kind: KindId,
}

/// Edge state.
#[derive(Component, Debug, Clone)]
pub struct EdgeState {
    /// Requests in transit.
    pub in_flight: Gauge,
    /// Sum of active spikes.
    pub spike: SimTime,
    /// Requests sent (including dropped ones).
    pub sent: u64,
    /// Requests lost on this edge.
    pub dropped: u64,
    /// This edge's random stream.
    pub rng: Pcg64,
}

impl EdgeState {
    /// Fresh state with the edge's own random stream.
    pub fn new(rng: Pcg64) -> Self {
        EdgeState {
            in_flight: Gauge::new(),
            spike: SimTime::ZERO,
            sent: 0,
            dropped: 0,
            rng,
        }
    }
}

/// Put a request on an edge: lose it with the dropout probability, otherwise
/// deliver it after a latency draw plus the active spikes.
///
/// The request is already in its network phase: it is born in it, node
/// hand-offs take no time, and a server puts it back in it when it leaves.
pub fn send(cx: &mut Ctx, edge: Entity, req: Entity) {
    let now = cx.now;
    let Ok((cfg, mut st)) = cx.edges.get_mut(edge) else {
        return;
    };
    st.sent += 1;
    if cfg.dropout > 0.0 && st.rng.random::<f64>() < cfg.dropout {
        st.dropped += 1;
        let name = cfg.name;
        request::finish(cx, req, RequestStatus::Dropped, Some(name));
        return;
    }
    let delay = SimTime::from_secs_f64(cfg.latency.sample(&mut st.rng)) + st.spike;
    let v = st.in_flight.value() + 1.0;
    st.in_flight.set(now, v);
    cx.queue.schedule(
        now + delay,
        Event {
            kind: EventKind::EDGE_ARRIVE,
            target: edge,
            request: req,
            tag: 0,
            aux: 0,
        },
    );
}

/// Requests in transit on `edge` now.
#[inline]
pub fn in_flight(cx: &Ctx, edge: Entity) -> f64 {
    cx.edges
        .get(edge)
        .map_or(0.0, |(_, st)| st.in_flight.value())
}

/// A request reaches the end of an edge: returns the node to hand it to.
pub fn on_arrive(cx: &mut Ctx, edge: Entity) -> Option<(Entity, KindId)> {
    let now = cx.now;
    let Ok((cfg, mut st)) = cx.edges.get_mut(edge) else {
        return None;
    };
    let v = st.in_flight.value() - 1.0;
    st.in_flight.set(now, v);
    Some((cfg.target, cfg.target_kind))
}
