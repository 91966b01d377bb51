//! The charts, drawn once for any plotters backend: the bitmap one for
//! `dashboard.png`, the SVG one for `report.html`.
//!
//! Text is laid out with the embedded DejaVu Sans (see `docs/decisions.md`,
//! "Report font"), so rendering needs no system font and gives the same pixels
//! on every machine.

use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::data::{
    EventKindShown, EventWindow, Line, RunData, SERVER_METRICS, SOCKET_METRICS, ServerSeries,
};

/// DejaVu Sans (Bitstream Vera licence, `src/report/DejaVuSans-LICENSE.txt`).
static FONT: &[u8] = include_bytes!("DejaVuSans.ttf");
/// The family name charts ask for; SVG text names it too, so a browser falls
/// back to its own sans-serif.
pub(crate) const FAMILY: &str = "sans-serif";

/// Register the embedded font once; false if it could not be parsed.
pub(crate) fn font_ready() -> bool {
    static READY: OnceLock<bool> = OnceLock::new();
    *READY.get_or_init(|| {
        plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok()
            && plotters::style::register_font(FAMILY, FontStyle::Bold, FONT).is_ok()
    })
}

/// Main line colour (a muted blue).
pub(crate) const INK: RGBColor = RGBColor(46, 94, 150);
const TEXT: RGBColor = RGBColor(40, 44, 52);
const MUTED: RGBColor = RGBColor(110, 116, 126);
pub(crate) const GRID: RGBColor = RGBColor(234, 236, 240);
pub(crate) const AXIS: RGBColor = RGBColor(160, 166, 176);
pub(crate) const DROPS: RGBColor = RGBColor(196, 62, 48);
const OUTAGE: RGBColor = RGBColor(214, 69, 65);
const SPIKE: RGBColor = RGBColor(230, 145, 30);
/// Colours of the latency markers: mean, p50, p95, p99.
pub(crate) const MARKERS: [RGBColor; 4] = [
    RGBColor(90, 90, 90),
    RGBColor(38, 140, 110),
    RGBColor(220, 130, 20),
    RGBColor(196, 50, 50),
];

/// Width of `dashboard.png`, pixels.
pub const PNG_WIDTH: u32 = 1600;
/// Height of the header band of `dashboard.png`.
pub const HEADER_H: u32 = 100;
/// Height of the latency/throughput row.
pub const TOP_ROW_H: u32 = 400;
/// Height of one server's row.
pub const SERVER_ROW_H: u32 = 260;

/// Size of `dashboard.png` with `servers` server rows (see
/// [`RunData::server_rows`]; at least one row is drawn).
pub fn png_size(servers: usize) -> (u32, u32) {
    let rows = servers.max(1) as u32;
    (PNG_WIDTH, HEADER_H + TOP_ROW_H + SERVER_ROW_H * rows)
}

type Area<DB> = DrawingArea<DB, Shift>;
type TimeChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;
type Res = Result<(), String>;

trait Msg<T> {
    fn msg(self) -> Result<T, String>;
}

impl<T, E: std::fmt::Display> Msg<T> for Result<T, E> {
    fn msg(self) -> Result<T, String> {
        self.map_err(|e| e.to_string())
    }
}

pub(crate) fn font(size: u32) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(&TEXT)
}

pub(crate) fn muted(size: u32) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(&MUTED)
}

/// `1234567` → `1.2M`, for axis labels.
pub(crate) fn short(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else if a >= 10.0 || v == v.trunc() {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// A latency in the unit that reads best.
pub(crate) fn latency_label(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.3} s")
    } else if s >= 0.1e-3 {
        format!("{:.2} ms", s * 1e3)
    } else {
        format!("{:.1} µs", s * 1e6)
    }
}

/// The whole dashboard on one drawing area of [`png_size`].
pub(crate) fn dashboard<DB: DrawingBackend>(root: &Area<DB>, data: &RunData) -> Res {
    root.fill(&WHITE).msg()?;
    let (header, rest) = root.split_vertically(HEADER_H);
    draw_header(&header, data)?;
    let (top, servers) = rest.split_vertically(TOP_ROW_H);
    let (left, right) = top.split_horizontally(PNG_WIDTH / 2);
    latency(&left, data)?;
    throughput(&right, data)?;
    server_rows(&servers, data)
}

