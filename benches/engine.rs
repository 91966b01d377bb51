//! The engine on each bench scenario (`scenarios/bench/`), reporting simulated
//! requests (completed + dropped) per second as criterion's element throughput.
//! Long scenarios are cut with a horizon so one iteration stays around a second.

use std::path::PathBuf;

use asyncflow::engine::time::SimTime;
use asyncflow::metrics::sink::OutputSelection;
use asyncflow::{RunOptions, Scenario};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

fn load(name: &str) -> Scenario {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/bench")
        .join(name);
    Scenario::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn run(s: &Scenario, horizon: Option<SimTime>, out: Option<PathBuf>) -> u64 {
    let r = asyncflow::run(
        s,
        RunOptions {
            seed: Some(1),
            horizon,
            outputs: Some(if out.is_some() {
                OutputSelection::ALL
            } else {
                OutputSelection::NONE
            }),
            out_dir: out,
            ..RunOptions::default()
        },
    )
    .expect("bench scenario runs");
    r.summary.results.requests.completed + r.summary.results.requests.dropped
}

fn bench_engine(c: &mut Criterion) {
    let cases: [(&str, Option<SimTime>); 4] = [
        ("quickstart.yml", None),
        ("lb10_10k_rps.yml", Some(SimTime::from_secs(20))),
        ("overload_5000_users.yml", Some(SimTime::from_secs(10))),
        ("large_1000_servers.yml", Some(SimTime::from_secs(5))),
    ];
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut group = c.benchmark_group("engine");
    group.sample_size(10);
    for (name, horizon) in cases {
        let s = load(name);
        for outputs in [false, true] {
            let out = outputs.then(|| tmp.path().join(name));
            let requests = run(&s, horizon, out.clone());
            group.throughput(Throughput::Elements(requests));
            let id = BenchmarkId::new(
                if outputs {
                    "outputs_all"
                } else {
                    "outputs_none"
                },
                name,
            );
            group.bench_function(id, |b| b.iter(|| run(&s, horizon, out.clone())));
        }
    }
    group.finish();
}

criterion_group!(benches, bench_engine);
criterion_main!(benches);
