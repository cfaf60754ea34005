//! Walking a 年报 section over fixture pages written after the real CMS shapes (TRS, Hanweb,
//! 济南 集约化, a custom portal) and over the shared corpus of real pages. Offline.

use std::path::{Path, PathBuf};
use std::time::Instant;

use nianbao::config::Portal;
use nianbao::discover::{
    canonicalize, is_attachment_response, is_trap, looks_like_attachment, read_dataproxy_response, read_list_page,
    read_report_page, Link, ListPage, Scope,
};
use proptest::prelude::*;
use url::Url;

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/discover").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The shared corpus beside the repository (`../shared`), or beside the worktrees' parent.
fn corpus_dir() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let found = ["../shared/corpus/html", "../../shared/corpus/html"].iter().map(|p| root.join(p)).find(|d| d.is_dir());
    if found.is_none() {
        println!("note: ../shared/corpus/html is missing; corpus checks skipped");
    }
    found
}

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

fn scope(start: &str) -> Scope {
    Scope::new(&Portal {
        name: "t".into(),
        agency: None,
        start: url(start),
        rate: None,
        scope: Vec::new(),
        max_pages: None,
        legacy_tls: false,
    })
}

fn urls(links: &[Link]) -> Vec<&str> {
    links.iter().map(|l| l.url.as_str()).collect()
}

fn pages(list: &ListPage) -> Vec<&str> {
    list.pages.iter().map(Url::as_str).collect()
}

#[test]
fn trs_list_reports_and_create_page_html_paging() {
    let start = "https://ylbzj.cq.gov.cn/zwgk_535/zfxxgknb/";
    let list = read_list_page(&fixture("trs_list.html"), &url(start), &scope(start));
    let dir = "https://ylbzj.cq.gov.cn/zwgk_535/zfxxgknb/";
    assert_eq!(
        urls(&list.reports),
        [
            format!("{dir}202301/t20230131_11549147.html"),
            format!("{dir}202201/t20220128_10356717.html"),
            format!("{dir}202101/t20210129_8838521.html"),
            format!("{dir}202001/P020200131391234567890.pdf"),
            "http://ylbzj.cq.gov.cn/zwgk_535/zfxxgknb/201901/t20190130_1234567.html".to_owned(),
        ]
    );
    assert_eq!(list.reports[0].text, "重庆市医疗保障局2022年政府信息公开工作年度报告");
    assert_eq!(
        pages(&list),
        ["index.html", "index_1.html", "index_2.html", "index_3.html"].map(|p| format!("{dir}{p}"))
    );
    assert!(list.dataproxy.is_none());
}

#[test]
fn hanweb_list_inline_records_and_dataproxy_window() {
    let start = "http://www.dingxi.gov.cn/col/col16516/index.html";
    let list = read_list_page(&fixture("hanweb_list.html"), &url(start), &scope(start));
    assert_eq!(
        urls(&list.reports),
        [
            "http://www.dingxi.gov.cn/art/2021/1/25/art_16516_1541057.html",
            "http://www.dingxi.gov.cn/art/2020/1/20/art_16516_1327711.html",
            "http://xxgk.dingxi.gov.cn/art/2019/1/28/art_16516_1112233.html",
        ]
    );
    assert_eq!(list.reports[1].text, "定西市人民政府2019年政府信息公开工作年度报告");
    assert!(list.pages.is_empty(), "{:?}", list.pages);
    let q = list.dataproxy.expect("a dataproxy query");
    assert_eq!(
        q.endpoint.as_str(),
        "http://www.dingxi.gov.cn/module/web/jpage/dataproxy.jsp?startrecord=4&endrecord=6&perpage=1"
    );
    let form: Vec<(&str, &str)> = q.form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        form,
        [
            ("col", "1"),
            ("appid", "1"),
            ("webid", "3075"),
            ("path", "/"),
            ("columnid", "16516"),
            ("sourceContentType", "1"),
            ("unitid", "227163"),
            ("webname", "定西市人民政府"),
            ("permissiontype", "0"),
        ]
    );

    let (links, total) = read_dataproxy_response(&fixture("hanweb_dataproxy.xml"), &q.endpoint, &scope(start));
    assert_eq!(total, Some(7));
    assert_eq!(
        urls(&links),
        [
            "http://www.dingxi.gov.cn/art/2019/1/10/art_16516_1000004.html",
            "http://www.dingxi.gov.cn/art/2018/1/10/art_16516_1000003.html"
        ]
    );
    assert_eq!(links[1].text, "定西市人民政府2016年政府信息公开工作年度报告");
    let next = q.next(7).expect("records 7 to 9");
    assert_eq!(next.endpoint.query(), Some("startrecord=7&endrecord=9&perpage=1"));
    assert!(next.next(7).is_none());
}

