//! The run loop: dispatch events up to the next sync point (sample tick, injected
//! event edge, horizon), then run the batch [`Schedule`] there; repeat.
//!
//! Sync-point convention: the batch phase at instant T runs after every event
//! strictly before T and before any event at T. A sample at T is therefore the
//! left limit of each gauge at T, and its mean covers exactly [T - period, T).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use bevy_ecs::prelude::*;
use serde::{Deserialize, Serialize};

use super::connection;
use super::dispatch::{DispatchStats, Dispatcher};
use super::network::{EdgeConfig, EdgeState};
use super::node::{Batch, Registry};
use super::output::Output;
use super::queue::EventQueue;
use super::time::SimTime;
use super::world::{BuildError, Topology, build};
use crate::metrics::outdir::{OutDir, write_atomic};
use crate::metrics::record::{EntityKind, RunIdentity, SampleRecord};
use crate::metrics::sink::{OutputError, OutputSelection, RunStatus, Sinks, WriterMode};
use crate::metrics::summary::{
    ConnectionSummary, EdgeSummary, LatencySummary, RequestCounts, RunStats, ServerSummary,
    SocketSummary, ThroughputSummary,
};
use crate::scenario::Scenario;
use crate::scenario::schema::SampleMetric;

/// The current sync point, for batch systems.
#[derive(Resource, Debug, Clone, Copy, Default)]
pub struct Clock {
    /// The sync instant.
    pub now: SimTime,
    /// Whether it is a sample tick.
    pub tick: bool,
}

/// The next instant a batch system needs a sync point at (injected events),
/// set by the batch systems; `SimTime::MAX` when none.
#[derive(Resource, Debug, Clone, Copy)]
pub struct NextSync(pub SimTime);

impl Default for NextSync {
    fn default() -> Self {
        NextSync(SimTime::MAX)
    }
}

/// Where a run's seed came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeedSource {
    /// `RunOptions::seed` (the CLI's `--seed`).
    Option,
    /// `sim_settings.seed`.
    Scenario,
    /// Drawn from the clock, reported so the run can be repeated.
    Drawn,
}

/// Progress of a running simulation, for progress bars.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Simulated time reached.
    pub now: SimTime,
    /// Horizon.
    pub horizon: SimTime,
    /// Requests generated so far.
    pub generated: u64,
}

/// How to run a scenario.
#[derive(Default)]
pub struct RunOptions {
    /// Seed; overrides `sim_settings.seed`.
    pub seed: Option<u64>,
    /// Replication index (mixed into every random stream).
    pub replication: u64,
    /// Stop at this instant instead of `total_simulation_time`.
    pub horizon: Option<SimTime>,
    /// Output directory; `None` writes nothing to disk.
    pub out_dir: Option<PathBuf>,
    /// Which Parquet files to write (with `out_dir`).
    pub outputs: Option<OutputSelection>,
    /// Set to stop the run at the next sync point (Ctrl-C); outputs are closed
    /// and marked interrupted.
    pub stop: Option<Arc<AtomicBool>>,
    /// Called at sync points, at most every 100 ms of wall time.
    pub progress: Option<Box<dyn FnMut(Progress) + Send>>,
    /// Time every event handler (adds two clock reads per event) and report
    /// events per wall second per kind in `wall.events_per_wall_s_by_kind`.
    pub profile: bool,
    /// Where Parquet is encoded: writer threads (default) or the run's own
    /// thread (when other runs already use every core).
    pub writer: WriterMode,
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("seed", &self.seed)
            .field("replication", &self.replication)
            .field("horizon", &self.horizon)
            .field("out_dir", &self.out_dir)
            .field("outputs", &self.outputs)
            .field("profile", &self.profile)
            .field("writer", &self.writer)
            .finish_non_exhaustive()
    }
}

/// A run that could not complete.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The scenario could not be turned into a world.
    #[error("cannot build the simulation: {0}")]
    Build(#[from] BuildError),
    /// Writing outputs failed.
    #[error("cannot write outputs: {0}")]
    Output(#[from] OutputError),
    /// More requests were in the system than `sim_settings.max_in_flight` allows.
    #[error(
        "{in_flight} requests in the system at t = {at_s:.3} s exceed sim_settings.max_in_flight = {limit}: \
         the scenario is overloaded and its backlog grows without bound \
         (about 200 bytes per waiting request); reduce the load, add capacity, \
         or raise sim_settings.max_in_flight"
    )]
    Backlog {
        /// Requests in the system.
        in_flight: u64,
        /// The limit.
        limit: u64,
        /// When it was passed, in simulated seconds.
        at_s: f64,
    },
    /// `summary.json` could not be encoded.
    #[error("cannot encode summary.json: {0}")]
    Summary(#[from] serde_json::Error),
}

