//! The sweep chart: each key metric against the swept parameter, one panel per
//! metric, the mean across replications with its 95% interval as an error bar.
//!
//! Drawn from the manifest and the aggregate rows alone, once for any plotters
//! backend: the bitmap one for `sweep.png`, the SVG one for `sweep.html`. So
//! `sweep` and `sweep-merge` give the same bytes, whatever the thread count.
//!
//! The x axis depends on the grid:
//! - one swept path whose values all read as numbers: a numeric axis of them;
//! - one swept path otherwise: one category per value, in grid order;
//! - several paths: the point index, with a key of each point's values below
//!   the panels;
//! - a single point (replications only): one bar per panel.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{AggregateRow, Ci, Manifest, Metric};
use crate::report::ReportError;
use crate::report::charts::{
    AXIS, DROPS, FAMILY, GRID, INK, MARKERS, font, font_ready, muted, short,
};

/// Width and height of `sweep.png`, pixels (fixed, whatever the grid).
pub const SWEEP_PNG_SIZE: (u32, u32) = (1500, 1000);
/// Height of the title band.
const HEADER_H: u32 = 84;
/// Height of the band holding the key of point values (several paths only).
const KEY_H: u32 = 176;
/// Key lines that fit in [`KEY_H`] under its heading.
const KEY_LINES: usize = 7;
/// Longest category label drawn on an axis, characters.
const LABEL_CHARS: usize = 40;

type Area<DB> = DrawingArea<DB, Shift>;
type Res = Result<(), String>;

fn msg<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// The panels, in drawing order: row-major, three per row.
const PANELS: [(Metric, &str, f64, Unit); 6] = [
    (Metric::LatencyP99, "Latency p99 (ms)", 1e3, Unit::Plain),
    (Metric::LatencyP95, "Latency p95 (ms)", 1e3, Unit::Plain),
    (Metric::LatencyMean, "Latency mean (ms)", 1e3, Unit::Plain),
    (
        Metric::Throughput,
        "Throughput (completed per second)",
        1.0,
        Unit::Plain,
    ),
    (
        Metric::Dropped,
        "Requests dropped per run",
        1.0,
        Unit::Plain,
    ),
    (
        Metric::CpuUtilisationMax,
        "Max CPU utilisation of a server (%)",
        100.0,
        Unit::Percent,
    ),
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    Plain,
    Percent,
}

fn colour(m: Metric) -> RGBColor {
    match m {
        Metric::LatencyP99 => MARKERS[3],
        Metric::LatencyP95 => MARKERS[2],
        Metric::LatencyMean => MARKERS[0],
        Metric::Dropped | Metric::DropRate => DROPS,
        Metric::CpuUtilisationMax => MARKERS[1],
        _ => INK,
    }
}

/// How points are placed along x.
#[derive(Debug, Clone, PartialEq)]
enum XAxis {
    /// One path, every value a number: the values.
    Numeric { path: String, xs: Vec<f64> },
    /// One path, some value not a number: one slot per point, labelled.
    Categories { path: String, names: Vec<String> },
    /// Several paths: one slot per point, labelled by index, with a key.
    Index {
        paths: Vec<String>,
        key: Vec<String>,
    },
    /// One point: a single labelled bar.
    Single { name: String },
}

impl XAxis {
    fn of(m: &Manifest, rows: &[AggregateRow]) -> XAxis {
        let values = |r: &AggregateRow| -> Vec<String> {
            m.points
                .get(r.point as usize)
                .map(|p| p.values.iter().map(value_text).collect())
                .unwrap_or_default()
        };
        if rows.len() <= 1 {
            let name = match rows.first() {
                Some(r) if !m.paths.is_empty() => values(r).join(" · "),
                _ => "all replications".to_owned(),
            };
            return XAxis::Single { name };
        }
        if m.paths.len() == 1 {
            let names: Vec<String> = rows
                .iter()
                .map(|r| values(r).into_iter().next().unwrap_or_default())
                .collect();
            let xs: Option<Vec<f64>> = names
                .iter()
                .map(|s| s.parse::<f64>().ok().filter(|x| x.is_finite()))
                .collect();
            let path = m.paths[0].clone();
            return match xs {
                Some(xs) => XAxis::Numeric { path, xs },
                None => XAxis::Categories { path, names },
            };
        }
        XAxis::Index {
            paths: m.paths.clone(),
            key: rows
                .iter()
                .map(|r| format!("{}:  {}", r.point, values(r).join(" · ")))
                .collect(),
        }
    }

