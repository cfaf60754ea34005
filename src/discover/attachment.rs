//! Attachments of a report page: the PDF, DOC, DOCX, WPS, XLS or XLSX files that often *are* the
//! report, recognised by extension, by download-script URL, by TRS attachment attributes, and, once
//! fetched, by Content-Type and Content-Disposition.

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;
use scraper::Html;
use url::Url;

use super::canon::is_trap;
use super::markup::{base_from, collapse, in_chrome, link_text, push_link, resolve};
use super::{Link, Scope};

/// File extensions of report attachments; the parser reads these formats.
const DOC_EXTENSIONS: &[&str] = &["pdf", "doc", "docx", "wps", "xls", "xlsx"];

/// MIME types of those formats, including the ones WPS Office and old servers send.
const DOC_MIME_TYPES: &[&str] = &[
    "application/pdf",
    "application/x-pdf",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/kswps",
    "application/wps-office.wps",
    "application/vnd.ms-works",
];

/// MIME types download scripts send whatever the file is.
const DOWNLOAD_MIME_TYPES: &[&str] = &[
    "application/octet-stream",
    "binary/octet-stream",
    "application/x-download",
    "application/force-download",
    "application/download",
];

/// Query keys download scripts carry the file name or path in.
const FILE_KEYS: &[&str] = &["filename", "file", "filepath", "path", "name", "fileurl", "url", "attachname"];

/// Download scripts by their last path segment: Hanweb's `downfile.jsp`, and the usual names.
static DOWNLOAD_SCRIPT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:down(?:load)?(?:file)?|filedown(?:load)?|getfile|attach(?:ment)?(?:down(?:load)?)?)\.(?:jsp|do|php|aspx?|action|ashx)$")
        .unwrap()
});

/// pdf.js-style viewers embedding a file: `viewer.html?file=/…/report.pdf`.
static VIEWER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)^(?:viewer|pdfviewer|preview)\.s?html?$").unwrap());

/// Elements that may point at an attachment: links (also by TRS's `oldsrc`) and embedded viewers.
/// The elements that may link an attachment, and `base`, which decides what relative links mean.
const WALKED: &[&str] = &["a", "iframe", "embed", "object", "base"];

/// The `filename=` / `filename*=` of a Content-Disposition.
static DISPOSITION_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?i)filename\*?\s*=\s*(?:[\w-]*'[\w-]*')?"?([^";]*)"?"#).unwrap());

/// The attachments linked from a report page, outside its chrome, on the portal's registrable
/// domain: links whose URL looks like an attachment ([`looks_like_attachment`]), TRS links marked
/// `appendix="true"` or carrying an `oldsrc` file name, links whose text is a file name
/// (`年报.pdf` behind an id-only download URL), and files shown in an embedded PDF viewer.
pub fn read_report_page(html: &str, url: &Url, scope: &Scope) -> Vec<Link> {
    read_parsed_report_page(&Html::parse_document(html), url, scope)
}

/// [`read_report_page`] on a page already parsed (the cleaner's tree), so that the crawl parses
/// each report page once.
pub fn read_parsed_report_page(doc: &Html, url: &Url, scope: &Scope) -> Vec<Link> {
    // The `<base>` and the candidates in one walk of the tree (a walk per page was 0.7% of the
    // crawl's CPU); the first `<base href>` in the document counts, wherever it stands.
    let mut base_href = None;
    let mut candidates = Vec::new();
    for el in crate::html::elements(doc, WALKED) {
        match el.value().name() {
            "base" => base_href = base_href.or(el.value().attr("href")),
            _ => candidates.push(el),
        }
    }
    let base = base_from(base_href, url);
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for el in candidates {
        let v = el.value();
        let raw = match v.name() {
            "a" => v.attr("href"),
            "object" => v.attr("data"),
            _ => v.attr("src"),
        };
        if raw.is_none() && !(v.name() == "a" && v.attr("oldsrc").is_some()) {
            continue;
        }
        let raw = raw.filter(|h| !h.trim().is_empty());
        let oldsrc = v.attr("oldsrc").filter(|s| has_doc_extension(s));
        let marked = v.attr("appendix").is_some_and(|a| a.eq_ignore_ascii_case("true"))
            || oldsrc.is_some()
            || (v.name() == "a" && has_doc_extension(&collapse(el.text())));
        let target = raw.and_then(|h| resolve(&base, h)).or_else(|| oldsrc.and_then(|s| resolve(&base, s)));
        let Some(target) = target.map(|t| unwrap_viewer(&t).unwrap_or(t)) else { continue };
        let marked = marked && !is_page_like(&target);
        if !(marked || looks_like_attachment(&target)) || in_chrome(el) {
            continue;
        }
        if scope.allows_attachment(&target) && !is_trap(&target) {
            let text = if v.name() == "a" { link_text(el) } else { collapse(v.attr("title").into_iter()) };
            push_link(&mut out, &mut seen, target, text);
        }
    }
    out
}

/// The file a viewer page shows (`viewer.html?file=…`), if `url` is one.
fn unwrap_viewer(url: &Url) -> Option<Url> {
    let last = url.path_segments()?.next_back()?;
    if !VIEWER.is_match(last) {
        return None;
    }
    let (_, file) = url.query_pairs().find(|(k, _)| k.eq_ignore_ascii_case("file"))?;
    resolve(url, &file).filter(looks_like_attachment)
}

