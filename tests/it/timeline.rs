//! Exact timelines: every request's finish time and time breakdown, to the
//! nanosecond, against a small independent reference model.
//!
//! Arrival times are Poisson and cannot be pinned through the YAML, so the test
//! reads each request's real `created_s` from `requests.parquet` and replays it
//! through the reference model below (FIFO RAM queue with head-of-line blocking,
//! FIFO ready queue, N cores, I/O without a core, round-robin load balancer with
//! outage windows). Everything else is constant, so the model's answer is exact.
//!
//! Simultaneous events are common on one core (CPU1 + I/O + CPU2 of one request
//! and I/O + CPU2 + CPU1 of two others add up to the same instant), and ENGINE.md
//! fixes their order: (time, scheduling sequence), FIFO. The model keeps its own
//! sequence and schedules server events in the same order as the engine's
//! handlers (an I/O step's completion before the core hand-over it causes; a
//! finishing request's core hand-over before the RAM admissions it causes). Its
//! arrivals are all scheduled up front, so their sequence numbers differ from the
//! engine's: an arrival at the same nanosecond as another event would be
//! ambiguous, and the model asserts it never happens (arrival times are random
//! nanoseconds, so a coincidence means picking other constants, not a bug).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};

use crate::support::{self, Req, ns};

/// Edge latencies in ns: generator → client, client → server (or LB),
/// LB → server, server → client.
const E_GC: i64 = 1_000_300;
const E_CS: i64 = 2_001_100;
const E_LS: i64 = 700_190;
const E_SC: i64 = 1_500_710;
/// The endpoint: CPU, then I/O, then CPU (ns).
const CPU1: i64 = 3_001_700;
const IO: i64 = 7_013_300;
const CPU2: i64 = 2_309_100;
/// Server RAM (MB) and the RAM of its two endpoints, `/small` and `/big`: three
/// small requests fit, or one big and one small, so a big request at the head of
/// the RAM queue blocks small ones behind it that would fit.
const RAM_MB: u32 = 384;
const SMALL_MB: u32 = 128;
const BIG_MB: u32 = 256;

fn secs(ns: i64) -> String {
    format!(
        "{{ mean: {}, distribution: normal, variance: 0 }}",
        ns as f64 / 1e9
    )
}

fn server_yaml(id: &str) -> String {
    format!(
        "      - id: {id}
        server_resources: {{ cpu_cores: 1, ram_mb: {RAM_MB} }}
        endpoints:
          - endpoint_name: /small
            probability: 0.75
            steps:
              - {{ kind: initial_parsing, step_operation: {{ cpu_time: {c1} }} }}
              - {{ kind: ram, step_operation: {{ necessary_ram: {SMALL_MB} }} }}
              - {{ kind: io_db, step_operation: {{ io_waiting_time: {io} }} }}
              - {{ kind: cpu_bound_operation, step_operation: {{ cpu_time: {c2} }} }}
          - endpoint_name: /big
            probability: 0.25
            steps:
              - {{ kind: initial_parsing, step_operation: {{ cpu_time: {c1} }} }}
              - {{ kind: ram, step_operation: {{ necessary_ram: {BIG_MB} }} }}
              - {{ kind: io_db, step_operation: {{ io_waiting_time: {io} }} }}
              - {{ kind: cpu_bound_operation, step_operation: {{ cpu_time: {c2} }} }}
",
        c1 = CPU1 as f64 / 1e9,
        io = IO as f64 / 1e9,
        c2 = CPU2 as f64 / 1e9,
    )
}

fn generator_yaml(rate: f64) -> String {
    format!(
        "rqs_input:
  id: gen
  avg_active_users: {{ mean: 60, distribution: normal, variance: 0 }}
  avg_request_per_minute_per_user: {{ mean: {rate} }}
  user_sampling_window: 60
"
    )
}

/// What the reference model says about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Expect {
    server: usize,
    finished: i64,
    ram_wait: i64,
    cpu_wait: i64,
    cpu: i64,
    io: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Arrive,
    CpuDone,
    IoDone,
}

/// Situations a run went through, so a test can insist on covering them.
#[derive(Debug, Clone, Copy, Default)]
struct Seen {
    /// A request waited for RAM that would have fitted (head of line).
    blocked_behind_head: usize,
    /// A request going to I/O handed its core to a waiting one.
    io_handovers: usize,
    /// Longest ready queue.
    max_ready: usize,
}

