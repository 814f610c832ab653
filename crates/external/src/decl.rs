//! Declaration files: one `[[external]]` table per variant (schema in the crate
//! docs and `docs/external.md`), read with the byte span of every value so that
//! each error is `file:line:column: message` naming what was expected, as every
//! scenario error is.

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use softmax_lab_core::{DType, Function};
use toml::Spanned;

/// The functions an external variant may declare.
pub const FUNCTIONS: [Function; 3] = [Function::Softmax, Function::LogSoftmax, Function::Sigmoid];

/// The per-call timeout of a command variant when the declaration gives none.
pub const DEFAULT_TIMEOUT_S: f64 = 60.0;

/// The largest declaration file read (1 MiB, as for scenarios).
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// One declared variant, resolved and validated.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Declaration {
    /// Its id (`[a-z0-9_]+`, distinct from every built-in id).
    pub id: String,
    /// The function it computes.
    #[serde(serialize_with = "function_name")]
    pub function: Function,
    /// The dtypes it answers in, narrowest first.
    #[serde(serialize_with = "dtype_names")]
    pub dtypes: Vec<DType>,
    /// Whether it answers backward calls.
    pub backward: bool,
    /// Whether it takes a temperature.
    pub temperature: bool,
    /// One line saying what it is (may be empty).
    pub description: String,
    /// How it is reached.
    pub access: Access,
    /// The declaration file, as its path was given (relative paths stay relative).
    pub declared_in: PathBuf,
}

/// How an external variant is reached.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Access {
    /// A program speaking the command protocol.
    Command {
        /// argv, as declared; argv\[0\] looked up on PATH unless it has a `/`.
        command: Vec<String>,
        /// Seconds a call may take before the program is killed.
        timeout_s: f64,
    },
    /// A shared library exporting the C ABI.
    Library {
        /// The library path as declared (relative to the declaring file's folder).
        library: String,
        /// The symbol prefix (`sl_<function>` unless declared).
        prefix: String,
    },
}

impl Access {
    /// `command` or `library`.
    pub fn kind(&self) -> &'static str {
        match self {
            Access::Command { .. } => "command",
            Access::Library { .. } => "library",
        }
    }

    /// The command line or the library path, as declared.
    pub fn declared(&self) -> String {
        match self {
            Access::Command { command, .. } => command.join(" "),
            Access::Library { library, .. } => library.clone(),
        }
    }
}

impl Declaration {
    /// The folder relative paths of the declaration are resolved against (the
    /// declaring file's folder; `.` for a bare file name).
    pub fn base_dir(&self) -> PathBuf {
        match self.declared_in.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }
}

fn function_name<S: serde::Serializer>(f: &Function, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(f.name())
}

fn dtype_names<S: serde::Serializer>(d: &[DType], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(d.iter().map(|d| d.name()))
}

/// An invalid declaration file: `file:line:column: message` (1-based, the column
/// counted in characters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}:{column}: {message}", path.display())]
pub struct DeclError {
    /// The file.
    pub path: PathBuf,
    /// Line of the offending value.
    pub line: usize,
    /// Column of the offending value.
    pub column: usize,
    /// What is wrong and what is allowed.
    pub message: String,
}

type S<T> = Spanned<T>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    external: Option<S<Vec<S<RawDecl>>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDecl {
    id: S<String>,
    function: S<String>,
    dtypes: S<Vec<S<String>>>,
    backward: Option<bool>,
    temperature: Option<S<bool>>,
    description: Option<String>,
    kind: S<String>,
    command: Option<S<Vec<S<String>>>>,
    timeout_s: Option<S<f64>>,
    library: Option<S<String>>,
    prefix: Option<S<String>>,
}

struct Ctx<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Ctx<'_> {
    fn err(&self, span: Range<usize>, message: impl Into<String>) -> DeclError {
        let (line, column) = line_column(self.text, span.start);
        DeclError {
            path: self.path.to_path_buf(),
            line,
            column,
            message: message.into(),
        }
    }
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let offset = (0..=offset)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, text[line_start..offset].chars().count() + 1)
}

