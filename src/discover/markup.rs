//! Shared reading of anchors: resolving hrefs, their text, and whether they sit in page chrome
//! (navigation, header, sidebar, footer, breadcrumbs).

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;
use scraper::{ElementRef, Html};
use url::Url;

use super::canon::{canonicalize, is_trap};
use super::Link;

/// Class or id tokens (split at spaces, `-` and `_`) that mark page chrome.
const CHROME_TOKENS: &[&str] = &[
    "header",
    "head",
    "footer",
    "foot",
    "bottom",
    "top",
    "topbar",
    "banner",
    "sidebar",
    "side",
    "aside",
    "crumb",
    "crumbs",
    "breadcrumb",
    "bread",
    "position",
    "location",
    "dqwz",
    "friend",
    "friendlink",
    "yqlj",
    "share",
    "copyright",
    "toolbar",
    "login",
    "skip",
];

/// Substrings of a class or id token that mark chrome wherever they occur (`topnav`, `submenu`).
const CHROME_PARTS: &[&str] = &["nav", "menu", "crumb", "footer", "header"];

/// Text or title saying the link is an annual report.
pub(super) static NIANBAO_TEXT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"年度报告|年报|工作报告|年度工作报告").unwrap());

/// An anchor of a page, resolved.
pub(super) struct Anchor<'a> {
    pub el: ElementRef<'a>,
    /// Canonical; http or https only.
    pub url: Url,
    pub text: String,
    /// Inside navigation, header, sidebar, footer or breadcrumbs.
    pub chrome: bool,
}

/// The URL relative links resolve against: `<base href>` when the page has one.
pub(super) fn base_url(doc: &Html, page: &Url) -> Url {
    base_from(crate::html::elements(doc, &["base"]).find_map(|b| b.value().attr("href")), page)
}

/// The URL relative links resolve against, given the page's first `<base href>` if any.
pub(super) fn base_from(base_href: Option<&str>, page: &Url) -> Url {
    base_href.and_then(|h| page.join(h.trim()).ok()).unwrap_or_else(|| page.clone())
}

/// Resolves an href to a canonical http(s) URL; `javascript:`, `mailto:` and bare fragments give none.
pub(super) fn resolve(base: &Url, href: &str) -> Option<Url> {
    let href = href.trim();
    if href.is_empty() || href.starts_with('#') {
        return None;
    }
    let url = base.join(href).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| canonicalize(&url))
}

/// All anchors of a document that resolve to http(s) URLs, in document order.
pub(super) fn anchors<'a>(doc: &'a Html, base: &Url) -> Vec<Anchor<'a>> {
    crate::html::elements(doc, &["a"])
        .filter_map(|el| {
            let url = resolve(base, el.value().attr("href")?)?;
            Some(Anchor { text: link_text(el), chrome: in_chrome(el), url, el })
        })
        .collect()
}

/// The text of a link: its visible text, or its `title` when that contains the text (lists cut
/// long report titles short with "…" and keep the whole title in the attribute).
pub(super) fn link_text(el: ElementRef) -> String {
    let text = collapse(el.text());
    let title = el.value().attr("title").map(|t| collapse(std::iter::once(t))).unwrap_or_default();
    let stem = text.trim_end_matches(['.', '…', '。']);
    if !title.is_empty() && title.contains(stem) {
        title
    } else {
        text
    }
}

/// Joins text pieces with whitespace runs collapsed to one space.
pub(super) fn collapse<'a>(pieces: impl Iterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for word in pieces.flat_map(str::split_whitespace) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Whether the element or an ancestor is page chrome, by tag, ARIA role, class or id.
pub(super) fn in_chrome(el: ElementRef) -> bool {
    std::iter::once(el).chain(el.ancestors().filter_map(ElementRef::wrap)).any(|e| {
        let v = e.value();
        matches!(v.name(), "nav" | "header" | "footer" | "aside")
            || matches!(v.attr("role"), Some("navigation" | "banner" | "contentinfo"))
            || v.attr("class").is_some_and(is_chrome_name)
            || v.id().is_some_and(is_chrome_name)
    })
}

fn is_chrome_name(name: &str) -> bool {
    name.split(|c: char| c.is_whitespace() || c == '-' || c == '_').any(|token| {
        let token = token.to_ascii_lowercase();
        CHROME_TOKENS.contains(&token.as_str()) || CHROME_PARTS.iter().any(|p| token.contains(p))
    })
}

/// Collects links into `out`, skipping URLs already in `seen`; a later occurrence only fills in
/// an empty text.
pub(super) fn push_link(out: &mut Vec<Link>, seen: &mut HashSet<Url>, url: Url, text: String) {
    if seen.insert(url.clone()) {
        out.push(Link { url, text });
    } else if let Some(link) = out.iter_mut().find(|l| l.url == url && l.text.is_empty()) {
        link.text = text;
    }
}

/// The report links of an HTML fragment that is all list rows (Hanweb `<record>`s): every anchor
/// in scope that is not a trap.
pub(super) fn fragment_links(fragment: &str, base: &Url, allow: impl Fn(&Url) -> bool) -> Vec<Link> {
    let doc = Html::parse_fragment(fragment);
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for el in crate::html::elements(&doc, &["a"]) {
        let Some(url) = el.value().attr("href").and_then(|h| resolve(base, h)) else { continue };
        if allow(&url) && !is_trap(&url) {
            push_link(&mut out, &mut seen, url, link_text(el));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chrome_names() {
        for name in
            ["nav", "topnav", "main-nav", "header", "foot", "left_menu", "breadcrumb", "crumbs", "yqlj", "footer-wrap"]
        {
            assert!(is_chrome_name(name), "{name}");
        }
        for name in ["list", "zfxxgk_zdgkc", "gl_list", "clearfix", "main", "content", "right", "left", "news_list"] {
            assert!(!is_chrome_name(name), "{name}");
        }
    }

    #[test]
    fn link_text_prefers_full_title_over_truncated_text() {
        let doc = Html::parse_fragment(
            r#"<a href="1" title="重庆市医疗保障局2022年政府信息公开工作年度报告">重庆市医疗保障局2022年...</a><a href="2" title="打开"> 年度
            报告 </a>"#,
        );
        let texts: Vec<String> = crate::html::elements(&doc, &["a"]).map(link_text).collect();
        assert_eq!(texts, ["重庆市医疗保障局2022年政府信息公开工作年度报告", "年度 报告"]);
    }
}
