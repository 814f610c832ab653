//! `kind = "claims"`: a verdict on every claim of the study
//! ([`crate::claims`]), computed from measurements of its own and from the
//! results the other scenarios of the run wrote (so its scenarios run last). A
//! claims scenario takes its name, description and seed, and the claims
//! themselves: one `[[claims]]` table per claim the ledger decides, with its
//! `id`, its `statement` (the `statement` column of the ledger) and the
//! `measurement` that decides it (kept in the results' scenario record). The
//! statements live in the scenario file (`scenarios/claims.toml`), so a run's
//! results say which wording their verdicts answer; a missing, unknown, repeated
//! or empty entry is an error at its place in the file.

use serde::Deserialize;
use softmax_lab_core::Registry;

use super::{main_records, Field, MeasurementKind};
use crate::claims::{claim_ids, ClaimRecord, ClaimStatement};
use crate::results::{ColumnType, Table};
use crate::run::RunOptions;
use crate::scenario::{Kind, Scenario, ScenarioError, Section, S};
use crate::HarnessError;

/// One `[[claims]]` table as serde reads it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawClaim {
    id: S<String>,
    statement: S<String>,
    measurement: S<String>,
}

/// The statements of `raw` in the ledger's order, each id exactly once.
fn statements(section: &Section) -> Result<Vec<ClaimStatement>, ScenarioError> {
    let cx = &section.cx;
    let ids = claim_ids();
    let Some(list) = &section.raw.claims else {
        return Err(cx.err(
            section.raw.kind.span(),
            format!(
                "kind = \"claims\" needs the claim statements: one [[claims]] table \
                 (id, statement, measurement) for each of {}",
                ids.join(", ")
            ),
        ));
    };
    let mut found: Vec<(&str, ClaimStatement, usize)> = Vec::new();
    for c in list.get_ref() {
        let c = c.get_ref();
        let id = c.id.get_ref().as_str();
        let Some(&known) = ids.iter().find(|&&k| k == id) else {
            return Err(cx.err(
                c.id.span(),
                format!(
                    "unknown claim id '{id}': expected one of {}",
                    ids.join(", ")
                ),
            ));
        };
        if let Some((_, _, first)) = found.iter().find(|(k, _, _)| *k == known) {
            let (line, _) = crate::scenario::line_column(cx.text(), *first);
            return Err(cx.err(
                c.id.span(),
                format!(
                    "claim '{id}' is listed twice (first at line {line}): keep one table per id"
                ),
            ));
        }
        for (field, v) in [("statement", &c.statement), ("measurement", &c.measurement)] {
            if v.get_ref().trim().is_empty() {
                return Err(cx.err(
                    v.span(),
                    format!("`{field}` of claim '{id}' is empty: expected the text of the claim's {field}"),
                ));
            }
        }
        found.push((
            known,
            ClaimStatement {
                id: known.to_string(),
                statement: c.statement.get_ref().trim().to_string(),
                measurement: c.measurement.get_ref().trim().to_string(),
            },
            c.id.span().start,
        ));
    }
    let missing: Vec<&str> = ids
        .iter()
        .copied()
        .filter(|id| !found.iter().any(|(k, _, _)| k == id))
        .collect();
    if !missing.is_empty() {
        return Err(cx.err(
            list.span(),
            format!(
                "no [[claims]] table for {}: every claim the ledger decides needs its id, \
                 statement and measurement",
                missing.join(", ")
            ),
        ));
    }
    Ok(ids
        .iter()
        .filter_map(|id| found.iter().find(|(k, _, _)| k == id))
        .map(|(_, c, _)| c.clone())
        .collect())
}

/// The claims kind.
pub struct Claims;

impl MeasurementKind for Claims {
    fn kind(&self) -> Kind {
        Kind::Claims
    }

