//! The size and legibility budget on the committed full report: rendering
//! `reports/results` (a full run) gives a self-contained `index.html` under 1.5 MB,
//! an `index.md` that keeps the long tables in the CSVs, and figures no wider than
//! the width at which their labels were checked ([`plot::MAX_WIDTH`]).

use std::path::{Path, PathBuf};

use softmax_lab_report::{plot, render, Options};

/// The largest `index.html` of a full report, in bytes.
const HTML_BUDGET: u64 = 1_500_000;
/// The largest `index.md` of a full report, in bytes (every long table lives in its
/// CSV; the index shows the rows that carry a finding).
const MD_BUDGET: u64 = 200_000;

fn png_width(path: &Path) -> u32 {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&bytes[12..16], b"IHDR", "{}", path.display());
    u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]])
}

#[test]
fn the_full_report_fits_its_budget() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../reports/results");
    assert!(
        root.join("throughput.json").is_file(),
        "the committed full results are expected at reports/results"
    );
    let out = std::env::temp_dir().join(format!("softmax-lab-report-size-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let summary = render(&Options {
        results_dir: root,
        out_dir: out.clone(),
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(summary.failed.is_empty(), "{:?}", summary.failed);
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(u64::MAX);
    let html = size(&summary.index_html);
    let md = size(&summary.index_md);
    assert!(html < HTML_BUDGET, "index.html is {html} bytes");
    assert!(md < MD_BUDGET, "index.md is {md} bytes");
    // Self-contained: no image or script fetched from elsewhere.
    let text = std::fs::read_to_string(&summary.index_html).unwrap_or_default();
    assert!(
        !text.contains("src=\""),
        "an external reference in index.html"
    );
    assert!(text.contains("<h3>Summary</h3>"));
    for p in summary
        .plots
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
    {
        let w = png_width(p);
        assert!(w <= plot::MAX_WIDTH, "{}: {w} px wide", p.display());
    }
    let _ = std::fs::remove_dir_all(&out);
}
