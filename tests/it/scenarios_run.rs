//! Every scenario we ship and every valid AsyncFlow scenario runs to its horizon
//! (benchmark scenarios to BENCH_HORIZON seconds, to keep the suite quick), and
//! its outputs agree with each other: the summary's counts with
//! `requests.parquet`, each edge's drop count with the rows dropped on it, every
//! completed request's time breakdown with its latency, and the latency summary
//! with the latencies in the file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use asyncflow::engine::time::SimTime;
use asyncflow::metrics::sink::OutputSelection;
use asyncflow::metrics::summary::QUANTILE_RELATIVE_ERROR;
use asyncflow::{RunOptions, Scenario};

use crate::support::{read_requests, yml_files};

const SCENARIOS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");
const COMPAT_VALID: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/compat/valid");
/// Simulated seconds of the benchmark scenarios (the others run in full).
const BENCH_HORIZON: u64 = 20;

/// Run `path` to its horizon, or to `cut` seconds if that is earlier.
fn check_runs(path: &Path, cut: Option<u64>) {
    let name = path.display().to_string();
    let sc = Scenario::load(path).unwrap_or_else(|e| panic!("{name}:\n{e}"));
    let full = sc.model().sim_settings.total_simulation_time.max(0) as u64;
    let horizon = cut.map_or(full, |c| full.min(c));
    let dir = tempfile::tempdir().expect("temporary directory");
    let out = dir.path().join("run");
    let res = asyncflow::run(
        &sc,
        RunOptions {
            seed: Some(1),
            horizon: Some(SimTime::from_secs(horizon)),
            out_dir: Some(out.clone()),
            outputs: Some(OutputSelection {
                requests: true,
                samples: false,
                events: false,
                spans: false,
                connections: false,
            }),
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    let s = &res.summary;
    assert_eq!(s.run.status, "complete", "{name}");
    assert_eq!(s.run.simulated_s, horizon as f64, "{name}");
    let c = &s.results.requests;
    assert!(c.generated > 0, "{name}: nothing generated");
    assert!(c.completed > 0, "{name}: nothing completed");
    // Every generated request ended with exactly one status, or is in flight.
    let ended: u64 = c.by_status.values().sum();
    assert_eq!(ended + c.in_flight_at_horizon, c.generated, "{name}: {c:?}");
    assert_eq!(c.by_status["completed"], c.completed, "{name}");
    assert_eq!(c.by_status["dropped"], c.dropped, "{name}");

    // The file holds exactly the requests that ended, each once.
    let rows = read_requests(&out.join("requests.parquet"));
    let ids: BTreeSet<u64> = rows.iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), rows.len(), "{name}: duplicate request ids");
    assert!(
        rows.iter().all(|r| (1..=c.generated).contains(&r.id)),
        "{name}: id out of range"
    );
    let completed = rows.iter().filter(|r| r.completed()).count() as u64;
    assert_eq!(completed, c.completed, "{name}: completed rows");
    assert_eq!(
        rows.len() as u64 - completed,
        ended - c.completed,
        "{name}: other rows"
    );
    for (status, &n) in &c.by_status {
        let got = rows.iter().filter(|r| &r.status == status).count() as u64;
        assert_eq!(got, n, "{name}: {status} rows");
    }
    assert_eq!(s.results.latency.count, c.completed, "{name}");

    // Drops per edge as the summary counts them and as the rows say.
    let mut dropped_on: BTreeMap<&str, u64> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.status == "dropped") {
        let on = r
            .dropped_on
            .as_deref()
            .unwrap_or_else(|| panic!("{name}: drop without place: {r:?}"));
        *dropped_on.entry(on).or_default() += 1;
    }
    for e in &s.results.edges {
        assert_eq!(
            e.dropped,
            dropped_on.remove(e.id.as_str()).unwrap_or(0),
            "{name}: edge {}",
            e.id
        );
        assert!(e.dropped <= e.sent);
    }
    // What is left was dropped at a load balancer with every server down.
    let lb_ids: Vec<String> = sc
        .model()
        .topology_graph
        .nodes
        .load_balancer
        .iter()
        .map(|l| l.id.clone())
        .collect();
    for on in dropped_on.keys() {
        assert!(
            lb_ids.iter().any(|l| l == on),
            "{name}: dropped on unknown {on}"
        );
    }

    // Refusals per node with sockets as the summary counts them and as the
    // rows say (a refusal names the node that refused).
    let mut refused_by: BTreeMap<&str, u64> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.status == "refused") {
        let by = r
            .dropped_on
            .as_deref()
            .unwrap_or_else(|| panic!("{name}: refusal without node: {r:?}"));
        *refused_by.entry(by).or_default() += 1;
    }
    for x in &s.results.sockets {
        assert_eq!(
            x.refused,
            refused_by.remove(x.id.as_str()).unwrap_or(0),
            "{name}: sockets of {}",
            x.id
        );
    }
    assert!(refused_by.is_empty(), "{name}: refused by {refused_by:?}");

    // Times: within the horizon, and the breakdown adds up (each part is an
    // integer number of ns written as f64 seconds, so allow a few rounding ulps).
    let h = horizon as f64;
    for r in &rows {
        assert!(r.created <= r.finished && r.finished < h, "{name}: {r:?}");
        if r.completed() {
            let parts = r.network + r.ram_wait + r.cpu_wait + r.cpu + r.io + r.call + r.connect;
            assert!(
                (parts - r.latency).abs() < 1e-8,
                "{name}: breakdown {parts} vs {r:?}"
            );
            assert!(
                r.server.is_some(),
                "{name}: completed without a server: {r:?}"
            );
        }
    }
    // The latency summary against the rows: mean, sd, min and max exact (up to
    // float rounding), quantiles within the documented relative error of the
    // nearest-rank order statistic.
    let mut lat: Vec<f64> = rows
        .iter()
        .filter(|r| r.completed())
        .map(|r| r.latency)
        .collect();
    lat.sort_by(f64::total_cmp);
    let l = &s.results.latency;
    let n = lat.len();
    let mean = lat.iter().sum::<f64>() / n as f64;
    assert!(
        (l.mean_s - mean).abs() < 1e-9,
        "{name}: mean {} vs {mean}",
        l.mean_s
    );
    if n > 1 {
        let sd = (lat.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
        assert!(
            (l.std_s - sd).abs() < 1e-9 + 1e-9 * sd,
            "{name}: sd {} vs {sd}",
            l.std_s
        );
    }
    assert_eq!((l.min_s, l.max_s), (lat[0], lat[n - 1]), "{name}: min/max");
    for (q, got) in [(0.5, l.p50_s), (0.95, l.p95_s), (0.99, l.p99_s)] {
        let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
        let exact = lat[rank - 1];
        assert!(
            (got - exact).abs() <= QUANTILE_RELATIVE_ERROR * exact + 1e-9,
            "{name}: p{} {got} vs order statistic {exact} (rank {rank} of {n})",
            q * 100.0
        );
    }
}

#[test]
fn every_shipped_scenario_runs_to_its_horizon() {
    let files = yml_files(Path::new(SCENARIOS));
    assert!(files.len() >= 4, "{} scenario files", files.len());
    for f in files {
        // The benchmark scenarios are large; a prefix of them is enough here.
        let bench = f.components().any(|c| c.as_os_str() == "bench");
        check_runs(&f, bench.then_some(BENCH_HORIZON));
    }
}

#[test]
fn every_valid_asyncflow_scenario_runs_to_its_horizon() {
    let files = yml_files(Path::new(COMPAT_VALID));
    assert!(files.len() >= 3, "{} compat files", files.len());
    for f in files {
        check_runs(&f, None);
    }
}
