//! The crawl engine: walks each portal's 年报 section through fetch → discover → clean → parse →
//! store, resumably.
//!
//! All work of a run lives in the store's frontier, grouped by host. The scheduler keeps a few
//! requests in flight per host (the fetcher's per-host limiter does the pacing) and serves hosts
//! round-robin, so one large portal never starves the others and the run's wall time is the rate
//! limit's bound. A finished page's results and the removal of its frontier entry are one
//! transaction; a run killed at any moment resumes with exactly the work it had not finished.
//!
//! The caller owns shutdown: cancelling the token stops new work, lets in-flight pages finish or
//! abandon their request, flushes the store, and returns.

mod page;
mod summary;
mod worker;

pub use summary::Summary;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::{Portal, Settings};
use crate::discover::{self, Scope};
use crate::fetch::{FetchError, Fetcher};
use crate::store::{FrontierEntry, PageKind, RunRecord, Store, StoreError};

/// Which of the two crawls to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// The scheduled, incremental crawl: paging stops once a list page brings nothing new, held
    /// pages are revalidated when older than `revisit_after`.
    Crawl,
    /// Every list page to the end, every report not yet held; `since` skips reports of older years.
    Backfill { since: Option<i32> },
}

/// Why a run could not be carried out at all (page failures are not errors: they are recorded).
#[derive(Debug, thiserror::Error)]
pub enum CrawlError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot set up HTTP: {0}")]
    Fetch(#[from] FetchError),
    #[error("no portal selected: {0}")]
    NoPortals(String),
    #[error("cannot start the page worker thread: {0}")]
    Worker(std::io::Error),
}

/// A hook for progress display; the engine calls it after every page.
pub type Progress = Arc<dyn Fn(&Summary, usize) + Send + Sync>;

/// What every page task shares.
pub(crate) struct Ctx {
    pub store: Store,
    pub fetcher: Fetcher,
    pub settings: Settings,
    pub mode: Mode,
    pub portals: HashMap<String, (Portal, Scope)>,
    pub summary: Mutex<Summary>,
    /// Serialises read-modify-write of page records (an attachment updates its report's record).
    pub commit_lock: Mutex<()>,
    /// The thread that does every page's synchronous work, one page at a time.
    pub pages: worker::PageWorker,
    /// List pages fetched per portal this run, for `max_pages`.
    pub list_budget: Mutex<HashMap<String, u64>>,
    pub cancel: CancellationToken,
}

/// The async runtime a crawl runs on: one thread. The page worker does the CPU work on a thread
/// of its own (see [`worker`]), so the runtime only waits on sockets and timers; the two worker
/// threads of tokio's default runtime cost wake-ups and work-stealing between threads, not
/// throughput (README, Performance).
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()
}

/// Runs a crawl or backfill over `portals` until the frontier is empty or `cancel` fires.
pub async fn run(
    settings: &Settings,
    store: &Store,
    portals: &[Portal],
    mode: Mode,
    cancel: CancellationToken,
    progress: Option<Progress>,
) -> Result<Summary, CrawlError> {
    if portals.is_empty() {
        return Err(CrawlError::NoPortals("the seeds list no portal to crawl".into()));
    }
    let started = Instant::now();
    let fetcher = Fetcher::new(settings, portals)?;
    let (run, resumed) = begin_run(settings, store, portals, &mode)?;
    let ctx = Arc::new(Ctx {
        store: store.clone(),
        fetcher,
        settings: settings.clone(),
        mode,
        portals: portals.iter().map(|p| (p.name.clone(), (p.clone(), Scope::new(p)))).collect(),
        summary: Mutex::new(Summary { resumed, ..Summary::default() }),
        commit_lock: Mutex::new(()),
        pages: worker::PageWorker::start(settle_when_idle(store.clone())).map_err(CrawlError::Worker)?,
        list_budget: Mutex::new(HashMap::new()),
        cancel: cancel.clone(),
    });
    let scheduled = schedule(&ctx, progress).await;
    // Pages staged before a failure are whole results: keep them.
    store.flush().await?;
    scheduled?;
    let mut summary = lock(&ctx.summary).clone();
    summary.interrupted = cancel.is_cancelled();
    summary.elapsed = started.elapsed();
    if !summary.interrupted {
        finish_run(store, run, &summary)?;
        store.flush().await?;
    }
    Ok(summary)
}

/// The page worker's idle hook: pages staged by a busy worker are written together; once it has
/// no page to do, what it staged is written at once, so a polite crawl killed loses no more than
/// the pages in flight.
fn settle_when_idle(store: Store) -> impl Fn() + Send + 'static {
    move || {
        if let Err(e) = store.settle() {
            tracing::error!("could not store the pages just done (they stay pending): {e}");
        }
    }
}

