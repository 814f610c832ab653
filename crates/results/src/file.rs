//! One scenario's results as files: `<name>.json` (with `schema_version`, the
//! scenario as run, the machine, the variants' facts and every table) and one CSV
//! per table (`<name>.csv` for the main table, `<name>_<table>.csv` for others).
//!
//! A scenario's files are replaced as one unit. Every file is first written to
//! `<file>.tmp`; then the CSVs are renamed into place and the JSON last. The JSON
//! names each CSV with its length and FNV-1a digest under a `generation` id, so a
//! run killed between two renames leaves CSVs that its JSON does not vouch for:
//! [`Results::verify_files`] finds them and readers refuse the mix, naming the
//! file. Leftover `*.tmp` files are removed by the next run ([`clean_leftovers`])
//! and ignored by readers. [`OutLock`] keeps two runs from writing one folder.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::json;
use softmax_lab_core::{Family, Function};

use crate::machine::Machine;
use crate::table::{Column, ColumnType, Table, Value};

/// The version of the results layout; bump it when a field changes meaning.
/// 2: the variants' facts (family, function), the generation id and the CSV digests.
/// Still 2 with `failures` and the variants' `source` (issue 19): both are
/// additions that a reader of older files defaults (no failures, no source) and
/// that older readers ignore, so no field changed meaning.
pub const SCHEMA_VERSION: u32 = 2;

/// What a results file says of a variant it measured, so that nothing downstream
/// guesses a family or a function from an id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VariantFacts {
    /// The variant id.
    pub id: String,
    /// Its family.
    pub family: Family,
    /// The function it computes.
    pub function: Function,
    /// Where an external variant comes from and how it fared (`None`: built in).
    pub source: Option<SourceFacts>,
}

/// An external variant's origin and status, as its results record them.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SourceFacts {
    /// `library` or `command`.
    pub kind: String,
    /// The library path or the command line, as declared.
    pub declared: String,
    /// The implementation's own name (a command's hello, a library's `sl_version`).
    pub name: String,
    /// Versions it reported, package → version.
    pub versions: Vec<(String, String)>,
    /// `ok`, `unavailable`, `failed` or `not_started`.
    pub status: String,
    /// The message of an unavailable or failed variant (empty otherwise).
    pub message: String,
}

/// A variant that stopped answering during a run: the scenario's other variants
/// ran, and its rows are absent from the tables.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// The variant id.
    pub variant: String,
    /// The dtype of the call that failed (empty when not tied to one).
    pub dtype: String,
    /// `unavailable` (its package is missing: not counted as a failure) or `failed`.
    pub status: String,
    /// What it said, or what was expected of it.
    pub message: String,
}

/// One CSV as the JSON of its run vouches for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDigest {
    /// The file name inside the results folder.
    pub name: String,
    /// Its length in bytes.
    pub bytes: u64,
    /// FNV-1a (64 bit) of its bytes, 16 hex digits.
    pub fnv1a64: String,
}