/// Whether a URL looks like a report attachment before it is fetched: its file name ends in
/// `.pdf`, `.doc`, `.docx`, `.wps`, `.xls` or `.xlsx` (TRS's `P020230131….pdf` included), or it
/// is a download script (`/module/download/downfile.jsp?…&filename=…`, `download.do?…`) not
/// naming a file of another kind, or a script whose query names such a file.
pub fn looks_like_attachment(url: &Url) -> bool {
    let last = url.path_segments().and_then(|mut s| s.next_back()).unwrap_or("");
    if has_doc_extension(last) {
        return true;
    }
    let named = url.query_pairs().find(|(k, _)| FILE_KEYS.contains(&k.to_ascii_lowercase().as_str())).map(|(_, v)| v);
    if DOWNLOAD_SCRIPT.is_match(last) {
        return named.is_none_or(|name| extension(&name).is_none() || has_doc_extension(&name));
    }
    !is_page_like(url) && named.is_some_and(|name| has_doc_extension(&name))
}

/// Whether a URL names an HTML page (`.html`, `.htm`, `.shtml`).
fn is_page_like(url: &Url) -> bool {
    let last = url.path_segments().and_then(|mut s| s.next_back()).unwrap_or("");
    extension(last).is_some_and(|e| e.starts_with("htm") || e.starts_with("sht"))
}

/// Whether a fetched response is an attachment rather than a page, by its headers: a document
/// MIME type; a Content-Disposition file name with a document extension; or a download MIME
/// type or `attachment` disposition that names no file of another kind (images, scripts).
pub fn is_attachment_response(content_type: Option<&str>, content_disposition: Option<&str>) -> bool {
    let mime = content_type.map(|c| c.split(';').next().unwrap_or("").trim().to_ascii_lowercase()).unwrap_or_default();
    if DOC_MIME_TYPES.contains(&mime.as_str()) {
        return true;
    }
    let disposition = content_disposition.map(str::trim).unwrap_or("");
    let name = DISPOSITION_NAME.captures(disposition).map(|c| c[1].trim().to_owned()).filter(|n| !n.is_empty());
    if let Some(name) = name.as_deref().filter(|n| extension(n).is_some()) {
        return has_doc_extension(name);
    }
    let not_a_page = !(mime.starts_with("text/") || mime.starts_with("image/") || mime.contains("javascript"));
    DOWNLOAD_MIME_TYPES.contains(&mime.as_str())
        || (disposition.to_ascii_lowercase().starts_with("attachment") && not_a_page)
}

/// The lower-cased extension of a file name or path, if it has a short one.
fn extension(name: &str) -> Option<String> {
    let file = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let (_, ext) = file.rsplit_once('.')?;
    (!ext.is_empty() && ext.len() <= 5 && ext.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then(|| ext.to_ascii_lowercase())
}

fn has_doc_extension(name: &str) -> bool {
    extension(name).is_some_and(|e| DOC_EXTENSIONS.contains(&e.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn looks(s: &str) -> bool {
        looks_like_attachment(&Url::parse(s).unwrap())
    }

    #[test]
    fn attachment_urls() {
        for s in [
            "https://ylbzj.cq.gov.cn/zwgk_535/zfxxgknb/202301/P020230131611934823157.pdf",
            "http://a.gov.cn/module/download/downfile.jsp?classid=0&filename=2301311015.pdf",
            "http://a.gov.cn/module/download/downfile.jsp?classid=0&showname=x",
            "http://a.gov.cn/u/%E5%B9%B4%E6%8A%A5.DOCX",
            "http://a.gov.cn/a/nb.wps",
            "http://a.gov.cn/a/tables.xls",
            "http://a.gov.cn/a/tables.xlsx",
            "http://a.gov.cn/a/nb.doc",
            "http://a.gov.cn/common/get.do?fileName=nb.pdf",
        ] {
            assert!(looks(s), "{s}");
        }
        for s in [
            "http://a.gov.cn/images/logo.png",
            "http://a.gov.cn/css/a.css",
            "http://a.gov.cn/js/a.js",
            "http://a.gov.cn/nb/t20230131_1.html",
            "http://a.gov.cn/module/download/downfile.jsp?filename=pic.jpg",
            "http://a.gov.cn/pdfjs/viewer.html?file=/a.pdf",
        ] {
            assert!(!looks(s), "{s}");
        }
    }

    #[test]
    fn attachment_responses() {
        assert!(is_attachment_response(Some("application/pdf"), None));
        assert!(is_attachment_response(Some("Application/PDF; charset=binary"), None));
        assert!(is_attachment_response(Some("application/octet-stream"), None));
        assert!(is_attachment_response(
            Some("application/octet-stream"),
            Some("attachment; filename*=UTF-8''%E5%B9%B4%E6%8A%A5.docx")
        ));
        assert!(is_attachment_response(Some("text/html"), Some(r#"attachment; filename="nb.wps""#)));
        assert!(is_attachment_response(None, Some("attachment")));
        assert!(is_attachment_response(Some("application/vnd.ms-excel"), None));
        assert!(!is_attachment_response(Some("text/html; charset=gbk"), None));
        assert!(!is_attachment_response(Some("image/png"), Some("attachment")));
        assert!(!is_attachment_response(Some("application/octet-stream"), Some("attachment; filename=a.jpg")));
        assert!(!is_attachment_response(None, None));
    }
}
