//! What the pictures show, read back from a run directory.
//!
//! Everything here is bounded whatever the run's size: `requests.parquet` is
//! streamed batch by batch into a fixed-width histogram and a throughput series
//! of at most [`MAX_POINTS`] buckets; `samples.parquet` is streamed into at most
//! [`GAUGE_POINTS`] buckets per (server, metric) line. Only `events.parquet`, one row
//! per event boundary of the scenario, is read whole.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, UInt32Type};
use arrow_array::{Array, RecordBatch};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::ReportError;
use crate::Summary;
use crate::metrics::schema::{EVENTS_FILE, REQUESTS_FILE, SAMPLES_FILE, SPANS_FILE};

/// Most points of the throughput line; longer runs are averaged into wider
/// buckets (about one point per pixel of the panel).
pub const MAX_POINTS: usize = 800;
/// Most points per server gauge line: the panels are a third as wide, and a
/// wider bucket also steadies the band of maxima.
pub const GAUGE_POINTS: usize = 400;
/// Most servers given their own row of charts; the busiest are chosen.
pub const MAX_SERVERS: usize = 6;
/// Bins of the latency histogram.
pub const LATENCY_BINS: usize = 60;

/// Everything a dashboard or report shows, from one run directory.
#[derive(Debug, Clone)]
pub struct RunData {
    /// The run directory.
    pub dir: PathBuf,
    /// `summary.json`.
    pub summary: Summary,
    /// The scenario's YAML text, or why it could not be read.
    pub scenario_text: Result<String, String>,
    /// From `requests.parquet`; `None` when the file was not written.
    pub latency: Option<LatencyHistogram>,
    /// From `requests.parquet`; `None` when the file was not written.
    pub throughput: Option<Throughput>,
    /// Servers charted, in the order shown.
    pub servers: Vec<ServerSeries>,
    /// Nodes with sockets charted (their [`SOCKET_METRICS`]), most sockets
    /// at peak first; empty without sockets or samples.
    pub sockets: Vec<ServerSeries>,
    /// Whether `samples.parquet` was written.
    pub samples_written: bool,
    /// Injected event windows; `None` when `events.parquet` was not written.
    pub events: Option<Vec<EventWindow>>,
    /// Per-service latency and the call graph (`spans.parquet`; None when the
    /// run made no calls or the file was not written).
    pub services: Option<super::services::Services>,
}

/// Latencies of completed requests in equal-width bins from zero.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyHistogram {
    /// Width of one bin, seconds.
    pub bin_s: f64,
    /// Requests per bin; bin `i` covers `[i·bin_s, (i+1)·bin_s)`.
    pub counts: Vec<u64>,
    /// Completed requests slower than the last bin (drawn as a note).
    pub above: u64,
    /// Completed requests counted.
    pub total: u64,
}

/// Completions (and drops) per second over simulated time.
#[derive(Debug, Clone, PartialEq)]
pub struct Throughput {
    /// Width of one bucket, seconds (a multiple of the summary's window).
    pub bucket_s: f64,
    /// Completions per second in each bucket.
    pub completed_rps: Vec<f64>,
    /// Drops per second in each bucket.
    pub dropped_rps: Vec<f64>,
}

/// The gauges charted per server, in row order.
pub const SERVER_METRICS: [(&str, &str); 3] = [
    ("ready_queue_len", "ready queue (requests)"),
    ("event_loop_io_sleep", "I/O sleepers (requests)"),
    ("ram_in_use", "RAM in use (MB)"),
];

/// The socket gauges charted per node that declares `sockets`, in row order.
pub const SOCKET_METRICS: [(&str, &str); 3] = [
    ("open_sockets", "open sockets"),
    ("socket_ram_mb", "socket RAM (MB)"),
    ("accept_backlog_len", "accept backlog"),
];

/// Most nodes given a sockets row (the ones with the most sockets at peak).
pub const MAX_SOCKET_ROWS: usize = 4;

