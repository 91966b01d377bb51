//! The pending-event set: a monotone priority queue keyed by `(time, seq)`.
//!
//! `seq` is the scheduling order, so events at the same instant run in the order
//! they were scheduled (FIFO). That order is part of the determinism contract: it
//! depends only on the scenario and the seed.
//!
//! Three structures implement [`Pending`]; [`EventQueue`] uses the timing
//! wheel, which the engine profile and the `queue` benchmark found fastest (see
//! `docs/performance.md`); the other two are references for the property tests:
//!
//! - [`HeapQueue`]: a binary heap on `(time, seq)`, the simple reference;
//! - [`RadixQueue`]: a radix heap. Event times never go below the time of the
//!   last popped event (a discrete-event clock is monotone), so each pending event
//!   can sit in the bucket named by the highest bit in which its time differs
//!   from that last time: pushing is O(1) and each event is moved between
//!   buckets at most 64 times over its life. Buckets keep insertion order, which
//!   gives FIFO among equal times without storing `seq` at all. Its cost is the
//!   moves: an event 12 ms ahead of a clock advancing by ~14 µs per event is
//!   moved about ten times;
//! - [`WheelQueue`]: the same idea in base 4096 over 8.2 µs slots (a
//!   hierarchical timing wheel): an event less than 33.5 ms ahead is filed once
//!   and never moved.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use bevy_ecs::resource::Resource;

use super::event::Event;
use super::time::SimTime;

/// A monotone pending-event set with FIFO order among equal times.
pub trait Pending: Default {
    /// Add `event` at `time`; `time` is never below the last popped time.
    fn push(&mut self, time: SimTime, event: Event);
    /// Remove and return the earliest event if its time is strictly below `limit`.
    fn pop_before(&mut self, limit: SimTime) -> Option<(SimTime, Event)>;
    /// Number of pending events.
    fn len(&self) -> usize;
    /// Whether nothing is pending.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

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

/// Binary heap on `(time, seq)`.
#[derive(Debug, Default)]
pub struct HeapQueue {
    heap: BinaryHeap<Entry>,
    next_seq: u64,
}

impl Pending for HeapQueue {
    #[inline]
    fn push(&mut self, time: SimTime, event: Event) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Entry { time, seq, event });
    }

    #[inline]
    fn pop_before(&mut self, limit: SimTime) -> Option<(SimTime, Event)> {
        if self.heap.peek()?.time >= limit {
            return None;
        }
        self.heap.pop().map(|e| (e.time, e.event))
    }

    fn len(&self) -> usize {
        self.heap.len()
    }
}

/// Radix heap over nanosecond times (see the module docs).
#[derive(Debug)]
pub struct RadixQueue {
    /// Bucket 0 holds events at exactly `last`; bucket `b >= 1` those whose time
    /// differs from `last` first at bit `b - 1`.
    buckets: Vec<Vec<(SimTime, Event)>>,
    /// Bucket 0 is consumed from the front: index of its next event.
    head: usize,
    last: u64,
    len: usize,
}

impl Default for RadixQueue {
    fn default() -> Self {
        RadixQueue {
            buckets: (0..=64).map(|_| Vec::new()).collect(),
            head: 0,
            last: 0,
            len: 0,
        }
    }
}

impl RadixQueue {
    #[inline]
    fn bucket_of(&self, time: u64) -> usize {
        (u64::BITS - (time ^ self.last).leading_zeros()) as usize
    }
}

impl Pending for RadixQueue {
    #[inline]
    fn push(&mut self, time: SimTime, event: Event) {
        debug_assert!(
            time.0 >= self.last,
            "event scheduled before the last popped time"
        );
        let time = SimTime(time.0.max(self.last));
        let b = self.bucket_of(time.0);
        self.buckets[b].push((time, event));
        self.len += 1;
    }