/// Engine identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EngineInfo {
    /// Always `asyncflow`.
    pub name: String,
    /// Crate version.
    pub version: String,
}

/// Scenario identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioInfo {
    /// Path as given, if loaded from a file.
    pub path: Option<String>,
    /// SHA-256 of the source.
    pub sha256: String,
}

/// How the run was set up and how it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// Seed of every random stream.
    pub seed: u64,
    /// Where the seed came from.
    pub seed_source: SeedSource,
    /// Replication index.
    pub replication: u64,
    /// Horizon asked for, in seconds.
    pub horizon_s: f64,
    /// Simulated time reached (less than the horizon if interrupted).
    pub simulated_s: f64,
    /// Gauge sampling period.
    pub sample_period_s: f64,
    /// `complete` or `interrupted`.
    pub status: String,
}

/// The simulation's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultsSection {
    /// Request counts.
    pub requests: RequestCounts,
    /// Latency of completed requests.
    pub latency: LatencySummary,
    /// Completions per second.
    pub throughput: ThroughputSummary,
    /// Per server, declaration order.
    pub servers: Vec<ServerSummary>,
    /// Per edge, declaration order.
    pub edges: Vec<EdgeSummary>,
    /// Per node that declares `sockets` (servers, then load balancers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sockets: Vec<SocketSummary>,
    /// Per edge with a connection model, declaration order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub connections: Vec<ConnectionSummary>,
}

/// Deterministic engine figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EngineFigures {
    /// Events dispatched.
    pub events_processed: u64,
    /// Per event kind.
    pub events_by_kind: BTreeMap<String, u64>,
    /// Sample ticks taken.
    pub sample_ticks: u64,
}

/// Wall-clock figures: the only part of the summary that differs between two
/// runs of the same scenario and seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WallClock {
    /// Whole run (build, simulate, write), seconds.
    pub wall_time_s: f64,
    /// Events per wall second.
    pub events_per_wall_s: f64,
    /// Simulated requests (completed + dropped) per wall second.
    pub requests_per_wall_s: f64,
    /// Seconds per phase: build, dispatch, batch, finish.
    pub phases_s: BTreeMap<String, f64>,
    /// With `RunOptions::profile`: events handled per wall second of handler
    /// time, per event kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events_per_wall_s_by_kind: Option<BTreeMap<String, f64>>,
}

/// Everything `summary.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Engine identity.
    pub engine: EngineInfo,
    /// Scenario identity.
    pub scenario: ScenarioInfo,
    /// Run set-up and status.
    pub run: RunInfo,
    /// Results.
    pub results: ResultsSection,
    /// Deterministic engine figures.
    pub engine_figures: EngineFigures,
    /// Wall-clock figures.
    pub wall: WallClock,
}

/// What a run returns.
#[derive(Debug, Clone)]
pub struct Results {
    /// The summary (also written as `summary.json` when there is an output dir).
    pub summary: Summary,
    /// Files written (Parquet files, then `summary.json`).
    pub files: Vec<PathBuf>,
    /// Completions per simulated second.
    pub throughput_series: Vec<u64>,
}

/// A seed from the clock and the process id, for runs that name none (the seed
/// used is always reported, so the run can be repeated).
pub fn draw_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    (nanos as u64) ^ u64::from(std::process::id()).rotate_left(32)
}

/// Batch system: sample every edge's in-transit gauge at a tick.
fn sample_edges(
    clock: Res<Clock>,
    topo: Res<Topology>,
    mut edges: Query<(&EdgeConfig, &mut EdgeState)>,
    mut output: ResMut<Output>,
) {
    if !clock.tick {
        return;
    }
    let t = clock.now;
    let write = topo.samples(SampleMetric::EdgeConcurrentConnection);
    for &e in &topo.edges {
        let Ok((cfg, mut st)) = edges.get_mut(e) else {
            continue;
        };
        let r = st.in_flight.tick(t);
        if write {
            output.push_sample(&SampleRecord {
                t,
                entity_kind: EntityKind::Edge,
                entity: cfg.name,
                metric: SampleMetric::EdgeConcurrentConnection,
                value: r.value,
                mean: r.mean,
                max: r.max,
            });
        }
    }
}

