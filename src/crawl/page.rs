//! One frontier entry, start to finish: fetch it, then (off the async runtime) digest, discover,
//! clean, parse, and commit everything it changed in one store transaction.

use std::sync::{Arc, LazyLock};

use chrono::Utc;
use regex::Regex;
use url::Url;

use super::worker::WorkerError;
use super::{lock, Ctx, Mode};
use crate::discover::{self, DataProxyQuery, Link};
use crate::fetch::{FetchError, FetchRequest, FetchedPage, Method, Validators};
use crate::store::{
    sha256_hex, AttachmentRef, Commit, Failure, FetchRecord, FrontierEntry, PageKind, PageRecord, RedirectRecord,
    StoreError, VersionRecord,
};

/// Fetches one entry and records the outcome. Never fails: every problem is recorded on the page.
pub(super) async fn process(ctx: &Arc<Ctx>, key: &[u8], entry: FrontierEntry) {
    if entry.kind == PageKind::List && !take_list_budget(ctx, &entry.portal) {
        tracing::warn!(portal = %entry.portal, url = %entry.url, "max_pages reached; list page skipped");
        let done = Commit { done: Some(key.to_vec()), ..Commit::default() };
        report_store_error(&entry.url, ctx.store.stage(done));
        return;
    }
    let Ok(url) = Url::parse(&entry.url) else {
        let ctx = Arc::clone(ctx);
        let key = key.to_vec();
        let err = FetchError::Request { url: None, message: format!("not a URL: {}", entry.url) };
        on_worker(ctx, entry.url.clone(), move |ctx| record_failure(ctx, &key, &entry, &err)).await;
        return;
    };
    let held = ctx.store.page(&entry.url).ok().flatten();
    let validators = match &held {
        Some(p) if p.body_sha256.is_some() => {
            Validators { etag: p.etag.clone(), last_modified: p.last_modified.clone() }
        }
        _ => Validators::default(),
    };
    let method = match &entry.form {
        Some(form) => Method::PostForm(form.clone()),
        None => Method::Get,
    };
    let request = FetchRequest { url, method, validators };
    let result = ctx.fetcher.fetch(&request, &ctx.cancel).await;
    if matches!(result, Err(FetchError::Cancelled)) {
        return;
    }
    let key = key.to_vec();
    on_worker(Arc::clone(ctx), entry.url.clone(), move |ctx| match result {
        Ok(page) => record_page(ctx, &key, &entry, page),
        Err(err) => record_failure(ctx, &key, &entry, &err),
    })
    .await;
}

/// Runs a page's synchronous work on the page worker (see [`super::worker`]).
async fn on_worker(ctx: Arc<Ctx>, url: String, work: impl FnOnce(&Ctx) -> Result<(), StoreError> + Send + 'static) {
    let task_ctx = Arc::clone(&ctx);
    match ctx.pages.run(move || work(&task_ctx)).await {
        Ok(result) => report_store_error(&url, result),
        // The page task panics in turn, so the scheduler keeps the page out of this run instead
        // of handing it out again; it stays pending for the next run.
        Err(WorkerError::Panicked(panic)) => {
            tracing::error!("{url}: page processing panicked; the page stays pending");
            std::panic::resume_unwind(panic)
        }
        Err(e) => tracing::error!("{url}: {e}"),
    }
}

fn report_store_error(what: &str, result: Result<(), StoreError>) {
    if let Err(e) = result {
        tracing::error!("{what}: could not store: {e}");
    }
}

fn take_list_budget(ctx: &Ctx, portal: &str) -> bool {
    let max = ctx.portals.get(portal).and_then(|(p, _)| p.max_pages).unwrap_or(ctx.settings.crawl.max_pages_per_portal);
    let mut budget = lock(&ctx.list_budget);
    let used = budget.entry(portal.to_owned()).or_default();
    *used += 1;
    *used <= max
}

fn new_page(entry: &FrontierEntry) -> PageRecord {
    PageRecord {
        parent: entry.parent.clone(),
        name: entry.name.clone(),
        ..PageRecord::new(&entry.url, &entry.portal, entry.kind)
    }
}