/// One server's sampled gauges.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerSeries {
    /// Server id.
    pub id: String,
    /// One line per entry of [`SERVER_METRICS`].
    pub metrics: [Line; 3],
}

/// A downsampled gauge: the time-weighted mean and the maximum per bucket.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Line {
    /// End of each bucket (the last tick in it), seconds.
    pub t: Vec<f64>,
    /// Mean of the tick means in the bucket (ticks are equally spaced, so this
    /// is the time-weighted mean over the bucket).
    pub mean: Vec<f64>,
    /// Maximum over the bucket.
    pub max: Vec<f64>,
}

/// What an injected event does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKindShown {
    /// A server outage.
    ServerDown,
    /// Extra latency on an edge.
    NetworkSpike,
}

/// One injected event's window.
#[derive(Debug, Clone, PartialEq)]
pub struct EventWindow {
    /// `event_id`.
    pub id: String,
    /// Server or edge it acts on.
    pub target: String,
    /// Outage or spike.
    pub kind: EventKindShown,
    /// Start, seconds.
    pub start_s: f64,
    /// End, seconds; the end of the run when the window was still open.
    pub end_s: f64,
}

impl RunData {
    /// Server rows the dashboard draws: one per charted server, or a single
    /// row carrying the reason when there is nothing to chart.
    pub fn server_rows(&self) -> usize {
        if self.samples_written {
            self.servers.len().max(1) + self.sockets.len()
        } else {
            1
        }
    }

    /// Read a run directory (`summary.json` is required; each Parquet file is
    /// optional).
    pub fn load(dir: &Path) -> Result<RunData, ReportError> {
        let summary_path = dir.join("summary.json");
        let text = std::fs::read_to_string(&summary_path).map_err(|e| ReportError::Io {
            path: summary_path.clone(),
            source: e,
        })?;
        let summary: Summary = serde_json::from_str(&text).map_err(|e| ReportError::Summary {
            path: summary_path,
            source: e,
        })?;
        let scenario_text = match summary.scenario.path.as_deref() {
            None => Err("the scenario was built in code; there is no file to show".into()),
            Some(p) => std::fs::read_to_string(p)
                .map_err(|e| format!("cannot read the scenario file {p}: {e}")),
        };
        let requests = dir.join(REQUESTS_FILE);
        let (latency, throughput) = if requests.is_file() {
            let (l, t) = read_requests(&requests, &summary)?;
            (Some(l), Some(t))
        } else {
            (None, None)
        };
        let chosen = chosen_servers(&summary);
        let samples = dir.join(SAMPLES_FILE);
        let samples_written = samples.is_file();
        let socket_nodes = chosen_socket_nodes(&summary);
        let sockets = if samples_written && !socket_nodes.is_empty() {
            let kinds = ["server", "load_balancer"];
            read_gauges(&samples, &summary, (&kinds, &socket_nodes), &SOCKET_METRICS)?
        } else {
            Vec::new()
        };
        let servers = if samples_written {
            read_gauges(&samples, &summary, (&["server"], &chosen), &SERVER_METRICS)?
        } else {
            chosen
                .into_iter()
                .map(|id| ServerSeries {
                    id,
                    metrics: Default::default(),
                })
                .collect()
        };
        let events_path = dir.join(EVENTS_FILE);
        let events = if events_path.is_file() {
            Some(read_events(&events_path, summary.run.simulated_s)?)
        } else {
            None
        };
        let spans = dir.join(SPANS_FILE);
        let services = if spans.is_file() {
            Some(super::services::read(&spans, &summary)?)
        } else {
            None
        };
        Ok(RunData {
            services,
            dir: dir.to_path_buf(),
            summary,
            scenario_text,
            latency,
            throughput,
            servers,
            sockets,
            samples_written,
            events,
        })
    }
}

