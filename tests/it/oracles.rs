//! Analytic queueing oracles: the engine's waiting times against closed forms.
//!
//! Every scenario is a single server fed by a constant-rate Poisson stream over
//! constant 1 ms edges with no dropout, so the server sees a Poisson stream (a
//! Poisson process shifted by a constant is Poisson) and the only random delay is
//! the wait for a core (`cpu_wait_s` in `requests.parquet`).
//!
//! Estimation: R independent replications (same seed, replication index 0..R, so
//! every random stream differs). Each replication gives one estimate: the mean
//! `cpu_wait_s` of the requests created in [WARMUP, HORIZON - TAIL]. Dropping the
//! first WARMUP seconds removes the empty-start bias (WARMUP is many relaxation
//! times of every queue here); stopping TAIL seconds before the horizon makes sure
//! every request counted has finished (asserted), so slow requests are not
//! censored. The R estimates are i.i.d.; their standard error is sd / sqrt(R), and
//! each check is |mean - theory| < Z * SE with Z = 4 (for R = 20 the Student t
//! tail beyond 4 with 19 degrees of freedom is about 0.08%, and the seeds are fixed,
//! so a pass is reproducible and a failure means a real disagreement).

use crate::queueing::erlang_c_wait;
use crate::support::{self, Run, mean_sd};

/// Replications per case.
const R: u64 = 20;
/// Base seed of every case.
const SEED: u64 = 20_251_125;
/// Simulated seconds per replication.
const HORIZON: u64 = 420;
/// Seconds discarded at the start.
const WARMUP: f64 = 20.0;
/// Seconds before the horizon after which requests are not counted.
const TAIL: f64 = 10.0;
/// Standard errors allowed.
const Z: f64 = 4.0;

/// Mean `cpu_wait_s` of the requests created in the measurement window; asserts
/// that every one of them completed and that the constant parts are exact.
fn window_mean_wait(run: &Run, expect_cpu: Option<f64>) -> f64 {
    let lo = WARMUP;
    let hi = HORIZON as f64 - TAIL;
    let rows: Vec<_> = run
        .requests
        .iter()
        .filter(|r| r.created >= lo && r.created < hi)
        .collect();
    assert!(
        rows.len() > 1000,
        "only {} requests in the window",
        rows.len()
    );
    // Ids are dense in generation order: every request created in the window is
    // in the file (nothing is dropped, nothing is still in flight).
    let (first, last) = (rows[0].id, rows[rows.len() - 1].id);
    assert_eq!(
        last - first + 1,
        rows.len() as u64,
        "requests missing from the window"
    );
    for r in &rows {
        assert!(r.completed(), "request {} not completed: {r:?}", r.id);
        // Three 1 ms edges, no RAM wait, no I/O.
        assert!((r.network - 0.003).abs() < 1e-9, "network {r:?}");
        assert_eq!(r.ram_wait, 0.0);
        assert_eq!(r.io, 0.0);
        if let Some(s) = expect_cpu {
            assert!((r.cpu - s).abs() < 1e-9, "cpu {r:?}");
        }
        let parts = r.network + r.cpu_wait + r.cpu;
        assert!(
            (r.latency - parts).abs() < 1e-8,
            "breakdown does not add up: {r:?}"
        );
    }
    rows.iter().map(|r| r.cpu_wait).sum::<f64>() / rows.len() as f64
}

/// Run R replications of `yaml` and check the mean wait against `theory`.
fn check_wait(case: &str, yaml: &str, expect_cpu: Option<f64>, theory: f64) {
    let est: Vec<f64> = (0..R)
        .map(|rep| window_mean_wait(&support::run(yaml, SEED, rep), expect_cpu))
        .collect();
    let (m, sd) = mean_sd(&est);
    let se = sd / (R as f64).sqrt();
    eprintln!("{case}: Wq estimate {m:.6} s (SE {se:.6}), theory {theory:.6} s");
    assert!(se > 0.0, "{case}: replications are identical: {est:?}");
    assert!(
        (m - theory).abs() < Z * se,
        "{case}: mean wait {m} vs theory {theory}: |diff| = {} >= {Z} SE = {} (estimates {est:?})",
        (m - theory).abs(),
        Z * se
    );
}

