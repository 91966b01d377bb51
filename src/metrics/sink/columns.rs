//! Column buffers: records in, Arrow record batches out, on each file's writer
//! thread.
//!
//! Each buffer holds plain `Vec`s with room for one batch, so appending records
//! is one tight loop per column with no allocation and no string work: names
//! stay integer keys, and the dictionaries (the run's names, the fixed
//! vocabularies) are built once and shared by every batch.

use std::sync::Arc;

use arrow_array::builder::NullBufferBuilder;
use arrow_array::types::{Float64Type, UInt32Type, UInt64Type};
use arrow_array::{
    ArrayRef, ArrowPrimitiveType, DictionaryArray, PrimitiveArray, RecordBatch, StringArray,
};
use arrow_schema::{ArrowError, SchemaRef};

use crate::engine::time::SimTime;
use crate::metrics::record::{
    ConnectionRecord, EventRecord, RequestRecord, SampleRecord, SpanRecord,
};
use crate::metrics::schema;

/// A buffer of one file's columns. It lives on the file's writer thread, and the
/// records travel there in batches.
pub(crate) trait Columns: Send + 'static {
    /// The record type of one row.
    type Record: Copy + Send + 'static;
    /// Append rows, one column at a time: each column is then a tight loop
    /// with a single capacity check.
    fn extend(&mut self, rows: &[Self::Record]);
    /// Move the buffered rows out as a record batch, leaving the buffer empty
    /// (with its capacity renewed).
    fn take_batch(&mut self) -> Result<RecordBatch, ArrowError>;
}

/// A dictionary of strings as an Arrow array, built once per run.
pub(crate) fn string_values<S: AsRef<str>>(values: &[S]) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(
        values.iter().map(AsRef::as_ref),
    ))
}

/// Take a column's values, leaving an empty vector of the same capacity behind.
fn take_vec<T>(v: &mut Vec<T>) -> Vec<T> {
    let cap = v.capacity();
    std::mem::replace(v, Vec::with_capacity(cap))
}

fn prim<T: ArrowPrimitiveType>(v: &mut Vec<T::Native>) -> PrimitiveArray<T> {
    PrimitiveArray::new(take_vec(v).into(), None)
}

fn f64s(v: &mut Vec<f64>) -> ArrayRef {
    Arc::new(prim::<Float64Type>(v))
}

/// A non-null dictionary column.
fn dict(keys: &mut Vec<u32>, values: &ArrayRef) -> Result<ArrayRef, ArrowError> {
    let keys = prim::<UInt32Type>(keys);
    Ok(Arc::new(DictionaryArray::try_new(
        keys,
        Arc::clone(values),
    )?))
}

/// A nullable dictionary key column: keys plus validity.
pub(crate) struct OptKeys {
    keys: Vec<u32>,
    valid: NullBufferBuilder,
}

impl OptKeys {
    fn with_capacity(cap: usize) -> Self {
        OptKeys {
            keys: Vec::with_capacity(cap),
            valid: NullBufferBuilder::new(cap),
        }
    }

    fn extend(&mut self, keys: impl Iterator<Item = Option<u32>> + Clone) {
        // The key under a null is never read; 0 keeps the array valid.
        self.keys.extend(keys.clone().map(|k| k.unwrap_or(0)));
        for k in keys {
            self.valid.append(k.is_some());
        }
    }

    fn take(&mut self, values: &ArrayRef) -> Result<ArrayRef, ArrowError> {
        let cap = self.keys.capacity();
        let keys =
            PrimitiveArray::<UInt32Type>::new(take_vec(&mut self.keys).into(), self.valid.finish());
        self.valid = NullBufferBuilder::new(cap);
        Ok(Arc::new(DictionaryArray::try_new(
            keys,
            Arc::clone(values),
        )?))
    }
}

