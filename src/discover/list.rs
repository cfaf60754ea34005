//! Reading a list page: its report links (the links of its list, not of its chrome), its further
//! list pages, and the Hanweb data endpoint behind it.
//!
//! The list is found by scoring: every anchor outside chrome belongs to a row (the nearest
//! `li`/`tr`/`dd`/`dt`, else the nearest element repeated among its siblings), and a row to a
//! container (its parent). A row scores for a date in its text and for its best link: a report-like
//! URL, a 年报 title, a URL inside the list's own section. A container scores its rows plus a bonus
//! for list markup (`ul`, `tbody`, a class or id with `list`, `zdgkc`, `clearfix`…). The best
//! container is the list; others close to it (half its score) are lists too, since some sections
//! group reports by year.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use regex::Regex;
use scraper::{ElementRef, Html};
use url::Url;

use super::attachment::looks_like_attachment;
use super::canon::{canonicalize, is_trap};
use super::dataproxy::{find_query, records_html, DataProxyQuery};
use super::markup::{anchors, base_url, fragment_links, push_link, Anchor, NIANBAO_TEXT};
use super::paging::{create_page_html, fill_series, is_paging_text, is_paging_url};
use super::{Link, Scope};

/// A container needs at least this score to be a list, whatever the best score is.
const MIN_LIST_SCORE: u32 = 4;

/// How far up from an anchor its row is looked for.
const MAX_ROW_DEPTH: usize = 4;

/// URLs of report pages on the CMSs seen: TRS `t20230131_11549147.html`, Hanweb
/// `/art/2021/1/25/art_16516_1541057.html`, 济南 `doc_<hex>.html`, 渠县 `xxgk-show-48933.html`,
/// 上海 `/20230331/<32 hex>.html`, the usual `content_`, `post_`, `detail`/`show` scripts, and
/// files named by a long number (`/xxgk/123456.html`).
static REPORT_URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)(?:/t\d{8}_\d+\.s?html?$|/art/\d{4}/\d{1,2}/\d{1,2}/art_\d+_\d+\.s?html?$|/doc_[0-9a-f]{12,}\.s?html?$",
        r"|-show-\d+\.s?html?$|/\d{6,8}/[0-9a-f]{24,}\.s?html?$|/(?:content|post|art|info|article)_\d+\.s?html?$",
        r"|/\d{6,8}/\w*?\d{4,}\.s?html?$|/[0-9a-f]{32}\.s?html?$|/\d{5,}\.s?html?$",
        r"|/(?:detail|show|view|content|article|info)\w*\.(?:jsp|do|php|aspx?|action)\?.*\bid=)"
    ))
    .unwrap()
});

/// URLs of list pages: a directory, a default document (`index.html`, `list_2.shtml`), a Hanweb
/// column (`/col/col16516/`), a 济南 channel.
static LIST_URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:/$|/(?:index|list|default|main|more)(?:_\w+)?\.(?:s?html?|jsp|php|aspx?|do)$|/col/col\d+/|/channel_[0-9a-f]+/?$)")
        .unwrap()
});

/// A date as lists print them: 2023-01-31, 2023/1/31, 2023.01.31, 2023年1月31日.
static DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:19|20)[0-9]{2} *[-/.年] *(?:0?[1-9]|1[0-2]) *[-/.月] *(?:0?[1-9]|[12][0-9]|3[01])").unwrap()
});

/// Class or id parts of list containers on TRS, Hanweb and 集约化 sites.
const LIST_NAMES: &[&str] = &["list", "zdgkc", "liebiao", "clearfix", "xxgk", "lb_", "news"];

/// A Hanweb column page's id (`/col/col16516/`), whose reports are `art_16516_….html`.
pub(super) static HANWEB_COLUMN: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"/col/col(\d+)/").unwrap());

