//! The `nianbao` binary as cron and users run it: killed mid-crawl and resumed, two runs on one
//! archive, signals, exit codes, and the commands that look into the archive (also while a crawl
//! holds it).

mod common;
#[path = "support/harness.rs"]
mod harness;
#[path = "support/sim.rs"]
mod sim;
#[path = "support/site.rs"]
mod site;

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::process::{Child, Output, Stdio};
use std::time::Duration;

use common::PortalServer;
use harness::{files, nianbao, wait_for, workdir};
use nianbao::store::{PageKind, Store};
use site::Section;

/// A section big enough that a crawl at `rps` takes a few seconds.
async fn portal(ip: Ipv4Addr, reports: usize) -> (PortalServer, Section) {
    let server = PortalServer::start(ip).await;
    let mut section = Section::new(&server, "/nb/", 10);
    section.add_older("某市统计局", reports, 2024);
    section.publish();
    (server, section)
}

fn spawn(cmd: &mut std::process::Command) -> Child {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("the binary starts")
}

fn kill9(child: &mut Child) {
    // SAFETY: plain syscall on a pid we own.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    let _ = child.wait();
}

fn signal(child: &Child, sig: i32) {
    // SAFETY: plain syscall on a pid we own.
    unsafe { libc::kill(child.id() as i32, sig) };
}

