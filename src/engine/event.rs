//! Events: small plain values naming what happens to which entities.

use bevy_ecs::entity::Entity;

/// What an event does when it is dispatched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A generator opens a new user-sampling window (`target` = generator).
    WindowStart,
    /// A generator emits a request (`target` = generator).
    Generate,
    /// A request reaches the end of an edge (`target` = edge).
    EdgeArrive,
    /// A request finishes a CPU step (`target` = server).
    CpuDone,
    /// A request finishes an I/O step (`target` = server).
    IoDone,
}

impl EventKind {
    /// Every kind, in a fixed order (used for per-kind counters).
    pub const ALL: [EventKind; 5] = [
        EventKind::WindowStart,
        EventKind::Generate,
        EventKind::EdgeArrive,
        EventKind::CpuDone,
        EventKind::IoDone,
    ];

    /// Stable name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::WindowStart => "window_start",
            EventKind::Generate => "generate",
            EventKind::EdgeArrive => "edge_arrive",
            EventKind::CpuDone => "cpu_done",
            EventKind::IoDone => "io_done",
        }
    }
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
    /// A spare word (used by tests to tag events).
    pub tag: u32,
}
