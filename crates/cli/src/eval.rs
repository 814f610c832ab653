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
use softmax_lab_harness::limits::{available_memory_bytes, check_temperature, format_bytes};
use softmax_lab_harness::scenario::line_column;

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

/// What is wrong with the text of an input file, and where (indices 0-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// Not valid JSON.
    Json {
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
    /// The decoded rows would need more memory than is available.
    TooLarge {
        /// Rows.
        rows: usize,
        /// Row length.
        n: usize,
        /// Bytes the decoded input and outputs need.
        need: u64,
        /// Bytes available.
        available: u64,
    },
}

/// What is wrong with the text of an input file, at a 1-based line and column
/// (the column counted in characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Line of the offending value.
    pub line: usize,
    /// Column of the offending value.
    pub column: usize,
    /// What is wrong.
    pub kind: ParseErrorKind,
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseErrorKind::Json { message } => write!(f, "{message}"),
            ParseErrorKind::NotAnArray { found } => write!(
                f,
                "expected a JSON array of rows (each an array of numbers), found {found}"
            ),
            ParseErrorKind::NoRows => write!(
                f,
                "the array of rows is empty: expected at least one row of numbers"
            ),
            ParseErrorKind::RowNotAnArray { row, found } => write!(
                f,
                "row {row} (0-based): expected an array of numbers, found {found}"
            ),
            ParseErrorKind::EmptyRow { row } => write!(
                f,
                "row {row} (0-based) is empty: a row needs at least one element"
            ),
            ParseErrorKind::Ragged { row, len, expected } => write!(
                f,
                "ragged rows: row {row} (0-based) has {len} elements but row 0 has \
                 {expected}; all rows must have the same length"
            ),
            ParseErrorKind::BadElement { row, index, found } => write!(
                f,
                "row {row}, element {index} (0-based): expected a number or one of \
                 \"inf\", \"-inf\", \"nan\", found {found}"
            ),
            ParseErrorKind::TooLarge {
                rows,
                n,
                need,
                available,
            } => write!(
                f,
                "{rows} rows of {n} elements need about {} decoded, more than the {} \
                 available: split the input",
                format_bytes(*need),
                format_bytes(*available)
            ),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.kind)
    }
}

impl std::error::Error for ParseError {}

/// Why an input file could not be read into a [`Matrix`].
#[derive(Debug)]
pub enum InputErrorKind {
    /// The file could not be read (missing, unreadable, not UTF-8).
    Read(std::io::Error),
    /// The file is larger than [`MAX_INPUT_BYTES`] (refused unread).
    TooBig {
        /// Its size in bytes.
        bytes: u64,
    },
    /// Its contents are not a valid batch of rows.
    Parse(ParseError),
}

/// The largest input (or grad-output) file `eval` reads, bytes.
pub const MAX_INPUT_BYTES: u64 = 64 << 20;

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
            InputErrorKind::TooBig { bytes } => write!(
                f,
                "{path}: the file is {bytes} bytes; eval reads at most {MAX_INPUT_BYTES} bytes \
                 ({}): split the input",
                format_bytes(MAX_INPUT_BYTES)
            ),
            // "file:line:column: message", the usual compiler style.
            InputErrorKind::Parse(e) => write!(f, "{path}:{e}"),
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
    /// A temperature the variant's arithmetic cannot use in this dtype (the message
    /// gives the limit).
    Temperature(String),
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
            EvalError::Temperature(m) => write!(f, "--temperature: {m}"),
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
    ParseError {
        line: e.line().max(1),
        column: e.column().max(1),
        kind: ParseErrorKind::Json { message },
    }
}

/// Builds errors located in one text.
struct Located<'a> {
    text: &'a str,
}

impl Located<'_> {
    /// An error at the start of `part`, a slice of the text.
    fn at(&self, part: &str, kind: ParseErrorKind) -> ParseError {
        let offset = (part.as_ptr() as usize).saturating_sub(self.text.as_ptr() as usize);
        let (line, column) = line_column(self.text, offset);
        ParseError { line, column, kind }
    }
}

/// Parse JSON text known to be valid as an array of values borrowed from it.
fn raw_array(text: &str) -> Result<Vec<&RawValue>, ParseError> {
    serde_json::from_str(text).map_err(|e| json_error(&e))
}

