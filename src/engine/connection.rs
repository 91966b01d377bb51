//! Sockets and connections (`EXTENSIONS.md`, "Sockets and connections").
//!
//! A node that declares `sockets` carries a [`Sockets`] component: how many
//! sockets it may hold, its accept backlog, what a socket costs in RAM, and
//! its gauges. An edge whose requests need a connection carries an
//! [`EdgeConn`]: its mode (`per_request` or a `keep_alive` pool), the
//! handshake's round trips, the pool and its FIFO of waiting requests.
//! Connections are entities with a [`Connection`] component, taken from
//! [`ConnPool`] and returned to it when they close, like requests, so memory
//! stays flat in run length.
//!
//! A request sent on such an edge (not a reply: a reply rides the connection
//! its request came on) gets a connection first:
//!
//! 1. keep-alive: an idle connection of the pool (the most recently used), or
//!    a new one while the pool has fewer than `pool_size`, or a place in the
//!    pool's FIFO queue; per-request: a new one.
//! 2. Opening takes a socket at the source (when it declares `sockets`; none
//!    free: `refused` at the source), then the SYN travels one latency draw to
//!    the target, which accepts it with a free socket and enough RAM, queues it
//!    in its accept backlog when every socket is open and the backlog has
//!    room, and refuses it otherwise (`refused`, the target named in
//!    `dropped_on`). An accepted connection is ready after the rest of the
//!    handshake: `2 × (handshake_rtts + tls_rtts) − 1` more latency draws, from
//!    the edge's own connection stream (so the requests' own latency draws are
//!    the same with and without connections).
//! 3. The request then crosses the edge as usual. The connection joins the
//!    request's chain ([`Request::conn`], linked through [`Connection::next`]):
//!    a load balancer's downstream and upstream connections are both held
//!    until the reply reaches the caller, when the request ends
//!    ([`release_all`], called by [`request::finish`] and
//!    [`request::finish_call`]). Then a per-request connection closes and a
//!    keep-alive one goes to the pool's first waiter, or idles until
//!    `idle_timeout_s`.
//!
//! A socket's RAM comes out of its server's `ram_mb`: the server reads the
//! socket RAM of its node when it admits requests, mirrors its requests' RAM
//! here ([`Sockets::other_ram_mb`]) so a socket cannot take RAM a request
//! holds, and is told by a `poke` event when socket RAM changes.

use std::collections::VecDeque;

use bevy_ecs::prelude::*;
use rand_pcg::Pcg64;

use super::dispatch::Ctx;
use super::event::{Event, EventKind};
use super::network;
use super::request::{self, Phase};
use super::time::SimTime;
use crate::metrics::gauge::{Gauge, GaugeReading};
use crate::metrics::record::{ConnectionRecord, EntityKind, NameId, RequestStatus, SampleRecord};
use crate::metrics::summary::{ConnectionSummary, SocketSummary};
use crate::scenario::rv::Sampler;
use crate::scenario::schema::SampleMetric;

/// A node's sockets.
#[derive(Component, Debug, Clone)]
pub struct Sockets {
    /// Node id.
    pub name: NameId,
    /// What the node is (the `entity_kind` of its samples).
    pub entity_kind: EntityKind,
    /// Most sockets open at once (`u32::MAX`: unlimited).
    pub max: u32,
    /// Room of the accept backlog.
    pub backlog_cap: u32,
    /// MB each open socket holds.
    pub per_conn_mb: f64,
    /// RAM of the node in MB (infinite for a load balancer).
    pub ram_cap_mb: f64,
    /// Whether the node's kind wants a `poke` when socket RAM changes (a
    /// server whose requests share the RAM).
    pub poke: bool,
    /// A poke is scheduled and not yet handled.
    pub poke_pending: bool,
    /// Sockets open now.
    pub open: u32,
    /// MB held by open sockets.
    pub socket_ram_mb: f64,
    /// MB held by the node's requests (mirrored by its kind).
    pub other_ram_mb: f64,
    /// Connections waiting to be accepted, oldest first.
    pub backlog: VecDeque<Entity>,
    /// Connections accepted.
    pub accepted: u64,
    /// Connections refused (no socket, no RAM, full backlog).
    pub refused: u64,
    /// Gauge of open sockets.
    pub g_open: Gauge,
    /// Gauge of socket RAM.
    pub g_ram: Gauge,
    /// Gauge of the accept backlog's length.
    pub g_backlog: Gauge,
}

