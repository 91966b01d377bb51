//! Building a scenario in code.
//!
//! The builder fills the same [`ScenarioFile`] the YAML loader produces, with the
//! same defaults, and [`ScenarioBuilder::build`] runs the same validation, so a
//! scenario written either way means the same thing. Missing required parts (no
//! generator, no client) are reported as diagnostics like any other mistake.
//!
//! The quickstart scenario (`scenarios/quickstart.yml`) in code:
//!
//! ```
//! use asyncflow::scenario::schema::{Distribution, RvConfig, SimSettings, StepKind};
//! use asyncflow::scenario::{EndpointBuilder, Scenario, ServerBuilder};
//!
//! let exp3ms = RvConfig::new(Distribution::Exponential, 0.003);
//! let scenario = Scenario::builder()
//!     .generator(
//!         "rqs-1",
//!         RvConfig::new(Distribution::Poisson, 100.0),
//!         RvConfig::new(Distribution::Poisson, 100.0),
//!     )
//!     .user_sampling_window(60)
//!     .client("client-1")
//!     .server(
//!         ServerBuilder::new("app-1").cpu_cores(1).ram_mb(2048).endpoint(
//!             EndpointBuilder::new("/api")
//!                 .step(StepKind::InitialParsing, 0.002)
//!                 .step(StepKind::Ram, 120.0)
//!                 .step(StepKind::IoDb, 0.012),
//!         ),
//!     )
//!     .edge("gen-client", "rqs-1", "client-1", exp3ms.clone())
//!     .edge("client-app", "client-1", "app-1", exp3ms.clone())
//!     .edge("app-client", "app-1", "client-1", exp3ms)
//!     .settings(SimSettings {
//!         total_simulation_time: 300,
//!         sample_period_s: 0.05,
//!         seed: Some(42),
//!         ..SimSettings::default()
//!     })
//!     .build()
//!     .expect("the quickstart scenario is valid");
//! assert_eq!(scenario.model().topology_graph.edges.len(), 3);
//!
//! // The same tree as the YAML file.
//! let yaml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/quickstart.yml")).unwrap();
//! let loaded = Scenario::from_yaml_str(&yaml, None).unwrap();
//! assert_eq!(scenario.model(), loaded.model());
//! ```

use super::Scenario;
use super::diagnostic::{Diagnostic, ScenarioError};
use super::schema::{
    Client, Edge, EdgeType, Endpoint, EventEnd, EventInjection, EventKind, EventStart, LbAlgorithm,
    LoadBalancer, OneOrMany, RqsGenerator, RvConfig, ScenarioFile, Server, ServerResources,
    SimSettings, Step, StepFamily, StepKind, StepOperation, StepValue, TopologyGraph,
    TopologyNodes, WorkerDispatch,
};

impl From<f64> for StepValue {
    fn from(v: f64) -> Self {
        StepValue::Fixed(v)
    }
}

impl From<RvConfig> for StepValue {
    fn from(rv: RvConfig) -> Self {
        StepValue::Random(rv)
    }
}

/// Chainable construction of a [`Scenario`]; see the module docs for an example.
#[derive(Debug, Clone, Default)]
pub struct ScenarioBuilder {
    generator: Option<RqsGenerator>,
    client: Option<Client>,
    servers: Vec<Server>,
    load_balancer: Option<LoadBalancer>,
    edges: Vec<Edge>,
    settings: SimSettings,
    events: Vec<EventInjection>,
}

impl ScenarioBuilder {
    /// The workload generator: `users` active users (redrawn every window), each
    /// sending `rpm` requests per minute. The window defaults to 60 s.
    pub fn generator(mut self, id: impl Into<String>, users: RvConfig, rpm: RvConfig) -> Self {
        self.generator = Some(RqsGenerator {
            id: id.into(),
            node_type: None,
            avg_active_users: users,
            avg_request_per_minute_per_user: rpm,
            target: None,
            endpoint_weights: None,
            user_sampling_window: 60,
        });
        self
    }

    /// Seconds between redraws of the active-user count (call after `generator`).
    pub fn user_sampling_window(mut self, seconds: i64) -> Self {
        if let Some(g) = &mut self.generator {
            g.user_sampling_window = seconds;
        }
        self
    }