    #[inline]
    fn pop_before(&mut self, limit: SimTime) -> Option<(SimTime, Event)> {
        if self.head == self.buckets[0].len() {
            self.buckets[0].clear();
            self.head = 0;
            // The first non-empty bucket holds the minimum; make it the new
            // `last` and spread that bucket over the lower ones, in order.
            let b = (1..self.buckets.len()).find(|&b| !self.buckets[b].is_empty())?;
            let min = self.buckets[b].iter().map(|(t, _)| t.0).min()?;
            if min >= limit.0 {
                return None;
            }
            self.last = min;
            let mut moving = std::mem::take(&mut self.buckets[b]);
            for &(t, e) in &moving {
                let nb = self.bucket_of(t.0);
                self.buckets[nb].push((t, e));
            }
            moving.clear();
            self.buckets[b] = moving;
        } else if self.last >= limit.0 {
            return None;
        }
        let item = self.buckets[0][self.head];
        self.head += 1;
        self.len -= 1;
        Some(item)
    }

    fn len(&self) -> usize {
        self.len
    }
}

/// Width of a level-0 wheel slot: 2^13 ns (8.2 µs).
const SLOT_BITS: u32 = 13;
/// Bits of the slot index each wheel level resolves.
const DIGIT_BITS: u32 = 12;
/// Slots per level.
const SLOTS: usize = 1 << DIGIT_BITS;
/// Levels: 13 + 5 × 12 bits cover every u64 time.
const LEVELS: usize = 5;
/// Largest buffer a drained higher-level slot keeps.
const KEPT_CAPACITY: usize = 16;

/// One level of [`WheelQueue`]: a slot per digit value and a bitmap of the
/// non-empty ones.
#[derive(Debug)]
struct WheelLevel {
    slots: Box<[Vec<(SimTime, Event)>]>,
    bits: [u64; SLOTS / 64],
}

impl WheelLevel {
    fn new() -> Self {
        WheelLevel {
            slots: (0..SLOTS).map(|_| Vec::new()).collect(),
            bits: [0; SLOTS / 64],
        }
    }

    /// First non-empty slot with index >= `from`.
    #[inline]
    fn next_set(&self, from: usize) -> Option<usize> {
        if from >= SLOTS {
            return None;
        }
        let mut w = from / 64;
        let mut word = self.bits[w] & (u64::MAX << (from % 64));
        loop {
            if word != 0 {
                return Some(w * 64 + word.trailing_zeros() as usize);
            }
            w += 1;
            if w == self.bits.len() {
                return None;
            }
            word = self.bits[w];
        }
    }
}

/// Sort a slot's events by time, keeping insertion order among equal times
/// (most slots hold one or two events).
#[inline]
fn sort_slot(v: &mut [(SimTime, Event)]) {
    match v.len() {
        0 | 1 => {}
        2 => {
            if v[1].0 < v[0].0 {
                v.swap(0, 1);
            }
        }
        _ => v.sort_by_key(|&(t, _)| t),
    }
}

/// A hierarchical timing wheel: a radix heap with radix 4096 over 8.2 µs slots.
///
/// Time is cut into slots of 2^13 ns; the slot index is written in base 4096.
/// An event goes to the level of the highest digit in which its slot differs
/// from the current slot, at that digit's value, so an event less than
/// 4096 slots (33.5 ms) ahead is placed once and never moved, and a farther one
/// moves down at most once per level. The current slot's events sit in a short
/// sorted run. Slots and runs keep insertion order among equal times (the same
/// argument as for the radix heap: events with equal times always share a
/// slot), so equal times pop FIFO.
#[derive(Debug)]
pub struct WheelQueue {
    levels: [WheelLevel; LEVELS],
    /// Events of the current slot, sorted by time, FIFO among equal times,
    /// consumed from `head`.
    current: Vec<(SimTime, Event)>,
    head: usize,
    /// Slot index (time >> SLOT_BITS) of the current slot.
    cur_slot: u64,
    len: usize,
}