/// The servers given a row: all of them in declaration order when they fit,
/// otherwise the [`MAX_SERVERS`] busiest (CPU utilisation, then requests served).
pub fn chosen_servers(summary: &Summary) -> Vec<String> {
    let servers = &summary.results.servers;
    if servers.len() <= MAX_SERVERS {
        return servers.iter().map(|s| s.id.clone()).collect();
    }
    let mut order: Vec<usize> = (0..servers.len()).collect();
    // Stable sort: ties keep declaration order, so the choice is deterministic.
    order.sort_by(|&a, &b| {
        let (x, y) = (&servers[a], &servers[b]);
        y.cpu_utilisation
            .total_cmp(&x.cpu_utilisation)
            .then(y.served.cmp(&x.served))
    });
    order
        .into_iter()
        .take(MAX_SERVERS)
        .map(|i| servers[i].id.clone())
        .collect()
}

pub(super) fn reader(
    path: &Path,
    columns: &[&str],
) -> Result<impl Iterator<Item = Result<RecordBatch, ReportError>>, ReportError> {
    let bad = |e: parquet::errors::ParquetError| ReportError::Parquet {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let file = File::open(path).map_err(|e| ReportError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(bad)?;
    let mask = ProjectionMask::columns(builder.parquet_schema(), columns.iter().copied());
    let reader = builder
        .with_projection(mask)
        .with_batch_size(64 * 1024)
        .build()
        .map_err(bad)?;
    let path = path.to_path_buf();
    Ok(reader.map(move |b| {
        b.map_err(|e| ReportError::Parquet {
            path: path.clone(),
            message: e.to_string(),
        })
    }))
}

fn column_error(path: &Path, name: &str) -> ReportError {
    ReportError::Parquet {
        path: path.to_path_buf(),
        message: format!("column {name} is missing or has an unexpected type"),
    }
}

pub(super) fn f64_column<'a>(
    b: &'a RecordBatch,
    path: &Path,
    name: &str,
) -> Result<&'a [f64], ReportError> {
    b.column_by_name(name)
        .and_then(|c| c.as_primitive_opt::<Float64Type>())
        .map(|a| a.values().as_ref())
        .ok_or_else(|| column_error(path, name))
}

/// A dictionary column as (keys, key → wanted index) where `wanted` lists the
/// strings the caller cares about; other keys map to `None`.
fn dict_column<'a>(
    b: &'a RecordBatch,
    path: &Path,
    name: &str,
    wanted: &[&str],
) -> Result<(&'a arrow_array::UInt32Array, Vec<Option<usize>>), ReportError> {
    let (d, values) = dictionary(b, path, name)?;
    let map = (0..values.len())
        .map(|i| wanted.iter().position(|w| *w == values.value(i)))
        .collect();
    Ok((d.keys(), map))
}

fn lookup(keys: &arrow_array::UInt32Array, map: &[Option<usize>], row: usize) -> Option<usize> {
    if keys.is_null(row) {
        return None;
    }
    map.get(keys.value(row) as usize).copied().flatten()
}

