//! YAML text → [`ScenarioFile`], turning serde's first shape error into a
//! [`Diagnostic`] with its YAML path, position, and a "did you mean" hint for
//! unknown keys and variants.
//!
//! The YAML crate is `serde_norway` (see `docs/decisions.md`, "YAML parser"):
//! paired with `serde_path_to_error` it names the path of the failing value, and
//! its own error carries the line and column.

use super::diagnostic::Diagnostic;
use super::schema::ScenarioFile;

/// Parse the shape of a scenario; the error is the first shape problem.
pub fn parse(text: &str) -> Result<ScenarioFile, Box<Diagnostic>> {
    let de = serde_norway::Deserializer::from_str(text);
    serde_path_to_error::deserialize::<_, ScenarioFile>(de).map_err(|e| {
        // An empty key at the top level (`? ` with no key) has an empty path;
        // "." keeps every diagnostic's path non-empty.
        let path = match e.path().to_string() {
            p if p.is_empty() => ".".to_string(),
            p => p,
        };
        let inner = e.into_inner();
        let mut d = describe(&path, &message_of(&inner));
        if let Some(loc) = inner.location() {
            d = d.at(loc.line(), loc.column());
        }
        Box::new(d)
    })
}

/// serde_norway's message without its own path prefix and position suffix, which
/// the diagnostic carries separately.
fn message_of(e: &serde_norway::Error) -> String {
    let mut msg = e.to_string();
    if let Some(i) = msg.rfind(" at line ") {
        let tail = &msg[i + " at line ".len()..];
        let is_position = tail
            .split_once(" column ")
            .is_some_and(|(l, c)| l.parse::<usize>().is_ok() && c.parse::<usize>().is_ok());
        if is_position {
            msg.truncate(i);
        }
    }
    // A path prefix has no spaces ("a.b[0]: msg"); messages such as
    // "invalid type: ..." do, so they are left alone.
    if let Some((head, rest)) = msg.split_once(": ")
        && !head.contains(char::is_whitespace)
        && !head.is_empty()
    {
        msg = rest.to_string();
    }
    msg
}

/// Split a serde message into expected / found / hint.
fn describe(path: &str, msg: &str) -> Diagnostic {
    if let Some(rest) = msg.strip_prefix("unknown field ") {
        let (name, expected) = split_unknown(rest);
        let d = Diagnostic::new(
            path,
            expected.map_or_else(
                || "no other keys here".to_string(),
                |e| format!("a key among {e}"),
            ),
            format!("unknown key `{name}`"),
        );
        return with_suggestion(d, &name, expected);
    }
    if let Some(rest) = msg.strip_prefix("unknown variant ") {
        let (name, expected) = split_unknown(rest);
        let d = Diagnostic::new(
            path,
            expected.map_or_else(
                || "a known value".to_string(),
                // Serde lists three or more with commas, two as `a` or `b`.
                |e| {
                    if e.contains(", ") {
                        format!("one of {e}")
                    } else {
                        e.to_string()
                    }
                },
            ),
            format!("unknown value `{name}`"),
        );
        return with_suggestion(d, &name, expected);
    }
    if let Some(rest) = msg.strip_prefix("missing field ") {
        let name = rest.trim_matches('`');
        let full = if path == "." {
            name.to_string()
        } else {
            format!("{path}.{name}")
        };
        return Diagnostic::new(
            full,
            format!("the required key `{name}`"),
            "nothing: the key is missing",
        );
    }
    if let Some(rest) = msg.strip_prefix("duplicate field ") {
        return Diagnostic::new(
            path,
            "each key at most once",
            format!("`{}` twice", rest.trim_matches('`')),
        );
    }
    for prefix in ["invalid type: ", "invalid value: ", "invalid length "] {
        if let Some(rest) = msg.strip_prefix(prefix)
            && let Some((found, expected)) = rest.rsplit_once(", expected ")
        {
            return Diagnostic::new(path, plain_type(expected), found);
        }
    }
    Diagnostic::new(path, "a well-formed scenario", msg).with_hint(
        "check indentation and quoting near the position shown; docs/scenario.md lists every key",
    )
}

