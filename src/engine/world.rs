//! Building the World from a validated scenario.
//!
//! Ids become entities here, once; the name table keeps the strings for output.
//! Nodes and edges are spawned empty first so that configurations can name each
//! other's entities, then receive their configuration and state components.

use std::collections::HashMap;
use std::sync::Arc;

use bevy_ecs::prelude::*;

use super::rng::stream;
use super::time::SimTime;
use crate::metrics::record::{NameId, Names};
use crate::model::client::ClientConfig;
use crate::model::edge::{EdgeConfig, EdgeState, NodeKind};
use crate::model::generator::{GeneratorConfig, GeneratorState};
use crate::model::injection::{Action, Injection, Injections, LbSlots};
use crate::model::load_balancer::{LbConfig, LbState};
use crate::model::server::{EndpointPlan, ServerConfig, ServerState, StepPlan, Work};
use crate::scenario::Scenario;
use crate::scenario::rv::{Sampler, SamplerError};
use crate::scenario::schema::{EventKind, LbAlgorithm, SampleMetric, StepFamily};

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

/// The entities of a built world, in declaration order, plus what the run loop
/// and the output need to know about them.
#[derive(Resource, Debug, Clone)]
pub struct Topology {
    /// Every name the run can write.
    pub names: Arc<Names>,
    /// The generator.
    pub generator: Entity,
    /// The client's name.
    pub client_name: NameId,
    /// Servers, in declaration order.
    pub servers: Vec<Entity>,
    /// Edges, in declaration order.
    pub edges: Vec<Entity>,
    /// Sample metrics to write for servers.
    pub server_metrics: Vec<SampleMetric>,
    /// Whether edge in-flight samples are written.
    pub edge_metric: bool,
}

