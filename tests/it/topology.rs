//! Several generators and clients (EXTENSIONS.md, "Topology"): each generator
//! feeds its `target` client, replies go back to the client a request came
//! from, `endpoint_weights` sets the endpoint mix, and the list forms are
//! validated with paths into the lists.
//!
//! Counts are checked against their distributions: a generator with a constant
//! rate λ over T seconds emits Poisson(λT) requests, and an endpoint drawn with
//! probability p out of n requests is Binomial(n, p). Each check uses a
//! two-sided 99.9% band (z = 3.29) around the expectation, with fixed seeds.

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, UInt32Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;

use asyncflow::scenario::{Scenario, ScenarioError};

use crate::support::{self, constant};

/// Two-sided 99.9% normal quantile.
const Z: f64 = 3.29;

/// A string column, dictionary-encoded or plain.
fn strings(b: &RecordBatch, name: &str) -> Vec<Option<String>> {
    let col = b
        .column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name}"));
    match col.data_type() {
        DataType::Dictionary(k, _) if **k == DataType::UInt32 => {
            let d = col.as_dictionary::<UInt32Type>();
            let values = d.values().as_string::<i32>();
            (0..d.len())
                .map(|i| {
                    d.is_valid(i)
                        .then(|| values.value(d.keys().value(i) as usize).to_owned())
                })
                .collect()
        }
        DataType::Dictionary(_, _) => {
            let d = col.as_dictionary::<Int32Type>();
            let values = d.values().as_string::<i32>();
            (0..d.len())
                .map(|i| {
                    d.is_valid(i)
                        .then(|| values.value(d.keys().value(i) as usize).to_owned())
                })
                .collect()
        }
        _ => {
            let s = col.as_string::<i32>();
            (0..s.len())
                .map(|i| s.is_valid(i).then(|| s.value(i).to_owned()))
                .collect()
        }
    }
}

/// (generator, client, endpoint, status, created_s, latency_s) of every row.
type Row = (String, String, Option<String>, String, f64, f64);

fn rows(run: &support::Run) -> Vec<Row> {
    let mut out = Vec::new();
    for b in support::batches(&support::run_dir(run).join("requests.parquet")) {
        let g = strings(&b, "generator");
        let c = strings(&b, "client");
        let e = strings(&b, "endpoint");
        let s = strings(&b, "status");
        let created = b.column_by_name("created_s").unwrap();
        let created = created.as_primitive::<arrow_array::types::Float64Type>();
        let lat = b.column_by_name("latency_s").unwrap();
        let lat = lat.as_primitive::<arrow_array::types::Float64Type>();
        for i in 0..b.num_rows() {
            out.push((
                g[i].clone().unwrap(),
                c[i].clone().unwrap(),
                e[i].clone(),
                s[i].clone().unwrap(),
                created.value(i),
                lat.value(i),
            ));
        }
    }
    out
}

#[track_caller]
fn within(what: &str, got: f64, mean: f64, sd: f64) {
    let lo = mean - Z * sd;
    let hi = mean + Z * sd;
    println!("{what}: {got} (expected {mean:.1}, 99.9% band [{lo:.1}, {hi:.1}])");
    assert!(
        (lo..=hi).contains(&got),
        "{what}: {got} outside [{lo}, {hi}]"
    );
}

fn generator(id: &str, rate: f64, extra: &str) -> String {
    // 60 users at `rate` requests per minute each: rate requests per second.
    format!(
        "  - id: {id}
    avg_active_users: {{ mean: 60, distribution: normal, variance: 0 }}
    avg_request_per_minute_per_user: {{ mean: {rate} }}
{extra}"
    )
}