/// `` `name`, expected one of `a`, `b` `` → (name, Some("`a`, `b`")).
fn split_unknown(rest: &str) -> (String, Option<&str>) {
    let (name, tail) = rest.split_once(", expected ").unwrap_or((rest, ""));
    let name = name.trim_matches('`').to_string();
    let expected = tail.strip_prefix("one of ").unwrap_or(tail);
    let expected = if expected.is_empty() {
        None
    } else {
        Some(expected)
    };
    (name, expected)
}

/// Add "did you mean" when a known spelling is close to `name`. Serde lists
/// candidates as `` `a`, `b`, `c` ``, or `` `a` or `b` `` when there are two.
fn with_suggestion(d: Diagnostic, name: &str, expected: Option<&str>) -> Diagnostic {
    let candidates: Vec<&str> = expected
        .map(|e| {
            e.split(", ")
                .flat_map(|c| c.split(" or "))
                .map(|c| c.trim_matches('`'))
                .collect()
        })
        .unwrap_or_default();
    match did_you_mean(name, candidates.iter().copied()) {
        Some(best) => d.with_hint(format!("did you mean `{best}`?")),
        None => d,
    }
}

/// The closest candidate to `name`, if any is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    // Jaro-Winkler favours shared prefixes, which is how keys are mistyped
    // (`sample_period` for `sample_period_s`); 0.8 keeps unrelated words out. It is
    // blind to slips in very short words (`rm` for `ram`), which a small edit
    // distance catches.
    let max_edits = (name.chars().count() / 4).max(1);
    candidates
        .into_iter()
        .filter_map(|c| {
            let jw = strsim::jaro_winkler(name, c);
            let close = jw >= 0.8 || strsim::damerau_levenshtein(name, c) <= max_edits;
            close.then_some((jw, c))
        })
        // Ties go to the alphabetically first candidate, so hints are stable
        // whatever order the candidates come in.
        .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(a.1)))
        .map(|(_, c)| c)
}

/// serde's Rust type names in words a scenario author knows.
fn plain_type(expected: &str) -> String {
    match expected {
        "f64" | "f32" => "a number".to_string(),
        "i64" | "i32" | "u32" => "an integer".to_string(),
        "u64" => "a non-negative integer".to_string(),
        "a string" | "a sequence" | "a map" => expected.to_string(),
        e if e.starts_with("struct ") => "a mapping of keys".to_string(),
        e => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_and_path_prefix_are_stripped() {
        assert_eq!(split_unknown("`x`, expected `a`").0, "x");
        let d = describe("a.b", "invalid type: string \"lots\", expected f64");
        assert_eq!(d.expected, "a number");
        assert_eq!(d.found, "string \"lots\"");
    }

    #[test]
    fn close_keys_are_suggested_and_far_ones_are_not() {
        let keys = ["total_simulation_time", "sample_period_s", "seed"];
        assert_eq!(did_you_mean("sample_period", keys), Some("sample_period_s"));
        assert_eq!(did_you_mean("colour", keys), None);
        assert_eq!(did_you_mean("rm", ["ram", "io_db"]), Some("ram"));
    }

    #[test]
    fn an_empty_top_level_key_still_has_a_path() {
        // Found by the property tests: `?` is an explicit, empty mapping key.
        let d = parse("?").unwrap_err();
        assert_eq!(d.path, ".");
    }

    #[test]
    fn unknown_key_gets_a_hint_and_a_position() {
        let text = "rqs_input:\n  id: g\n  avg_active_users: {mean: 1}\n  avg_request_per_minute_per_user: {mean: 1}\n  user_sampling_windw: 60\n";
        let d = parse(text).unwrap_err();
        assert_eq!(d.path, "rqs_input.user_sampling_windw");
        assert_eq!(
            d.hint.as_deref(),
            Some("did you mean `user_sampling_window`?")
        );
        assert_eq!((d.line, d.column), (Some(5), Some(3)));
    }
}
