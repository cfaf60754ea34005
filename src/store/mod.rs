//! The archive: everything nianbao keeps, in one sled database behind this module.
//!
//! Trees (keys → values):
//! - `pages`: canonical URL → [`PageRecord`], the current state of every URL ever seen.
//! - `fetches`: fetch id (big-endian u64) → [`FetchRecord`], every HTTP exchange, for the WARC.
//! - `blobs`: hex SHA-256 → zstd-compressed raw body, content-addressed so identical bodies are kept
//!   once. sled itself moves large values into files of their own beside its log.
//! - `versions`: URL, NUL, version number (big-endian u32) → zstd-compressed [`VersionRecord`].
//! - `texts`: hex SHA-256 of a cleaned text → the URL holding it (finds aliases).
//! - `pending`: host, NUL, sequence (big-endian u64) → [`FrontierEntry`], the run's work still to do,
//!   grouped by host so that the scheduler can serve every host at its own rate.
//! - `seen`: URL → nothing: every URL the current run has queued (the run's seen-set, on disk).
//! - `meta`: `run` → [`RunRecord`]; `portals`: portal name → [`PortalRecord`].
//!
//! Invariant: a page's result and the removal of its frontier entry are written in one transaction,
//! so a run killed at any moment either has both or neither, and resumes by redoing only the latter.
//! Nothing else in nianbao imports sled.

mod records;

pub use records::*;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest, Sha256};
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};
use sled::{Db, Tree};

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
    versions: Tree,
    texts: Tree,
    pending: Tree,
    seen: Tree,
    meta: Tree,
    portals: Tree,
}