#[derive(Debug, Clone, Copy, Default)]
struct ReqState {
    step: usize,
    need: u32,
    holds_core: bool,
    since: i64,
    ram_wait: i64,
    cpu_wait: i64,
    cpu: i64,
    io: i64,
    leave: Option<i64>,
}

/// One server of the reference model: `cores` cores, `RAM_MB` of RAM, every
/// endpoint CPU1 → I/O → CPU2 (the RAM each request needs is given with it).
struct Server {
    steps: Vec<(bool, i64)>,
    free_cores: u32,
    ram_used: u32,
    ready: VecDeque<(usize, i64)>,
    ram_queue: VecDeque<usize>,
    /// What the run exercised.
    seen: Seen,
    heap: BinaryHeap<Reverse<(i64, u64, Ev, usize)>>,
    seq: u64,
    reqs: HashMap<usize, ReqState>,
}

impl Server {
    fn new(cores: u32) -> Self {
        Server {
            steps: vec![(true, CPU1), (false, IO), (true, CPU2)],
            free_cores: cores,
            ram_used: 0,
            ready: VecDeque::new(),
            ram_queue: VecDeque::new(),
            seen: Seen::default(),
            heap: BinaryHeap::new(),
            seq: 0,
            reqs: HashMap::new(),
        }
    }

    fn push(&mut self, at: i64, ev: Ev, r: usize) {
        self.seq += 1;
        self.heap.push(Reverse((at, self.seq, ev, r)));
    }

    /// A core is free: the head of the ready queue takes it, or it goes idle.
    fn release_core(&mut self, now: i64) {
        match self.ready.pop_front() {
            Some((r, d)) => {
                let s = self.reqs.get_mut(&r).expect("queued request");
                s.holds_core = true;
                s.cpu_wait += now - s.since;
                s.cpu += d;
                self.push(now + d, Ev::CpuDone, r);
            }
            None => self.free_cores += 1,
        }
    }

    fn advance(&mut self, r: usize, now: i64) {
        let step = self.reqs[&r].step;
        match self.steps.get(step).copied() {
            Some((true, d)) => {
                let holds = self.reqs[&r].holds_core;
                if holds || self.free_cores > 0 {
                    if !holds {
                        self.free_cores -= 1;
                    }
                    let s = self.reqs.get_mut(&r).expect("request");
                    s.holds_core = true;
                    s.cpu += d;
                    self.push(now + d, Ev::CpuDone, r);
                } else {
                    self.reqs.get_mut(&r).expect("request").since = now;
                    self.ready.push_back((r, d));
                    self.seen.max_ready = self.seen.max_ready.max(self.ready.len());
                }
            }
            Some((false, d)) => {
                let s = self.reqs.get_mut(&r).expect("request");
                s.io += d;
                let held = std::mem::replace(&mut s.holds_core, false);
                self.push(now + d, Ev::IoDone, r);
                if held {
                    self.seen.io_handovers += usize::from(!self.ready.is_empty());
                    self.release_core(now);
                }
            }
            None => {
                let s = *self.reqs.get_mut(&r).expect("request");
                self.reqs.get_mut(&r).expect("request").leave = Some(now);
                let held = s.holds_core;
                self.reqs.get_mut(&r).expect("request").holds_core = false;
                if held {
                    self.release_core(now);
                }
                self.ram_used -= s.need;
                // Head of line: admit from the front while it fits.
                let mut admitted = Vec::new();
                while let Some(&next) = self.ram_queue.front() {
                    let need = self.reqs[&next].need;
                    if self.ram_used + need > RAM_MB {
                        break;
                    }
                    self.ram_queue.pop_front();
                    self.ram_used += need;
                    admitted.push(next);
                }
                for next in admitted {
                    let s = self.reqs.get_mut(&next).expect("queued request");
                    s.ram_wait += now - s.since;
                    self.advance(next, now);
                }
            }
        }
    }

