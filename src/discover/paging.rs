//! Paging of a list: "下一页"/"尾页"/numbered links, `index_N`/`list_N` URL series, and TRS's
//! `createPageHTML(…)` paging written by JavaScript.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;
use url::Url;

use super::canon::canonicalize;

/// At most this many pages are generated from one series or one `createPageHTML` call; a 年报
/// section has a handful, and the engine's barren-page rule stops earlier.
const MAX_GENERATED: u32 = 500;

/// Link texts of paging controls, after spaces and brackets are removed.
static PAGING_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:下一?页|上一?页|后一?页|前一?页|首页|尾页|末页|最后一?页|第一页|\d{1,4}|next|prev(?:ious)?|last|first|[<>«»‹›]{1,3})$")
        .unwrap()
});

/// Characters stripped from a link text before [`PAGING_TEXT`] is tried.
const PAGING_TEXT_TRIM: &[char] = &['[', ']', '【', '】', '(', ')', '（', '）', ' ', '\u{a0}', '\u{3000}'];

/// A numbered page in the last path segment: `index_3.html`, `list_12.shtml`, `default_2.htm`.
static PAGE_FILE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^(index|list|default|page|more)_(\d{1,6})\.(s?html?|jsp|php|aspx?)$").unwrap());

/// A page number in the query (`?page=3`, `pageNum=2`).
static PAGE_QUERY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:^|&)(?:page|pageno|pagenum|pageindex|curpage|currentpage)=\d{1,6}(?:&|$)").unwrap()
});

/// A call of TRS's paging function, with its argument list.
static CREATE_PAGE_HTML: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(function\s+)?createPageHTML\s*\(([^()]{0,300})\)").unwrap());

/// Numeric assignments (`var countPage = 5`), to resolve `createPageHTML(countPage, …)`.
static NUMBER_ASSIGNMENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b([A-Za-z_$][\w$]*)\s*=\s*(\d{1,6})\b").unwrap());

/// Whether an anchor's text reads like a paging control.
pub(super) fn is_paging_text(text: &str) -> bool {
    let t: String = text.chars().filter(|c| !PAGING_TEXT_TRIM.contains(c)).collect();
    !t.is_empty() && PAGING_TEXT.is_match(&t)
}

/// Whether a URL reads like a page of a list (`index_3.html`, `?page=3`).
pub(super) fn is_paging_url(url: &Url) -> bool {
    url.path_segments().and_then(|mut s| s.next_back()).is_some_and(|f| PAGE_FILE.is_match(f))
        || url.query().is_some_and(|q| PAGE_QUERY.is_match(q))
}

/// The pages announced by TRS `createPageHTML` calls in the page's scripts.
///
/// Seen signatures: `createPageHTML(count, current, "index", "html")` and
/// `createPageHTML('page_div', count, current, 'index', 'html', records)`; so the first two
/// numbers are the page count and current page, and the first string after them is the file
/// name, the next the extension. Arguments may be variables assigned a number elsewhere on the
/// page. Page 0 is `index.html`, page `i` is `index_i.html`, relative to the list's directory.
pub(super) fn create_page_html(html: &str, page: &Url) -> Vec<Url> {
    let mut out = Vec::new();
    let mut assignments: Option<HashMap<&str, u32>> = None;
    for call in CREATE_PAGE_HTML.captures_iter(html) {
        if call.get(1).is_some() {
            continue;
        }
        let mut numbers = Vec::new();
        let mut strings = Vec::new();
        for arg in call[2].split(',').map(str::trim) {
            let unquoted = arg.trim_matches(|c| c == '"' || c == '\'');
            if unquoted.len() + 2 == arg.len() {
                strings.push((numbers.len(), unquoted));
            } else if let Ok(n) = arg.parse::<u32>() {
                numbers.push(n);
            } else {
                let vars = assignments.get_or_insert_with(|| {
                    NUMBER_ASSIGNMENT
                        .captures_iter(html)
                        .filter_map(|c| Some((c.get(1)?.as_str(), c[2].parse().ok()?)))
                        .collect()
                });
                numbers.push(vars.get(arg).copied().unwrap_or(0));
            }
        }
        // One page is the page itself (article pages call it so too): nothing to follow.
        let Some(&count) = numbers.first().filter(|&&n| n > 1) else { continue };
        let mut named = strings.iter().filter(|(before, _)| *before >= 1).map(|(_, s)| *s);
        let (Some(name), ext) = (named.next(), named.next().unwrap_or("html")) else { continue };
        if name.is_empty() || name.contains(['/', '\\', '?', '#']) || ext.contains(['/', '\\', '?', '#']) {
            continue;
        }
        for i in 0..count.min(MAX_GENERATED) {
            let file = if i == 0 { format!("{name}.{ext}") } else { format!("{name}_{i}.{ext}") };
            if let Ok(url) = page.join(&file) {
                out.push(canonicalize(&url));
            }
        }
    }
    out
}

