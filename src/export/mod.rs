//! Archive snapshots: what the archive holds, as files other tools read (CONTRACT.md "Archive snapshot").
//!
//! A snapshot is a directory (or one `.tar.gz` / `.tgz` / `.tar.zst` file of one) holding
//! `archive.warc.gz` ([`warc`]), `documents.jsonl` ([`jsonl`]), `reports.csv` ([`csv`]) and
//! `manifest.json` ([`manifest`]), which lists the size and SHA-256 of the other three.
//!
//! Invariants:
//! - Export only reads the store. The caller hands it one consistent view (see [`crate::handoff`]).
//! - Memory stays bounded whatever the archive's size: fetches and pages are iterated lazily, one
//!   body at a time, and every file is hashed while it is written, never read back. The only state
//!   that grows with the archive is the WARC writer's map of revisit originals (two integers per
//!   fetch with a body).
//! - Nothing half-written is ever left at the target: the snapshot is built in a staging directory
//!   beside it, then renamed into place (a directory) or packed into a temporary file that is
//!   renamed into place (a packed file). A failed export removes its staging directory.
//! - A directory target that exists and is not empty is refused, so that two snapshots never mix.
//!   A packed target that exists is replaced (atomically), so that a cron job can refresh one file.
//! - Every file is one [`SnapshotFile`]: the export walks the archive once and hands each selected
//!   fetch and each selected document to every file.

mod csv;
mod jsonl;
mod manifest;
mod pack;
mod warc;

use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};

use crate::store::{FetchRecord, PageKind, PageRecord, Store, StoreError, VersionRecord};
use manifest::{FileEntry, Manifest};
use pack::Packing;

/// What to export and where; built by the `export` command from its flags.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// The snapshot: a directory, or a packed file when it ends in `.tar.gz`, `.tgz` or `.tar.zst`.
    pub out: PathBuf,
    /// Only these portals (by name); empty means every portal.
    pub portals: Vec<String>,
    /// Only fetches made on or after this day (UTC), and documents whose newest version was.
    pub since: Option<NaiveDate>,
}

/// What an export wrote, for the command's closing line and for scripts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    /// Lines of documents.jsonl.
    pub documents: u64,
    /// Rows of reports.csv (documents with a parsed report).
    pub reports: u64,
    /// Records of archive.warc.gz, warcinfo included.
    pub warc_records: u64,
    /// Fetches selected (each gives a request and a response or revisit record).
    pub fetches: u64,
    /// The selection held no fetch and no document: the snapshot is valid but empty.
    pub empty: bool,
    /// Where the snapshot is.
    pub out: PathBuf,
}

impl fmt::Display for ExportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "exported {} documents, {} reports, {} WARC records to {}",
            self.documents,
            self.reports,
            self.warc_records,
            self.out.display()
        )
    }
}

/// Why a snapshot could not be written; every message names the path or the archive record.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(
        "{path} already exists and is not empty; export into a new or empty directory so that snapshots never mix"
    )]
    NotEmpty { path: PathBuf },
    #[error("{path} exists and is not a directory; name a directory, or a file ending in .tar.gz, .tgz or .tar.zst")]
    NotADirectory { path: PathBuf },
    #[error("{path} is a directory; a packed snapshot (.tar.gz, .tgz, .tar.zst) needs a file name")]
    IsADirectory { path: PathBuf },
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read {record} from the archive: {source}")]
    Store {
        record: String,
        #[source]
        source: StoreError,
    },
    #[error("the archive has no body {sha256} for fetch {fetch} of {url}; run `nianbao verify`")]
    MissingBlob { fetch: u64, url: String, sha256: String },
}

impl ExportError {
    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ExportError + '_ {
        move |source| ExportError::Io { path: path.to_path_buf(), source }
    }

    fn store(record: impl Into<String>) -> impl FnOnce(StoreError) -> ExportError {
        let record = record.into();
        move |source| ExportError::Store { record, source }
    }
}

/// Writes the snapshot `opts` describes from `store`.
pub fn export(store: &Store, opts: &ExportOptions) -> Result<ExportSummary, ExportError> {
    let packing = Packing::for_path(&opts.out);
    check_target(&opts.out, packing.is_some())?;
    let staging = Staging::beside(&opts.out)?;
    let built = build(store, opts, &staging.dir)?;
    match packing {
        Some(packing) => pack::pack(&staging.dir, &built.files, &opts.out, packing, built.exported_at)?,
        None => staging.promote(&opts.out)?,
    }
    Ok(ExportSummary {
        documents: built.counts.documents,
        reports: built.counts.reports,
        warc_records: built.counts.warc_records,
        fetches: built.counts.fetches,
        empty: built.counts.fetches == 0 && built.counts.documents == 0,
        out: opts.out.clone(),
    })
}

/// Refuses targets that would mix or clobber: a non-empty directory, a file where a directory is
/// wanted, a directory where a packed file is wanted.
fn check_target(out: &Path, packed: bool) -> Result<(), ExportError> {
    let Ok(meta) = std::fs::metadata(out) else { return Ok(()) };
    match (packed, meta.is_dir()) {
        (true, true) => Err(ExportError::IsADirectory { path: out.into() }),
        (true, false) => Ok(()),
        (false, false) => Err(ExportError::NotADirectory { path: out.into() }),
        (false, true) => {
            let mut entries = std::fs::read_dir(out).map_err(ExportError::io(out))?;
            match entries.next() {
                None => Ok(()),
                Some(_) => Err(ExportError::NotEmpty { path: out.into() }),
            }
        }
    }
}

