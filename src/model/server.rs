//! Servers: an event loop with N cores, RAM, and endpoints made of steps.
//!
//! On arrival a request picks an endpoint (by weight), then reserves the
//! endpoint's whole RAM, waiting in a FIFO RAM queue if it does not fit (head of
//! line: a big request blocks smaller ones behind it). It then walks the steps: a
//! CPU step needs a core (FIFO ready queue when none is free; consecutive CPU steps
//! keep the core), an I/O step gives the core back and waits without one. RAM
//! steps were paid for on admission and take no time. At the end the request
//! releases its core and RAM and leaves on the server's out edge.

use std::collections::VecDeque;

use bevy_ecs::prelude::*;
use rand::RngExt;
use rand_pcg::Pcg64;

use crate::engine::dispatch::Ctx;
use crate::engine::event::{Event, EventKind};
use crate::engine::queue::EventQueue;
use crate::engine::time::SimTime;
use crate::metrics::gauge::Gauge;
use crate::metrics::record::NameId;
use crate::model::edge;
use crate::model::request::{Phase, Request};
use crate::scenario::rv::Sampler;

/// What a step needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    /// A core.
    Cpu,
    /// Nothing but time.
    Io,
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
    /// The CPU and I/O steps in order.
    pub steps: Vec<StepPlan>,
}

/// Server configuration.
#[derive(Component, Debug, Clone)]
pub struct ServerConfig {
    /// Server id.
    pub name: NameId,
    /// Cores.
    pub cores: u32,
    /// RAM capacity in MB.
    pub ram_mb: f64,
    /// Endpoints.
    pub endpoints: Vec<EndpointPlan>,
    /// Cumulative selection weights (empty: uniform).
    pub cumulative_weights: Vec<f64>,
    /// The edge responses leave on.
    pub out_edge: Entity,
}

/// The gauges of one server.
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
    free_cores: u32,
    ram_in_use: f64,
    ready: VecDeque<Entity>,
    ram_queue: VecDeque<(Entity, f64)>,
    io_sleeping: u32,
    /// Requests that finished their endpoint here.
    pub served: u64,
    /// Gauges.
    pub gauges: ServerGauges,
    /// The server's random stream (endpoint choice, step durations).
    pub rng: Pcg64,
}

