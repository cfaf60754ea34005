//! DOCX attachments: `word/document.xml` read with quick-xml into paragraphs, headings (by paragraph
//! style) and tables, `w:gridSpan` and `w:vMerge` expanded into full grids. A table nested in a cell
//! becomes that cell's text. The zip is read with a size cap, so a zip bomb is an error.

use std::io::Read;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::grid::{self, Cell};
use super::{meta, table, CleanError};
use crate::document::{Block, Document};

/// The largest `document.xml` read (decompressed).
const MAX_XML_BYTES: u64 = 64 * 1024 * 1024;

/// Cleans a DOCX file; `input` names it in errors.
pub(crate) fn clean(body: &[u8], input: &str) -> Result<Document, CleanError> {
    let corrupt = |detail: String| CleanError::Corrupt { input: input.to_owned(), format: "DOCX", detail };
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(body)).map_err(|e| corrupt(e.to_string()))?;
    let mut xml = Vec::new();
    archive
        .by_name("word/document.xml")
        .map_err(|e| corrupt(format!("word/document.xml: {e}")))?
        .take(MAX_XML_BYTES)
        .read_to_end(&mut xml)
        .map_err(|e| corrupt(format!("word/document.xml: {e}")))?;
    let mut blocks = read_body(&xml).map_err(corrupt)?;
    let title = meta::take_leading_title(&mut blocks);
    Ok(Document { title, blocks, ..Document::default() })
}

/// A table being read: finished rows, the open row, the open cell.
#[derive(Default)]
struct TableBuild {
    rows: Vec<Vec<Cell>>,
    row: Vec<Cell>,
    cell: Option<(Vec<String>, Cell)>,
}

#[derive(Default)]
struct BodyReader {
    blocks: Vec<Block>,
    tables: Vec<TableBuild>,
    /// Open paragraphs (a text box puts paragraphs inside a paragraph): text, and whether the
    /// paragraph style is a heading.
    paragraphs: Vec<(String, bool)>,
}

