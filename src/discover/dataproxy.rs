//! Hanweb (大汉) lists filled by JavaScript from `/module/web/jpage/dataproxy.jsp`.
//!
//! Such a list page carries its first records inline, as XML in a script
//! (`<datastore><nextgroup>…</nextgroup><recordset><record><![CDATA[<li>…</li>]]></record>…`),
//! and the parameters of the endpoint in its scripts:
//! `var param_227163 = {col:1,appid:1,webid:3075,path:'/',columnid:16516,sourceContentType:1,unitid:'227163',webname:'…',permissiontype:0};`
//! and `$('#227163').jpage({ proxyUrl:'/module/web/jpage/dataproxy.jsp', perPage:15, totalRecord:23, groupSize:3, … })`.
//! Further records are POSTed for: `dataproxy.jsp?startrecord=46&endrecord=90&perpage=15` with the
//! parameters as the form; the answer is the same XML with `<totalrecord>N</totalrecord>`. A
//! static `index_1.html` is a 404 on such sites.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use url::Url;

use super::list::{is_entry_url, HANWEB_COLUMN};
use super::markup::fragment_links;
use super::{Link, Scope};

/// Where the endpoint lives when the page names none.
const DEFAULT_ENDPOINT: &str = "/module/web/jpage/dataproxy.jsp";
/// jpage's defaults: records shown per page, and pages fetched per request.
const DEFAULT_PER_PAGE: u32 = 15;
const DEFAULT_GROUP_SIZE: u32 = 3;
/// Bounds on what a page may ask for, so a malformed config cannot request absurd windows.
const MAX_PER_PAGE: u32 = 500;
const MAX_GROUP_SIZE: u32 = 20;

static RECORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?is)<record[^>]*>\s*<!\[CDATA\[(.*?)\]\]>\s*</record>").unwrap());
static TOTAL_RECORD_TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)<totalrecord>\s*(\d{1,9})\s*</totalrecord>").unwrap());
static TOTAL_RECORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?i)\btotalrecord\s*[:=]\s*['"]?(\d{1,9})"#).unwrap());
static PER_PAGE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"(?i)\bperpage\s*[:=]\s*['"]?(\d{1,4})"#).unwrap());
static GROUP_SIZE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"(?i)\bgroupsize\s*:\s*['"]?(\d{1,3})"#).unwrap());
/// The endpoint, as `proxyUrl:'…'` or inside the `<nextgroup>` link, with its query if any; not
/// Hanweb's other endpoints (`morecolumndataproxy.jsp`).
static ENDPOINT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"([^\s"'<>()=]*/dataproxy\.jsp)(\?[^\s"'<>]*)?"#).unwrap());
/// The parameter object: `var param_NNN = {…}` or `ajaxParam: {…}`.
static PARAM_OBJECT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:\bvar\s+param_\w*\s*=|\bajaxParam\s*:)\s*\{([^{}]{0,2000})\}").unwrap());
/// One `key: value` of a parameter object; the value quoted or bare.
static PARAM_PAIR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(\w+)\s*:\s*(?:'([^']*)'|"([^"]*)"|([^,'"\s]+))"#).unwrap());

/// One request for a window of a Hanweb list's records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataProxyQuery {
    /// The endpoint with `startrecord`, `endrecord` and `perpage` in its query.
    pub endpoint: Url,
    /// The POST form (`application/x-www-form-urlencoded`), in the page's order, values raw
    /// (not yet encoded): `col`, `appid`, `webid`, `path`, `columnid`, `sourceContentType`,
    /// `unitid`, `webname`, `permissiontype`, as the page gives them.
    pub form: Vec<(String, String)>,
}

impl DataProxyQuery {
    /// The window after this one, the same size; `None` once it would start past `total`.
    pub fn next(&self, total: u32) -> Option<DataProxyQuery> {
        let (start, end, per_page) = self.window()?;
        let size = end.checked_sub(start)?.checked_add(1)?;
        let next_start = end.checked_add(1)?;
        if next_start > total {
            return None;
        }
        let next_end = end.checked_add(size)?;
        Some(DataProxyQuery {
            endpoint: with_window(&self.endpoint, next_start, next_end, per_page),
            form: self.form.clone(),
        })
    }