    /// x of the i-th row.
    fn x(&self, i: usize) -> f64 {
        match self {
            XAxis::Numeric { xs, .. } => xs[i],
            _ => i as f64,
        }
    }

    fn range(&self, n: usize) -> (f64, f64) {
        match self {
            XAxis::Numeric { xs, .. } => {
                let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let pad = if hi > lo { (hi - lo) * 0.06 } else { 0.5 };
                (lo - pad, hi + pad)
            }
            XAxis::Single { .. } => (-1.0, 1.0),
            _ => (-0.5, n as f64 - 0.5),
        }
    }

    /// The tick label at `v`; category names cut to `chars` characters.
    fn label(&self, v: f64, span: f64, chars: usize) -> String {
        let slot = |v: f64| -> Option<usize> {
            let r = v.round();
            ((v - r).abs() < 1e-6 && r >= 0.0).then_some(r as usize)
        };
        match self {
            XAxis::Numeric { .. } => number(v, span),
            XAxis::Categories { names, .. } => slot(v)
                .and_then(|i| names.get(i))
                .map(|s| clip(s, chars))
                .unwrap_or_default(),
            XAxis::Index { key, .. } => slot(v)
                .filter(|i| *i < key.len())
                .map(|i| i.to_string())
                .unwrap_or_default(),
            XAxis::Single { name } => {
                if v.abs() < 1e-9 {
                    clip(name, chars)
                } else {
                    String::new()
                }
            }
        }
    }

    /// The axis title.
    fn desc(&self) -> String {
        match self {
            XAxis::Numeric { path, .. } | XAxis::Categories { path, .. } => path.clone(),
            XAxis::Index { .. } => "point (values in the key below)".to_owned(),
            XAxis::Single { .. } => String::new(),
        }
    }

    /// Number of labels to ask plotters for.
    fn labels(&self, n: usize) -> usize {
        match self {
            XAxis::Numeric { .. } => 7,
            XAxis::Single { .. } => 3,
            _ => n.clamp(2, 12),
        }
    }
}

fn value_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn clip(s: &str, chars: usize) -> String {
    let chars = chars.max(2);
    if s.chars().count() <= chars {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(chars - 1).collect();
        t.push('…');
        t
    }
}

/// An axis number with as many decimals as ticks `span / 5` apart need.
fn number(v: f64, span: f64) -> String {
    if span >= 1e4 || !span.is_finite() || span <= 0.0 {
        return short(v);
    }
    let step = span / 5.0;
    let digits = (-step.log10()).ceil().clamp(0.0, 6.0) as usize;
    let s = format!("{v:.digits$}");
    // No "-0.0" at the origin.
    if s.trim_start_matches(['-', '0', '.']).is_empty() {
        format!("{:.digits$}", 0.0)
    } else {
        s
    }
}

/// Decimals that show two significant digits of `half` (the interval's
/// half-width), or three of `mean` without one.
fn figure_digits(half: f64, mean: f64) -> usize {
    let (v, sig) = if half > 0.0 && half.is_finite() {
        (half, 2.0)
    } else {
        (mean.abs(), 3.0)
    };
    if v > 0.0 && v.is_finite() {
        // The nudge keeps 0.99999… (a difference of sums) in the decade of 1.
        (sig - 1.0 - (v.log10() + 1e-9).floor()).clamp(0.0, 6.0) as usize
    } else {
        0
    }
}

/// The whole chart on an area of [`SWEEP_PNG_SIZE`].
pub(crate) fn draw<DB: DrawingBackend>(
    root: &Area<DB>,
    m: &Manifest,
    rows: &[AggregateRow],
) -> Res {
    root.fill(&WHITE).map_err(msg)?;
    let axis = XAxis::of(m, rows);
    let (header, rest) = root.split_vertically(HEADER_H);
    draw_header(&header, m, rows, &axis)?;
    let panels_area = match &axis {
        XAxis::Index { paths, key } => {
            let (_, h) = rest.dim_in_pixel();
            let (top, bottom) = rest.split_vertically(h - KEY_H);
            draw_key(&bottom, paths, key)?;
            top
        }
        _ => rest,
    };
    let cells = panels_area.split_evenly((2, 3));
    for (cell, (metric, title, scale, unit)) in cells.iter().zip(PANELS) {
        panel(cell, rows, &axis, metric, title, scale, unit)?;
    }
    Ok(())
}