/// Resumes the unfinished run of the same kind, or starts a new one seeded with the portals.
fn begin_run(
    settings: &Settings,
    store: &Store,
    portals: &[Portal],
    mode: &Mode,
) -> Result<(RunRecord, bool), StoreError> {
    let names: Vec<String> = portals.iter().map(|p| p.name.clone()).collect();
    let (mode_name, since) = match mode {
        Mode::Crawl => ("crawl", None),
        Mode::Backfill { since } => ("backfill", *since),
    };
    if let Some(run) = store.run()? {
        if run.finished_at.is_none() && run.mode == mode_name && run.portals == names && run.since == since {
            tracing::info!(run = run.id, pending = store.pending_len(), "resuming the unfinished run");
            return Ok((run, true));
        }
    }
    let run = RunRecord {
        id: store.next_id()?,
        started_at: Utc::now(),
        mode: mode_name.into(),
        portals: names,
        since,
        finished_at: None,
    };
    store.start_run(&run)?;
    let mut seeds = Vec::new();
    for portal in portals {
        seeds.push(FrontierEntry {
            url: discover::canonicalize(&portal.start).to_string(),
            portal: portal.name.clone(),
            kind: PageKind::List,
            parent: None,
            name: None,
            barren: 0,
            form: None,
        });
        let mut record = store.portal_record(&portal.name)?;
        record.last_run_started = Some(run.started_at);
        store.put_portal_record(&portal.name, &record)?;
    }
    if *mode == Mode::Crawl {
        seeds.extend(stale_pages(settings, store, portals)?);
    }
    store.commit(crate::store::Commit { enqueue: seeds, ..Default::default() })?;
    Ok((run, false))
}

/// Held reports and attachments due for revalidation.
fn stale_pages(settings: &Settings, store: &Store, portals: &[Portal]) -> Result<Vec<FrontierEntry>, StoreError> {
    let names: HashSet<&str> = portals.iter().map(|p| p.name.as_str()).collect();
    let mut out = Vec::new();
    for page in store.due_pages(revisit_cutoff(Utc::now(), settings.crawl.revisit_after))? {
        if names.contains(page.portal.as_str()) {
            out.push(FrontierEntry {
                url: page.url,
                portal: page.portal,
                kind: page.kind,
                parent: page.parent,
                name: page.name,
                barren: 0,
                form: None,
            });
        }
    }
    Ok(out)
}

