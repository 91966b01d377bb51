//! The Parquet sinks, checked by reading their files back: schema, row counts,
//! values, metadata, and what is left on disk after an interrupted or aborted run.
//! The last test writes a small synthetic run directory for the Python consumers
//! in `tools/` and, when `ASYNCFLOW_PYTHON` names an interpreter with the
//! packages of `tools/requirements.txt`, runs `tools/check_outputs.py` on it.

use std::collections::HashMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, UInt32Type, UInt64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::SchemaRef;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use asyncflow::engine::time::SimTime;
use asyncflow::metrics::outdir::OutDir;
use asyncflow::metrics::record::{
    EntityKind, EventRecord, Names, Phase, RequestRecord, RequestStatus, RunIdentity, SampleRecord,
};
use asyncflow::metrics::schema;
use asyncflow::metrics::sink::{BATCH_ROWS, OutputSelection, RunStatus, Sinks};
use asyncflow::scenario::schema::{EventKind, SampleMetric};

fn identity() -> RunIdentity {
    RunIdentity {
        engine_version: "9.8.7-test".to_owned(),
        scenario_sha256: "ab".repeat(32),
        seed: 424242,
        replication: 3,
    }
}

/// A small deterministic generator (SplitMix64), so the data vary without
/// depending on any crate's stream.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, n).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct World {
    names: Arc<Names>,
    generator: u32,
    client: u32,
    servers: [u32; 2],
    endpoints: [u32; 2],
    edges: [u32; 4],
    outage: u32,
}

fn world() -> World {
    let mut n = Names::new();
    let generator = n.intern("rqs-1");
    let client = n.intern("client-1");
    let servers = [n.intern("srv-1"), n.intern("srv-2")];
    let endpoints = [n.intern("/api"), n.intern("/db")];
    let edges = [
        n.intern("gen-client"),
        n.intern("client-lb"),
        n.intern("lb-srv-1"),
        n.intern("lb-srv-2"),
    ];
    let outage = n.intern("srv-2-outage");
    World {
        names: Arc::new(n),
        generator,
        client,
        servers,
        endpoints,
        edges,
        outage,
    }
}

/// Request `i` of a synthetic stream: every 7th dropped on an edge (some before
/// reaching a server, so `server` is null), nanosecond times that are not exact
/// binary fractions.
fn request(w: &World, i: u64) -> RequestRecord {
    let created = SimTime(i * 1_000_003);
    let dropped = i % 7 == 3;
    let reached = !dropped || i.is_multiple_of(2);
    let server = reached.then_some(w.servers[(i % 2) as usize]);
    let endpoint = reached.then_some(w.endpoints[(i / 2 % 2) as usize]);
    let part = |k: u64| SimTime((i * k) % 5_000_017);
    let (ram_wait, cpu_wait, cpu, io, network) = (part(3), part(5), part(11), part(13), part(17));
    RequestRecord {
        request_id: i + 1,
        generator: w.generator,
        client: w.client,
        server,
        endpoint,
        status: if dropped {
            RequestStatus::Dropped
        } else {
            RequestStatus::Completed
        },
        dropped_on: dropped.then_some(w.edges[if reached { 3 } else { 1 }]),
        created,
        finished: created + ram_wait + cpu_wait + cpu + io + network,
        ram_wait,
        cpu_wait,
        cpu,
        io,
        network,
        call: SimTime::ZERO,
        connect: SimTime::ZERO,
    }
}

fn sample(w: &World, i: u64) -> SampleRecord {
    let metric = SampleMetric::ALL[(i % 6) as usize];
    let (entity_kind, entity) = if metric == SampleMetric::EdgeConcurrentConnection {
        (EntityKind::Edge, w.edges[(i % 4) as usize])
    } else {
        (EntityKind::Server, w.servers[(i % 2) as usize])
    };
    SampleRecord {
        t: SimTime::from_secs(i / 6),
        entity_kind,
        entity,
        metric,
        value: i as f64,
        mean: i as f64 / 3.0,
        max: i as f64 + 0.5,
    }
}

