//! The dispatch phase: pop events in `(time, seq)` order and hand each to the
//! model handler it names, up to the next sync point.
//!
//! Handlers reach components through [`Query`]s taken once per dispatch phase
//! from a [`SystemState`] ([`Sim`]): a lookup is then an entity location, an
//! archetype check and a table read, with no per-lookup archetype refresh.
//! Because queries cannot spawn, request entities come from [`RequestPool`],
//! which the phase refills (outside the queries) whenever it runs dry.

use bevy_ecs::prelude::*;
use bevy_ecs::system::{SystemParam, SystemState};

use super::event::EventKind;
use super::output::Output;
use super::queue::EventQueue;
use super::time::SimTime;
use crate::metrics::record::{NameId, RequestRecord};
use crate::metrics::summary::RunStats;
use crate::model::client::ClientConfig;
use crate::model::edge::{self, EdgeConfig, EdgeState};
use crate::model::generator::{self, GeneratorConfig, GeneratorState};
use crate::model::load_balancer::{LbConfig, LbState};
use crate::model::request::Request;
use crate::model::server::{self, Handoffs, ServerConfig, ServerState};

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
            .spawn_batch((0..n).map(|_| Request::new(0, 0, SimTime::ZERO)))
            .collect();
        let mut pool = world.resource_mut::<RequestPool>();
        pool.spawned += n;
        // Popped from the back: hand out the lowest entity first.
        pool.spare.extend(fresh.into_iter().rev());
    }
}

/// Everything a dispatch phase touches, taken from the world in one go.
#[derive(SystemParam)]
pub struct Sim<'w, 's> {
    queue: ResMut<'w, EventQueue>,
    stats: ResMut<'w, RunStats>,
    output: ResMut<'w, Output>,
    pool: ResMut<'w, RequestPool>,
    edges: Query<'w, 's, (&'static EdgeConfig, &'static mut EdgeState)>,
    servers: Query<'w, 's, (&'static ServerConfig, &'static mut ServerState)>,
    lbs: Query<'w, 's, (&'static LbConfig, &'static mut LbState)>,
    generators: Query<'w, 's, (&'static GeneratorConfig, &'static mut GeneratorState)>,
    clients: Query<'w, 's, &'static ClientConfig>,
    requests: Query<'w, 's, &'static mut Request>,
}

/// The dispatcher's cached system state: build once per run.
pub struct Dispatcher {
    state: SystemState<Sim<'static, 'static>>,
    client_name: NameId,
}

impl Dispatcher {
    /// Prepare dispatching on `world`, which must hold the run's resources.
    pub fn new(world: &mut World, client_name: NameId) -> Self {
        world.init_resource::<RequestPool>();
        Dispatcher {
            state: SystemState::new(world),
            client_name,
        }
    }

    /// Dispatch every event due strictly before `limit`.
    pub fn until(&mut self, world: &mut World, limit: SimTime, dstats: &mut DispatchStats) {
        loop {
            if world.resource::<RequestPool>().spare.is_empty() {
                RequestPool::refill(world);
            }
            let Ok(sim) = self.state.get_mut(world) else {
                return;
            };
            let mut cx = Ctx {
                now: sim.queue.now(),
                queue: sim.queue.into_inner(),
                stats: sim.stats.into_inner(),
                output: sim.output.into_inner(),
                spare: &mut sim.pool.into_inner().spare,
                edges: sim.edges,
                servers: sim.servers,
                lbs: sim.lbs,
                generators: sim.generators,
                clients: sim.clients,
                requests: sim.requests,
                client_name: self.client_name,
                hand: Handoffs::default(),
            };
            let drained = cx.run_until(limit, dstats);
            if drained {
                return;
            }
        }
    }
}

/// What a handler may touch: the clock, the queue, the run statistics, the
/// output sinks, the request pool and the component queries.
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
    /// Servers.
    pub servers: Query<'w, 's, (&'static ServerConfig, &'static mut ServerState)>,
    /// Load balancers.
    pub lbs: Query<'w, 's, (&'static LbConfig, &'static mut LbState)>,
    /// Generators.
    pub generators: Query<'w, 's, (&'static GeneratorConfig, &'static mut GeneratorState)>,
    /// The client.
    pub clients: Query<'w, 's, &'static ClientConfig>,
    /// Requests.
    pub requests: Query<'w, 's, &'static mut Request>,
    /// The client's name (for request records).
    pub client_name: NameId,
    /// Server work decided while the server was borrowed.
    pub hand: Handoffs,
}

impl Ctx<'_, '_> {
    /// Hand a finished request's record to the statistics and the sinks.
    #[inline]
    pub fn push_request(&mut self, r: &RequestRecord) {
        self.stats.record(r);
        self.output.push_request(r);
    }

    /// Handle events due before `limit` while the request pool has an entity
    /// for the next one; true when every due event was handled.
    fn run_until(&mut self, limit: SimTime, dstats: &mut DispatchStats) -> bool {
        while !self.spare.is_empty() {
            let Some((t, ev)) = self.queue.pop_before(limit) else {
                return true;
            };
            self.now = t;
            dstats.counts[ev.kind as usize] += 1;
            let started = dstats.nanos.is_some().then(std::time::Instant::now);
            match ev.kind {
                EventKind::WindowStart => generator::on_window_start(self, ev.target),
                EventKind::Generate => generator::on_generate(self, ev.target),
                EventKind::EdgeArrive => edge::on_arrive(self, ev.target, ev.request),
                EventKind::CpuDone => server::on_cpu_done(self, ev.target, ev.request),
                EventKind::IoDone => server::on_io_done(self, ev.target, ev.request),
            }
            while let Some((s, r, ram)) = self.hand.admitted.pop_front() {
                server::start_admitted(self, s, r, ram);
            }
            if let (Some(t0), Some(nanos)) = (started, dstats.nanos.as_mut()) {
                nanos[ev.kind as usize] += t0.elapsed().as_nanos() as u64;
            }
        }
        false
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
