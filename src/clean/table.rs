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
/// A metadata table has at most this many cells.
const MAX_METADATA_CELLS: usize = 40;

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
            let (colspan, rowspan) = spans(td);
            cells.push(Cell { text, colspan, rowspan, continues_above: false });
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
    let is_cell = |n: &NodeRef<'_, Node>| is_element(*n, "td") || is_element(*n, "th");
    // Cells counted before any cell's text is read, and only as far as the limit: a page's
    // statistics tables are far too big to be metadata, and reading their cells here cost as
    // much as reading them as data.
    let mut count = 0;
    for n in table.descendants().skip(1) {
        if is_element(n, "table") {
            return None;
        }
        count += usize::from(is_cell(&n));
        if count > MAX_METADATA_CELLS {
            return None;
        }
    }
    let cells: Vec<String> = table.descendants().filter(is_cell).map(|c| cell_text(c).0).collect();
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
    // Labels side by side with no values between them are a data table's header row
    // (序号 | 名称 | 文号 | 发布日期), not metadata.
    let valued = pairs.iter().filter(|(_, v)| !v.is_empty()).count();
    (valued >= 2 && valued * 2 >= pairs.len()).then_some(pairs)
}

/// "索引号：1150…" as a pair, when the text starts with a metadata label and a colon.
pub(crate) fn labelled_value(text: &str) -> Option<(String, String)> {
    let (label, value) = text.split_once(['：', ':'])?;
    let label = meta::metadata_label(label)?;
    Some((label.to_owned(), value.trim().to_owned()))
}

/// A cell's text with its line breaks joined, and how many of its characters are link text.
fn cell_text(cell: NodeRef<'_, Node>) -> (String, usize) {
    let mut out = String::new();
    // The text since the last line break, reflowed into `out` at the next one.
    let mut line = String::new();
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
                    line.push_str(t);
                }
                Node::Element(e) => match e.name() {
                    "script" | "style" => skipping = Some(node.id()),
                    "a" => link_depth += 1,
                    "br" | "p" | "div" | "li" => {
                        push_reflowed(&mut out, &line);
                        line.clear();
                    }
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
    push_reflowed(&mut out, &line);
    (out, links)
}

/// Lines of one cell joined: nothing between two CJK characters ("商业<br>企业" → "商业企业"),
/// a space otherwise.
pub(crate) fn join_lines(lines: impl Iterator<Item = String>) -> String {
    let mut out = String::new();
    for line in lines {
        push_line(&mut out, &line);
    }
    out
}

/// Appends one non-empty line to a cell's text as [`join_lines`] joins them.
fn push_line(out: &mut String, line: &str) {
    if let (Some(a), Some(b)) = (out.chars().next_back(), line.chars().next()) {
        if a.is_ascii() || b.is_ascii() {
            out.push(' ');
        }
    }
    out.push_str(line);
}

/// Appends one line of a cell, its white space reflowed as [`meta::reflow`] does, as
/// [`join_lines`] joins lines; without a string per line.
fn push_reflowed(out: &mut String, line: &str) {
    let mut words = line.split_whitespace();
    let Some(first) = words.next() else { return };
    push_line(out, first);
    for word in words {
        out.push(' ');
        out.push_str(word);
    }
}

/// A cell's `colspan` and `rowspan` (1 when absent or unreadable), read in one pass over its
/// attributes.
fn spans(cell: NodeRef<'_, Node>) -> (usize, usize) {
    let (mut colspan, mut rowspan) = (1, 1);
    if let Node::Element(e) = cell.value() {
        for (name, value) in e.attrs() {
            match name {
                "colspan" => colspan = span(value),
                "rowspan" => rowspan = span(value),
                _ => {}
            }
        }
    }
    (colspan, rowspan)
}

fn span(value: &str) -> usize {
    let value = value.trim();
    let digits = value.bytes().take_while(u8::is_ascii_digit).take(6).count();
    value[..digits].parse().unwrap_or(1)
}

/// True when the node is an element of that (lower-case) name.
pub(crate) fn is_element(node: NodeRef<'_, Node>, name: &str) -> bool {
    matches!(node.value(), Node::Element(e) if e.name() == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use scraper::{Html, Selector};

    fn table_of(page: &Html) -> NodeRef<'_, Node> {
        let selector = Selector::parse("table").unwrap();
        *page.select(&selector).next().unwrap()
    }

    #[test]
    fn a_header_row_of_labels_is_a_data_table_not_metadata() {
        let page = Html::parse_document(
            "<table><tr><td>序号</td><td>名称</td><td>文号</td><td>发布日期</td></tr>\
             <tr><td>1</td><td>关于印发办法的通知</td><td>某发〔2022〕1号</td><td>2022-01-05</td></tr></table>",
        );
        assert_eq!(metadata_table(table_of(&page)), None);
        assert_eq!(data_table(table_of(&page)).map(|t| t.rows.len()), Some(2));
    }

    #[test]
    fn label_value_cells_are_metadata() {
        let page = Html::parse_document(
            "<table><tr><td>索 引 号：</td><td>1150/2023-1</td><td>发文字号：</td><td></td></tr>\
             <tr><td>发布机构：</td><td>某局</td><td>发布日期：2023-01-31</td></tr></table>",
        );
        let pairs = metadata_table(table_of(&page)).unwrap();
        assert_eq!(pairs[0], ("索引号".to_string(), "1150/2023-1".to_string()));
        assert_eq!(pairs[1], ("发文字号".to_string(), String::new()));
        assert_eq!(pairs[3], ("发布日期".to_string(), "2023-01-31".to_string()));
    }

    #[test]
    fn layout_tables_are_not_data() {
        let nested = Html::parse_document(
            "<table><tr><td><table><tr><td>a</td><td>b</td></tr></table></td><td>c</td></tr></table>",
        );
        assert_eq!(data_table(table_of(&nested)), None);
        let one_column =
            Html::parse_document("<table><tr><td>第一段正文</td></tr><tr><td>第二段正文</td></tr></table>");
        assert_eq!(data_table(table_of(&one_column)), None);
        let links = Html::parse_document("<table><tr><td><a href=a>相关文件一</a></td><td><a href=b>相关文件二</a></td></tr><tr><td><a href=c>三</a></td><td>x</td></tr></table>");
        assert_eq!(data_table(table_of(&links)), None);
    }
}
