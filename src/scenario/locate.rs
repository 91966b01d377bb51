//! Where each YAML path starts in the source text.
//!
//! serde reports a location only for the shape error that stopped it; rule
//! violations are found later on the typed model, which has no positions. This
//! index replays the parser's events once and records, for every value, the line
//! and column where it starts, keyed by the same path spelling as
//! `serde_path_to_error` (`a.b[0].c`). A path that is absent from the file (a
//! defaulted key) falls back to its nearest present ancestor.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser};

/// Path → (1-based line, 1-based column) of the value's first character.
#[derive(Debug, Default, Clone)]
pub struct LocationIndex {
    at: HashMap<String, (usize, usize)>,
}

enum Frame {
    /// A mapping; `key` is `None` while the next node is a key.
    Map { path: String, key: Option<String> },
    /// A sequence and the index of its next item.
    Seq { path: String, index: usize },
}

impl LocationIndex {
    /// Index `text`; stops quietly at the first syntax error (serde reports it).
    pub fn build(text: &str) -> LocationIndex {
        let mut index = LocationIndex::default();
        let mut stack: Vec<Frame> = Vec::new();
        for item in Parser::new_from_str(text) {
            let Ok((event, span)) = item else { break };
            let pos = (span.start.line(), span.start.col() + 1);
            match event {
                Event::Scalar(value, ..) => {
                    index.record(&stack, pos);
                    node_done(&mut stack, Some(value.into_owned()));
                }
                Event::Alias(_) => {
                    index.record(&stack, pos);
                    node_done(&mut stack, None);
                }
                Event::MappingStart(..) => {
                    let path = index.record(&stack, pos);
                    stack.push(Frame::Map { path, key: None });
                }
                Event::SequenceStart(..) => {
                    let path = index.record(&stack, pos);
                    stack.push(Frame::Seq { path, index: 0 });
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    stack.pop();
                    node_done(&mut stack, None);
                }
                Event::DocumentEnd => break,
                _ => {}
            }
        }
        index
    }

    /// The path of the node starting now; recorded unless it is a mapping key.
    fn record(&mut self, stack: &[Frame], pos: (usize, usize)) -> String {
        let path = match stack.last() {
            None => String::new(),
            Some(Frame::Map { key: None, path }) => return format!("{path}.<key>"),
            Some(Frame::Map { key: Some(k), path }) if path.is_empty() => k.clone(),
            Some(Frame::Map { key: Some(k), path }) => format!("{path}.{k}"),
            Some(Frame::Seq { path, index }) => format!("{path}[{index}]"),
        };
        self.at.entry(path.clone()).or_insert(pos);
        path
    }

    /// Line and column of `path`, or of its nearest ancestor present in the file.
    pub fn locate(&self, path: &str) -> Option<(usize, usize)> {
        let mut p = path;
        loop {
            if let Some(&pos) = self.at.get(p) {
                return Some(pos);
            }
            if p.is_empty() || p == "." {
                return None;
            }
            p = match p.rfind(['.', '[']) {
                Some(i) => &p[..i],
                None => "",
            };
        }
    }
}

/// A node finished: a key becomes the current key, a value clears it, a
/// sequence item advances the index.
fn node_done(stack: &mut [Frame], scalar: Option<String>) {
    match stack.last_mut() {
        Some(Frame::Map { key, .. }) => {
            *key = match key.take() {
                None => Some(scalar.unwrap_or_else(|| "?".to_string())),
                Some(_) => None,
            };
        }
        Some(Frame::Seq { index, .. }) => *index += 1,
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "a:\n  b: [1, {c: 2}]\n  d:\n    - e: x\n      f: y\n";

    #[test]
    fn values_are_located_by_path() {
        let ix = LocationIndex::build(TEXT);
        assert_eq!(ix.locate("a.b"), Some((2, 6)));
        assert_eq!(ix.locate("a.b[1].c"), Some((2, 14)));
        assert_eq!(ix.locate("a.d[0].f"), Some((5, 10)));
    }

    #[test]
    fn absent_paths_fall_back_to_the_nearest_ancestor() {
        let ix = LocationIndex::build(TEXT);
        assert_eq!(ix.locate("a.d[0].zzz"), ix.locate("a.d[0]"));
        assert_eq!(ix.locate("nothing.here"), ix.locate(""));
    }

    #[test]
    fn broken_yaml_does_not_panic() {
        let ix = LocationIndex::build("a: [1, 2\n b: {");
        let _ = ix.locate("a");
    }
}
