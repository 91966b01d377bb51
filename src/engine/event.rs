//! Events: small plain values naming what happens to which entities.
//!
//! The event kind is a dense number: the engine's own kinds first
//! ([`EventKind::CORE`]), then each registered node kind's events in
//! registration order (see [`crate::engine::node::Registry`]). The engine
//! knows only its own; a node kind knows its own through its
//! [`EventBase`](crate::engine::node::EventBase).

use bevy_ecs::entity::Entity;

/// What an event does when it is dispatched: an index into the registry's
/// event table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventKind(pub u16);

impl EventKind {
    /// A request reaches the end of an edge (`target` = edge).
    pub const EDGE_ARRIVE: EventKind = EventKind(0);
    /// A request is handed to a node without crossing an edge (`target` =
    /// node): a lost call going back to a caller that has no timeout.
    pub const DELIVER: EventKind = EventKind(1);

    /// A connection's SYN reaches its target (`target` = connection).
    pub const CONN_SYN: EventKind = EventKind(2);
    /// A connection's handshake is done (`target` = connection).
    pub const CONN_READY: EventKind = EventKind(3);
    /// An idle keep-alive connection times out (`target` = connection,
    /// `tag` = its idle generation).
    pub const CONN_IDLE: EventKind = EventKind(4);
    /// The socket RAM of a node changed (`target` = node): its kind
    /// re-checks what waits for RAM.
    pub const POKE: EventKind = EventKind(5);

    /// Names of the engine's own event kinds, by number.
    pub const CORE: [&'static str; 6] = [
        "edge_arrive",
        "deliver",
        "conn_syn",
        "conn_ready",
        "conn_idle",
        "poke",
    ];
}

/// A scheduled occurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// What happens.
    pub kind: EventKind,
    /// The node or edge it happens at.
    pub target: Entity,
    /// The request concerned (`Entity::PLACEHOLDER` for generator events).
    pub request: Entity,
    /// A spare word (a wait's id; tags in tests).
    pub tag: u32,
    /// A second spare word (a call's index in its wait).
    pub aux: u16,
}
