//! DOC/WPS attachments (Word 97–2003 binary) cleaned into Documents: documents built here byte by
//! byte (FIB, CP1252 and UTF-16 pieces, piece table, FKP pages, sprmPHugePapx), so the format's
//! reader is tested without LibreOffice; LibreOffice-made fixtures (fields, tracked changes, breaks,
//! headings, merged cells; the synthetic report parsed back to its numbers); errors; hostile bytes.
//!
//! Fixtures under `tests/fixtures/clean/` are our own content, converted by LibreOffice:
//! `cargo test --test clean_doc -- --ignored` writes their sources into `$NIANBAO_DOC_SOURCES`, then
//! `soffice --headless --convert-to doc --outdir tests/fixtures/clean $NIANBAO_DOC_SOURCES/*.docx`. The
//! whole synthetic report goes HTML → DOCX → DOC: first
//! `soffice --headless --convert-to docx:"MS Word 2007 XML" sim_full.html`, then the DOCX as above.

#[path = "support/sim.rs"]
mod sim;

use std::io::Write;

use nianbao::clean::{clean_bytes, CleanError};
use nianbao::document::{Block, Document};
use proptest::prelude::*;
use sim::SimReport;

/// The synthetic report of the fixture `sim_report.doc` (its review table).
fn sim_report() -> SimReport {
    SimReport::new("某市统计局", 2022, 11)
}

/// The synthetic report of the fixture `sim_full.doc` (the whole report).
fn sim_full_report() -> SimReport {
    SimReport::new("某县人民政府办公室", 2021, 5)
}

