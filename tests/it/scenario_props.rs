//! Property tests of the YAML front door: whatever is done to a valid scenario
//! (keys dropped, values of the wrong type, numbers out of range or NaN, garbage
//! bytes), loading returns a scenario or diagnostics, never a panic. A rejection
//! always has at least one diagnostic, and every diagnostic has a path.
use asyncflow::scenario::Scenario;
use proptest::prelude::*;

const SOURCES: [&str; 5] = [
    include_str!("../../scenarios/quickstart.yml"),
    include_str!("../../scenarios/lb_two_servers.yml"),
    include_str!("../../scenarios/outage_and_spike.yml"),
    include_str!("../../scenarios/extensions.yml"),
    include_str!("../../../shared/compat/valid/event_inj_lb.yml"),
];

/// Replacement values: wrong types, edge numbers, NaN and infinities.
const VALUES: [&str; 18] = [
    "-1",
    "0",
    "1e400",
    "-1e400",
    ".nan",
    ".inf",
    "-.inf",
    "\"text\"",
    "[]",
    "{}",
    "~",
    "true",
    "0.5",
    "1000000000000000000000",
    "-0.0",
    "{ mean: .nan }",
    "[1, 2]",
    "9223372036854775808",
];

fn check(text: &str) {
    match Scenario::from_yaml_str(text, None) {
        Ok(s) => {
            // Whatever loaded must also validate as a model.
            assert!(Scenario::from_model(s.model().clone()).is_ok());
        }
        Err(e) => {
            assert!(!e.diagnostics().is_empty());
            assert!(e.diagnostics().iter().all(|d| !d.path.is_empty()));
            let _ = e.render_human();
            let _ = e.to_json();
        }
    }
}

/// Lines of a scenario that hold a `key: value` pair on their own.
fn value_lines(text: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            let t = l.trim_start().trim_start_matches("- ");
            !t.starts_with('#') && t.contains(": ")
        })
        .map(|(i, _)| i)
        .collect()
}

/// Replace the value after the first `: ` on line `line` (a flow mapping's first
/// value, or a block key's whole value).
fn replace_value(text: &str, line: usize, value: &str) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    if let Some(l) = lines.get_mut(line)
        && let Some(i) = l.find(": ")
    {
        let head = &l[..i + 2];
        // Keep closing braces balanced for `{ key: value }` lines.
        let tail = if l.trim_end().ends_with('}') {
            " }"
        } else {
            ""
        };
        let braces = head.matches('{').count().saturating_sub(1);
        *l = format!("{head}{value}{tail}{}", " }".repeat(braces));
    }
    lines.join("\n")
}

fn drop_line(text: &str, line: usize) -> String {
    text.lines()
        .enumerate()
        .filter(|(i, _)| *i != line)
        .map(|(_, l)| l)
        .collect::<Vec<_>>()
        .join("\n")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn replacing_a_value_never_panics(src in 0..SOURCES.len(), pick in any::<prop::sample::Index>(), v in 0..VALUES.len()) {
        let text = SOURCES[src];
        let lines = value_lines(text);
        let line = lines[pick.index(lines.len())];
        check(&replace_value(text, line, VALUES[v]));
    }

    #[test]
    fn dropping_lines_never_panics(src in 0..SOURCES.len(), picks in prop::collection::vec(any::<prop::sample::Index>(), 1..4)) {
        let mut text = SOURCES[src].to_string();
        for p in picks {
            let n = text.lines().count().max(1);
            text = drop_line(&text, p.index(n));
        }
        check(&text);
    }

    #[test]
    fn random_numbers_in_every_numeric_slot_never_panic(src in 0..SOURCES.len(), pick in any::<prop::sample::Index>(), x in prop_oneof![any::<f64>(), Just(f64::NAN), any::<i64>().prop_map(|i| i as f64)]) {
        let text = SOURCES[src];
        let lines = value_lines(text);
        let line = lines[pick.index(lines.len())];
        let value = if x.is_nan() { ".nan".to_string() } else if x.is_infinite() { if x > 0.0 { ".inf".into() } else { "-.inf".into() } } else { format!("{x:?}") };
        check(&replace_value(text, line, &value));
    }

    #[test]
    fn garbage_bytes_never_panic(src in 0..SOURCES.len(), at in any::<prop::sample::Index>(), junk in prop::collection::vec(any::<u8>(), 1..32)) {
        let text = SOURCES[src];
        let mut bytes = text.as_bytes().to_vec();
        let i = at.index(bytes.len());
        bytes.splice(i..i, junk);
        check(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,200}") {
        check(&s);
    }
}
