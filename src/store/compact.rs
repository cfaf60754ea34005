//! Compaction: rewriting the archive into a fresh database, as SQLite's VACUUM does.
//!
//! sled 0.34 is log-structured: every insert appends to its log, and a log segment is reused only
//! once half of it is garbage, so after a crawl the database file holds 4–5× the bytes of its keys
//! and values (README, Performance). Copying every tree, in key order, into a new database leaves
//! about 2×. The copy is built beside the archive, in `<db>.compact`, and swapped in with one
//! atomic `renameat2(RENAME_EXCHANGE)`, so the archive's path always names a complete database: a
//! crash before the swap leaves the original in place, one after it the compacted copy, and either
//! way `<db>.compact` holds a leftover, which the next compaction removes first.
//!
//! The caller holds the run lock ([`crate::lock::RunLock`]), so no crawl writes meanwhile; a reader
//! that has the archive open, or opens it while the copy closes it between chunks, makes
//! compaction fail with [`StoreError::InUse`], harmlessly.
//!
//! Cost, measured with the crawl benchmark: 0.4–0.6 s for 5,000 reports (36 MB on disk → 17–19 MB),
//! 2.4 s for 20,000 (148 MB → 63–72 MB); a peak RSS of 44 and 54 MB, below the crawl's own 51 and
//! 63 MB, with the binary's allocator giving freed pages back at once (src/allocator.rs).

use std::ops::Bound;
use std::path::{Path, PathBuf};

use super::{Store, StoreError, ID_BASE_KEY};

/// The growth, since the last compaction, past which [`compact_if_grown`] rewrites the archive.
/// Each rewrite costs reading and writing the whole archive once, so a nightly crawl that adds
/// little should not pay it every night; a quarter keeps the file within about 1.25 × 2× the
/// live data.
pub const GROWTH: f64 = 1.25;

/// The meta key of the [`Compacted`] record: the size the last compaction left.
const COMPACTED_KEY: &[u8] = b"compacted";

/// The page cache of each of the two databases a compaction has open. A one-pass copy reads each
/// page once, so a cache buys nothing; it does not bound memory either: sled 0.34 queues up to 64
/// page accesses in each of its 256 LRU shards before it evicts, so a copy of the benchmark's
/// 26,000 records kept 37–39 MB resident with any cache from 64 KiB to 32 MiB (see [`CHUNK_ITEMS`]).
const COPY_CACHE_BYTES: u64 = 2 * 1024 * 1024;

/// Records copied between two reopenings of the archive (see [`copy_into`]), or fewer once they
/// hold [`CHUNK_BYTES`]. The copy is reopened after every [`COPY_REOPEN_CHUNKS`] of these, less
/// often, because each opening leaves the rest of its last log segment unused: reopening it at
/// every chunk made a 20,000-report copy 69–72 MB instead of 61–64 MB.
/// Unit tests use small chunks, so that their archives cross both kinds of reopening.
#[cfg(not(test))]
const CHUNK_ITEMS: usize = 5000;
#[cfg(test)]
const CHUNK_ITEMS: usize = 500;

/// Bytes of keys and values copied between two reopenings of the archive, whichever limit comes
/// first. What sled keeps resident grows with the bytes it has read, not the records: with 8 KB of
/// prose per report (bodies of several KB), chunks of 5,000 records took the compaction's peak RSS
/// to 92–140 MB.
#[cfg(not(test))]
const CHUNK_BYTES: usize = 4 * 1024 * 1024;
#[cfg(test)]
const CHUNK_BYTES: usize = 256 * 1024;

/// See [`CHUNK_ITEMS`].
const COPY_REOPEN_CHUNKS: usize = 4;

/// Items per sled batch while copying, or fewer once they hold [`BATCH_BYTES`]: batches cut the
/// log's per-insert overhead, and the limits keep a batch's memory small.
const BATCH_ITEMS: usize = 1000;

/// See [`BATCH_ITEMS`].
const BATCH_BYTES: usize = 1024 * 1024;

/// What one chunk of the copy may still take before the archive is reopened, or one batch before
/// it is applied.
struct Room {
    items: usize,
    bytes: usize,
}

impl Room {
    fn chunk() -> Room {
        Room { items: CHUNK_ITEMS, bytes: CHUNK_BYTES }
    }

    fn batch() -> Room {
        Room { items: BATCH_ITEMS, bytes: BATCH_BYTES }
    }

    fn is_spent(&self) -> bool {
        self.items == 0 || self.bytes == 0
    }

    fn take(&mut self, bytes: usize) {
        self.items = self.items.saturating_sub(1);
        self.bytes = self.bytes.saturating_sub(bytes);
    }
}

/// What a compaction did: the archive's size on disk before, and the fresh copy's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compaction {
    pub before: u64,
    pub copy: u64,
    /// Whether the copy replaced the archive. A copy that came out no smaller is thrown away: with
    /// little garbage to drop, sled's fresh log can be larger than the old one.
    pub swapped: bool,
}