/// A DOCX holding `body` (WordprocessingML body content).
fn docx(body: &str) -> Vec<u8> {
    let document = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\
         <w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\" \
         xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\"><w:body>{body}</w:body></w:document>"
    );
    let content_types = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\
        <Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
        <Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>\
        <Default Extension=\"xml\" ContentType=\"application/xml\"/>\
        <Override PartName=\"/word/document.xml\" \
        ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/>\
        <Override PartName=\"/word/styles.xml\" \
        ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml\"/></Types>";
    let rels = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\
        <Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
        <Relationship Id=\"rId1\" \
        Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" \
        Target=\"word/document.xml\"/></Relationships>";
    let document_rels = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\
        <Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
        <Relationship Id=\"rId1\" \
        Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles\" \
        Target=\"styles.xml\"/></Relationships>";
    let styles = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\
        <w:styles xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\">\
        <w:style w:type=\"paragraph\" w:default=\"1\" w:styleId=\"Normal\"><w:name w:val=\"Normal\"/></w:style>\
        <w:style w:type=\"paragraph\" w:styleId=\"Heading1\"><w:name w:val=\"heading 1\"/><w:basedOn w:val=\"Normal\"/></w:style>\
        <w:style w:type=\"paragraph\" w:styleId=\"Heading2\"><w:name w:val=\"heading 2\"/><w:basedOn w:val=\"Normal\"/></w:style>\
        </w:styles>";
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    let parts = [
        ("[Content_Types].xml", content_types),
        ("_rels/.rels", rels),
        ("word/_rels/document.xml.rels", document_rels),
        ("word/styles.xml", styles),
        ("word/document.xml", document.as_str()),
    ];
    for (name, part) in parts {
        zip.start_file(name, options).unwrap();
        zip.write_all(part.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn p(text: &str) -> String {
    format!("<w:p><w:r><w:t xml:space=\"preserve\">{text}</w:t></w:r></w:p>")
}

/// A paragraph in a heading style (`Heading1`, `Heading2`).
fn heading(style: &str, text: &str) -> String {
    format!("<w:p><w:pPr><w:pStyle w:val=\"{style}\"/></w:pPr><w:r><w:t>{text}</w:t></w:r></w:p>")
}

/// A cell: its text, the columns it spans, and its vertical merge (`Some(true)` starts one,
/// `Some(false)` continues the one above).
fn tc(text: &str, span: usize, merge: Option<bool>) -> String {
    let span = if span > 1 { format!("<w:gridSpan w:val=\"{span}\"/>") } else { String::new() };
    let merge = match merge {
        Some(true) => "<w:vMerge w:val=\"restart\"/>",
        Some(false) => "<w:vMerge/>",
        None => "",
    };
    let content = if text.is_empty() { "<w:p/>".to_owned() } else { p(text) };
    format!("<w:tc><w:tcPr>{span}{merge}</w:tcPr>{content}</w:tc>")
}

fn table(grid_columns: usize, rows: &[Vec<String>]) -> String {
    let grid: String = (0..grid_columns).map(|_| "<w:gridCol w:w=\"1200\"/>").collect();
    let rows: String = rows.iter().map(|cells| format!("<w:tr>{}</w:tr>", cells.concat())).collect();
    format!("<w:tbl><w:tblPr><w:tblW w:w=\"0\" w:type=\"auto\"/></w:tblPr><w:tblGrid>{grid}</w:tblGrid>{rows}</w:tbl>")
}

/// `sim_report.docx`: the synthetic report's narrative and its review table (two header rows of
/// merged cells, then the figures).
fn sim_report_docx() -> Vec<u8> {
    let report = sim_report();
    let mut body = p(&report.title());
    body.push_str(&p("一、总体情况"));
    body.push_str(&p(&format!("本年度共收到政府信息公开申请{}件，均已按期答复。", report.received())));
    body.push_str(&p("四、政府信息公开行政复议、行政诉讼情况"));
    let mut rows = vec![
        vec![tc("行政复议", 5, Some(true)), tc("行政诉讼", 10, None)],
        vec![tc("", 5, Some(false)), tc("未经复议直接起诉", 5, None), tc("复议后起诉", 5, None)],
    ];
    let labels = ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"];
    rows.push((0..3).flat_map(|_| labels.iter().map(|l| tc(l, 1, None))).collect());
    rows.push(report.review.iter().flatten().map(|v| tc(&v.to_string(), 1, None)).collect());
    body.push_str(&table(15, &rows));
    body.push_str(&p("六、其他需要报告的事项"));
    body.push_str(&p("本年度未收取信息处理费。"));
    docx(&body)
}

/// `layout.docx`: paragraphs with a line break, a hyperlink field, a tracked change (a deleted and an
/// inserted figure), a page break, and a table with
/// merges in both directions and empty cells.
fn layout_docx() -> Vec<u8> {
    let mut body = p("某区政务服务管理局2023年政府信息公开工作年度报告");
    body.push_str(&heading("Heading1", "一、总体情况"));
    body.push_str(
        "<w:p><w:r><w:t>第一行</w:t></w:r><w:r><w:br/><w:t>第二行</w:t></w:r></w:p>\
         <w:p><w:r><w:t xml:space=\"preserve\">详见</w:t></w:r>\
         <w:r><w:fldChar w:fldCharType=\"begin\"/></w:r><w:r><w:instrText xml:space=\"preserve\"> HYPERLINK \"http://127.0.0.1/nb.html\" </w:instrText></w:r>\
         <w:r><w:fldChar w:fldCharType=\"separate\"/></w:r><w:r><w:t>门户网站</w:t></w:r><w:r><w:fldChar w:fldCharType=\"end\"/></w:r>\
         <w:r><w:t>。</w:t></w:r></w:p>\
         <w:p><w:r><w:t>本年新收申请</w:t></w:r>\
         <w:del w:id=\"1\" w:author=\"审核\" w:date=\"2024-01-10T09:00:00Z\"><w:r><w:delText>5</w:delText></w:r></w:del>\
         <w:ins w:id=\"2\" w:author=\"审核\" w:date=\"2024-01-10T09:00:00Z\"><w:r><w:t>6</w:t></w:r></w:ins>\
         <w:r><w:t>件。</w:t></w:r></w:p>\
         <w:p><w:r><w:br w:type=\"page\"/></w:r></w:p>",
    );
    body.push_str(&heading("Heading2", "二、主动公开政府信息情况"));
    let rows = vec![
        vec![tc("信息内容", 1, Some(true)), tc("本年新制作数量", 2, None), tc("现行有效件数", 1, None)],
        vec![tc("", 1, Some(false)), tc("规章", 1, None), tc("规范性文件", 1, None), tc("", 1, None)],
        vec![tc("数量", 1, None), tc("3", 1, None), tc("", 1, None), tc("12", 1, None)],
        vec![tc("合计", 1, None), tc("15", 3, None)],
    ];
    body.push_str(&table(4, &rows));
    body.push_str(&p("三、结语：表格之后的段落。"));
    docx(&body)
}

/// Writes the sources of the committed `.doc` fixtures (see the module comment).
#[test]
#[ignore = "regenerates fixture sources; needs NIANBAO_DOC_SOURCES"]
fn write_fixture_sources() {
    let dir = std::path::PathBuf::from(std::env::var("NIANBAO_DOC_SOURCES").unwrap());
    std::fs::write(dir.join("sim_report.docx"), sim_report_docx()).unwrap();
    std::fs::write(dir.join("layout.docx"), layout_docx()).unwrap();
    let report = sim_full_report();
    let html = format!(
        "<html><head><meta charset=\"utf-8\"></head><body><p>{}</p>{}</body></html>",
        report.title(),
        report.body_html()
    );
    std::fs::write(dir.join("sim_full.html"), html).unwrap();
}

// ---- a Word 97 document built from raw bytes: FIB, pieces, piece table, paragraph properties ----

/// Where the main text starts in the WordDocument stream (after the FIB).
const TEXT_AT: usize = 1024;

/// The streams of a hand-built document, before they are packed into a compound file.
#[derive(Debug, Clone)]
struct RawDoc {
    word: Vec<u8>,
    table: Vec<u8>,
    /// The table stream's name: `1Table` (the FIB's flag says so) or `0Table`.
    table_name: &'static str,
    data: Option<Vec<u8>>,
}

impl RawDoc {
    /// A document of `pieces` (text, stored compressed as CP1252) whose first `ccp_text` characters
    /// are the main text. `marks[i]` is the grpprl (sprms) of the paragraph ended by the i-th `\r` or
    /// `\x07`; without `marks` the document has no paragraph properties.
    fn new(pieces: &[(&str, bool)], ccp_text: u32, marks: Option<&[Vec<u8>]>) -> RawDoc {
        let mut word = vec![0u8; TEXT_AT];
        let mut plc_cps = vec![0u32];
        let mut pcds = Vec::new();
        let mut marks_end = Vec::new();
        for (text, compressed) in pieces {
            let fc = word.len() as u32;
            pcds.push(if *compressed { (fc * 2) | 0x4000_0000 } else { fc });
            for c in text.chars() {
                if *compressed {
                    let mut utf8 = [0; 4];
                    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(c.encode_utf8(&mut utf8));
                    assert!(!unmappable, "{c:?} is not CP1252");
                    word.extend_from_slice(&bytes);
                } else {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        word.extend_from_slice(&unit.to_le_bytes());
                    }
                }
                if matches!(c, '\r' | '\x07') {
                    marks_end.push(word.len() as u32);
                }
            }
            plc_cps.push(plc_cps.last().unwrap() + text.chars().count() as u32);
        }
        let text_end = word.len() as u32;
        let mut table = vec![0x02];
        let plc: Vec<u8> = plc_cps
            .iter()
            .flat_map(|cp| cp.to_le_bytes())
            .chain(pcds.iter().flat_map(|fc| [&[0u8, 0][..], &fc.to_le_bytes(), &[0, 0]].concat()))
            .collect();
        table.extend((plc.len() as u32).to_le_bytes());
        table.extend(plc);
        let clx = (0u32, table.len() as u32);
        let mut papx_bins = (0u32, 0u32);
        if let Some(marks) = marks {
            word.resize(word.len().div_ceil(512) * 512, 0);
            let page = word.len() / 512;
            word.extend(fkp(TEXT_AT as u32, &marks_end, marks));
            papx_bins = (table.len() as u32, 12);
            for v in [TEXT_AT as u32, text_end, page as u32] {
                table.extend(v.to_le_bytes());
            }
        }
        write_fib(&mut word, 0x0200, ccp_text, clx, papx_bins);
        RawDoc { word, table, table_name: "1Table", data: None }
    }

    /// The compound file holding the streams.
    fn pack(&self) -> Vec<u8> {
        let mut file = cfb::CompoundFile::create(std::io::Cursor::new(Vec::new())).unwrap();
        let mut streams = vec![("/WordDocument", &self.word), (self.table_name, &self.table)];
        if let Some(data) = &self.data {
            streams.push(("/Data", data));
        }
        for (name, bytes) in streams {
            file.create_stream(name).unwrap().write_all(bytes).unwrap();
        }
        file.flush().unwrap();
        file.into_inner().into_inner()
    }
}

/// A FIB for Word 97: signature, version, flags, ccpText, and the CLX and PlcBtePapx in the table stream.
fn write_fib(word: &mut [u8], flags: u16, ccp_text: u32, clx: (u32, u32), papx_bins: (u32, u32)) {
    let mut put = |at: usize, bytes: &[u8]| word[at..at + bytes.len()].copy_from_slice(bytes);
    put(0, &0xA5ECu16.to_le_bytes());
    put(2, &0x00C1u16.to_le_bytes());
    put(0x0A, &flags.to_le_bytes());
    put(32, &14u16.to_le_bytes());
    put(62, &22u16.to_le_bytes());
    put(76, &ccp_text.to_le_bytes());
    put(152, &93u16.to_le_bytes());
    for (index, (fc, lcb)) in [(13, papx_bins), (33, clx)] {
        put(154 + 8 * index, &fc.to_le_bytes());
        put(158 + 8 * index, &lcb.to_le_bytes());
    }
}

/// One FKP page of paragraph properties: a run per paragraph (ending after its mark's bytes at
/// `marks_end[i]`), `marks[i]` for the i-th.
fn fkp(first_fc: u32, marks_end: &[u32], marks: &[Vec<u8>]) -> Vec<u8> {
    let mut page = vec![0u8; 512];
    let runs = marks_end.len();
    let mut fcs = vec![first_fc];
    fcs.extend(marks_end);
    for (i, fc) in fcs.iter().enumerate() {
        page[4 * i..4 * i + 4].copy_from_slice(&fc.to_le_bytes());
    }
    let mut free = 511;
    for i in 0..runs {
        let grpprl = [&[0u8, 0][..], marks.get(i).map_or(&[][..], Vec::as_slice)].concat();
        let padded = grpprl.len() + grpprl.len() % 2;
        free = (free - padded - 2) & !1;
        page[free] = 0;
        page[free + 1] = (padded / 2) as u8;
        page[free + 2..free + 2 + grpprl.len()].copy_from_slice(&grpprl);
        page[4 * (runs + 1) + 13 * i] = (free / 2) as u8;
    }
    assert!(free > 4 * (runs + 1) + 13 * runs, "the test's paragraphs fit one FKP page");
    page[511] = runs as u8;
    page
}

const IN_TABLE: [u8; 3] = [0x16, 0x24, 1];
const ROW_END: [u8; 3] = [0x17, 0x24, 1];

/// A row mark's sprms: in a table, the row end, and sprmTDefTable with `edges` (twips) and per-cell
/// TC80 flags (0x20 merged vertically, 0x40 the merge's first cell, 0x02 merged into the left cell).
fn row_mark(edges: &[i16], flags: &[u16]) -> Vec<u8> {
    let mut operand = vec![flags.len() as u8];
    operand.extend(edges.iter().flat_map(|e| e.to_le_bytes()));
    for f in flags {
        operand.extend(f.to_le_bytes());
        operand.extend([0u8; 18]);
    }
    let mut sprms = [&IN_TABLE[..], &ROW_END, &[0x08, 0xD6]].concat();
    sprms.extend(((operand.len() + 1) as u16).to_le_bytes());
    sprms.extend(operand);
    sprms
}

fn clean_raw(doc: &RawDoc, name: &str) -> Result<Document, CleanError> {
    clean_bytes(&doc.pack(), Some("application/msword"), Some(name), None)
}

fn paragraphs(doc: &Document) -> Vec<&str> {
    doc.blocks
        .iter()
        .filter_map(|b| match b {
            Block::Paragraph(p) | Block::Heading(p) => Some(p.as_str()),
            Block::Table(_) => None,
        })
        .collect()
}

fn tables(doc: &Document) -> Vec<Vec<Vec<String>>> {
    doc.tables().map(|t| t.rows.clone()).collect()
}

fn grid(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter().map(|r| r.iter().map(|c| c.to_string()).collect()).collect()
}

#[test]
fn compressed_and_utf16_pieces_give_the_main_text_with_field_results_only() {
    let pieces = [
        ("某局2022年政府信息公开工作年度报告\r一、总体情况\r", false),
        ("Caf\u{e9} open\tdata, see \x13 HYPERLINK \"x\" \x14the portal\x15.\x0bNext line\x01\r", true),
        ("共收到申请\x13 = 3 \x14\x13 NESTED \x14三\x15\x15件。\x0c第二页\r页眉不在正文\r", false),
    ];
    let main: u32 =
        pieces.iter().map(|(t, _)| t.chars().count() as u32).sum::<u32>() - "页眉不在正文\r".chars().count() as u32;
    let doc = clean_raw(&RawDoc::new(&pieces, main, None), "2022年报.doc").unwrap();
    assert_eq!(doc.title.as_deref(), Some("某局2022年政府信息公开工作年度报告"));
    assert_eq!(
        paragraphs(&doc),
        ["一、总体情况", "Café open data, see the portal.", "Next line", "共收到申请三件。", "第二页"]
    );
    assert!(!doc.text().contains("页眉"), "text past ccpText (headers, notes) is not the body");
}

#[test]
fn a_table_without_paragraph_properties_ends_rows_at_a_doubled_cell_mark() {
    let pieces = [("表前\r甲\x07乙\x07\x07丙\x07丁\x07\x07表后\r", false)];
    let doc = clean_raw(&RawDoc::new(&pieces, 17, None), "t.doc").unwrap();
    assert_eq!(paragraphs(&doc), ["表前", "表后"]);
    assert_eq!(tables(&doc), [grid(&[&["甲", "乙"], &["丙", "丁"]])]);
}

/// A table with merges both ways, an empty cell and a cell of two paragraphs, its rows described
/// by sprmTDefTable (the last one through sprmPHugePapx in the Data stream).
fn merged_table_doc() -> RawDoc {
    let text = "标题段\r项目\x07数量\x07\x07\x07甲\x07乙\x07\x07合计\x07\x07五\r件\x07\x07结语\r";
    let mut marks = vec![Vec::new()];
    marks.extend([IN_TABLE.to_vec(), IN_TABLE.to_vec(), row_mark(&[0, 1000, 3000], &[0x60, 0])]);
    marks.extend([IN_TABLE.to_vec(), IN_TABLE.to_vec(), IN_TABLE.to_vec()]);
    marks.push(row_mark(&[0, 1000, 2000, 3000], &[0x20, 0, 0]));
    marks.extend([IN_TABLE.to_vec(), IN_TABLE.to_vec(), IN_TABLE.to_vec(), IN_TABLE.to_vec()]);
    let last_row = row_mark(&[0, 1000, 2010, 3000], &[0, 0, 0]);
    let mut huge = (last_row.len() as u16).to_le_bytes().to_vec();
    huge.extend(&last_row);
    marks.push([&[0x46, 0x66][..], &0u32.to_le_bytes()].concat());
    marks.push(Vec::new());
    let mut doc = RawDoc::new(&[(text, false)], text.chars().count() as u32, Some(&marks));
    doc.data = Some(huge);
    doc
}

#[test]
fn row_layouts_give_spans_merges_and_empty_cells_their_place_in_the_grid() {
    let doc = clean_raw(&merged_table_doc(), "merged.doc").unwrap();
    assert_eq!(paragraphs(&doc), ["标题段", "结语"]);
    assert_eq!(tables(&doc), [grid(&[&["项目", "数量", "数量"], &["项目", "甲", "乙"], &["合计", "", "五件"]])]);
}

#[test]
fn a_wps_file_in_the_word_format_cleans_like_a_doc() {
    let raw = merged_table_doc();
    let as_doc = clean_raw(&raw, "a.doc").unwrap();
    let as_wps = clean_bytes(&raw.pack(), None, Some("2023年报.wps"), None).unwrap();
    assert_eq!(as_doc, as_wps);
}

// ---- errors ----

#[test]
fn encrypted_old_and_broken_documents_are_errors_naming_the_input() {
    let pieces = [("某局2022年政府信息公开工作年度报告\r", false)];
    let mut encrypted = RawDoc::new(&pieces, 19, None);
    encrypted.word[0x0B] |= 0x01;
    let err = clean_raw(&encrypted, "加密.doc").unwrap_err();
    assert!(matches!(err, CleanError::Unsupported { .. }), "{err:?}");
    assert!(err.to_string().contains("加密.doc") && err.to_string().contains("encrypted"), "{err}");

    let mut word95 = RawDoc::new(&pieces, 19, None);
    word95.word[2..4].copy_from_slice(&0x0068u16.to_le_bytes());
    let err = clean_raw(&word95, "old.doc").unwrap_err();
    assert!(err.to_string().contains("old.doc") && err.to_string().contains("Word 6.0/95"), "{err}");

    let mut no_pieces = RawDoc::new(&pieces, 19, None);
    no_pieces.word[422..426].copy_from_slice(&0u32.to_le_bytes());
    let err = clean_raw(&no_pieces, "np.doc").unwrap_err();
    assert!(matches!(err, CleanError::Corrupt { format: "DOC", .. }), "{err:?}");
    assert!(err.to_string().contains("np.doc") && err.to_string().contains("no piece table"), "{err}");

    let mut wrong_stream = RawDoc::new(&pieces, 19, None);
    wrong_stream.table_name = "/0Table";
    let err = clean_raw(&wrong_stream, "ws.doc").unwrap_err();
    assert!(err.to_string().contains("ws.doc") && err.to_string().contains("1Table"), "{err}");

    let mut beyond = RawDoc::new(&pieces, 19, None);
    beyond.word.truncate(TEXT_AT + 10);
    let err = clean_raw(&beyond, "short.doc").unwrap_err();
    assert!(err.to_string().contains("short.doc") && err.to_string().contains("beyond"), "{err}");
}

/// A compound file with the given streams.
fn compound(streams: &[(&str, &[u8])]) -> Vec<u8> {
    let mut file = cfb::CompoundFile::create(std::io::Cursor::new(Vec::new())).unwrap();
    for (name, bytes) in streams {
        file.create_stream(name).unwrap().write_all(bytes).unwrap();
    }
    file.flush().unwrap();
    file.into_inner().into_inner()
}

#[test]
fn old_wps_files_stay_unsupported_and_workbooks_go_to_the_sheet_reader() {
    let wps = compound(&[("/WpsContent", b"kingsoft"), ("/Summary", b"x")]);
    let err = clean_bytes(&wps, None, Some("报告.wps"), None).unwrap_err();
    assert!(matches!(err, CleanError::Unsupported { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("报告.wps") && message.contains("Kingsoft") && message.contains("WordDocument"), "{err}");

    let err = clean_bytes(&wps, None, Some("报告.doc"), None).unwrap_err();
    assert!(matches!(err, CleanError::Unsupported { .. }) && err.to_string().contains("报告.doc"), "{err:?}");

    let workbook = compound(&[("/Workbook", b"not really BIFF")]);
    let err = clean_bytes(&workbook, None, Some("报表.xls"), None).unwrap_err();
    assert!(matches!(err, CleanError::Corrupt { format: "XLS", .. }), "the workbook reader answered: {err:?}");
}

// ---- LibreOffice-made fixtures ----

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/clean/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn clean_fixture(name: &str) -> Document {
    let path = std::path::PathBuf::from(format!("{}/tests/fixtures/clean/{name}", env!("CARGO_MANIFEST_DIR")));
    nianbao::clean::clean_file(&path).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn libreoffice_doc_paragraphs_fields_tracked_changes_breaks_and_merged_table() {
    let doc = clean_fixture("layout.doc");
    assert_eq!(doc.title.as_deref(), Some("某区政务服务管理局2023年政府信息公开工作年度报告"));
    assert_eq!(
        paragraphs(&doc),
        [
            "一、总体情况",
            "第一行",
            "第二行",
            "详见门户网站。",
            "本年新收申请6件。",
            "二、主动公开政府信息情况",
            "三、结语：表格之后的段落。"
        ]
    );
    assert_eq!(doc.blocks[0], Block::Heading("一、总体情况".into()), "a heading style is a heading");
    assert_eq!(doc.blocks[1], Block::Paragraph("第一行".into()));
    assert!(matches!(doc.blocks[6], Block::Table(_)), "the table stands between its paragraphs: {:?}", doc.blocks);
    assert_eq!(
        tables(&doc),
        [grid(&[
            &["信息内容", "本年新制作数量", "本年新制作数量", "现行有效件数"],
            &["信息内容", "规章", "规范性文件", ""],
            &["数量", "3", "", "12"],
            &["合计", "15", "15", "15"],
        ])]
    );
    assert!(!doc.text().contains("HYPERLINK"), "field codes are dropped");
}

#[test]
fn libreoffice_doc_of_the_review_table_matches_the_synthetic_report() {
    let report = sim_report();
    let doc = clean_fixture("sim_report.doc");
    assert_eq!(doc.title, Some(report.title()));
    assert!(paragraphs(&doc)
        .contains(&format!("本年度共收到政府信息公开申请{}件，均已按期答复。", report.received()).as_str()));
    let rows = &tables(&doc)[0];
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0][..6], ["行政复议", "行政复议", "行政复议", "行政复议", "行政复议", "行政诉讼"]);
    assert_eq!(rows[1][4..6], ["行政复议", "未经复议直接起诉"]);
    let figures: Vec<String> = report.review.iter().flatten().map(u32::to_string).collect();
    assert_eq!(rows[3], figures);
}

#[test]
fn the_synthetic_report_round_tripped_through_libreoffice_parses_to_the_same_numbers() {
    let sim = sim_full_report();
    let doc = clean_fixture("sim_full.doc");
    let r = nianbao::parser::parse_document(&doc);
    assert_eq!(r.agency.as_deref(), Some("某县人民政府办公室"));
    assert_eq!((r.year, r.format), (Some(2021), Some(nianbao::parser::Format::Layout2021)));
    let rows = &r.applications.as_ref().expect("table 三 is read").rows;
    for (i, want) in sim.applications.iter().enumerate() {
        assert_eq!(rows.0[i], want.map(|v| Some(u64::from(v))), "row {i}");
    }
    let review = r.review_litigation.as_ref().expect("table 四 is read");
    for (group, want) in review.groups().iter().zip(sim.review) {
        assert_eq!(group.fields(), want.map(|v| Some(u64::from(v))));
    }
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["active_disclosure"]["licensing"]["decisions"], sim.licensing);
    assert_eq!(v["active_disclosure"]["normative_documents"]["in_force"], sim.documents[1][2]);
    assert_eq!(v["active_disclosure"]["fees"]["amount_wan_yuan"], sim.fees_wan_yuan);
    let failed: Vec<&str> = r.checks.iter().filter(|c| !c.ok).map(|c| c.rule.as_str()).collect();
    assert!(failed.is_empty(), "{failed:?}");
}

#[test]
fn the_doc_cleans_to_what_its_docx_source_cleans_to() {
    for (docx, doc) in [(layout_docx(), "layout.doc"), (sim_report_docx(), "sim_report.doc")] {
        let from_docx = clean_bytes(&docx, None, Some("source.docx"), None).unwrap();
        assert_eq!(clean_fixture(doc), from_docx, "{doc}");
    }
}

// ---- hostile input ----

/// The streams of a compound file, by name.
fn streams_of(file: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut cfb = cfb::CompoundFile::open(std::io::Cursor::new(file)).unwrap();
    let names: Vec<String> =
        cfb.walk().filter(|e| e.is_stream()).map(|e| e.path().to_string_lossy().into_owned()).collect();
    names
        .into_iter()
        .map(|name| {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut cfb.open_stream(&name).unwrap(), &mut bytes).unwrap();
            (name, bytes)
        })
        .collect()
}

