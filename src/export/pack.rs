//! Packed snapshots: the snapshot directory as one `.tar.gz` / `.tgz` or `.tar.zst` file.
//!
//! The tar holds one directory named after the file (`nianbao-2026-11.tar.zst` unpacks into
//! `nianbao-2026-11/`), `manifest.json` first so that a streaming reader meets it before the data.
//! Entries are plain files, mode 0644, owner 0, dated the export time. The file is written under a
//! temporary name beside the target, synced, then renamed over it: a reader never sees half a file.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::manifest::FileEntry;
use super::ExportError;

/// How a packed snapshot is compressed, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Packing {
    Gzip,
    Zstd,
}

const SUFFIXES: [(&str, Packing); 3] =
    [(".tar.gz", Packing::Gzip), (".tgz", Packing::Gzip), (".tar.zst", Packing::Zstd)];

/// zstd level for the tar: the WARC inside is already compressed, so a fast level loses little.
const ZSTD_LEVEL: i32 = 3;

impl Packing {
    /// The packing a target's name asks for; `None` for a directory target.
    pub(super) fn for_path(path: &Path) -> Option<Packing> {
        let name = path.file_name()?.to_string_lossy();
        SUFFIXES.iter().find(|(suffix, _)| strip_suffix(&name, suffix).is_some_and(|s| !s.is_empty())).map(|(_, p)| *p)
    }
}

/// `name` without `suffix`, compared ignoring ASCII case.
fn strip_suffix<'a>(name: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = name.len().checked_sub(suffix.len())?;
    let tail = name.get(cut..)?;
    tail.eq_ignore_ascii_case(suffix).then(|| &name[..cut])
}

/// The directory name inside the tar: the file's name without its packing suffix.
fn root_name(out: &Path) -> String {
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let stem = SUFFIXES.iter().find_map(|(suffix, _)| strip_suffix(&name, suffix)).unwrap_or(&name);
    stem.to_owned()
}

/// Packs the snapshot in `dir` (its `files`, in order) into `out`, atomically.
pub(super) fn pack(
    dir: &Path,
    files: &[FileEntry],
    out: &Path,
    packing: Packing,
    exported_at: DateTime<Utc>,
) -> Result<(), ExportError> {
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp =
        TempFile(Some(out.with_file_name(format!(".{name}.tmp-{}-{:08x}", std::process::id(), fastrand::u32(..)))));
    let temp_path = temp.path().to_path_buf();
    let file = File::create(&temp_path).map_err(ExportError::io(&temp_path))?;
    let tar = Tar { dir, files, root: root_name(out), mtime: exported_at.timestamp().max(0) as u64 };
    let file = match packing {
        Packing::Gzip => tar.write(flate2::write::GzEncoder::new(file, flate2::Compression::default()))?.finish(),
        Packing::Zstd => {
            let encoder = zstd::stream::write::Encoder::new(file, ZSTD_LEVEL).map_err(ExportError::io(&temp_path))?;
            tar.write(encoder)?.finish()
        }
    };
    let file = file.map_err(ExportError::io(&temp_path))?;
    file.sync_all().map_err(ExportError::io(&temp_path))?;
    drop(file);
    temp.rename_to(out)
}

/// What goes into the tar.
struct Tar<'a> {
    dir: &'a Path,
    files: &'a [FileEntry],
    root: String,
    mtime: u64,
}

impl Tar<'_> {
    fn write<W: Write>(&self, out: W) -> Result<W, ExportError> {
        let mut builder = tar::Builder::new(out);
        let mut header = self.header(tar::EntryType::Directory, 0o755, 0);
        let root = format!("{}/", self.root);
        builder.append_data(&mut header, &root, io::empty()).map_err(ExportError::io(Path::new(&root)))?;
        for entry in self.files {
            let path = self.dir.join(&entry.path);
            let file = File::open(&path).map_err(ExportError::io(&path))?;
            let mut header = self.header(tar::EntryType::Regular, 0o644, entry.bytes);
            builder.append_data(&mut header, format!("{root}{}", entry.path), file).map_err(ExportError::io(&path))?;
        }
        builder.into_inner().map_err(ExportError::io(self.dir))
    }

    fn header(&self, kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_size(size);
        header.set_mtime(self.mtime);
        header.set_uid(0);
        header.set_gid(0);
        header
    }
}

/// A file being written under a temporary name; removed on drop unless renamed into place.
struct TempFile(Option<PathBuf>);

impl TempFile {
    fn path(&self) -> &Path {
        self.0.as_deref().unwrap_or(Path::new(""))
    }

    fn rename_to(mut self, out: &Path) -> Result<(), ExportError> {
        let Some(temp) = self.0.take() else { return Ok(()) };
        std::fs::rename(&temp, out).map_err(|source| {
            let _ = std::fs::remove_file(&temp);
            ExportError::Io { path: out.to_path_buf(), source }
        })
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_decides_the_packing() {
        assert_eq!(Packing::for_path(Path::new("out/snap.tar.gz")), Some(Packing::Gzip));
        assert_eq!(Packing::for_path(Path::new("snap.TGZ")), Some(Packing::Gzip));
        assert_eq!(Packing::for_path(Path::new("snap.tar.zst")), Some(Packing::Zstd));
        assert_eq!(Packing::for_path(Path::new("snapshots/2026-11")), None);
        assert_eq!(Packing::for_path(Path::new("snap.gz")), None);
        assert_eq!(Packing::for_path(Path::new(".tar.gz")), None);
    }

    #[test]
    fn the_root_directory_is_the_name_without_its_suffix() {
        assert_eq!(root_name(Path::new("a/nianbao-2026-11.tar.zst")), "nianbao-2026-11");
        assert_eq!(root_name(Path::new("年报.TAR.GZ")), "年报");
    }
}