/// Everything a list page leads to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListPage {
    /// Links of the page's list (and of the Hanweb records it carries inline), in scope for
    /// reports, canonical, deduplicated, in document order. A list may link a report's file
    /// directly; such links are reports too, and the fetch tells them apart.
    pub reports: Vec<Link>,
    /// Further pages of the same list, in the list scope: paging links, `index_N` series (gaps
    /// filled), TRS `createPageHTML` pages. Never the page itself or a report.
    pub pages: Vec<Url>,
    /// The next window of a Hanweb `dataproxy.jsp` list, after the records inline in the page.
    pub dataproxy: Option<DataProxyQuery>,
}

/// Reads a list page: which of its links are reports and which are more pages of the list.
pub fn read_list_page(html: &str, url: &Url, scope: &Scope) -> ListPage {
    let doc = Html::parse_document(html);
    let base = base_url(&doc, url);
    let page = canonicalize(url);
    let anchors = anchors(&doc, &base);
    let report_like: Vec<bool> = anchors.iter().map(|a| looks_like_report(&a.url)).collect();
    let in_list = list_membership(&anchors, &report_like, &page);
    let mut reports = Vec::new();
    let mut seen = HashSet::new();
    let mut pages = Vec::new();
    for ((a, in_list), report_like) in anchors.iter().zip(in_list).zip(report_like) {
        if a.url == page || is_trap(&a.url) {
            continue;
        }
        let paging = !a.chrome && (is_paging_text(&a.text) || is_paging_url(&a.url));
        if !report_like && (paging || LIST_URL.is_match(a.url.path())) {
            if (paging || in_list) && scope.allows_list(&a.url) {
                pages.push(a.url.clone());
            }
            continue;
        }
        let titled = report_like && NIANBAO_TEXT.is_match(&a.text);
        if !a.chrome && (in_list || titled) && scope.allows_report(&a.url) {
            push_link(&mut reports, &mut seen, a.url.clone(), a.text.clone());
        }
    }
    let inline = records_html(html);
    if let Some((rows, _)) = &inline {
        for link in fragment_links(rows, &base, |u| scope.allows_report(u) && is_entry_url(u)) {
            push_link(&mut reports, &mut seen, link.url, link.text);
        }
    }
    pages.extend(create_page_html(html, &page));
    pages.extend(fill_series(&pages));
    let mut unique = HashSet::new();
    pages.retain(|p| {
        let fresh = *p != page && !seen.contains(p) && !looks_like_report(p);
        fresh && scope.allows_list(p) && !is_trap(p) && unique.insert(p.clone())
    });
    let dataproxy = find_query(html, &page, inline.map_or(0, |(_, n)| n));
    ListPage { reports, pages, dataproxy }
}

/// Whether a link of a list's rows is an entry (a report or its file) rather than another list
/// (a sub-column, a directory).
pub(super) fn is_entry_url(url: &Url) -> bool {
    looks_like_report(url) || !LIST_URL.is_match(url.path())
}

fn looks_like_report(url: &Url) -> bool {
    let path_and_query = &url[url::Position::BeforePath..url::Position::AfterQuery];
    REPORT_URL.is_match(path_and_query) || looks_like_attachment(url)
}

