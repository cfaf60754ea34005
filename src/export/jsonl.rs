//! `documents.jsonl`: one JSON object per archived document (report page or attachment), its newest
//! version, in URL order.
//!
//! Fields, in this order (CONTRACT.md): `url`, `final_url`, `portal`, `fetched_at` (RFC 3339, UTC),
//! `http_status`, `media_type`, `charset`, `sha256`, `title`, `published`, `text`, `tables`,
//! `attachments` (`url`, `name`, `sha256`), `versions`, `aliases`, `report`.
//!
//! `fetched_at` and `sha256` are those of the newest version: when its text came and the raw body it
//! came from (findable in the WARC by its digest). `final_url`, `http_status`, `media_type` and
//! `charset` describe the page's latest answer with a body, as the page record holds them.

use std::io::Write;
use std::path::Path;

use chrono::SecondsFormat;
use serde::Serialize;

use super::manifest::{FileEntry, HashedFile};
use super::{ArchivedDocument, ExportError, SnapshotFile};
use crate::store::AttachmentRef;

/// The JSONL file's name inside the snapshot.
pub(super) const JSONL: &str = "documents.jsonl";

/// One line of documents.jsonl.
#[derive(Serialize)]
struct DocumentLine<'a> {
    url: &'a str,
    final_url: &'a str,
    portal: &'a str,
    fetched_at: String,
    http_status: Option<u16>,
    media_type: Option<&'a str>,
    charset: Option<&'a str>,
    sha256: &'a str,
    title: Option<&'a str>,
    published: Option<&'a str>,
    text: String,
    tables: Vec<&'a Vec<Vec<String>>>,
    attachments: &'a [AttachmentRef],
    versions: u32,
    aliases: &'a [String],
    report: Option<&'a serde_json::Value>,
}

impl<'a> DocumentLine<'a> {
    fn of(doc: &'a ArchivedDocument) -> DocumentLine<'a> {
        let (page, version) = (&doc.page, &doc.version);
        let document = &version.document;
        DocumentLine {
            url: &page.url,
            final_url: page.final_url.as_deref().unwrap_or(&page.url),
            portal: &page.portal,
            fetched_at: version.fetched_at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            http_status: page.http_status,
            media_type: page.media_type.as_deref(),
            charset: page.charset.as_deref(),
            sha256: &version.body_sha256,
            title: document.title.as_deref(),
            published: document.published.as_deref(),
            text: document.text(),
            tables: document.tables().map(|t| &t.rows).collect(),
            attachments: &page.attachments,
            versions: page.versions,
            aliases: &page.aliases,
            report: version.report.as_ref().filter(|r| !r.is_null()),
        }
    }
}

/// documents.jsonl being written.
pub(super) struct JsonlFile {
    file: HashedFile,
    lines: u64,
}

impl JsonlFile {
    pub(super) fn create(dir: &Path) -> Result<JsonlFile, ExportError> {
        Ok(JsonlFile { file: HashedFile::create(dir, JSONL)?, lines: 0 })
    }
}

impl SnapshotFile for JsonlFile {
    fn add_document(&mut self, doc: &ArchivedDocument) -> Result<(), ExportError> {
        let path = self.file.path.clone();
        serde_json::to_writer(&mut self.file, &DocumentLine::of(doc))
            .map_err(|e| ExportError::Io { path: path.clone(), source: e.into() })?;
        self.file.write_all(b"\n").map_err(|source| ExportError::Io { path, source })?;
        self.lines += 1;
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<(FileEntry, u64), ExportError> {
        Ok((self.file.finish()?, self.lines))
    }
}
