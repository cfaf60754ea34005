//! The text-file reader: a report that reaches us as plain text, into a [`Document`].
//!
//! Shapes read: pipe tables (`a | b | c |`, ragged, or one cell per line with a trailing `|`),
//! tab-separated rows (a docx copy), tab-led cells one per line with rows between blank lines (a
//! cell's text may wrap onto a following line without a tab), PDF extraction debris (no table
//! structure at all; left as paragraphs, one per line, for the parser's flat reader), and a page's
//! text with its chrome (breadcrumb `首页>…`, `日期:`, `字体:`, copyright lines), which is dropped,
//! as are a docx copy's `[bookmark: …]` markers.
//! Runs of table-like lines become [`Block::Table`]s; other lines stay headings or paragraphs in
//! order. The title is the first short line ending in 年度报告 (joined with an agency line printed
//! just above it); the publication date is a `日期: YYYY-MM-DD` line near the top.
//! Never panics, whatever the text.

use std::sync::LazyLock;

use regex::Regex;

use crate::document::{Block, Document, Table};

static DATE_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:日期|发布时间|发布日期|时间)\s*[:：]\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")
        .expect("the date pattern is valid")
});
static HEADING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?:[一二三四五六七八九十]+、|[（(][一二三四五六七八九十]+[）)])")
        .expect("the heading pattern is valid")
});
static CHROME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^\s*(?:首页\s*[>＞»]|当前位置|您的位置|字体\s*[:：]|【?\s*字号|返回顶部|打印本页|关闭窗口|版权所有|主办单位|ICP备|.*公网安备|政府网站标识码|网站标识码)",
    )
    .expect("the chrome pattern is valid")
});
static BOOKMARK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\[bookmark:[^\]]*\]").expect("the bookmark pattern is valid"));
static FOOTER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*[-—–－]\s*\d{1,4}\s*[-—–－]\s*$").expect("the footer pattern is valid"));

/// How many lines from the top a title or date line may be.
const HEAD_LINES: usize = 12;
/// The longest line taken as a title or a heading.
const SHORT_LINE: usize = 60;

/// Reads a text file's content into a document.
pub fn document_from_text(text: &str) -> Document {
    let text = text.trim_start_matches('\u{feff}').replace("\r\n", "\n").replace('\r', "\n");
    let text = if text.contains("[bookmark:") { BOOKMARK.replace_all(&text, "").into_owned() } else { text };
    let lines: Vec<&str> = text.lines().collect();
    let mut doc = Document::default();
    let mut skip = vec![false; lines.len()];
    head(&lines, &mut doc, &mut skip);
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if skip[i] || line.trim().is_empty() || CHROME.is_match(line) || FOOTER.is_match(line) {
            i += 1;
        } else if line.contains('|') {
            i = pipe_table(&lines, i, &mut doc.blocks);
        } else if line.contains('\t') && !is_tab_prose(line) {
            i = tab_table(&lines, i, &mut doc.blocks);
        } else {
            let s = line.trim().to_string();
            let heading = HEADING.is_match(&s) && s.chars().count() <= SHORT_LINE / 2;
            doc.blocks.push(if heading { Block::Heading(s) } else { Block::Paragraph(s) });
            i += 1;
        }
    }
    doc
}

/// Title and publication date from the first lines; the lines used are marked to skip.
fn head(lines: &[&str], doc: &mut Document, skip: &mut [bool]) {
    let top = (0..lines.len()).filter(|&i| !lines[i].trim().is_empty()).take(HEAD_LINES);
    for i in top {
        if let Some(c) = DATE_LINE.captures(lines[i]) {
            doc.published = Some(format!("{}-{:0>2}-{:0>2}", &c[1], &c[2], &c[3]));
            skip[i] = true;
            break;
        }
    }
    if let Some((title, used)) = title_lines(lines) {
        doc.title = Some(title);
        for i in used {
            skip[i] = true;
        }
    }
}

