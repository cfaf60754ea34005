//! The document as one flat sequence of cells, whatever shape its tables arrived in.
//!
//! Grid tables give their rows' cells (a merged label repeated across columns counts once, and
//! blank cells before a row's first text or figure, its label area, are dropped);
//! headings and paragraphs give their lines' words, so PDF text, where a table is nothing but
//! labels and numbers in reading order, reads the same way as a grid. Page footers such as
//! "- 4 -" are dropped, since they fall inside tables. The readers of tables 二, 三 and 四 then
//! cut this sequence into [`Group`]s: the label text since the previous figures, and the figures.

use std::sync::LazyLock;

use regex::Regex;

use super::numbers::{classify_cell, classify_word, Cell, Figure};
use crate::document::{Block, Document};

static FOOTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?:[-—–－]\s*\d{1,4}\s*[-—–－]|第\s*\d{1,4}\s*页(?:\s*[,，/]?\s*共\s*\d{1,4}\s*页)?|\d{1,4}\s*/\s*\d{1,4})\s*$")
        .expect("the footer pattern is valid")
});

/// True for a page footer line such as "- 4 -" or "第 4 页".
pub(crate) fn is_footer(line: &str) -> bool {
    FOOTER.is_match(line)
}

/// The body of a document as cells in reading order.
pub(crate) fn cells(doc: &Document) -> Vec<Cell> {
    let mut out = Vec::new();
    for block in &doc.blocks {
        match block {
            Block::Heading(s) | Block::Paragraph(s) => {
                for line in s.lines().filter(|l| !is_footer(l)) {
                    for word in line.split_whitespace() {
                        classify_word(word, &mut out);
                        if out.last() == Some(&Cell::Blank) {
                            out.pop();
                        }
                    }
                    out.push(Cell::RowEnd);
                }
            }
            Block::Table(t) => {
                for row in &t.rows {
                    let start = out.len();
                    // The previous cell when it gave one text: a merged label repeated after it
                    // would give the same text again, which is dropped as a repeat below.
                    let mut previous_text: Option<&str> = None;
                    for cell in row {
                        if previous_text == Some(cell.as_str()) || is_footer(cell) {
                            continue;
                        }
                        let before = out.len();
                        classify_cell(cell, &mut out);
                        let one_text = out.len() == before + 1 && matches!(out[before], Cell::Text(_));
                        previous_text = one_text.then_some(cell.as_str());
                        if out.len() == start + 1 && out[start] == Cell::Blank {
                            out.pop();
                            continue;
                        }
                        let n = out.len();
                        if n >= start + 2 && matches!(&out[n - 1], Cell::Text(_)) && out[n - 1] == out[n - 2] {
                            out.pop();
                        }
                    }
                    out.push(Cell::RowEnd);
                }
            }
        }
    }
    out
}

/// A label and the figures that follow it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Group {
    /// The folded text since the previous figures (several cells, lines or wrapped pieces joined).
    pub label: String,
    /// The figures and blank cells up to the next text, in order.
    pub cells: Vec<Cell>,
    /// Whether the figures and blanks are the end of one table row (or text line) and come from
    /// no other: only then is a blank among them a cell of that row.
    pub one_row: bool,
}

/// Cuts a run of cells into groups; text after the last figures is dropped.
pub(crate) fn groups(cells: &[Cell]) -> Vec<Group> {
    let mut out = Vec::new();
    let mut label = String::new();
    let mut run: Vec<Cell> = Vec::new();
    let mut rows = 0;
    let mut row_counted = false;
    let has_figures = |run: &[Cell]| run.iter().any(|c| matches!(c, Cell::Value(_)));
    for cell in cells {
        match cell {
            Cell::Text(t) => {
                if has_figures(&run) {
                    let one_row = rows == 1 && !row_counted;
                    out.push(Group { label: std::mem::take(&mut label), cells: std::mem::take(&mut run), one_row });
                }
                run.clear();
                rows = 0;
                row_counted = false;
                label.push_str(t);
            }
            Cell::RowEnd => row_counted = false,
            Cell::Value(_) | Cell::Blank => {
                if matches!(cell, Cell::Blank) && run.is_empty() && label.is_empty() {
                    continue;
                }
                if !row_counted {
                    rows += 1;
                    row_counted = true;
                }
                run.push(cell.clone());
            }
        }
    }
    if has_figures(&run) {
        out.push(Group { label, cells: run, one_row: rows == 1 });
    }
    out
}

