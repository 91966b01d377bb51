//! The service view of a run with calls: per-service latency (from
//! `spans.parquet`) and the service graph (who calls whom, how often), for the
//! report's "Services" section.
//!
//! Read in one streamed pass over `spans.parquet`; latency quantiles come from
//! an HDR histogram per (callee, endpoint) with 3 significant digits, as the
//! summary's. The graph is drawn with plotters: one column per call depth
//! (servers the clients reach first on the left), nodes sized by traffic,
//! edges by calls.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::Path;

use arrow_array::Array;
use hdrhistogram::Histogram;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::ReportError;
use super::charts::{AXIS, INK, font};
use super::data::{dictionary, f64_column, reader};
use crate::Summary;

/// Most services drawn in the graph (the busiest); the table lists them all
/// up to [`MAX_ROWS`].
pub const MAX_GRAPH_NODES: usize = 40;
/// Most rows of the per-service table (the busiest).
pub const MAX_ROWS: usize = 60;

/// One (callee, endpoint) of the per-service table.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceRow {
    /// The node called (a server or a load balancer).
    pub callee: String,
    /// The endpoint called.
    pub endpoint: String,
    /// Calls (every attempt, whatever its status).
    pub calls: u64,
    /// Calls that completed.
    pub completed: u64,
    /// Mean duration of the completed calls, seconds (exact).
    pub mean_s: f64,
    /// Quantiles of the completed calls' duration, seconds.
    pub p50_s: f64,
    /// 95th percentile.
    pub p95_s: f64,
    /// 99th percentile.
    pub p99_s: f64,
}

/// Calls from one node to another (a server to its callee, or a load
/// balancer to the server it routed a call to).
#[derive(Debug, Clone, PartialEq)]
pub struct CallEdge {
    /// Calling server, or the load balancer that routed the call.
    pub caller: String,
    /// Node called.
    pub callee: String,
    /// Calls made.
    pub calls: u64,
}

/// What the report shows about services.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Services {
    /// Per (callee, endpoint), busiest first (ties by name).
    pub rows: Vec<ServiceRow>,
    /// Rows left out of `rows` (beyond [`MAX_ROWS`]).
    pub more_rows: usize,
    /// Every caller → callee pair, by name.
    pub edges: Vec<CallEdge>,
    /// Requests each server served (from the summary), the root servers' weight.
    pub served: BTreeMap<String, u64>,
}

struct Acc {
    calls: u64,
    completed: u64,
    sum_ns: u128,
    hist: Histogram<u64>,
}