/// The title among a report's first lines: the first short line ending in 年度报告, joined with the
/// agency's name when that is printed on the line above and the title starts with the year (PDF
/// title pages). Gives the title and the indices of the lines it took.
pub fn title_lines(lines: &[&str]) -> Option<(String, Vec<usize>)> {
    let top: Vec<usize> = (0..lines.len()).filter(|&i| !lines[i].trim().is_empty()).take(HEAD_LINES).collect();
    for (n, &i) in top.iter().enumerate() {
        let line = lines[i].trim();
        let titled =
            line.trim_end_matches(|c: char| c.is_ascii_punctuation() || "（）》”".contains(c)).ends_with("年度报告")
                && !line.contains('《')
                && line.chars().count() <= SHORT_LINE
                && !line.contains('|')
                && !line.contains('。')
                && !DATE_LINE.is_match(line);
        if !titled {
            continue;
        }
        let starts_with_year = line.chars().next().is_some_and(|c| c.is_ascii_digit());
        return Some(match n.checked_sub(1).map(|p| top[p]) {
            Some(p) if starts_with_year && is_agency_line(lines[p]) => {
                (format!("{}{}", lines[p].trim(), line), vec![p, i])
            }
            _ => (line.to_string(), vec![i]),
        });
    }
    None
}

/// A short line that looks like an agency's name printed above a title.
fn is_agency_line(line: &str) -> bool {
    let line = line.trim();
    let n = line.chars().count();
    (2..=30).contains(&n)
        && !FOOTER.is_match(line)
        && !CHROME.is_match(line)
        && ["政府", "局", "委员会", "委", "厅", "办公室", "院", "署", "中心", "街道", "镇", "乡"]
            .iter()
            .any(|s| line.ends_with(s))
}

/// The cells of a pipe row: the pieces before a leading and after a trailing `|` are not cells.
fn pipe_cells(line: &str) -> Vec<String> {
    let trimmed = line.trim();
    let mut pieces: Vec<&str> = trimmed.split('|').collect();
    if trimmed.starts_with('|') && !pieces.is_empty() {
        pieces.remove(0);
    }
    if trimmed.ends_with('|') {
        pieces.pop();
    }
    pieces.into_iter().map(|p| p.trim().to_string()).collect()
}

/// A run of pipe lines, one row each; returns the index after the run.
fn pipe_table(lines: &[&str], mut i: usize, blocks: &mut Vec<Block>) -> usize {
    let mut rows = Vec::new();
    while i < lines.len() && lines[i].contains('|') {
        if !FOOTER.is_match(lines[i]) {
            rows.push(pipe_cells(lines[i]));
        }
        i += 1;
    }
    blocks.push(Block::Table(Table { rows }));
    i
}

/// A paragraph indented with a tab (a docx copy), not a table cell: one long sentence.
fn is_tab_prose(line: &str) -> bool {
    let t = line.trim();
    line.matches('\t').count() == 1 && t.contains('。') && t.chars().count() > SHORT_LINE
}

/// A line holding one tab-led cell: `\tcell`.
fn is_cell_line(line: &str) -> bool {
    line.starts_with('\t') && line.matches('\t').count() == 1
}

/// A short line continuing the cell above it (a wrapped cell in a docx copy).
fn is_continuation(line: &str) -> bool {
    let t = line.trim();
    !t.is_empty() && t.chars().count() <= 8 && !t.contains(['。', '，', ',', '；']) && !HEADING.is_match(t)
}