/// Why a socket could not be reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reserve {
    Ok,
    /// Every socket is open.
    Full,
    /// The RAM of one more socket is not free.
    NoRam,
}

impl Sockets {
    /// Sockets of a node named `name` with these limits.
    pub fn new(
        name: NameId,
        entity_kind: EntityKind,
        (max, backlog_cap, per_conn_mb): (u32, u32, f64),
        ram_cap_mb: f64,
        poke: bool,
    ) -> Self {
        Sockets {
            name,
            entity_kind,
            max,
            backlog_cap,
            per_conn_mb,
            ram_cap_mb,
            poke: poke && per_conn_mb > 0.0,
            poke_pending: false,
            open: 0,
            socket_ram_mb: 0.0,
            other_ram_mb: 0.0,
            backlog: VecDeque::new(),
            accepted: 0,
            refused: 0,
            g_open: Gauge::new(),
            g_ram: Gauge::new(),
            g_backlog: Gauge::new(),
        }
    }

    fn reserve(&mut self, now: SimTime) -> Reserve {
        if self.open >= self.max {
            return Reserve::Full;
        }
        if self.per_conn_mb > 0.0
            && self.socket_ram_mb + self.per_conn_mb + self.other_ram_mb > self.ram_cap_mb
        {
            return Reserve::NoRam;
        }
        self.open += 1;
        self.socket_ram_mb += self.per_conn_mb;
        self.g_open.set(now, f64::from(self.open));
        self.g_ram.set(now, self.socket_ram_mb);
        Reserve::Ok
    }

    fn release(&mut self, now: SimTime) {
        self.open = self.open.saturating_sub(1);
        self.socket_ram_mb = if self.open == 0 {
            0.0
        } else {
            (self.socket_ram_mb - self.per_conn_mb).max(0.0)
        };
        self.g_open.set(now, f64::from(self.open));
        self.g_ram.set(now, self.socket_ram_mb);
    }
}

/// The connection model of an edge.
#[derive(Component, Debug, Clone)]
pub struct EdgeConn {
    /// Edge id.
    pub name: NameId,
    /// A keep-alive pool (else one connection per request).
    pub keep_alive: bool,
    /// Most connections of the pool (`u32::MAX`: unlimited).
    pub pool_size: u32,
    /// How long an idle keep-alive connection stays open.
    pub idle_timeout: SimTime,
    /// Round trips of a handshake (TCP + TLS).
    pub rtts: u32,
    /// The source node (it holds a socket when it has [`Sockets`]).
    pub src: Entity,
    /// The target node.
    pub dst: Entity,
    /// The edge's latency (for the handshake's trips).
    pub latency: Sampler,
    /// The handshake's own random stream.
    pub rng: Pcg64,
    /// Connections open (including those opening or in a backlog).
    pub open: u32,
    /// Idle keep-alive connections, most recently used last.
    pub idle: Vec<Entity>,
    /// Requests waiting for a pooled connection, oldest first.
    pub waiters: VecDeque<Entity>,
    /// Connections opened.
    pub opened: u64,
    /// Requests that took an already open connection.
    pub reused: u64,
    /// Requests refused on it.
    pub refused: u64,
    /// Connections closed after carrying requests.
    pub closed: u64,
    /// Sum of their lifetimes (open to close).
    pub lifetime_sum: SimTime,
    /// Requests they carried.
    pub carried: u64,
    /// Gauge of open connections.
    pub g_open: Gauge,
    /// Gauge of idle connections.
    pub g_idle: Gauge,
}

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConnState {
    /// Not in use (in [`ConnPool`]).
    #[default]
    Free,
    /// Handshake under way (the SYN in transit, or accepted and finishing).
    Opening,
    /// Waiting in the target's accept backlog.
    Backlog,
    /// Carrying a request.
    Active,
    /// Open, in its keep-alive pool.
    Idle,
}

