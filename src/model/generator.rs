//! The workload generator: a Poisson process whose rate is redrawn every window.
//!
//! Every `user_sampling_window` seconds it draws the active users U; the aggregate
//! rate is U * rpm / 60 per second and gaps are exponential at that rate. A gap
//! that would cross the window end is discarded and the process restarts at the
//! boundary with the new rate; by memorylessness this is exact, and since every
//! instant is an integer nanosecond there is no clock drift.

use bevy_ecs::prelude::*;
use rand_distr::{Distribution as _, Exp};
use rand_pcg::Pcg64;

use crate::engine::dispatch::Ctx;
use crate::engine::event::{Event, EventKind};
use crate::engine::queue::EventQueue;
use crate::engine::time::SimTime;
use crate::metrics::record::NameId;
use crate::model::edge;
use crate::model::request::{self, Request};
use crate::scenario::rv::Sampler;

/// Generator configuration.
#[derive(Component, Debug, Clone)]
pub struct GeneratorConfig {
    /// Generator id.
    pub name: NameId,
    /// Active users per window.
    pub users: Sampler,
    /// Requests per minute per user.
    pub rpm: f64,
    /// Window length.
    pub window: SimTime,
    /// The edge towards the client.
    pub out_edge: Entity,
}

/// Generator state.
#[derive(Component, Debug, Clone)]
pub struct GeneratorState {
    /// Gap distribution of the current window (None: no arrivals).
    gaps: Option<Exp<f64>>,
    /// End of the current window.
    window_end: SimTime,
    /// Aggregate rate of the current window, requests per second.
    pub rate: f64,
    /// The generator's random stream.
    pub rng: Pcg64,
}

impl GeneratorState {
    /// Fresh state with the generator's own random stream.
    pub fn new(rng: Pcg64) -> Self {
        GeneratorState {
            gaps: None,
            window_end: SimTime::ZERO,
            rate: 0.0,
            rng,
        }
    }
}

/// Schedule the generator's first window.
pub fn start(queue: &mut EventQueue, generator: Entity) {
    queue.schedule(SimTime::ZERO, gen_event(EventKind::WindowStart, generator));
}

fn gen_event(kind: EventKind, generator: Entity) -> Event {
    Event {
        kind,
        target: generator,
        request: Entity::PLACEHOLDER,
        tag: 0,
    }
}

/// Open a window: draw the users, set the rate, schedule the first arrival.
pub fn on_window_start(cx: &mut Ctx, generator: Entity) {
    let now = cx.now;
    let Ok((cfg, mut st)) = cx.generators.get_mut(generator) else {
        return;
    };
    let users = cfg.users.sample(&mut st.rng);
    let rate = users * cfg.rpm / 60.0;
    st.rate = rate;
    st.gaps = if rate > 0.0 && rate.is_finite() {
        Exp::new(rate).ok()
    } else {
        None
    };
    st.window_end = now + cfg.window;
    schedule_next(cx.queue, generator, &mut st, now);
}

/// Emit a request and schedule the next arrival.
pub fn on_generate(cx: &mut Ctx, generator: Entity) {
    let now = cx.now;
    let Ok((cfg, mut st)) = cx.generators.get_mut(generator) else {
        return;
    };
    let (name, out_edge) = (cfg.name, cfg.out_edge);
    schedule_next(cx.queue, generator, &mut st, now);
    let id = cx.stats.next_request_id();
    let Some(req) = request::spawn(cx, Request::new(id, name, now)) else {
        return;
    };
    edge::send(cx, out_edge, req);
}

fn schedule_next(queue: &mut EventQueue, generator: Entity, st: &mut GeneratorState, now: SimTime) {
    let next = st
        .gaps
        .map(|d| now + SimTime::from_secs_f64(d.sample(&mut st.rng)))
        .filter(|&t| t < st.window_end);
    match next {
        Some(t) => queue.schedule(t, gen_event(EventKind::Generate, generator)),
        None => queue.schedule(st.window_end, gen_event(EventKind::WindowStart, generator)),
    }
}
