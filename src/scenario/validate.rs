//! The rules of `docs/scenario.md`, checked on a parsed (and normalised) model.
//!
//! Every rule adds its own [`Diagnostic`] and checking goes on, so one pass
//! reports every problem. Rules that depend on others (reachability needs valid
//! edge ends; "every server down" needs well-formed outage windows) skip the
//! parts that already failed, so one mistake gives one diagnostic.

use std::collections::{HashMap, HashSet};

use super::diagnostic::Diagnostic;
use super::parse::did_you_mean;
use super::rv::Sampler;
use super::schema::{
    Distribution, EventKind, RvConfig, ScenarioFile, Server, StepFamily, StepValue,
};

/// Tolerance on the sum of endpoint probabilities.
const PROBABILITY_SUM_TOLERANCE: f64 = 1e-9;

/// Check every rule; an empty list means the model is valid.
pub fn validate(m: &ScenarioFile) -> Vec<Diagnostic> {
    let mut v = Validator { m, out: Vec::new() };
    v.generator();
    v.node_tags();
    v.unique_ids();
    for (i, s) in m.topology_graph.nodes.servers.iter().enumerate() {
        v.server(i, s);
    }
    v.load_balancer();
    v.edges();
    v.reachability();
    v.settings();
    v.events();
    v.out
}

/// Lower-case endpoint names (the only normalisation the format defines).
pub fn normalise(m: &mut ScenarioFile) {
    for s in &mut m.topology_graph.nodes.servers {
        for e in &mut s.endpoints {
            e.endpoint_name = e.endpoint_name.to_lowercase();
        }
    }
}

/// Lower bound a mean must respect.
#[derive(Clone, Copy)]
enum MeanRule {
    NonNegative,
    Positive,
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

struct Validator<'a> {
    m: &'a ScenarioFile,
    out: Vec<Diagnostic>,
}

fn fmt_num(x: f64) -> String {
    format!("{x}")
}