fn read_requests(
    path: &Path,
    summary: &Summary,
) -> Result<(LatencyHistogram, Throughput), ReportError> {
    let lat = &summary.results.latency;
    // Zoom on the bulk: up to a little past p99, so one slow outlier does not
    // squash every bar into the first pixel; the rest is counted and noted.
    let mut hi = (lat.p99_s * 1.25).min(lat.max_s);
    if !(hi.is_finite() && hi > 0.0) {
        hi = if lat.max_s.is_finite() && lat.max_s > 0.0 {
            lat.max_s
        } else {
            1e-3
        };
    }
    let bin_s = hi / LATENCY_BINS as f64;
    let mut hist = LatencyHistogram {
        bin_s,
        counts: vec![0; LATENCY_BINS],
        above: 0,
        total: 0,
    };
    let simulated = summary.run.simulated_s.max(0.0);
    let window = if summary.results.throughput.window_s > 0.0 {
        summary.results.throughput.window_s
    } else {
        1.0
    };
    let windows = ((simulated / window).ceil() as usize).max(1);
    let per_bucket = windows.div_ceil(MAX_POINTS).max(1);
    let bucket_s = window * per_bucket as f64;
    let buckets = windows.div_ceil(per_bucket);
    let mut completed = vec![0u64; buckets];
    let mut dropped = vec![0u64; buckets];
    for batch in reader(path, &["status", "finished_s", "latency_s"])? {
        let b = batch?;
        let (status, map) = dict_column(&b, path, "status", &["completed", "dropped"])?;
        let finished = f64_column(&b, path, "finished_s")?;
        let latency = f64_column(&b, path, "latency_s")?;
        for row in 0..b.num_rows() {
            let s = lookup(status, &map, row);
            let bucket = ((finished[row] / bucket_s) as usize).min(buckets - 1);
            match s {
                Some(0) => {
                    completed[bucket] += 1;
                    hist.total += 1;
                    let bin = (latency[row] / bin_s).floor();
                    if bin >= 0.0 && (bin as usize) < LATENCY_BINS {
                        hist.counts[bin as usize] += 1;
                    } else {
                        hist.above += 1;
                    }
                }
                Some(1) => dropped[bucket] += 1,
                _ => {}
            }
        }
    }
    // The last bucket may be cut short by the end of the run.
    let width = |i: usize| {
        let start = i as f64 * bucket_s;
        (simulated.min(start + bucket_s) - start).max(window.min(bucket_s))
    };
    let rate = |v: &[u64]| -> Vec<f64> {
        v.iter()
            .enumerate()
            .map(|(i, &n)| n as f64 / width(i))
            .collect()
    };
    let throughput = Throughput {
        bucket_s,
        completed_rps: rate(&completed),
        dropped_rps: rate(&dropped),
    };
    Ok((hist, throughput))
}

#[derive(Clone, Copy, Default)]
struct Acc {
    sum: f64,
    n: u32,
    max: f64,
    t: f64,
}

/// The nodes given a sockets row: those with the most sockets open at peak,
/// at most [`MAX_SOCKET_ROWS`], ties in declaration order.
pub fn chosen_socket_nodes(summary: &Summary) -> Vec<String> {
    let mut nodes: Vec<_> = summary.results.sockets.iter().enumerate().collect();
    nodes.sort_by(|(i, a), (j, b)| b.open_max.total_cmp(&a.open_max).then(i.cmp(j)));
    nodes
        .into_iter()
        .take(MAX_SOCKET_ROWS)
        .map(|(_, s)| s.id.clone())
        .collect()
}

