//! Names across the whole graph: every node's optional `type` tag matches its
//! place in the file, and ids are non-empty and unique across all nodes and
//! edges. A new node kind adds its tag and id here. (Event ids are a namespace
//! of their own, checked in `events.rs`.)

use std::collections::HashMap;

use super::{EDGES, LB, SERVERS, Validator};

impl Validator<'_> {
    pub(super) fn node_tags(&mut self) {
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

    pub(super) fn unique_ids(&mut self) {
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
    }
}
