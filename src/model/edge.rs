//! Edges: network links with a latency distribution, dropout and spikes.

use bevy_ecs::prelude::*;
use rand::RngExt;
use rand_pcg::Pcg64;

use crate::engine::dispatch::Ctx;
use crate::engine::event::{Event, EventKind};
use crate::engine::time::SimTime;
use crate::metrics::gauge::Gauge;
use crate::metrics::record::{NameId, RequestStatus};
use crate::model::request;
use crate::model::{client, load_balancer, server};
use crate::scenario::rv::Sampler;

/// What kind of node an edge delivers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// The client.
    Client,
    /// A load balancer.
    LoadBalancer,
    /// A server.
    Server,
}

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
    pub target_kind: NodeKind,
    /// When the source is a least-connection load balancer: it and this edge's
    /// slot in its in-transit table (round robin keeps no such table).
    pub lb_slot: Option<(Entity, usize)>,
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
    let lb_slot = cfg.lb_slot;
    let v = st.in_flight.value() + 1.0;
    st.in_flight.set(now, v);
    cx.queue.schedule(
        now + delay,
        Event {
            kind: EventKind::EdgeArrive,
            target: edge,
            request: req,
            tag: 0,
        },
    );
    if let Some((lb, slot)) = lb_slot {
        load_balancer::sent_on_slot(cx, lb, slot, 1);
    }
}

/// A request reaches the end of an edge: hand it to the target node.
pub fn on_arrive(cx: &mut Ctx, edge: Entity, req: Entity) {
    let now = cx.now;
    let Ok((cfg, mut st)) = cx.edges.get_mut(edge) else {
        return;
    };
    let v = st.in_flight.value() - 1.0;
    st.in_flight.set(now, v);
    let (target, kind, lb_slot) = (cfg.target, cfg.target_kind, cfg.lb_slot);
    if let Some((lb, slot)) = lb_slot {
        load_balancer::sent_on_slot(cx, lb, slot, -1);
    }
    match kind {
        NodeKind::Client => client::on_arrive(cx, target, req),
        NodeKind::LoadBalancer => load_balancer::on_arrive(cx, target, req),
        NodeKind::Server => server::on_arrive(cx, target, req),
    }
}