fn draw_header<DB: DrawingBackend>(
    area: &Area<DB>,
    m: &Manifest,
    rows: &[AggregateRow],
    axis: &XAxis,
) -> Res {
    let reps: Vec<u64> = rows.iter().map(|r| r.replications).collect();
    let (lo, hi) = (
        reps.iter().copied().min().unwrap_or(0),
        reps.iter().copied().max().unwrap_or(0),
    );
    let reps_text = if lo == hi {
        format!("{lo} replication{} each", if lo == 1 { "" } else { "s" })
    } else {
        format!("{lo} to {hi} replications per point")
    };
    let title = format!(
        "asyncflow sweep  ·  {}  ·  {} point{}, {}",
        m.scenario.as_deref().unwrap_or("(scenario built in code)"),
        rows.len(),
        if rows.len() == 1 { "" } else { "s" },
        reps_text
    );
    let (w, h) = area.dim_in_pixel();
    let room = w as i32 - 48;
    area.draw_text(&clip_px(&title, room, 22), &font(22), (24, 14))
        .map_err(msg)?;
    let mut key = "dot = mean across replications  ·  bar = 95% Student t interval".to_owned();
    if lo < 2 {
        key.push_str("  (none with a single replication)");
    }
    match axis {
        XAxis::Index { paths, .. } => {
            key.push_str(&format!(
                "  ·  x = point index over {} swept paths (key below)",
                paths.len()
            ));
        }
        XAxis::Single { .. } if !m.paths.is_empty() => {
            key.push_str(&format!("  ·  {}", m.paths.join(", ")));
        }
        _ => {}
    }
    area.draw_text(&clip_px(&key, room, 15), &muted(15), (24, 48))
        .map_err(msg)?;
    area.draw(&PathElement::new(
        vec![(24, h as i32 - 2), (w as i32 - 24, h as i32 - 2)],
        GRID.stroke_width(2),
    ))
    .map_err(msg)
}

/// Each point's values, in columns, as many as fit; the rest counted.
fn draw_key<DB: DrawingBackend>(area: &Area<DB>, paths: &[String], key: &[String]) -> Res {
    let (w, h) = area.dim_in_pixel();
    area.draw(&PathElement::new(
        vec![(24, 2), (w as i32 - 24, 2)],
        GRID.stroke_width(2),
    ))
    .map_err(msg)?;
    let heading = format!("Key  ·  point:  {}", paths.join(" · "));
    area.draw_text(&clip_px(&heading, w as i32 - 48, 14), &font(14), (24, 12))
        .map_err(msg)?;
    let size = 13;
    let widest = key.iter().map(|k| text_px(k, size)).max().unwrap_or(0);
    let col_w = (widest + 28).max(120);
    let cols = (((w as i32 - 48) / col_w).max(1)) as usize;
    let capacity = cols * KEY_LINES;
    let shown = if key.len() > capacity {
        capacity - 1
    } else {
        key.len()
    };
    let line_h = (h as i32 - 40) / KEY_LINES as i32;
    let style = muted(size).pos(Pos::new(HPos::Left, VPos::Top));
    for (i, entry) in key.iter().take(shown).enumerate() {
        let (col, line) = (i / KEY_LINES, i % KEY_LINES);
        let x = 24 + col as i32 * col_w;
        let y = 36 + line as i32 * line_h;
        area.draw_text(&clip_px(entry, col_w - 12, size), &style, (x, y))
            .map_err(msg)?;
    }
    if shown < key.len() {
        let i = shown;
        let (col, line) = (i / KEY_LINES, i % KEY_LINES);
        let text = format!("… {} more: see the table", key.len() - shown);
        area.draw_text(
            &text,
            &style,
            (24 + col as i32 * col_w, 36 + line as i32 * line_h),
        )
        .map_err(msg)?;
    }
    Ok(())
}

/// Rough width of `s` at `size` px (DejaVu Sans averages about 0.6 em).
fn text_px(s: &str, size: u32) -> i32 {
    (s.chars().count() as f64 * size as f64 * 0.6).ceil() as i32
}

