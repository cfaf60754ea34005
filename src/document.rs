//! The seam between cleaning and parsing: a report as a reader sees it, without page chrome.
//!
//! The cleaner produces a [`Document`] from a page, an attachment or a text file; the shared parser
//! reads nothing else. Tables are always full grids: merged cells are repeated into every position they
//! cover, so row `i`, column `j` means the same thing whatever markup the table came from.

use serde::{Deserialize, Serialize};

/// A cleaned report: identity, metadata and the body in reading order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// The report's title, from page metadata first, then the layout; `None` when nothing names it.
    pub title: Option<String>,
    /// Publication date as `YYYY-MM-DD`, when the page states one.
    pub published: Option<String>,
    /// The 信息公开 metadata table (索引号, 发文字号, 发布机构 …) and meta tags worth keeping,
    /// in page order; kept apart from the body because it is not part of the report's text.
    pub metadata: Vec<(String, String)>,
    /// The body, in reading order.
    pub blocks: Vec<Block>,
}

/// One unit of a report's body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Block {
    /// A section heading such as "一、总体情况".
    Heading(String),
    /// A paragraph of running text.
    Paragraph(String),
    /// A data table (never a layout table).
    Table(Table),
}

/// A data table as a full grid of cell texts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// Rows of cells; a merged cell's text is repeated in every position it covers.
    /// Rows may differ in length only when the source itself was ragged.
    pub rows: Vec<Vec<String>>,
}

impl Document {
    /// The tables of the body, in order.
    pub fn tables(&self) -> impl Iterator<Item = &Table> {
        self.blocks.iter().filter_map(|b| match b {
            Block::Table(t) => Some(t),
            _ => None,
        })
    }

    /// The cleaned text: title, date, then the body with tables as tab-separated rows.
    ///
    /// This is the `text` of documents.jsonl and what version history compares, so it must depend
    /// only on the report's content, never on page chrome.
    pub fn text(&self) -> String {
        let mut out = String::new();
        if let Some(title) = &self.title {
            out.push_str(title);
            out.push('\n');
        }
        if let Some(date) = &self.published {
            out.push_str(date);
            out.push('\n');
        }
        for block in &self.blocks {
            if !out.is_empty() {
                out.push('\n');
            }
            match block {
                Block::Heading(s) | Block::Paragraph(s) => {
                    out.push_str(s);
                    out.push('\n');
                }
                Block::Table(t) => {
                    for row in &t.rows {
                        out.push_str(&row.join("\t"));
                        out.push('\n');
                    }
                }
            }
        }
        out
    }

    /// True when the document carries no body at all (an empty or undecodable input).
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_lists_title_date_and_tables_as_tab_rows() {
        let doc = Document {
            title: Some("2022年政府信息公开工作年度报告".into()),
            published: Some("2023-01-31".into()),
            metadata: vec![("索引号".into(), "11500000".into())],
            blocks: vec![
                Block::Heading("一、总体情况".into()),
                Block::Paragraph("本年度收到申请1件。".into()),
                Block::Table(Table {
                    rows: vec![vec!["信息内容".into(), "本年制发件数".into()], vec!["规章".into(), "0".into()]],
                }),
            ],
        };
        let text = doc.text();
        assert_eq!(
            text,
            "2022年政府信息公开工作年度报告\n2023-01-31\n\n一、总体情况\n\n本年度收到申请1件。\n\n信息内容\t本年制发件数\n规章\t0\n"
        );
        assert!(!text.contains("索引号"), "metadata stays out of the text");
        assert_eq!(doc.tables().count(), 1);
    }
}
