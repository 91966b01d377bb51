//! The load balancer: spreads requests over the covered targets that are up.
//!
//! A target is a server or a load balancer of a tier below; a tier whose
//! every target is down is down for the tiers above (kept by
//! [`crate::model::injection`]). The algorithms (`docs/scenario.md`):
//!
//! - `round_robin`: rotate over the up targets.
//! - `least_connection`: the up target whose edge has the fewest requests in
//!   transit (AsyncFlow's rule; ties by declaration order).
//! - `random`: a uniform draw over the up targets.
//! - `weighted_round_robin`: nginx's smooth weighted round robin over the up
//!   targets, no random draw.
//! - `power_of_two_choices`: two distinct random up targets, the one with
//!   fewer requests in flight (ties: the first drawn).
//! - `least_response_time`: the up target with the lowest EWMA response time
//!   x (in flight + 1) (nginx-plus `least_time`).
//!
//! In flight and response times come from the engine's load records on the
//! load balancer's edges ([`network::TargetLoad`]), which it asks for at build
//! time: in flight to a target is what was sent on the edge and not yet
//! finished at the target; for a tier it is the tier's own count, the sum over
//! the edges below it (its own out edges, and theirs for tiers below it).
//! Random draws come from the load balancer's own stream.

use std::collections::HashSet;

use bevy_ecs::prelude::*;
use bevy_ecs::system::SystemParamItem;
use rand::RngExt;
use rand_pcg::Pcg64;

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
        let file = cx.file;
        let lbs: Vec<_> = (file.topology_graph.nodes.all_load_balancers())
            .map(|(_, l)| l)
            .collect();
        let lb_ids: HashSet<&str> = lbs.iter().map(|l| l.id.as_str()).collect();
        for l in &lbs {
            let e = cx.require_node(&l.id, "load balancer")?;
            let out = cx.out_edges(&l.id);
            let slots: Vec<Entity> = out.iter().map(|&(_, e)| e).collect();
            let n = slots.len();
            let weights = out
                .iter()
                .map(|&(i, _)| {
                    let target = &file.topology_graph.edges[i].target;
                    (l.weights.as_ref())
                        .and_then(|w| w.get(target))
                        .map_or(1, |&w| w.max(1))
                })
                .collect();
            let mut below = Vec::new();
            if l.algorithms.needs_load() {
                for &(i, _) in &out {
                    let b = Below::of(cx, &lb_ids, i);
                    for &k in &b.load_idx {
                        cx.track_load(k);
                    }
                    below.push(b.into_entities(cx));
                }
            }
            let cfg = LbConfig {
                name: cx.names.intern(&l.id),
                algorithm: l.algorithms,
                edges: slots,
                weights,
                below,
            };
            let st = LbState::new(n, cx.stream("load_balancer", &l.id));
            cx.world.entity_mut(e).insert((cfg, st));
        }
        Ok(())
    }

    /// A request reached the load balancer: route it, or drop it if no target
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
            LbAlgorithm::Random => st.random(),
            LbAlgorithm::WeightedRoundRobin => st.weighted_round_robin(&cfg.weights),
            LbAlgorithm::PowerOfTwoChoices => {
                st.power_of_two_choices(|slot| cfg.in_flight(cx, slot))
            }
            LbAlgorithm::LeastResponseTime => {
                st.least_response_time(|slot| cfg.response_time_and_in_flight(cx, slot))
            }
        };
        match chosen {
            Some(slot) => network::send(cx, cfg.edges[slot], req),
            None => request::finish(cx, req, RequestStatus::Dropped, Some(cfg.name)),
        }
    }
}

/// The tracked edges below one slot, by edge index while building.
struct Below {
    /// Edges whose in flight adds up to the slot's: the slot's edge, and for a
    /// tier every edge below it (each once).
    load_idx: Vec<usize>,
    /// Edges to the servers below it, whose response times make the slot's.
    leaf_idx: Vec<usize>,
}

impl Below {
    /// Walk down from edge `i` (tiers are acyclic: validation; a visited set
    /// keeps the walk finite anyway).
    fn of(cx: &BuildCx, lb_ids: &HashSet<&str>, i: usize) -> Below {
        let edges = &cx.file.topology_graph.edges;
        let mut b = Below {
            load_idx: Vec::new(),
            leaf_idx: Vec::new(),
        };
        let mut seen_edges = HashSet::new();
        let mut seen_lbs: HashSet<&str> = HashSet::new();
        let mut stack = vec![i];
        while let Some(k) = stack.pop() {
            if !seen_edges.insert(k) {
                continue;
            }
            b.load_idx.push(k);
            let target = edges[k].target.as_str();
            if !lb_ids.contains(target) {
                b.leaf_idx.push(k);
                continue;
            }
            if seen_lbs.insert(target) {
                // Reverse, so the walk visits them in declaration order.
                stack.extend(cx.out_edges(target).iter().rev().map(|&(j, _)| j));
            }
        }
        b
    }

