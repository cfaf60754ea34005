//! Archive snapshots end to end: an archive built record by record in a temporary store (two
//! portals; a redirect, a POST, a 304, an unchanged refetch, a GBK page, a gzip-encoded body, an
//! attachment, a document with two versions and an alias, reports of both layouts with nulls and
//! failed checks), exported, then read back with readers written only for these tests.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use nianbao::document::{Block, Document, Table};
use nianbao::export::{self, ExportError, ExportOptions, ExportSummary};
use nianbao::store::{AttachmentRef, Commit, FetchRecord, PageKind, PageRecord, RedirectRecord, Store, VersionRecord};
use proptest::prelude::*;
use serde_json::{json, Value};
use sha1::Digest;

// ---------------------------------------------------------------- the archive

const CQ: &str = "http://127.0.0.1:9/cq/nb/";
const A: &str = "http://127.0.0.1:9/cq/nb/t20230131_1.html";
const A_ALIAS: &str = "http://127.0.0.1:9/cq/nb/t20230131_1.html?from=list";
const A_PDF: &str = "http://127.0.0.1:9/cq/nb/P020230131.pdf";
const TJ_PROXY: &str = "http://127.0.0.2:9/module/web/jpage/dataproxy.jsp";
const B: &str = "http://127.0.0.2:9/art/2020/1/20/art_1_2.html";
const C: &str = "http://127.0.0.2:9/art/2020/1/21/art_1_3.html";

/// What the tests need to know about the archive they export.
struct Archive {
    _dir: tempfile::TempDir,
    store: Store,
    /// Fetches by a short name.
    fetches: HashMap<&'static str, FetchRecord>,
    /// Raw bodies by their fetch's name.
    bodies: HashMap<&'static str, Vec<u8>>,
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn sha1_b32(bytes: &[u8]) -> String {
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

/// One exchange as the crawl records it.
struct Exchange<'a> {
    portal: &'a str,
    url: &'a str,
    final_url: &'a str,
    method: &'a str,
    status: u16,
    headers: &'a [(&'a str, &'a str)],
    body: Option<&'a [u8]>,
    at: &'a str,
    same_as: Option<u64>,
}

impl Archive {
    fn put(&mut self, name: &'static str, x: Exchange<'_>) -> FetchRecord {
        let id = self.store.next_id().unwrap();
        let host = url::Url::parse(x.final_url).unwrap().host_str().unwrap().to_owned();
        let mut request_headers =
            vec![("host".to_owned(), format!("{host}:9")), ("user-agent".into(), "nianbao-test".into())];
        let request_body = (x.method == "POST").then(|| "webid=1&columnid=2&page=1".to_owned());
        if request_body.is_some() {
            request_headers.push(("content-type".into(), "application/x-www-form-urlencoded".into()));
        }
        let fetch = FetchRecord {
            id,
            portal: x.portal.into(),
            url: x.url.into(),
            final_url: x.final_url.into(),
            redirects: Vec::new(),
            method: x.method.into(),
            request_headers,
            request_body,
            status: x.status,
            http_version: "HTTP/1.1".into(),
            headers: x.headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
            fetched_at: at(x.at),
            body_sha256: x.body.map(|b| self.store.put_blob(b).unwrap()),
            body_sha1: x.body.map(sha1_b32),
            body_len: x.body.map_or(0, |b| b.len() as u64),
            same_as: x.same_as,
            remote_ip: Some(host),
        };
        if let Some(body) = x.body {
            self.bodies.insert(name, body.to_vec());
        }
        self.fetches.insert(name, fetch.clone());
        fetch
    }

