//! Parameter grids: `--set PATH=V1,V2,...` flags, their cross product, and one
//! validated [`Scenario`] per point.
//!
//! Values are applied on the YAML tree (`serde_norway::Value`) of the base file,
//! then the edited tree is serialised and goes through the same parsing and
//! validation as any scenario file, so a point can never hold a model that
//! `asyncflow validate` would reject.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde_norway::Value;

use super::SweepError;
use crate::scenario::Scenario;

/// One step of a [`YamlPath`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// A mapping key.
    Key(String),
    /// A sequence element by position.
    Index(usize),
    /// The sequence element whose `id` key equals this string.
    Id(String),
}

/// A path into the YAML tree: `rqs_input.avg_active_users.mean`,
/// `topology_graph.nodes.servers[0].server_resources.cpu_cores`,
/// `topology_graph.edges[client-app].latency.mean` (`[text]` selects the element
/// whose `id` is `text`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlPath {
    text: String,
    segments: Vec<Segment>,
}

impl YamlPath {
    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Its steps.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Replace the value at this path in `root`. Every step but the last must
    /// exist; the last may be a new key of an existing mapping (an optional key
    /// the base file left out).
    pub fn set(&self, root: &mut Value, value: Value) -> Result<(), String> {
        let mut node = root;
        let last = self.segments.len() - 1;
        for (i, seg) in self.segments.iter().enumerate() {
            let here = self.prefix(i);
            node = match seg {
                Segment::Key(k) => {
                    let Value::Mapping(m) = node else {
                        return Err(format!("`{here}` is not a mapping, so it has no key `{k}`"));
                    };
                    if i == last {
                        m.insert(Value::String(k.clone()), value);
                        return Ok(());
                    }
                    match m.get_mut(k.as_str()) {
                        Some(v) => v,
                        None => return Err(format!("`{}` does not exist", self.prefix(i + 1))),
                    }
                }
                Segment::Index(n) => {
                    let Value::Sequence(s) = node else {
                        return Err(format!(
                            "`{here}` is not a list, so it has no element [{n}]"
                        ));
                    };
                    let len = s.len();
                    match s.get_mut(*n) {
                        Some(v) => v,
                        None => {
                            return Err(format!(
                                "`{here}` has {len} element(s), so [{n}] does not exist"
                            ));
                        }
                    }
                }
                Segment::Id(id) => {
                    let Value::Sequence(s) = node else {
                        return Err(format!(
                            "`{here}` is not a list, so it has no element [{id}]"
                        ));
                    };
                    match s
                        .iter_mut()
                        .find(|v| v.get("id").and_then(Value::as_str) == Some(id.as_str()))
                    {
                        Some(v) => v,
                        None => return Err(format!("`{here}` has no element with id `{id}`")),
                    }
                }
            };
            if i == last {
                *node = value;
                return Ok(());
            }
        }
        Ok(())
    }

    /// The text of the first `n` segments, for messages.
    fn prefix(&self, n: usize) -> String {
        let mut s = String::new();
        for seg in &self.segments[..n] {
            match seg {
                Segment::Key(k) => {
                    if !s.is_empty() {
                        s.push('.');
                    }
                    s.push_str(k);
                }
                Segment::Index(i) => s.push_str(&format!("[{i}]")),
                Segment::Id(id) => s.push_str(&format!("[{id}]")),
            }
        }
        if s.is_empty() { "(root)".into() } else { s }
    }
}

impl fmt::Display for YamlPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for YamlPath {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| format!("bad YAML path `{s}`: {why}");
        let mut segments = Vec::new();
        let mut rest = s.trim();
        let text = rest.to_owned();
        if rest.is_empty() {
            return Err(bad("it is empty"));
        }
        let mut expect_key = true;
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix('[') {
                let Some(end) = r.find(']') else {
                    return Err(bad("`[` without `]`"));
                };
                let inner = r[..end].trim();
                if inner.is_empty() {
                    return Err(bad("empty `[]`"));
                }
                if segments.is_empty() {
                    return Err(bad("it must start with a key"));
                }
                segments.push(match inner.parse::<usize>() {
                    Ok(n) => Segment::Index(n),
                    Err(_) => Segment::Id(inner.to_owned()),
                });
                rest = &r[end + 1..];
                expect_key = false;
                continue;
            }
            if let Some(r) = rest.strip_prefix('.') {
                if expect_key {
                    return Err(bad("empty key"));
                }
                rest = r;
                expect_key = true;
                continue;
            }
            if !expect_key {
                return Err(bad("expected `.` or `[` after `]`"));
            }
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            let key = rest[..end].trim();
            if key.is_empty() || key.contains(']') {
                return Err(bad("empty key"));
            }
            segments.push(Segment::Key(key.to_owned()));
            rest = &rest[end..];
            expect_key = false;
        }
        if expect_key {
            return Err(bad("it ends with `.`"));
        }
        Ok(YamlPath { text, segments })
    }
}