/// Everything one finished page changes, written in a single transaction.
#[derive(Debug, Default)]
pub struct Commit {
    pub fetch: Option<FetchRecord>,
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
const CACHE_BYTES: u64 = 16 * 1024 * 1024;

/// zstd's default level. Level 9 cost a quarter of the crawl's CPU (its match search on every body
/// and version) for bodies about 5% smaller; decompression reads either.
const ZSTD_LEVEL: i32 = 3;

/// Idle compression contexts, reused: setting one up per value was another 1.5% of the crawl's CPU.
/// A pool rather than one per thread, because each context keeps about a megabyte and the crawl runs
/// its pages on dozens of short-lived blocking threads (18 MB of peak heap, heaptrack); the pool
/// holds as many as ever compressed at once, one or two.
static COMPRESSORS: Mutex<Vec<zstd::bulk::Compressor<'static>>> = Mutex::new(Vec::new());

/// Compresses one value at [`ZSTD_LEVEL`] with a pooled context.
fn compress(bytes: &[u8]) -> Result<Vec<u8>, StoreError> {
    let io = |e| StoreError::Sled(sled::Error::Io(e));
    let idle = COMPRESSORS.lock().unwrap_or_else(|e| e.into_inner()).pop();
    let mut compressor = match idle {
        Some(c) => c,
        None => zstd::bulk::Compressor::new(ZSTD_LEVEL).map_err(io)?,
    };
    let packed = compressor.compress(bytes).map_err(io)?;
    COMPRESSORS.lock().unwrap_or_else(|e| e.into_inner()).push(compressor);
    Ok(packed)
}

impl Store {
    /// Opens (or creates) the archive at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| StoreError::Open { path: path.into(), source: sled::Error::Io(e) })?;
        }
        let db = sled::Config::new().path(path).cache_capacity(CACHE_BYTES).open().map_err(|source| match &source {
            // sled takes an exclusive file lock and says so only in its message.
            sled::Error::Io(e) if e.to_string().contains("could not acquire lock") => {
                StoreError::InUse { path: path.into() }
            }
            _ => StoreError::Open { path: path.into(), source },
        })?;
        let tree = |name: &str| db.open_tree(name);
        Ok(Store {
            path: path.into(),
            pages: tree("pages")?,
            fetches: tree("fetches")?,
            blobs: tree("blobs")?,
            versions: tree("versions")?,
            texts: tree("texts")?,
            pending: tree("pending")?,
            seen: tree("seen")?,
            meta: tree("meta")?,
            portals: tree("portals")?,
            db,
        })
    }

    /// Where the archive lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes everything buffered to disk; after this returns, it survives a crash.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.db.flush_async().await?;
        Ok(())
    }

    /// Flushes and copies the whole database to `dest`, which must not exist. The caller keeps
    /// writers out meanwhile, so that the copy is one consistent state of the archive.
    pub fn copy_to(&self, dest: &Path) -> Result<(), StoreError> {
        self.db.flush()?;
        copy_dir(&self.path, dest).map_err(|e| StoreError::Sled(sled::Error::Io(e)))
    }

    /// A fresh id, increasing across runs.
    pub fn next_id(&self) -> Result<u64, StoreError> {
        Ok(self.db.generate_id()?)
    }

    /// Bytes the archive occupies on disk.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.db.size_on_disk()?)
    }

    /// Stores a raw body (compressed) under its SHA-256 and returns the hex digest.
    pub fn put_blob(&self, body: &[u8]) -> Result<String, StoreError> {
        let digest = sha256_hex(body);
        if !self.blobs.contains_key(digest.as_bytes())? {
            let packed = compress(body)?;
            self.blobs.insert(digest.as_bytes(), packed)?;
        }
        Ok(digest)
    }

    /// A raw body by its hex SHA-256, decompressed.
    pub fn blob(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(packed) = self.blobs.get(sha256.as_bytes())? else { return Ok(None) };
        let body = zstd::stream::decode_all(&packed[..]).map_err(|e| StoreError::Corrupt {
            what: "blob",
            key: sha256.into(),
            reason: e.to_string(),
        })?;
        Ok(Some(body))
    }

    /// Every blob's digest and whether its content still matches it (for `verify`).
    pub fn verify_blobs(&self) -> impl Iterator<Item = Result<(String, bool), StoreError>> + '_ {
        self.blobs.iter().map(|item| {
            let (key, packed) = item?;
            let key = String::from_utf8_lossy(&key).into_owned();
            let ok = zstd::stream::decode_all(&packed[..]).is_ok_and(|body| sha256_hex(&body) == key);
            Ok((key, ok))
        })
    }

    pub fn page(&self, url: &str) -> Result<Option<PageRecord>, StoreError> {
        decode_json(self.pages.get(url.as_bytes())?, "page", url)
    }

    pub fn put_page(&self, page: &PageRecord) -> Result<(), StoreError> {
        self.pages.insert(page.url.as_bytes(), encode_json(page))?;
        Ok(())
    }

    /// Every page record, in URL order.
    pub fn pages(&self) -> impl Iterator<Item = Result<PageRecord, StoreError>> + '_ {
        self.pages.iter().map(|item| {
            let (key, value) = item?;
            decode(&value, "page", &String::from_utf8_lossy(&key))
        })
    }

    pub fn fetch(&self, id: u64) -> Result<Option<FetchRecord>, StoreError> {
        decode_json(self.fetches.get(id.to_be_bytes())?, "fetch", &id.to_string())
    }

    /// Every fetch, oldest first.
    pub fn fetches(&self) -> impl Iterator<Item = Result<FetchRecord, StoreError>> + '_ {
        self.fetches.iter().map(|item| {
            let (key, value) = item?;
            decode(&value, "fetch", &format!("{key:?}"))
        })
    }

    /// The versions of a document, oldest first.
    pub fn versions(&self, url: &str) -> Result<Vec<VersionRecord>, StoreError> {
        let mut prefix = url.as_bytes().to_vec();
        prefix.push(0);
        self.versions.scan_prefix(&prefix).map(|item| decode_version(&item?.1, url)).collect()
    }

    /// The newest version of a document.
    pub fn latest_version(&self, url: &str) -> Result<Option<VersionRecord>, StoreError> {
        let mut prefix = url.as_bytes().to_vec();
        prefix.push(0);
        match self.versions.scan_prefix(&prefix).next_back() {
            Some(item) => Ok(Some(decode_version(&item?.1, url)?)),
            None => Ok(None),
        }
    }

    /// The URL already holding a cleaned text with this digest, if any.
    pub fn url_for_text(&self, text_sha256: &str) -> Result<Option<String>, StoreError> {
        Ok(self.texts.get(text_sha256.as_bytes())?.map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// Applies one page's results atomically (see the module invariant).
    pub fn commit(&self, commit: Commit) -> Result<(), StoreError> {
        let mut queued = Vec::with_capacity(commit.enqueue.len());
        for entry in &commit.enqueue {
            queued.push((pending_key(&host_of(&entry.url), self.next_id()?), encode_json(entry)));
        }
        let version = match (&commit.version, &commit.version_url) {
            (Some(v), Some(url)) => Some((version_key(url, v.n), encode_version(v)?, v.text_sha256.clone(), url)),
            _ => None,
        };
        let trees = (&self.pages, &self.fetches, &self.versions, &self.texts, &self.pending, &self.seen);
        let result: Result<(), TransactionError<()>> =
            trees.transaction(|(pages, fetches, versions, texts, pending, seen)| {
                if let Some(f) = &commit.fetch {
                    fetches.insert(&f.id.to_be_bytes(), encode_json(f))?;
                }
                for p in &commit.pages {
                    pages.insert(p.url.as_bytes(), encode_json(p))?;
                }
                if let Some((key, value, text_sha, url)) = &version {
                    versions.insert(key.as_slice(), value.as_slice())?;
                    if texts.get(text_sha.as_bytes())?.is_none() {
                        texts.insert(text_sha.as_bytes(), url.as_bytes())?;
                    }
                }
                if let Some(done) = &commit.done {
                    pending.remove(done.as_slice())?;
                }
                for (entry, (key, value)) in commit.enqueue.iter().zip(&queued) {
                    if seen.insert(entry.url.as_bytes(), &[])?.is_none() {
                        pending.insert(key.as_slice(), value.as_slice())?;
                    }
                }
                Ok::<(), ConflictableTransactionError<()>>(())
            });
        result.map_err(|e| match e {
            TransactionError::Storage(e) => StoreError::Sled(e),
            TransactionError::Abort(()) => {
                StoreError::Corrupt { what: "transaction", key: String::new(), reason: "aborted".into() }
            }
        })
    }

    /// Whether the current run has already queued this URL.
    pub fn seen(&self, url: &str) -> Result<bool, StoreError> {
        Ok(self.seen.contains_key(url.as_bytes())?)
    }

    /// Hosts with work still pending in the current run.
    pub fn pending_hosts(&self) -> Result<Vec<String>, StoreError> {
        let mut hosts = Vec::new();
        let mut from: Vec<u8> = Vec::new();
        while let Some(item) = self.pending.range(from.as_slice()..).next() {
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
        for item in self.pending.scan_prefix(&prefix) {
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
        self.pending.len()
    }

    /// The current (possibly unfinished) run.
    pub fn run(&self) -> Result<Option<RunRecord>, StoreError> {
        decode_json(self.meta.get(b"run")?, "run", "run")
    }

    /// Starts a new run: forgets the previous run's frontier and seen-set.
    pub fn start_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        self.pending.clear()?;
        self.seen.clear()?;
        self.meta.insert(b"run", encode_json(run))?;
        Ok(())
    }

    /// Marks the current run finished, so that the next one starts afresh.
    pub fn finish_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        self.meta.insert(b"run", encode_json(run))?;
        Ok(())
    }

    pub fn portal_record(&self, name: &str) -> Result<PortalRecord, StoreError> {
        Ok(decode_json(self.portals.get(name.as_bytes())?, "portal", name)?.unwrap_or_default())
    }

    pub fn put_portal_record(&self, name: &str, record: &PortalRecord) -> Result<(), StoreError> {
        self.portals.insert(name.as_bytes(), encode_json(record))?;
        Ok(())
    }
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
    url::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default()
}

fn pending_key(host: &str, seq: u64) -> Vec<u8> {
    let mut key = host.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

fn version_key(url: &str, n: u32) -> Vec<u8> {
    let mut key = url.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(&n.to_be_bytes());
    key
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

fn encode_version(v: &VersionRecord) -> Result<Vec<u8>, StoreError> {
    compress(&encode_json(v))
}

fn decode_version(packed: &[u8], url: &str) -> Result<VersionRecord, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt { what: "version", key: url.into(), reason };
    let json = zstd::stream::decode_all(packed).map_err(|e| corrupt(e.to_string()))?;
    serde_json::from_slice(&json).map_err(|e| corrupt(e.to_string()))
}

#[cfg(test)]
mod tests;