#[test]
fn jinan_list_reports_and_query_paging() {
    let start = "http://www.lixia.gov.cn/gongkai/site_lixiaqulxqdmhjdbscaf/channel_63899ae537599182826222fc/";
    let list = read_list_page(&fixture("jinan_list.html"), &url(start), &scope(start));
    assert_eq!(
        urls(&list.reports),
        ["641d4d4d749a4723fdc77fb7", "63d0a1b2c3d4e5f6a7b8c9d0", "60112233445566778899aabb"]
            .map(|d| format!("{start}doc_{d}.html"))
    );
    assert_eq!(pages(&list), [format!("{start}?page=2"), format!("{start}?page=3")]);
}

#[test]
fn custom_list_with_next_last_and_numbered_links_ignores_chrome() {
    let start = "http://www.quxian.gov.cn/xxgk-list-nb.html";
    let list = read_list_page(&fixture("custom_list.html"), &url(start), &scope(start));
    assert_eq!(
        urls(&list.reports),
        ["48933", "48901", "48877", "48850"].map(|n| format!("http://www.quxian.gov.cn/xxgk-show-{n}.html"))
    );
    assert_eq!(pages(&list), ["2", "3", "7"].map(|n| format!("http://www.quxian.gov.cn/xxgk-list-nb_{n}.html")));
}

#[test]
fn chrome_and_foreign_links_never_become_reports() {
    for (name, start) in [
        ("trs_list.html", "https://ylbzj.cq.gov.cn/zwgk_535/zfxxgknb/"),
        ("hanweb_list.html", "http://www.dingxi.gov.cn/col/col16516/index.html"),
        (
            "jinan_list.html",
            "http://www.lixia.gov.cn/gongkai/site_lixiaqulxqdmhjdbscaf/channel_63899ae537599182826222fc/",
        ),
        ("custom_list.html", "http://www.quxian.gov.cn/xxgk-list-nb.html"),
    ] {
        let s = scope(start);
        let list = read_list_page(&fixture(name), &url(start), &s);
        for link in &list.reports {
            assert!(s.allows_report(&link.url), "{name}: {}", link.url);
            let u = link.url.as_str();
            assert!(!u.contains("/col/col1651") || u.contains("/col/col16516/"), "{name}: {u}");
            for chrome in
                ["zfxxgkzn", "zwgk_536", "wzdt", "gansu", "beian", "ffffffff", "xxgk-show-1.", "xxgk-show-2.", "5000"]
            {
                assert!(!u.contains(chrome), "{name}: chrome link {u}");
            }
        }
        for page in &list.pages {
            assert!(s.allows_list(page) && !is_trap(page), "{name}: {page}");
        }
    }
}

#[test]
fn report_page_attachments() {
    let page = "https://ylbzj.cq.gov.cn/zwgk_535/zfxxgknb/202301/t20230131_11549147.html";
    let links =
        read_report_page(&fixture("trs_report.html"), &url(page), &scope("https://ylbzj.cq.gov.cn/zwgk_535/zfxxgknb/"));
    let dir = "https://ylbzj.cq.gov.cn/zwgk_535/zfxxgknb/202301/";
    let host = "https://ylbzj.cq.gov.cn";
    assert_eq!(
        urls(&links),
        [
            format!("{dir}P020230131611934823157.pdf"),
            format!("{dir}P020230131611934823158.docx"),
            format!("{dir}P020230131611934823159"),
            format!("{host}/protect/P0202301/P020230131611934823160.xls"),
            format!("{host}/module/download/downfile.jsp?classid=0&filename=2301311015123.pdf"),
            format!("{host}/u/cms/nb2022.wps"),
            format!("{host}/u/cms/tables.xls"),
            format!("{host}/u/cms/nb2022-view.pdf"),
            format!("{host}/attach/0/4804801"),
            format!("{host}/u/cms/nb2022-embed.pdf"),
        ]
    );
    assert_eq!(links[0].text, "1.重庆市医疗保障局2022年报.pdf");
}

#[test]
fn report_page_attachments_resolve_against_the_first_base_wherever_it_stands() {
    let page = url("https://a.gov.cn/nb/2023/t1.html");
    let s = scope("https://a.gov.cn/nb/");
    let in_head = "<html><head><base href=\"/files/\"></head><body>\
                   <div class=TRS_Editor><a href=\"nb.pdf\">年报.pdf</a></div></body></html>";
    assert_eq!(urls(&read_report_page(in_head, &page, &s)), ["https://a.gov.cn/files/nb.pdf"]);
    // A `<base>` after the link still decides it, as in a browser; a second one does not.
    let after = "<html><body><div class=TRS_Editor><a href=\"nb.pdf\">年报.pdf</a></div>\
                 <base href=\"https://a.gov.cn/up/\"><base href=\"/other/\"></body></html>";
    assert_eq!(urls(&read_report_page(after, &page, &s)), ["https://a.gov.cn/up/nb.pdf"]);
    let none = "<html><body><div class=TRS_Editor><a href=\"nb.pdf\">年报.pdf</a></div></body></html>";
    assert_eq!(urls(&read_report_page(none, &page, &s)), ["https://a.gov.cn/nb/2023/nb.pdf"]);
}

