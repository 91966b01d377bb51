//! The load balancer: spreads requests over the covered servers that are up.

use bevy_ecs::prelude::*;

use crate::engine::dispatch::Ctx;
use crate::metrics::record::{NameId, RequestStatus};
use crate::model::{edge, request};
use crate::scenario::schema::LbAlgorithm;

/// Load balancer configuration.
#[derive(Component, Debug, Clone)]
pub struct LbConfig {
    /// Load balancer id.
    pub name: NameId,
    /// Routing algorithm.
    pub algorithm: LbAlgorithm,
    /// Out edges, one per covered server, in declaration order (the slots).
    pub edges: Vec<Entity>,
}

/// Load balancer state, one entry per slot.
#[derive(Component, Debug, Clone)]
pub struct LbState {
    /// Next slot round robin tries first.
    next: usize,
    /// Whether the slot's server is up.
    pub up: Vec<bool>,
    /// Requests in transit on the slot's edge.
    pub in_flight: Vec<u32>,
}

impl LbState {
    /// All servers up, nothing in transit.
    pub fn new(slots: usize) -> Self {
        LbState {
            next: 0,
            up: vec![true; slots],
            in_flight: vec![0; slots],
        }
    }

    /// The slot for the next request, or None when every server is down.
    pub fn choose(&mut self, algorithm: LbAlgorithm) -> Option<usize> {
        let n = self.up.len();
        match algorithm {
            LbAlgorithm::RoundRobin => {
                let slot = (0..n).map(|k| (self.next + k) % n).find(|&i| self.up[i])?;
                self.next = (slot + 1) % n;
                Some(slot)
            }
            LbAlgorithm::LeastConnection => (0..n)
                .filter(|&i| self.up[i])
                .min_by_key(|&i| (self.in_flight[i], i)),
        }
    }
}

/// A request reached the load balancer: route it, or drop it if no server is up.
pub fn on_arrive(cx: &mut Ctx, lb: Entity, req: Entity) {
    let Ok((cfg, mut st)) = cx.lbs.get_mut(lb) else {
        return;
    };
    match st.choose(cfg.algorithm) {
        Some(slot) => {
            let out = cfg.edges[slot];
            edge::send(cx, out, req);
        }
        None => {
            let name: NameId = cfg.name;
            request::finish(cx, req, RequestStatus::Dropped, Some(name));
        }
    }
}

/// Keep the slot's in-transit count in step with its edge.
pub fn sent_on_slot(cx: &mut Ctx, lb: Entity, slot: usize, delta: i32) {
    if let Ok((_, mut st)) = cx.lbs.get_mut(lb) {
        let c = &mut st.in_flight[slot];
        *c = c.saturating_add_signed(delta);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_robin_alternates_and_skips_down_servers() {
        let mut st = LbState::new(3);
        let picks: Vec<_> = (0..6)
            .map(|_| st.choose(LbAlgorithm::RoundRobin).unwrap())
            .collect();
        assert_eq!(picks, vec![0, 1, 2, 0, 1, 2]);
        st.up[1] = false;
        let picks: Vec<_> = (0..4)
            .map(|_| st.choose(LbAlgorithm::RoundRobin).unwrap())
            .collect();
        assert_eq!(picks, vec![0, 2, 0, 2]);
        st.up = vec![false; 3];
        assert_eq!(st.choose(LbAlgorithm::RoundRobin), None);
    }

    #[test]
    fn least_connection_prefers_the_idle_path_then_declaration_order() {
        let mut st = LbState::new(3);
        st.in_flight = vec![2, 0, 0];
        assert_eq!(st.choose(LbAlgorithm::LeastConnection), Some(1));
        st.up[1] = false;
        assert_eq!(st.choose(LbAlgorithm::LeastConnection), Some(2));
    }
}
