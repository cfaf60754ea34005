//! Months of scheduled runs in a few seconds: a portal whose content changes between runs (a new
//! report, a revised one, a removed one, view counters), and a backfill that reads deeper than
//! the incremental crawl.

mod common;
#[path = "support/harness.rs"]
mod harness;
#[path = "support/sim.rs"]
mod sim;
#[path = "support/site.rs"]
mod site;

use std::net::Ipv4Addr;

use common::PortalServer;
use harness::{held, portals, run, settings, workdir};
use nianbao::crawl::Mode;
use nianbao::store::{PageKind, Store};
use site::Section;

#[tokio::test]
async fn scheduled_runs_keep_history_and_revalidate_politely() {
    let server = PortalServer::start(Ipv4Addr::new(127, 0, 1, 1)).await;
    let mut section = Section::new(&server, "/zwgk/nb/", 3);
    section.add_older("某市司法局", 7, 2023);
    section.reports[1].etag = Some("\"nb-v1\"".into());
    section.publish();
    let dir = workdir();
    let db = dir.path().join("db");
    let store = Store::open(&db).unwrap();
    let settings = settings(&db, 50.0, "");
    let portals = portals(&[("sj", &section.start_url(), "")]);

    let first = run(&settings, &store, &portals, Mode::Crawl).await;
    assert_eq!(first.new_reports, 7, "{first}");

    // Between runs: a new report, a revision, a removal, and every view counter moves.
    let etagged = section.report_url(1);
    let revised = section.report_url(3);
    section.reports[3].report.review[0][0] += 1;
    section.reports[3].report.review[0][4] += 1;
    let removed = section.remove(5);
    let newest = section.add_newest("某市司法局", 2024);
    section.bump_views();
    section.publish();
    let before = server.requests().len();

    let second = run(&settings, &store, &portals, Mode::Crawl).await;

    assert_eq!(second.new_reports, 1, "{second}");
    assert_eq!(second.new_versions, 1, "only the revised report has a new version: {second}");
    assert_eq!(second.gone, 1, "{second}");
    assert_eq!(store.page(&newest).unwrap().unwrap().versions, 1);
    let versions = store.versions(&revised).unwrap();
    assert_eq!(versions.len(), 2, "the old version is kept beside the new one");
    assert_ne!(versions[0].text_sha256, versions[1].text_sha256);
    assert!(versions[0].fetched_at <= versions[1].fetched_at);
    let gone = store.page(&removed).unwrap().unwrap();
    assert!(gone.gone_since.is_some(), "a report that disappeared is marked gone: {gone:?}");
    assert_eq!(store.versions(&removed).unwrap().len(), 1, "and stays in the archive");
    for page in held(&store, PageKind::Report) {
        if page.url != revised {
            assert_eq!(page.versions, 1, "{}: a view counter is not a new version", page.url);
        }
    }

    // What the server saw in the second run.
    let log: Vec<_> = server.requests().into_iter().skip(before).collect();
    let etag_path = etagged.trim_start_matches(&server.url(""));
    let revalidation = log.iter().find(|r| r.path == etag_path).expect("held pages are revalidated");
    assert_eq!(revalidation.header("if-none-match"), Some("\"nb-v1\""), "conditional request with the ETag");
    let list_pages: Vec<&str> = log.iter().map(|r| r.path.as_str()).filter(|p| p.contains("index")).collect();
    assert!(
        !list_pages.iter().any(|p| p.ends_with("index_2.html")),
        "paging stops once a list page brings nothing new: {list_pages:?}"
    );

    // A third run with nothing changed adds nothing.
    let third = run(&settings, &store, &portals, Mode::Crawl).await;
    assert_eq!((third.new_reports, third.new_versions, third.gone), (0, 0, 0), "{third}");
}

#[tokio::test]
async fn backfill_reads_every_list_page_the_crawl_would_not() {
    let server = PortalServer::start(Ipv4Addr::new(127, 0, 1, 2)).await;
    let mut section = Section::new(&server, "/nb/", 2);
    section.add_older("某县财政局", 4, 2024);
    section.publish();
    let dir = workdir();
    let db = dir.path().join("db");
    let store = Store::open(&db).unwrap();
    let settings = settings(&db, 50.0, "max_barren_list_pages = 2\n");
    let portals = portals(&[("cz", &section.start_url(), "")]);
    run(&settings, &store, &portals, Mode::Crawl).await;
    assert_eq!(held(&store, PageKind::Report).len(), 4);

    // Older reports surface deep in the paging (pages 3 to 6) — a migrated archive.
    section.add_older("某县财政局", 8, 2020);
    section.publish();
    let crawl = run(&settings, &store, &portals, Mode::Crawl).await;
    assert_eq!(crawl.new_reports, 0, "the crawl stops at the first page with nothing new: {crawl}");
    assert_eq!(server.hits("/nb/index_5.html"), 0);

    let backfill = run(&settings, &store, &portals, Mode::Backfill { since: Some(2016) }).await;
    assert_eq!(server.hits("/nb/index_5.html"), 1, "backfill reads to the last list page");
    // The four newest were held already; of the eight older ones, those from 2016 on are new.
    let expected = section.reports[4..].iter().filter(|p| p.report.year >= 2016).count() as u64;
    assert_eq!(expected, 5);
    assert_eq!(backfill.new_reports, expected, "every report from 2016 on not yet held: {backfill}");
    for p in &section.reports {
        let page = store.page(&server.url(&p.path)).unwrap();
        let archived = page.is_some_and(|p| p.versions > 0);
        assert_eq!(archived, p.report.year >= 2016, "{} ({})", p.path, p.report.year);
    }
}