impl Default for WheelQueue {
    fn default() -> Self {
        WheelQueue {
            levels: std::array::from_fn(|_| WheelLevel::new()),
            current: Vec::new(),
            head: 0,
            cur_slot: 0,
            len: 0,
        }
    }
}

impl WheelQueue {
    /// Level and digit of `slot` relative to the current slot (`slot` must differ).
    #[inline]
    fn place(&self, slot: u64) -> (usize, usize) {
        let x = slot ^ self.cur_slot;
        let level = ((u64::BITS - 1 - x.leading_zeros()) / DIGIT_BITS) as usize;
        let digit = (slot >> (DIGIT_BITS as usize * level)) as usize & (SLOTS - 1);
        (level, digit)
    }

    /// File an event in a level slot (its slot differs from the current one).
    #[inline]
    fn file(&mut self, slot: u64, time: SimTime, event: Event) {
        let (level, digit) = self.place(slot);
        let l = &mut self.levels[level];
        l.slots[digit].push((time, event));
        l.bits[digit / 64] |= 1 << (digit % 64);
    }

    /// Insert into the current slot after every pending event at or before
    /// `time` (FIFO among equal times).
    #[inline(never)]
    fn push_current(&mut self, time: SimTime, event: Event) {
        let at = self.head + self.current[self.head..].partition_point(|&(t, _)| t <= time);
        self.current.insert(at, (time, event));
    }

    /// The current slot is used up: make the next non-empty slot current,
    /// unless its events are all at or after `limit`. False when nothing due
    /// before `limit` is pending. The common case, a later slot of level 0,
    /// stays small enough to inline; the rest is [`Self::advance_upper`].
    #[inline]
    fn advance(&mut self, limit: SimTime) -> bool {
        self.current.clear();
        self.head = 0;
        if self.len == 0 {
            return false;
        }
        let d0 = self.cur_slot as usize & (SLOTS - 1);
        match self.levels[0].next_set(d0 + 1) {
            Some(j) => self.enter_level0(j, limit),
            None => self.advance_upper(limit),
        }
    }

    /// Make level-0 slot `j` (after the current one) current, unless its
    /// events are all at or after `limit`.
    #[inline]
    fn enter_level0(&mut self, j: usize, limit: SimTime) -> bool {
        let slot = (self.cur_slot & !(SLOTS as u64 - 1)) | j as u64;
        if slot << SLOT_BITS >= limit.0 {
            return false;
        }
        let l = &mut self.levels[0];
        sort_slot(&mut l.slots[j]);
        // The clock never passes an event at or after `limit`: the caller may
        // still schedule before it.
        if l.slots[j][0].0 >= limit {
            return false;
        }
        std::mem::swap(&mut self.current, &mut l.slots[j]);
        l.bits[j / 64] &= !(1 << (j % 64));
        self.cur_slot = slot;
        true
    }

    /// Level 0 has nothing after the current slot: move the earliest
    /// higher-level slot down (its earliest slot becomes current), until the
    /// current slot or level 0 has events.
    #[inline(never)]
    fn advance_upper(&mut self, limit: SimTime) -> bool {
        loop {
            let found = (1..LEVELS).find_map(|level| {
                let d = (self.cur_slot >> (DIGIT_BITS as usize * level)) as usize & (SLOTS - 1);
                self.levels[level].next_set(d + 1).map(|j| (level, j))
            });
            let Some((level, j)) = found else {
                return false;
            };
            let shift = DIGIT_BITS as usize * level;
            let min = self.levels[level].slots[j]
                .iter()
                .map(|&(t, _)| t.0)
                .min()
                .unwrap_or(u64::MAX);
            if min >= limit.0 {
                return false;
            }
            let mut moving = std::mem::take(&mut self.levels[level].slots[j]);
            self.levels[level].bits[j / 64] &= !(1 << (j % 64));
            debug_assert_eq!(
                (min >> SLOT_BITS) >> (shift + DIGIT_BITS as usize),
                self.cur_slot >> (shift + DIGIT_BITS as usize)
            );
            self.cur_slot = min >> SLOT_BITS;
            for &(t, e) in &moving {
                let slot = t.0 >> SLOT_BITS;
                if slot == self.cur_slot {
                    self.current.push((t, e));
                } else {
                    self.file(slot, t, e);
                }
            }
            // A higher-level slot is reused only once per 4096 of its
            // periods: keep its buffer only if it is small, so memory stays
            // bounded by the pending events, not by the run length.
            if moving.capacity() <= KEPT_CAPACITY {
                moving.clear();
                self.levels[level].slots[j] = moving;
            }
            if !self.current.is_empty() {
                sort_slot(&mut self.current);
                return true;
            }
            let d0 = self.cur_slot as usize & (SLOTS - 1);
            if let Some(j) = self.levels[0].next_set(d0 + 1) {
                return self.enter_level0(j, limit);
            }
        }
    }
}

