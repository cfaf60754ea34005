//! The crawl end to end against loopback portals that behave like real ones: what the archive
//! holds afterwards, and what the servers saw (scope, robots.txt, rate).

mod common;
#[path = "support/harness.rs"]
mod harness;
#[path = "support/sim.rs"]
mod sim;
#[path = "support/site.rs"]
mod site;

use std::net::Ipv4Addr;
use std::time::Duration;

use common::{fail_then, CharsetIn, PortalServer, Reply};
use harness::{held, portals, run, settings, workdir};
use nianbao::crawl::Mode;
use nianbao::store::{PageKind, Store};
use sim::SimReport;
use site::Section;

const CHROME: [&str; 8] = ["浏览次数", "版权所有", "打印本页", "关闭窗口", "当前位置", "ICP备", "字体：", "访问量"];

/// Request times of one server, in seconds since its first request.
fn times(server: &PortalServer) -> Vec<f64> {
    let log = server.requests();
    let Some(first) = log.first().map(|r| r.at) else { return Vec::new() };
    log.iter().map(|r| r.at.duration_since(first).as_secs_f64()).collect()
}

#[tokio::test]
async fn a_trs_section_is_archived_with_its_paging_and_attachments_politely() {
    let server = PortalServer::start(Ipv4Addr::new(127, 0, 0, 1)).await;
    server.route("/robots.txt", Reply::bytes("text/plain", b"User-agent: *\nDisallow: /private/\n".to_vec()));
    let mut section = Section::new(&server, "/zwgk/nb/", 4);
    section.add_older("某市医疗保障局", 10, 2023);
    let docx_url = section.attach_docx(2);
    section.publish();
    let dir = workdir();
    let store = Store::open(&dir.path().join("db")).unwrap();
    let rps = 20.0;
    let settings = settings(&dir.path().join("db"), rps, "");
    let portals = portals(&[("sim", &section.start_url(), "")]);

    let summary = run(&settings, &store, &portals, Mode::Crawl).await;

    assert_eq!(summary.new_reports, 10, "{summary}");
    assert_eq!(summary.failed(), 0, "{summary}");
    let reports = held(&store, PageKind::Report);
    assert_eq!(reports.len(), 10);
    for published in &section.reports {
        let url = server.url(&published.path);
        let version = store.latest_version(&url).unwrap().unwrap_or_else(|| panic!("{url} is archived"));
        let text = version.document.text();
        assert!(text.contains(&published.report.title()), "{url}: title in the cleaned text");
        for chrome in CHROME {
            assert!(!text.contains(chrome), "{url}: chrome {chrome:?} left in the cleaned text");
        }
        let report = version.report.unwrap_or_else(|| panic!("{url}: parsed as a report"));
        assert_eq!(report["format"], "2021");
        assert_eq!(report["year"], published.report.year);
        let received: Vec<u32> =
            serde_json::from_value(report["applications"]["rows"]["new_received"].clone()).unwrap();
        assert_eq!(received, published.report.applications[0].to_vec(), "{url}: table 三 parsed");
    }
    let attachment = store.page(&docx_url).unwrap().expect("the docx behind the download script is archived");
    assert_eq!(attachment.kind, PageKind::Attachment);
    assert!(attachment.versions > 0, "{attachment:?}");
    let parent = store.page(&section.report_url(2)).unwrap().unwrap();
    assert_eq!(parent.attachments.len(), 1);
    assert_eq!(parent.attachments[0].sha256, attachment.body_sha256, "the report links its attachment's digest");

    let log = server.requests();
    assert_eq!(server.hits("/robots.txt"), 1, "robots.txt is fetched once per host per run");
    for request in &log {
        let path = request.path.as_str();
        let in_scope = path == "/robots.txt" || path.starts_with("/zwgk/nb/") || path.starts_with("/module/download/");
        assert!(in_scope, "out of scope: {path}");
        assert_eq!(request.header("user-agent"), Some("nianbao-test/1.0"));
    }
    let t = times(&server);
    let span = t.last().copied().unwrap_or_default();
    let bound = (t.len() as f64 - 1.0) / rps;
    assert!(span >= bound * 0.9, "{} requests in {span:.2}s: faster than {rps}/s", t.len());
}

