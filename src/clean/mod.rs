//! Cleaning: a portal page or an attachment into a [`Document`] without page chrome.
//!
//! The stage is pure and synchronous. Input is dispatched by content first (magic bytes), then the
//! declared Content-Type, then the name's extension, then HTML-or-text sniffing:
//!
//! - HTML (`html`, `meta`, `table`): title and date from the page's metadata, the body from CMS
//!   anchors (ContentStart/ContentEnd markers, TRS/Hanweb/UCAP/集约化 containers), else the densest
//!   block; chrome removed by element rules and line rules kept as data in `chrome`; tables expanded
//!   to full grids (`grid`).
//! - DOCX (`docx`), PDF with a text layer (`pdf`), XLS/XLSX (`sheet`), plain text ([`text`]).
//! - OLE files by their streams: a workbook to `sheet`, a Word binary document (DOC, and WPS saved in
//!   that format) to `doc`.
//! - RTF, encrypted DOC, Word 6/95 DOC and WPS in Kingsoft's own older format have no robust reader
//!   here: they give [`CleanError::Unsupported`]; their raw bytes stay archived.
//!
//! Invariants: nothing here panics on any input; the same report gives the same [`Document::text`]
//! whatever chrome (view counters, script-written footers) surrounds it.

mod chrome;
mod doc;
mod docx;
mod grid;
mod html;
mod meta;
mod pdf;
mod sheet;
mod table;
pub mod text;

use std::path::Path;

use url::Url;

use crate::document::Document;

/// Why an input could not be turned into a [`Document`]; every variant names the input.
#[derive(Debug, thiserror::Error)]
pub enum CleanError {
    /// The file could not be read at all.
    #[error("{path}: cannot read the file: {source}")]
    Read { path: String, source: std::io::Error },
    /// A format nianbao recognises but cannot read (old WPS, encrypted or Word 6/95 DOC, RTF, a plain
    /// ZIP archive); the raw bytes are still archived.
    #[error("{input}: {format} files cannot be cleaned (no robust reader here); the raw bytes stay archived")]
    Unsupported { input: String, format: &'static str },
    /// The input claims a format but its content is broken (truncated zip, bad XML, unreadable PDF).
    #[error("{input}: not a readable {format} file: {detail}")]
    Corrupt { input: String, format: &'static str, detail: String },
    /// Bytes that are no document format nianbao knows (binary data without a known signature).
    #[error("{input}: not a document nianbao can read (binary data of an unknown format)")]
    Unrecognised { input: String },
    /// A PDF without a text layer (a scan); its tables are images.
    #[error("{input}: the PDF has no text layer (scanned pages?); nothing to clean")]
    NoText { input: String },
}

/// The formats the cleaner tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Html,
    Text,
    Pdf,
    Docx,
    Xlsx,
    /// An OLE compound file: XLS, DOC or WPS.
    Ole,
    /// Rich Text Format, often served under a `.doc` name.
    Rtf,
    /// A zip archive that is neither DOCX nor XLSX.
    Zip,
    /// Binary data of no known format.
    Binary,
}

/// Cleans an HTML page: the body without chrome, title and date from its metadata.
///
/// `content_type` carries the header charset. The page's address is taken for symmetry with
/// [`clean_bytes`]; any bytes decode to some text, so an HTML page always cleans (maybe to an empty
/// Document).
pub fn clean_html(body: &[u8], content_type: Option<&str>, _url: Option<&Url>) -> Result<Document, CleanError> {
    Ok(html::clean(&parse_html(body, content_type)))
}

/// Decodes and parses an HTML body exactly as [`clean_html`] does.
fn parse_html(body: &[u8], content_type: Option<&str>) -> scraper::Html {
    let (text, _) = crate::charset::decode(body, content_type);
    scraper::Html::parse_document(&text)
}

/// A cleaned document together with the parsed page when the input was HTML.
///
/// Exists so that the crawl reads a report page's attachment links from the tree the cleaner
/// already built: parsing every report page twice was 7% of the crawl's CPU.
pub struct Cleaned {
    pub document: Document,
    /// The parsed page, when the input was cleaned as HTML.
    pub page: Option<scraper::Html>,
}

/// [`clean_bytes`], keeping the parsed page of an HTML input (see [`Cleaned`]).
pub fn clean_bytes_keeping_page(
    body: &[u8],
    content_type: Option<&str>,
    name: Option<&str>,
    url: Option<&Url>,
) -> Result<Cleaned, CleanError> {
    if sniff(body, content_type, name) == Format::Html {
        let page = parse_html(body, content_type);
        return Ok(Cleaned { document: html::clean(&page), page: Some(page) });
    }
    clean_bytes(body, content_type, name, url).map(|document| Cleaned { document, page: None })
}

/// Cleans whatever was fetched or found: HTML, DOCX, DOC/WPS, PDF, XLS/XLSX or plain text.
///
/// `name` is the link text or Content-Disposition filename (its extension is a hint); errors name the
/// input by `name` and `url`.
pub fn clean_bytes(
    body: &[u8],
    content_type: Option<&str>,
    name: Option<&str>,
    url: Option<&Url>,
) -> Result<Document, CleanError> {
    let input = || input_name(name, url);
    match sniff(body, content_type, name) {
        Format::Html => clean_html(body, content_type, url),
        Format::Text => Ok(text::document_from_text(&crate::charset::decode(body, content_type).0)),
        Format::Pdf => pdf::clean(body, &input()),
        Format::Docx => docx::clean(body, &input()),
        Format::Xlsx => sheet::clean(body, &input(), "XLSX"),
        Format::Ole => doc::clean_ole(body, &input(), ole_format(name)),
        Format::Rtf => Err(CleanError::Unsupported { input: input(), format: "RTF" }),
        Format::Zip => Err(CleanError::Unsupported { input: input(), format: "ZIP" }),
        Format::Binary => Err(CleanError::Unrecognised { input: input() }),
    }
}

/// Reads a local file and cleans it as [`clean_bytes`] would, its file name standing for the name.
pub fn clean_file(path: &Path) -> Result<Document, CleanError> {
    let body = std::fs::read(path).map_err(|source| CleanError::Read { path: path.display().to_string(), source })?;
    let name = path.display().to_string();
    clean_bytes(&body, None, Some(&name), None)
}

/// How errors name the input: "name (url)", or whichever of the two is known.
fn input_name(name: Option<&str>, url: Option<&Url>) -> String {
    match (name, url) {
        (Some(name), Some(url)) => format!("{name} ({url})"),
        (None, Some(url)) => url.to_string(),
        (Some(name), None) => name.to_owned(),
        (None, None) => "input".to_owned(),
    }
}

/// What an unreadable OLE file most likely is, from its name.
fn ole_format(name: Option<&str>) -> &'static str {
    match extension(name).as_deref() {
        Some("wps") => "WPS",
        _ => "DOC",
    }
}

