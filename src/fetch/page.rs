//! What one fetch gives the rest of the pipeline: a [`FetchedPage`] with the exchange exactly as it
//! happened (request headers sent, redirect hops, response headers in order, raw body bytes), plus
//! the readings of it every later stage needs (media type, charset, attachment filename), and the
//! recognition of anti-bot walls that must never be taken for content.

use std::sync::LazyLock;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use regex::Regex;
use url::Url;

/// One redirect hop, recorded so that the archive and the WARC show how the page was reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    pub from: Url,
    /// The Location, resolved against `from`.
    pub to: Url,
    pub status: u16,
}

/// A server's final answer to one request: 2xx, or 304 for a revalidated page.
#[derive(Debug, Clone)]
pub struct FetchedPage {
    /// The URL as requested.
    pub url: Url,
    /// Where the redirects ended.
    pub final_url: Url,
    /// Every hop, in order.
    pub redirects: Vec<Redirect>,
    /// Exactly what was sent on the last hop, including Host, User-Agent and conditionals.
    pub request_headers: Vec<(String, String)>,
    /// The urlencoded form of a POST.
    pub request_body: Option<Vec<u8>>,
    /// 2xx, or 304 when the validators still hold.
    pub status: u16,
    /// "HTTP/1.1", "HTTP/2.0", …
    pub http_version: &'static str,
    /// Response headers in received order (non-UTF-8 values decoded as GB18030).
    pub headers: Vec<(String, String)>,
    /// When the response headers arrived.
    pub fetched_at: DateTime<Utc>,
    /// Raw bytes exactly as received (no decompression).
    pub body: Bytes,
    /// The server's address, for the WARC `WARC-IP-Address` field.
    pub remote_ip: Option<std::net::IpAddr>,
}

impl FetchedPage {
    /// A 304: the held bytes are still current.
    pub fn is_not_modified(&self) -> bool {
        self.status == 304
    }

    /// The first value of a response header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        header_in(&self.headers, name)
    }

    /// The raw Content-Type value, for charset sniffing and cleaning.
    pub fn content_type(&self) -> Option<&str> {
        self.header("content-type")
    }

    /// The media type, lowercased and without parameters (`text/html`).
    pub fn media_type(&self) -> Option<String> {
        let ct = self.content_type()?;
        let media = ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        (!media.is_empty()).then_some(media)
    }

    /// The body's character encoding: header, BOM, `<meta>`, detection (see [`crate::charset`]).
    pub fn charset(&self) -> &'static encoding_rs::Encoding {
        crate::charset::sniff(&self.body, self.content_type()).0
    }

    /// The filename a download script gives its attachment in Content-Disposition, if any.
    pub fn attachment_filename(&self) -> Option<String> {
        self.header("content-disposition").and_then(disposition_filename)
    }
}

/// The first value of `name` in a header list, case-insensitively.
pub(crate) fn header_in<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// A header value as text. Values that are not UTF-8 are decoded as GB18030: Chinese servers send
/// raw GBK filenames in Content-Disposition, and GB18030 is the superset that decodes them all.
pub(crate) fn header_text(value: &[u8]) -> String {
    match std::str::from_utf8(value) {
        Ok(text) => text.to_owned(),
        Err(_) => encoding_rs::GB18030.decode_without_bom_handling(value).0.into_owned(),
    }
}

/// The filename of a Content-Disposition value: `filename*=` (RFC 5987) first, then `filename=`,
/// percent-decoded (UTF-8, else GBK bytes), without any directory part.
pub(crate) fn disposition_filename(value: &str) -> Option<String> {
    let params = disposition_params(value);
    let extended = params.iter().find(|(k, _)| k == "filename*").and_then(|(_, v)| decode_ext_value(v));
    let name = extended.or_else(|| {
        params.iter().find(|(k, _)| k == "filename").map(|(_, v)| decode_bytes(&percent_decode(v), None))
    })?;
    let name = name.rsplit(['/', '\\']).next().unwrap_or_default().trim().to_owned();
    (!name.is_empty()).then_some(name)
}

/// `key=value` parameters of a header value, keys lowercased, quotes and escapes removed.
fn disposition_params(value: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(semi) = rest.find(';') {
        rest = &rest[semi + 1..];
        let Some(eq) = rest.find('=') else { break };
        let key = rest[..eq].trim().to_ascii_lowercase();
        let after = rest[eq + 1..].trim_start();
        let (val, remaining) = match after.strip_prefix('"') {
            Some(quoted) => take_quoted(quoted),
            None => {
                let end = after.find(';').unwrap_or(after.len());
                (after[..end].trim().to_owned(), &after[end..])
            }
        };
        out.push((key, val));
        rest = remaining;
    }
    out
}