    /// `(startrecord, endrecord, perpage)` from the endpoint's query.
    fn window(&self) -> Option<(u32, u32, u32)> {
        let get =
            |key: &str| self.endpoint.query_pairs().find(|(k, _)| k == key).and_then(|(_, v)| v.parse::<u32>().ok());
        Some((get("startrecord")?, get("endrecord")?, get("perpage").unwrap_or(DEFAULT_PER_PAGE)))
    }
}

fn with_window(endpoint: &Url, start: u32, end: u32, per_page: u32) -> Url {
    let mut url = endpoint.clone();
    url.set_query(Some(&format!("startrecord={start}&endrecord={end}&perpage={per_page}")));
    url
}

/// The report links and the total number of records of a `dataproxy.jsp` answer.
pub fn read_dataproxy_response(xml: &str, endpoint: &Url, scope: &Scope) -> (Vec<Link>, Option<u32>) {
    let total = TOTAL_RECORD_TAG.captures(xml).and_then(|c| c[1].parse().ok());
    let allow = |u: &Url| scope.allows_report(u) && is_entry_url(u);
    let links = match records_html(xml) {
        Some((rows, _)) => fragment_links(&rows, endpoint, allow),
        None => fragment_links(xml, endpoint, allow),
    };
    (links, total)
}

/// The records of a datastore joined into one HTML fragment, and how many there were; `None`
/// when there are none.
pub(super) fn records_html(text: &str) -> Option<(String, usize)> {
    let mut rows = String::new();
    let mut count = 0;
    for c in RECORD.captures_iter(text) {
        rows.push_str(&c[1]);
        rows.push('\n');
        count += 1;
    }
    (count > 0).then_some((rows, count))
}

/// The first window not already inline in a list page, when the page is a Hanweb jpage list.
///
/// `inline` is the number of records the page carries itself; the window starts after them.
/// `None` when the page has no `dataproxy.jsp` configuration, no column id, or when its declared
/// total is already inline.
pub(super) fn find_query(html: &str, page: &Url, inline: usize) -> Option<DataProxyQuery> {
    let found = ENDPOINT.captures(html)?;
    let path = found.get(1).map_or(DEFAULT_ENDPOINT, |m| m.as_str());
    let endpoint = page.join(path).or_else(|_| page.join(DEFAULT_ENDPOINT)).ok()?;
    if endpoint.host_str() != page.host_str() {
        return None;
    }
    let mut form = object_form(html, page).unwrap_or_else(|| query_form(found.get(2).map_or("", |m| m.as_str())));
    if !form.iter().any(|(k, _)| k.eq_ignore_ascii_case("columnid")) {
        return None;
    }
    if !form.iter().any(|(k, _)| k == "col") {
        form.insert(0, ("col".into(), "1".into()));
    }
    let number = |re: &Regex| re.captures(html).and_then(|c| c[1].parse::<u32>().ok());
    let per_page = number(&PER_PAGE).unwrap_or(DEFAULT_PER_PAGE).clamp(1, MAX_PER_PAGE);
    let group = number(&GROUP_SIZE).unwrap_or(DEFAULT_GROUP_SIZE).clamp(1, MAX_GROUP_SIZE);
    let start = u32::try_from(inline).ok()?.checked_add(1)?;
    if number(&TOTAL_RECORD).is_some_and(|total| start > total) {
        return None;
    }
    let end = start.checked_add(per_page * group - 1)?;
    Some(DataProxyQuery { endpoint: with_window(&endpoint, start, end, per_page), form })
}

/// The form from the page's parameter object naming a column: the page's own column
/// (`/col/col16516/` → `columnid:16516`) when several widgets have one, else the first.
fn object_form(html: &str, page: &Url) -> Option<Vec<(String, String)>> {
    let column = |form: &[(String, String)]| {
        form.iter().find(|(k, _)| k.eq_ignore_ascii_case("columnid")).map(|(_, v)| v.clone())
    };
    let own = HANWEB_COLUMN.captures(page.path()).map(|c| c[1].to_owned());
    let forms: Vec<Vec<(String, String)>> = PARAM_OBJECT
        .captures_iter(html)
        .map(|c| {
            PARAM_PAIR
                .captures_iter(&c[1])
                .map(|p| {
                    let value = p.get(2).or(p.get(3)).or(p.get(4)).map_or("", |m| m.as_str());
                    (p[1].to_owned(), value.trim().to_owned())
                })
                .collect()
        })
        .filter(|form: &Vec<_>| column(form).is_some())
        .collect();
    let own_form = forms.iter().position(|f| own.is_some() && column(f) == own);
    forms.into_iter().nth(own_form.unwrap_or(0))
}