fn events(w: &World) -> Vec<EventRecord> {
    vec![
        EventRecord {
            t: SimTime::from_secs(100),
            event_id: w.outage,
            target: w.servers[1],
            kind: EventKind::ServerDown,
            phase: Phase::Start,
        },
        EventRecord {
            t: SimTime::from_secs(130),
            event_id: w.outage,
            target: w.servers[1],
            kind: EventKind::ServerUp,
            phase: Phase::End,
        },
    ]
}

fn read(path: &Path) -> (SchemaRef, HashMap<String, String>, Vec<RecordBatch>) {
    let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap()).unwrap();
    let schema = Arc::clone(builder.schema());
    let kv = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .map(|kv| {
            kv.iter()
                .map(|e| (e.key.clone(), e.value.clone().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    let batches = builder
        .build()
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    (schema, kv, batches)
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> &'a dyn Array {
    batch.column_by_name(name).unwrap().as_ref()
}

fn f64_at(batch: &RecordBatch, name: &str, row: usize) -> f64 {
    column(batch, name).as_primitive::<Float64Type>().value(row)
}

/// The string a dictionary column holds at `row` (`None` when null).
fn str_at(batch: &RecordBatch, name: &str, row: usize) -> Option<String> {
    let dict = column(batch, name).as_dictionary::<UInt32Type>();
    if dict.is_null(row) {
        return None;
    }
    let key = dict.keys().value(row) as usize;
    Some(dict.values().as_string::<i32>().value(key).to_owned())
}

fn assert_metadata(kv: &HashMap<String, String>, status: &str) {
    let id = identity();
    assert_eq!(kv[schema::META_ENGINE_VERSION], id.engine_version);
    assert_eq!(kv[schema::META_SCENARIO_SHA256], id.scenario_sha256);
    assert_eq!(kv[schema::META_SEED], id.seed.to_string());
    assert_eq!(kv[schema::META_REPLICATION], id.replication.to_string());
    assert_eq!(kv[schema::META_STATUS], status);
}

fn dir_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn create(dir: &Path, w: &World, selection: OutputSelection) -> Sinks {
    let out = OutDir::prepare(dir).unwrap();
    Sinks::create(&out, selection, Arc::clone(&w.names), &identity()).unwrap()
}

#[test]
fn requests_round_trip_across_many_batches() {
    let tmp = tempfile::tempdir().unwrap();
    let w = world();
    // Several batches, and not a multiple of the batch size, so full batches
    // and the final partial one are both written.
    let n = 9 * BATCH_ROWS as u64 + 20_000;
    assert!(n >= 150_000);
    let mut sinks = create(tmp.path(), &w, OutputSelection::ALL);
    for i in 0..n {
        sinks.push_request(&request(&w, i)).unwrap();
    }
    let paths = sinks.finish(RunStatus::Complete).unwrap();
    let expected: Vec<PathBuf> = [
        schema::REQUESTS_FILE,
        schema::SAMPLES_FILE,
        schema::EVENTS_FILE,
    ]
    .iter()
    .map(|f| tmp.path().join(f))
    .collect();
    assert_eq!(paths, expected);
    assert_eq!(
        dir_names(tmp.path()),
        ["events.parquet", "requests.parquet", "samples.parquet"]
    );

    let (got_schema, kv, batches) = read(&paths[0]);
    assert_eq!(got_schema.fields(), schema::requests().fields());
    assert_metadata(&kv, "complete");
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    assert_eq!(rows as u64, n);

    let mut i = 0u64;
    for b in &batches {
        assert_eq!(b.schema().fields(), schema::requests().fields());
        let ids = column(b, "request_id").as_primitive::<UInt64Type>();
        for row in 0..b.num_rows() {
            let r = request(&w, i);
            assert_eq!(ids.value(row), r.request_id);
            let name = |id: Option<u32>| id.map(|id| w.names.get(id).to_owned());
            assert_eq!(str_at(b, "generator", row), name(Some(r.generator)));
            assert_eq!(str_at(b, "client", row), name(Some(r.client)));
            assert_eq!(str_at(b, "server", row), name(r.server));
            assert_eq!(str_at(b, "endpoint", row), name(r.endpoint));
            assert_eq!(
                str_at(b, "dropped_on", row).as_deref(),
                r.dropped_on.map(|d| w.names.get(d))
            );
            assert_eq!(str_at(b, "status", row).as_deref(), Some(r.status.as_str()));
            assert_eq!(f64_at(b, "created_s", row), r.created.as_secs_f64());
            assert_eq!(f64_at(b, "finished_s", row), r.finished.as_secs_f64());
            assert_eq!(
                f64_at(b, "latency_s", row),
                (r.finished - r.created).as_secs_f64()
            );
            assert_eq!(f64_at(b, "ram_wait_s", row), r.ram_wait.as_secs_f64());
            assert_eq!(f64_at(b, "cpu_wait_s", row), r.cpu_wait.as_secs_f64());
            assert_eq!(f64_at(b, "cpu_s", row), r.cpu.as_secs_f64());
            assert_eq!(f64_at(b, "io_s", row), r.io.as_secs_f64());
            assert_eq!(f64_at(b, "network_s", row), r.network.as_secs_f64());
            i += 1;
        }
    }
    // Nulls really were written (the generator makes both kinds).
    let nulls: usize = batches
        .iter()
        .map(|b| column(b, "server").null_count())
        .sum();
    assert!(nulls > 0 && nulls < rows);

    // The other two files exist, are empty, and carry the schema and metadata.
    for (path, want) in [
        (&paths[1], schema::samples()),
        (&paths[2], schema::events()),
    ] {
        let (s, kv, batches) = read(path);
        assert_eq!(s.fields(), want.fields());
        assert_metadata(&kv, "complete");
        assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 0);
    }
}

#[test]
fn samples_and_events_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let w = world();
    let n = BATCH_ROWS as u64 + 123;
    let sel = OutputSelection {
        requests: false,
        samples: true,
        events: true,
        spans: false,
        connections: false,
    };
    let mut sinks = create(tmp.path(), &w, sel);
    for i in 0..n {
        sinks.push_sample(&sample(&w, i)).unwrap();
    }
    for e in events(&w) {
        sinks.push_event(&e).unwrap();
    }
    let paths = sinks.finish(RunStatus::Complete).unwrap();
    assert_eq!(dir_names(tmp.path()), ["events.parquet", "samples.parquet"]);

    let (s, kv, batches) = read(&paths[0]);
    assert_eq!(s.fields(), schema::samples().fields());
    assert_metadata(&kv, "complete");
    let mut i = 0u64;
    for b in &batches {
        for row in 0..b.num_rows() {
            let x = sample(&w, i);
            assert_eq!(f64_at(b, "t_s", row), x.t.as_secs_f64());
            assert_eq!(
                str_at(b, "entity_kind", row).as_deref(),
                Some(x.entity_kind.as_str())
            );
            assert_eq!(
                str_at(b, "entity", row).as_deref(),
                Some(w.names.get(x.entity))
            );
            assert_eq!(str_at(b, "metric", row).as_deref(), Some(x.metric.as_str()));
            assert_eq!(f64_at(b, "value", row), x.value);
            assert_eq!(f64_at(b, "mean", row), x.mean);
            assert_eq!(f64_at(b, "max", row), x.max);
            i += 1;
        }
    }
    assert_eq!(i, n);

    let (s, kv, batches) = read(&paths[1]);
    assert_eq!(s.fields(), schema::events().fields());
    assert_metadata(&kv, "complete");
    let b = &batches[0];
    assert_eq!(batches.len(), 1);
    assert_eq!(b.num_rows(), 2);
    for (row, e) in events(&w).iter().enumerate() {
        assert_eq!(f64_at(b, "t_s", row), e.t.as_secs_f64());
        assert_eq!(str_at(b, "event_id", row).as_deref(), Some("srv-2-outage"));
        assert_eq!(str_at(b, "target", row).as_deref(), Some("srv-2"));
        assert_eq!(str_at(b, "kind", row).as_deref(), Some(e.kind.as_str()));
        assert_eq!(str_at(b, "phase", row).as_deref(), Some(e.phase.as_str()));
    }
}

#[test]
fn interrupted_runs_leave_readable_files_marked_interrupted() {
    let tmp = tempfile::tempdir().unwrap();
    let w = world();
    let mut sinks = create(tmp.path(), &w, OutputSelection::ALL);
    let n = BATCH_ROWS as u64 + 5;
    for i in 0..n {
        sinks.push_request(&request(&w, i)).unwrap();
    }
    sinks.push_sample(&sample(&w, 0)).unwrap();
    sinks.push_event(&events(&w)[0]).unwrap();
    let paths = sinks.finish(RunStatus::Interrupted).unwrap();
    assert_eq!(paths.len(), 3);
    assert_eq!(dir_names(tmp.path()).len(), 3, "no temporary file left");
    let mut rows = Vec::new();
    for p in &paths {
        let (_, kv, batches) = read(p);
        assert_metadata(&kv, "interrupted");
        rows.push(batches.iter().map(RecordBatch::num_rows).sum::<usize>());
    }
    assert_eq!(rows, [n as usize, 1, 1]);
}

#[test]
fn dropping_sinks_without_finish_leaves_no_files() {
    let tmp = tempfile::tempdir().unwrap();
    let w = world();
    let mut sinks = create(tmp.path(), &w, OutputSelection::ALL);
    // Past one batch, so the temporary file has real content when it is dropped.
    for i in 0..BATCH_ROWS as u64 + 1 {
        sinks.push_request(&request(&w, i)).unwrap();
    }
    sinks.push_sample(&sample(&w, 0)).unwrap();
    assert_eq!(
        dir_names(tmp.path()),
        [
            ".events.parquet.partial",
            ".requests.parquet.partial",
            ".samples.parquet.partial"
        ]
    );
    drop(sinks);
    assert!(dir_names(tmp.path()).is_empty());
}

#[test]
fn a_name_id_outside_the_table_is_an_error_not_a_corrupt_file() {
    let tmp = tempfile::tempdir().unwrap();
    let w = world();
    let mut sinks = create(tmp.path(), &w, OutputSelection::ALL);
    let mut bad = request(&w, 0);
    bad.server = Some(w.names.len() as u32);
    sinks.push_request(&bad).unwrap();
    let err = sinks.finish(RunStatus::Complete).unwrap_err();
    assert!(err.to_string().contains("requests.parquet"), "{err}");
    assert!(
        dir_names(tmp.path()).is_empty(),
        "{:?}",
        dir_names(tmp.path())
    );
}

#[test]
fn prepare_under_a_regular_file_fails_with_the_path() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("not-a-dir");
    fs::write(&file, "x").unwrap();
    let target = file.join("run");
    let err = OutDir::prepare(&target).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(&target.display().to_string()), "{msg}");
}