/// A request that failed for good: noted on the page, the crawl goes on.
fn record_failure(ctx: &Ctx, key: &[u8], entry: &FrontierEntry, err: &FetchError) -> Result<(), StoreError> {
    let _guard = lock(&ctx.commit_lock);
    let mut page = ctx.store.page(&entry.url)?.unwrap_or_else(|| new_page(entry));
    let now = Utc::now();
    page.last_error = Some(Failure { kind: err.kind().into(), message: err.to_string(), at: now });
    let mut summary = lock(&ctx.summary);
    summary.fail(&entry.portal, err.kind());
    match err {
        FetchError::Blocked { .. } => {
            page.blocked = true;
            summary.blocked_hosts.insert(crate::store::host_of(&entry.url));
        }
        FetchError::Status { status: 404 | 410, .. } if page.versions > 0 && page.gone_since.is_none() => {
            page.gone_since = Some(now);
            summary.gone += 1;
        }
        _ => {}
    }
    drop(summary);
    tracing::warn!(url = %entry.url, kind = err.kind(), "{err}");
    ctx.store.stage(Commit { pages: vec![page], done: Some(key.to_vec()), ..Commit::default() })
}

/// A page the server answered: store the exchange, then do what its kind asks.
fn record_page(ctx: &Ctx, key: &[u8], entry: &FrontierEntry, fetched: FetchedPage) -> Result<(), StoreError> {
    let _guard = lock(&ctx.commit_lock);
    lock(&ctx.summary).answered(&entry.portal);
    let mut page = ctx.store.page(&entry.url)?.unwrap_or_else(|| new_page(entry));
    let fetch = fetch_record(ctx, entry, &fetched, &page)?;
    update_page(&mut page, &fetched, &fetch);
    let mut commit = Commit { done: Some(key.to_vec()), ..Commit::default() };
    let body = if fetched.is_not_modified() {
        page.body_sha256.as_deref().map(|sha| ctx.store.blob(sha)).transpose()?.flatten()
    } else {
        Some(fetched.body.to_vec())
    };
    let unchanged_bytes = fetched.is_not_modified() || fetch.same_as.is_some();
    commit.fetch = Some(fetch);
    match (entry.kind, body.as_deref()) {
        (PageKind::List, Some(body)) => read_list(ctx, entry, &fetched, body, &mut commit)?,
        (PageKind::List, None) => {}
        (_, Some(body)) if !unchanged_bytes => read_document(ctx, entry, &fetched, body, &mut page, &mut commit)?,
        _ => lock(&ctx.summary).unchanged += 1,
    }
    if !fetched.is_not_modified() {
        // The new body goes into the archive with the page (a 304's body is the one already held).
        commit.body = body;
    }
    commit.pages.insert(0, page);
    ctx.store.stage(commit)
}

fn fetch_record(
    ctx: &Ctx,
    entry: &FrontierEntry,
    f: &FetchedPage,
    held: &PageRecord,
) -> Result<FetchRecord, StoreError> {
    let (sha256, sha1) =
        if f.is_not_modified() { (None, None) } else { (Some(sha256_hex(&f.body)), Some(sha1_base32(&f.body))) };
    let same_as = match (&sha256, &held.body_sha256) {
        (Some(new), Some(old)) if new == old => held.last_fetch,
        _ => None,
    };
    Ok(FetchRecord {
        id: ctx.store.next_id()?,
        portal: entry.portal.clone(),
        url: entry.url.clone(),
        final_url: f.final_url.to_string(),
        redirects: f
            .redirects
            .iter()
            .map(|r| RedirectRecord { from: r.from.to_string(), to: r.to.to_string(), status: r.status })
            .collect(),
        method: if entry.form.is_some() { "POST" } else { "GET" }.into(),
        request_headers: f.request_headers.clone(),
        request_body: f.request_body.as_ref().map(|b| String::from_utf8_lossy(b).into_owned()),
        status: f.status,
        http_version: f.http_version.into(),
        headers: f.headers.clone(),
        fetched_at: f.fetched_at,
        body_sha256: sha256,
        body_sha1: sha1,
        body_len: f.body.len() as u64,
        same_as,
        remote_ip: f.remote_ip.map(|ip| ip.to_string()),
    })
}

