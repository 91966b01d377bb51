//! Workers: a server's event loops (`server_resources.workers`).
//!
//! A server with `workers: W` runs W event loops that share its RAM (and so
//! its RAM queue), each with `cpu_cores / W` cores and its own FIFO ready
//! queue. An arriving request is given to one worker by the server's
//! `worker_dispatch` and stays on it for its whole visit: every CPU step it
//! takes, including those after an I/O or a call wait, runs on that worker's
//! cores. With one worker this is the plain server: one ready queue in front
//! of all the cores.
//!
//! A worker's *load*, which `least_busy` compares, is the number of requests
//! assigned to it and not finished: waiting for RAM, waiting for a core,
//! running, in an I/O wait or waiting for calls. Neither policy draws random
//! numbers: `round_robin` rotates, `least_busy` breaks ties by the lowest
//! index.

use std::collections::VecDeque;

use bevy_ecs::entity::Entity;

use crate::scenario::schema::WorkerDispatch;

/// One event loop.
#[derive(Debug, Clone)]
struct Worker {
    /// Idle cores.
    free_cores: u32,
    /// Requests waiting for one of its cores, FIFO.
    ready: VecDeque<Entity>,
    /// Requests assigned to it and not finished.
    load: u32,
}

/// The workers of one server, and their totals (what the server's gauges
/// show: busy cores and ready-queue lengths summed over workers).
#[derive(Debug, Clone)]
pub struct Workers {
    dispatch: WorkerDispatch,
    loops: Vec<Worker>,
    /// The worker the next round-robin arrival goes to.
    next: usize,
    /// Cores of all workers.
    cores: u32,
    /// Idle cores of all workers.
    free_cores: u32,
    /// Requests in all ready queues.
    ready_len: usize,
}

impl Workers {
    /// `count` idle workers (at least one) of `cores_each` cores.
    pub fn new(count: u32, cores_each: u32, dispatch: WorkerDispatch) -> Self {
        let count = count.max(1);
        let worker = Worker {
            free_cores: cores_each,
            ready: VecDeque::new(),
            load: 0,
        };
        let cores = cores_each.saturating_mul(count);
        Workers {
            dispatch,
            loops: vec![worker; count as usize],
            next: 0,
            cores,
            free_cores: cores,
            ready_len: 0,
        }
    }

    /// Number of workers.
    pub fn count(&self) -> u32 {
        self.loops.len() as u32
    }

    /// Cores of all workers.
    pub fn cores(&self) -> u32 {
        self.cores
    }

    /// Cores running a CPU step, over all workers.
    #[inline]
    pub fn busy_cores(&self) -> u32 {
        self.cores - self.free_cores
    }

    /// Requests waiting for a core, over all workers.
    #[inline]
    pub fn ready_len(&self) -> usize {
        self.ready_len
    }

    /// Requests assigned to worker `w` and not finished.
    pub fn load(&self, w: u32) -> u32 {
        self.loops.get(w as usize).map_or(0, |x| x.load)
    }

    /// Choose the worker of an arriving request and count it there.
    #[inline]
    pub fn assign(&mut self) -> u32 {
        let w = match self.dispatch {
            _ if self.loops.len() == 1 => 0,
            WorkerDispatch::RoundRobin => {
                let w = self.next;
                self.next = (w + 1) % self.loops.len();
                w
            }
            WorkerDispatch::LeastBusy => self
                .loops
                .iter()
                .enumerate()
                .min_by_key(|&(i, x)| (x.load, i))
                .map_or(0, |(i, _)| i),
        };
        self.loops[w].load += 1;
        w as u32
    }

    /// A request of worker `w` finished its endpoint.
    #[inline]
    pub fn finish(&mut self, w: u32) {
        if let Some(x) = self.loops.get_mut(w as usize) {
            x.load = x.load.saturating_sub(1);
        }
    }

    /// Take an idle core of worker `w`, if it has one.
    #[inline]
    pub fn take_core(&mut self, w: u32) -> bool {
        match self.loops.get_mut(w as usize) {
            Some(x) if x.free_cores > 0 => {
                x.free_cores -= 1;
                self.free_cores -= 1;
                true
            }
            _ => false,
        }
    }

    /// Queue `req` for a core of worker `w`.
    #[inline]
    pub fn wait_for_core(&mut self, w: u32, req: Entity) {
        if let Some(x) = self.loops.get_mut(w as usize) {
            x.ready.push_back(req);
            self.ready_len += 1;
        }
    }

    /// A core of worker `w` was freed: the head of that worker's ready queue
    /// takes it (returned), or it goes idle.
    #[inline]
    pub fn release_core(&mut self, w: u32) -> Option<Entity> {
        let x = self.loops.get_mut(w as usize)?;
        match x.ready.pop_front() {
            Some(next) => {
                self.ready_len -= 1;
                Some(next)
            }
            None => {
                x.free_cores += 1;
                self.free_cores += 1;
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(i: u32) -> Entity {
        Entity::from_raw_u32(i).expect("a valid index")
    }

    #[test]
    fn round_robin_rotates_whatever_the_load() {
        let mut w = Workers::new(3, 1, WorkerDispatch::RoundRobin);
        let picks: Vec<u32> = (0..7).map(|_| w.assign()).collect();
        assert_eq!(picks, [0, 1, 2, 0, 1, 2, 0]);
        assert_eq!((w.load(0), w.load(1), w.load(2)), (3, 2, 2));
    }

    #[test]
    fn least_busy_picks_the_worker_with_fewest_unfinished_requests() {
        let mut w = Workers::new(3, 1, WorkerDispatch::LeastBusy);
        // Empty: ties go to the lowest index, then to the next idle one.
        assert_eq!([w.assign(), w.assign(), w.assign()], [0, 1, 2]);
        assert_eq!(w.assign(), 0);
        // Loads 2, 1, 1: worker 1 finishes one, so it is the least busy.
        w.finish(1);
        assert_eq!(w.assign(), 1);
        // Loads 2, 1, 1 again; worker 2 finishes: 2, 1, 0.
        w.finish(2);
        assert_eq!(w.assign(), 2);
        assert_eq!(w.assign(), 1);
        assert_eq!((w.load(0), w.load(1), w.load(2)), (2, 2, 1));
    }

    #[test]
    fn a_worker_serves_its_own_ready_queue_only() {
        let mut w = Workers::new(2, 1, WorkerDispatch::RoundRobin);
        assert!(w.take_core(0));
        assert!(!w.take_core(0));
        w.wait_for_core(0, e(7));
        assert_eq!((w.busy_cores(), w.ready_len()), (1, 1));
        // Worker 1's core is idle, but worker 0's waiting request stays put.
        assert!(w.take_core(1));
        assert_eq!(w.release_core(1), None);
        assert_eq!(w.release_core(0), Some(e(7)));
        assert_eq!((w.busy_cores(), w.ready_len()), (1, 0));
        assert_eq!(w.release_core(0), None);
        assert_eq!(w.busy_cores(), 0);
    }

    #[test]
    fn cores_are_split_evenly() {
        let w = Workers::new(4, 2, WorkerDispatch::LeastBusy);
        assert_eq!((w.count(), w.cores(), w.busy_cores()), (4, 8, 0));
    }
}