/// A connection: one socket at each end that declares `sockets`.
#[derive(Component, Debug, Clone)]
pub struct Connection {
    /// Its edge.
    pub edge: Entity,
    /// Its state.
    pub state: ConnState,
    /// Whether the target holds a socket for it (accepted).
    pub accepted: bool,
    /// When it was opened.
    pub opened: SimTime,
    /// Requests it carried.
    pub requests: u32,
    /// The connection its request held before this one (the chain).
    pub next: Entity,
    /// Bumped when the entity carries a new connection (a stale idle
    /// timeout compares it).
    pub generation: u32,
    /// When it last went idle.
    pub idle_since: SimTime,
    /// Whether an idle timeout of it is pending (at most one is: a
    /// connection reused and idle again is checked when that one fires).
    pub timer: bool,
    /// The request it is being opened for.
    pub pending: Entity,
}

/// Connection entities ready for reuse.
#[derive(Resource, Debug, Default)]
pub struct ConnPool {
    /// Entities not carrying a connection.
    pub spare: Vec<Entity>,
    /// Connection entities spawned so far.
    pub spawned: usize,
    /// Whether the scenario has connections at all (otherwise the pool stays
    /// empty and is never refilled).
    pub enabled: bool,
}

impl ConnPool {
    /// Spawn more connection entities, like [`super::dispatch::RequestPool`].
    pub(crate) fn refill(world: &mut World) {
        let n = {
            let pool = world.resource::<ConnPool>();
            1024usize.max(pool.spawned / 8)
        };
        let fresh: Vec<Entity> = world
            .spawn_batch((0..n).map(|_| Connection {
                edge: Entity::PLACEHOLDER,
                state: ConnState::Free,
                accepted: false,
                opened: SimTime::ZERO,
                requests: 0,
                next: Entity::PLACEHOLDER,
                generation: 0,
                idle_since: SimTime::ZERO,
                timer: false,
                pending: Entity::PLACEHOLDER,
            }))
            .collect();
        let mut pool = world.resource_mut::<ConnPool>();
        pool.spawned += n;
        pool.spare.extend(fresh.into_iter().rev());
    }
}

/// The nodes with sockets and the edges with connections, in declaration
/// order (for sampling and the summary).
#[derive(Resource, Debug, Clone, Default)]
pub struct ConnList {
    /// Nodes with [`Sockets`].
    pub nodes: Vec<Entity>,
    /// Edges with [`EdgeConn`].
    pub edges: Vec<Entity>,
}

/// Send `req` on `edge`, which has a connection model: get it a connection
/// first (see the module docs). Replies never come here.
pub(crate) fn send(cx: &mut Ctx, edge: Entity, req: Entity) {
    let now = cx.now;
    let Ok(mut ec) = cx.edge_conns.get_mut(edge) else {
        network::transmit(cx, edge, req);
        return;
    };
    if ec.keep_alive {
        if let Some(c) = ec.idle.pop() {
            ec.reused += 1;
            let idle = ec.idle.len() as f64;
            ec.g_idle.set(now, idle);
            carry(cx, c, req);
            return;
        }
        if ec.open >= ec.pool_size {
            ec.waiters.push_back(req);
            if let Ok(mut r) = cx.requests.get_mut(req) {
                r.enter(now, Phase::Connect);
            }
            return;
        }
    }
    open(cx, edge, req);
}

/// Put `req` on open connection `c` and send it.
fn carry(cx: &mut Ctx, c: Entity, req: Entity) {
    let now = cx.now;
    let Ok(mut conn) = cx.conns.get_mut(c) else {
        return;
    };
    let edge = conn.edge;
    conn.state = ConnState::Active;
    conn.requests += 1;
    if let Ok(mut r) = cx.requests.get_mut(req) {
        conn.next = r.conn;
        r.conn = c;
        r.enter(now, Phase::Network);
    }
    network::transmit(cx, edge, req);
}