    /// Run every event; returns per request (time it left the server, state).
    fn run(mut self, arrivals: &[(usize, i64, u32)]) -> (HashMap<usize, ReqState>, Seen) {
        let mut needs = HashMap::new();
        for &(r, at, need) in arrivals {
            needs.insert(r, need);
            self.push(at, Ev::Arrive, r);
        }
        let mut last: Option<(i64, Ev)> = None;
        while let Some(Reverse((now, _, ev, r))) = self.heap.pop() {
            if let Some((t, prev)) = last {
                assert!(
                    t != now || (prev != Ev::Arrive && ev != Ev::Arrive),
                    "an arrival at the same instant as another event ({now} ns): pick other constants"
                );
            }
            last = Some((now, ev));
            match ev {
                Ev::Arrive => {
                    let need = needs[&r];
                    self.reqs.insert(
                        r,
                        ReqState {
                            need,
                            ..ReqState::default()
                        },
                    );
                    let fits = self.ram_used + need <= RAM_MB;
                    if self.ram_queue.is_empty() && fits {
                        self.ram_used += need;
                        self.advance(r, now);
                    } else {
                        if fits {
                            self.seen.blocked_behind_head += 1;
                        }
                        self.reqs.get_mut(&r).expect("request").since = now;
                        self.ram_queue.push_back(r);
                    }
                }
                Ev::CpuDone | Ev::IoDone => {
                    self.reqs.get_mut(&r).expect("request").step += 1;
                    self.advance(r, now);
                }
            }
        }
        (self.reqs, self.seen)
    }
}

/// Expected outcome of each request (index, arrival instant at `server`, RAM
/// need); returns what the run went through.
fn expect_server(
    server: usize,
    arrivals: &[(usize, i64, u32)],
    out: &mut HashMap<usize, Expect>,
) -> Seen {
    let (reqs, seen) = Server::new(1).run(arrivals);
    for (r, s) in reqs {
        let leave = s.leave.expect("every request leaves the reference server");
        out.insert(
            r,
            Expect {
                server,
                finished: leave + E_SC,
                ram_wait: s.ram_wait,
                cpu_wait: s.cpu_wait,
                cpu: s.cpu,
                io: s.io,
            },
        );
    }
    seen
}

/// The requests the model can be fed: the longest prefix of ids present in the
/// file (ids are given in generation order, from 1), with their creation times in
/// ns, and the earliest instant a request missing from the file (in flight at the
/// horizon) can reach the first node after the client: no earlier than the
/// creation of the last request of the prefix plus the two first edges.
fn known_prefix(rows: &[Req]) -> (Vec<(i64, u32)>, i64) {
    let n = rows
        .iter()
        .enumerate()
        .take_while(|(i, r)| r.id == *i as u64 + 1)
        .count();
    let known: Vec<(i64, u32)> = rows[..n]
        .iter()
        .map(|r| {
            let need = match r.endpoint.as_deref() {
                Some("/small") => SMALL_MB,
                Some("/big") => BIG_MB,
                other => panic!("unexpected endpoint {other:?} of {r:?}"),
            };
            (ns(r.created), need)
        })
        .collect();
    let cutoff = known.last().map_or(0, |k| k.0) + E_GC + E_CS;
    (known, cutoff)
}

/// Compare every request of the prefix that left its server before `cutoff`
/// (so no unknown request could have touched it) with the model, exactly.
/// Returns how many were compared.
fn compare(
    rows: &[Req],
    expect: &HashMap<usize, Expect>,
    names: &[&str],
    network: i64,
    cutoff: i64,
) -> usize {
    let mut compared = 0;
    for (i, r) in rows.iter().enumerate() {
        let Some(&e) = expect.get(&i) else {
            break;
        };
        if e.finished - E_SC >= cutoff {
            continue;
        }
        compared += 1;
        let what = format!("request {} (created {} s): {r:?} vs {e:?}", r.id, r.created);
        assert!(r.completed(), "{what}");
        assert_eq!(r.server.as_deref(), Some(names[e.server]), "{what}");
        assert_eq!(ns(r.finished), e.finished, "finished, {what}");
        assert_eq!(ns(r.latency), e.finished - ns(r.created), "latency, {what}");
        assert_eq!(ns(r.ram_wait), e.ram_wait, "ram wait, {what}");
        assert_eq!(ns(r.cpu_wait), e.cpu_wait, "cpu wait, {what}");
        assert_eq!(ns(r.cpu), e.cpu, "cpu, {what}");
        assert_eq!(ns(r.io), e.io, "io, {what}");
        assert_eq!(ns(r.network), network, "network, {what}");
    }
    compared
}

