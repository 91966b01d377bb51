//! Results are unchanged: every bundled and compatibility scenario, run with a
//! fixed seed, still produces the outputs recorded in `tests/data/golden/`.
//!
//! A golden file holds, per Parquet file, the row count and one SHA-256 per
//! column over the column's values in row order (so batch boundaries and Parquet
//! encoding do not matter, only values), plus the `results` and `engine_figures`
//! objects of `summary.json` verbatim. A run matches when every file has the
//! same row count, every recorded column the same digest, and every recorded
//! summary key the same value; columns and keys that are new are ignored, so
//! adding an output does not break the guard.
//!
//! Canonical encoding of a column's values, fed to SHA-256 in row order:
//! - floats: `f64::to_bits` little-endian (Float32 widened to f64 first, exactly);
//! - integers: signed as `i64`, unsigned as `u64`, little-endian; booleans one byte;
//! - strings (plain, or dictionary-encoded looked up through their keys): the
//!   UTF-8 bytes then a 0 byte; a null string is `FF 00` (`FF` never occurs in
//!   UTF-8);
//! - a null of a fixed-width type adds nothing inline; after the last row, if the
//!   column had nulls, the marker `FF "nulls"` and each null row index as `u64`
//!   little-endian are appended (so, for a given row count, a column with nulls
//!   never hashes like one without).
//!
//! Record mode: with `ASYNCFLOW_GOLDEN_RECORD=DIR`, the test rewrites the golden
//! files from the existing output directories `DIR/<name>/` of
//! `asyncflow run SCENARIO --seed S [--horizon H] --out DIR/<name>` (run from the
//! repository root) instead of running anything: scenario path, seed and horizon
//! come from each directory's `summary.json`.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{Array, LargeStringArray, RecordBatch, StringArray, StringViewArray};
use arrow_schema::{DataType, Schema};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use asyncflow::engine::time::SimTime;
use asyncflow::metrics::sink::OutputSelection;
use asyncflow::{RunOptions, Scenario};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const GOLDEN_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/golden");
const RECORD_ENV: &str = "ASYNCFLOW_GOLDEN_RECORD";
const PARQUET_FILES: [&str; 3] = ["requests.parquet", "samples.parquet", "events.parquet"];
/// The keys of `summary.json` that a run must reproduce (the others describe the
/// engine version, the scenario file and wall-clock time).
const SUMMARY_KEYS: [&str; 2] = ["results", "engine_figures"];

/// Row count and per-column digests of one Parquet file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct FileDigest {
    rows: u64,
    columns: BTreeMap<String, String>,
}

/// One `tests/data/golden/<name>.json`.
#[derive(Debug, Serialize, Deserialize)]
struct Golden {
    /// Scenario file, relative to the repository root.
    scenario: String,
    seed: u64,
    /// `--horizon`, or null for the scenario's own `total_simulation_time`.
    horizon_s: Option<f64>,
    files: BTreeMap<String, FileDigest>,
    /// `results` and `engine_figures` of `summary.json`.
    summary: BTreeMap<String, Value>,
}

// ---------------------------------------------------------------- digests

/// Running SHA-256 of one column over all batches.
struct ColumnHasher {
    sha: Sha256,
    rows: u64,
    null_rows: Vec<u64>,
}

impl ColumnHasher {
    fn new() -> Self {
        ColumnHasher {
            sha: Sha256::new(),
            rows: 0,
            null_rows: Vec::new(),
        }
    }