/// Base32 SHA-1, the form WARC payload digests take.
pub(crate) fn sha1_base32(bytes: &[u8]) -> String {
    use sha1::Digest;
    data_encoding::BASE32.encode(&sha1::Sha1::digest(bytes))
}

fn update_page(page: &mut PageRecord, f: &FetchedPage, fetch: &FetchRecord) {
    page.last_checked = Some(f.fetched_at);
    page.last_error = None;
    page.blocked = false;
    page.gone_since = None;
    if f.is_not_modified() {
        return;
    }
    page.last_fetch = Some(fetch.id);
    page.final_url = Some(f.final_url.to_string());
    page.http_status = Some(f.status);
    page.media_type = f.media_type();
    page.charset = is_text(page.media_type.as_deref()).then(|| f.charset().name().to_owned());
    page.body_sha256 = fetch.body_sha256.clone();
    page.etag = f.header("etag").map(str::to_owned);
    page.last_modified = f.header("last-modified").map(str::to_owned);
}

fn is_text(media_type: Option<&str>) -> bool {
    media_type.is_none_or(|m| m.starts_with("text/") || m.contains("html") || m.contains("xml"))
}

/// A list page (or a dataproxy answer): queue its reports and, unless it is barren, its paging.
fn read_list(
    ctx: &Ctx,
    entry: &FrontierEntry,
    f: &FetchedPage,
    body: &[u8],
    commit: &mut Commit,
) -> Result<(), StoreError> {
    lock(&ctx.summary).list_pages += 1;
    let Some((_, scope)) = ctx.portals.get(&entry.portal) else { return Ok(()) };
    let (text, _) = crate::charset::decode(body, f.content_type());
    let (links, mut pages, proxy) = match &entry.form {
        Some(form) => {
            let query = DataProxyQuery { endpoint: f.url.clone(), form: form.clone() };
            let (links, total) = discover::read_dataproxy_response(&text, &f.url, scope);
            let next = total.and_then(|t| query.next(t));
            (links, Vec::new(), next)
        }
        None => {
            let list = discover::read_list_page(&text, &f.final_url, scope);
            (list.reports, list.pages, list.dataproxy)
        }
    };
    let (new, fresh, too_old) = queue_reports(ctx, entry, &links, commit)?;
    let barren = match ctx.mode {
        Mode::Crawl => new == 0,
        Mode::Backfill { .. } => fresh == 0,
    };
    let limit = match ctx.mode {
        Mode::Crawl => 1,
        Mode::Backfill { .. } => ctx.settings.crawl.max_barren_list_pages,
    };
    let child_barren = if barren { entry.barren + 1 } else { 0 };
    let all_too_old = !links.is_empty() && too_old == links.len();
    if child_barren >= limit || all_too_old {
        tracing::debug!(url = %entry.url, new, fresh, "paging stops here");
        return Ok(());
    }
    pages.retain(|p| scope.allows_list(p) && !discover::is_trap(p));
    if ctx.mode == Mode::Crawl {
        // One page at a time, so that the first page with nothing new ends the walk: TRS pages
        // link every page of the list at once.
        pages = next_page(ctx, pages)?.into_iter().collect();
    }
    for page in pages {
        commit.enqueue.push(list_entry(entry, page.to_string(), child_barren, None));
    }
    if let Some(q) = proxy {
        commit.enqueue.push(list_entry(entry, q.endpoint.to_string(), child_barren, Some(q.form)));
    }
    Ok(())
}

/// The first paging link not yet read this run, skipping a directory's `index.html` when the
/// directory itself was read (the same page under two names).
fn next_page(ctx: &Ctx, pages: Vec<Url>) -> Result<Option<Url>, StoreError> {
    for page in pages {
        if ctx.store.seen(page.as_str())? {
            continue;
        }
        let name = page.path_segments().and_then(|mut s| s.next_back()).unwrap_or_default().to_ascii_lowercase();
        if matches!(name.as_str(), "index.html" | "index.htm" | "index.shtml" | "default.htm" | "default.html") {
            if let Ok(dir) = page.join("./") {
                if ctx.store.seen(dir.as_str())? {
                    continue;
                }
            }
        }
        return Ok(Some(page));
    }
    Ok(None)
}