    fn commit(&self, fetch: FetchRecord, pages: Vec<PageRecord>, version: Option<VersionRecord>) {
        let version_url = version.as_ref().map(|_| fetch.url.clone());
        self.store.commit(Commit { fetch: Some(fetch), pages, version, version_url, ..Commit::default() }).unwrap();
    }
}

fn page(url: &str, portal: &str, kind: PageKind, fetch: &FetchRecord, versions: u32) -> PageRecord {
    PageRecord {
        url: url.into(),
        portal: portal.into(),
        kind,
        parent: None,
        name: None,
        first_seen: fetch.fetched_at,
        last_checked: Some(fetch.fetched_at),
        last_fetch: Some(fetch.id),
        final_url: Some(fetch.final_url.clone()),
        http_status: Some(fetch.status),
        media_type: Some("text/html".into()),
        charset: Some("UTF-8".into()),
        body_sha256: fetch.body_sha256.clone(),
        etag: None,
        last_modified: None,
        versions,
        alias_of: None,
        aliases: Vec::new(),
        attachments: Vec::new(),
        gone_since: None,
        last_error: None,
        clean_error: None,
        blocked: false,
    }
}

fn version(n: u32, fetch: &FetchRecord, document: Document, report: Option<Value>) -> VersionRecord {
    VersionRecord {
        n,
        fetch_id: fetch.id,
        fetched_at: fetch.fetched_at,
        body_sha256: fetch.body_sha256.clone().unwrap(),
        text_sha256: nianbao::store::sha256_hex(document.text().as_bytes()),
        document,
        report,
    }
}

fn document(title: &str, paragraph: &str, rows: &[&[&str]]) -> Document {
    let rows = rows.iter().map(|r| r.iter().map(|c| c.to_string()).collect()).collect();
    Document {
        title: Some(title.into()),
        published: Some("2023-01-31".into()),
        metadata: vec![("索引号".into(), "11500000/2023-00001".into())],
        blocks: vec![
            Block::Heading("一、总体情况".into()),
            Block::Paragraph(paragraph.into()),
            Block::Table(Table { rows }),
        ],
    }
}

const ROWS: [&str; 26] = [
    "new_received",
    "carried_over",
    "granted",
    "partially_granted",
    "refused_state_secret",
    "refused_law_prohibited",
    "refused_security_stability",
    "refused_third_party",
    "refused_internal_affairs",
    "refused_process_info",
    "refused_enforcement_file",
    "refused_admin_query",
    "unable_no_info",
    "unable_needs_creation",
    "unable_unclear",
    "not_processed_petition",
    "not_processed_duplicate",
    "not_processed_publication",
    "not_processed_mass_repeat",
    "not_processed_confirm",
    "other_no_correction",
    "other_no_fee",
    "other_misc",
    "other_total",
    "total",
    "carried_forward",
];
const COLUMNS: [&str; 7] =
    ["natural_person", "commercial", "research", "social_welfare", "legal_service", "other", "total"];
const GROUPS: [&str; 3] = ["review", "litigation_direct", "litigation_after_review"];
const FIELDS: [&str; 5] = ["upheld", "corrected", "other", "pending", "total"];

/// A report of either layout: row r, column c holds `10 r + c`, except `carried_over` (all null)
/// and `granted.research` (null); review fields count up; one check fails.
fn report(layout: &str, agency: &str, year: i64) -> Value {
    let rows: serde_json::Map<String, Value> = ROWS
        .iter()
        .enumerate()
        .map(|(r, row)| {
            let cells: Vec<Value> = (0..7)
                .map(|c| match (*row, c) {
                    ("carried_over", _) | ("granted", 2) => Value::Null,
                    _ => json!(10 * r + c),
                })
                .collect();
            (row.to_string(), Value::Array(cells))
        })
        .collect();
    let review: serde_json::Map<String, Value> = GROUPS
        .iter()
        .enumerate()
        .map(|(g, group)| {
            let fields = FIELDS.iter().enumerate().map(|(f, field)| (field.to_string(), json!(g * 5 + f)));
            (group.to_string(), Value::Object(fields.collect()))
        })
        .collect();
    let active = if layout == "2021" {
        json!({
            "regulations": {"issued": 1, "repealed": 0, "in_force": 3},
            "normative_documents": {"issued": 2, "repealed": 1, "in_force": 58},
            "licensing": {"decisions": 1036}, "punishment": {"decisions": null},
            "enforcement": {"decisions": 7}, "fees": {"amount_wan_yuan": 12.5}
        })
    } else {
        json!({
            "regulations": {"made": 0, "published": 1, "total_public": 2},
            "normative_documents": {"made": 3, "published": 4, "total_public": 5},
            "licensing": {"prev_items": 6, "change": "+1036", "decisions": 8},
            "other_services": {"prev_items": 9, "change": "-2", "decisions": null},
            "punishment": {"prev_items": 11, "change": 0, "decisions": 12},
            "enforcement": {"prev_items": 13, "change": 0, "decisions": 14},
            "fees": {"prev_items": 15, "change": 0},
            "procurement": {"items": 16, "amount": 17.25}
        })
    };
    json!({
        "agency": agency, "year": year, "format": layout,
        "active_disclosure": active,
        "applications": {"columns": COLUMNS, "rows": rows},
        "review_litigation": review,
        "checks": [
            {"rule": "applications.balance", "ok": false, "detail": "1 + 0 ≠ 2 + 0"},
            {"rule": "review.total", "ok": true, "detail": "0 = 0"},
            {"rule": "litigation_direct.total", "ok": false, "detail": "1 ≠ 2"}
        ]
    })
}

const A1_HTML: &str = "<html><head><meta charset=gbk><title>2022年政府信息公开工作年度报告</title></head>\
                       <body>本年度收到申请1件。</body></html>";
const A2_HTML: &str = "<html><head><meta charset=utf-8><title>2022年政府信息公开工作年度报告</title></head>\
                       <body>本年度收到申请2件（更正）。</body></html>";

/// The archive every test exports (see the module doc).
fn archive() -> Archive {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap();
    let mut ar = Archive { _dir: dir, store, fetches: HashMap::new(), bodies: HashMap::new() };
    let html = [("Content-Type", "text/html; charset=utf-8")];

    // cq: a list page behind a redirect, sent chunked.
    let mut list = ar.put(
        "list",
        Exchange {
            portal: "cq",
            url: CQ,
            final_url: &format!("{CQ}index.html"),
            method: "GET",
            status: 200,
            headers: &[("Content-Type", "text/html"), ("Transfer-Encoding", "chunked")],
            body: Some("<html><a href=t20230131_1.html>2022年报</a></html>".as_bytes()),
            at: "2026-01-10T08:00:00Z",
            same_as: None,
        },
    );
    list.redirects = vec![RedirectRecord { from: CQ.into(), to: format!("{CQ}index.html"), status: 302 }];
    ar.fetches.insert("list", list.clone());
    let list_page = page(CQ, "cq", PageKind::List, &list, 0);
    ar.commit(list, vec![list_page], None);

    // cq: report A, first version, a GBK page.
    let a1_body = gbk(A1_HTML);
    let a1 = ar.put(
        "a1",
        Exchange {
            portal: "cq",
            url: A,
            final_url: A,
            method: "GET",
            status: 200,
            headers: &[("Content-Type", "text/html; charset=gbk"), ("Content-Length", &a1_body.len().to_string())],
            body: Some(&a1_body),
            at: "2026-01-10T08:00:05Z",
            same_as: None,
        },
    );
    let doc = document(
        "2022年政府信息公开工作年度报告",
        "本年度收到申请1件。",
        &[&["信息内容", "本年制发件数"], &["规章", "0"]],
    );
    let mut a_page = page(A, "cq", PageKind::Report, &a1, 1);
    a_page.charset = Some("GBK".into());
    ar.commit(
        a1.clone(),
        vec![a_page.clone()],
        Some(version(1, &a1, doc, Some(report("2021", "重庆市医疗保障局", 2022)))),
    );

    // cq: A's attachment.
    let pdf_body = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n%%EOF\n".to_vec();
    let pdf = ar.put(
        "pdf",
        Exchange {
            portal: "cq",
            url: A_PDF,
            final_url: A_PDF,
            method: "GET",
            status: 200,
            headers: &[("Content-Type", "application/pdf")],
            body: Some(&pdf_body),
            at: "2026-01-10T08:00:09Z",
            same_as: None,
        },
    );
    let mut pdf_page = page(A_PDF, "cq", PageKind::Attachment, &pdf, 1);
    pdf_page.parent = Some(A.into());
    pdf_page.name = Some("附件：2022年年报.pdf".into());
    pdf_page.media_type = Some("application/pdf".into());
    pdf_page.charset = None;
    let pdf_doc = Document {
        title: Some("附件：2022年年报.pdf".into()),
        blocks: vec![Block::Paragraph("PDF 正文".into())],
        ..Document::default()
    };
    let pdf_version = version(1, &pdf, pdf_doc, None);
    a_page.attachments =
        vec![AttachmentRef {
            url: A_PDF.into(), name: "附件：2022年年报.pdf".into(), sha256: pdf.body_sha256.clone()
        }];
    ar.commit(pdf, vec![pdf_page, a_page.clone()], Some(pdf_version));

    // cq: A changed (a second version), gzip-encoded on the wire and stored so.
    let a2_body = gzip(A2_HTML.as_bytes());
    let a2 = ar.put(
        "a2",
        Exchange {
            portal: "cq",
            url: A,
            final_url: A,
            method: "GET",
            status: 200,
            headers: &[("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip"), ("ETag", "\"v2\"")],
            body: Some(&a2_body),
            at: "2026-03-05T08:00:00Z",
            same_as: None,
        },
    );
    let doc2 = document(
        "2022年政府信息公开工作年度报告",
        "本年度收到申请2件（更正）。",
        &[&["信息内容", "本年制发件数"], &["规章", "1"]],
    );
    let mut a_page2 = page(A, "cq", PageKind::Report, &a2, 2);
    a_page2.attachments = a_page.attachments.clone();
    ar.commit(
        a2.clone(),
        vec![a_page2.clone()],
        Some(version(2, &a2, doc2, Some(report("2021", "重庆市医疗保障局", 2022)))),
    );

    // cq: A refetched, same bytes; then revalidated with a 304.
    let a3 = ar.put(
        "a3",
        Exchange {
            portal: "cq",
            url: A,
            final_url: A,
            method: "GET",
            status: 200,
            headers: &[("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip"), ("ETag", "\"v2\"")],
            body: Some(&a2_body),
            at: "2026-04-01T08:00:00Z",
            same_as: Some(a2.id),
        },
    );
    let mut a_page3 = a_page2.clone();
    a_page3.last_fetch = Some(a3.id);
    ar.commit(a3, vec![a_page3.clone()], None);
    let a4 = ar.put(
        "a4",
        Exchange {
            portal: "cq",
            url: A,
            final_url: A,
            method: "GET",
            status: 304,
            headers: &[("ETag", "\"v2\"")],
            body: None,
            at: "2026-05-01T08:00:00Z",
            same_as: None,
        },
    );
    ar.commit(a4, vec![a_page3.clone()], None);

    // cq: the same document under a query variant: an alias of A.
    let alias = ar.put(
        "alias",
        Exchange {
            portal: "cq",
            url: A_ALIAS,
            final_url: A_ALIAS,
            method: "GET",
            status: 200,
            headers: &html,
            body: Some(A2_HTML.as_bytes()),
            at: "2026-05-02T08:00:00Z",
            same_as: None,
        },
    );
    let mut alias_page = page(A_ALIAS, "cq", PageKind::Report, &alias, 0);
    alias_page.alias_of = Some(A.into());
    let mut a_page4 = a_page3;
    a_page4.aliases = vec![A_ALIAS.into()];
    ar.commit(alias, vec![alias_page, a_page4], None);

    // tj: a Hanweb dataproxy list (a POST), a 2019-layout report B, and C, which is no report.
    let proxy = ar.put(
        "proxy",
        Exchange {
            portal: "tj",
            url: TJ_PROXY,
            final_url: TJ_PROXY,
            method: "POST",
            status: 200,
            headers: &[("Content-Type", "text/xml;charset=UTF-8")],
            body: Some(b"<datastore><totalrecord>2</totalrecord></datastore>"),
            at: "2026-02-01T09:00:00Z",
            same_as: None,
        },
    );
    let proxy_page = page(TJ_PROXY, "tj", PageKind::List, &proxy, 0);
    ar.commit(proxy, vec![proxy_page], None);
    let b = ar.put(
        "b",
        Exchange {
            portal: "tj",
            url: B,
            final_url: B,
            method: "GET",
            status: 200,
            headers: &html,
            body: Some("<html>2019年度报告</html>".as_bytes()),
            at: "2026-02-02T09:00:00Z",
            same_as: None,
        },
    );
    let b_doc = document("2019年政府信息公开工作年度报告", "2019年收到申请。", &[&["收到申请", "3"]]);
    let b_page = page(B, "tj", PageKind::Report, &b, 1);
    ar.commit(
        b.clone(),
        vec![b_page],
        Some(version(1, &b, b_doc, Some(report("2019", "天津市某区, \"试点\"局", 2019)))),
    );
    let c = ar.put(
        "c",
        Exchange {
            portal: "tj",
            url: C,
            final_url: C,
            method: "GET",
            status: 200,
            headers: &html,
            body: Some("<html>通知</html>".as_bytes()),
            at: "2025-12-20T09:00:00Z",
            same_as: None,
        },
    );
    let c_doc = Document {
        title: Some("关于开展工作的通知".into()),
        blocks: vec![Block::Paragraph("通知正文".into())],
        ..Document::default()
    };
    let c_page = page(C, "tj", PageKind::Report, &c, 1);
    ar.commit(c.clone(), vec![c_page], Some(version(1, &c, c_doc, None)));
    ar
}

fn run(ar: &Archive, out: &Path, portals: &[&str], since: Option<&str>) -> Result<ExportSummary, ExportError> {
    let opts = ExportOptions {
        out: out.to_path_buf(),
        portals: portals.iter().map(|p| p.to_string()).collect(),
        since: since.map(|s| s.parse::<NaiveDate>().unwrap()),
    };
    export::export(&ar.store, &opts)
}

// ---------------------------------------------------------------- an independent WARC reader

#[derive(Debug)]
struct WarcRecord {
    headers: Vec<(String, String)>,
    block: Vec<u8>,
}

impl WarcRecord {
    fn get(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn kind(&self) -> &str {
        self.get("WARC-Type").unwrap()
    }

    /// The HTTP head and payload of a request, response or revisit block.
    fn http(&self) -> (String, &[u8]) {
        let end = find(&self.block, b"\r\n\r\n").expect("an HTTP head") + 4;
        (String::from_utf8(self.block[..end].to_vec()).unwrap(), &self.block[end..])
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Every record, checking that each gzip member holds exactly one record and that each record's
/// Content-Length and block digest hold.
fn read_warc(path: &Path) -> Vec<WarcRecord> {
    let data = std::fs::read(path).unwrap();
    let mut rest: &[u8] = &data;
    let mut records = Vec::new();
    while !rest.is_empty() {
        let mut member = Vec::new();
        flate2::bufread::GzDecoder::new(&mut rest).read_to_end(&mut member).unwrap();
        let head_end = find(&member, b"\r\n\r\n").expect("a WARC head") + 4;
        let head = std::str::from_utf8(&member[..head_end]).unwrap();
        let mut lines = head.split("\r\n");
        assert_eq!(lines.next(), Some("WARC/1.1"));
        let headers: Vec<(String, String)> = lines
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (n, v) = l.split_once(": ").expect("name: value");
                (n.to_owned(), v.to_owned())
            })
            .collect();
        let record = WarcRecord { headers, block: Vec::new() };
        let length: usize = record.get("Content-Length").unwrap().parse().unwrap();
        assert_eq!(member.len(), head_end + length + 4, "one record per member, Content-Length exact");
        assert_eq!(&member[head_end + length..], b"\r\n\r\n");
        let block = member[head_end..head_end + length].to_vec();
        assert_eq!(record.get("WARC-Block-Digest"), Some(format!("sha1:{}", sha1_b32(&block)).as_str()));
        records.push(WarcRecord { block, ..record });
    }
    records
}

// ---------------------------------------------------------------- tests

#[test]
fn the_warc_holds_every_fetch_as_standard_records() {
    let ar = archive();
    let out = tempfile::tempdir().unwrap();
    let snap = out.path().join("snap");
    let summary = run(&ar, &snap, &[], None).unwrap();
    let records = read_warc(&snap.join("archive.warc.gz"));
    assert_eq!(summary.warc_records as usize, records.len());
    assert_eq!(summary.fetches, 10);
    assert_eq!(records.len(), 1 + 2 * 10 + 1, "warcinfo, request + response per fetch, one redirect metadata");

    let info = &records[0];
    assert_eq!(info.kind(), "warcinfo");
    assert_eq!(info.get("Content-Type"), Some("application/warc-fields"));
    assert!(String::from_utf8_lossy(&info.block).contains("software: nianbao/"));

    let mut ids = std::collections::HashSet::new();
    for r in &records {
        let id = r.get("WARC-Record-ID").unwrap();
        assert!(id.starts_with("<urn:uuid:") && id.ends_with('>'), "{id}");
        assert!(ids.insert(id.to_owned()), "record ids are unique");
        DateTime::parse_from_rfc3339(r.get("WARC-Date").unwrap()).unwrap();
    }

    let by_target = |kind: &str, uri: &str| -> Vec<&WarcRecord> {
        records.iter().filter(|r| r.kind() == kind && r.get("WARC-Target-URI") == Some(uri)).collect()
    };
    // Requests and their answers pair up both ways, each request right before its answer.
    for pair in records[1..].windows(2) {
        if pair[0].kind() == "request" {
            let (req, resp) = (&pair[0], &pair[1]);
            assert!(matches!(resp.kind(), "response" | "revisit"), "{}", resp.kind());
            assert_eq!(req.get("WARC-Concurrent-To"), resp.get("WARC-Record-ID"));
            assert_eq!(resp.get("WARC-Concurrent-To"), req.get("WARC-Record-ID"));
            assert_eq!(req.get("WARC-Target-URI"), resp.get("WARC-Target-URI"));
            assert_eq!(req.get("Content-Type"), Some("application/http;msgtype=request"));
            assert_eq!(resp.get("Content-Type"), Some("application/http;msgtype=response"));
            assert!(resp.get("WARC-IP-Address").is_some());
        }
    }

    // A full response: the GBK page's bytes exactly as received, digests over them.
    let a1 = &ar.fetches["a1"];
    let resp =
        records.iter().find(|r| r.kind() == "response" && r.get("WARC-Date") == Some("2026-01-10T08:00:05Z")).unwrap();
    let (head, payload) = resp.http();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=gbk\r\nContent-Length: "), "{head}");
    assert_eq!(payload, ar.bodies["a1"].as_slice());
    assert_eq!(resp.get("WARC-Payload-Digest"), Some(format!("sha1:{}", a1.body_sha1.as_ref().unwrap()).as_str()));
    assert_eq!(resp.get("WARC-IP-Address"), Some("127.0.0.1"));
    assert_eq!(resp.get("WARC-Target-URI"), Some(A));

    // Content-Encoding bodies stay encoded; chunked is renamed away.
    let a2_resp =
        records.iter().find(|r| r.kind() == "response" && r.get("WARC-Date") == Some("2026-03-05T08:00:00Z")).unwrap();
    let (head, payload) = a2_resp.http();
    assert!(head.contains("\r\nContent-Encoding: gzip\r\n"));
    assert_eq!(payload, ar.bodies["a2"].as_slice());
    let list_resp = &by_target("response", &format!("{CQ}index.html"))[0];
    let (head, _) = list_resp.http();
    assert!(head.contains("\r\nX-Archive-Orig-Transfer-Encoding: chunked\r\n"), "{head}");
    assert!(!head.to_ascii_lowercase().contains("\r\ntransfer-encoding"), "{head}");

    // The redirect: a metadata record under the requested URL, beside the final response.
    let meta = &by_target("metadata", CQ)[0];
    assert_eq!(meta.get("WARC-Concurrent-To"), list_resp.get("WARC-Record-ID"));
    assert_eq!(meta.get("Content-Type"), Some("application/warc-fields"));
    let text = String::from_utf8(meta.block.clone()).unwrap();
    assert!(text.contains(&format!("redirect: 302 {CQ} {CQ}index.html\r\n")), "{text}");

    // The unchanged refetch and the 304 are revisits of the second version's response.
    let revisits = by_target("revisit", A);
    assert_eq!(revisits.len(), 2);
    let (same, not_modified) = (revisits[0], revisits[1]);
    assert_eq!(same.get("WARC-Profile"), Some("http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"));
    assert_eq!(not_modified.get("WARC-Profile"), Some("http://netpreserve.org/warc/1.1/revisit/server-not-modified"));
    for revisit in [same, not_modified] {
        assert_eq!(revisit.get("WARC-Refers-To"), a2_resp.get("WARC-Record-ID"));
        assert_eq!(revisit.get("WARC-Refers-To-Target-URI"), Some(A));
        assert_eq!(revisit.get("WARC-Refers-To-Date"), a2_resp.get("WARC-Date"));
        assert_eq!(revisit.get("WARC-Payload-Digest"), a2_resp.get("WARC-Payload-Digest"));
        let (_, payload) = revisit.http();
        assert!(payload.is_empty(), "a revisit holds headers only");
    }
    assert!(not_modified.http().0.starts_with("HTTP/1.1 304 Not Modified\r\n"));

    // The POST, with its body.
    let post = &by_target("request", TJ_PROXY)[0];
    let (head, body) = post.http();
    assert!(head.starts_with("POST /module/web/jpage/dataproxy.jsp HTTP/1.1\r\nhost: 127.0.0.2:9\r\n"), "{head}");
    assert_eq!(body, b"webid=1&columnid=2&page=1");
    assert_eq!(post.get("WARC-Payload-Digest"), Some(format!("sha1:{}", sha1_b32(body)).as_str()));
    let get = &by_target("request", A)[0];
    assert!(get.http().0.starts_with("GET /cq/nb/t20230131_1.html HTTP/1.1\r\n"));

    // The attachment is a response too.
    let (_, pdf) = by_target("response", A_PDF)[0].http();
    assert_eq!(pdf, ar.bodies["pdf"].as_slice());
}

fn read_jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn documents_jsonl_holds_each_document_once_with_its_newest_version() {
    let ar = archive();
    let out = tempfile::tempdir().unwrap();
    let snap = out.path().join("snap");
    let summary = run(&ar, &snap, &[], None).unwrap();
    let docs = read_jsonl(&snap.join("documents.jsonl"));
    let urls: Vec<&str> = docs.iter().map(|d| d["url"].as_str().unwrap()).collect();
    assert_eq!(urls, [A_PDF, A, B, C], "report pages and attachments in URL order; no list page, no alias");
    assert_eq!(summary.documents, 4);
    // Top-level keys in the contract's order (read off the line: `Value` maps may sort their keys).
    let line = std::fs::read_to_string(snap.join("documents.jsonl")).unwrap().lines().nth(1).unwrap().to_owned();
    let keys = [
        "url",
        "final_url",
        "portal",
        "fetched_at",
        "http_status",
        "media_type",
        "charset",
        "sha256",
        "title",
        "published",
        "text",
        "tables",
        "attachments",
        "versions",
        "aliases",
        "report",
    ];
    assert_eq!(docs[1].as_object().unwrap().len(), keys.len());
    let positions: Vec<usize> = keys.iter().map(|k| line.find(&format!("\"{k}\":")).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{line}");
    for doc in &docs {
        let url = doc["url"].as_str().unwrap();
        let latest = ar.store.latest_version(url).unwrap().unwrap();
        let page = ar.store.page(url).unwrap().unwrap();
        assert_eq!(doc["text"], latest.document.text());
        assert_eq!(doc["title"].as_str(), latest.document.title.as_deref());
        assert_eq!(doc["sha256"], latest.body_sha256);
        assert_eq!(doc["fetched_at"], latest.fetched_at.to_rfc3339_opts(SecondsFormat::AutoSi, true));
        assert_eq!(doc["versions"], page.versions);
        assert_eq!(doc["portal"], page.portal);
        assert_eq!(doc["report"], latest.report.clone().unwrap_or(Value::Null));
        let tables: Vec<&Vec<Vec<String>>> = latest.document.tables().map(|t| &t.rows).collect();
        assert_eq!(doc["tables"], serde_json::to_value(tables).unwrap());
    }
    let a = &docs[1];
    assert_eq!(a["versions"], 2);
    assert_eq!(a["aliases"], json!([A_ALIAS]));
    assert_eq!(a["sha256"], ar.fetches["a2"].body_sha256.clone().unwrap());
    assert_eq!(a["fetched_at"], "2026-03-05T08:00:00Z");
    assert_eq!(a["published"], "2023-01-31");
    assert_eq!(a["tables"], json!([[["信息内容", "本年制发件数"], ["规章", "1"]]]));
    assert!(a["text"].as_str().unwrap().contains("本年度收到申请2件（更正）。"));
    assert!(!a["text"].as_str().unwrap().contains("索引号"));
    assert_eq!(
        a["attachments"],
        json!([{"url": A_PDF, "name": "附件：2022年年报.pdf", "sha256": ar.fetches["pdf"].body_sha256}])
    );
    assert_eq!(a["report"]["format"], "2021");
    assert_eq!(docs[0]["report"], Value::Null);
    assert_eq!(docs[0]["charset"], Value::Null);
    assert_eq!(docs[0]["media_type"], "application/pdf");
    assert_eq!(docs[3]["report"], Value::Null);
}

/// A minimal RFC 4180 reader: rows of fields.
fn read_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut field) = (Vec::new(), Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => assert_eq!(chars.next(), Some('\n'), "CRLF line ends"),
            (false, '\n') => panic!("bare LF"),
            (false, c) => field.push(c),
        }
        if !quoted && c == '\r' {
            row.push(std::mem::take(&mut field));
            rows.push(std::mem::take(&mut row));
        }
    }
    assert!(row.is_empty() && field.is_empty(), "the last line ends with CRLF");
    rows
}

