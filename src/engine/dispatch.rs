//! The dispatch phase: pop events in `(time, seq)` order and hand each to the
//! handler it names, up to the next sync point.
//!
//! Handlers reach components through queries taken once per dispatch phase:
//! the engine core's ([`Core`]: queue, statistics, sinks, request pool,
//! requests, edges) and each registered node kind's own parameters (see
//! [`crate::engine::node`]). A lookup is then an entity location, an archetype
//! check and a table read, with no per-lookup archetype refresh. Because
//! queries cannot spawn, request entities come from [`RequestPool`], which the
//! phase refills (outside the queries) whenever it runs dry.

use bevy_ecs::prelude::*;
use bevy_ecs::system::{SystemParam, SystemState};

use super::connection::{self, ConnPool, Connection, EdgeConn, Sockets};
use super::event::{Event, EventKind};
use super::network::{self, EdgeConfig, EdgeState};
use super::node::{EventBase, KindId, KindState, LiveKind, Registry};
use super::output::Output;
use super::queue::EventQueue;
use super::request::Request;
use super::time::SimTime;
use crate::metrics::record::RequestRecord;
use crate::metrics::summary::RunStats;

/// Request entities ready for reuse: finished requests return here, and the
/// dispatch phase spawns a batch whenever it is empty.
#[derive(Resource, Debug, Default)]
pub struct RequestPool {
    /// Entities not carrying a live request.
    pub spare: Vec<Entity>,
    /// Request entities spawned so far.
    pub spawned: usize,
}

impl RequestPool {
    /// Smallest refill.
    const MIN_REFILL: usize = 1024;

    /// Spawn more request entities: at least [`Self::MIN_REFILL`], and an
    /// eighth of what exists, so refills stay rare (about 50 to reach half a
    /// million waiting requests) and at most 1/8 of the entities sit unused.
    fn refill(world: &mut World) {
        let n = {
            let pool = world.resource::<RequestPool>();
            Self::MIN_REFILL.max(pool.spawned / 8)
        };
        let fresh: Vec<Entity> = world
            .spawn_batch((0..n).map(|_| Request::new(0, 0, 0, SimTime::ZERO)))
            .collect();
        let mut pool = world.resource_mut::<RequestPool>();
        pool.spawned += n;
        // Popped from the back: hand out the lowest entity first.
        pool.spare.extend(fresh.into_iter().rev());
    }
}

/// What the engine core touches in a dispatch phase.
#[derive(SystemParam)]
pub struct Core<'w, 's> {
    queue: ResMut<'w, EventQueue>,
    stats: ResMut<'w, RunStats>,
    output: ResMut<'w, Output>,
    pool: ResMut<'w, RequestPool>,
    edges: Query<'w, 's, (&'static EdgeConfig, &'static mut EdgeState)>,
    requests: Query<'w, 's, &'static mut Request>,
    nodes: Query<'w, 's, &'static NodeKindOf>,
    conn_pool: ResMut<'w, ConnPool>,
    sockets: Query<'w, 's, &'static mut Sockets>,
    edge_conns: Query<'w, 's, &'static mut EdgeConn>,
    conns: Query<'w, 's, &'static mut Connection>,
}

/// Where each global event kind goes.
#[derive(Debug, Clone, Copy)]
enum Route {
    /// An edge arrival (the engine's own).
    EdgeArrive,
    /// A hand-over to a node without an edge (the engine's own).
    Deliver,
    /// A connection's SYN reaches its target.
    ConnSyn,
    /// A connection's handshake is done.
    ConnReady,
    /// An idle connection times out.
    ConnIdle,
    /// A node's socket RAM changed.
    Poke,
    /// Kind `0`'s local event `1`.
    Kind(KindId, u16),
}

/// The dispatcher's cached system states: build once per run.
pub struct Dispatcher {
    core: SystemState<Core<'static, 'static>>,
    kinds: Vec<Box<dyn KindState>>,
    bases: Vec<EventBase>,
    routes: Vec<Route>,
}

impl Dispatcher {
    /// Prepare dispatching on `world`, which must hold the run's resources and
    /// every kind's components.
    pub fn new(world: &mut World, registry: &Registry) -> Self {
        world.init_resource::<RequestPool>();
        world.init_resource::<ConnPool>();
        registry.check_disjoint::<Core>(world);
        let routes = registry
            .event_table()
            .into_iter()
            .map(|(_, kind, local)| match kind {
                None => match EventKind(local) {
                    EventKind::EDGE_ARRIVE => Route::EdgeArrive,
                    EventKind::DELIVER => Route::Deliver,
                    EventKind::CONN_SYN => Route::ConnSyn,
                    EventKind::CONN_READY => Route::ConnReady,
                    EventKind::CONN_IDLE => Route::ConnIdle,
                    _ => Route::Poke,
                },
                Some(k) => Route::Kind(k, local),
            })
            .collect();
        Dispatcher {
            core: SystemState::new(world),
            kinds: registry.states(world),
            bases: registry.event_bases(),
            routes,
        }
    }

