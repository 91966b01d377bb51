//! `sweep.html`: one self-contained page with the per-point means and 95%
//! intervals. No chart yet: the report module offered no chart primitive when
//! this was written.

use super::tables::{AggregateRow, Manifest, Metric};

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

/// The page.
pub fn render(m: &Manifest, rows: &[AggregateRow]) -> String {
    let mut o = String::new();
    o.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
    o.push_str("<title>asyncflow sweep</title>\n<style>\n");
    o.push_str(
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}\
         td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}\
         th{background:#f4f4f4}caption{text-align:left;margin-bottom:.5em}\n",
    );
    o.push_str("</style></head><body>\n");
    o.push_str(&format!(
        "<h1>Sweep of {}</h1>\n<p>{} point(s), up to {} replication(s) each; cells are the mean across replications ± the half-width of its 95% Student t interval.</p>\n",
        esc(m.scenario.as_deref().unwrap_or("(built in code)")),
        m.points.len(),
        m.replications
    ));
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
