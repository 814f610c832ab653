//! Unit tests of the scenario helpers.

use super::*;

#[test]
fn line_column_counts_lines_and_characters() {
    let text = "a = 1\nbé = 2\n";
    assert_eq!(line_column(text, 0), (1, 1));
    assert_eq!(line_column(text, 4), (1, 5));
    assert_eq!(line_column(text, 6), (2, 1));
    // 'é' is two bytes but one column.
    assert_eq!(line_column(text, 9), (2, 3));
    assert_eq!(line_column(text, 10), (2, 4));
    assert_eq!(line_column(text, 1000), (3, 1));
}

#[test]
fn log_grid_has_exact_end_points_and_even_ratios() {
    let g = spaced(1.0, 1e4, 5, true);
    assert_eq!(g[0], 1.0);
    assert_eq!(g[4], 1e4);
    assert!((g[2] - 100.0).abs() < 1e-12, "{g:?}");
    assert_eq!(spaced(2.0, 4.0, 3, false), vec![2.0, 3.0, 4.0]);
    assert_eq!(spaced(5.0, 5.0, 1, true), vec![5.0]);
    assert_eq!(thinned(&[1.0, 2.0, 3.0, 4.0, 5.0]), vec![1.0, 3.0, 5.0]);
}