    fn finish(mut self) -> String {
        if !self.null_rows.is_empty() {
            self.sha.update(b"\xffnulls");
            for r in &self.null_rows {
                self.sha.update(r.to_le_bytes());
            }
        }
        self.sha
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Feed every value of `col` (one batch's slice of the column).
    fn update(&mut self, col: &dyn Array) -> Result<(), String> {
        let nulls = col.logical_nulls();
        let is_null = |i: usize| nulls.as_ref().is_some_and(|n| n.is_null(i));
        let n = col.len();
        let base = self.rows;
        let sha = &mut self.sha;
        let null_rows = &mut self.null_rows;
        // Fixed-width values: `enc(i)` gives the bytes of row i.
        let mut fixed = |enc: &dyn Fn(usize) -> [u8; 8]| {
            for i in 0..n {
                if is_null(i) {
                    null_rows.push(base + i as u64);
                } else {
                    sha.update(enc(i));
                }
            }
        };
        macro_rules! signed {
            ($t:ty) => {{
                let a = col.as_primitive::<$t>();
                fixed(&|i| i64::from(a.value(i)).to_le_bytes())
            }};
        }
        macro_rules! unsigned {
            ($t:ty) => {{
                let a = col.as_primitive::<$t>();
                fixed(&|i| u64::from(a.value(i)).to_le_bytes())
            }};
        }
        match col.data_type() {
            DataType::Float64 => {
                let a = col.as_primitive::<Float64Type>();
                fixed(&|i| a.value(i).to_bits().to_le_bytes());
            }
            DataType::Float32 => {
                let a = col.as_primitive::<Float32Type>();
                fixed(&|i| f64::from(a.value(i)).to_bits().to_le_bytes());
            }
            DataType::Int8 => signed!(Int8Type),
            DataType::Int16 => signed!(Int16Type),
            DataType::Int32 => signed!(Int32Type),
            DataType::Int64 => signed!(Int64Type),
            DataType::UInt8 => unsigned!(UInt8Type),
            DataType::UInt16 => unsigned!(UInt16Type),
            DataType::UInt32 => unsigned!(UInt32Type),
            DataType::UInt64 => unsigned!(UInt64Type),
            DataType::Boolean => {
                let a = col.as_boolean();
                for i in 0..n {
                    if is_null(i) {
                        null_rows.push(base + i as u64);
                    } else {
                        sha.update([u8::from(a.value(i))]);
                    }
                }
            }
            DataType::Dictionary(_, _) => {
                let d = col.as_any_dictionary();
                let keys = key_indices(d.keys())?;
                let values = Strings::of(d.values().as_ref()).ok_or_else(|| {
                    format!("unsupported column type {} (not strings)", col.data_type())
                })?;
                for (i, k) in keys.iter().enumerate() {
                    hash_str(sha, (!is_null(i)).then(|| values.value(*k)));
                }
            }
            t => match Strings::of(col) {
                Some(s) => {
                    for i in 0..n {
                        hash_str(sha, (!is_null(i)).then(|| s.value(i)));
                    }
                }
                None => return Err(format!("unsupported column type {t}")),
            },
        }
        self.rows += n as u64;
        Ok(())
    }
}

fn hash_str(sha: &mut Sha256, s: Option<&str>) {
    match s {
        Some(s) => {
            sha.update(s.as_bytes());
            sha.update([0]);
        }
        None => sha.update([0xff, 0]),
    }
}

/// A string array of any offset width.
enum Strings<'a> {
    Utf8(&'a StringArray),
    Large(&'a LargeStringArray),
    View(&'a StringViewArray),
}

impl<'a> Strings<'a> {
    fn of(a: &'a dyn Array) -> Option<Self> {
        match a.data_type() {
            DataType::Utf8 => Some(Strings::Utf8(a.as_string::<i32>())),
            DataType::LargeUtf8 => Some(Strings::Large(a.as_string::<i64>())),
            DataType::Utf8View => Some(Strings::View(a.as_string_view())),
            _ => None,
        }
    }

    fn value(&self, i: usize) -> &'a str {
        match self {
            Strings::Utf8(a) => a.value(i),
            Strings::Large(a) => a.value(i),
            Strings::View(a) => a.value(i),
        }
    }
}

/// Dictionary keys as indices (whatever the key type; a null row's key is
/// never looked up).
fn key_indices(keys: &dyn Array) -> Result<Vec<usize>, String> {
    macro_rules! idx {
        ($t:ty) => {
            keys.as_primitive::<$t>()
                .values()
                .iter()
                .map(|&k| k as usize)
                .collect()
        };
    }
    Ok(match keys.data_type() {
        DataType::UInt8 => idx!(UInt8Type),
        DataType::UInt16 => idx!(UInt16Type),
        DataType::UInt32 => idx!(UInt32Type),
        DataType::UInt64 => idx!(UInt64Type),
        DataType::Int8 => idx!(Int8Type),
        DataType::Int16 => idx!(Int16Type),
        DataType::Int32 => idx!(Int32Type),
        DataType::Int64 => idx!(Int64Type),
        t => return Err(format!("unsupported dictionary key type {t}")),
    })
}

/// Digest of the rows of `batches` (all of `schema`), in order.
fn digest_batches(
    schema: &Schema,
    batches: impl IntoIterator<Item = RecordBatch>,
) -> Result<FileDigest, String> {
    let mut hashers: Vec<ColumnHasher> = schema
        .fields()
        .iter()
        .map(|_| ColumnHasher::new())
        .collect();
    let mut rows = 0u64;
    for b in batches {
        for (i, (f, h)) in schema.fields().iter().zip(&mut hashers).enumerate() {
            let col = b.column(i);
            if col.data_type() != f.data_type() {
                return Err(format!(
                    "column `{}`: batch type {} is not the schema's {}",
                    f.name(),
                    col.data_type(),
                    f.data_type()
                ));
            }
            h.update(col.as_ref())
                .map_err(|e| format!("column `{}`: {e}", f.name()))?;
        }
        rows += b.num_rows() as u64;
    }
    let columns = schema
        .fields()
        .iter()
        .zip(hashers)
        .map(|(f, h)| (f.name().clone(), h.finish()))
        .collect();
    Ok(FileDigest { rows, columns })
}

/// Digest of one Parquet file (string columns read as they were written:
/// `dictionary<UInt32, Utf8>`).
fn digest_file(path: &Path) -> FileDigest {
    let f = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let builder = ParquetRecordBatchReaderBuilder::try_new(f)
        .unwrap_or_else(|e| panic!("{}: parquet footer: {e}", path.display()));
    let schema = builder.schema().clone();
    let reader = builder
        .build()
        .unwrap_or_else(|e| panic!("{}: parquet reader: {e}", path.display()));
    let batches = reader.map(|b| b.unwrap_or_else(|e| panic!("{}: {e}", path.display())));
    digest_batches(&schema, batches).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The digests of the Parquet files present in a run directory.
fn digest_dir(dir: &Path) -> BTreeMap<String, FileDigest> {
    PARQUET_FILES
        .iter()
        .map(|f| (f, dir.join(f)))
        .filter(|(_, p)| p.is_file())
        .map(|(f, p)| ((*f).to_owned(), digest_file(&p)))
        .collect()
}

/// `results` and `engine_figures` of a run directory's `summary.json`.
fn summary_sections(summary: &Value, dir: &Path) -> BTreeMap<String, Value> {
    SUMMARY_KEYS
        .iter()
        .map(|k| {
            let v = summary
                .get(k)
                .unwrap_or_else(|| panic!("{}: summary.json has no `{k}`", dir.display()));
            ((*k).to_owned(), v.clone())
        })
        .collect()
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ------------------------------------------------------------- comparisons

/// Differences of one file against its golden digest: row count, and every
/// golden column (missing or changed). Columns only in `now` are ignored.
fn compare_file(scenario: &str, file: &str, golden: &FileDigest, now: &FileDigest) -> Vec<String> {
    let mut out = Vec::new();
    if golden.rows != now.rows {
        out.push(format!(
            "{scenario}: {file}: {} rows, golden has {}",
            now.rows, golden.rows
        ));
    }
    for (col, want) in &golden.columns {
        match now.columns.get(col) {
            None => out.push(format!(
                "{scenario}: {file}: column `{col}` is in the golden file but missing from the output"
            )),
            Some(got) if got != want => out.push(format!(
                "{scenario}: {file}: column `{col}` differs (digest {got}, golden {want})"
            )),
            Some(_) => {}
        }
    }
    out
}

/// Differences of `now` against `golden` at JSON path `path`: every key of a
/// golden object must exist with the same value (recursively; arrays element
/// by element and of the same length); keys only in `now` are ignored.
fn compare_json(path: &str, golden: &Value, now: &Value, out: &mut Vec<String>) {
    match (golden, now) {
        (Value::Object(g), Value::Object(n)) => {
            for (k, gv) in g {
                let p = format!("{path}.{k}");
                match n.get(k) {
                    Some(nv) => compare_json(&p, gv, nv, out),
                    None => out.push(format!("{p}: missing (golden {gv})")),
                }
            }
        }
        (Value::Array(g), Value::Array(n)) => {
            if g.len() != n.len() {
                out.push(format!(
                    "{path}: {} elements, golden has {}",
                    n.len(),
                    g.len()
                ));
            }
            for (i, (gv, nv)) in g.iter().zip(n).enumerate() {
                compare_json(&format!("{path}[{i}]"), gv, nv, out);
            }
        }
        // Numbers compare by representation too: 5 and 5.0 differ.
        (g, n) if g == n => {}
        (g, n) => out.push(format!("{path}: {n}, golden {g}")),
    }
}

fn compare_summary(
    scenario: &str,
    golden: &BTreeMap<String, Value>,
    now: &BTreeMap<String, Value>,
) -> Vec<String> {
    let mut diffs = Vec::new();
    for (k, gv) in golden {
        match now.get(k) {
            Some(nv) => compare_json(k, gv, nv, &mut diffs),
            None => diffs.push(format!("{k}: missing")),
        }
    }
    diffs
        .into_iter()
        .map(|d| format!("{scenario}: summary.json: {d}"))
        .collect()
}

// ------------------------------------------------------------ the guard

fn golden_files() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(GOLDEN_DIR)
        .unwrap_or_else(|e| panic!("{GOLDEN_DIR}: {e}"))
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    out.sort();
    out
}

/// Run one golden scenario as recorded and list every difference.
fn check(name: &str, golden: &Golden) -> Vec<String> {
    let sc = Scenario::load(&Path::new(ROOT).join(&golden.scenario))
        .unwrap_or_else(|e| panic!("{name}: {}:\n{e}", golden.scenario));
    let dir = tempfile::tempdir().expect("temporary directory");
    let out = dir.path().join("run");
    asyncflow::run(
        &sc,
        RunOptions {
            seed: Some(golden.seed),
            horizon: golden.horizon_s.map(SimTime::from_secs_f64),
            out_dir: Some(out.clone()),
            outputs: Some(OutputSelection::ALL),
            ..RunOptions::default()
        },
    )
    .unwrap_or_else(|e| panic!("{name}: run failed: {e}"));
    let mut diffs = Vec::new();
    for (file, want) in &golden.files {
        let path = out.join(file);
        if path.is_file() {
            diffs.extend(compare_file(name, file, want, &digest_file(&path)));
        } else {
            diffs.push(format!("{name}: {file}: not written"));
        }
    }
    let summary = summary_sections(&read_json(&out.join("summary.json")), &out);
    diffs.extend(compare_summary(name, &golden.summary, &summary));
    diffs
}

/// Rewrite `tests/data/golden/<name>.json` from each run directory in `src`.
fn record(src: &Path) {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(src)
        .unwrap_or_else(|e| panic!("{RECORD_ENV}={}: {e}", src.display()))
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.join("summary.json").is_file())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "{}: no run directories", src.display());
    std::fs::create_dir_all(GOLDEN_DIR).expect("golden directory");
    for dir in dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let summary = read_json(&dir.join("summary.json"));
        let field = |a: &str, b: &str| {
            summary
                .get(a)
                .and_then(|v| v.get(b))
                .unwrap_or_else(|| panic!("{name}: summary.json has no {a}.{b}"))
                .clone()
        };
        assert_eq!(field("run", "status"), "complete", "{name}");
        assert_eq!(field("run", "replication"), 0, "{name}");
        let seed = field("run", "seed").as_u64().expect("seed");
        let mut scenario = PathBuf::from(field("scenario", "path").as_str().expect("path"));
        if scenario.is_absolute() {
            scenario = scenario
                .strip_prefix(ROOT)
                .unwrap_or_else(|_| {
                    panic!("{name}: {} is outside the repository", scenario.display())
                })
                .to_path_buf();
        }
        let scenario = scenario.to_string_lossy().into_owned();
        let sc = Scenario::load(&Path::new(ROOT).join(&scenario))
            .unwrap_or_else(|e| panic!("{name}: {scenario}:\n{e}"));
        assert_eq!(
            field("scenario", "sha256"),
            sc.sha256(),
            "{name}: {scenario} changed since the outputs were made"
        );
        let horizon = field("run", "horizon_s").as_f64().expect("horizon_s");
        let full = sc.model().sim_settings.total_simulation_time as f64;
        let golden = Golden {
            scenario,
            seed,
            horizon_s: (horizon != full).then_some(horizon),
            files: digest_dir(&dir),
            summary: summary_sections(&summary, &dir),
        };
        let mut text = serde_json::to_string_pretty(&golden).expect("golden JSON");
        text.push('\n');
        let path = Path::new(GOLDEN_DIR).join(format!("{name}.json"));
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        eprintln!("recorded {}", path.display());
    }
}

#[test]
fn golden_outputs_are_unchanged() {
    if let Some(src) = std::env::var_os(RECORD_ENV) {
        record(Path::new(&src));
        return;
    }
    let files = golden_files();
    assert!(!files.is_empty(), "no golden files in {GOLDEN_DIR}");
    let mut diffs = Vec::new();
    for path in &files {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let golden: Golden =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        diffs.extend(check(&name, &golden));
    }
    assert!(
        diffs.is_empty(),
        "{} difference(s) from the golden outputs (re-record only if the change is intended: \
         {RECORD_ENV}=DIR, see tests/it/golden.rs):\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

// ------------------------------------------------- the guard can fail

mod guard {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, DictionaryArray, Float64Array, UInt64Array};
    use arrow_schema::Field;
    use serde_json::json;

    use super::*;

    fn schema() -> Arc<Schema> {
        Arc::new(Schema::new(vec![
            Field::new("request_id", DataType::UInt64, false),
            Field::new(
                "server",
                DataType::Dictionary(Box::new(DataType::UInt32), Box::new(DataType::Utf8)),
                true,
            ),
            Field::new("latency_s", DataType::Float64, false),
        ]))
    }

    fn batch(ids: &[u64], servers: &[Option<&str>], lat: &[f64]) -> RecordBatch {
        let servers: DictionaryArray<UInt32Type> = servers.iter().copied().collect();
        let cols: Vec<ArrayRef> = vec![
            Arc::new(UInt64Array::from(ids.to_vec())),
            Arc::new(servers),
            Arc::new(Float64Array::from(lat.to_vec())),
        ];
        RecordBatch::try_new(schema(), cols).unwrap()
    }

    fn digest(batches: Vec<RecordBatch>) -> FileDigest {
        digest_batches(&schema(), batches).unwrap()
    }

    const IDS: [u64; 3] = [1, 2, 3];
    const SERVERS: [Option<&str>; 3] = [Some("a"), None, Some("b")];
    const LAT: [f64; 3] = [0.5, 0.25, 0.125];

    #[test]
    fn one_changed_value_changes_only_its_column() {
        let base = digest(vec![batch(&IDS, &SERVERS, &LAT)]);
        let mut lat = LAT;
        lat[1] = lat[1].next_up();
        let changed = digest(vec![batch(&IDS, &SERVERS, &lat)]);
        assert_eq!(changed.rows, 3);
        assert_ne!(changed.columns["latency_s"], base.columns["latency_s"]);
        assert_eq!(changed.columns["request_id"], base.columns["request_id"]);
        assert_eq!(changed.columns["server"], base.columns["server"]);
        let diffs = compare_file("sc", "requests.parquet", &base, &changed);
        assert_eq!(diffs.len(), 1, "{diffs:?}");
        assert!(
            diffs[0].starts_with("sc: requests.parquet: column `latency_s` differs"),
            "{diffs:?}"
        );
        // A null string is not an empty one, and string order matters.
        let empty = digest(vec![batch(&IDS, &[Some("a"), Some(""), Some("b")], &LAT)]);
        assert_ne!(empty.columns["server"], base.columns["server"]);
        let swapped = digest(vec![batch(&IDS, &[Some("b"), None, Some("a")], &LAT)]);
        assert_ne!(swapped.columns["server"], base.columns["server"]);
    }

    #[test]
    fn batch_boundaries_do_not_matter() {
        let whole = digest(vec![batch(&IDS, &SERVERS, &LAT)]);
        let split = digest(vec![
            batch(&IDS[..1], &SERVERS[..1], &LAT[..1]),
            batch(&IDS[1..], &SERVERS[1..], &LAT[1..]),
        ]);
        assert_eq!(whole, split);
    }

    #[test]
    fn missing_columns_and_row_counts_are_reported_new_columns_ignored() {
        let now = digest(vec![batch(&IDS, &SERVERS, &LAT)]);
        let mut golden = now.clone();
        golden.columns.insert("cpu_s".into(), "00".into());
        let diffs = compare_file("sc", "requests.parquet", &golden, &now);
        assert_eq!(
            diffs,
            [
                "sc: requests.parquet: column `cpu_s` is in the golden file but missing from the output"
            ]
        );
        // A column only in the output is fine.
        let mut old = now.clone();
        old.columns.remove("server");
        assert!(compare_file("sc", "requests.parquet", &old, &now).is_empty());
        let fewer = digest(vec![batch(&IDS[..2], &SERVERS[..2], &LAT[..2])]);
        let diffs = compare_file("sc", "requests.parquet", &now, &fewer);
        assert!(diffs[0].contains("2 rows, golden has 3"), "{diffs:?}");
    }

    #[test]
    fn summary_differences_name_their_json_path() {
        let golden: BTreeMap<String, Value> = [
            (
                "results".to_owned(),
                json!({ "servers": [{ "id": "a", "served": 5 }], "latency": { "mean_s": 0.5 } }),
            ),
            ("engine_figures".to_owned(), json!({ "sample_ticks": 10 })),
        ]
        .into();
        let mut now = golden.clone();
        // New keys are allowed.
        now.get_mut("results").unwrap()["latency"]["p999_s"] = json!(0.9);
        assert!(compare_summary("sc", &golden, &now).is_empty());
        now.get_mut("results").unwrap()["servers"][0]["served"] = json!(6);
        now.get_mut("results").unwrap()["latency"]["mean_s"] = json!(0.5f64.next_up());
        now.get_mut("engine_figures")
            .unwrap()
            .as_object_mut()
            .unwrap()
            .remove("sample_ticks");
        let diffs = compare_summary("sc", &golden, &now);
        assert_eq!(diffs.len(), 3, "{diffs:?}");
        assert!(diffs[0].starts_with("sc: summary.json: engine_figures.sample_ticks: missing"));
        assert!(diffs[1].starts_with("sc: summary.json: results.latency.mean_s: "));
        assert_eq!(
            diffs[2],
            "sc: summary.json: results.servers[0].served: 6, golden 5"
        );
        // An integer is not the float of the same value.
        let mut float = golden.clone();
        float.get_mut("engine_figures").unwrap()["sample_ticks"] = json!(10.0);
        assert_eq!(compare_summary("sc", &golden, &float).len(), 1);
    }
}
