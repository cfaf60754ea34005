//! The whole pipeline offline: serves a small 年报 section on 127.0.0.1 (TRS-style list pages with
//! `createPageHTML` paging, report pages with their chrome, a DOCX behind a download script),
//! crawls it into a fresh archive, crawls it again after a change, and exports a snapshot.
//!
//! ```sh
//! cargo run --release --example demo
//! ```
//!
//! Everything it writes goes under `target/nianbao-demo/`.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/support/sim.rs"]
mod sim;
#[path = "../tests/support/site.rs"]
mod site;

use std::net::Ipv4Addr;
use std::path::Path;

use anyhow::Context;
use nianbao::config;
use nianbao::crawl::{self, Mode};
use nianbao::export::{self, ExportOptions};
use nianbao::store::Store;
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/nianbao-demo");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;

    let server = common::PortalServer::start(Ipv4Addr::LOCALHOST).await;
    server.route("/robots.txt", common::Reply::bytes("text/plain", b"User-agent: *\nDisallow: /search/\n".to_vec()));
    let mut section = site::Section::new(&server, "/zwgk/zfxxgknb/", 3);
    section.add_older("示例市医疗保障局", 7, 2024);
    section.attach_docx(0);
    section.publish();
    println!("serving a 年报 section of 7 reports on {}", section.start_url());

    let db = out.join("archive.sled");
    let settings = config::parse_settings(
        Path::new("demo"),
        &format!("db_path = {:?}\n[crawl]\nper_host_rps = 20.0\nper_host_burst = 2\n", db.display().to_string()),
    )?;
    let seeds = format!(
        "[[portal]]\nname = \"demo-ylbzj\"\nagency = \"示例市医疗保障局\"\nstart = \"{}\"\n",
        section.start_url()
    );
    let portals = config::parse_portals(Path::new("demo-seeds.toml"), &seeds)?;
    let store = Store::open(&db)?;

    println!("\n== first crawl");
    let summary = crawl::run(&settings, &store, &portals, Mode::Crawl, CancellationToken::new(), None).await?;
    print!("{summary}");

    println!("\n== the portal publishes a new report and revises another; view counters move");
    section.add_newest("示例市医疗保障局", 2025);
    section.reports[2].report.review[0][0] += 1;
    section.reports[2].report.review[0][4] += 1;
    section.bump_views();
    section.publish();
    let settings = config::parse_settings(
        Path::new("demo"),
        &format!(
            "db_path = {:?}\n[crawl]\nper_host_rps = 20.0\nper_host_burst = 2\nrevisit_after_hours = 0\n",
            db.display().to_string()
        ),
    )?;
    let summary = crawl::run(&settings, &store, &portals, Mode::Crawl, CancellationToken::new(), None).await?;
    print!("{summary}");

    let newest = store.latest_version(&section.report_url(0))?.context("the new report is archived")?;
    if let Some(report) = &newest.report {
        println!("\n== what the parser made of {}", section.report_url(0));
        println!("agency {}, year {}, layout {}", report["agency"], report["year"], report["format"]);
        println!("applications received: {}", report["applications"]["rows"]["new_received"]);
        let failed = report["checks"].as_array().map_or(0, |c| c.iter().filter(|c| c["ok"] == false).count());
        println!("checks: {} evaluated, {failed} failed", report["checks"].as_array().map_or(0, Vec::len));
    }

    let snapshot = out.join("snapshot");
    let summary = export::export(&store, &ExportOptions { out: snapshot.clone(), portals: Vec::new(), since: None })?;
    println!("\n== {summary}");
    println!("snapshot in {}: manifest.json, archive.warc.gz, documents.jsonl, reports.csv", snapshot.display());
    Ok(())
}
