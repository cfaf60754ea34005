use super::*;
use crate::document::{Block, Document};
use chrono::Utc;

fn entry(url: &str, kind: PageKind) -> FrontierEntry {
    FrontierEntry { url: url.into(), portal: "p".into(), kind, parent: None, name: None, barren: 0, form: None }
}

fn page(url: &str) -> PageRecord {
    PageRecord::new(url, "p", PageKind::Report)
}

#[test]
fn blobs_are_content_addressed_and_verified() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap();
    let a = store.put_blob("年报正文".as_bytes()).unwrap();
    assert_eq!(store.put_blob("年报正文".as_bytes()).unwrap(), a);
    assert_eq!(store.blob(&a).unwrap().unwrap(), "年报正文".as_bytes());
    assert!(store.verify_blobs().all(|r| r.unwrap().1));
    store.blobs.insert(a.as_bytes(), zstd::bulk::compress(b"tampered", 3).unwrap()).unwrap();
    assert!(!store.verify_blobs().next().unwrap().unwrap().1);
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
    // sled's flusher thread may hold the file lock for a moment after the handle is dropped.
    let reopened = (0..100).find_map(|_| match Store::open(&path) {
        Err(StoreError::InUse { .. }) => {
            std::thread::sleep(std::time::Duration::from_millis(20));
            None
        }
        other => Some(other),
    });
    let store = reopened.expect("the archive is released within 2 s").unwrap();
    assert_eq!(store.pending_len(), 2);
    assert_eq!(store.page("http://a.gov.cn/1.html").unwrap().unwrap().versions, 1);
    let v = store.latest_version("http://a.gov.cn/1.html").unwrap().unwrap();
    assert_eq!(v.document.title.as_deref(), Some("年报"));
    assert_eq!(store.url_for_text("t").unwrap().as_deref(), Some("http://a.gov.cn/1.html"));
    assert!(store.latest_version("http://a.gov.cn/1").unwrap().is_none(), "prefix of another URL is not a match");
}
