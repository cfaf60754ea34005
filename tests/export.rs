//! Archive snapshots end to end: an archive built record by record in a temporary store (two
//! portals; a redirect, a POST, a 304, an unchanged refetch, a GBK page, a gzip-encoded body, an
//! attachment, a document with two versions and an alias, reports of both layouts with nulls and
//! failed checks), exported, then read back with readers written only for these tests.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use nianbao::export::{self, ExportError, ExportOptions, ExportSummary};
use nianbao::store::{Commit, FetchRecord, Store};
use proptest::prelude::*;
use serde_json::{json, Value};

#[path = "export/archive.rs"]
mod archive;

use archive::*;

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

/// The whole archive exported to a directory, and its WARC read back.
fn exported_warc() -> (Archive, ExportSummary, Vec<WarcRecord>, tempfile::TempDir) {
    let ar = archive();
    let out = tempfile::tempdir().unwrap();
    let snap = out.path().join("snap");
    let summary = run(&ar, &snap, &[], None).unwrap();
    let records = read_warc(&snap.join("archive.warc.gz"));
    (ar, summary, records, out)
}

fn by_target<'r>(records: &'r [WarcRecord], kind: &str, uri: &str) -> Vec<&'r WarcRecord> {
    records.iter().filter(|r| r.kind() == kind && r.get("WARC-Target-URI") == Some(uri)).collect()
}

fn at_date<'r>(records: &'r [WarcRecord], kind: &str, date: &str) -> &'r WarcRecord {
    records.iter().find(|r| r.kind() == kind && r.get("WARC-Date") == Some(date)).unwrap()
}

#[test]
fn warc_records_are_well_formed_and_requests_pair_with_their_answers() {
    let (_ar, summary, records, _out) = exported_warc();
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
}

#[test]
fn warc_responses_hold_bodies_and_requests_exactly_as_exchanged() {
    let (ar, _summary, records, _out) = exported_warc();
    // A full response: the GBK page's bytes exactly as received, digests over them.
    let a1 = &ar.fetches["a1"];
    let resp = at_date(&records, "response", "2026-01-10T08:00:05Z");
    let (head, payload) = resp.http();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=gbk\r\nContent-Length: "), "{head}");
    assert_eq!(payload, ar.bodies["a1"].as_slice());
    assert_eq!(resp.get("WARC-Payload-Digest"), Some(format!("sha1:{}", a1.body_sha1.as_ref().unwrap()).as_str()));
    assert_eq!(resp.get("WARC-IP-Address"), Some("127.0.0.1"));
    assert_eq!(resp.get("WARC-Target-URI"), Some(A));

    // Content-Encoding bodies stay encoded; chunked is renamed away.
    let a2_resp = at_date(&records, "response", "2026-03-05T08:00:00Z");
    let (head, payload) = a2_resp.http();
    assert!(head.contains("\r\nContent-Encoding: gzip\r\n"));
    assert_eq!(payload, ar.bodies["a2"].as_slice());
    let list_resp = &by_target(&records, "response", &format!("{CQ}index.html"))[0];
    let (head, _) = list_resp.http();
    assert!(head.contains("\r\nX-Archive-Orig-Transfer-Encoding: chunked\r\n"), "{head}");
    assert!(!head.to_ascii_lowercase().contains("\r\ntransfer-encoding"), "{head}");

    // The redirect: a metadata record under the requested URL, beside the final response.
    let meta = &by_target(&records, "metadata", CQ)[0];
    assert_eq!(meta.get("WARC-Concurrent-To"), list_resp.get("WARC-Record-ID"));
    assert_eq!(meta.get("Content-Type"), Some("application/warc-fields"));
    let text = String::from_utf8(meta.block.clone()).unwrap();
    assert!(text.contains(&format!("redirect: 302 {CQ} {CQ}index.html\r\n")), "{text}");

    // The POST, with its body.
    let post = &by_target(&records, "request", TJ_PROXY)[0];
    let (head, body) = post.http();
    assert!(head.starts_with("POST /module/web/jpage/dataproxy.jsp HTTP/1.1\r\nhost: 127.0.0.2:9\r\n"), "{head}");
    assert_eq!(body, b"webid=1&columnid=2&page=1");
    assert_eq!(post.get("WARC-Payload-Digest"), Some(format!("sha1:{}", sha1_b32(body)).as_str()));
    let get = &by_target(&records, "request", A)[0];
    assert!(get.http().0.starts_with("GET /cq/nb/t20230131_1.html HTTP/1.1\r\n"));

    // The attachment is a response too.
    let (_, pdf) = by_target(&records, "response", A_PDF)[0].http();
    assert_eq!(pdf, ar.bodies["pdf"].as_slice());
}