/// The check time at or before which a held page is due: `revisit_after` before `now`, or the
/// beginning of time for a `revisit_after` longer than chrono's calendar (never revisit).
fn revisit_cutoff(now: DateTime<Utc>, revisit_after: Duration) -> DateTime<Utc> {
    chrono::TimeDelta::from_std(revisit_after)
        .ok()
        .and_then(|d| now.checked_sub_signed(d))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

fn finish_run(store: &Store, mut run: RunRecord, summary: &Summary) -> Result<(), StoreError> {
    let now = Utc::now();
    for (portal, (ok, _)) in &summary.portals {
        if *ok > 0 {
            let mut record = store.portal_record(portal)?;
            record.last_success = Some(now);
            store.put_portal_record(portal, &record)?;
        }
    }
    run.finished_at = Some(now);
    store.finish_run(&run)
}

/// How many requests of one host may be under way at once; the limiter spaces them.
fn host_slots(settings: &Settings) -> usize {
    (settings.crawl.per_host_burst.get() as usize + 1).min(8)
}

/// How long the scheduler trusts its list of hosts with pending work. Reading the list seeks the
/// frontier once per host; read after every page, it was three quarters of the scheduler's CPU.
/// A host that gets its first work meanwhile waits at most this long (or not at all, when
/// nothing else is running).
const HOSTS_REREAD: Duration = Duration::from_millis(100);

/// Frontier entries the scheduler reads at a time for a host, and hands out as its slots free up.
/// Reading one entry per freed slot seeked the frontier for every page. Entries are only removed
/// by finishing them and new ones sort after the old, so entries read ahead stay valid, in order.
const READ_AHEAD: usize = 16;

/// Hands frontier entries to page tasks, host by host, until there is no work or we are cancelled.
async fn schedule(ctx: &Arc<Ctx>, progress: Option<Progress>) -> Result<(), CrawlError> {
    let slots = host_slots(&ctx.settings);
    let mut tasks: JoinSet<()> = JoinSet::new();
    let mut running: HashMap<tokio::task::Id, (String, Vec<u8>)> = HashMap::new();
    let mut busy: HashSet<Vec<u8>> = HashSet::new();
    let mut per_host: HashMap<String, usize> = HashMap::new();
    let mut last_flush = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let mut hosts: Vec<String> = Vec::new();
    let mut hosts_read: Option<Instant> = None;
    let mut read_ahead: HashMap<String, VecDeque<(Vec<u8>, FrontierEntry)>> = HashMap::new();
    // Hosts whose frontier held nothing but pages in flight when last read: a host's work comes
    // from its own pages, so it is read again when one of them finishes or the host list is.
    let mut drained: HashSet<String> = HashSet::new();
    loop {
        let mut hosts_fresh = false;
        if !ctx.cancel.is_cancelled() {
            if hosts_read.is_none_or(|at| at.elapsed() > HOSTS_REREAD) {
                hosts = ctx.store.pending_hosts()?;
                hosts_read = Some(Instant::now());
                hosts_fresh = true;
                drained.clear();
            }
            for host in &hosts {
                if drained.contains(host) {
                    continue;
                }
                let in_host = per_host.get(host).copied().unwrap_or(0);
                let room =
                    slots.saturating_sub(in_host).min(ctx.settings.crawl.max_concurrency.saturating_sub(tasks.len()));
                if room == 0 {
                    continue;
                }
                let ahead = read_ahead.entry(host.clone()).or_default();
                for _ in 0..room {
                    // Read only once those read before are all handed out (busy), so none twice.
                    if ahead.is_empty() {
                        ahead.extend(ctx.store.next_pending(host, READ_AHEAD, &busy)?);
                    }
                    let Some((key, entry)) = ahead.pop_front() else {
                        drained.insert(host.clone());
                        break;
                    };
                    busy.insert(key.clone());
                    *per_host.entry(host.clone()).or_default() += 1;
                    let task_ctx = Arc::clone(ctx);
                    let task_key = key.clone();
                    let handle = tasks.spawn(async move { page::process(&task_ctx, &task_key, entry).await });
                    running.insert(handle.id(), (host.clone(), key));
                }
            }
        }
        if tasks.is_empty() {
            // A host that got work since the list was read would be missed: read it again first.
            if hosts_fresh || ctx.cancel.is_cancelled() {
                break;
            }
            hosts_read = None;
            continue;
        }
        let done = tokio::select! {
            done = tasks.join_next_with_id() => done,
            _ = tick.tick() => {
                serve_readers(ctx).await;
                continue;
            }
        };
        let Some(done) = done else { break };
        let (id, crashed) = match done {
            Ok((id, ())) => (id, false),
            Err(e) => {
                tracing::error!("a page task failed: {e}");
                (e.id(), true)
            }
        };
        if let Some((host, key)) = running.remove(&id) {
            // A crashed page stays busy, so this run does not retry it in a loop; it stays
            // pending, so the next run does.
            if !crashed {
                busy.remove(&key);
            }
            if let Some(n) = per_host.get_mut(&host) {
                *n = n.saturating_sub(1);
            }
            drained.remove(&host);
        }
        if let Some(progress) = &progress {
            progress(&lock(&ctx.summary), ctx.store.pending_len());
        }
        if last_flush.elapsed() > Duration::from_secs(5) {
            ctx.store.flush().await?;
            last_flush = Instant::now();
        }
    }
    Ok(())
}

/// Makes the copy a reader asked for (see [`crate::handoff`]) while no page commits.
async fn serve_readers(ctx: &Arc<Ctx>) {
    let ctx = Arc::clone(ctx);
    let served = tokio::task::spawn_blocking(move || {
        let _quiet = lock(&ctx.commit_lock);
        crate::handoff::serve_request(&ctx.store)
    })
    .await;
    match served {
        Ok(Err(e)) => tracing::error!("could not copy the archive for a reader: {e}"),
        Err(e) => tracing::error!("could not copy the archive for a reader: {e}"),
        Ok(Ok(_)) => {}
    }
}

/// Locks a mutex, recovering the data if a panicking task poisoned it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revisit_cutoff_never_overflows() {
        let now = Utc::now();
        assert_eq!(revisit_cutoff(now, Duration::ZERO), now);
        assert_eq!(revisit_cutoff(now, Duration::from_secs(3600)), now - chrono::TimeDelta::hours(1));
        // "Never revisit", written as a huge number of hours: nothing is ever due.
        assert_eq!(revisit_cutoff(now, Duration::MAX), DateTime::<Utc>::MIN_UTC);
        assert_eq!(revisit_cutoff(now, Duration::from_secs(u64::MAX / 4)), DateTime::<Utc>::MIN_UTC);
    }
}
