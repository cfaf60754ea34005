use super::*;
use crate::document::{Block, Document};
use chrono::Utc;

fn entry(url: &str, kind: PageKind) -> FrontierEntry {
    FrontierEntry { url: url.into(), portal: "p".into(), kind, parent: None, name: None, barren: 0, form: None }
}

fn page(url: &str) -> PageRecord {
    PageRecord::new(url, "p", PageKind::Report)
}

/// A fetch of `url` with `body`, as the crawl records one.
fn fetch(id: u64, url: &str, body: &[u8]) -> FetchRecord {
    FetchRecord {
        id,
        portal: "p".into(),
        url: url.into(),
        final_url: url.into(),
        redirects: Vec::new(),
        method: "GET".into(),
        request_headers: vec![("user-agent".into(), "nianbao-test".into())],
        request_body: None,
        status: 200,
        http_version: "HTTP/1.1".into(),
        headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
        fetched_at: Utc::now(),
        body_sha256: Some(sha256_hex(body)),
        body_sha1: None,
        body_len: body.len() as u64,
        same_as: None,
        remote_ip: None,
    }
}

/// A report page of a portal: shared chrome and table labels, its own agency and figures.
fn report_html(n: u64) -> String {
    let rows: String = (0..26)
        .map(|r| format!("<tr><td>第{r}行 政府信息公开申请情况</td><td>{}</td><td>{}</td></tr>", n * 7 + r, n + r))
        .collect();
    format!(
        "<html><head><title>第{n}局2023年政府信息公开工作年度报告</title><link href=\"/css/main.css\"></head>\
         <body><div class=\"nav\">首页 政务公开 互动交流 办事服务 走进本市</div><table>{rows}</table>\
         <div class=\"footer\">主办单位：某市人民政府办公室 版权所有 网站标识码：5000000001 渝ICP备05003300号</div>\
         </body></html>"
    )
}

/// Commits report page `n` of host a.gov.cn the way the crawl does: fetch, body, page, version.
fn commit_report(store: &Store, n: u64) -> String {
    let (url, commit) = report_commit(n);
    store.commit(commit).unwrap();
    url
}

/// What the crawl commits for report page `n`: its URL and the commit.
fn report_commit(n: u64) -> (String, Commit) {
    let url = format!("http://a.gov.cn/nb/t{n}.html");
    let body = report_html(n).into_bytes();
    let mut p = page(&url);
    p.media_type = Some("text/html".into());
    p.body_sha256 = Some(sha256_hex(&body));
    p.versions = 1;
    let document = Document {
        title: Some(format!("第{n}局2023年政府信息公开工作年度报告")),
        blocks: vec![Block::Paragraph(format!("本年度共收到申请{}件。", n * 7))],
        ..Document::default()
    };
    let version = VersionRecord {
        n: 1,
        fetch_id: n,
        fetched_at: Utc::now(),
        body_sha256: sha256_hex(&body),
        text_sha256: sha256_hex(document.text().as_bytes()),
        document,
        report: None,
    };
    let commit = Commit {
        fetch: Some(fetch(n, &url, &body)),
        body: Some(body),
        pages: vec![p],
        version: Some(version),
        version_url: Some(url.clone()),
        ..Commit::default()
    };
    (url, commit)
}

#[test]
fn blobs_are_content_addressed_and_verified() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap();
    let body = "年报正文".as_bytes();
    let a = sha256_hex(body);
    for id in [1, 2] {
        let commit = Commit {
            fetch: Some(fetch(id, "http://a.gov.cn/1.pdf", body)),
            body: Some(body.to_vec()),
            ..Commit::default()
        };
        store.commit(commit).unwrap();
    }
    assert_eq!(store.blobs.len(), 1, "an identical body is kept once");
    assert_eq!(store.bodies.len(), 1);
    assert_eq!(store.blob(&a).unwrap().unwrap(), body);
    assert!(store.verify_blobs().all(|r| r.unwrap().1));
    store.blobs.insert(a.as_bytes(), zstd::bulk::compress(b"tampered", 3).unwrap()).unwrap();
    assert!(!store.verify_blobs().next().unwrap().unwrap().1);
}

#[test]
fn bodies_are_kept_by_the_fetch_that_brought_them_and_checked_there() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap();
    let bodies: Vec<Vec<u8>> = (0..3).map(|n| format!("<html>年报 {n}</html>").into_bytes()).collect();
    for (id, body) in [9u64, 4, 17].into_iter().zip(&bodies) {
        let commit = Commit {
            fetch: Some(fetch(id, &format!("http://a.gov.cn/{id}.html"), body)),
            body: Some(body.clone()),
            ..Commit::default()
        };
        store.commit(commit).unwrap();
    }
    // Appended by fetch id, whatever their digests: the body of fetch 4 sorts first.
    let keys: Vec<u64> =
        store.bodies.iter().keys().map(|k| u64::from_be_bytes(k.unwrap().as_ref().try_into().unwrap())).collect();
    assert_eq!(keys, [4, 9, 17]);
    let entry = store.blobs.get(sha256_hex(&bodies[0]).as_bytes()).unwrap().unwrap();
    assert_eq!(entry.as_ref(), [&[BODY_REF][..], &9u64.to_be_bytes()].concat(), "the digest points at fetch 9's body");
    for body in &bodies {
        assert_eq!(store.blob(&sha256_hex(body)).unwrap().unwrap(), *body);
    }
    assert!(store.verify_blobs().all(|r| r.unwrap().1));
    // A body damaged where it lies, or gone, fails verification, and reading it names the digest.
    let damaged = sha256_hex(&bodies[1]);
    store.bodies.insert(4u64.to_be_bytes(), zstd::bulk::compress(b"tampered", 3).unwrap()).unwrap();
    store.bodies.remove(17u64.to_be_bytes()).unwrap();
    let failed: Vec<String> = store.verify_blobs().map(Result::unwrap).filter(|(_, ok)| !ok).map(|(k, _)| k).collect();
    assert_eq!(failed.len(), 2);
    assert!(failed.contains(&damaged));
    let missing = sha256_hex(&bodies[2]);
    let err = store.blob(&missing).unwrap_err().to_string();
    assert!(err.contains(&missing) && err.contains("missing"), "{err}");
}