    fn into_entities(self, cx: &BuildCx) -> SlotEdges {
        SlotEdges {
            load: self.load_idx.iter().map(|&k| cx.edge(k)).collect(),
            leaves: self.leaf_idx.iter().map(|&k| cx.edge(k)).collect(),
        }
    }
}

/// The tracked edges that make one slot's load.
#[derive(Debug, Clone, Default)]
pub struct SlotEdges {
    /// Their in flight adds up to the slot's (just the slot's edge for a
    /// server).
    pub load: Vec<Entity>,
    /// Edges to the servers at or below the slot: its response time is the
    /// mean of theirs.
    pub leaves: Vec<Entity>,
}

/// Load balancer configuration.
#[derive(Component, Debug, Clone)]
pub struct LbConfig {
    /// Load balancer id.
    pub name: NameId,
    /// Routing algorithm.
    pub algorithm: LbAlgorithm,
    /// Out edges, one per covered target, in declaration order (the slots).
    pub edges: Vec<Entity>,
    /// Weight of each slot (`weighted_round_robin`; 1 when not listed).
    pub weights: Vec<i64>,
    /// The tracked edges of each slot (algorithms that read loads only).
    pub below: Vec<SlotEdges>,
}

impl LbConfig {
    /// Requests in flight to slot `slot`'s target (for a tier: below it).
    #[inline]
    fn in_flight(&self, cx: &Ctx, slot: usize) -> u32 {
        self.below.get(slot).map_or(0, |b| {
            b.load
                .iter()
                .map(|&e| network::target_load(cx, e).in_flight)
                .sum()
        })
    }

    /// EWMA response time of slot `slot`'s target in seconds (for a tier: the
    /// mean over the servers below it that have one; 0 while none is known),
    /// and its in flight. A server's slot reads its one edge once.
    #[inline]
    fn response_time_and_in_flight(&self, cx: &Ctx, slot: usize) -> (f64, u32) {
        let Some(b) = self.below.get(slot) else {
            return (0.0, 0);
        };
        if let ([e], [_]) = (b.load.as_slice(), b.leaves.as_slice()) {
            let l = network::target_load(cx, *e);
            return (l.response_ewma_s, l.in_flight);
        }
        let (mut sum, mut n) = (0.0, 0u32);
        for &e in &b.leaves {
            let l = network::target_load(cx, e);
            if l.responses > 0 {
                sum += l.response_ewma_s;
                n += 1;
            }
        }
        let rt = if n == 0 { 0.0 } else { sum / f64::from(n) };
        (rt, self.in_flight(cx, slot))
    }
}

/// Load balancer state, one entry per slot.
#[derive(Component, Debug, Clone)]
pub struct LbState {
    /// Next slot round robin tries first.
    next: usize,
    /// Whether the slot's target is up (a tier: some target of it is up).
    pub up: Vec<bool>,
    /// Smooth weighted round robin's current weights.
    current: Vec<i64>,
    /// The load balancer's random stream (`random`, `power_of_two_choices`).
    rng: Pcg64,
}

impl LbState {
    /// All targets up, nothing in transit.
    pub fn new(slots: usize, rng: Pcg64) -> Self {
        LbState {
            next: 0,
            up: vec![true; slots],
            current: vec![0; slots],
            rng,
        }
    }

    /// Whether some target is up.
    pub fn any_up(&self) -> bool {
        self.up.iter().any(|&u| u)
    }

    /// Round robin over the up slots; None when every target is down.
    pub fn round_robin(&mut self) -> Option<usize> {
        let n = self.up.len();
        let slot = (0..n).map(|k| (self.next + k) % n).find(|&i| self.up[i])?;
        self.next = (slot + 1) % n;
        Some(slot)
    }

    /// The up slot with the fewest requests in transit on its edge (ties: the
    /// first declared); None when every target is down.
    pub fn least_connection(&self, in_flight: impl Fn(usize) -> f64) -> Option<usize> {
        (0..self.up.len())
            .filter(|&i| self.up[i])
            .map(|i| (in_flight(i) as u64, i))
            .min()
            .map(|(_, i)| i)
    }