fn expected_header() -> Vec<String> {
    let mut h: Vec<String> = ["url", "portal", "agency", "year", "format"].map(String::from).to_vec();
    for row in ROWS {
        h.extend(COLUMNS.iter().map(|c| format!("applications.{row}.{c}")));
    }
    for group in GROUPS {
        h.extend(FIELDS.iter().map(|f| format!("review_litigation.{group}.{f}")));
    }
    let l2021: &[(&str, &[&str])] = &[
        ("regulations", &["issued", "repealed", "in_force"]),
        ("normative_documents", &["issued", "repealed", "in_force"]),
        ("licensing", &["decisions"]),
        ("punishment", &["decisions"]),
        ("enforcement", &["decisions"]),
        ("fees", &["amount_wan_yuan"]),
    ];
    let l2019: &[(&str, &[&str])] = &[
        ("regulations", &["made", "published", "total_public"]),
        ("normative_documents", &["made", "published", "total_public"]),
        ("licensing", &["prev_items", "change", "decisions"]),
        ("other_services", &["prev_items", "change", "decisions"]),
        ("punishment", &["prev_items", "change", "decisions"]),
        ("enforcement", &["prev_items", "change", "decisions"]),
        ("fees", &["prev_items", "change"]),
        ("procurement", &["items", "amount"]),
    ];
    for (item, fields) in l2021.iter().chain(l2019) {
        h.extend(fields.iter().map(|f| format!("active_disclosure.{item}.{f}")));
    }
    h.push("checks_failed".into());
    h
}