#[test]
fn a_host_gets_a_dictionary_and_every_value_reads_back_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let urls: Vec<String> = {
        let store = Store::open(&path).unwrap();
        let urls = (1..=20).map(|n| commit_report(&store, n)).collect();
        assert_eq!(store.packer.host_dict("a.gov.cn").unwrap(), Some(1), "learnt from the first report");
        assert_eq!(store.packer.host_dict("b.gov.cn").unwrap(), None);
        // Later pages pack against it: far smaller than compressed on their own.
        let body = report_html(20).into_bytes();
        let entry = store.blobs.get(sha256_hex(&body).as_bytes()).unwrap().unwrap();
        let packed = store.bodies.get(body_ref(&entry).unwrap()).unwrap().unwrap();
        assert_eq!(packed[0], 0x01, "packed with a dictionary");
        let alone = zstd::bulk::compress(&body, 3).unwrap();
        assert!(packed.len() * 2 < alone.len(), "{} bytes with the dictionary, {} without", packed.len(), alone.len());
        urls
    };
    let store = reopen(&path);
    assert!(store.verify_blobs().all(|r| r.unwrap().1));
    for (n, url) in (1u64..).zip(&urls) {
        let held = store.page(url).unwrap().unwrap();
        assert_eq!(store.blob(held.body_sha256.as_deref().unwrap()).unwrap().unwrap(), report_html(n).into_bytes());
        assert_eq!(store.fetch(n).unwrap().unwrap().url, *url);
        let v = store.latest_version(url).unwrap().unwrap();
        assert_eq!(v.document.blocks, vec![Block::Paragraph(format!("本年度共收到申请{}件。", n * 7))]);
        assert!(v.report.is_some(), "the report is derived from the document (its title names it a 年度报告)");
        assert_eq!(v.report.unwrap()["year"], 2023);
    }
}

#[test]
fn values_written_by_the_previous_format_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap();
    let url = "http://old.gov.cn/nb/1.html";
    let body = b"<html>old</html>";
    let sha = sha256_hex(body);
    let mut p = page(url);
    p.body_sha256 = Some(sha.clone());
    // The previous format: plain JSON records, plain zstd bodies and versions (with a stored report).
    store.pages.insert(url.as_bytes(), encode_json(&p)).unwrap();
    store.fetches.insert(7u64.to_be_bytes(), encode_json(&fetch(7, url, body))).unwrap();
    store.blobs.insert(sha.as_bytes(), zstd::bulk::compress(body, 9).unwrap()).unwrap();
    let old_version = serde_json::json!({
        "n": 1, "fetch_id": 7, "fetched_at": "2024-01-20T09:30:00Z", "body_sha256": sha, "text_sha256": "t",
        "document": {"title": "关于印发工作方案的通知", "metadata": [], "blocks": []},
        "report": {"agency": "stale", "year": 1999},
    });
    let packed = zstd::bulk::compress(&serde_json::to_vec(&old_version).unwrap(), 9).unwrap();
    store.versions.insert(version_key(url, 1), packed).unwrap();
    assert_eq!(store.page(url).unwrap().unwrap(), p);
    assert_eq!(store.fetch(7).unwrap().unwrap().url, url);
    assert_eq!(store.blob(&sha).unwrap().unwrap(), body);
    assert!(store.verify_blobs().all(|r| r.unwrap().1), "a body kept in `blobs` itself verifies");
    let v = store.latest_version(url).unwrap().unwrap();
    assert_eq!(v.document.title.as_deref(), Some("关于印发工作方案的通知"));
    assert_eq!(v.report, None, "the stored report gives way to the current parser's reading: not a report");
}

#[test]
fn a_value_naming_a_missing_dictionary_is_reported_as_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap();
    store.pages.insert(b"http://a.gov.cn/x", &[0x01, 0, 0, 0, 9, 1, 2, 3][..]).unwrap();
    store.pages.insert(b"http://a.gov.cn/y", &[0x01, 0][..]).unwrap();
    for url in ["http://a.gov.cn/x", "http://a.gov.cn/y"] {
        match store.page(url) {
            Err(StoreError::Corrupt { what: "page", key, .. }) => assert_eq!(key, url),
            other => panic!("{url}: {other:?}"),
        }
    }
}

