//! The archive: everything nianbao keeps, in one sled database behind this module.
//!
//! Trees (keys → values):
//! - `pages`: canonical URL → [`PageRecord`], the current state of every URL ever seen.
//! - `fetches`: fetch id (big-endian u64) → [`FetchRecord`], every HTTP exchange, for the WARC.
//! - `blobs`: hex SHA-256 → where the raw body is kept ([`BODY_REF`] and a `bodies` key),
//!   content-addressed so identical bodies are kept once. An archive written before `bodies`
//!   existed holds the body itself here, and still reads.
//! - `bodies`: id of the fetch that first brought it (big-endian u64) → raw body. Keyed by the
//!   increasing fetch id, new bodies are appended at the end of the tree instead of landing in a
//!   random node of it by their digest, which made sled read a node of old bodies into memory for
//!   every new one. sled itself moves large values into files of their own beside its log.
//! - `versions`: URL, NUL, version number (big-endian u32) → [`VersionRecord`] without its report,
//!   which readers derive from the document (see [`VersionRecord::report`]).
//! - `texts`: hex SHA-256 of a cleaned text → the URL holding it (finds aliases).
//! - `pending`: host, NUL, sequence (big-endian u64) → [`FrontierEntry`], the run's work still to do,
//!   grouped by host so that the scheduler can serve every host at its own rate.
//! - `seen`: URL → nothing: every URL the current run has queued (the run's seen-set, on disk).
//! - `due`: when a held page was last checked ([`due_key`]), URL → nothing: the pages a crawl
//!   revalidates, found without reading every page record (see [`Store::due_pages`]).
//! - `meta`: `run` → [`RunRecord`]; `id_base` and `compacted`, written by [`compact`];
//!   `portals`: portal name → [`PortalRecord`].
//! - `dicts`: the compression dictionaries (see [`pack`]).
//!
//! Records are JSON. Bodies, versions, fetches and pages are packed with their host's compression
//! dictionary ([`pack`]); a value written by an older nianbao (plain JSON or plain zstd) still reads.
//!
//! Invariant: a page's result and the removal of its frontier entry are written in one transaction
//! (during a crawl, one per group of pages: see [`group`]), so a run killed at any moment either
//! has both or neither, and resumes by redoing only the latter.
//! Nothing else in nianbao imports sled.

mod compact;
mod group;
mod pack;
mod records;

pub use compact::{compact, compact_if_grown, compact_path, Compaction, GROWTH};

pub use records::*;

use std::collections::HashSet;
use std::ffi::OsString;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};
use sled::{Db, IVec, Tree};

use crate::document::Document;
use group::{Group, Merged, Slot};
use pack::{Fallback, Packer};

