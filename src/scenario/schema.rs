//! The scenario file format: serde types that mirror the YAML tree one to one.
//!
//! These types only describe *shape*. Numeric ranges, references between ids and
//! graph rules are checked afterwards by [`crate::scenario::validate`], so that a
//! file with several mistakes reports all of them instead of the first. That is why
//! integer settings are `i64` (a negative core count is a rule violation with a
//! clear message, not a serde type error) and why every struct rejects unknown keys.
//!
//! Every key keeps AsyncFlow v0.1's name and default; extensions are optional keys
//! whose default keeps an AsyncFlow file meaning what it meant.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use super::sockets::{ConnectionMode, ConnectionSpec, SocketsSpec};

/// A whole scenario file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// The workload generator, or a list of them (extension).
    pub rqs_input: OneOrMany<RqsGenerator>,
    /// Nodes and edges.
    pub topology_graph: TopologyGraph,
    /// Horizon, sampling, metrics and seed.
    pub sim_settings: SimSettings,
    /// Injected events (outages, network spikes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<EventInjection>,
}

/// Name of a probability distribution in an [`RvConfig`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Distribution {
    /// Poisson(mean), as a float. The default, as in AsyncFlow.
    #[default]
    Poisson,
    /// Normal(mean, sqrt(variance)), resampled until non-negative.
    Normal,
    /// Log-normal whose own mean and variance are `mean` and `variance`.
    LogNormal,
    /// Exponential with the given mean.
    Exponential,
    /// Uniform, centred on `mean`, with the given variance (or U(0, 2 mean)).
    Uniform,
}

impl Distribution {
    /// The YAML spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Distribution::Poisson => "poisson",
            Distribution::Normal => "normal",
            Distribution::LogNormal => "log_normal",
            Distribution::Exponential => "exponential",
            Distribution::Uniform => "uniform",
        }
    }
}

/// A random variable: `{ mean, distribution, variance }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RvConfig {
    /// Mean of the distribution (for `poisson`, its rate).
    pub mean: f64,
    /// Which distribution; `poisson` when absent.
    #[serde(default)]
    pub distribution: Distribution,
    /// Variance; for `normal` and `log_normal` it defaults to `mean`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variance: Option<f64>,
}

impl RvConfig {
    /// A random variable with the given distribution and mean, no variance.
    pub fn new(distribution: Distribution, mean: f64) -> Self {
        RvConfig {
            mean,
            distribution,
            variance: None,
        }
    }
}

/// `rqs_input`: the workload generator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RqsGenerator {
    /// Unique id; edges leaving the generator name it as their `source`.
    pub id: String,
    /// Optional node type tag; must be `generator` when present.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub node_type: Option<String>,
    /// Active users, redrawn every sampling window (`poisson` or `normal`).
    pub avg_active_users: RvConfig,
    /// Requests per minute per user (`poisson`; its mean is the per-user rate).
    pub avg_request_per_minute_per_user: RvConfig,
    /// Seconds between redraws of the active-user count, in [1, 120].
    #[serde(default = "default_user_sampling_window")]
    pub user_sampling_window: i64,
    /// The client its requests enter through (extension; default: the only
    /// client).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Endpoint mix of its requests (extension): relative weights by endpoint
    /// name. Without it, each server picks the endpoint (AsyncFlow's rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_weights: Option<BTreeMap<String, f64>>,
}

/// One item, or a list of them: `rqs_input` takes a generator (AsyncFlow's
/// form) or a list of generators. It serialises back in the form it was read.
#[derive(Debug, Clone, PartialEq)]
pub enum OneOrMany<T> {
    /// A single mapping.
    One(T),
    /// A sequence.
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    /// The items, in file order.
    pub fn as_slice(&self) -> &[T] {
        match self {
            OneOrMany::One(t) => std::slice::from_ref(t),
            OneOrMany::Many(v) => v,
        }
    }