/// Read `spans.parquet` of a run.
pub fn read(path: &Path, summary: &Summary) -> Result<Services, ReportError> {
    let mut names: Vec<String> = Vec::new();
    let mut ids: HashMap<String, u32> = HashMap::new();
    let mut intern = |s: &str| -> u32 {
        if let Some(&i) = ids.get(s) {
            return i;
        }
        let i = names.len() as u32;
        names.push(s.to_owned());
        ids.insert(s.to_owned(), i);
        i
    };
    let completed = intern("completed");
    let mut acc: HashMap<(u32, u32), Acc> = HashMap::new();
    let mut pairs: HashMap<(u32, u32), u64> = HashMap::new();
    let columns = [
        "caller",
        "callee",
        "server",
        "endpoint",
        "status",
        "duration_s",
    ];
    let horizon_ns = (summary.run.horizon_s.max(0.0) * 1e9) as u64;
    for batch in reader(path, &columns)? {
        let b = batch?;
        // Each batch's dictionaries, mapped once to run-wide ids.
        let mut local = |name: &str| -> Result<(Vec<Option<u32>>, Vec<u32>), ReportError> {
            let (d, values) = dictionary(&b, path, name)?;
            let map: Vec<u32> = (0..values.len()).map(|i| intern(values.value(i))).collect();
            let keys = d.keys();
            let rows = (0..d.len())
                .map(|i| (!d.is_null(i)).then(|| map[keys.value(i) as usize]))
                .collect();
            Ok((rows, map))
        };
        let (caller, _) = local("caller")?;
        let (callee, _) = local("callee")?;
        let (server, _) = local("server")?;
        let (endpoint, _) = local("endpoint")?;
        let (status, _) = local("status")?;
        let dur = f64_column(&b, path, "duration_s")?;
        for i in 0..b.num_rows() {
            let (Some(from), Some(to)) = (caller[i], callee[i]) else {
                continue;
            };
            *pairs.entry((from, to)).or_default() += 1;
            // A call to a load balancer also shows the hop to the server it
            // reached, so tiers are drawn.
            if let Some(srv) = server[i]
                && srv != to
            {
                *pairs.entry((to, srv)).or_default() += 1;
            }
            let ep = endpoint[i].unwrap_or(u32::MAX);
            let a = acc.entry((to, ep)).or_insert_with(|| Acc {
                calls: 0,
                completed: 0,
                sum_ns: 0,
                hist: Histogram::new_with_bounds(1, horizon_ns.max(2), 3)
                    .expect("bounds 1..horizon with 3 significant digits are valid"),
            });
            a.calls += 1;
            if status[i] == Some(completed) {
                let ns = (dur[i] * 1e9).round().max(0.0) as u64;
                a.completed += 1;
                a.sum_ns += u128::from(ns);
                a.hist.saturating_record(ns.max(1));
            }
        }
    }
    let name = |i: u32| names.get(i as usize).cloned().unwrap_or_default();
    let q = |h: &Histogram<u64>, p: f64| h.value_at_quantile(p) as f64 / 1e9;
    let mut rows: Vec<ServiceRow> = acc
        .into_iter()
        .map(|((to, ep), a)| ServiceRow {
            callee: name(to),
            endpoint: name(ep),
            calls: a.calls,
            completed: a.completed,
            mean_s: if a.completed == 0 {
                f64::NAN
            } else {
                a.sum_ns as f64 / a.completed as f64 / 1e9
            },
            p50_s: q(&a.hist, 0.5),
            p95_s: q(&a.hist, 0.95),
            p99_s: q(&a.hist, 0.99),
        })
        .collect();
    rows.sort_by(|a, b| (b.calls, &a.callee, &a.endpoint).cmp(&(a.calls, &b.callee, &b.endpoint)));
    let more_rows = rows.len().saturating_sub(MAX_ROWS);
    rows.truncate(MAX_ROWS);
    let mut edges: Vec<CallEdge> = pairs
        .into_iter()
        .map(|((from, to), calls)| CallEdge {
            caller: name(from),
            callee: name(to),
            calls,
        })
        .collect();
    edges.sort_by(|a, b| (&a.caller, &a.callee).cmp(&(&b.caller, &b.callee)));
    let served = summary
        .results
        .servers
        .iter()
        .map(|s| (s.id.clone(), s.served))
        .collect();
    Ok(Services {
        rows,
        more_rows,
        edges,
        served,
    })
}

/// A node of the drawn graph.
struct Node {
    name: String,
    traffic: u64,
    depth: usize,
}

