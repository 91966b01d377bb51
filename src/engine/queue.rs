//! The pending-event set: a monotone priority queue keyed by `(time, seq)`.
//!
//! `seq` is assigned when an event is scheduled, so events at the same instant run
//! in the order they were scheduled (FIFO). That order is part of the determinism
//! contract: it depends only on the scenario and the seed.
//!
//! The structure sits behind [`EventQueue`] so that a faster one can replace the
//! binary heap, chosen by the `queue` benchmark.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use bevy_ecs::resource::Resource;

use super::event::Event;
use super::time::SimTime;

/// A scheduled event with its ordering key.
#[derive(Debug, Clone, Copy)]
struct Entry {
    time: SimTime,
    seq: u64,
    event: Event,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.time == other.time && self.seq == other.seq
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    /// Reversed, so that the max-heap pops the smallest `(time, seq)` first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

/// Pending events in `(time, seq)` order.
#[derive(Resource, Debug, Default)]
pub struct EventQueue {
    heap: BinaryHeap<Entry>,
    next_seq: u64,
    now: SimTime,
}

impl EventQueue {
    /// An empty queue at time zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Schedule `event` at `time`. Scheduling in the past is a logic error; the
    /// event is moved to the current time so the clock never runs backwards.
    #[inline]
    pub fn schedule(&mut self, time: SimTime, event: Event) {
        debug_assert!(time >= self.now, "event scheduled in the past");
        let time = time.max(self.now);
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Entry { time, seq, event });
    }

    /// Pop the next event if it is due strictly before `limit`, advancing the clock.
    #[inline]
    pub fn pop_before(&mut self, limit: SimTime) -> Option<(SimTime, Event)> {
        if self.heap.peek()?.time >= limit {
            return None;
        }
        let e = self.heap.pop()?;
        self.now = e.time;
        Some((e.time, e.event))
    }

    /// Time of the next event, if any.
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|e| e.time)
    }

    /// Move the clock to `t` (a sync point) without popping anything.
    pub fn advance_to(&mut self, t: SimTime) {
        self.now = self.now.max(t);
    }

    /// Current time: that of the last popped event or sync point.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::event::{Event, EventKind};
    use bevy_ecs::entity::Entity;
    use proptest::prelude::*;

    fn ev(tag: u32) -> Event {
        Event {
            kind: EventKind::EdgeArrive,
            target: Entity::PLACEHOLDER,
            request: Entity::PLACEHOLDER,
            tag,
        }
    }

    #[test]
    fn equal_times_pop_in_scheduling_order() {
        let mut q = EventQueue::new();
        for tag in 0..5 {
            q.schedule(SimTime(10), ev(tag));
        }
        q.schedule(SimTime(5), ev(99));
        let order: Vec<u32> = std::iter::from_fn(|| q.pop_before(SimTime::MAX))
            .map(|(_, e)| e.tag)
            .collect();
        assert_eq!(order, vec![99, 0, 1, 2, 3, 4]);
    }

    #[test]
    fn pop_before_respects_the_limit() {
        let mut q = EventQueue::new();
        q.schedule(SimTime(10), ev(1));
        assert!(q.pop_before(SimTime(10)).is_none());
        assert_eq!(q.pop_before(SimTime(11)).map(|(t, _)| t), Some(SimTime(10)));
    }

    proptest! {
        /// Whatever the insertion order, pops come out sorted by (time, insertion).
        #[test]
        fn pops_are_sorted_by_time_then_insertion(times in prop::collection::vec(0u64..50, 0..300)) {
            let mut q = EventQueue::new();
            for (i, &t) in times.iter().enumerate() {
                q.schedule(SimTime(t), ev(i as u32));
            }
            let mut expected: Vec<(u64, u32)> =
                times.iter().enumerate().map(|(i, &t)| (t, i as u32)).collect();
            expected.sort();
            let got: Vec<(u64, u32)> = std::iter::from_fn(|| q.pop_before(SimTime::MAX))
                .map(|(t, e)| (t.0, e.tag))
                .collect();
            prop_assert_eq!(got, expected);
        }
    }
}
