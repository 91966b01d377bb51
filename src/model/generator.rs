//! The workload generator: a Poisson process whose rate is redrawn every window.
//!
//! Every `user_sampling_window` seconds it draws the active users U; the aggregate
//! rate is U * rpm / 60 per second and gaps are exponential at that rate. A gap
//! that would cross the window end is discarded and the process restarts at the
//! boundary with the new rate; by memorylessness this is exact, and since every
//! instant is an integer nanosecond there is no clock drift.

use bevy_ecs::prelude::*;
use bevy_ecs::system::SystemParamItem;
use rand_distr::{Distribution as _, Exp};
use rand_pcg::Pcg64;

use crate::engine::dispatch::Ctx;
use crate::engine::event::Event;
use crate::engine::network;
use crate::engine::node::{EventBase, NodeKind};
use crate::engine::queue::EventQueue;
use crate::engine::request::{self, Request};
use crate::engine::time::SimTime;
use crate::engine::world::{BuildCx, BuildError, sampler};
use crate::metrics::record::NameId;
use crate::scenario::rv::Sampler;
use crate::scenario::schema::ScenarioFile;

/// The generator kind.
pub struct Generators;

/// Local event codes.
const WINDOW_START: u16 = 0;
const GENERATE: u16 = 1;

type Param = Query<'static, 'static, (&'static GeneratorConfig, &'static mut GeneratorState)>;

impl NodeKind for Generators {
    const NAME: &'static str = "generator";
    const EVENTS: &'static [&'static str] = &["window_start", "generate"];
    type Param = Param;

    fn declare(file: &ScenarioFile) -> Vec<String> {
        vec![file.rqs_input.id.clone()]
    }

    fn build(cx: &mut BuildCx) -> Result<(), BuildError> {
        let g = &cx.file.rqs_input;
        let e = cx.require_node(&g.id, "generator")?;
        let &(i, out_edge) = cx
            .out_edges(&g.id)
            .first()
            .ok_or_else(|| BuildError::Topology(format!("generator {} has no out edge", g.id)))?;
        let client = cx.file.topology_graph.edges[i].target.clone();
        let cfg = GeneratorConfig {
            name: cx.names.intern(&g.id),
            client: cx.names.intern(&client),
            client_node: cx.require_node(&client, "generator target")?,
            users: sampler(
                || "avg_active_users".into(),
                Sampler::new(&g.avg_active_users),
            )?,
            rpm: g.avg_request_per_minute_per_user.mean,
            window: SimTime::from_secs(g.user_sampling_window.max(1) as u64),
            out_edge,
        };
        let st = GeneratorState::new(cx.stream("generator", &g.id));
        cx.world.entity_mut(e).insert((cfg, st));
        Ok(())
    }

    fn start(world: &mut World, queue: &mut EventQueue, events: EventBase) {
        let mut q = world.query_filtered::<Entity, With<GeneratorConfig>>();
        for g in q.iter(world) {
            queue.schedule(SimTime::ZERO, gen_event(events, WINDOW_START, g));
        }
    }

    fn on_event(cx: &mut Ctx, p: &mut SystemParamItem<Param>, local: u16, ev: Event) {
        match local {
            WINDOW_START => on_window_start(cx, p, ev.target),
            _ => on_generate(cx, p, ev.target),
        }
    }
}

/// Generator configuration.
#[derive(Component, Debug, Clone)]
pub struct GeneratorConfig {
    /// Generator id.
    pub name: NameId,
    /// The client its requests are for.
    pub client: NameId,
    /// That client's entity (where replies go).
    pub client_node: Entity,
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

fn gen_event(events: EventBase, local: u16, generator: Entity) -> Event {
    Event {
        kind: events.kind(local),
        target: generator,
        request: Entity::PLACEHOLDER,
        tag: 0,
        aux: 0,
    }
}

/// Open a window: draw the users, set the rate, schedule the first arrival.
fn on_window_start(cx: &mut Ctx, gens: &mut SystemParamItem<Param>, generator: Entity) {
    let now = cx.now;
    let Ok((cfg, mut st)) = gens.get_mut(generator) else {
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
    schedule_next(cx, generator, &mut st, now);
}

/// Emit a request and schedule the next arrival.
fn on_generate(cx: &mut Ctx, gens: &mut SystemParamItem<Param>, generator: Entity) {
    let now = cx.now;
    let Ok((cfg, mut st)) = gens.get_mut(generator) else {
        return;
    };
    let (name, client, out_edge) = (cfg.name, cfg.client, cfg.out_edge);
    let client_node = cfg.client_node;
    schedule_next(cx, generator, &mut st, now);
    let id = cx.stats.next_request_id();
    let mut r = Request::new(id, name, client, now);
    r.reply_to = client_node;
    let Some(req) = request::spawn(cx, r) else {
        return;
    };
    network::send(cx, out_edge, req);
}

fn schedule_next(cx: &mut Ctx, generator: Entity, st: &mut GeneratorState, now: SimTime) {
    let next = st
        .gaps
        .map(|d| now + SimTime::from_secs_f64(d.sample(&mut st.rng)))
        .filter(|&t| t < st.window_end);
    match next {
        Some(t) => cx.schedule(t, GENERATE, generator, Entity::PLACEHOLDER, 0),
        None => cx.schedule(
            st.window_end,
            WINDOW_START,
            generator,
            Entity::PLACEHOLDER,
            0,
        ),
    }
}
