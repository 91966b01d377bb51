//! The load balancer in whole runs: round robin alternates exactly, least
//! connection follows the in-transit counts, and a server that is down gets
//! nothing routed to it.
//!
//! In every scenario the two edges before the load balancer have constant
//! latencies, so requests reach it in generation (id) order at
//! `created + E_GC + E_CL`: the routing decisions can be replayed from the file.

use crate::support::{self, Req, constant, ns};

const E_GC: i64 = 1_000_000;
const E_CL: i64 = 2_000_000;

/// Generator, client and load balancer in front of srv-a and srv-b (I/O-only
/// endpoints, so the servers never queue), with the given LB → server and
/// other-edge settings and optional extra YAML (events).
fn scenario(
    rate: f64,
    algorithm: &str,
    lb_a: &str,
    lb_b: &str,
    front_dropout: f64,
    extra: &str,
) -> String {
    let srv = |id: &str| {
        format!(
            "      - id: {id}
        endpoints:
          - endpoint_name: /x
            steps: [{{ kind: io_wait, step_operation: {{ io_waiting_time: 0.01 }} }}]
"
        )
    };
    format!(
        "rqs_input:
  id: gen
  avg_active_users: {{ mean: 60, distribution: normal, variance: 0 }}
  avg_request_per_minute_per_user: {{ mean: {rate} }}
topology_graph:
  nodes:
    client: {{ id: cli }}
    load_balancer: {{ id: lb, algorithms: {algorithm}, server_covered: [srv-a, srv-b] }}
    servers:
{a}{b}  edges:
    - {{ id: gen-cli, source: gen, target: cli, latency: {egc}, dropout_rate: {front_dropout} }}
    - {{ id: cli-lb, source: cli, target: lb, latency: {ecl}, dropout_rate: {front_dropout} }}
    - {{ id: lb-a, source: lb, target: srv-a, {lb_a} }}
    - {{ id: lb-b, source: lb, target: srv-b, {lb_b} }}
    - {{ id: a-cli, source: srv-a, target: cli, latency: {{ mean: 0.002, distribution: exponential }} }}
    - {{ id: b-cli, source: srv-b, target: cli, latency: {{ mean: 0.002, distribution: exponential }} }}
sim_settings:
  total_simulation_time: 30
  sample_period_s: 0.1
{extra}",
        a = srv("srv-a"),
        b = srv("srv-b"),
        egc = constant(E_GC as f64 / 1e9),
        ecl = constant(E_CL as f64 / 1e9),
    )
}

/// The longest run of ids 1, 2, ... present in the file: requests after it may be
/// in flight at the horizon and missing, so routing replays stop there.
fn known_prefix(rows: &[Req]) -> &[Req] {
    let n = rows
        .iter()
        .enumerate()
        .take_while(|(i, r)| r.id == *i as u64 + 1)
        .count();
    &rows[..n]
}

/// The slot (0 = srv-a, 1 = srv-b) a request was routed to, or None if it never
/// reached the load balancer. A request dropped on an LB → server edge has no
/// server yet; its edge tells where it was sent.
fn slot(r: &Req) -> Option<usize> {
    match (r.server.as_deref(), r.dropped_on.as_deref()) {
        (Some("srv-a"), _) | (None, Some("lb-a")) => Some(0),
        (Some("srv-b"), _) | (None, Some("lb-b")) => Some(1),
        (None, Some("gen-cli" | "cli-lb")) => None,
        other => panic!("unexpected request {other:?}: {r:?}"),
    }
}

/// When the request reached the load balancer (ns).
fn routed_at(r: &Req) -> i64 {
    ns(r.created) + E_GC + E_CL
}

#[test]
fn round_robin_alternates_exactly_among_requests_that_reach_it() {
    // Random LB → server latencies with dropout, and 5% dropout in front of the
    // load balancer: requests lost before it take no turn; requests lost after
    // it took theirs.
    let random = "latency: { mean: 0.003, distribution: exponential }, dropout_rate: 0.05";
    let yaml = scenario(100.0, "round_robin", random, random, 0.05, "");
    let run = support::run(&yaml, 11, 0);
    let rows = known_prefix(&run.requests);
    let slots: Vec<usize> = rows.iter().filter_map(slot).collect();
    assert!(slots.len() > 2000, "{} routed", slots.len());
    let lost_before = rows.len() - slots.len();
    let lost_after = rows
        .iter()
        .filter(|r| matches!(r.dropped_on.as_deref(), Some("lb-a" | "lb-b")))
        .count();
    assert!(
        lost_before > 50 && lost_after > 50,
        "dropout not exercised: {lost_before} / {lost_after}"
    );
    for (k, &s) in slots.iter().enumerate() {
        assert_eq!(s, k % 2, "routing decision {k} went to slot {s}");
    }
}