impl Pending for WheelQueue {
    #[inline(always)]
    fn push(&mut self, time: SimTime, event: Event) {
        let slot = time.0 >> SLOT_BITS;
        debug_assert!(
            slot >= self.cur_slot,
            "event scheduled before the current slot"
        );
        self.len += 1;
        if slot == self.cur_slot {
            self.push_current(time, event);
        } else {
            self.file(slot, time, event);
        }
    }

    #[inline]
    fn pop_before(&mut self, limit: SimTime) -> Option<(SimTime, Event)> {
        if self.head == self.current.len() && !self.advance(limit) {
            return None;
        }
        let item = self.current[self.head];
        if item.0 >= limit {
            return None;
        }
        self.head += 1;
        self.len -= 1;
        Some(item)
    }

    fn len(&self) -> usize {
        self.len
    }
}

/// The engine's pending events: the chosen [`Pending`] structure plus the clock.
#[derive(Resource, Debug, Default)]
pub struct EventQueue {
    pending: WheelQueue,
    now: SimTime,
}

impl EventQueue {
    /// An empty queue at time zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Schedule `event` at `time` (never before the current time).
    #[inline(always)]
    pub fn schedule(&mut self, time: SimTime, event: Event) {
        debug_assert!(time >= self.now, "event scheduled in the past");
        self.pending.push(time.max(self.now), event);
    }

