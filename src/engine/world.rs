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

use super::dispatch::NodeKindOf;
use super::network::{EdgeConfig, EdgeState};
use super::node::{KindId, Registry};
use super::rng::stream;
use crate::metrics::record::Names;
use crate::scenario::Scenario;
use crate::scenario::rv::{Sampler, SamplerError};
use crate::scenario::schema::{SampleMetric, ScenarioFile};

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
        };
        world.entity_mut(edges[i]).insert((
            cfg,
            EdgeState::new(stream(seed, replication, "edge", &e.id)),
        ));
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
        enabled_metrics: m.sim_settings.enabled_sample_metrics.clone(),
    })
}
