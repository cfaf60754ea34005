//! HTML tables: telling data tables from layout tables and from the 信息公开 metadata table, and
//! reading a data table's cells (`<br>` and paragraphs inside a cell joined, `&nbsp;` as space) into
//! a full grid.

use ego_tree::iter::Edge;
use ego_tree::NodeRef;
use scraper::Node;

use super::grid::{self, Cell};
use super::meta;
use crate::document::Table;

/// A cell longer than this is running text: its table is layout.
const MAX_DATA_CELL: usize = 400;

/// The table as a full grid when it is a data table; `None` for a layout table (nested tables, one
/// row or one column, running text in cells, mostly links), whose content is then read as blocks.
pub(crate) fn data_table(table: NodeRef<'_, Node>) -> Option<Table> {
    if table.descendants().skip(1).any(|n| is_element(n, "table")) {
        return None;
    }
    let mut rows = Vec::new();
    let (mut chars, mut link_chars) = (0, 0);
    for tr in table.descendants().filter(|n| is_element(*n, "tr")) {
        let mut cells = Vec::new();
        for td in tr.children().filter(|n| is_element(*n, "td") || is_element(*n, "th")) {
            let (text, links) = cell_text(td);
            let len = text.chars().count();
            if len > MAX_DATA_CELL {
                return None;
            }
            chars += len;
            link_chars += links;
            cells.push(Cell {
                text,
                colspan: span(td, "colspan"),
                rowspan: span(td, "rowspan"),
                continues_above: false,
            });
        }
        rows.push(cells);
    }
    if chars == 0 || link_chars * 2 > chars {
        return None;
    }
    let mut table = grid::expand(rows);
    table.rows.retain(|row| row.iter().any(|c| !c.is_empty()));
    let columns = table.rows.iter().map(Vec::len).max().unwrap_or(0);
    (table.rows.len() >= 2 && columns >= 2).then_some(table)
}

/// The (label, value) pairs of a 信息公开 metadata table; `None` when the table is not one.
pub(crate) fn metadata_table(table: NodeRef<'_, Node>) -> Option<Vec<(String, String)>> {
    if table.descendants().skip(1).any(|n| is_element(n, "table")) {
        return None;
    }
    let cells: Vec<String> =
        table.descendants().filter(|n| is_element(*n, "td") || is_element(*n, "th")).map(|c| cell_text(c).0).collect();
    let mut pairs = Vec::new();
    let mut i = 0;
    while i < cells.len() {
        if let Some(label) = meta::metadata_label(&cells[i]) {
            let value = cells.get(i + 1).filter(|v| meta::metadata_label(v).is_none());
            pairs.push((label.to_owned(), value.cloned().unwrap_or_default()));
            i += if value.is_some() { 2 } else { 1 };
        } else if let Some(pair) = labelled_value(&cells[i]) {
            pairs.push(pair);
            i += 1;
        } else {
            i += 1;
        }
    }
    (pairs.len() >= 2 && cells.len() <= 40).then_some(pairs)
}

/// "索引号：1150…" as a pair, when the text starts with a metadata label and a colon.
pub(crate) fn labelled_value(text: &str) -> Option<(String, String)> {
    let (label, value) = text.split_once(['：', ':'])?;
    let label = meta::metadata_label(label)?;
    Some((label.to_owned(), value.trim().to_owned()))
}

/// A cell's text with its line breaks joined, and how many of its characters are link text.
fn cell_text(cell: NodeRef<'_, Node>) -> (String, usize) {
    let mut segments: Vec<String> = vec![String::new()];
    let mut links = 0;
    let mut link_depth = 0usize;
    let mut skipping = None;
    for edge in cell.traverse() {
        match edge {
            Edge::Open(node) if skipping.is_none() => match node.value() {
                Node::Text(t) => {
                    if link_depth > 0 {
                        links += t.chars().filter(|c| !c.is_whitespace()).count();
                    }
                    segments.last_mut().map(|s| s.push_str(t)).unwrap_or_default();
                }
                Node::Element(e) => match e.name() {
                    "script" | "style" => skipping = Some(node.id()),
                    "a" => link_depth += 1,
                    "br" | "p" | "div" | "li" => segments.push(String::new()),
                    _ => {}
                },
                _ => {}
            },
            Edge::Close(node) => {
                if skipping == Some(node.id()) {
                    skipping = None;
                } else if skipping.is_none() && is_element(node, "a") {
                    link_depth = link_depth.saturating_sub(1);
                }
            }
            Edge::Open(_) => {}
        }
    }
    (join_lines(segments.iter().map(|s| meta::reflow(s))), links)
}

/// Lines of one cell joined: nothing between two CJK characters ("商业<br>企业" → "商业企业"),
/// a space otherwise.
pub(crate) fn join_lines(lines: impl Iterator<Item = String>) -> String {
    let mut out = String::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let glue = match (out.chars().last(), line.chars().next()) {
            (Some(a), Some(b)) if a.is_ascii() || b.is_ascii() => " ",
            _ => "",
        };
        out.push_str(glue);
        out.push_str(&line);
    }
    out
}

fn span(cell: NodeRef<'_, Node>, attr: &str) -> usize {
    let Node::Element(e) = cell.value() else { return 1 };
    let Some(value) = e.attr(attr) else { return 1 };
    let digits: String = value.trim().chars().take_while(char::is_ascii_digit).take(6).collect();
    digits.parse().unwrap_or(1)
}

/// True when the node is an element of that (lower-case) name.
pub(crate) fn is_element(node: NodeRef<'_, Node>, name: &str) -> bool {
    matches!(node.value(), Node::Element(e) if e.name() == name)
}