    /// The `k`-th up slot (from 0).
    fn nth_up(&self, k: usize) -> Option<usize> {
        (0..self.up.len()).filter(|&i| self.up[i]).nth(k)
    }

    /// A uniform draw over the up slots (one draw from the stream); None when
    /// every target is down.
    pub fn random(&mut self) -> Option<usize> {
        let k = self.up.iter().filter(|&&u| u).count();
        if k == 0 {
            return None;
        }
        let j = self.rng.random_range(0..k);
        self.nth_up(j)
    }

    /// nginx's smooth weighted round robin over the up slots: each adds its
    /// weight to its current weight, the largest current weight wins (ties:
    /// the first declared) and gives back the sum of the up weights. Over any
    /// run of sum-of-weights picks with the same slots up, each slot is picked
    /// exactly its weight times, spread out (3:1 gives a a b a, not a a a b).
    /// None when every target is down.
    pub fn weighted_round_robin(&mut self, weights: &[i64]) -> Option<usize> {
        let mut total = 0i64;
        let mut best: Option<usize> = None;
        for i in 0..self.up.len() {
            if !self.up[i] {
                continue;
            }
            let w = weights.get(i).copied().unwrap_or(1);
            self.current[i] = self.current[i].saturating_add(w);
            total = total.saturating_add(w);
            if best.is_none_or(|b| self.current[i] > self.current[b]) {
                best = Some(i);
            }
        }
        let b = best?;
        self.current[b] = self.current[b].saturating_sub(total);
        Some(b)
    }

    /// Two distinct up slots drawn uniformly (two draws from the stream), the
    /// one with fewer requests in flight (ties: the first drawn); with one
    /// slot up, that slot (no draw). None when every target is down.
    pub fn power_of_two_choices(&mut self, in_flight: impl Fn(usize) -> u32) -> Option<usize> {
        let k = self.up.iter().filter(|&&u| u).count();
        if k <= 1 {
            return self.nth_up(0);
        }
        let i = self.rng.random_range(0..k);
        let mut j = self.rng.random_range(0..k - 1);
        if j >= i {
            j += 1;
        }
        let (a, b) = (self.nth_up(i)?, self.nth_up(j)?);
        Some(if in_flight(b) < in_flight(a) { b } else { a })
    }

