//! The workload generator: a Poisson process whose rate is redrawn every window.
//!
//! Every `user_sampling_window` seconds it draws the active users U; the aggregate
//! rate is U * rpm / 60 per second and gaps are exponential at that rate. A gap
//! that would cross the window end is discarded and the process restarts at the
//! boundary with the new rate; by memorylessness this is exact, and since every
//! instant is an integer nanosecond there is no clock drift.

use bevy_ecs::prelude::*;
use bevy_ecs::system::SystemParamItem;
use rand::RngExt as _;
use rand_distr::{Distribution as _, Exp};
use rand_pcg::Pcg64;

use crate::engine::event::Event;
use crate::engine::network;
use crate::engine::node::Ctx;
use crate::engine::node::{EventBase, NodeKind};
use crate::engine::queue::EventQueue;
use crate::engine::request::{self, Request};
use crate::engine::time::SimTime;
use crate::engine::world::{BuildCx, BuildError, sampler};
use crate::metrics::record::NameId;
use crate::scenario::rv::Sampler;
use crate::scenario::schema::{RqsGenerator, ScenarioFile};

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
        file.generators().iter().map(|g| g.id.clone()).collect()
    }

    fn build(cx: &mut BuildCx) -> Result<(), BuildError> {
        for g in cx.file.generators() {
            build_one(cx, g)?;
        }
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
    /// `endpoint_weights`, if given: each request names its endpoint.
    pub endpoints: Option<EndpointMix>,
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
    /// Its stream for endpoint draws.
    pub mix_rng: Pcg64,
}

impl GeneratorState {
    /// Fresh state with the generator's own random stream.
    pub fn new(rng: Pcg64, mix_rng: Pcg64) -> Self {
        GeneratorState {
            gaps: None,
            window_end: SimTime::ZERO,
            rate: 0.0,
            rng,
            mix_rng,
        }
    }
}

fn build_one(cx: &mut BuildCx, g: &RqsGenerator) -> Result<(), BuildError> {
    let e = cx.require_node(&g.id, "generator")?;
    // Its target client, or the only client (validation made sure there is one).
    let client = match &g.target {
        Some(t) => t.clone(),
        None => (cx.file.topology_graph.nodes.all_clients())
            .map(|(_, c)| c.id.clone())
            .next()
            .ok_or_else(|| BuildError::Topology(format!("generator {} has no client", g.id)))?,
    };
    let out_edge = cx.edge_between(&g.id, &client).ok_or_else(|| {
        BuildError::Topology(format!("no edge from generator {} to {client}", g.id))
    })?;
    let endpoints = match &g.endpoint_weights {
        Some(w) => {
            let mut acc = 0.0;
            let mut names = Vec::with_capacity(w.len());
            let mut cumulative = Vec::with_capacity(w.len());
            for (name, &weight) in w {
                acc += weight;
                names.push(cx.names.intern(name));
                cumulative.push(acc);
            }
            Some(EndpointMix { names, cumulative })
        }
        None => None,
    };
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
        endpoints,
    };
    // The endpoint draws have a stream of their own, so adding a mix leaves
    // the arrival times as they were (common random numbers across variants).
    let mix_rng = cx.stream("generator-endpoints", &g.id);
    let st = GeneratorState::new(cx.stream("generator", &g.id), mix_rng);
    cx.world.entity_mut(e).insert((cfg, st));
    Ok(())
}

/// A generator's endpoint mix: names and cumulative weights.
#[derive(Debug, Clone)]
pub struct EndpointMix {
    names: Vec<NameId>,
    cumulative: Vec<f64>,
}

impl EndpointMix {
    fn pick(&self, rng: &mut Pcg64) -> NameId {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let u: f64 = rng.random::<f64>() * total;
        let i = self.cumulative.iter().position(|&c| u < c);
        self.names[i.unwrap_or(self.names.len() - 1)]
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
    let wanted = cfg.endpoints.as_ref().map(|m| m.pick(&mut st.mix_rng));
    let id = cx.stats.next_request_id();
    let mut r = Request::new(id, name, client, now);
    r.reply_to = client_node;
    r.wanted_endpoint = wanted;
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