    /// The client node.
    pub fn client(mut self, id: impl Into<String>) -> Self {
        self.client = Some(Client {
            id: id.into(),
            node_type: None,
        });
        self
    }

    /// Add a server.
    pub fn server(mut self, server: ServerBuilder) -> Self {
        self.servers.push(server.0);
        self
    }

    /// The load balancer, routing to the listed servers.
    pub fn load_balancer<I, S>(
        mut self,
        id: impl Into<String>,
        algorithm: LbAlgorithm,
        covered: I,
    ) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.load_balancer = Some(LoadBalancer {
            id: id.into(),
            node_type: None,
            algorithms: algorithm,
            server_covered: covered.into_iter().map(Into::into).collect(),
            weights: None,
            sockets: None,
        });
        self
    }

    /// Add an edge with the default dropout rate (0.01, as in AsyncFlow).
    pub fn edge(
        self,
        id: impl Into<String>,
        source: impl Into<String>,
        target: impl Into<String>,
        latency: RvConfig,
    ) -> Self {
        self.edge_with_dropout(id, source, target, latency, 0.01)
    }

    /// Add an edge with an explicit dropout rate.
    pub fn edge_with_dropout(
        mut self,
        id: impl Into<String>,
        source: impl Into<String>,
        target: impl Into<String>,
        latency: RvConfig,
        dropout_rate: f64,
    ) -> Self {
        self.edges.push(Edge {
            id: id.into(),
            source: source.into(),
            target: target.into(),
            latency,
            dropout_rate,
            edge_type: EdgeType::NetworkConnection,
            connection: None,
        });
        self
    }

    /// Simulation settings (defaults: 3600 s, 0.01 s sampling, AsyncFlow's metrics).
    pub fn settings(mut self, settings: SimSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Add an injected event as written in YAML.
    pub fn event(mut self, event: EventInjection) -> Self {
        self.events.push(event);
        self
    }

    /// Add a server outage from `t_start` to `t_end` seconds.
    pub fn server_outage(
        self,
        id: impl Into<String>,
        server: impl Into<String>,
        t_start: f64,
        t_end: f64,
    ) -> Self {
        self.event(EventInjection {
            event_id: id.into(),
            target_id: server.into(),
            start: EventStart {
                kind: EventKind::ServerDown,
                t_start,
                spike_s: None,
            },
            end: EventEnd {
                kind: EventKind::ServerUp,
                t_end,
            },
        })
    }

    /// Add `spike_s` seconds of latency to an edge from `t_start` to `t_end`.
    pub fn network_spike(
        self,
        id: impl Into<String>,
        edge: impl Into<String>,
        t_start: f64,
        t_end: f64,
        spike_s: f64,
    ) -> Self {
        self.event(EventInjection {
            event_id: id.into(),
            target_id: edge.into(),
            start: EventStart {
                kind: EventKind::NetworkSpikeStart,
                t_start,
                spike_s: Some(spike_s),
            },
            end: EventEnd {
                kind: EventKind::NetworkSpikeEnd,
                t_end,
            },
        })
    }

    /// The model as built so far, without validation (`None` without a generator
    /// or a client).
    pub fn into_model(self) -> Option<ScenarioFile> {
        Some(ScenarioFile {
            rqs_input: OneOrMany::One(self.generator?),
            topology_graph: TopologyGraph {
                nodes: TopologyNodes {
                    client: Some(self.client?),
                    clients: Vec::new(),
                    servers: self.servers,
                    load_balancer: self.load_balancer,
                    load_balancers: Vec::new(),
                },
                edges: self.edges,
            },
            sim_settings: self.settings,
            events: self.events,
        })
    }

    /// Validate and return the scenario.
    pub fn build(self) -> Result<Scenario, ScenarioError> {
        let mut missing = Vec::new();
        if self.generator.is_none() {
            missing.push(
                Diagnostic::new("rqs_input", "a generator", "none")
                    .with_hint("call `.generator(id, users, rpm)`"),
            );
        }
        if self.client.is_none() {
            missing.push(
                Diagnostic::new("topology_graph.nodes.client", "a client", "none")
                    .with_hint("call `.client(id)`"),
            );
        }
        match self.into_model() {
            Some(model) if missing.is_empty() => Scenario::from_model(model),
            _ => Err(ScenarioError::Invalid(missing)),
        }
    }
}