fn draw_header<DB: DrawingBackend>(area: &Area<DB>, data: &RunData) -> Res {
    let s = &data.summary;
    let r = &s.results;
    let title = format!(
        "asyncflow {}  ·  {}  ·  seed {}  ·  {:.0} s simulated  ·  {}",
        s.engine.version,
        s.scenario
            .path
            .as_deref()
            .unwrap_or("(scenario built in code)"),
        s.run.seed,
        s.run.simulated_s,
        s.run.status
    );
    let figures = format!(
        "{} requests completed, {} dropped  ·  latency mean {}, p99 {}  ·  throughput mean {:.1} rps",
        super::count(r.requests.completed),
        super::count(r.requests.dropped),
        latency_label(r.latency.mean_s),
        latency_label(r.latency.p99_s),
        r.throughput.mean_rps
    );
    area.draw_text(&title, &font(22), (24, 14)).msg()?;
    area.draw_text(&figures, &muted(17), (24, 46)).msg()?;
    let (w, h) = area.dim_in_pixel();
    let mut key = String::new();
    if data.samples_written && r.servers.len() > data.servers.len() {
        key = format!(
            "{} busiest of {} servers  ·  ",
            data.servers.len(),
            r.servers.len()
        );
    }
    key.push_str(
        "gauges: line = time-weighted mean, band up to the max  ·  shaded = injected events",
    );
    area.draw_text(&key, &muted(14), (24, 74)).msg()?;
    area.draw(&PathElement::new(
        vec![(24, h as i32 - 2), (w as i32 - 24, h as i32 - 2)],
        GRID.stroke_width(2),
    ))
    .msg()
}

/// A panel that has nothing to plot: its title and why.
pub(crate) fn message<DB: DrawingBackend>(area: &Area<DB>, title: &str, why: &str) -> Res {
    let (w, h) = area.dim_in_pixel();
    area.draw(&Rectangle::new(
        [(16, 12), (w as i32 - 16, h as i32 - 12)],
        GRID.stroke_width(1),
    ))
    .msg()?;
    area.draw_text(title, &font(17), (28, 22)).msg()?;
    let style = muted(15).pos(Pos::new(HPos::Center, VPos::Center));
    area.draw_text(why, &style, (w as i32 / 2, h as i32 / 2))
        .msg()
}

/// Latency histogram with mean, p50, p95 and p99 marked.
pub(crate) fn latency<DB: DrawingBackend>(area: &Area<DB>, data: &RunData) -> Res {
    const TITLE: &str = "Latency of completed requests";
    let Some(h) = &data.latency else {
        return message(
            area,
            TITLE,
            "requests.parquet was not written for this run (--outputs)",
        );
    };
    if h.total == 0 {
        return message(area, TITLE, "no request completed");
    }
    let to_ms = 1e3;
    let l = &data.summary.results.latency;
    let mut marks: Vec<(&str, f64, RGBColor)> = [
        ("mean", l.mean_s),
        ("p50", l.p50_s),
        ("p95", l.p95_s),
        ("p99", l.p99_s),
    ]
    .into_iter()
    .zip(MARKERS)
    .map(|((name, v), c)| (name, v * to_ms, c))
    .filter(|(_, x, _)| x.is_finite() && *x >= 0.0)
    .collect();
    // Leftmost marker gets the tallest line and the highest label: every label
    // sits right of its line, where only shorter lines stand, so none is crossed.
    marks.sort_by(|a, b| a.1.total_cmp(&b.1));
    let bins_ms = h.bin_s * h.counts.len() as f64 * to_ms;
    // Room right of the last marker for its label.
    let last = marks.last().map_or(0.0, |m| m.1);
    let hi_ms = bins_ms.max(last * 1.25);
    let top = h.counts.iter().copied().max().unwrap_or(1).max(1) as f64;
    let x_desc = if h.above > 0 {
        format!(
            "latency (ms)  ·  {} slower not drawn, up to {}",
            super::count(h.above),
            latency_label(l.max_s)
        )
    } else {
        "latency (ms)".to_owned()
    };
    // Head room above the tallest bar for the marker labels.
    let y_max = top * 1.45;
    let mut chart = ChartBuilder::on(area)
        .caption(TITLE, font(19))
        .margin(16)
        .x_label_area_size(46)
        .y_label_area_size(56)
        .build_cartesian_2d(0f64..hi_ms, 0f64..y_max)
        .msg()?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(WHITE)
        .bold_line_style(GRID)
        .axis_style(AXIS)
        .label_style(muted(13))
        .axis_desc_style(muted(14))
        .x_desc(x_desc)
        .y_labels(6)
        .x_labels(8)
        .y_label_formatter(&|v| short(*v))
        .x_label_formatter(&|v| format!("{v:.1}"))
        .draw()
        .msg()?;
    let bin_ms = h.bin_s * to_ms;
    chart
        .draw_series(
            h.counts
                .iter()
                .enumerate()
                .filter(|(_, c)| **c > 0)
                .map(|(i, &c)| {
                    let x0 = i as f64 * bin_ms;
                    Rectangle::new(
                        [(x0 + bin_ms * 0.06, 0.0), (x0 + bin_ms * 0.94, c as f64)],
                        INK.mix(0.75).filled(),
                    )
                }),
        )
        .msg()?;
    for (row, (name, x, color)) in marks.iter().enumerate() {
        let y = y_max * (0.95 - 0.075 * row as f64);
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(*x, 0.0), (*x, y)],
                color.stroke_width(2),
            )))
            .msg()?;
        let style = (FAMILY, 14)
            .into_font()
            .color(color)
            .pos(Pos::new(HPos::Left, VPos::Center));
        let label = format!("{name} {}", latency_label(x / to_ms));
        chart
            .draw_series(std::iter::once(
                EmptyElement::at((*x, y)) + Text::new(label, (5, 0), style),
            ))
            .msg()?;
    }
    Ok(())
}

