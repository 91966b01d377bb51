//! The node-kind seam: what a kind of node (generator, client, load balancer,
//! server, ...) tells the engine about itself, and how the engine calls it.
//!
//! A kind is one type implementing [`NodeKind`], in one module of
//! [`crate::model`], registered once in [`Registry`] order by
//! `crate::model::registry`. Through the trait a kind owns:
//!
//! - which scenario ids are its nodes ([`NodeKind::declare`]) and how their
//!   configuration and state components are built ([`NodeKind::build`]);
//! - the components its handlers touch while events are dispatched
//!   ([`NodeKind::Param`], any bevy [`SystemParam`]: usually one `Query` over its
//!   configuration and state);
//! - what happens when a request reaches one of its nodes
//!   ([`NodeKind::on_arrive`]) and its own events ([`NodeKind::EVENTS`],
//!   [`NodeKind::on_event`]);
//! - its batch systems (gauge sampling, injections) at sync points
//!   ([`NodeKind::add_batch_systems`]) and its rows of the summary
//!   ([`NodeKind::summarize`]).
//!
//! The engine never names a kind. Nodes talk to each other only through the
//! network ([`crate::engine::network`]): a handler sends a request on an edge,
//! and the edge's arrival event calls the target kind's `on_arrive`. A handler
//! therefore holds its own kind's components plus the engine's core (queue,
//! statistics, sinks, requests, edges) in [`Ctx`], and nothing else.
//!
//! Each kind's parameters come from its own cached `SystemState`, fetched once
//! per dispatch phase (one archetype refresh per phase, not per lookup). The
//! kinds' component sets are disjoint; [`Registry`] checks that with bevy's own
//! access checker when the dispatcher is built, so the unchecked fetch below
//! never aliases.

use bevy_ecs::prelude::*;
use bevy_ecs::schedule::ScheduleLabel;
use bevy_ecs::system::{DynParamBuilder, DynSystemParam, ParamBuilder, SystemParam};
use bevy_ecs::system::{SystemParamBuilder, SystemParamItem, SystemState};
use bevy_ecs::world::unsafe_world_cell::UnsafeWorldCell;

/// What a kind's handlers get: the engine core of one dispatch phase (the
/// seam's whole API towards the engine; kinds import it from here).
pub use super::dispatch::{Ctx, Sched};
use super::event::Event;
use super::queue::EventQueue;
use super::run::ResultsSection;
use super::time::SimTime;
use super::world::{BuildCx, BuildError, Topology};
use crate::scenario::schema::ScenarioFile;

/// Dense index of a registered kind (its place in the [`Registry`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KindId(pub u16);

/// A system set per registered kind: batch systems run kind by kind, in
/// registration order, then the engine's own (edge gauges).
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BatchSlot(pub u16);

/// One kind of node.
pub trait NodeKind: Send + Sync + 'static {
    /// Stable name (`server`, `load_balancer`, ...), used in messages.
    const NAME: &'static str;
    /// Names of this kind's own events, in the order of their local codes
    /// (they appear in `summary.json` under `engine_figures.events_by_kind`).
    const EVENTS: &'static [&'static str] = &[];
    /// What the handlers need besides [`Ctx`].
    type Param: SystemParam + 'static;

    /// Ids of this kind's nodes in the scenario, in declaration order.
    fn declare(file: &ScenarioFile) -> Vec<String>;

    /// Insert configuration and state components on the declared nodes (and
    /// any resources of the kind).
    fn build(cx: &mut BuildCx) -> Result<(), BuildError>;

    /// Schedule the kind's first events (before the run starts).
    fn start(_world: &mut World, _queue: &mut EventQueue, _events: EventBase) {}

    /// A request reached `node` (the target of an edge).
    fn on_arrive(
        _cx: &mut Ctx,
        _p: &mut SystemParamItem<Self::Param>,
        _node: Entity,
        _req: Entity,
    ) {
    }

    /// The socket RAM of `node` changed (see [`crate::engine::connection`]):
    /// a kind whose requests share RAM with sockets re-checks its waiters.
    fn on_poke(_cx: &mut Ctx, _p: &mut SystemParamItem<Self::Param>, _node: Entity) {}

    /// One of the kind's own events; `local` is its index in [`Self::EVENTS`].
    fn on_event(_cx: &mut Ctx, _p: &mut SystemParamItem<Self::Param>, _local: u16, _ev: Event) {}

    /// Add batch systems, each `.in_set(slot)`.
    fn add_batch_systems(_schedule: &mut Schedule, _slot: BatchSlot) {}

    /// Add the kind's rows to the summary at the end of the run.
    fn summarize(_world: &World, _topo: &Topology, _until: SimTime, _out: &mut ResultsSection) {}
}

