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

    fn sync_gauges(&mut self, now: SimTime, cores: u32) {
        let g = &mut self.gauges;
        g.ready_queue.set(now, self.ready.len() as f64);
        g.io_sleep.set(now, f64::from(self.io_sleeping));
        g.ram_in_use.set(now, self.ram_in_use);
        g.busy_cores.set(now, f64::from(cores - self.free_cores));
        g.ram_wait.set(now, self.ram_queue.len() as f64);
    }
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
pub fn on_arrive(world: &mut World, cx: &mut Ctx, server: Entity, req: Entity) {
    let now = cx.now;
    let Ok((cfg, mut st)) = cx.q.servers.get_mut(world, server) else {
        return;
    };
    let st = &mut *st;
    let ep = pick_endpoint(cfg, &mut st.rng);
    let plan = &cfg.endpoints[ep];
    let need: f64 = plan.ram.iter().map(|s| s.sample(&mut st.rng)).sum();
    let admitted = st.ram_queue.is_empty() && st.ram_in_use + need <= cfg.ram_mb;
    if admitted {
        st.ram_in_use += need;
    } else {
        st.ram_queue.push_back((req, need));
    }
    st.sync_gauges(now, cfg.cores);
    let (name, ep_name) = (cfg.name, plan.name);
    if let Ok(mut r) = cx.q.requests.get_mut(world, req) {
        r.server = Some(name);
        r.endpoint = ep as u32;
        r.endpoint_name = Some(ep_name);
        r.step = 0;
        if admitted {
            r.ram = need;
        } else {
            r.enter(now, Phase::RamWait);
        }
    }
    if admitted {
        advance(world, cx, server, req, false);
    }
}

/// A CPU step ended: move to the next step, keeping the core.
pub fn on_cpu_done(world: &mut World, cx: &mut Ctx, server: Entity, req: Entity) {
    advance(world, cx, server, req, true);
}

/// An I/O step ended: move to the next step.
pub fn on_io_done(world: &mut World, cx: &mut Ctx, server: Entity, req: Entity) {
    let now = cx.now;
    if let Ok((cfg, mut st)) = cx.q.servers.get_mut(world, server) {
        st.io_sleeping -= 1;
        st.sync_gauges(now, cfg.cores);
    }
    advance(world, cx, server, req, true);
}

/// What the request's current step asks for.
enum Next {
    Cpu(SimTime),
    Io(SimTime),
    Done,
}

/// Start the request's current step (or finish the endpoint); with
/// `step_done`, first move past the step that just ended (one lookup for both).
fn advance(world: &mut World, cx: &mut Ctx, server: Entity, req: Entity, step_done: bool) {
    let now = cx.now;
    let Ok(mut r) = cx.q.requests.get_mut(world, req) else {
        return;
    };
    if step_done {
        r.step += 1;
    }
    let (ep, step, holds_core) = (r.endpoint as usize, r.step as usize, r.holds_core);
    let Ok((cfg, mut st)) = cx.q.servers.get_mut(world, server) else {
        return;
    };
    let st = &mut *st;
    let next = match cfg.endpoints[ep].steps.get(step) {
        None => Next::Done,
        Some(s) => {
            let d = SimTime::from_secs_f64(s.duration.sample(&mut st.rng));
            match s.work {
                Work::Cpu => Next::Cpu(d),
                Work::Io => Next::Io(d),
            }
        }
    };
    let cores = cfg.cores;
    let out_edge = cfg.out_edge;
    match next {
        Next::Cpu(d) => {
            if holds_core {
                schedule(cx.queue, EventKind::CpuDone, now + d, server, req);
                return;
            }
            let got_core = st.free_cores > 0;
            if got_core {
                st.free_cores -= 1;
                schedule(cx.queue, EventKind::CpuDone, now + d, server, req);
            } else {
                st.ready.push_back(req);
            }
            st.sync_gauges(now, cores);
            if let Ok(mut r) = cx.q.requests.get_mut(world, req) {
                if got_core {
                    r.holds_core = true;
                    r.enter(now, Phase::Cpu);
                } else {
                    r.pending_cpu = d;
                    r.enter(now, Phase::CpuWait);
                }
            }
        }
        Next::Io(d) => {
            st.io_sleeping += 1;
            schedule(cx.queue, EventKind::IoDone, now + d, server, req);
            if holds_core {
                release_core(&mut cx.handover, st, server, now);
            }
            st.sync_gauges(now, cores);
            if let Ok(mut r) = cx.q.requests.get_mut(world, req) {
                r.holds_core = false;
                r.enter(now, Phase::Io);
            }
            start_handover(world, cx);
        }
        Next::Done => {
            if holds_core {
                release_core(&mut cx.handover, st, server, now);
            }
            let (ram, released) = world
                .get::<Request>(req)
                .map_or((0.0, false), |r| (r.ram, true));
            let Ok((cfg, mut st)) = cx.q.servers.get_mut(world, server) else {
                return;
            };
            let st = &mut *st;
            if released {
                st.ram_in_use -= ram;
            }
            st.served += 1;
            // Admit from the head of the RAM queue while it fits (head of line).
            let mut admitted = Vec::new();
            while let Some(&(next, need)) = st.ram_queue.front() {
                if st.ram_in_use + need > cfg.ram_mb {
                    break;
                }
                st.ram_queue.pop_front();
                st.ram_in_use += need;
                admitted.push((next, need));
            }
            st.sync_gauges(now, cores);
            let name = cfg.name;
            if let Ok(mut r) = cx.q.requests.get_mut(world, req) {
                r.holds_core = false;
                r.ram = 0.0;
                r.served = true;
                r.server = Some(name);
                r.enter(now, Phase::Network);
            }
            start_handover(world, cx);
            for (next, need) in admitted {
                if let Ok(mut r) = cx.q.requests.get_mut(world, next) {
                    r.ram = need;
                }
                cx.to_start.push_back((server, next));
            }
            edge::send(world, cx, out_edge, req);
        }
    }
}

/// A core was freed: give it to the head of the ready queue, or return it.
///
/// The hand-over itself (the request's CPU step starting) needs the request's
/// component, so it is parked in `cx.handover` and finished by
/// [`start_handover`] once the server's borrow ends.
fn release_core(
    handover: &mut Option<(Entity, Entity, SimTime)>,
    st: &mut ServerState,
    server: Entity,
    now: SimTime,
) {
    match st.ready.pop_front() {
        Some(next) => *handover = Some((server, next, now)),
        None => st.free_cores += 1,
    }
}

/// Finish a core hand-over decided by [`release_core`].
fn start_handover(world: &mut World, cx: &mut Ctx) {
    let Some((server, next, now)) = cx.handover.take() else {
        return;
    };
    let Ok(mut r) = cx.q.requests.get_mut(world, next) else {
        return;
    };
    r.holds_core = true;
    r.enter(now, Phase::Cpu);
    let d = r.pending_cpu;
    schedule(cx.queue, EventKind::CpuDone, now + d, server, next);
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

/// Start a request that was just admitted from the RAM queue.
pub fn start_admitted(world: &mut World, cx: &mut Ctx, server: Entity, req: Entity) {
    advance(world, cx, server, req, false);
}