    /// The items, mutably.
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        match self {
            OneOrMany::One(t) => std::slice::from_mut(t),
            OneOrMany::Many(v) => v,
        }
    }

    /// YAML path of item `i` under `base`: `base` itself for the single form,
    /// `base[i]` for a list.
    pub fn path(&self, base: &str, i: usize) -> String {
        match self {
            OneOrMany::One(_) => base.to_owned(),
            OneOrMany::Many(_) => format!("{base}[{i}]"),
        }
    }
}

impl<T: Serialize> Serialize for OneOrMany<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            OneOrMany::One(t) => t.serialize(s),
            OneOrMany::Many(v) => v.serialize(s),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // A visitor (not an untagged enum) so that an error inside the item
        // keeps its own path and message.
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = OneOrMany<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping or a list of mappings")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(OneOrMany::One)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                Vec::<T>::deserialize(de::value::SeqAccessDeserializer::new(seq))
                    .map(OneOrMany::Many)
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

fn default_user_sampling_window() -> i64 {
    60
}

/// `topology_graph`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopologyGraph {
    /// The nodes.
    pub nodes: TopologyNodes,
    /// Directed network links between nodes.
    pub edges: Vec<Edge>,
}

/// `topology_graph.nodes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopologyNodes {
    /// The client (AsyncFlow's single client).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<Client>,
    /// More clients (extension), besides or instead of `client`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clients: Vec<Client>,
    /// Application servers.
    #[serde(default)]
    pub servers: Vec<Server>,
    /// Optional load balancer in front of some servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer: Option<LoadBalancer>,
    /// More load balancers (extension), besides or instead of `load_balancer`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub load_balancers: Vec<LoadBalancer>,
}

/// YAML path of the single `client`.
pub const CLIENT_PATH: &str = "topology_graph.nodes.client";
/// YAML path of the `clients` list.
pub const CLIENTS_PATH: &str = "topology_graph.nodes.clients";
/// YAML path of the single `load_balancer`.
pub const LB_PATH: &str = "topology_graph.nodes.load_balancer";
/// YAML path of the `load_balancers` list.
pub const LBS_PATH: &str = "topology_graph.nodes.load_balancers";

impl TopologyNodes {
    /// Every client with its YAML path: `client` first, then `clients[i]`.
    pub fn all_clients(&self) -> impl Iterator<Item = (String, &Client)> {
        let one = self.client.iter().map(|c| (CLIENT_PATH.to_owned(), c));
        let many =
            (self.clients.iter().enumerate()).map(|(i, c)| (format!("{CLIENTS_PATH}[{i}]"), c));
        one.chain(many)
    }

    /// Every load balancer with its YAML path: `load_balancer` first, then
    /// `load_balancers[i]`.
    pub fn all_load_balancers(&self) -> impl Iterator<Item = (String, &LoadBalancer)> {
        let one = self.load_balancer.iter().map(|l| (LB_PATH.to_owned(), l));
        let many =
            (self.load_balancers.iter().enumerate()).map(|(i, l)| (format!("{LBS_PATH}[{i}]"), l));
        one.chain(many)
    }
}

impl ScenarioFile {
    /// The generators, in file order.
    pub fn generators(&self) -> &[RqsGenerator] {
        self.rqs_input.as_slice()
    }

    /// YAML path of generator `i` (`rqs_input` or `rqs_input[i]`).
    pub fn generator_path(&self, i: usize) -> String {
        self.rqs_input.path("rqs_input", i)
    }
}

/// The client node: forwards generated requests and completes returning ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Client {
    /// Unique id.
    pub id: String,
    /// Optional node type tag; must be `client` when present.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub node_type: Option<String>,
}