    /// Number of global event kinds.
    pub fn event_kinds(&self) -> usize {
        self.routes.len()
    }

    /// Dispatch every event due strictly before `limit`.
    pub fn until(&mut self, world: &mut World, limit: SimTime, dstats: &mut DispatchStats) {
        loop {
            if world.resource::<RequestPool>().spare.len() <= MAX_SPAWNS_PER_EVENT {
                RequestPool::refill(world);
            }
            let conns_on = {
                let pool = world.resource::<ConnPool>();
                pool.enabled && pool.spare.len() <= MAX_SPAWNS_PER_EVENT
            };
            if conns_on {
                ConnPool::refill(world);
            }
            let drained = {
                let cell = world.as_unsafe_world_cell();
                // SAFETY: `cell` is this dispatcher's world; the core and the
                // kinds touch disjoint data (`Registry::check_disjoint` in
                // `new`), and nothing else touches the world while they live.
                let Ok(core) = (unsafe { self.core.get_unchecked(cell) }) else {
                    return;
                };
                let mut lives: Vec<Box<dyn LiveKind + '_>> = Vec::with_capacity(self.kinds.len());
                for k in &mut self.kinds {
                    // SAFETY: as above.
                    match unsafe { k.live(cell) } {
                        Some(l) => lives.push(l),
                        None => return,
                    }
                }
                let nodes = core.nodes;
                let conn_pool = core.conn_pool.into_inner();
                let conn_limit = if conn_pool.enabled {
                    MAX_SPAWNS_PER_EVENT + 1
                } else {
                    0
                };
                let mut cx = Ctx {
                    now: core.queue.now(),
                    queue: core.queue.into_inner(),
                    stats: core.stats.into_inner(),
                    output: core.output.into_inner(),
                    spare: &mut core.pool.into_inner().spare,
                    edges: core.edges,
                    requests: core.requests,
                    sockets: core.sockets,
                    edge_conns: core.edge_conns,
                    conns: core.conns,
                    conn_spare: &mut conn_pool.spare,
                    conn_limit,
                    base: EventBase(0),
                };
                let tables = Tables {
                    bases: &self.bases,
                    routes: &self.routes,
                    nodes: &nodes,
                };
                run_until(&mut cx, &mut lives, &tables, limit, dstats)
            };
            self.core.apply(world);
            for k in &mut self.kinds {
                k.apply(world);
            }
            if drained {
                return;
            }
        }
    }
}

/// What a handler may touch besides its own kind's components: the clock,
/// the queue, the run statistics, the output sinks, the request pool, the
/// requests and the edges.
pub struct Ctx<'w, 's> {
    /// Time of the event being handled.
    pub now: SimTime,
    /// Pending events.
    pub queue: &'w mut EventQueue,
    /// Run-wide counters and latency statistics.
    pub stats: &'w mut RunStats,
    /// Output sinks.
    pub output: &'w mut Output,
    /// Request entities free for reuse (never empty when a handler runs).
    pub spare: &'w mut Vec<Entity>,
    /// Edges.
    pub edges: Query<'w, 's, (&'static EdgeConfig, &'static mut EdgeState)>,
    /// Requests.
    pub requests: Query<'w, 's, &'static mut Request>,
    /// Nodes' sockets.
    pub sockets: Query<'w, 's, &'static mut Sockets>,
    /// Edges' connection models.
    pub edge_conns: Query<'w, 's, &'static mut EdgeConn>,
    /// Connections.
    pub conns: Query<'w, 's, &'static mut Connection>,
    /// Connection entities free for reuse.
    pub conn_spare: &'w mut Vec<Entity>,
    /// Spare connections the dispatch loop keeps above (0 without
    /// connections).
    conn_limit: usize,
    /// Event base of the kind being called.
    base: EventBase,
}

impl<'w, 's> Ctx<'w, 's> {
    /// Whether the scenario has sockets or connections (see
    /// [`crate::engine::connection`]).
    #[inline]
    pub fn connections_on(&self) -> bool {
        self.conn_limit > 0
    }

    /// Hand a finished request's record to the statistics and the sinks.
    #[inline]
    pub fn push_request(&mut self, r: &RequestRecord) {
        self.stats.record(r);
        self.output.push_request(r);
    }

    /// Schedule the calling kind's local event `local` at `at`.
    #[inline]
    pub fn schedule(&mut self, at: SimTime, local: u16, target: Entity, request: Entity, tag: u32) {
        self.sched().schedule(at, local, target, request, tag);
    }