/// One `--set PATH=V1,V2,...` flag: a path and the values it takes.
#[derive(Debug, Clone, PartialEq)]
pub struct SetSpec {
    /// Where the values go.
    pub path: YamlPath,
    /// The values, in the order given; each was parsed as a YAML scalar (`8`
    /// is an integer, `0.5` a float, `round_robin` a string).
    pub values: Vec<Value>,
}

impl FromStr for SetSpec {
    type Err = String;

    /// `PATH=V1,V2,...`; values cannot contain commas.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let Some((path, values)) = s.split_once('=') else {
            return Err(format!("`{s}`: expected PATH=V1,V2,..."));
        };
        let path: YamlPath = path.parse()?;
        let mut out = Vec::new();
        for v in values.split(',') {
            let v = v.trim();
            if v.is_empty() {
                return Err(format!("`{s}`: empty value in the list"));
            }
            let parsed: Value = serde_norway::from_str(v)
                .map_err(|e| format!("`{s}`: value `{v}` is not a YAML scalar: {e}"))?;
            if matches!(parsed, Value::Mapping(_) | Value::Sequence(_)) {
                return Err(format!("`{s}`: value `{v}` must be a scalar"));
            }
            out.push(parsed);
        }
        Ok(SetSpec { path, values: out })
    }
}

/// One point of the grid: a validated scenario and the values that made it.
#[derive(Debug, Clone)]
pub struct Point {
    /// Index in row-major order of the `--set` flags (the last flag varies fastest).
    pub index: usize,
    /// One value per swept path, in flag order.
    pub values: Vec<Value>,
    /// The scenario of this point.
    pub scenario: Scenario,
}

impl Point {
    /// `path=value, ...`, for messages.
    pub fn describe(&self, paths: &[YamlPath]) -> String {
        describe(paths, &self.values)
    }
}

