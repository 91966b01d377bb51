//! The Arrow schemas of the Parquet outputs, defined once.
//!
//! The sinks build their record batches against these schemas and the tests read
//! the files back and compare with them, so a column can only change here. The
//! layout follows the output contract (`docs/output.md`): time columns are Float64
//! seconds named `*_s`; every repeated string (ids, statuses, metric names, kinds)
//! is a dictionary column with `UInt32` keys, so one key type serves both the
//! run's [`Names`](super::record::Names) table and the small fixed vocabularies
//! below. Columns are only ever added, never renamed.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef};

use crate::metrics::record::{EntityKind, Phase, RequestStatus};
use crate::scenario::schema::{EventKind, SampleMetric};

/// Name of the requests file in a run directory.
pub const REQUESTS_FILE: &str = "requests.parquet";
/// Name of the samples file in a run directory.
pub const SAMPLES_FILE: &str = "samples.parquet";
/// Name of the events file in a run directory.
pub const EVENTS_FILE: &str = "events.parquet";
/// Name of the spans file in a run directory (only when the run made calls).
pub const SPANS_FILE: &str = "spans.parquet";
/// Name of the connections file in a run directory (selected, and only when
/// the run had connections).
pub const CONNECTIONS_FILE: &str = "connections.parquet";

/// One of the Parquet files of a run directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputFile {
    /// `requests.parquet`.
    Requests,
    /// `samples.parquet`.
    Samples,
    /// `events.parquet`.
    Events,
    /// `spans.parquet`.
    Spans,
    /// `connections.parquet`.
    Connections,
}

impl OutputFile {
    /// All of them, in the order [`Sinks::finish`](super::sink::Sinks::finish)
    /// returns their paths.
    pub const ALL: [OutputFile; 5] = [
        OutputFile::Requests,
        OutputFile::Samples,
        OutputFile::Events,
        OutputFile::Spans,
        OutputFile::Connections,
    ];

    /// The file's name in the run directory.
    pub fn file_name(self) -> &'static str {
        match self {
            OutputFile::Requests => REQUESTS_FILE,
            OutputFile::Samples => SAMPLES_FILE,
            OutputFile::Events => EVENTS_FILE,
            OutputFile::Spans => SPANS_FILE,
            OutputFile::Connections => CONNECTIONS_FILE,
        }
    }

    /// The file's Arrow schema.
    pub fn schema(self) -> SchemaRef {
        match self {
            OutputFile::Requests => requests(),
            OutputFile::Samples => samples(),
            OutputFile::Events => events(),
            OutputFile::Spans => spans(),
            OutputFile::Connections => connections(),
        }
    }

    /// Whether the numeric columns repeat enough for Parquet dictionary pages to
    /// pay. In `requests.parquet` and `spans.parquet` they are almost all
    /// distinct (ids, nanosecond times), so dictionary pages there would only
    /// cost hashing until the writer falls back to plain encoding; tick times and
    /// gauge values repeat.
    pub fn numeric_dictionary(self) -> bool {
        match self {
            OutputFile::Requests | OutputFile::Spans | OutputFile::Connections => false,
            OutputFile::Samples | OutputFile::Events => true,
        }
    }
}

/// Key-value metadata key: engine version (`CARGO_PKG_VERSION`).
pub const META_ENGINE_VERSION: &str = "asyncflow.engine_version";
/// Key-value metadata key: SHA-256 (hex) of the scenario source.
pub const META_SCENARIO_SHA256: &str = "asyncflow.scenario_sha256";
/// Key-value metadata key: the run's seed (decimal).
pub const META_SEED: &str = "asyncflow.seed";
/// Key-value metadata key: the replication index (decimal).
pub const META_REPLICATION: &str = "asyncflow.replication";
/// Key-value metadata key: `complete` or `interrupted`, written when the file closes.
pub const META_STATUS: &str = "asyncflow.status";