#[test]
fn single_server_timeline_matches_the_reference_model_exactly() {
    let horizon = 10u64;
    let yaml = format!(
        "{gen}topology_graph:
  nodes:
    client: {{ id: cli }}
    servers:
{srv}  edges:
    - {{ id: gen-cli, source: gen, target: cli, latency: {egc}, dropout_rate: 0.0 }}
    - {{ id: cli-srv, source: cli, target: srv, latency: {ecs}, dropout_rate: 0.0 }}
    - {{ id: srv-cli, source: srv, target: cli, latency: {esc}, dropout_rate: 0.0 }}
sim_settings:
  total_simulation_time: {horizon}
  sample_period_s: 0.1
",
        gen = generator_yaml(150.0),
        srv = server_yaml("srv"),
        egc = secs(E_GC),
        ecs = secs(E_CS),
        esc = secs(E_SC),
    );
    let run = support::run(&yaml, 99, 0);
    let rows = &run.requests;
    let (known, cutoff) = known_prefix(rows);
    let arrivals: Vec<(usize, i64, u32)> = known
        .iter()
        .enumerate()
        .map(|(i, &(c, need))| (i, c + E_GC + E_CS, need))
        .collect();
    let mut expect = HashMap::new();
    let seen = expect_server(0, &arrivals, &mut expect);
    let compared = compare(rows, &expect, &["srv"], E_GC + E_CS + E_SC, cutoff);
    assert!(
        compared + 10 > rows.len(),
        "compared only {compared} of {} requests",
        rows.len()
    );
    // The run must exercise what the test is about.
    assert!(rows.len() > 500, "{} requests", rows.len());
    assert!(
        rows.iter().any(|r| r.ram_wait > 0.0),
        "no request waited for RAM"
    );
    assert!(
        rows.iter().any(|r| r.cpu_wait > 0.0),
        "no request waited for a core"
    );
    assert!(
        seen.blocked_behind_head > 0,
        "no head-of-line blocking: {seen:?}"
    );
    assert!(seen.io_handovers > 0, "no core hand-over on I/O: {seen:?}");
    assert!(
        seen.max_ready >= 2,
        "the ready queue never held two: {seen:?}"
    );
}

