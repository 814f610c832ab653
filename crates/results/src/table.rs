//! Tables of typed cells, and the key every measurement row starts with.
//!
//! Non-finite numbers survive a round trip: in JSON they are the strings `"inf"`,
//! `"-inf"` and `"nan"` (the column's type says the cell is a number); in CSV they
//! are `inf`, `-inf` and `nan`. Finite numbers are written as the shortest decimal
//! that reads back to the same f64.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::json;
use softmax_lab_core::DType;

use crate::kind::Kind;

/// What a column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    /// Text (ids, names).
    Text,
    /// A whole number.
    Int,
    /// A float; may be non-finite.
    Float,
    /// true / false.
    Bool,
}

/// A column: its snake_case name (which carries its unit) and its type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// The name.
    pub name: String,
    /// The type.
    #[serde(rename = "type")]
    pub ty: ColumnType,
}

/// One cell.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// Text.
    Text(String),
    /// A whole number.
    Int(i64),
    /// A float (compare with [`Value::same`] to treat NaN as equal to NaN).
    Float(f64),
    /// A boolean.
    Bool(bool),
}

impl Value {
    /// The type of column that holds this value.
    pub fn ty(&self) -> ColumnType {
        match self {
            Value::Text(_) => ColumnType::Text,
            Value::Int(_) => ColumnType::Int,
            Value::Float(_) => ColumnType::Float,
            Value::Bool(_) => ColumnType::Bool,
        }
    }

    /// Equality with floats compared bit for bit (so NaN equals NaN).
    pub fn same(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Float(a), Value::Float(b)) => a.to_bits() == b.to_bits(),
            _ => self == other,
        }
    }

    /// The float, if this is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float(v) => Some(*v),
            Value::Int(v) => Some(*v as f64),
            _ => None,
        }
    }

    /// The cell as CSV text.
    pub fn to_csv(&self) -> String {
        match self {
            Value::Text(s) => csv_text(s),
            Value::Int(v) => v.to_string(),
            Value::Float(v) => format_float(*v),
            Value::Bool(b) => b.to_string(),
        }
    }

    /// Read a CSV cell of a column of type `ty`.
    pub fn parse_csv(ty: ColumnType, s: &str) -> Result<Value, String> {
        match ty {
            ColumnType::Text => Ok(Value::Text(s.to_string())),
            ColumnType::Int => s
                .parse()
                .map(Value::Int)
                .map_err(|_| format!("expected a whole number, found '{s}'")),
            ColumnType::Float => parse_float(s)
                .map(Value::Float)
                .ok_or_else(|| format!("expected a number, inf, -inf or nan, found '{s}'")),
            ColumnType::Bool => match s {
                "true" => Ok(Value::Bool(true)),
                "false" => Ok(Value::Bool(false)),
                _ => Err(format!("expected true or false, found '{s}'")),
            },
        }
    }

    pub(crate) fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Text(s) => json!(s),
            Value::Int(v) => json!(v),
            Value::Bool(b) => json!(b),
            Value::Float(v) => match serde_json::Number::from_f64(*v) {
                Some(n) => serde_json::Value::Number(n),
                None => json!(format_float(*v)),
            },
        }
    }

    pub(crate) fn from_json(ty: ColumnType, v: &serde_json::Value) -> Result<Value, String> {
        let bad = || format!("expected a {ty:?} cell, found {v}");
        match ty {
            ColumnType::Text => v.as_str().map(|s| Value::Text(s.into())).ok_or_else(bad),
            ColumnType::Int => v.as_i64().map(Value::Int).ok_or_else(bad),
            ColumnType::Bool => v.as_bool().map(Value::Bool).ok_or_else(bad),
            ColumnType::Float => match v {
                serde_json::Value::Number(n) => n.as_f64().map(Value::Float).ok_or_else(bad),
                serde_json::Value::String(s) => match s.as_str() {
                    "inf" | "-inf" | "nan" => parse_float(s).map(Value::Float).ok_or_else(bad),
                    _ => Err(bad()),
                },
                _ => Err(bad()),
            },
        }
    }
}

/// A float as text: `inf`, `-inf`, `nan`, or the shortest decimal that reads back
/// to the same f64 (plain notation from 1e-5 to 1e16, exponent notation outside).
pub fn format_float(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf" } else { "-inf" }.into()
    } else if v == 0.0 || (1e-5..1e16).contains(&v.abs()) {
        format!("{v}")
    } else {
        format!("{v:e}")
    }
}

/// Read what [`format_float`] writes.
pub fn parse_float(s: &str) -> Option<f64> {
    match s {
        "inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        "nan" => Some(f64::NAN),
        _ => s.parse().ok().filter(|v: &f64| v.is_finite()),
    }
}

fn csv_text(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Split CSV text into records of fields (RFC 4180 quoting).
pub fn split_csv(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut records = Vec::new();
    let mut field = String::new();
    let mut record = Vec::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err("unterminated quoted field".into());
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    Ok(records)
}

/// A table: named, typed columns and rows of cells.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// The table's name (`accuracy`, `overflow`, `onset`, `gradients`).
    pub name: String,
    /// The columns.
    pub columns: Vec<Column>,
    /// The rows, each with one cell per column.
    pub rows: Vec<Vec<Value>>,
}

