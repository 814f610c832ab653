//! `softmax-lab eval`: read rows of numbers from a JSON file, round them exactly to
//! a dtype, run one variant's forward (and backward when a gradient is given) and
//! print the result as one line of JSON with shortest round-trip numbers.
//!
//! The input format: a JSON array of rows, each a non-empty array of numbers, all
//! rows of one length; non-finite values are the strings "inf", "-inf" and "nan".
//! Every number is rounded to the dtype from its decimal text (nearest, ties to
//! even), never through an intermediate f64.

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::value::RawValue;
use softmax_lab_core::dtype::UnknownDType;
use softmax_lab_core::text::{format_value, non_finite_name, parse_non_finite, parse_value};
use softmax_lab_core::{Buffer, DType, Options, Registry, VariantError};

/// The arguments of `softmax-lab eval`.
#[derive(Debug, Clone, clap::Args)]
pub struct EvalArgs {
    /// Variant id (see `softmax-lab list`).
    #[arg(long)]
    pub variant: String,
    /// Storage dtype: f16, bf16, f32 or f64.
    #[arg(long)]
    pub dtype: String,
    /// Temperature T: the variant computes f(x / T). Finite and > 0.
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub temperature: f64,
    /// JSON file: an array of rows, each an array of numbers ("inf", "-inf", "nan" as strings).
    #[arg(long)]
    pub input: PathBuf,
    /// JSON file with dL/dy, the shape of the input; prints dL/dx as "grad".
    #[arg(long)]
    pub grad_output: Option<PathBuf>,
}

/// A batch of rows parsed from a file: `rows` rows of length `n`, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    /// Number of rows (at least 1).
    pub rows: usize,
    /// Row length (at least 1).
    pub n: usize,
    /// The `rows * n` values, each exactly a value of the dtype, row-major.
    pub values: Vec<f64>,
}

/// What is wrong with the text of an input file (indices are 0-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// Not valid JSON.
    Json {
        /// Line of the error (1-based, as serde_json reports it).
        line: usize,
        /// Column of the error (as serde_json reports it).
        column: usize,
        /// serde_json's message without its position.
        message: String,
    },
    /// The top-level value is not an array.
    NotAnArray {
        /// A short rendering of what was found.
        found: String,
    },
    /// The top-level array has no rows.
    NoRows,
    /// A row is not an array.
    RowNotAnArray {
        /// The row index.
        row: usize,
        /// A short rendering of what was found.
        found: String,
    },
    /// A row has no elements.
    EmptyRow {
        /// The row index.
        row: usize,
    },
    /// A row whose length differs from row 0's.
    Ragged {
        /// The first row whose length differs.
        row: usize,
        /// Its length.
        len: usize,
        /// The length of row 0.
        expected: usize,
    },
    /// An element that is neither a number nor "inf", "-inf", "nan".
    BadElement {
        /// The row index.
        row: usize,
        /// The element index within the row.
        index: usize,
        /// A short rendering of what was found.
        found: String,
    },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Json {
                line,
                column,
                message,
            } => write!(f, "{line}:{column}: {message}"),
            ParseError::NotAnArray { found } => write!(
                f,
                "expected a JSON array of rows (each an array of numbers), found {found}"
            ),
            ParseError::NoRows => write!(
                f,
                "the array of rows is empty: expected at least one row of numbers"
            ),
            ParseError::RowNotAnArray { row, found } => write!(
                f,
                "row {row} (0-based): expected an array of numbers, found {found}"
            ),
            ParseError::EmptyRow { row } => write!(
                f,
                "row {row} (0-based) is empty: a row needs at least one element"
            ),
            ParseError::Ragged { row, len, expected } => write!(
                f,
                "ragged rows: row {row} (0-based) has {len} elements but row 0 has \
                 {expected}; all rows must have the same length"
            ),
            ParseError::BadElement { row, index, found } => write!(
                f,
                "row {row}, element {index} (0-based): expected a number or one of \
                 \"inf\", \"-inf\", \"nan\", found {found}"
            ),
        }
    }
}

impl std::error::Error for ParseError {}

/// Why an input file could not be read into a [`Matrix`].
#[derive(Debug)]
pub enum InputErrorKind {
    /// The file could not be read (missing, unreadable, not UTF-8).
    Read(std::io::Error),
    /// Its contents are not a valid batch of rows.
    Parse(ParseError),
}