/// `s` cut to about `px` pixels.
fn clip_px(s: &str, px: i32, size: u32) -> String {
    let max = ((px as f64) / (size as f64 * 0.6)).floor().max(2.0) as usize;
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

/// One point of a panel, in display units.
#[derive(Clone, Copy)]
struct Mark {
    x: f64,
    mean: f64,
    /// The 95% interval, when there is one.
    band: Option<(f64, f64)>,
}

/// One metric against x.
fn panel<DB: DrawingBackend>(
    area: &Area<DB>,
    rows: &[AggregateRow],
    axis: &XAxis,
    metric: Metric,
    title: &str,
    scale: f64,
    unit: Unit,
) -> Res {
    let colour = colour(metric);
    // Scaled; points without a finite mean (no request completed) are left out.
    let pts: Vec<Mark> = rows
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let ci: &Ci = r.get(metric)?;
            let mean = ci.mean * scale;
            mean.is_finite().then(|| {
                let band = ci
                    .low()
                    .zip(ci.high())
                    .map(|(l, h)| (l * scale, h * scale))
                    .filter(|(l, h)| l.is_finite() && h.is_finite());
                Mark {
                    x: axis.x(i),
                    mean,
                    band,
                }
            })
        })
        .collect();
    let top = pts
        .iter()
        .map(|p| p.band.map_or(p.mean, |(_, h)| h.max(p.mean)))
        .fold(0.0, f64::max);
    let bottom = pts
        .iter()
        .map(|p| p.band.map_or(p.mean, |(l, _)| l.min(p.mean)))
        .fold(0.0, f64::min);
    let mut y_hi = if top > 0.0 { top * 1.15 } else { 1.0 };
    if unit == Unit::Percent && top > 0.0 {
        // Utilisation reads best against its ceiling when it is close to it.
        y_hi = if top > 80.0 { y_hi.max(100.0) } else { y_hi };
    }
    let y_lo = if bottom < 0.0 { bottom * 1.15 } else { 0.0 };
    let (x_lo, x_hi) = axis.range(rows.len());
    let x_span = x_hi - x_lo;
    let y_span = y_hi - y_lo;
    let desc = axis.desc();
    let mut chart = ChartBuilder::on(area)
        .caption(title, font(17))
        .margin(14)
        .margin_right(22)
        .x_label_area_size(if desc.is_empty() { 30 } else { 50 })
        .y_label_area_size(60)
        .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)
        .map_err(msg)?;
    // Room per category on the x axis, in characters of the 13 px labels.
    let slots = rows.len().max(1) as i32;
    let chars = ((area.dim_in_pixel().0 as i32 - 110) / slots / 8).clamp(6, LABEL_CHARS as i32);
    let x_fmt = |v: &f64| axis.label(*v, x_span, chars as usize);
    let y_fmt = |v: &f64| number(*v, y_span);
    let mut mesh = chart.configure_mesh();
    mesh.disable_x_mesh()
        .light_line_style(WHITE)
        .bold_line_style(GRID)
        .axis_style(AXIS)
        .label_style(muted(13))
        .axis_desc_style(muted(13))
        .x_labels(axis.labels(rows.len()))
        .y_labels(6)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt);
    if !desc.is_empty() {
        mesh.x_desc(clip_px(&desc, area.dim_in_pixel().0 as i32 - 100, 13));
    }
    mesh.draw().map_err(msg)?;
    if pts.is_empty() {
        let style = muted(14).pos(Pos::new(HPos::Center, VPos::Center));
        chart
            .draw_series(std::iter::once(Text::new(
                "no value (no request completed)",
                ((x_lo + x_hi) / 2.0, (y_lo + y_hi) / 2.0),
                style,
            )))
            .map_err(msg)?;
        return Ok(());
    }
    if let XAxis::Single { .. } = axis {
        let mean = pts[0].mean;
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(-0.35, 0.0), (0.35, mean)],
                colour.mix(0.3).filled(),
            )))
            .map_err(msg)?;
    }
    if let XAxis::Numeric { .. } = axis {
        // Join the means in x order: the trend is what a numeric sweep is for.
        let mut line: Vec<(f64, f64)> = pts.iter().map(|p| (p.x, p.mean)).collect();
        line.sort_by(|a, b| a.0.total_cmp(&b.0));
        chart
            .draw_series(std::iter::once(PathElement::new(
                line,
                colour.mix(0.45).stroke_width(2),
            )))
            .map_err(msg)?;
    }
    let bar = colour.stroke_width(2);
    for &Mark { x, mean, band } in &pts {
        if let Some((lo, hi)) = band {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(x, lo), (x, hi)],
                    bar,
                )))
                .map_err(msg)?;
            for y in [lo, hi] {
                chart
                    .draw_series(std::iter::once(
                        EmptyElement::at((x, y)) + PathElement::new(vec![(-6, 0), (6, 0)], bar),
                    ))
                    .map_err(msg)?;
            }
        }
        chart
            .draw_series(std::iter::once(Circle::new((x, mean), 4, colour.filled())))
            .map_err(msg)?;
    }
    if let XAxis::Single { .. } = axis {
        // A single bar has room for its figures.
        let Mark { mean, band, .. } = pts[0];
        let text = match band {
            Some((lo, hi)) => {
                let d = figure_digits((hi - lo) / 2.0, mean);
                format!("{mean:.d$}  [{lo:.d$}, {hi:.d$}]")
            }
            None => {
                let d = figure_digits(0.0, mean);
                format!("{mean:.d$}")
            }
        };
        let style = (FAMILY, 14)
            .into_font()
            .color(&colour)
            .pos(Pos::new(HPos::Left, VPos::Center));
        let y = band.map_or(mean, |(_, h)| h.max(mean));
        chart
            .draw_series(std::iter::once(
                EmptyElement::at((0.0, y)) + Text::new(text, (12, -10), style),
            ))
            .map_err(msg)?;
    }
    Ok(())
}

