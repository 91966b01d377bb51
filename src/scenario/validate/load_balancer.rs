//! Load balancers (`load_balancer` and the `load_balancers` list): each
//! `server_covered` is a set of declared servers or load balancers (a tier
//! below), each with an edge from the load balancer, and every edge leaving a
//! load balancer goes to a node it covers. Tiers must not loop: a load balancer
//! cannot cover itself through other load balancers. `weights` belong to
//! `weighted_round_robin`: whole numbers in [1, `MAX_WEIGHT`], each naming a
//! covered target.

use std::collections::{HashMap, HashSet};

use super::{EDGES, NodeKind, Validator};
use crate::scenario::diagnostic::Diagnostic;
use crate::scenario::parse::did_you_mean;
use crate::scenario::schema::{LbAlgorithm, LoadBalancer};

/// Largest `weighted_round_robin` weight (keeps the smooth round robin's sums
/// far from overflowing, and no ratio needs more).
pub const MAX_WEIGHT: i64 = 1_000_000;

impl Validator<'_> {
    pub(super) fn load_balancer(&mut self) {
        let m = self.m;
        for (p, lb) in m.topology_graph.nodes.all_load_balancers() {
            self.one_load_balancer(&p, lb);
            self.lb_weights(&p, lb);
        }
        self.lb_tier_cycles();
    }

    fn one_load_balancer(&mut self, p: &str, lb: &LoadBalancer) {
        let nodes = self.nodes();
        let lb_targets: HashSet<&str> = self
            .m
            .topology_graph
            .edges
            .iter()
            .filter(|e| e.source == lb.id)
            .map(|e| e.target.as_str())
            .collect();
        let mut seen = HashSet::new();
        for (i, sid) in lb.server_covered.iter().enumerate() {
            let path = format!("{p}.server_covered[{i}]");
            if !seen.insert(sid.as_str()) {
                self.err(path, "each target once (a set)", format!("`{sid}` again"));
                continue;
            }
            let kind = nodes.get(sid.as_str());
            if sid == &lb.id {
                self.push(
                    Diagnostic::new(path, "a server or another load balancer", "itself")
                        .with_hint("a load balancer cannot route to itself"),
                );
                continue;
            }
            if !matches!(kind, Some(NodeKind::Server | NodeKind::LoadBalancer)) {
                let n = &self.m.topology_graph.nodes;
                let candidates = n
                    .servers
                    .iter()
                    .map(|s| s.id.as_str())
                    .chain(n.all_load_balancers().map(|(_, l)| l.id.as_str()));
                let mut d = Diagnostic::new(
                    path,
                    "the id of a declared server or load balancer",
                    format!("`{sid}`"),
                );
                if let Some(best) = did_you_mean(sid, candidates) {
                    d = d.with_hint(format!("did you mean `{best}`?"));
                }
                self.push(d);
                continue;
            }
            if !lb_targets.contains(sid.as_str()) {
                self.push(
                    Diagnostic::new(
                        path,
                        format!("an edge from the load balancer `{}` to `{sid}`", lb.id),
                        "no such edge",
                    )
                    .with_hint(format!(
                        "add an edge with source `{}` and target `{sid}`",
                        lb.id
                    )),
                );
            }
        }
        for (i, e) in self.m.topology_graph.edges.iter().enumerate() {
            if e.source == lb.id
                && e.source != e.target
                && nodes.contains_key(e.target.as_str())
                && !lb.server_covered.contains(&e.target)
            {
                self.push(
                    Diagnostic::new(
                        format!("{EDGES}[{i}].target"),
                        format!("a node listed in `server_covered` of `{}`", lb.id),
                        format!("`{}`", e.target),
                    )
                    .with_hint(format!(
                        "add `{}` to server_covered or remove the edge",
                        e.target
                    )),
                );
            }
        }
    }

    /// `weights` only with `weighted_round_robin`, each a whole number in
    /// [1, MAX_WEIGHT] for a target in `server_covered`.
    fn lb_weights(&mut self, p: &str, lb: &LoadBalancer) {
        let Some(w) = &lb.weights else {
            return;
        };
        let wp = format!("{p}.weights");
        if lb.algorithms != LbAlgorithm::WeightedRoundRobin {
            self.push(
                Diagnostic::new(
                    wp,
                    "`weights` only with `algorithms: weighted_round_robin`",
                    format!("`weights` with `algorithms: {}`", lb.algorithms.as_str()),
                )
                .with_hint("set `algorithms: weighted_round_robin`, or remove `weights`"),
            );
            return;
        }
        for (id, &x) in w {
            let kp = format!("{wp}.{id}");
            if !lb.server_covered.contains(id) {
                let mut d = Diagnostic::new(
                    kp,
                    format!("a target listed in `server_covered` of `{}`", lb.id),
                    format!("`{id}`"),
                );
                d = match did_you_mean(id, lb.server_covered.iter().map(String::as_str)) {
                    Some(best) => d.with_hint(format!("did you mean `{best}`?")),
                    None => {
                        d.with_hint(format!("add `{id}` to server_covered or remove its weight"))
                    }
                };
                self.push(d);
                continue;
            }
            if !(1..=MAX_WEIGHT).contains(&x) {
                self.push(
                    Diagnostic::new(
                        kp,
                        format!("a whole number in [1, {MAX_WEIGHT}]"),
                        x.to_string(),
                    )
                    .with_hint(if x < 1 {
                        "a target that should get no traffic is left out of server_covered"
                    } else {
                        "scale the weights down: only their ratios matter"
                    }),
                );
            }
        }
    }

    /// A load balancer that reaches itself through the tiers it covers would
    /// route a request forever.
    fn lb_tier_cycles(&mut self) {
        let n = &self.m.topology_graph.nodes;
        let lbs: Vec<(String, &LoadBalancer)> = n.all_load_balancers().collect();
        let index: HashMap<&str, usize> = lbs
            .iter()
            .enumerate()
            .map(|(i, (_, l))| (l.id.as_str(), i))
            .collect();
        // Iterative DFS, colours: 0 new, 1 on the stack, 2 done.
        let mut colour = vec![0u8; lbs.len()];
        for root in 0..lbs.len() {
            if colour[root] != 0 {
                continue;
            }
            let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
            colour[root] = 1;
            while let Some(&mut (v, ref mut next)) = stack.last_mut() {
                let covered = &lbs[v].1.server_covered;
                if *next == covered.len() {
                    colour[v] = 2;
                    stack.pop();
                    continue;
                }
                let k = *next;
                *next += 1;
                let Some(&w) = index.get(covered[k].as_str()) else {
                    continue;
                };
                if w == v {
                    continue; // reported as "itself" above
                }
                match colour[w] {
                    0 => {
                        colour[w] = 1;
                        stack.push((w, 0));
                    }
                    1 => {
                        let start = stack.iter().position(|&(u, _)| u == w).unwrap_or(0);
                        let mut names: Vec<&str> = stack[start..]
                            .iter()
                            .map(|&(u, _)| lbs[u].1.id.as_str())
                            .collect();
                        names.push(lbs[w].1.id.as_str());
                        self.push(
                            Diagnostic::new(
                                format!("{}.server_covered[{k}]", lbs[v].0),
                                "load-balancer tiers without a loop",
                                format!("the loop {}", names.join(" → ")),
                            )
                            .with_hint("a tier may only cover load balancers below it"),
                        );
                    }
                    _ => {}
                }
            }
        }
    }
}