#[test]
fn frontier_is_per_host_deduplicated_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let store = Store::open(&path).unwrap();
        let commit = Commit {
            enqueue: vec![
                entry("http://a.gov.cn/1.html", PageKind::Report),
                entry("http://b.gov.cn/2.html", PageKind::Report),
                entry("http://a.gov.cn/1.html", PageKind::Report),
                entry("http://a.gov.cn/3.html", PageKind::Report),
            ],
            ..Commit::default()
        };
        store.commit(commit).unwrap();
        assert_eq!(store.pending_len(), 3);
        assert_eq!(store.pending_hosts().unwrap(), vec!["a.gov.cn", "b.gov.cn"]);
        let busy = Default::default();
        let next = store.next_pending("a.gov.cn", 10, &busy).unwrap();
        assert_eq!(
            next.iter().map(|(_, e)| e.url.as_str()).collect::<Vec<_>>(),
            ["http://a.gov.cn/1.html", "http://a.gov.cn/3.html"]
        );
        let mut done = page("http://a.gov.cn/1.html");
        done.versions = 1;
        let version = VersionRecord {
            n: 1,
            fetch_id: 7,
            fetched_at: Utc::now(),
            body_sha256: "b".into(),
            text_sha256: "t".into(),
            document: Document {
                title: Some("年报".into()),
                blocks: vec![Block::Paragraph("正文".into())],
                ..Document::default()
            },
            report: None,
        };
        store
            .commit(Commit {
                pages: vec![done],
                version: Some(version),
                version_url: Some("http://a.gov.cn/1.html".into()),
                done: Some(next[0].0.clone()),
                ..Commit::default()
            })
            .unwrap();
        assert_eq!(store.pending_len(), 2);
        assert!(store.seen("http://a.gov.cn/1.html").unwrap());
    }
    let store = reopen(&path);
    assert_eq!(store.pending_len(), 2);
    assert_eq!(store.page("http://a.gov.cn/1.html").unwrap().unwrap().versions, 1);
    let v = store.latest_version("http://a.gov.cn/1.html").unwrap().unwrap();
    assert_eq!(v.document.title.as_deref(), Some("年报"));
    assert_eq!(store.url_for_text("t").unwrap().as_deref(), Some("http://a.gov.cn/1.html"));
    assert!(store.latest_version("http://a.gov.cn/1").unwrap().is_none(), "prefix of another URL is not a match");
}

fn reopen(path: &Path) -> Store {
    Store::open_released_with_cache(path, CACHE_BYTES).expect("the archive is released within 2 s")
}

/// A tree's name and its keys and values, in order.
type TreeContents = (Vec<u8>, Vec<(Vec<u8>, Vec<u8>)>);

/// Every tree's keys and values but the records compaction itself writes in `meta`.
fn contents(store: &Store) -> Vec<TreeContents> {
    let mut names = store.db.tree_names();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let tree = store.db.open_tree(&name).unwrap();
            let items = tree
                .iter()
                .map(|item| item.unwrap())
                .filter(|(key, _)| !(name == b"meta" && [&b"id_base"[..], b"compacted"].contains(&key.as_ref())))
                .map(|(key, value)| (key.to_vec(), value.to_vec()))
                .collect();
            (name.to_vec(), items)
        })
        .collect()
}

/// An archive with reports, a frontier and a portal record, written as a crawl writes: every
/// report's commit completes its frontier entry and queues the next pages.
fn crawled_archive(path: &Path, reports: u64) -> Store {
    let store = Store::open(path).unwrap();
    let busy = Default::default();
    let first = vec![entry("http://a.gov.cn/nb/t1.html", PageKind::Report)];
    store.commit(Commit { enqueue: first, ..Commit::default() }).unwrap();
    for n in 1..=reports {
        let (_, mut commit) = report_commit(n);
        commit.done = store.next_pending("a.gov.cn", 1, &busy).unwrap().first().map(|(key, _)| key.clone());
        commit.enqueue =
            (n + 1..n + 4).map(|m| entry(&format!("http://a.gov.cn/nb/t{m}.html"), PageKind::Report)).collect();
        store.commit(commit).unwrap();
    }
    let run = RunRecord {
        id: 1,
        started_at: Utc::now(),
        mode: "crawl".into(),
        portals: vec!["p".into()],
        since: None,
        finished_at: None,
    };
    // The run's frontier had grown far beyond what it fetched (a search page's endless links, say);
    // the next run starts by dropping it, and the space it took stays in the file.
    for batch in 0..reports / 50 {
        let urls = (0..1000).map(|i| entry(&format!("http://a.gov.cn/search?q={batch}&page={i}"), PageKind::List));
        store.commit(Commit { enqueue: urls.collect(), ..Commit::default() }).unwrap();
    }
    store.start_run(&run).unwrap();
    // The next run revalidates every report: a fetch record and a checked page each.
    for n in 1..=reports {
        let (url, commit) = report_commit(n);
        let mut page = commit.pages[0].clone();
        page.last_checked = Some(Utc::now());
        let fetch = FetchRecord { id: store.next_id().unwrap(), status: 304, ..commit.fetch.unwrap() };
        store.commit(Commit { fetch: Some(fetch), pages: vec![page], ..Commit::default() }).unwrap();
        assert_eq!(store.versions(&url).unwrap().len(), 1);
    }
    // ... and was stopped with work left.
    let left = vec![entry("http://a.gov.cn/nb/next.html", PageKind::List)];
    store.commit(Commit { enqueue: left, ..Commit::default() }).unwrap();
    store.put_portal_record("p", &PortalRecord::default()).unwrap();
    store
}

#[test]
fn compaction_keeps_every_record_gives_back_space_and_ids_keep_increasing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let store = crawled_archive(&path, 1500);
    let held = contents(&store);
    let last_id = store.next_id().unwrap();
    drop(store);

    let done = compact(&path).unwrap();
    assert!(done.swapped && done.copy < done.before, "{done:?}");
    assert!(!compact_path(&path).exists(), "the old database is removed");
    let store = reopen(&path);
    assert!(contents(&store) == held, "every tree holds what it held");
    assert!(store.verify_blobs().all(|r| r.unwrap().1));
    assert_eq!(store.pending_len(), 1);
    assert!(store.seen("http://a.gov.cn/nb/next.html").unwrap());
    let v = store.latest_version("http://a.gov.cn/nb/t7.html").unwrap().unwrap();
    assert_eq!(v.document.title.as_deref(), Some("第7局2023年政府信息公开工作年度报告"));
    let first_after = store.next_id().unwrap();
    assert!(first_after > last_id, "{first_after} after {last_id}: a new fetch must not overwrite an old one");
    drop(store);

    compact(&path).unwrap();
    let store = reopen(&path);
    assert!(store.next_id().unwrap() > first_after, "and again after a second compaction");
    assert!(contents(&store) == held);
}