/// What can go wrong with the archive; every message says which file or URL.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the archive at {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: sled::Error,
    },
    #[error("the archive at {path} is in use by another nianbao process; wait for it to finish")]
    InUse { path: PathBuf },
    #[error("archive error: {0}")]
    Sled(#[from] sled::Error),
    #[error("cannot write {path} to disk: {source}")]
    Sync {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot compact the archive at {path}: {source}")]
    Compact {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "not enough disk space to compact the archive: {path} needs up to {} MB, {} MB are free",
        need / 1_000_000,
        free / 1_000_000
    )]
    NoSpace { path: PathBuf, need: u64, free: u64 },
    #[error("archive record {what} {key:?} is unreadable: {reason}")]
    Corrupt { what: &'static str, key: String, reason: String },
}

/// A handle on the archive; cheap to clone, safe to share between tasks.
#[derive(Clone)]
pub struct Store {
    db: Db,
    path: PathBuf,
    pages: Tree,
    fetches: Tree,
    blobs: Tree,
    bodies: Tree,
    versions: Tree,
    texts: Tree,
    pending: Tree,
    seen: Tree,
    due: Tree,
    meta: Tree,
    portals: Tree,
    packer: Arc<Packer>,
    /// Added to sled's id counter, which a compacted copy starts again at zero (see [`compact`]).
    id_base: u64,
    /// Commits staged and not yet written (see [`group`]); every read looks here first.
    group: Arc<Mutex<Group>>,
    /// What [`Store::sync_blob_files`] has fsynced.
    synced_blobs: Arc<Mutex<SyncedBlobs>>,
}

/// The files of sled's `blobs/` directory already fsynced, and the directory's modification time
/// when they were listed.
#[derive(Default)]
struct SyncedBlobs {
    files: HashSet<OsString>,
    dir_modified: Option<std::time::SystemTime>,
}

/// Everything one finished page changes, written in a single transaction.
#[derive(Debug, Default)]
pub struct Commit {
    pub fetch: Option<FetchRecord>,
    /// The body of `fetch`, kept in `bodies` under the fetch's id and found by its `body_sha256`,
    /// unless the archive holds it already.
    pub body: Option<Vec<u8>>,
    pub pages: Vec<PageRecord>,
    pub version: Option<VersionRecord>,
    /// The URL the version belongs to; also indexed under its text digest.
    pub version_url: Option<String>,
    /// The frontier entry this commit completes: (host, key).
    pub done: Option<Vec<u8>>,
    /// Work discovered by this page.
    pub enqueue: Vec<FrontierEntry>,
}

/// sled's page cache. Its default, 1 GiB, let the cache hold every page written during a crawl, so
/// the process grew with the archive (250 MB peak RSS for 5,000 reports); the crawl reads only the
/// frontier, the seen-set and the few records it updates, which the OS page cache serves as well.
/// 8 MiB rather than 16: at 20,000 reports the crawl peaked at 57–58 MB instead of 65 MB, for a
/// little more sys time reading from the OS's cache (README, Performance).
const CACHE_BYTES: u64 = 8 * 1024 * 1024;

/// The meta key of the id base, big-endian u64 (see [`Store::next_id`]).
const ID_BASE_KEY: &[u8] = b"id_base";

/// The meta key whose presence says that `due` indexes every held page. Archives written before
/// `due` existed lack it, and [`Store::due_pages`] indexes them once.
const DUE_INDEX_KEY: &[u8] = b"due_index";

/// First byte of a `blobs` value that says where the body is: the `bodies` key follows (8 bytes).
/// A body kept in `blobs` itself, as older archives have them, is packed ([`pack`]): it starts
/// with a dictionary tag or zstd's magic number, never with this.
const BODY_REF: u8 = 0x02;

impl Store {
    /// Opens (or creates) the archive at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Store::open_with_cache(path, CACHE_BYTES)
    }

    /// Opens the archive with a page cache of `cache_bytes`.
    fn open_with_cache(path: &Path, cache_bytes: u64) -> Result<Store, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| StoreError::Open { path: path.into(), source: sled::Error::Io(e) })?;
        }
        let db = sled::Config::new().path(path).cache_capacity(cache_bytes).open().map_err(|source| match &source {
            // sled takes an exclusive file lock and says so only in its message.
            sled::Error::Io(e) if e.to_string().contains("could not acquire lock") => {
                StoreError::InUse { path: path.into() }
            }
            _ => StoreError::Open { path: path.into(), source },
        })?;
        let tree = |name: &str| db.open_tree(name);
        let meta = tree("meta")?;
        let id_base = match meta.get(ID_BASE_KEY)? {
            Some(v) => u64::from_be_bytes(v.as_ref().try_into().map_err(|_| StoreError::Corrupt {
                what: "meta",
                key: "id_base".into(),
                reason: format!("{} bytes, not 8", v.len()),
            })?),
            None => 0,
        };
        Ok(Store {
            path: path.into(),
            pages: tree("pages")?,
            fetches: tree("fetches")?,
            blobs: tree("blobs")?,
            bodies: tree("bodies")?,
            versions: tree("versions")?,
            texts: tree("texts")?,
            pending: tree("pending")?,
            seen: tree("seen")?,
            due: tree("due")?,
            meta,
            portals: tree("portals")?,
            packer: Arc::new(Packer::open(tree("dicts")?)?),
            id_base,
            group: Arc::new(Mutex::new(Group::new())),
            synced_blobs: Arc::default(),
            db,
        })
    }

    /// Opens the archive once a handle just dropped has let go of it: sled's flusher thread may
    /// hold the file lock for a moment after the last handle is dropped. Waits up to 2 s.
    fn open_released_with_cache(path: &Path, cache_bytes: u64) -> Result<Store, StoreError> {
        for _ in 0..100 {
            match Store::open_with_cache(path, cache_bytes) {
                Err(StoreError::InUse { .. }) => std::thread::sleep(std::time::Duration::from_millis(20)),
                other => return other,
            }
        }
        Store::open_with_cache(path, cache_bytes)
    }

    /// Where the archive lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes everything staged and buffered to disk; after this returns, it survives a crash.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.settle()?;
        self.db.flush_async().await?;
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.sync_blob_files(true))
            .await
            .map_err(|e| StoreError::Sync { path: self.path.join("blobs"), source: std::io::Error::other(e) })?
    }

    /// fsyncs the files sled has added to `blobs/` since the last call; unless `always`, only if
    /// the directory's modification time says it changed (one `stat` after each group). sled 0.34
    /// writes every node larger than a quarter of its 512 KiB log segment (one of 16 bodies of
    /// 8 KB, or holding a large attachment's) to a file of its own there, and fsyncs its log,
    /// which points at the file, but never the file; it also removes the node's previous file
    /// once the log segment pointing at the new one is full. A power cut in between would lose
    /// the node's records; fsynced right after the group that wrote it, the new file is on disk
    /// about as soon as the log that points at it. A change within the time stamp's granularity
    /// can go unseen until the next change or the next [`Store::flush`], which lists always.
    fn sync_blob_files(&self, always: bool) -> Result<(), StoreError> {
        let dir = self.path.join("blobs");
        let failed = |path: &Path| {
            let path = path.to_owned();
            move |source| StoreError::Sync { path, source }
        };
        let modified = match std::fs::metadata(&dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            metadata => metadata.map_err(failed(&dir))?.modified().ok(),
        };
        let mut synced = self.synced_blobs.lock().unwrap_or_else(|e| e.into_inner());
        if !always && modified.is_some() && modified == synced.dir_modified {
            return Ok(());
        }
        // Taken before the listing, so that a file added during it changes the time again.
        synced.dir_modified = modified;
        let mut present = HashSet::with_capacity(synced.files.len());
        for entry in std::fs::read_dir(&dir).map_err(failed(&dir))? {
            let entry = entry.map_err(failed(&dir))?;
            let name = entry.file_name();
            if !synced.files.contains(&name) {
                match std::fs::File::open(entry.path()) {
                    Ok(file) => file.sync_all().map_err(failed(&entry.path()))?,
                    // Removed by sled since the listing: superseded, nothing to keep.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(failed(&entry.path())(e)),
                }
            }
            present.insert(name);
        }
        if present.iter().any(|name| !synced.files.contains(name)) {
            std::fs::File::open(&dir).and_then(|d| d.sync_all()).map_err(failed(&dir))?;
        }
        synced.files = present;
        Ok(())
    }

    /// Flushes and copies the whole database to `dest`, which must not exist. The caller keeps
    /// writers out meanwhile, so that the copy is one consistent state of the archive.
    pub fn copy_to(&self, dest: &Path) -> Result<(), StoreError> {
        self.settle()?;
        self.db.flush()?;
        copy_dir(&self.path, dest).map_err(|e| StoreError::Sled(sled::Error::Io(e)))
    }

    /// A fresh id, increasing across runs and compactions.
    pub fn next_id(&self) -> Result<u64, StoreError> {
        Ok(self.id_base + self.db.generate_id()?)
    }

    /// Bytes the archive occupies on disk.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.db.size_on_disk()?)
    }

    /// A raw body by its hex SHA-256, decompressed.
    pub fn blob(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(entry) = self.get(Slot::Blobs, sha256.as_bytes())? else { return Ok(None) };
        let corrupt = |reason: String| StoreError::Corrupt { what: "blob", key: sha256.into(), reason };
        let packed = self.packed_body(entry)?.ok_or_else(|| corrupt("its body is missing from `bodies`".into()))?;
        self.packer.unpack(&packed).map(Some).map_err(corrupt)
    }

    /// The packed body a `blobs` entry points to (see [`BODY_REF`]), or holds itself.
    fn packed_body(&self, entry: IVec) -> Result<Option<IVec>, StoreError> {
        match body_ref(&entry) {
            Some(key) => self.get(Slot::Bodies, &key),
            None => Ok(Some(entry)),
        }
    }

    /// Every blob's digest and whether its content still matches it (for `verify`).
    pub fn verify_blobs(&self) -> impl Iterator<Item = Result<(String, bool), StoreError>> + '_ {
        self.scan(Slot::Blobs, Bound::Unbounded, Bound::Unbounded).map(|item| {
            let (key, entry) = item?;
            let key = String::from_utf8_lossy(&key).into_owned();
            let packed = self.packed_body(entry)?;
            let ok = packed.is_some_and(|p| self.packer.unpack(&p).is_ok_and(|body| sha256_hex(&body) == key));
            Ok((key, ok))
        })
    }

    pub fn page(&self, url: &str) -> Result<Option<PageRecord>, StoreError> {
        self.get(Slot::Pages, url.as_bytes())?.map(|v| self.decode_packed(&v, "page", url)).transpose()
    }

    /// Every page record, in URL order.
    pub fn pages(&self) -> impl Iterator<Item = Result<PageRecord, StoreError>> + '_ {
        self.scan(Slot::Pages, Bound::Unbounded, Bound::Unbounded).map(|item| {
            let (key, value) = item?;
            self.decode_packed(&value, "page", &String::from_utf8_lossy(&key))
        })
    }

    /// The held pages (see [`PageRecord::is_held`]) last checked at or before `cutoff`, or never,
    /// oldest first. Reads the `due` index, not every page record, so that a cron crawl's start
    /// costs what is due rather than what the archive holds (reading every page record took 4 µs
    /// a page and kept sled's nodes of the whole `pages` tree resident). An entry left under an
    /// old check time is moved to the page's own time, or dropped with a page no longer held.
    pub fn due_pages(&self, cutoff: DateTime<Utc>) -> Result<Vec<PageRecord>, StoreError> {
        self.settle()?;
        if self.meta.get(DUE_INDEX_KEY)?.is_none() {
            self.index_due_pages()?;
        }
        let end = due_time(Some(cutoff)).saturating_add(1).to_be_bytes();
        let mut due = Vec::new();
        for item in self.due.range::<&[u8], _>(..&end[..]) {
            let (key, _) = item?;
            let url = String::from_utf8_lossy(key.get(8..).unwrap_or_default()).into_owned();
            let page = self.page(&url)?.filter(PageRecord::is_held);
            let own_key = page.as_ref().map(|p| due_key(p.last_checked, &p.url));
            if own_key.as_deref() != Some(key.as_ref()) {
                self.due.remove(&key)?;
                if let Some(own_key) = own_key {
                    self.due.insert(own_key, IVec::default())?;
                }
            }
            if let Some(page) = page.filter(|p| p.last_checked.is_none_or(|t| t <= cutoff)) {
                due.push(page);
            }
        }
        Ok(due)
    }

    /// Indexes every held page in `due`, once, for an archive written before `due` existed. The
    /// marker goes in after the entries, and sled keeps a prefix of its log, so a crash between
    /// only means indexing again.
    fn index_due_pages(&self) -> Result<(), StoreError> {
        // In batches, so that a large archive's index is not first built whole in memory (tests
        // cross a batch's end with a few pages).
        const BATCH: usize = if cfg!(test) { 2 } else { 10_000 };
        let (mut batch, mut in_batch) = (sled::Batch::default(), 0);
        for page in self.pages() {
            let page = page?;
            if page.is_held() {
                batch.insert(due_key(page.last_checked, &page.url), IVec::default());
                in_batch += 1;
                if in_batch == BATCH {
                    self.due.apply_batch(std::mem::take(&mut batch))?;
                    in_batch = 0;
                }
            }
        }
        self.due.apply_batch(batch)?;
        self.meta.insert(DUE_INDEX_KEY, IVec::default())?;
        Ok(())
    }

    pub fn fetch(&self, id: u64) -> Result<Option<FetchRecord>, StoreError> {
        self.get(Slot::Fetches, &id.to_be_bytes())?
            .map(|v| self.decode_packed(&v, "fetch", &id.to_string()))
            .transpose()
    }

    /// Every fetch, oldest first.
    pub fn fetches(&self) -> impl Iterator<Item = Result<FetchRecord, StoreError>> + '_ {
        self.scan(Slot::Fetches, Bound::Unbounded, Bound::Unbounded).map(|item| {
            let (key, value) = item?;
            self.decode_packed(&value, "fetch", &format!("{key:?}"))
        })
    }

    /// The versions of a document, oldest first.
    pub fn versions(&self, url: &str) -> Result<Vec<VersionRecord>, StoreError> {
        self.scan_prefix(Slot::Versions, &version_prefix(url))
            .map(|item| self.decode_version(&item?.1, url, true))
            .collect()
    }

    /// The newest version of a document.
    pub fn latest_version(&self, url: &str) -> Result<Option<VersionRecord>, StoreError> {
        self.newest_version(url, true)
    }

    /// The digest of the newest cleaned text of a document: what a refetch is compared with. Cheaper
    /// than [`Store::latest_version`], as it does not run the parser.
    pub fn latest_text_sha256(&self, url: &str) -> Result<Option<String>, StoreError> {
        Ok(self.newest_version(url, false)?.map(|v| v.text_sha256))
    }

    fn newest_version(&self, url: &str, with_report: bool) -> Result<Option<VersionRecord>, StoreError> {
        let mut newest = None;
        for item in self.scan_prefix(Slot::Versions, &version_prefix(url)) {
            newest = Some(item?.1);
        }
        newest.map(|packed| self.decode_version(&packed, url, with_report)).transpose()
    }

    /// The URL already holding a cleaned text with this digest, if any.
    pub fn url_for_text(&self, text_sha256: &str) -> Result<Option<String>, StoreError> {
        Ok(self.get(Slot::Texts, text_sha256.as_bytes())?.map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// Applies one page's results atomically (see the module invariant), at once.
    pub fn commit(&self, commit: Commit) -> Result<(), StoreError> {
        self.stage(commit)?;
        self.settle()
    }

    /// Takes one page's results into the group that is written next (see [`group`]): every read
    /// sees them at once, sled once the group is full or on [`Store::settle`] or [`Store::flush`].
    /// A failure to write the full group is reported here, and this commit is not taken.
    pub fn stage(&self, commit: Commit) -> Result<(), StoreError> {
        let mut queued = Vec::with_capacity(commit.enqueue.len());
        for entry in &commit.enqueue {
            queued.push((pending_key(&host_of(&entry.url), self.next_id()?), encode_json(entry)));
        }
        self.learn_dictionary(&commit)?;
        let version = match (&commit.version, &commit.version_url) {
            (Some(v), Some(url)) => {
                let stored = stored_version(v);
                let packed = self.packer.pack_document(&host_of(url), &stored, version_body(&commit, v))?;
                Some((version_key(url, v.n), packed, v.text_sha256.clone(), url))
            }
            _ => None,
        };
        let fetch = match &commit.fetch {
            Some(f) => Some((f.id.to_be_bytes(), self.pack_record(&f.url, f)?)),
            None => None,
        };
        let blob = match (&commit.fetch, &commit.body) {
            (Some(FetchRecord { id, url, body_sha256: Some(sha), .. }), Some(body))
                if self.get(Slot::Blobs, sha.as_bytes())?.is_none() =>
            {
                Some((sha, id.to_be_bytes(), self.packer.pack(&host_of(url), body, Fallback::Zstd)?))
            }
            _ => None,
        };
        let mut pages = Vec::with_capacity(commit.pages.len());
        for p in &commit.pages {
            pages.push((p.url.as_bytes(), self.pack_record(&p.url, p)?));
        }
        let mut group = self.group();
        if group.is_full() {
            self.apply(&mut group)?;
        }
        if let Some((key, value)) = fetch {
            group.insert(Slot::Fetches, &key, value.into());
        }
        if let Some((sha, key, value)) = blob {
            group.insert(Slot::Blobs, sha.as_bytes(), [&[BODY_REF][..], &key].concat().into());
            group.insert(Slot::Bodies, &key, value.into());
        }
        for (key, value) in pages {
            group.insert(Slot::Pages, key, value.into());
        }
        // Its new check time; the entry under the old one is dropped when `due_pages` meets it.
        for p in commit.pages.iter().filter(|p| p.is_held()) {
            group.insert(Slot::Due, &due_key(p.last_checked, &p.url), IVec::default());
        }
        if let Some((key, value, text_sha, url)) = version {
            group.insert(Slot::Versions, &key, value.into());
            if self.lookup(&group, Slot::Texts, text_sha.as_bytes())?.is_none() {
                group.insert(Slot::Texts, text_sha.as_bytes(), url.as_bytes().into());
            }
        }
        if let Some(done) = &commit.done {
            if self.lookup(&group, Slot::Pending, done)?.is_some() {
                group.pending_delta -= 1;
            }
            group.remove(Slot::Pending, done);
        }
        for (entry, (key, value)) in commit.enqueue.iter().zip(queued) {
            if self.lookup(&group, Slot::Seen, entry.url.as_bytes())?.is_none() {
                group.insert(Slot::Seen, entry.url.as_bytes(), IVec::default());
                group.insert(Slot::Pending, &key, value.into());
                group.pending_delta += 1;
            }
        }
        group.took_commit();
        Ok(())
    }

    /// Writes the staged group to sled now.
    pub fn settle(&self) -> Result<(), StoreError> {
        self.apply(&mut self.group())
    }

    /// Writes a group in one transaction; on failure it stays staged, and reads still see it. A
    /// failure to fsync the blob files it made ([`Store::sync_blob_files`]) is reported after it
    /// was written.
    fn apply(&self, group: &mut Group) -> Result<(), StoreError> {
        if group.is_empty() {
            // Commits that wrote nothing still started the group's clock.
            group.clear();
            return Ok(());
        }
        let trees = (
            &self.pages,
            &self.fetches,
            &self.blobs,
            &self.versions,
            &self.texts,
            &self.pending,
            &self.seen,
            &self.bodies,
            &self.due,
        );
        let result: Result<(), TransactionError<()>> =
            trees.transaction(|(pages, fetches, blobs, versions, texts, pending, seen, bodies, due)| {
                let by_slot = [pages, fetches, blobs, versions, texts, pending, seen, bodies, due];
                for (slot, key, value) in group.writes() {
                    let tree = by_slot[slot];
                    match value {
                        Some(value) => tree.insert(key.clone(), value.clone())?,
                        None => tree.remove(key.clone())?,
                    };
                }
                Ok::<(), ConflictableTransactionError<()>>(())
            });
        result.map_err(|e| match e {
            TransactionError::Storage(e) => StoreError::Sled(e),
            TransactionError::Abort(()) => {
                StoreError::Corrupt { what: "transaction", key: String::new(), reason: "aborted".into() }
            }
        })?;
        group.clear();
        self.sync_blob_files(false)
    }

    /// The staged group, recovered if a panicking thread poisoned its lock: a group is changed
    /// only by whole inserts, so it is never half-written.
    fn group(&self) -> MutexGuard<'_, Group> {
        self.group.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn tree(&self, slot: Slot) -> &Tree {
        match slot {
            Slot::Pages => &self.pages,
            Slot::Fetches => &self.fetches,
            Slot::Blobs => &self.blobs,
            Slot::Versions => &self.versions,
            Slot::Texts => &self.texts,
            Slot::Pending => &self.pending,
            Slot::Seen => &self.seen,
            Slot::Bodies => &self.bodies,
            Slot::Due => &self.due,
        }
    }

    /// A value as the archive holds it, staged writes included.
    fn get(&self, slot: Slot, key: &[u8]) -> Result<Option<IVec>, StoreError> {
        self.lookup(&self.group(), slot, key)
    }

    fn lookup(&self, group: &Group, slot: Slot, key: &[u8]) -> Result<Option<IVec>, StoreError> {
        match group.get(slot, key) {
            Some(staged) => Ok(staged.cloned()),
            None => Ok(self.tree(slot).get(key)?),
        }
    }

    /// A tree's entries in a key range, staged writes included, in key order.
    fn scan(&self, slot: Slot, from: Bound<&[u8]>, to: Bound<&[u8]>) -> Merged<sled::Iter> {
        let group = self.group();
        let staged = group.range(slot, from, to);
        Merged::new(self.tree(slot).range::<&[u8], _>((from, to)), staged)
    }

    /// A tree's entries whose keys start with `prefix`, staged writes included.
    fn scan_prefix(&self, slot: Slot, prefix: &[u8]) -> Merged<sled::Iter> {
        match prefix_end(prefix) {
            Some(end) => self.scan(slot, Bound::Included(prefix), Bound::Excluded(&end)),
            None => self.scan(slot, Bound::Included(prefix), Bound::Unbounded),
        }
    }

    /// Whether the current run has already queued this URL.
    pub fn seen(&self, url: &str) -> Result<bool, StoreError> {
        Ok(self.get(Slot::Seen, url.as_bytes())?.is_some())
    }

    /// Hosts with work still pending in the current run.
    pub fn pending_hosts(&self) -> Result<Vec<String>, StoreError> {
        let mut hosts = Vec::new();
        let mut from: Vec<u8> = Vec::new();
        while let Some(item) = self.scan(Slot::Pending, Bound::Included(&from), Bound::Unbounded).next() {
            let (key, _) = item?;
            let host_end = key.iter().position(|&b| b == 0).unwrap_or(key.len());
            let host = &key[..host_end];
            hosts.push(String::from_utf8_lossy(host).into_owned());
            from = host.to_vec();
            from.push(1);
        }
        Ok(hosts)
    }

    /// Up to `limit` pending entries of one host, oldest first, skipping keys in `busy`.
    pub fn next_pending(
        &self,
        host: &str,
        limit: usize,
        busy: &std::collections::HashSet<Vec<u8>>,
    ) -> Result<Vec<(Vec<u8>, FrontierEntry)>, StoreError> {
        let mut prefix = host.as_bytes().to_vec();
        prefix.push(0);
        let mut out = Vec::new();
        for item in self.scan_prefix(Slot::Pending, &prefix) {
            let (key, value) = item?;
            if busy.contains(key.as_ref()) {
                continue;
            }
            let entry = decode(&value, "frontier entry", host)?;
            out.push((key.to_vec(), entry));
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// Entries still pending in the current run.
    pub fn pending_len(&self) -> usize {
        let group = self.group();
        self.pending.len().saturating_add_signed(group.pending_delta)
    }

    /// The current (possibly unfinished) run.
    pub fn run(&self) -> Result<Option<RunRecord>, StoreError> {
        decode_json(self.meta.get(b"run")?, "run", "run")
    }

    /// Starts a new run: forgets the previous run's frontier and seen-set.
    pub fn start_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        self.settle()?;
        self.pending.clear()?;
        self.seen.clear()?;
        self.meta.insert(b"run", encode_json(run))?;
        Ok(())
    }

    /// Marks the current run finished, so that the next one starts afresh, and drops its seen-set.
    pub fn finish_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        self.settle()?;
        self.meta.insert(b"run", encode_json(run))?;
        self.seen.clear()?;
        Ok(())
    }

    pub fn portal_record(&self, name: &str) -> Result<PortalRecord, StoreError> {
        Ok(decode_json(self.portals.get(name.as_bytes())?, "portal", name)?.unwrap_or_default())
    }

    pub fn put_portal_record(&self, name: &str, record: &PortalRecord) -> Result<(), StoreError> {
        self.portals.insert(name.as_bytes(), encode_json(record))?;
        Ok(())
    }

    /// Gives a host its compression dictionary from its first HTML document: the body, the
    /// cleaned document and the records of this commit.
    fn learn_dictionary(&self, commit: &Commit) -> Result<(), StoreError> {
        let (Some(fetch), Some(body), Some(version), Some(page)) =
            (&commit.fetch, &commit.body, &commit.version, commit.pages.first())
        else {
            return Ok(());
        };
        let host = host_of(&fetch.url);
        let html = page.media_type.as_deref().is_some_and(|m| m.contains("html"));
        if !html || !self.packer.wants_dictionary(&host)? {
            return Ok(());
        }
        self.packer.learn(&host, body, &[&stored_version(version), &encode_json(fetch), &encode_json(page)])
    }

    /// A record as stored: JSON, packed with the dictionary of `url`'s host.
    fn pack_record<T: serde::Serialize>(&self, url: &str, record: &T) -> Result<Vec<u8>, StoreError> {
        self.packer.pack(&host_of(url), &encode_json(record), Fallback::Raw)
    }

    fn decode_packed<T: serde::de::DeserializeOwned>(
        &self,
        value: &[u8],
        what: &'static str,
        key: &str,
    ) -> Result<T, StoreError> {
        let json = self.packer.unpack(value).map_err(|reason| StoreError::Corrupt { what, key: key.into(), reason })?;
        decode(&json, what, key)
    }

    fn decode_version(&self, packed: &[u8], url: &str, with_report: bool) -> Result<VersionRecord, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt { what: "version", key: url.into(), reason };
        let mut version: VersionRecord = match Packer::packed_against(packed) {
            Some(sha) => {
                let sha = data_encoding::HEXLOWER.encode(&sha);
                let body = self
                    .blob(&sha)
                    .map_err(|e| corrupt(format!("its page's body: {e}")))?
                    .ok_or_else(|| corrupt(format!("its page's body {sha} is missing")))?;
                decode(&Packer::unpack_against(packed, &body).map_err(corrupt)?, "version", url)?
            }
            None => self.decode_packed(packed, "version", url)?,
        };
        // Always the current parser's reading; archives of older nianbaos stored one of their own.
        version.report = None;
        if with_report {
            version.report = crate::parser::annual_report(&version.document).and_then(|r| serde_json::to_value(r).ok());
        }
        Ok(version)
    }
}