/// One element's value in `dtype`: a JSON number rounded exactly from its decimal
/// text, or one of the strings "inf", "-inf", "nan".
fn parse_element(dtype: DType, raw: &str) -> Option<f64> {
    let raw = raw.trim();
    match raw.as_bytes().first() {
        Some(b'"') => {
            let s: String = serde_json::from_str(raw).ok()?;
            parse_non_finite(&s)
        }
        Some(b'-' | b'0'..=b'9') => parse_value(dtype, raw).ok(),
        _ => None,
    }
}

/// Bytes `eval` holds per input element once decoded: the f64 values, the input
/// and output buffers in the dtype, the output as f64, the same again for a
/// gradient, and the borrowed text of one row (16 bytes per element).
pub fn decoded_bytes_per_elem(dtype: DType) -> u64 {
    2 * (8 + 2 * dtype.size_bytes() as u64 + 8) + 16
}

/// Parse the text of an input file into a [`Matrix`] of values of `dtype`; rows
/// that would need more than `available` bytes decoded are refused before decoding.
pub fn parse_matrix_within(
    text: &str,
    dtype: DType,
    available: Option<u64>,
) -> Result<Matrix, ParseError> {
    let cx = Located { text };
    // First the syntax of the whole document, so every syntax error has its position.
    let whole: &RawValue = serde_json::from_str(text).map_err(|e| json_error(&e))?;
    let whole = whole.get();
    if !whole.starts_with('[') {
        return Err(cx.at(
            whole,
            ParseErrorKind::NotAnArray {
                found: describe(whole),
            },
        ));
    }
    let rows = raw_array(whole)?;
    if rows.is_empty() {
        return Err(cx.at(whole, ParseErrorKind::NoRows));
    }
    let mut n = 0;
    let mut values: Vec<f64> = Vec::new();
    for (r, raw_row) in rows.iter().enumerate() {
        let raw_row = raw_row.get();
        if !raw_row.starts_with('[') {
            return Err(cx.at(
                raw_row,
                ParseErrorKind::RowNotAnArray {
                    row: r,
                    found: describe(raw_row),
                },
            ));
        }
        let elements = raw_array(raw_row)?;
        if elements.is_empty() {
            return Err(cx.at(raw_row, ParseErrorKind::EmptyRow { row: r }));
        }
        if r == 0 {
            n = elements.len();
            let elems = (rows.len() as u64).saturating_mul(n as u64);
            let need = elems.saturating_mul(decoded_bytes_per_elem(dtype));
            let too_large = |available: u64| {
                cx.at(
                    whole,
                    ParseErrorKind::TooLarge {
                        rows: rows.len(),
                        n,
                        need,
                        available,
                    },
                )
            };
            if let Some(available) = available.filter(|&a| need > a) {
                return Err(too_large(available));
            }
            let fits = usize::try_from(elems)
                .ok()
                .and_then(|e| values.try_reserve_exact(e).ok());
            if fits.is_none() {
                return Err(too_large(available.unwrap_or(0)));
            }
        } else if elements.len() != n {
            return Err(cx.at(
                raw_row,
                ParseErrorKind::Ragged {
                    row: r,
                    len: elements.len(),
                    expected: n,
                },
            ));
        }
        for (i, e) in elements.iter().enumerate() {
            let v = parse_element(dtype, e.get()).ok_or_else(|| {
                cx.at(
                    e.get(),
                    ParseErrorKind::BadElement {
                        row: r,
                        index: i,
                        found: describe(e.get()),
                    },
                )
            })?;
            values.push(v);
        }
    }
    Ok(Matrix {
        rows: rows.len(),
        n,
        values,
    })
}

/// Parse the text of an input file into a [`Matrix`] of values of `dtype`
/// (refusing rows that do not fit in the memory available now).
pub fn parse_matrix(text: &str, dtype: DType) -> Result<Matrix, ParseError> {
    parse_matrix_within(text, dtype, available_memory_bytes())
}

