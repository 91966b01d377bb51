//! Determinism and stream independence.
//!
//! A run is a function of (scenario, seed, replication): the same inputs give
//! byte-identical output files (`summary.json` apart from its `wall` section,
//! which is wall-clock time). Each entity draws from its own random stream, so
//! adding an entity no request touches changes nothing, and adding a server behind
//! the load balancer leaves the generator's arrival times unchanged.

use std::collections::BTreeMap;
use std::path::Path;

use asyncflow::engine::time::SimTime;
use asyncflow::metrics::sink::OutputSelection;

use crate::support::{self, Req, Run, run_dir};

const COMPAT_LB: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/compat/valid/event_inj_lb.yml"
);

fn compat_lb() -> String {
    std::fs::read_to_string(COMPAT_LB).unwrap_or_else(|e| panic!("{COMPAT_LB}: {e}"))
}

/// Run the compat LB scenario (with its spike in [100, 160) and srv-1 outage in
/// [180, 240)) to 250 s, writing every file.
fn run_full(seed: u64, replication: u64) -> Run {
    support::run_with(
        &compat_lb(),
        seed,
        replication,
        Some(SimTime::from_secs(250)),
        OutputSelection::ALL,
    )
}

/// `summary.json` without its `wall` section.
fn summary_without_wall(dir: &Path) -> serde_json::Value {
    let path = dir.join("summary.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut v: serde_json::Value = serde_json::from_str(&text).expect("summary.json is JSON");
    let obj = v.as_object_mut().expect("summary.json is an object");
    assert!(
        obj.remove("wall").is_some(),
        "summary.json has no wall section"
    );
    v
}

/// Every file of a run directory except `summary.json`, by name.
fn parquet_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).expect("run directory") {
        let p = entry.expect("directory entry").path();
        let name = p
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        if name.ends_with(".parquet") {
            out.insert(name, std::fs::read(&p).expect("readable file"));
        }
    }
    out
}

#[test]
fn same_seed_gives_byte_identical_outputs() {
    let (a, b) = (run_full(5, 0), run_full(5, 0));
    let (da, db) = (run_dir(&a), run_dir(&b));
    let (sa, sb) = (summary_without_wall(&da), summary_without_wall(&db));
    // Compare the serialised text so that key order and number formatting count.
    assert_eq!(
        serde_json::to_string_pretty(&sa).expect("json"),
        serde_json::to_string_pretty(&sb).expect("json")
    );
    let (pa, pb) = (parquet_files(&da), parquet_files(&db));
    let names: Vec<_> = pa.keys().cloned().collect();
    assert_eq!(
        names,
        ["events.parquet", "requests.parquet", "samples.parquet"]
    );
    assert_eq!(names, pb.keys().cloned().collect::<Vec<_>>());
    for name in &names {
        assert!(
            pa[name] == pb[name],
            "{name} differs between two runs of the same seed"
        );
    }
    // Not vacuous: the run did something.
    assert!(
        a.summary.results.requests.completed > 5000,
        "{:?}",
        a.summary.results.requests
    );
    assert_eq!(a.summary.results, b.summary.results);
}

#[test]
fn different_seeds_or_replications_give_different_results() {
    let base = run_full(5, 0);
    for (seed, rep) in [(6, 0), (5, 1)] {
        let other = run_full(seed, rep);
        assert_ne!(
            base.summary.results.requests.generated, other.summary.results.requests.generated,
            "seed {seed} replication {rep}"
        );
        assert_ne!(base.summary.results.latency, other.summary.results.latency);
        let (x, y) = (&base.requests, &other.requests);
        let same_created = x
            .iter()
            .zip(y)
            .filter(|(p, q)| p.created == q.created)
            .count();
        assert!(
            same_created < 10,
            "seed {seed} rep {rep}: {same_created} identical creation times"
        );
    }
}