/// The body a new version may be packed against ([`Packer::pack_document`]) and its SHA-256: the
/// commit's own body when it is the version's, an HTML page's, and not too large.
fn version_body<'a>(commit: &'a Commit, version: &VersionRecord) -> Option<(&'a [u8], [u8; 32])> {
    let body = commit.body.as_deref().filter(|b| b.len() <= pack::BODY_DICT_MAX)?;
    let fetched = commit.fetch.as_ref()?.body_sha256.as_deref()?;
    let html = commit.pages.first()?.media_type.as_deref().is_some_and(|m| m.contains("html"));
    let sha = data_encoding::HEXLOWER.decode(fetched.as_bytes()).ok()?.try_into().ok()?;
    (html && fetched == version.body_sha256).then_some((body, sha))
}

/// A version as stored: everything but the report, which is derived from the document.
fn stored_version(v: &VersionRecord) -> Vec<u8> {
    #[derive(serde::Serialize)]
    struct Stored<'a> {
        n: u32,
        fetch_id: u64,
        fetched_at: &'a chrono::DateTime<chrono::Utc>,
        body_sha256: &'a str,
        text_sha256: &'a str,
        document: &'a Document,
    }
    encode_json(&Stored {
        n: v.n,
        fetch_id: v.fetch_id,
        fetched_at: &v.fetched_at,
        body_sha256: &v.body_sha256,
        text_sha256: &v.text_sha256,
        document: &v.document,
    })
}