/// M/D/1 mean wait, Pollaczek-Khinchine with zero service variance
/// (mean-value form W = lambda E[S^2] / (2 (1 - rho)) with E[S^2] = S^2; Kleinrock,
/// Queueing Systems vol. 1, 1975, ch. 5, the M/G/1 queue):
/// Wq = rho S / (2 (1 - rho)).
fn md1_wait(lambda: f64, s: f64) -> f64 {
    let rho = lambda * s;
    rho * s / (2.0 * (1.0 - rho))
}

#[test]
fn md1_at_rho_one_half_matches_pollaczek_khinchine() {
    // S = 10 ms, lambda = 50/s: rho = 0.5, Wq = 5 ms.
    let yaml = support::single_server(
        50.0,
        1,
        1024,
        &["{ kind: initial_parsing, step_operation: { cpu_time: 0.01 } }"],
        HORIZON,
    );
    check_wait("M/D/1 rho=0.5", &yaml, Some(0.01), md1_wait(50.0, 0.01));
}

#[test]
fn md1_at_rho_nine_tenths_matches_pollaczek_khinchine() {
    // S = 10 ms, lambda = 90/s: rho = 0.9, Wq = 45 ms.
    let yaml = support::single_server(
        90.0,
        1,
        1024,
        &["{ kind: initial_parsing, step_operation: { cpu_time: 0.01 } }"],
        HORIZON,
    );
    check_wait("M/D/1 rho=0.9", &yaml, Some(0.01), md1_wait(90.0, 0.01));
}

#[test]
fn mm1_at_rho_eight_tenths_matches_closed_form() {
    // M/M/1 (Kleinrock vol. 1, ch. 3, birth-death queues, with Little's law):
    // Wq = rho / (mu - lambda).
    // mu = 100/s (exponential CPU time, mean 10 ms), lambda = 80/s: Wq = 40 ms.
    let (lambda, mu) = (80.0, 100.0);
    let yaml = support::single_server(
        lambda,
        1,
        1024,
        &[
            "{ kind: initial_parsing, step_operation: { cpu_time: { mean: 0.01, distribution: exponential } } }",
        ],
        HORIZON,
    );
    check_wait("M/M/1 rho=0.8", &yaml, None, (lambda / mu) / (mu - lambda));
}

#[test]
fn mmc_with_four_cores_at_rho_eight_tenths_matches_erlang_c() {
    // c = 4 cores, mu = 50/s each (exponential CPU, mean 20 ms), lambda = 160/s:
    // rho = lambda / (c mu) = 0.8, Wq ~ 14.9 ms.
    let (lambda, mu, c) = (160.0, 50.0, 4);
    let yaml = support::single_server(
        lambda,
        c,
        1024,
        &[
            "{ kind: initial_parsing, step_operation: { cpu_time: { mean: 0.02, distribution: exponential } } }",
        ],
        HORIZON,
    );
    check_wait("M/M/4 rho=0.8", &yaml, None, erlang_c_wait(lambda, mu, c));
}