fn extension(name: Option<&str>) -> Option<String> {
    let name = name?.trim().trim_end_matches(['"', '\'']);
    let (_, ext) = name.rsplit_once('.')?;
    (ext.len() <= 5).then(|| ext.to_ascii_lowercase())
}

/// Content first, then the declared type, then the name, then a look at the text.
fn sniff(body: &[u8], content_type: Option<&str>, name: Option<&str>) -> Format {
    if let Some(format) = sniff_magic(body, name) {
        return format;
    }
    let media = content_type.map(|c| c.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    match media.as_deref() {
        Some("text/html" | "application/xhtml+xml") => return Format::Html,
        Some("text/plain") if !looks_like_html(body) => return Format::Text,
        _ => {}
    }
    match extension(name).as_deref() {
        Some("html" | "htm" | "shtml" | "jsp" | "asp" | "aspx" | "php") => return Format::Html,
        Some("txt") => return Format::Text,
        _ => {}
    }
    if looks_like_html(body) {
        Format::Html
    } else if is_binary(body) {
        Format::Binary
    } else {
        Format::Text
    }
}

/// Control bytes that text never holds (NUL, and more than a few others) mark binary data; a
/// UTF-16 byte-order mark marks text.
fn is_binary(body: &[u8]) -> bool {
    if body.starts_with(&[0xFF, 0xFE]) || body.starts_with(&[0xFE, 0xFF]) {
        return false;
    }
    let head = &body[..body.len().min(4096)];
    let controls = head.iter().filter(|b| matches!(**b, 0..=8 | 0x0E..=0x1A | 0x1C..=0x1F)).count();
    head.contains(&0) || controls * 100 > head.len()
}

fn sniff_magic(body: &[u8], name: Option<&str>) -> Option<Format> {
    let head = &body[..body.len().min(1024)];
    if head.windows(5).any(|w| w == b"%PDF-") {
        return Some(Format::Pdf);
    }
    if body.starts_with(b"PK\x03\x04") {
        return Some(zip_format(body, name));
    }
    if body.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Some(Format::Ole);
    }
    if body.starts_with(b"{\\rtf") {
        return Some(Format::Rtf);
    }
    None
}

/// A zip is DOCX or XLSX by the parts it holds. An unreadable (truncated) one goes by its name to
/// the reader that then reports what is broken.
fn zip_format(body: &[u8], name: Option<&str>) -> Format {
    let Ok(archive) = zip::ZipArchive::new(std::io::Cursor::new(body)) else {
        return match extension(name).as_deref() {
            Some("xlsx" | "xlsm") => Format::Xlsx,
            _ => Format::Docx,
        };
    };
    let parts: Vec<&str> = archive.file_names().collect();
    if parts.contains(&"word/document.xml") {
        Format::Docx
    } else if parts.iter().any(|n| *n == "xl/workbook.xml" || *n == "xl/workbook.bin") {
        Format::Xlsx
    } else {
        Format::Zip
    }
}

fn looks_like_html(body: &[u8]) -> bool {
    let head: Vec<u8> = body[..body.len().min(2048)].iter().map(u8::to_ascii_lowercase).collect();
    [&b"<!doctype html"[..], b"<html", b"<head", b"<body", b"<meta", b"<div", b"<p>", b"<table", b"<title"]
        .iter()
        .any(|tag| head.windows(tag.len()).any(|w| w == *tag))
}