/// Open a connection on `edge` for `req`.
fn open(cx: &mut Ctx, edge: Entity, req: Entity) {
    let now = cx.now;
    let Ok(ec) = cx.edge_conns.get(edge) else {
        return;
    };
    let (src, rtts) = (ec.src, ec.rtts);
    let refused_by = match cx.sockets.get_mut(src) {
        Ok(mut s) => (s.reserve(now) != Reserve::Ok).then(|| {
            s.refused += 1;
            s.name
        }),
        Err(_) => None,
    };
    if let Some(name) = refused_by {
        if let Ok(mut ec) = cx.edge_conns.get_mut(edge) {
            ec.refused += 1;
        }
        request::finish(cx, req, RequestStatus::Refused, Some(name));
        return;
    }
    poke(cx, src);
    let Some(c) = cx.conn_spare.pop() else {
        return;
    };
    if let Ok(mut conn) = cx.conns.get_mut(c) {
        let generation = conn.generation.wrapping_add(1);
        *conn = Connection {
            edge,
            state: ConnState::Opening,
            accepted: false,
            opened: now,
            requests: 0,
            next: Entity::PLACEHOLDER,
            generation,
            idle_since: now,
            timer: false,
            pending: req,
        };
    }
    let mut d1 = SimTime::ZERO;
    if let Ok(mut ec) = cx.edge_conns.get_mut(edge) {
        ec.open += 1;
        ec.opened += 1;
        let open = f64::from(ec.open);
        ec.g_open.set(now, open);
        if rtts > 0 {
            let ec = &mut *ec;
            d1 = SimTime::from_secs_f64(ec.latency.sample(&mut ec.rng));
        }
    }
    if let Ok(mut r) = cx.requests.get_mut(req) {
        r.enter(now, Phase::Connect);
    }
    if rtts == 0 {
        syn_arrives(cx, c);
    } else {
        schedule(cx, now + d1, EventKind::CONN_SYN, c, req, 0);
    }
}

fn schedule(cx: &mut Ctx, at: SimTime, kind: EventKind, c: Entity, req: Entity, tag: u32) {
    cx.queue.schedule(
        at,
        Event {
            kind,
            target: c,
            request: req,
            tag,
            aux: 0,
        },
    );
}

/// Schedule a `poke` of `node` if its kind wants one and none is pending.
fn poke(cx: &mut Ctx, node: Entity) {
    let Ok(mut s) = cx.sockets.get_mut(node) else {
        return;
    };
    if !s.poke || s.poke_pending {
        return;
    }
    s.poke_pending = true;
    let now = cx.now;
    cx.queue.schedule(
        now,
        Event {
            kind: EventKind::POKE,
            target: node,
            request: Entity::PLACEHOLDER,
            tag: 0,
            aux: 0,
        },
    );
}

/// The SYN of connection `ev.target` reaches the target.
pub(crate) fn on_syn(cx: &mut Ctx, ev: Event) {
    syn_arrives(cx, ev.target);
}

fn syn_arrives(cx: &mut Ctx, c: Entity) {
    let now = cx.now;
    let Ok(conn) = cx.conns.get(c) else {
        return;
    };
    let edge = conn.edge;
    let Ok(ec) = cx.edge_conns.get(edge) else {
        return;
    };
    let dst = ec.dst;
    if let Ok(mut s) = cx.sockets.get_mut(dst) {
        match s.reserve(now) {
            Reserve::Ok => s.accepted += 1,
            Reserve::Full if (s.backlog.len() as u64) < u64::from(s.backlog_cap) => {
                s.backlog.push_back(c);
                let len = s.backlog.len() as f64;
                s.g_backlog.set(now, len);
                if let Ok(mut conn) = cx.conns.get_mut(c) {
                    conn.state = ConnState::Backlog;
                }
                return;
            }
            Reserve::Full | Reserve::NoRam => {
                s.refused += 1;
                let name = s.name;
                refuse(cx, c, name);
                return;
            }
        }
        poke(cx, dst);
    }
    accepted(cx, c);
}