/// Columns of `requests.parquet`.
pub(crate) struct RequestColumns {
    schema: SchemaRef,
    names: ArrayRef,
    status_values: ArrayRef,
    request_id: Vec<u64>,
    generator: Vec<u32>,
    client: Vec<u32>,
    server: OptKeys,
    endpoint: OptKeys,
    status: Vec<u32>,
    dropped_on: OptKeys,
    created: Vec<f64>,
    finished: Vec<f64>,
    latency: Vec<f64>,
    ram_wait: Vec<f64>,
    cpu_wait: Vec<f64>,
    cpu: Vec<f64>,
    io: Vec<f64>,
    network: Vec<f64>,
    call: Vec<f64>,
    connect: Vec<f64>,
}

impl RequestColumns {
    pub(crate) fn new(names: ArrayRef, cap: usize) -> Self {
        let f = || Vec::with_capacity(cap);
        RequestColumns {
            schema: schema::requests(),
            names,
            status_values: string_values(&schema::STATUS_VALUES),
            request_id: Vec::with_capacity(cap),
            generator: Vec::with_capacity(cap),
            client: Vec::with_capacity(cap),
            server: OptKeys::with_capacity(cap),
            endpoint: OptKeys::with_capacity(cap),
            status: Vec::with_capacity(cap),
            dropped_on: OptKeys::with_capacity(cap),
            created: f(),
            finished: f(),
            latency: f(),
            ram_wait: f(),
            cpu_wait: f(),
            cpu: f(),
            io: f(),
            network: f(),
            call: f(),
            connect: f(),
        }
    }
}

impl Columns for RequestColumns {
    type Record = RequestRecord;

    fn extend(&mut self, rows: &[RequestRecord]) {
        let secs = |v: &mut Vec<f64>, t: fn(&RequestRecord) -> SimTime| {
            v.extend(rows.iter().map(|r| t(r).as_secs_f64()));
        };
        self.request_id.extend(rows.iter().map(|r| r.request_id));
        self.generator.extend(rows.iter().map(|r| r.generator));
        self.client.extend(rows.iter().map(|r| r.client));
        self.server.extend(rows.iter().map(|r| r.server));
        self.endpoint.extend(rows.iter().map(|r| r.endpoint));
        self.status
            .extend(rows.iter().map(|r| schema::status_key(r.status)));
        self.dropped_on.extend(rows.iter().map(|r| r.dropped_on));
        secs(&mut self.created, |r| r.created);
        secs(&mut self.finished, |r| r.finished);
        // From the integer times, so it is exact to the nanosecond rather than
        // the difference of two rounded floats.
        secs(&mut self.latency, |r| r.finished - r.created);
        secs(&mut self.ram_wait, |r| r.ram_wait);
        secs(&mut self.cpu_wait, |r| r.cpu_wait);
        secs(&mut self.cpu, |r| r.cpu);
        secs(&mut self.io, |r| r.io);
        secs(&mut self.network, |r| r.network);
        secs(&mut self.call, |r| r.call);
        secs(&mut self.connect, |r| r.connect);
    }

    fn take_batch(&mut self) -> Result<RecordBatch, ArrowError> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(prim::<UInt64Type>(&mut self.request_id)),
            dict(&mut self.generator, &self.names)?,
            dict(&mut self.client, &self.names)?,
            self.server.take(&self.names)?,
            self.endpoint.take(&self.names)?,
            dict(&mut self.status, &self.status_values)?,
            self.dropped_on.take(&self.names)?,
            f64s(&mut self.created),
            f64s(&mut self.finished),
            f64s(&mut self.latency),
            f64s(&mut self.ram_wait),
            f64s(&mut self.cpu_wait),
            f64s(&mut self.cpu),
            f64s(&mut self.io),
            f64s(&mut self.network),
            f64s(&mut self.call),
            f64s(&mut self.connect),
        ];
        RecordBatch::try_new(Arc::clone(&self.schema), columns)
    }
}

