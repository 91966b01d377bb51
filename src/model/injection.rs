//! Injected events: server outages and network spikes, applied at sync points.
//!
//! Each window edge (start or end) is a sync point of the run loop; the batch
//! system [`apply_injections`] applies every edge due at that instant, before any
//! simulation event of the same instant is dispatched.

use std::collections::HashMap;

use bevy_ecs::prelude::*;

use crate::engine::network::EdgeState;
use crate::engine::node::{BatchSlot, NodeKind};
use crate::engine::output::Output;
use crate::engine::run::{Clock, NextSync};
use crate::engine::time::SimTime;
use crate::engine::world::{BuildCx, BuildError};
use crate::metrics::record::{EventRecord, NameId, Phase};
use crate::model::load_balancer::LbState;
use crate::model::server::ServerState;
use crate::scenario::schema::{EventKind, ScenarioFile};

/// Injected events as a plugin: no nodes, one batch system.
pub struct InjectedEvents;

impl NodeKind for InjectedEvents {
    const NAME: &'static str = "events";
    type Param = ();

    fn declare(_file: &ScenarioFile) -> Vec<String> {
        Vec::new()
    }

    fn build(cx: &mut BuildCx) -> Result<(), BuildError> {
        let m = cx.file;
        // Load-balancer slots: each load balancer's out edges in declaration
        // order, by target server.
        let mut lb_slots = LbSlots::default();
        for (_, l) in m.topology_graph.nodes.all_load_balancers() {
            let lbe = cx.require_node(&l.id, "load balancer")?;
            for (slot, (i, _)) in cx.out_edges(&l.id).into_iter().enumerate() {
                let target = &m.topology_graph.edges[i].target;
                if let Some(t) = cx.node(target) {
                    lb_slots.0.push((t, lbe, slot));
                }
            }
        }
        let edge_of: HashMap<&str, Entity> = m
            .topology_graph
            .edges
            .iter()
            .enumerate()
            .map(|(i, e)| (e.id.as_str(), cx.edge(i)))
            .collect();
        let mut items = Vec::new();
        for ev in &m.events {
            let id = cx.names.intern(&ev.event_id);
            let target = cx.names.intern(&ev.target_id);
            let start = SimTime::from_secs_f64(ev.start.t_start);
            let end = SimTime::from_secs_f64(ev.end.t_end);
            let missing = || {
                BuildError::Topology(format!(
                    "event {}: unknown target {}",
                    ev.event_id, ev.target_id
                ))
            };
            let (a, b) = match ev.start.kind {
                EventKind::ServerDown | EventKind::ServerUp => {
                    let server = cx.node(&ev.target_id).ok_or_else(missing)?;
                    (Action::ServerDown { server }, Action::ServerUp { server })
                }
                EventKind::NetworkSpikeStart | EventKind::NetworkSpikeEnd => {
                    let &edge = edge_of.get(ev.target_id.as_str()).ok_or_else(missing)?;
                    let extra = SimTime::from_secs_f64(ev.start.spike_s.unwrap_or(0.0));
                    (
                        Action::SpikeStart { edge, extra },
                        Action::SpikeEnd { edge, extra },
                    )
                }
            };
            items.push(Injection {
                at: start,
                action: a,
                record: Injections::record(start, id, target, ev.start.kind),
            });
            items.push(Injection {
                at: end,
                action: b,
                record: Injections::record(end, id, target, ev.end.kind),
            });
        }
        let inj = Injections::new(items, lb_slots);
        let first = inj.next_time().unwrap_or(SimTime::MAX);
        cx.world.insert_resource(NextSync(first));
        cx.world.insert_resource(inj);
        Ok(())
    }

    fn add_batch_systems(schedule: &mut Schedule, slot: BatchSlot) {
        schedule.add_systems(apply_injections.in_set(slot));
    }
}

/// What an injection edge does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Mark a server down (and its load-balancer slots, and the slots of a
    /// tier it leaves with no target up).
    ServerDown {
        /// The server.
        server: Entity,
    },
    /// Mark it up again.
    ServerUp {
        /// The server.
        server: Entity,
    },
    /// Add `extra` to an edge's latency.
    SpikeStart {
        /// The edge.
        edge: Entity,
        /// Added latency.
        extra: SimTime,
    },
    /// Remove it.
    SpikeEnd {
        /// The edge.
        edge: Entity,
        /// Removed latency.
        extra: SimTime,
    },
}