/// Downsample the gauges `metrics` of the entities `chosen` (of the entity
/// kinds `kinds`) from `samples.parquet`: one [`ServerSeries`] per entity.
fn read_gauges(
    path: &Path,
    summary: &Summary,
    (kinds, chosen): (&[&str], &[String]),
    metrics: &[(&str, &str); 3],
) -> Result<Vec<ServerSeries>, ReportError> {
    let period = if summary.run.sample_period_s > 0.0 {
        summary.run.sample_period_s
    } else {
        1.0
    };
    let ticks = ((summary.run.simulated_s.max(0.0) / period).ceil() as usize).max(1);
    let per_bucket = ticks.div_ceil(GAUGE_POINTS).max(1);
    let bucket_s = period * per_bucket as f64;
    // One spare bucket for a tick that lands exactly on the end.
    let buckets = ticks.div_ceil(per_bucket) + 1;
    let names: Vec<&str> = chosen.iter().map(String::as_str).collect();
    let metric_names: Vec<&str> = metrics.iter().map(|m| m.0).collect();
    let mut acc = vec![vec![Acc::default(); buckets]; chosen.len() * metrics.len()];
    let columns = ["t_s", "entity_kind", "entity", "metric", "mean", "max"];
    for batch in reader(path, &columns)? {
        let b = batch?;
        let (kind, kind_map) = dict_column(&b, path, "entity_kind", kinds)?;
        let (entity, entity_map) = dict_column(&b, path, "entity", &names)?;
        let (metric, metric_map) = dict_column(&b, path, "metric", &metric_names)?;
        let t = f64_column(&b, path, "t_s")?;
        let mean = f64_column(&b, path, "mean")?;
        let max = f64_column(&b, path, "max")?;
        for row in 0..b.num_rows() {
            if lookup(kind, &kind_map, row).is_none() {
                continue;
            }
            let (Some(s), Some(m)) = (
                lookup(entity, &entity_map, row),
                lookup(metric, &metric_map, row),
            ) else {
                continue;
            };
            // Ticks sit at the end of their period: the tick at k·bucket_s
            // closes bucket k-1.
            let i = ((t[row] / bucket_s - 1e-9).max(0.0) as usize).min(buckets - 1);
            let a = &mut acc[s * metrics.len() + m][i];
            a.sum += mean[row];
            a.n += 1;
            a.max = if a.n == 1 {
                max[row]
            } else {
                a.max.max(max[row])
            };
            a.t = a.t.max(t[row]);
        }
    }
    let mut out = Vec::with_capacity(chosen.len());
    for (s, id) in chosen.iter().enumerate() {
        let metrics: [Line; 3] = std::array::from_fn(|m| {
            let mut line = Line::default();
            for a in acc[s * metrics.len() + m].iter().filter(|a| a.n > 0) {
                line.t.push(a.t);
                line.mean.push(a.sum / f64::from(a.n));
                line.max.push(a.max);
            }
            line
        });
        out.push(ServerSeries {
            id: id.clone(),
            metrics,
        });
    }
    Ok(out)
}

fn read_events(path: &Path, end_of_run: f64) -> Result<Vec<EventWindow>, ReportError> {
    const KINDS: [&str; 4] = [
        "server_down",
        "server_up",
        "network_spike_start",
        "network_spike_end",
    ];
    let mut out: Vec<EventWindow> = Vec::new();
    let mut open: Vec<bool> = Vec::new();
    for batch in reader(path, &["t_s", "event_id", "target", "kind", "phase"])? {
        let b = batch?;
        let t = f64_column(&b, path, "t_s")?;
        let ids = strings(&b, path, "event_id")?;
        let targets = strings(&b, path, "target")?;
        let (kind, kind_map) = dict_column(&b, path, "kind", &KINDS)?;
        let (phase, phase_map) = dict_column(&b, path, "phase", &["start", "end"])?;
        for row in 0..b.num_rows() {
            match lookup(phase, &phase_map, row) {
                Some(0) => {
                    let kind = match lookup(kind, &kind_map, row) {
                        Some(0 | 1) => EventKindShown::ServerDown,
                        _ => EventKindShown::NetworkSpike,
                    };
                    out.push(EventWindow {
                        id: ids[row].clone(),
                        target: targets[row].clone(),
                        kind,
                        start_s: t[row],
                        end_s: end_of_run,
                    });
                    open.push(true);
                }
                Some(1) => {
                    if let Some(i) = (0..out.len()).find(|&i| open[i] && out[i].id == ids[row]) {
                        out[i].end_s = t[row];
                        open[i] = false;
                    }
                }
                _ => {}
            }
        }
    }
    Ok(out)
}

/// A dictionary-encoded string column and its values, or an error naming it.
pub(super) fn dictionary<'a>(
    b: &'a RecordBatch,
    path: &Path,
    name: &str,
) -> Result<
    (
        &'a arrow_array::DictionaryArray<UInt32Type>,
        &'a arrow_array::StringArray,
    ),
    ReportError,
> {
    let d = b
        .column_by_name(name)
        .and_then(|c| c.as_dictionary_opt::<UInt32Type>())
        .ok_or_else(|| column_error(path, name))?;
    let values = d
        .values()
        .as_string_opt::<i32>()
        .ok_or_else(|| column_error(path, name))?;
    Ok((d, values))
}