/// Run `scenario` with the node kinds of `registry` to its horizon (or until
/// stopped).
pub fn run(
    scenario: &Scenario,
    registry: &Registry,
    mut opts: RunOptions,
) -> Result<Results, RunError> {
    let wall_start = Instant::now();
    let m = scenario.model();
    let (seed, seed_source) = match (opts.seed, m.sim_settings.seed) {
        (Some(s), _) => (s, SeedSource::Option),
        (None, Some(s)) => (s, SeedSource::Scenario),
        (None, None) => (draw_seed(), SeedSource::Drawn),
    };
    let full_horizon = SimTime::from_secs(m.sim_settings.total_simulation_time.max(0) as u64);
    let horizon = opts.horizon.unwrap_or(full_horizon);
    let period = SimTime::from_secs_f64(m.sim_settings.sample_period_s).max(SimTime(1));
    let max_in_flight = u64::try_from(m.sim_settings.max_in_flight)
        .unwrap_or(1)
        .max(1);

    let mut world = World::new();
    let topo = build(&mut world, registry, scenario, seed, opts.replication)?;
    let identity = RunIdentity {
        engine_version: env!("CARGO_PKG_VERSION").to_owned(),
        scenario_sha256: scenario.sha256().to_owned(),
        seed,
        replication: opts.replication,
    };
    let out_dir = opts.out_dir.as_deref().map(OutDir::prepare).transpose()?;
    let sinks = match &out_dir {
        Some(dir) => Sinks::create_with(
            dir,
            opts.outputs.unwrap_or(OutputSelection::DEFAULT),
            Arc::clone(&topo.names),
            &identity,
            opts.writer,
        )?,
        None => Sinks::disabled(),
    };
    world.insert_resource(Output::new(sinks));
    world.insert_resource(EventQueue::new());
    world.insert_resource(RunStats::new(horizon));
    world.insert_resource(Clock::default());
    world.insert_resource(topo.clone());
    world.init_resource::<NextSync>();
    let mut schedule = Schedule::new(Batch);
    let edges_slot = registry.add_batch_systems(&mut schedule);
    schedule.add_systems(
        (sample_edges, connection::sample)
            .chain()
            .in_set(edges_slot),
    );
    let mut dispatcher = Dispatcher::new(&mut world, registry);
    world.resource_scope(|world, mut queue: Mut<EventQueue>| registry.start(world, &mut queue));
    let build_s = wall_start.elapsed().as_secs_f64();
    let event_names: Vec<&'static str> = registry
        .event_table()
        .into_iter()
        .map(|(n, _, _)| n)
        .collect();

    let mut dstats = DispatchStats {
        counts: vec![0; dispatcher.event_kinds()],
        nanos: opts.profile.then(|| vec![0; dispatcher.event_kinds()]),
    };
    let mut next_tick = period;
    let mut last_tick = SimTime::ZERO;
    let mut ticks = 0u64;
    let mut status = RunStatus::Complete;
    let mut reached;
    let (mut dispatch_s, mut batch_s) = (0.0, 0.0);
    let mut last_progress = Instant::now();
    loop {
        let next_inj = world.resource::<NextSync>().0;
        let sync = next_tick.min(next_inj).min(horizon);
        let t0 = Instant::now();
        dispatcher.until(&mut world, sync, &mut dstats);
        world.resource_mut::<EventQueue>().advance_to(sync);
        let t1 = Instant::now();
        dispatch_s += (t1 - t0).as_secs_f64();
        reached = sync;
        // The horizon always closes a sample period so the run aggregates cover it.
        let tick = sync == next_tick || sync == horizon;
        *world.resource_mut::<Clock>() = Clock { now: sync, tick };
        world.resource_mut::<NextSync>().0 = SimTime::MAX;
        schedule.run(&mut world);
        batch_s += t1.elapsed().as_secs_f64();
        if tick {
            ticks += 1;
            last_tick = sync;
            if sync == next_tick {
                next_tick += period;
            }
        }
        if let Some(e) = world.resource_mut::<Output>().error.take() {
            return Err(RunError::Output(e));
        }
        let stats = world.resource::<RunStats>();
        let in_flight = stats.in_flight();
        if in_flight > max_in_flight {
            return Err(RunError::Backlog {
                in_flight,
                limit: max_in_flight,
                at_s: sync.as_secs_f64(),
            });
        }
        if sync >= horizon {
            break;
        }
        if opts
            .stop
            .as_ref()
            .is_some_and(|s| s.load(Ordering::Relaxed))
        {
            status = RunStatus::Interrupted;
            // Close the partial period so aggregates cover what was simulated.
            if last_tick < sync {
                *world.resource_mut::<Clock>() = Clock {
                    now: sync,
                    tick: true,
                };
                schedule.run(&mut world);
                last_tick = sync;
                ticks += 1;
            }
            break;
        }
        if let Some(cb) = opts.progress.as_mut()
            && last_progress.elapsed().as_millis() >= 100
        {
            last_progress = Instant::now();
            cb(Progress {
                now: sync,
                horizon,
                generated: world.resource::<RunStats>().generated(),
            });
        }
    }

    let finish_start = Instant::now();
    let results = summarize(&mut world, registry, &topo, last_tick);
    let output = world
        .remove_resource::<Output>()
        .expect("the output resource lives for the whole run");
    let mut files = output.into_sinks().finish(status)?;
    let stats = world.resource::<RunStats>();
    let throughput_series = stats.per_second().to_vec();
    let counts = dstats.counts;
    let events_processed: u64 = counts.iter().sum();
    let by_kind = dstats.nanos.map(|nanos| {
        event_names
            .iter()
            .enumerate()
            .map(|(k, name)| {
                let (n, ns) = (counts[k], nanos[k]);
                (
                    (*name).to_owned(),
                    if ns > 0 {
                        n as f64 * 1e9 / ns as f64
                    } else {
                        0.0
                    },
                )
            })
            .collect()
    });
    let finish_s = finish_start.elapsed().as_secs_f64();
    let wall = wall_start.elapsed().as_secs_f64();
    let ended = results.requests.completed + results.requests.dropped;
    let mut summary = Summary {
        engine: EngineInfo {
            name: "asyncflow".into(),
            version: identity.engine_version.clone(),
        },
        scenario: ScenarioInfo {
            path: scenario.path().map(|p| p.display().to_string()),
            sha256: identity.scenario_sha256.clone(),
        },
        run: RunInfo {
            seed,
            seed_source,
            replication: opts.replication,
            horizon_s: horizon.as_secs_f64(),
            simulated_s: reached.as_secs_f64(),
            sample_period_s: m.sim_settings.sample_period_s,
            status: status.as_str().to_owned(),
        },
        results,
        engine_figures: EngineFigures {
            events_processed,
            events_by_kind: event_names
                .iter()
                .enumerate()
                .map(|(k, name)| ((*name).to_owned(), counts[k]))
                .collect(),
            sample_ticks: ticks,
        },
        wall: WallClock {
            wall_time_s: wall,
            events_per_wall_s: events_processed as f64 / wall.max(1e-9),
            requests_per_wall_s: ended as f64 / wall.max(1e-9),
            phases_s: BTreeMap::from([
                ("build".to_owned(), build_s),
                ("dispatch".to_owned(), dispatch_s),
                ("batch".to_owned(), batch_s),
                ("finish".to_owned(), finish_s),
            ]),
            events_per_wall_s_by_kind: by_kind,
        },
    };
    if let Some(dir) = &out_dir {
        summary.wall.wall_time_s = wall_start.elapsed().as_secs_f64();
        let path = dir.path().join("summary.json");
        let mut text = serde_json::to_string_pretty(&summary)?;
        text.push('\n');
        write_atomic(&path, text.as_bytes())?;
        files.push(path);
    }
    Ok(Results {
        summary,
        files,
        throughput_series,
    })
}