#[test]
fn reports_csv_has_one_row_per_report_in_the_fixed_column_order() {
    let ar = archive();
    let out = tempfile::tempdir().unwrap();
    let snap = out.path().join("snap");
    let summary = run(&ar, &snap, &[], None).unwrap();
    let bytes = std::fs::read(snap.join("reports.csv")).unwrap();
    assert!(bytes.starts_with("\u{feff}".as_bytes()), "UTF-8 with BOM");
    let rows = read_csv(std::str::from_utf8(&bytes[3..]).unwrap());
    let header = expected_header();
    assert_eq!(rows[0], header);
    assert_eq!(rows.len(), 3, "header, A (2021), B (2019); C has no report");
    assert_eq!(summary.reports, 2);
    let rows: Vec<HashMap<&str, Vec<&str>>> = rows[1..]
        .iter()
        .map(|r| {
            assert_eq!(r.len(), header.len());
            let mut m: HashMap<&str, Vec<&str>> = HashMap::new();
            for (name, value) in header.iter().zip(r) {
                m.entry(name.as_str()).or_default().push(value.as_str());
            }
            m
        })
        .collect();
    let (a, b) = (&rows[0], &rows[1]);
    let one = |row: &HashMap<&str, Vec<&str>>, name: &str| row[name][0].to_owned();
    assert_eq!(one(a, "url"), A);
    assert_eq!(one(a, "portal"), "cq");
    assert_eq!(one(a, "agency"), "重庆市医疗保障局");
    assert_eq!(one(a, "year"), "2022");
    assert_eq!(one(a, "format"), "2021");
    assert_eq!(one(b, "agency"), "天津市某区, \"试点\"局", "quoted field read back whole");

    let docs = read_jsonl(&snap.join("documents.jsonl"));
    for (row, url) in [(a, A), (b, B)] {
        let report = &docs.iter().find(|d| d["url"] == url).unwrap()["report"];
        for (r, key) in ROWS.iter().enumerate() {
            for (c, column) in COLUMNS.iter().enumerate() {
                let cell = one(row, &format!("applications.{key}.{column}"));
                match &report["applications"]["rows"][key][c] {
                    Value::Null => assert_eq!(cell, "", "null is an empty cell"),
                    v => assert_eq!(cell, v.to_string()),
                }
                if *key == "carried_over" || (*key == "granted" && c == 2) {
                    assert_eq!(cell, "");
                } else {
                    assert_eq!(cell, (10 * r + c).to_string());
                }
            }
        }
        assert_eq!(one(row, "review_litigation.litigation_after_review.total"), "14");
        assert_eq!(one(row, "checks_failed"), "applications.balance;litigation_direct.total");
    }
    // Each report fills its own layout's active-disclosure columns only.
    assert_eq!(one(a, "active_disclosure.normative_documents.in_force"), "58");
    assert_eq!(one(a, "active_disclosure.fees.amount_wan_yuan"), "12.5");
    assert_eq!(a["active_disclosure.licensing.decisions"], ["1036", ""]);
    assert_eq!(a["active_disclosure.punishment.decisions"], ["", ""], "null stays empty");
    assert_eq!(one(a, "active_disclosure.procurement.amount"), "");
    assert_eq!(one(b, "active_disclosure.regulations.issued"), "");
    assert_eq!(b["active_disclosure.licensing.decisions"], ["", "8"]);
    assert_eq!(one(b, "active_disclosure.licensing.change"), "+1036");
    assert_eq!(one(b, "active_disclosure.other_services.decisions"), "");
    assert_eq!(one(b, "active_disclosure.procurement.amount"), "17.25");
}