    /// The up slot with the lowest response time x (in flight + 1), where
    /// `load(slot)` is (EWMA response time in seconds, 0 while unknown; in
    /// flight). Ties: fewer in flight, then the first declared, so targets
    /// without a response yet are tried by fewest in flight first. None when
    /// every target is down.
    pub fn least_response_time(&self, load: impl Fn(usize) -> (f64, u32)) -> Option<usize> {
        let mut best: Option<(f64, u32, usize)> = None;
        for i in (0..self.up.len()).filter(|&i| self.up[i]) {
            let (rt, n) = load(i);
            let score = rt * (f64::from(n) + 1.0);
            let better = best.is_none_or(|(s, m, _)| {
                score.total_cmp(&s).then(n.cmp(&m)) == std::cmp::Ordering::Less
            });
            if better {
                best = Some((score, n, i));
            }
        }
        best.map(|(_, _, i)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::stream;

    fn state(n: usize) -> LbState {
        LbState::new(n, stream(1, 0, "load_balancer", "lb"))
    }

    #[test]
    fn round_robin_alternates_and_skips_down_servers() {
        let mut st = state(3);
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
        let mut st = state(3);
        let in_flight = [2.0, 0.0, 0.0];
        assert_eq!(st.least_connection(|i| in_flight[i]), Some(1));
        st.up[1] = false;
        assert_eq!(st.least_connection(|i| in_flight[i]), Some(2));
    }

    #[test]
    fn random_is_uniform_over_the_up_slots_only() {
        let mut st = state(4);
        st.up[2] = false;
        let mut counts = [0u32; 4];
        for _ in 0..30_000 {
            counts[st.random().unwrap()] += 1;
        }
        assert_eq!(counts[2], 0);
        // 10 000 expected each; sd 82.
        for c in [counts[0], counts[1], counts[3]] {
            assert!((9_600..=10_400).contains(&c), "{counts:?}");
        }
        st.up = vec![false; 4];
        assert_eq!(st.random(), None);
    }

    #[test]
    fn random_draws_depend_on_the_stream_only() {
        let picks = |seed| {
            let mut st = LbState::new(5, stream(seed, 0, "load_balancer", "lb"));
            (0..20).map(|_| st.random().unwrap()).collect::<Vec<_>>()
        };
        assert_eq!(picks(1), picks(1));
        assert_ne!(picks(1), picks(2));
    }

    #[test]
    fn smooth_weighted_round_robin_spreads_picks_like_nginx() {
        // nginx's example: weights 5, 1, 1 give a a b a c a a.
        let mut st = state(3);
        let w = [5, 1, 1];
        let picks: Vec<_> = (0..14)
            .map(|_| st.weighted_round_robin(&w).unwrap())
            .collect();
        assert_eq!(picks, vec![0, 0, 1, 0, 2, 0, 0, 0, 0, 1, 0, 2, 0, 0]);
        // 3 : 1 interleaves.
        let mut st = state(2);
        let picks: Vec<_> = (0..8)
            .map(|_| st.weighted_round_robin(&[3, 1]).unwrap())
            .collect();
        assert_eq!(picks, vec![0, 0, 1, 0, 0, 0, 1, 0]);
    }

    #[test]
    fn weighted_round_robin_skips_down_slots_and_keeps_exact_shares() {
        let mut st = state(3);
        let w = [2, 3, 5];
        st.up[1] = false;
        let mut counts = [0u32; 3];
        for _ in 0..70 {
            counts[st.weighted_round_robin(&w).unwrap()] += 1;
        }
        assert_eq!(counts, [20, 0, 50]);
        st.up = vec![true; 3];
        let mut counts = [0u32; 3];
        for _ in 0..100 {
            counts[st.weighted_round_robin(&w).unwrap()] += 1;
        }
        assert_eq!(counts, [20, 30, 50]);
        st.up = vec![false; 3];
        assert_eq!(st.weighted_round_robin(&w), None);
    }

    #[test]
    fn power_of_two_choices_takes_the_less_loaded_of_two_distinct_draws() {
        let mut st = state(4);
        // Slot 3 is the least loaded: it wins whenever drawn, i.e. in half of
        // the pairs (3 of 6); slot 0, the busiest, never wins.
        let in_flight = [9, 5, 4, 1];
        let mut counts = [0u32; 4];
        for _ in 0..60_000 {
            counts[st.power_of_two_choices(|i| in_flight[i]).unwrap()] += 1;
        }
        assert_eq!(counts[0], 0, "{counts:?}");
        // Pairs: slot 3 wins 3 of 6, slot 2 wins 2 ({0,2}, {1,2}), slot 1 one.
        for (c, want) in [
            (counts[3], 30_000),
            (counts[2], 20_000),
            (counts[1], 10_000),
        ] {
            assert!(c.abs_diff(want) < 600, "{counts:?}");
        }
        // One slot up: no draw needed; none: None.
        st.up = vec![false, true, false, false];
        assert_eq!(st.power_of_two_choices(|i| in_flight[i]), Some(1));
        st.up = vec![false; 4];
        assert_eq!(st.power_of_two_choices(|i| in_flight[i]), None);
    }

    #[test]
    fn power_of_two_choices_breaks_ties_by_the_first_draw() {
        // All equal: the first draw is uniform, so the picks are too.
        let mut st = state(3);
        let mut counts = [0u32; 3];
        for _ in 0..30_000 {
            counts[st.power_of_two_choices(|_| 2).unwrap()] += 1;
        }
        for c in counts {
            assert!((9_600..=10_400).contains(&c), "{counts:?}");
        }
    }

    #[test]
    fn least_response_time_weighs_response_time_by_in_flight() {
        let st = state(3);
        // Scores: 0.01 x 5 = 0.05, 0.02 x 2 = 0.04, 0.005 x 11 = 0.055.
        let load = [(0.01, 4), (0.02, 1), (0.005, 10)];
        assert_eq!(st.least_response_time(|i| load[i]), Some(1));
        let mut st = st;
        st.up[1] = false;
        assert_eq!(st.least_response_time(|i| load[i]), Some(0));
        st.up = vec![false; 3];
        assert_eq!(st.least_response_time(|i| load[i]), None);
    }

    #[test]
    fn least_response_time_tries_unknown_targets_by_fewest_in_flight() {
        let st = state(3);
        // Slots 1 and 2 have no response yet (score 0): the one with fewer in
        // flight goes first; equal, the first declared.
        assert_eq!(
            st.least_response_time(|i| [(0.01, 0), (0.0, 3), (0.0, 2)][i]),
            Some(2)
        );
        assert_eq!(st.least_response_time(|_| (0.0, 0)), Some(0));
    }
}
