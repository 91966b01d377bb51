//! Servers: event loops with N cores, RAM, and endpoints made of steps.
//!
//! On arrival a request is given to one of the server's workers (event loops;
//! one by default, see [`workers`]) and picks an endpoint (by weight), then
//! reserves the endpoint's whole RAM, waiting in a FIFO RAM queue if it does
//! not fit (head of line: a big request blocks smaller ones behind it; RAM and
//! its queue are shared by the workers). It then walks the steps: a CPU step
//! needs a core of its worker (the worker's FIFO ready queue when none is free;
//! consecutive CPU steps keep the core), an I/O step gives the core back and
//! waits without one. RAM steps were paid for on admission and take no time.
//! At the end the request releases its core and RAM and leaves on the server's
//! out edge.
//!
//! A `call` or `parallel` step sends calls to other nodes and waits for their
//! replies like an I/O wait: the core is given back, the RAM kept (see
//! [`calls`]). A reply goes back to whoever sent the request: the client for a
//! root request, the calling server for a call.

mod calls;
mod workers;

pub use calls::{CallPlan, CallTarget, JoinRule};
pub use workers::Workers;

use std::collections::VecDeque;

use bevy_ecs::prelude::*;
use bevy_ecs::system::{SystemParam, SystemParamItem};
use rand::RngExt;
use rand_pcg::Pcg64;

use crate::engine::connection;
use crate::engine::event::Event;
use crate::engine::network;
use crate::engine::node::{BatchSlot, NodeKind};
use crate::engine::node::{Ctx, Sched};
use crate::engine::output::Output;
use crate::engine::request::{Phase, Request};
use crate::engine::run::{Clock, ResultsSection};
use crate::engine::time::SimTime;
use crate::engine::world::{BuildCx, BuildError, Topology, sampler};
use crate::metrics::gauge::Gauge;
use crate::metrics::record::{EntityKind, NameId, SampleRecord};
use crate::metrics::summary::ServerSummary;
use crate::scenario::rv::Sampler;
use crate::scenario::schema::{SampleMetric, ScenarioFile, StepFamily};

/// The server kind.
pub struct Servers;

/// Local event codes.
const CPU_DONE: u16 = 0;
const IO_DONE: u16 = 1;
const CALL_TIMEOUT: u16 = 2;

/// What server handlers touch: the servers, and work decided while a server
/// was borrowed.
#[derive(SystemParam)]
pub struct ServerParam<'w, 's> {
    q: Query<'w, 's, (&'static ServerConfig, &'static mut ServerState)>,
    hand: Local<'s, Handoffs>,
}

type Param = ServerParam<'static, 'static>;

/// The servers in declaration order and the gauges they write.
#[derive(Resource, Debug, Clone)]
pub struct ServerList {
    /// Server entities.
    pub servers: Vec<Entity>,
}