/// The content of a quoted string (after its opening quote) and what follows its closing quote.
fn take_quoted(s: &str) -> (String, &str) {
    let mut val = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                if let Some((_, escaped)) = chars.next() {
                    val.push(escaped);
                }
            }
            '"' => return (val, &s[i + 1..]),
            _ => val.push(c),
        }
    }
    (val, "")
}

/// An RFC 5987 `charset'language'percent-encoded` value.
fn decode_ext_value(v: &str) -> Option<String> {
    let mut parts = v.splitn(3, '\'');
    let (charset, _lang, encoded) = (parts.next()?, parts.next()?, parts.next()?);
    let encoding = encoding_rs::Encoding::for_label(charset.trim().as_bytes());
    Some(decode_bytes(&percent_decode(encoded), encoding))
}

/// Bytes as text in the given encoding; without one, UTF-8 when valid, else GB18030.
fn decode_bytes(bytes: &[u8], encoding: Option<&'static encoding_rs::Encoding>) -> String {
    match encoding {
        Some(enc) => enc.decode_without_bom_handling(bytes).0.into_owned(),
        None => header_text(bytes),
    }
}

/// `%XX` escapes to bytes; anything else is kept as it is.
fn percent_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// Why an answer is an anti-bot wall rather than content, if it is one.
pub(crate) fn blocked_reason(status: u16, headers: &[(String, String)], body: &[u8]) -> Option<&'static str> {
    match status {
        412 if contains(body, b"$_ts") => Some("瑞数 412 $_ts challenge"),
        521 => Some("加速乐 521 challenge"),
        200..=299 if is_script_challenge(header_in(headers, "content-type"), body) => {
            Some("JavaScript cookie challenge")
        }
        _ => None,
    }
}

/// Bodies larger than this are real pages, whatever scripts they carry.
const CHALLENGE_MAX_BYTES: usize = 16 * 1024;