/// gen-a → cli-a and gen-b → cli-b, both clients → lb → srv-1 | srv-2; the
/// servers answer cli-a in 1 ms and cli-b in 50 ms, so a reply that went to
/// the wrong client shows in its latency.
fn two_clients(horizon: u64) -> String {
    let fast = constant(0.001);
    let slow = constant(0.05);
    let server = |id: &str| {
        format!(
            "      - id: {id}
        server_resources: {{ cpu_cores: 4, ram_mb: 1024 }}
        endpoints:
          - endpoint_name: /x
            steps:
              - {{ kind: cpu_bound_operation, step_operation: {{ cpu_time: 0.0001 }} }}
"
        )
    };
    format!(
        "rqs_input:
{}{}topology_graph:
  nodes:
    clients:
      - {{ id: cli-a }}
      - {{ id: cli-b }}
    load_balancers:
      - {{ id: lb, algorithms: round_robin, server_covered: [srv-1, srv-2] }}
    servers:
{}{}  edges:
    - {{ id: ga, source: gen-a, target: cli-a, latency: {fast}, dropout_rate: 0.0 }}
    - {{ id: gb, source: gen-b, target: cli-b, latency: {fast}, dropout_rate: 0.0 }}
    - {{ id: al, source: cli-a, target: lb, latency: {fast}, dropout_rate: 0.0 }}
    - {{ id: bl, source: cli-b, target: lb, latency: {fast}, dropout_rate: 0.0 }}
    - {{ id: l1, source: lb, target: srv-1, latency: {fast}, dropout_rate: 0.0 }}
    - {{ id: l2, source: lb, target: srv-2, latency: {fast}, dropout_rate: 0.0 }}
    - {{ id: 1a, source: srv-1, target: cli-a, latency: {fast}, dropout_rate: 0.0 }}
    - {{ id: 1b, source: srv-1, target: cli-b, latency: {slow}, dropout_rate: 0.0 }}
    - {{ id: 2a, source: srv-2, target: cli-a, latency: {fast}, dropout_rate: 0.0 }}
    - {{ id: 2b, source: srv-2, target: cli-b, latency: {slow}, dropout_rate: 0.0 }}
sim_settings:
  total_simulation_time: {horizon}
  sample_period_s: 0.1
",
        generator("gen-a", 40.0, "    target: cli-a\n"),
        generator("gen-b", 10.0, "    target: cli-b\n"),
        server("srv-1"),
        server("srv-2"),
    )
}

#[test]
fn each_generator_feeds_its_client_and_replies_return_to_it() {
    let horizon = 200;
    let run = support::run(&two_clients(horizon), 11, 0);
    let rows = rows(&run);
    let count = |g: &str| rows.iter().filter(|r| r.0 == g).count() as f64;
    for (g, rate) in [("gen-a", 40.0), ("gen-b", 10.0)] {
        let mean = rate * horizon as f64;
        within(&format!("{g} requests"), count(g), mean, mean.sqrt());
    }
    let mut by_server = [0usize; 2];
    for (g, c, _, status, _, lat) in &rows {
        assert_eq!(status, "completed");
        let want = if g == "gen-a" { "cli-a" } else { "cli-b" };
        assert_eq!(c, want, "a {g} request recorded for {c}");
        // Three 1 ms hops, plus 49 ms more on the way back to cli-b.
        if c == "cli-a" {
            assert!(*lat < 0.01, "cli-a reply took {lat}");
        } else {
            assert!(*lat > 0.05, "cli-b reply took {lat}");
        }
    }
    for (i, s) in ["srv-1", "srv-2"].iter().enumerate() {
        by_server[i] = run
            .requests
            .iter()
            .filter(|r| r.server.as_deref() == Some(s))
            .count();
    }
    // One round-robin load balancer for both clients: the servers' shares
    // differ by at most one.
    assert!(by_server[0].abs_diff(by_server[1]) <= 1, "{by_server:?}");
}

/// One generator over two endpoints with a 0.9 / 0.1 mix.
fn weighted(weights: &str) -> String {
    let fast = constant(0.001);
    format!(
        "rqs_input:
  id: gen
  avg_active_users: {{ mean: 60, distribution: normal, variance: 0 }}
  avg_request_per_minute_per_user: {{ mean: 50 }}
{weights}topology_graph:
  nodes:
    client: {{ id: cli }}
    servers:
      - id: srv
        server_resources: {{ cpu_cores: 4, ram_mb: 1024 }}
        endpoints:
          - endpoint_name: /Read
            steps:
              - {{ kind: cpu_bound_operation, step_operation: {{ cpu_time: 0.0001 }} }}
          - endpoint_name: /write
            steps:
              - {{ kind: cpu_bound_operation, step_operation: {{ cpu_time: 0.0002 }} }}
  edges:
    - {{ id: gc, source: gen, target: cli, latency: {fast}, dropout_rate: 0.0 }}
    - {{ id: cs, source: cli, target: srv, latency: {fast}, dropout_rate: 0.0 }}
    - {{ id: sc, source: srv, target: cli, latency: {fast}, dropout_rate: 0.0 }}
sim_settings:
  total_simulation_time: 200
  sample_period_s: 0.1
"
    )
}

#[test]
fn endpoint_weights_set_the_mix_and_leave_arrivals_unchanged() {
    let with = support::run(
        &weighted("  endpoint_weights: { /read: 0.9, /WRITE: 0.1 }\n"),
        5,
        0,
    );
    let without = support::run(&weighted(""), 5, 0);
    let rows_with = rows(&with);
    let n = rows_with.len() as f64;
    let reads = rows_with
        .iter()
        .filter(|r| r.2.as_deref() == Some("/read"))
        .count() as f64;
    let writes = rows_with
        .iter()
        .filter(|r| r.2.as_deref() == Some("/write"))
        .count() as f64;
    assert_eq!(reads + writes, n);
    within("/read requests", reads, 0.9 * n, (n * 0.9 * 0.1).sqrt());
    // The endpoint draws have their own stream: the arrival process is the
    // same, request for request.
    let created = |rows: &[Row]| rows.iter().map(|r| r.4.to_bits()).collect::<Vec<_>>();
    let mut a = created(&rows_with);
    let mut b = created(&rows(&without));
    a.sort_unstable();
    b.sort_unstable();
    assert_eq!(a, b);
}

