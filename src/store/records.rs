//! The records the archive keeps, as stored (JSON values in sled trees).
//!
//! These are the archive's durable format: fields are only ever added (with `#[serde(default)]`), so
//! that an archive written by an older nianbao still opens.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::document::Document;

/// What a URL is to its portal's crawl.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageKind {
    /// A page of the 年报 section's listing; re-read every run.
    List,
    /// A report page linked from a list.
    Report,
    /// A file linked from a report page (PDF, DOC, DOCX, …).
    Attachment,
}

/// One HTTP exchange exactly as it happened: the WARC export is written from these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FetchRecord {
    /// Monotonic id; fetches export in this order.
    pub id: u64,
    pub portal: String,
    /// Canonical URL that was requested.
    pub url: String,
    /// Where the last redirect hop landed.
    pub final_url: String,
    #[serde(default)]
    pub redirects: Vec<RedirectRecord>,
    pub method: String,
    pub request_headers: Vec<(String, String)>,
    #[serde(default)]
    pub request_body: Option<String>,
    pub status: u16,
    pub http_version: String,
    pub headers: Vec<(String, String)>,
    pub fetched_at: DateTime<Utc>,
    /// Hex SHA-256 of the body; the key of its blob. `None` for a 304, which has no body.
    pub body_sha256: Option<String>,
    /// Base32 SHA-1 of the body, as WARC payload digests are written.
    pub body_sha1: Option<String>,
    pub body_len: u64,
    /// The earlier fetch of the same URL with an identical body, when there is one
    /// (exported as a WARC `revisit` record).
    #[serde(default)]
    pub same_as: Option<u64>,
    #[serde(default)]
    pub remote_ip: Option<String>,
}

/// One redirect hop followed on the way to a page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RedirectRecord {
    pub from: String,
    pub to: String,
    pub status: u16,
}

/// Everything known about one URL of a portal, across runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageRecord {
    pub url: String,
    pub portal: String,
    pub kind: PageKind,
    /// The report page an attachment was linked from.
    #[serde(default)]
    pub parent: Option<String>,
    /// Link text or Content-Disposition filename, for attachments.
    #[serde(default)]
    pub name: Option<String>,
    pub first_seen: DateTime<Utc>,
    /// Last time the server answered with content or a 304.
    #[serde(default)]
    pub last_checked: Option<DateTime<Utc>>,
    /// The fetch whose body is the newest held content.
    #[serde(default)]
    pub last_fetch: Option<u64>,
    #[serde(default)]
    pub final_url: Option<String>,
    #[serde(default)]
    pub http_status: Option<u16>,
    #[serde(default)]
    pub media_type: Option<String>,
    #[serde(default)]
    pub charset: Option<String>,
    #[serde(default)]
    pub body_sha256: Option<String>,
    #[serde(default)]
    pub etag: Option<String>,
    #[serde(default)]
    pub last_modified: Option<String>,
    /// Distinct cleaned texts held; a refetch with an unchanged text adds none.
    #[serde(default)]
    pub versions: u32,
    /// Another page holds the same document; this URL is one of its aliases.
    #[serde(default)]
    pub alias_of: Option<String>,
    /// Other URLs that served this same document.
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub attachments: Vec<AttachmentRef>,
    /// When the portal answered 404 or 410 for a page it had served: kept, marked gone.
    #[serde(default)]
    pub gone_since: Option<DateTime<Utc>>,
    #[serde(default)]
    pub last_error: Option<Failure>,
    /// Reported by the cleaner for a document that could not be cleaned.
    #[serde(default)]
    pub clean_error: Option<String>,
    /// The page was answered by an anti-bot wall (HTTP 412/521, JS challenge).
    #[serde(default)]
    pub blocked: bool,
}

impl PageRecord {
    /// Whether this is a report or attachment the archive holds a version of itself (not a list
    /// page, not an alias of another URL): what a crawl revalidates once it is `revisit_after` old.
    pub fn is_held(&self) -> bool {
        self.kind != PageKind::List && self.alias_of.is_none() && self.versions > 0
    }

    /// A URL seen for the first time now: nothing fetched, nothing held yet.
    pub fn new(url: &str, portal: &str, kind: PageKind) -> PageRecord {
        PageRecord {
            url: url.into(),
            portal: portal.into(),
            kind,
            parent: None,
            name: None,
            first_seen: Utc::now(),
            last_checked: None,
            last_fetch: None,
            final_url: None,
            http_status: None,
            media_type: None,
            charset: None,
            body_sha256: None,
            etag: None,
            last_modified: None,
            versions: 0,
            alias_of: None,
            aliases: Vec::new(),
            attachments: Vec::new(),
            gone_since: None,
            last_error: None,
            clean_error: None,
            blocked: false,
        }
    }
}

/// An attachment as listed on its report's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentRef {
    pub url: String,
    pub name: String,
    #[serde(default)]
    pub sha256: Option<String>,
}

/// Why the last attempt at a page failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// Stable snake_case kind, e.g. `timeout`, `http_5xx`, `blocked`.
    pub kind: String,
    pub message: String,
    pub at: DateTime<Utc>,
}

/// One distinct cleaned text of a document, with what the parser made of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionRecord {
    /// 1 for the first version.
    pub n: u32,
    pub fetch_id: u64,
    pub fetched_at: DateTime<Utc>,
    pub body_sha256: String,
    /// Hex SHA-256 of `document.text()`: what decides whether a refetch is a new version.
    pub text_sha256: String,
    pub document: Document,
    /// The parser's report JSON, or `None` when the document is not an annual report. Not stored:
    /// the store derives it from `document` with the current parser when it reads a version
    /// ([`crate::parser::annual_report`]), so parser fixes reach every archived report.
    #[serde(default)]
    pub report: Option<serde_json::Value>,
}

/// A unit of work of the current run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrontierEntry {
    pub url: String,
    pub portal: String,
    pub kind: PageKind,
    #[serde(default)]
    pub parent: Option<String>,
    /// Link text that led here.
    #[serde(default)]
    pub name: Option<String>,
    /// List pages only: how many list pages in a row before this one brought nothing new.
    #[serde(default)]
    pub barren: u32,
    /// Hanweb dataproxy requests are POSTs with this form.
    #[serde(default)]
    pub form: Option<Vec<(String, String)>>,
}

/// The run the frontier belongs to; an unfinished one is resumed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: u64,
    pub started_at: DateTime<Utc>,
    /// `crawl` or `backfill`.
    pub mode: String,
    /// The portals the run covers.
    pub portals: Vec<String>,
    #[serde(default)]
    pub since: Option<i32>,
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
}

/// Per-portal bookkeeping for `stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PortalRecord {
    #[serde(default)]
    pub last_run_started: Option<DateTime<Utc>>,
    #[serde(default)]
    pub last_success: Option<DateTime<Utc>>,
}
