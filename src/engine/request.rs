//! Requests: one entity each, from generation to completion or drop.

use bevy_ecs::prelude::*;

use super::connection;
use super::dispatch::Ctx;
use super::event::{Event, EventKind};
use super::network;
use super::time::SimTime;
use crate::metrics::record::{Breakdown, NameId, RequestRecord, RequestStatus, SpanRecord};

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
    /// Getting a connection: a keep-alive pool's queue, the target's accept
    /// backlog, the handshake.
    Connect,
}

/// What a call knows of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallInfo {
    /// The root request's id.
    pub trace: u64,
    /// The calling request's entity.
    pub parent: Entity,
    /// The caller's wait this call belongs to ([`Wait::id`]).
    pub parent_wait: u32,
    /// Its place among the wait's calls.
    pub index: u16,
    /// The calling request's span, if the caller is itself a call.
    pub parent_span: Option<u64>,
    /// The calling server's name.
    pub caller: NameId,
    /// The node called, as named in the step.
    pub callee: NameId,
    /// When the caller stops waiting (`SimTime::MAX`: never).
    pub deadline: SimTime,
    /// Attempt number, from 1.
    pub attempt: u32,
}

/// A request's wait in a `call` or `parallel` step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Wait {
    /// Unique among the run's waits (late replies and timeouts compare it).
    pub id: u32,
    /// Successes needed to resume.
    pub need: u16,
    /// Calls sent.
    pub total: u16,
    /// Successes so far.
    pub ok: u16,
    /// Failures (including timeouts) so far.
    pub failed: u16,
    /// Calls answered or given up on, one bit each.
    pub done: u64,
}

impl Wait {
    /// Whether the join can no longer succeed.
    pub fn hopeless(&self) -> bool {
        self.failed > self.total - self.need
    }
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
    /// The worker (event loop) of its server it is assigned to, for its whole
    /// visit.
    pub worker: u32,
    /// Whether it holds a core.
    pub holds_core: bool,
    /// Whether it has been through a server (so the client completes it).
    pub served: bool,
    /// MB of RAM it holds.
    pub ram: f64,
    /// Duration of the CPU step it waits to run.
    pub pending_cpu: SimTime,
    /// How many requests this entity has carried (late events compare it).
    pub epoch: u32,
    /// The node its reply goes to: its client for a root request, the
    /// calling server for a call.
    pub reply_to: Entity,
    /// The endpoint a call asks for (a root request's server picks by weight).
    pub wanted_endpoint: Option<NameId>,
    /// Set when it is a call (a child of another request).
    pub call: Option<CallInfo>,
    /// Its wait while it is in a `call` or `parallel` step.
    pub wait: Wait,
    /// How it ended, once it did (`Completed` while it runs); a reply with
    /// another status is a failure for its caller.
    pub status: RequestStatus,
    /// Where it was lost, if it was.
    pub dropped_on: Option<NameId>,
    /// The tracked edge that holds it (`Entity::PLACEHOLDER`: none), see
    /// [`crate::engine::network`].
    pub held_on: Entity,
    /// When it was sent on that edge.
    pub held_since: SimTime,
    /// The newest connection it holds (`Entity::PLACEHOLDER`: none); each
    /// connection links to the one it held before (see
    /// [`crate::engine::connection`]).
    pub conn: Entity,
    phase: Phase,
    phase_since: SimTime,
    /// Accumulated time per phase, indexed by `Phase as usize`.
    spent: [SimTime; 7],
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
            worker: 0,
            holds_core: false,
            served: false,
            ram: 0.0,
            pending_cpu: SimTime::ZERO,
            epoch: 0,
            reply_to: Entity::PLACEHOLDER,
            wanted_endpoint: None,
            call: None,
            wait: Wait::default(),
            status: RequestStatus::Completed,
            dropped_on: None,
            held_on: Entity::PLACEHOLDER,
            held_since: now,
            phase: Phase::Network,
            phase_since: now,
            spent: [SimTime::ZERO; 7],
            conn: Entity::PLACEHOLDER,
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