/// FNV-1a, 64 bit: a digest to tell two runs' files apart (not a defence
/// against tampering).
pub fn fnv1a64(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Whether `name` follows the scenario-name rule: non-empty, lowercase ASCII
/// letters, digits, `_` and `-` — so it is safe as part of a file name.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// The CSV file of table `table` of scenario `name` of kind `kind`: the main table
/// (named like the kind) is `<name>.csv`, others `<name>_<table>.csv`.
pub fn csv_name(name: &str, kind: &str, table: &str) -> String {
    if table == kind {
        format!("{name}.csv")
    } else {
        format!("{name}_{table}.csv")
    }
}

/// One scenario's results.
#[derive(Clone, Debug)]
pub struct Results {
    /// [`SCHEMA_VERSION`] when written.
    pub schema_version: u32,
    /// The scenario as run (its serialisation).
    pub scenario: serde_json::Value,
    /// The machine it ran on.
    pub machine: Machine,
    /// Wall time of the run, seconds.
    pub elapsed_s: f64,
    /// The family and function of every variant the tables name (and every
    /// external variant the scenario named, answered or not).
    pub variants: Vec<VariantFacts>,
    /// The variants that failed or were unavailable (empty in older files).
    pub failures: Vec<Failure>,
    /// The tables, each also written as `<scenario>[_<table>].csv`.
    pub tables: Vec<Table>,
    /// An id unique to the run that wrote the files (set by [`Results::write`]).
    pub generation: String,
    /// The CSVs written with the JSON (set by [`Results::write`]).
    pub files: Vec<FileDigest>,
}

/// A results file that could not be read back.
#[derive(Debug, thiserror::Error)]
#[error("results JSON: {0}")]
pub struct ReadError(pub String);

impl Results {
    /// The results as pretty JSON.
    pub fn to_json(&self) -> String {
        let tables: Vec<serde_json::Value> = self
            .tables
            .iter()
            .map(|t| {
                json!({
                    "name": t.name,
                    "columns": t.columns,
                    "rows": t.rows.iter()
                        .map(|r| r.iter().map(Value::to_json).collect::<Vec<_>>())
                        .collect::<Vec<_>>(),
                })
            })
            .collect();
        let variants: Vec<serde_json::Value> = self
            .variants
            .iter()
            .map(|v| {
                let mut o =
                    json!({"id": v.id, "family": v.family.name(), "function": v.function.name()});
                if let Some(src) = &v.source {
                    o["source"] = json!(src);
                }
                o
            })
            .collect();
        let doc = json!({
            "schema_version": self.schema_version,
            "generation": self.generation,
            "scenario": self.scenario,
            "machine": self.machine,
            "elapsed_s": Value::Float(self.elapsed_s).to_json(),
            "variants": variants,
            "failures": self.failures,
            "files": self.files,
            "tables": tables,
        });
        // Serialising a Value built from maps, strings and finite numbers cannot fail.
        serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
    }

    /// Read what [`Results::to_json`] writes.
    pub fn from_json(text: &str) -> Result<Results, ReadError> {
        let err = |m: String| ReadError(m);
        let doc: serde_json::Value = serde_json::from_str(text).map_err(|e| err(e.to_string()))?;
        let field = |name: &str| {
            doc.get(name)
                .ok_or_else(|| err(format!("missing `{name}`")))
        };
        let schema_version = field("schema_version")?
            .as_u64()
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| err("`schema_version` is not a whole number".into()))?;
        if schema_version != SCHEMA_VERSION {
            return Err(err(format!(
                "schema_version {schema_version}; this build reads {SCHEMA_VERSION}"
            )));
        }
        let machine: Machine =
            serde_json::from_value(field("machine")?.clone()).map_err(|e| err(e.to_string()))?;
        let elapsed_s = match Value::from_json(ColumnType::Float, field("elapsed_s")?) {
            Ok(Value::Float(v)) => v,
            _ => return Err(err("`elapsed_s` is not a number".into())),
        };
        let mut tables = Vec::new();
        for t in field("tables")?
            .as_array()
            .ok_or_else(|| err("`tables` is not an array".into()))?
        {
            let name = t
                .get("name")
                .and_then(|n| n.as_str())
                .ok_or_else(|| err("a table without `name`".into()))?;
            let columns: Vec<Column> =
                serde_json::from_value(t.get("columns").cloned().unwrap_or_default())
                    .map_err(|e| err(format!("table {name}: columns: {e}")))?;
            let rows_json = t
                .get("rows")
                .and_then(|r| r.as_array())
                .ok_or_else(|| err(format!("table {name}: no `rows` array")))?;
            let mut rows = Vec::new();
            for r in rows_json {
                let cells = r
                    .as_array()
                    .filter(|c| c.len() == columns.len())
                    .ok_or_else(|| err(format!("table {name}: a row of the wrong width")))?;
                let row = columns
                    .iter()
                    .zip(cells)
                    .map(|(c, v)| Value::from_json(c.ty, v))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| err(format!("table {name}: {e}")))?;
                rows.push(row);
            }
            tables.push(Table {
                name: name.to_string(),
                columns,
                rows,
            });
        }
        let mut variants = Vec::new();
        for v in field("variants")?
            .as_array()
            .ok_or_else(|| err("`variants` is not an array".into()))?
        {
            let text = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or_default();
            let bad = |what: &str| err(format!("`variants`: {what} in {v}"));
            let id = text("id");
            if id.is_empty() {
                return Err(bad("no `id`"));
            }
            variants.push(VariantFacts {
                id: id.to_string(),
                family: Family::from_name(text("family"))
                    .ok_or_else(|| bad("an unknown `family`"))?,
                function: Function::from_name(text("function"))
                    .ok_or_else(|| bad("an unknown `function`"))?,
                source: match v.get("source") {
                    None | Some(serde_json::Value::Null) => None,
                    Some(src) => Some(
                        serde_json::from_value(src.clone())
                            .map_err(|e| bad(&format!("`source`: {e}")))?,
                    ),
                },
            });
        }
        let files: Vec<FileDigest> = serde_json::from_value(field("files")?.clone())
            .map_err(|e| err(format!("`files`: {e}")))?;
        let generation = field("generation")?
            .as_str()
            .ok_or_else(|| err("`generation` is not a string".into()))?
            .to_string();
        let scenario = field("scenario")?.clone();
        let failures: Vec<Failure> = match doc.get("failures") {
            None => Vec::new(),
            Some(f) => {
                serde_json::from_value(f.clone()).map_err(|e| err(format!("`failures`: {e}")))?
            }
        };
        let results = Results {
            schema_version,
            scenario,
            machine,
            elapsed_s,
            variants,
            failures,
            tables,
            generation,
            files,
        };
        for (what, v) in [
            ("scenario.name", results.name()),
            ("scenario.kind", results.kind()),
        ] {
            if !is_valid_name(v) {
                return Err(err(format!(
                    "`{what}` is '{v}': expected lowercase letters, digits, '_' and '-' (non-empty)"
                )));
            }
        }
        for t in &results.tables {
            if !is_valid_name(&t.name) {
                return Err(err(format!(
                    "table name '{}': expected lowercase letters, digits, '_' and '-' (non-empty)",
                    t.name
                )));
            }
        }
        for f in &results.files {
            if !f.name.ends_with(".csv") || !is_valid_name(f.name.trim_end_matches(".csv")) {
                return Err(err(format!(
                    "`files`: '{}' is not a CSV name of this folder",
                    f.name
                )));
            }
        }
        Ok(results)
    }

    /// The scenario's name (`scenario.name`; empty when missing).
    pub fn name(&self) -> &str {
        self.scenario
            .get("name")
            .and_then(|v| v.as_str())
            .unwrap_or("")
    }

    /// The scenario's kind name (`scenario.kind`; empty when missing).
    pub fn kind(&self) -> &str {
        self.scenario
            .get("kind")
            .and_then(|v| v.as_str())
            .unwrap_or("")
    }

    /// The facts of variant `id`, if the run measured it.
    pub fn variant(&self, id: &str) -> Option<&VariantFacts> {
        self.variants.iter().find(|v| v.id == id)
    }

    /// The table named `name`.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// The CSV file name of `table`.
    pub fn csv_name(&self, table: &Table) -> String {
        csv_name(self.name(), self.kind(), &table.name)
    }

    /// Write the scenario's files into `dir` as one unit (see the module docs):
    /// every file to `<file>.tmp`, then the CSVs renamed into place, the JSON last.
    /// Sets `generation` and `files`. Returns the paths written.
    pub fn write(&mut self, dir: &Path) -> Result<Vec<PathBuf>, WriteError> {
        let csvs: Vec<(String, String)> = self
            .tables
            .iter()
            .map(|t| (self.csv_name(t), t.to_csv()))
            .collect();
        self.generation = generation_id();
        self.files = csvs
            .iter()
            .map(|(name, text)| FileDigest {
                name: name.clone(),
                bytes: text.len() as u64,
                fnv1a64: fnv1a64(text.as_bytes()),
            })
            .collect();
        let json_path = dir.join(format!("{}.json", self.name()));
        let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
        let all = csvs
            .iter()
            .map(|(n, t)| (dir.join(n), t.clone()))
            .chain([(json_path, self.to_json())]);
        for (path, text) in all {
            let tmp = tmp_path(&path);
            if let Err(source) = write_file(&tmp, text.as_bytes()) {
                for (t, _) in &staged {
                    let _ = std::fs::remove_file(t);
                }
                let _ = std::fs::remove_file(&tmp);
                return Err(WriteError { path: tmp, source });
            }
            staged.push((tmp, path));
        }
        let mut written = Vec::new();
        for (tmp, path) in &staged {
            std::fs::rename(tmp, path).map_err(|source| WriteError {
                path: path.clone(),
                source,
            })?;
            written.push(path.clone());
        }
        Ok(written)
    }

    /// Check that every CSV this JSON vouches for in `dir` is the one its run
    /// wrote (length and digest): an error names the first file that is missing or
    /// comes from another run.
    pub fn verify_files(&self, dir: &Path) -> Result<(), String> {
        for f in &self.files {
            let path = dir.join(&f.name);
            let bytes = std::fs::read(&path)
                .map_err(|e| format!("{}: {}", path.display(), plain_io(&e)))?;
            if bytes.len() as u64 != f.bytes || fnv1a64(&bytes) != f.fnv1a64 {
                return Err(format!(
                    "{}: not the file that run {} of scenario '{}' wrote ({} bytes, expected {}): \
                     a write was interrupted or the file was edited; rerun the scenario",
                    path.display(),
                    self.generation,
                    self.name(),
                    bytes.len(),
                    f.bytes
                ));
            }
        }
        Ok(())
    }
}