#[test]
fn a_crawl_compacts_only_once_the_archive_has_grown() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    drop(crawled_archive(&path, 50));
    let first = compact_if_grown(&path).unwrap();
    assert!(first.is_some(), "a never compacted archive is compacted");
    assert_eq!(compact_if_grown(&path).unwrap(), None, "unchanged since");
    let store = reopen(&path);
    for n in 51..=400 {
        commit_report(&store, n);
    }
    assert!(store.size_on_disk().unwrap() as f64 > first.unwrap().copy.min(first.unwrap().before) as f64 * GROWTH);
    drop(store);
    assert!(compact_if_grown(&path).unwrap().is_some(), "grown past {GROWTH}×");
}

#[test]
fn a_copy_no_smaller_than_the_archive_is_thrown_away() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let store = crawled_archive(&path, 5);
    let held = contents(&store);
    drop(store);
    let done = compact(&path).unwrap();
    assert!(!done.swapped && done.copy >= done.before, "one log segment either way: {done:?}");
    assert!(!compact_path(&path).exists());
    assert!(contents(&reopen(&path)) == held);
    assert_eq!(compact_if_grown(&path).unwrap(), None, "not tried again before the archive grows");
}

#[test]
fn a_leftover_of_an_interrupted_compaction_is_removed_and_the_archive_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let store = crawled_archive(&path, 20);
    let held = contents(&store);
    // A crash after the swap leaves the old database at <db>.compact; one before it, the copy.
    store.copy_to(&compact_path(&path)).unwrap();
    drop(store);
    std::fs::write(compact_path(&path).join("partial"), b"x").unwrap();
    compact_if_grown(&path).unwrap();
    assert!(!compact_path(&path).exists());
    assert!(contents(&reopen(&path)) == held);
}

#[test]
fn an_archive_open_elsewhere_is_not_compacted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let store = crawled_archive(&path, 20);
    let held = contents(&store);
    assert!(matches!(compact(&path), Err(StoreError::InUse { .. })));
    assert!(!compact_path(&path).exists());
    assert!(contents(&store) == held);
}

#[test]
fn an_archive_linked_from_elsewhere_is_compacted_where_it_lives() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("big-disk").join("db");
    let link = dir.path().join("db");
    let store = crawled_archive(&real, 200);
    let held = contents(&store);
    drop(store);
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let done = compact(&link).unwrap();
    assert!(done.swapped);
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link is left as it was");
    assert!(!compact_path(&link).exists() && !compact_path(&real).exists());
    assert!(contents(&reopen(&link)) == held);
    assert!(std::fs::read_dir(dir.path()).unwrap().count() == 2, "nothing was built beside the link");
}

#[test]
fn compacting_a_missing_archive_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    assert!(matches!(compact(&path), Err(StoreError::Compact { .. })));
    assert!(matches!(compact_if_grown(&path), Err(StoreError::Compact { .. })));
    assert!(!path.exists());
}

proptest::proptest! {
    /// Whatever bytes a damaged archive holds, reading them gives a value or an error, never a panic
    /// (nor an allocation of the size a damaged zstd header claims).
    #[test]
    fn damaged_values_never_panic(tag in 0usize..4, rest in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db")).unwrap();
        let url = commit_report(&store, 1);
        // The last head: packed against the body report 1 holds, then anything.
        let body_sha = data_encoding::HEXLOWER.decode(sha256_hex(report_html(1).as_bytes()).as_bytes()).unwrap();
        let against = [&[0x03u8][..], &body_sha].concat();
        let head: &[u8] = [&[0x01u8, 0, 0, 0, 1][..], &[0x28, 0xb5, 0x2f, 0xfd][..], &[][..], &against[..]][tag];
        let value = [head, &rest].concat();
        store.pages.insert(b"http://a.gov.cn/x", value.as_slice()).unwrap();
        store.blobs.insert(b"x", value.as_slice()).unwrap();
        store.versions.insert(version_key(&url, 2), value.as_slice()).unwrap();
        let _ = store.page("http://a.gov.cn/x");
        let _ = store.blob("x");
        let _ = store.latest_version(&url);
    }
}

/// Report `n`'s commit with every timestamp fixed, so that two archives written alike are
/// byte-for-byte alike.
fn fixed_report_commit(n: u64) -> Commit {
    let at = chrono::DateTime::from_timestamp(1_700_000_000 + n as i64, 0).unwrap();
    let (_, mut commit) = report_commit(n);
    if let Some(f) = commit.fetch.as_mut() {
        f.fetched_at = at;
    }
    if let Some(v) = commit.version.as_mut() {
        v.fetched_at = at;
    }
    for page in &mut commit.pages {
        page.first_seen = at;
    }
    commit
}

/// Writes `reports` pages the way the crawl does, each completing the frontier entry the
/// archive hands out next and queueing the next three, staged or committed one by one.
fn write_crawl(store: &Store, reports: u64, staged: bool) {
    let busy = Default::default();
    let first = vec![entry("http://a.gov.cn/nb/t1.html", PageKind::Report)];
    store.commit(Commit { enqueue: first, ..Commit::default() }).unwrap();
    for n in 1..=reports {
        let mut commit = fixed_report_commit(n);
        let (key, next) = store.next_pending("a.gov.cn", 1, &busy).unwrap().remove(0);
        assert_eq!(next.url, format!("http://a.gov.cn/nb/t{n}.html"), "the frontier hands out pages in order");
        commit.done = Some(key);
        commit.enqueue =
            (n + 1..n + 4).map(|m| entry(&format!("http://a.gov.cn/nb/t{m}.html"), PageKind::Report)).collect();
        if staged {
            store.stage(commit).unwrap();
        } else {
            store.commit(commit).unwrap();
        }
        assert_eq!(store.pending_len(), 3, "after page {n}");
    }
}

