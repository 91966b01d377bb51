//! Scenarios: the YAML format, its validation and the builder API.
//!
//! Data flow: YAML text → [`schema::ScenarioFile`] (shape) → validation (rules)
//! → [`Scenario`] (a model the engine can trust). Nothing downstream re-checks.
pub mod rv;
pub mod schema;

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use schema::ScenarioFile;

/// A validated scenario: every rule of `docs/scenario.md` holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    model: ScenarioFile,
    path: Option<PathBuf>,
    sha256: String,
}

/// A scenario that could not be loaded. (Stub: replaced by the diagnostics module.)
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ScenarioError(pub String);

impl Scenario {
    /// Read, parse and validate a YAML file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|e| ScenarioError(e.to_string()))?;
        Scenario::from_yaml_str(&text, Some(path))
    }

    /// Parse and validate YAML text; `path` is only used in messages and metadata.
    pub fn from_yaml_str(text: &str, path: Option<&Path>) -> Result<Scenario, ScenarioError> {
        let model: ScenarioFile =
            serde_norway::from_str(text).map_err(|e| ScenarioError(e.to_string()))?;
        let mut s = Scenario::from_model(model)?;
        s.path = path.map(Path::to_path_buf);
        s.sha256 = hex_sha256(text.as_bytes());
        Ok(s)
    }

    /// Validate a model built in code.
    pub fn from_model(model: ScenarioFile) -> Result<Scenario, ScenarioError> {
        let canonical = serde_norway::to_string(&model).map_err(|e| ScenarioError(e.to_string()))?;
        Ok(Scenario {
            model,
            path: None,
            sha256: hex_sha256(canonical.as_bytes()),
        })
    }

    /// The validated model.
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