/// An input file that could not be used, with its path.
#[derive(Debug)]
pub struct InputError {
    /// The path as given on the command line.
    pub path: PathBuf,
    /// What went wrong.
    pub kind: InputErrorKind,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match &self.kind {
            InputErrorKind::Read(e) => write!(f, "{path}: cannot read: {e}"),
            // "file:line:column: message", the usual compiler style.
            InputErrorKind::Parse(e @ ParseError::Json { .. }) => write!(f, "{path}:{e}"),
            InputErrorKind::Parse(e) => write!(f, "{path}: {e}"),
        }
    }
}

impl std::error::Error for InputError {}

/// Everything `eval` can fail with; each Display is one self-contained line.
#[derive(Debug)]
pub enum EvalError {
    /// The dtype name is not one of f16, bf16, f32, f64.
    DType(UnknownDType),
    /// The variant refused the call (unknown id, dtype, temperature, no backward).
    Variant(VariantError),
    /// An input or grad-output file that could not be used.
    Input(InputError),
    /// The grad-output file's shape differs from the input's.
    GradShape {
        /// The grad-output path.
        path: PathBuf,
        /// The input path.
        input: PathBuf,
        /// Grad-output (rows, n).
        got: (usize, usize),
        /// Input (rows, n).
        expected: (usize, usize),
    },
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvalError::DType(e) => write!(f, "{e}"),
            EvalError::Variant(e) => write!(f, "{e}"),
            EvalError::Input(e) => write!(f, "{e}"),
            EvalError::GradShape {
                path,
                input,
                got,
                expected,
            } => write!(
                f,
                "{}: shape mismatch: the grad output has {} rows of {} elements but the \
                 input {} has {} rows of {}",
                path.display(),
                got.0,
                got.1,
                input.display(),
                expected.0,
                expected.1
            ),
        }
    }
}

impl std::error::Error for EvalError {}

impl From<VariantError> for EvalError {
    fn from(e: VariantError) -> Self {
        EvalError::Variant(e)
    }
}

impl From<InputError> for EvalError {
    fn from(e: InputError) -> Self {
        EvalError::Input(e)
    }
}

/// A short one-line rendering of a JSON value's text for error messages.
fn describe(raw: &str) -> String {
    const MAX: usize = 40;
    let one_line: String = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    let kind = match one_line.as_bytes().first() {
        Some(b'[') => "an array ",
        Some(b'{') => "an object ",
        Some(b'"') => "the string ",
        _ => "",
    };
    let shown = if one_line.chars().count() > MAX {
        let cut: String = one_line.chars().take(MAX).collect();
        format!("{cut}...")
    } else {
        one_line
    };
    format!("{kind}{shown}")
}

fn json_error(e: &serde_json::Error) -> ParseError {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full).to_string();
    ParseError::Json {
        line: e.line(),
        column: e.column(),
        message,
    }
}

/// Parse JSON text known to be valid and to start with '[' as an array of raw values.
fn raw_array(text: &str) -> Result<Vec<Box<RawValue>>, ParseError> {
    serde_json::from_str(text).map_err(|e| json_error(&e))
}

/// One element's value in `dtype`: a JSON number rounded exactly from its decimal
/// text, or one of the strings "inf", "-inf", "nan".
fn parse_element(dtype: DType, raw: &str, row: usize, index: usize) -> Result<f64, ParseError> {
    let raw = raw.trim();
    let bad = || ParseError::BadElement {
        row,
        index,
        found: describe(raw),
    };
    match raw.as_bytes().first() {
        Some(b'"') => {
            let s: String = serde_json::from_str(raw).map_err(|_| bad())?;
            parse_non_finite(&s).ok_or_else(bad)
        }
        Some(b'-' | b'0'..=b'9') => parse_value(dtype, raw).map_err(|_| bad()),
        _ => Err(bad()),
    }
}

/// Parse the text of an input file into a [`Matrix`] of values of `dtype`.
pub fn parse_matrix(text: &str, dtype: DType) -> Result<Matrix, ParseError> {
    // First the syntax of the whole document, so every syntax error has its position.
    let whole: Box<RawValue> = serde_json::from_str(text).map_err(|e| json_error(&e))?;
    let whole = whole.get().trim();
    if !whole.starts_with('[') {
        return Err(ParseError::NotAnArray {
            found: describe(whole),
        });
    }
    let rows = raw_array(whole)?;
    if rows.is_empty() {
        return Err(ParseError::NoRows);
    }
    let mut n = 0;
    let mut values = Vec::new();
    for (r, raw_row) in rows.iter().enumerate() {
        let raw_row = raw_row.get().trim();
        if !raw_row.starts_with('[') {
            return Err(ParseError::RowNotAnArray {
                row: r,
                found: describe(raw_row),
            });
        }
        let elements = raw_array(raw_row)?;
        if elements.is_empty() {
            return Err(ParseError::EmptyRow { row: r });
        }
        if r == 0 {
            n = elements.len();
            values.reserve(rows.len().saturating_mul(n));
        } else if elements.len() != n {
            return Err(ParseError::Ragged {
                row: r,
                len: elements.len(),
                expected: n,
            });
        }
        for (i, e) in elements.iter().enumerate() {
            values.push(parse_element(dtype, e.get(), r, i)?);
        }
    }
    Ok(Matrix {
        rows: rows.len(),
        n,
        values,
    })
}