#[test]
fn unchanged_refetches_and_304s_are_revisits_of_the_response_holding_the_body() {
    let (_ar, _summary, records, _out) = exported_warc();
    let a2_resp = at_date(&records, "response", "2026-03-05T08:00:00Z");
    // The unchanged refetch and the 304 are revisits of the second version's response.
    let revisits = by_target(&records, "revisit", A);
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
    // A figure both layouts have (licensing/punishment/enforcement decisions) is one column.
    for (item, fields) in l2021.iter().chain(l2019) {
        for name in fields.iter().map(|f| format!("active_disclosure.{item}.{f}")) {
            if !h.contains(&name) {
                h.push(name);
            }
        }
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
    assert_eq!(one(a, "year"), "2023", "the statistics period of the report's text");
    assert_eq!(one(a, "format"), "2021");
    assert_eq!(one(b, "agency"), "天津市某区,试点局", "a field with a comma is quoted and read back whole");
    assert_eq!(one(b, "format"), "2019");

    // Every figure is the report's own (documents.jsonl carries the same report), null an empty cell.
    let docs = read_jsonl(&snap.join("documents.jsonl"));
    for (row, url) in [(a, A), (b, B)] {
        let report = &docs.iter().find(|d| d["url"] == url).unwrap()["report"];
        for (key, column) in ROWS.iter().flat_map(|k| COLUMNS.iter().enumerate().map(move |c| (k, c))) {
            let cell = one(row, &format!("applications.{key}.{}", column.1));
            match &report["applications"]["rows"][key][column.0] {
                Value::Null => assert_eq!(cell, "", "null is an empty cell"),
                v => assert_eq!(cell, v.to_string()),
            }
        }
        let failed: Vec<String> = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["ok"] == false)
            .map(|c| match c["at"].as_str() {
                Some(at) => format!("{}[{at}]", c["rule"].as_str().unwrap()),
                None => c["rule"].as_str().unwrap().to_owned(),
            })
            .collect();
        assert_eq!(one(row, "checks_failed"), failed.join(";"));
    }
    // Figures of the two fixtures (tests/fixtures/parser), read through the CSV.
    assert_eq!(one(a, "applications.new_received.total"), "10");
    assert_eq!(one(a, "applications.granted.commercial"), "1");
    assert_eq!(one(b, "applications.new_received.natural_person"), "1598");
    assert_eq!(one(b, "review_litigation.litigation_after_review.total"), "4");
    assert_eq!(
        one(a, "checks_failed"),
        "applications.row_sum[granted];applications.results_sum[total];review_litigation.group_sum[review];narrative.new_received"
    );
    assert_eq!(one(b, "checks_failed"), "");
    // Each report fills its own layout's active-disclosure columns only.
    assert_eq!(one(a, "active_disclosure.normative_documents.in_force"), "17");
    assert_eq!(one(a, "active_disclosure.fees.amount_wan_yuan"), "12.75");
    assert_eq!(a["active_disclosure.licensing.decisions"], ["1386"]);
    assert_eq!(a["active_disclosure.enforcement.decisions"], [""], "null stays empty");
    assert_eq!(one(a, "active_disclosure.procurement.amount"), "");
    assert_eq!(one(b, "active_disclosure.regulations.issued"), "");
    assert_eq!(b["active_disclosure.licensing.decisions"], ["12883"], "the shared column, filled by a 2019 report");
    assert_eq!(one(b, "active_disclosure.punishment.change"), "1036");
    assert_eq!(one(b, "active_disclosure.other_services.decisions"), "");
    assert_eq!(one(b, "active_disclosure.procurement.amount"), "251.36");
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
    orphan.body_sha256 = Some("00".repeat(32));
    ar.commit(&orphan, Vec::new(), None);
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
            body_sha256: Some(nianbao::store::sha256_hex(&body)), body_sha1: Some(sha1_b32(&body)),
            body_len: body.len() as u64, same_as: None, remote_ip: None,
        };
        store.commit(Commit { fetch: Some(fetch), body: Some(body.clone()), ..Commit::default() }).unwrap();
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
