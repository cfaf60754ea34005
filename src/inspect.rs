//! Looking into the archive: `stats`, `show` and `verify`. Read-only over the store.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::store::{PageKind, PageRecord, Store, StoreError, VersionRecord};

/// Per-portal counts for `nianbao stats`.
#[derive(Debug, Default, Clone, Serialize, PartialEq)]
pub struct PortalStats {
    pub list_pages: u64,
    pub reports: u64,
    pub attachments: u64,
    /// Distinct cleaned texts held, over all documents.
    pub versions: u64,
    /// Documents whose newest version parsed as an annual report with a standard table.
    pub parsed_reports: u64,
    pub gone: u64,
    pub aliases: u64,
    /// Pages whose last attempt failed, by kind.
    pub failures: BTreeMap<String, u64>,
    pub blocked: u64,
    pub last_run_started: Option<chrono::DateTime<chrono::Utc>>,
    pub last_success: Option<chrono::DateTime<chrono::Utc>>,
}

/// The whole archive for `nianbao stats`.
#[derive(Debug, Default, Clone, Serialize, PartialEq)]
pub struct Stats {
    pub portals: BTreeMap<String, PortalStats>,
    pub fetches: u64,
    pub db_bytes: u64,
}

/// Counts everything the archive holds, per portal.
pub fn stats(store: &Store) -> Result<Stats, StoreError> {
    let mut out = Stats::default();
    for page in store.pages() {
        let page = page?;
        let p = out.portals.entry(page.portal.clone()).or_default();
        let held = page.versions > 0;
        match page.kind {
            PageKind::List => p.list_pages += 1,
            PageKind::Report if held => p.reports += 1,
            PageKind::Attachment if held => p.attachments += 1,
            _ => {}
        }
        p.versions += u64::from(page.versions);
        p.gone += u64::from(page.gone_since.is_some());
        p.aliases += u64::from(page.alias_of.is_some());
        p.blocked += u64::from(page.blocked);
        if let Some(f) = &page.last_error {
            *p.failures.entry(f.kind.clone()).or_default() += 1;
        }
        if held
            && store
                .latest_version(&page.url)?
                .is_some_and(|v| v.report.as_ref().is_some_and(|r| !r["format"].is_null()))
        {
            p.parsed_reports += 1;
        }
    }
    for (name, p) in out.portals.iter_mut() {
        let record = store.portal_record(name)?;
        p.last_run_started = record.last_run_started;
        p.last_success = record.last_success;
    }
    out.fetches = store.fetches().count() as u64;
    out.db_bytes = store.size_on_disk()?;
    Ok(out)
}

impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{:<20} {:>6} {:>7} {:>7} {:>8} {:>6} {:>5} {:>8} {:>7}  last success",
            "portal", "lists", "reports", "attach", "versions", "parsed", "gone", "failures", "blocked"
        )?;
        for (name, p) in &self.portals {
            let last = p.last_success.map_or_else(|| "never".to_owned(), |t| t.format("%Y-%m-%d %H:%M").to_string());
            let failures: u64 = p.failures.values().sum();
            writeln!(
                f,
                "{name:<20} {:>6} {:>7} {:>7} {:>8} {:>6} {:>5} {:>8} {:>7}  {last}",
                p.list_pages, p.reports, p.attachments, p.versions, p.parsed_reports, p.gone, failures, p.blocked
            )?;
            for (kind, n) in &p.failures {
                writeln!(f, "{:<20}   {kind}: {n}", "")?;
            }
        }
        writeln!(f, "fetches: {}; database size: {:.1} MB", self.fetches, self.db_bytes as f64 / 1e6)
    }
}

/// Everything held for one URL, for `nianbao show --json`.
#[derive(Debug, Serialize)]
pub struct Shown {
    pub page: PageRecord,
    pub versions: Vec<VersionRecord>,
}

/// The record of `url` (as given, or canonicalised), with every version.
pub fn show(store: &Store, url: &str) -> Result<Option<Shown>, StoreError> {
    let canonical = url::Url::parse(url).map(|u| crate::discover::canonicalize(&u).to_string()).ok();
    let mut page = store.page(url)?;
    if page.is_none() {
        if let Some(c) = &canonical {
            page = store.page(c)?;
        }
    }
    let Some(page) = page else { return Ok(None) };
    let versions = store.versions(&page.url)?;
    Ok(Some(Shown { page, versions }))
}

/// One problem `verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corruption {
    /// The URLs whose stored data is affected (or the record key when no URL is known).
    pub urls: Vec<String>,
    pub what: String,
}

/// Re-hashes every stored body against its digest and checks that every record decodes and every
/// referenced body exists.
pub fn verify(store: &Store) -> Result<Vec<Corruption>, StoreError> {
    let mut urls_by_blob: HashMap<String, Vec<String>> = HashMap::new();
    let mut problems = Vec::new();
    for fetch in store.fetches() {
        match fetch {
            Ok(f) => {
                if let Some(sha) = f.body_sha256 {
                    let urls = urls_by_blob.entry(sha).or_default();
                    if !urls.contains(&f.url) {
                        urls.push(f.url);
                    }
                }
            }
            Err(e) => problems.push(Corruption { urls: vec![], what: e.to_string() }),
        }
    }
    for blob in store.verify_blobs() {
        let (sha, ok) = blob?;
        let urls = urls_by_blob.remove(&sha);
        if !ok {
            problems.push(Corruption {
                urls: urls.unwrap_or_default(),
                what: format!("body {sha} does not match its digest"),
            });
        }
    }
    for (sha, urls) in urls_by_blob {
        problems.push(Corruption { urls, what: format!("body {sha} is missing") });
    }
    for page in store.pages() {
        match page {
            Ok(p) => {
                if let Err(e) = store.versions(&p.url) {
                    problems.push(Corruption { urls: vec![p.url.clone()], what: e.to_string() });
                }
            }
            Err(e) => problems.push(Corruption { urls: vec![], what: e.to_string() }),
        }
    }
    Ok(problems)
}