fn read_body(xml: &[u8]) -> Result<Vec<Block>, String> {
    let mut reader = Reader::from_reader(xml);
    let mut state = BodyReader::default();
    let mut buf = Vec::new();
    let mut in_text = false;
    // Depth inside `mc:Fallback`, the legacy copy of a text box whose content `mc:Choice` holds.
    let mut fallback = 0usize;
    loop {
        let event =
            reader.read_event_into(&mut buf).map_err(|e| format!("XML at byte {}: {e}", reader.error_position()))?;
        match event {
            Event::Start(e) if fallback > 0 || e.local_name().as_ref() == b"Fallback" => fallback += 1,
            Event::End(_) if fallback > 0 => fallback -= 1,
            _ if fallback > 0 => {}
            Event::Start(e) => {
                in_text = e.local_name().as_ref() == b"t";
                state.open(&e);
            }
            Event::Empty(e) => state.empty(&e),
            Event::Text(t) if in_text => {
                let text = t.unescape().map_err(|e| format!("XML text: {e}"))?;
                state.push_text(&text);
            }
            Event::End(e) => {
                in_text = false;
                state.close(e.local_name().as_ref());
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(state.blocks)
}

fn val(e: &BytesStart<'_>) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == b"val")
        .map(|a| String::from_utf8_lossy(&a.value).into_owned())
}

impl BodyReader {
    fn open(&mut self, e: &BytesStart<'_>) {
        match e.local_name().as_ref() {
            b"tbl" => self.tables.push(TableBuild::default()),
            b"tr" => {
                if let Some(t) = self.tables.last_mut() {
                    t.row.clear();
                }
            }
            b"tc" => {
                if let Some(t) = self.tables.last_mut() {
                    t.cell = Some((Vec::new(), Cell::new(String::new())));
                }
            }
            b"p" => self.paragraphs.push((String::new(), false)),
            _ => self.empty(e),
        }
    }

    fn push_text(&mut self, text: &str) {
        if let Some((paragraph, _)) = self.paragraphs.last_mut() {
            paragraph.push_str(text);
        }
    }

    /// Elements that matter even when empty: spans, merges, breaks, tabs, styles.
    fn empty(&mut self, e: &BytesStart<'_>) {
        match e.local_name().as_ref() {
            b"gridSpan" => {
                if let Some((_, cell)) = self.tables.last_mut().and_then(|t| t.cell.as_mut()) {
                    cell.colspan = val(e).and_then(|v| v.trim().parse().ok()).unwrap_or(1);
                }
            }
            b"vMerge" => {
                if let Some((_, cell)) = self.tables.last_mut().and_then(|t| t.cell.as_mut()) {
                    cell.continues_above = val(e).as_deref() != Some("restart");
                }
            }
            b"gridBefore" => {
                let skipped: usize = val(e).and_then(|v| v.trim().parse().ok()).unwrap_or(0);
                if let (Some(t), 1..) = (self.tables.last_mut(), skipped) {
                    t.row.push(Cell { colspan: skipped, ..Cell::new(String::new()) });
                }
            }
            b"pStyle" => {
                let style = val(e).unwrap_or_default().to_lowercase();
                let heading = style.starts_with("heading")
                    || style.starts_with("title")
                    || style.contains("标题")
                    || (style.len() == 1 && style.chars().all(|c| c.is_ascii_digit()));
                if let Some(top) = self.paragraphs.last_mut() {
                    top.1 = heading;
                }
            }
            b"tab" => self.push_text(" "),
            b"br" | b"cr" => self.push_text("\n"),
            _ => {}
        }
    }

    fn close(&mut self, name: &[u8]) {
        match name {
            b"p" => self.end_paragraph(),
            b"tc" => {
                if let Some(t) = self.tables.last_mut() {
                    if let Some((lines, mut cell)) = t.cell.take() {
                        cell.text = table::join_lines(lines.into_iter());
                        t.row.push(cell);
                    }
                }
            }
            b"tr" => {
                if let Some(t) = self.tables.last_mut() {
                    let row = std::mem::take(&mut t.row);
                    t.rows.push(row);
                }
            }
            b"tbl" => self.end_table(),
            _ => {}
        }
    }

    fn end_paragraph(&mut self) {
        let Some((paragraph, heading)) = self.paragraphs.pop() else { return };
        let lines: Vec<String> = paragraph.split('\n').map(meta::reflow).filter(|l| !l.is_empty()).collect();
        if let Some((cell_lines, _)) = self.tables.last_mut().and_then(|t| t.cell.as_mut()) {
            cell_lines.extend(lines);
            return;
        }
        for line in lines {
            self.blocks.push(if heading { Block::Heading(line) } else { Block::Paragraph(line) });
        }
    }

    fn end_table(&mut self) {
        let Some(mut build) = self.tables.pop() else { return };
        if !build.row.is_empty() {
            build.rows.push(std::mem::take(&mut build.row));
        }
        let mut table = grid::expand(build.rows);
        table.rows.retain(|row| row.iter().any(|c| !c.is_empty()));
        match self.tables.last_mut().and_then(|t| t.cell.as_mut()) {
            Some((cell_lines, _)) => cell_lines.extend(table.rows.iter().map(|r| r.join(" "))),
            None if !table.rows.is_empty() => self.blocks.push(Block::Table(table)),
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    pub(crate) fn docx(document_xml: &str) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default();
        zip.start_file("word/document.xml", options).unwrap();
        zip.write_all(document_xml.as_bytes()).unwrap();
        zip.finish().unwrap().into_inner()
    }

    #[test]
    fn grid_span_and_vertical_merge_are_expanded() {
        let xml = r#"<w:document xmlns:w="w"><w:body>
            <w:p><w:r><w:t>某局2022年政府信息公开工作年度报告</w:t></w:r></w:p>
            <w:p><w:pPr><w:pStyle w:val="2"/></w:pPr><w:r><w:t>一、总体情况</w:t></w:r></w:p>
            <w:p><w:r><w:t>收到申请</w:t></w:r><w:r><w:t xml:space="preserve"> 1 件&amp;。</w:t></w:r></w:p>
            <w:tbl>
              <w:tr><w:tc><w:tcPr><w:vMerge w:val="restart"/></w:tcPr><w:p><w:r><w:t>行政</w:t></w:r><w:r><w:br/><w:t>复议</w:t></w:r></w:p></w:tc>
                    <w:tc><w:tcPr><w:gridSpan w:val="2"/></w:tcPr><w:p><w:r><w:t>结果</w:t></w:r></w:p></w:tc></w:tr>
              <w:tr><w:tc><w:tcPr><w:vMerge/></w:tcPr><w:p/></w:tc>
                    <w:tc><w:p><w:r><w:t>0</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>1</w:t></w:r></w:p></w:tc></w:tr>
            </w:tbl></w:body></w:document>"#;
        let doc = clean(&docx(xml), "t.docx").unwrap();
        assert_eq!(doc.title.as_deref(), Some("某局2022年政府信息公开工作年度报告"));
        assert_eq!(doc.blocks[0], Block::Heading("一、总体情况".into()));
        assert_eq!(doc.blocks[1], Block::Paragraph("收到申请 1 件&。".into()));
        let rows = &doc.tables().next().unwrap().rows;
        assert_eq!(rows, &[vec!["行政复议", "结果", "结果"], vec!["行政复议", "0", "1"]]);
    }

    #[test]
    fn text_boxes_are_read_once_and_keep_the_paragraph_around_them() {
        let xml = r#"<w:document xmlns:w="w" xmlns:mc="mc"><w:body><w:p><w:r><w:t>正文开头，</w:t></w:r>
            <w:r><mc:AlternateContent><mc:Choice><w:drawing><w:txbxContent><w:p><w:r><w:t>文本框</w:t></w:r></w:p></w:txbxContent></w:drawing></mc:Choice>
            <mc:Fallback><w:pict><w:txbxContent><w:p><w:r><w:t>文本框</w:t></w:r></w:p></w:txbxContent></w:pict></mc:Fallback></mc:AlternateContent></w:r>
            <w:r><w:t>正文结尾。</w:t></w:r></w:p></w:body></w:document>"#;
        let doc = clean(&docx(xml), "t.docx").unwrap();
        assert_eq!(doc.blocks, [Block::Paragraph("文本框".into()), Block::Paragraph("正文开头，正文结尾。".into())]);
    }

    #[test]
    fn broken_files_are_errors_naming_the_input() {
        let err = clean(b"PK\x03\x04garbage", "a.docx").unwrap_err();
        assert!(err.to_string().contains("a.docx"), "{err}");
        let err = clean(&docx("<w:document><w:body><w:p>"), "b.docx");
        assert!(err.is_ok_and(|d| d.blocks.is_empty()));
        let err = clean(&docx("<w:document><w:body></w:p></w:body>"), "c.docx").unwrap_err();
        assert!(err.to_string().contains("c.docx"), "{err}");
    }
}
