//! `sockets` on servers and load balancers, `connection` on edges: integers
//! in range, RAM per connection positive and within the server's RAM, and a
//! `connection` only on an edge whose target can hold sockets.

use super::{EDGES, SERVERS, Validator, fmt_num};
use crate::scenario::diagnostic::Diagnostic;
use crate::scenario::sockets::{ConnectionMode, ConnectionSpec, SocketsSpec};

/// Most of anything countable a socket rule accepts (sockets, backlog, pool,
/// round trips): beyond it a value is a typo, not a system.
const MAX_COUNT: i64 = 100_000_000;

impl Validator<'_> {
    pub(super) fn sockets(&mut self) {
        let servers = &self.m.topology_graph.nodes.servers;
        for (i, s) in servers.iter().enumerate() {
            if let Some(spec) = &s.sockets {
                let ram = s.server_resources.ram_mb as f64;
                self.socket_spec(&format!("{SERVERS}[{i}].sockets"), spec, Some(ram));
            }
        }
        let lbs: Vec<_> = self.m.topology_graph.nodes.all_load_balancers().collect();
        for (path, lb) in lbs {
            if let Some(spec) = &lb.sockets {
                self.socket_spec(&format!("{path}.sockets"), spec, None);
            }
        }
        for (i, e) in self.m.topology_graph.edges.iter().enumerate() {
            let Some(c) = &e.connection else {
                continue;
            };
            let p = format!("{EDGES}[{i}].connection");
            if self.m.socket_holder(&e.target).is_none() {
                self.push(
                    Diagnostic::new(
                        p.clone(),
                        "a connection on an edge whose target can hold sockets (a server or a load balancer)",
                        format!("an edge into `{}`", e.target),
                    )
                    .with_hint(
                        "a reply rides the connection its request came on: set `connection` on the request's edge, not on the way back",
                    ),
                );
            }
            self.connection_spec(&p, c);
        }
    }

    fn socket_spec(&mut self, p: &str, s: &SocketsSpec, ram_mb: Option<f64>) {
        if let Some(max) = s.max {
            self.count(&format!("{p}.max"), max, 1);
        }
        self.count(&format!("{p}.backlog"), s.backlog, 0);
        if let Some(mb) = s.ram_per_connection_mb {
            if !(mb.is_finite() && mb > 0.0) {
                self.err(format!("{p}.ram_per_connection_mb"), "MB > 0", fmt_num(mb));
            } else if let Some(ram) = ram_mb
                && mb > ram
            {
                self.push(
                    Diagnostic::new(
                        format!("{p}.ram_per_connection_mb"),
                        format!("at most the server's ram_mb ({})", fmt_num(ram)),
                        fmt_num(mb),
                    )
                    .with_hint("a socket costs kilobytes: 0.0085 MB is about one idle TCP socket"),
                );
            }
        }
    }

    fn connection_spec(&mut self, p: &str, c: &ConnectionSpec) {
        if let Some(n) = c.pool_size {
            self.count(&format!("{p}.pool_size"), n, 1);
            if c.mode != ConnectionMode::KeepAlive {
                self.push(
                    Diagnostic::new(
                        format!("{p}.pool_size"),
                        "pool_size only with mode: keep_alive",
                        format!("mode: {}", c.mode.as_str()),
                    )
                    .with_hint("per-request connections are not pooled: add `mode: keep_alive`"),
                );
            }
        }
        if !(c.idle_timeout_s.is_finite() && c.idle_timeout_s > 0.0) {
            self.err(
                format!("{p}.idle_timeout_s"),
                "seconds > 0",
                fmt_num(c.idle_timeout_s),
            );
        }
        self.count(&format!("{p}.handshake_rtts"), c.handshake_rtts, 0);
        self.count(&format!("{p}.tls_rtts"), c.tls_rtts, 0);
    }

    /// A whole number in `[min, MAX_COUNT]`.
    fn count(&mut self, path: &str, v: i64, min: i64) {
        if !(min..=MAX_COUNT).contains(&v) {
            self.err(
                path.to_owned(),
                format!("a whole number in [{min}, {MAX_COUNT}]"),
                v.to_string(),
            );
        }
    }
}