/// The dictionary type of every string column.
pub fn dict_utf8() -> DataType {
    DataType::Dictionary(Box::new(DataType::UInt32), Box::new(DataType::Utf8))
}

fn dict(name: &str, nullable: bool) -> Field {
    Field::new(name, dict_utf8(), nullable)
}

fn secs(name: &str) -> Field {
    Field::new(name, DataType::Float64, false)
}

/// `requests.parquet`: one row per request that finished or was dropped.
pub fn requests() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("request_id", DataType::UInt64, false),
        dict("generator", false),
        dict("client", false),
        dict("server", true),
        dict("endpoint", true),
        dict("status", false),
        dict("dropped_on", true),
        secs("created_s"),
        secs("finished_s"),
        secs("latency_s"),
        secs("ram_wait_s"),
        secs("cpu_wait_s"),
        secs("cpu_s"),
        secs("io_s"),
        secs("network_s"),
        secs("call_s"),
        secs("connect_s"),
    ]))
}

/// `spans.parquet`: one row per call (every attempt of it), in the order the
/// calls ended. The `status` column shares the dictionary of `requests.parquet`.
pub fn spans() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("trace_id", DataType::UInt64, false),
        Field::new("span_id", DataType::UInt64, false),
        Field::new("parent_span_id", DataType::UInt64, true),
        dict("caller", false),
        dict("callee", false),
        dict("server", true),
        dict("endpoint", true),
        Field::new("attempt", DataType::UInt32, false),
        dict("status", false),
        dict("dropped_on", true),
        secs("start_s"),
        secs("end_s"),
        secs("duration_s"),
        secs("ram_wait_s"),
        secs("cpu_wait_s"),
        secs("cpu_s"),
        secs("io_s"),
        secs("call_s"),
        secs("network_s"),
        secs("connect_s"),
    ]))
}

/// `connections.parquet`: one row per connection that carried requests, in
/// the order they closed.
pub fn connections() -> SchemaRef {
    Arc::new(Schema::new(vec![
        dict("edge", false),
        secs("opened_s"),
        secs("closed_s"),
        secs("lifetime_s"),
        Field::new("requests", DataType::UInt32, false),
    ]))
}

/// `samples.parquet`: one row per (tick, entity, metric), long format.
pub fn samples() -> SchemaRef {
    Arc::new(Schema::new(vec![
        secs("t_s"),
        dict("entity_kind", false),
        dict("entity", false),
        dict("metric", false),
        Field::new("value", DataType::Float64, false),
        Field::new("mean", DataType::Float64, false),
        Field::new("max", DataType::Float64, false),
    ]))
}

/// `events.parquet`: one row per start or end of an injected event window.
pub fn events() -> SchemaRef {
    Arc::new(Schema::new(vec![
        secs("t_s"),
        dict("event_id", false),
        dict("target", false),
        dict("kind", false),
        dict("phase", false),
    ]))
}

/// Dictionary of the `status` column, in [`RequestStatus::ALL`] order; a
/// status's key is its index here.
pub const STATUS_VALUES: [&str; RequestStatus::ALL.len()] = [
    "completed",
    "dropped",
    "refused",
    "rejected",
    "rate_limited",
    "timed_out",
    "circuit_open",
    "pool_timeout",
    "failed",
];

/// Key of a status in [`STATUS_VALUES`].
#[inline]
pub fn status_key(s: RequestStatus) -> u32 {
    s as u32
}

/// Dictionary of the `entity_kind` column.
pub const ENTITY_KIND_VALUES: [&str; 3] = ["server", "edge", "load_balancer"];

/// Key of an entity kind in [`ENTITY_KIND_VALUES`].
#[inline]
pub fn entity_kind_key(k: EntityKind) -> u32 {
    match k {
        EntityKind::Server => 0,
        EntityKind::Edge => 1,
        EntityKind::LoadBalancer => 2,
    }
}