fn paths(yaml: &str) -> Vec<(String, Option<usize>, Option<String>)> {
    match Scenario::from_yaml_str(yaml, None) {
        Ok(_) => Vec::new(),
        Err(ScenarioError::Invalid(d)) => d.into_iter().map(|d| (d.path, d.line, d.hint)).collect(),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn a_generator_list_is_validated_item_by_item() {
    let good = two_clients(10);
    assert_eq!(paths(&good), []);
    // gen-b is the second item; its rate is written `mean: 10`.
    let bad = good.replacen(
        "avg_request_per_minute_per_user: { mean: 10 }",
        "avg_request_per_minute_per_user: { mean: -1 }",
        1,
    );
    assert_ne!(bad, good);
    let p = paths(&bad);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].0, "rqs_input[1].avg_request_per_minute_per_user.mean");
    assert!(p[0].1.is_some(), "a line for a list item: {p:?}");
}

#[test]
fn a_target_must_be_a_client_and_is_needed_with_several() {
    let good = two_clients(10);
    let typo = good.replacen("target: cli-b", "target: cli-c", 1);
    let p = paths(&typo);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].0, "rqs_input[1].target");
    assert!(p[0].2.as_deref().unwrap_or("").contains("cli-"), "{p:?}");
    let missing = good.replacen("    target: cli-a\n", "", 1);
    let p = paths(&missing);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].0, "rqs_input[0].target");
}

#[test]
fn endpoint_weights_name_endpoints_every_reached_server_serves() {
    let p = paths(&weighted(
        "  endpoint_weights: { /read: 0.9, /wirte: 0.1 }\n",
    ));
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].0, "rqs_input.endpoint_weights./wirte");
    assert_eq!(p[0].2.as_deref(), Some("did you mean `/write`?"));
    let p = paths(&weighted("  endpoint_weights: { /read: 0, /write: 0 }\n"));
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].0, "rqs_input.endpoint_weights");
    let p = paths(&weighted("  endpoint_weights: { /read: -1, /write: 1 }\n"));
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].0, "rqs_input.endpoint_weights./read");
}

#[test]
fn a_scenario_without_any_client_is_refused() {
    let good = two_clients(10);
    let none = good.replacen(
        "    clients:\n      - { id: cli-a }\n      - { id: cli-b }\n",
        "",
        1,
    );
    let p = paths(&none);
    assert!(
        p.iter()
            .any(|(path, _, _)| path == "topology_graph.nodes.client"),
        "{p:?}"
    );
}

#[test]
fn load_balancer_tiers_must_not_loop() {
    let fast = constant(0.001);
    let yaml = format!(
        "rqs_input:
  id: gen
  avg_active_users: {{ mean: 1 }}
  avg_request_per_minute_per_user: {{ mean: 1 }}
topology_graph:
  nodes:
    client: {{ id: cli }}
    load_balancers:
      - {{ id: top, server_covered: [a] }}
      - {{ id: a, server_covered: [b] }}
      - {{ id: b, server_covered: [a, srv] }}
    servers:
      - id: srv
        endpoints:
          - endpoint_name: /x
            steps:
              - {{ kind: cpu_bound_operation, step_operation: {{ cpu_time: 0.001 }} }}
  edges:
    - {{ id: e1, source: gen, target: cli, latency: {fast}, dropout_rate: 0.0 }}
    - {{ id: e2, source: cli, target: top, latency: {fast}, dropout_rate: 0.0 }}
    - {{ id: e3, source: top, target: a, latency: {fast}, dropout_rate: 0.0 }}
    - {{ id: e4, source: a, target: b, latency: {fast}, dropout_rate: 0.0 }}
    - {{ id: e5, source: b, target: a, latency: {fast}, dropout_rate: 0.0 }}
    - {{ id: e6, source: b, target: srv, latency: {fast}, dropout_rate: 0.0 }}
    - {{ id: e7, source: srv, target: cli, latency: {fast}, dropout_rate: 0.0 }}
sim_settings:
  total_simulation_time: 10
"
    );
    let p = paths(&yaml);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].0.starts_with("topology_graph.nodes.load_balancers["),
        "{p:?}"
    );
    assert!(p[0].0.contains(".server_covered["), "{p:?}");
}