fn sampler(
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
    scenario: &Scenario,
    seed: u64,
    replication: u64,
) -> Result<Topology, BuildError> {
    let m = scenario.model();
    let nodes = &m.topology_graph.nodes;
    let mut names = Names::new();

    let mut node_of: HashMap<&str, (Entity, NodeKind)> = HashMap::new();
    let generator = world.spawn_empty().id();
    let client = world.spawn_empty().id();
    node_of.insert(nodes.client.id.as_str(), (client, NodeKind::Client));
    let lb = nodes.load_balancer.as_ref().map(|l| {
        let e = world.spawn_empty().id();
        node_of.insert(l.id.as_str(), (e, NodeKind::LoadBalancer));
        (l, e)
    });
    let servers: Vec<Entity> = nodes
        .servers
        .iter()
        .map(|s| {
            let e = world.spawn_empty().id();
            node_of.insert(s.id.as_str(), (e, NodeKind::Server));
            e
        })
        .collect();
    let edges: Vec<Entity> = m
        .topology_graph
        .edges
        .iter()
        .map(|_| world.spawn_empty().id())
        .collect();

    // Out edges of every source, in declaration order.
    let mut out_of: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, e) in m.topology_graph.edges.iter().enumerate() {
        out_of.entry(e.source.as_str()).or_default().push(i);
    }
    let first_out =
        |id: &str| -> Option<Entity> { out_of.get(id).and_then(|v| v.first()).map(|&i| edges[i]) };

    // Load balancer slots: its out edges in declaration order.
    let lb_edges: Vec<usize> = lb
        .map(|(l, _)| out_of.get(l.id.as_str()).cloned().unwrap_or_default())
        .unwrap_or_default();
    let mut lb_slots = LbSlots::default();

    let gen_name = names.intern(&m.rqs_input.id);
    let client_name = names.intern(&nodes.client.id);

    for (i, e) in m.topology_graph.edges.iter().enumerate() {
        let name = names.intern(&e.id);
        let &(target, target_kind) = node_of.get(e.target.as_str()).ok_or_else(|| {
            BuildError::Topology(format!("edge {}: unknown target {}", e.id, e.target))
        })?;
        let slot_of = lb.and_then(|(l, lbe)| {
            lb_edges
                .iter()
                .position(|&j| j == i)
                .map(|slot| (l, lbe, slot))
        });
        if let Some((_, lbe, slot)) = slot_of {
            lb_slots.0.push((target, lbe, slot));
        }
        // Only least connection reads the in-transit table, so only its edges
        // pay for keeping it current.
        let lb_slot = slot_of
            .filter(|(l, _, _)| l.algorithms == LbAlgorithm::LeastConnection)
            .map(|(_, lbe, slot)| (lbe, slot));
        let cfg = EdgeConfig {
            name,
            latency: sampler(
                || format!("edge {} latency", e.id),
                Sampler::new(&e.latency),
            )?,
            dropout: e.dropout_rate,
            target,
            target_kind,
            lb_slot,
        };
        world.entity_mut(edges[i]).insert((
            cfg,
            EdgeState::new(stream(seed, replication, "edge", &e.id)),
        ));
    }

    let g = &m.rqs_input;
    let gen_out = first_out(&g.id)
        .ok_or_else(|| BuildError::Topology(format!("generator {} has no out edge", g.id)))?;
    world.entity_mut(generator).insert((
        GeneratorConfig {
            name: gen_name,
            users: sampler(
                || "avg_active_users".into(),
                Sampler::new(&g.avg_active_users),
            )?,
            rpm: g.avg_request_per_minute_per_user.mean,
            window: SimTime::from_secs(g.user_sampling_window.max(1) as u64),
            out_edge: gen_out,
        },
        GeneratorState::new(stream(seed, replication, "generator", &g.id)),
    ));

    let client_out = first_out(&nodes.client.id).ok_or_else(|| {
        BuildError::Topology(format!("client {} has no out edge", nodes.client.id))
    })?;
    world.entity_mut(client).insert(ClientConfig {
        name: client_name,
        out_edge: client_out,
    });

    if let Some((l, lbe)) = lb {
        let name = names.intern(&l.id);
        let slots: Vec<Entity> = lb_edges.iter().map(|&i| edges[i]).collect();
        let n = slots.len();
        world.entity_mut(lbe).insert((
            LbConfig {
                name,
                algorithm: l.algorithms,
                edges: slots,
            },
            LbState::new(n),
        ));
    }

    for (s, &e) in nodes.servers.iter().zip(&servers) {
        let name = names.intern(&s.id);
        let mut endpoints = Vec::with_capacity(s.endpoints.len());
        for ep in &s.endpoints {
            let mut ram = Vec::new();
            let mut steps = Vec::new();
            for (k, step) in ep.steps.iter().enumerate() {
                for (family, value) in step.step_operation.entries() {
                    let what = || format!("server {} endpoint {} step {k}", s.id, ep.endpoint_name);
                    let smp = sampler(what, Sampler::for_step(value))?;
                    match family {
                        StepFamily::Ram => ram.push(smp),
                        StepFamily::Cpu => steps.push(StepPlan {
                            work: Work::Cpu,
                            duration: smp,
                        }),
                        StepFamily::Io => steps.push(StepPlan {
                            work: Work::Io,
                            duration: smp,
                        }),
                    }
                }
            }
            endpoints.push(EndpointPlan {
                name: names.intern(&ep.endpoint_name),
                ram,
                steps,
            });
        }
        let cumulative_weights =
            if s.endpoints.iter().all(|ep| ep.probability.is_some()) && s.endpoints.len() > 1 {
                s.endpoints
                    .iter()
                    .scan(0.0, |acc, ep| {
                        *acc += ep.probability.unwrap_or(0.0);
                        Some(*acc)
                    })
                    .collect()
            } else {
                Vec::new()
            };
        let cores = u32::try_from(s.server_resources.cpu_cores.max(1)).unwrap_or(u32::MAX);
        world.entity_mut(e).insert((
            ServerConfig {
                name,
                cores,
                ram_mb: s.server_resources.ram_mb as f64,
                endpoints,
                cumulative_weights,
                out_edge: first_out(&s.id).unwrap_or(Entity::PLACEHOLDER),
            },
            ServerState::new(cores, stream(seed, replication, "server", &s.id)),
        ));
    }

    // Injected events.
    let edge_of: HashMap<&str, Entity> = m
        .topology_graph
        .edges
        .iter()
        .zip(&edges)
        .map(|(e, &ent)| (e.id.as_str(), ent))
        .collect();
    let mut items = Vec::new();
    for ev in &m.events {
        let id = names.intern(&ev.event_id);
        let target = names.intern(&ev.target_id);
        let start = SimTime::from_secs_f64(ev.start.t_start);
        let end = SimTime::from_secs_f64(ev.end.t_end);
        let missing = || {
            BuildError::Topology(format!(
                "event {}: unknown target {}",
                ev.event_id, ev.target_id
            ))
        };
        let (a, b) = match ev.start.kind {
            EventKind::ServerDown | EventKind::ServerUp => {
                let &(server, _) = node_of.get(ev.target_id.as_str()).ok_or_else(missing)?;
                (Action::ServerDown { server }, Action::ServerUp { server })
            }
            EventKind::NetworkSpikeStart | EventKind::NetworkSpikeEnd => {
                let &edge = edge_of.get(ev.target_id.as_str()).ok_or_else(missing)?;
                let extra = SimTime::from_secs_f64(ev.start.spike_s.unwrap_or(0.0));
                (
                    Action::SpikeStart { edge, extra },
                    Action::SpikeEnd { edge, extra },
                )
            }
        };
        items.push(Injection {
            at: start,
            action: a,
            record: Injections::record(start, id, target, ev.start.kind),
        });
        items.push(Injection {
            at: end,
            action: b,
            record: Injections::record(end, id, target, ev.end.kind),
        });
    }
    world.insert_resource(Injections::new(items, lb_slots));

    let enabled = &m.sim_settings.enabled_sample_metrics;
    let server_metrics = SampleMetric::ALL
        .into_iter()
        .filter(|k| *k != SampleMetric::EdgeConcurrentConnection && enabled.contains(k))
        .collect();
    Ok(Topology {
        names: Arc::new(names),
        generator,
        client_name,
        servers,
        edges,
        server_metrics,
        edge_metric: enabled.contains(&SampleMetric::EdgeConcurrentConnection),
    })
}