/// The nodes to draw (the [`MAX_GRAPH_NODES`] busiest), with their column.
fn layout(s: &Services) -> (Vec<Node>, usize) {
    let mut traffic: BTreeMap<&str, u64> = BTreeMap::new();
    for e in &s.edges {
        *traffic.entry(&e.callee).or_default() += e.calls;
        traffic.entry(&e.caller).or_default();
    }
    for (id, &n) in &s.served {
        if let Some(t) = traffic.get_mut(id.as_str()) {
            *t = (*t).max(n);
        }
    }
    // Depth: longest call chain from a node nobody calls (cycles are not
    // valid scenarios; the bound guards anyway).
    let mut depth: BTreeMap<&str, usize> = traffic.keys().map(|&k| (k, 0)).collect();
    for _ in 0..traffic.len().min(64) {
        let mut changed = false;
        for e in &s.edges {
            let d = depth[e.caller.as_str()] + 1;
            if d > depth[e.callee.as_str()] {
                depth.insert(&e.callee, d);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let mut nodes: Vec<Node> = traffic
        .iter()
        .map(|(&name, &t)| Node {
            name: name.to_owned(),
            traffic: t,
            depth: depth[name],
        })
        .collect();
    nodes.sort_by(|a, b| (b.traffic, &a.name).cmp(&(a.traffic, &b.name)));
    let hidden = nodes.len().saturating_sub(MAX_GRAPH_NODES);
    nodes.truncate(MAX_GRAPH_NODES);
    (nodes, hidden)
}

/// Height of the graph for `s`, pixels.
pub fn graph_height(s: &Services) -> u32 {
    let (nodes, _) = layout(s);
    let mut per_col: BTreeMap<usize, u32> = BTreeMap::new();
    for n in &nodes {
        *per_col.entry(n.depth).or_default() += 1;
    }
    let tallest = per_col.values().copied().max().unwrap_or(1);
    (tallest * 56 + 80).clamp(220, 1400)
}

/// Draw the service graph.
pub fn graph(area: &DrawingArea<SVGBackend<'_>, Shift>, s: &Services) -> Result<(), String> {
    let (nodes, hidden) = layout(s);
    let (w, h) = area.dim_in_pixel();
    let (w, h) = (f64::from(w), f64::from(h));
    let cols = nodes.iter().map(|n| n.depth).max().unwrap_or(0) + 1;
    let mut rank: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, n) in nodes.iter().enumerate() {
        rank.entry(n.depth).or_default().push(i);
    }
    let top = 40.0;
    let mut pos = vec![(0.0, 0.0); nodes.len()];
    for (&d, members) in &rank {
        let x = 90.0 + (w - 180.0) * (d as f64 + 0.5) / cols as f64;
        let step = (h - top - 20.0) / members.len() as f64;
        for (k, &i) in members.iter().enumerate() {
            pos[i] = (x, top + step * (k as f64 + 0.5));
        }
    }
    let index: HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.name.as_str(), i))
        .collect();
    let max_calls = s.edges.iter().map(|e| e.calls).max().unwrap_or(1).max(1) as f64;
    let max_traffic = nodes.iter().map(|n| n.traffic).max().unwrap_or(1).max(1) as f64;
    let px = |p: (f64, f64)| (p.0.round() as i32, p.1.round() as i32);
    let err = |e: DrawingAreaErrorKind<_>| e.to_string();
    let title = font(16);
    let mut heading = String::from("Service graph: nodes sized by traffic, edges by calls");
    if hidden > 0 {
        let _ = write!(heading, " ({hidden} quieter nodes not drawn)");
    }
    area.draw(&Text::new(heading, (16, 14), title))
        .map_err(err)?;
    for e in &s.edges {
        let (Some(&a), Some(&b)) = (index.get(e.caller.as_str()), index.get(e.callee.as_str()))
        else {
            continue;
        };
        let width = 1.0 + 7.0 * (e.calls as f64 / max_calls);
        let style = ShapeStyle {
            color: AXIS.mix(0.55),
            filled: false,
            stroke_width: width.round() as u32,
        };
        area.draw(&PathElement::new(vec![px(pos[a]), px(pos[b])], style))
            .map_err(err)?;
    }
    let label = font(12).pos(Pos::new(HPos::Center, VPos::Top));
    for (i, n) in nodes.iter().enumerate() {
        let r = 5.0 + 17.0 * (n.traffic as f64 / max_traffic).sqrt();
        let (x, y) = px(pos[i]);
        area.draw(&Circle::new(
            (x, y),
            r.round() as i32,
            INK.mix(0.25).filled(),
        ))
        .map_err(err)?;
        area.draw(&Circle::new((x, y), r.round() as i32, INK.stroke_width(1)))
            .map_err(err)?;
        area.draw(&Text::new(
            n.name.clone(),
            (x, y + r.round() as i32 + 3),
            label.clone(),
        ))
        .map_err(err)?;
    }
    Ok(())
}