#[test]
fn attachment_helpers() {
    assert!(looks_like_attachment(&url("http://a.gov.cn/P020230131.pdf")));
    assert!(looks_like_attachment(&url("http://a.gov.cn/module/download/downfile.jsp?classid=0&filename=xxx.pdf")));
    assert!(!looks_like_attachment(&url("http://a.gov.cn/images/banner.jpg")));
    assert!(is_attachment_response(Some("application/msword"), None));
    assert!(is_attachment_response(Some("application/octet-stream"), Some("attachment; filename=\"2022.wps\"")));
    assert!(!is_attachment_response(Some("text/html; charset=utf-8"), None));
}

#[test]
fn canonical_urls_are_frontier_keys() {
    let a = canonicalize(&url("HTTP://Www.Dingxi.Gov.Cn:80/art/2021/1/25/art_16516_1541057.html?utm_medium=x#p1"));
    let b = canonicalize(&url("http://www.dingxi.gov.cn/art/2021/1/25/art_16516_1541057.html"));
    assert_eq!(a, b);
}

#[test]
fn corpus_pages_are_read_without_surprises() {
    let Some(dir) = corpus_dir() else { return };
    let shanxi = std::fs::read_to_string(dir.join("01_shanxi_gov.html")).unwrap();
    let page = url(
        "http://www.shanxi.gov.cn/zfxxgk/zfcbw/zfgb2/2019nzfgb/d17q_28919/szfbgtwj_28926/201909/t20190918_693227.shtml",
    );
    let start = "http://www.shanxi.gov.cn/zfxxgk/zfcbw/zfgb2/2019nzfgb/d17q_28919/szfbgtwj_28926/";
    let list = read_list_page(&shanxi, &page, &scope(start));
    // `createPageHTML(1,0,"t20190918_693227","shtml")` is a one-page article: nothing to follow,
    // and the function's own definition must not count as a call.
    assert!(list.pages.is_empty(), "{:?}", list.pages);
    assert!(list.dataproxy.is_none());
    // Read as a list under another directory, the page's own name is still not a further page.
    let elsewhere = url("http://www.shanxi.gov.cn/zfxxgk/index.html");
    assert!(read_list_page(&shanxi, &elsewhere, &scope(elsewhere.as_str())).pages.is_empty());
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let html = std::fs::read_to_string(&path).unwrap();
        let page = url("http://www.example.gov.cn/a/b/index.html");
        let s = scope(page.as_str());
        let list = read_list_page(&html, &page, &s);
        assert!(list.reports.iter().all(|l| s.allows_report(&l.url)), "{}", path.display());
        assert!(read_report_page(&html, &page, &s).iter().all(|l| s.allows_attachment(&l.url)));
    }
}

#[test]
fn a_large_list_page_is_read_quickly() {
    let row = r#"<li><a href="./202301/t20230131_11549147.html" title="重庆市医疗保障局2022年政府信息公开工作年度报告">重庆市医疗保障局2022年政府信息公开工作年度报告</a><span>2023-01-31</span></li>"#;
    let html = format!(
        "<html><body><div class=nav><a href=/>首页</a></div><ul class=list>{}</ul></body></html>",
        row.repeat(500)
    );
    assert!(html.len() > 100_000);
    let start = "https://ylbzj.cq.gov.cn/zwgk_535/zfxxgknb/";
    let s = scope(start);
    // The first call compiles the module's regexes and selectors; time a later one.
    read_list_page(&html, &url(start), &s);
    let began = Instant::now();
    let list = read_list_page(&html, &url(start), &s);
    let took = began.elapsed();
    assert_eq!(list.reports.len(), 1);
    println!("100 KB list page read in {took:?} (debug build)");
    assert!(took.as_secs_f64() < 2.0, "{took:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn readers_never_panic(html in "(<[a-z]{1,6}( [a-z]{1,5}=\"[^\"]{0,20}\")?>|</[a-z]{1,6}>|[^<]{0,20}|<!\\[CDATA\\[|\\]\\]>|<record>|createPageHTML\\([0-9, '\"a-z]{0,20}\\)){0,40}") {
        let page = url("http://www.dingxi.gov.cn/col/col16516/index.html");
        let s = scope(page.as_str());
        let list = read_list_page(&html, &page, &s);
        prop_assert!(list.pages.iter().all(|p| s.allows_list(p)));
        let _ = read_report_page(&html, &page, &s);
        let _ = read_dataproxy_response(&html, &page, &s);
    }
}