/// Whether `id` follows the external-id rule: non-empty, `[a-z0-9_]`.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn is_symbol(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Read and parse a declaration file. `taken` says why an id may not be used (a
/// built-in id, or one an earlier file declared): `Some(reason)` refuses it.
pub fn load(
    path: &Path,
    taken: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Declaration>, DeclError> {
    let at_start = |message: String| DeclError {
        path: path.to_path_buf(),
        line: 1,
        column: 1,
        message,
    };
    let meta = std::fs::metadata(path)
        .map_err(|e| at_start(format!("cannot read the declaration file: {e}")))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(at_start(format!(
            "the declaration file has {} bytes: at most {MAX_FILE_BYTES} are read",
            meta.len()
        )));
    }
    let bytes = std::fs::read(path)
        .map_err(|e| at_start(format!("cannot read the declaration file: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let ok = e.utf8_error().valid_up_to();
        let text = String::from_utf8_lossy(&e.as_bytes()[..ok]).into_owned();
        let (line, column) = line_column(&text, ok);
        DeclError {
            path: path.to_path_buf(),
            line,
            column,
            message: "the file is not UTF-8 text".into(),
        }
    })?;
    parse(path, &text, taken)
}

/// Parse the text of a declaration file (see [`load`]).
pub fn parse(
    path: &Path,
    text: &str,
    taken: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Declaration>, DeclError> {
    let cx = Ctx { path, text };
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let message = e.message().trim().replace('\n', " ");
        let message = if message.is_empty() {
            "expected a value here; the file may be cut off".to_string()
        } else {
            message
        };
        cx.err(e.span().unwrap_or(0..0), message)
    })?;
    let Some(tables) = raw.external else {
        return Err(cx.err(
            0..0,
            "no variants: declare each with an [[external]] table (id, function, dtypes, kind, \
             and command or library)",
        ));
    };
    let mut out: Vec<Declaration> = Vec::new();
    for t in tables.get_ref() {
        let d = declaration(&cx, t.get_ref())?;
        if let Some(reason) = taken(&d.id) {
            return Err(cx.err(t.get_ref().id.span(), reason));
        }
        if out.iter().any(|o| o.id == d.id) {
            return Err(cx.err(
                t.get_ref().id.span(),
                format!("id '{}' is declared twice in this file", d.id),
            ));
        }
        out.push(d);
    }
    Ok(out)
}