const SERVERS: &str = "topology_graph.nodes.servers";
const LB: &str = "topology_graph.nodes.load_balancer";
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

    /// Declared nodes by id (first declaration wins; duplicates are reported apart).
    fn nodes(&self) -> HashMap<&'a str, NodeKind> {
        let n = &self.m.topology_graph.nodes;
        let mut map = HashMap::new();
        map.entry(n.client.id.as_str()).or_insert(NodeKind::Client);
        for s in &n.servers {
            map.entry(s.id.as_str()).or_insert(NodeKind::Server);
        }
        if let Some(lb) = &n.load_balancer {
            map.entry(lb.id.as_str()).or_insert(NodeKind::LoadBalancer);
        }
        map
    }

    /// Mean, variance and sampler checks shared by every random variable.
    /// Returns whether the variable is usable.
    fn rv(&mut self, path: &str, rv: &RvConfig, rule: MeanRule) -> bool {
        let mut ok = true;
        let mean_ok = match rule {
            MeanRule::NonNegative => rv.mean.is_finite() && rv.mean >= 0.0,
            MeanRule::Positive => rv.mean.is_finite() && rv.mean > 0.0,
        };
        if !mean_ok {
            let expected = match rule {
                MeanRule::NonNegative => "a finite mean >= 0",
                MeanRule::Positive => "a finite mean > 0",
            };
            self.err(format!("{path}.mean"), expected, fmt_num(rv.mean));
            ok = false;
        }
        if let Some(var) = rv.variance
            && !(var.is_finite() && var >= 0.0)
        {
            self.err(
                format!("{path}.variance"),
                "a finite variance >= 0",
                fmt_num(var),
            );
            ok = false;
        }
        if ok && let Err(e) = Sampler::new(rv) {
            self.push(
                Diagnostic::new(path, "parameters the distribution accepts", e.to_string())
                    .with_hint("lower the mean or pick another distribution"),
            );
            ok = false;
        }
        ok
    }

    fn generator(&mut self) {
        let g = &self.m.rqs_input;
        let users = &g.avg_active_users;
        if !matches!(
            users.distribution,
            Distribution::Poisson | Distribution::Normal
        ) {
            self.err(
                "rqs_input.avg_active_users.distribution",
                "`poisson` or `normal`",
                format!("`{}`", users.distribution.as_str()),
            );
        }
        self.rv("rqs_input.avg_active_users", users, MeanRule::NonNegative);
        let rpm = &g.avg_request_per_minute_per_user;
        if rpm.distribution != Distribution::Poisson {
            self.err(
                "rqs_input.avg_request_per_minute_per_user.distribution",
                "`poisson` (its mean is the per-user rate)",
                format!("`{}`", rpm.distribution.as_str()),
            );
        }
        self.rv(
            "rqs_input.avg_request_per_minute_per_user",
            rpm,
            MeanRule::Positive,
        );
        if !(1..=120).contains(&g.user_sampling_window) {
            self.err(
                "rqs_input.user_sampling_window",
                "whole seconds in [1, 120]",
                g.user_sampling_window.to_string(),
            );
        }
    }

    fn node_tags(&mut self) {
        let n = &self.m.topology_graph.nodes;
        let mut tags: Vec<(String, &Option<String>, &str)> = vec![
            (
                "rqs_input.type".into(),
                &self.m.rqs_input.node_type,
                "generator",
            ),
            (
                "topology_graph.nodes.client.type".into(),
                &n.client.node_type,
                "client",
            ),
        ];
        for (i, s) in n.servers.iter().enumerate() {
            tags.push((format!("{SERVERS}[{i}].type"), &s.node_type, "server"));
        }
        if let Some(lb) = &n.load_balancer {
            tags.push((format!("{LB}.type"), &lb.node_type, "load_balancer"));
        }
        for (path, tag, want) in tags {
            if let Some(t) = tag
                && t != want
            {
                self.err(
                    path,
                    format!("`{want}` (or no `type` key)"),
                    format!("`{t}`"),
                );
            }
        }
    }

    fn unique_ids(&mut self) {
        let n = &self.m.topology_graph.nodes;
        let mut ids: Vec<(String, &str)> = vec![
            ("rqs_input.id".into(), self.m.rqs_input.id.as_str()),
            (
                "topology_graph.nodes.client.id".into(),
                n.client.id.as_str(),
            ),
        ];
        for (i, s) in n.servers.iter().enumerate() {
            ids.push((format!("{SERVERS}[{i}].id"), &s.id));
        }
        if let Some(lb) = &n.load_balancer {
            ids.push((format!("{LB}.id"), &lb.id));
        }
        for (i, e) in self.m.topology_graph.edges.iter().enumerate() {
            ids.push((format!("{EDGES}[{i}].id"), &e.id));
        }
        let mut seen: HashMap<&str, String> = HashMap::new();
        for (path, id) in ids {
            if id.trim().is_empty() {
                self.err(path, "a non-empty id", "an empty string");
            } else if let Some(first) = seen.get(id) {
                self.err(
                    path,
                    "an id unique across all nodes and edges",
                    format!("`{id}`, already used at {first}"),
                );
            } else {
                seen.insert(id, path);
            }
        }
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, ev) in self.m.events.iter().enumerate() {
            if let Some(first) = seen.get(ev.event_id.as_str()) {
                self.err(
                    format!("events[{i}].event_id"),
                    "an event id unique among events",
                    format!("`{}`, already used by events[{first}]", ev.event_id),
                );
            } else {
                seen.insert(&ev.event_id, i);
            }
        }
    }

    fn server(&mut self, i: usize, s: &Server) {
        let p = format!("{SERVERS}[{i}]");
        let r = &s.server_resources;
        if r.cpu_cores < 1 {
            self.err(
                format!("{p}.server_resources.cpu_cores"),
                "an integer >= 1",
                r.cpu_cores.to_string(),
            );
        }
        if r.ram_mb < 256 {
            self.err(
                format!("{p}.server_resources.ram_mb"),
                "an integer >= 256 (MB)",
                r.ram_mb.to_string(),
            );
        }
        if let Some(pool) = r.db_connection_pool
            && pool < 1
        {
            self.err(
                format!("{p}.server_resources.db_connection_pool"),
                "an integer >= 1",
                pool.to_string(),
            );
        }
        if s.endpoints.is_empty() {
            self.err(
                format!("{p}.endpoints"),
                "at least one endpoint",
                "an empty list",
            );
            return;
        }
        let mut names: HashMap<&str, usize> = HashMap::new();
        for (j, ep) in s.endpoints.iter().enumerate() {
            let ep_path = format!("{p}.endpoints[{j}]");
            if let Some(first) = names.get(ep.endpoint_name.as_str()) {
                self.push(
                    Diagnostic::new(
                        format!("{ep_path}.endpoint_name"),
                        "endpoint names unique within a server (compared lower-cased)",
                        format!(
                            "`{}`, also the name of endpoints[{first}]",
                            ep.endpoint_name
                        ),
                    )
                    .with_hint("names are lower-cased on load, so `/API` and `/api` clash"),
                );
            } else {
                names.insert(&ep.endpoint_name, j);
            }
            if ep.steps.is_empty() {
                self.err(
                    format!("{ep_path}.steps"),
                    "at least one step",
                    "an empty list",
                );
            }
            let mut ram_sum = 0.0;
            let mut ram_random = false;
            let mut ram_ok = true;
            for (k, step) in ep.steps.iter().enumerate() {
                let sp = format!("{ep_path}.steps[{k}].step_operation");
                let entries = step.step_operation.entries();
                let family = step.kind.family();
                let keys: Vec<&str> = entries.iter().map(|(f, _)| f.key()).collect();
                if entries.len() != 1 {
                    let found = if keys.is_empty() {
                        "no key".to_string()
                    } else {
                        format!("{} keys: {}", keys.len(), keys.join(", "))
                    };
                    self.err(
                        sp.clone(),
                        format!("exactly one key, `{}`", family.key()),
                        found,
                    );
                    ram_ok = false;
                    continue;
                }
                let (got, value) = entries[0];
                if got != family {
                    self.push(
                        Diagnostic::new(
                            format!("{sp}.{}", got.key()),
                            format!(
                                "`{}` (kind `{}` takes it)",
                                family.key(),
                                step.kind.as_str()
                            ),
                            format!("`{}`", got.key()),
                        )
                        .with_hint(format!(
                            "rename the key to `{}` or change `kind`",
                            family.key()
                        )),
                    );
                    ram_ok = false;
                    continue;
                }
                let vp = format!("{sp}.{}", got.key());
                let good = match value {
                    StepValue::Fixed(x) => {
                        let good = x.is_finite() && *x > 0.0;
                        if !good {
                            self.err(vp, "a finite number > 0", fmt_num(*x));
                        }
                        good
                    }
                    StepValue::Random(rv) => self.rv(&vp, rv, MeanRule::Positive),
                };
                if got == StepFamily::Ram {
                    ram_ok &= good;
                    ram_sum += value.mean();
                    ram_random |= matches!(value, StepValue::Random(_));
                }
            }
            if ram_ok && ram_sum > r.ram_mb as f64 && r.ram_mb >= 256 {
                let what = if ram_random {
                    " (RV steps count their mean)"
                } else {
                    ""
                };
                self.push(
                    Diagnostic::new(
                        ep_path,
                        format!(
                            "the endpoint's RAM to fit in the server's ram_mb ({} MB)",
                            r.ram_mb
                        ),
                        format!("{} MB of `necessary_ram` in total{what}", fmt_num(ram_sum)),
                    )
                    .with_hint(
                        "a request that can never reserve its RAM would wait forever; raise ram_mb",
                    ),
                );
            }
        }
        self.probabilities(&p, s);
    }

    fn probabilities(&mut self, p: &str, s: &Server) {
        let given = s
            .endpoints
            .iter()
            .filter(|e| e.probability.is_some())
            .count();
        if given == 0 {
            return;
        }
        if given != s.endpoints.len() {
            if let Some(j) = s.endpoints.iter().position(|e| e.probability.is_none()) {
                self.err(
                    format!("{p}.endpoints[{j}].probability"),
                    "a probability on every endpoint of the server, or on none",
                    format!(
                        "{given} of {} endpoints have one; this one does not",
                        s.endpoints.len()
                    ),
                );
            }
            return;
        }
        let mut ok = true;
        let mut sum = 0.0;
        for (j, e) in s.endpoints.iter().enumerate() {
            let x = e.probability.unwrap_or(0.0);
            if !(x.is_finite() && x >= 0.0) {
                self.err(
                    format!("{p}.endpoints[{j}].probability"),
                    "a finite number >= 0",
                    fmt_num(x),
                );
                ok = false;
            }
            sum += x;
        }
        if ok && (sum - 1.0).abs() > PROBABILITY_SUM_TOLERANCE {
            self.err(
                format!("{p}.endpoints"),
                "endpoint probabilities summing to 1",
                format!("they sum to {}", fmt_num(sum)),
            );
        }
    }

    fn load_balancer(&mut self) {
        let Some(lb) = &self.m.topology_graph.nodes.load_balancer else {
            return;
        };
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
            let path = format!("{LB}.server_covered[{i}]");
            if !seen.insert(sid.as_str()) {
                self.err(path, "each server once (a set)", format!("`{sid}` again"));
                continue;
            }
            if nodes.get(sid.as_str()) != Some(&NodeKind::Server) {
                let servers = self
                    .m
                    .topology_graph
                    .nodes
                    .servers
                    .iter()
                    .map(|s| s.id.as_str());
                let mut d =
                    Diagnostic::new(path, "the id of a declared server", format!("`{sid}`"));
                if let Some(best) = did_you_mean(sid, servers) {
                    d = d.with_hint(format!("did you mean `{best}`?"));
                }
                self.push(d);
                continue;
            }
            let has_edge = lb_targets.contains(sid.as_str());
            if !has_edge {
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
                        "a server listed in the load balancer's `server_covered`",
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

    fn edges(&mut self) {
        let nodes = self.nodes();
        let gen_id = self.m.rqs_input.id.as_str();
        let lb_id = self
            .m
            .topology_graph
            .nodes
            .load_balancer
            .as_ref()
            .map(|l| l.id.as_str());
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
            if e.target == gen_id {
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
            if !nodes.contains_key(e.source.as_str()) && e.source != gen_id {
                let candidates = nodes.keys().copied().chain([gen_id]);
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
            if *n == 2 && Some(e.source.as_str()) != lb_id {
                self.push(
                    Diagnostic::new(
                        format!("{p}.source"),
                        format!(
                            "at most one edge leaving `{}` (only the load balancer fans out)",
                            e.source
                        ),
                        "a second outgoing edge".to_string(),
                    )
                    .with_hint("put a load balancer in front of the targets"),
                );
            }
        }
    }

    /// Follow a request: generator → client → (LB →) servers → client. Only hops
    /// whose edges are otherwise valid are judged, so a bad edge is reported once.
    fn reachability(&mut self) {
        let m = self.m;
        let nodes = self.nodes();
        let gen_id = m.rqs_input.id.as_str();
        let client = m.topology_graph.nodes.client.id.as_str();
        let edges = &m.topology_graph.edges;
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
        let from_client = out_of(client);
        let Some(&(_, first_hop)) = from_client.first() else {
            if has_broken_out(client) {
                return;
            }
            self.push(Diagnostic::new(
                EDGES,
                format!(
                    "one edge leaving the client `{client}` (to a server or the load balancer)"
                ),
                "none: requests would stop at the client",
            ));
            return;
        };
        let mut servers: Vec<(&str, String)> = Vec::new();
        match nodes.get(first_hop) {
            Some(NodeKind::Server) => servers.push((first_hop, format!("{client} → {first_hop}"))),
            Some(NodeKind::LoadBalancer) => {
                let outs = out_of(first_hop);
                if outs.is_empty() {
                    self.err(
                        LB,
                        format!(
                            "at least one edge from the load balancer `{first_hop}` to a server"
                        ),
                        "none: requests would stop at the load balancer",
                    );
                }
                for (_, t) in outs {
                    if nodes.get(t) == Some(&NodeKind::Server) {
                        servers.push((t, format!("{client} → {first_hop} → {t}")));
                    }
                }
            }
            _ => {}
        }
        for (sid, route) in servers {
            let outs = out_of(sid);
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
                continue;
            };
            if outs.len() == 1 && target != client {
                self.push(
                    Diagnostic::new(
                        format!("{EDGES}[{i}].target"),
                        format!("the client `{client}`: a server answers the client"),
                        format!("`{target}` (hop {sid} → {target}, on the route {route})"),
                    )
                    .with_hint("service-to-service calls are a later milestone"),
                );
            }
        }
    }

    fn settings(&mut self) {
        let s = &self.m.sim_settings;
        if s.total_simulation_time < 5 {
            self.err(
                "sim_settings.total_simulation_time",
                "whole seconds >= 5",
                s.total_simulation_time.to_string(),
            );
        }
        if !(s.sample_period_s.is_finite() && (0.001..=0.1).contains(&s.sample_period_s)) {
            self.err(
                "sim_settings.sample_period_s",
                "seconds in [0.001, 0.1]",
                fmt_num(s.sample_period_s),
            );
        }
        if s.max_in_flight < 1 {
            self.err(
                "sim_settings.max_in_flight",
                "a whole number of requests >= 1",
                s.max_in_flight.to_string(),
            );
        }
        let mut seen = HashSet::new();
        for (i, m) in s.enabled_sample_metrics.iter().enumerate() {
            if !seen.insert(*m) {
                self.err(
                    format!("sim_settings.enabled_sample_metrics[{i}]"),
                    "each metric once",
                    format!("`{}` again", m.as_str()),
                );
            }
        }
        let mut seen = HashSet::new();
        for (i, m) in s.enabled_event_metrics.iter().enumerate() {
            if !seen.insert(*m) {
                self.err(
                    format!("sim_settings.enabled_event_metrics[{i}]"),
                    "each metric once",
                    format!("`{m:?}` again"),
                );
            }
        }
    }

    fn events(&mut self) {
        let nodes = self.nodes();
        let edge_ids: HashSet<&str> = self
            .m
            .topology_graph
            .edges
            .iter()
            .map(|e| e.id.as_str())
            .collect();
        let horizon = self.m.sim_settings.total_simulation_time as f64;
        // Well-formed outages, for the overlap and all-down rules: (server, start, end, event).
        let mut outages: Vec<(&str, f64, f64, usize)> = Vec::new();
        for (i, ev) in self.m.events.iter().enumerate() {
            let p = format!("events[{i}]");
            let (want_end, want_target) = match ev.start.kind {
                EventKind::ServerDown => (EventKind::ServerUp, "server"),
                EventKind::NetworkSpikeStart => (EventKind::NetworkSpikeEnd, "edge"),
                k => {
                    self.err(
                        format!("{p}.start.kind"),
                        "`server_down` or `network_spike_start`",
                        format!("`{}`, which ends a window", k.as_str()),
                    );
                    continue;
                }
            };
            let mut ok = true;
            if ev.end.kind != want_end {
                self.err(
                    format!("{p}.end.kind"),
                    format!(
                        "`{}` (it pairs with `{}`)",
                        want_end.as_str(),
                        ev.start.kind.as_str()
                    ),
                    format!("`{}`", ev.end.kind.as_str()),
                );
                ok = false;
            }
            let target_ok = match want_target {
                "server" => nodes.get(ev.target_id.as_str()) == Some(&NodeKind::Server),
                _ => edge_ids.contains(ev.target_id.as_str()),
            };
            if !target_ok {
                let found = match nodes.get(ev.target_id.as_str()) {
                    Some(k) => format!("`{}`, a {}", ev.target_id, k.as_str()),
                    None if edge_ids.contains(ev.target_id.as_str()) => {
                        format!("`{}`, an edge", ev.target_id)
                    }
                    None => format!("`{}`, which is not declared", ev.target_id),
                };
                let mut d = Diagnostic::new(
                    format!("{p}.target_id"),
                    format!(
                        "the id of a {want_target} (`{}` targets one)",
                        ev.start.kind.as_str()
                    ),
                    found,
                );
                let candidates: Vec<&str> = if want_target == "server" {
                    self.m
                        .topology_graph
                        .nodes
                        .servers
                        .iter()
                        .map(|s| s.id.as_str())
                        .collect()
                } else {
                    edge_ids.iter().copied().collect()
                };
                if let Some(best) = did_you_mean(&ev.target_id, candidates) {
                    d = d.with_hint(format!("did you mean `{best}`?"));
                }
                self.push(d);
                ok = false;
            }
            match (want_target, ev.start.spike_s) {
                ("server", Some(x)) => {
                    self.err(
                        format!("{p}.start.spike_s"),
                        "no `spike_s` on a server event",
                        fmt_num(x),
                    );
                    ok = false;
                }
                ("edge", None) => {
                    self.err(
                        format!("{p}.start.spike_s"),
                        "`spike_s` > 0 (seconds added to latency)",
                        "nothing",
                    );
                    ok = false;
                }
                ("edge", Some(x)) if !(x.is_finite() && x > 0.0) => {
                    self.err(
                        format!("{p}.start.spike_s"),
                        "a finite number of seconds > 0",
                        fmt_num(x),
                    );
                    ok = false;
                }
                _ => {}
            }
            let (t0, t1) = (ev.start.t_start, ev.end.t_end);
            if !(t0.is_finite() && t0 >= 0.0) {
                self.err(format!("{p}.start.t_start"), "a time >= 0", fmt_num(t0));
                ok = false;
            }
            if !(t1.is_finite() && t1 <= horizon) {
                self.err(
                    format!("{p}.end.t_end"),
                    format!("a time <= total_simulation_time ({horizon})"),
                    fmt_num(t1),
                );
                ok = false;
            } else if t0.is_finite() && t0 >= t1 {
                self.err(
                    format!("{p}.end.t_end"),
                    format!("a time after t_start ({})", fmt_num(t0)),
                    fmt_num(t1),
                );
                ok = false;
            }
            if ok && want_target == "server" {
                outages.push((ev.target_id.as_str(), t0, t1, i));
            }
        }
        self.outage_overlaps(&mut outages);
        self.all_servers_down(&outages);
    }

    fn outage_overlaps(&mut self, outages: &mut [(&str, f64, f64, usize)]) {
        outages.sort_by(|a, b| a.0.cmp(b.0).then(a.1.total_cmp(&b.1)));
        for w in outages.windows(2) {
            let (prev, next) = (w[0], w[1]);
            if prev.0 == next.0 && next.1 < prev.2 {
                self.push(
                    Diagnostic::new(
                        format!("events[{}].start.t_start", next.3),
                        format!(
                            "an outage of `{}` starting at or after {} (events[{}] ends then)",
                            next.0,
                            fmt_num(prev.2),
                            prev.3
                        ),
                        fmt_num(next.1),
                    )
                    .with_hint("outages of one server may touch but not overlap"),
                );
            }
        }
    }

    fn all_servers_down(&mut self, outages: &[(&str, f64, f64, usize)]) {
        let servers: HashSet<&str> = self
            .m
            .topology_graph
            .nodes
            .servers
            .iter()
            .map(|s| s.id.as_str())
            .collect();
        if servers.is_empty() || outages.is_empty() {
            return;
        }
        // Sweep over window ends and starts; at equal times ends come first, so
        // back-to-back windows [a, b) and [b, c) never count as simultaneous.
        let mut marks: Vec<(f64, bool, &str, usize)> = Vec::new();
        for &(sid, t0, t1, i) in outages {
            marks.push((t0, true, sid, i));
            marks.push((t1, false, sid, i));
        }
        marks.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut down: HashMap<&str, usize> = HashMap::new();
        let mut reported = false;
        for (t, is_start, sid, i) in marks {
            let n = down.entry(sid).or_insert(0);
            if is_start {
                *n += 1;
            } else {
                *n = n.saturating_sub(1);
            }
            let all_down = servers
                .iter()
                .all(|s| down.get(s).copied().unwrap_or(0) > 0);
            if is_start && all_down && !reported {
                self.push(
                    Diagnostic::new(
                        format!("events[{i}]"),
                        "at least one server up at every instant",
                        format!("every server is down from t = {}", fmt_num(t)),
                    )
                    .with_hint("shift this outage so another server is up meanwhile"),
                );
                reported = true;
            } else if !all_down {
                reported = false;
            }
        }
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