/// Read and parse an input file into a [`Matrix`] of values of `dtype`.
pub fn read_matrix(path: &Path, dtype: DType) -> Result<Matrix, InputError> {
    let err = |kind| InputError {
        path: path.to_path_buf(),
        kind,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(InputErrorKind::Read(e)))?;
    parse_matrix(&text, dtype).map_err(|e| err(InputErrorKind::Parse(e)))
}

/// A string as a JSON string literal.
fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// One value of `dtype` as JSON: the shortest round-trip decimal, or "inf", "-inf", "nan".
pub fn format_json_value(dtype: DType, v: f64) -> String {
    match non_finite_name(v) {
        Some(name) => json_string(name),
        None => format_value(dtype, v),
    }
}

/// Rows of length `n` as a JSON array of arrays, without spaces.
pub fn format_rows(dtype: DType, n: usize, values: &[f64]) -> String {
    let mut s = String::from("[");
    for (r, row) in values.chunks(n.max(1)).enumerate() {
        if r > 0 {
            s.push(',');
        }
        s.push('[');
        for (i, &v) in row.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str(&format_json_value(dtype, v));
        }
        s.push(']');
    }
    s.push(']');
    s
}

/// The line `eval` prints (without the newline):
/// `{"variant":ID,"dtype":D,"output":[[...]]}`, plus `,"grad":[[...]]` when given.
pub fn format_eval_json(
    variant: &str,
    dtype: DType,
    n: usize,
    output: &[f64],
    grad: Option<&[f64]>,
) -> String {
    let mut s = format!(
        "{{\"variant\":{},\"dtype\":{},\"output\":{}",
        json_string(variant),
        json_string(dtype.name()),
        format_rows(dtype, n, output)
    );
    if let Some(g) = grad {
        s.push_str(",\"grad\":");
        s.push_str(&format_rows(dtype, n, g));
    }
    s.push('}');
    s
}