/// A two-server LB scenario with random users, random edges and the default 1%
/// dropout; `extra_server` is spliced into the server list, `extra_covered` into
/// the load balancer's list and `extra_edges` into the edges.
fn lb_scenario(extra_covered: &str, extra_server: &str, extra_edges: &str) -> String {
    let srv = |id: &str| {
        format!(
            "      - id: {id}
        server_resources: {{ cpu_cores: 2 }}
        endpoints:
          - endpoint_name: /x
            steps:
              - {{ kind: initial_parsing, step_operation: {{ cpu_time: {{ mean: 0.004, distribution: exponential }} }} }}
              - {{ kind: io_db, step_operation: {{ io_waiting_time: 0.01 }} }}
"
        )
    };
    format!(
        "rqs_input:
  id: gen
  avg_active_users: {{ mean: 100, distribution: normal, variance: 100 }}
  avg_request_per_minute_per_user: {{ mean: 60 }}
  user_sampling_window: 5
topology_graph:
  nodes:
    client: {{ id: cli }}
    load_balancer: {{ id: lb, server_covered: [srv-a, srv-b{extra_covered}] }}
    servers:
{a}{b}{extra_server}  edges:
    - {{ id: gen-cli, source: gen, target: cli, latency: {{ mean: 0.002, distribution: exponential }} }}
    - {{ id: cli-lb, source: cli, target: lb, latency: {{ mean: 0.001, distribution: exponential }} }}
    - {{ id: lb-a, source: lb, target: srv-a, latency: {{ mean: 0.001, distribution: exponential }} }}
    - {{ id: lb-b, source: lb, target: srv-b, latency: {{ mean: 0.001, distribution: exponential }} }}
    - {{ id: a-cli, source: srv-a, target: cli, latency: {{ mean: 0.002, distribution: exponential }} }}
    - {{ id: b-cli, source: srv-b, target: cli, latency: {{ mean: 0.002, distribution: exponential }} }}
{extra_edges}sim_settings:
  total_simulation_time: 60
  sample_period_s: 0.1
",
        a = srv("srv-a"),
        b = srv("srv-b"),
    )
}

const EXTRA_SERVER: &str = "      - id: srv-z
        endpoints:
          - endpoint_name: /z
            steps: [{ kind: initial_parsing, step_operation: { cpu_time: 0.001 } }]
";

#[test]
fn an_unrelated_server_changes_nothing() {
    // srv-z has an edge back to the client but nothing sends to it.
    let base = lb_scenario("", "", "");
    let extra = lb_scenario(
        "",
        EXTRA_SERVER,
        "    - { id: z-cli, source: srv-z, target: cli, latency: { mean: 0.002, distribution: exponential } }\n",
    );
    let (a, b) = (support::run(&base, 21, 0), support::run(&extra, 21, 0));
    assert!(a.requests.len() > 4000);
    assert_eq!(a.requests, b.requests, "every request row is the same");
    let (ra, rb) = (&a.summary.results, &b.summary.results);
    assert_eq!(ra.requests, rb.requests);
    assert_eq!(ra.latency, rb.latency);
    assert_eq!(ra.servers[..2], rb.servers[..2]);
    assert_eq!(rb.servers[2].served, 0);
}

#[test]
fn a_new_server_behind_the_load_balancer_leaves_arrivals_unchanged() {
    let base = lb_scenario("", "", "");
    let extra = lb_scenario(
        ", srv-z",
        EXTRA_SERVER,
        "    - { id: lb-z, source: lb, target: srv-z, latency: { mean: 0.001, distribution: exponential } }
    - { id: z-cli, source: srv-z, target: cli, latency: { mean: 0.002, distribution: exponential } }\n",
    );
    let (a, b) = (support::run(&base, 22, 0), support::run(&extra, 22, 0));
    assert_eq!(
        a.summary.results.requests.generated,
        b.summary.results.requests.generated
    );
    let by_id = |rows: &[Req]| {
        rows.iter()
            .map(|r| (r.id, r.created))
            .collect::<BTreeMap<_, _>>()
    };
    let (ca, cb) = (by_id(&a.requests), by_id(&b.requests));
    let mut common = 0;
    for (id, t) in &ca {
        if let Some(u) = cb.get(id) {
            assert_eq!(t, u, "request {id} created at a different time");
            common += 1;
        }
    }
    assert!(
        common + 50 > ca.len() && ca.len() > 4000,
        "{common} of {}",
        ca.len()
    );
    // Requests lost before the load balancer are the same ones (their edges'
    // streams are untouched); after it the routing differs, so latencies do.
    let front = |rows: &[Req]| {
        rows.iter()
            .filter(|r| matches!(r.dropped_on.as_deref(), Some("gen-cli" | "cli-lb")))
            .map(|r| r.id)
            .collect::<Vec<_>>()
    };
    assert!(!front(&a.requests).is_empty());
    assert_eq!(front(&a.requests), front(&b.requests));
    assert!(b.summary.results.servers[2].served > 1000);
    assert_ne!(a.summary.results.latency, b.summary.results.latency);
}