#[test]
fn staged_commits_write_the_same_archive_as_commits_one_by_one() {
    let dir = tempfile::tempdir().unwrap();
    let reports = 3 * group::GROUP_COMMITS as u64 + 5;
    let one_by_one = Store::open(&dir.path().join("one")).unwrap();
    write_crawl(&one_by_one, reports, false);
    let grouped = Store::open(&dir.path().join("grouped")).unwrap();
    write_crawl(&grouped, reports, true);
    assert!(!grouped.group().is_empty(), "the last pages are still staged");
    grouped.settle().unwrap();
    assert!(grouped.group().is_empty());
    assert!(contents(&grouped) == contents(&one_by_one), "every tree holds the same keys and values");
}

#[test]
fn a_staged_commit_is_read_at_once_and_written_when_the_group_is_full() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap();
    store.group().max_age = std::time::Duration::MAX;
    let first = fixed_report_commit(1);
    let url = first.version_url.clone().unwrap();
    let body_sha = first.fetch.as_ref().unwrap().body_sha256.clone().unwrap();
    let text_sha = first.version.as_ref().unwrap().text_sha256.clone();
    store.stage(Commit { enqueue: vec![entry("http://b.gov.cn/x.html", PageKind::List)], ..first }).unwrap();

    assert_eq!(store.page(&url).unwrap().unwrap().versions, 1);
    assert_eq!(store.fetch(1).unwrap().unwrap().url, url);
    assert_eq!(store.blob(&body_sha).unwrap().unwrap(), report_html(1).into_bytes());
    assert_eq!(store.url_for_text(&text_sha).unwrap().as_deref(), Some(url.as_str()));
    assert_eq!(store.latest_text_sha256(&url).unwrap(), Some(text_sha));
    assert_eq!(store.versions(&url).unwrap().len(), 1);
    assert_eq!(store.pages().count(), 1);
    assert_eq!(store.fetches().count(), 1);
    assert!(store.seen("http://b.gov.cn/x.html").unwrap());
    assert_eq!(store.pending_hosts().unwrap(), ["b.gov.cn"]);
    assert_eq!(store.pending_len(), 1);
    assert!(store.pages.get(url.as_bytes()).unwrap().is_none(), "not in sled yet");

    for n in 2..=group::GROUP_COMMITS as u64 {
        store.stage(fixed_report_commit(n)).unwrap();
    }
    assert!(store.pages.get(url.as_bytes()).unwrap().is_none(), "a full group waits for the next commit");
    store.stage(fixed_report_commit(1000)).unwrap();
    assert!(store.pages.get(url.as_bytes()).unwrap().is_some(), "the full group was written first");
    assert_eq!(store.pages.len(), group::GROUP_COMMITS);
    assert_eq!(store.pages().count(), group::GROUP_COMMITS + 1);
}

#[test]
fn a_group_lost_before_it_is_written_leaves_its_pages_pending() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let store = Store::open(&path).unwrap();
        write_crawl(&store, 3, false);
        let (key, _) = store.next_pending("a.gov.cn", 1, &Default::default()).unwrap().remove(0);
        store.stage(Commit { done: Some(key), ..fixed_report_commit(4) }).unwrap();
        assert_eq!(store.pending_len(), 2);
        // Dropped unflushed, as a killed run's store is.
    }
    let store = reopen(&path);
    assert!(store.page("http://a.gov.cn/nb/t4.html").unwrap().is_none(), "neither the page's results ...");
    assert_eq!(store.pending_len(), 3, "... nor the removal of its frontier entry");
    assert!(store.page("http://a.gov.cn/nb/t3.html").unwrap().is_some(), "committed pages are kept");
}

/// What `host_of` must always give: the host `url` parses out of the string.
fn parsed_host(url: &str) -> String {
    url::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default()
}

#[test]
fn host_of_reads_plain_urls_and_parses_the_rest() {
    for url in [
        "http://a.gov.cn/nb/t1.html",
        "https://ylbzj.cq.gov.cn:8443/x?y=1#z",
        "http://127.0.0.11:8080/nb/",
        "http://A.Gov.CN/",
        "http://127.1/",
        "http://0x7f.0.0.1/",
        "http://[::1]:80/",
        "http://user:pw@a.gov.cn/",
        "http://a.gov.cn:99999/",
        "http://a.gov.cn:080/",
        "http://xn--fiqs8s.cn/",
        "http://中国.cn/",
        "http://a.gov.cn./",
        "http://a..b/",
        "http:///x",
        "not a url",
        "http://a.gov.cn\\x",
    ] {
        assert_eq!(host_of(url), parsed_host(url), "{url}");
    }
    assert!(plain_host("http://a.gov.cn/nb/t1.html").is_some() && plain_host("http://127.0.0.11:8080/").is_some());
}

