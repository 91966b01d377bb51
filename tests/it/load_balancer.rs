//! The load balancer in whole runs: round robin alternates exactly, least
//! connection follows the in-transit counts, and a server that is down gets
//! nothing routed to it. Power of two choices and least response time follow
//! the requests in flight and the response times the engine records; two
//! tiers of round robin split exactly, and a tier whose servers are all down
//! is skipped by the tier above.
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

// ------------------------------------------------------------------- loads

/// Generator → client → `lb` (`algorithm`) over srv-a and srv-b, whose
/// endpoints wait `io_a` and `io_b` seconds (no queueing); constant 1 ms
/// edges, no dropout.
fn fast_and_slow(rate: f64, algorithm: &str, io_a: f64, io_b: f64) -> String {
    let srv = |id: &str, io: f64| {
        format!(
            "      - id: {id}
        endpoints:
          - endpoint_name: /x
            steps: [{{ kind: io_wait, step_operation: {{ io_waiting_time: {io} }} }}]
"
        )
    };
    let e = |id: &str, s: &str, t: &str| {
        format!(
            "    - {{ id: {id}, source: {s}, target: {t}, latency: {}, dropout_rate: 0.0 }}\n",
            constant(0.001)
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
{edges}sim_settings:
  total_simulation_time: 60
  sample_period_s: 0.1
",
        a = srv("srv-a", io_a),
        b = srv("srv-b", io_b),
        edges = [
            e("gen-cli", "gen", "cli"),
            e("cli-lb", "cli", "lb"),
            e("lb-a", "lb", "srv-a"),
            e("lb-b", "lb", "srv-b"),
            e("a-cli", "srv-a", "cli"),
            e("b-cli", "srv-b", "cli"),
        ]
        .concat(),
    )
}

/// Share of the requests that reached srv-a.
fn share_a(run: &support::Run) -> f64 {
    let a = run
        .requests
        .iter()
        .filter(|r| r.server.as_deref() == Some("srv-a"))
        .count();
    let n = run.requests.iter().filter(|r| r.server.is_some()).count();
    assert!(n > 2000, "only {n} requests served");
    let share = a as f64 / n as f64;
    eprintln!("srv-a share {share:.4} of {n}");
    share
}

#[test]
fn power_of_two_choices_counts_requests_until_they_leave_the_server() {
    // srv-a answers in 1 ms, srv-b in 100 ms, 50 requests/s. With two targets
    // both are always drawn, so the one with fewer in flight wins: srv-b holds
    // a request for 100 ms, during which every arrival goes to srv-a; it gets
    // the next only on a tie (both idle) drawn first, about 1 in 7 arrivals.
    // Counting only the edge transit (or never releasing a request) would split
    // about evenly.
    let run = support::run(
        &fast_and_slow(50.0, "power_of_two_choices", 0.001, 0.1),
        21,
        0,
    );
    let a = share_a(&run);
    assert!((0.78..0.92).contains(&a), "srv-a share {a}");
    assert!(
        run.requests
            .iter()
            .all(|r| r.completed() || r.finished >= 59.0)
    );
}

#[test]
fn least_response_time_learns_which_target_is_fast() {
    // srv-a takes 100 ms, srv-b 5 ms (responses seen by the load balancer:
    // 101 ms and 6 ms). Once both have a response, srv-a scores 0.101 x
    // (n + 1) against 0.006 x (n + 1): srv-b would need 16 in flight to lose,
    // and at 50/s it has about 0.3. srv-a gets its first requests before
    // any response is known, then almost nothing.
    let run = support::run(
        &fast_and_slow(50.0, "least_response_time", 0.1, 0.005),
        22,
        0,
    );
    let a = share_a(&run);
    assert!(a < 0.01, "srv-a share {a}");
    assert!(
        run.requests
            .iter()
            .any(|r| r.server.as_deref() == Some("srv-a"))
    );
}

#[test]
fn random_and_weighted_round_robin_split_by_their_rules() {
    let run = support::run(&fast_and_slow(100.0, "random", 0.01, 0.01), 23, 0);
    let a = share_a(&run);
    // n ~ 6000: sd 0.0065; 4 sd.
    assert!((a - 0.5).abs() < 0.026, "random: srv-a share {a}");
    // Without weights every target weighs 1: exact alternation.
    let run = support::run(
        &fast_and_slow(100.0, "weighted_round_robin", 0.01, 0.01),
        24,
        0,
    );
    let rows = known_prefix(&run.requests);
    for (k, r) in rows.iter().enumerate() {
        assert_eq!(slot(r), Some(k % 2), "{r:?}");
    }
}

// ------------------------------------------------------------------- tiers

/// Generator → client → `top` (`algorithm`) over [mid, srv-c]; mid (round
/// robin) over [srv-a, srv-b]. I/O-only servers, constant 1 ms edges, no
/// dropout, so requests reach each load balancer in id order.
fn two_tiers(rate: f64, algorithm: &str, extra: &str) -> String {
    let srv = |id: &str| {
        format!(
            "      - id: {id}
        endpoints:
          - endpoint_name: /x
            steps: [{{ kind: io_wait, step_operation: {{ io_waiting_time: 0.01 }} }}]
"
        )
    };
    let edges: String = [
        ("gen", "cli"),
        ("cli", "top"),
        ("top", "mid"),
        ("top", "srv-c"),
        ("mid", "srv-a"),
        ("mid", "srv-b"),
        ("srv-a", "cli"),
        ("srv-b", "cli"),
        ("srv-c", "cli"),
    ]
    .iter()
    .map(|(s, t)| {
        format!(
            "    - {{ id: {s}-{t}, source: {s}, target: {t}, latency: {}, dropout_rate: 0.0 }}\n",
            constant(0.001)
        )
    })
    .collect();
    format!(
        "rqs_input:
  id: gen
  avg_active_users: {{ mean: 60, distribution: normal, variance: 0 }}
  avg_request_per_minute_per_user: {{ mean: {rate} }}
topology_graph:
  nodes:
    client: {{ id: cli }}
    load_balancers:
      - {{ id: top, algorithms: {algorithm}, server_covered: [mid, srv-c] }}
      - {{ id: mid, algorithms: round_robin, server_covered: [srv-a, srv-b] }}
    servers:
{a}{b}{c}  edges:
{edges}sim_settings:
  total_simulation_time: 30
  sample_period_s: 0.1
{extra}",
        a = srv("srv-a"),
        b = srv("srv-b"),
        c = srv("srv-c"),
    )
}

#[test]
fn two_tiers_of_round_robin_split_exactly() {
    // The top alternates mid, srv-c; mid alternates srv-a, srv-b over what it
    // gets: requests 1, 2, 3, 4, ... go to srv-a, srv-c, srv-b, srv-c, ...
    let run = support::run(&two_tiers(100.0, "round_robin", ""), 25, 0);
    let rows = known_prefix(&run.requests);
    assert!(rows.len() > 2500, "{} requests", rows.len());
    let mut counts = [0usize; 3];
    for (k, r) in rows.iter().enumerate() {
        let want = if k % 2 == 1 {
            "srv-c"
        } else if (k / 2) % 2 == 0 {
            "srv-a"
        } else {
            "srv-b"
        };
        assert_eq!(r.server.as_deref(), Some(want), "request {k}: {r:?}");
        assert!(r.completed() || r.finished >= 29.9, "{r:?}");
        counts[["srv-a", "srv-b", "srv-c"]
            .iter()
            .position(|s| Some(*s) == r.server.as_deref())
            .expect("a server")] += 1;
    }
    // Requests 1, 3, 5, ... go to mid, 2, 4, ... to srv-c.
    let n = rows.len();
    let mid = n.div_ceil(2);
    assert_eq!(counts, [mid.div_ceil(2), mid / 2, n / 2]);
    // Every served request went through three edges of 1 ms each way and back.
    let served: u64 = run.summary.results.servers.iter().map(|s| s.served).sum();
    assert!(served as usize >= n, "{served} served, {n} routed");
}

#[test]
fn a_tier_whose_servers_are_all_down_is_down_for_the_tier_above() {
    // srv-a and srv-b are down in [10, 20): mid has no target up, so the top
    // sends everything to srv-c and nothing is dropped at mid; outside the
    // window mid gets its share again. Every algorithm of the top reads the
    // same up flags.
    let events = "events:
  - event_id: a-down
    target_id: srv-a
    start: { kind: server_down, t_start: 10 }
    end: { kind: server_up, t_end: 20 }
  - event_id: b-down
    target_id: srv-b
    start: { kind: server_down, t_start: 10 }
    end: { kind: server_up, t_end: 20 }
";
    // Creation to the top: gen-cli and cli-top, 1 ms each.
    let at_top = |r: &Req| ns(r.created) + 2_000_000;
    let window = 10_000_000_000i64..20_000_000_000;
    for algorithm in [
        "round_robin",
        "least_connection",
        "random",
        "weighted_round_robin",
        "power_of_two_choices",
        "least_response_time",
    ] {
        let run = support::run(&two_tiers(100.0, algorithm, events), 26, 0);
        let (mut c_in, mut mid_out) = (0, 0);
        for r in &run.requests {
            assert_eq!(r.dropped_on, None, "{algorithm}: {r:?}");
            let to_mid = matches!(r.server.as_deref(), Some("srv-a" | "srv-b"));
            if window.contains(&at_top(r)) {
                assert!(!to_mid, "{algorithm}: routed to mid in the window: {r:?}");
                c_in += 1;
            } else if to_mid {
                mid_out += 1;
            }
        }
        assert!(c_in > 900, "{algorithm}: {c_in} requests in the window");
        assert!(
            mid_out > 100,
            "{algorithm}: mid got {mid_out} outside the window"
        );
    }
}