/// The figures of a group for a row `width` cells wide.
///
/// Blank cells are padding when the figures alone have an acceptable count (`fits`); otherwise,
/// when the group is the end of one table row and its cells from the first figure on, blanks
/// included, are `width` long (blank padding after them aside), a blank is a figure that is not
/// shown. Blanks before the first figure may be an empty label column, so they are never figures. Anything else is returned as
/// the bare figures, for the caller to reject.
pub(crate) fn resolve(group: &Group, width: usize, fits: impl Fn(usize) -> bool) -> Vec<Option<Figure>> {
    let first = group.cells.iter().position(|c| !matches!(c, Cell::Blank)).unwrap_or(group.cells.len());
    let cells = &group.cells[first..];
    let figures: Vec<Option<Figure>> = cells
        .iter()
        .filter_map(|c| match c {
            Cell::Value(v) => Some(*v),
            _ => None,
        })
        .collect();
    if fits(figures.len()) {
        return figures;
    }
    let trimmed_len = cells.iter().rposition(|c| !matches!(c, Cell::Blank)).map_or(0, |p| p + 1);
    let positional = (group.one_row && cells.len() >= width && trimmed_len <= width).then(|| &cells[..width]);
    match positional {
        Some(cells) => cells
            .iter()
            .map(|c| match c {
                Cell::Value(v) => *v,
                _ => None,
            })
            .collect(),
        None => figures,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Table;

    fn n(v: i64) -> Cell {
        Cell::Value(Some(Figure { value: v as f64, int: Some(v) }))
    }

    #[test]
    fn footers_are_recognised_but_not_figures() {
        assert!(is_footer("- 4 -"));
        assert!(is_footer(" —12— "));
        assert!(is_footer("第 3 页 共 9 页"));
        assert!(!is_footer("4"));
        assert!(!is_footer("0"));
        assert!(!is_footer("1 0 0 0 0 0 1"));
    }

    #[test]
    fn grid_rows_and_text_lines_give_the_same_cells() {
        let grid = Document {
            blocks: vec![Block::Table(Table {
                rows: vec![vec!["规章".into(), "规章".into(), "1".into(), "0".into(), "11".into()]],
            })],
            ..Default::default()
        };
        let text = Document { blocks: vec![Block::Paragraph("规章 1 0\n- 4 -\n11".into())], ..Default::default() };
        let row = vec![Cell::Text("规章".into()), n(1), n(0), n(11), Cell::RowEnd];
        assert_eq!(cells(&grid), row);
        let lines = vec![Cell::Text("规章".into()), n(1), n(0), Cell::RowEnd, n(11), Cell::RowEnd];
        assert_eq!(cells(&text), lines);
    }

    #[test]
    fn groups_join_wrapped_labels() {
        let cs = vec![Cell::Text("(二)部分公开(区分处理的".into()), Cell::Text("不计其他情形)".into()), n(4), n(0)];
        let g = groups(&cs);
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].label, "(二)部分公开(区分处理的不计其他情形)");
        assert_eq!(g[0].cells.len(), 2);
    }

    #[test]
    fn blanks_are_padding_or_missing_figures() {
        let group = |cells: Vec<Cell>, one_row| Group { label: String::new(), cells, one_row };
        let padded = group(vec![n(1), Cell::Blank, n(2), n(3), Cell::Blank], true);
        assert_eq!(resolve(&padded, 3, |k| k == 3).len(), 3);
        let hole = group(vec![n(1), Cell::Blank, n(3)], true);
        let r = resolve(&hole, 3, |k| k == 3);
        assert_eq!(r.len(), 3);
        assert_eq!(r[1], None);
        let trailing = group(vec![n(1), n(2), Cell::Blank, Cell::Blank], true);
        assert_eq!(resolve(&trailing, 3, |k| k == 3), vec![r[0], Some(Figure { value: 2.0, int: Some(2) }), None]);
        let two_rows = group(vec![n(1), n(2), Cell::Blank], false);
        assert_eq!(resolve(&two_rows, 3, |k| k == 3).len(), 2, "a blank from another row is not a figure");
        let leading = group(vec![Cell::Blank, n(1), n(2)], true);
        assert_eq!(resolve(&leading, 3, |k| k == 3).len(), 2, "a blank before the figures may be a label's");
    }

    #[test]
    fn groups_know_whether_they_end_one_row() {
        let t = |s: &str| Cell::Text(s.into());
        let cs = vec![t("a"), Cell::Blank, Cell::RowEnd, n(1), n(2), Cell::RowEnd, t("b"), n(3), Cell::RowEnd];
        let g = groups(&cs);
        assert_eq!((g[0].one_row, g[1].one_row), (false, true), "a's blank is in another row");
        let cs = vec![t("a"), n(1), Cell::Blank, t("b"), n(2), Cell::RowEnd];
        let g = groups(&cs);
        assert_eq!((g[0].one_row, g[1].one_row), (false, true), "a's figures do not end the row");
    }
}
