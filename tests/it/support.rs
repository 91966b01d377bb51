//! Shared helpers of the engine tests: run a YAML scenario into a temporary
//! directory, read `requests.parquet` back, and simple sample statistics.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, UInt32Type, UInt64Type};
use arrow_array::{Array, RecordBatch};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use statrs::distribution::{ContinuousCDF, StudentsT};

use asyncflow::engine::time::SimTime;
use asyncflow::metrics::sink::OutputSelection;
use asyncflow::{RunOptions, Scenario, Summary};

/// One row of `requests.parquet`.
#[derive(Debug, Clone, PartialEq)]
pub struct Req {
    pub id: u64,
    pub server: Option<String>,
    pub endpoint: Option<String>,
    pub status: String,
    pub dropped_on: Option<String>,
    pub created: f64,
    pub finished: f64,
    pub latency: f64,
    pub ram_wait: f64,
    pub cpu_wait: f64,
    pub cpu: f64,
    pub io: f64,
    pub network: f64,
    pub call: f64,
    pub connect: f64,
}

impl Req {
    /// Whether the request came back to the client.
    pub fn completed(&self) -> bool {
        self.status == "completed"
    }
}

/// A finished run: its summary, its request rows (ordered by id) and the directory
/// holding its files (kept alive as long as the value).
pub struct Run {
    pub summary: Summary,
    pub requests: Vec<Req>,
    pub dir: tempfile::TempDir,
}

/// Parse a scenario, panicking with the diagnostic if it is invalid.
pub fn scenario(yaml: &str) -> Scenario {
    Scenario::from_yaml_str(yaml, None)
        .unwrap_or_else(|e| panic!("invalid test scenario:\n{e}\n{yaml}"))
}

/// Run `yaml` with `seed` and `replication`, writing `requests.parquet` and,
/// when the scenario makes calls, `spans.parquet`.
pub fn run(yaml: &str, seed: u64, replication: u64) -> Run {
    run_with(
        yaml,
        seed,
        replication,
        None,
        OutputSelection {
            requests: true,
            samples: false,
            events: false,
            spans: true,
            connections: false,
        },
    )
}

/// Run with every option a test may need.
pub fn run_with(
    yaml: &str,
    seed: u64,
    replication: u64,
    horizon: Option<SimTime>,
    outputs: OutputSelection,
) -> Run {
    let sc = scenario(yaml);
    let dir = tempfile::tempdir().expect("temporary directory");
    let out = dir.path().join("run");
    let res = asyncflow::run(
        &sc,
        RunOptions {
            seed: Some(seed),
            replication,
            horizon,
            out_dir: Some(out.clone()),
            outputs: Some(outputs),
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("run failed: {e}"));
    let requests = if outputs.requests {
        read_requests(&out.join("requests.parquet"))
    } else {
        Vec::new()
    };
    Run {
        summary: res.summary,
        requests,
        dir,
    }
}

/// The run directory inside a [`Run`]'s temporary directory.
pub fn run_dir(r: &Run) -> std::path::PathBuf {
    r.dir.path().join("run")
}

/// Every record batch of a Parquet file.
pub fn batches(path: &Path) -> Vec<RecordBatch> {
    let f = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    ParquetRecordBatchReaderBuilder::try_new(f)
        .expect("parquet footer")
        .build()
        .expect("parquet reader")
        .map(|b| b.expect("record batch"))
        .collect()
}

fn f64s(b: &RecordBatch, name: &str) -> Vec<f64> {
    let c = b
        .column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name}"));
    c.as_primitive::<Float64Type>().values().to_vec()
}

fn strs(b: &RecordBatch, name: &str) -> Vec<Option<String>> {
    let c = b
        .column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name}"));
    let d = c.as_dictionary::<UInt32Type>();
    let values = d.values().as_string::<i32>();
    (0..d.len())
        .map(|i| {
            if d.is_null(i) {
                None
            } else {
                Some(values.value(d.keys().value(i) as usize).to_owned())
            }
        })
        .collect()
}