/// Byte changes: (which stream, position as a fraction of its length, new byte).
fn mutations() -> impl Strategy<Value = Vec<(usize, f64, u8)>> {
    prop::collection::vec((0usize..4, 0.0f64..1.0, any::<u8>()), 1..24)
}

fn mutate(streams: &mut [(String, Vec<u8>)], changes: &[(usize, f64, u8)]) {
    for &(which, at, byte) in changes {
        let (_, bytes) = &mut streams[which % streams.len()];
        if !bytes.is_empty() {
            let i = ((bytes.len() as f64 * at) as usize).min(bytes.len() - 1);
            bytes[i] = byte;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn mutated_streams_never_panic(changes in mutations(), fixture_file in 0usize..3, truncate in 0.0f64..1.5) {
        let file = match fixture_file {
            0 => merged_table_doc().pack(),
            1 => fixture("layout.doc"),
            _ => fixture("sim_report.doc"),
        };
        let mut streams = streams_of(&file);
        prop_assert!(streams.iter().any(|(name, _)| name == "/WordDocument"), "{:?}", streams.iter().map(|s| &s.0).collect::<Vec<_>>());
        mutate(&mut streams, &changes);
        if let Some((_, word)) = streams.iter_mut().find(|(name, _)| name == "/WordDocument").filter(|_| truncate < 1.0) {
            word.truncate((word.len() as f64 * truncate) as usize);
        }
        let refs: Vec<(&str, &[u8])> = streams.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
        let _ = clean_bytes(&compound(&refs), None, Some("m.doc"), None);
    }

    #[test]
    fn hostile_fib_fields_never_panic(fields in prop::collection::vec((0usize..10, any::<u32>()), 1..6)) {
        // csw, cslw, cbRgFcLcb (u16); ccpText, the STSH, CHPX and PAPX bins and CLX (u32 offsets and sizes).
        const AT: [(usize, bool); 10] =
            [(32, false), (62, false), (152, false), (76, true), (162, true), (250, true), (254, true), (258, true), (262, true), (422, true)];
        let mut raw = merged_table_doc();
        for (which, value) in fields {
            let (at, wide) = AT[which];
            let bytes = value.to_le_bytes();
            let len = if wide { 4 } else { 2 };
            raw.word[at..at + len].copy_from_slice(&bytes[..len]);
        }
        let _ = clean_raw(&raw, "fib.doc");
    }

    #[test]
    fn mutated_containers_never_panic(changes in prop::collection::vec((0.0f64..1.0, any::<u8>()), 1..16)) {
        let mut file = fixture("layout.doc");
        for (at, byte) in changes {
            let i = ((file.len() as f64 * at) as usize).min(file.len() - 1);
            file[i] = byte;
        }
        let _ = clean_bytes(&file, None, Some("c.doc"), None);
    }

    #[test]
    fn random_bytes_after_the_ole_signature_never_panic(tail in prop::collection::vec(any::<u8>(), 0..4096)) {
        let mut file = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
        file.extend(tail);
        let _ = clean_bytes(&file, None, Some("r.wps"), None);
    }
}

#[test]
fn in_a_compressed_piece_the_paragraph_properties_tell_an_empty_cell_from_a_row_end() {
    let text = "Year\x07\x07Total\x07\x07after\r";
    let marks = [
        IN_TABLE.to_vec(),
        IN_TABLE.to_vec(),
        IN_TABLE.to_vec(),
        row_mark(&[0, 800, 1600, 2400], &[0, 0, 0]),
        Vec::new(),
    ];
    let doc = clean_raw(&RawDoc::new(&[(text, true)], text.chars().count() as u32, Some(&marks)), "c.doc").unwrap();
    assert_eq!(tables(&doc), [grid(&[&["Year", "", "Total"]])]);
    assert_eq!(paragraphs(&doc), ["after"]);
}