#[test]
fn load_balanced_timeline_with_outages_matches_the_reference_model_exactly() {
    // Round robin over srv-a and srv-b; srv-a is down in [3, 6) and srv-b in
    // [7, 9). An outage takes effect before any event at its instant, so a request
    // reaching the load balancer at t is routed around a server down at t.
    let horizon = 12u64;
    let outages = [
        (3_000_000_000i64, 6_000_000_000i64),
        (7_000_000_000, 9_000_000_000),
    ];
    let yaml = format!(
        "{gen}topology_graph:
  nodes:
    client: {{ id: cli }}
    load_balancer: {{ id: lb, algorithms: round_robin, server_covered: [srv-a, srv-b] }}
    servers:
{a}{b}  edges:
    - {{ id: gen-cli, source: gen, target: cli, latency: {egc}, dropout_rate: 0.0 }}
    - {{ id: cli-lb, source: cli, target: lb, latency: {ecs}, dropout_rate: 0.0 }}
    - {{ id: lb-a, source: lb, target: srv-a, latency: {els}, dropout_rate: 0.0 }}
    - {{ id: lb-b, source: lb, target: srv-b, latency: {els}, dropout_rate: 0.0 }}
    - {{ id: a-cli, source: srv-a, target: cli, latency: {esc}, dropout_rate: 0.0 }}
    - {{ id: b-cli, source: srv-b, target: cli, latency: {esc}, dropout_rate: 0.0 }}
sim_settings:
  total_simulation_time: {horizon}
  sample_period_s: 0.1
events:
  - event_id: a-down
    target_id: srv-a
    start: {{ kind: server_down, t_start: 3 }}
    end: {{ kind: server_up, t_end: 6 }}
  - event_id: b-down
    target_id: srv-b
    start: {{ kind: server_down, t_start: 7 }}
    end: {{ kind: server_up, t_end: 9 }}
",
        gen = generator_yaml(200.0),
        a = server_yaml("srv-a"),
        b = server_yaml("srv-b"),
        egc = secs(E_GC),
        ecs = secs(E_CS),
        els = secs(E_LS),
        esc = secs(E_SC),
    );
    let run = support::run(&yaml, 7, 0);
    let rows = &run.requests;
    let (known, cutoff) = known_prefix(rows);
    // The load balancer, in arrival order (creation order: the path is constant).
    let up = |s: usize, t: i64| !(outages[s].0 <= t && t < outages[s].1);
    let mut next = 0usize;
    let mut per_server: [Vec<(usize, i64, u32)>; 2] = [Vec::new(), Vec::new()];
    let mut routed_at = Vec::new();
    for (i, &(c, need)) in known.iter().enumerate() {
        let at_lb = c + E_GC + E_CS;
        let slot = (0..2)
            .map(|k| (next + k) % 2)
            .find(|&s| up(s, at_lb))
            .expect("one server is always up");
        next = (slot + 1) % 2;
        per_server[slot].push((i, at_lb + E_LS, need));
        routed_at.push(at_lb);
    }
    let mut expect = HashMap::new();
    for (s, arrivals) in per_server.iter().enumerate() {
        let seen = expect_server(s, arrivals, &mut expect);
        assert!(
            seen.blocked_behind_head > 0 && seen.io_handovers > 0,
            "server {s}: {seen:?}"
        );
    }
    let names = ["srv-a", "srv-b"];
    let compared = compare(rows, &expect, &names, E_GC + E_CS + E_LS + E_SC, cutoff);
    assert!(
        compared + 10 > rows.len(),
        "compared only {compared} of {} requests",
        rows.len()
    );
    // Spelled out: nothing routed to a server while it was down, and each outage
    // saw traffic (so the check above covered it).
    for (s, (from, to)) in outages.iter().enumerate() {
        let during: Vec<_> = rows
            .iter()
            .zip(&routed_at)
            .filter(|(_, t)| (*from..*to).contains(*t))
            .map(|(r, _)| r)
            .collect();
        assert!(
            during.len() > 100,
            "only {} requests during outage {s}",
            during.len()
        );
        for r in during {
            assert_ne!(
                r.server.as_deref(),
                Some(names[s]),
                "routed to a down server: {r:?}"
            );
        }
    }
    assert!(
        rows.iter().any(|r| r.ram_wait > 0.0),
        "no request waited for RAM"
    );
    assert!(
        rows.iter().any(|r| r.cpu_wait > 0.0),
        "no request waited for a core"
    );
}

#[test]
fn reference_model_reproduces_a_hand_computed_timeline() {
    // The model itself, on three requests worked out by hand (ns; RAM 384 MB):
    //   r0 /big   arrives 0:         admitted (256 MB), CPU1 0 -> 3_001_700,
    //                                I/O -> 10_015_000, CPU2 -> 12_324_100, leaves.
    //   r1 /big   arrives 1_000_000: 256 + 256 > 384, waits for RAM.
    //   r2 /small arrives 2_000_000: would fit (256 + 128), but waits behind r1
    //                                (head of line).
    //   12_324_100: r0 frees 256 MB; r1 then r2 are admitted (384 MB). r1 takes
    //               the free core (CPU1 -> 15_325_800); r2 joins the ready queue.
    //   15_325_800: r1 goes to I/O (-> 22_339_100) and hands the core to r2
    //               (CPU1 -> 18_327_500; I/O -> 25_340_800).
    //   22_339_100: r1's CPU2 -> 24_648_200, leaves.
    //   25_340_800: r2's CPU2 -> 27_649_900, leaves.
    let arrivals = [
        (0, 0, BIG_MB),
        (1, 1_000_000, BIG_MB),
        (2, 2_000_000, SMALL_MB),
    ];
    let (reqs, seen) = Server::new(1).run(&arrivals);
    let got = |r: usize| {
        let s = reqs[&r];
        (s.leave, s.ram_wait, s.cpu_wait, s.cpu, s.io)
    };
    let cpu = CPU1 + CPU2;
    assert_eq!(got(0), (Some(12_324_100), 0, 0, cpu, IO));
    assert_eq!(got(1), (Some(24_648_200), 11_324_100, 0, cpu, IO));
    assert_eq!(got(2), (Some(27_649_900), 10_324_100, 3_001_700, cpu, IO));
    assert_eq!(seen.blocked_behind_head, 1);
    assert_eq!(seen.io_handovers, 1);
}