/// An optional `u64` column: values plus validity.
struct OptU64 {
    values: Vec<u64>,
    valid: NullBufferBuilder,
}

impl OptU64 {
    fn with_capacity(cap: usize) -> Self {
        OptU64 {
            values: Vec::with_capacity(cap),
            valid: NullBufferBuilder::new(cap),
        }
    }

    fn extend(&mut self, values: impl Iterator<Item = Option<u64>> + Clone) {
        // The value under a null is never read.
        self.values.extend(values.clone().map(|v| v.unwrap_or(0)));
        for v in values {
            self.valid.append(v.is_some());
        }
    }

    fn take(&mut self) -> ArrayRef {
        let cap = self.values.capacity();
        let array = PrimitiveArray::<UInt64Type>::new(
            take_vec(&mut self.values).into(),
            self.valid.finish(),
        );
        self.valid = NullBufferBuilder::new(cap);
        Arc::new(array)
    }
}

/// Columns of `spans.parquet`.
pub(crate) struct SpanColumns {
    schema: SchemaRef,
    names: ArrayRef,
    status_values: ArrayRef,
    trace_id: Vec<u64>,
    span_id: Vec<u64>,
    parent_span_id: OptU64,
    caller: Vec<u32>,
    callee: Vec<u32>,
    server: OptKeys,
    endpoint: OptKeys,
    attempt: Vec<u32>,
    status: Vec<u32>,
    dropped_on: OptKeys,
    start: Vec<f64>,
    end: Vec<f64>,
    duration: Vec<f64>,
    ram_wait: Vec<f64>,
    cpu_wait: Vec<f64>,
    cpu: Vec<f64>,
    io: Vec<f64>,
    call: Vec<f64>,
    network: Vec<f64>,
    connect: Vec<f64>,
}

impl SpanColumns {
    pub(crate) fn new(names: ArrayRef, cap: usize) -> Self {
        let f = || Vec::with_capacity(cap);
        SpanColumns {
            schema: schema::spans(),
            names,
            status_values: string_values(&schema::STATUS_VALUES),
            trace_id: Vec::with_capacity(cap),
            span_id: Vec::with_capacity(cap),
            parent_span_id: OptU64::with_capacity(cap),
            caller: Vec::with_capacity(cap),
            callee: Vec::with_capacity(cap),
            server: OptKeys::with_capacity(cap),
            endpoint: OptKeys::with_capacity(cap),
            attempt: Vec::with_capacity(cap),
            status: Vec::with_capacity(cap),
            dropped_on: OptKeys::with_capacity(cap),
            start: f(),
            end: f(),
            duration: f(),
            ram_wait: f(),
            cpu_wait: f(),
            cpu: f(),
            io: f(),
            call: f(),
            network: f(),
            connect: f(),
        }
    }
}

impl Columns for SpanColumns {
    type Record = SpanRecord;

    fn extend(&mut self, rows: &[SpanRecord]) {
        let secs = |v: &mut Vec<f64>, t: fn(&SpanRecord) -> SimTime| {
            v.extend(rows.iter().map(|r| t(r).as_secs_f64()));
        };
        self.trace_id.extend(rows.iter().map(|r| r.trace_id));
        self.span_id.extend(rows.iter().map(|r| r.span_id));
        self.parent_span_id
            .extend(rows.iter().map(|r| r.parent_span_id));
        self.caller.extend(rows.iter().map(|r| r.caller));
        self.callee.extend(rows.iter().map(|r| r.callee));
        self.server.extend(rows.iter().map(|r| r.server));
        self.endpoint.extend(rows.iter().map(|r| r.endpoint));
        self.attempt.extend(rows.iter().map(|r| r.attempt));
        self.status
            .extend(rows.iter().map(|r| schema::status_key(r.status)));
        self.dropped_on.extend(rows.iter().map(|r| r.dropped_on));
        secs(&mut self.start, |r| r.start);
        secs(&mut self.end, |r| r.end);
        // From the integer times, exact to the nanosecond (as `latency_s`).
        secs(&mut self.duration, |r| r.end - r.start);
        secs(&mut self.ram_wait, |r| r.breakdown.ram_wait);
        secs(&mut self.cpu_wait, |r| r.breakdown.cpu_wait);
        secs(&mut self.cpu, |r| r.breakdown.cpu);
        secs(&mut self.io, |r| r.breakdown.io);
        secs(&mut self.call, |r| r.breakdown.call);
        secs(&mut self.network, |r| r.breakdown.network);
        secs(&mut self.connect, |r| r.breakdown.connect);
    }

