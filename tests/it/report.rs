//! `dashboard.png` and `report.html`: rendered after a run and by
//! `asyncflow report`, decodable, of the documented size, not blank,
//! self-contained, and readable by a real browser.

use std::path::{Path, PathBuf};
use std::process::Command;

use asyncflow::Summary;
use asyncflow::report::{DASHBOARD_FILE, REPORT_FILE, png_size};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_asyncflow"))
}

/// Run `scenario` through the CLI into a fresh directory; returns (tempdir, run dir).
fn cli_run(scenario: &str, extra: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("temporary directory");
    let out = tmp.path().join("run");
    let o = bin()
        .args(["run", scenario, "--quiet", "--out"])
        .arg(&out)
        .args(extra)
        .output()
        .expect("run the binary");
    assert!(
        o.status.success(),
        "asyncflow run {scenario} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    (tmp, out)
}

fn summary(dir: &Path) -> Summary {
    let text = std::fs::read_to_string(dir.join("summary.json")).expect("summary.json");
    serde_json::from_str(&text).expect("summary decodes")
}

/// Decoded image as 8-bit grey levels (luminance), with its size.
fn decode_grey(path: &Path) -> (u32, u32, Vec<u8>) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().expect("PNG header");
    let mut buf = vec![0; reader.output_buffer_size().expect("buffer size")];
    let info = reader.next_frame(&mut buf).expect("PNG frame");
    let channels = info.color_type.samples();
    let grey = buf[..info.buffer_size()]
        .chunks_exact(channels)
        .map(|p| match channels {
            1 | 2 => p[0],
            _ => ((u32::from(p[0]) * 3 + u32::from(p[1]) * 6 + u32::from(p[2])) / 10) as u8,
        })
        .collect();
    (info.width, info.height, grey)
}

/// Standard deviation of the grey levels and the share of pixels that are not
/// near-white: a blank or single-colour page has both near zero.
fn spread(grey: &[u8]) -> (f64, f64) {
    let n = grey.len() as f64;
    let mean = grey.iter().map(|&g| f64::from(g)).sum::<f64>() / n;
    let var = grey
        .iter()
        .map(|&g| (f64::from(g) - mean).powi(2))
        .sum::<f64>()
        / n;
    let inked = grey.iter().filter(|&&g| g < 200).count() as f64 / n;
    (var.sqrt(), inked)
}

fn assert_not_blank(path: &Path) {
    let (_, _, grey) = decode_grey(path);
    let (sd, inked) = spread(&grey);
    // Charts on white: a few per cent of dark pixels and a wide spread of grey
    // levels; a blank page has neither.
    assert!(sd > 12.0, "{}: grey-level sd {sd:.2}", path.display());
    assert!(
        inked > 0.01,
        "{}: only {:.4} of pixels inked",
        path.display(),
        inked
    );
}

fn assert_dashboard(dir: &Path) {
    let s = summary(dir);
    let shown = s
        .results
        .servers
        .len()
        .min(asyncflow::report::data::MAX_SERVERS);
    let (w, h, _) = decode_grey(&dir.join(DASHBOARD_FILE));
    assert_eq!((w, h), png_size(shown));
    assert_not_blank(&dir.join(DASHBOARD_FILE));
}

#[test]
fn dashboard_of_a_run_with_events_decodes_at_the_documented_size() {
    let (_tmp, dir) = cli_run("scenarios/outage_and_spike.yml", &[]);
    assert_dashboard(&dir);
    let s = summary(&dir);
    assert_eq!(png_size(3), (1600, 100 + 400 + 3 * 260));
    assert_eq!(s.results.servers.len(), 3);
}

#[test]
fn dashboard_of_a_run_without_events_decodes_at_the_documented_size() {
    let (_tmp, dir) = cli_run("scenarios/quickstart.yml", &[]);
    assert_dashboard(&dir);
}

#[test]
fn no_plots_renders_nothing() {
    let (_tmp, dir) = cli_run("scenarios/quickstart.yml", &["--no-plots"]);
    assert!(dir.join("summary.json").is_file());
    assert!(!dir.join(DASHBOARD_FILE).exists());
    assert!(!dir.join(REPORT_FILE).exists());
}

#[test]
fn missing_parquet_files_leave_notes_instead_of_failing() {
    let (_tmp, dir) = cli_run(
        "scenarios/outage_and_spike.yml",
        &["--outputs", "none", "--horizon", "30"],
    );
    // Only notes and the header: some ink, but far less than charts.
    let (w, h, grey) = decode_grey(&dir.join(DASHBOARD_FILE));
    assert_eq!((w, h), png_size(1));
    let (sd, inked) = spread(&grey);
    assert!(sd > 3.0 && inked > 0.002, "sd {sd:.2}, inked {inked:.4}");
    let html = std::fs::read_to_string(dir.join(REPORT_FILE)).expect("report.html");
    assert!(html.contains("requests.parquet was not written"));
    assert!(html.contains("samples.parquet was not written"));
    check_html(&html);
}