/// A tiny HTML page that only runs a script setting a cookie or reloading itself, with no text.
fn is_script_challenge(content_type: Option<&str>, body: &[u8]) -> bool {
    static SCRIPT: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?is)<script\b.*?(?:</script\s*>|\z)").expect("valid regex"));
    static STYLE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?is)<style\b.*?</style\s*>").expect("valid regex"));
    static TAG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?s)<[^>]*>|&[a-zA-Z#0-9]+;").expect("valid regex"));
    // Setting a cookie, or reloading the page itself; a script sending the reader to another
    // page (`location.href = "./zwgk/"`) is a JavaScript redirect, not a wall.
    // On bytes, so that a real page is passed over without first being copied into a `String`.
    static CHALLENGE: LazyLock<regex::bytes::Regex> = LazyLock::new(|| {
        regex::bytes::Regex::new(concat!(
            r"document\.cookie\s*=|location\.reload\s*\(|\$_ts\b",
            r"|location(?:\.href)?\s*=\s*(?:window\.|document\.|self\.)?location\b",
            r"|location\.replace\s*\(\s*(?:window\.|document\.|self\.)?location\b",
        ))
        .expect("valid regex")
    });
    let htmlish = content_type.is_none_or(|ct| ct.to_ascii_lowercase().contains("html"));
    if !htmlish || body.len() > CHALLENGE_MAX_BYTES {
        return false;
    }
    // A challenge inside a script is a challenge somewhere in the page, and the pattern finds no
    // match across a script's end tag: a page without one anywhere has no challenge script, and
    // this skips the slow script scan for (nearly) every real page.
    if !CHALLENGE.is_match(body) {
        return false;
    }
    let text = String::from_utf8_lossy(body);
    let scripts: String = SCRIPT.find_iter(&text).map(|m| m.as_str()).collect();
    if !CHALLENGE.is_match(scripts.as_bytes()) {
        return false;
    }
    let without_scripts = SCRIPT.replace_all(&text, " ");
    let without_styles = STYLE.replace_all(&without_scripts, " ");
    let visible = TAG.replace_all(&without_styles, " ");
    visible.chars().filter(|c| !c.is_whitespace()).count() < 20
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(headers: &[(&str, &str)], body: &[u8]) -> FetchedPage {
        let url = Url::parse("http://127.0.0.1/a").unwrap();
        FetchedPage {
            url: url.clone(),
            final_url: url,
            redirects: Vec::new(),
            request_headers: Vec::new(),
            request_body: None,
            status: 200,
            http_version: "HTTP/1.1",
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            fetched_at: Utc::now(),
            body: Bytes::copy_from_slice(body),
            remote_ip: None,
        }
    }

    #[test]
    fn header_lookups_are_case_insensitive_and_media_type_is_bare() {
        let p = page(&[("Content-Type", "Text/HTML; charset=GBK"), ("content-type", "text/plain")], b"");
        assert_eq!(p.header("CONTENT-TYPE"), Some("Text/HTML; charset=GBK"));
        assert_eq!(p.media_type().as_deref(), Some("text/html"));
        assert_eq!(p.charset(), encoding_rs::GBK);
        assert!(page(&[], b"").media_type().is_none());
    }

    #[test]
    fn filenames_in_every_form() {
        let f = disposition_filename;
        assert_eq!(f("attachment; filename=\"2023.docx\"").as_deref(), Some("2023.docx"));
        assert_eq!(
            f("attachment; filename=\"x.pdf\"; filename*=UTF-8''%E5%B9%B4%E6%8A%A5.pdf").as_deref(),
            Some("年报.pdf")
        );
        assert_eq!(f("attachment;filename=%E5%B9%B4%E6%8A%A5.pdf").as_deref(), Some("年报.pdf"));
        assert_eq!(f("attachment; filename=%C4%EA%B1%A8.doc").as_deref(), Some("年报.doc"), "percent-encoded GBK");
        assert_eq!(f("attachment; filename*=gbk''%C4%EA%B1%A8.xls").as_deref(), Some("年报.xls"));
        assert_eq!(f("attachment; filename=\"a\\\"b.txt\"").as_deref(), Some("a\"b.txt"));
        assert_eq!(f("attachment; filename=\"../../etc/passwd\"").as_deref(), Some("passwd"));
        assert_eq!(f("inline"), None);
        assert_eq!(f("attachment; filename=\"\""), None);
        assert_eq!(f("attachment; filename=%E5%B9%B4%"), Some("年%".into()));
    }

    #[test]
    fn gbk_header_bytes_decode() {
        let raw = encoding_rs::GBK.encode("attachment; filename=\"2022年报.pdf\"").0;
        let text = header_text(&raw);
        assert_eq!(disposition_filename(&text).as_deref(), Some("2022年报.pdf"));
    }

    #[test]
    fn walls_are_recognised_and_pages_are_not() {
        let ts = b"<html><head><meta http-equiv=\"Content-Type\"><script>$_ts=window['$_ts'];</script></head></html>";
        assert!(blocked_reason(412, &[], ts).is_some());
        assert!(blocked_reason(412, &[], b"Precondition Failed").is_none());
        assert!(blocked_reason(521, &[], b"").is_some());
        let jsl = b"<html><script>document.cookie='__jsl_clearance=1';location.href=location.pathname</script></html>";
        assert!(blocked_reason(200, &[], jsl).is_some());
        let real = "<html><head><script>document.cookie='a=1'</script></head><body>2023年政府信息公开工作年度报告。本年度共收到申请十件。</body></html>";
        assert!(blocked_reason(200, &[], real.as_bytes()).is_none());
        assert!(blocked_reason(200, &[], b"<html><body>ok</body></html>").is_none());
        let reload = b"<html><body><script>setTimeout(function(){location.reload()},100)</script></body></html>";
        assert!(blocked_reason(200, &[], reload).is_some());
        let js_redirect = b"<html><head><script>window.location.href='./zwgk/nb/';</script></head></html>";
        assert!(blocked_reason(200, &[], js_redirect).is_none(), "a JavaScript redirect is not a wall");
        let ct = [("Content-Type".to_string(), "application/pdf".to_string())];
        assert!(blocked_reason(200, &ct, jsl).is_none(), "only HTML can be a challenge page");
    }

    proptest::proptest! {
        #[test]
        fn filename_parsing_never_panics(value in "\\PC{0,80}") {
            let _ = disposition_filename(&value);
            let _ = blocked_reason(200, &[], value.as_bytes());
        }

        #[test]
        fn header_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let text = header_text(&bytes);
            let _ = disposition_filename(&text);
        }
    }
}
