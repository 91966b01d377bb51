//! Scenarios: the YAML format, its validation and the builder API.
//!
//! Data flow: YAML text → [`schema::ScenarioFile`] (shape, via `serde_norway`)
//! → normalisation (endpoint names lower-cased) → validation (every rule of
//! `docs/scenario.md`, all violations collected) → [`Scenario`] (a model the engine
//! can trust). Nothing downstream re-checks. A model built in code, by hand or
//! with [`Scenario::builder`], goes through the same normalisation and rules.
//!
//! Problems come back as a [`ScenarioError`]: a list of [`Diagnostic`]s, each with
//! the YAML path, the line and column when the scenario came from text, what was
//! expected and what was found.
pub mod builder;
pub mod diagnostic;
pub mod locate;
mod parse;
pub mod rv;
pub mod schema;
pub mod sockets;
pub mod validate;

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub use builder::{EndpointBuilder, ScenarioBuilder, ServerBuilder};
pub use diagnostic::{Diagnostic, ScenarioError};
use schema::ScenarioFile;

/// A validated scenario: every rule of `docs/scenario.md` holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    model: ScenarioFile,
    path: Option<PathBuf>,
    sha256: String,
}

impl Scenario {
    /// Read, parse and validate a YAML file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Scenario::from_yaml_str(&text, Some(path))
    }

    /// Parse and validate YAML text; `path` is only used in messages and metadata.
    pub fn from_yaml_str(text: &str, path: Option<&Path>) -> Result<Scenario, ScenarioError> {
        let with_file = |mut d: Diagnostic| {
            d.file = path.map(Path::to_path_buf);
            d
        };
        let mut model =
            parse::parse(text).map_err(|d| ScenarioError::Invalid(vec![with_file(*d)]))?;
        validate::normalise(&mut model);
        let diags = validate::validate(&model);
        if !diags.is_empty() {
            // Positions are only needed on failure, so the text is indexed lazily.
            let index = locate::LocationIndex::build(text);
            let diags = diags
                .into_iter()
                .map(|d| {
                    let d = match index.locate(&d.path) {
                        Some((l, c)) => d.at(l, c),
                        None => d,
                    };
                    with_file(d)
                })
                .collect();
            return Err(ScenarioError::Invalid(diags));
        }
        Ok(Scenario {
            model,
            path: path.map(Path::to_path_buf),
            sha256: hex_sha256(text.as_bytes()),
        })
    }

    /// Validate a model built in code (normalising it first).
    pub fn from_model(mut model: ScenarioFile) -> Result<Scenario, ScenarioError> {
        validate::normalise(&mut model);
        let diags = validate::validate(&model);
        if !diags.is_empty() {
            return Err(ScenarioError::Invalid(diags));
        }
        let canonical = serde_norway::to_string(&model).map_err(|e| {
            ScenarioError::Invalid(vec![Diagnostic::new(
                ".",
                "a model that serialises to YAML",
                e.to_string(),
            )])
        })?;
        Ok(Scenario {
            model,
            path: None,
            sha256: hex_sha256(canonical.as_bytes()),
        })
    }

    /// Start building a scenario in code; see [`ScenarioBuilder`].
    pub fn builder() -> ScenarioBuilder {
        ScenarioBuilder::default()
    }

    /// The validated, normalised model.
    pub fn model(&self) -> &ScenarioFile {
        &self.model
    }

    /// The file it came from, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// SHA-256 (hex) of the source text (of the canonical YAML when built in code).
    pub fn sha256(&self) -> &str {
        &self.sha256
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUICKSTART: &str = include_str!("../scenarios/quickstart.yml");

    #[test]
    fn endpoint_names_are_lower_cased() {
        let text = QUICKSTART.replace("endpoint_name: /api", "endpoint_name: /API");
        let s = Scenario::from_yaml_str(&text, None).unwrap();
        assert_eq!(
            s.model().topology_graph.nodes.servers[0].endpoints[0].endpoint_name,
            "/api"
        );
    }

    #[test]
    fn semantic_errors_carry_file_line_and_column() {
        let text = QUICKSTART.replace("total_simulation_time: 300", "total_simulation_time: 2");
        let e = Scenario::from_yaml_str(&text, Some(Path::new("q.yml"))).unwrap_err();
        let d = &e.diagnostics()[0];
        assert_eq!(d.path, "sim_settings.total_simulation_time");
        assert_eq!(d.file.as_deref(), Some(Path::new("q.yml")));
        let line = text
            .lines()
            .position(|l| l.contains("total_simulation_time: 2"))
            .unwrap()
            + 1;
        assert_eq!(d.line, Some(line));
    }

    #[test]
    fn a_missing_file_is_an_io_error() {
        let e = Scenario::load(Path::new("/nonexistent/x.yml")).unwrap_err();
        assert!(matches!(e, ScenarioError::Io { .. }));
    }
}