impl NodeKind for Servers {
    const NAME: &'static str = "server";
    const EVENTS: &'static [&'static str] = &["cpu_done", "io_done", "call_timeout"];
    type Param = Param;

    fn declare(file: &ScenarioFile) -> Vec<String> {
        file.topology_graph
            .nodes
            .servers
            .iter()
            .map(|s| s.id.clone())
            .collect()
    }

    fn build(cx: &mut BuildCx) -> Result<(), BuildError> {
        let mut list = Vec::new();
        for s in &cx.file.topology_graph.nodes.servers {
            let e = cx.require_node(&s.id, "server")?;
            let (cfg, workers) = build_config(cx, s)?;
            let st = ServerState::new(workers, cx.stream("server", &s.id));
            cx.world.entity_mut(e).insert((cfg, st));
            list.push(e);
        }
        cx.world.insert_resource(ServerList { servers: list });
        Ok(())
    }

    fn on_arrive(cx: &mut Ctx, p: &mut SystemParamItem<Param>, node: Entity, req: Entity) {
        let sockets = cx.connections_on();
        if sockets {
            sockets_in(cx, p, node, false);
        }
        let reply = cx.requests.get(req).is_ok_and(|r| r.served);
        if reply {
            calls::on_reply(cx, p, node, req);
        } else {
            on_arrive(cx, p, node, req);
        }
        start_admitted_all(cx, p);
        if sockets {
            sockets_out(cx, p, node);
        }
    }

    fn on_event(cx: &mut Ctx, p: &mut SystemParamItem<Param>, local: u16, ev: Event) {
        let sockets = cx.connections_on();
        if sockets {
            sockets_in(cx, p, ev.target, false);
        }
        match local {
            CALL_TIMEOUT => calls::on_timeout(cx, p, ev),
            _ => step_done(cx, p, ev.target, ev.request, local == IO_DONE),
        }
        start_admitted_all(cx, p);
        if sockets {
            sockets_out(cx, p, ev.target);
        }
    }

    fn on_poke(cx: &mut Ctx, p: &mut SystemParamItem<Param>, node: Entity) {
        sockets_in(cx, p, node, true);
        let now = cx.now;
        if let Ok((cfg, mut st)) = p.q.get_mut(node) {
            let st = &mut *st;
            st.gauges.ram_in_use.set(now, st.ram_in_use + st.socket_ram);
            if !st.ram_queue.is_empty() {
                admit_from_ram_queue(cfg, st, node, &mut p.hand.admitted);
                st.gauges.ram_wait.set(now, st.ram_queue.len() as f64);
            }
        }
        start_admitted_all(cx, p);
        sockets_out(cx, p, node);
    }

    fn add_batch_systems(schedule: &mut Schedule, slot: BatchSlot) {
        schedule.add_systems(sample_servers.in_set(slot));
    }

    fn summarize(world: &World, topo: &Topology, until: SimTime, out: &mut ResultsSection) {
        let Some(list) = world.get_resource::<ServerList>() else {
            return;
        };
        let secs = until.as_secs_f64();
        for &e in &list.servers {
            let (Some(cfg), Some(st)) = (world.get::<ServerConfig>(e), world.get::<ServerState>(e))
            else {
                continue;
            };
            let g = &st.gauges;
            let core_secs = f64::from(cfg.cores) * secs;
            out.servers.push(ServerSummary {
                id: topo.names.get(cfg.name).to_owned(),
                cpu_cores: cfg.cores,
                workers: st.workers.count(),
                served: st.served,
                cpu_utilisation: if core_secs > 0.0 {
                    g.busy_cores.run_integral_secs() / core_secs
                } else {
                    0.0
                },
                ready_queue_mean: g.ready_queue.run_mean(until),
                ready_queue_max: g.ready_queue.run_max(),
                io_sleep_mean: g.io_sleep.run_mean(until),
                io_sleep_max: g.io_sleep.run_max(),
                ram_in_use_mean_mb: g.ram_in_use.run_mean(until),
                ram_in_use_max_mb: g.ram_in_use.run_max(),
                ram_wait_queue_mean: g.ram_wait.run_mean(until),
                ram_wait_queue_max: g.ram_wait.run_max(),
                orphaned_cpu_s: st.orphaned_cpu.as_secs_f64(),
            });
        }
    }
}

/// Read the socket RAM of `server` (sockets are the engine's; see
/// [`crate::engine::connection`]); `poked`: this is the poke that told of a
/// change.
fn sockets_in(cx: &mut Ctx, p: &mut SystemParamItem<Param>, server: Entity, poked: bool) {
    let ram = connection::socket_ram_mb(cx, server, poked);
    if let Ok((_, mut st)) = p.q.get_mut(server) {
        st.socket_ram = ram;
    }
}

/// Tell the sockets of `server` how much RAM its requests hold, so a new
/// socket cannot take it.
fn sockets_out(cx: &mut Ctx, p: &mut SystemParamItem<Param>, server: Entity) {
    if let Ok((_, st)) = p.q.get(server) {
        connection::set_request_ram_mb(cx, server, st.ram_in_use);
    }
}

