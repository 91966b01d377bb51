//! The load balancer: spreads requests over the covered servers that are up.

use bevy_ecs::prelude::*;
use bevy_ecs::system::SystemParamItem;

use crate::engine::node::Ctx;
use crate::engine::node::NodeKind;
use crate::engine::world::{BuildCx, BuildError};
use crate::engine::{network, request};
use crate::metrics::record::{NameId, RequestStatus};
use crate::scenario::schema::{LbAlgorithm, ScenarioFile};

/// The load-balancer kind.
pub struct LoadBalancers;

type Param = Query<'static, 'static, (&'static LbConfig, &'static mut LbState)>;

impl NodeKind for LoadBalancers {
    const NAME: &'static str = "load_balancer";
    type Param = Param;

    fn declare(file: &ScenarioFile) -> Vec<String> {
        (file.topology_graph.nodes.all_load_balancers())
            .map(|(_, l)| l.id.clone())
            .collect()
    }

    fn build(cx: &mut BuildCx) -> Result<(), BuildError> {
        let lbs: Vec<_> = (cx.file.topology_graph.nodes.all_load_balancers())
            .map(|(_, l)| l)
            .collect();
        for l in lbs {
            let e = cx.require_node(&l.id, "load balancer")?;
            let slots: Vec<Entity> = cx.out_edges(&l.id).into_iter().map(|(_, e)| e).collect();
            let n = slots.len();
            let cfg = LbConfig {
                name: cx.names.intern(&l.id),
                algorithm: l.algorithms,
                edges: slots,
            };
            cx.world.entity_mut(e).insert((cfg, LbState::new(n)));
        }
        Ok(())
    }

    /// A request reached the load balancer: route it, or drop it if no server
    /// is up.
    fn on_arrive(cx: &mut Ctx, lbs: &mut SystemParamItem<Param>, lb: Entity, req: Entity) {
        let Ok((cfg, mut st)) = lbs.get_mut(lb) else {
            return;
        };
        let chosen = match cfg.algorithm {
            LbAlgorithm::RoundRobin => st.round_robin(),
            LbAlgorithm::LeastConnection => {
                st.least_connection(|slot| network::in_flight(cx, cfg.edges[slot]))
            }
        };
        match chosen {
            Some(slot) => network::send(cx, cfg.edges[slot], req),
            None => request::finish(cx, req, RequestStatus::Dropped, Some(cfg.name)),
        }
    }
}

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
}

impl LbState {
    /// All servers up, nothing in transit.
    pub fn new(slots: usize) -> Self {
        LbState {
            next: 0,
            up: vec![true; slots],
        }
    }

    /// Round robin over the up slots; None when every server is down.
    pub fn round_robin(&mut self) -> Option<usize> {
        let n = self.up.len();
        let slot = (0..n).map(|k| (self.next + k) % n).find(|&i| self.up[i])?;
        self.next = (slot + 1) % n;
        Some(slot)
    }

    /// The up slot with the fewest requests in transit on its edge (ties: the
    /// first declared); None when every server is down.
    pub fn least_connection(&self, in_flight: impl Fn(usize) -> f64) -> Option<usize> {
        (0..self.up.len())
            .filter(|&i| self.up[i])
            .map(|i| (in_flight(i) as u64, i))
            .min()
            .map(|(_, i)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_robin_alternates_and_skips_down_servers() {
        let mut st = LbState::new(3);
        let picks: Vec<_> = (0..6).map(|_| st.round_robin().unwrap()).collect();
        assert_eq!(picks, vec![0, 1, 2, 0, 1, 2]);
        st.up[1] = false;
        let picks: Vec<_> = (0..4).map(|_| st.round_robin().unwrap()).collect();
        assert_eq!(picks, vec![0, 2, 0, 2]);
        st.up = vec![false; 3];
        assert_eq!(st.round_robin(), None);
    }

    #[test]
    fn least_connection_prefers_the_idle_path_then_declaration_order() {
        let mut st = LbState::new(3);
        let in_flight = [2.0, 0.0, 0.0];
        assert_eq!(st.least_connection(|i| in_flight[i]), Some(1));
        st.up[1] = false;
        assert_eq!(st.least_connection(|i| in_flight[i]), Some(2));
    }
}
