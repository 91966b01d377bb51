//! The load balancer: `server_covered` is a set of declared servers, each with
//! an edge from the load balancer, and every edge leaving the load balancer
//! goes to a covered server.

use std::collections::HashSet;

use super::{EDGES, LB, NodeKind, Validator};
use crate::scenario::diagnostic::Diagnostic;
use crate::scenario::parse::did_you_mean;

impl Validator<'_> {
    pub(super) fn load_balancer(&mut self) {
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
}