/// Read and parse an input file into a [`Matrix`] of values of `dtype`.
pub fn read_matrix(path: &Path, dtype: DType) -> Result<Matrix, InputError> {
    let err = |kind| InputError {
        path: path.to_path_buf(),
        kind,
    };
    let read = |e| err(InputErrorKind::Read(e));
    let bytes = std::fs::metadata(path).map_err(read)?.len();
    if bytes > MAX_INPUT_BYTES {
        return Err(err(InputErrorKind::TooBig { bytes }));
    }
    let file = std::fs::File::open(path).map_err(read)?;
    let mut text = String::new();
    // `take` bounds the read even if the file grows after the size check.
    std::io::Read::read_to_string(
        &mut std::io::Read::take(file, MAX_INPUT_BYTES + 1),
        &mut text,
    )
    .map_err(read)?;
    if text.len() as u64 > MAX_INPUT_BYTES {
        return Err(err(InputErrorKind::TooBig {
            bytes: text.len() as u64,
        }));
    }
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
    if t != 1.0 {
        check_temperature(t, info, dtype).map_err(EvalError::Temperature)?;
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

    /// The kind and place of a parse error.
    fn parse_err(text: &str) -> (ParseErrorKind, usize, usize) {
        match parse(text, DType::F64) {
            Ok(m) => panic!("expected an error for {text}, got {m:?}"),
            Err(e) => (e.kind, e.line, e.column),
        }
    }

    #[test]
    fn errors_name_the_place() {
        assert_eq!(parse_err("[]"), (ParseErrorKind::NoRows, 1, 1));
        assert_eq!(
            parse_err("[[1],[]]"),
            (ParseErrorKind::EmptyRow { row: 1 }, 1, 6)
        );
        // Structural errors give the line and column of the offending row or element.
        assert_eq!(
            parse_err("[[1,2],\n [3,4],\n  [5]]"),
            (
                ParseErrorKind::Ragged {
                    row: 2,
                    len: 1,
                    expected: 2
                },
                3,
                3
            )
        );
        let (kind, line, column) = parse_err("[[1,\n true]]");
        assert!(
            matches!(&kind, ParseErrorKind::BadElement { row: 0, index: 1, found } if found == "true"),
            "{kind:?}"
        );
        assert_eq!((line, column), (2, 2));
        assert_eq!(
            parse_err("[[1], [2, \"foo\"]]").0,
            ParseErrorKind::Ragged {
                row: 1,
                len: 2,
                expected: 1
            }
        );
        // The column is that of the element's first character (characters, not bytes).
        let e = parse("[[\"é\", \"foo\"]]", DType::F64).unwrap_err();
        assert_eq!((e.line, e.column), (1, 3), "{e}");
        let e = parse("[[1, \"é\"], [\"foo\", 2]]", DType::F64).unwrap_err();
        assert_eq!((e.line, e.column), (1, 6), "{e}");
        let e = parse("[[\"foo\"]]", DType::F64).unwrap_err().to_string();
        assert!(
            e.starts_with("1:3: row 0, element 0 (0-based)") && e.contains("\"foo\""),
            "{e}"
        );
        for bad in ["null", "[1]", "{}", "\"Inf\"", "[\n 1,\n 2]"] {
            let text = format!("[[{bad}]]");
            let (kind, line, column) = parse_err(&text);
            assert!(
                matches!(
                    kind,
                    ParseErrorKind::BadElement {
                        row: 0,
                        index: 0,
                        ..
                    }
                ),
                "{bad}: {kind:?}"
            );
            assert_eq!((line, column), (1, 3), "{bad}");
            assert!(!kind.to_string().contains('\n'), "{kind}");
        }
        assert!(matches!(
            parse_err("[1, 2]"),
            (ParseErrorKind::RowNotAnArray { row: 0, .. }, 1, 2)
        ));
        assert!(matches!(
            parse_err(" {\"a\": 1}"),
            (ParseErrorKind::NotAnArray { .. }, 1, 2)
        ));
        let e = parse("[[1, 2]\n [3 4]]", DType::F64).unwrap_err();
        assert!(
            matches!(&e.kind, ParseErrorKind::Json { .. }) && e.line == 2,
            "{e:?}"
        );
        assert!(e.to_string().starts_with("2:"), "{e}");
        assert!(!e.to_string().contains(" at line "), "{e}");
    }

    #[test]
    fn inputs_that_would_not_fit_are_refused_before_decoding() {
        // 2 rows of 3 f64 elements: 6 × decoded_bytes_per_elem.
        let need = 6 * decoded_bytes_per_elem(DType::F64);
        let text = "[[1, 2, 3], [4, 5, \"not a number\"]]";
        let e = parse_matrix_within(text, DType::F64, Some(need - 1)).unwrap_err();
        assert_eq!(
            e.kind,
            ParseErrorKind::TooLarge {
                rows: 2,
                n: 3,
                need,
                available: need - 1
            }
        );
        assert_eq!((e.line, e.column), (1, 1));
        // With enough memory the same text is decoded (and its bad element found).
        let e = parse_matrix_within(text, DType::F64, Some(need)).unwrap_err();
        assert!(
            matches!(e.kind, ParseErrorKind::BadElement { row: 1, .. }),
            "{e:?}"
        );
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