fn describe(paths: &[YamlPath], values: &[Value]) -> String {
    if paths.is_empty() {
        return "the base scenario".into();
    }
    paths
        .iter()
        .zip(values)
        .map(|(p, v)| format!("{p}={}", scalar_text(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A scalar as text (strings without quotes).
pub fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => serde_norway::to_string(other)
            .map(|s| s.trim().to_owned())
            .unwrap_or_default(),
    }
}

/// The whole grid: the swept paths and every point, validated.
#[derive(Debug, Clone)]
pub struct Grid {
    /// The swept paths, in flag order.
    pub paths: Vec<YamlPath>,
    /// Every point, by index.
    pub points: Vec<Point>,
    /// The base scenario file, if any.
    pub source: Option<PathBuf>,
    /// SHA-256 of the base scenario text.
    pub base_sha256: String,
}

impl Grid {
    /// Read the base scenario and expand the grid.
    pub fn load(path: &Path, sets: &[SetSpec]) -> Result<Grid, SweepError> {
        let text = std::fs::read_to_string(path).map_err(|source| SweepError::Io {
            action: "read",
            path: path.to_path_buf(),
            source,
        })?;
        Grid::from_yaml_str(&text, Some(path), sets)
    }

    /// Expand the grid over `text`. Every point is validated before this returns;
    /// all problems are reported, each naming its point and the values set.
    pub fn from_yaml_str(
        text: &str,
        path: Option<&Path>,
        sets: &[SetSpec],
    ) -> Result<Grid, SweepError> {
        let base = Scenario::from_yaml_str(text, path).map_err(SweepError::Scenario)?;
        let base_sha256 = base.sha256().to_owned();
        let paths: Vec<YamlPath> = sets.iter().map(|s| s.path.clone()).collect();
        for (i, p) in paths.iter().enumerate() {
            if paths[..i].contains(p) {
                return Err(SweepError::Grid(format!("`{p}` is set twice")));
            }
        }
        if sets.is_empty() {
            // No edit: the point is the file itself, so a one-point sweep's
            // replication 0 is exactly `asyncflow run` with the same seed.
            return Ok(Grid {
                paths,
                points: vec![Point {
                    index: 0,
                    values: Vec::new(),
                    scenario: base,
                }],
                source: path.map(Path::to_path_buf),
                base_sha256,
            });
        }
        let tree: Value = serde_norway::from_str(text)
            .map_err(|e| SweepError::Grid(format!("cannot read the scenario as YAML: {e}")))?;
        let sizes: Vec<usize> = sets.iter().map(|s| s.values.len()).collect();
        let total = sizes
            .iter()
            .try_fold(1usize, |acc, &n| acc.checked_mul(n))
            .filter(|&n| n <= 1_000_000)
            .ok_or_else(|| SweepError::Grid("the grid has more than 1,000,000 points".into()))?;
        let mut points = Vec::with_capacity(total);
        let mut problems = Vec::new();
        for index in 0..total {
            let picks = unravel(index, &sizes);
            let values: Vec<Value> = picks
                .iter()
                .zip(sets)
                .map(|(&j, s)| s.values[j].clone())
                .collect();
            let mut t = tree.clone();
            for (p, v) in paths.iter().zip(&values) {
                // The tree's shape is the same at every point, so a bad path fails
                // at point 0 and is reported once, naming the path.
                p.set(&mut t, v.clone()).map_err(|why| SweepError::Path {
                    path: p.to_string(),
                    reason: why,
                })?;
            }
            let edited = serde_norway::to_string(&t)
                .map_err(|e| SweepError::Grid(format!("cannot serialise point {index}: {e}")))?;
            match Scenario::from_yaml_str(&edited, path) {
                Ok(scenario) => points.push(Point {
                    index,
                    values,
                    scenario,
                }),
                Err(e) => {
                    // Line numbers would point into the edited text, not the file.
                    let diags = e
                        .diagnostics()
                        .iter()
                        .map(|d| {
                            let mut d = d.clone();
                            d.line = None;
                            d.column = None;
                            d
                        })
                        .collect();
                    problems.push(super::PointProblem {
                        point: index,
                        assignments: describe(&paths, &values),
                        diagnostics: diags,
                    });
                }
            }
        }
        if !problems.is_empty() {
            return Err(SweepError::InvalidPoints(problems));
        }
        Ok(Grid {
            paths,
            points,
            source: path.map(Path::to_path_buf),
            base_sha256,
        })
    }
}

/// Row-major digits of `index` over `sizes` (the last size varies fastest).
fn unravel(mut index: usize, sizes: &[usize]) -> Vec<usize> {
    let mut out = vec![0; sizes.len()];
    for (slot, &n) in out.iter_mut().zip(sizes).rev() {
        *slot = index % n;
        index /= n;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUICKSTART: &str = include_str!("../../scenarios/quickstart.yml");

    #[test]
    fn paths_parse_keys_indices_and_ids() {
        let p: YamlPath = "topology_graph.nodes.servers[0].server_resources.cpu_cores"
            .parse()
            .unwrap();
        assert_eq!(p.segments().len(), 6);
        assert_eq!(p.segments()[3], Segment::Index(0));
        let p: YamlPath = "topology_graph.edges[client-app].latency.mean"
            .parse()
            .unwrap();
        assert_eq!(p.segments()[2], Segment::Id("client-app".into()));
        for bad in ["", "a..b", "a.", ".a", "[0]", "a[0", "a[]", "a[0]b"] {
            assert!(bad.parse::<YamlPath>().is_err(), "{bad}");
        }
    }

    #[test]
    fn set_specs_parse_yaml_scalars() {
        let s: SetSpec = "a.b=1,2.5,x".parse().unwrap();
        assert_eq!(s.values[0], Value::Number(1.into()));
        assert_eq!(s.values[1], Value::Number(2.5.into()));
        assert_eq!(s.values[2], Value::String("x".into()));
        assert!("a.b".parse::<SetSpec>().is_err());
        assert!("a.b=1,,2".parse::<SetSpec>().is_err());
        assert!("a.b=[1]".parse::<SetSpec>().is_err());
    }

    #[test]
    fn unravel_is_row_major() {
        let sizes = [2, 3];
        let all: Vec<_> = (0..6).map(|i| unravel(i, &sizes)).collect();
        assert_eq!(
            all,
            [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]].map(|a| a.to_vec())
        );
    }

    #[test]
    fn grid_applies_values_in_row_major_order() {
        let sets: Vec<SetSpec> = [
            "rqs_input.avg_active_users.mean=50,100",
            "topology_graph.nodes.servers[app-1].server_resources.cpu_cores=1,2,4",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        let g = Grid::from_yaml_str(QUICKSTART, None, &sets).unwrap();
        assert_eq!(g.points.len(), 6);
        let m = g.points[4].scenario.model();
        assert_eq!(m.generators()[0].avg_active_users.mean, 100.0);
        assert_eq!(
            m.topology_graph.nodes.servers[0].server_resources.cpu_cores,
            2
        );
    }

    #[test]
    fn invalid_points_name_the_point_and_the_path() {
        let sets: Vec<SetSpec> = ["topology_graph.nodes.servers[0].server_resources.cpu_cores=1,0"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let e = Grid::from_yaml_str(QUICKSTART, None, &sets).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("point 1"), "{msg}");
        assert!(msg.contains("cpu_cores=0"), "{msg}");
        assert!(msg.contains("server_resources.cpu_cores"), "{msg}");
        assert!(!msg.contains("point 0"), "{msg}");
    }

    #[test]
    fn a_missing_path_is_reported_with_its_text() {
        let sets: Vec<SetSpec> = ["topology_graph.nodes.servers[3].id=x"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let e = Grid::from_yaml_str(QUICKSTART, None, &sets).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("servers[3]"), "{msg}");
        assert!(msg.contains("1 element"), "{msg}");
    }

    #[test]
    fn no_sets_keep_the_base_text() {
        let g = Grid::from_yaml_str(QUICKSTART, None, &[]).unwrap();
        let base = Scenario::from_yaml_str(QUICKSTART, None).unwrap();
        assert_eq!(g.points.len(), 1);
        assert_eq!(g.points[0].scenario.sha256(), base.sha256());
    }
}
