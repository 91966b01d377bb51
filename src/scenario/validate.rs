//! The rules of `docs/scenario.md`, checked on a parsed (and normalised) model.
//!
//! Every rule adds its own [`Diagnostic`] and checking goes on, so one pass
//! reports every problem. Rules that depend on others (reachability needs valid
//! edge ends; "every server down" needs well-formed outage windows) skip the
//! parts that already failed, so one mistake gives one diagnostic.
//!
//! This file holds what every rule shares: the entry point [`validate`], the
//! `Validator` that collects diagnostics (`push`, `err`), the index of declared
//! nodes and the YAML path prefixes. The rules live in `validate/`, one file per
//! thing they are about, each an `impl Validator<'_>` block:
//!
//! - `generator.rs`: `rqs_input`;
//! - `identity.rs`: node `type` tags and node and edge ids;
//! - `server.rs`: servers, their resources, endpoints and steps;
//! - `calls.rs`: `call` and `parallel` steps and the call graph they make;
//! - `load_balancer.rs`: the load balancer's `server_covered`;
//! - `edge.rs`: edges and graph rules (out edges, reachability);
//! - `settings.rs`: `sim_settings`;
//! - `events.rs`: injected events;
//! - `random_variable.rs`: the checks every distributed quantity shares.
//!
//! Diagnostics come out in the order [`validate`] calls the rule groups, and
//! within a group in the order of the file. To add rules for a new thing (a node
//! kind, a step kind): write `validate/<thing>.rs` with a `//!` line saying what
//! it owns and a `pub(super)` method on `Validator`, declare it with `mod` below,
//! and call it in [`validate`] where its diagnostics belong. A new node kind also
//! gets a `NodeKind` (and an entry in `Validator::nodes`) so edges and events
//! can name it, and its `type` tag and id go into `identity.rs`.

mod calls;
mod edge;
mod events;
mod generator;
mod identity;
mod load_balancer;
mod random_variable;
mod server;
mod settings;
mod sockets;

use std::collections::HashMap;

use super::diagnostic::Diagnostic;
use super::schema::ScenarioFile;

/// Check every rule; an empty list means the model is valid.
pub fn validate(m: &ScenarioFile) -> Vec<Diagnostic> {
    let mut v = Validator { m, out: Vec::new() };
    v.generator();
    v.node_tags();
    v.unique_ids();
    v.event_ids();
    v.servers();
    v.calls();
    v.load_balancer();
    v.edges();
    v.sockets();
    v.reachability();
    v.settings();
    v.events();
    v.out
}

/// Lower-case endpoint names (the only normalisation the format defines).
pub fn normalise(m: &mut ScenarioFile) {
    for g in m.rqs_input.as_mut_slice() {
        if let Some(w) = &mut g.endpoint_weights {
            // Names that differ only in case are one endpoint: their weights add.
            let mut lower = std::collections::BTreeMap::new();
            for (k, v) in std::mem::take(w) {
                *lower.entry(k.to_lowercase()).or_insert(0.0) += v;
            }
            *w = lower;
        }
    }
    for s in &mut m.topology_graph.nodes.servers {
        for e in &mut s.endpoints {
            e.endpoint_name = e.endpoint_name.to_lowercase();
            for st in &mut e.steps {
                let op = &mut st.step_operation;
                if let Some(ep) = &mut op.endpoint {
                    *ep = ep.to_lowercase();
                }
                for c in op.calls.iter_mut().flatten() {
                    if let Some(ep) = &mut c.endpoint {
                        *ep = ep.to_lowercase();
                    }
                }
            }
        }
    }
}

/// What a node id names.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum NodeKind {
    Client,
    Server,
    LoadBalancer,
}

impl NodeKind {
    fn as_str(self) -> &'static str {
        match self {
            NodeKind::Client => "client",
            NodeKind::Server => "server",
            NodeKind::LoadBalancer => "load_balancer",
        }
    }
}

/// The model under check and the diagnostics found so far, in order.
struct Validator<'a> {
    m: &'a ScenarioFile,
    out: Vec<Diagnostic>,
}

/// A number as diagnostics print it.
fn fmt_num(x: f64) -> String {
    format!("{x}")
}

/// YAML path prefixes the rule files share.
const SERVERS: &str = "topology_graph.nodes.servers";
const EDGES: &str = "topology_graph.edges";

impl<'a> Validator<'a> {
    fn push(&mut self, d: Diagnostic) {
        self.out.push(d);
    }

    fn err(
        &mut self,
        path: impl Into<String>,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) {
        self.out.push(Diagnostic::new(path, expected, found));
    }

    /// The servers a request leaving `node` can reach: through its first out
    /// edge, then every load-balancer tier below (each node once), in
    /// discovery order.
    fn servers_reached_from(&self, node: &str) -> Vec<&'a str> {
        let nodes = self.nodes();
        let mut adj: HashMap<&str, Vec<&'a str>> = HashMap::new();
        for e in &self.m.topology_graph.edges {
            if e.source != e.target {
                adj.entry(e.source.as_str())
                    .or_default()
                    .push(e.target.as_str());
            }
        }
        let outs = |id: &str| -> Vec<&'a str> { adj.get(id).cloned().unwrap_or_default() };
        let mut out = Vec::new();
        let Some(first) = outs(node).into_iter().next() else {
            return out;
        };
        let mut todo = vec![first];
        let mut seen = std::collections::HashSet::new();
        while let Some(x) = todo.pop() {
            if !seen.insert(x) {
                continue;
            }
            match nodes.get(x) {
                Some(NodeKind::Server) => out.push(x),
                Some(NodeKind::LoadBalancer) => todo.extend(outs(x).into_iter().rev()),
                _ => {}
            }
        }
        out
    }

    /// Declared nodes by id (first declaration wins; duplicates are reported apart).
    fn nodes(&self) -> HashMap<&'a str, NodeKind> {
        let n = &self.m.topology_graph.nodes;
        let mut map = HashMap::new();
        for (_, c) in n.all_clients() {
            map.entry(c.id.as_str()).or_insert(NodeKind::Client);
        }
        for s in &n.servers {
            map.entry(s.id.as_str()).or_insert(NodeKind::Server);
        }
        for (_, lb) in n.all_load_balancers() {
            map.entry(lb.id.as_str()).or_insert(NodeKind::LoadBalancer);
        }
        map
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = include_str!("../../scenarios/quickstart.yml");

    #[test]
    fn the_quickstart_scenario_is_valid() {
        let m: ScenarioFile = serde_norway::from_str(BASE).unwrap();
        assert_eq!(validate(&m), vec![]);
    }

    #[test]
    fn nan_anywhere_is_a_diagnostic_not_a_panic() {
        let mut m: ScenarioFile = serde_norway::from_str(BASE).unwrap();
        m.topology_graph.edges[0].latency.mean = f64::NAN;
        m.topology_graph.edges[1].dropout_rate = f64::INFINITY;
        m.sim_settings.sample_period_s = f64::NAN;
        let paths: Vec<String> = validate(&m).into_iter().map(|d| d.path).collect();
        assert_eq!(
            paths,
            [
                "topology_graph.edges[0].latency.mean",
                "topology_graph.edges[1].dropout_rate",
                "sim_settings.sample_period_s"
            ]
        );
    }
}