/// The record kept in `meta` after a compaction.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Compacted {
    bytes: u64,
    at: chrono::DateTime<chrono::Utc>,
}

/// `<db>.compact`: where the copy is built, and where the old archive sits after the swap.
pub fn compact_path(db: &Path) -> PathBuf {
    super::beside(db, ".compact")
}

/// The end of a crawl: [`compact`] if the archive has grown past [`GROWTH`] times the size its last
/// compaction left, or was never compacted; `None` when it was not worth it.
pub fn compact_if_grown(db: &Path) -> Result<Option<Compaction>, StoreError> {
    let db = &prepare(db)?;
    let (before, last) = {
        let store = Store::open_released_with_cache(db, COPY_CACHE_BYTES)?;
        let last: Option<Compacted> = super::decode_json(store.meta.get(COMPACTED_KEY)?, "meta", "compacted")?;
        (store.size_on_disk()?, last)
    };
    if last.is_some_and(|last| (before as f64) <= last.bytes as f64 * GROWTH) {
        return Ok(None);
    }
    rewrite(db, before).map(Some)
}

/// Rewrites the archive at `db` into a fresh database and swaps it in. On any error the archive is
/// left as it was and the partial copy removed.
pub fn compact(db: &Path) -> Result<Compaction, StoreError> {
    let db = &prepare(db)?;
    let before = Store::open_released_with_cache(db, COPY_CACHE_BYTES)?.size_on_disk()?;
    rewrite(db, before)
}

/// The archive's real path (see [`real_path`]), with any leftover of an interrupted compaction
/// beside it removed.
fn prepare(db: &Path) -> Result<PathBuf, StoreError> {
    let db = real_path(db)?;
    remove_leftover(&compact_path(&db))?;
    Ok(db)
}

/// [`compact`] of the archive at its real path `db`, `before` bytes on disk.
fn rewrite(db: &Path, before: u64) -> Result<Compaction, StoreError> {
    let scratch = compact_path(db);
    let free = free_bytes(db).map_err(|e| io_error(db, e))?;
    // A copy comes out at about the original's size or (much) smaller; twice leaves room for a
    // worse case, so that compaction never fills the disk a crawl needs.
    let need = 2 * before;
    if free < need {
        return Err(StoreError::NoSpace { path: scratch, need, free });
    }
    let copy = match copy_into(db, &scratch) {
        Ok(copy) => copy,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&scratch);
            return Err(e);
        }
    };
    if copy >= before {
        remove_leftover(&scratch)?;
        // Not worth trying again before the archive has grown.
        record(&Store::open_released_with_cache(db, COPY_CACHE_BYTES)?, before)?;
        return Ok(Compaction { before, copy, swapped: false });
    }
    if let Err(e) = exchange(&scratch, db) {
        let _ = std::fs::remove_dir_all(&scratch);
        return Err(io_error(db, e));
    }
    // From here the archive's path names the copy; the old database is garbage.
    sync_dir(parent_dir(db)).map_err(|e| io_error(db, e))?;
    remove_leftover(&scratch)?;
    Ok(Compaction { before, copy, swapped: true })
}

/// The archive's directory with symbolic links resolved: an archive linked in from a larger disk
/// is copied and swapped there, not beside the link (which the swap would move and remove).
fn real_path(db: &Path) -> Result<PathBuf, StoreError> {
    std::fs::canonicalize(db).map_err(|e| io_error(db, e))
}

/// Notes in `store` that its size after compaction is `bytes`.
fn record(store: &Store, bytes: u64) -> Result<(), StoreError> {
    store.meta.insert(COMPACTED_KEY, super::encode_json(&Compacted { bytes, at: chrono::Utc::now() }))?;
    store.db.flush()?;
    Ok(())
}

/// Copies every tree of the archive at `db` into a new database at `dest`, flushed to disk;
/// returns its size. The archive is closed and reopened after every chunk of [`CHUNK_ITEMS`]
/// records or [`CHUNK_BYTES`], the copy after every [`COPY_REOPEN_CHUNKS`] chunks: the only way to
/// make sled 0.34 let go of the pages it has read and written (see [`COPY_CACHE_BYTES`]): without
/// it, copying a 20,000-report archive (103,000 records) peaked at 93 MB in the crawl benchmark,
/// with it at 54 MB.
fn copy_into(db: &Path, dest: &Path) -> Result<u64, StoreError> {
    let mut source = Store::open_released_with_cache(db, COPY_CACHE_BYTES)?;
    let mut copy = Store::open_released_with_cache(dest, COPY_CACHE_BYTES)?;
    let (mut room, mut chunks) = (Room::chunk(), 0);
    for name in copy_order(&source.db)? {
        let mut after = None;
        loop {
            after = copy_range(&source.db.open_tree(&name)?, &copy.db.open_tree(&name)?, after, &mut room)?;
            if !room.is_spent() {
                break;
            }
            chunks += 1;
            if chunks % COPY_REOPEN_CHUNKS == 0 {
                copy.db.flush()?;
                drop(copy);
                copy = Store::open_released_with_cache(dest, COPY_CACHE_BYTES)?;
            }
            drop(source);
            source = Store::open_released_with_cache(db, COPY_CACHE_BYTES)?;
            room = Room::chunk();
        }
    }
    // sled's id counter is not part of any tree: carry it over as a base that the copy's own
    // counter, starting again at zero, is added to, so ids keep increasing (see `Store::next_id`).
    let id_base = source.next_id()? + 1;
    copy.meta.insert(ID_BASE_KEY, &id_base.to_be_bytes())?;
    copy.db.flush()?;
    drop(copy);
    // Measured as the next open sees it: sled then pads its last log segment to full length.
    let copy = Store::open_released_with_cache(dest, COPY_CACHE_BYTES)?;
    let bytes = copy.size_on_disk()?;
    record(&copy, bytes)?;
    drop(copy);
    sync_tree(dest).map_err(|e| io_error(dest, e))?;
    Ok(bytes)
}

