//! The archive the export tests read: built record by record, as the crawl writes it, through
//! `Store::commit` (see tests/export.rs for what it holds).

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use nianbao::document::{Block, Document, Table};
use nianbao::export::{self, ExportError, ExportOptions, ExportSummary};
use nianbao::store::{AttachmentRef, Commit, FetchRecord, PageKind, PageRecord, RedirectRecord, Store, VersionRecord};
use sha1::Digest;

pub const CQ: &str = "http://127.0.0.1:9/cq/nb/";
pub const A: &str = "http://127.0.0.1:9/cq/nb/t20230131_1.html";
pub const A_ALIAS: &str = "http://127.0.0.1:9/cq/nb/t20230131_1.html?from=list";
pub const A_PDF: &str = "http://127.0.0.1:9/cq/nb/P020230131.pdf";
pub const TJ_PROXY: &str = "http://127.0.0.2:9/module/web/jpage/dataproxy.jsp";
pub const B: &str = "http://127.0.0.2:9/art/2020/1/20/art_1_2.html";
pub const C: &str = "http://127.0.0.2:9/art/2020/1/21/art_1_3.html";

/// What the tests need to know about the archive they export.
pub struct Archive {
    _dir: tempfile::TempDir,
    pub store: Store,
    /// Fetches by a short name.
    pub fetches: HashMap<&'static str, FetchRecord>,
    /// Raw bodies by their fetch's name.
    pub bodies: HashMap<&'static str, Vec<u8>>,
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

pub fn sha1_b32(bytes: &[u8]) -> String {
    data_encoding::BASE32.encode(&sha1::Sha1::digest(bytes))
}

fn gbk(text: &str) -> Vec<u8> {
    encoding_rs::GBK.encode(text).0.into_owned()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// A GET answered 200 as the crawl records it; [`Archive::put`] gives it its id and body.
fn get(portal: &str, url: &str, at_: &str, headers: &[(&str, &str)]) -> FetchRecord {
    let host = url::Url::parse(url).unwrap().host_str().unwrap().to_owned();
    FetchRecord {
        id: 0,
        portal: portal.into(),
        url: url.into(),
        final_url: url.into(),
        redirects: Vec::new(),
        method: "GET".into(),
        request_headers: vec![("host".into(), format!("{host}:9")), ("user-agent".into(), "nianbao-test".into())],
        request_body: None,
        status: 200,
        http_version: "HTTP/1.1".into(),
        headers: headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
        fetched_at: at(at_),
        body_sha256: None,
        body_sha1: None,
        body_len: 0,
        same_as: None,
        remote_ip: Some(host),
    }
}

impl Archive {
    /// Gives `fetch` the next id, stores its body, and remembers both under `name`.
    pub fn put(&mut self, name: &'static str, mut fetch: FetchRecord, body: Option<&[u8]>) -> FetchRecord {
        fetch.id = self.store.next_id().unwrap();
        if let Some(body) = body {
            fetch.body_sha256 = Some(nianbao::store::sha256_hex(body));
            fetch.body_sha1 = Some(sha1_b32(body));
            fetch.body_len = body.len() as u64;
            self.bodies.insert(name, body.to_vec());
        }
        self.fetches.insert(name, fetch.clone());
        fetch
    }

    pub fn commit(&self, fetch: &FetchRecord, pages: Vec<PageRecord>, version: Option<VersionRecord>) {
        let version_url = version.as_ref().map(|_| fetch.url.clone());
        let body = self.fetches.iter().find(|(_, f)| f.id == fetch.id).and_then(|(name, _)| self.bodies.get(name));
        let commit = Commit {
            fetch: Some(fetch.clone()),
            body: body.cloned(),
            pages,
            version,
            version_url,
            ..Commit::default()
        };
        self.store.commit(commit).unwrap();
    }
}

fn page(url: &str, portal: &str, kind: PageKind, fetch: &FetchRecord, versions: u32) -> PageRecord {
    PageRecord {
        first_seen: fetch.fetched_at,
        last_checked: Some(fetch.fetched_at),
        last_fetch: Some(fetch.id),
        final_url: Some(fetch.final_url.clone()),
        http_status: Some(fetch.status),
        media_type: Some("text/html".into()),
        charset: Some("UTF-8".into()),
        body_sha256: fetch.body_sha256.clone(),
        versions,
        ..PageRecord::new(url, portal, kind)
    }
}

fn version(n: u32, fetch: &FetchRecord, document: Document) -> VersionRecord {
    VersionRecord {
        n,
        fetch_id: fetch.id,
        fetched_at: fetch.fetched_at,
        body_sha256: fetch.body_sha256.clone().unwrap(),
        text_sha256: nianbao::store::sha256_hex(document.text().as_bytes()),
        document,
        report: None,
    }
}

/// A report page's cleaned document: the same title, the given paragraph and table.
fn document(paragraph: &str, rows: &[&[&str]]) -> Document {
    let rows = rows.iter().map(|r| r.iter().map(|c| c.to_string()).collect()).collect();
    Document {
        title: Some("重庆市医疗保障局2022年政府信息公开工作年度报告".into()),
        published: Some("2023-01-31".into()),
        metadata: vec![("索引号".into(), "11500000/2023-00001".into())],
        blocks: vec![
            Block::Heading("一、总体情况".into()),
            Block::Paragraph(paragraph.into()),
            Block::Table(Table { rows }),
        ],
    }
}

#[rustfmt::skip]
pub const ROWS: [&str; 26] = [
    "new_received", "carried_over", "granted", "partially_granted", "refused_state_secret", "refused_law_prohibited",
    "refused_security_stability", "refused_third_party", "refused_internal_affairs", "refused_process_info",
    "refused_enforcement_file", "refused_admin_query", "unable_no_info", "unable_needs_creation", "unable_unclear",
    "not_processed_petition", "not_processed_duplicate", "not_processed_publication", "not_processed_mass_repeat",
    "not_processed_confirm", "other_no_correction", "other_no_fee", "other_misc", "other_total", "total",
    "carried_forward",
];
pub const COLUMNS: [&str; 7] =
    ["natural_person", "commercial", "research", "social_welfare", "legal_service", "other", "total"];
pub const GROUPS: [&str; 3] = ["review", "litigation_direct", "litigation_after_review"];
pub const FIELDS: [&str; 5] = ["upheld", "corrected", "other", "pending", "total"];

/// The statistics tables of a real report of either layout, as blocks to append to a document: the
/// parser derives its report from them when the export reads the version.
fn report_blocks(layout: &str) -> Vec<Block> {
    if layout == "2021" {
        nianbao::clean::text::document_from_text(include_str!("../fixtures/parser/2021_pdf_failing_checks.txt")).blocks
    } else {
        let html = include_bytes!("../fixtures/parser/2019_html_quirks.html");
        nianbao::clean::clean_html(html, Some("text/html; charset=utf-8"), None).expect("the fixture cleans").blocks
    }
}

/// `doc` with a report's tables after its own blocks.
fn with_report(mut doc: Document, layout: &str) -> Document {
    doc.blocks.extend(report_blocks(layout));
    doc
}

const A1_HTML: &str = "<html><head><meta charset=gbk><title>2022年政府信息公开工作年度报告</title></head>\
                       <body>本年度收到申请1件。</body></html>";
const A2_HTML: &str = "<html><head><meta charset=utf-8><title>2022年政府信息公开工作年度报告</title></head>\
                       <body>本年度收到申请2件（更正）。</body></html>";

/// The archive every test exports (see the module doc).
pub fn archive() -> Archive {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap();
    let mut ar = Archive { _dir: dir, store, fetches: HashMap::new(), bodies: HashMap::new() };
    add_cq(&mut ar);
    add_tj(&mut ar);
    ar
}

const GZIP_HTML: [(&str, &str); 3] =
    [("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip"), ("ETag", "\"v2\"")];

/// Portal cq: a list page behind a redirect sent chunked; report A with a GBK first version, an
/// attachment, a gzip-encoded second version, an unchanged refetch, a 304, and an alias.
fn add_cq(ar: &mut Archive) {
    let mut list =
        get("cq", CQ, "2026-01-10T08:00:00Z", &[("Content-Type", "text/html"), ("Transfer-Encoding", "chunked")]);
    list.final_url = format!("{CQ}index.html");
    list.redirects = vec![RedirectRecord { from: CQ.into(), to: list.final_url.clone(), status: 302 }];
    let list = ar.put("list", list, Some("<html><a href=t20230131_1.html>2022年报</a></html>".as_bytes()));
    ar.commit(&list, vec![page(CQ, "cq", PageKind::List, &list, 0)], None);

    let a1_body = gbk(A1_HTML);
    let length = a1_body.len().to_string();
    let a1 = get(
        "cq",
        A,
        "2026-01-10T08:00:05Z",
        &[("Content-Type", "text/html; charset=gbk"), ("Content-Length", &length)],
    );
    let a1 = ar.put("a1", a1, Some(&a1_body));
    let doc = document("本年度收到申请1件。", &[&["信息内容", "本年制发件数"], &["规章", "0"]]);
    let mut a_page = page(A, "cq", PageKind::Report, &a1, 1);
    a_page.charset = Some("GBK".into());
    ar.commit(&a1, vec![a_page.clone()], Some(version(1, &a1, with_report(doc, "2021"))));

    let pdf_body = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n%%EOF\n";
    let pdf =
        ar.put("pdf", get("cq", A_PDF, "2026-01-10T08:00:09Z", &[("Content-Type", "application/pdf")]), Some(pdf_body));
    let name = "附件：2022年年报.pdf";
    let mut pdf_page = page(A_PDF, "cq", PageKind::Attachment, &pdf, 1);
    (pdf_page.parent, pdf_page.name) = (Some(A.into()), Some(name.into()));
    (pdf_page.media_type, pdf_page.charset) = (Some("application/pdf".into()), None);
    let pdf_doc = Document {
        // Untitled, so that it is no report (a title naming 年报 would make it one).
        title: None,
        blocks: vec![Block::Paragraph("PDF 正文".into())],
        ..Document::default()
    };
    a_page.attachments = vec![AttachmentRef { url: A_PDF.into(), name: name.into(), sha256: pdf.body_sha256.clone() }];
    ar.commit(&pdf, vec![pdf_page, a_page.clone()], Some(version(1, &pdf, pdf_doc)));

    let a2_body = gzip(A2_HTML.as_bytes());
    let a2 = ar.put("a2", get("cq", A, "2026-03-05T08:00:00Z", &GZIP_HTML), Some(&a2_body));
    let doc2 = document("本年度收到申请2件（更正）。", &[&["信息内容", "本年制发件数"], &["规章", "1"]]);
    let mut a_page = PageRecord { attachments: a_page.attachments, ..page(A, "cq", PageKind::Report, &a2, 2) };
    ar.commit(&a2, vec![a_page.clone()], Some(version(2, &a2, with_report(doc2, "2021"))));

    let a3 = FetchRecord { same_as: Some(a2.id), ..get("cq", A, "2026-04-01T08:00:00Z", &GZIP_HTML) };
    let a3 = ar.put("a3", a3, Some(&a2_body));
    a_page.last_fetch = Some(a3.id);
    ar.commit(&a3, vec![a_page.clone()], None);
    let a4 = FetchRecord { status: 304, ..get("cq", A, "2026-05-01T08:00:00Z", &[("ETag", "\"v2\"")]) };
    let a4 = ar.put("a4", a4, None);
    ar.commit(&a4, vec![a_page.clone()], None);

    let alias = get("cq", A_ALIAS, "2026-05-02T08:00:00Z", &[("Content-Type", "text/html; charset=utf-8")]);
    let alias = ar.put("alias", alias, Some(A2_HTML.as_bytes()));
    let alias_page = PageRecord { alias_of: Some(A.into()), ..page(A_ALIAS, "cq", PageKind::Report, &alias, 0) };
    a_page.aliases = vec![A_ALIAS.into()];
    ar.commit(&alias, vec![alias_page, a_page], None);
}

/// Portal tj: a Hanweb dataproxy list (a POST), a 2019-layout report B, and C, which is no report.
fn add_tj(ar: &mut Archive) {
    let mut proxy = get("tj", TJ_PROXY, "2026-02-01T09:00:00Z", &[("Content-Type", "text/xml;charset=UTF-8")]);
    proxy.method = "POST".into();
    proxy.request_body = Some("webid=1&columnid=2&page=1".into());
    proxy.request_headers.push(("content-type".into(), "application/x-www-form-urlencoded".into()));
    let proxy = ar.put("proxy", proxy, Some(b"<datastore><totalrecord>2</totalrecord></datastore>"));
    ar.commit(&proxy, vec![page(TJ_PROXY, "tj", PageKind::List, &proxy, 0)], None);

    let html = [("Content-Type", "text/html; charset=utf-8")];
    let b = ar.put("b", get("tj", B, "2026-02-02T09:00:00Z", &html), Some("<html>2019年度报告</html>".as_bytes()));
    let b_doc = Document {
        title: Some("天津市某区, \"试点\"局2019年政府信息公开工作年度报告".into()),
        ..document("2019年收到申请。", &[&["收到申请", "3"]])
    };
    ar.commit(&b, vec![page(B, "tj", PageKind::Report, &b, 1)], Some(version(1, &b, with_report(b_doc, "2019"))));

    let c = ar.put("c", get("tj", C, "2025-12-20T09:00:00Z", &html), Some("<html>通知</html>".as_bytes()));
    let c_doc = Document {
        title: Some("关于开展工作的通知".into()),
        blocks: vec![Block::Paragraph("通知正文".into())],
        ..Document::default()
    };
    ar.commit(&c, vec![page(C, "tj", PageKind::Report, &c, 1)], Some(version(1, &c, c_doc)));
}

pub fn run(ar: &Archive, out: &Path, portals: &[&str], since: Option<&str>) -> Result<ExportSummary, ExportError> {
    let opts = ExportOptions {
        out: out.to_path_buf(),
        portals: portals.iter().map(|p| p.to_string()).collect(),
        since: since.map(|s| s.parse::<NaiveDate>().unwrap()),
    };
    export::export(&ar.store, &opts)
}