/// A server with an event loop, cores, RAM and endpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Server {
    /// Unique id.
    pub id: String,
    /// Optional node type tag; must be `server` when present.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub node_type: Option<String>,
    /// Cores and memory.
    #[serde(default)]
    pub server_resources: ServerResources,
    /// The endpoints a request may hit.
    pub endpoints: Vec<Endpoint>,
    /// Socket capacity, accept backlog and RAM per connection (extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sockets: Option<SocketsSpec>,
}

/// `server_resources`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerResources {
    /// Cores, >= 1 (default 1).
    #[serde(default = "default_cpu_cores")]
    pub cpu_cores: i64,
    /// RAM in MB, >= 256 (default 1024).
    #[serde(default = "default_ram_mb")]
    pub ram_mb: i64,
    /// Reserved for the database milestone; validated (>= 1) but not simulated yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_connection_pool: Option<i64>,
    /// Event loops (extension), >= 1 and dividing `cpu_cores` (default 1):
    /// each has `cpu_cores / workers` cores and its own ready queue; RAM is
    /// shared.
    #[serde(default = "default_workers", skip_serializing_if = "is_one_worker")]
    pub workers: i64,
    /// How arrivals are spread over the workers (extension).
    #[serde(default, skip_serializing_if = "WorkerDispatch::is_default")]
    pub worker_dispatch: WorkerDispatch,
}

fn default_cpu_cores() -> i64 {
    1
}

fn default_ram_mb() -> i64 {
    1024
}

fn default_workers() -> i64 {
    1
}

fn is_one_worker(n: &i64) -> bool {
    *n == 1
}

impl Default for ServerResources {
    fn default() -> Self {
        ServerResources {
            cpu_cores: default_cpu_cores(),
            ram_mb: default_ram_mb(),
            db_connection_pool: None,
            workers: default_workers(),
            worker_dispatch: WorkerDispatch::default(),
        }
    }
}

/// Which worker of a server takes an arriving request (`worker_dispatch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerDispatch {
    /// Rotate over the workers, one arrival each.
    #[default]
    RoundRobin,
    /// The worker with the fewest requests assigned and not finished; ties
    /// to the lowest index.
    LeastBusy,
}

impl WorkerDispatch {
    /// Whether it is the default (`round_robin`), left out when serialising.
    pub fn is_default(&self) -> bool {
        *self == WorkerDispatch::default()
    }
}

/// An endpoint: a linear pipeline of steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// Name (lower-cased on load).
    pub endpoint_name: String,
    /// Selection weight (extension); all given or none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// The steps, walked in order.
    pub steps: Vec<Step>,
}

/// One step of an endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// What the step does; decides which `step_operation` key it takes.
    pub kind: StepKind,
    /// Exactly one key, matching the kind's family.
    pub step_operation: StepOperation,
}

/// Step kinds, grouped in families by [`StepKind::family`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// CPU: parsing the request.
    InitialParsing,
    /// CPU: any CPU-bound work.
    CpuBoundOperation,
    /// RAM: working set held while the request is on the server.
    Ram,
    /// I/O: spawning a background task.
    IoTaskSpawn,
    /// I/O: waiting on an LLM call.
    IoLlm,
    /// I/O: a generic wait.
    IoWait,
    /// I/O: a database call.
    IoDb,
    /// I/O: a cache call.
    IoCache,
    /// A call to another service: wait for its reply without a core.
    Call,
    /// Several calls at once, resumed by a `join` rule.
    Parallel,
}

/// The resource family a step kind belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StepFamily {
    /// Needs a core for `cpu_time` seconds.
    Cpu,
    /// Reserves `necessary_ram` MB for the whole stay on the server.
    Ram,
    /// Waits `io_waiting_time` seconds without a core.
    Io,
    /// Calls other services (`service`/`endpoint`, or `calls` + `join`) and
    /// waits for the replies without a core.
    Call,
}

impl StepFamily {
    /// The `step_operation` key this family takes.
    pub fn key(self) -> &'static str {
        match self {
            StepFamily::Cpu => "cpu_time",
            StepFamily::Ram => "necessary_ram",
            StepFamily::Io => "io_waiting_time",
            StepFamily::Call => "service",
        }
    }
}

