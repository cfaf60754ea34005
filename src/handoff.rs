//! Reading the archive while a crawl runs.
//!
//! sled lets only one process open a database, and a crawl holds it for its whole run. So a reader
//! (`export`, `stats`, `show`, `verify`) that finds the archive in use asks the crawl for a copy:
//! it writes the wanted copy's path into `<db>.copy-request`; the crawl, between pages, stops
//! committing, flushes, copies its database there, and marks the copy `READY`. The copy is one
//! consistent state of the archive; the reader opens it, and removes it when done.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::lock::RunLock;
use crate::store::{self, Store, StoreError};

/// Why no consistent view of the archive could be had.
#[derive(Debug, thiserror::Error)]
pub enum HandoffError {
    #[error("the archive {db} is in use and the running crawl did not provide a copy within {secs}s")]
    NoAnswer { db: PathBuf, secs: u64 },
    #[error("cannot ask the running crawl for a copy of {db}: {source}")]
    Io {
        db: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An open view of the archive: the archive itself, or a crawl's copy that is removed on drop.
pub struct View {
    pub store: Store,
    copy: Option<PathBuf>,
}

impl Drop for View {
    fn drop(&mut self) {
        if let Some(dir) = &self.copy {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn request_path(db: &Path) -> PathBuf {
    store::beside(db, ".copy-request")
}

/// Opens the archive for reading; when a crawl holds it, reads a consistent copy the crawl makes.
pub fn open_view(db: &Path, wait: Duration) -> Result<View, HandoffError> {
    match Store::open(db) {
        Ok(store) => return Ok(View { store, copy: None }),
        Err(StoreError::InUse { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    let copy = db.with_file_name(format!(
        "{}.view-{}",
        db.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&copy);
    let io = |source| HandoffError::Io { db: db.into(), source };
    std::fs::write(request_path(db), copy.to_string_lossy().as_bytes()).map_err(io)?;
    let started = Instant::now();
    while started.elapsed() < wait {
        if copy.join("READY").exists() {
            let store = Store::open(&copy)?;
            return Ok(View { store, copy: Some(copy) });
        }
        // The crawl may have ended meanwhile: then the archive itself is free.
        if RunLock::acquire(db).is_ok() {
            let _ = std::fs::remove_file(request_path(db));
            if let Ok(store) = Store::open(db) {
                return Ok(View { store, copy: None });
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = std::fs::remove_file(request_path(db));
    let _ = std::fs::remove_dir_all(&copy);
    Err(HandoffError::NoAnswer { db: db.into(), secs: wait.as_secs() })
}

/// Crawl side: if a reader asked for a copy, makes it. The caller holds off every writer.
pub fn serve_request(store: &Store) -> Result<bool, StoreError> {
    let request = request_path(store.path());
    let Ok(dest) = std::fs::read_to_string(&request) else { return Ok(false) };
    let _ = std::fs::remove_file(&request);
    let dest = PathBuf::from(dest.trim());
    if dest.as_os_str().is_empty() || dest.exists() {
        return Ok(false);
    }
    store.copy_to(&dest)?;
    std::fs::write(dest.join("READY"), b"").map_err(|e| StoreError::Sled(sled::Error::Io(e)))?;
    tracing::info!(copy = %dest.display(), "made a consistent copy of the archive for a reader");
    Ok(true)
}
