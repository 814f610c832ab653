//! One renderer per measurement kind: from a scenario's tables to the blocks of its
//! section (what was measured, a findings paragraph computed from the numbers,
//! summary tables) and its figures. A renderer that cannot find what it needs
//! returns an error message; the section then says so and shows the raw table.

pub mod accuracy;
pub mod claims;
pub mod gradients;
pub mod overflow;
pub mod throughput;
pub mod training;

use std::path::PathBuf;

use softmax_lab_results::{Results, Table};

use crate::data::{fmt, num, text};
use crate::doc::{t, Block, Inline, Span};
use crate::plot::Figure;

/// One scenario's results as read from disk.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The results file.
    pub file: PathBuf,
    /// The scenario name (`scenario.name`, else the file stem).
    pub name: String,
    /// The kind (`scenario.kind`, else "unknown").
    pub kind: String,
    /// The results.
    pub results: Results,
}

impl Loaded {
    /// The table of this name, if present.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.results.tables.iter().find(|t| t.name == name)
    }

    /// The table of this name, or an error naming the file and the table.
    pub fn need(&self, name: &str) -> Result<&Table, String> {
        self.table(name)
            .ok_or_else(|| format!("{}: no table '{name}'", self.file.display()))
    }

    /// The CSV file name of one of its tables (`<s>.csv` for the main table).
    pub fn csv_name(&self, table: &str) -> String {
        softmax_lab_results::csv_name(&self.name, &self.kind, table)
    }

    /// A field of the scenario as run, as display text (arrays joined by ", ").
    pub fn setting(&self, field: &str) -> Option<String> {
        let v = self.results.scenario.get(field)?;
        Some(match v {
            serde_json::Value::Array(items) => items
                .iter()
                .map(|i| match i {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Number(n) => num_text(n),
                    serde_json::Value::Object(o) => o
                        .get("name")
                        .and_then(|n| n.as_str())
                        .map_or_else(|| i.to_string(), str::to_string),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(", "),
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => num_text(n),
            other => other.to_string(),
        })
    }
}

/// A JSON number for prose: whole numbers (seeds, counts) in full.
fn num_text(n: &serde_json::Number) -> String {
    match (n.as_i64(), n.as_f64()) {
        (Some(i), _) => i.to_string(),
        (None, Some(f)) => fmt(f),
        _ => n.to_string(),
    }
}

/// What a kind renderer returns.
#[derive(Default)]
pub struct Rendered {
    /// How the numbers were measured, beyond the scenario's settings.
    pub method: Vec<Inline>,
    /// The findings paragraph.
    pub findings: Inline,
    /// Summary tables and other blocks, after the findings.
    pub blocks: Vec<Block>,
    /// The figures, shown after the blocks.
    pub figures: Vec<(Figure, String)>,
}

/// Everything a renderer may look at: every loaded scenario (some plots join two).
pub struct Ctx<'a> {
    /// Every scenario read.
    pub all: &'a [Loaded],
}

impl Ctx<'_> {
    /// The loaded scenario of this name.
    pub fn scenario(&self, name: &str) -> Option<&Loaded> {
        self.all.iter().find(|l| l.name == name)
    }

    /// Every loaded scenario of this kind.
    pub fn of_kind<'b>(&'b self, kind: &'b str) -> impl Iterator<Item = &'b Loaded> + 'b {
        self.all.iter().filter(move |l| l.kind == kind)
    }
}

/// Render the scenario with the renderer of its kind.
pub fn render(l: &Loaded, ctx: &Ctx) -> Result<Rendered, String> {
    match l.kind.as_str() {
        "accuracy" => accuracy::render(l, ctx),
        "overflow" => overflow::render(l),
        "gradients" => gradients::render(l),
        "throughput" => throughput::render(l, ctx),
        "training" => training::render(l),
        "claims" => claims::render(l),
        other => Err(format!("no renderer for kind '{other}'")),
    }
}

/// The first rows of a table as a block (for kinds or tables without a renderer).
pub fn raw_table(table: &Table, max_rows: usize) -> Block {
    Block::Table {
        headers: table.columns.iter().map(|c| c.name.clone()).collect(),
        rows: table
            .rows
            .iter()
            .take(max_rows)
            .map(|r| (0..r.len()).map(|i| t(cell(r, i))).collect())
            .collect(),
    }
}

fn cell(row: &[softmax_lab_results::Value], i: usize) -> String {
    match row.get(i) {
        Some(softmax_lab_results::Value::Float(_)) => fmt(num(row, i)),
        _ => text(row, i),
    }
}

/// A code span.
pub fn code(s: impl Into<String>) -> Span {
    Span::Code(s.into())
}

/// A plain text span.
pub fn plain(s: impl Into<String>) -> Span {
    Span::Text(s.into())
}

/// Join phrases as "a, b and c".
pub fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}