#[test]
fn report_subcommand_reproduces_the_same_bytes() {
    let (_tmp, dir) = cli_run("scenarios/outage_and_spike.yml", &["--horizon", "150"]);
    let png = std::fs::read(dir.join(DASHBOARD_FILE)).expect("dashboard.png");
    let html = std::fs::read(dir.join(REPORT_FILE)).expect("report.html");
    std::fs::remove_file(dir.join(DASHBOARD_FILE)).expect("remove");
    let o = bin()
        .arg("report")
        .arg(&dir)
        .output()
        .expect("run the binary");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains(DASHBOARD_FILE) && stdout.contains(REPORT_FILE),
        "{stdout}"
    );
    assert!(std::fs::read(dir.join(DASHBOARD_FILE)).expect("re-rendered") == png);
    assert!(std::fs::read(dir.join(REPORT_FILE)).expect("re-rendered") == html);
    // No temporary file is left behind.
    let hidden = std::fs::read_dir(&dir)
        .expect("read dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .count();
    assert_eq!(hidden, 0);
}

#[test]
fn report_on_a_directory_without_a_summary_is_bad_input() {
    let tmp = tempfile::tempdir().expect("temporary directory");
    let o = bin()
        .arg("report")
        .arg(tmp.path())
        .output()
        .expect("run the binary");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("summary.json"));
}

#[test]
fn terminal_summary_ends_with_every_path_written() {
    let tmp = tempfile::tempdir().expect("temporary directory");
    let out = tmp.path().join("run");
    let o = bin()
        .args([
            "run",
            "scenarios/quickstart.yml",
            "--horizon",
            "20",
            "--out",
        ])
        .arg(&out)
        .output()
        .expect("run the binary");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let tail: Vec<&str> = stdout.lines().rev().take(6).collect();
    for name in [
        "requests.parquet",
        "samples.parquet",
        "events.parquet",
        "summary.json",
        DASHBOARD_FILE,
        REPORT_FILE,
    ] {
        assert!(
            tail.iter()
                .any(|l| l.starts_with("wrote") && l.ends_with(name)),
            "{name} missing from the last lines:\n{stdout}"
        );
    }
    // stderr is not a terminal here: no progress bar.
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

const VOID: [&str; 6] = ["meta", "br", "hr", "img", "input", "link"];

/// Check tag balance with a small scanner: every element opened is closed in
/// order, except void elements and `.../>`; comments, the doctype and the
/// contents of `<style>` are skipped.
fn check_tags(html: &str) {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        rest = &rest[i..];
        if let Some(r) = rest.strip_prefix("<!--") {
            let end = r.find("-->").expect("unterminated comment");
            rest = &r[end + 3..];
            continue;
        }
        let end = rest.find('>').expect("unterminated tag");
        let tag = &rest[1..end];
        rest = &rest[end + 1..];
        if tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack
                .pop()
                .unwrap_or_else(|| panic!("</{name}> closes nothing"));
            assert_eq!(open, name.trim(), "</{}> closes <{open}>", name.trim());
            continue;
        }
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        assert!(!name.is_empty(), "a bare '<' in text: <{tag}>");
        if tag.ends_with('/') || VOID.contains(&name.as_str()) {
            continue;
        }
        if name == "style" {
            let close = rest.find("</style>").expect("unterminated style");
            assert!(!rest[..close].contains('<'), "markup inside <style>");
            rest = &rest[close..];
        }
        stack.push(name);
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
}

/// Values of every `attr="..."` in the page.
fn attr_values<'a>(html: &'a str, attr: &str) -> Vec<&'a str> {
    let key = format!(" {attr}=\"");
    html.match_indices(&key)
        .map(|(i, _)| {
            let v = &html[i + key.len()..];
            &v[..v.find('"').unwrap_or(v.len())]
        })
        .collect()
}

fn check_html(html: &str) {
    assert!(html.starts_with("<!DOCTYPE html>"));
    check_tags(html);
    for attr in ["src", "href", "xlink:href"] {
        for v in attr_values(html, attr) {
            let lower = v.to_ascii_lowercase();
            assert!(
                !(lower.starts_with("http:")
                    || lower.starts_with("https:")
                    || lower.starts_with("//")),
                "external {attr}: {v}"
            );
        }
    }
    // Stricter than needed, and true of these scenarios: no URL at all, no script.
    assert!(!html.contains("http://") && !html.contains("https://"));
    assert!(!html.to_ascii_lowercase().contains("<script"));
    assert!(!html.contains("url("));
}