/// Dictionary of the `metric` column, in [`SampleMetric::ALL`] order.
pub fn metric_values() -> [&'static str; SampleMetric::ALL.len()] {
    SampleMetric::ALL.map(SampleMetric::as_str)
}

/// Key of a metric in [`metric_values`].
#[inline]
pub fn metric_key(m: SampleMetric) -> u32 {
    match m {
        SampleMetric::ReadyQueueLen => 0,
        SampleMetric::EventLoopIoSleep => 1,
        SampleMetric::RamInUse => 2,
        SampleMetric::EdgeConcurrentConnection => 3,
        SampleMetric::BusyCores => 4,
        SampleMetric::RamWaitQueueLen => 5,
        SampleMetric::OpenSockets => 6,
        SampleMetric::SocketRamMb => 7,
        SampleMetric::AcceptBacklogLen => 8,
        SampleMetric::ConnectionsOpen => 9,
        SampleMetric::ConnectionsIdle => 10,
    }
}

/// Dictionary of the `kind` column of `events.parquet`.
pub const EVENT_KIND_VALUES: [&str; 4] = [
    "server_down",
    "server_up",
    "network_spike_start",
    "network_spike_end",
];

/// Key of an event kind in [`EVENT_KIND_VALUES`].
#[inline]
pub fn event_kind_key(k: EventKind) -> u32 {
    match k {
        EventKind::ServerDown => 0,
        EventKind::ServerUp => 1,
        EventKind::NetworkSpikeStart => 2,
        EventKind::NetworkSpikeEnd => 3,
    }
}

/// Dictionary of the `phase` column.
pub const PHASE_VALUES: [&str; 2] = ["start", "end"];

/// Key of a phase in [`PHASE_VALUES`].
#[inline]
pub fn phase_key(p: Phase) -> u32 {
    match p {
        Phase::Start => 0,
        Phase::End => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The fixed dictionaries must spell each value exactly as the record types do,
    // or a file would say something the engine never meant.
    #[test]
    fn fixed_dictionaries_match_the_record_spellings() {
        for s in RequestStatus::ALL {
            assert_eq!(STATUS_VALUES[status_key(s) as usize], s.as_str());
        }
        for k in [
            EntityKind::Server,
            EntityKind::Edge,
            EntityKind::LoadBalancer,
        ] {
            assert_eq!(ENTITY_KIND_VALUES[entity_kind_key(k) as usize], k.as_str());
        }
        let metrics = metric_values();
        for m in SampleMetric::ALL {
            assert_eq!(metrics[metric_key(m) as usize], m.as_str());
        }
        for k in [
            EventKind::ServerDown,
            EventKind::ServerUp,
            EventKind::NetworkSpikeStart,
            EventKind::NetworkSpikeEnd,
        ] {
            assert_eq!(EVENT_KIND_VALUES[event_kind_key(k) as usize], k.as_str());
        }
        for p in [Phase::Start, Phase::End] {
            assert_eq!(PHASE_VALUES[phase_key(p) as usize], p.as_str());
        }
    }

    #[test]
    fn time_columns_are_float64_seconds() {
        for schema in [requests(), samples(), events(), spans()] {
            for f in schema.fields() {
                if f.name().ends_with("_s") {
                    assert_eq!(f.data_type(), &DataType::Float64, "{}", f.name());
                }
            }
        }
    }

    #[test]
    fn only_where_columns_are_nullable() {
        let nullable: Vec<_> = requests()
            .fields()
            .iter()
            .filter(|f| f.is_nullable())
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(nullable, ["server", "endpoint", "dropped_on"]);
        let nullable: Vec<_> = spans()
            .fields()
            .iter()
            .filter(|f| f.is_nullable())
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(
            nullable,
            ["parent_span_id", "server", "endpoint", "dropped_on"]
        );
        assert!(samples().fields().iter().all(|f| !f.is_nullable()));
        assert!(events().fields().iter().all(|f| !f.is_nullable()));
    }
}