/// Replay least connection: per slot, the LB → server transit end times of the
/// requests it sent; a request arriving at t picks the up slot with the fewest
/// transits still running at t (ties: srv-a).
fn replay_least_connection(
    rows: &[Req],
    lat: [i64; 2],
    up: impl Fn(usize, i64) -> bool,
) -> Vec<usize> {
    let mut ends: [Vec<i64>; 2] = [Vec::new(), Vec::new()];
    let mut out = Vec::new();
    for r in rows {
        let t = routed_at(r);
        for e in &mut ends {
            e.retain(|&end| end > t);
        }
        let s = (0..2)
            .filter(|&s| up(s, t))
            .min_by_key(|&s| (ends[s].len(), s))
            .expect("a server is up");
        ends[s].push(t + lat[s]);
        out.push(s);
    }
    out
}

#[test]
fn least_connection_prefers_the_idle_path() {
    // srv-a sits behind a 50 ms edge, srv-b behind a 1 ms one: at 100 rps srv-a
    // usually has a request in transit and srv-b rarely, so srv-b takes most of
    // the traffic (srv-a still wins ties, e.g. one in transit on each). With
    // constant edges and no dropout every choice is replayed exactly.
    let (la, lb) = (50_000_000i64, 1_000_000i64);
    let a = format!("latency: {}, dropout_rate: 0.0", constant(la as f64 / 1e9));
    let b = format!("latency: {}, dropout_rate: 0.0", constant(lb as f64 / 1e9));
    let yaml = scenario(100.0, "least_connection", &a, &b, 0.0, "");
    let run = support::run(&yaml, 12, 0);
    let rows = known_prefix(&run.requests);
    assert!(rows.len() > 2000);
    let expect = replay_least_connection(rows, [la, lb], |_, _| true);
    for (r, s) in rows.iter().zip(&expect) {
        assert_eq!(slot(r), Some(*s), "{r:?}");
    }
    let to_a = expect.iter().filter(|&&s| s == 0).count();
    let to_b = expect.len() - to_a;
    assert!(to_a > 0 && to_b > 2 * to_a, "srv-a {to_a}, srv-b {to_b}");
}

#[test]
fn a_down_server_receives_nothing_in_its_window() {
    // Both algorithms; srv-a down in [10, 20). Routing time is creation plus the
    // two constant front edges; outages apply before any event at their instant.
    let (from, to) = (10_000_000_000i64, 20_000_000_000i64);
    let events = "events:
  - event_id: a-down
    target_id: srv-a
    start: { kind: server_down, t_start: 10 }
    end: { kind: server_up, t_end: 20 }
";
    let edge = format!("latency: {}, dropout_rate: 0.0", constant(0.001));
    for algorithm in ["round_robin", "least_connection"] {
        let yaml = scenario(100.0, algorithm, &edge, &edge, 0.0, events);
        let run = support::run(&yaml, 13, 0);
        let rows = &run.requests;
        let (mut a_in, mut b_in, mut a_out) = (0, 0, 0);
        for r in rows {
            let inside = (from..to).contains(&routed_at(r));
            match (slot(r), inside) {
                (Some(0), true) => a_in += 1,
                (Some(1), true) => b_in += 1,
                (Some(0), false) => a_out += 1,
                _ => {}
            }
        }
        assert_eq!(
            a_in, 0,
            "{algorithm}: {a_in} requests routed to srv-a while it was down"
        );
        assert!(
            b_in > 800,
            "{algorithm}: only {b_in} requests in the window"
        );
        assert!(
            a_out > 100,
            "{algorithm}: srv-a got nothing outside the window"
        );
        if algorithm == "least_connection" {
            let rows = known_prefix(rows);
            let expect = replay_least_connection(rows, [1_000_000, 1_000_000], |s, t| {
                s != 0 || !(from..to).contains(&t)
            });
            for (r, s) in rows.iter().zip(&expect) {
                assert_eq!(slot(r), Some(*s), "{r:?}");
            }
        }
    }
}
