//! Building the World from a validated scenario.
//!
//! Ids become entities here, once; the name table keeps the strings for output.
//! Every node of every registered kind is spawned empty first, then the edges
//! (the engine's own), so that configurations can name each other's entities;
//! then each kind inserts its configuration and state components
//! ([`NodeKind::build`](super::node::NodeKind::build)) through [`BuildCx`].

use std::collections::HashMap;
use std::sync::Arc;

use bevy_ecs::prelude::*;
use rand_pcg::Pcg64;

use super::connection::{ConnList, ConnPool, EdgeConn, Sockets};
use super::dispatch::NodeKindOf;
use super::network::{EdgeConfig, EdgeState};
use super::node::{KindId, Registry};
use super::rng::stream;
use super::time::SimTime;
use crate::metrics::record::{EntityKind, Names};
use crate::scenario::Scenario;
use crate::scenario::rv::{Sampler, SamplerError};
use crate::scenario::schema::{SampleMetric, ScenarioFile};
use crate::scenario::sockets::{ConnectionMode, SocketHolder};

/// A scenario value the engine cannot use (validation should have refused it).
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A random variable with unusable parameters.
    #[error("{what}: {source}")]
    Sampler {
        /// Which value.
        what: String,
        /// Why.
        source: SamplerError,
    },
    /// A reference to an id that does not exist, or a missing edge.
    #[error("{0}")]
    Topology(String),
}

/// What the run loop and the output need to know about a built world; each
/// kind keeps its own node lists in its own resources.
#[derive(Resource, Debug, Clone)]
pub struct Topology {
    /// Every name the run can write.
    pub names: Arc<Names>,
    /// Edges, in declaration order.
    pub edges: Vec<Entity>,
    /// Gauges enabled in `sim_settings.enabled_sample_metrics`.
    pub enabled_metrics: Vec<SampleMetric>,
}

impl Topology {
    /// Whether `metric` is written to `samples.parquet`.
    pub fn samples(&self, metric: SampleMetric) -> bool {
        self.enabled_metrics.contains(&metric)
    }
}

/// What a kind's [`build`](super::node::NodeKind::build) works with.
pub struct BuildCx<'a> {
    /// The world being built.
    pub world: &'a mut World,
    /// The scenario.
    pub file: &'a ScenarioFile,
    /// Run seed.
    pub seed: u64,
    /// Replication index.
    pub replication: u64,
    /// The name table.
    pub names: &'a mut Names,
    nodes: HashMap<String, (Entity, KindId)>,
    edges: Vec<Entity>,
    out_of: HashMap<String, Vec<usize>>,
}

impl BuildCx<'_> {
    /// The entity of node `id` (any kind).
    pub fn node(&self, id: &str) -> Option<Entity> {
        self.nodes.get(id).map(|&(e, _)| e)
    }

    /// The entity of node `id` or a topology error naming `what`.
    pub fn require_node(&self, id: &str, what: &str) -> Result<Entity, BuildError> {
        self.node(id)
            .ok_or_else(|| BuildError::Topology(format!("{what}: unknown node {id}")))
    }

    /// The kind of node `id`.
    pub fn kind_of(&self, id: &str) -> Option<KindId> {
        self.nodes.get(id).map(|&(_, k)| k)
    }

    /// The entity of edge number `i` (declaration order).
    pub fn edge(&self, i: usize) -> Entity {
        self.edges[i]
    }

    /// Out edges of node `id`, in declaration order: (edge index, entity).
    pub fn out_edges(&self, id: &str) -> Vec<(usize, Entity)> {
        self.out_of
            .get(id)
            .map(|v| v.iter().map(|&i| (i, self.edges[i])).collect())
            .unwrap_or_default()
    }

    /// The first edge from `from` to `to`, if any.
    pub fn edge_between(&self, from: &str, to: &str) -> Option<Entity> {
        self.out_of.get(from).and_then(|v| {
            v.iter()
                .find(|&&i| self.file.topology_graph.edges[i].target == to)
                .map(|&i| self.edges[i])
        })
    }

    /// Keep the load record of edge number `i`'s target on that edge
    /// ([`crate::engine::network::TargetLoad`]): requests sent on it are held
    /// by it, and released when they leave its target on any of the target's
    /// out edges (or end).
    pub fn track_load(&mut self, i: usize) {
        let file = self.file;
        let Some(e) = file.topology_graph.edges.get(i) else {
            return;
        };
        if let Some(mut cfg) = self.world.get_mut::<EdgeConfig>(self.edges[i]) {
            cfg.track |= EdgeConfig::HOLD;
        }
        for (_, out) in self.out_edges(&e.target) {
            if let Some(mut cfg) = self.world.get_mut::<EdgeConfig>(out) {
                cfg.track |= EdgeConfig::RELEASE;
            }
        }
    }

    /// The random stream of entity `name` of kind `kind`.
    pub fn stream(&self, kind: &str, name: &str) -> Pcg64 {
        stream(self.seed, self.replication, kind, name)
    }
}

/// Build a sampler, naming the value on failure.
pub fn sampler(
    what: impl Fn() -> String,
    s: Result<Sampler, SamplerError>,
) -> Result<Sampler, BuildError> {
    s.map_err(|source| BuildError::Sampler {
        what: what(),
        source,
    })
}

