//! AsyncFlow compatibility: its valid scenarios load, its invalid ones are
//! rejected naming the offending field, and every scenario we ship validates.
use std::path::Path;

use asyncflow::scenario::Scenario;

use crate::support::yml_files;

const COMPAT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/compat");

#[test]
fn every_asyncflow_valid_scenario_loads() {
    let files = yml_files(&Path::new(COMPAT).join("valid"));
    assert!(files.len() >= 3, "compat/valid has {} files", files.len());
    for f in files {
        if let Err(e) = Scenario::load(&f) {
            panic!("{} should be valid:\n{e}", f.display());
        }
    }
}

/// The field each invalid file gets wrong, as a path suffix of the first diagnostic.
fn offending_field(name: &str) -> &'static str {
    match name {
        "missing_field.yml" => "steps[0].kind",
        "negative_latency.yml" => "edges[0].latency.mean",
        other => panic!("no expectation for the new invalid file {other}; add one"),
    }
}

#[test]
fn every_asyncflow_invalid_scenario_is_rejected_naming_the_field() {
    let files = yml_files(&Path::new(COMPAT).join("invalid"));
    assert!(files.len() >= 2, "compat/invalid has {} files", files.len());
    for f in files {
        let name = f
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let e = match Scenario::load(&f) {
            Ok(_) => panic!("{name} should be rejected"),
            Err(e) => e,
        };
        let field = offending_field(&name);
        let d = &e.diagnostics()[0];
        assert!(
            d.path.ends_with(field),
            "{name}: first diagnostic at {} not {field}",
            d.path
        );
        assert!(d.line.is_some(), "{name}: no line in {d:?}");
        assert!(
            e.to_string().contains(field),
            "{name}: message does not name {field}:\n{e}"
        );
    }
}

#[test]
fn every_shipped_scenario_validates() {
    let files = yml_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios"));
    assert!(files.len() >= 4, "scenarios/ has {} files", files.len());
    for f in files {
        if let Err(e) = Scenario::load(&f) {
            panic!("{} should be valid:\n{e}", f.display());
        }
    }
}
