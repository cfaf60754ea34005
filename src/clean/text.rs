//! Plain text into a [`Document`]: one paragraph per non-empty line; runs of lines holding tab- or
//! pipe-separated cells become table rows.

use crate::document::{Block, Document, Table};

/// Reads a report kept as plain text (a `.txt` file, or a PDF's text layer).
pub fn document_from_text(text: &str) -> Document {
    let mut blocks = Vec::new();
    let mut rows: Vec<Vec<String>> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let cells: Vec<String> = line.split(['\t', '|']).map(|c| c.trim().to_owned()).collect();
        if cells.len() > 1 {
            rows.push(cells);
            continue;
        }
        if !rows.is_empty() {
            blocks.push(Block::Table(Table { rows: std::mem::take(&mut rows) }));
        }
        blocks.push(Block::Paragraph(line.to_owned()));
    }
    if !rows.is_empty() {
        blocks.push(Block::Table(Table { rows }));
    }
    Document { blocks, ..Document::default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_paragraphs_and_cell_runs_tables() {
        let doc = document_from_text("一、总体情况\n\n本年度收到申请1件。\n规章\t0\t0\n文件|2|1\n结束");
        assert_eq!(doc.blocks.len(), 4);
        assert_eq!(doc.blocks[0], Block::Paragraph("一、总体情况".into()));
        assert_eq!(doc.tables().next().map(|t| t.rows.len()), Some(2));
    }
}
