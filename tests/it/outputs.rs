//! The Parquet outputs of real runs: row counts against the summary, exactness of
//! the summary against the files, gauge integrals against request rows, the
//! Python consumers (DuckDB and Polars), and interrupted runs.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, UInt32Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use asyncflow::engine::time::SimTime;
use asyncflow::metrics::sink::OutputSelection;
use asyncflow::{RunOptions, Scenario, Summary};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> (Vec<RecordBatch>, BTreeMap<String, String>) {
    let file = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).expect("valid parquet");
    let meta: BTreeMap<String, String> = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .map(|kv| {
            kv.iter()
                .map(|k| (k.key.clone(), k.value.clone().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    let batches = builder
        .build()
        .expect("reader")
        .map(|b| b.expect("batch"))
        .collect();
    (batches, meta)
}

fn f64s(batches: &[RecordBatch], col: &str) -> Vec<f64> {
    batches
        .iter()
        .flat_map(|b| {
            b.column_by_name(col)
                .expect(col)
                .as_primitive::<Float64Type>()
                .values()
                .to_vec()
        })
        .collect()
}

fn strings(batches: &[RecordBatch], col: &str) -> Vec<Option<String>> {
    let mut out = Vec::new();
    for b in batches {
        let d = b
            .column_by_name(col)
            .expect(col)
            .as_dictionary::<UInt32Type>();
        let values = d.values().as_string::<i32>();
        for i in 0..d.len() {
            out.push(d.key(i).map(|k| values.value(k).to_owned()));
        }
    }
    out
}

fn run(scenario: &Scenario, dir: &Path, seed: u64, horizon: Option<SimTime>) -> Summary {
    asyncflow::run(
        scenario,
        RunOptions {
            seed: Some(seed),
            horizon,
            out_dir: Some(dir.to_path_buf()),
            outputs: Some(OutputSelection::ALL),
            ..RunOptions::default()
        },
    )
    .expect("run")
    .summary
}

fn quickstart() -> Scenario {
    Scenario::load(&root().join("scenarios/quickstart.yml")).expect("quickstart is valid")
}

#[test]
fn row_counts_and_summary_agree_with_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let s = run(&quickstart(), dir.path(), 7, Some(SimTime::from_secs(60)));
    let r = &s.results;

    let (req, meta) = read(&dir.path().join("requests.parquet"));
    assert_eq!(
        meta.get("asyncflow.status").map(String::as_str),
        Some("complete")
    );
    assert_eq!(meta.get("asyncflow.seed").map(String::as_str), Some("7"));
    let status = strings(&req, "status");
    let completed = status
        .iter()
        .filter(|s| s.as_deref() == Some("completed"))
        .count() as u64;
    let dropped = status
        .iter()
        .filter(|s| s.as_deref() == Some("dropped"))
        .count() as u64;
    assert_eq!(completed, r.requests.completed);
    assert_eq!(dropped, r.requests.dropped);
    assert_eq!(
        r.requests.generated,
        completed + dropped + r.requests.in_flight_at_horizon
    );

    // Exact mean: the summary sums integer nanoseconds; the file holds f64
    // seconds, so agreement is to float precision of a ~1e5-term sum.
    let lat = f64s(&req, "latency_s");
    let mut done: Vec<f64> = lat
        .iter()
        .zip(&status)
        .filter(|(_, s)| s.as_deref() == Some("completed"))
        .map(|(l, _)| *l)
        .collect();
    let mean = done.iter().sum::<f64>() / done.len() as f64;
    assert!(
        (mean - r.latency.mean_s).abs() <= 1e-12 * mean.max(1.0) + 1e-9,
        "{mean} vs {}",
        r.latency.mean_s
    );

    // p99: the summary's HDR histogram reports a value within its stated relative
    // error of the exact order statistic (nearest rank).
    done.sort_by(f64::total_cmp);
    let rank = (0.99 * done.len() as f64).ceil() as usize;
    let exact = done[rank - 1];
    let bound = r.latency.quantile_relative_error * exact + 1e-9;
    assert!(
        (r.latency.p99_s - exact).abs() <= bound,
        "p99 {} vs exact {exact}",
        r.latency.p99_s
    );
    assert_eq!(r.latency.max_s, *done.last().unwrap());
    assert_eq!(r.latency.min_s, done[0]);

    // Breakdown columns add up to the latency of every completed request.
    let parts = ["ram_wait_s", "cpu_wait_s", "cpu_s", "io_s", "network_s"].map(|c| f64s(&req, c));
    for (i, l) in lat.iter().enumerate() {
        if status[i].as_deref() != Some("completed") {
            continue;
        }
        let sum: f64 = parts.iter().map(|p| p[i]).sum();
        assert!(
            (sum - l).abs() < 1e-9,
            "row {i}: parts {sum} vs latency {l}"
        );
    }

    // Samples: one row per tick x server metric and per tick x edge.
    let (samples, _) = read(&dir.path().join("samples.parquet"));
    let rows: usize = samples.iter().map(RecordBatch::num_rows).sum();
    let per_tick = 3 /* server metrics enabled in the quickstart */ + r.edges.len();
    assert_eq!(rows as u64, s.engine_figures.sample_ticks * per_tick as u64);
}

/// Time integral of a gauge from the samples: sum over ticks of mean x period.
fn gauge_integral(samples: &[RecordBatch], metric: &str, period: f64) -> f64 {
    let names = strings(samples, "metric");
    let means = f64s(samples, "mean");
    let t = f64s(samples, "t_s");
    let mut prev = 0.0;
    let mut total = 0.0;
    // Ticks are regular except possibly the last (the horizon); weigh each mean by
    // its own period length.
    for i in 0..names.len() {
        if names[i].as_deref() == Some(metric) {
            let len = if t[i] - prev > 0.0 {
                t[i] - prev
            } else {
                period
            };
            total += means[i] * len;
            prev = t[i];
        }
    }
    total
}

#[test]
fn gauge_integrals_equal_the_time_requests_spent() {
    // Find an instant where the system is empty (every gauge's value is 0 at a
    // tick), cut the same run there, and check exact identities: the integral of
    // the ready queue is the total CPU wait, of I/O sleepers the total I/O time,
    // of RAM in use the sum of MB x time on the server.
    let sc = quickstart();
    let probe = tempfile::tempdir().unwrap();
    run(&sc, probe.path(), 11, Some(SimTime::from_secs(40)));
    let (samples, _) = read(&probe.path().join("samples.parquet"));
    let t = f64s(&samples, "t_s");
    let v = f64s(&samples, "value");
    let mut busy: BTreeMap<u64, bool> = BTreeMap::new();
    for (ti, vi) in t.iter().zip(&v) {
        *busy.entry((ti * 1e6).round() as u64).or_default() |= *vi != 0.0;
    }
    let empty_at = busy
        .iter()
        .filter(|(k, b)| !**b && **k >= 20_000_000)
        .map(|(k, _)| *k)
        .next()
        .expect("an idle tick after 20 s at this load");
    let cut = SimTime(empty_at * 1000);

    let dir = tempfile::tempdir().unwrap();
    let s = run(&sc, dir.path(), 11, Some(cut));
    assert_eq!(
        s.results.requests.in_flight_at_horizon, 0,
        "nothing in the system at the cut"
    );
    let (samples, _) = read(&dir.path().join("samples.parquet"));
    let (req, _) = read(&dir.path().join("requests.parquet"));
    let period = s.run.sample_period_s;
    let sum = |c: &str| f64s(&req, c).iter().sum::<f64>();
    let ready = gauge_integral(&samples, "ready_queue_len", period);
    let io = gauge_integral(&samples, "event_loop_io_sleep", period);
    // Float tolerance: ~1e4 terms each exact to ~1e-15 relative.
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()) + 1e-9;
    assert!(
        close(ready, sum("cpu_wait_s")),
        "ready queue integral {ready} vs cpu wait {}",
        sum("cpu_wait_s")
    );
    assert!(
        close(io, sum("io_s")),
        "io integral {io} vs io time {}",
        sum("io_s")
    );
    // Every served request held 120 MB from admission to departure; admission is
    // immediate here (RAM never runs out), so RAM time = cpu wait + cpu + io.
    let ram = gauge_integral(&samples, "ram_in_use", period);
    let held = 120.0 * (sum("cpu_wait_s") + sum("cpu_s") + sum("io_s"));
    assert!(close(ram, held), "ram integral {ram} vs {held}");
    // The summary's utilisation is the busy-core integral over the run.
    let util = s.results.servers[0].cpu_utilisation * cut.as_secs_f64();
    assert!(
        close(util, sum("cpu_s")),
        "busy core time {util} vs cpu time {}",
        sum("cpu_s")
    );
}

#[test]
fn python_consumers_answer_every_question_on_a_real_run() {
    let Some(python) = std::env::var_os("ASYNCFLOW_PYTHON") else {
        assert_ne!(
            std::env::var("ASYNCFLOW_REQUIRE_PYTHON").as_deref(),
            Ok("1"),
            "ASYNCFLOW_REQUIRE_PYTHON=1 but ASYNCFLOW_PYTHON is not set"
        );
        eprintln!("skipped: set ASYNCFLOW_PYTHON to a venv with tools/requirements.txt");
        return;
    };
    // Each scenario answers every question but those it has no data for: the
    // outage run makes no calls, the call graph has no outage.
    for (file, no_data) in [
        (
            "scenarios/outage_and_spike.yml",
            &["latency by service", "critical paths"][..],
        ),
        (
            "scenarios/microservices.yml",
            &["ready queue around outage"][..],
        ),
    ] {
        let sc = Scenario::load(&root().join(file)).expect("valid");
        let dir = tempfile::tempdir().unwrap();
        run(&sc, dir.path(), 3, None);
        let out = Command::new(&python)
            .arg(root().join("tools/check_outputs.py"))
            .arg(dir.path())
            .output()
            .expect("run python");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success(),
            "{file}: check_outputs.py failed:\n{text}"
        );
        let skipped: Vec<&str> = text
            .lines()
            .filter(|l| l.contains(": skipped ("))
            .filter_map(|l| l.split(": skipped (").next())
            .collect();
        assert_eq!(skipped, no_data, "{file}:\n{text}");
    }
}

