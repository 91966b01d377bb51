//! Agreement with AsyncFlow on its own scenarios.
//!
//! `tests/data/peer_reference.json` holds AsyncFlow 0.1.1's results on each valid
//! compat file for 20 seeds (written by `tools/run_peer.py`). We run the same
//! files for SEEDS seeds and compare the across-seed means of the mean and the
//! 95th percentile latency. The runs of either engine are i.i.d. given the file,
//! so each side's standard error is its across-seed sd / sqrt(n), and the check
//! is |ours - peer| < Z * sqrt(se_ours^2 + se_peer^2) + q, where q allows for the
//! different quantile definitions: ours comes from an HDR histogram within
//! `QUANTILE_RELATIVE_ERROR` of an order statistic, the peer's is numpy's linear
//! interpolation between neighbouring order statistics (their gap is far below
//! that bound at these sample sizes).

use std::path::Path;

use asyncflow::metrics::summary::QUANTILE_RELATIVE_ERROR;
use asyncflow::{RunOptions, Scenario};

use crate::support::mean_sd;

const REFERENCE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/peer_reference.json"
);
const COMPAT_VALID: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/compat/valid");
/// Our runs per file.
const SEEDS: u64 = 20;
/// Standard errors allowed.
const Z: f64 = 4.0;

/// Across-seed mean and sd of one statistic in the reference.
fn peer_stat(scenario: &serde_json::Value, key: &str) -> (f64, f64, f64) {
    let s = &scenario["across_seeds"][key];
    let get = |k: &str| {
        s[k].as_f64()
            .unwrap_or_else(|| panic!("reference: across_seeds.{key}.{k}"))
    };
    (get("mean"), get("sd"), get("n"))
}

#[test]
fn mean_and_p95_latency_agree_with_asyncflow() {
    let Ok(text) = std::fs::read_to_string(REFERENCE) else {
        eprintln!("SKIPPED: {REFERENCE} is absent (written by tools/run_peer.py)");
        return;
    };
    let reference: serde_json::Value =
        serde_json::from_str(&text).expect("peer_reference.json is JSON");
    let scenarios = reference["scenarios"]
        .as_object()
        .expect("reference has scenarios");
    assert!(!scenarios.is_empty());
    let mut failures = Vec::new();
    for (file, peer) in scenarios {
        let path = Path::new(COMPAT_VALID).join(file);
        let sc = Scenario::load(&path).unwrap_or_else(|e| panic!("{file}:\n{e}"));
        let (mut means, mut p95s) = (Vec::new(), Vec::new());
        for seed in 1..=SEEDS {
            let res = asyncflow::run(
                &sc,
                RunOptions {
                    seed: Some(seed),
                    ..Default::default()
                },
            )
            .unwrap_or_else(|e| panic!("{file}: {e}"));
            means.push(res.summary.results.latency.mean_s);
            p95s.push(res.summary.results.latency.p95_s);
        }
        for (key, ours, quantile) in [("mean_s", &means, false), ("p95_s", &p95s, true)] {
            let (m, sd) = mean_sd(ours);
            let (pm, psd, pn) = peer_stat(peer, key);
            let se = ((sd * sd) / SEEDS as f64 + (psd * psd) / pn).sqrt();
            let q = if quantile {
                QUANTILE_RELATIVE_ERROR * pm
            } else {
                0.0
            };
            let tol = Z * se + q;
            let line = format!(
                "{file} {key}: ours {m:.6} (sd {sd:.2e}, n {SEEDS}), AsyncFlow {pm:.6} (sd {psd:.2e}, n {pn}); |diff| {:.2e}, tolerance {tol:.2e}",
                (m - pm).abs()
            );
            eprintln!("{line}");
            if (m - pm).abs() >= tol {
                failures.push(line);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "disagreements with AsyncFlow:\n{}",
        failures.join("\n")
    );
}
