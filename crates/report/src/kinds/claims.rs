//! The claims ledger: every claim of the study's claims list with its verdict, what
//! was tested, the deciding numbers and a link to the figure or table that shows
//! them. The verdicts come from the `claims` scenario's table; nothing is typed here.

use super::{Loaded, Rendered};
use crate::doc::{link, t, Block, Span};

use softmax_lab_results::records::ClaimRecord;
use softmax_lab_results::Verdict;

/// Count the verdicts: "20 claims: holds: 12, ...".
pub fn findings(verdicts: &[String]) -> String {
    let mut parts = Vec::new();
    for v in Verdict::ALL.map(Verdict::name) {
        let n = verdicts.iter().filter(|x| x.as_str() == v).count();
        if n > 0 {
            parts.push(format!("{v}: {n}"));
        }
    }
    let other = verdicts
        .iter()
        .filter(|x| Verdict::from_name(x).is_none())
        .count();
    if other > 0 {
        parts.push(format!("other verdicts: {other}"));
    }
    format!(
        "{} claims: {}. Each verdict is computed by the claims scenario from the \
         measurements of this run; the figure column links the evidence.",
        verdicts.len(),
        parts.join(", ")
    )
}

/// Render the ledger.
pub fn render(l: &Loaded) -> Result<Rendered, String> {
    let records = l.need("claims")?.records::<ClaimRecord>()?;
    let mut rows = Vec::new();
    let mut verdicts = Vec::new();
    for r in records {
        verdicts.push(r.verdict.clone());
        let fig = r.figure;
        // An evidence table of this claim, if the scenario wrote one (c01 ...).
        let id = r.claim;
        let own = l.table(&id.to_lowercase()).map(|t| l.csv_name(&t.name));
        let mut links: Vec<Span> = Vec::new();
        if !fig.is_empty() {
            links.extend(link(fig.clone(), fig.clone()));
        }
        if let Some(csv) = own {
            let href = format!("results/{csv}");
            if href != fig {
                if !links.is_empty() {
                    links.push(Span::Text(", ".into()));
                }
                links.extend(link(csv, href));
            }
        }
        rows.push(vec![
            vec![Span::Strong(id)],
            vec![Span::Strong(r.verdict)],
            t(r.statement),
            t(r.tested),
            t(r.evidence),
            links,
        ]);
    }
    let mut out = Rendered {
        method: vec![t(
            "The claims come from five popular articles on softmax versus sigmoid; each \
             is restated in the table's statement column. The claims scenario runs after the others, reads \
             their results and its own targeted measurements, and decides each verdict \
             by rules on those numbers.",
        )],
        ..Rendered::default()
    };
    out.findings = t(findings(&verdicts));
    out.blocks.push(Block::Table {
        headers: [
            "claim",
            "verdict",
            "statement",
            "what was tested",
            "evidence",
            "figure / table",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_are_counted() {
        let v: Vec<String> = ["holds", "does not hold", "holds", "maybe"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            findings(&v),
            "4 claims: holds: 2, does not hold: 1, other verdicts: 1. Each verdict is \
             computed by the claims scenario from the measurements of this run; the figure \
             column links the evidence."
        );
    }
}