/// Every row of a `requests.parquet`, sorted by request id.
pub fn read_requests(path: &Path) -> Vec<Req> {
    let mut out = Vec::new();
    for b in batches(path) {
        let ids = b
            .column_by_name("request_id")
            .expect("request_id column")
            .as_primitive::<UInt64Type>()
            .values()
            .to_vec();
        let server = strs(&b, "server");
        let endpoint = strs(&b, "endpoint");
        let status = strs(&b, "status");
        let dropped_on = strs(&b, "dropped_on");
        let cols: Vec<Vec<f64>> = [
            "created_s",
            "finished_s",
            "latency_s",
            "ram_wait_s",
            "cpu_wait_s",
            "cpu_s",
            "io_s",
            "network_s",
            "call_s",
            "connect_s",
        ]
        .iter()
        .map(|n| f64s(&b, n))
        .collect();
        for i in 0..b.num_rows() {
            out.push(Req {
                id: ids[i],
                server: server[i].clone(),
                endpoint: endpoint[i].clone(),
                status: status[i].clone().expect("status is never null"),
                dropped_on: dropped_on[i].clone(),
                created: cols[0][i],
                finished: cols[1][i],
                latency: cols[2][i],
                ram_wait: cols[3][i],
                cpu_wait: cols[4][i],
                cpu: cols[5][i],
                io: cols[6][i],
                network: cols[7][i],
                call: cols[8][i],
                connect: cols[9][i],
            });
        }
    }
    out.sort_by_key(|r| r.id);
    out
}

/// Seconds (as written to Parquet) back to integer nanoseconds.
pub fn ns(secs: f64) -> i64 {
    (secs * 1e9).round() as i64
}

/// Sample mean and sample standard deviation (n - 1).
pub fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    assert!(xs.len() >= 2, "need at least two values");
    let m = xs.iter().sum::<f64>() / n;
    let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
    (m, v.sqrt())
}

/// Mean of `xs` and the half-width of its two-sided Student t interval at
/// `confidence` (for example 0.95): t(1 - (1 - confidence) / 2, n - 1) sd / sqrt(n).
/// The values must be i.i.d. and close to normal (per-replication or per-batch
/// means over many requests are).
pub fn t_interval(xs: &[f64], confidence: f64) -> (f64, f64) {
    let (m, sd) = mean_sd(xs);
    let n = xs.len() as f64;
    let t = StudentsT::new(0.0, 1.0, n - 1.0)
        .expect("at least one degree of freedom")
        .inverse_cdf(0.5 + confidence / 2.0);
    (m, t * sd / n.sqrt())
}

/// A constant edge latency (a normal with variance 0 is a constant).
pub fn constant(secs: f64) -> String {
    format!("{{ mean: {secs}, distribution: normal, variance: 0 }}")
}

/// One generator → client → server → client scenario with constant 1 ms edges
/// and no dropout: a Poisson stream of `rate` requests per second into a server
/// with `cores` cores running `steps` (YAML flow list items, one per line).
pub fn single_server(rate: f64, cores: u32, ram_mb: u32, steps: &[&str], horizon: u64) -> String {
    let steps: String = steps
        .iter()
        .map(|s| format!("              - {s}\n"))
        .collect();
    let e = constant(0.001);
    // 60 users at `rate` requests per second each minute: U * rpm / 60 = rate.
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
        server_resources: {{ cpu_cores: {cores}, ram_mb: {ram_mb} }}
        endpoints:
          - endpoint_name: /x
            steps:
{steps}  edges:
    - {{ id: gen-cli, source: gen, target: cli, latency: {e}, dropout_rate: 0.0 }}
    - {{ id: cli-srv, source: cli, target: srv, latency: {e}, dropout_rate: 0.0 }}
    - {{ id: srv-cli, source: srv, target: cli, latency: {e}, dropout_rate: 0.0 }}
sim_settings:
  total_simulation_time: {horizon}
  sample_period_s: 0.1
"
    )
}

/// Every `*.yml` / `*.yaml` file under `dir`, recursively, sorted.
pub fn yml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = entry.expect("readable directory entry").path();
            if p.is_dir() {
                todo.push(p);
            } else if p.extension().is_some_and(|e| e == "yml" || e == "yaml") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