fn summarize(
    world: &mut World,
    registry: &Registry,
    topo: &Topology,
    until: SimTime,
) -> ResultsSection {
    let mut edges = Vec::with_capacity(topo.edges.len());
    for &e in &topo.edges {
        let (Some(cfg), Some(st)) = (world.get::<EdgeConfig>(e), world.get::<EdgeState>(e)) else {
            continue;
        };
        edges.push(EdgeSummary {
            id: topo.names.get(cfg.name).to_owned(),
            sent: st.sent,
            dropped: st.dropped,
            in_flight_mean: st.in_flight.run_mean(until),
            in_flight_max: st.in_flight.run_max(),
        });
    }
    let stats = world.resource::<RunStats>();
    let requests = RequestCounts {
        generated: stats.generated(),
        completed: stats.completed(),
        dropped: stats.dropped(),
        in_flight_at_horizon: stats.in_flight(),
        by_status: stats.by_status(),
    };
    let mut out = ResultsSection {
        requests,
        latency: stats.latency(),
        throughput: stats.throughput(until),
        servers: Vec::new(),
        edges,
        sockets: Vec::new(),
        connections: Vec::new(),
    };
    connection::summarize(world, topo, until, &mut out);
    registry.summarize(world, topo, until, &mut out);
    out
}