/// A run directory shaped like a real one: two servers behind a load balancer,
/// two endpoints, drops on two edges, gauges every second for servers and
/// edges, and `srv-2` down from 100 s to 130 s (its traffic goes to `srv-1`,
/// whose ready queue grows meanwhile).
fn write_synthetic_run(dir: &Path) -> Vec<PathBuf> {
    let w = world();
    let mut sinks = create(dir, &w, OutputSelection::ALL);
    let mut rng = Mix(7);
    let horizon_s = 300u64;
    let (down, up) = (100u64, 130u64);
    let mut id = 0u64;
    // 12 requests per second on a fixed grid; times in nanoseconds.
    for k in 0..horizon_s * 12 {
        let t = k * SimTime::NANOS_PER_SEC / 12;
        id += 1;
        let created = SimTime(t);
        let secs = t / SimTime::NANOS_PER_SEC;
        let in_outage = (down..up).contains(&secs);
        let s = if in_outage { 0 } else { (id % 2) as usize };
        let e = (rng.below(3) == 0) as usize;
        let network = SimTime(2_000_000 + rng.below(3_000_000));
        let cpu = SimTime(if e == 0 { 4_000_000 } else { 9_000_000 });
        let io = SimTime(rng.below(20_000_000));
        // srv-1 queues while it carries everything.
        let cpu_wait = SimTime(if in_outage {
            30_000_000 + rng.below(50_000_000)
        } else {
            rng.below(2_000_000)
        });
        let drop_roll = rng.below(100);
        let mut r = RequestRecord {
            request_id: id,
            generator: w.generator,
            client: w.client,
            server: Some(w.servers[s]),
            endpoint: Some(w.endpoints[e]),
            status: RequestStatus::Completed,
            dropped_on: None,
            created,
            finished: created + network + cpu_wait + cpu + io,
            ram_wait: SimTime::ZERO,
            call: SimTime::ZERO,
            connect: SimTime::ZERO,
            cpu_wait,
            cpu,
            io,
            network,
        };
        if drop_roll < 2 {
            // Lost on the way to the load balancer: never reached a server.
            r = RequestRecord {
                server: None,
                endpoint: None,
                status: RequestStatus::Dropped,
                dropped_on: Some(w.edges[1]),
                finished: created + SimTime(1_000_000),
                cpu_wait: SimTime::ZERO,
                cpu: SimTime::ZERO,
                io: SimTime::ZERO,
                network: SimTime(1_000_000),
                ..r
            };
        } else if drop_roll < 5 {
            r = RequestRecord {
                endpoint: None,
                status: RequestStatus::Dropped,
                dropped_on: Some(w.edges[2 + s]),
                finished: created + SimTime(1_500_000),
                cpu_wait: SimTime::ZERO,
                cpu: SimTime::ZERO,
                io: SimTime::ZERO,
                network: SimTime(1_500_000),
                ..r
            };
        }
        sinks.push_request(&r).unwrap();
    }
    for sec in 1..=horizon_s {
        let tick = SimTime::from_secs(sec);
        let in_outage = (down..=up).contains(&sec);
        for (k, &srv) in w.servers.iter().enumerate() {
            let queue = match (k, in_outage) {
                (0, true) => 5.0 + (sec - down) as f64,
                (1, true) => 0.0,
                _ => rng.below(3) as f64,
            };
            for (metric, value) in [
                (SampleMetric::ReadyQueueLen, queue),
                (SampleMetric::EventLoopIoSleep, rng.below(4) as f64),
                (SampleMetric::RamInUse, 128.0 + 16.0 * queue),
            ] {
                sinks
                    .push_sample(&SampleRecord {
                        t: tick,
                        entity_kind: EntityKind::Server,
                        entity: srv,
                        metric,
                        value,
                        mean: value * 0.9,
                        max: value + 1.0,
                    })
                    .unwrap();
            }
        }
        for &edge in &w.edges {
            let value = rng.below(5) as f64;
            sinks
                .push_sample(&SampleRecord {
                    t: tick,
                    entity_kind: EntityKind::Edge,
                    entity: edge,
                    metric: SampleMetric::EdgeConcurrentConnection,
                    value,
                    mean: value,
                    max: value + 2.0,
                })
                .unwrap();
        }
        for e in events(&w) {
            if e.t == tick {
                sinks.push_event(&e).unwrap();
            }
        }
    }
    sinks.finish(RunStatus::Complete).unwrap()
}

#[test]
fn synthetic_run_directory_serves_the_python_queries() {
    // `ASYNCFLOW_SYNTHETIC_OUT` keeps the directory for a look by hand.
    let tmp = tempfile::tempdir().unwrap();
    let dir = std::env::var_os("ASYNCFLOW_SYNTHETIC_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| tmp.path().join("synthetic"));
    let paths = write_synthetic_run(&dir);
    let (_, _, batches) = read(&paths[0]);
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    assert_eq!(rows, 300 * 12);
    let (_, _, batches) = read(&paths[2]);
    assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 2);

    let Some(python) = std::env::var_os("ASYNCFLOW_PYTHON") else {
        eprintln!("ASYNCFLOW_PYTHON not set: tools/check_outputs.py not run");
        return;
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/check_outputs.py");
    let out = std::process::Command::new(python)
        .arg(&script)
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "check_outputs.py failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
