//! Validation of `sockets` and `connection`: each rule broken once in the
//! bundled `sockets_peak.yml`, with the path, the line and column of the
//! offending value, and a hint where a fix is obvious.

use std::path::Path;

use asyncflow::scenario::{Diagnostic, Scenario};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn peak_text() -> String {
    std::fs::read_to_string(Path::new(ROOT).join("scenarios/sockets_peak.yml"))
        .expect("sockets_peak.yml")
}

fn errors(text: &str) -> Vec<Diagnostic> {
    match Scenario::from_yaml_str(text, Some(Path::new("s.yml"))) {
        Ok(_) => Vec::new(),
        Err(e) => e.diagnostics().to_vec(),
    }
}

/// Replace the first `old` by `new`, expect exactly one diagnostic at `path`
/// located at the first occurrence of `at` in the edited line.
#[track_caller]
fn one(old: &str, new: &str, path: &str, at: &str) -> Diagnostic {
    let text = peak_text();
    assert!(text.contains(old), "{old} not in the scenario");
    let text = text.replacen(old, new, 1);
    let d = errors(&text);
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0].path, path, "{d:#?}");
    let (line_no, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains(new))
        .expect("edited line");
    let col = line.find(at).expect("located value") + 1;
    assert_eq!(
        (d[0].line, d[0].column),
        (Some(line_no + 1), Some(col)),
        "{d:#?}"
    );
    d.into_iter().next().expect("one")
}

#[test]
fn the_bundled_sockets_scenario_is_valid() {
    assert_eq!(errors(&peak_text()), []);
}

#[test]
fn socket_max_is_at_least_one() {
    one(
        "sockets: { max: 256,",
        "sockets: { max: 0,",
        "topology_graph.nodes.servers[0].sockets.max",
        "0,",
    );
}

#[test]
fn backlog_is_not_negative() {
    one(
        "backlog: 128, ram",
        "backlog: -1, ram",
        "topology_graph.nodes.servers[0].sockets.backlog",
        "-1",
    );
}

#[test]
fn ram_per_connection_is_positive() {
    one(
        "sockets: { ram_per_connection_mb: 0.0085 }",
        "sockets: { ram_per_connection_mb: 0 }",
        "topology_graph.nodes.load_balancer.sockets.ram_per_connection_mb",
        "0 }",
    );
}

#[test]
fn ram_per_connection_fits_in_the_servers_ram() {
    let d = one(
        "sockets: { max: 256, backlog: 128, ram_per_connection_mb: 0.0085 }",
        "sockets: { max: 256, backlog: 128, ram_per_connection_mb: 5000 }",
        "topology_graph.nodes.servers[0].sockets.ram_per_connection_mb",
        "5000",
    );
    assert!(d.expected.contains("4096"), "{d:?}");
    assert!(d.hint.is_some());
}

#[test]
fn pool_size_is_at_least_one_and_only_for_keep_alive() {
    one(
        "pool_size: 128,",
        "pool_size: 0,",
        "topology_graph.edges[2].connection.pool_size",
        "0,",
    );
    let d = one(
        "mode: keep_alive, pool_size: 128",
        "mode: per_request, pool_size: 128",
        "topology_graph.edges[2].connection.pool_size",
        "128",
    );
    assert!(d.hint.as_deref().is_some_and(|h| h.contains("keep_alive")));
}

#[test]
fn idle_timeout_and_round_trips_are_checked() {
    one(
        "idle_timeout_s: 60,",
        "idle_timeout_s: -5,",
        "topology_graph.edges[2].connection.idle_timeout_s",
        "-5",
    );
    one(
        "handshake_rtts: 1, tls_rtts: 1",
        "handshake_rtts: 1, tls_rtts: -1",
        "topology_graph.edges[1].connection.tls_rtts",
        "-1",
    );
}

#[test]
fn a_connection_needs_a_target_that_holds_sockets() {
    let d = one(
        "{ id: api-1-out, source: api-1, target: client-1, latency: { mean: 0.01, distribution: exponential }, dropout_rate: 0.0 }",
        "{ id: api-1-out, source: api-1, target: client-1, latency: { mean: 0.01, distribution: exponential }, dropout_rate: 0.0, connection: { mode: per_request } }",
        "topology_graph.edges[6].connection",
        "{ mode: per_request }",
    );
    assert!(d.hint.as_deref().is_some_and(|h| h.contains("reply")));
}

#[test]
fn unknown_modes_and_keys_are_rejected_with_a_path() {
    let text = peak_text().replacen("mode: keep_alive", "mode: keepalive", 1);
    let d = errors(&text);
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0].path, "topology_graph.edges[2].connection.mode");
    assert!(d[0].line.is_some());
    let text = peak_text().replacen("sockets: { max: 256,", "sockets: { maximum: 256,", 1);
    let d = errors(&text);
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0].path, "topology_graph.nodes.servers[0].sockets.maximum");
}