impl Table {
    /// An empty table with these columns.
    pub fn new(name: &str, columns: &[(&str, ColumnType)]) -> Table {
        Table {
            name: name.to_string(),
            columns: columns
                .iter()
                .map(|&(name, ty)| Column {
                    name: name.to_string(),
                    ty,
                })
                .collect(),
            rows: Vec::new(),
        }
    }

    /// Append a row. A row that does not fit the columns is a programming error.
    pub fn push(&mut self, row: Vec<Value>) {
        assert_eq!(
            row.len(),
            self.columns.len(),
            "table {}: row width",
            self.name
        );
        for (c, v) in self.columns.iter().zip(&row) {
            assert_eq!(c.ty, v.ty(), "table {}: column {}", self.name, c.name);
        }
        self.rows.push(row);
    }

    /// The index of a column by name.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The table as CSV (a header line, then one line per row).
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let header: Vec<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
        let _ = writeln!(out, "{}", header.join(","));
        for row in &self.rows {
            let cells: Vec<String> = row.iter().map(Value::to_csv).collect();
            let _ = writeln!(out, "{}", cells.join(","));
        }
        out
    }

    /// Read CSV written by [`Table::to_csv`] with the given columns.
    pub fn from_csv(name: &str, columns: &[Column], text: &str) -> Result<Table, String> {
        let records = split_csv(text)?;
        let (header, body) = records.split_first().ok_or("empty CSV")?;
        let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        if header.iter().map(String::as_str).ne(names.iter().copied()) {
            return Err(format!("header {header:?} differs from {names:?}"));
        }
        let mut rows = Vec::new();
        for (i, rec) in body.iter().enumerate() {
            if rec.len() != columns.len() {
                return Err(format!("line {}: {} fields", i + 2, rec.len()));
            }
            let row = columns
                .iter()
                .zip(rec)
                .map(|(c, s)| Value::parse_csv(c.ty, s))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("line {}: {e}", i + 2))?;
            rows.push(row);
        }
        Ok(Table {
            name: name.to_string(),
            columns: columns.to_vec(),
            rows,
        })
    }

    /// True when both tables have the same columns and bit-identical cells.
    pub fn same(&self, other: &Table) -> bool {
        self.name == other.name
            && self.columns == other.columns
            && self.rows.len() == other.rows.len()
            && self
                .rows
                .iter()
                .zip(&other.rows)
                .all(|(a, b)| a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same(y)))
    }
}

/// The columns every measurement table starts with, in order.
pub const KEY_COLUMNS: [(&str, ColumnType); 9] = [
    ("scenario", ColumnType::Text),
    ("kind", ColumnType::Text),
    ("variant", ColumnType::Text),
    ("dtype", ColumnType::Text),
    ("n", ColumnType::Int),
    ("rows", ColumnType::Int),
    ("generator", ColumnType::Text),
    ("temperature", ColumnType::Float),
    ("scale", ColumnType::Float),
];

/// What one measurement point is: the values of [`KEY_COLUMNS`].
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    /// The scenario name.
    pub scenario: String,
    /// The kind.
    pub kind: Kind,
    /// The variant id.
    pub variant: String,
    /// The dtype.
    pub dtype: DType,
    /// Row length.
    pub n: usize,
    /// Rows.
    pub rows: usize,
    /// The generator label.
    pub generator: String,
    /// The temperature.
    pub temperature: f64,
    /// The logit scale.
    pub scale: f64,
}

impl Key {
    /// The cells of [`KEY_COLUMNS`].
    pub fn cells(&self) -> Vec<Value> {
        vec![
            Value::Text(self.scenario.clone()),
            Value::Text(self.kind.name().into()),
            Value::Text(self.variant.clone()),
            Value::Text(self.dtype.name().into()),
            Value::Int(self.n as i64),
            Value::Int(self.rows as i64),
            Value::Text(self.generator.clone()),
            Value::Float(self.temperature),
            Value::Float(self.scale),
        ]
    }
}

/// The columns of [`KEY_COLUMNS`] followed by `metrics`.
pub fn columns_with_key(metrics: &[(&'static str, ColumnType)]) -> Vec<(&'static str, ColumnType)> {
    KEY_COLUMNS.iter().chain(metrics).copied().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_round_trip_through_text() {
        for v in [
            0.0,
            -0.0,
            1.0,
            0.1,
            1e-300,
            5e-324,
            f64::MAX,
            123456.789,
            1e16,
            -2.5e-7,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ] {
            let s = format_float(v);
            let back = parse_float(&s).unwrap_or(1234.5);
            assert_eq!(back.to_bits(), v.to_bits(), "{v} -> {s}");
        }
        assert_eq!(format_float(1e-300), "1e-300");
        assert_eq!(format_float(0.5), "0.5");
        assert_eq!(parse_float("1e999"), None);
    }

    #[test]
    fn csv_quotes_and_splits() {
        let recs = split_csv("a,b\n\"x,y\",\"q\"\"\"\n").unwrap_or_default();
        assert_eq!(recs, vec![vec!["a", "b"], vec!["x,y", "q\""]]);
        assert_eq!(csv_text("x,y"), "\"x,y\"");
    }
}