/// Run `eval`: check the arguments, read the files, run the variant, and return
/// the JSON line to print (without the newline).
pub fn eval(registry: &Registry, args: &EvalArgs) -> Result<String, EvalError> {
    let variant = registry.get(&args.variant)?;
    let dtype: DType = args.dtype.parse().map_err(EvalError::DType)?;
    let info = variant.info();
    let t = args.temperature;
    if !(t.is_finite() && t > 0.0) {
        return Err(VariantError::InvalidTemperature(t).into());
    }
    // The variant checks these again; checking first spares reading the files.
    if !info.dtypes.contains(&dtype) {
        return Err(VariantError::UnsupportedDType {
            variant: info.id.to_string(),
            dtype,
            supported: info.dtypes.to_vec(),
        }
        .into());
    }
    if t != 1.0 && !info.temperature {
        return Err(VariantError::TemperatureUnsupported(info.id.to_string()).into());
    }
    if args.grad_output.is_some() && !info.has_backward {
        return Err(VariantError::NoBackward(info.id.to_string()).into());
    }
    let opts = Options { temperature: t };

    let x = read_matrix(&args.input, dtype)?;
    let dy = match &args.grad_output {
        Some(path) => {
            let dy = read_matrix(path, dtype)?;
            if (dy.rows, dy.n) != (x.rows, x.n) {
                return Err(EvalError::GradShape {
                    path: path.clone(),
                    input: args.input.clone(),
                    got: (dy.rows, dy.n),
                    expected: (x.rows, x.n),
                });
            }
            Some(dy)
        }
        None => None,
    };

    let xb = Buffer::from_f64(dtype, &x.values);
    let mut y = Buffer::zeros(dtype, x.values.len());
    variant.forward(xb.rows(), x.n, &opts, y.rows_mut())?;
    let grad = match dy {
        Some(dy) => {
            let gb = Buffer::from_f64(dtype, &dy.values);
            let mut dx = Buffer::zeros(dtype, x.values.len());
            variant.backward(xb.rows(), y.rows(), gb.rows(), x.n, &opts, dx.rows_mut())?;
            Some(dx.to_f64())
        }
        None => None,
    };
    Ok(format_eval_json(
        info.id,
        dtype,
        x.n,
        &y.to_f64(),
        grad.as_deref(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, dtype: DType) -> Result<Matrix, ParseError> {
        parse_matrix(text, dtype)
    }

    #[test]
    fn midpoint_ties_are_broken_by_the_exact_decimal() {
        // 1 + 2^-11 is the f16 midpoint between 1 and 1 + 2^-10.
        let m = parse(
            "[[1.00048828125000000000000001, 1.00048828125]]",
            DType::F16,
        )
        .unwrap();
        assert_eq!(m.values, vec![1.0 + 2f64.powi(-10), 1.0]);
        let m = parse("[[-1.00048828125000000000000001]]", DType::F16).unwrap();
        assert_eq!(m.values, vec![-(1.0 + 2f64.powi(-10))]);
    }

    #[test]
    fn shapes_and_non_finite_strings() {
        let m = parse(" [[\"inf\", 0, 1], [\"-inf\", \"nan\", 2e0]] ", DType::F32).unwrap();
        assert_eq!((m.rows, m.n), (2, 3));
        assert_eq!(m.values[0], f64::INFINITY);
        assert_eq!(m.values[3], f64::NEG_INFINITY);
        assert!(m.values[4].is_nan());
        assert_eq!(m.values[5], 2.0);
        // Rounded to the dtype: 0.1 in f32.
        let m = parse("[[0.1]]", DType::F32).unwrap();
        assert_eq!(m.values, vec![0.1f32 as f64]);
        // Overflow rounds to inf.
        let m = parse("[[70000]]", DType::F16).unwrap();
        assert_eq!(m.values, vec![f64::INFINITY]);
    }

    #[test]
    fn errors_name_the_place() {
        assert_eq!(parse("[]", DType::F64), Err(ParseError::NoRows));
        assert_eq!(
            parse("[[1],[]]", DType::F64),
            Err(ParseError::EmptyRow { row: 1 })
        );
        assert_eq!(
            parse("[[1,2],[3,4],[5]]", DType::F64),
            Err(ParseError::Ragged {
                row: 2,
                len: 1,
                expected: 2
            })
        );
        let e = parse("[[1, true]]", DType::F64).unwrap_err();
        assert!(
            matches!(&e, ParseError::BadElement { row: 0, index: 1, found } if found == "true"),
            "{e:?}"
        );
        let e = parse("[[1], [2, \"foo\"]]", DType::F64).unwrap_err();
        assert!(matches!(
            &e,
            ParseError::Ragged {
                row: 1,
                len: 2,
                expected: 1
            }
        ));
        let e = parse("[[\"foo\"]]", DType::F64).unwrap_err().to_string();
        assert!(
            e.contains("row 0, element 0 (0-based)") && e.contains("\"foo\""),
            "{e}"
        );
        for bad in ["null", "[1]", "{}", "\"Inf\"", "[\n 1,\n 2]"] {
            let text = format!("[[{bad}]]");
            let e = parse(&text, DType::F64).unwrap_err();
            assert!(
                matches!(
                    e,
                    ParseError::BadElement {
                        row: 0,
                        index: 0,
                        ..
                    }
                ),
                "{bad}: {e:?}"
            );
            assert!(!e.to_string().contains('\n'), "{e}");
        }
        assert!(matches!(
            parse("[1, 2]", DType::F64),
            Err(ParseError::RowNotAnArray { row: 0, .. })
        ));
        assert!(matches!(
            parse("{\"a\": 1}", DType::F64),
            Err(ParseError::NotAnArray { .. })
        ));
        let e = parse("[[1, 2]\n [3 4]]", DType::F64).unwrap_err();
        assert!(matches!(&e, ParseError::Json { line: 2, .. }), "{e:?}");
        assert!(e.to_string().starts_with("2:"), "{e}");
        assert!(!e.to_string().contains(" at line "), "{e}");
    }

    #[test]
    fn output_is_compact_json_with_shortest_numbers() {
        let s = format_eval_json(
            "stable",
            DType::F32,
            2,
            &[0.1f32 as f64, f64::NAN, f64::INFINITY, f64::NEG_INFINITY],
            Some(&[1.0, -0.5, 0.0, 3e-45f32 as f64]),
        );
        assert_eq!(
            s,
            "{\"variant\":\"stable\",\"dtype\":\"f32\",\"output\":[[0.1,\"nan\"],[\"inf\",\"-inf\"]],\
             \"grad\":[[1.0,-0.5],[0.0,3e-45]]}"
        );
    }
}
