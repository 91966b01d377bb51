//! Requests: one entity each, from generation to completion or drop.

use bevy_ecs::prelude::*;

use super::dispatch::Ctx;
use super::time::SimTime;
use crate::metrics::record::{NameId, RequestRecord, RequestStatus};

/// Where a request's time is going right now; every instant of its life is in
/// exactly one phase, so the per-phase totals add up to its latency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// In transit on an edge (node hand-offs take no time).
    Network,
    /// Queued for RAM at a server.
    RamWait,
    /// Queued for a core.
    CpuWait,
    /// Running on a core.
    Cpu,
    /// In an I/O wait.
    Io,
    /// Waiting for calls to other services (core released, RAM held).
    Call,
}

/// The request component: identity, route position and time accounting.
///
/// Every field is flipped in place; the component set of a request never changes
/// after spawn, so requests never move between archetypes.
#[derive(Component, Debug, Clone)]
pub struct Request {
    /// Generation order, from 1.
    pub id: u64,
    /// Generator name.
    pub generator: NameId,
    /// Name of the client it was generated for.
    pub client: NameId,
    /// Generation time.
    pub created: SimTime,
    /// Server that served it, once it reached one.
    pub server: Option<NameId>,
    /// Endpoint index within that server.
    pub endpoint: u32,
    /// Endpoint name, once chosen.
    pub endpoint_name: Option<NameId>,
    /// Index of the current step in the endpoint's plan.
    pub step: u32,
    /// Whether it holds a core.
    pub holds_core: bool,
    /// Whether it has been through a server (so the client completes it).
    pub served: bool,
    /// MB of RAM it holds.
    pub ram: f64,
    /// Duration of the CPU step it waits to run.
    pub pending_cpu: SimTime,
    phase: Phase,
    phase_since: SimTime,
    /// Accumulated time per phase, indexed by `Phase as usize`.
    spent: [SimTime; 6],
}

impl Request {
    /// A request generated at `now`, entering its first edge.
    pub fn new(id: u64, generator: NameId, client: NameId, now: SimTime) -> Self {
        Request {
            id,
            generator,
            client,
            created: now,
            server: None,
            endpoint: 0,
            endpoint_name: None,
            step: 0,
            holds_core: false,
            served: false,
            ram: 0.0,
            pending_cpu: SimTime::ZERO,
            phase: Phase::Network,
            phase_since: now,
            spent: [SimTime::ZERO; 6],
        }
    }

    /// Close the current phase at `now` and open `phase`.
    #[inline]
    pub fn enter(&mut self, now: SimTime, phase: Phase) {
        self.spent[self.phase as usize] += now - self.phase_since;
        self.phase = phase;
        self.phase_since = now;
    }

    /// Time spent in `phase` so far (closed phases only).
    pub fn spent(&self, phase: Phase) -> SimTime {
        self.spent[phase as usize]
    }
}

/// Put `request` on an entity from the pool (its component is overwritten in
/// place, so the archetype never changes); `None` only if the pool is empty,
/// which the dispatch loop never lets happen.
///
/// Recycling keeps the entity count at the peak number of requests in the
/// system. With spawn/despawn per request, bevy 0.20's entity allocator grew by
/// about 16 bytes per despawned request (165 MB after 10M requests, measured), so
/// memory was not flat in run length.
pub fn spawn(cx: &mut Ctx, request: Request) -> Option<Entity> {
    while let Some(e) = cx.spare.pop() {
        if let Ok(mut r) = cx.requests.get_mut(e) {
            *r = request;
            return Some(e);
        }
    }
    None
}

/// End a request: account it, hand its record to the sinks, keep its entity for
/// reuse.
pub fn finish(cx: &mut Ctx, req: Entity, status: RequestStatus, dropped_on: Option<NameId>) {
    let now = cx.now;
    let Ok(mut r) = cx.requests.get_mut(req) else {
        return;
    };
    r.enter(now, Phase::Network);
    let record = RequestRecord {
        request_id: r.id,
        generator: r.generator,
        client: r.client,
        server: r.server,
        endpoint: r.endpoint_name,
        status,
        dropped_on,
        created: r.created,
        finished: now,
        ram_wait: r.spent(Phase::RamWait),
        cpu_wait: r.spent(Phase::CpuWait),
        cpu: r.spent(Phase::Cpu),
        io: r.spent(Phase::Io),
        network: r.spent(Phase::Network),
        call: r.spent(Phase::Call),
    };
    // Keep the entity for the next request instead of despawning it: see
    // [`spawn`].
    cx.spare.push(req);
    cx.push_request(&record);
}