    fn take_batch(&mut self) -> Result<RecordBatch, ArrowError> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(prim::<UInt64Type>(&mut self.trace_id)),
            Arc::new(prim::<UInt64Type>(&mut self.span_id)),
            self.parent_span_id.take(),
            dict(&mut self.caller, &self.names)?,
            dict(&mut self.callee, &self.names)?,
            self.server.take(&self.names)?,
            self.endpoint.take(&self.names)?,
            Arc::new(prim::<UInt32Type>(&mut self.attempt)),
            dict(&mut self.status, &self.status_values)?,
            self.dropped_on.take(&self.names)?,
            f64s(&mut self.start),
            f64s(&mut self.end),
            f64s(&mut self.duration),
            f64s(&mut self.ram_wait),
            f64s(&mut self.cpu_wait),
            f64s(&mut self.cpu),
            f64s(&mut self.io),
            f64s(&mut self.call),
            f64s(&mut self.network),
            f64s(&mut self.connect),
        ];
        RecordBatch::try_new(Arc::clone(&self.schema), columns)
    }
}

/// Columns of `samples.parquet`.
pub(crate) struct SampleColumns {
    schema: SchemaRef,
    names: ArrayRef,
    kind_values: ArrayRef,
    metric_values: ArrayRef,
    t: Vec<f64>,
    entity_kind: Vec<u32>,
    entity: Vec<u32>,
    metric: Vec<u32>,
    value: Vec<f64>,
    mean: Vec<f64>,
    max: Vec<f64>,
}

impl SampleColumns {
    pub(crate) fn new(names: ArrayRef, cap: usize) -> Self {
        SampleColumns {
            schema: schema::samples(),
            names,
            kind_values: string_values(&schema::ENTITY_KIND_VALUES),
            metric_values: string_values(&schema::metric_values()),
            t: Vec::with_capacity(cap),
            entity_kind: Vec::with_capacity(cap),
            entity: Vec::with_capacity(cap),
            metric: Vec::with_capacity(cap),
            value: Vec::with_capacity(cap),
            mean: Vec::with_capacity(cap),
            max: Vec::with_capacity(cap),
        }
    }
}

impl Columns for SampleColumns {
    type Record = SampleRecord;

    fn extend(&mut self, rows: &[SampleRecord]) {
        self.t.extend(rows.iter().map(|s| s.t.as_secs_f64()));
        self.entity_kind
            .extend(rows.iter().map(|s| schema::entity_kind_key(s.entity_kind)));
        self.entity.extend(rows.iter().map(|s| s.entity));
        self.metric
            .extend(rows.iter().map(|s| schema::metric_key(s.metric)));
        self.value.extend(rows.iter().map(|s| s.value));
        self.mean.extend(rows.iter().map(|s| s.mean));
        self.max.extend(rows.iter().map(|s| s.max));
    }

    fn take_batch(&mut self) -> Result<RecordBatch, ArrowError> {
        let columns: Vec<ArrayRef> = vec![
            f64s(&mut self.t),
            dict(&mut self.entity_kind, &self.kind_values)?,
            dict(&mut self.entity, &self.names)?,
            dict(&mut self.metric, &self.metric_values)?,
            f64s(&mut self.value),
            f64s(&mut self.mean),
            f64s(&mut self.max),
        ];
        RecordBatch::try_new(Arc::clone(&self.schema), columns)
    }
}