/// `<db><suffix>`: a file or directory beside the archive's (the run lock, a reader's copy
/// request, a compaction's copy), on the same file system.
pub fn beside(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "nianbao".into());
    name.push(suffix);
    db.with_file_name(name)
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// Lowercase hex SHA-256, the archive's content digest.
pub fn sha256_hex(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(&Sha256::digest(bytes))
}

/// The host part of a URL string, used to group pending work.
pub fn host_of(url: &str) -> String {
    match plain_host(url) {
        Some(host) => host.to_owned(),
        None => url::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default(),
    }
}

/// The host of a URL already in the form `url` writes it, read off the string: a commit asks for
/// the host of each URL it holds, and parsing them was 7,000 instructions a time. Anything `url`
/// might write differently (upper case, IDN, a numeric host that is not a dotted quad, a port out
/// of range) gives `None` and is parsed.
fn plain_host(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"))?;
    let authority = &rest[..rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len())];
    let host = match authority.split_once(':') {
        Some((host, port)) if port.parse::<u16>().is_ok_and(|p| p.to_string() == port) => host,
        Some(_) => return None,
        None => authority,
    };
    let plain = host.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    if !plain || host.is_empty() || host.contains("xn--") || host.starts_with('.') || host.contains("..") {
        return None;
    }
    let numeric =
        host.trim_end_matches('.').rsplit('.').next().is_some_and(|l| l.starts_with(|c: char| c.is_ascii_digit()));
    let dotted_quad = || host.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.to_string() == host);
    (!numeric || dotted_quad()).then_some(host)
}