/// For each anchor, whether it sits in one of the page's lists; `report_like` says, per anchor,
/// whether its URL looks like a report's.
fn list_membership(anchors: &[Anchor], report_like: &[bool], page: &Url) -> Vec<bool> {
    let section = Section::of(page);
    // Per row: its container, whether it shows a date, the best score of its links.
    let mut rows = HashMap::new();
    let mut anchor_rows = Vec::with_capacity(anchors.len());
    for (a, &report_like) in anchors.iter().zip(report_like) {
        let row = if a.chrome { None } else { row_of(a.el) };
        anchor_rows.push(row.map(|r| r.id()));
        let Some(row) = row else { continue };
        let Some(container) = row.parent().and_then(ElementRef::wrap) else { continue };
        let stat =
            rows.entry(row.id()).or_insert_with(|| (container, DATE.is_match(&row.text().collect::<String>()), 0));
        stat.2 = stat.2.max(link_score(a, report_like, &section));
    }
    // Per container: its score, and how many of its rows showed any evidence of being a list row.
    let mut containers = HashMap::new();
    for (container, dated, best_link) in rows.values() {
        let row_score = if *dated { 2 } else { 0 } + best_link;
        let entry = containers.entry(container.id()).or_insert_with(|| (container_bonus(*container), 0u32));
        if row_score > 0 {
            entry.0 += row_score;
            entry.1 += 1;
        }
    }
    let best = containers.values().filter(|c| c.1 > 0).map(|c| c.0).max().unwrap_or(0);
    let threshold = MIN_LIST_SCORE.max(best.div_ceil(2));
    anchor_rows
        .iter()
        .map(|row| {
            let container = row.and_then(|r| rows.get(&r)).map(|stat| stat.0.id());
            container
                .and_then(|c| containers.get(&c))
                .is_some_and(|&(score, evidence)| evidence > 0 && score >= threshold)
        })
        .collect()
}

/// Evidence that a link is a list entry: a report-like URL, a 年报 title, a URL of this section.
fn link_score(a: &Anchor, report_like: bool, section: &Section) -> u32 {
    let mut score = 0;
    if report_like {
        score += 2;
    }
    if NIANBAO_TEXT.is_match(&a.text) {
        score += 2;
    }
    if section.contains(&a.url) {
        score += 2;
    }
    score
}

/// Markup that says "list": `ul`/`ol`/`tbody`/`dl`, and a list-like class or id.
fn container_bonus(el: ElementRef) -> u32 {
    let v = el.value();
    let tag = u32::from(matches!(v.name(), "ul" | "ol" | "tbody" | "table" | "dl"));
    let names = format!("{} {}", v.attr("class").unwrap_or(""), v.id().unwrap_or("")).to_ascii_lowercase();
    tag + if LIST_NAMES.iter().any(|n| names.contains(n)) { 3 } else { 0 }
}

/// The row an anchor belongs to: the nearest `li`/`tr`/`dd`/`dt`, else the nearest element (the
/// anchor included) repeated among its siblings, else the anchor's parent.
fn row_of(el: ElementRef) -> Option<ElementRef> {
    let mut chain = std::iter::once(el).chain(el.ancestors().filter_map(ElementRef::wrap)).take(MAX_ROW_DEPTH + 1);
    let row_tag = chain.clone().find(|e| matches!(e.value().name(), "li" | "tr" | "dd" | "dt"));
    let row = row_tag.or_else(|| {
        chain.find(|e| {
            let name = e.value().name();
            !matches!(name, "body" | "html")
                && e.prev_siblings()
                    .chain(e.next_siblings())
                    .filter_map(ElementRef::wrap)
                    .any(|s| s.value().name() == name)
        })
    });
    row.or_else(|| el.parent().and_then(ElementRef::wrap)).filter(|r| !matches!(r.value().name(), "body" | "html"))
}

/// The list's own section: URLs under its directory, or a Hanweb column's articles.
struct Section {
    host: Option<String>,
    /// The list's directory, unless it is the site root (which would say nothing).
    dir: Option<String>,
    /// `/art_16516_` for a Hanweb column page `/col/col16516/`.
    hanweb_article: Option<String>,
}

impl Section {
    fn of(page: &Url) -> Section {
        let path = page.path();
        let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
        Section {
            host: page.host_str().map(str::to_owned),
            dir: (dir.len() > 1).then(|| dir.to_owned()),
            hanweb_article: HANWEB_COLUMN.captures(path).map(|c| format!("/art_{}_", &c[1])),
        }
    }

    fn contains(&self, url: &Url) -> bool {
        let path = url.path();
        self.hanweb_article.as_deref().is_some_and(|a| path.contains(a))
            || (url.host_str() == self.host.as_deref() && self.dir.as_deref().is_some_and(|d| path.starts_with(d)))
    }
}