proptest::proptest! {
    #[test]
    fn host_of_agrees_with_url(
        host in "[a-zA-Z0-9.\\-]{0,12}|[0-9]{1,3}(\\.[0-9]{1,4}){0,4}|\\[[0-9a-f:]{2,8}\\]",
        port in proptest::option::of("[0-9]{0,6}"),
        rest in "[/?#\\\\a-z]{0,4}",
        https in proptest::bool::ANY,
    ) {
        let scheme = if https { "https" } else { "http" };
        let port = port.map(|p| format!(":{p}")).unwrap_or_default();
        let url = format!("{scheme}://{host}{port}{rest}");
        proptest::prop_assert_eq!(host_of(&url), parsed_host(&url), "{}", url);
    }
}

/// A page record as the crawl keeps it after checking the page at `checked` (seconds).
fn checked_page(url: &str, kind: PageKind, versions: u32, checked: Option<i64>) -> PageRecord {
    let mut p = PageRecord::new(url, "p", kind);
    p.versions = versions;
    p.last_checked = checked.map(|s| chrono::DateTime::from_timestamp(s, 0).unwrap());
    p
}

fn at(seconds: i64) -> chrono::DateTime<Utc> {
    chrono::DateTime::from_timestamp(seconds, 0).unwrap()
}

fn urls(pages: &[PageRecord]) -> Vec<&str> {
    pages.iter().map(|p| p.url.as_str()).collect()
}

#[test]
fn due_pages_are_the_held_pages_checked_by_the_cutoff_oldest_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap();
    let (a, b, c) = ("http://a.gov.cn/nb/a.html", "http://a.gov.cn/nb/b.html", "http://a.gov.cn/nb/c.pdf");
    let mut alias = checked_page("http://a.gov.cn/nb/a2.html", PageKind::Report, 1, Some(100));
    alias.alias_of = Some(a.into());
    let pages = vec![
        checked_page(b, PageKind::Report, 1, Some(300)),
        checked_page(a, PageKind::Report, 2, Some(200)),
        checked_page(c, PageKind::Attachment, 1, Some(250)),
        // Not held: a list page, an alias, a report that never yielded a version.
        checked_page("http://a.gov.cn/nb/", PageKind::List, 0, Some(100)),
        alias,
        checked_page("http://a.gov.cn/nb/x.html", PageKind::Report, 0, Some(100)),
    ];
    store.commit(Commit { pages, ..Commit::default() }).unwrap();
    assert_eq!(urls(&store.due_pages(at(199)).unwrap()), Vec::<&str>::new());
    assert_eq!(urls(&store.due_pages(at(250)).unwrap()), [a, c]);
    assert_eq!(urls(&store.due_pages(at(1000)).unwrap()), [a, c, b]);
    // `a` is checked again: only its new time counts, and its old entry goes when met.
    store.commit(Commit { pages: vec![checked_page(a, PageKind::Report, 2, Some(500))], ..Commit::default() }).unwrap();
    assert_eq!(store.due.len(), 4);
    assert_eq!(urls(&store.due_pages(at(400)).unwrap()), [c, b]);
    assert_eq!(store.due.len(), 3, "the entry under 200 was dropped");
    assert_eq!(urls(&store.due_pages(at(500)).unwrap()), [c, b, a]);
    // A report held from now on is indexed as it is committed (the index exists by now).
    let d = "http://a.gov.cn/nb/d.html";
    store.commit(Commit { pages: vec![checked_page(d, PageKind::Report, 1, Some(150))], ..Commit::default() }).unwrap();
    assert_eq!(urls(&store.due_pages(at(500)).unwrap()), [d, c, b, a]);
}

#[test]
fn an_archive_from_before_the_due_index_is_indexed_once_and_entries_follow_their_pages() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let (a, b, c) = ("http://a.gov.cn/nb/a.html", "http://a.gov.cn/nb/b.html", "http://a.gov.cn/nb/c.html");
    {
        let store = Store::open(&path).unwrap();
        // Written as an older nianbao did: page records only, one of them never checked.
        for p in [
            checked_page(a, PageKind::Report, 1, Some(200)),
            checked_page(b, PageKind::Report, 1, None),
            checked_page(c, PageKind::Attachment, 1, Some(50)),
        ] {
            store.pages.insert(p.url.as_bytes(), encode_json(&p)).unwrap();
        }
    }
    let store = reopen(&path);
    assert_eq!(urls(&store.due_pages(at(100)).unwrap()), [b, c], "never checked: always due, first");
    assert!(store.meta.get(DUE_INDEX_KEY).unwrap().is_some());
    assert_eq!(store.due.len(), 3);
    // A page changed behind the index's back (an older nianbao again) is found under its old
    // entry and moved to its own time.
    let moved = checked_page(a, PageKind::Report, 1, Some(300));
    store.pages.insert(a.as_bytes(), encode_json(&moved)).unwrap();
    assert_eq!(urls(&store.due_pages(at(250)).unwrap()), [b, c]);
    assert_eq!(urls(&store.due_pages(at(300)).unwrap()), [b, c, a]);
    assert_eq!(store.due.len(), 3);
}

#[test]
fn compaction_copies_the_largest_trees_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap();
    let names = |store: &Store| -> Vec<String> {
        compact::copy_order(&store.db).unwrap().iter().map(|n| String::from_utf8_lossy(n).into_owned()).collect()
    };
    // An archive from before `bodies`: its bodies are in `blobs`.
    let legacy = names(&store);
    assert_eq!(legacy[..6], ["versions", "blobs", "pages", "fetches", "texts", "due"]);
    commit_report(&store, 1);
    let current = names(&store);
    assert_eq!(current[..7], ["versions", "bodies", "pages", "fetches", "texts", "blobs", "due"]);
    let mut all = current.clone();
    all.sort();
    let mut sleds: Vec<String> =
        store.db.tree_names().iter().map(|n| String::from_utf8_lossy(n).into_owned()).collect();
    sleds.sort();
    assert_eq!(all, sleds, "every tree is copied, once");
}