fn list_entry(from: &FrontierEntry, url: String, barren: u32, form: Option<Vec<(String, String)>>) -> FrontierEntry {
    FrontierEntry { url, portal: from.portal.clone(), kind: PageKind::List, parent: None, name: None, barren, form }
}

/// Queues the report links not yet held; returns (new to the archive, new to this run, skipped as
/// older than `--since`).
fn queue_reports(
    ctx: &Ctx,
    entry: &FrontierEntry,
    links: &[Link],
    commit: &mut Commit,
) -> Result<(usize, usize, usize), StoreError> {
    let (mut new, mut fresh, mut too_old) = (0, 0, 0);
    for link in links {
        if let Mode::Backfill { since: Some(since) } = ctx.mode {
            if year_hint(link).is_some_and(|y| y < since) {
                too_old += 1;
                continue;
            }
        }
        let url = link.url.to_string();
        if ctx.store.seen(&url)? || commit.enqueue.iter().any(|e| e.url == url) {
            continue;
        }
        fresh += 1;
        let held = ctx.store.page(&url)?.is_some_and(|p| p.versions > 0 || p.alias_of.is_some());
        if held {
            continue;
        }
        new += 1;
        commit.enqueue.push(FrontierEntry {
            url,
            portal: entry.portal.clone(),
            kind: PageKind::Report,
            parent: None,
            name: Some(link.text.clone()).filter(|t| !t.is_empty()),
            barren: 0,
            form: None,
        });
    }
    Ok((new, fresh, too_old))
}

/// The year a report link is about: a "2019年" in its text, else the publication year in its URL.
fn year_hint(link: &Link) -> Option<i32> {
    static TEXT_YEAR: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(20[0-9]{2})\s*年").expect("valid regex"));
    static URL_YEAR: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?:/t|/art/|/)(20[0-9]{2})(?:[01][0-9]|/)").expect("valid regex"));
    let text = TEXT_YEAR.captures(&link.text).and_then(|c| c[1].parse().ok());
    text.or_else(|| URL_YEAR.captures(link.url.path()).and_then(|c| c[1].parse().ok()))
}

/// A report page or attachment with new bytes: clean, compare, maybe a new version, then queue
/// its attachments.
fn read_document(
    ctx: &Ctx,
    entry: &FrontierEntry,
    f: &FetchedPage,
    body: &[u8],
    page: &mut PageRecord,
    commit: &mut Commit,
) -> Result<(), StoreError> {
    let name = f.attachment_filename().or_else(|| entry.name.clone());
    let cleaned = crate::clean::clean_bytes_keeping_page(body, f.content_type(), name.as_deref(), Some(&f.final_url));
    let (doc, parsed) = match cleaned {
        Ok(cleaned) => (cleaned.document, cleaned.page),
        Err(e) => {
            page.clean_error = Some(e.to_string());
            lock(&ctx.summary).fail(&entry.portal, "clean");
            return Ok(());
        }
    };
    page.clean_error = None;
    if entry.kind == PageKind::Attachment && page.name.is_none() {
        page.name = name;
    }
    let text_sha = sha256_hex(doc.text().as_bytes());
    // A page without versions has none to compare with; scanning for them was 1% of the crawl's CPU.
    let latest = if page.versions > 0 { ctx.store.latest_text_sha256(&entry.url)? } else { None };
    let is_html = is_text(page.media_type.as_deref())
        && !discover::is_attachment_response(f.content_type(), f.header("content-disposition"));
    if entry.kind == PageKind::Report && is_html {
        queue_attachments(ctx, entry, f, body, parsed.as_ref(), page, commit)?;
    }
    if latest.as_ref() == Some(&text_sha) {
        lock(&ctx.summary).unchanged += 1;
        return Ok(());
    }
    if page.versions == 0 {
        if let Some(other) = ctx.store.url_for_text(&text_sha)?.filter(|o| *o != entry.url) {
            if let Some(mut holder) = ctx.store.page(&other)? {
                page.alias_of = Some(other);
                if !holder.aliases.contains(&entry.url) {
                    holder.aliases.push(entry.url.clone());
                }
                commit.pages.push(holder);
                lock(&ctx.summary).aliases += 1;
                return Ok(());
            }
        }
    }
    let report = crate::parser::annual_report(&doc);
    page.versions += 1;
    commit.version_url = Some(entry.url.clone());
    commit.version = Some(VersionRecord {
        n: page.versions,
        fetch_id: page.last_fetch.unwrap_or_default(),
        fetched_at: f.fetched_at,
        body_sha256: page.body_sha256.clone().unwrap_or_default(),
        text_sha256: text_sha,
        document: doc,
        // Derived again by whoever reads the version; the archive keeps documents.
        report: None,
    });
    tracing::info!(url = %entry.url, version = page.versions, kind = ?entry.kind, "archived");
    let mut summary = lock(&ctx.summary);
    if let Some(report) = report.filter(|r| r.format.is_some()) {
        summary.parsed_reports += 1;
        let failed: Vec<String> = report.checks.iter().filter(|c| !c.ok).map(|c| c.name()).collect();
        if !failed.is_empty() {
            summary.failed_checks += 1;
            tracing::info!(url = %entry.url, failed = %failed.join(", "), "parsed with failed checks");
        }
    }
    match (page.versions, entry.kind) {
        (1, PageKind::Attachment) => summary.new_attachments += 1,
        (1, _) => summary.new_reports += 1,
        _ => summary.new_versions += 1,
    }
    drop(summary);
    if entry.kind == PageKind::Attachment {
        link_to_parent(ctx, entry, page, commit)?;
    }
    Ok(())
}