/// Columns of `events.parquet`.
pub(crate) struct EventColumns {
    schema: SchemaRef,
    names: ArrayRef,
    kind_values: ArrayRef,
    phase_values: ArrayRef,
    t: Vec<f64>,
    event_id: Vec<u32>,
    target: Vec<u32>,
    kind: Vec<u32>,
    phase: Vec<u32>,
}

impl EventColumns {
    pub(crate) fn new(names: ArrayRef, cap: usize) -> Self {
        EventColumns {
            schema: schema::events(),
            names,
            kind_values: string_values(&schema::EVENT_KIND_VALUES),
            phase_values: string_values(&schema::PHASE_VALUES),
            t: Vec::with_capacity(cap),
            event_id: Vec::with_capacity(cap),
            target: Vec::with_capacity(cap),
            kind: Vec::with_capacity(cap),
            phase: Vec::with_capacity(cap),
        }
    }
}

impl Columns for EventColumns {
    type Record = EventRecord;

    fn extend(&mut self, rows: &[EventRecord]) {
        self.t.extend(rows.iter().map(|e| e.t.as_secs_f64()));
        self.event_id.extend(rows.iter().map(|e| e.event_id));
        self.target.extend(rows.iter().map(|e| e.target));
        self.kind
            .extend(rows.iter().map(|e| schema::event_kind_key(e.kind)));
        self.phase
            .extend(rows.iter().map(|e| schema::phase_key(e.phase)));
    }

    fn take_batch(&mut self) -> Result<RecordBatch, ArrowError> {
        let columns: Vec<ArrayRef> = vec![
            f64s(&mut self.t),
            dict(&mut self.event_id, &self.names)?,
            dict(&mut self.target, &self.names)?,
            dict(&mut self.kind, &self.kind_values)?,
            dict(&mut self.phase, &self.phase_values)?,
        ];
        RecordBatch::try_new(Arc::clone(&self.schema), columns)
    }
}

/// Columns of `connections.parquet`.
pub(crate) struct ConnectionColumns {
    schema: SchemaRef,
    names: ArrayRef,
    edge: Vec<u32>,
    opened: Vec<f64>,
    closed: Vec<f64>,
    lifetime: Vec<f64>,
    requests: Vec<u32>,
}

impl ConnectionColumns {
    pub(crate) fn new(names: ArrayRef, cap: usize) -> Self {
        ConnectionColumns {
            schema: schema::connections(),
            names,
            edge: Vec::with_capacity(cap),
            opened: Vec::with_capacity(cap),
            closed: Vec::with_capacity(cap),
            lifetime: Vec::with_capacity(cap),
            requests: Vec::with_capacity(cap),
        }
    }
}

impl Columns for ConnectionColumns {
    type Record = ConnectionRecord;

    fn extend(&mut self, rows: &[ConnectionRecord]) {
        self.edge.extend(rows.iter().map(|c| c.edge));
        self.opened
            .extend(rows.iter().map(|c| c.opened.as_secs_f64()));
        self.closed
            .extend(rows.iter().map(|c| c.closed.as_secs_f64()));
        // From the integer times, exact to the nanosecond.
        self.lifetime
            .extend(rows.iter().map(|c| (c.closed - c.opened).as_secs_f64()));
        self.requests.extend(rows.iter().map(|c| c.requests));
    }

    fn take_batch(&mut self) -> Result<RecordBatch, ArrowError> {
        let columns: Vec<ArrayRef> = vec![
            dict(&mut self.edge, &self.names)?,
            f64s(&mut self.opened),
            f64s(&mut self.closed),
            f64s(&mut self.lifetime),
            Arc::new(prim::<UInt32Type>(&mut self.requests)),
        ];
        RecordBatch::try_new(Arc::clone(&self.schema), columns)
    }
}