/// The archive's trees, the largest first (by what each holds: documents, bodies, then the
/// records), the rest after them in sled's order. A copy's size depends on the order: sled's
/// cleaner frees the log segments that the big trees' copies leave half dead while the later,
/// smaller trees are written, and they fill the segments it freed. With the largest last, the
/// garbage of its copy stays in the file: a 5,000-report archive copied in sled's order came out
/// at 22.0–23.6 MB, largest first at 16.3–17.8 MB (8.9 MB of keys and values).
pub(super) fn copy_order(db: &sled::Db) -> Result<Vec<sled::IVec>, StoreError> {
    // An archive from before `bodies` keeps its bodies in `blobs`.
    let largest_first: &[&str] = if db.open_tree("bodies")?.is_empty() {
        &["versions", "blobs", "pages", "fetches", "texts", "due"]
    } else {
        &["versions", "bodies", "pages", "fetches", "texts", "blobs", "due"]
    };
    let mut names = db.tree_names();
    names.sort_by_key(|name| {
        largest_first.iter().position(|t| t.as_bytes() == name.as_ref()).unwrap_or(largest_first.len())
    });
    Ok(names)
}

/// Copies the records of `from` after the key `after` (all, without one) into `to` until they
/// end or `room` is spent; returns the last key copied (`after` if none was).
fn copy_range(
    from: &sled::Tree,
    to: &sled::Tree,
    after: Option<sled::IVec>,
    room: &mut Room,
) -> Result<Option<sled::IVec>, StoreError> {
    let mut items = match &after {
        Some(key) => from.range::<&[u8], _>((Bound::Excluded(key.as_ref()), Bound::Unbounded)),
        None => from.iter(),
    };
    let (mut batch, mut batch_room) = (sled::Batch::default(), Room::batch());
    let mut last = after;
    while !room.is_spent() {
        let Some(item) = items.next() else { break };
        let (key, value) = item?;
        let bytes = key.len() + value.len();
        room.take(bytes);
        batch_room.take(bytes);
        batch.insert(key.clone(), value);
        last = Some(key);
        if batch_room.is_spent() {
            to.apply_batch(std::mem::take(&mut batch))?;
            batch_room = Room::batch();
        }
    }
    to.apply_batch(batch)?;
    Ok(last)
}

fn remove_leftover(scratch: &Path) -> Result<(), StoreError> {
    match std::fs::remove_dir_all(scratch) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_error(scratch, e)),
        _ => Ok(()),
    }
}

/// Swaps two directories in one step, so that neither path is ever missing.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).map_err(std::io::Error::other);
    let (a, b) = (c(a)?, c(b)?);
    // SAFETY: two NUL-terminated paths that outlive the call; the kernel only reads them.
    let rc = unsafe { libc::renameat2(libc::AT_FDCWD, a.as_ptr(), libc::AT_FDCWD, b.as_ptr(), libc::RENAME_EXCHANGE) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> std::io::Result<()> {
    Err(std::io::Error::new(std::io::ErrorKind::Unsupported, "compaction swaps directories with Linux's renameat2"))
}

/// Bytes free to an unprivileged writer on the file system holding `db`.
fn free_bytes(db: &Path) -> std::io::Result<u64> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let path = CString::new(parent_dir(db).as_os_str().as_bytes()).map_err(std::io::Error::other)?;
    // SAFETY: statvfs fills the struct we own; the path is NUL-terminated and outlives the call.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(path.as_ptr(), &mut stat) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(stat.f_bavail as u64 * stat.f_frsize as u64)
}

/// fsyncs every file under `dir` and the directories themselves, so the copy survives a crash
/// before the swap makes it the archive.
fn sync_tree(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            sync_tree(&entry.path())?;
        } else {
            std::fs::File::open(entry.path())?.sync_all()?;
        }
    }
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// The directory holding `db` (`.` for a bare name).
fn parent_dir(db: &Path) -> &Path {
    db.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

fn io_error(path: &Path, source: std::io::Error) -> StoreError {
    StoreError::Compact { path: path.into(), source }
}
