//! `report.html`: one page with no external resource and no script — the
//! summary tables, the dashboard's charts as inline SVG, the scenario text and
//! the run's metadata.

use std::fmt::Write;

use plotters::prelude::*;

use super::charts::{self, SERVER_ROW_H, TOP_ROW_H};
use super::count;
use super::data::RunData;

/// Escape text for HTML element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Milliseconds with three decimals, as the terminal summary prints them.
pub fn ms(s: f64) -> String {
    format!("{:.3}", s * 1e3)
}

const STYLE: &str = r#"
:root { --ink: #2e5e96; --text: #282c34; --muted: #6e747e; --line: #e3e6eb; --band: #f6f7f9; }
* { box-sizing: border-box; }
body { margin: 0; background: #fff; color: var(--text);
  font: 15px/1.45 "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif; }
main { max-width: 1240px; margin: 0 auto; padding: 28px 32px 48px; }
h1 { font-size: 24px; font-weight: 600; margin: 0 0 4px; }
h2 { font-size: 18px; font-weight: 600; margin: 36px 0 10px; padding-bottom: 6px;
  border-bottom: 2px solid var(--line); }
h3 { font-size: 15px; font-weight: 600; margin: 18px 0 6px; color: var(--muted); }
.sub { color: var(--muted); margin: 0 0 18px; }
.status-interrupted { color: #b3261e; font-weight: 600; }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; margin: 18px 0 4px; }
.card { background: var(--band); border-radius: 6px; padding: 10px 14px; }
.card .k { color: var(--muted); font-size: 13px; }
.card .v { font-size: 21px; font-weight: 600; font-variant-numeric: tabular-nums; }
.grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 24px; align-items: start; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; font-size: 14px; }
th, td { padding: 4px 12px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
th { color: var(--muted); font-weight: 600; font-size: 13px; }
td.n, th.n { text-align: right; }
tbody tr:nth-child(even) td { background: #fafbfc; }
.wide { overflow-x: auto; }
figure { margin: 0; }
svg { display: block; width: 100%; height: auto; }
.note { color: var(--muted); font-size: 13px; }
details { margin-top: 8px; }
summary { cursor: pointer; color: var(--ink); }
pre { background: var(--band); padding: 12px 16px; border-radius: 6px; overflow-x: auto;
  font: 13px/1.4 "DejaVu Sans Mono", Menlo, Consolas, monospace; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; font-variant-numeric: tabular-nums; word-break: break-all; }
"#;

/// An inline SVG of `w`×`h` drawn by `draw`.
pub(crate) fn svg(
    w: u32,
    h: u32,
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, plotters::coord::Shift>) -> Result<(), String>,
) -> Result<String, String> {
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        draw(&root)?;
        root.present().map_err(|e| e.to_string())?;
    }
    // Inline SVG in HTML needs no namespace; dropping it leaves the page with
    // no URL at all.
    let s = s
        .replace(" xmlns=\"http://www.w3.org/2000/svg\"", "")
        .replacen("<svg ", "<svg role=\"img\" ", 1);
    Ok(undo_font_shrink(&s))
}

/// The SVG backend writes `font-size` as the requested size / 1.24 while the
/// bitmap backend draws glyphs at the requested size; scale it back so the
/// page's text is as large as the PNG's.
fn undo_font_shrink(svg: &str) -> String {
    const KEY: &str = "font-size=\"";
    let mut out = String::with_capacity(svg.len());
    let mut rest = svg;
    while let Some(i) = rest.find(KEY) {
        let (head, tail) = rest.split_at(i + KEY.len());
        out.push_str(head);
        let end = tail.find('"').unwrap_or(tail.len());
        match tail[..end].parse::<f64>() {
            Ok(v) => {
                let _ = write!(out, "{:.1}", v * 1.24);
            }
            Err(_) => out.push_str(&tail[..end]),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Width of the page's content column, CSS pixels: charts are drawn at the
/// size they are shown, so their text keeps its size.
const CONTENT_W: u32 = 1176;
/// Gap between the two top charts.
const GAP_W: u32 = 24;

struct Table {
    html: String,
}

impl Table {
    /// `heads`: column titles; a leading `#` marks a numeric (right-aligned) column.
    fn new(heads: &[&str]) -> Table {
        let mut html = String::from("<div class=\"wide\"><table><thead><tr>");
        for h in heads {
            match h.strip_prefix('#') {
                Some(h) => {
                    let _ = write!(html, "<th class=\"n\">{}</th>", escape(h));
                }
                None => {
                    let _ = write!(html, "<th>{}</th>", escape(h));
                }
            }
        }
        html.push_str("</tr></thead><tbody>");
        Table { html }
    }

    /// A row; cells starting with `#` are numeric.
    fn row(&mut self, cells: &[String]) {
        self.html.push_str("<tr>");
        for c in cells {
            match c.strip_prefix('#') {
                Some(c) => {
                    let _ = write!(self.html, "<td class=\"n\">{}</td>", escape(c));
                }
                None => {
                    let _ = write!(self.html, "<td>{}</td>", escape(c));
                }
            }
        }
        self.html.push_str("</tr>");
    }

    fn finish(mut self) -> String {
        self.html.push_str("</tbody></table></div>");
        self.html
    }
}

fn n(s: impl std::fmt::Display) -> String {
    format!("#{s}")
}

fn card(o: &mut String, k: &str, v: &str) {
    let _ = write!(
        o,
        "<div class=\"card\"><div class=\"k\">{}</div><div class=\"v\">{}</div></div>",
        escape(k),
        escape(v)
    );
}

/// The "Sockets" section: per-node sockets and per-edge connections from the
/// summary, and the socket gauges of the nodes with the most sockets.
fn sockets(o: &mut String, data: &RunData) -> Result<(), String> {
    let r = &data.summary.results;
    o.push_str("<h2>Sockets</h2>\n");
    o.push_str(
        "<p class=\"note\">Open sockets and their RAM per node (peak = the most at \
         once: what a socket limit and the node's memory must hold), and connections \
         per edge.</p>\n",
    );
    if !r.sockets.is_empty() {
        let mut t = Table::new(&[
            "node",
            "kind",
            "#max",
            "#open mean",
            "#open peak",
            "#RAM mean MB",
            "#RAM peak MB",
            "#backlog peak",
            "#accepted",
            "#refused",
        ]);
        for x in &r.sockets {
            t.row(&[
                x.id.clone(),
                x.kind.clone(),
                n(x.max.map_or("unlimited".to_owned(), |m| m.to_string())),
                n(format!("{:.1}", x.open_mean)),
                n(format!("{:.0}", x.open_max)),
                n(format!("{:.3}", x.socket_ram_mean_mb)),
                n(format!("{:.3}", x.socket_ram_max_mb)),
                n(format!("{:.0}", x.backlog_max)),
                n(count(x.accepted)),
                n(count(x.refused)),
            ]);
        }
        o.push_str(&t.finish());
    }
    if !r.connections.is_empty() {
        let mut t = Table::new(&[
            "edge",
            "mode",
            "#opened",
            "#reused",
            "#refused",
            "#open mean",
            "#open peak",
            "#idle mean",
            "#lifetime ms",
            "#requests/conn",
        ]);
        for x in &r.connections {
            t.row(&[
                x.id.clone(),
                x.mode.clone(),
                n(count(x.opened)),
                n(count(x.reused)),
                n(count(x.refused)),
                n(format!("{:.1}", x.open_mean)),
                n(format!("{:.0}", x.open_max)),
                n(format!("{:.1}", x.idle_mean)),
                n(ms(x.lifetime_mean_s)),
                n(format!("{:.1}", x.requests_per_connection)),
            ]);
        }
        o.push_str(&t.finish());
    }
    for node in &data.sockets {
        let f = svg(CONTENT_W, SERVER_ROW_H, |a| {
            charts::socket_row(a, node, data)
        })?;
        let _ = writeln!(o, "<figure>{f}</figure>");
    }
    if data.sockets.len() < r.sockets.len() {
        let _ = writeln!(
            o,
            "<p class=\"note\">{} of {} nodes charted: those with the most sockets at peak.</p>",
            data.sockets.len(),
            r.sockets.len()
        );
    }
    Ok(())
}

/// The "Services" section: per-service latency from `spans.parquet` and the
/// service graph.
fn services(o: &mut String, sv: &super::services::Services) -> Result<(), String> {
    o.push_str("<h2>Services</h2>\n");
    o.push_str(
        "<p class=\"note\">Calls seen from the caller (send to reply, both edges \
         included), from spans.parquet; latency of the completed calls.</p>\n",
    );
    let mut t = Table::new(&[
        "callee",
        "endpoint",
        "#calls",
        "#completed",
        "#mean ms",
        "#p50 ms",
        "#p95 ms",
        "#p99 ms",
    ]);
    for r in &sv.rows {
        t.row(&[
            r.callee.clone(),
            r.endpoint.clone(),
            n(count(r.calls)),
            n(format!(
                "{:.2}%",
                100.0 * r.completed as f64 / r.calls.max(1) as f64
            )),
            n(ms(r.mean_s)),
            n(ms(r.p50_s)),
            n(ms(r.p95_s)),
            n(ms(r.p99_s)),
        ]);
    }
    o.push_str(&t.finish());
    if sv.more_rows > 0 {
        let _ = writeln!(
            o,
            "<p class=\"note\">{} quieter (callee, endpoint) pairs not listed.</p>",
            sv.more_rows
        );
    }
    let h = super::services::graph_height(sv);
    let f = svg(CONTENT_W, h, |a| super::services::graph(a, sv))?;
    let _ = writeln!(o, "<figure>{f}</figure>");
    Ok(())
}

/// The whole page.
pub(crate) fn page(data: &RunData) -> Result<String, String> {
    let s = &data.summary;
    let r = &s.results;
    let path = s
        .scenario
        .path
        .as_deref()
        .unwrap_or("(scenario built in code)");
    let mut o = String::with_capacity(256 * 1024);
    let _ = writeln!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>asyncflow report · {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>",
        escape(path)
    );
    let status = if s.run.status == "complete" {
        escape(&s.run.status)
    } else {
        format!(
            "<span class=\"status-interrupted\">{}</span>",
            escape(&s.run.status)
        )
    };
    let _ = writeln!(
        o,
        "<h1>asyncflow report</h1>\n<p class=\"sub\">{} · seed {} · {:.0} s simulated · {}</p>",
        escape(path),
        s.run.seed,
        s.run.simulated_s,
        status
    );

    o.push_str("<div class=\"cards\">");
    card(&mut o, "requests completed", &count(r.requests.completed));
    card(&mut o, "dropped", &count(r.requests.dropped));
    card(
        &mut o,
        "p99 latency",
        &format!("{} ms", ms(r.latency.p99_s)),
    );
    card(
        &mut o,
        "mean throughput",
        &format!("{:.1} rps", r.throughput.mean_rps),
    );
    o.push_str("</div>\n");

    // Summary tables.
    o.push_str("<h2>Summary</h2>\n<div class=\"grid2\">\n<div>\n<h3>Requests</h3>\n");
    let q = &r.requests;
    let mut t = Table::new(&["", "#count"]);
    t.row(&["generated".into(), n(count(q.generated))]);
    t.row(&["completed".into(), n(count(q.completed))]);
    t.row(&["dropped".into(), n(count(q.dropped))]);
    t.row(&[
        "in flight at horizon".into(),
        n(count(q.in_flight_at_horizon)),
    ]);
    let ended = q.completed + q.dropped;
    let rate = if ended > 0 {
        format!("{:.3} %", q.dropped as f64 / ended as f64 * 100.0)
    } else {
        "–".into()
    };
    t.row(&["drop rate (of ended)".into(), n(rate)]);
    o.push_str(&t.finish());
    o.push_str("<h3>Throughput</h3>\n");
    let th = &r.throughput;
    let mut t = Table::new(&["", "#requests/s"]);
    t.row(&["mean".into(), n(format!("{:.1}", th.mean_rps))]);
    t.row(&["p95".into(), n(format!("{:.1}", th.p95_rps))]);
    t.row(&["max".into(), n(format!("{:.1}", th.max_rps))]);
    t.row(&[
        format!("windows of {} s", th.window_s),
        n(count(th.windows)),
    ]);
    o.push_str(&t.finish());
    o.push_str("</div>\n<div>\n<h3>Latency of completed requests</h3>\n");
    let l = &r.latency;
    let mut t = Table::new(&["", "#ms"]);
    for (k, v) in [
        ("mean", l.mean_s),
        ("std", l.std_s),
        ("min", l.min_s),
        ("p50", l.p50_s),
        ("p95", l.p95_s),
        ("p99", l.p99_s),
        ("max", l.max_s),
    ] {
        t.row(&[k.into(), n(ms(v))]);
    }
    t.row(&["requests".into(), n(count(l.count))]);
    o.push_str(&t.finish());
    let _ = writeln!(
        o,
        "<p class=\"note\">Quantiles within {:.2} % relative error.</p>\n</div>\n</div>",
        l.quantile_relative_error * 100.0
    );

    o.push_str("<h3>Servers</h3>\n");
    let mut t = Table::new(&[
        "server",
        "#cores",
        "#served",
        "#CPU",
        "#ready mean",
        "#ready max",
        "#I/O mean",
        "#I/O max",
        "#RAM MB mean",
        "#RAM MB max",
        "#RAM wait mean",
        "#RAM wait max",
    ]);
    for x in &r.servers {
        t.row(&[
            x.id.clone(),
            n(x.cpu_cores),
            n(count(x.served)),
            n(format!("{:.1} %", x.cpu_utilisation * 100.0)),
            n(format!("{:.2}", x.ready_queue_mean)),
            n(format!("{:.0}", x.ready_queue_max)),
            n(format!("{:.2}", x.io_sleep_mean)),
            n(format!("{:.0}", x.io_sleep_max)),
            n(format!("{:.1}", x.ram_in_use_mean_mb)),
            n(format!("{:.0}", x.ram_in_use_max_mb)),
            n(format!("{:.2}", x.ram_wait_queue_mean)),
            n(format!("{:.0}", x.ram_wait_queue_max)),
        ]);
    }
    o.push_str(&t.finish());
    o.push_str("<h3>Edges</h3>\n");
    let mut t = Table::new(&[
        "edge",
        "#sent",
        "#dropped",
        "#drop rate",
        "#in flight mean",
        "#in flight max",
    ]);
    for x in &r.edges {
        let rate = if x.sent > 0 {
            format!("{:.3} %", x.dropped as f64 / x.sent as f64 * 100.0)
        } else {
            "–".into()
        };
        t.row(&[
            x.id.clone(),
            n(count(x.sent)),
            n(count(x.dropped)),
            n(rate),
            n(format!("{:.3}", x.in_flight_mean)),
            n(format!("{:.0}", x.in_flight_max)),
        ]);
    }
    o.push_str(&t.finish());

    if let Some(sv) = &data.services {
        services(&mut o, sv)?;
    }
    if !r.sockets.is_empty() || !r.connections.is_empty() {
        sockets(&mut o, data)?;
    }

    // Charts.
    o.push_str("<h2>Charts</h2>\n");
    if let Some(ev) = &data.events
        && !ev.is_empty()
    {
        o.push_str(
            "<p class=\"note\">Shaded: injected events (red: server outage, orange: network spike).</p>\n",
        );
    }
    let half = (CONTENT_W - GAP_W) / 2;
    let lat = svg(half, TOP_ROW_H, |a| charts::latency(a, data))?;
    let thr = svg(half, TOP_ROW_H, |a| charts::throughput(a, data))?;
    let _ = writeln!(
        o,
        "<div class=\"grid2\">\n<figure>{lat}</figure>\n<figure>{thr}</figure>\n</div>"
    );
    if !data.samples_written || data.servers.is_empty() {
        let f = svg(CONTENT_W, SERVER_ROW_H, |a| charts::server_rows(a, data))?;
        let _ = writeln!(o, "<figure>{f}</figure>");
    } else {
        for server in &data.servers {
            let f = svg(CONTENT_W, SERVER_ROW_H, |a| {
                charts::server_row(a, server, data)
            })?;
            let _ = writeln!(o, "<figure>{f}</figure>");
        }
        if r.servers.len() > data.servers.len() {
            let _ = writeln!(
                o,
                "<p class=\"note\">{} of {} servers charted: the busiest by CPU utilisation.</p>",
                data.servers.len(),
                r.servers.len()
            );
        }
    }
    o.push_str(
        "<p class=\"note\">Server gauges: the line is the time-weighted mean per sample \
         period, the light band reaches the maximum.</p>\n",
    );

    // Engine figures.
    o.push_str("<h2>Engine</h2>\n<div class=\"grid2\">\n<div>\n");
    let e = &s.engine_figures;
    let mut t = Table::new(&["", "#count"]);
    t.row(&["events processed".into(), n(count(e.events_processed))]);
    for (k, v) in &e.events_by_kind {
        t.row(&[format!("· {k}"), n(count(*v))]);
    }
    t.row(&["sample ticks".into(), n(count(e.sample_ticks))]);
    o.push_str(&t.finish());
    o.push_str("</div>\n<div>\n");
    let w = &s.wall;
    let mut t = Table::new(&["wall clock", "#value"]);
    t.row(&["run".into(), n(format!("{:.3} s", w.wall_time_s))]);
    for (k, v) in &w.phases_s {
        t.row(&[format!("· {k}"), n(format!("{v:.3} s"))]);
    }
    t.row(&[
        "events per second".into(),
        n(format!("{:.2} M", w.events_per_wall_s / 1e6)),
    ]);
    t.row(&[
        "requests per second".into(),
        n(format!("{:.1} k", w.requests_per_wall_s / 1e3)),
    ]);
    o.push_str(&t.finish());
    o.push_str("</div>\n</div>\n");

    // Scenario.
    o.push_str("<h2>Scenario</h2>\n");
    match &data.scenario_text {
        Ok(text) => {
            let _ = writeln!(
                o,
                "<details>\n<summary>{} ({} lines)</summary>\n<pre>{}</pre>\n</details>",
                escape(path),
                text.lines().count(),
                escape(text)
            );
        }
        Err(why) => {
            let _ = writeln!(o, "<p class=\"note\">{}</p>", escape(why));
        }
    }

    // Metadata.
    o.push_str("<h2>Run</h2>\n<dl>\n");
    let seed_source = serde_json::to_value(s.run.seed_source)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let meta: [(&str, String); 10] = [
        ("engine", format!("{} {}", s.engine.name, s.engine.version)),
        ("scenario", path.to_owned()),
        ("scenario sha256", s.scenario.sha256.clone()),
        ("seed", format!("{} ({seed_source})", s.run.seed)),
        ("replication", s.run.replication.to_string()),
        ("horizon", format!("{} s", s.run.horizon_s)),
        ("simulated", format!("{} s", s.run.simulated_s)),
        ("sample period", format!("{} s", s.run.sample_period_s)),
        ("status", s.run.status.clone()),
        (
            "files charted",
            [
                ("requests.parquet", data.latency.is_some()),
                ("samples.parquet", data.samples_written),
                ("events.parquet", data.events.is_some()),
            ]
            .iter()
            .map(|(f, ok)| format!("{f}{}", if *ok { "" } else { " (not written)" }))
            .collect::<Vec<_>>()
            .join(", "),
        ),
    ];
    for (k, v) in meta {
        let _ = writeln!(o, "<dt>{}</dt><dd>{}</dd>", escape(k), escape(&v));
    }
    o.push_str("</dl>\n</main>\n</body>\n</html>\n");
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape("<a href=\"x\">&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn font_sizes_are_scaled_back() {
        assert_eq!(
            undo_font_shrink("<text font-size=\"10\">a</text><text font-size=\"x\">"),
            "<text font-size=\"12.4\">a</text><text font-size=\"x\">"
        );
    }

    #[test]
    fn ms_matches_the_terminal_precision() {
        assert_eq!(ms(0.0123456), "12.346");
    }
}