/// The global event-kind number of a kind's first event: its local event `i`
/// is `EventBase.0 + i`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventBase(pub u16);

impl EventBase {
    /// The global event kind of local event `local`.
    #[inline]
    pub fn kind(self, local: u16) -> super::event::EventKind {
        super::event::EventKind(self.0 + local)
    }
}

/// A kind's parameters, live for one dispatch phase.
pub(crate) trait LiveKind {
    fn arrive(&mut self, cx: &mut Ctx, node: Entity, req: Entity);
    fn event(&mut self, cx: &mut Ctx, local: u16, ev: Event);
    fn poke(&mut self, cx: &mut Ctx, node: Entity);
}

struct Live<'w, 's, K: NodeKind> {
    p: SystemParamItem<'w, 's, K::Param>,
}

impl<K: NodeKind> LiveKind for Live<'_, '_, K> {
    #[inline]
    fn arrive(&mut self, cx: &mut Ctx, node: Entity, req: Entity) {
        K::on_arrive(cx, &mut self.p, node, req);
    }
    #[inline]
    fn event(&mut self, cx: &mut Ctx, local: u16, ev: Event) {
        K::on_event(cx, &mut self.p, local, ev);
    }
    fn poke(&mut self, cx: &mut Ctx, node: Entity) {
        K::on_poke(cx, &mut self.p, node);
    }
}

/// A kind's cached system state, type-erased.
pub(crate) trait KindState: Send {
    /// Fetch the kind's parameters for one dispatch phase.
    ///
    /// # Safety
    /// `world` must be the world the state was built on, and nothing else may
    /// access the components of this kind's parameters while the result lives.
    unsafe fn live<'a>(&'a mut self, world: UnsafeWorldCell<'a>) -> Option<Box<dyn LiveKind + 'a>>;
    /// Apply deferred work and advance change ticks after a phase.
    fn apply(&mut self, world: &mut World);
}

struct TypedState<K: NodeKind> {
    state: SystemState<K::Param>,
}

impl<K: NodeKind> KindState for TypedState<K> {
    unsafe fn live<'a>(&'a mut self, world: UnsafeWorldCell<'a>) -> Option<Box<dyn LiveKind + 'a>> {
        // SAFETY: the caller guarantees the world and exclusive access to this
        // kind's components; `Registry::check_disjoint` proved at start-up that
        // no other kind and not the engine core touch them.
        let p = unsafe { self.state.get_unchecked(world) }.ok()?;
        Some(Box::new(Live::<K> { p }))
    }
    fn apply(&mut self, world: &mut World) {
        self.state.apply(world);
    }
}

/// Everything the engine needs to know about one registered kind.
pub struct KindEntry {
    /// Its name.
    pub name: &'static str,
    /// Its events' names.
    pub events: &'static [&'static str],
    declare: fn(&ScenarioFile) -> Vec<String>,
    build: fn(&mut BuildCx) -> Result<(), BuildError>,
    start: fn(&mut World, &mut EventQueue, EventBase),
    add_batch: fn(&mut Schedule, BatchSlot),
    summarize: fn(&World, &Topology, SimTime, &mut ResultsSection),
    state: fn(&mut World) -> Box<dyn KindState>,
    access: fn() -> DynParamBuilder<'static>,
}

/// The registered kinds, in order. Built by `crate::model::registry`.
#[derive(Default)]
pub struct Registry {
    kinds: Vec<KindEntry>,
}

impl Registry {
    /// No kinds.
    pub fn new() -> Self {
        Registry::default()
    }