/// A file that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("{}: cannot write: {}", path.display(), plain_io(source))]
pub struct WriteError {
    /// The file.
    pub path: PathBuf,
    /// The underlying error.
    pub source: std::io::Error,
}

/// An I/O error's message without the `(os error N)` suffix repeated by callers.
pub fn plain_io(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// An id unique to this write: time in nanoseconds and the process id, in hex.
fn generation_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{:x}-{:x}", nanos, std::process::id())
}

fn write_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = File::create(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// `<path>.tmp`: where a file is written before it is renamed into place.
pub fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Write `bytes` to `path` atomically: to `<path>.tmp`, then rename. On failure the
/// temporary file is removed and `path` is untouched.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = tmp_path(path);
    let result = write_file(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Remove the `*.tmp` files an interrupted write left in `dir` (a missing folder
/// is not an error). Returns how many were removed.
pub fn clean_leftovers(dir: &Path) -> std::io::Result<usize> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    for e in entries.flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "tmp") && p.is_file() {
            std::fs::remove_file(&p)?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Check, before anything is measured, that results can be written to `dir` and
/// that no results file there is of another schema version (the report renders
/// the whole folder). The error names the file and what was expected.
pub fn precheck_dir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("{}: cannot create: {}", dir.display(), plain_io(&e)))?;
    let probe = dir.join(format!(".write-probe-{}.tmp", std::process::id()));
    write_file(&probe, b"")
        .map_err(|e| format!("{}: cannot write: {}", dir.display(), plain_io(&e)))?;
    let _ = std::fs::remove_file(&probe);
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: cannot read: {}", dir.display(), plain_io(&e)))?;
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json") && p.is_file())
        .collect();
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f)
            .map_err(|e| format!("{}: cannot read: {}", f.display(), plain_io(&e)))?;
        let version = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("schema_version").and_then(|s| s.as_u64()));
        if version != Some(u64::from(SCHEMA_VERSION)) {
            let found = version.map_or("no schema_version".to_string(), |v| {
                format!("schema_version {v}")
            });
            return Err(format!(
                "{}: {found}; this build writes {SCHEMA_VERSION} and renders the whole folder: \
                 move the old results away or choose another --out",
                f.display()
            ));
        }
    }
    Ok(())
}

