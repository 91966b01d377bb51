//! Edges and the graph they make: each edge's latency, dropout and ends (declared
//! nodes, not a self-loop, nothing into the generator), one out edge per node
//! except the load balancer, and reachability: generator → client → (load
//! balancer →) servers → client.

use std::collections::{HashMap, HashSet};

use super::random_variable::MeanRule;
use super::{EDGES, NodeKind, SERVERS, Validator, fmt_num};
use crate::scenario::diagnostic::Diagnostic;
use crate::scenario::parse::did_you_mean;
use crate::scenario::schema::{CLIENT_PATH, LB_PATH, StepOperation};

impl Validator<'_> {
    pub(super) fn edges(&mut self) {
        let nodes = self.nodes();
        let gen_ids: HashSet<&str> = self.m.generators().iter().map(|g| g.id.as_str()).collect();
        // With service calls a server has edges to its callees and back to
        // each caller; with several clients, back to each client it serves.
        let calls = StepOperation::any_call(self.m);
        let clients = self.m.topology_graph.nodes.all_clients().count();
        let fans_out = |id: &str| match nodes.get(id) {
            Some(NodeKind::LoadBalancer) => true,
            Some(NodeKind::Server) => calls || clients > 1,
            _ => false,
        };
        let mut out_count: HashMap<&str, usize> = HashMap::new();
        for (i, e) in self.m.topology_graph.edges.iter().enumerate() {
            let p = format!("{EDGES}[{i}]");
            self.rv(&format!("{p}.latency"), &e.latency, MeanRule::Positive);
            if !(e.dropout_rate.is_finite() && (0.0..=1.0).contains(&e.dropout_rate)) {
                self.err(
                    format!("{p}.dropout_rate"),
                    "a probability in [0, 1]",
                    fmt_num(e.dropout_rate),
                );
            }
            if e.source == e.target {
                self.err(
                    format!("{p}.target"),
                    "a target different from the source",
                    format!("`{}` twice", e.target),
                );
                continue;
            }
            if gen_ids.contains(e.target.as_str()) {
                self.err(
                    format!("{p}.target"),
                    "a declared node (client, server or load balancer)",
                    format!(
                        "`{}`, the generator: it only sends, it never receives",
                        e.target
                    ),
                );
            } else if !nodes.contains_key(e.target.as_str()) {
                let mut d = Diagnostic::new(
                    format!("{p}.target"),
                    "the id of a declared node",
                    format!("`{}`", e.target),
                );
                if let Some(best) = did_you_mean(&e.target, nodes.keys().copied()) {
                    d = d.with_hint(format!("did you mean `{best}`?"));
                }
                self.push(d);
            }
            if !nodes.contains_key(e.source.as_str()) && !gen_ids.contains(e.source.as_str()) {
                let candidates = nodes.keys().copied().chain(gen_ids.iter().copied());
                let mut d = Diagnostic::new(
                    format!("{p}.source"),
                    "a declared node or the generator id",
                    format!("`{}`", e.source),
                );
                if let Some(best) = did_you_mean(&e.source, candidates) {
                    d = d.with_hint(format!("did you mean `{best}`?"));
                }
                self.push(d);
                continue;
            }
            let n = out_count.entry(e.source.as_str()).or_insert(0);
            *n += 1;
            if *n == 2 && !fans_out(e.source.as_str()) {
                self.push(
                    Diagnostic::new(
                        format!("{p}.source"),
                        format!(
                            "at most one edge leaving `{}` (only load balancers fan out)",
                            e.source
                        ),
                        "a second outgoing edge".to_string(),
                    )
                    .with_hint("put a load balancer in front of the targets"),
                );
            }
        }
    }

    /// Follow a request: generator → its client → (load balancers, any
    /// number of tiers →) servers → that client. Only hops whose edges are
    /// otherwise valid are judged, so a bad edge is reported once.
    pub(super) fn reachability(&mut self) {
        let m = self.m;
        let nodes = self.nodes();
        let n = &m.topology_graph.nodes;
        let clients: Vec<&str> = n.all_clients().map(|(_, c)| c.id.as_str()).collect();
        if clients.is_empty() {
            self.push(
                Diagnostic::new(CLIENT_PATH, "a client", "none")
                    .with_hint("declare `client: { id: ... }` (or a `clients` list)"),
            );
            return;
        }
        let lb_paths: HashMap<&str, String> = n
            .all_load_balancers()
            .map(|(p, l)| (l.id.as_str(), p))
            .collect();
        let edges = &m.topology_graph.edges;
        let calls = StepOperation::any_call(m);
        // Valid out edges of every source, in declaration order (one pass, so
        // a topology of thousands of servers is checked in linear time).
        let mut valid_out: HashMap<&str, Vec<(usize, &str)>> = HashMap::new();
        let mut any_out: HashSet<&str> = HashSet::new();
        for (i, e) in edges.iter().enumerate() {
            any_out.insert(e.source.as_str());
            if e.source != e.target && nodes.contains_key(e.target.as_str()) {
                valid_out
                    .entry(e.source.as_str())
                    .or_default()
                    .push((i, e.target.as_str()));
            }
        }
        let out_of =
            |id: &str| -> Vec<(usize, &str)> { valid_out.get(id).cloned().unwrap_or_default() };
        // Edges already reported as broken (undeclared or self targets) do not
        // count as missing hops a second time.
        let has_broken_out = |id: &str| any_out.contains(id);
        let mut fed: Vec<&str> = Vec::new();
        for (gi, g) in m.generators().iter().enumerate() {
            let gp = m.generator_path(gi);
            let gen_id = g.id.as_str();
            let client = match &g.target {
                Some(t) if clients.contains(&t.as_str()) => t.as_str(),
                Some(t) => {
                    let mut d = Diagnostic::new(
                        format!("{gp}.target"),
                        "the id of a declared client",
                        format!("`{t}`"),
                    );
                    if let Some(best) = did_you_mean(t, clients.iter().copied()) {
                        d = d.with_hint(format!("did you mean `{best}`?"));
                    }
                    self.push(d);
                    continue;
                }
                None if clients.len() == 1 => clients[0],
                None => {
                    self.push(
                        Diagnostic::new(
                            format!("{gp}.target"),
                            "the client this generator's requests enter through",
                            format!("no `target`, and {} clients are declared", clients.len()),
                        )
                        .with_hint(format!("add `target: {}` (or another client)", clients[0])),
                    );
                    continue;
                }
            };
            let from_gen = out_of(gen_id);
            let feeds_client = from_gen.iter().any(|(_, t)| *t == client);
            let already_reported = from_gen.is_empty() && has_broken_out(gen_id);
            if !feeds_client && !already_reported {
                let found = match from_gen.first() {
                    Some((i, t)) => format!("edges[{i}] goes from the generator to `{t}`"),
                    None => "no edge leaves the generator".to_string(),
                };
                self.push(
                    Diagnostic::new(
                        EDGES,
                        format!("an edge from the generator `{gen_id}` to the client `{client}`"),
                        found,
                    )
                    .with_hint("generated requests enter through the client"),
                );
            }
            if !fed.contains(&client) {
                fed.push(client);
            }
        }
        for client in fed {
            let from_client = out_of(client);
            let Some(&(_, first_hop)) = from_client.first() else {
                if !has_broken_out(client) {
                    self.push(Diagnostic::new(
                        EDGES,
                        format!(
                            "one edge leaving the client `{client}` (to a server or a load balancer)"
                        ),
                        "none: requests would stop at the client",
                    ));
                }
                continue;
            };
            // Walk the load-balancer tiers below the first hop (each once).
            let mut servers: Vec<(&str, String)> = Vec::new();
            let mut todo: Vec<(&str, String)> =
                vec![(first_hop, format!("{client} → {first_hop}"))];
            let mut seen: HashSet<&str> = HashSet::new();
            while let Some((id, route)) = todo.pop() {
                if !seen.insert(id) {
                    continue;
                }
                match nodes.get(id) {
                    Some(NodeKind::Server) => servers.push((id, route)),
                    Some(NodeKind::LoadBalancer) => {
                        let outs = out_of(id);
                        if outs.is_empty() {
                            self.err(
                                lb_paths
                                    .get(id)
                                    .cloned()
                                    .unwrap_or_else(|| LB_PATH.to_owned()),
                                format!(
                                    "at least one edge from the load balancer `{id}` to a server"
                                ),
                                "none: requests would stop at the load balancer",
                            );
                        }
                        for (_, t) in outs.into_iter().rev() {
                            todo.push((t, format!("{route} → {t}")));
                        }
                    }
                    _ => {}
                }
            }
            servers.sort_by_key(|(sid, _)| n.servers.iter().position(|s| s.id == *sid));
            for (sid, route) in servers {
                self.answers_client(
                    sid,
                    client,
                    &route,
                    &out_of(sid),
                    calls || clients.len() > 1,
                );
            }
        }
    }

    /// A server reached from `client` must answer it: an edge back, and
    /// (without calls or other clients) that edge only.
    fn answers_client(
        &mut self,
        sid: &str,
        client: &str,
        route: &str,
        outs: &[(usize, &str)],
        fans_out: bool,
    ) {
        let m = self.m;
        let Some(&(i, target)) = outs.first() else {
            let idx = m
                .topology_graph
                .nodes
                .servers
                .iter()
                .position(|s| s.id == sid)
                .unwrap_or(0);
            self.push(
                Diagnostic::new(
                    format!("{SERVERS}[{idx}]"),
                    format!("one edge from `{sid}` back to the client `{client}`"),
                    format!("none: requests reaching `{sid}` (via {route}) could not return"),
                )
                .with_hint(format!(
                    "add an edge with source `{sid}` and target `{client}`"
                )),
            );
            return;
        };
        if fans_out {
            if !outs.iter().any(|&(_, t)| t == client) {
                self.push(
                    Diagnostic::new(
                        format!("{EDGES}[{i}].target"),
                        format!("an edge from `{sid}` to the client `{client}` (its replies to root requests)"),
                        format!("only edges to other nodes (on the route {route})"),
                    )
                    .with_hint(format!("add an edge with source `{sid}` and target `{client}`")),
                );
            }
        } else if outs.len() == 1 && target != client {
            self.push(
                Diagnostic::new(
                    format!("{EDGES}[{i}].target"),
                    format!("the client `{client}`: a server answers the client"),
                    format!("`{target}` (hop {sid} → {target}, on the route {route})"),
                )
                .with_hint("a server sends elsewhere only through `call` steps"),
            );
        }
    }
}