#[test]
fn the_manifest_lists_every_other_file_with_its_size_and_digest() {
    let ar = archive();
    let out = tempfile::tempdir().unwrap();
    let snap = out.path().join("snap");
    let summary = run(&ar, &snap, &[], None).unwrap();
    assert_manifest_holds(&snap, &summary);
    let names: Vec<String> =
        std::fs::read_dir(out.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert_eq!(names, ["snap"], "no staging directory left beside the snapshot");
    assert_eq!(summary.to_string(), format!("exported 4 documents, 2 reports, 22 WARC records to {}", snap.display()));
}

fn assert_manifest_holds(snap: &Path, summary: &ExportSummary) {
    let manifest: Value = serde_json::from_slice(&std::fs::read(snap.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["tool"], "nianbao");
    assert_eq!(manifest["version"], env!("CARGO_PKG_VERSION"));
    DateTime::parse_from_rfc3339(manifest["exported_at"].as_str().unwrap()).unwrap();
    assert_eq!(manifest["counts"]["documents"], summary.documents);
    assert_eq!(manifest["counts"]["reports"], summary.reports);
    assert_eq!(manifest["counts"]["warc_records"], summary.warc_records);
    let files = manifest["files"].as_array().unwrap();
    let paths: Vec<&str> = files.iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["archive.warc.gz", "documents.jsonl", "reports.csv"]);
    for f in files {
        let bytes = std::fs::read(snap.join(f["path"].as_str().unwrap())).unwrap();
        assert_eq!(f["bytes"], bytes.len());
        assert_eq!(f["sha256"], nianbao::store::sha256_hex(&bytes));
    }
    let mut on_disk: Vec<String> =
        std::fs::read_dir(snap).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    on_disk.sort();
    assert_eq!(on_disk, ["archive.warc.gz", "documents.jsonl", "manifest.json", "reports.csv"]);
}

fn warc_targets(snap: &Path) -> Vec<(String, String)> {
    read_warc(&snap.join("archive.warc.gz"))
        .iter()
        .skip(1)
        .map(|r| (r.kind().to_owned(), r.get("WARC-Target-URI").unwrap().to_owned()))
        .collect()
}

#[test]
fn portal_selection_keeps_only_the_named_portals() {
    let ar = archive();
    let out = tempfile::tempdir().unwrap();
    let snap = out.path().join("tj");
    let summary = run(&ar, &snap, &["tj"], None).unwrap();
    let targets = warc_targets(&snap);
    assert_eq!(targets.len(), 6);
    assert!(targets.iter().all(|(_, uri)| uri.starts_with("http://127.0.0.2:9/")), "{targets:?}");
    let urls: Vec<String> =
        read_jsonl(&snap.join("documents.jsonl")).iter().map(|d| d["url"].as_str().unwrap().to_owned()).collect();
    assert_eq!(urls, [B, C]);
    assert_eq!((summary.documents, summary.reports, summary.fetches), (2, 1, 3));
    assert!(!summary.empty);
    assert_manifest_holds(&snap, &summary);
}

#[test]
fn since_keeps_later_fetches_and_documents_and_revisits_stay_resolvable() {
    let ar = archive();
    let out = tempfile::tempdir().unwrap();
    let snap = out.path().join("march");
    let summary = run(&ar, &snap, &[], Some("2026-03-05")).unwrap();
    let records = read_warc(&snap.join("archive.warc.gz"));
    let dates: Vec<&str> = records[1..].iter().map(|r| r.get("WARC-Date").unwrap()).collect();
    assert!(dates.iter().all(|d| *d >= "2026-03-05"), "{dates:?}");
    assert_eq!(summary.fetches, 4, "A's second version, its refetch, its 304, the alias");
    let urls: Vec<String> =
        read_jsonl(&snap.join("documents.jsonl")).iter().map(|d| d["url"].as_str().unwrap().to_owned()).collect();
    assert_eq!(urls, [A], "only the document whose newest version is that recent");
    assert_eq!(summary.reports, 1);

    // Without the second version's response in the file, the refetch carries the body itself and
    // the 304 refers to it: every revisit points into the same file.
    let later = out.path().join("april");
    run(&ar, &later, &[], Some("2026-04-01")).unwrap();
    let records = read_warc(&later.join("archive.warc.gz"));
    let kinds: Vec<&str> = records.iter().map(|r| r.kind()).collect();
    assert_eq!(kinds, ["warcinfo", "request", "response", "request", "revisit", "request", "response"]);
    let (_, payload) = records[2].http();
    assert_eq!(payload, ar.bodies["a3"].as_slice());
    assert_eq!(records[4].get("WARC-Refers-To"), records[2].get("WARC-Record-ID"));
    let ids: Vec<&str> = records.iter().map(|r| r.get("WARC-Record-ID").unwrap()).collect();
    for r in &records {
        if let Some(target) = r.get("WARC-Refers-To") {
            assert!(ids.contains(&target));
        }
    }
    assert!(read_jsonl(&later.join("documents.jsonl")).is_empty());
}

#[test]
fn an_empty_selection_writes_a_valid_empty_snapshot() {
    let ar = archive();
    let out = tempfile::tempdir().unwrap();
    let snap = out.path().join("none");
    let summary = run(&ar, &snap, &["nowhere"], None).unwrap();
    assert!(summary.empty);
    assert_eq!((summary.documents, summary.reports, summary.warc_records), (0, 0, 1));
    let records = read_warc(&snap.join("archive.warc.gz"));
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].kind(), "warcinfo");
    assert_eq!(std::fs::read(snap.join("documents.jsonl")).unwrap(), b"");
    let csv = std::fs::read_to_string(snap.join("reports.csv")).unwrap();
    let rows = read_csv(csv.trim_start_matches('\u{feff}'));
    assert_eq!(rows, [expected_header()]);
    assert_manifest_holds(&snap, &summary);
    assert!(run(&ar, &out.path().join("later"), &[], Some("2030-01-01")).unwrap().empty);
}

