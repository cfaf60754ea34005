//! DOC/WPS attachments (Word 97–2003 binary) cleaned into Documents.
//!
//! Fixtures under `tests/fixtures/clean/` are our own content, converted by LibreOffice:
//! `cargo test --test clean_doc -- --ignored` writes their sources (DOCX) into `$NIANBAO_DOC_SOURCES`, then
//! `soffice --headless --convert-to doc --outdir tests/fixtures/clean $NIANBAO_DOC_SOURCES/*.docx`; the
//! whole synthetic report goes HTML → DOCX → DOC (`soffice --headless --convert-to docx:"MS Word 2007 XML"
//! sim_full.html`, then the DOCX as above).

#[path = "support/sim.rs"]
mod sim;

use std::io::Write;

use sim::SimReport;

/// The synthetic report of the round-trip fixture `sim_report.doc`.
fn sim_report() -> SimReport {
    SimReport::new("某市统计局", 2022, 11)
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
        ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/></Types>";
    let rels = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\
        <Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
        <Relationship Id=\"rId1\" \
        Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" \
        Target=\"word/document.xml\"/></Relationships>";
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    for (name, part) in
        [("[Content_Types].xml", content_types), ("_rels/.rels", rels), ("word/document.xml", document.as_str())]
    {
        zip.start_file(name, options).unwrap();
        zip.write_all(part.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn p(text: &str) -> String {
    format!("<w:p><w:r><w:t xml:space=\"preserve\">{text}</w:t></w:r></w:p>")
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

/// `layout.docx`: paragraphs with a line break, a hyperlink field, a page break, and a table with
/// merges in both directions and empty cells.
fn layout_docx() -> Vec<u8> {
    let mut body = p("某区政务服务管理局2023年政府信息公开工作年度报告");
    body.push_str(&p("一、总体情况"));
    body.push_str(
        "<w:p><w:r><w:t>第一行</w:t></w:r><w:r><w:br/><w:t>第二行</w:t></w:r></w:p>\
         <w:p><w:r><w:t xml:space=\"preserve\">详见</w:t></w:r>\
         <w:r><w:fldChar w:fldCharType=\"begin\"/></w:r><w:r><w:instrText xml:space=\"preserve\"> HYPERLINK \"http://127.0.0.1/nb.html\" </w:instrText></w:r>\
         <w:r><w:fldChar w:fldCharType=\"separate\"/></w:r><w:r><w:t>门户网站</w:t></w:r><w:r><w:fldChar w:fldCharType=\"end\"/></w:r>\
         <w:r><w:t>。</w:t></w:r></w:p>\
         <w:p><w:r><w:br w:type=\"page\"/></w:r></w:p>",
    );
    body.push_str(&p("二、主动公开政府信息情况"));
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
    let report = SimReport::new("某县人民政府办公室", 2021, 5);
    let html = format!(
        "<html><head><meta charset=\"utf-8\"></head><body><p>{}</p>{}</body></html>",
        report.title(),
        report.body_html()
    );
    std::fs::write(dir.join("sim_full.html"), html).unwrap();
}