fn x_end(data: &RunData) -> f64 {
    let s = data.summary.run.simulated_s;
    if s.is_finite() && s > 0.0 { s } else { 1.0 }
}

/// Shade every event window over `y_lo..y_hi` and label it at the top.
fn shade_events<DB: DrawingBackend>(
    chart: &mut TimeChart<'_, DB>,
    events: &[EventWindow],
    y_hi: f64,
    label_size: u32,
) -> Res {
    for (i, e) in events.iter().enumerate() {
        let color = match e.kind {
            EventKindShown::ServerDown => OUTAGE,
            EventKindShown::NetworkSpike => SPIKE,
        };
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(e.start_s, 0.0), (e.end_s, y_hi)],
                color.mix(0.12).filled(),
            )))
            .msg()?;
        let style = (FAMILY, label_size)
            .into_font()
            .color(&color.mix(0.95))
            .pos(Pos::new(HPos::Left, VPos::Top));
        let dy = 3 + (i % 3) as i32 * (label_size as i32 + 3);
        chart
            .draw_series(std::iter::once(
                EmptyElement::at((e.start_s, y_hi)) + Text::new(e.id.clone(), (4, dy), style),
            ))
            .msg()?;
    }
    Ok(())
}

fn time_mesh<DB: DrawingBackend>(chart: &mut TimeChart<'_, DB>, label: u32) -> Res {
    let mut mesh = chart.configure_mesh();
    mesh.light_line_style(WHITE)
        .bold_line_style(GRID)
        .axis_style(AXIS)
        .label_style(muted(label))
        .axis_desc_style(muted(label + 1))
        .x_labels(8)
        .y_labels(5)
        .y_label_formatter(&|v| short(*v))
        .x_label_formatter(&|v| short(*v));
    mesh.draw().msg()
}

/// Completions (and drops, if any) per second over simulated time.
pub(crate) fn throughput<DB: DrawingBackend>(area: &Area<DB>, data: &RunData) -> Res {
    const TITLE: &str = "Throughput (requests per second)";
    let Some(t) = &data.throughput else {
        return message(
            area,
            TITLE,
            "requests.parquet was not written for this run (--outputs)",
        );
    };
    let x1 = x_end(data);
    let peak = t
        .completed_rps
        .iter()
        .chain(&t.dropped_rps)
        .copied()
        .fold(0.0, f64::max);
    let y_hi = if peak > 0.0 { peak * 1.25 } else { 1.0 };
    let mut chart = ChartBuilder::on(area)
        .caption(TITLE, font(19))
        .margin(16)
        .x_label_area_size(46)
        .y_label_area_size(56)
        .build_cartesian_2d(0f64..x1, 0f64..y_hi)
        .msg()?;
    time_mesh(&mut chart, 13)?;
    if let Some(ev) = &data.events {
        shade_events(&mut chart, ev, y_hi, 13)?;
    }
    let points = |v: &[f64]| -> Vec<(f64, f64)> {
        v.iter()
            .enumerate()
            .map(|(i, &r)| (((i as f64 + 0.5) * t.bucket_s).min(x1), r))
            .collect()
    };
    chart
        .draw_series(LineSeries::new(
            points(&t.completed_rps),
            INK.stroke_width(2),
        ))
        .msg()?;
    let drops = t.dropped_rps.iter().any(|&d| d > 0.0);
    if drops {
        chart
            .draw_series(LineSeries::new(
                points(&t.dropped_rps),
                DROPS.stroke_width(2),
            ))
            .msg()?;
    }
    // Axis title on the left and legend on the right, both below the plot,
    // where neither event labels nor lines can run into them.
    let (w, h) = area.dim_in_pixel();
    let style = muted(14).pos(Pos::new(HPos::Left, VPos::Center));
    area.draw_text("simulated time (s)", &style, (72, h as i32 - 22))
        .msg()?;
    let mut entries = vec![("completed", INK)];
    if drops {
        entries.push(("dropped", DROPS));
    }
    let mut x = w as i32 - 24 - 112 * entries.len() as i32;
    let y = h as i32 - 22;
    for (name, color) in entries {
        area.draw(&PathElement::new(
            vec![(x, y), (x + 20, y)],
            color.stroke_width(3),
        ))
        .msg()?;
        let style = muted(13).pos(Pos::new(HPos::Left, VPos::Center));
        area.draw_text(name, &style, (x + 26, y)).msg()?;
        x += 112;
    }
    Ok(())
}