    /// Register kind `K` (one line per kind).
    pub fn add<K: NodeKind>(mut self) -> Self {
        self.kinds.push(KindEntry {
            name: K::NAME,
            events: K::EVENTS,
            declare: K::declare,
            build: K::build,
            start: K::start,
            add_batch: K::add_batch_systems,
            summarize: K::summarize,
            state: |world| {
                Box::new(TypedState::<K> {
                    state: SystemState::new(world),
                })
            },
            access: || DynParamBuilder::new::<K::Param>(ParamBuilder),
        });
        self
    }

    /// The kinds, in registration order.
    pub fn kinds(&self) -> &[KindEntry] {
        &self.kinds
    }

    /// Declared nodes of every kind: id → (kind, declaration index).
    pub(crate) fn declare(&self, file: &ScenarioFile) -> Vec<(KindId, Vec<String>)> {
        self.kinds
            .iter()
            .enumerate()
            .map(|(i, k)| (KindId(i as u16), (k.declare)(file)))
            .collect()
    }

    /// Build every kind's components, in registration order.
    pub(crate) fn build(&self, cx: &mut BuildCx) -> Result<(), BuildError> {
        for k in &self.kinds {
            (k.build)(cx)?;
        }
        Ok(())
    }

    /// The event base of each kind, after the engine's own events.
    pub(crate) fn event_bases(&self) -> Vec<EventBase> {
        let mut next = super::event::EventKind::CORE.len() as u16;
        self.kinds
            .iter()
            .map(|k| {
                let b = EventBase(next);
                next += k.events.len() as u16;
                b
            })
            .collect()
    }

    /// Every event name, indexed by global event kind, with its kind (None:
    /// the engine's own).
    pub(crate) fn event_table(&self) -> Vec<(&'static str, Option<KindId>, u16)> {
        let mut t: Vec<_> = super::event::EventKind::CORE
            .iter()
            .enumerate()
            .map(|(i, n)| (*n, None, i as u16))
            .collect();
        for (i, k) in self.kinds.iter().enumerate() {
            for (j, n) in k.events.iter().enumerate() {
                t.push((*n, Some(KindId(i as u16)), j as u16));
            }
        }
        t
    }

    /// Let every kind schedule its first events.
    pub(crate) fn start(&self, world: &mut World, queue: &mut EventQueue) {
        for (k, base) in self.kinds.iter().zip(self.event_bases()) {
            (k.start)(world, queue, base);
        }
    }

    /// Add every kind's batch systems, one slot per kind, slots in order.
    pub(crate) fn add_batch_systems(&self, schedule: &mut Schedule) -> BatchSlot {
        for (i, k) in self.kinds.iter().enumerate() {
            let slot = BatchSlot(i as u16);
            (k.add_batch)(schedule, slot);
            if i > 0 {
                schedule.configure_sets(slot.after(BatchSlot(i as u16 - 1)));
            }
        }
        let last = BatchSlot(self.kinds.len() as u16);
        if !self.kinds.is_empty() {
            schedule.configure_sets(last.after(BatchSlot(self.kinds.len() as u16 - 1)));
        }
        last
    }

    /// Let every kind add its summary rows.
    pub(crate) fn summarize(
        &self,
        world: &World,
        topo: &Topology,
        until: SimTime,
        out: &mut ResultsSection,
    ) {
        for k in &self.kinds {
            (k.summarize)(world, topo, until, out);
        }
    }

    /// Each kind's cached system state.
    pub(crate) fn states(&self, world: &mut World) -> Vec<Box<dyn KindState>> {
        self.kinds.iter().map(|k| (k.state)(world)).collect()
    }

    /// Panic (a programming error, not a scenario error) if two kinds, or a
    /// kind and the engine core `P`, touch the same component or resource
    /// mutably: bevy's access checker does the work on a throwaway state.
    pub(crate) fn check_disjoint<P: SystemParam + 'static>(&self, world: &mut World) {
        let builders: Vec<DynParamBuilder<'static>> =
            self.kinds.iter().map(|k| (k.access)()).collect();
        let _: SystemState<(P, Vec<DynSystemParam>)> = (ParamBuilder, builders).build_state(world);
    }
}

/// Label of the batch schedule.
#[derive(ScheduleLabel, Debug, Clone, PartialEq, Eq, Hash)]
pub struct Batch;