impl ServerState {
    /// An idle server.
    pub fn new(cores: u32, rng: Pcg64) -> Self {
        ServerState {
            up: true,
            free_cores: cores,
            ram_in_use: 0.0,
            ready: VecDeque::new(),
            ram_queue: VecDeque::new(),
            io_sleeping: 0,
            served: 0,
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

/// A request arrives: choose its endpoint and admit it, or queue it for RAM.
pub fn on_arrive(cx: &mut Ctx, server: Entity, req: Entity) {
    let now = cx.now;
    let Ok((cfg, mut st)) = cx.servers.get_mut(server) else {
        return;
    };
    let Ok(mut r) = cx.requests.get_mut(req) else {
        return;
    };
    let st = &mut *st;
    let ep = pick_endpoint(cfg, &mut st.rng);
    let plan = &cfg.endpoints[ep];
    let need: f64 = plan.ram.iter().map(|s| s.sample(&mut st.rng)).sum();
    r.server = Some(cfg.name);
    r.endpoint = ep as u32;
    r.endpoint_name = Some(plan.name);
    r.step = 0;
    if st.ram_queue.is_empty() && st.ram_in_use + need <= cfg.ram_mb {
        st.ram_in_use += need;
        st.gauges.ram_in_use.set(now, st.ram_in_use);
        r.ram = need;
        let r = &mut *r;
        let out = advance(now, cx.queue, &mut cx.hand, server, cfg, st, req, r);
        after_advance(cx, req, out);
    } else {
        st.ram_queue.push_back((req, need));
        st.gauges.ram_wait.set(now, st.ram_queue.len() as f64);
        r.enter(now, Phase::RamWait);
    }
}

/// A CPU step ended: move to the next step, keeping the core.
pub fn on_cpu_done(cx: &mut Ctx, server: Entity, req: Entity) {
    step_done(cx, server, req, false);
}

/// An I/O step ended: move to the next step.
pub fn on_io_done(cx: &mut Ctx, server: Entity, req: Entity) {
    step_done(cx, server, req, true);
}

/// The request's current step ended: start the next one (or finish).
fn step_done(cx: &mut Ctx, server: Entity, req: Entity, io: bool) {
    proceed(cx, server, req, |now, st, r| {
        if io {
            st.io_sleeping -= 1;
            st.gauges.io_sleep.set(now, f64::from(st.io_sleeping));
        }
        r.step += 1;
    });
}

/// Start a request that was admitted from the RAM queue holding `ram` MB.
pub fn start_admitted(cx: &mut Ctx, server: Entity, req: Entity, ram: f64) {
    proceed(cx, server, req, |_, _, r| r.ram = ram);
}

/// Look the server and the request up once, apply `update`, then start the
/// request's current step (or finish its endpoint).
#[inline]
fn proceed(
    cx: &mut Ctx,
    server: Entity,
    req: Entity,
    update: impl FnOnce(SimTime, &mut ServerState, &mut Request),
) {
    let now = cx.now;
    let Ok((cfg, mut st)) = cx.servers.get_mut(server) else {
        return;
    };
    let Ok(mut r) = cx.requests.get_mut(req) else {
        return;
    };
    let (st, r) = (&mut *st, &mut *r);
    update(now, st, r);
    let out = advance(now, cx.queue, &mut cx.hand, server, cfg, st, req, r);
    after_advance(cx, req, out);
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
/// RAM queue start after the current handler ([`Ctx::run_until`]).
fn after_advance(cx: &mut Ctx, req: Entity, out: After) {
    start_handover(cx);
    if let After::Leave(edge) = out {
        edge::send(cx, edge, req);
    }
}

/// Start the request's current step, or end its endpoint when no step is left.
#[allow(clippy::too_many_arguments)]
#[inline]
fn advance(
    now: SimTime,
    queue: &mut EventQueue,
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
            release_core(&mut hand.core, st, server, cfg.cores, now);
        }
        st.ram_in_use -= r.ram;
        st.served += 1;
        if !st.ram_queue.is_empty() {
            admit_from_ram_queue(cfg, st, server, &mut hand.admitted);
            st.gauges.ram_wait.set(now, st.ram_queue.len() as f64);
        }
        st.gauges.ram_in_use.set(now, st.ram_in_use);
        r.holds_core = false;
        r.ram = 0.0;
        r.served = true;
        r.enter(now, Phase::Network);
        return After::Leave(cfg.out_edge);
    };
    let d = SimTime::from_secs_f64(s.duration.sample(&mut st.rng));
    match s.work {
        Work::Cpu => {
            if r.holds_core {
                schedule(queue, EventKind::CpuDone, now + d, server, req);
            } else if st.free_cores > 0 {
                st.free_cores -= 1;
                st.gauges
                    .busy_cores
                    .set(now, f64::from(cfg.cores - st.free_cores));
                schedule(queue, EventKind::CpuDone, now + d, server, req);
                r.holds_core = true;
                r.enter(now, Phase::Cpu);
            } else {
                st.ready.push_back(req);
                st.gauges.ready_queue.set(now, st.ready.len() as f64);
                r.pending_cpu = d;
                r.enter(now, Phase::CpuWait);
            }
        }
        Work::Io => {
            st.io_sleeping += 1;
            st.gauges.io_sleep.set(now, f64::from(st.io_sleeping));
            schedule(queue, EventKind::IoDone, now + d, server, req);
            if r.holds_core {
                release_core(&mut hand.core, st, server, cfg.cores, now);
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
        if st.ram_in_use + need > cfg.ram_mb {
            break;
        }
        st.ram_queue.pop_front();
        st.ram_in_use += need;
        admitted.push_back((server, next, need));
    }
}

/// A core was freed: give it to the head of the ready queue, or return it;
/// update the core and ready-queue gauges.
///
/// The hand-over itself (the waiting request's CPU step starting) needs that
/// request's component, so it is parked in `handover` and finished by
/// [`start_handover`] once the current request's borrow ends.
fn release_core(
    handover: &mut Option<(Entity, Entity)>,
    st: &mut ServerState,
    server: Entity,
    cores: u32,
    now: SimTime,
) {
    match st.ready.pop_front() {
        Some(next) => *handover = Some((server, next)),
        None => st.free_cores += 1,
    }
    st.gauges
        .busy_cores
        .set(now, f64::from(cores - st.free_cores));
    st.gauges.ready_queue.set(now, st.ready.len() as f64);
}

/// Finish a core hand-over decided by [`release_core`].
fn start_handover(cx: &mut Ctx) {
    let now = cx.now;
    if let Some((server, next)) = cx.hand.core.take()
        && let Ok(mut r) = cx.requests.get_mut(next)
    {
        r.holds_core = true;
        r.enter(now, Phase::Cpu);
        let d = r.pending_cpu;
        schedule(cx.queue, EventKind::CpuDone, now + d, server, next);
    }
}

fn schedule(queue: &mut EventQueue, kind: EventKind, at: SimTime, server: Entity, req: Entity) {
    queue.schedule(
        at,
        Event {
            kind,
            target: server,
            request: req,
            tag: 0,
        },
    );
}
