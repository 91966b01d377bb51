//! Scenario types of sockets and connections (`EXTENSIONS.md`, "Sockets and
//! connections"): `sockets` on servers and load balancers, `connection` on
//! edges, and the lookups the engine builds them from.

use serde::{Deserialize, Serialize};

use super::schema::ScenarioFile;

/// `sockets` of a node: how many connections it can hold, its accept backlog
/// and what each connection costs in RAM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SocketsSpec {
    /// Most sockets open at once, >= 1 (absent: unlimited, measured only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
    /// Connections waiting to be accepted when every socket is open, >= 0
    /// (default 128, Linux's `somaxconn` of old).
    #[serde(default = "default_backlog")]
    pub backlog: i64,
    /// MB of the node's RAM each open socket holds (> 0; absent: 0, not
    /// counted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ram_per_connection_mb: Option<f64>,
}

/// Default accept backlog.
pub const DEFAULT_BACKLOG: i64 = 128;

fn default_backlog() -> i64 {
    DEFAULT_BACKLOG
}

/// How connections on an edge live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionMode {
    /// One connection per request: opened before it is sent, closed when its
    /// reply reaches the caller.
    #[default]
    PerRequest,
    /// A pool per edge; idle connections are reused, then closed after
    /// `idle_timeout_s`.
    KeepAlive,
}

impl ConnectionMode {
    /// Its spelling in a scenario file.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionMode::PerRequest => "per_request",
            ConnectionMode::KeepAlive => "keep_alive",
        }
    }
}

/// `connection` of an edge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionSpec {
    /// `per_request` (default) or `keep_alive`.
    #[serde(default)]
    pub mode: ConnectionMode,
    /// Most connections of a keep-alive pool, >= 1 (absent: unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool_size: Option<i64>,
    /// Seconds an idle keep-alive connection stays open (default 60).
    #[serde(default = "default_idle_timeout_s")]
    pub idle_timeout_s: f64,
    /// Round trips of the edge to open a connection (default 1: TCP).
    #[serde(default = "default_handshake_rtts")]
    pub handshake_rtts: i64,
    /// Extra round trips of a TLS handshake (default 0).
    #[serde(default)]
    pub tls_rtts: i64,
}

impl Default for ConnectionSpec {
    fn default() -> Self {
        ConnectionSpec {
            mode: ConnectionMode::PerRequest,
            pool_size: None,
            idle_timeout_s: default_idle_timeout_s(),
            handshake_rtts: default_handshake_rtts(),
            tls_rtts: 0,
        }
    }
}

fn default_idle_timeout_s() -> f64 {
    60.0
}

fn default_handshake_rtts() -> i64 {
    1
}

/// What a node that can hold sockets is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketHolder {
    /// A server (its sockets' RAM comes out of `ram_mb`).
    Server,
    /// A load balancer (no RAM limit: its socket RAM is measured).
    LoadBalancer,
}

impl ScenarioFile {
    /// The node `id` if it is of a kind that can hold sockets, with its
    /// `sockets` and its RAM in MB (servers only).
    pub fn socket_holder(&self, id: &str) -> Option<(SocketHolder, Option<&SocketsSpec>, f64)> {
        let nodes = &self.topology_graph.nodes;
        if let Some(s) = nodes.servers.iter().find(|s| s.id == id) {
            return Some((
                SocketHolder::Server,
                s.sockets.as_ref(),
                s.server_resources.ram_mb as f64,
            ));
        }
        self.topology_graph
            .nodes
            .all_load_balancers()
            .find(|(_, l)| l.id == id)
            .map(|(_, l)| {
                (
                    SocketHolder::LoadBalancer,
                    l.sockets.as_ref(),
                    f64::INFINITY,
                )
            })
    }

    /// The connection model of edge `i`: its `connection`, or `per_request`
    /// when either end declares `sockets`; `None` when requests on it need no
    /// connection (today's behaviour) or its target cannot hold one (a
    /// client: replies ride the connection their request came on).
    pub fn edge_connection(&self, i: usize) -> Option<ConnectionSpec> {
        let e = self.topology_graph.edges.get(i)?;
        let (_, target_sockets, _) = self.socket_holder(&e.target)?;
        if let Some(c) = &e.connection {
            return Some(c.clone());
        }
        let source_sockets = self.socket_holder(&e.source).and_then(|(_, s, _)| s);
        (target_sockets.is_some() || source_sockets.is_some()).then(ConnectionSpec::default)
    }

    /// Whether any node declares `sockets` or any edge a `connection`.
    pub fn uses_connections(&self) -> bool {
        (0..self.topology_graph.edges.len()).any(|i| self.edge_connection(i).is_some())
            || self
                .topology_graph
                .nodes
                .servers
                .iter()
                .any(|s| s.sockets.is_some())
            || self
                .topology_graph
                .nodes
                .all_load_balancers()
                .any(|(_, l)| l.sockets.is_some())
    }
}