/// Spawn every node and edge of `scenario` into `world`; returns the topology.
pub fn build(
    world: &mut World,
    registry: &Registry,
    scenario: &Scenario,
    seed: u64,
    replication: u64,
) -> Result<Topology, BuildError> {
    let m = scenario.model();
    let mut names = Names::new();

    let mut nodes = HashMap::new();
    for (kind, ids) in registry.declare(m) {
        for id in ids {
            let e = world.spawn(NodeKindOf(kind)).id();
            nodes.insert(id, (e, kind));
        }
    }
    let edges: Vec<Entity> = m
        .topology_graph
        .edges
        .iter()
        .map(|_| world.spawn_empty().id())
        .collect();
    let mut out_of: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, e) in m.topology_graph.edges.iter().enumerate() {
        out_of.entry(e.source.clone()).or_default().push(i);
    }

    for (i, e) in m.topology_graph.edges.iter().enumerate() {
        let name = names.intern(&e.id);
        let &(target, target_kind) = nodes.get(e.target.as_str()).ok_or_else(|| {
            BuildError::Topology(format!("edge {}: unknown target {}", e.id, e.target))
        })?;
        let cfg = EdgeConfig {
            name,
            latency: sampler(
                || format!("edge {} latency", e.id),
                Sampler::new(&e.latency),
            )?,
            dropout: e.dropout_rate,
            target,
            target_kind,
            track: 0,
            conn: false,
        };
        world.entity_mut(edges[i]).insert((
            cfg,
            EdgeState::new(stream(seed, replication, "edge", &e.id)),
        ));
    }

    let conn_list = build_connections(world, m, &mut names, &nodes, &edges, (seed, replication))?;
    let uses_connections = !conn_list.nodes.is_empty() || !conn_list.edges.is_empty();
    world.insert_resource(conn_list);
    world.insert_resource(ConnPool {
        enabled: uses_connections,
        ..ConnPool::default()
    });
    let mut enabled_metrics = m.sim_settings.enabled_sample_metrics.clone();
    if uses_connections {
        for metric in SampleMetric::SOCKETS {
            if !enabled_metrics.contains(&metric) {
                enabled_metrics.push(metric);
            }
        }
    }

    let mut cx = BuildCx {
        world,
        file: m,
        seed,
        replication,
        names: &mut names,
        nodes,
        edges,
        out_of,
    };
    registry.build(&mut cx)?;
    let edges = cx.edges;

    Ok(Topology {
        names: Arc::new(names),
        edges,
        enabled_metrics,
    })
}

/// The sockets of every node that declares them (servers, then load
/// balancers, in file order) and the connection model of every edge that
/// has one (see [`crate::engine::connection`]).
fn build_connections(
    world: &mut World,
    m: &ScenarioFile,
    names: &mut Names,
    nodes: &HashMap<String, (Entity, KindId)>,
    edges: &[Entity],
    (seed, replication): (u64, u64),
) -> Result<ConnList, BuildError> {
    let mut list = ConnList::default();
    let holders = m
        .topology_graph
        .nodes
        .servers
        .iter()
        .map(|s| s.id.as_str())
        .chain(
            m.topology_graph
                .nodes
                .all_load_balancers()
                .map(|(_, l)| l.id.as_str()),
        );
    for id in holders {
        let Some((holder, Some(spec), ram)) = m.socket_holder(id) else {
            continue;
        };
        let Some(&(e, _)) = nodes.get(id) else {
            continue;
        };
        let to_u32 = |v: i64| u32::try_from(v.max(0)).unwrap_or(u32::MAX);
        let limits = (
            spec.max.map_or(u32::MAX, to_u32),
            to_u32(spec.backlog),
            spec.ram_per_connection_mb.unwrap_or(0.0),
        );
        let (kind, poke) = match holder {
            SocketHolder::Server => (EntityKind::Server, true),
            SocketHolder::LoadBalancer => (EntityKind::LoadBalancer, false),
        };
        let sockets = Sockets::new(names.intern(id), kind, limits, ram, poke);
        world.entity_mut(e).insert(sockets);
        list.nodes.push(e);
    }
    for (i, e) in m.topology_graph.edges.iter().enumerate() {
        let Some(spec) = m.edge_connection(i) else {
            continue;
        };
        let (Some(&(src, _)), Some(&(dst, _))) =
            (nodes.get(e.source.as_str()), nodes.get(e.target.as_str()))
        else {
            continue;
        };
        let keep_alive = spec.mode == ConnectionMode::KeepAlive;
        let pool_size = match spec.pool_size {
            Some(n) if keep_alive => u32::try_from(n.max(1)).unwrap_or(u32::MAX),
            _ => u32::MAX,
        };
        let rtts = spec.handshake_rtts.max(0) + spec.tls_rtts.max(0);
        let latency = sampler(
            || format!("edge {} latency", e.id),
            Sampler::new(&e.latency),
        )?;
        let conn = EdgeConn {
            name: names.intern(&e.id),
            keep_alive,
            pool_size,
            idle_timeout: SimTime::from_secs_f64(spec.idle_timeout_s.max(0.0)),
            rtts: u32::try_from(rtts).unwrap_or(u32::MAX),
            src,
            dst,
            latency,
            rng: stream(seed, replication, "connection", &e.id),
            open: 0,
            idle: Vec::new(),
            waiters: Default::default(),
            opened: 0,
            reused: 0,
            refused: 0,
            closed: 0,
            lifetime_sum: SimTime::ZERO,
            carried: 0,
            g_open: Default::default(),
            g_idle: Default::default(),
        };
        let mut ent = world.entity_mut(edges[i]);
        ent.insert(conn);
        if let Some(mut cfg) = ent.get_mut::<EdgeConfig>() {
            cfg.conn = true;
        }
        list.edges.push(edges[i]);
    }
    Ok(list)
}