impl StepKind {
    /// The family of this kind.
    pub fn family(self) -> StepFamily {
        match self {
            StepKind::InitialParsing | StepKind::CpuBoundOperation => StepFamily::Cpu,
            StepKind::Ram => StepFamily::Ram,
            StepKind::IoTaskSpawn
            | StepKind::IoLlm
            | StepKind::IoWait
            | StepKind::IoDb
            | StepKind::IoCache => StepFamily::Io,
            StepKind::Call | StepKind::Parallel => StepFamily::Call,
        }
    }

    /// The YAML spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::InitialParsing => "initial_parsing",
            StepKind::CpuBoundOperation => "cpu_bound_operation",
            StepKind::Ram => "ram",
            StepKind::IoTaskSpawn => "io_task_spawn",
            StepKind::IoLlm => "io_llm",
            StepKind::IoWait => "io_wait",
            StepKind::IoDb => "io_db",
            StepKind::IoCache => "io_cache",
            StepKind::Call => "call",
            StepKind::Parallel => "parallel",
        }
    }
}

/// `step_operation`: for a CPU, RAM or I/O step exactly one of the value keys
/// is present; a `call` step has `service` (and optionally `endpoint`,
/// `timeout_s`); a `parallel` step has `calls` and `join` (checked by
/// validation).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepOperation {
    /// CPU seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_time: Option<StepValue>,
    /// MB of RAM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub necessary_ram: Option<StepValue>,
    /// I/O wait seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub io_waiting_time: Option<StepValue>,
    /// `call`: the node called (server, load balancer, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// `call`: the endpoint called (default: the callee's first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// `call`: seconds the caller waits for the reply before giving up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_s: Option<f64>,
    /// `parallel`: when the caller resumes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join: Option<Join>,
    /// `parallel`: the calls sent at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calls: Option<Vec<CallSpec>>,
}

/// One call of a `parallel` step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallSpec {
    /// The node called.
    pub service: String,
    /// The endpoint called (default: the callee's first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Seconds the caller waits for this reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_s: Option<f64>,
}

/// When a `parallel` step resumes: `all`, `any`, or `{ quorum: k }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Join {
    /// Every call succeeded.
    All,
    /// The first success.
    Any,
    /// The k-th success (validated: 1 <= k <= number of calls).
    Quorum(i64),
}