/// One edge of an injected window.
#[derive(Debug, Clone, Copy)]
pub struct Injection {
    /// When it applies.
    pub at: SimTime,
    /// What it does.
    pub action: Action,
    /// Its record for `events.parquet`.
    pub record: EventRecord,
}

/// Which load-balancer slots route to each server.
#[derive(Debug, Clone, Default)]
pub struct LbSlots(pub Vec<(Entity, Entity, usize)>);

/// Every injection edge in time order (ties: ends before starts, then declaration
/// order, so a back-to-back outage ends before the next one starts).
#[derive(Resource, Debug, Clone, Default)]
pub struct Injections {
    /// The edges, sorted.
    pub items: Vec<Injection>,
    /// Index of the next one to apply.
    pub next: usize,
    /// (server, load balancer, slot) for every covered server.
    pub lb_slots: LbSlots,
}

impl Injections {
    /// Build from unsorted edges.
    pub fn new(mut items: Vec<Injection>, lb_slots: LbSlots) -> Self {
        items.sort_by_key(|i| (i.at, matches!(i.record.phase, Phase::Start)));
        Injections {
            items,
            next: 0,
            lb_slots,
        }
    }

    /// Time of the next edge to apply.
    pub fn next_time(&self) -> Option<SimTime> {
        self.items.get(self.next).map(|i| i.at)
    }

    /// Build the record for one window edge.
    pub fn record(at: SimTime, event_id: NameId, target: NameId, kind: EventKind) -> EventRecord {
        let phase = match kind {
            EventKind::ServerDown | EventKind::NetworkSpikeStart => Phase::Start,
            EventKind::ServerUp | EventKind::NetworkSpikeEnd => Phase::End,
        };
        EventRecord {
            t: at,
            event_id,
            target,
            kind,
            phase,
        }
    }
}

/// A load balancer whose every target is down is down for the tiers above
/// it, and up again as soon as one of its targets is: repeat until nothing
/// changes (tiers are acyclic, so at most one pass per tier level plus one).
fn propagate_tiers(slots: &LbSlots, lbs: &mut Query<&mut LbState>) {
    let mut changed = true;
    while changed {
        changed = false;
        for &(target, lb, slot) in &slots.0 {
            let Ok(tier) = lbs.get(target) else {
                continue; // a server
            };
            let up = tier.any_up();
            if let Ok(mut l) = lbs.get_mut(lb)
                && l.up[slot] != up
            {
                l.up[slot] = up;
                changed = true;
            }
        }
    }
}

/// Batch system: apply every injection due at the current sync point.
pub fn apply_injections(
    clock: Res<Clock>,
    mut inj: ResMut<Injections>,
    mut servers: Query<&mut ServerState>,
    mut lbs: Query<&mut LbState>,
    mut edges: Query<&mut EdgeState>,
    mut output: ResMut<Output>,
    mut next_sync: ResMut<NextSync>,
) {
    let now = clock.now;
    while let Some(&item) = inj.items.get(inj.next) {
        if item.at > now {
            break;
        }
        inj.next += 1;
        match item.action {
            Action::ServerDown { server } | Action::ServerUp { server } => {
                let up = matches!(item.action, Action::ServerUp { .. });
                if let Ok(mut st) = servers.get_mut(server) {
                    st.up = up;
                }
                for &(s, lb, slot) in &inj.lb_slots.0 {
                    if s == server
                        && let Ok(mut l) = lbs.get_mut(lb)
                    {
                        l.up[slot] = up;
                    }
                }
                propagate_tiers(&inj.lb_slots, &mut lbs);
            }
            Action::SpikeStart { edge, extra } => {
                if let Ok(mut e) = edges.get_mut(edge) {
                    e.spike += extra;
                }
            }
            Action::SpikeEnd { edge, extra } => {
                if let Ok(mut e) = edges.get_mut(edge) {
                    e.spike = e.spike - extra;
                }
            }
        }
        output.push_event(&item.record);
    }
    if let Some(t) = inj.next_time() {
        next_sync.0 = next_sync.0.min(t);
    }
}