    /// The calling kind's view of the queue.
    #[inline]
    pub fn sched(&mut self) -> Sched<'_> {
        Sched {
            queue: self.queue,
            base: self.base,
        }
    }

    /// The requests and the queue at once (a handler holding a request
    /// component can still schedule).
    #[inline]
    pub fn requests_and_sched(&mut self) -> (&mut Query<'w, 's, &'static mut Request>, Sched<'_>) {
        (
            &mut self.requests,
            Sched {
                queue: self.queue,
                base: self.base,
            },
        )
    }
}

/// The queue as seen by one kind: it schedules that kind's own events.
pub struct Sched<'a> {
    queue: &'a mut EventQueue,
    base: EventBase,
}

impl Sched<'_> {
    /// Schedule local event `local` at `at`.
    #[inline]
    pub fn schedule(&mut self, at: SimTime, local: u16, target: Entity, request: Entity, tag: u32) {
        self.queue.schedule(
            at,
            Event {
                kind: self.base.kind(local),
                target,
                request,
                tag,
                aux: 0,
            },
        );
    }

    /// Schedule local event `local` at `at` with both spare words.
    #[inline]
    pub fn schedule_aux(
        &mut self,
        at: SimTime,
        local: u16,
        target: Entity,
        request: Entity,
        (tag, aux): (u32, u16),
    ) {
        self.queue.schedule(
            at,
            Event {
                kind: self.base.kind(local),
                target,
                request,
                tag,
                aux,
            },
        );
    }
}

/// Handle events due before `limit` while the request pool has an entity
/// for the next one; true when every due event was handled.
fn run_until(
    cx: &mut Ctx,
    lives: &mut [Box<dyn LiveKind + '_>],
    tables: &Tables,
    limit: SimTime,
    dstats: &mut DispatchStats,
) -> bool {
    let (bases, routes) = (tables.bases, tables.routes);
    // A handler spawns at most one request per call of a `parallel` step
    // (validation caps them), so this many spare entities always suffice.
    while cx.spare.len() > MAX_SPAWNS_PER_EVENT && cx.conn_spare.len() >= cx.conn_limit {
        let Some((t, ev)) = cx.queue.pop_before(limit) else {
            return true;
        };
        cx.now = t;
        let k = ev.kind.0 as usize;
        dstats.counts[k] += 1;
        let started = dstats.nanos.is_some().then(std::time::Instant::now);
        match routes[k] {
            Route::EdgeArrive => {
                if let Some((node, kind)) = network::on_arrive(cx, ev.target) {
                    cx.base = bases[kind.0 as usize];
                    lives[kind.0 as usize].arrive(cx, node, ev.request);
                }
            }
            Route::Deliver => {
                if let Ok(&NodeKindOf(kind)) = tables.nodes.get(ev.target) {
                    cx.base = bases[kind.0 as usize];
                    lives[kind.0 as usize].arrive(cx, ev.target, ev.request);
                }
            }
            Route::ConnSyn => connection::on_syn(cx, ev),
            Route::ConnReady => connection::on_ready(cx, ev),
            Route::ConnIdle => connection::on_idle(cx, ev),
            Route::Poke => {
                if let Ok(&NodeKindOf(kind)) = tables.nodes.get(ev.target) {
                    cx.base = bases[kind.0 as usize];
                    lives[kind.0 as usize].poke(cx, ev.target);
                }
            }
            Route::Kind(kind, local) => {
                cx.base = bases[kind.0 as usize];
                lives[kind.0 as usize].event(cx, local, ev);
            }
        }
        if let (Some(t0), Some(nanos)) = (started, dstats.nanos.as_mut()) {
            nanos[k] += t0.elapsed().as_nanos() as u64;
        }
    }
    false
}

/// Most requests one handler may spawn (calls of one `parallel` step plus
/// the next generated request).
pub const MAX_SPAWNS_PER_EVENT: usize = 65;

/// The dispatcher's lookup tables for one phase.
struct Tables<'a, 'w, 's> {
    bases: &'a [EventBase],
    routes: &'a [Route],
    nodes: &'a Query<'w, 's, &'static NodeKindOf>,
}

/// The kind of a node entity (every node carries one).
#[derive(Component, Debug, Clone, Copy)]
pub struct NodeKindOf(pub KindId);

/// Per-kind event counts, and per-kind handler wall time when profiling
/// (indexed by `EventKind.0`).
#[derive(Debug, Clone, Default)]
pub struct DispatchStats {
    /// Events handled per kind.
    pub counts: Vec<u64>,
    /// Nanoseconds of wall time spent in handlers per kind (profiling only).
    pub nanos: Option<Vec<u64>>,
}