/// GBK pages in every charset position, 下一页 paging with relative links, and every failure a
/// real portal throws at a crawler, in one section.
#[tokio::test]
async fn a_messy_portal_is_crawled_and_every_failure_recorded() {
    let server = PortalServer::start(Ipv4Addr::new(127, 0, 0, 2)).await;
    server.route(
        "/robots.txt",
        Reply::bytes("text/plain", b"User-agent: *\nDisallow: /private/\nAllow: /xxgk/\n".to_vec()),
    );
    let report = |n: u64| SimReport::new("某县教育局", 2020 + n as i32 % 4, n);
    let gbk_page = |r: &SimReport| r.page_html("2023-01-10", 5, None).replace("<meta charset=\"utf-8\">", "");
    let list = |links: &[(&str, &str)], next: Option<&str>| {
        let mut html = String::from("<html><head><title>年报</title></head><body><div class=\"nav\"><a href=\"/\">首页</a></div><ul class=\"list\">");
        for (href, text) in links {
            html.push_str(&format!("<li><a href=\"{href}\">{text}</a><span>2023-01-10</span></li>"));
        }
        html.push_str("</ul><div class=\"page\">");
        if let Some(next) = next {
            html.push_str(&format!("<a href=\"{next}\">下一页</a>"));
        }
        html.push_str("</div><div class=\"footer\">版权所有</div></body></html>");
        html
    };
    let reports: Vec<SimReport> = (1..=6).map(report).collect();
    let t = |i: usize| reports[i].title();
    // Page 1: GBK with the charset in the header; a report with a fragment and a tracking-query twin.
    server.route(
        "/xxgk/nb/index.htm",
        Reply::gbk_html(
            &list(
                &[
                    ("../nb/2023/a1.htm", &t(0)),
                    ("../nb/2023/a1.htm#top", &t(0)),
                    ("2023/a1.htm?utm_source=wechat", &t(0)),
                    ("show.jsp?id=1", &t(0)),
                    ("/private/a7.htm", &t(5)),
                ],
                Some("list2.htm"),
            ),
            CharsetIn::Header,
        ),
    );
    server.route("/xxgk/nb/2023/a1.htm", Reply::gbk_html(&gbk_page(&reports[0]), CharsetIn::Header));
    server.route("/xxgk/nb/show.jsp?id=1", Reply::gbk_html(&gbk_page(&reports[0]), CharsetIn::Header));
    server.route("/private/a7.htm", Reply::html(&reports[5].page_html("2023-01-10", 1, None)));
    // Page 2: GBK declared only in <meta>; flaky, hanging, oversized, moved and missing reports.
    server.route(
        "/xxgk/nb/list2.htm",
        Reply::gbk_html(
            &list(
                &[
                    ("2023/a2.htm", &t(1)),
                    ("2023/a3.htm", "2022年度报告（挂起）"),
                    ("2023/a4.htm", "2021年度报告（超大）"),
                    ("2023/a5.htm", &t(4)),
                    ("2023/a6.htm", "2020年度报告（已删除）"),
                ],
                Some("list3.htm"),
            ),
            CharsetIn::Meta,
        ),
    );
    let ok2 = Reply::gbk_html(&gbk_page(&reports[1]), CharsetIn::Meta);
    server.handle("/xxgk/nb/2023/a2.htm", fail_then(1, Reply::status(503).with_header("Retry-After", "1"), ok2));
    server.route("/xxgk/nb/2023/a3.htm", Reply { body: common::Body::Hang, ..Reply::status(200) });
    server.route("/xxgk/nb/2023/a4.htm", Reply { body: common::Body::Endless, ..Reply::status(200) });
    server.route("/xxgk/nb/2023/a5.htm", Reply::redirect(301, "/xxgk/nb/2023/a5new.htm"));
    server.route("/xxgk/nb/2023/a5new.htm", Reply::gbk_html(&gbk_page(&reports[4]), CharsetIn::Nowhere));
    // Page 3 and on: an endless paging trap that only repeats what was seen.
    for n in 3..60 {
        let links = [("2023/a2.htm", t(1))];
        let links: Vec<(&str, &str)> = links.iter().map(|(h, t)| (*h, t.as_str())).collect();
        let next = format!("list{}.htm", n + 1);
        server.route(&format!("/xxgk/nb/list{n}.htm"), Reply::gbk_html(&list(&links, Some(&next)), CharsetIn::Nowhere));
    }

    let dir = workdir();
    let db = dir.path().join("db");
    let store = Store::open(&db).unwrap();
    let settings = settings(&db, 50.0, "max_body_bytes = 200000\n");
    let start = server.url("/xxgk/nb/index.htm");
    let summary = run(&settings, &store, &portals(&[("messy", &start, "")]), Mode::Crawl).await;

    // The GBK report, decoded right, archived once whatever URL variant linked it.
    let a1 = server.url("/xxgk/nb/2023/a1.htm");
    let mirror = server.url("/xxgk/nb/show.jsp?id=1");
    let (p1, pm) = (store.page(&a1).unwrap().unwrap(), store.page(&mirror).unwrap().unwrap());
    assert_eq!(p1.versions + pm.versions, 1, "one document, not two: {p1:?} {pm:?}");
    let (holder, alias) = if p1.versions == 1 { (&p1, &pm) } else { (&pm, &p1) };
    assert_eq!(alias.alias_of.as_deref(), Some(holder.url.as_str()));
    assert!(holder.aliases.contains(&alias.url));
    let doc = store.latest_version(&holder.url).unwrap().unwrap().document;
    assert_eq!(doc.title.as_deref(), Some(t(0).as_str()), "GBK title decoded");
    assert_eq!(server.hits("/xxgk/nb/2023/a1.htm"), 1, "fragment and tracking variants are the same URL");

    // A 503 with Retry-After, then the page.
    let a2 = store.page(&server.url("/xxgk/nb/2023/a2.htm")).unwrap().unwrap();
    assert_eq!(a2.versions, 1, "{a2:?}");
    let a2_times: Vec<_> =
        server.requests().into_iter().filter(|r| r.path == "/xxgk/nb/2023/a2.htm").map(|r| r.at).collect();
    assert_eq!(a2_times.len(), 2);
    assert!(a2_times[1].duration_since(a2_times[0]) >= Duration::from_millis(900), "Retry-After honoured");

    // Failures are recorded on their pages, and the crawl went on.
    let failure = |path: &str| store.page(&server.url(path)).unwrap().and_then(|p| p.last_error).map(|f| f.kind);
    assert_eq!(failure("/xxgk/nb/2023/a3.htm").as_deref(), Some("timeout"));
    assert_eq!(failure("/xxgk/nb/2023/a4.htm").as_deref(), Some("too_large"));
    assert!(failure("/xxgk/nb/2023/a6.htm").is_some_and(|k| k.contains("404")), "404 recorded");
    assert!(summary.failed() >= 3, "{summary}");

    // The redirect is followed and recorded; meta-only and undeclared GBK decode.
    let a5 = store.page(&server.url("/xxgk/nb/2023/a5.htm")).unwrap().unwrap();
    assert_eq!(a5.final_url.as_deref(), Some(server.url("/xxgk/nb/2023/a5new.htm").as_str()));
    let fetch = store.fetch(a5.last_fetch.unwrap()).unwrap().unwrap();
    assert_eq!(fetch.redirects.len(), 1);
    assert_eq!(fetch.redirects[0].status, 301);
    let a5_doc = store.latest_version(&a5.url).unwrap().unwrap().document;
    assert_eq!(a5_doc.title.as_deref(), Some(t(4).as_str()), "undeclared GBK detected");
    let a2_doc = store.latest_version(&a2.url).unwrap().unwrap().document;
    assert_eq!(a2_doc.title.as_deref(), Some(t(1).as_str()), "meta-declared GBK decoded");

    // robots.txt obeyed; the trap bounded.
    assert_eq!(server.hits("/private/a7.htm"), 0, "robots.txt Disallow obeyed");
    let trap_pages = server.requests().iter().filter(|r| r.path.starts_with("/xxgk/nb/list")).count();
    assert!(trap_pages <= 4, "paging that brings nothing new stops: {trap_pages} list pages read");
}