/// An advisory lock on an output folder (`<dir>/.softmax-lab.lock`), held until
/// dropped: a second run on the same folder is refused at once, told which process
/// holds it.
#[derive(Debug)]
pub struct OutLock {
    _file: File,
}

impl OutLock {
    /// The lock file's name inside the folder.
    pub const FILE: &'static str = ".softmax-lab.lock";

    /// Take the lock on `dir` (created if missing), or say who holds it.
    pub fn acquire(dir: &Path) -> Result<OutLock, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("{}: cannot create: {}", dir.display(), plain_io(&e)))?;
        let path = dir.join(Self::FILE);
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| format!("{}: cannot open: {}", path.display(), plain_io(&e)))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&path).unwrap_or_default();
                let holder = holder.trim();
                let who = if holder.is_empty() {
                    "another process".to_string()
                } else {
                    format!("process {holder}")
                };
                return Err(format!(
                    "{}: {who} is writing to {} (another softmax-lab run); wait for it or choose another --out",
                    path.display(),
                    dir.display()
                ));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(format!("{}: cannot lock: {}", path.display(), plain_io(&e)))
            }
        }
        file.set_len(0)
            .and_then(|()| file.write_all(std::process::id().to_string().as_bytes()))
            .map_err(|e| format!("{}: cannot write: {}", path.display(), plain_io(&e)))?;
        Ok(OutLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tmp_path_appends_suffix() {
        assert_eq!(
            tmp_path(Path::new("out/a.json")),
            PathBuf::from("out/a.json.tmp")
        );
    }

    #[test]
    fn names_that_could_leave_the_folder_are_invalid() {
        assert!(is_valid_name("accuracy_softmax-2"));
        for bad in ["", "../../pwned", "a/b", "A", "x.y", "a b"] {
            assert!(!is_valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn io_errors_lose_their_os_error_suffix() {
        let e = std::io::Error::from_raw_os_error(13);
        assert_eq!(plain_io(&e), "Permission denied");
    }

    fn scratch(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("softmax-lab-results-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{e}"));
        d
    }

    fn results(rows: usize) -> Results {
        let mut main = Table::new("accuracy", &[("max_ulp", ColumnType::Float)]);
        let mut side = Table::new("onset", &[("n", ColumnType::Int)]);
        for i in 0..rows {
            main.push(vec![Value::Float(i as f64 / 3.0)]);
            side.push(vec![Value::Int(i as i64)]);
        }
        Results {
            schema_version: SCHEMA_VERSION,
            scenario: json!({"name": "acc", "kind": "accuracy"}),
            machine: {
                let _spawning = crate::spawn_guard();
                Machine::detect()
            },
            elapsed_s: 1.0,
            variants: vec![VariantFacts {
                id: "stable".into(),
                family: Family::Stable,
                function: Function::Softmax,
                source: None,
            }],
            failures: Vec::new(),
            tables: vec![main, side],
            generation: String::new(),
            files: Vec::new(),
        }
    }

    #[test]
    fn a_scenarios_files_are_written_together_and_a_mix_of_runs_is_found() {
        let d = scratch("unit");
        let mut old = results(3);
        let written = old.write(&d).unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<String> = written
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        assert_eq!(names, ["acc.csv", "acc_onset.csv", "acc.json"]);
        let text = std::fs::read_to_string(d.join("acc.json")).unwrap_or_default();
        let back = Results::from_json(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            back.variant("stable").map(|v| v.function),
            Some(Function::Softmax)
        );
        assert_eq!(back.verify_files(&d), Ok(()));
        // A kill after the new run renamed its first CSV and before its JSON: the
        // old JSON no longer vouches for that CSV.
        std::fs::write(d.join("acc.csv"), results(5).tables[0].to_csv())
            .unwrap_or_else(|e| panic!("{e}"));
        let e = back.verify_files(&d).unwrap_err();
        assert!(e.contains("acc.csv") && e.contains("rerun"), "{e}");
        std::fs::remove_file(d.join("acc.csv")).unwrap_or_else(|e| panic!("{e}"));
        assert!(back.verify_files(&d).unwrap_err().contains("acc.csv"));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_results_name_that_would_leave_the_folder_is_refused() {
        let mut r = results(1);
        r.scenario = json!({"name": "../../pwned", "kind": "accuracy"});
        let e = Results::from_json(&r.to_json()).unwrap_err();
        assert!(
            e.0.contains("scenario.name") && e.0.contains("../../pwned"),
            "{}",
            e.0
        );
        let mut r = results(1);
        r.tables[1].name = "../x".into();
        assert!(Results::from_json(&r.to_json()).is_err());
    }

    #[test]
    fn failures_and_sources_round_trip_and_older_files_read_without_them() {
        let mut r = results(1);
        r.variants.push(VariantFacts {
            id: "peer".into(),
            family: Family::External,
            function: Function::LogSoftmax,
            source: Some(SourceFacts {
                kind: "command".into(),
                declared: "python3 peer.py".into(),
                name: "PyTorch".into(),
                versions: vec![("torch".into(), "2.5.1".into())],
                status: "failed".into(),
                message: "no reply".into(),
            }),
        });
        r.failures.push(Failure {
            variant: "peer".into(),
            dtype: "f32".into(),
            status: "failed".into(),
            message: "no reply".into(),
        });
        let back = Results::from_json(&r.to_json()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.variants, r.variants);
        assert_eq!(back.failures, r.failures);
        // A file written before issue 19: no `failures`, no `source`.
        let mut doc: serde_json::Value =
            serde_json::from_str(&results(1).to_json()).unwrap_or_default();
        if let Some(o) = doc.as_object_mut() {
            o.remove("failures");
        }
        assert!(!doc.to_string().contains("source"));
        let old = Results::from_json(&doc.to_string()).unwrap_or_else(|e| panic!("{e}"));
        assert!(old.failures.is_empty() && old.variants[0].source.is_none());
        // A malformed list is refused, not dropped.
        doc["failures"] = json!([{"variant": "x"}]);
        assert!(Results::from_json(&doc.to_string()).is_err());
    }

    #[test]
    fn leftovers_are_cleaned_and_other_files_kept() {
        let d = scratch("leftovers");
        std::fs::write(d.join("acc.json.tmp"), "{").unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(d.join("acc.csv"), "x").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(clean_leftovers(&d).ok(), Some(1));
        assert!(d.join("acc.csv").exists() && !d.join("acc.json.tmp").exists());
        assert_eq!(clean_leftovers(&d.join("missing")).ok(), Some(0));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn precheck_refuses_old_schemas_and_unwritable_folders_before_any_work() {
        let d = scratch("precheck");
        assert_eq!(precheck_dir(&d.join("results")), Ok(()));
        results(1)
            .write(&d.join("results"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(precheck_dir(&d.join("results")), Ok(()));
        std::fs::write(d.join("results/old.json"), r#"{"schema_version": 1}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        let e = precheck_dir(&d.join("results")).unwrap_err();
        assert!(
            e.contains("old.json") && e.contains("schema_version 1"),
            "{e}"
        );
        // A folder that cannot be created (a file stands in its way); root ignores
        // permission bits, so this is the unwritable case every user has.
        std::fs::write(d.join("file"), "").unwrap_or_else(|e| panic!("{e}"));
        let e = precheck_dir(&d.join("file/results")).unwrap_err();
        assert!(e.contains("cannot create"), "{e}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_second_lock_on_a_folder_is_refused_with_the_holder() {
        let d = scratch("lock");
        // No process may start while the lock is open (see `spawn_guard`).
        let _no_spawns = crate::spawn_guard();
        let first = OutLock::acquire(&d).unwrap_or_else(|e| panic!("{e}"));
        let e = OutLock::acquire(&d).unwrap_err();
        assert!(
            e.contains(&format!("process {}", std::process::id())),
            "{e}"
        );
        drop(first);
        assert!(OutLock::acquire(&d).is_ok());
        let _ = std::fs::remove_dir_all(&d);
    }
}
