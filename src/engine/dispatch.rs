//! The dispatch phase: pop events in `(time, seq)` order and hand each to the
//! model handler it names, up to the next sync point.

use std::collections::VecDeque;

use bevy_ecs::prelude::*;
use bevy_ecs::query::QueryState;

use super::event::EventKind;
use super::output::Output;
use super::queue::EventQueue;
use super::time::SimTime;
use crate::metrics::record::{NameId, RequestRecord};
use crate::metrics::summary::RunStats;
use crate::model::edge;
use crate::model::edge::{EdgeConfig, EdgeState};
use crate::model::generator::{self, GeneratorConfig, GeneratorState};
use crate::model::load_balancer::{LbConfig, LbState};
use crate::model::request::Request;
use crate::model::server::{self, ServerConfig, ServerState};

/// Cached queries for the components handlers touch, so a lookup is an entity
/// location plus a table read (no type-id lookup per access).
pub struct Lookups {
    /// Edges.
    pub edges: QueryState<(&'static EdgeConfig, &'static mut EdgeState)>,
    /// Servers.
    pub servers: QueryState<(&'static ServerConfig, &'static mut ServerState)>,
    /// Load balancers.
    pub lbs: QueryState<(&'static LbConfig, &'static mut LbState)>,
    /// Generators.
    pub generators: QueryState<(&'static GeneratorConfig, &'static mut GeneratorState)>,
    /// Requests.
    pub requests: QueryState<&'static mut Request>,
    /// Entities of finished requests, reused by the next generated ones.
    pub spare_requests: Vec<Entity>,
}

impl Lookups {
    /// Build the queries for `world`.
    pub fn new(world: &mut World) -> Self {
        Lookups {
            edges: world.query(),
            servers: world.query(),
            lbs: world.query(),
            generators: world.query(),
            requests: world.query(),
            spare_requests: Vec::new(),
        }
    }
}

/// What a handler may touch besides the world: the clock, the queue, the run
/// statistics and the output sinks.
pub struct Ctx<'a> {
    /// Time of the event being handled.
    pub now: SimTime,
    /// Pending events.
    pub queue: &'a mut EventQueue,
    /// Run-wide counters and latency statistics.
    pub stats: &'a mut RunStats,
    /// Output sinks.
    pub output: &'a mut Output,
    /// Cached queries.
    pub q: &'a mut Lookups,
    /// The client's name (for request records).
    pub client_name: NameId,
    /// A core hand-over waiting for the server's borrow to end.
    pub handover: Option<(Entity, Entity, SimTime)>,
    /// Requests admitted from a RAM queue, started after the current handler.
    pub to_start: VecDeque<(Entity, Entity)>,
}

impl Ctx<'_> {
    /// Hand a finished request's record to the sinks.
    #[inline]
    pub fn push_request(&mut self, r: &RequestRecord) {
        self.output.push_request(r);
    }
}

/// Events handled, per kind (indexed by `EventKind as usize`).
pub type KindCounts = [u64; EventKind::ALL.len()];

/// Per-kind event counts, and per-kind handler wall time when profiling.
#[derive(Debug, Clone, Default)]
pub struct DispatchStats {
    /// Events handled per kind.
    pub counts: KindCounts,
    /// Nanoseconds of wall time spent in handlers per kind (profiling only).
    pub nanos: Option<KindCounts>,
}

/// Dispatch every event due strictly before `limit`.
pub fn dispatch_until(
    world: &mut World,
    lookups: &mut Lookups,
    client_name: NameId,
    limit: SimTime,
    dstats: &mut DispatchStats,
) {
    world.resource_scope(|world, mut queue: Mut<EventQueue>| {
        world.resource_scope(|world, mut stats: Mut<RunStats>| {
            world.resource_scope(|world, mut output: Mut<Output>| {
                let mut cx = Ctx {
                    now: queue.now(),
                    queue: &mut queue,
                    stats: &mut stats,
                    output: &mut output,
                    q: lookups,
                    client_name,
                    handover: None,
                    to_start: VecDeque::new(),
                };
                while let Some((t, ev)) = cx.queue.pop_before(limit) {
                    cx.now = t;
                    dstats.counts[ev.kind as usize] += 1;
                    let started = dstats.nanos.is_some().then(std::time::Instant::now);
                    match ev.kind {
                        EventKind::WindowStart => {
                            generator::on_window_start(world, &mut cx, ev.target)
                        }
                        EventKind::Generate => generator::on_generate(world, &mut cx, ev.target),
                        EventKind::EdgeArrive => {
                            edge::on_arrive(world, &mut cx, ev.target, ev.request)
                        }
                        EventKind::CpuDone => {
                            server::on_cpu_done(world, &mut cx, ev.target, ev.request)
                        }
                        EventKind::IoDone => {
                            server::on_io_done(world, &mut cx, ev.target, ev.request)
                        }
                    }
                    while let Some((s, r)) = cx.to_start.pop_front() {
                        server::start_admitted(world, &mut cx, s, r);
                    }
                    if let (Some(t0), Some(nanos)) = (started, dstats.nanos.as_mut()) {
                        nanos[ev.kind as usize] += t0.elapsed().as_nanos() as u64;
                    }
                }
            });
        });
    });
}
