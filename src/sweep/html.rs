//! `sweep.png` and `sweep.html`: the chart of the key metrics against the swept
//! values ([`super::chart`]), and one self-contained page with the
//! same chart as inline SVG above the per-point means and 95% intervals.

use std::path::{Path, PathBuf};

use super::SweepError;
use super::chart;
use super::tables::{AggregateRow, HTML_FILE, Manifest, Metric};
use crate::metrics::outdir::write_atomic;

/// Name of the chart in the sweep directory.
pub const PNG_FILE: &str = "sweep.png";

/// Draw the chart and the page from the aggregate and write `sweep.png` and
/// `sweep.html` into `out` (each atomically); returns their paths.
pub fn write(out: &Path, m: &Manifest, rows: &[AggregateRow]) -> Result<Vec<PathBuf>, SweepError> {
    let png = chart::sweep_png(m, rows).map_err(SweepError::Chart)?;
    let svg = chart::sweep_svg(m, rows).map_err(SweepError::Chart)?;
    let page = render_with_chart(m, rows, Some(&svg));
    let png_path = out.join(PNG_FILE);
    let html_path = out.join(HTML_FILE);
    write_atomic(&png_path, &png)?;
    write_atomic(&html_path, page.as_bytes())?;
    Ok(vec![png_path, html_path])
}

/// Escape text for HTML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `mean ± half` with a scale for display.
pub fn cell(mean: f64, half: Option<f64>, scale: f64, digits: usize) -> String {
    match half {
        Some(h) => format!("{:.digits$} ± {:.digits$}", mean * scale, h * scale),
        None => format!("{:.digits$}", mean * scale),
    }
}

/// Display scale, unit and digits of a metric.
pub fn display(m: Metric) -> (&'static str, f64, usize) {
    match m {
        Metric::LatencyMean => ("latency mean (ms)", 1e3, 3),
        Metric::LatencyP50 => ("p50 (ms)", 1e3, 3),
        Metric::LatencyP95 => ("p95 (ms)", 1e3, 3),
        Metric::LatencyP99 => ("p99 (ms)", 1e3, 3),
        Metric::Throughput => ("throughput (rps)", 1.0, 1),
        Metric::Dropped => ("dropped", 1.0, 1),
        Metric::DropRate => ("drop rate (%)", 100.0, 3),
        Metric::CpuUtilisationMax => ("max CPU util. (%)", 100.0, 2),
    }
}

/// The page without the chart.
pub fn render(m: &Manifest, rows: &[AggregateRow]) -> String {
    render_with_chart(m, rows, None)
}

/// The page, with `svg` (an inline `<svg>` element) above the table.
pub fn render_with_chart(m: &Manifest, rows: &[AggregateRow], svg: Option<&str>) -> String {
    let mut o = String::new();
    o.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
    o.push_str("<title>asyncflow sweep</title>\n<style>\n");
    o.push_str(
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}\
         td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}\
         th{background:#f4f4f4}caption{text-align:left;margin-bottom:.5em}\
         figure{margin:1em 0 2em}figure svg{max-width:100%;height:auto}\n",
    );
    o.push_str("</style></head><body>\n");
    o.push_str(&format!(
        "<h1>Sweep of {}</h1>\n<p>{} point(s), up to {} replication(s) each; cells are the mean across replications ± the half-width of its 95% Student t interval.</p>\n",
        esc(m.scenario.as_deref().unwrap_or("(built in code)")),
        m.points.len(),
        m.replications
    ));
    if let Some(svg) = svg {
        o.push_str("<figure>\n");
        o.push_str(svg);
        o.push_str("\n<figcaption>Each panel: the mean across replications (dot) and its 95% interval (bar) at every point; the same chart is <code>sweep.png</code>.</figcaption>\n</figure>\n");
    }
    o.push_str("<table>\n<tr><th>point</th>");
    for p in &m.paths {
        o.push_str(&format!("<th>{}</th>", esc(p)));
    }
    o.push_str("<th>replications</th>");
    for metric in Metric::ALL {
        o.push_str(&format!("<th>{}</th>", esc(display(metric).0)));
    }
    o.push_str("</tr>\n");
    for r in rows {
        o.push_str(&format!("<tr><td>{}</td>", r.point));
        if let Some(mp) = m.points.get(r.point as usize) {
            for v in &mp.values {
                let text = match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                o.push_str(&format!("<td>{}</td>", esc(&text)));
            }
        }
        o.push_str(&format!("<td>{}</td>", r.replications));
        for (metric, ci) in &r.metrics {
            let (_, scale, digits) = display(*metric);
            o.push_str(&format!(
                "<td>{}</td>",
                esc(&cell(ci.mean, ci.half, scale, digits))
            ));
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</table>\n");
    o.push_str("</body></html>\n");
    o
}