#[test]
fn io_only_endpoint_is_an_infinite_server() {
    // No CPU step: nothing ever waits, so every latency is the three 1 ms edges
    // plus the 50 ms I/O wait, exactly (times are integer nanoseconds).
    let (lambda, d, horizon) = (200.0, 0.05, 60u64);
    let yaml = support::single_server(
        lambda,
        1,
        1024,
        &["{ kind: io_wait, step_operation: { io_waiting_time: 0.05 } }"],
        horizon,
    );
    let run = support::run(&yaml, SEED, 0);
    let lat = &run.summary.results.latency;
    let expect = 0.003 + d;
    assert!(lat.count > 10_000, "{lat:?}");
    assert!((lat.min_s - expect).abs() < 1e-9, "min {lat:?}");
    assert!((lat.max_s - expect).abs() < 1e-9, "max {lat:?}");
    assert!((lat.mean_s - expect).abs() < 1e-9, "mean {lat:?}");
    let done: Vec<_> = run.requests.iter().filter(|r| r.completed()).collect();
    assert_eq!(done.len() as u64, lat.count);
    for r in done {
        assert!((r.latency - expect).abs() < 1e-9, "{r:?}");
        assert!(
            (r.io - d).abs() < 1e-9 && r.cpu == 0.0 && r.cpu_wait == 0.0,
            "{r:?}"
        );
    }
    // M/D/inf: the number in I/O is Poisson with mean lambda d (Little). Its time
    // average over T has variance (2/T) * integral of the autocovariance
    // lambda (d - s)+, i.e. lambda d^2 / T; the empty start lowers it by at most
    // lambda d * (d + 2 ms) / T.
    let srv = &run.summary.results.servers[0];
    let t = horizon as f64;
    let se = (lambda * d * d / t).sqrt();
    let bias = lambda * d * (d + 0.002) / t;
    let theory = lambda * d;
    assert!(
        (srv.io_sleep_mean - theory).abs() < Z * se + bias,
        "io_sleep_mean {} vs {theory} (SE {se})",
        srv.io_sleep_mean
    );
    assert_eq!(srv.ready_queue_mean, 0.0);
    assert_eq!(srv.cpu_utilisation, 0.0);
}

#[test]
fn littles_law_links_the_ready_queue_gauge_and_the_waits() {
    // M/M/2 at rho = 0.75: lambda = 150/s, mu = 100/s per core.
    let (lambda, horizon) = (150.0, 200u64);
    let yaml = support::single_server(
        lambda,
        2,
        1024,
        &[
            "{ kind: initial_parsing, step_operation: { cpu_time: { mean: 0.01, distribution: exponential } } }",
        ],
        horizon,
    );
    let t = horizon as f64;
    let mut diffs = Vec::new();
    for rep in 0..R {
        let run = support::run(&yaml, SEED + 1, rep);
        let srv = &run.summary.results.servers[0];
        let area = srv.ready_queue_mean * t;
        // Sample-path identity (no statistics): the area under the ready-queue
        // gauge is the sum of the waits inside [0, T]. Finished requests count
        // whole; a request still in flight at T (an id missing from the file)
        // waited at most T - its creation, which is no earlier than the creation
        // of the last recorded request generated before it.
        let recorded: f64 = run.requests.iter().map(|r| r.cpu_wait).sum();
        let mut unfinished_bound = 0.0;
        let mut prev_created = 0.0;
        let mut next_id = 1;
        for r in &run.requests {
            unfinished_bound += (r.id - next_id) as f64 * (t - prev_created);
            prev_created = r.created;
            next_id = r.id + 1;
        }
        let generated = run.summary.results.requests.generated;
        unfinished_bound += (generated + 1 - next_id) as f64 * (t - prev_created);
        assert!(
            area >= recorded - 1e-6,
            "rep {rep}: area {area} < sum of waits {recorded}"
        );
        assert!(
            area <= recorded + unfinished_bound + 1e-6,
            "rep {rep}: area {area} > sum of waits {recorded} + bound {unfinished_bound}"
        );
        // L = lambda W with the nominal rate: the two sides differ by
        // (N/T - lambda) W plus the unfinished part, both mean-zero to O(1/T).
        let n = run.requests.iter().filter(|r| r.completed()).count() as f64;
        let w = run
            .requests
            .iter()
            .filter(|r| r.completed())
            .map(|r| r.cpu_wait)
            .sum::<f64>()
            / n;
        diffs.push(srv.ready_queue_mean - lambda * w);
    }
    let (m, sd) = mean_sd(&diffs);
    let se = sd / (R as f64).sqrt();
    eprintln!("Little: mean(L - lambda W) = {m:.6} (SE {se:.6})");
    assert!(
        m.abs() < Z * se,
        "L - lambda W = {m} (SE {se}, diffs {diffs:?})"
    );
}