#[test]
fn report_html_is_well_formed_self_contained_and_shows_the_figures() {
    let (_tmp, dir) = cli_run("scenarios/outage_and_spike.yml", &["--horizon", "150"]);
    let html = std::fs::read_to_string(dir.join(REPORT_FILE)).expect("report.html");
    check_html(&html);
    let s = summary(&dir);
    // As the terminal summary prints them.
    let p99 = format!("{:.3}", s.results.latency.p99_s * 1e3);
    let completed = asyncflow::report::count(s.results.requests.completed);
    let generated = asyncflow::report::count(s.results.requests.generated);
    assert!(html.contains(&p99), "p99 {p99} not in the page");
    assert!(
        html.contains(&completed),
        "completed {completed} not in the page"
    );
    assert!(
        html.contains(&generated),
        "generated {generated} not in the page"
    );
    // Charts inline, scenario text collapsed, events named.
    assert!(html.matches("<svg ").count() >= 2 + 3);
    assert!(html.contains("<details>"));
    assert!(html.contains("srv-2-outage"));
    assert!(html.contains("sim_settings:"));
    // No calls, no spans.parquet, no services section.
    assert!(!dir.join("spans.parquet").exists());
    assert!(!html.contains("<h2>Services</h2>"));
}

#[test]
fn a_run_with_calls_gets_a_services_table_and_graph() {
    let (_tmp, dir) = cli_run("scenarios/microservices.yml", &["--horizon", "30"]);
    let html = std::fs::read_to_string(dir.join(REPORT_FILE)).expect("report.html");
    check_html(&html);
    let i = html.find("<h2>Services</h2>").expect("a services section");
    let j = html.find("<h2>Charts</h2>").expect("charts after it");
    let section = &html[i..j];
    // Every callee of the scenario has a row, and the graph names the load
    // balancers' servers too (the hop behind a tier is drawn).
    for callee in [
        "user-service",
        "url-shorten",
        "media",
        "post-storage-lb",
        "home-timeline-lb",
        "social-graph",
    ] {
        assert!(
            section.contains(&format!("<td>{callee}</td>")),
            "no row for {callee}"
        );
    }
    assert_eq!(section.matches("<svg ").count(), 1, "one service graph");
    for server in ["post-storage-1", "home-timeline-2", "frontend"] {
        assert!(section.contains(server), "{server} not in the graph");
    }
    // The table's quantiles are real numbers, not the zero of an empty
    // histogram: user-service's p99 is a few milliseconds.
    let row = section
        .split("<tr>")
        .find(|r| r.contains("<td>user-service</td>"))
        .expect("user-service row");
    let cells: Vec<&str> = row
        .split("<td class=\"n\">")
        .skip(1)
        .map(|c| c.split('<').next().unwrap_or(""))
        .collect();
    let p99: f64 = cells[5].parse().expect("p99 in ms");
    assert!(p99 > 1.0 && p99 < 100.0, "user-service p99 {p99} ms");
}

#[test]
fn report_says_so_when_the_scenario_file_is_gone() {
    let tmp = tempfile::tempdir().expect("temporary directory");
    let scenario = tmp.path().join("copy.yml");
    std::fs::copy("scenarios/quickstart.yml", &scenario).expect("copy");
    let out = tmp.path().join("run");
    let o = bin()
        .arg("run")
        .arg(&scenario)
        .args(["--quiet", "--horizon", "10", "--no-plots", "--out"])
        .arg(&out)
        .output()
        .expect("run the binary");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::remove_file(&scenario).expect("remove");
    let o = bin()
        .arg("report")
        .arg(&out)
        .output()
        .expect("run the binary");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let html = std::fs::read_to_string(out.join(REPORT_FILE)).expect("report.html");
    assert!(html.contains("cannot read the scenario file"));
    check_html(&html);
}

#[test]
fn a_real_browser_renders_the_report() {
    let required = std::env::var("ASYNCFLOW_REQUIRE_CHROMIUM").is_ok_and(|v| v == "1");
    let found = Command::new("sh")
        .args(["-c", "command -v chromium"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            !required,
            "ASYNCFLOW_REQUIRE_CHROMIUM=1 but chromium is not on PATH"
        );
        eprintln!("skipped: chromium is not on PATH");
        return;
    }
    let (tmp, dir) = cli_run("scenarios/outage_and_spike.yml", &["--horizon", "150"]);
    let shot = tmp.path().join("shot.png");
    let o = Command::new("tools/screenshot_report.sh")
        .arg(dir.join(REPORT_FILE))
        .arg(&shot)
        .output()
        .expect("run tools/screenshot_report.sh");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (w, h, _) = decode_grey(&shot);
    assert_eq!((w, h), (1280, 2000));
    assert_not_blank(&shot);
}

#[test]
fn the_tag_checker_catches_broken_markup() {
    for bad in ["<div><p></div></p>", "<div>", "</p>", "a < b", "<p>x</p><"] {
        assert!(
            std::panic::catch_unwind(|| check_tags(bad)).is_err(),
            "{bad}"
        );
    }
    check_tags(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>a > b {}</style></head>\
         <body><svg><rect/></svg><!-- c --></body></html>",
    );
}
