//! URL canonicalisation (the frontier and archive key) and crawler-trap limits.

use std::sync::LazyLock;

use regex::Regex;
use url::Url;

/// Longer URLs are traps: real report and list URLs stay far below this, even with a Chinese file
/// name percent-encoded at nine bytes a character, while URLs that grow on every hop exceed it.
const MAX_URL_LEN: usize = 1024;

/// Deeper paths are traps (relative links resolved against the wrong base grow without end).
const MAX_PATH_SEGMENTS: usize = 16;

/// A path segment seen this often is a relative-link loop (`/a/b/a/b/a/…`).
const MAX_SEGMENT_REPEATS: usize = 3;

/// Page numbers beyond this are endless paging, not a 年报 section (which has tens of pages).
const MAX_PAGE_NUMBER: u64 = 5000;

/// More query pairs than this is a faceted-search or filter explosion.
const MAX_QUERY_PAIRS: usize = 16;

/// Query keys that say how a visitor arrived, never which page: dropped from the canonical form.
/// Kept deliberately small; `from` is only dropped with the WeChat share values below.
const TRACKING_KEYS: &[&str] = &["spm", "gclid", "fbclid", "isappinstalled"];

/// Values of `from=` appended by WeChat when a page is shared.
const WECHAT_FROM: &[&str] = &["timeline", "singlemessage", "groupmessage"];

/// Query keys of search boxes: a search result page is never part of a section, and search URLs
/// multiply without end.
const SEARCH_KEYS: &[&str] = &["keyword", "keywords", "searchword", "searchkey", "wd", "kw", "q", "query"];

/// Query keys of calendar widgets, which link each day to the next forever.
const CALENDAR_KEYS: &[&str] = &["date", "day", "month", "calendar"];

/// Query keys carrying a page number, checked against [`MAX_PAGE_NUMBER`].
const PAGE_KEYS: &[&str] = &["page", "pageno", "pagenum", "pageindex", "curpage", "currentpage", "p"];