fn pending_key(host: &str, seq: u64) -> Vec<u8> {
    let mut key = host.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

/// A `due` key: when the page was last checked ([`due_time`]), then its URL.
fn due_key(last_checked: Option<DateTime<Utc>>, url: &str) -> Vec<u8> {
    let mut key = due_time(last_checked).to_be_bytes().to_vec();
    key.extend_from_slice(url.as_bytes());
    key
}

/// A check time as a number whose big-endian bytes sort as the times do: microseconds since
/// 1970 with the sign bit flipped; 0, before every time, for a page never checked.
fn due_time(at: Option<DateTime<Utc>>) -> u64 {
    at.map_or(0, |t| (t.timestamp_micros() as u64) ^ (1 << 63))
}

/// The `bodies` key in a `blobs` value that points there; `None` for a body kept in place.
fn body_ref(entry: &[u8]) -> Option<[u8; 8]> {
    match entry {
        [BODY_REF, key @ ..] => key.try_into().ok(),
        _ => None,
    }
}

fn version_prefix(url: &str) -> Vec<u8> {
    let mut prefix = url.as_bytes().to_vec();
    prefix.push(0);
    prefix
}

fn version_key(url: &str, n: u32) -> Vec<u8> {
    let mut key = version_prefix(url);
    key.extend_from_slice(&n.to_be_bytes());
    key
}

/// The first key after every key starting with `prefix`; `None` if there is none (all 0xff).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

fn encode_json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    // Serialising plain records with string keys cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

fn decode<T: serde::de::DeserializeOwned>(value: &[u8], what: &'static str, key: &str) -> Result<T, StoreError> {
    serde_json::from_slice(value).map_err(|e| StoreError::Corrupt { what, key: key.into(), reason: e.to_string() })
}

fn decode_json<T: serde::de::DeserializeOwned>(
    value: Option<sled::IVec>,
    what: &'static str,
    key: &str,
) -> Result<Option<T>, StoreError> {
    value.map(|v| decode(&v, what, key)).transpose()
}

#[cfg(test)]
mod tests;
