//! Column buffers: records in, Arrow record batches out.
//!
//! Each buffer holds plain `Vec`s with room for one batch, so appending a record
//! is a handful of stores with no allocation and no string work: names stay
//! integer keys, and the dictionaries (the run's names, the fixed vocabularies)
//! are built once and shared by every batch.

use std::sync::Arc;

use arrow_array::builder::NullBufferBuilder;
use arrow_array::types::{Float64Type, UInt32Type, UInt64Type};
use arrow_array::{
    ArrayRef, ArrowPrimitiveType, DictionaryArray, PrimitiveArray, RecordBatch, StringArray,
};
use arrow_schema::{ArrowError, SchemaRef};

use crate::metrics::record::{EventRecord, RequestRecord, SampleRecord};
use crate::metrics::schema;

/// A buffer of one file's columns.
pub(crate) trait Columns {
    /// The record type of one row.
    type Record;
    /// Append one row.
    fn push(&mut self, r: &Self::Record);
    /// Rows buffered.
    fn len(&self) -> usize;
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

    #[inline]
    fn push(&mut self, key: Option<u32>) {
        // The key under a null is never read; 0 keeps the array valid.
        self.keys.push(key.unwrap_or(0));
        self.valid.append(key.is_some());
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
        }
    }
}

impl Columns for RequestColumns {
    type Record = RequestRecord;

    #[inline]
    fn push(&mut self, r: &RequestRecord) {
        self.request_id.push(r.request_id);
        self.generator.push(r.generator);
        self.client.push(r.client);
        self.server.push(r.server);
        self.endpoint.push(r.endpoint);
        self.status.push(schema::status_key(r.status));
        self.dropped_on.push(r.dropped_on);
        self.created.push(r.created.as_secs_f64());
        self.finished.push(r.finished.as_secs_f64());
        // From the integer times, so it is exact to the nanosecond rather than
        // the difference of two rounded floats.
        self.latency.push((r.finished - r.created).as_secs_f64());
        self.ram_wait.push(r.ram_wait.as_secs_f64());
        self.cpu_wait.push(r.cpu_wait.as_secs_f64());
        self.cpu.push(r.cpu.as_secs_f64());
        self.io.push(r.io.as_secs_f64());
        self.network.push(r.network.as_secs_f64());
    }

    fn len(&self) -> usize {
        self.request_id.len()
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

    #[inline]
    fn push(&mut self, s: &SampleRecord) {
        self.t.push(s.t.as_secs_f64());
        self.entity_kind
            .push(schema::entity_kind_key(s.entity_kind));
        self.entity.push(s.entity);
        self.metric.push(schema::metric_key(s.metric));
        self.value.push(s.value);
        self.mean.push(s.mean);
        self.max.push(s.max);
    }

    fn len(&self) -> usize {
        self.t.len()
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

    #[inline]
    fn push(&mut self, e: &EventRecord) {
        self.t.push(e.t.as_secs_f64());
        self.event_id.push(e.event_id);
        self.target.push(e.target);
        self.kind.push(schema::event_kind_key(e.kind));
        self.phase.push(schema::phase_key(e.phase));
    }

    fn len(&self) -> usize {
        self.t.len()
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