/// The form from the `<nextgroup>` link's query (`?page=1&appid=1&webid=…`), without its paging.
fn query_form(query: &str) -> Vec<(String, String)> {
    let query = query.trim_start_matches('?').replace("&amp;", "&");
    url::form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| !matches!(k.to_ascii_lowercase().as_str(), "page" | "startrecord" | "endrecord" | "perpage"))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(start: u32, end: u32) -> DataProxyQuery {
        DataProxyQuery {
            endpoint: with_window(
                &Url::parse("http://www.dingxi.gov.cn/module/web/jpage/dataproxy.jsp").unwrap(),
                start,
                end,
                15,
            ),
            form: vec![("col".into(), "1".into())],
        }
    }

    #[test]
    fn next_walks_windows_until_total() {
        let q = query(1, 45);
        let n = q.next(100).unwrap();
        assert_eq!(n.endpoint.query(), Some("startrecord=46&endrecord=90&perpage=15"));
        assert_eq!(n.form, q.form);
        let n = n.next(100).unwrap();
        assert_eq!(n.endpoint.query(), Some("startrecord=91&endrecord=135&perpage=15"));
        assert!(n.next(100).is_none());
        assert!(q.next(45).is_none());
        assert!(query(1, u32::MAX).next(u32::MAX).is_none());
    }

    #[test]
    fn form_from_nextgroup_link_when_no_object() {
        let html = r#"<nextgroup><![CDATA[<a href="/module/web/jpage/dataproxy.jsp?page=1&amp;appid=1&amp;webid=39&amp;path=%2F&amp;columnid=61490&amp;unitid=247686&amp;webname=%E6%B1%9F%E8%8B%8F&amp;permissiontype=0"></a>]]></nextgroup>"#;
        let page = Url::parse("http://jsgzw.jiangsu.gov.cn/col/col61490/index.html").unwrap();
        let q = find_query(html, &page, 0).unwrap();
        assert_eq!(
            q.endpoint.as_str(),
            "http://jsgzw.jiangsu.gov.cn/module/web/jpage/dataproxy.jsp?startrecord=1&endrecord=45&perpage=15"
        );
        let keys: Vec<&str> = q.form.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["col", "appid", "webid", "path", "columnid", "unitid", "webname", "permissiontype"]);
        assert!(q.form.contains(&("webname".into(), "江苏".into())));
    }

    #[test]
    fn the_page_s_own_column_wins_among_widgets() {
        let html = "var param_1 = {col:1,webid:3,columnid:999,unitid:'1'};\n\
            var param_2 = {col:1,webid:3,columnid:16516,unitid:'2',totalRecord:7};\n\
            $('#2').jpage({proxyUrl:'/module/web/jpage/dataproxy.jsp',perPage:15,ajaxParam:param_2});";
        let page = Url::parse("http://www.dingxi.gov.cn/col/col16516/index.html").unwrap();
        let q = find_query(html, &page, 0).unwrap();
        assert!(q.form.contains(&("unitid".into(), "2".into())), "{:?}", q.form);
        let more = "url:'/module/web/jpage/morecolumndataproxy.jsp', ajaxParam:{columnid:1}";
        assert!(find_query(more, &page, 0).is_none());
    }

    #[test]
    fn no_query_without_column_or_on_foreign_host() {
        let page = Url::parse("http://a.gov.cn/col/col1/index.html").unwrap();
        assert!(find_query("<script src='/module/web/jpage/dataproxy.jsp'></script>", &page, 0).is_none());
        let foreign = "proxyUrl:'http://b.gov.cn/module/web/jpage/dataproxy.jsp', ajaxParam:{columnid:1}";
        assert!(find_query(foreign, &page, 0).is_none());
        assert!(find_query("no paging here", &page, 0).is_none());
    }
}
