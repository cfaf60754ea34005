//! A simulated 年报 section on a loopback [`PortalServer`]: TRS-style list pages with
//! `createPageHTML` paging, report pages with full chrome, optional DOCX attachments behind a
//! download script. Tests, the demo and the crawl benchmark change it between runs (a new report,
//! a revised one, a removed one, view counters) and publish it again.

#![allow(dead_code)]

use std::io::Write;

use crate::common::{PortalServer, Reply};
use crate::sim::{list_page_html, SimReport};

/// One report as the section publishes it.
#[derive(Debug, Clone)]
pub struct Published {
    pub report: SimReport,
    /// Absolute path of the report page, e.g. `/zwgk/nb/202301/t20230120_7.html`.
    pub path: String,
    pub date: String,
    pub views: u64,
    /// Path of a DOCX copy served by a download script, if any.
    pub attachment: Option<String>,
    /// An ETag the page is served with (and answered 304 to), if any.
    pub etag: Option<String>,
}

/// A 年报 section: its list pages and reports, newest first.
pub struct Section {
    pub server: PortalServer,
    /// The section's directory, e.g. `/zwgk/nb/`.
    pub dir: String,
    pub per_page: usize,
    pub reports: Vec<Published>,
    serial: usize,
}

impl Section {
    pub fn new(server: &PortalServer, dir: &str, per_page: usize) -> Section {
        Section { server: server.clone(), dir: dir.into(), per_page, reports: Vec::new(), serial: 0 }
    }

    /// The section's first list page: the portal's `start`.
    pub fn start_url(&self) -> String {
        self.server.url(&self.dir)
    }

    /// Adds `count` reports for consecutive years ending at `last_year`, newest first, after the
    /// ones already there (so they are older and land on later list pages).
    pub fn add_older(&mut self, agency: &str, count: usize, last_year: i32) {
        for i in 0..count {
            let year = last_year - i as i32;
            let report = self.make(agency, year);
            self.reports.push(report);
        }
    }

    /// Publishes a new report at the top of the list; returns its URL.
    pub fn add_newest(&mut self, agency: &str, year: i32) -> String {
        let report = self.make(agency, year);
        let url = self.server.url(&report.path);
        self.reports.insert(0, report);
        url
    }

    fn make(&mut self, agency: &str, year: i32) -> Published {
        self.serial += 1;
        let n = self.serial;
        let date = format!("{}-01-{:02}", year + 1, 1 + n % 28);
        let path = format!("{}{}01/t{}01{:02}_{n}.html", self.dir, year + 1, year + 1, 1 + n % 28);
        Published {
            report: SimReport::new(agency, year, n as u64),
            path,
            date,
            views: 100 + n as u64,
            attachment: None,
            etag: None,
        }
    }

    /// The URL of the `i`-th report (0 = newest).
    pub fn report_url(&self, i: usize) -> String {
        self.server.url(&self.reports[i].path)
    }

    /// Gives report `i` a DOCX copy behind a download script; returns the attachment's URL.
    pub fn attach_docx(&mut self, i: usize) -> String {
        let path = format!("/module/download/downfile.jsp?classid=0&filename=nb{i}.docx");
        self.reports[i].attachment = Some(path.clone());
        self.server.url(&path)
    }

    /// Every view counter goes up: the bytes of every report page change, their content does not.
    pub fn bump_views(&mut self) {
        for p in &mut self.reports {
            p.views += 17;
        }
    }

    /// Takes report `i` off the portal (its page answers 404 from now on); returns its URL.
    pub fn remove(&mut self, i: usize) -> String {
        let gone = self.reports.remove(i);
        self.server.remove(&gone.path);
        self.server.url(&gone.path)
    }

    /// Routes every list page and report page as they stand now.
    pub fn publish(&self) {
        let pages: Vec<&[Published]> = self.reports.chunks(self.per_page.max(1)).collect();
        let count = pages.len().max(1);
        for k in 0..count {
            let links: Vec<(String, String, String)> = pages
                .get(k)
                .map(|chunk| chunk.iter().map(|p| (self.relative(&p.path), p.report.title(), p.date.clone())).collect())
                .unwrap_or_default();
            let html = list_page_html("政府信息公开年报", &links, k, count);
            if k == 0 {
                self.server.route(&self.dir, Reply::html(&html));
            }
            let name = if k == 0 { "index.html".to_owned() } else { format!("index_{k}.html") };
            self.server.route(&format!("{}{name}", self.dir), Reply::html(&html));
        }
        for p in &self.reports {
            let html = p.report.page_html(&p.date, p.views, p.attachment.as_deref());
            let reply = Reply::html(&html);
            match &p.etag {
                Some(etag) => {
                    self.server.handle(&p.path, crate::common::etag_aware(etag, reply.with_header("ETag", etag)))
                }
                None => self.server.route(&p.path, reply),
            }
            if let Some(path) = &p.attachment {
                let docx = report_docx(&p.report);
                let reply = Reply::bytes("application/octet-stream", docx)
                    .with_header("Content-Disposition", &format!("attachment; filename=\"{}.docx\"", p.report.year));
                self.server.route(path, reply);
            }
        }
    }

    /// A link as TRS writes it: relative to the list page.
    fn relative(&self, path: &str) -> String {
        match path.strip_prefix(&self.dir) {
            Some(rest) => format!("./{rest}"),
            None => path.to_owned(),
        }
    }
}

/// A minimal but valid DOCX holding the report's title, a sentence and its review table.
pub fn report_docx(report: &SimReport) -> Vec<u8> {
    let mut rows = String::new();
    let labels = ["行政复议", "行政诉讼（未经复议）", "行政诉讼（复议后）"];
    for (label, figures) in labels.iter().zip(report.review.iter()) {
        rows.push_str("<w:tr>");
        for cell in std::iter::once(label.to_string()).chain(figures.iter().map(u32::to_string)) {
            rows.push_str(&format!("<w:tc><w:p><w:r><w:t>{cell}</w:t></w:r></w:p></w:tc>"));
        }
        rows.push_str("</w:tr>");
    }
    let document = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\
         <w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body>\
         <w:p><w:r><w:t>{title}</w:t></w:r></w:p>\
         <w:p><w:r><w:t>本年度共收到政府信息公开申请{received}件。</w:t></w:r></w:p>\
         <w:tbl>{rows}</w:tbl></w:body></w:document>",
        title = report.title(),
        received = report.received(),
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
    for (name, body) in
        [("[Content_Types].xml", content_types), ("_rels/.rels", rels), ("word/document.xml", document.as_str())]
    {
        zip.start_file(name, options).expect("in-memory zip");
        zip.write_all(body.as_bytes()).expect("in-memory zip");
    }
    zip.finish().expect("in-memory zip").into_inner()
}
