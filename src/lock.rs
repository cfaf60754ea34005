//! One crawl per archive at a time.
//!
//! A lock file beside the database (`<db>.lock`) is held with `flock` for the whole run. The kernel
//! drops the lock when the process dies, however it dies, so a lock left by a killed run is simply
//! taken over; the file's content (pid, start time) only serves the messages.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another nianbao run holds the archive {db} ({holder}); try again when it has finished")]
    Held { db: PathBuf, holder: String },
    #[error("cannot use the lock file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Held while a run works on the archive; released when dropped or when the process ends.
#[derive(Debug)]
pub struct RunLock {
    file: File,
    path: PathBuf,
    /// What the lock file said before we took it over, when a killed run left it.
    pub stale: Option<String>,
}

impl RunLock {
    /// Takes the lock of the archive at `db`, failing at once if a live process holds it.
    pub fn acquire(db: &Path) -> Result<RunLock, LockError> {
        let path = lock_path(db);
        let io = |source| LockError::Io { path: path.clone(), source };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let mut file =
            OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(io)?;
        let mut previous = String::new();
        // A lock file that is not UTF-8 only loses its message.
        let _ = file.read_to_string(&mut previous);
        let previous = previous.trim().to_owned();
        // SAFETY: flock on a file descriptor we own; no memory is shared with the kernel.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
                let holder = if previous.is_empty() { "holder unknown".into() } else { previous };
                return Err(LockError::Held { db: db.into(), holder });
            }
            return Err(io(err));
        }
        let stale = (!previous.is_empty()).then_some(previous);
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        let me = format!("pid {} since {}", std::process::id(), chrono::Utc::now().to_rfc3339());
        file.write_all(me.as_bytes()).and_then(|()| file.sync_data()).map_err(io)?;
        Ok(RunLock { file, path, stale })
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // An empty lock file tells the next run that nobody was killed while holding it.
        let _ = self.file.set_len(0);
    }
}

/// `<db>.lock`, beside the database directory.
pub fn lock_path(db: &Path) -> PathBuf {
    crate::store::beside(db, ".lock")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_path_sits_beside_the_db() {
        assert_eq!(lock_path(Path::new("data/nianbao.sled")), PathBuf::from("data/nianbao.sled.lock"));
    }

    #[test]
    fn stale_content_is_reported_and_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("db");
        std::fs::write(lock_path(&db), "pid 999999 since 2026-01-01T00:00:00Z").unwrap();
        let lock = RunLock::acquire(&db).unwrap();
        assert_eq!(lock.stale.as_deref(), Some("pid 999999 since 2026-01-01T00:00:00Z"));
        let content = std::fs::read_to_string(lock.path()).unwrap();
        assert!(content.starts_with(&format!("pid {} ", std::process::id())), "{content}");
        let second = RunLock::acquire(&db).unwrap_err().to_string();
        assert!(second.contains(&format!("pid {}", std::process::id())), "{second}");
        drop(lock);
        assert!(RunLock::acquire(&db).unwrap().stale.is_none(), "a clean release leaves no stale mark");
    }
}