    /// Pop the next event if it is due strictly before `limit`, advancing the clock.
    #[inline]
    pub fn pop_before(&mut self, limit: SimTime) -> Option<(SimTime, Event)> {
        let (t, e) = self.pending.pop_before(limit)?;
        self.now = t;
        Some((t, e))
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
        self.pending.len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
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
            kind: EventKind::EDGE_ARRIVE,
            target: Entity::PLACEHOLDER,
            request: Entity::PLACEHOLDER,
            tag,
            aux: 0,
        }
    }

    fn equal_times_pop_in_scheduling_order<Q: Pending>() {
        let mut q = Q::default();
        for tag in 0..5 {
            q.push(SimTime(10), ev(tag));
        }
        q.push(SimTime(5), ev(99));
        let order: Vec<u32> = std::iter::from_fn(|| q.pop_before(SimTime::MAX))
            .map(|(_, e)| e.tag)
            .collect();
        assert_eq!(order, vec![99, 0, 1, 2, 3, 4]);
    }

    fn pop_before_respects_the_limit<Q: Pending>() {
        let mut q = Q::default();
        q.push(SimTime(10), ev(1));
        assert!(q.pop_before(SimTime(10)).is_none());
        assert_eq!(q.len(), 1);
        assert_eq!(q.pop_before(SimTime(11)).map(|(t, _)| t), Some(SimTime(10)));
        assert!(q.is_empty());
    }

    #[test]
    fn heap_orders_equal_times_fifo() {
        equal_times_pop_in_scheduling_order::<HeapQueue>();
        pop_before_respects_the_limit::<HeapQueue>();
    }

    #[test]
    fn radix_orders_equal_times_fifo() {
        equal_times_pop_in_scheduling_order::<RadixQueue>();
        pop_before_respects_the_limit::<RadixQueue>();
    }

    #[test]
    fn wheel_orders_equal_times_fifo() {
        equal_times_pop_in_scheduling_order::<WheelQueue>();
        pop_before_respects_the_limit::<WheelQueue>();
    }

    /// Interleave pushes (each at the current time plus a delay) and pops, as the
    /// engine does; return the popped (time, tag) sequence.
    fn simulate<Q: Pending>(ops: &[(bool, u64)], limit_every: usize) -> Vec<(u64, u32)> {
        let mut q = Q::default();
        let mut now = 0u64;
        let mut out = Vec::new();
        for (i, &(is_push, delay)) in ops.iter().enumerate() {
            if is_push {
                q.push(SimTime(now + delay), ev(i as u32));
            } else {
                // Sometimes pop with a limit, as the run loop does at sync points.
                let limit = if i % limit_every == 0 {
                    SimTime(now + 3)
                } else {
                    SimTime::MAX
                };
                if let Some((t, e)) = q.pop_before(limit) {
                    assert!(t.0 >= now);
                    now = t.0;
                    out.push((t.0, e.tag));
                }
            }
        }
        while let Some((t, e)) = q.pop_before(SimTime::MAX) {
            out.push((t.0, e.tag));
        }
        out
    }

    proptest! {
        /// Whatever the insertion order, pops come out sorted by (time, insertion).
        #[test]
        fn pops_are_sorted_by_time_then_insertion(times in prop::collection::vec(0u64..50, 0..300)) {
            let mut expected: Vec<(u64, u32)> =
                times.iter().enumerate().map(|(i, &t)| (t, i as u32)).collect();
            expected.sort();
            let mut heap = HeapQueue::default();
            let mut radix = RadixQueue::default();
            let mut wheel = WheelQueue::default();
            for (i, &t) in times.iter().enumerate() {
                heap.push(SimTime(t), ev(i as u32));
                radix.push(SimTime(t), ev(i as u32));
                wheel.push(SimTime(t), ev(i as u32));
            }
            let drain = |q: &mut dyn FnMut() -> Option<(SimTime, Event)>| {
                std::iter::from_fn(q).map(|(t, e)| (t.0, e.tag)).collect::<Vec<_>>()
            };
            prop_assert_eq!(drain(&mut || heap.pop_before(SimTime::MAX)), expected.clone());
            prop_assert_eq!(drain(&mut || radix.pop_before(SimTime::MAX)), expected.clone());
            prop_assert_eq!(drain(&mut || wheel.pop_before(SimTime::MAX)), expected);
        }

        /// Interleaved pushes and pops: the radix heap pops exactly what the
        /// binary heap pops, in the same order.
        #[test]
        fn radix_matches_heap_when_interleaved(
            ops in prop::collection::vec((any::<bool>(), prop_oneof![Just(0u64), 0u64..8, 0u64..1_000_000]), 0..400),
            limit_every in 1usize..7,
        ) {
            prop_assert_eq!(simulate::<RadixQueue>(&ops, limit_every), simulate::<HeapQueue>(&ops, limit_every));
        }

        /// The same for the timing wheel, with delays from nanoseconds to hours
        /// so that every level and every slot boundary is crossed.
        #[test]
        fn wheel_matches_heap_when_interleaved(
            ops in prop::collection::vec((any::<bool>(), prop_oneof![
                Just(0u64), 0u64..8, 0u64..20_000, 0u64..50_000_000, 0u64..(1u64 << 45), Just(1u64 << 13), Just((1u64 << 25) - 1)
            ]), 0..400),
            limit_every in 1usize..7,
        ) {
            prop_assert_eq!(simulate::<WheelQueue>(&ops, limit_every), simulate::<HeapQueue>(&ops, limit_every));
        }
    }
}