/// One row per charted server (or one row saying why there is none).
pub(crate) fn server_rows<DB: DrawingBackend>(area: &Area<DB>, data: &RunData) -> Res {
    if !data.samples_written {
        return message(
            area,
            "Servers",
            "samples.parquet was not written for this run (--outputs)",
        );
    }
    if data.servers.is_empty() {
        return message(area, "Servers", "the scenario has no server");
    }
    let rows = area.split_evenly((data.servers.len() + data.sockets.len(), 1));
    for (row, server) in rows.iter().zip(&data.servers) {
        server_row(row, server, data)?;
    }
    for (row, node) in rows[data.servers.len()..].iter().zip(&data.sockets) {
        socket_row(row, node, data)?;
    }
    Ok(())
}

/// Open sockets, socket RAM and accept backlog of one node, side by side.
pub(crate) fn socket_row<DB: DrawingBackend>(
    area: &Area<DB>,
    node: &ServerSeries,
    data: &RunData,
) -> Res {
    gauge_row(area, node, &SOCKET_METRICS, data)
}

/// Ready queue, I/O sleepers and RAM of one server, side by side.
pub(crate) fn server_row<DB: DrawingBackend>(
    area: &Area<DB>,
    server: &ServerSeries,
    data: &RunData,
) -> Res {
    gauge_row(area, server, &SERVER_METRICS, data)
}

fn gauge_row<DB: DrawingBackend>(
    area: &Area<DB>,
    server: &ServerSeries,
    metrics: &[(&str, &str); 3],
    data: &RunData,
) -> Res {
    let panels = area.split_evenly((1, metrics.len()));
    for ((panel, line), &(metric, label)) in panels.iter().zip(&server.metrics).zip(metrics) {
        let title = format!("{}  ·  {label}", server.id);
        if line.t.is_empty() {
            message(
                panel,
                &title,
                &format!("{metric} was not sampled for this server"),
            )?;
            continue;
        }
        gauge(panel, &title, line, data)?;
    }
    Ok(())
}

fn gauge<DB: DrawingBackend>(area: &Area<DB>, title: &str, line: &Line, data: &RunData) -> Res {
    let x1 = x_end(data);
    let peak = line.max.iter().copied().fold(0.0, f64::max);
    let y_hi = if peak > 0.0 { peak * 1.15 } else { 1.0 };
    let mut chart = ChartBuilder::on(area)
        .caption(title, font(16))
        .margin(12)
        .x_label_area_size(26)
        .y_label_area_size(48)
        .build_cartesian_2d(0f64..x1, 0f64..y_hi)
        .msg()?;
    time_mesh(&mut chart, 12)?;
    if let Some(ev) = &data.events {
        shade_events(&mut chart, ev, y_hi, 11)?;
    }
    // The max as a light band above the mean line.
    let band: Vec<(f64, f64)> = line
        .t
        .iter()
        .zip(&line.max)
        .map(|(&t, &m)| (t, m))
        .chain(line.t.iter().zip(&line.mean).rev().map(|(&t, &m)| (t, m)))
        .collect();
    chart
        .draw_series(std::iter::once(Polygon::new(band, INK.mix(0.18).filled())))
        .msg()?;
    chart
        .draw_series(LineSeries::new(
            line.t.iter().copied().zip(line.mean.iter().copied()),
            INK.stroke_width(2),
        ))
        .msg()?;
    Ok(())
}