    /// The phase it is in now.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Where its time went (closed phases only).
    pub fn breakdown(&self) -> Breakdown {
        Breakdown {
            ram_wait: self.spent(Phase::RamWait),
            cpu_wait: self.spent(Phase::CpuWait),
            cpu: self.spent(Phase::Cpu),
            io: self.spent(Phase::Io),
            call: self.spent(Phase::Call),
            network: self.spent(Phase::Network),
            connect: self.spent(Phase::Connect),
        }
    }

    /// Its row of `spans.parquet` (a call only), ending at `end`.
    pub fn span_record(&self, status: RequestStatus, end: SimTime) -> Option<SpanRecord> {
        let c = self.call?;
        Some(SpanRecord {
            trace_id: c.trace,
            span_id: self.id,
            parent_span_id: c.parent_span,
            caller: c.caller,
            callee: c.callee,
            server: self.server,
            endpoint: self.endpoint_name,
            attempt: c.attempt,
            status,
            dropped_on: self.dropped_on,
            start: self.created,
            end,
            breakdown: self.breakdown(),
        })
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
#[inline]
pub fn spawn(cx: &mut Ctx, request: Request) -> Option<Entity> {
    while let Some(e) = cx.spare.pop() {
        if let Ok(mut r) = cx.requests.get_mut(e) {
            let epoch = r.epoch.wrapping_add(1);
            *r = request;
            r.epoch = epoch;
            return Some(e);
        }
    }
    None
}

/// End a request: account it, hand its record to the sinks, keep its entity for
/// reuse.
///
/// A call that ends here (lost on an edge, no server up behind a load
/// balancer) is a failure for its caller. A caller with a timeout learns of
/// it only by its timeout, as on a real network: the span is written now.
/// One without learns at once: the call goes back to it as a failed reply,
/// delivered at this instant.
///
/// A request held by a tracked edge is released by it, with no response time.
pub fn finish(cx: &mut Ctx, req: Entity, status: RequestStatus, dropped_on: Option<NameId>) {
    let conn = end(cx, req, status, dropped_on);
    if conn != Entity::PLACEHOLDER {
        connection::release_all(cx, conn);
    }
}

/// [`finish`] but for the request's connections: returns the newest one it
/// held (`Entity::PLACEHOLDER`: none), taken off the request.
#[inline]
fn end(cx: &mut Ctx, req: Entity, status: RequestStatus, dropped_on: Option<NameId>) -> Entity {
    let now = cx.now;
    let Ok(mut r) = cx.requests.get_mut(req) else {
        return Entity::PLACEHOLDER;
    };
    let conn = std::mem::replace(&mut r.conn, Entity::PLACEHOLDER);
    r.enter(now, Phase::Network);
    if r.held_on != Entity::PLACEHOLDER {
        // Not a response: the request ended before its target finished it.
        network::release_hold(&mut cx.edges, &mut r, now, false);
    }
    if let Some(c) = r.call {
        r.status = status;
        r.dropped_on = dropped_on;
        if c.deadline == SimTime::MAX {
            r.served = true;
            let to = r.reply_to;
            cx.queue.schedule(
                now,
                Event {
                    kind: EventKind::DELIVER,
                    target: to,
                    request: req,
                    tag: 0,
                    aux: 0,
                },
            );
        } else {
            let span = r.span_record(status, now);
            cx.spare.push(req);
            if let Some(span) = span {
                cx.output.push_span(&span);
            }
        }
        return conn;
    }
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
        connect: r.spent(Phase::Connect),
    };
    // Keep the entity for the next request instead of despawning it: see
    // [`spawn`].
    cx.spare.push(req);
    cx.push_request(&record);
    conn
}

/// End a call whose reply reached its caller: write its span, keep its
/// entity for reuse.
pub fn finish_call(cx: &mut Ctx, req: Entity, status: RequestStatus, end: SimTime) {
    let Ok(mut r) = cx.requests.get_mut(req) else {
        return;
    };
    let conn = std::mem::replace(&mut r.conn, Entity::PLACEHOLDER);
    let span = r.span_record(status, end);
    cx.spare.push(req);
    if let Some(span) = span {
        cx.output.push_span(&span);
    }
    if conn != Entity::PLACEHOLDER {
        connection::release_all(cx, conn);
    }
}