/// A run of tab lines: whole rows split at tabs, or one cell per line with rows between blank
/// lines; returns the index after the run.
fn tab_table(lines: &[&str], mut i: usize, blocks: &mut Vec<Block>) -> usize {
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut row: Vec<String> = Vec::new();
    let mut in_cell = false;
    while i < lines.len() {
        let line = lines[i];
        if FOOTER.is_match(line) {
            i += 1;
            continue;
        }
        if is_tab_prose(line) {
            break;
        }
        if line.trim().is_empty() && !line.contains('\t') {
            if !row.is_empty() {
                rows.push(std::mem::take(&mut row));
            }
            in_cell = false;
            let next = lines[i + 1..].iter().position(|l| !l.trim().is_empty()).map(|p| lines[i + 1 + p]);
            if !next.is_some_and(|l| l.contains('\t') && !is_tab_prose(l)) {
                i += 1;
                break;
            }
        } else if is_cell_line(line) {
            row.push(line[1..].trim().to_string());
            in_cell = true;
        } else if line.contains('\t') {
            if !row.is_empty() {
                rows.push(std::mem::take(&mut row));
            }
            rows.push(line.split('\t').map(|c| c.trim().to_string()).collect());
            in_cell = false;
        } else if in_cell && is_continuation(line) {
            if let Some(last) = row.last_mut() {
                last.push_str(line.trim());
            }
        } else {
            break;
        }
        i += 1;
    }
    if !row.is_empty() {
        rows.push(row);
    }
    if !rows.is_empty() {
        blocks.push(Block::Table(Table { rows }));
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables(doc: &Document) -> Vec<&Table> {
        doc.tables().collect()
    }

    #[test]
    fn pipe_rows_drop_the_outer_pieces() {
        let doc = document_from_text("| 规章 | ??0 | ?0 | 0 | |\n0 |\n规章 |\n");
        let t = tables(&doc);
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].rows[0], ["规章", "??0", "?0", "0", ""]);
        assert_eq!(t[0].rows[1], ["0"]);
    }

    #[test]
    fn tab_cells_one_per_line_make_rows() {
        let text = "二、主动公开\n\t第二十条\n\n\t信息内容\n\t商业\n企业\n\t0\n\n\n五、问题\n";
        let doc = document_from_text(text);
        let t = tables(&doc);
        assert_eq!(
            t[0].rows,
            vec![vec!["第二十条".to_string()], vec!["信息内容".into(), "商业企业".into(), "0".into()]]
        );
        assert_eq!(doc.blocks.last(), Some(&Block::Heading("五、问题".into())));
    }

    #[test]
    fn paragraphs_indented_with_a_tab_stay_paragraphs() {
        let prose = format!("\t{}。", "本年度报告是根据《中华人民共和国政府信息公开条例》要求编制而成".repeat(3));
        let doc = document_from_text(&format!("{prose}\n\t规章\t1\n{prose}\n"));
        assert_eq!(doc.blocks.len(), 3, "{:?}", doc.blocks);
        assert!(matches!(&doc.blocks[0], Block::Paragraph(p) if p.ends_with('。')));
        assert!(matches!(&doc.blocks[1], Block::Table(_)));
        assert!(matches!(&doc.blocks[2], Block::Paragraph(_)));
    }

    #[test]
    fn tab_rows_split_at_tabs() {
        let doc = document_from_text("规章\t0\t0\t0\n规范性文件\t0\t\t0\n正文");
        let t = tables(&doc);
        assert_eq!(t[0].rows[1], ["规范性文件", "0", "", "0"]);
        assert_eq!(doc.blocks.last(), Some(&Block::Paragraph("正文".into())));
    }

    #[test]
    fn docx_bookmarks_are_dropped() {
        let doc = document_from_text("[bookmark: _GoBack]在微信服务号发布信息。\n[bookmark: x]\n");
        assert_eq!(doc.blocks, vec![Block::Paragraph("在微信服务号发布信息。".into())]);
    }

    #[test]
    fn chrome_title_and_date() {
        let text = "首页>政务公开>政府信息公开年报\n\n某局2022年政府信息公开工作年度报告\n\n日期: 2023-01-31\n字体:\n\n一、总体情况\n正文。\n- 2 -\n返回顶部\n";
        let doc = document_from_text(text);
        assert_eq!(doc.title.as_deref(), Some("某局2022年政府信息公开工作年度报告"));
        assert_eq!(doc.published.as_deref(), Some("2023-01-31"));
        assert_eq!(doc.blocks, vec![Block::Heading("一、总体情况".into()), Block::Paragraph("正文。".into())]);
    }

    #[test]
    fn a_title_split_after_the_agency() {
        let doc = document_from_text("- 1 -\n淮安市人民政府\n2024 年政府信息公开工作年度报告\n本报告由…编制。");
        assert_eq!(doc.title.as_deref(), Some("淮安市人民政府2024 年政府信息公开工作年度报告"));
        assert_eq!(doc.blocks, vec![Block::Paragraph("本报告由…编制。".into())]);
    }
}
