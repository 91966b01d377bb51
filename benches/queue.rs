//! The pending-event set under the "hold" workload of a discrete-event engine:
//! with N events pending, pop the earliest and push one at its time plus an
//! exponential delay, so the size stays N. Compares the binary heap, the
//! radix heap and the timing wheel at N = 1e3 .. 1e6.

use std::hint::black_box;

use asyncflow::engine::event::{Event, EventKind};
use asyncflow::engine::queue::{HeapQueue, Pending, RadixQueue, WheelQueue};
use asyncflow::engine::time::SimTime;
use bevy_ecs::entity::Entity;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand::{RngExt, SeedableRng};
use rand_distr::Exp;
use rand_pcg::Pcg64;

const HOLDS: u64 = 100_000;

fn event() -> Event {
    Event {
        kind: EventKind::EDGE_ARRIVE,
        target: Entity::PLACEHOLDER,
        request: Entity::PLACEHOLDER,
        tag: 0,
        aux: 0,
    }
}

/// Pre-drawn delays (ns) so the timed loop measures the queue, not the RNG.
fn delays(n: usize) -> Vec<u64> {
    let mut rng = Pcg64::seed_from_u64(1);
    let d = Exp::new(1.0 / 5e6).expect("positive rate");
    (0..n).map(|_| rng.sample(d) as u64).collect()
}

fn filled<Q: Pending>(n: usize, delays: &[u64]) -> Q {
    let mut q = Q::default();
    for i in 0..n {
        q.push(SimTime(delays[i % delays.len()]), event());
    }
    q
}

fn hold<Q: Pending>(q: &mut Q, delays: &[u64]) {
    for i in 0..HOLDS as usize {
        let (t, e) = q.pop_before(SimTime::MAX).expect("never empty");
        q.push(SimTime(t.0 + delays[i % delays.len()]), black_box(e));
    }
}

fn bench_queue(c: &mut Criterion) {
    let d = delays(1 << 16);
    let mut group = c.benchmark_group("queue_hold");
    group.throughput(Throughput::Elements(HOLDS));
    group.sample_size(10);
    for n in [1_000usize, 10_000, 100_000, 1_000_000] {
        group.bench_with_input(BenchmarkId::new("binary_heap", n), &n, |b, &n| {
            let mut q: HeapQueue = filled(n, &d);
            b.iter(|| hold(&mut q, &d));
        });
        group.bench_with_input(BenchmarkId::new("radix_heap", n), &n, |b, &n| {
            let mut q: RadixQueue = filled(n, &d);
            b.iter(|| hold(&mut q, &d));
        });
        group.bench_with_input(BenchmarkId::new("timing_wheel", n), &n, |b, &n| {
            let mut q: WheelQueue = filled(n, &d);
            b.iter(|| hold(&mut q, &d));
        });
    }
    group.finish();
}

criterion_group!(benches, bench_queue);
criterion_main!(benches);