/// Distinct text of `len` CJK characters, from `seed`.
fn prose(seed: u64, len: usize) -> String {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            char::from_u32(0x4e00 + (state >> 33) as u32 % 3000).unwrap()
        })
        .collect()
}

/// Report `n` with prose of its own (pseudo-random characters, as little alike as real reports'
/// text is), which its body and its document both hold.
fn prose_commit(n: u64) -> (String, Commit) {
    let (url, mut commit) = report_commit(n);
    let prose = prose(n, 3000);
    let body = format!("<html><body><p>{prose}</p></body></html>").into_bytes();
    let sha = sha256_hex(&body);
    commit.fetch = Some(fetch(n, &url, &body));
    commit.pages[0].body_sha256 = Some(sha.clone());
    let version = commit.version.as_mut().unwrap();
    version.document.blocks = vec![Block::Paragraph(prose)];
    version.text_sha256 = sha256_hex(version.document.text().as_bytes());
    version.body_sha256 = sha;
    commit.body = Some(body);
    (url, commit)
}

#[test]
fn a_version_with_prose_is_packed_against_its_body_and_read_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let (url, commit) = prose_commit(2);
    let (body_sha, prose) = (
        commit.version.as_ref().unwrap().body_sha256.clone(),
        commit.version.as_ref().unwrap().document.blocks.clone(),
    );
    {
        let store = Store::open(&path).unwrap();
        commit_report(&store, 1);
        store.commit(commit).unwrap();
    }
    let store = reopen(&path);
    let packed = store.versions.get(version_key(&url, 1)).unwrap().unwrap();
    assert_eq!(packed[0], 0x03, "packed against the page's body");
    assert_eq!(data_encoding::HEXLOWER.encode(&packed[1..33]), body_sha);
    assert!(packed.len() < 3000, "{} bytes for 9,000 bytes of prose", packed.len());
    let v = store.latest_version(&url).unwrap().unwrap();
    assert_eq!(v.document.blocks, prose);
    // A report of tables and labels keeps its host's dictionary, which packs it smaller.
    let plain = store.versions.get(version_key("http://a.gov.cn/nb/t1.html", 1)).unwrap().unwrap();
    assert_eq!(plain[0], 0x01);
    // Without its body the version cannot be read, and the error says which and why.
    store.bodies.clear().unwrap();
    let err = store.latest_version(&url).unwrap_err().to_string();
    assert!(err.contains(&url) && err.contains(&body_sha) && err.contains("missing"), "{err}");
}

#[test]
fn an_attachment_s_version_is_packed_with_its_host_s_dictionary() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap();
    commit_report(&store, 1);
    let (url, mut commit) = prose_commit(2);
    // A PDF's bytes do not hold its text: the body is no dictionary for the document.
    commit.pages[0].media_type = Some("application/pdf".into());
    store.commit(commit).unwrap();
    let packed = store.versions.get(version_key(&url, 1)).unwrap().unwrap();
    assert_eq!(packed[0], 0x01, "packed with the host's dictionary");
    assert_eq!(store.latest_version(&url).unwrap().unwrap().document.blocks.len(), 1);
}

#[test]
fn pooled_compression_contexts_keep_no_dictionary_between_values() {
    let dir = tempfile::tempdir().unwrap();
    let db = sled::open(dir.path().join("db")).unwrap();
    let packer = pack::Packer::open(db.open_tree("dicts").unwrap()).unwrap();
    // More hosts than encoders are kept, so dictionaries are dropped and rebuilt as values of
    // every kind take turns on the same few contexts.
    let hosts: Vec<String> = (0..20).map(|h| format!("h{h}.gov.cn")).collect();
    for (h, host) in hosts.iter().enumerate() {
        let body = format!("<html><head><title>{host}</title></head><body>{}</body></html>", prose(h as u64, 3000));
        packer.learn(host, body.as_bytes(), &[]).unwrap();
    }
    for round in 0..3u64 {
        for (h, host) in hosts.iter().enumerate() {
            let value = format!("{round} {host} {}", prose(h as u64 * 100 + round, 500)).into_bytes();
            let packed = packer.pack(host, &value, pack::Fallback::Zstd).unwrap();
            assert_eq!(packed[0], 0x01);
            assert_eq!(packer.unpack(&packed).unwrap(), value, "{host}, round {round}");

            let body = format!("<html><body><p>{}</p></body></html>", prose(h as u64 * 1000 + round, 2000));
            let sha = [h as u8; 32];
            let packed = packer.pack_against(body.as_bytes(), &sha, &value).unwrap().unwrap();
            assert_eq!(pack::Packer::packed_against(&packed), Some(sha));
            assert_eq!(pack::Packer::unpack_against(&packed, body.as_bytes()).unwrap(), value);

            // A host without a dictionary: a plain frame, readable with no dictionary at all.
            let plain = packer.pack("none.gov.cn", &value, pack::Fallback::Zstd).unwrap();
            assert_eq!(zstd::bulk::decompress(&plain, 1 << 20).unwrap(), value, "{host}, round {round}");
        }
    }
}

#[test]
fn a_body_zstd_would_read_as_its_own_dictionary_is_not_packed_against() {
    let dir = tempfile::tempdir().unwrap();
    let db = sled::open(dir.path().join("db")).unwrap();
    let packer = pack::Packer::open(db.open_tree("dicts").unwrap()).unwrap();
    let body = [&[0x37, 0xa4, 0x30, 0xec][..], prose(1, 1000).as_bytes()].concat();
    assert_eq!(packer.pack_against(&body, &[0; 32], prose(1, 500).as_bytes()).unwrap(), None);
}

