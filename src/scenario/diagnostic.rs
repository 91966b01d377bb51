//! What a rejected scenario reports: one [`Diagnostic`] per problem.
//!
//! A diagnostic locates the problem three ways, from the most to the least
//! precise: the file, the line and column where the parser knows them, and always
//! the YAML path (`topology_graph.edges[2].latency.mean`), which also works for a
//! scenario built in code. It then says what the rule expected, what the file
//! holds, and, when a fix is obvious, a hint. [`ScenarioError`] renders a list of
//! them for humans ([`ScenarioError::render_human`]) and for tools
//! ([`ScenarioError::to_json`]).

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// One problem found in a scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The file, when the scenario came from one.
    pub file: Option<PathBuf>,
    /// YAML path of the offending value, e.g. `topology_graph.edges[2].latency.mean`
    /// (`.` for the document itself).
    pub path: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column (in characters), when known.
    pub column: Option<usize>,
    /// What the rule asks for.
    pub expected: String,
    /// What the scenario holds instead.
    pub found: String,
    /// A suggested fix, when one is obvious.
    pub hint: Option<String>,
}

impl Diagnostic {
    /// A diagnostic without file, location or hint.
    pub fn new(
        path: impl Into<String>,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        Diagnostic {
            file: None,
            path: path.into(),
            line: None,
            column: None,
            expected: expected.into(),
            found: found.into(),
            hint: None,
        }
    }

    /// The same diagnostic with a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The same diagnostic at a 1-based line and column.
    pub fn at(mut self, line: usize, column: usize) -> Self {
        self.line = Some(line);
        self.column = Some(column);
        self
    }
}

impl fmt::Display for Diagnostic {
    /// The human block: `error: FILE:LINE:COL: PATH`, then `expected`, `found`, `hint`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self
            .file
            .as_deref()
            .map_or_else(|| "<scenario>".to_string(), |p| p.display().to_string());
        match (self.line, self.column) {
            (Some(l), Some(c)) => writeln!(f, "error: {file}:{l}:{c}: {}", self.path)?,
            (Some(l), None) => writeln!(f, "error: {file}:{l}: {}", self.path)?,
            _ => writeln!(f, "error: {file}: {}", self.path)?,
        }
        writeln!(f, "  expected: {}", self.expected)?;
        write!(f, "  found:    {}", self.found)?;
        if let Some(h) = &self.hint {
            write!(f, "\n  hint:     {h}")?;
        }
        Ok(())
    }
}

/// A scenario that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("error: {}: cannot read the file: {source}", path.display())]
    Io {
        /// The file asked for.
        path: PathBuf,
        /// Why reading failed.
        #[source]
        source: std::io::Error,
    },
    /// The file was read but breaks the format or its rules; every problem found is
    /// listed (shape errors stop at the first one, rule errors are all collected).
    #[error("{}", render(.0))]
    Invalid(Vec<Diagnostic>),
}

fn render(diags: &[Diagnostic]) -> String {
    let blocks: Vec<String> = diags.iter().map(Diagnostic::to_string).collect();
    let n = diags.len();
    let noun = if n == 1 { "problem" } else { "problems" };
    format!("{}\n{n} {noun} found", blocks.join("\n\n"))
}

impl ScenarioError {
    /// The diagnostics (empty for an I/O error).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            ScenarioError::Io { .. } => &[],
            ScenarioError::Invalid(d) => d,
        }
    }

    /// The file concerned, when known.
    pub fn file(&self) -> Option<&Path> {
        match self {
            ScenarioError::Io { path, .. } => Some(path),
            ScenarioError::Invalid(d) => d.iter().find_map(|d| d.file.as_deref()),
        }
    }

    /// Human rendering: one block per diagnostic and a count.
    pub fn render_human(&self) -> String {
        self.to_string()
    }

    /// JSON rendering: `{ "file", "io_error", "diagnostics": [..] }`.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            ScenarioError::Io { path, source } => serde_json::json!({
                "file": path,
                "io_error": source.to_string(),
                "diagnostics": [],
            }),
            ScenarioError::Invalid(d) => serde_json::json!({
                "file": self.file(),
                "io_error": null,
                "diagnostics": d,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_block_names_file_line_column_and_path() {
        let mut d = Diagnostic::new("sim_settings.seed", "an integer", "`x`")
            .with_hint("drop it")
            .at(3, 7);
        d.file = Some(PathBuf::from("a.yml"));
        let s = d.to_string();
        assert!(
            s.starts_with("error: a.yml:3:7: sim_settings.seed\n"),
            "{s}"
        );
        assert!(
            s.contains("expected: an integer")
                && s.contains("found:    `x`")
                && s.contains("hint:     drop it")
        );
    }

    #[test]
    fn json_lists_every_diagnostic() {
        let e = ScenarioError::Invalid(vec![
            Diagnostic::new("a", "b", "c"),
            Diagnostic::new("d", "e", "f"),
        ]);
        let v = e.to_json();
        assert_eq!(v["diagnostics"].as_array().map(Vec::len), Some(2));
        assert_eq!(v["diagnostics"][1]["path"], "d");
    }
}