/// Connection `c` has its target's socket: finish the handshake.
fn accepted(cx: &mut Ctx, c: Entity) {
    let now = cx.now;
    let Ok(mut conn) = cx.conns.get_mut(c) else {
        return;
    };
    conn.accepted = true;
    conn.state = ConnState::Opening;
    let (edge, req) = (conn.edge, conn.pending);
    let mut rest = SimTime::ZERO;
    if let Ok(mut ec) = cx.edge_conns.get_mut(edge) {
        let ec = &mut *ec;
        for _ in 1..(2 * ec.rtts) {
            rest += SimTime::from_secs_f64(ec.latency.sample(&mut ec.rng));
        }
    }
    schedule(cx, now + rest, EventKind::CONN_READY, c, req, 0);
}

/// The handshake of connection `ev.target` is done: send its request.
pub(crate) fn on_ready(cx: &mut Ctx, ev: Event) {
    carry(cx, ev.target, ev.request);
}

/// Refuse connection `c` (`by` names the node): give back the source's
/// socket, end its request `refused`.
fn refuse(cx: &mut Ctx, c: Entity, by: NameId) {
    let Ok(conn) = cx.conns.get(c) else {
        return;
    };
    let (edge, req) = (conn.edge, conn.pending);
    if let Ok(mut ec) = cx.edge_conns.get_mut(edge) {
        ec.refused += 1;
    }
    close(cx, c, false);
    request::finish(cx, req, RequestStatus::Refused, Some(by));
}

/// The request holding the chain starting at `head` ended: release every
/// connection of it. Out of line: scenarios without connections never call
/// it.
#[cold]
#[inline(never)]
pub(crate) fn release_all(cx: &mut Ctx, mut head: Entity) {
    while head != Entity::PLACEHOLDER {
        let Ok(conn) = cx.conns.get(head) else {
            return;
        };
        let next = conn.next;
        done(cx, head);
        head = next;
    }
}

/// Connection `c`'s request is over: close it, or hand it to the pool's next
/// waiter, or let it idle.
fn done(cx: &mut Ctx, c: Entity) {
    let now = cx.now;
    let Ok(conn) = cx.conns.get(c) else {
        return;
    };
    let edge = conn.edge;
    let Ok(mut ec) = cx.edge_conns.get_mut(edge) else {
        return;
    };
    if !ec.keep_alive {
        close(cx, c, true);
        return;
    }
    if let Some(w) = ec.waiters.pop_front() {
        ec.reused += 1;
        carry(cx, c, w);
        return;
    }
    ec.idle.push(c);
    let idle = ec.idle.len() as f64;
    ec.g_idle.set(now, idle);
    let at = now + ec.idle_timeout;
    if let Ok(mut conn) = cx.conns.get_mut(c) {
        conn.state = ConnState::Idle;
        conn.next = Entity::PLACEHOLDER;
        conn.idle_since = now;
        if !conn.timer {
            conn.timer = true;
            let generation = conn.generation;
            schedule(
                cx,
                at,
                EventKind::CONN_IDLE,
                c,
                Entity::PLACEHOLDER,
                generation,
            );
        }
    }
}