/// Chainable construction of a [`Server`] (defaults: 1 core, 1024 MB).
#[derive(Debug, Clone)]
pub struct ServerBuilder(Server);

impl ServerBuilder {
    /// A server with default resources and no endpoint yet.
    pub fn new(id: impl Into<String>) -> Self {
        ServerBuilder(Server {
            id: id.into(),
            node_type: None,
            server_resources: ServerResources::default(),
            endpoints: Vec::new(),
            sockets: None,
        })
    }

    /// Number of cores.
    pub fn cpu_cores(mut self, n: i64) -> Self {
        self.0.server_resources.cpu_cores = n;
        self
    }

    /// RAM in MB.
    pub fn ram_mb(mut self, mb: i64) -> Self {
        self.0.server_resources.ram_mb = mb;
        self
    }

    /// Socket capacity, accept backlog and RAM per connection.
    pub fn sockets(mut self, sockets: crate::scenario::sockets::SocketsSpec) -> Self {
        self.0.sockets = Some(sockets);
        self
    }

    /// Database connection pool size (reserved).
    pub fn db_connection_pool(mut self, n: i64) -> Self {
        self.0.server_resources.db_connection_pool = Some(n);
        self
    }

    /// Event loops sharing the server's RAM, each with `cpu_cores / n` cores.
    pub fn workers(mut self, n: i64) -> Self {
        self.0.server_resources.workers = n;
        self
    }

    /// How arrivals are spread over the workers.
    pub fn worker_dispatch(mut self, d: WorkerDispatch) -> Self {
        self.0.server_resources.worker_dispatch = d;
        self
    }

    /// Add an endpoint.
    pub fn endpoint(mut self, endpoint: EndpointBuilder) -> Self {
        self.0.endpoints.push(endpoint.0);
        self
    }

    /// The server.
    pub fn build(self) -> Server {
        self.0
    }
}

/// Chainable construction of an [`Endpoint`].
#[derive(Debug, Clone)]
pub struct EndpointBuilder(Endpoint);

impl EndpointBuilder {
    /// An endpoint with no steps and no probability.
    pub fn new(name: impl Into<String>) -> Self {
        EndpointBuilder(Endpoint {
            endpoint_name: name.into(),
            probability: None,
            steps: Vec::new(),
        })
    }

    /// Its selection weight.
    pub fn probability(mut self, p: f64) -> Self {
        self.0.probability = Some(p);
        self
    }

    /// Add a step; the `step_operation` key is the one the kind's family takes.
    pub fn step(mut self, kind: StepKind, value: impl Into<StepValue>) -> Self {
        let value = Some(value.into());
        let mut op = StepOperation::default();
        match kind.family() {
            StepFamily::Cpu => op.cpu_time = value,
            StepFamily::Ram => op.necessary_ram = value,
            StepFamily::Io => op.io_waiting_time = value,
            // Calls name a service, not a value: built with `StepOperation`
            // directly.
            StepFamily::Call => {}
        }
        self.0.steps.push(Step {
            kind,
            step_operation: op,
        });
        self
    }

    /// The endpoint.
    pub fn build(self) -> Endpoint {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_generator_and_client_are_two_diagnostics() {
        let e = Scenario::builder().build().unwrap_err();
        let paths: Vec<&str> = e.diagnostics().iter().map(|d| d.path.as_str()).collect();
        assert_eq!(paths, ["rqs_input", "topology_graph.nodes.client"]);
    }

    #[test]
    fn step_picks_the_key_of_its_family() {
        let ep = EndpointBuilder::new("e")
            .step(StepKind::IoCache, 0.5)
            .build();
        assert_eq!(
            ep.steps[0].step_operation.io_waiting_time,
            Some(StepValue::Fixed(0.5))
        );
    }
}