/// A server's configuration and its idle workers from its scenario entry.
fn build_config(
    cx: &mut BuildCx,
    s: &crate::scenario::schema::Server,
) -> Result<(ServerConfig, Workers), BuildError> {
    let mut endpoints = Vec::with_capacity(s.endpoints.len());
    for ep in &s.endpoints {
        let mut ram = Vec::new();
        let mut steps = Vec::new();
        let mut call_plans = Vec::new();
        for (k, step) in ep.steps.iter().enumerate() {
            if step.kind.family() == StepFamily::Call {
                let what = format!("server {} endpoint {} step {k}", s.id, ep.endpoint_name);
                call_plans.push(calls::plan(cx, &s.id, step, &what)?);
                steps.push(StepPlan {
                    work: Work::Call(call_plans.len() as u16 - 1),
                    duration: Sampler::Constant(0.0),
                });
                continue;
            }
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
                    StepFamily::Call => {}
                }
            }
        }
        endpoints.push(EndpointPlan {
            name: cx.names.intern(&ep.endpoint_name),
            ram,
            steps,
            calls: call_plans,
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
    let res = &s.server_resources;
    let cores = u32::try_from(res.cpu_cores.max(1)).unwrap_or(u32::MAX);
    let count = u32::try_from(res.workers.max(1))
        .unwrap_or(u32::MAX)
        .min(cores);
    let workers = Workers::new(count, cores / count, res.worker_dispatch);
    let cfg = ServerConfig {
        name: cx.names.intern(&s.id),
        cores: workers.cores(),
        ram_mb: s.server_resources.ram_mb as f64,
        endpoints,
        cumulative_weights,
        out_edge: cx
            .out_edges(&s.id)
            .first()
            .map_or(Entity::PLACEHOLDER, |&(_, e)| e),
        reply_edges: cx
            .out_edges(&s.id)
            .into_iter()
            .filter_map(|(i, e)| {
                let target = &cx.file.topology_graph.edges[i].target;
                cx.node(target).map(|t| (t, e))
            })
            .collect(),
    };
    Ok((cfg, workers))
}

/// Batch system: take a sample of every server gauge at a tick.
fn sample_servers(
    clock: Res<Clock>,
    topo: Res<Topology>,
    list: Option<Res<ServerList>>,
    mut servers: Query<(&ServerConfig, &mut ServerState)>,
    mut output: ResMut<Output>,
) {
    let Some(list) = list else {
        return;
    };
    if !clock.tick {
        return;
    }
    let t = clock.now;
    for &e in &list.servers {
        let Ok((cfg, mut st)) = servers.get_mut(e) else {
            continue;
        };
        let g = &mut st.gauges;
        let readings = [
            (SampleMetric::ReadyQueueLen, g.ready_queue.tick(t)),
            (SampleMetric::EventLoopIoSleep, g.io_sleep.tick(t)),
            (SampleMetric::RamInUse, g.ram_in_use.tick(t)),
            (SampleMetric::BusyCores, g.busy_cores.tick(t)),
            (SampleMetric::RamWaitQueueLen, g.ram_wait.tick(t)),
        ];
        for (metric, r) in readings {
            if topo.samples(metric) {
                output.push_sample(&SampleRecord {
                    t,
                    entity_kind: EntityKind::Server,
                    entity: cfg.name,
                    metric,
                    value: r.value,
                    mean: r.mean,
                    max: r.max,
                });
            }
        }
    }
}

/// What a step needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    /// A core.
    Cpu,
    /// Nothing but time.
    Io,
    /// Calls: the index of the endpoint's call plan.
    Call(u16),
}

/// A timed step of an endpoint.
#[derive(Debug, Clone)]
pub struct StepPlan {
    /// CPU or I/O.
    pub work: Work,
    /// Its duration in seconds.
    pub duration: Sampler,
}

/// An endpoint, ready to run.
#[derive(Debug, Clone)]
pub struct EndpointPlan {
    /// Endpoint name.
    pub name: NameId,
    /// RAM of each `ram` step, in MB (reserved together on admission).
    pub ram: Vec<Sampler>,
    /// The CPU, I/O and call steps in order.
    pub steps: Vec<StepPlan>,
    /// The plans of its call steps ([`Work::Call`] indexes them).
    pub calls: Vec<CallPlan>,
}

/// Server configuration.
#[derive(Component, Debug, Clone)]
pub struct ServerConfig {
    /// Server id.
    pub name: NameId,
    /// Cores (of all its workers).
    pub cores: u32,
    /// RAM capacity in MB.
    pub ram_mb: f64,
    /// Endpoints.
    pub endpoints: Vec<EndpointPlan>,
    /// Cumulative selection weights (empty: uniform).
    pub cumulative_weights: Vec<f64>,
    /// The edge responses leave on when no edge leads to their caller.
    pub out_edge: Entity,
    /// Every out edge by the node it leads to (declaration order): a reply
    /// takes the first one to its caller.
    pub reply_edges: Vec<(Entity, Entity)>,
}