/// An idle timeout of connection `ev.target`: close it if it has been idle
/// for `idle_timeout_s` since it last went idle; if it went idle again
/// later, check again then.
pub(crate) fn on_idle(cx: &mut Ctx, ev: Event) {
    let now = cx.now;
    let c = ev.target;
    let Ok(mut conn) = cx.conns.get_mut(c) else {
        return;
    };
    if conn.generation != ev.tag || !conn.timer {
        return;
    }
    conn.timer = false;
    if conn.state != ConnState::Idle {
        return;
    }
    let (edge, since) = (conn.edge, conn.idle_since);
    let Ok(ec) = cx.edge_conns.get(edge) else {
        return;
    };
    let due = since + ec.idle_timeout;
    if due > now {
        if let Ok(mut conn) = cx.conns.get_mut(c) {
            conn.timer = true;
        }
        schedule(
            cx,
            due,
            EventKind::CONN_IDLE,
            c,
            Entity::PLACEHOLDER,
            ev.tag,
        );
        return;
    }
    let edge = conn.edge;
    if let Ok(mut ec) = cx.edge_conns.get_mut(edge) {
        if let Some(i) = ec.idle.iter().position(|&x| x == c) {
            ec.idle.remove(i);
        }
        let idle = ec.idle.len() as f64;
        ec.g_idle.set(now, idle);
    }
    close(cx, c, true);
}

/// Close connection `c`: give back its sockets (the target's goes to the
/// head of its backlog), count its lifetime and write its row of
/// `connections.parquet` (`record`: it carried requests), return the entity; a keep-alive
/// pool with waiters opens a connection for the first of them.
fn close(cx: &mut Ctx, c: Entity, record: bool) {
    let now = cx.now;
    let Ok(mut conn) = cx.conns.get_mut(c) else {
        return;
    };
    let (edge, accepted, opened, carried) = (conn.edge, conn.accepted, conn.opened, conn.requests);
    conn.state = ConnState::Free;
    conn.next = Entity::PLACEHOLDER;
    let Ok(mut ec) = cx.edge_conns.get_mut(edge) else {
        return;
    };
    ec.open = ec.open.saturating_sub(1);
    let n = f64::from(ec.open);
    ec.g_open.set(now, n);
    let (src, dst) = (ec.src, ec.dst);
    let wake = ec.keep_alive && ec.open < ec.pool_size && !ec.waiters.is_empty();
    if let Ok(mut s) = cx.sockets.get_mut(src) {
        s.release(now);
        poke(cx, src);
    }
    if accepted {
        socket_freed(cx, dst);
    }
    if record && let Ok(mut ec) = cx.edge_conns.get_mut(edge) {
        ec.closed += 1;
        ec.lifetime_sum += now - opened;
        ec.carried += u64::from(carried);
        let edge = ec.name;
        cx.output.push_connection(&ConnectionRecord {
            edge,
            opened,
            closed: now,
            requests: carried,
        });
    }
    cx.conn_spare.push(c);
    if wake
        && let Ok(mut ec) = cx.edge_conns.get_mut(edge)
        && let Some(w) = ec.waiters.pop_front()
    {
        open(cx, edge, w);
    }
}

/// A socket of `node` closed: the head of its backlog takes it.
fn socket_freed(cx: &mut Ctx, node: Entity) {
    let now = cx.now;
    if let Ok(mut s) = cx.sockets.get_mut(node) {
        s.release(now);
    }
    loop {
        let Ok(mut s) = cx.sockets.get_mut(node) else {
            return;
        };
        let Some(next) = s.backlog.pop_front() else {
            break;
        };
        let len = s.backlog.len() as f64;
        s.g_backlog.set(now, len);
        if s.reserve(now) == Reserve::Ok {
            s.accepted += 1;
            poke(cx, node);
            accepted(cx, next);
            return;
        }
        s.refused += 1;
        let name = s.name;
        refuse(cx, next, name);
    }
    poke(cx, node);
}

/// The socket RAM of `node` now (0 when it has no sockets): what a kind
/// reads when it admits requests. `poked`: the kind is handling the poke
/// that told of a change (the next change schedules a new one).
pub fn socket_ram_mb(cx: &mut Ctx, node: Entity, poked: bool) -> f64 {
    cx.sockets.get_mut(node).map_or(0.0, |mut s| {
        if poked {
            s.poke_pending = false;
        }
        s.socket_ram_mb
    })
}

