//! Unit tests of the export's target checks and selection.

use super::*;

fn fetch(portal: &str, at: &str) -> FetchRecord {
    FetchRecord {
        id: 1,
        portal: portal.into(),
        url: "http://127.0.0.1/a".into(),
        final_url: "http://127.0.0.1/a".into(),
        redirects: Vec::new(),
        method: "GET".into(),
        request_headers: Vec::new(),
        request_body: None,
        status: 200,
        http_version: "HTTP/1.1".into(),
        headers: Vec::new(),
        fetched_at: at.parse().unwrap(),
        body_sha256: None,
        body_sha1: None,
        body_len: 0,
        same_as: None,
        remote_ip: None,
    }
}

#[test]
fn selection_keeps_named_portals_on_or_after_the_day() {
    let since = NaiveDate::from_ymd_opt(2026, 3, 1);
    let opts = ExportOptions { out: PathBuf::new(), portals: vec!["a".into()], since };
    let selection = Selection::new(&opts);
    assert!(selection.fetch(&fetch("a", "2026-03-01T00:00:00Z")));
    assert!(!selection.fetch(&fetch("a", "2026-02-28T23:59:59Z")));
    assert!(!selection.fetch(&fetch("b", "2026-03-02T00:00:00Z")));
    let all = Selection::new(&ExportOptions::default());
    assert!(all.fetch(&fetch("b", "2001-01-01T00:00:00Z")));
}

#[test]
fn targets_that_would_mix_or_clobber_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full");
    std::fs::create_dir(&full).unwrap();
    std::fs::write(full.join("old.txt"), b"x").unwrap();
    assert!(matches!(check_target(&full, false), Err(ExportError::NotEmpty { .. })));
    assert!(matches!(check_target(&full, true), Err(ExportError::IsADirectory { .. })));
    let file = full.join("old.txt");
    assert!(matches!(check_target(&file, false), Err(ExportError::NotADirectory { .. })));
    assert!(check_target(&file, true).is_ok(), "a packed file is replaced");
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert!(check_target(&empty, false).is_ok());
    assert!(check_target(&dir.path().join("new"), false).is_ok());
}

#[test]
fn a_failed_export_leaves_no_staging_directory() {
    let dir = tempfile::tempdir().unwrap();
    let staging = Staging::beside(&dir.path().join("snap")).unwrap();
    let path = staging.dir.clone();
    assert!(path.is_dir());
    drop(staging);
    assert!(!path.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