/// Several hosts crawled at once, each held to its own rate; a portal's `rate` only slows its host.
#[tokio::test]
async fn each_host_keeps_its_own_rate() {
    let fast = PortalServer::start(Ipv4Addr::new(127, 0, 0, 3)).await;
    let slow = PortalServer::start(Ipv4Addr::new(127, 0, 0, 4)).await;
    let mut sections = Vec::new();
    for (server, agency) in [(&fast, "某区人民政府"), (&slow, "某县人民政府")] {
        let mut s = Section::new(server, "/nb/", 10);
        // Different agencies: the same report text on two hosts would be one document and its alias.
        s.add_older(agency, 8, 2023);
        s.publish();
        sections.push(s);
    }
    let dir = workdir();
    let db = dir.path().join("db");
    let store = Store::open(&db).unwrap();
    let settings = settings(&db, 25.0, "");
    let portals = portals(&[("fast", &sections[0].start_url(), ""), ("slow", &sections[1].start_url(), "rate = 5.0")]);
    let summary = run(&settings, &store, &portals, Mode::Crawl).await;
    assert_eq!(summary.new_reports, 16, "{summary}");
    let (tf, ts) = (times(&fast), times(&slow));
    let slow_span = ts.last().copied().unwrap_or_default();
    assert!(slow_span >= (ts.len() as f64 - 1.0) / 5.0 * 0.9, "slow host at most 5/s: {ts:?}");
    let fast_span = tf.last().copied().unwrap_or_default();
    assert!(fast_span >= (tf.len() as f64 - 1.0) / 25.0 * 0.9, "fast host at most 25/s: {tf:?}");
    assert!(fast_span < slow_span, "the fast host is not held to the slow one's rate");
}