impl ServerConfig {
    /// The edge a reply to `node` leaves on.
    #[inline]
    pub fn reply_edge(&self, node: Entity) -> Entity {
        self.reply_edges
            .iter()
            .find(|&&(t, _)| t == node)
            .map_or(self.out_edge, |&(_, e)| e)
    }

    /// Index of the endpoint a request asks for: by name for a call (the
    /// first endpoint when it names none), `None` for a root request.
    fn wanted(&self, name: Option<NameId>) -> usize {
        name.and_then(|n| self.endpoints.iter().position(|e| e.name == n))
            .unwrap_or(0)
    }
}

/// The gauges of one server (over all its workers).
#[derive(Debug, Clone, Default)]
pub struct ServerGauges {
    /// Requests waiting for a core.
    pub ready_queue: Gauge,
    /// Requests in an I/O wait.
    pub io_sleep: Gauge,
    /// MB reserved.
    pub ram_in_use: Gauge,
    /// Cores running a CPU step.
    pub busy_cores: Gauge,
    /// Requests waiting for RAM.
    pub ram_wait: Gauge,
}

/// Server state.
#[derive(Component, Debug, Clone)]
pub struct ServerState {
    /// False during an injected outage (the load balancer skips it).
    pub up: bool,
    /// Its event loops: cores and ready queues.
    pub workers: Workers,
    ram_in_use: f64,
    /// MB held by the server's open sockets (read from its
    /// [`crate::engine::connection::Sockets`] when a handler starts).
    socket_ram: f64,
    ram_queue: VecDeque<(Entity, f64)>,
    io_sleeping: u32,
    /// Requests that finished their endpoint here.
    pub served: u64,
    /// CPU time spent on calls whose caller had stopped waiting.
    pub orphaned_cpu: SimTime,
    /// Gauges.
    pub gauges: ServerGauges,
    /// The server's random stream (endpoint choice, step durations).
    pub rng: Pcg64,
}

impl ServerState {
    /// An idle server with these workers.
    pub fn new(workers: Workers, rng: Pcg64) -> Self {
        ServerState {
            up: true,
            workers,
            ram_in_use: 0.0,
            socket_ram: 0.0,
            ram_queue: VecDeque::new(),
            io_sleeping: 0,
            served: 0,
            orphaned_cpu: SimTime::ZERO,
            gauges: ServerGauges::default(),
            rng,
        }
    }
}

/// Work a server handler decides while it holds the server and the request,
/// finished once they are released.
#[derive(Debug, Default)]
pub struct Handoffs {
    /// A freed core given to the head of the ready queue: server, request.
    pub core: Option<(Entity, Entity)>,
    /// Requests admitted from a RAM queue (server, request, MB), started after
    /// the current handler.
    pub admitted: VecDeque<(Entity, Entity, f64)>,
    /// A request that reached a call step: its calls are sent once the server
    /// is released (server, request).
    pub calls: Option<(Entity, Entity)>,
    /// Last span id given to a call.
    pub last_span: u64,
    /// Last wait id given to a call step.
    pub last_wait: u32,
}

fn pick_endpoint(cfg: &ServerConfig, rng: &mut Pcg64) -> usize {
    let n = cfg.endpoints.len();
    if n == 1 {
        return 0;
    }
    if cfg.cumulative_weights.is_empty() {
        return rng.random_range(0..n);
    }
    let u: f64 = rng.random();
    let total = cfg.cumulative_weights[n - 1];
    cfg.cumulative_weights
        .iter()
        .position(|&c| u * total < c)
        .unwrap_or(n - 1)
}