#[test]
fn a_stopped_run_leaves_readable_files_marked_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let stop = Arc::new(AtomicBool::new(true));
    let res = asyncflow::run(
        &quickstart(),
        RunOptions {
            seed: Some(1),
            out_dir: Some(dir.path().to_path_buf()),
            stop: Some(stop),
            ..RunOptions::default()
        },
    )
    .expect("an interrupted run still succeeds");
    assert_eq!(res.summary.run.status, "interrupted");
    assert!(res.summary.run.simulated_s < res.summary.run.horizon_s);
    for f in ["requests.parquet", "samples.parquet", "events.parquet"] {
        let (_, meta) = read(&dir.path().join(f));
        assert_eq!(
            meta.get("asyncflow.status").map(String::as_str),
            Some("interrupted"),
            "{f}"
        );
    }
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("summary.json")).unwrap()).unwrap();
    assert_eq!(json["run"]["status"], "interrupted");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn ctrl_c_stops_the_cli_with_valid_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_asyncflow"))
        .args(["run", "--quiet", "--horizon", "1000000", "--out"])
        .arg(dir.path())
        .arg(root().join("scenarios/quickstart.yml"))
        .spawn()
        .expect("spawn");
    // Wait until the run has started writing (its temporary files exist), then
    // interrupt it. The horizon is far beyond what can finish meanwhile.
    let started = (0..600).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        std::fs::read_dir(dir.path()).is_ok_and(|d| d.count() > 0)
    });
    assert!(started, "the run never started");
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "exit code after Ctrl-C");
    let (batches, meta) = read(&dir.path().join("requests.parquet"));
    assert_eq!(
        meta.get("asyncflow.status").map(String::as_str),
        Some("interrupted")
    );
    assert!(batches.iter().map(RecordBatch::num_rows).sum::<usize>() > 0);
}

#[test]
fn an_unbounded_backlog_stops_with_a_clear_error_and_no_files() {
    // 5000 users x 100 rpm on one core that serves ~500 rps: the backlog grows by
    // ~7,800 requests per second, so a cap of 20,000 is passed within seconds.
    let path = root().join("scenarios/bench/overload_5000_users.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut model = Scenario::from_yaml_str(&text, None)
        .unwrap()
        .model()
        .clone();
    model.sim_settings.max_in_flight = 20_000;
    let sc = Scenario::from_model(model).expect("still valid");
    let dir = tempfile::tempdir().unwrap();
    let err = asyncflow::run(
        &sc,
        RunOptions {
            seed: Some(1),
            out_dir: Some(dir.path().to_path_buf()),
            ..RunOptions::default()
        },
    )
    .expect_err("the cap must stop the run");
    let msg = err.to_string();
    assert!(msg.contains("max_in_flight = 20000"), "{msg}");
    assert!(matches!(err, asyncflow::RunError::Backlog { in_flight, .. } if in_flight > 20_000));
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "a failed run left files behind: {left:?}");
}
