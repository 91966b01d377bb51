//! Names across the whole graph: every node's optional `type` tag matches its
//! place in the file, and ids are non-empty and unique across all nodes and
//! edges. A new node kind adds its tag and id here. (Event ids are a namespace
//! of their own, checked in `events.rs`.)

use std::collections::HashMap;

use super::{EDGES, SERVERS, Validator};

impl Validator<'_> {
    pub(super) fn node_tags(&mut self) {
        let n = &self.m.topology_graph.nodes;
        let mut tags: Vec<(String, &Option<String>, &str)> = Vec::new();
        for (i, g) in self.m.generators().iter().enumerate() {
            let p = self.m.generator_path(i);
            tags.push((format!("{p}.type"), &g.node_type, "generator"));
        }
        for (p, c) in n.all_clients() {
            tags.push((format!("{p}.type"), &c.node_type, "client"));
        }
        for (i, s) in n.servers.iter().enumerate() {
            tags.push((format!("{SERVERS}[{i}].type"), &s.node_type, "server"));
        }
        for (p, lb) in n.all_load_balancers() {
            tags.push((format!("{p}.type"), &lb.node_type, "load_balancer"));
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

    pub(super) fn unique_ids(&mut self) {
        let n = &self.m.topology_graph.nodes;
        let mut ids: Vec<(String, &str)> = Vec::new();
        for (i, g) in self.m.generators().iter().enumerate() {
            ids.push((format!("{}.id", self.m.generator_path(i)), g.id.as_str()));
        }
        for (p, c) in n.all_clients() {
            ids.push((format!("{p}.id"), c.id.as_str()));
        }
        for (i, s) in n.servers.iter().enumerate() {
            ids.push((format!("{SERVERS}[{i}].id"), &s.id));
        }
        for (p, lb) in n.all_load_balancers() {
            ids.push((format!("{p}.id"), &lb.id));
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
    }
}