/// A request arrives: choose its worker and its endpoint and admit it, or
/// queue it for RAM.
fn on_arrive(cx: &mut Ctx, p: &mut SystemParamItem<Param>, server: Entity, req: Entity) {
    let now = cx.now;
    let Ok((cfg, mut st)) = p.q.get_mut(server) else {
        return;
    };
    let (requests, mut sched) = cx.requests_and_sched();
    let Ok(mut r) = requests.get_mut(req) else {
        return;
    };
    let st = &mut *st;
    let ep = if r.call.is_some() || r.wanted_endpoint.is_some() {
        cfg.wanted(r.wanted_endpoint)
    } else {
        pick_endpoint(cfg, &mut st.rng)
    };
    let plan = &cfg.endpoints[ep];
    let need: f64 = plan.ram.iter().map(|s| s.sample(&mut st.rng)).sum();
    r.server = Some(cfg.name);
    r.worker = st.workers.assign();
    r.endpoint = ep as u32;
    r.endpoint_name = Some(plan.name);
    r.step = 0;
    if st.ram_queue.is_empty() && st.ram_in_use + st.socket_ram + need <= cfg.ram_mb {
        st.ram_in_use += need;
        st.gauges.ram_in_use.set(now, st.ram_in_use + st.socket_ram);
        r.ram = need;
        let r = &mut *r;
        let out = advance(now, &mut sched, &mut p.hand, server, cfg, st, req, r);
        after_advance(cx, &mut p.hand, req, out);
        send_pending_calls(cx, p);
    } else {
        st.ram_queue.push_back((req, need));
        st.gauges.ram_wait.set(now, st.ram_queue.len() as f64);
        r.enter(now, Phase::RamWait);
    }
}

/// The request's current step ended: start the next one (or finish). A CPU
/// step's successor keeps the core.
fn step_done(cx: &mut Ctx, p: &mut SystemParamItem<Param>, server: Entity, req: Entity, io: bool) {
    proceed(cx, p, server, req, |now, st, r| {
        if io {
            st.io_sleeping -= 1;
            st.gauges.io_sleep.set(now, f64::from(st.io_sleeping));
        }
        r.step += 1;
    });
}

/// Start the requests admitted from a RAM queue by the handler that just ran.
fn start_admitted_all(cx: &mut Ctx, p: &mut SystemParamItem<Param>) {
    while let Some((s, r, ram)) = p.hand.admitted.pop_front() {
        proceed(cx, p, s, r, |_, _, r| r.ram = ram);
    }
}

/// Look the server and the request up once, apply `update`, then start the
/// request's current step (or finish its endpoint).
#[inline]
fn proceed(
    cx: &mut Ctx,
    p: &mut SystemParamItem<Param>,
    server: Entity,
    req: Entity,
    update: impl FnOnce(SimTime, &mut ServerState, &mut Request),
) {
    let now = cx.now;
    let Ok((cfg, mut st)) = p.q.get_mut(server) else {
        return;
    };
    let (requests, mut sched) = cx.requests_and_sched();
    let Ok(mut r) = requests.get_mut(req) else {
        return;
    };
    let (st, r) = (&mut *st, &mut *r);
    update(now, st, r);
    let out = advance(now, &mut sched, &mut p.hand, server, cfg, st, req, r);
    after_advance(cx, &mut p.hand, req, out);
    send_pending_calls(cx, p);
}

/// What is left to do once the server and the request are released.
enum After {
    /// Nothing (the step is scheduled, or the request waits for a core).
    Nothing,
    /// The request's endpoint is done: send it on this edge.
    Leave(Entity),
}

/// Finish what [`advance`] could not do while it held the server and the
/// request: a core hand-over, then the departure. Requests admitted from the
/// RAM queue start after the current handler ([`start_admitted_all`]).
fn after_advance(cx: &mut Ctx, hand: &mut Handoffs, req: Entity, out: After) {
    start_handover(cx, hand);
    if let After::Leave(edge) = out {
        network::send(cx, edge, req);
    }
}

/// Send the calls of a request that reached a call step (decided by
/// [`advance`] while the server was borrowed).
#[inline]
fn send_pending_calls(cx: &mut Ctx, p: &mut SystemParamItem<Param>) {
    if p.hand.calls.is_some() {
        send_calls_now(cx, p);
    }
}

#[cold]
fn send_calls_now(cx: &mut Ctx, p: &mut SystemParamItem<Param>) {
    if let Some((server, req)) = p.hand.calls.take()
        && let Ok((cfg, _)) = p.q.get(server)
    {
        calls::send(cx, &mut p.hand, cfg, server, req);
    }
}

