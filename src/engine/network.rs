//! The network: edges are links with a latency distribution, dropout and
//! spikes. Every request moving between two nodes goes through [`send`]; its
//! arrival event hands it to the target node's kind (see
//! [`crate::engine::node`]), which is how nodes talk without knowing each
//! other's kinds.
//!
//! An edge can also keep a load record of its target as seen from its
//! source ([`TargetLoad`]): the requests sent on it and not yet finished at
//! its target, and an EWMA of their response times. A request is *held* by
//! the last tracked edge it was sent on until it leaves the node at the end of
//! that edge: sent on (a load balancer forwarding it moves the hold to its out
//! edge), replied to (a response-time sample), or ended
//! ([`request::finish`]). Replies are never held. Only the edges a kind asks
//! for at build time are tracked ([`crate::engine::world::BuildCx::track_load`]),
//! so a scenario without them pays one test per send.

use bevy_ecs::prelude::*;
use rand::RngExt;
use rand_pcg::Pcg64;

use super::connection;
use super::dispatch::Ctx;
use super::event::{Event, EventKind};
use super::node::KindId;
use super::request::{self, Request};
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
    /// Load tracking ([`TargetLoad`]): [`EdgeConfig::HOLD`] when a request
    /// sent on it is held by it, [`EdgeConfig::RELEASE`] when its source is the
    /// target of a holding edge (a request leaving on it may release a hold);
    /// 0 on an untracked edge, which costs `send` one test.
    pub track: u8,
    /// Whether requests sent on it need a connection
    /// ([`crate::engine::connection`]).
    pub conn: bool,
}

impl EdgeConfig {
    /// [`EdgeConfig::track`] bit: requests sent on the edge are held by it.
    pub const HOLD: u8 = 1;
    /// [`EdgeConfig::track`] bit: a request sent on it may release a hold.
    pub const RELEASE: u8 = 2;
}

/// The load of an edge's target as seen through the edge: kept only on the
/// edges a kind asked to track (see the module docs).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TargetLoad {
    /// Requests sent on the edge and not yet finished at its target (in
    /// transit, then at the target).
    pub in_flight: u32,
    /// EWMA of the response times seen, in seconds: from the send on this edge
    /// to the request leaving its target as a reply (0 before the first).
    pub response_ewma_s: f64,
    /// Response times seen.
    pub responses: u64,
}

impl TargetLoad {
    /// Weight of the newest response time in the EWMA: each reply moves it a
    /// tenth of the way, so it follows about the last ten replies.
    pub const EWMA_ALPHA: f64 = 0.1;

    /// Fold one response time into the EWMA (the first one sets it).
    pub fn observe(&mut self, secs: f64) {
        self.response_ewma_s = if self.responses == 0 {
            secs
        } else {
            self.response_ewma_s + Self::EWMA_ALPHA * (secs - self.response_ewma_s)
        };
        self.responses += 1;
    }
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
    /// Load of the target through this edge (tracked edges only).
    pub load: TargetLoad,
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
            load: TargetLoad::default(),
        }
    }
}

/// Put a request on an edge: lose it with the dropout probability, otherwise
/// deliver it after a latency draw plus the active spikes.
///
/// The request is already in its network phase: it is born in it, node
/// hand-offs take no time, and a server puts it back in it when it leaves.
/// On a tracked edge the request's hold moves here (see the module docs).
#[inline]
pub fn send(cx: &mut Ctx, edge: Entity, req: Entity) {
    put_on(cx, edge, req, true);
}

/// Put a request on an edge, its connection (if it needs one) in hand.
#[inline]
pub(crate) fn transmit(cx: &mut Ctx, edge: Entity, req: Entity) {
    put_on(cx, edge, req, false);
}

/// A request that is not a reply, on an edge with connections: get it one
/// first. Out of line: scenarios without connections never call it.
#[cold]
#[inline(never)]
fn send_connected(cx: &mut Ctx, edge: Entity, req: Entity) {
    if cx.requests.get(req).is_ok_and(|r| r.served) {
        transmit(cx, edge, req);
    } else {
        connection::send(cx, edge, req);
    }
}

#[inline(always)]
fn put_on(cx: &mut Ctx, edge: Entity, req: Entity, check_conn: bool) {
    let now = cx.now;
    let Ok((cfg, mut st)) = cx.edges.get_mut(edge) else {
        return;
    };
    if check_conn && cfg.conn {
        send_connected(cx, edge, req);
        return;
    }
    st.sent += 1;
    if cfg.dropout > 0.0 && st.rng.random::<f64>() < cfg.dropout {
        st.dropped += 1;
        let name = cfg.name;
        request::finish(cx, req, RequestStatus::Dropped, Some(name));
        return;
    }
    let track = cfg.track;
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
    if track != 0 {
        move_hold(cx, edge, req, track & EdgeConfig::HOLD != 0);
    }
}

/// The request leaves the node it is held at (if it is held): release that
/// hold, with a response-time sample when it leaves as a reply; then, unless
/// it is a reply, let `edge` hold it when `hold`. Out of line: untracked
/// scenarios never call it.
#[cold]
#[inline(never)]
fn move_hold(cx: &mut Ctx, edge: Entity, req: Entity, hold: bool) {
    let now = cx.now;
    let Ok(mut r) = cx.requests.get_mut(req) else {
        return;
    };
    let served = r.served;
    release_hold(&mut cx.edges, &mut r, now, served);
    if hold && !r.served {
        r.held_on = edge;
        r.held_since = now;
        if let Ok((_, mut st)) = cx.edges.get_mut(edge) {
            st.load.in_flight += 1;
        }
    }
}

/// Release the request's hold, if it has one: its edge counts it no longer,
/// and takes the time since the send as a response time when `response` (the
/// request leaves its target as a reply).
#[inline]
pub(crate) fn release_hold(
    edges: &mut Query<'_, '_, (&'static EdgeConfig, &'static mut EdgeState)>,
    r: &mut Request,
    now: SimTime,
    response: bool,
) {
    if r.held_on == Entity::PLACEHOLDER {
        return;
    }
    let held = std::mem::replace(&mut r.held_on, Entity::PLACEHOLDER);
    if let Ok((_, mut st)) = edges.get_mut(held) {
        st.load.in_flight = st.load.in_flight.saturating_sub(1);
        if response {
            st.load.observe((now - r.held_since).as_secs_f64());
        }
    }
}

/// The load record of `edge`'s target through it (zero on an untracked edge).
#[inline]
pub fn target_load(cx: &Ctx, edge: Entity) -> TargetLoad {
    cx.edges
        .get(edge)
        .map_or(TargetLoad::default(), |(_, st)| st.load)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_response_sets_the_ewma_and_each_next_moves_it_a_tenth() {
        let mut l = TargetLoad::default();
        assert_eq!((l.response_ewma_s, l.responses), (0.0, 0));
        l.observe(0.2);
        assert_eq!((l.response_ewma_s, l.responses), (0.2, 1));
        l.observe(1.2);
        assert!((l.response_ewma_s - 0.3).abs() < 1e-12);
        for _ in 0..200 {
            l.observe(0.05);
        }
        assert!((l.response_ewma_s - 0.05).abs() < 1e-9);
        assert_eq!(l.responses, 202);
    }
}