fn declaration(cx: &Ctx, r: &RawDecl) -> Result<Declaration, DeclError> {
    let id = r.id.get_ref();
    if !is_valid_id(id) {
        return Err(cx.err(
            r.id.span(),
            format!("invalid id '{id}': use lowercase letters, digits and '_' (non-empty)"),
        ));
    }
    let names: Vec<&str> = FUNCTIONS.iter().map(|f| f.name()).collect();
    let function = FUNCTIONS
        .into_iter()
        .find(|f| f.name() == r.function.get_ref())
        .ok_or_else(|| {
            cx.err(
                r.function.span(),
                format!(
                    "unknown function '{}': expected one of {}",
                    r.function.get_ref(),
                    names.join(", ")
                ),
            )
        })?;
    if r.dtypes.get_ref().is_empty() {
        return Err(cx.err(
            r.dtypes.span(),
            "`dtypes` is empty: list at least one of f16, bf16, f32, f64",
        ));
    }
    let mut dtypes = Vec::new();
    for d in r.dtypes.get_ref() {
        let dtype = dtype_of(d.get_ref()).ok_or_else(|| {
            cx.err(
                d.span(),
                format!(
                    "unknown dtype '{}': expected one of f16, bf16, f32, f64",
                    d.get_ref()
                ),
            )
        })?;
        if dtypes.contains(&dtype) {
            return Err(cx.err(d.span(), format!("dtype '{}' is listed twice", d.get_ref())));
        }
        dtypes.push(dtype);
    }
    dtypes.sort_by_key(|d| DType::ALL.iter().position(|a| a == d));
    let temperature = match &r.temperature {
        Some(t) if *t.get_ref() && function == Function::Sigmoid => {
            return Err(cx.err(
                t.span(),
                "`temperature = true` is for softmax and log_softmax: sigmoid takes none",
            ))
        }
        Some(t) => *t.get_ref(),
        None => false,
    };
    let misplaced = |span: Range<usize>, field: &str, kind: &str| {
        cx.err(
            span,
            format!(
                "`{field}` is a field of kind = \"{kind}\"; this variant is kind = \"{}\"",
                r.kind.get_ref()
            ),
        )
    };
    let access = match r.kind.get_ref().as_str() {
        "command" => {
            if let Some(l) = &r.library {
                return Err(misplaced(l.span(), "library", "library"));
            }
            if let Some(p) = &r.prefix {
                return Err(misplaced(p.span(), "prefix", "library"));
            }
            let command = r.command.as_ref().ok_or_else(|| {
                cx.err(
                    r.kind.span(),
                    "kind = \"command\" needs `command`: the program's argv, e.g. [\"python3\", \"peer.py\"]",
                )
            })?;
            if command.get_ref().is_empty() || command.get_ref()[0].get_ref().is_empty() {
                return Err(cx.err(
                    command.span(),
                    "`command` is empty: give the program and its arguments",
                ));
            }
            let timeout_s = match &r.timeout_s {
                Some(t) if !(t.get_ref().is_finite() && *t.get_ref() > 0.0) => {
                    return Err(cx.err(
                        t.span(),
                        format!(
                            "`timeout_s` must be a number of seconds > 0, got {}",
                            t.get_ref()
                        ),
                    ))
                }
                Some(t) => *t.get_ref(),
                None => DEFAULT_TIMEOUT_S,
            };
            Access::Command {
                command: command
                    .get_ref()
                    .iter()
                    .map(|a| a.get_ref().clone())
                    .collect(),
                timeout_s,
            }
        }
        "library" => {
            if let Some(c) = &r.command {
                return Err(misplaced(c.span(), "command", "command"));
            }
            if let Some(t) = &r.timeout_s {
                return Err(misplaced(t.span(), "timeout_s", "command"));
            }
            let library = r.library.as_ref().ok_or_else(|| {
                cx.err(
                    r.kind.span(),
                    "kind = \"library\" needs `library`: the shared library's path",
                )
            })?;
            if library.get_ref().is_empty() {
                return Err(cx.err(
                    library.span(),
                    "`library` is empty: give the library's path",
                ));
            }
            let prefix = match &r.prefix {
                Some(p) if !is_symbol(p.get_ref()) => {
                    return Err(cx.err(
                        p.span(),
                        format!(
                            "invalid prefix '{}': a C identifier (letters, digits, '_', not \
                             starting with a digit)",
                            p.get_ref()
                        ),
                    ))
                }
                Some(p) => p.get_ref().clone(),
                None => format!("sl_{}", function.name()),
            };
            Access::Library {
                library: library.get_ref().clone(),
                prefix,
            }
        }
        other => {
            return Err(cx.err(
                r.kind.span(),
                format!("unknown kind '{other}': expected one of command, library"),
            ))
        }
    };
    Ok(Declaration {
        id: id.clone(),
        function,
        dtypes,
        backward: r.backward.unwrap_or(false),
        temperature,
        description: r.description.clone().unwrap_or_default(),
        access,
        declared_in: cx.path.to_path_buf(),
    })
}

/// The dtype of a name (`f16`, `bf16`, `f32`, `f64`).
pub fn dtype_of(name: &str) -> Option<DType> {
    DType::ALL.into_iter().find(|d| d.name() == name)
}