    fn fields(&self) -> &'static [Field] {
        &[Field::Claims]
    }

    /// The `[[claims]]` statements (required), the same in both forms.
    fn parse(
        &self,
        section: &Section,
        full: &mut Scenario,
        quick: &mut Scenario,
    ) -> Result<(), ScenarioError> {
        full.claims = statements(section)?;
        quick.claims = full.claims.clone();
        Ok(())
    }

    fn main_columns(&self) -> Vec<(&'static str, ColumnType)> {
        <crate::claims::ClaimRecord as crate::results::Record>::columns()
    }

    /// Reads the results of the run's other scenarios from `<out_dir>/results/`.
    fn measure(
        &self,
        s: &Scenario,
        registry: &Registry,
        opts: &RunOptions,
    ) -> Result<Vec<Table>, HarnessError> {
        crate::claims::measure(s, registry, &opts.out_dir.join("results"))
    }

    /// One line per claim: its id, verdict and evidence.
    fn summarize(&self, _s: &Scenario, tables: &[Table]) -> Vec<String> {
        let records: Vec<ClaimRecord> = main_records(tables);
        records
            .iter()
            .map(|r| format!("{:<4} {:<20} {}", r.claim, r.verdict, r.evidence))
            .collect()
    }

    fn runs_last(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::scenario::{parse, ScenarioError};

    const SHIPPED: &str = include_str!("../../../../scenarios/claims.toml");

    fn parse_err(text: &str) -> ScenarioError {
        match parse(
            Path::new("claims.toml"),
            text,
            &softmax_lab_variants::registry(),
        ) {
            Ok(_) => panic!("parsed: {text}"),
            Err(e) => e,
        }
    }

    /// The 1-based line of the first occurrence of `needle` in `text`.
    fn line_of(text: &str, needle: &str) -> usize {
        let at = text
            .find(needle)
            .unwrap_or_else(|| panic!("{needle} not in text"));
        text[..at].matches('\n').count() + 1
    }

    #[test]
    fn the_shipped_statements_parse_in_the_ledgers_order() {
        let f = parse(
            Path::new("claims.toml"),
            SHIPPED,
            &softmax_lab_variants::registry(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let ids: Vec<&str> = f.full.claims.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, crate::claims::claim_ids());
        assert_eq!(ids.len(), 20);
        assert_eq!(f.quick.claims, f.full.claims);
        let c20 = &f.full.claims[19];
        assert_eq!(
            c20.statement,
            "The textbook \"interview\" softmax that subtracts the max in place is safe to use."
        );
        assert!(c20.measurement.contains("correctness test"), "{c20:?}");
        // The order of the tables does not matter: C02 before C01 reads the same.
        let swapped = SHIPPED
            .replacen("id = \"C01\"", "id = \"CXX\"", 1)
            .replacen("id = \"C02\"", "id = \"C01\"", 1)
            .replacen("id = \"CXX\"", "id = \"C02\"", 1);
        let g = parse(
            Path::new("claims.toml"),
            &swapped,
            &softmax_lab_variants::registry(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(g.full.claims[0].id, "C01");
        assert_eq!(g.full.claims[0].statement, f.full.claims[1].statement);
    }

    #[test]
    fn bad_statements_are_errors_at_their_place() {
        // No statements at all: at `kind`.
        let head = SHIPPED.split("\n[[claims]]").next().unwrap_or_default();
        let e = parse_err(head);
        assert_eq!((e.line, e.column), (line_of(head, "kind ="), 8), "{e}");
        assert!(e.message.contains("needs the claim statements"), "{e}");
        assert!(e.message.contains("C01, C02"), "{e}");

        // An unknown id: at the id, naming the allowed ones.
        let t = SHIPPED.replacen("id = \"C13\"", "id = \"C21\"", 1);
        let e = parse_err(&t);
        assert_eq!((e.line, e.column), (line_of(&t, "\"C21\""), 6), "{e}");
        assert!(
            e.message
                .contains("unknown claim id 'C21': expected one of C01"),
            "{e}"
        );

        // A repeated id: at the second, naming the first.
        let t = SHIPPED.replacen("id = \"C13\"", "id = \"C12\"", 1);
        let e = parse_err(&t);
        let first = line_of(&t, "id = \"C12\"");
        assert_eq!(e.line, first + 5, "{e}");
        assert!(
            e.message.contains(&format!(
                "claim 'C12' is listed twice (first at line {first})"
            )),
            "{e}"
        );

        // One table fewer: the missing id is named.
        let t = SHIPPED.replacen("id = \"C07\"", "id = \"C08\"", 1);
        let t = t.replacen("id = \"C08\"", "id = \"C07\"", 1);
        assert!(parse(
            Path::new("claims.toml"),
            &t,
            &softmax_lab_variants::registry()
        )
        .is_ok());
        let cut = SHIPPED.find("[[claims]]\nid = \"C07\"").unwrap_or(0);
        let end = SHIPPED.find("[[claims]]\nid = \"C08\"").unwrap_or(0);
        let t = format!("{}{}", &SHIPPED[..cut], &SHIPPED[end..]);
        let e = parse_err(&t);
        assert_eq!(e.line, line_of(&t, "[[claims]]"), "{e}");
        assert!(e.message.contains("no [[claims]] table for C07"), "{e}");

        // An empty statement: at its value.
        let t = SHIPPED.replacen(
            "statement = \"Sigmoid outputs are independent; their sum over classes is not 1.\"",
            "statement = \" \"",
            1,
        );
        let e = parse_err(&t);
        assert_eq!(
            (e.line, e.column),
            (line_of(&t, "statement = \" \""), 13),
            "{e}"
        );
        assert!(
            e.message.contains("`statement` of claim 'C02' is empty"),
            "{e}"
        );

        // A missing field and a misspelt one: serde's message, located.
        let t = SHIPPED.replacen(
            "measurement = \"sum of per-class",
            "measurment = \"sum of per-class",
            1,
        );
        let e = parse_err(&t);
        assert_eq!(e.line, line_of(&t, "measurment"), "{e}");
        assert!(e.message.contains("unknown field `measurment`"), "{e}");
        assert!(
            e.message
                .contains("expected one of `id`, `statement`, `measurement`"),
            "{e}"
        );

        // Malformed TOML: an unterminated string.
        let t = SHIPPED.replacen(
            "statement = \"Softmax's tiny",
            "statement = Softmax's tiny",
            1,
        );
        let e = parse_err(&t);
        assert_eq!(e.line, line_of(&t, "statement = Softmax's tiny"), "{e}");
        assert!(e.path.ends_with("claims.toml"));

        // Statements belong to the claims kind only.
        let e = parse_err("kind = \"training\"\nseed = 1\n[[claims]]\nid = \"C01\"\nstatement = \"x\"\nmeasurement = \"y\"\n");
        assert!(
            e.message
                .contains("`[[claims]]` applies only to kind = \"claims\", not \"training\""),
            "{e}"
        );
    }
}