async fn finish(child: Child) -> Output {
    tokio::task::spawn_blocking(move || child.wait_with_output()).await.unwrap().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_crawl_resumes_without_refetching_what_it_stored() {
    let (server, section) = portal(Ipv4Addr::new(127, 0, 2, 1), 40).await;
    let dir = workdir();
    let (config, seeds, db) = files(dir.path(), 20.0, "", &[("tj", &section.start_url(), "")]);

    let mut child = spawn(nianbao(&config, &seeds, &db).arg("crawl"));
    let started = wait_for(Duration::from_secs(20), || server.requests().len() >= 20).await;
    assert!(started, "the crawl got going");
    kill9(&mut child);
    let before: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();

    let second = finish(spawn(nianbao(&config, &seeds, &db).arg("crawl"))).await;
    assert!(second.status.success(), "{}", text(&second.stderr));
    assert!(text(&second.stdout).contains("resumed"), "the summary says it resumed: {}", text(&second.stdout));

    let store = Store::open(&db).unwrap();
    for p in &section.reports {
        let page = store.page(&server.url(&p.path)).unwrap().unwrap_or_else(|| panic!("{} archived", p.path));
        assert_eq!(page.versions, 1, "{} archived exactly once", p.path);
    }
    // A report fetched before the kill is fetched again only if it was still in flight.
    let mut counts: HashMap<String, usize> = HashMap::new();
    for path in server.requests().into_iter().map(|r| r.path).filter(|p| p.ends_with(".html") && !p.contains("index")) {
        *counts.entry(path).or_default() += 1;
    }
    let refetched = counts.values().filter(|n| **n > 1).count();
    let before_reports = before.iter().filter(|p| p.ends_with(".html") && !p.contains("index")).count();
    assert!(refetched <= 2, "{refetched} of {before_reports} reports fetched before the kill were fetched again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_crawl_per_archive_and_a_stale_lock_is_taken_over() {
    let (server, section) = portal(Ipv4Addr::new(127, 0, 2, 2), 30).await;
    let dir = workdir();
    let (config, seeds, db) = files(dir.path(), 10.0, "", &[("tj", &section.start_url(), "")]);
    let mut first = spawn(nianbao(&config, &seeds, &db).arg("crawl"));
    assert!(wait_for(Duration::from_secs(20), || !server.requests().is_empty()).await);

    let second = finish(spawn(nianbao(&config, &seeds, &db).arg("crawl"))).await;
    assert_eq!(second.status.code(), Some(75), "{}", text(&second.stderr));
    let message = text(&second.stderr);
    assert!(message.contains(&first.id().to_string()), "names the process holding the lock: {message}");

    // Readers get a consistent copy from the running crawl.
    let stats = finish(spawn(nianbao(&config, &seeds, &db).args(["stats", "--json"]))).await;
    assert!(stats.status.success(), "stats during a crawl: {}", text(&stats.stderr));
    let out = dir.path().join("during.tar.gz");
    let export = finish(spawn(nianbao(&config, &seeds, &db).arg("export").arg("--out").arg(&out))).await;
    assert!(export.status.success(), "export during a crawl: {}", text(&export.stderr));
    assert!(out.is_file());

    kill9(&mut first);
    let third = finish(spawn(nianbao(&config, &seeds, &db).arg("crawl"))).await;
    assert!(third.status.success(), "a stale lock is taken over: {}", text(&third.stderr));
    let store = Store::open(&db).unwrap();
    assert_eq!(harness::held(&store, PageKind::Report).len(), 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_promptly_and_the_next_run_finishes() {
    let (server, section) = portal(Ipv4Addr::new(127, 0, 2, 3), 30).await;
    let dir = workdir();
    let (config, seeds, db) = files(dir.path(), 10.0, "", &[("tj", &section.start_url(), "")]);
    let child = spawn(nianbao(&config, &seeds, &db).arg("crawl"));
    assert!(wait_for(Duration::from_secs(20), || server.requests().len() >= 5).await);
    signal(&child, libc::SIGTERM);
    let stopped = std::time::Instant::now();
    let out = finish(child).await;
    assert!(stopped.elapsed() < Duration::from_secs(5), "stops promptly");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("interrupted"), "{}", text(&out.stdout));
    let again = finish(spawn(nianbao(&config, &seeds, &db).arg("crawl"))).await;
    assert!(again.status.success());
    let store = Store::open(&db).unwrap();
    assert_eq!(harness::held(&store, PageKind::Report).len(), 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_show_and_verify_look_into_the_archive() {
    let (server, section) = portal(Ipv4Addr::new(127, 0, 2, 4), 5).await;
    let dir = workdir();
    let (config, seeds, db) = files(dir.path(), 50.0, "", &[("tj", &section.start_url(), "")]);
    let crawl = finish(spawn(nianbao(&config, &seeds, &db).arg("crawl"))).await;
    assert!(crawl.status.success(), "{}", text(&crawl.stderr));
    assert!(text(&crawl.stdout).contains("parsed tables   5 (0 with failed checks)"), "{}", text(&crawl.stdout));

    let stats = finish(spawn(nianbao(&config, &seeds, &db).args(["stats", "--json"]))).await;
    let json: serde_json::Value = serde_json::from_slice(&stats.stdout).expect("stats --json is JSON");
    let tj = &json["portals"]["tj"];
    assert_eq!(tj["reports"], 5, "{json}");
    assert_eq!(tj["parsed_reports"], 5, "the reports are derived from the archived documents: {json}");

    let url = section.report_url(0);
    let shown = finish(spawn(nianbao(&config, &seeds, &db).args(["show", &url, "--text"]))).await;
    let shown = text(&shown.stdout);
    assert!(shown.contains(&section.reports[0].report.title()) && !shown.contains("浏览次数"), "{shown}");
    let raw = finish(spawn(nianbao(&config, &seeds, &db).args(["show", &url, "--raw"]))).await;
    assert!(text(&raw.stdout).contains("浏览次数"), "--raw is the page as fetched");
    let record = finish(spawn(nianbao(&config, &seeds, &db).args(["show", &url, "--json"]))).await;
    let record: serde_json::Value = serde_json::from_slice(&record.stdout).unwrap();
    assert_eq!(record["versions"].as_array().map(Vec::len), Some(1));
    let report = &record["versions"][0]["report"];
    assert_eq!(report["format"], "2021", "the version's report, derived from its document: {record}");
    assert_eq!(report["applications"]["rows"]["new_received"][6], section.reports[0].report.received());
    let missing = finish(spawn(nianbao(&config, &seeds, &db).args(["show", &server.url("/nope.html")]))).await;
    assert_eq!(missing.status.code(), Some(1));

    let snapshot = dir.path().join("snapshot");
    let export = finish(spawn(nianbao(&config, &seeds, &db).arg("export").arg("--out").arg(&snapshot))).await;
    assert!(export.status.success(), "{}", text(&export.stderr));
    let jsonl = std::fs::read_to_string(snapshot.join("documents.jsonl")).unwrap();
    assert_eq!(jsonl.lines().count(), 5, "one line per archived report");
    let csv = std::fs::read_to_string(snapshot.join("reports.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 5, "a header and one row per parsed report");
    let empty = dir.path().join("empty");
    let none =
        nianbao(&config, &seeds, &db).args(["export", "--portal", "nope", "--out"]).arg(&empty).output().unwrap();
    assert!(none.status.success());
    assert!(text(&none.stderr).contains("empty"), "an empty selection says so: {}", text(&none.stderr));

    let ok = finish(spawn(nianbao(&config, &seeds, &db).arg("verify"))).await;
    assert!(ok.status.success(), "{}", text(&ok.stdout));

    // Corrupt one stored body behind the store's back.
    let sha = Store::open(&db).unwrap().page(&url).unwrap().unwrap().body_sha256.unwrap();
    {
        let raw = sled::open(&db).unwrap();
        let blobs = raw.open_tree("blobs").unwrap();
        let packed = zstd::bulk::compress(b"tampered", 3).unwrap();
        blobs.insert(sha.as_bytes(), packed).unwrap();
        raw.flush().unwrap();
    }
    let bad = finish(spawn(nianbao(&config, &seeds, &db).arg("verify"))).await;
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad.stdout).contains(&url), "corruption reported by URL: {}", text(&bad.stdout));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crawl_compacts_the_archive_and_compact_does_it_on_demand() {
    let (_server, section) = portal(Ipv4Addr::new(127, 0, 2, 5), 20).await;
    let dir = workdir();
    let (config, seeds, db) = files(dir.path(), 50.0, "", &[("tj", &section.start_url(), "")]);
    let missing = finish(spawn(nianbao(&config, &seeds, &db).arg("compact"))).await;
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).contains("no archive at"), "{}", text(&missing.stderr));

    let crawl = finish(spawn(nianbao(&config, &seeds, &db).arg("crawl"))).await;
    assert!(crawl.status.success(), "{}", text(&crawl.stderr));
    assert!(!nianbao::store::compact_path(&db).exists(), "nothing is left beside the archive");
    {
        let raw = sled::open(&db).unwrap();
        let record = raw.open_tree("meta").unwrap().get(b"compacted").unwrap();
        assert!(record.is_some(), "the first crawl compacted the archive it made");
    }

    let lock = nianbao::lock::RunLock::acquire(&db).unwrap();
    let held = finish(spawn(nianbao(&config, &seeds, &db).arg("compact"))).await;
    assert_eq!(held.status.code(), Some(75), "not while a crawl holds the archive");
    drop(lock);

    let compact = finish(spawn(nianbao(&config, &seeds, &db).arg("compact"))).await;
    assert!(compact.status.success(), "{}", text(&compact.stderr));
    let said = text(&compact.stdout);
    assert!(said.contains(&db.display().to_string()) && said.contains("MB"), "{said}");
    let store = Store::open(&db).unwrap();
    assert_eq!(harness::held(&store, PageKind::Report).len(), 20);
    drop(store);
    let verify = finish(spawn(nianbao(&config, &seeds, &db).arg("verify"))).await;
    assert!(verify.status.success(), "{}", text(&verify.stdout));
}

#[test]
fn bad_config_and_usage_get_their_exit_codes() {
    let dir = workdir();
    let db = dir.path().join("db");
    let (config, seeds, _) = files(dir.path(), 1.0, "", &[("ok", "http://127.0.0.1:9/nb/", "")]);
    std::fs::write(&seeds, "[[portal]]\nname = \"x\"\nstart = \"http://127.0.0.1:9/\"\nspeed = 3\n").unwrap();
    let out = nianbao(&config, &seeds, &db).arg("crawl").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let msg = text(&out.stderr);
    assert!(msg.contains("seeds.toml") && msg.contains("speed") && msg.contains("seeds.toml:4:"), "{msg}");
    let out = nianbao(&config, &seeds, &db).arg("crawl").arg("--bogus").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    std::fs::write(&seeds, "[[portal]]\nname = \"x\"\nstart = \"http://127.0.0.1:9/\"\n").unwrap();
    let out = nianbao(&config, &seeds, &db).args(["crawl", "--portal", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

/// The shared seeds beside the repository, when present.
fn seeds_dir() -> Option<std::path::PathBuf> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let found = ["../shared/seeds", "../../shared/seeds"].iter().map(|p| root.join(p)).find(|d| d.is_dir());
    if found.is_none() {
        println!("note: ../shared/seeds is missing; seed checks skipped");
    }
    found
}

#[test]
fn parse_prints_one_report_per_file_and_an_array_for_several() {
    let Some(seeds) = seeds_dir() else { return };
    let bin = env!("CARGO_BIN_EXE_nianbao");
    let one = seeds.join("003_85880c5fdc4d5d91.txt");
    let out = std::process::Command::new(bin).arg("parse").arg(&one).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON report");
    assert_eq!(report["agency"], "重庆市医疗保障局");
    assert_eq!(report["year"], 2022);
    assert_eq!(report["format"], "2021");
    assert_eq!(report["applications"]["rows"]["partially_granted"][0], 1);

    let two = seeds.join("004_38bf42b0a2d574c0.txt");
    let missing = seeds.join("no-such-report.txt");
    let out = std::process::Command::new(bin).arg("parse").arg(&one).arg(&two).arg(&missing).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "a file that cannot be read needs a look");
    assert!(text(&out.stderr).contains("no-such-report.txt"), "the error names the file: {}", text(&out.stderr));
    let reports: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON array");
    let formats: Vec<&str> = reports.as_array().unwrap().iter().map(|r| r["format"].as_str().unwrap_or("")).collect();
    assert_eq!(formats, ["2021", "2019"]);
}

#[test]
fn clean_prints_the_document_without_chrome() {
    let dir = workdir();
    let report = sim::SimReport::new("某市医疗保障局", 2023, 3);
    let page = dir.path().join("page.html");
    std::fs::write(&page, report.page_html("2024-01-20", 4321, None)).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_nianbao")).arg("clean").arg(&page).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(doc["title"], report.title());
    assert_eq!(doc["published"], "2024-01-20");
    let body = doc["text"].as_str().unwrap();
    assert!(body.contains("全年共收到政府信息公开申请"), "{body}");
    for chrome in ["浏览次数", "4321", "版权所有", "打印本页", "当前位置"] {
        assert!(!body.contains(chrome), "{chrome} left in: {body}");
    }
    assert_eq!(doc["tables"].as_array().map(Vec::len), Some(3), "the three statistics tables");
}