/// The chart as PNG bytes, [`SWEEP_PNG_SIZE`] pixels (RGB, 8 bits per channel).
pub fn sweep_png(m: &Manifest, rows: &[AggregateRow]) -> Result<Vec<u8>, ReportError> {
    if !font_ready() {
        return Err(ReportError::Font);
    }
    let (w, h) = SWEEP_PNG_SIZE;
    let mut rgb = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        draw(&root, m, rows).map_err(ReportError::Draw)?;
        root.present()
            .map_err(|e| ReportError::Draw(e.to_string()))?;
    }
    crate::report::encode_png(&rgb, w, h)
}

/// The chart as an inline `<svg>` element (no namespace, no URL), the same
/// drawing as [`sweep_png`].
pub fn sweep_svg(m: &Manifest, rows: &[AggregateRow]) -> Result<String, ReportError> {
    if !font_ready() {
        return Err(ReportError::Font);
    }
    let (w, h) = SWEEP_PNG_SIZE;
    crate::report::html::svg(w, h, |root| draw(root, m, rows)).map_err(ReportError::Draw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::ManifestPoint;

    /// A manifest of `values` (one row per point) and rows whose metrics grow
    /// with the point index; `reps` replications each (1: no interval).
    fn synthetic(
        paths: &[&str],
        values: &[Vec<serde_json::Value>],
        reps: u64,
    ) -> (Manifest, Vec<AggregateRow>) {
        let m = Manifest {
            format: 1,
            engine_version: "test".into(),
            scenario: Some("synthetic.yml".into()),
            scenario_sha256: String::new(),
            replications: reps,
            horizon_s: None,
            outputs: "all".into(),
            until_ci: None,
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
            points: values
                .iter()
                .enumerate()
                .map(|(point, v)| ManifestPoint {
                    point,
                    seed: 1,
                    scenario_sha256: String::new(),
                    values: v.clone(),
                })
                .collect(),
        };
        let rows = (0..values.len())
            .map(|k| {
                let f = 1.0 + k as f64;
                AggregateRow {
                    point: k as u64,
                    replications: reps,
                    metrics: Metric::ALL
                        .iter()
                        .map(|&metric| {
                            let mean = 0.01 * f;
                            let half = (reps > 1).then_some(mean * 0.1);
                            (
                                metric,
                                Ci {
                                    n: reps,
                                    mean,
                                    half,
                                },
                            )
                        })
                        .collect(),
                }
            })
            .collect();
        (m, rows)
    }

    fn decode(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
        let dec = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = dec.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        buf.truncate(info.buffer_size());
        (info.width, info.height, buf)
    }

    #[test]
    fn the_axis_follows_the_grid() {
        use serde_json::json;
        let (m, r) = synthetic(&["a"], &[vec![json!(1)], vec![json!("2.5")]], 3);
        assert_eq!(
            XAxis::of(&m, &r),
            XAxis::Numeric {
                path: "a".into(),
                xs: vec![1.0, 2.5]
            }
        );
        let (m, r) = synthetic(&["lb"], &[vec![json!("round_robin")], vec![json!(2)]], 3);
        assert!(matches!(XAxis::of(&m, &r), XAxis::Categories { .. }));
        let (m, r) = synthetic(
            &["a", "b"],
            &[vec![json!(1), json!(true)], vec![json!(2), json!(false)]],
            3,
        );
        match XAxis::of(&m, &r) {
            XAxis::Index { key, .. } => assert_eq!(key[1], "1:  2 · false"),
            other => panic!("{other:?}"),
        }
        let (m, r) = synthetic(&[], &[vec![]], 3);
        assert_eq!(
            XAxis::of(&m, &r),
            XAxis::Single {
                name: "all replications".into()
            }
        );
    }

    #[test]
    fn every_kind_of_grid_draws_a_chart_of_the_documented_size() {
        use serde_json::json;
        let many: Vec<Vec<serde_json::Value>> = (0..40)
            .map(|k| vec![json!(k * 10), json!(format!("alg{}", k % 3))])
            .collect();
        // No request completed anywhere: latency panels say so, others draw.
        let mut idle = synthetic(&["users"], &[vec![json!(0)], vec![json!(1)]], 3);
        for row in &mut idle.1 {
            for (metric, ci) in &mut row.metrics {
                if matches!(
                    metric,
                    Metric::LatencyMean | Metric::LatencyP95 | Metric::LatencyP99
                ) {
                    *ci = Ci {
                        n: 3,
                        mean: f64::NAN,
                        half: Some(f64::NAN),
                    };
                }
            }
        }
        let cases = [
            synthetic(
                &["users"],
                &[vec![json!(10)], vec![json!(20)], vec![json!(40)]],
                5,
            ),
            synthetic(
                &["lb"],
                &[
                    vec![json!("round_robin")],
                    vec![json!("least_connection_first")],
                ],
                2,
            ),
            synthetic(&["users", "lb"], &many, 3),
            synthetic(&[], &[vec![]], 4),
            synthetic(&["users"], &[vec![json!(10)], vec![json!(20)]], 1),
            idle,
        ];
        for (i, (m, rows)) in cases.iter().enumerate() {
            let bytes = sweep_png(m, rows).unwrap();
            let (w, h, px) = decode(&bytes);
            assert_eq!((w, h), SWEEP_PNG_SIZE, "case {i}");
            let non_white = px.chunks(3).filter(|p| p != &[255, 255, 255]).count();
            assert!(
                non_white > (w * h / 50) as usize,
                "case {i}: {non_white} drawn pixels"
            );
            if let Ok(dir) = std::env::var("SWEEP_CHART_DUMP") {
                std::fs::write(format!("{dir}/case{i}.png"), &bytes).unwrap();
            }
            let svg = sweep_svg(m, rows).unwrap();
            assert!(svg.starts_with("<svg"), "case {i}");
            assert!(!svg.contains("http"), "case {i}");
        }
    }

    #[test]
    fn axis_numbers_have_the_decimals_their_spacing_needs() {
        assert_eq!(number(12.0, 50.0), "12");
        assert_eq!(number(0.26, 1.0), "0.3");
        assert_eq!(number(0.025, 0.1), "0.03");
        assert_eq!(number(-0.0, 1.0), "0.0");
        assert_eq!(number(-0.0, 50.0), "0");
        assert_eq!(number(25_000.0, 50_000.0), "25k");
    }

    #[test]
    fn bar_figures_show_two_digits_of_the_interval() {
        assert_eq!(figure_digits(0.35, 23.6), 2);
        assert_eq!(figure_digits(26.0, 180.0), 0);
        assert_eq!(figure_digits(0.0, 23.6), 1);
        assert_eq!(figure_digits(0.0, 0.0), 0);
        assert_eq!(figure_digits((11.0 - 9.000000001) / 2.0, 10.0), 1);
    }

    #[test]
    fn long_labels_are_cut_with_an_ellipsis() {
        assert_eq!(clip("short", 16), "short");
        let c = clip("least_connection_with_a_long_tail", 16);
        assert_eq!(c.chars().count(), 16);
        assert!(c.ends_with('…'));
    }
}
