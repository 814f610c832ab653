//! `softmax-lab list`: every registered variant with the facts of its `VariantInfo`,
//! as an aligned table or as JSON.

use serde::Serialize;
use softmax_lab_core::Registry;

/// The arguments of `softmax-lab list`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ListArgs {
    /// Print a JSON array of objects instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// One variant as listed; field order is the column and JSON key order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListRow {
    /// The variant id.
    pub id: &'static str,
    /// Its family's name.
    pub family: &'static str,
    /// The function it computes.
    pub function: &'static str,
    /// The dtypes it runs in, by name.
    pub dtypes: Vec<&'static str>,
    /// Whether it has a backward.
    pub backward: bool,
    /// Whether it accepts a temperature other than 1.
    pub temperature: bool,
    /// Its accumulation policy, described.
    pub accumulation: &'static str,
    /// One line saying what it is.
    pub description: &'static str,
}

/// The column headers of the table, in order.
pub const HEADERS: [&str; 8] = [
    "id",
    "family",
    "function",
    "dtypes",
    "backward",
    "temperature",
    "accumulation",
    "description",
];

/// One row per registered variant, in registration order.
pub fn list_rows(registry: &Registry) -> Vec<ListRow> {
    registry
        .iter()
        .map(|v| {
            let info = v.info();
            ListRow {
                id: info.id,
                family: info.family.name(),
                function: info.function.name(),
                dtypes: info.dtypes.iter().map(|d| d.name()).collect(),
                backward: info.has_backward,
                temperature: info.temperature,
                accumulation: info.accumulation.describe(),
                description: info.description,
            }
        })
        .collect()
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

impl ListRow {
    /// The row's table cells, in [`HEADERS`] order.
    pub fn cells(&self) -> [String; 8] {
        [
            self.id.to_string(),
            self.family.to_string(),
            self.function.to_string(),
            self.dtypes.join(","),
            yes_no(self.backward),
            yes_no(self.temperature),
            self.accumulation.to_string(),
            self.description.to_string(),
        ]
    }
}

/// The aligned table: a header line, then one line per row, columns separated by
/// two spaces, no trailing spaces; every line ends with a newline.
pub fn format_table(rows: &[ListRow]) -> String {
    let header = HEADERS.map(String::from);
    let lines: Vec<[String; 8]> = std::iter::once(header)
        .chain(rows.iter().map(ListRow::cells))
        .collect();
    let mut widths = [0usize; 8];
    for line in &lines {
        for (w, cell) in widths.iter_mut().zip(line) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for line in &lines {
        let mut text = String::new();
        for (i, cell) in line.iter().enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            text.push_str(cell);
            let pad = widths[i].saturating_sub(cell.chars().count());
            text.push_str(&" ".repeat(pad));
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
    out
}

/// The rows as a compact JSON array of objects (no trailing newline).
pub fn format_json(rows: &[ListRow]) -> Result<String, serde_json::Error> {
    serde_json::to_string(rows)
}

/// The text `softmax-lab list` prints, table or JSON, ending with a newline.
pub fn list(registry: &Registry, args: &ListArgs) -> Result<String, serde_json::Error> {
    let rows = list_rows(registry);
    if args.json {
        Ok(format_json(&rows)? + "\n")
    } else {
        Ok(format_table(&rows))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_aligned() {
        let rows = list_rows(&crate::registry());
        let table = format_table(&rows);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), rows.len() + 1);
        assert!(lines[0].starts_with("id "));
        // The description column starts at the same place on every line.
        let col = lines[0].find("description").unwrap();
        for (line, row) in lines[1..].iter().zip(&rows) {
            assert_eq!(line.find(row.description), Some(col), "{line}");
            assert!(!line.ends_with(' '));
        }
    }
}