/// Java servers put the session in the path (`;jsessionid=…`); each visit would otherwise be a new URL.
static SESSION_IN_PATH: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i);jsessionid=[^/?#]*").unwrap());

/// Script extensions a search or calendar endpoint may carry (`search.jsp`, `calendar.html`).
const ENDPOINT_EXTENSIONS: &[&str] = &["", "jsp", "do", "php", "asp", "aspx", "action", "htm", "html", "shtml"];

/// A numbered page in the path (`index_12.html`, `list_3.shtml`).
static PAGE_IN_PATH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^(?:index|list|default|page)_([0-9]{1,12})\.[a-z]+$").unwrap());

/// The canonical form of a URL, used as the frontier and archive key.
///
/// Fragment dropped; default port dropped and host lowercased (the `url` crate already does both
/// for http and https, and a trailing dot of the host is removed here); percent-encoding
/// normalised in path and query (unreserved characters decoded, hex digits upper-cased); empty
/// query pairs and an empty query dropped; `;jsessionid=` path parameters and tracking query
/// parameters (`utm_*`, [`TRACKING_KEYS`], WeChat's `from=timeline` etc.) removed. Default
/// documents (`index.html`) are kept: servers differ in what `/dir/` serves. Idempotent.
pub fn canonicalize(url: &Url) -> Url {
    let mut u = url.clone();
    u.set_fragment(None);
    if u.cannot_be_a_base() {
        return u;
    }
    if let Some(host) = u.host_str().filter(|h| h.len() > 1 && h.ends_with('.')) {
        let host = host.trim_end_matches('.').to_owned();
        // A host that is only dots cannot be set; the URL is then kept as it was.
        let _ = u.set_host(Some(&host));
    }
    let path = SESSION_IN_PATH.replace_all(u.path(), "");
    let path = normalize_percent(&path);
    if path != u.path() {
        u.set_path(&path);
    }
    if let Some(query) = u.query() {
        let kept: Vec<String> =
            query.split('&').filter(|p| !p.is_empty()).map(normalize_percent).filter(|p| !is_tracking(p)).collect();
        let query = kept.join("&");
        u.set_query(if query.is_empty() { None } else { Some(&query) });
    }
    u
}

/// Whether a `key=value` query pair only tracks the visitor.
fn is_tracking(pair: &str) -> bool {
    let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
    let key = key.to_ascii_lowercase();
    key.starts_with("utm_")
        || TRACKING_KEYS.contains(&key.as_str())
        || (key == "from" && WECHAT_FROM.iter().any(|v| v.eq_ignore_ascii_case(value)))
}

/// Decodes percent-escapes of unreserved characters (RFC 3986 §2.3) and upper-cases the hex of
/// the others, so that `%7e`, `%7E` and `~` are one URL.
fn normalize_percent(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escape = (bytes[i] == b'%').then(|| bytes.get(i + 1..i + 3)).flatten();
        match escape.and_then(|h| Some((hex(h[0])? << 4) | hex(h[1])?)) {
            Some(b) if b.is_ascii_alphanumeric() || b"-._~".contains(&b) => {
                out.push(b);
                i += 3;
            }
            Some(b) => {
                out.extend_from_slice(format!("%{b:02X}").as_bytes());
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_owned())
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Whether following this URL risks a crawler trap: too long, too deep, a path segment repeated
/// [`MAX_SEGMENT_REPEATS`] times, a search or calendar endpoint, an absurd page number, or a
/// query exploding into many pairs. Cheap enough to call on every link.
pub fn is_trap(url: &Url) -> bool {
    if url.as_str().len() > MAX_URL_LEN {
        return true;
    }
    let segments: Vec<&str> = url.path_segments().map(|s| s.filter(|x| !x.is_empty()).collect()).unwrap_or_default();
    if segments.len() > MAX_PATH_SEGMENTS {
        return true;
    }
    let repeated = segments.iter().any(|s| segments.iter().filter(|t| *t == s).count() >= MAX_SEGMENT_REPEATS);
    if repeated || segments.iter().any(|s| is_search_or_calendar(s)) {
        return true;
    }
    let deep_page = segments
        .last()
        .and_then(|s| PAGE_IN_PATH.captures(s))
        .and_then(|c| c[1].parse::<u64>().ok())
        .is_some_and(|n| n > MAX_PAGE_NUMBER);
    deep_page || query_is_trap(url)
}

/// Search and calendar endpoints by their path segment: `search.jsp`, `/search/`,
/// `fulltextsearch.do`, `calendar.html`, `rili`.
fn is_search_or_calendar(segment: &str) -> bool {
    let segment = segment.to_ascii_lowercase();
    let (stem, ext) = segment.rsplit_once('.').unwrap_or((&segment, ""));
    ENDPOINT_EXTENSIONS.contains(&ext)
        && (stem.starts_with("search")
            || stem.ends_with("search")
            || stem.starts_with("fulltext")
            || stem.starts_with("calendar")
            || stem == "rili")
}

fn query_is_trap(url: &Url) -> bool {
    let mut pairs = 0;
    for (key, value) in url.query_pairs() {
        pairs += 1;
        let key = key.to_ascii_lowercase();
        let key = key.as_str();
        if SEARCH_KEYS.contains(&key) && !value.is_empty() {
            return true;
        }
        if CALENDAR_KEYS.contains(&key) && value.bytes().any(|b| b.is_ascii_digit()) {
            return true;
        }
        if PAGE_KEYS.contains(&key) && value.parse::<u64>().is_ok_and(|n| n > MAX_PAGE_NUMBER) {
            return true;
        }
    }
    pairs > MAX_QUERY_PAIRS
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn canon(s: &str) -> String {
        canonicalize(&Url::parse(s).unwrap()).to_string()
    }

    fn trap(s: &str) -> bool {
        is_trap(&Url::parse(s).unwrap())
    }

    #[test]
    fn drops_fragment_default_port_and_lowercases_host() {
        assert_eq!(
            canon("HTTP://WWW.Dingxi.GOV.cn:80/col/col16516/index.html#top"),
            "http://www.dingxi.gov.cn/col/col16516/index.html"
        );
        assert_eq!(canon("https://a.gov.cn:443/x"), "https://a.gov.cn/x");
        assert_eq!(canon("http://a.gov.cn:8080/x"), "http://a.gov.cn:8080/x");
        assert_eq!(canon("http://a.gov.cn./x"), "http://a.gov.cn/x");
    }

    #[test]
    fn normalises_percent_encoding() {
        assert_eq!(
            canon("http://a.gov.cn/%7euser/%e5%b9%b4%E6%8A%A5.html"),
            "http://a.gov.cn/~user/%E5%B9%B4%E6%8A%A5.html"
        );
        assert_eq!(canon("http://a.gov.cn/a%2Db?x=%41%2f"), "http://a.gov.cn/a-b?x=A%2F");
        assert_eq!(canon("http://a.gov.cn/年报.html"), "http://a.gov.cn/%E5%B9%B4%E6%8A%A5.html");
        assert_eq!(canon("http://a.gov.cn/100%"), "http://a.gov.cn/100%");
    }

    #[test]
    fn drops_empty_query_tracking_params_and_session_ids() {
        assert_eq!(canon("http://a.gov.cn/x?"), "http://a.gov.cn/x");
        assert_eq!(canon("http://a.gov.cn/x?&&"), "http://a.gov.cn/x");
        assert_eq!(canon("http://a.gov.cn/x?utm_source=wx&id=3&spm=1.2&from=timeline"), "http://a.gov.cn/x?id=3");
        assert_eq!(canon("http://a.gov.cn/x?from=list&isappinstalled=0"), "http://a.gov.cn/x?from=list");
        assert_eq!(canon("http://a.gov.cn/a.jsp;jsessionid=ABC123?id=1"), "http://a.gov.cn/a.jsp?id=1");
    }

    #[test]
    fn keeps_default_documents() {
        assert_eq!(canon("http://a.gov.cn/nb/index.html"), "http://a.gov.cn/nb/index.html");
        assert_ne!(canon("http://a.gov.cn/nb/index.html"), canon("http://a.gov.cn/nb/"));
    }

    #[test]
    fn traps() {
        assert!(trap(&format!("http://a.gov.cn/{}", "x".repeat(1100))));
        assert!(trap("http://a.gov.cn/a/b/a/b/a/index.html"));
        assert!(trap("http://a.gov.cn/nb/nb/nb/"));
        assert!(trap("http://a.gov.cn/search.jsp?x=1"));
        assert!(trap("http://a.gov.cn/search/index.html"));
        assert!(trap("http://a.gov.cn/list?keyword=%E5%B9%B4%E6%8A%A5"));
        assert!(trap("http://a.gov.cn/events/calendar.html"));
        assert!(trap("http://a.gov.cn/events/?date=2023-01-05"));
        assert!(trap("http://a.gov.cn/nb/index_99999.html"));
        assert!(trap("http://a.gov.cn/nb/list.jsp?page=123456"));
        assert!(trap(&format!(
            "http://a.gov.cn/x?{}",
            (0..20).map(|i| format!("k{i}=1")).collect::<Vec<_>>().join("&")
        )));
        assert!(!trap("http://www.dingxi.gov.cn/art/2021/11/11/art_16516_1541057.html"));
        assert!(!trap("https://ylbzj.cq.gov.cn/zwgk_535/zfxxgknb/index_3.html"));
        assert!(!trap("http://a.gov.cn/module/download/downfile.jsp?classid=0&filename=1.pdf"));
        assert!(!trap("http://a.gov.cn/nb/list.jsp?page=12&year=2023"));
    }

    proptest! {
        #[test]
        fn canonicalize_is_idempotent(
            host in "[a-zA-Z0-9]{1,8}(\\.[a-zA-Z0-9]{1,8}){0,3}\\.?",
            port in proptest::option::of(0u16..),
            path in "(/[a-zA-Z0-9%._~;=!$&'()*+,:@\\-年报 ]{0,12}){0,6}",
            query in proptest::option::of("[a-zA-Z0-9%._~=&+/?:@\\-年 ]{0,40}"),
            fragment in proptest::option::of("[a-z0-9%#]{0,8}"),
            https in any::<bool>(),
        ) {
            let scheme = if https { "https" } else { "http" };
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            let query = query.map(|q| format!("?{q}")).unwrap_or_default();
            let fragment = fragment.map(|f| format!("#{f}")).unwrap_or_default();
            if let Ok(url) = Url::parse(&format!("{scheme}://{host}{port}{path}{query}{fragment}")) {
                let once = canonicalize(&url);
                prop_assert_eq!(canonicalize(&once), once.clone());
                prop_assert!(once.fragment().is_none());
                let _ = is_trap(&once);
            }
        }

        #[test]
        fn never_panics_on_any_url(s in "\\PC{0,80}") {
            if let Ok(url) = Url::parse(&s) {
                let once = canonicalize(&url);
                prop_assert_eq!(canonicalize(&once), once.clone());
                let _ = is_trap(&url);
            }
        }
    }
}