/// A report's statistics as JSON: its labels (pseudo-random, so that only a dictionary or a body
/// holding them packs them small) and numbers from `seed`.
fn table_json(seed: u64) -> String {
    let labels = prose(99, 2000).chars().collect::<Vec<_>>();
    let rows: Vec<String> = labels
        .chunks(20)
        .enumerate()
        .map(|(i, label)| format!("{{\"cells\":[\"{}\",\"{}\"]}}", label.iter().collect::<String>(), i as u64 * seed))
        .collect();
    format!("{{\"rows\":[{}]}}", rows.join(","))
}

#[test]
fn a_host_s_documents_are_packed_first_the_way_its_last_one_was_kept() {
    let dir = tempfile::tempdir().unwrap();
    let db = sled::open(dir.path().join("db")).unwrap();
    let packer = pack::Packer::open(db.open_tree("dicts").unwrap()).unwrap();
    let host = "a.gov.cn";
    let table = table_json(0).into_bytes();
    packer.learn(host, b"<html><body></body></html>", &[&table]).unwrap();
    let sha = [7; 32];
    let html = |text: &str| format!("<html><body><p>{text}</p></body></html>").into_bytes();
    let labels_page = html(&prose(99, 2000));
    let other_page = html(&prose(5, 2000));
    let pack = |doc: &[u8], body: &[u8]| {
        let packed = packer.pack_document(host, doc, Some((body, sha))).unwrap();
        let read = match pack::Packer::packed_against(&packed) {
            Some(_) => pack::Packer::unpack_against(&packed, body).unwrap(),
            None => packer.unpack(&packed).unwrap(),
        };
        assert_eq!(read, doc);
        packed[0]
    };
    // The table packs smaller with the dictionary, but against the page holding its labels to
    // under a tenth as well: which it gets depends on how the host's last document was kept.
    let with_dict = packer.pack(host, &table, pack::Fallback::Zstd).unwrap().len();
    let against = packer.pack_against(&labels_page, &sha, &table).unwrap().unwrap().len();
    assert!(with_dict < against && against * 10 <= table.len(), "{with_dict} and {against} of {}", table.len());

    assert_eq!(pack(&table, &labels_page), 0x01, "a host starts with its dictionary, which is kept");
    // Prose of the report's own: the dictionary leaves over a tenth, the body does better.
    let prose_doc = format!("{{\"text\":\"{}\"}}", prose(3, 3000)).into_bytes();
    assert_eq!(pack(&prose_doc, &html(&prose(3, 3000))), 0x03);
    assert_eq!(pack(&table, &labels_page), 0x03, "tried against the body first, and kept");
    // Against a page that does not hold it, the table is over a tenth, and the dictionary wins.
    assert_eq!(pack(&table, &other_page), 0x01);
    assert_eq!(pack(&table, &labels_page), 0x01, "the dictionary first again");
}

#[test]
fn a_document_packed_against_its_body_by_the_previous_release_still_reads() {
    // Before round 8 the body was referenced as a zstd prefix on a context of its own.
    let body = format!("<html><body><p>{}</p></body></html>", prose(7, 3000)).into_bytes();
    let document = format!("{{\"text\":\"{}\"}}", prose(7, 3000)).into_bytes();
    let mut frame = Vec::with_capacity(zstd::zstd_safe::compress_bound(document.len()));
    let mut ctx = zstd::zstd_safe::CCtx::create();
    ctx.ref_prefix(&body).unwrap();
    ctx.compress2(&mut frame, &document).unwrap();
    let packed = [&[0x03][..], &[9; 32], &frame].concat();
    assert!(packed.len() < document.len() / 10, "the body was used: {} bytes", packed.len());
    assert_eq!(pack::Packer::unpack_against(&packed, &body).unwrap(), document);
}

#[test]
fn a_flush_fsyncs_the_files_sled_keeps_large_nodes_in() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let store = Store::open(&path).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let blob_files = || -> std::collections::HashSet<std::ffi::OsString> {
        std::fs::read_dir(path.join("blobs")).unwrap().map(|e| e.unwrap().file_name()).collect()
    };
    // Bodies larger than a quarter of sled's log segment, as large attachments' are: their nodes
    // get files of their own, which only the flush fsyncs.
    store.bodies.insert(1u64.to_be_bytes(), prose(1, 60_000).as_bytes()).unwrap();
    runtime.block_on(store.flush()).unwrap();
    let first = blob_files();
    assert!(!first.is_empty());
    assert_eq!(store.synced_blobs.lock().unwrap().files, first);

    store.bodies.insert(2u64.to_be_bytes(), prose(2, 60_000).as_bytes()).unwrap();
    runtime.block_on(store.flush()).unwrap();
    let second = blob_files();
    assert!(second.difference(&first).next().is_some(), "a new file for the node that grew");
    assert_eq!(store.synced_blobs.lock().unwrap().files, second, "files sled removed are forgotten");

    // A page's commit with a body that packs to over 128 KiB: its file is fsynced once its group
    // is written.
    let (_, mut commit) = prose_commit(3);
    let body = format!("<html><body><p>{}</p></body></html>", prose(3, 150_000)).into_bytes();
    let sha = sha256_hex(&body);
    commit.fetch = Some(fetch(3, &commit.pages[0].url, &body));
    commit.pages[0].body_sha256 = Some(sha.clone());
    commit.version.as_mut().unwrap().body_sha256 = sha;
    commit.body = Some(body);
    store.commit(commit).unwrap();
    let third = blob_files();
    assert!(third.difference(&second).next().is_some());
    assert_eq!(store.synced_blobs.lock().unwrap().files, third, "synced without a flush");
}