fn unpack(file: &Path) -> (tempfile::TempDir, Vec<String>) {
    let data = std::fs::read(file).unwrap();
    let reader: Box<dyn Read> = if file.to_string_lossy().ends_with(".tar.zst") {
        Box::new(zstd::stream::read::Decoder::new(&data[..]).unwrap())
    } else {
        Box::new(flate2::read::GzDecoder::new(&data[..]))
    };
    let dir = tempfile::tempdir().unwrap();
    let mut archive = tar::Archive::new(reader);
    let mut names = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        names.push(entry.path().unwrap().to_string_lossy().into_owned());
        entry.unpack_in(dir.path()).unwrap();
    }
    (dir, names)
}

#[test]
fn packed_snapshots_unpack_into_a_directory_the_manifest_vouches_for() {
    let ar = archive();
    let out = tempfile::tempdir().unwrap();
    let plain = out.path().join("plain");
    run(&ar, &plain, &[], None).unwrap();
    for name in ["nianbao-2026-11.tar.gz", "nianbao-2026-11.tar.zst"] {
        let file = out.path().join(name);
        let summary = run(&ar, &file, &[], None).unwrap();
        assert!(file.is_file());
        let (dir, names) = unpack(&file);
        assert_eq!(
            names,
            [
                "nianbao-2026-11/",
                "nianbao-2026-11/manifest.json",
                "nianbao-2026-11/archive.warc.gz",
                "nianbao-2026-11/documents.jsonl",
                "nianbao-2026-11/reports.csv"
            ]
        );
        let snap = dir.path().join("nianbao-2026-11");
        assert_manifest_holds(&snap, &summary);
        for same in ["documents.jsonl", "reports.csv"] {
            assert_eq!(std::fs::read(snap.join(same)).unwrap(), std::fs::read(plain.join(same)).unwrap());
        }
        assert_eq!(warc_targets(&snap), warc_targets(&plain));
        // Exporting again replaces the packed file in one step.
        run(&ar, &file, &["tj"], None).unwrap();
        let (dir, _) = unpack(&file);
        assert_eq!(read_jsonl(&dir.path().join("nianbao-2026-11/documents.jsonl")).len(), 2);
    }
    let mut left: Vec<String> =
        std::fs::read_dir(out.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    left.sort();
    assert_eq!(left, ["nianbao-2026-11.tar.gz", "nianbao-2026-11.tar.zst", "plain"], "no temporary files left");
}

#[test]
fn a_non_empty_target_directory_is_refused() {
    let ar = archive();
    let out = tempfile::tempdir().unwrap();
    let snap = out.path().join("old");
    std::fs::create_dir(&snap).unwrap();
    std::fs::write(snap.join("archive.warc.gz"), b"an older snapshot").unwrap();
    let err = run(&ar, &snap, &[], None).unwrap_err();
    assert!(matches!(err, ExportError::NotEmpty { .. }), "{err}");
    assert!(err.to_string().contains(&snap.display().to_string()), "{err}");
    assert_eq!(std::fs::read(snap.join("archive.warc.gz")).unwrap(), b"an older snapshot");
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 1, "no staging left");
    let empty = out.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    run(&ar, &empty, &[], None).unwrap();
    assert!(empty.join("manifest.json").is_file(), "an empty directory is filled");
    let err = run(&ar, &out.path().join("empty.tar.gz"), &[], None);
    assert!(err.is_ok());
    std::fs::create_dir(out.path().join("dir.tar.gz")).unwrap();
    assert!(matches!(run(&ar, &out.path().join("dir.tar.gz"), &[], None), Err(ExportError::IsADirectory { .. })));
}