/// Queues a report page's attachments, read from the cleaner's tree when there is one.
fn queue_attachments(
    ctx: &Ctx,
    entry: &FrontierEntry,
    f: &FetchedPage,
    body: &[u8],
    parsed: Option<&scraper::Html>,
    page: &mut PageRecord,
    commit: &mut Commit,
) -> Result<(), StoreError> {
    let Some((_, scope)) = ctx.portals.get(&entry.portal) else { return Ok(()) };
    let links = match parsed {
        Some(html) => discover::read_parsed_report_page(html, &f.final_url, scope),
        None => discover::read_report_page(&crate::charset::decode(body, f.content_type()).0, &f.final_url, scope),
    };
    for link in links {
        let url = link.url.to_string();
        if !page.attachments.iter().any(|a| a.url == url) {
            page.attachments.push(AttachmentRef { url: url.clone(), name: link.text.clone(), sha256: None });
        }
        let held = ctx.store.page(&url)?.is_some_and(|p| p.versions > 0);
        if held || ctx.store.seen(&url)? {
            continue;
        }
        commit.enqueue.push(FrontierEntry {
            url,
            portal: entry.portal.clone(),
            kind: PageKind::Attachment,
            parent: Some(entry.url.clone()),
            name: Some(link.text).filter(|t| !t.is_empty()),
            barren: 0,
            form: None,
        });
    }
    Ok(())
}

/// Records an attachment's digest on the report page that links it.
fn link_to_parent(ctx: &Ctx, entry: &FrontierEntry, page: &PageRecord, commit: &mut Commit) -> Result<(), StoreError> {
    let Some(parent_url) = &entry.parent else { return Ok(()) };
    let Some(mut parent) = ctx.store.page(parent_url)? else { return Ok(()) };
    let name = page.name.clone().unwrap_or_default();
    match parent.attachments.iter_mut().find(|a| a.url == entry.url) {
        Some(a) => a.sha256 = page.body_sha256.clone(),
        None => {
            parent.attachments.push(AttachmentRef { url: entry.url.clone(), name, sha256: page.body_sha256.clone() })
        }
    }
    commit.pages.push(parent);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(url: &str, text: &str) -> Link {
        Link { url: Url::parse(url).unwrap(), text: text.into() }
    }

    #[test]
    fn year_hint_prefers_the_text() {
        assert_eq!(
            year_hint(&link("http://a.gov.cn/nb/202301/t20230131_1.html", "2022年政府信息公开工作年度报告")),
            Some(2022)
        );
        assert_eq!(year_hint(&link("http://a.gov.cn/nb/202301/t20230131_1.html", "年度报告")), Some(2023));
        assert_eq!(year_hint(&link("http://a.gov.cn/art/2021/1/25/art_1_2.html", "报告")), Some(2021));
        assert_eq!(year_hint(&link("http://a.gov.cn/nb/doc_641d.html", "报告")), None);
    }
}