fn strings(b: &RecordBatch, path: &Path, name: &str) -> Result<Vec<String>, ReportError> {
    let (d, values) = dictionary(b, path, name)?;
    Ok((0..d.len())
        .map(|i| {
            if d.is_null(i) {
                String::new()
            } else {
                values.value(d.keys().value(i) as usize).to_owned()
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::time::SimTime;
    use crate::{RunOptions, Scenario};

    /// 150 s of the outage scenario: the outage (120–240 s) is still open at
    /// the end, the spike (300 s) never starts.
    fn run_into(dir: &Path) -> Summary {
        let sc = Scenario::load(Path::new("scenarios/outage_and_spike.yml")).expect("scenario");
        let opts = RunOptions {
            horizon: Some(SimTime::from_secs(150)),
            out_dir: Some(dir.to_path_buf()),
            ..Default::default()
        };
        crate::run(&sc, opts).expect("run").summary
    }

    #[test]
    fn every_request_is_counted_once() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let s = run_into(tmp.path());
        let d = RunData::load(tmp.path()).expect("load");
        let h = d.latency.expect("requests written");
        assert_eq!(h.total, s.results.requests.completed);
        assert_eq!(h.counts.iter().sum::<u64>() + h.above, h.total);
        let t = d.throughput.expect("requests written");
        assert_eq!(t.bucket_s, 1.0);
        let completed: f64 = t.completed_rps.iter().sum();
        let dropped: f64 = t.dropped_rps.iter().sum();
        assert_eq!(completed, s.results.requests.completed as f64);
        assert_eq!(dropped, s.results.requests.dropped as f64);
        let ev = d.events.expect("events written");
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].id, "srv-2-outage");
        assert_eq!(ev[0].kind, EventKindShown::ServerDown);
        assert_eq!((ev[0].start_s, ev[0].end_s), (120.0, 150.0));
        assert_eq!(d.servers.len(), 3);
        for server in &d.servers {
            for line in &server.metrics {
                assert!(!line.t.is_empty() && line.t.len() <= GAUGE_POINTS + 1);
                assert!(line.mean.iter().zip(&line.max).all(|(m, x)| m <= x));
            }
        }
    }

    #[test]
    fn long_runs_are_downsampled_to_a_bounded_number_of_points() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut s = run_into(tmp.path());
        // Pretend the run lasted 10⁶ s: the buckets must stay bounded however
        // long the horizon.
        s.run.simulated_s = 1e6;
        let (_, t) = read_requests(&tmp.path().join(REQUESTS_FILE), &s).expect("requests");
        assert!(t.completed_rps.len() <= MAX_POINTS);
        let chosen = chosen_servers(&s);
        let servers = read_gauges(
            &tmp.path().join(SAMPLES_FILE),
            &s,
            (&["server"], &chosen),
            &SERVER_METRICS,
        )
        .expect("samples");
        for line in servers.iter().flat_map(|s| &s.metrics) {
            // All 150 s of ticks land in the first bucket or two.
            assert!(!line.t.is_empty() && line.t.len() <= 2);
        }
    }

    #[test]
    fn beyond_the_limit_the_busiest_servers_are_charted() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut s = run_into(tmp.path());
        let template = s.results.servers[0].clone();
        s.results.servers = (0..MAX_SERVERS + 3)
            .map(|i| {
                let mut x = template.clone();
                x.id = format!("s{i}");
                // Busy every third server; s1, s4, s7 tie and keep their order.
                x.cpu_utilisation = [0.1, 0.9, 0.5][i % 3];
                x
            })
            .collect();
        let chosen = chosen_servers(&s);
        assert_eq!(chosen, ["s1", "s4", "s7", "s2", "s5", "s8"]);
        s.results.servers.truncate(MAX_SERVERS);
        let all: Vec<String> = (0..MAX_SERVERS).map(|i| format!("s{i}")).collect();
        assert_eq!(chosen_servers(&s), all);
    }
}