#[test]
fn a_missing_body_is_an_error_naming_the_fetch() {
    let ar = archive();
    let mut orphan = ar.fetches["b"].clone();
    orphan.id = ar.store.next_id().unwrap();
    orphan.portal = "lost".into();
    orphan.same_as = None;
    orphan.body_sha256 = Some("00".repeat(32));
    ar.commit(orphan.clone(), Vec::new(), None);
    let out = tempfile::tempdir().unwrap();
    let err = run(&ar, &out.path().join("lost"), &["lost"], None).unwrap_err();
    assert!(matches!(&err, ExportError::MissingBlob { url, .. } if url == B), "{err}");
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0, "a failed export leaves nothing");
}

/// Shared by the property test's cases: one archive, one portal per case.
fn shared_store() -> &'static (tempfile::TempDir, Store) {
    static STORE: std::sync::OnceLock<(tempfile::TempDir, Store)> = std::sync::OnceLock::new();
    STORE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db")).unwrap();
        (dir, store)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Whatever the server sent (odd header names and values, any status, any bytes), the WARC
    /// reads back record by record with exact lengths and digests and the body intact.
    #[test]
    fn any_exchange_reads_back_intact(
        headers in proptest::collection::vec(("[A-Za-z-]{1,12}", "\\PC{0,24}"), 0..6),
        status in 100u16..600,
        body in proptest::collection::vec(any::<u8>(), 0..2048),
        path in "[a-z0-9/?=&%]{0,30}",
        version in prop_oneof![Just("HTTP/1.1"), Just("HTTP/2.0"), Just("1.0"), Just("")],
    ) {
        let (_, store) = shared_store();
        let id = store.next_id().unwrap();
        let portal = format!("p{id}");
        let url = format!("http://127.0.0.3:9/{path}");
        let fetch = FetchRecord {
            id, portal: portal.clone(), url: url.clone(), final_url: url.clone(), redirects: Vec::new(),
            method: "GET".into(), request_headers: headers.clone(), request_body: None, status,
            http_version: version.into(), headers: headers.clone(), fetched_at: Utc::now(),
            body_sha256: Some(store.put_blob(&body).unwrap()), body_sha1: Some(sha1_b32(&body)),
            body_len: body.len() as u64, same_as: None, remote_ip: None,
        };
        store.commit(Commit { fetch: Some(fetch), ..Commit::default() }).unwrap();
        let out = tempfile::tempdir().unwrap();
        let snap: PathBuf = out.path().join("s");
        export::export(store, &ExportOptions { out: snap.clone(), portals: vec![portal], since: None }).unwrap();
        let records = read_warc(&snap.join("archive.warc.gz"));
        prop_assert_eq!(records.len(), 3);
        let (head, payload) = records[2].http();
        prop_assert_eq!(payload, body.as_slice());
        prop_assert_eq!(head.lines().count(), headers.len() + 2, "one line per header: {:?}", head);
        let digest = format!("sha1:{}", sha1_b32(&body));
        prop_assert_eq!(records[2].get("WARC-Payload-Digest"), Some(digest.as_str()));
    }
}
