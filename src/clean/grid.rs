//! Tables into full grids: every merged cell's text repeated in each position it covers.
//!
//! HTML merges with `colspan`/`rowspan` (a cell reserves positions below it); DOCX with `w:gridSpan`
//! and `w:vMerge` (a cell says it continues the one above). Both come here as [`Cell`]s, so row `i`,
//! column `j` means the same thing whatever the markup. Spans are capped, so a hostile table cannot
//! make the grid explode.

use crate::document::Table;

/// The widest span honoured; HTML itself caps `colspan` at 1000, real report tables need far less.
const MAX_COLSPAN: usize = 100;
/// The largest grid built; beyond it spans are no longer repeated.
const MAX_CELLS: usize = 200_000;

/// One source cell, before expansion.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cell {
    /// The cell's text, white space already reflowed.
    pub text: String,
    /// Columns covered (at least 1).
    pub colspan: usize,
    /// Rows covered (at least 1); `0` in HTML means "to the end of the table".
    pub rowspan: usize,
    /// DOCX `w:vMerge` without `restart`: this cell continues the cell above.
    pub continues_above: bool,
}

impl Cell {
    /// A cell covering one position.
    pub(crate) fn new(text: String) -> Cell {
        Cell { text, colspan: 1, rowspan: 1, continues_above: false }
    }
}

/// Expands source rows into a full grid.
pub(crate) fn expand(rows: Vec<Vec<Cell>>) -> Table {
    let total_rows = rows.len();
    let mut grid: Vec<Vec<Option<String>>> = vec![Vec::new(); total_rows];
    let mut budget = MAX_CELLS;
    for (r, row) in rows.into_iter().enumerate() {
        let mut col = 0;
        for cell in row {
            while grid[r].get(col).is_some_and(Option::is_some) {
                col += 1;
            }
            let colspan = cell.colspan.clamp(1, MAX_COLSPAN);
            let rowspan = match cell.rowspan {
                0 => total_rows - r,
                n => n.min(total_rows - r),
            };
            let text = match (cell.continues_above, r) {
                (true, 1..) => grid[r - 1].get(col).cloned().flatten().unwrap_or(cell.text),
                _ => cell.text,
            };
            let (colspan, rowspan) = if colspan * rowspan > budget { (1, 1) } else { (colspan, rowspan) };
            budget = budget.saturating_sub(colspan * rowspan);
            let mut slots = grid[r..r + rowspan]
                .iter_mut()
                .flat_map(|line| {
                    if line.len() < col + colspan {
                        line.resize(col + colspan, None);
                    }
                    &mut line[col..col + colspan]
                })
                .peekable();
            // The last position takes the text itself: most cells cover one position.
            let mut text = Some(text);
            while let Some(slot) = slots.next() {
                *slot = if slots.peek().is_some() { text.clone() } else { text.take() };
            }
            col += colspan;
        }
    }
    let rows = grid.into_iter().map(|row| row.into_iter().map(Option::unwrap_or_default).collect()).collect();
    Table { rows }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cell(text: &str, colspan: usize, rowspan: usize) -> Cell {
        Cell { text: text.into(), colspan, rowspan, continues_above: false }
    }

    fn strings(rows: &[&[&str]]) -> Vec<Vec<String>> {
        rows.iter().map(|r| r.iter().map(|s| s.to_string()).collect()).collect()
    }

    #[test]
    fn rowspan_and_colspan_repeat_the_text() {
        let table = expand(vec![
            vec![cell("情况", 2, 2), cell("申请人", 2, 1)],
            vec![cell("自然人", 1, 1), cell("法人", 1, 1)],
            vec![cell("新收", 2, 1), cell("1", 1, 1), cell("0", 1, 1)],
        ]);
        assert_eq!(
            table.rows,
            strings(&[
                &["情况", "情况", "申请人", "申请人"],
                &["情况", "情况", "自然人", "法人"],
                &["新收", "新收", "1", "0"]
            ])
        );
    }

    #[test]
    fn continued_cells_copy_the_cell_above() {
        let mut below = Cell::new(String::new());
        below.continues_above = true;
        let table = expand(vec![vec![cell("复议", 1, 1), cell("0", 1, 1)], vec![below, cell("1", 1, 1)]]);
        assert_eq!(table.rows, strings(&[&["复议", "0"], &["复议", "1"]]));
    }

    #[test]
    fn rowspan_zero_runs_to_the_end_and_ragged_rows_stay_ragged() {
        let table = expand(vec![vec![cell("a", 1, 0), cell("b", 1, 1)], vec![], vec![cell("c", 1, 1)]]);
        assert_eq!(table.rows, strings(&[&["a", "b"], &["a"], &["a", "c"]]));
    }

    proptest! {
        #[test]
        fn any_spans_give_a_bounded_grid(spans in prop::collection::vec(prop::collection::vec((0usize..2000, 0usize..2000), 0..6), 0..40)) {
            let rows: Vec<Vec<Cell>> =
                spans.iter().map(|r| r.iter().map(|&(c, s)| cell("x", c, s)).collect()).collect();
            let n = rows.len();
            let table = expand(rows);
            prop_assert_eq!(table.rows.len(), n);
            prop_assert!(table.rows.iter().map(Vec::len).sum::<usize>() <= MAX_CELLS + 6 * 40 * MAX_COLSPAN);
        }
    }
}
