//! `manifest.json`, and the hashing writer every snapshot file is written through.
//!
//! The manifest says what made the snapshot and when, what was selected, how many of each thing it
//! holds, and `files: [{path, bytes, sha256}]` for every other file. Sizes and digests are taken
//! while the files are written ([`HashedFile`]), never by reading them back.
//!
//! ```json
//! {"tool": "nianbao", "version": "0.1.0", "exported_at": "2026-12-01T21:00:00Z",
//!  "selection": {"portals": [], "since": null},
//!  "counts": {"fetches": 12, "warc_records": 26, "documents": 5, "reports": 3},
//!  "files": [{"path": "archive.warc.gz", "bytes": 51234, "sha256": "…"}, …]}
//! ```

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{Counts, ExportError};

/// The manifest's name inside the snapshot.
pub(super) const MANIFEST: &str = "manifest.json";

/// One file of the snapshot as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct FileEntry {
    /// Relative to the snapshot's root.
    pub(crate) path: String,
    pub(crate) bytes: u64,
    /// Lowercase hex SHA-256 of the file's bytes.
    pub(crate) sha256: String,
}

/// What the manifest says; written last, once every other file is closed.
pub(super) struct Manifest<'a> {
    pub(super) exported_at: DateTime<Utc>,
    pub(super) portals: &'a [String],
    pub(super) since: Option<NaiveDate>,
    pub(super) counts: Counts,
    pub(super) files: &'a [FileEntry],
}

#[derive(Serialize)]
struct ManifestJson<'a> {
    tool: &'static str,
    version: &'static str,
    exported_at: String,
    selection: SelectionJson<'a>,
    counts: Counts,
    files: &'a [FileEntry],
}

#[derive(Serialize)]
struct SelectionJson<'a> {
    /// Empty: every portal.
    portals: &'a [String],
    since: Option<String>,
}

impl Manifest<'_> {
    /// Writes `manifest.json` into `dir`; returns its own entry (for the tar, not for itself).
    pub(super) fn write(&self, dir: &Path) -> Result<FileEntry, ExportError> {
        let json = ManifestJson {
            tool: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
            exported_at: self.exported_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            selection: SelectionJson {
                portals: self.portals,
                since: self.since.map(|d| d.format("%Y-%m-%d").to_string()),
            },
            counts: self.counts,
            files: self.files,
        };
        let mut file = HashedFile::create(dir, MANIFEST)?;
        let path = file.path.clone();
        serde_json::to_writer_pretty(&mut file, &json).map_err(|e| ExportError::Io { path, source: e.into() })?;
        file.write_all(b"\n").map_err(ExportError::io(&file.path))?;
        file.finish()
    }
}

/// A snapshot file being written: counts and hashes every byte on its way to disk.
pub(crate) struct HashedFile {
    out: BufWriter<File>,
    sha256: Sha256,
    bytes: u64,
    name: String,
    pub(crate) path: PathBuf,
}

impl HashedFile {
    /// Creates `name` in `dir`; the name is also its path in the manifest.
    pub(crate) fn create(dir: &Path, name: &str) -> Result<HashedFile, ExportError> {
        let path = dir.join(name);
        let file = File::create(&path).map_err(ExportError::io(&path))?;
        Ok(HashedFile { out: BufWriter::new(file), sha256: Sha256::new(), bytes: 0, name: name.into(), path })
    }

    /// Flushes, syncs and closes the file; its manifest entry.
    pub(crate) fn finish(self) -> Result<FileEntry, ExportError> {
        let HashedFile { out, sha256, bytes, name, path } = self;
        let file = out.into_inner().map_err(|e| ExportError::Io { path: path.clone(), source: e.into_error() })?;
        file.sync_all().map_err(ExportError::io(&path))?;
        Ok(FileEntry { path: name, bytes, sha256: data_encoding::HEXLOWER.encode(&sha256.finalize()) })
    }
}

impl Write for HashedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        self.sha256.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_entry_is_the_size_and_digest_of_what_reached_the_disk() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = HashedFile::create(dir.path(), "a.txt").unwrap();
        file.write_all(b"abc").unwrap();
        file.write_all(b"def").unwrap();
        let entry = file.finish().unwrap();
        let on_disk = std::fs::read(dir.path().join("a.txt")).unwrap();
        assert_eq!(on_disk, b"abcdef");
        assert_eq!(entry.bytes, 6);
        assert_eq!(entry.sha256, crate::store::sha256_hex(b"abcdef"));
        assert_eq!(entry.path, "a.txt");
    }
}
