//! Running nianbao against loopback portals: settings for tests, seeds files, the binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nianbao::config::{self, Portal, Settings};
use nianbao::crawl::{self, Mode, Summary};
use nianbao::store::{PageKind, PageRecord, Store};
use tokio_util::sync::CancellationToken;

/// Settings for a test: fast enough to keep the suite quick, slow enough to measure politeness.
/// `extra` holds more `[crawl]` lines (later keys must not repeat these).
pub fn settings(db: &Path, rps: f64, extra: &str) -> Settings {
    config::parse_settings(Path::new("test-config.toml"), &config_text(db, rps, extra))
        .expect("test settings are valid")
}

/// The config file text behind [`settings`], for runs of the binary.
pub fn config_text(db: &Path, rps: f64, extra: &str) -> String {
    let mut keys = String::new();
    let defaults = [
        ("per_host_burst", "1"),
        ("timeout_secs", "2"),
        ("connect_timeout_secs", "1"),
        ("retries", "2"),
        ("revisit_after_hours", "0"),
    ];
    for (key, value) in defaults {
        if !extra.lines().any(|l| l.trim_start().starts_with(&format!("{key} "))) {
            keys.push_str(&format!("{key} = {value}\n"));
        }
    }
    format!(
        "db_path = {db:?}\nuser_agent = \"nianbao-test/1.0\"\n[crawl]\nper_host_rps = {rps:?}\n{keys}{extra}\n",
        db = db.display().to_string()
    )
}

/// A seeds file with one portal per (name, start, extra keys).
pub fn seeds_text(portals: &[(&str, &str, &str)]) -> String {
    portals
        .iter()
        .map(|(name, start, extra)| format!("[[portal]]\nname = \"{name}\"\nstart = \"{start}\"\n{extra}\n"))
        .collect()
}

pub fn portals(portals: &[(&str, &str, &str)]) -> Vec<Portal> {
    config::parse_portals(Path::new("test-seeds.toml"), &seeds_text(portals)).expect("test seeds are valid")
}

/// One run in this process, to the end.
pub async fn run(settings: &Settings, store: &Store, portals: &[Portal], mode: Mode) -> Summary {
    crawl::run(settings, store, portals, mode, CancellationToken::new(), None)
        .await
        .expect("the run can be carried out")
}

/// The archive's pages of one kind that hold at least one version.
pub fn held(store: &Store, kind: PageKind) -> Vec<PageRecord> {
    store.pages().map(|p| p.expect("page record decodes")).filter(|p| p.kind == kind && p.versions > 0).collect()
}

/// A directory for one test's files.
pub fn workdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// Writes config and seeds for a binary run; returns (config path, seeds path, db path).
pub fn files(dir: &Path, rps: f64, extra: &str, seeds: &[(&str, &str, &str)]) -> (PathBuf, PathBuf, PathBuf) {
    let db = dir.join("archive.sled");
    let config = dir.join("nianbao.toml");
    let seeds_path = dir.join("seeds.toml");
    std::fs::write(&config, config_text(&db, rps, extra)).expect("write config");
    std::fs::write(&seeds_path, seeds_text(seeds)).expect("write seeds");
    (config, seeds_path, db)
}

/// The `nianbao` binary with config, seeds and db set.
pub fn nianbao(config: &Path, seeds: &Path, db: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_nianbao"));
    cmd.arg("--config").arg(config).arg("--seeds").arg(seeds).arg("--db").arg(db);
    cmd.env("RUST_LOG", "warn");
    cmd
}

/// Waits (polling) until `cond` holds or `limit` passes; returns whether it held.
pub async fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cond()
}