impl Serialize for Join {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Join::All => s.serialize_str("all"),
            Join::Any => s.serialize_str("any"),
            Join::Quorum(k) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("quorum", k)?;
                m.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Join {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct JoinVisitor;
        impl<'de> Visitor<'de> for JoinVisitor {
            type Value = Join;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("`all`, `any` or `{ quorum: k }`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Join, E> {
                match v {
                    "all" => Ok(Join::All),
                    "any" => Ok(Join::Any),
                    other => Err(E::invalid_value(de::Unexpected::Str(other), &self)),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Join, A::Error> {
                let mut k = None;
                while let Some(key) = map.next_key::<String>()? {
                    if key != "quorum" {
                        return Err(de::Error::unknown_field(&key, &["quorum"]));
                    }
                    k = Some(map.next_value::<i64>()?);
                }
                k.map(Join::Quorum)
                    .ok_or_else(|| de::Error::missing_field("quorum"))
            }
        }
        d.deserialize_any(JoinVisitor)
    }
}

impl StepOperation {
    /// The first call key present (`service`, `endpoint`, `timeout_s`,
    /// `join`, `calls`), if any.
    pub fn call_key(&self) -> Option<&'static str> {
        [
            ("service", self.service.is_some()),
            ("endpoint", self.endpoint.is_some()),
            ("timeout_s", self.timeout_s.is_some()),
            ("join", self.join.is_some()),
            ("calls", self.calls.is_some()),
        ]
        .into_iter()
        .find(|(_, on)| *on)
        .map(|(k, _)| k)
    }

    /// Whether any endpoint of the scenario's servers has a call step.
    pub fn any_call(file: &ScenarioFile) -> bool {
        file.topology_graph.nodes.servers.iter().any(|s| {
            s.endpoints.iter().any(|e| {
                e.steps
                    .iter()
                    .any(|st| st.kind.family() == StepFamily::Call)
            })
        })
    }

    /// The keys present, with their values, in declaration order.
    pub fn entries(&self) -> Vec<(StepFamily, &StepValue)> {
        let mut out = Vec::new();
        if let Some(v) = &self.cpu_time {
            out.push((StepFamily::Cpu, v));
        }
        if let Some(v) = &self.necessary_ram {
            out.push((StepFamily::Ram, v));
        }
        if let Some(v) = &self.io_waiting_time {
            out.push((StepFamily::Io, v));
        }
        out
    }
}

/// A step value: a plain number (AsyncFlow) or a random variable (extension).
#[derive(Debug, Clone, PartialEq)]
pub enum StepValue {
    /// A constant.
    Fixed(f64),
    /// Sampled per request.
    Random(RvConfig),
}

impl StepValue {
    /// The mean of the value (the constant itself when fixed).
    pub fn mean(&self) -> f64 {
        match self {
            StepValue::Fixed(v) => *v,
            StepValue::Random(rv) => rv.mean,
        }
    }
}

impl Serialize for StepValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            StepValue::Fixed(v) => s.serialize_f64(*v),
            StepValue::Random(rv) => rv.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for StepValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct StepValueVisitor;
        impl<'de> Visitor<'de> for StepValueVisitor {
            type Value = StepValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number or a random variable { mean, distribution, variance }")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<StepValue, E> {
                Ok(StepValue::Fixed(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<StepValue, E> {
                Ok(StepValue::Fixed(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<StepValue, E> {
                Ok(StepValue::Fixed(v as f64))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<StepValue, A::Error> {
                RvConfig::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(StepValue::Random)
            }
        }
        d.deserialize_any(StepValueVisitor)
    }
}

/// `load_balancer`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadBalancer {
    /// Unique id.
    pub id: String,
    /// Optional node type tag; must be `load_balancer` when present.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub node_type: Option<String>,
    /// Routing algorithm.
    #[serde(default)]
    pub algorithms: LbAlgorithm,
    /// The servers (or load balancers of a tier below) it routes to (a set).
    #[serde(default)]
    pub server_covered: Vec<String>,
    /// Weights of `weighted_round_robin` by covered id (extension): whole
    /// numbers >= 1; a covered target not listed weighs 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<BTreeMap<String, i64>>,
    /// Socket capacity, accept backlog and RAM per connection (extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sockets: Option<SocketsSpec>,
}

/// Load-balancing algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LbAlgorithm {
    /// Rotate over the servers that are up.
    #[default]
    RoundRobin,
    /// The up edge with the fewest requests in transit; ties by declaration order.
    LeastConnection,
    /// A uniform draw over the up targets (extension).
    Random,
    /// nginx's smooth weighted round robin over the up targets, by `weights`
    /// (extension).
    WeightedRoundRobin,
    /// Two distinct random up targets, the one with fewer requests in flight
    /// (extension).
    PowerOfTwoChoices,
    /// The up target with the lowest EWMA response time x (in flight + 1)
    /// (extension).
    LeastResponseTime,
}

impl LbAlgorithm {
    /// Whether it reads the per-target load records (in flight, response
    /// time) that the engine keeps on the load balancer's edges.
    pub fn needs_load(self) -> bool {
        matches!(
            self,
            LbAlgorithm::PowerOfTwoChoices | LbAlgorithm::LeastResponseTime
        )
    }

    /// Its name in a scenario file.
    pub fn as_str(self) -> &'static str {
        match self {
            LbAlgorithm::RoundRobin => "round_robin",
            LbAlgorithm::LeastConnection => "least_connection",
            LbAlgorithm::Random => "random",
            LbAlgorithm::WeightedRoundRobin => "weighted_round_robin",
            LbAlgorithm::PowerOfTwoChoices => "power_of_two_choices",
            LbAlgorithm::LeastResponseTime => "least_response_time",
        }
    }
}

/// A directed network link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Edge {
    /// Unique id.
    pub id: String,
    /// Sending node id (or the generator id: an external entry).
    pub source: String,
    /// Receiving node id.
    pub target: String,
    /// Transit time in seconds.
    pub latency: RvConfig,
    /// Probability that a request sent on this edge is lost (AsyncFlow default 0.01).
    #[serde(default = "default_dropout_rate")]
    pub dropout_rate: f64,
    /// Edge type; only `network_connection` exists.
    #[serde(default)]
    pub edge_type: EdgeType,
    /// How requests on it get a connection (extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<ConnectionSpec>,
}

fn default_dropout_rate() -> f64 {
    0.01
}

/// Edge type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeType {
    /// A network link.
    #[default]
    NetworkConnection,
}