/// Tell the sockets of `node` how much RAM its requests hold.
pub fn set_request_ram_mb(cx: &mut Ctx, node: Entity, mb: f64) {
    if let Ok(mut s) = cx.sockets.get_mut(node) {
        s.other_ram_mb = mb;
    }
}

/// Batch system: sample the socket gauges of every node with sockets and
/// the connection gauges of every edge with connections at a tick.
pub(crate) fn sample(
    clock: Res<super::run::Clock>,
    topo: Res<super::world::Topology>,
    list: Option<Res<ConnList>>,
    mut nodes: Query<&mut Sockets>,
    mut edges: Query<&mut EdgeConn>,
    mut output: ResMut<super::output::Output>,
) {
    let Some(list) = list else {
        return;
    };
    if !clock.tick {
        return;
    }
    let t = clock.now;
    let mut push = |kind: EntityKind, entity: NameId, metric: SampleMetric, r: GaugeReading| {
        if topo.samples(metric) {
            output.push_sample(&SampleRecord {
                t,
                entity_kind: kind,
                entity,
                metric,
                value: r.value,
                mean: r.mean,
                max: r.max,
            });
        }
    };
    for &e in &list.nodes {
        let Ok(mut s) = nodes.get_mut(e) else {
            continue;
        };
        let s = &mut *s;
        push(
            s.entity_kind,
            s.name,
            SampleMetric::OpenSockets,
            s.g_open.tick(t),
        );
        push(
            s.entity_kind,
            s.name,
            SampleMetric::SocketRamMb,
            s.g_ram.tick(t),
        );
        let b = s.g_backlog.tick(t);
        push(s.entity_kind, s.name, SampleMetric::AcceptBacklogLen, b);
    }
    for &e in &list.edges {
        let Ok(mut c) = edges.get_mut(e) else {
            continue;
        };
        let c = &mut *c;
        push(
            EntityKind::Edge,
            c.name,
            SampleMetric::ConnectionsOpen,
            c.g_open.tick(t),
        );
        push(
            EntityKind::Edge,
            c.name,
            SampleMetric::ConnectionsIdle,
            c.g_idle.tick(t),
        );
    }
}

/// Add the socket and connection rows to the summary.
pub(crate) fn summarize(
    world: &World,
    topo: &super::world::Topology,
    until: SimTime,
    out: &mut super::run::ResultsSection,
) {
    let Some(list) = world.get_resource::<ConnList>() else {
        return;
    };
    for &e in &list.nodes {
        let Some(s) = world.get::<Sockets>(e) else {
            continue;
        };
        out.sockets.push(SocketSummary {
            id: topo.names.get(s.name).to_owned(),
            kind: s.entity_kind.as_str().to_owned(),
            max: (s.max != u32::MAX).then_some(s.max),
            open_mean: s.g_open.run_mean(until),
            open_max: s.g_open.run_max(),
            socket_ram_mean_mb: s.g_ram.run_mean(until),
            socket_ram_max_mb: s.g_ram.run_max(),
            backlog_mean: s.g_backlog.run_mean(until),
            backlog_max: s.g_backlog.run_max(),
            accepted: s.accepted,
            refused: s.refused,
        });
    }
    for &e in &list.edges {
        let Some(c) = world.get::<EdgeConn>(e) else {
            continue;
        };
        out.connections.push(ConnectionSummary {
            id: topo.names.get(c.name).to_owned(),
            mode: if c.keep_alive {
                "keep_alive"
            } else {
                "per_request"
            }
            .to_owned(),
            opened: c.opened,
            reused: c.reused,
            refused: c.refused,
            open_mean: c.g_open.run_mean(until),
            open_max: c.g_open.run_max(),
            idle_mean: c.g_idle.run_mean(until),
            closed: c.closed,
            lifetime_mean_s: if c.closed > 0 {
                c.lifetime_sum.as_secs_f64() / c.closed as f64
            } else {
                0.0
            },
            requests_per_connection: if c.closed > 0 {
                c.carried as f64 / c.closed as f64
            } else {
                0.0
            },
        });
    }
}