/// Which fetches and documents the options select.
#[derive(Debug, Clone)]
pub(crate) struct Selection {
    portals: Vec<String>,
    since: Option<NaiveDate>,
}

impl Selection {
    fn new(opts: &ExportOptions) -> Selection {
        Selection { portals: opts.portals.clone(), since: opts.since }
    }

    fn portal(&self, portal: &str) -> bool {
        self.portals.is_empty() || self.portals.iter().any(|p| p == portal)
    }

    fn date(&self, at: &DateTime<Utc>) -> bool {
        self.since.is_none_or(|since| at.date_naive() >= since)
    }

    /// A fetch is exported when its portal is selected and it was made on or after `since`.
    pub(crate) fn fetch(&self, fetch: &FetchRecord) -> bool {
        self.portal(&fetch.portal) && self.date(&fetch.fetched_at)
    }
}

/// One document of documents.jsonl: a report page or attachment with its newest version.
pub(crate) struct ArchivedDocument {
    pub(crate) page: PageRecord,
    pub(crate) version: VersionRecord,
}

/// The document a page record stands for, when the selection keeps it: report pages and
/// attachments holding at least one version, not aliases (those are listed on the document they
/// alias), of a selected portal, newest version fetched on or after `since`.
fn select_document(
    store: &Store,
    selection: &Selection,
    page: PageRecord,
) -> Result<Option<ArchivedDocument>, ExportError> {
    if page.kind == PageKind::List || page.alias_of.is_some() || !selection.portal(&page.portal) {
        return Ok(None);
    }
    let version = store.latest_version(&page.url).map_err(ExportError::store(format!("versions of {}", page.url)))?;
    Ok(version.filter(|v| selection.date(&v.fetched_at)).map(|version| ArchivedDocument { page, version }))
}

/// One file of a snapshot. The export hands it every selected fetch (oldest first), then every
/// selected document (in URL order); each file takes what it needs.
trait SnapshotFile {
    /// A selected fetch.
    fn add_fetch(&mut self, _fetch: &FetchRecord) -> Result<(), ExportError> {
        Ok(())
    }

    /// A selected document.
    fn add_document(&mut self, _doc: &ArchivedDocument) -> Result<(), ExportError> {
        Ok(())
    }

    /// Closes the file: its manifest entry and how many records (WARC records, lines, rows) it holds.
    fn finish(self: Box<Self>) -> Result<(FileEntry, u64), ExportError>;
}

/// How many of each thing the snapshot holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
struct Counts {
    fetches: u64,
    warc_records: u64,
    documents: u64,
    reports: u64,
}

/// A snapshot written to the staging directory.
struct Built {
    files: Vec<FileEntry>,
    counts: Counts,
    exported_at: DateTime<Utc>,
}

/// Writes the three data files and the manifest into `dir`, walking the archive once.
fn build(store: &Store, opts: &ExportOptions, dir: &Path) -> Result<Built, ExportError> {
    let selection = Selection::new(opts);
    let exported_at = Utc::now();
    let warc = warc::WarcFile::create(dir, store, &selection, exported_at)?;
    let jsonl = jsonl::JsonlFile::create(dir)?;
    let csv = csv::CsvFile::create(dir)?;
    let mut files: [Box<dyn SnapshotFile + '_>; 3] = [Box::new(warc), Box::new(jsonl), Box::new(csv)];
    let mut counts = Counts::default();
    for fetch in store.fetches() {
        let fetch = fetch.map_err(ExportError::store("a fetch"))?;
        if selection.fetch(&fetch) {
            counts.fetches += 1;
            files.iter_mut().try_for_each(|f| f.add_fetch(&fetch))?;
        }
    }
    for page in store.pages() {
        let page = page.map_err(ExportError::store("a page"))?;
        if let Some(doc) = select_document(store, &selection, page)? {
            files.iter_mut().try_for_each(|f| f.add_document(&doc))?;
        }
    }
    let [warc, jsonl, csv] = files;
    let (warc, warc_records) = warc.finish()?;
    let (jsonl, documents) = jsonl.finish()?;
    let (csv, reports) = csv.finish()?;
    counts.warc_records = warc_records;
    counts.documents = documents;
    counts.reports = reports;
    let mut files = vec![warc, jsonl, csv];
    let manifest = Manifest { exported_at, portals: &opts.portals, since: opts.since, counts, files: &files };
    files.insert(0, manifest.write(dir)?);
    Ok(Built { files, counts, exported_at })
}

/// The directory a snapshot is built in, beside its target so that renaming it (or the packed
/// file made from it) into place never crosses file systems. Removed on drop unless promoted.
struct Staging {
    dir: PathBuf,
}

impl Staging {
    fn beside(out: &Path) -> Result<Staging, ExportError> {
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(ExportError::io(&parent))?;
        let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "snapshot".into());
        let dir = parent.join(format!(".{name}.partial-{}-{:08x}", std::process::id(), fastrand::u32(..)));
        std::fs::create_dir(&dir).map_err(ExportError::io(&dir))?;
        Ok(Staging { dir })
    }

    /// Moves the finished snapshot to `out` (an absent or empty directory, checked before).
    fn promote(self, out: &Path) -> Result<(), ExportError> {
        if out.is_dir() {
            std::fs::remove_dir(out).map_err(ExportError::io(out))?;
        }
        // Once renamed, the staging path is gone and the drop below has nothing left to remove.
        std::fs::rename(&self.dir, out).map_err(ExportError::io(out))
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests;