/// `sim_settings`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimSettings {
    /// Horizon in whole seconds, >= 5.
    #[serde(default = "default_total_simulation_time")]
    pub total_simulation_time: i64,
    /// Gauge sampling period in seconds, in [0.001, 0.1].
    #[serde(default = "default_sample_period_s")]
    pub sample_period_s: f64,
    /// Which gauges are written to `samples.parquet`.
    #[serde(default = "default_sample_metrics")]
    pub enabled_sample_metrics: Vec<SampleMetric>,
    /// Which per-request event metrics are recorded.
    #[serde(default = "default_event_metrics")]
    pub enabled_event_metrics: Vec<EventMetric>,
    /// Seed of every random stream (extension); drawn and reported when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Most requests allowed in the system at once (extension); an overloaded
    /// scenario whose backlog passes it stops with a clear error instead of
    /// exhausting memory. Each waiting request costs about 200 bytes.
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: i64,
}

/// Default of `sim_settings.max_in_flight`: about 1 GB of backlog.
pub const DEFAULT_MAX_IN_FLIGHT: i64 = 5_000_000;

fn default_max_in_flight() -> i64 {
    DEFAULT_MAX_IN_FLIGHT
}

fn default_total_simulation_time() -> i64 {
    3600
}

fn default_sample_period_s() -> f64 {
    0.01
}

fn default_sample_metrics() -> Vec<SampleMetric> {
    SampleMetric::ASYNCFLOW.to_vec()
}

fn default_event_metrics() -> Vec<EventMetric> {
    vec![EventMetric::RqsClock]
}

impl Default for SimSettings {
    fn default() -> Self {
        SimSettings {
            total_simulation_time: default_total_simulation_time(),
            sample_period_s: default_sample_period_s(),
            enabled_sample_metrics: default_sample_metrics(),
            enabled_event_metrics: default_event_metrics(),
            seed: None,
            max_in_flight: default_max_in_flight(),
        }
    }
}

/// A gauge that can be sampled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SampleMetric {
    /// Server: requests waiting for a core (not those running).
    ReadyQueueLen,
    /// Server: requests in an I/O wait.
    EventLoopIoSleep,
    /// Server: MB of RAM reserved.
    RamInUse,
    /// Edge: requests in transit.
    EdgeConcurrentConnection,
    /// Server (extension): cores running a CPU step.
    BusyCores,
    /// Server (extension): requests waiting for RAM.
    RamWaitQueueLen,
    /// Server or load balancer (extension): sockets open.
    OpenSockets,
    /// Server or load balancer (extension): MB held by open sockets.
    SocketRamMb,
    /// Server or load balancer (extension): connections waiting to be
    /// accepted.
    AcceptBacklogLen,
    /// Edge (extension): connections open on it.
    ConnectionsOpen,
    /// Edge (extension): idle keep-alive connections.
    ConnectionsIdle,
}

