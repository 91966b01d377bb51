//! Sockets and connections against their oracles: Erlang B for a server whose
//! sockets are its only limit (and its insensitivity to the holding time's
//! distribution), Little's law for open sockets, keep-alive pools and
//! handshakes measured exactly with constant latencies, and socket RAM taken
//! from the server's requests.

use asyncflow::metrics::sink::OutputSelection;

use crate::support::{self, Run, constant, t_interval};

/// Erlang B: the probability that an arrival finds all `c` servers busy in an
/// M/G/c/c loss system with offered load `a` (erlangs), by the stable
/// recursion B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1)).
pub fn erlang_b(c: u32, a: f64) -> f64 {
    (1..=c).fold(1.0, |b, k| a * b / (f64::from(k) + a * b))
}

/// The offered load at which B(c, a) = `target` (B grows with a), by
/// bisection.
fn load_for_blocking(c: u32, target: f64) -> f64 {
    let (mut lo, mut hi) = (1e-6, 10.0 * f64::from(c) + 10.0);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if erlang_b(c, mid) < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

const NO_FILES: OutputSelection = OutputSelection {
    requests: false,
    samples: false,
    events: false,
    spans: false,
    connections: false,
};

/// One server with `sockets.max: c`, `backlog: 0`, per-request connections
/// (the default once the server declares sockets), `c` cores (so no request
/// ever waits for a core: at most `c` are inside), CPU time `cpu`, Poisson
/// arrivals at `rate`, edges of 1 µs mean.
fn loss_system(c: u32, rate: f64, cpu: &str, horizon: u64) -> String {
    let e = "{ mean: 0.000001, distribution: exponential }";
    format!(
        "rqs_input:
  id: gen
  avg_active_users: {{ mean: 60, distribution: normal, variance: 0 }}
  avg_request_per_minute_per_user: {{ mean: {rate} }}
  user_sampling_window: 60
topology_graph:
  nodes:
    client: {{ id: cli }}
    servers:
      - id: srv
        server_resources: {{ cpu_cores: {c}, ram_mb: 4096 }}
        sockets: {{ max: {c}, backlog: 0 }}
        endpoints:
          - endpoint_name: /x
            steps:
              - {{ kind: initial_parsing, step_operation: {{ cpu_time: {cpu} }} }}
  edges:
    - {{ id: gen-cli, source: gen, target: cli, latency: {e}, dropout_rate: 0.0 }}
    - {{ id: cli-srv, source: cli, target: srv, latency: {e}, dropout_rate: 0.0 }}
    - {{ id: srv-cli, source: srv, target: cli, latency: {e}, dropout_rate: 0.0 }}
sim_settings:
  total_simulation_time: {horizon}
  sample_period_s: 0.1
"
    )
}

/// Replications per Erlang B case and their length.
const R: u64 = 10;
const HORIZON: u64 = 60;
const SEED: u64 = 20_261_205;
/// Mean holding time (CPU) of the loss system, seconds.
const S: f64 = 0.01;

/// Refused fraction of the connections that reached the server.
fn refused_fraction(run: &Run) -> f64 {
    let s = &run.summary.results.sockets[0];
    s.refused as f64 / (s.refused + s.accepted) as f64
}

fn check_erlang_b(c: u32, target: f64, cpu: &str) {
    let a = load_for_blocking(c, target);
    let rate = a / S;
    let yaml = loss_system(c, rate, cpu, HORIZON);
    let est: Vec<f64> = (0..R)
        .map(|rep| refused_fraction(&support::run_with(&yaml, SEED, rep, None, NO_FILES)))
        .collect();
    let (m, half) = t_interval(&est, 0.95);
    let b = erlang_b(c, a);
    eprintln!("Erlang B c={c} a={a:.3} cpu={cpu}: refused {m:.5} ± {half:.5}, B = {b:.5}");
    assert!(
        (m - b).abs() < half,
        "c = {c}, a = {a}: refused fraction {m} outside the 95% CI ±{half} of B = {b} ({est:?})"
    );
}

#[test]
fn refusals_of_a_loss_system_match_erlang_b_for_five_sockets() {
    let exp = format!("{{ mean: {S}, distribution: exponential }}");
    check_erlang_b(5, 0.02, &exp);
    check_erlang_b(5, 0.2, &exp);
}

#[test]
fn refusals_of_a_loss_system_match_erlang_b_for_twenty_sockets() {
    let exp = format!("{{ mean: {S}, distribution: exponential }}");
    check_erlang_b(20, 0.02, &exp);
    check_erlang_b(20, 0.2, &exp);
}

#[test]
fn erlang_b_is_insensitive_to_the_holding_time_distribution() {
    // Log-normal with the same mean and a squared coefficient of variation
    // of 2: the blocking probability depends on the mean only.
    let lognormal = format!(
        "{{ mean: {S}, distribution: log_normal, variance: {} }}",
        2.0 * S * S
    );
    check_erlang_b(5, 0.2, &lognormal);
    check_erlang_b(20, 0.02, &lognormal);
}

#[test]
fn mean_open_sockets_is_the_accepted_rate_times_the_connection_lifetime() {
    let yaml = loss_system(5, 300.0, "{ mean: 0.01, distribution: exponential }", 120);
    let run = support::run_with(&yaml, SEED, 0, None, NO_FILES);
    let res = &run.summary.results;
    let (s, c) = (&res.sockets[0], &res.connections[0]);
    let t = 120.0;
    let lambda = c.closed as f64 / t;
    let little = lambda * c.lifetime_mean_s;
    // The time integral of open sockets and the sum of closed connections'
    // lifetimes differ only by the connections open at the horizon (at most
    // `max` of them, none older than the longest latency) and by each
    // connection's SYN time before its socket was accepted (1 µs mean edges).
    let bound = (5.0 * res.latency.max_s + c.closed as f64 * 1e-5) / t;
    eprintln!(
        "open sockets mean {} vs lambda x lifetime {little} (bound {bound})",
        s.open_mean
    );
    assert!(s.open_mean > 1.0, "{s:?}");
    assert!((s.open_mean - little).abs() <= bound, "{s:?} vs {little}");
}

/// Client → server with constant 1 ms edges, 5 ms of CPU on 4 cores, 100
/// requests/s over ten minutes; `conn` is the client → server edge's
/// `connection` (empty: none).
fn pooled(conn: &str) -> String {
    let e = constant(0.001);
    format!(
        "rqs_input:
  id: gen
  avg_active_users: {{ mean: 60, distribution: normal, variance: 0 }}
  avg_request_per_minute_per_user: {{ mean: 100 }}
  user_sampling_window: 60
topology_graph:
  nodes:
    client: {{ id: cli }}
    servers:
      - id: srv
        server_resources: {{ cpu_cores: 4, ram_mb: 4096 }}
        endpoints:
          - endpoint_name: /x
            steps:
              - {{ kind: initial_parsing, step_operation: {{ cpu_time: 0.005 }} }}
  edges:
    - {{ id: gen-cli, source: gen, target: cli, latency: {e}, dropout_rate: 0.0 }}
    - {{ id: cli-srv, source: cli, target: srv, latency: {e}, dropout_rate: 0.0{conn} }}
    - {{ id: srv-cli, source: srv, target: cli, latency: {e}, dropout_rate: 0.0 }}
sim_settings:
  total_simulation_time: 600
  sample_period_s: 0.1
"
    )
}

const REQUESTS: OutputSelection = OutputSelection {
    requests: true,
    samples: false,
    events: false,
    spans: false,
    connections: false,
};

#[test]
fn a_large_keep_alive_pool_opens_few_connections_and_hides_the_handshake() {
    let base = support::run_with(&pooled(""), SEED, 0, None, REQUESTS);
    let pool = 64;
    let ka = support::run_with(
        &pooled(&format!(
            ", connection: {{ mode: keep_alive, pool_size: {pool}, idle_timeout_s: 10000 }}"
        )),
        SEED,
        0,
        None,
        REQUESTS,
    );
    let c = &ka.summary.results.connections[0];
    assert!(c.opened >= 1 && c.opened <= pool, "{c:?}");
    assert!(c.open_max <= pool as f64, "{c:?}");
    assert_eq!(c.refused, 0);
    // Only the request that opened a connection paid for the handshake: one
    // round trip of the edge, 2 ms exactly.
    let paid: Vec<_> = ka.requests.iter().filter(|r| r.connect > 0.0).collect();
    assert_eq!(paid.len() as u64, c.opened, "{c:?}");
    for r in &paid {
        assert_eq!(support::ns(r.connect), 2_000_000, "{r:?}");
    }
    assert_eq!(ka.requests.len(), base.requests.len());
    assert!(ka.requests.len() > 50_000);
    // Every other request has exactly the latency it has without
    // connections.
    let same = ka
        .requests
        .iter()
        .zip(&base.requests)
        .filter(|(k, b)| k.connect == 0.0 && support::ns(k.latency) == support::ns(b.latency))
        .count();
    assert!(
        same + paid.len() >= ka.requests.len() - pool as usize,
        "{same} of {}",
        ka.requests.len()
    );
}

#[test]
fn per_request_connections_add_one_round_trip_to_every_request() {
    let base = support::run_with(&pooled(""), SEED, 0, None, REQUESTS);
    let per = support::run_with(
        &pooled(", connection: { mode: per_request }"),
        SEED,
        0,
        None,
        REQUESTS,
    );
    assert_eq!(per.requests.len(), base.requests.len());
    assert!(per.requests.len() > 50_000);
    for (p, b) in per.requests.iter().zip(&base.requests) {
        assert_eq!(p.id, b.id);
        assert!(p.completed() && b.completed());
        // The handshake is one round trip of a constant 1 ms edge.
        assert_eq!(support::ns(p.connect), 2_000_000, "{p:?}");
        assert!(
            (support::ns(p.latency) - support::ns(b.latency) - 2_000_000).abs() <= 1,
            "{p:?} vs {b:?}"
        );
    }
    let c = &per.summary.results.connections[0];
    assert_eq!(
        c.opened,
        per.requests.len() as u64 + per.summary.results.requests.in_flight_at_horizon
    );
    assert_eq!(c.reused, 0);
}

/// A server whose sockets' RAM competes with its requests: 1000 MB, three
/// sockets, requests of 300 MB doing 100 ms of I/O; `per_conn` MB per socket.
fn socket_ram(per_conn: &str) -> String {
    let e = constant(0.001);
    format!(
        "rqs_input:
  id: gen
  avg_active_users: {{ mean: 60, distribution: normal, variance: 0 }}
  avg_request_per_minute_per_user: {{ mean: 20 }}
  user_sampling_window: 60
topology_graph:
  nodes:
    client: {{ id: cli }}
    servers:
      - id: srv
        server_resources: {{ cpu_cores: 4, ram_mb: 1000 }}
        sockets: {{ max: 3, backlog: 16{per_conn} }}
        endpoints:
          - endpoint_name: /x
            steps:
              - {{ kind: ram, step_operation: {{ necessary_ram: 300 }} }}
              - {{ kind: io_wait, step_operation: {{ io_waiting_time: 0.1 }} }}
  edges:
    - {{ id: gen-cli, source: gen, target: cli, latency: {e}, dropout_rate: 0.0 }}
    - {{ id: cli-srv, source: cli, target: srv, latency: {e}, dropout_rate: 0.0 }}
    - {{ id: srv-cli, source: srv, target: cli, latency: {e}, dropout_rate: 0.0 }}
sim_settings:
  total_simulation_time: 300
  sample_period_s: 0.1
"
    )
}

#[test]
fn socket_ram_counts_in_ram_in_use_and_starves_requests() {
    // Three sockets bound the server to three requests: 900 MB, which fits,
    // so without socket RAM nothing ever waits for RAM.
    let free = support::run_with(&socket_ram(""), SEED, 0, None, REQUESTS);
    let srv = &free.summary.results.servers[0];
    assert!(srv.ram_in_use_max_mb <= 900.0, "{srv:?}");
    assert!(free.requests.iter().all(|r| r.ram_wait == 0.0));
    // With 50 MB per socket, three sockets and three requests need 1050 MB:
    // the third request waits for RAM (at most two hold it at once), and the
    // gauge counts the sockets.
    let tight = support::run_with(
        &socket_ram(", ram_per_connection_mb: 50"),
        SEED,
        0,
        None,
        REQUESTS,
    );
    let res = &tight.summary.results;
    let (srv, s) = (&res.servers[0], &res.sockets[0]);
    assert!(srv.ram_in_use_max_mb <= 1000.0, "{srv:?}");
    // Requests alone never hold more than 300 MB x the most of them in
    // their I/O at once; the gauge shows more: the sockets' RAM.
    assert!(
        srv.ram_in_use_max_mb > 300.0 * srv.io_sleep_max,
        "socket RAM not counted: {srv:?}"
    );
    assert!(srv.io_sleep_max <= 2.0, "three requests fitted: {srv:?}");
    assert!(
        s.socket_ram_max_mb > 100.0 && s.socket_ram_max_mb <= 150.0,
        "{s:?}"
    );
    let waited = tight.requests.iter().filter(|r| r.ram_wait > 0.0).count();
    assert!(waited > 100, "only {waited} requests waited for RAM");
    assert!(srv.ram_wait_queue_max >= 1.0, "{srv:?}");
    let mean =
        |run: &Run| run.requests.iter().map(|r| r.latency).sum::<f64>() / run.requests.len() as f64;
    assert!(
        mean(&tight) > mean(&free),
        "socket RAM did not slow requests"
    );
}

#[test]
fn erlang_b_recursion_matches_the_closed_form() {
    // B(c, a) = (a^c / c!) / sum_k a^k / k!.
    for (c, a) in [(1u32, 0.5f64), (5, 3.0), (10, 7.5)] {
        let mut term = 1.0;
        let mut sum = 1.0;
        for k in 1..=c {
            term *= a / f64::from(k);
            sum += term;
        }
        assert!((erlang_b(c, a) - term / sum).abs() < 1e-12);
    }
    assert!((load_for_blocking(5, 0.2) - 4.0).abs() < 0.05);
}

#[test]
fn connections_parquet_has_one_row_per_closed_connection() {
    let yaml = loss_system(5, 300.0, "{ mean: 0.01, distribution: exponential }", 30);
    let run = support::run_with(
        &yaml,
        SEED,
        0,
        None,
        OutputSelection {
            connections: true,
            ..NO_FILES
        },
    );
    let c = &run.summary.results.connections[0];
    let path = support::run_dir(&run).join("connections.parquet");
    let mut rows = 0usize;
    let mut lifetime = 0.0;
    let mut carried = 0u64;
    for b in support::batches(&path) {
        use arrow_array::cast::AsArray;
        use arrow_array::types::{Float64Type, UInt32Type};
        rows += b.num_rows();
        let col = |n: &str| {
            b.column_by_name(n)
                .expect(n)
                .as_primitive::<Float64Type>()
                .clone()
        };
        let (opened, closed, life) = (col("opened_s"), col("closed_s"), col("lifetime_s"));
        for i in 0..b.num_rows() {
            assert!(opened.value(i) <= closed.value(i));
            assert!((closed.value(i) - opened.value(i) - life.value(i)).abs() < 1e-9);
            lifetime += life.value(i);
        }
        let req = b.column_by_name("requests").expect("requests");
        carried += req
            .as_primitive::<UInt32Type>()
            .values()
            .iter()
            .map(|&v| u64::from(v))
            .sum::<u64>();
    }
    assert!(rows > 1000);
    assert_eq!(rows as u64, c.closed, "{c:?}");
    assert_eq!(carried, c.closed, "one request per per-request connection");
    let mean = lifetime / rows as f64;
    assert!(
        (mean - c.lifetime_mean_s).abs() < 1e-9 * c.lifetime_mean_s.max(1.0),
        "{mean} vs {c:?}"
    );
    // Without the selection, no file.
    let run = support::run_with(&yaml, SEED, 0, None, NO_FILES);
    assert!(!support::run_dir(&run).join("connections.parquet").exists());
}