/// Start the request's current step, or end its endpoint when no step is left.
#[allow(clippy::too_many_arguments)]
#[inline]
fn advance(
    now: SimTime,
    sched: &mut Sched,
    hand: &mut Handoffs,
    server: Entity,
    cfg: &ServerConfig,
    st: &mut ServerState,
    req: Entity,
    r: &mut Request,
) -> After {
    let Some(s) = cfg.endpoints[r.endpoint as usize]
        .steps
        .get(r.step as usize)
    else {
        // Endpoint done: give back the core and the RAM, admit from the RAM
        // queue while its head fits (head of line), and leave.
        if r.holds_core {
            release_core(&mut hand.core, st, server, r.worker, now);
        }
        st.workers.finish(r.worker);
        st.ram_in_use -= r.ram;
        st.served += 1;
        if !st.ram_queue.is_empty() {
            admit_from_ram_queue(cfg, st, server, &mut hand.admitted);
            st.gauges.ram_wait.set(now, st.ram_queue.len() as f64);
        }
        st.gauges.ram_in_use.set(now, st.ram_in_use + st.socket_ram);
        r.holds_core = false;
        r.ram = 0.0;
        r.served = true;
        r.enter(now, Phase::Network);
        if r.call.is_some_and(|c| now >= c.deadline) {
            st.orphaned_cpu += r.spent(Phase::Cpu);
        }
        return After::Leave(cfg.reply_edge(r.reply_to));
    };
    if let Work::Call(_) = s.work {
        // Await the replies without the core, like I/O.
        if r.holds_core {
            release_core(&mut hand.core, st, server, r.worker, now);
        }
        r.holds_core = false;
        r.enter(now, Phase::Call);
        hand.calls = Some((server, req));
        return After::Nothing;
    }
    let d = SimTime::from_secs_f64(s.duration.sample(&mut st.rng));
    match s.work {
        Work::Call(_) => {}
        Work::Cpu => {
            if r.holds_core {
                sched.schedule(now + d, CPU_DONE, server, req, 0);
            } else if st.workers.take_core(r.worker) {
                st.gauges
                    .busy_cores
                    .set(now, f64::from(st.workers.busy_cores()));
                sched.schedule(now + d, CPU_DONE, server, req, 0);
                r.holds_core = true;
                r.enter(now, Phase::Cpu);
            } else {
                st.workers.wait_for_core(r.worker, req);
                st.gauges
                    .ready_queue
                    .set(now, st.workers.ready_len() as f64);
                r.pending_cpu = d;
                r.enter(now, Phase::CpuWait);
            }
        }
        Work::Io => {
            st.io_sleeping += 1;
            st.gauges.io_sleep.set(now, f64::from(st.io_sleeping));
            sched.schedule(now + d, IO_DONE, server, req, 0);
            if r.holds_core {
                release_core(&mut hand.core, st, server, r.worker, now);
            }
            r.holds_core = false;
            r.enter(now, Phase::Io);
        }
    }
    After::Nothing
}

/// Admit requests from the head of the RAM queue while they fit; they start
/// once the current handler is done.
fn admit_from_ram_queue(
    cfg: &ServerConfig,
    st: &mut ServerState,
    server: Entity,
    admitted: &mut VecDeque<(Entity, Entity, f64)>,
) {
    while let Some(&(next, need)) = st.ram_queue.front() {
        if st.ram_in_use + st.socket_ram + need > cfg.ram_mb {
            break;
        }
        st.ram_queue.pop_front();
        st.ram_in_use += need;
        admitted.push_back((server, next, need));
    }
}

/// A core of `worker` was freed: give it to the head of that worker's ready
/// queue, or return it; update the core and ready-queue gauges.
///
/// The hand-over itself (the waiting request's CPU step starting) needs that
/// request's component, so it is parked in `handover` and finished by
/// [`start_handover`] once the current request's borrow ends.
fn release_core(
    handover: &mut Option<(Entity, Entity)>,
    st: &mut ServerState,
    server: Entity,
    worker: u32,
    now: SimTime,
) {
    if let Some(next) = st.workers.release_core(worker) {
        *handover = Some((server, next));
    }
    st.gauges
        .busy_cores
        .set(now, f64::from(st.workers.busy_cores()));
    st.gauges
        .ready_queue
        .set(now, st.workers.ready_len() as f64);
}

/// Finish a core hand-over decided by [`release_core`].
fn start_handover(cx: &mut Ctx, hand: &mut Handoffs) {
    let now = cx.now;
    if let Some((server, next)) = hand.core.take()
        && let Ok(mut r) = cx.requests.get_mut(next)
    {
        r.holds_core = true;
        r.enter(now, Phase::Cpu);
        let d = r.pending_cpu;
        cx.schedule(now + d, CPU_DONE, server, next, 0);
    }
}