impl SampleMetric {
    /// AsyncFlow's four metrics (the default set).
    pub const ASYNCFLOW: [SampleMetric; 4] = [
        SampleMetric::ReadyQueueLen,
        SampleMetric::EventLoopIoSleep,
        SampleMetric::RamInUse,
        SampleMetric::EdgeConcurrentConnection,
    ];

    /// Every metric, in column order.
    pub const ALL: [SampleMetric; 11] = [
        SampleMetric::ReadyQueueLen,
        SampleMetric::EventLoopIoSleep,
        SampleMetric::RamInUse,
        SampleMetric::EdgeConcurrentConnection,
        SampleMetric::BusyCores,
        SampleMetric::RamWaitQueueLen,
        SampleMetric::OpenSockets,
        SampleMetric::SocketRamMb,
        SampleMetric::AcceptBacklogLen,
        SampleMetric::ConnectionsOpen,
        SampleMetric::ConnectionsIdle,
    ];

    /// The socket and connection gauges, sampled whenever a scenario
    /// declares sockets or connections.
    pub const SOCKETS: [SampleMetric; 5] = [
        SampleMetric::OpenSockets,
        SampleMetric::SocketRamMb,
        SampleMetric::AcceptBacklogLen,
        SampleMetric::ConnectionsOpen,
        SampleMetric::ConnectionsIdle,
    ];

    /// The YAML and Parquet spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SampleMetric::ReadyQueueLen => "ready_queue_len",
            SampleMetric::EventLoopIoSleep => "event_loop_io_sleep",
            SampleMetric::RamInUse => "ram_in_use",
            SampleMetric::EdgeConcurrentConnection => "edge_concurrent_connection",
            SampleMetric::BusyCores => "busy_cores",
            SampleMetric::RamWaitQueueLen => "ram_wait_queue_len",
            SampleMetric::OpenSockets => "open_sockets",
            SampleMetric::SocketRamMb => "socket_ram_mb",
            SampleMetric::AcceptBacklogLen => "accept_backlog_len",
            SampleMetric::ConnectionsOpen => "connections_open",
            SampleMetric::ConnectionsIdle => "connections_idle",
        }
    }
}

/// A per-request event metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventMetric {
    /// Generation and completion clock of each request.
    RqsClock,
    /// Reserved: LLM cost accounting.
    LlmCost,
}

/// An injected event: a window with a start and an end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventInjection {
    /// Unique id.
    pub event_id: String,
    /// A server (outages) or an edge (spikes).
    pub target_id: String,
    /// Start of the window.
    pub start: EventStart,
    /// End of the window.
    pub end: EventEnd,
}

/// Start of an injected event window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventStart {
    /// `server_down` or `network_spike_start`.
    pub kind: EventKind,
    /// Seconds since start.
    pub t_start: f64,
    /// Added latency in seconds (spikes only, > 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spike_s: Option<f64>,
}

/// End of an injected event window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventEnd {
    /// `server_up` or `network_spike_end`.
    pub kind: EventKind,
    /// Seconds since start.
    pub t_end: f64,
}

/// Injected event kinds; they pair up as start/end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A server stops taking new requests from the load balancer.
    ServerDown,
    /// The server is back.
    ServerUp,
    /// Extra latency on an edge begins.
    NetworkSpikeStart,
    /// The extra latency ends.
    NetworkSpikeEnd,
}

impl EventKind {
    /// The YAML spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::ServerDown => "server_down",
            EventKind::ServerUp => "server_up",
            EventKind::NetworkSpikeStart => "network_spike_start",
            EventKind::NetworkSpikeEnd => "network_spike_end",
        }
    }
}