/// Fills the gaps of numbered page series among `pages`: from `index_1.html` and a 尾页 link to
/// `index_9.html`, every page from 1 to 9, so that paging need not be walked one hop at a time.
pub(super) fn fill_series(pages: &[Url]) -> Vec<Url> {
    let mut series: HashMap<(String, String, String), (u32, u32, Url)> = HashMap::new();
    for url in pages.iter().filter(|u| u.query().is_none()) {
        let Some(file) = url.path_segments().and_then(|mut s| s.next_back()) else { continue };
        let Some(c) = PAGE_FILE.captures(file) else { continue };
        let Ok(n) = c[2].parse::<u32>() else { continue };
        let dir = url.as_str()[..url.as_str().len() - file.len()].to_owned();
        let entry = series.entry((dir, c[1].to_owned(), c[3].to_owned())).or_insert((n, n, url.clone()));
        entry.0 = entry.0.min(n);
        entry.1 = entry.1.max(n);
    }
    let mut out = Vec::new();
    let mut keys: Vec<_> = series.into_iter().collect();
    keys.sort_by(|a, b| a.0.cmp(&b.0));
    for ((_, name, ext), (lo, hi, sample)) in keys {
        if hi - lo >= MAX_GENERATED {
            continue;
        }
        out.extend((lo..=hi).filter_map(|i| sample.join(&format!("{name}_{i}.{ext}")).ok()).map(|u| canonicalize(&u)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(v: &[Url]) -> Vec<&str> {
        v.iter().map(Url::as_str).collect()
    }

    #[test]
    fn create_page_html_signatures() {
        let page = Url::parse("https://ylbzj.cq.gov.cn/zwgk_535/zfxxgknb/index.html").unwrap();
        let want = [
            "https://ylbzj.cq.gov.cn/zwgk_535/zfxxgknb/index.html",
            "https://ylbzj.cq.gov.cn/zwgk_535/zfxxgknb/index_1.html",
            "https://ylbzj.cq.gov.cn/zwgk_535/zfxxgknb/index_2.html",
        ];
        for script in [
            r#"createPageHTML(3, 0, "index", "html");"#,
            "createPageHTML( 3 ,0,'index','html');",
            "createPageHTML('page_div', 3, 1, 'index', 'html', 45);",
            "var countPage = 3; var currentPage = 0; createPageHTML(countPage, currentPage, \"index\", \"html\");",
        ] {
            assert_eq!(urls(&create_page_html(script, &page)), want, "{script}");
        }
        let shtml = create_page_html(r#"createPageHTML(2,0,"list","shtml")"#, &page);
        assert_eq!(urls(&shtml)[1], "https://ylbzj.cq.gov.cn/zwgk_535/zfxxgknb/list_1.shtml");
    }

    #[test]
    fn function_definitions_and_single_pages_give_nothing() {
        let page = Url::parse("http://www.shanxi.gov.cn/a/b/t20190918_693227.shtml").unwrap();
        let script = "function createPageHTML(_nPageCount,_nCurrIndex,_sPageName,_sPageExt){ if(x){return;} }";
        assert!(create_page_html(script, &page).is_empty());
        assert!(create_page_html("createPageHTML(0,0,\"index\",\"html\")", &page).is_empty());
        assert!(create_page_html("createPageHTML(1,0,\"t20190918_693227\",\"shtml\")", &page).is_empty());
        assert!(create_page_html("createPageHTML(2,0,\"../../x\",\"html\")", &page).is_empty());
    }

    #[test]
    fn paging_texts_and_urls() {
        for t in ["下一页", "[尾页]", "末页", "2", " 12 ", "»", "Next", "下页"] {
            assert!(is_paging_text(t), "{t}");
        }
        for t in ["2022年度报告", "首页新闻", "", "2023-01-31"] {
            assert!(!is_paging_text(t), "{t}");
        }
        assert!(is_paging_url(&Url::parse("http://a.gov.cn/nb/index_3.html").unwrap()));
        assert!(is_paging_url(&Url::parse("http://a.gov.cn/nb/list.jsp?cat=1&pageNum=3").unwrap()));
        assert!(!is_paging_url(&Url::parse("http://a.gov.cn/nb/t20230131_1.html").unwrap()));
    }

    #[test]
    fn series_gaps_are_filled() {
        let pages: Vec<Url> = [
            "http://a.gov.cn/nb/index_1.html",
            "http://a.gov.cn/nb/index_4.html",
            "http://a.gov.cn/nb/list.jsp?page=2",
        ]
        .iter()
        .map(|s| Url::parse(s).unwrap())
        .collect();
        let filled = fill_series(&pages);
        assert_eq!(urls(&filled), (1..=4).map(|i| format!("http://a.gov.cn/nb/index_{i}.html")).collect::<Vec<_>>());
        let far = [
            Url::parse("http://a.gov.cn/nb/index_1.html").unwrap(),
            Url::parse("http://a.gov.cn/nb/index_999.html").unwrap(),
        ];
        assert!(fill_series(&far).is_empty());
    }
}
