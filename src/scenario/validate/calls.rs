//! `call` and `parallel` steps: what each names (a declared server or load
//! balancer, an endpoint it has), the edges a call and its reply need
//! (caller → callee; callee → caller, or every covered server → caller behind
//! a load balancer), timeouts, join rules, and the call graph: an endpoint
//! that can reach itself through calls would recurse without bound.

use std::collections::HashMap;

use super::{NodeKind, SERVERS, Validator, fmt_num};
use crate::scenario::diagnostic::Diagnostic;
use crate::scenario::parse::did_you_mean;
use crate::scenario::schema::{Join, StepKind};

/// Most calls in one `parallel` step (a wait tracks them in one 64-bit word).
pub const MAX_PARALLEL_CALLS: usize = 64;

/// Calls from (server, endpoint) to (server, endpoint), with the YAML path
/// of each call.
type CallGraph = HashMap<(usize, usize), Vec<((usize, usize), String)>>;

/// One call as written: YAML path of its `step_operation` entry, caller,
/// service, endpoint, timeout.
struct CallRef<'a> {
    path: String,
    caller: &'a str,
    service: &'a str,
    endpoint: Option<&'a str>,
    timeout: Option<f64>,
}

impl<'a> Validator<'a> {
    pub(super) fn calls(&mut self) {
        let m = self.m;
        let nodes = self.nodes();
        let mut edge_set: HashMap<(&str, &str), ()> = HashMap::new();
        for e in &m.topology_graph.edges {
            edge_set.insert((e.source.as_str(), e.target.as_str()), ());
        }
        let has_edge = |a: &str, b: &str| edge_set.contains_key(&(a, b));
        let servers: HashMap<&str, usize> = m
            .topology_graph
            .nodes
            .servers
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.as_str(), i))
            .collect();
        let covered: HashMap<&str, &[String]> = m
            .topology_graph
            .nodes
            .all_load_balancers()
            .map(|(_, l)| (l.id.as_str(), l.server_covered.as_slice()))
            .collect();
        // Servers behind a callee: itself, or what its load balancer covers,
        // through every tier below it (each tier once).
        let behind = |id: &'a str| -> Vec<&'a str> {
            let mut out = Vec::new();
            let mut todo = vec![id];
            let mut seen = std::collections::HashSet::new();
            while let Some(x) = todo.pop() {
                if !seen.insert(x) {
                    continue;
                }
                match nodes.get(x) {
                    Some(NodeKind::Server) => out.push(x),
                    Some(NodeKind::LoadBalancer) => {
                        if let Some(c) = covered.get(x) {
                            todo.extend(c.iter().rev().map(String::as_str));
                        }
                    }
                    _ => {}
                }
            }
            out
        };
        // Call graph over (server, endpoint index).
        let mut graph: CallGraph = HashMap::new();

        for (i, s) in m.topology_graph.nodes.servers.iter().enumerate() {
            for (j, ep) in s.endpoints.iter().enumerate() {
                for (k, step) in ep.steps.iter().enumerate() {
                    let sp = format!("{SERVERS}[{i}].endpoints[{j}].steps[{k}].step_operation");
                    let refs = self.call_refs(&sp, &s.id, step);
                    for c in refs {
                        let Some(kind) = nodes.get(c.service).copied() else {
                            let mut d = Diagnostic::new(
                                format!("{}.service", c.path),
                                "the id of a declared server or load balancer",
                                format!("`{}`", c.service),
                            );
                            let candidates = nodes
                                .iter()
                                .filter(|(_, k)| **k != NodeKind::Client)
                                .map(|(id, _)| *id);
                            if let Some(best) = did_you_mean(c.service, candidates) {
                                d = d.with_hint(format!("did you mean `{best}`?"));
                            }
                            self.push(d);
                            continue;
                        };
                        if kind == NodeKind::Client {
                            self.err(
                                format!("{}.service", c.path),
                                "a server or load balancer",
                                format!("`{}`, the client", c.service),
                            );
                            continue;
                        }
                        if let Some(t) = c.timeout
                            && !(t.is_finite() && t > 0.0)
                        {
                            self.err(
                                format!("{}.timeout_s", c.path),
                                "a finite number of seconds > 0",
                                fmt_num(t),
                            );
                        }
                        if !has_edge(c.caller, c.service) {
                            self.push(
                                Diagnostic::new(
                                    format!("{}.service", c.path),
                                    format!(
                                        "an edge from `{}` to `{}` to send the call on",
                                        c.caller, c.service
                                    ),
                                    "no such edge",
                                )
                                .with_hint(format!(
                                    "add an edge with source `{}` and target `{}`",
                                    c.caller, c.service
                                )),
                            );
                        }
                        for target in behind(c.service) {
                            if !has_edge(target, c.caller) {
                                self.push(
                                    Diagnostic::new(
                                        format!("{}.service", c.path),
                                        format!("an edge from `{target}` back to `{}` for the reply", c.caller),
                                        "no such edge",
                                    )
                                    .with_hint(format!(
                                        "add an edge with source `{target}` and target `{}` (replies skip load balancers)",
                                        c.caller
                                    )),
                                );
                            }
                            let Some(&ti) = servers.get(target) else {
                                continue;
                            };
                            let callee = &m.topology_graph.nodes.servers[ti];
                            let ej = match c.endpoint {
                                None => Some(0),
                                Some(name) => callee
                                    .endpoints
                                    .iter()
                                    .position(|e| e.endpoint_name == name),
                            };
                            match ej {
                                Some(ej) if ej < callee.endpoints.len() => {
                                    graph
                                        .entry((i, j))
                                        .or_default()
                                        .push(((ti, ej), c.path.clone()));
                                }
                                _ => {
                                    let name = c.endpoint.unwrap_or("");
                                    let mut d = Diagnostic::new(
                                        format!("{}.endpoint", c.path),
                                        format!("an endpoint of `{target}`"),
                                        format!("`{name}`"),
                                    );
                                    if let Some(best) = did_you_mean(
                                        name,
                                        callee.endpoints.iter().map(|e| e.endpoint_name.as_str()),
                                    ) {
                                        d = d.with_hint(format!("did you mean `{best}`?"));
                                    }
                                    self.push(d);
                                }
                            }
                        }
                    }
                }
            }
        }
        self.call_cycles(&graph);
    }

    /// The calls of one step, after checking the step's own shape.
    fn call_refs(
        &mut self,
        sp: &str,
        caller: &'a str,
        step: &'a crate::scenario::schema::Step,
    ) -> Vec<CallRef<'a>> {
        let op = &step.step_operation;
        let value_key = op.entries().first().map(|(f, _)| f.key());
        match step.kind {
            StepKind::Call => {
                if let Some(key) = value_key {
                    self.err(
                        format!("{sp}.{key}"),
                        "`service` (and optionally `endpoint`, `timeout_s`)",
                        format!("`{key}`"),
                    );
                }
                for (key, on) in [("join", op.join.is_some()), ("calls", op.calls.is_some())] {
                    if on {
                        self.push(
                            Diagnostic::new(
                                format!("{sp}.{key}"),
                                "`service`, `endpoint`, `timeout_s` (kind `call`)",
                                format!("`{key}`"),
                            )
                            .with_hint("`join` and `calls` belong to `kind: parallel`"),
                        );
                    }
                }
                match &op.service {
                    Some(s) => vec![CallRef {
                        path: sp.to_owned(),
                        caller,
                        service: s,
                        endpoint: op.endpoint.as_deref(),
                        timeout: op.timeout_s,
                    }],
                    None => {
                        self.err(
                            sp.to_owned(),
                            "`service`: the node to call",
                            "no `service` key",
                        );
                        Vec::new()
                    }
                }
            }
            StepKind::Parallel => {
                if let Some(key) = value_key {
                    self.err(
                        format!("{sp}.{key}"),
                        "`calls` and `join`",
                        format!("`{key}`"),
                    );
                }
                for (key, on) in [
                    ("service", op.service.is_some()),
                    ("endpoint", op.endpoint.is_some()),
                    ("timeout_s", op.timeout_s.is_some()),
                ] {
                    if on {
                        self.push(
                            Diagnostic::new(
                                format!("{sp}.{key}"),
                                "`calls` and `join` (kind `parallel`)",
                                format!("`{key}`"),
                            )
                            .with_hint("each entry of `calls` has its own `service`, `endpoint`, `timeout_s`"),
                        );
                    }
                }
                let calls = op.calls.as_deref().unwrap_or_default();
                if calls.is_empty() {
                    self.err(
                        format!("{sp}.calls"),
                        "a list of at least one call `{ service, endpoint?, timeout_s? }`",
                        if op.calls.is_some() {
                            "an empty list"
                        } else {
                            "no `calls` key"
                        },
                    );
                } else if calls.len() > MAX_PARALLEL_CALLS {
                    self.err(
                        format!("{sp}.calls"),
                        format!("at most {MAX_PARALLEL_CALLS} calls"),
                        format!("{} calls", calls.len()),
                    );
                }
                if let Some(Join::Quorum(k)) = op.join
                    && !(k >= 1 && (k as usize) <= calls.len().max(1))
                {
                    self.err(
                        format!("{sp}.join.quorum"),
                        format!("an integer in [1, {}] (the number of calls)", calls.len()),
                        k.to_string(),
                    );
                }
                calls
                    .iter()
                    .enumerate()
                    .map(|(n, c)| CallRef {
                        path: format!("{sp}.calls[{n}]"),
                        caller,
                        service: &c.service,
                        endpoint: c.endpoint.as_deref(),
                        timeout: c.timeout_s,
                    })
                    .collect()
            }
            _ => Vec::new(),
        }
    }

    /// Report each call that closes a cycle in the call graph (depth-first
    /// search in declaration order, so the report is deterministic).
    fn call_cycles(&mut self, graph: &CallGraph) {
        let m = self.m;
        let name = |(s, e): (usize, usize)| {
            let srv = &m.topology_graph.nodes.servers[s];
            format!("{} {}", srv.id, srv.endpoints[e].endpoint_name)
        };
        let mut keys: Vec<(usize, usize)> = graph.keys().copied().collect();
        keys.sort_unstable();
        // 0 unvisited, 1 on the stack, 2 done.
        let mut state: HashMap<(usize, usize), u8> = HashMap::new();
        for start in keys {
            if state.get(&start).copied().unwrap_or(0) != 0 {
                continue;
            }
            let mut stack: Vec<((usize, usize), usize)> = vec![(start, 0)];
            state.insert(start, 1);
            while let Some(&mut (node, ref mut next)) = stack.last_mut() {
                let outs = graph.get(&node).map(Vec::as_slice).unwrap_or_default();
                if *next >= outs.len() {
                    state.insert(node, 2);
                    stack.pop();
                    continue;
                }
                let (to, path) = &outs[*next];
                *next += 1;
                match state.get(to).copied().unwrap_or(0) {
                    0 => {
                        state.insert(*to, 1);
                        stack.push((*to, 0));
                    }
                    1 => {
                        let from = stack.iter().position(|(n, _)| n == to).unwrap_or(0);
                        let mut cycle: Vec<String> =
                            stack[from..].iter().map(|(n, _)| name(*n)).collect();
                        cycle.push(name(*to));
                        self.push(
                            Diagnostic::new(
                                format!("{path}.service"),
                                "a call graph without cycles (an endpoint must not reach itself through calls)",
                                format!("the cycle {}", cycle.join(" → ")),
                            )
                            .with_hint("break the cycle: call a different endpoint or remove the call"),
                        );
                    }
                    _ => {}
                }
            }
        }
    }
}
