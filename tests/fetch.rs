//! The fetcher against loopback portals: politeness (rates, robots.txt), failures (timeouts, caps,
//! statuses, walls, redirects), conditional requests, forms, and what a fetched page records.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::{Duration, Instant};

use common::{etag_aware, fail_then, Body, PortalServer, Reply};
use nianbao::config::{parse_portals, parse_settings, Portal, Settings};
use nianbao::fetch::{FetchError, FetchRequest, FetchedPage, Fetcher, Method, Validators};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;
use url::Url;

const UA: &str = "nianbao-test/1.0";

/// Settings for one test: fast defaults, with `keys` (`[crawl]` key, value) replacing them.
fn settings(keys: &[(&str, &str)]) -> Settings {
    let mut crawl: Vec<(&str, &str)> =
        vec![("per_host_rps", "200.0"), ("timeout_secs", "2"), ("connect_timeout_secs", "1"), ("retries", "0")];
    for (key, value) in keys {
        crawl.retain(|(k, _)| k != key);
        crawl.push((key, value));
    }
    let lines: String = crawl.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
    parse_settings(Path::new("t.toml"), &format!("user_agent = \"{UA}\"\n[crawl]\n{lines}")).expect("valid settings")
}

fn portals(text: &str) -> Vec<Portal> {
    parse_portals(Path::new("t.toml"), text).expect("valid seeds")
}

fn fetcher(keys: &[(&str, &str)]) -> Fetcher {
    Fetcher::new(&settings(keys), &[]).expect("fetcher")
}

fn get(url: &str) -> FetchRequest {
    FetchRequest { url: Url::parse(url).expect("test URL"), method: Method::Get, validators: Validators::default() }
}

async fn fetch(f: &Fetcher, url: &str) -> Result<FetchedPage, FetchError> {
    f.fetch(&get(url), &CancellationToken::new()).await
}

async fn kind(f: &Fetcher, url: &str) -> &'static str {
    match fetch(f, url).await {
        Ok(page) => panic!("{url}: expected a failure, got HTTP {}", page.status),
        Err(e) => e.kind(),
    }
}

/// Arrival times of the requests for `paths`, in seconds after the first of them.
fn times(server: &PortalServer, paths: &[&str]) -> Vec<f64> {
    let log: Vec<Instant> =
        server.requests().into_iter().filter(|r| paths.contains(&r.path.as_str())).map(|r| r.at).collect();
    let Some(first) = log.first().copied() else { return Vec::new() };
    log.iter().map(|t| t.duration_since(first).as_secs_f64()).collect()
}

fn assert_spaced(t: &[f64], rps: f64) {
    for pair in t.windows(2) {
        assert!(pair[1] - pair[0] >= 0.9 / rps, "requests closer than 1/{rps} s: {t:?}");
    }
}

async fn fetch_all(f: &Fetcher, urls: &[String]) {
    let cancel = CancellationToken::new();
    let requests: Vec<FetchRequest> = urls.iter().map(|u| get(u)).collect();
    let all = requests.iter().map(|r| f.fetch(r, &cancel));
    for result in futures_util::future::join_all(all).await {
        result.expect("page fetched");
    }
}

#[tokio::test]
async fn one_host_is_held_to_its_rate() {
    let server = PortalServer::start(Ipv4Addr::new(127, 0, 3, 1)).await;
    let paths: Vec<String> = (0..5).map(|i| format!("/nb/{i}.htm")).collect();
    for p in &paths {
        server.route(p, Reply::html("<p>年报</p>"));
    }
    let f = fetcher(&[("per_host_rps", "8.0"), ("max_concurrency", "16")]);
    fetch_all(&f, &paths.iter().map(|p| server.url(p)).collect::<Vec<_>>()).await;
    let mut all: Vec<&str> = paths.iter().map(String::as_str).collect();
    all.push("/robots.txt");
    let t = times(&server, &all);
    assert_eq!(t.len(), 6, "robots.txt and five pages");
    assert_spaced(&t, 8.0);
}

#[tokio::test]
async fn two_hosts_keep_their_own_rates_and_a_portal_rate_only_slows() {
    let fast = PortalServer::start(Ipv4Addr::new(127, 0, 3, 2)).await;
    let slow = PortalServer::start(Ipv4Addr::new(127, 0, 3, 3)).await;
    for server in [&fast, &slow] {
        for i in 0..4 {
            server.route(&format!("/nb/{i}.htm"), Reply::html("<p>年报</p>"));
        }
    }
    let seeds = format!(
        "[[portal]]\nname = \"slow\"\nstart = \"{}\"\nrate = 4.0\n[[portal]]\nname = \"fast\"\nstart = \"{}\"\nrate = 500.0\n",
        slow.url("/nb/"),
        fast.url("/nb/")
    );
    let f = Fetcher::new(&settings(&[("per_host_rps", "20.0"), ("obey_robots", "false")]), &portals(&seeds)).unwrap();
    let urls: Vec<String> =
        [&fast, &slow].iter().flat_map(|s| (0..4).map(|i| s.url(&format!("/nb/{i}.htm")))).collect();
    fetch_all(&f, &urls).await;
    let paths = ["/nb/0.htm", "/nb/1.htm", "/nb/2.htm", "/nb/3.htm"];
    let (tf, ts) = (times(&fast, &paths), times(&slow, &paths));
    assert_spaced(&tf, 20.0);
    assert_spaced(&ts, 4.0);
    assert!(tf[3] < ts[3], "the fast host is not held to the slow one's rate: {tf:?} {ts:?}");
}

#[tokio::test]
async fn robots_txt_is_read_once_and_obeyed() {
    let server = PortalServer::start(Ipv4Addr::new(127, 0, 3, 4)).await;
    let robots = "User-agent: *\nDisallow: /\n\nUser-agent: nianbao-test\nDisallow: /private/\nAllow: /private/nb/\nCrawl-delay: 0.5\n";
    server.route("/robots.txt", Reply::bytes("text/plain", robots.as_bytes().to_vec()));
    for path in ["/nb/a.htm", "/private/nb/b.htm", "/private/c.htm", "/nb/d.htm"] {
        server.route(path, Reply::html("<p>年报</p>"));
    }
    let f = fetcher(&[("per_host_rps", "50.0")]);
    fetch(&f, &server.url("/nb/a.htm")).await.expect("allowed by the agent's own group");
    fetch(&f, &server.url("/private/nb/b.htm")).await.expect("Allow is more specific than Disallow");
    assert_eq!(kind(&f, &server.url("/private/c.htm")).await, "robots_disallowed");
    fetch(&f, &server.url("/nb/d.htm")).await.expect("allowed");
    assert_eq!(server.hits("/robots.txt"), 1);
    assert_eq!(server.hits("/private/c.htm"), 0, "a disallowed URL is never requested");
    let t = times(&server, &["/robots.txt", "/nb/a.htm", "/private/nb/b.htm", "/nb/d.htm"]);
    assert_spaced(&t, 2.0);
}

#[tokio::test]
async fn robots_txt_missing_allows_all_and_broken_keeps_us_off_the_host() {
    let open = PortalServer::start(Ipv4Addr::new(127, 0, 3, 5)).await;
    open.route("/private/a.htm", Reply::html("<p>年报</p>"));
    let f = fetcher(&[]);
    fetch(&f, &open.url("/private/a.htm")).await.expect("a 404 robots.txt allows everything");
    assert_eq!(open.hits("/robots.txt"), 1);

    let broken = PortalServer::start(Ipv4Addr::new(127, 0, 3, 6)).await;
    broken.route("/robots.txt", Reply::status(503));
    broken.route("/nb/a.htm", Reply::html("<p>年报</p>"));
    assert_eq!(kind(&f, &broken.url("/nb/a.htm")).await, "robots_unavailable");
    assert_eq!(kind(&f, &broken.url("/nb/b.htm")).await, "robots_unavailable");
    assert_eq!(broken.hits("/robots.txt"), 1, "not asked again this run");
    assert_eq!(broken.requests().len(), 1, "no page of the host is requested");

    let unchecked = fetcher(&[("obey_robots", "false")]);
    fetch(&unchecked, &broken.url("/nb/a.htm")).await.expect("obey_robots = false skips robots.txt");
    assert_eq!(broken.hits("/robots.txt"), 1);
}

#[tokio::test]
async fn retry_after_is_honoured_and_429_retried() {
    let server = PortalServer::start(Ipv4Addr::new(127, 0, 3, 7)).await;
    let ok = Reply::html("<p>年报</p>");
    server.handle("/a.htm", fail_then(1, Reply::status(503).with_header("Retry-After", "1"), ok.clone()));
    server.handle("/b.htm", fail_then(1, Reply::status(429), ok));
    server.route("/c.htm", Reply::status(429));
    let f = fetcher(&[("retries", "1"), ("obey_robots", "false")]);
    assert_eq!(fetch(&f, &server.url("/a.htm")).await.unwrap().status, 200);
    let t = times(&server, &["/a.htm"]);
    assert_eq!(t.len(), 2);
    assert!(t[1] >= 0.9, "Retry-After: 1 waited for: {t:?}");
    assert_eq!(fetch(&f, &server.url("/b.htm")).await.unwrap().status, 200);
    assert_eq!(server.hits("/b.htm"), 2);
    assert_eq!(kind(&f, &server.url("/c.htm")).await, "http_429", "after the last try, the error");
    assert_eq!(server.hits("/c.htm"), 2, "one try and one retry");
}

#[tokio::test]
async fn hangs_time_out_and_are_retried() {
    let server = PortalServer::start(Ipv4Addr::new(127, 0, 3, 8)).await;
    server.route("/hang.htm", Reply { body: Body::Hang, ..Reply::status(200) });
    let f = fetcher(&[("timeout_secs", "0.3"), ("retries", "1"), ("obey_robots", "false")]);
    assert_eq!(kind(&f, &server.url("/hang.htm")).await, "timeout");
    assert_eq!(server.hits("/hang.htm"), 2, "a timeout is retried");
}

#[tokio::test]
async fn bodies_are_capped() {
    let server = PortalServer::start(Ipv4Addr::new(127, 0, 3, 9)).await;
    server.route("/endless", Reply { body: Body::Endless, ..Reply::status(200) });
    server.route("/big.pdf", Reply::bytes("application/pdf", vec![b'%'; 200_001]));
    server.route("/fits.pdf", Reply::bytes("application/pdf", vec![b'%'; 200_000]));
    let f = fetcher(&[("max_body_bytes", "200000"), ("retries", "2"), ("obey_robots", "false")]);
    assert_eq!(kind(&f, &server.url("/endless")).await, "too_large");
    assert_eq!(kind(&f, &server.url("/big.pdf")).await, "too_large");
    assert_eq!(fetch(&f, &server.url("/fits.pdf")).await.unwrap().body.len(), 200_000);
    assert_eq!(server.hits("/endless") + server.hits("/big.pdf"), 2, "too large is not retried");
}

#[tokio::test]
async fn a_declared_length_over_the_cap_fails_before_the_body() {
    // The head promises 5 MB and the connection closes: only a check of Content-Length before
    // reading tells `too_large` from a broken connection.
    let head = b"HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\nContent-Length: 5000000\r\n\r\n".to_vec();
    let url = raw_server(Ipv4Addr::new(127, 0, 3, 19), head).await;
    let f = fetcher(&[("max_body_bytes", "1000000"), ("obey_robots", "false")]);
    assert_eq!(kind(&f, &url).await, "too_large");
}

#[tokio::test]
async fn redirect_hops_obey_the_robots_txt_of_their_host() {
    let first = PortalServer::start(Ipv4Addr::new(127, 0, 3, 20)).await;
    let second = PortalServer::start(Ipv4Addr::new(127, 0, 3, 21)).await;
    second.route("/robots.txt", Reply::bytes("text/plain", b"User-agent: *\nDisallow: /closed/\n".to_vec()));
    second.route("/closed/a.htm", Reply::html("<p>年报</p>"));
    second.route("/open/a.htm", Reply::html("<p>年报</p>"));
    first.route("/to-closed", Reply::redirect(302, &second.url("/closed/a.htm")));
    first.route("/to-open", Reply::redirect(302, &second.url("/open/a.htm")));
    let f = fetcher(&[]);
    assert_eq!(kind(&f, &first.url("/to-closed")).await, "robots_disallowed");
    assert_eq!(second.hits("/closed/a.htm"), 0);
    let page = fetch(&f, &first.url("/to-open")).await.unwrap();
    assert_eq!(page.final_url.as_str(), second.url("/open/a.htm"));
    assert_eq!((first.hits("/robots.txt"), second.hits("/robots.txt")), (1, 1));
}

#[tokio::test]
async fn requests_in_flight_are_capped_across_hosts() {
    let slow = PortalServer::start(Ipv4Addr::new(127, 0, 3, 22)).await;
    let other = PortalServer::start(Ipv4Addr::new(127, 0, 3, 23)).await;
    slow.route("/hang.htm", Reply { body: Body::Hang, ..Reply::status(200) });
    other.route("/a.htm", Reply::html("<p>年报</p>"));
    let f = fetcher(&[("max_concurrency", "1"), ("timeout_secs", "0.5"), ("obey_robots", "false")]);
    let hang = get(&slow.url("/hang.htm"));
    let page = get(&other.url("/a.htm"));
    let cancel = CancellationToken::new();
    let (hung, fetched) = tokio::join!(f.fetch(&hang, &cancel), async {
        while slow.hits("/hang.htm") == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        f.fetch(&page, &cancel).await
    });
    assert_eq!(hung.unwrap_err().kind(), "timeout");
    fetched.unwrap();
    let started = slow.requests()[0].at;
    let waited = other.requests()[0].at.duration_since(started);
    assert!(waited >= Duration::from_millis(450), "the second request waited for the only slot: {waited:?}");
}

#[tokio::test]
async fn redirects_are_followed_recorded_and_bounded() {
    let server = PortalServer::start(Ipv4Addr::new(127, 0, 3, 10)).await;
    server.route("/nb/r1.htm", Reply::redirect(302, "r2.htm"));
    server.route("/nb/r2.htm", Reply::redirect(301, "/zwgk/r3.htm"));
    server.route("/zwgk/r3.htm", Reply::html("<p>年报</p>"));
    server.route("/loop1", Reply::redirect(302, "/loop2"));
    server.route("/loop2", Reply::redirect(302, "/loop1"));
    for i in 0..5 {
        server.route(&format!("/hop{i}"), Reply::redirect(307, &format!("/hop{}", i + 1)));
    }
    server.route("/hop5", Reply::html("end"));
    let f = fetcher(&[("max_redirects", "3")]);
    let page = fetch(&f, &server.url("/nb/r1.htm")).await.unwrap();
    assert_eq!(page.url.as_str(), server.url("/nb/r1.htm"));
    assert_eq!(page.final_url.as_str(), server.url("/zwgk/r3.htm"));
    let hops: Vec<(String, String, u16)> =
        page.redirects.iter().map(|r| (r.from.path().to_owned(), r.to.path().to_owned(), r.status)).collect();
    assert_eq!(
        hops,
        [("/nb/r1.htm".into(), "/nb/r2.htm".into(), 302), ("/nb/r2.htm".into(), "/zwgk/r3.htm".into(), 301)]
    );
    assert_eq!(kind(&f, &server.url("/loop1")).await, "redirect_loop");
    assert_eq!(server.hits("/loop1") + server.hits("/loop2"), 2);
    assert_eq!(kind(&f, &server.url("/hop0")).await, "too_many_redirects");
    assert_eq!(server.hits("/hop4"), 0, "no hop past max_redirects");
}

#[tokio::test]
async fn statuses_name_their_kind() {
    let server = PortalServer::start(Ipv4Addr::new(127, 0, 3, 11)).await;
    for code in [410, 403, 400, 500] {
        server.route(&format!("/{code}"), Reply::status(code));
    }
    let f = fetcher(&[]);
    assert_eq!(kind(&f, &server.url("/nowhere")).await, "http_404");
    assert_eq!(kind(&f, &server.url("/410")).await, "http_410");
    assert_eq!(kind(&f, &server.url("/403")).await, "http_403");
    assert_eq!(kind(&f, &server.url("/400")).await, "http_4xx");
    assert_eq!(kind(&f, &server.url("/500")).await, "http_5xx");
    let err = fetch(&f, &server.url("/nowhere")).await.unwrap_err();
    assert!(err.to_string().contains(&server.url("/nowhere")), "{err}");
}

#[tokio::test]
async fn validators_make_a_conditional_request() {
    let server = PortalServer::start(Ipv4Addr::new(127, 0, 3, 12)).await;
    let etag = "\"5f2-abc\"";
    server.handle("/nb/a.htm", etag_aware(etag, Reply::html("<p>年报</p>").with_header("ETag", etag)));
    let f = fetcher(&[]);
    let first = fetch(&f, &server.url("/nb/a.htm")).await.unwrap();
    assert!(!first.is_not_modified());
    assert_eq!(first.header("etag"), Some(etag));
    let validators = Validators {
        etag: first.header("etag").map(str::to_owned),
        last_modified: Some("Tue, 01 Dec 2026 08:00:00 GMT".into()),
    };
    let req = FetchRequest { url: first.url.clone(), method: Method::Get, validators };
    let again = f.fetch(&req, &CancellationToken::new()).await.unwrap();
    assert!(again.is_not_modified());
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    let seen = server.requests().into_iter().rfind(|r| r.path == "/nb/a.htm").unwrap();
    assert_eq!(seen.header("if-none-match"), Some(etag));
    assert_eq!(seen.header("if-modified-since"), Some("Tue, 01 Dec 2026 08:00:00 GMT"));
}

#[tokio::test]
async fn a_keep_alive_portal_is_fetched_over_one_connection() {
    let server = PortalServer::start_keep_alive(Ipv4Addr::new(127, 0, 3, 27)).await;
    let etag = "\"7a-1\"";
    server.handle("/nb/a.htm", etag_aware(etag, Reply::html("<p>年报</p>").with_header("ETag", etag)));
    server.route("/nb/b.htm", Reply::html("<p>二〇二三年</p>"));
    let f = fetcher(&[("obey_robots", "false")]);
    let urls: Vec<String> = ["/nb/a.htm", "/nb/b.htm", "/nb/missing.htm", "/nb/a.htm"].map(|p| server.url(p)).into();
    let mut statuses = Vec::new();
    for (i, url) in urls.iter().enumerate() {
        let validators = Validators { etag: (i == 3).then(|| etag.to_owned()), last_modified: None };
        let req = FetchRequest { url: Url::parse(url).unwrap(), method: Method::Get, validators };
        match f.fetch(&req, &CancellationToken::new()).await {
            Ok(page) => statuses.push((page.status, page.body.len())),
            Err(FetchError::Status { status, .. }) => statuses.push((status, 0)),
            Err(e) => panic!("{url}: {e}"),
        }
    }
    assert_eq!(statuses, [(200, "<p>年报</p>".len()), (200, "<p>二〇二三年</p>".len()), (404, 0), (304, 0)]);
    assert_eq!(server.requests().len(), 4);
    assert_eq!(server.connections(), 1, "the fetcher reuses its connection to a host");
}

#[tokio::test]
async fn anti_bot_walls_are_blocked_and_not_retried() {
    let server = PortalServer::start(Ipv4Addr::new(127, 0, 3, 13)).await;
    let ts = "<html><head><meta charset=\"utf-8\"><script>$_ts=window['$_ts'];if(!$_ts)$_ts={};$_ts.nsd=8520;</script><script src=\"/x.js\"></script></head></html>";
    server.route("/412", Reply { status: 412, ..Reply::html(ts) });
    server.route("/521", Reply { status: 521, ..Reply::html("<script>document.cookie='__jsluid=1'</script>") });
    let challenge = "<html><script>document.cookie=('_')+('_jsl_clearance')+('=1');location.href=location.pathname+location.search</script></html>";
    server.route("/challenge", Reply::html(challenge));
    server.route("/real", Reply::html("<html><head><script>document.cookie='v=1'</script></head><body>2023年政府信息公开工作年度报告全文如下。</body></html>"));
    let f = fetcher(&[("retries", "2")]);
    for path in ["/412", "/521", "/challenge"] {
        assert_eq!(kind(&f, &server.url(path)).await, "blocked", "{path}");
        assert_eq!(server.hits(path), 1, "{path}: not retried");
    }
    fetch(&f, &server.url("/real")).await.expect("a page with text is content, whatever its scripts");

    let walled = PortalServer::start(Ipv4Addr::new(127, 0, 3, 24)).await;
    walled.route("/robots.txt", Reply { status: 521, ..Reply::html("<script>document.cookie='__jsl=1'</script>") });
    assert_eq!(kind(&f, &walled.url("/nb/a.htm")).await, "blocked", "a wall in front of robots.txt blocks the host");
    assert_eq!(walled.requests().len(), 1);
}

#[tokio::test]
async fn forms_are_posted_and_the_exchange_recorded_as_sent() {
    let server = PortalServer::start(Ipv4Addr::new(127, 0, 3, 14)).await;
    server.route(
        "/module/web/jpage/dataproxy.jsp?startrecord=1&endrecord=45&perpage=15",
        Reply::bytes("text/xml", b"<datastore/>".to_vec()),
    );
    let f = fetcher(&[]);
    let form = vec![
        ("col".to_owned(), "1".to_owned()),
        ("webid".to_owned(), "2".to_owned()),
        ("path".to_owned(), "/".to_owned()),
    ];
    let path = "/module/web/jpage/dataproxy.jsp?startrecord=1&endrecord=45&perpage=15";
    let req = FetchRequest {
        url: Url::parse(&server.url(path)).unwrap(),
        method: Method::PostForm(form),
        validators: Validators::default(),
    };
    let page = f.fetch(&req, &CancellationToken::new()).await.unwrap();
    let seen = server.requests().into_iter().find(|r| r.path == path).unwrap();
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.body, b"col=1&webid=2&path=%2F");
    assert_eq!(page.request_body.as_deref(), Some(&seen.body[..]));
    assert_eq!(seen.header("user-agent"), Some(UA));
    assert_eq!(seen.header("content-type"), Some("application/x-www-form-urlencoded; charset=UTF-8"));
    let mut sent: Vec<(String, String)> = page.request_headers.clone();
    let mut received: Vec<(String, String)> =
        seen.headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.clone())).collect();
    sent.sort();
    received.sort();
    assert_eq!(sent, received, "request_headers are exactly what the server received");
    assert_eq!(page.http_version, "HTTP/1.1");
    assert_eq!(page.remote_ip, Some(IpAddr::V4(Ipv4Addr::new(127, 0, 3, 14))));
    assert_eq!(page.media_type().as_deref(), Some("text/xml"));
}

#[tokio::test]
async fn bodies_are_kept_as_received() {
    let server = PortalServer::start(Ipv4Addr::new(127, 0, 3, 15)).await;
    let gzipped = {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all("<p>年报</p>".as_bytes()).unwrap();
        gz.finish().unwrap()
    };
    server.route("/gz.htm", Reply::bytes("text/html", gzipped.clone()).with_header("Content-Encoding", "gzip"));
    server
        .route("/gbk.htm", Reply::gbk_html("<html><head></head><body>年度报告</body></html>", common::CharsetIn::Meta));
    let f = fetcher(&[]);
    let page = fetch(&f, &server.url("/gz.htm")).await.unwrap();
    assert_eq!(&page.body[..], &gzipped[..], "no transparent decompression");
    assert!(page.request_headers.contains(&("accept-encoding".into(), "identity".into())), "we ask for no compression");
    let page = fetch(&f, &server.url("/gbk.htm")).await.unwrap();
    assert_eq!(page.charset(), encoding_rs::GBK, "the <meta> charset is found");
    assert!(page.fetched_at <= chrono::Utc::now());
}

/// Answers every connection with `head` followed by an empty body, as raw bytes (for header values
/// that are not UTF-8, which the portal server's `String` headers cannot carry).
async fn raw_server(ip: Ipv4Addr, head: Vec<u8>) -> String {
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf).await;
            let _ = stream.write_all(&head).await;
            let _ = stream.shutdown().await;
        }
    });
    format!("http://{addr}/download.jsp?id=1")
}

#[tokio::test]
async fn attachment_filenames_in_every_encoding() {
    let server = PortalServer::start(Ipv4Addr::new(127, 0, 3, 16)).await;
    let cases = [
        (
            "/rfc5987",
            "attachment; filename=\"report.pdf\"; filename*=UTF-8''2023%E5%B9%B4%E6%8A%A5.pdf",
            "2023年报.pdf",
        ),
        ("/percent", "attachment; filename=%E5%B9%B4%E6%8A%A5.docx", "年报.docx"),
        ("/quoted", "attachment; filename=\"2022.xls\"", "2022.xls"),
    ];
    for (path, value, _) in cases {
        server.route(
            path,
            Reply::bytes("application/octet-stream", b"PK".to_vec()).with_header("Content-Disposition", value),
        );
    }
    let f = fetcher(&[("obey_robots", "false")]);
    for (path, _, name) in cases {
        let page = fetch(&f, &server.url(path)).await.unwrap();
        assert_eq!(page.attachment_filename().as_deref(), Some(name), "{path}");
    }
    let mut head = b"HTTP/1.1 200 OK\r\nContent-Type: application/msword\r\nContent-Length: 0\r\nConnection: close\r\nContent-Disposition: attachment; filename=\"".to_vec();
    head.extend_from_slice(&encoding_rs::GBK.encode("2021年度报告.doc").0);
    head.extend_from_slice(b"\"\r\n\r\n");
    let url = raw_server(Ipv4Addr::new(127, 0, 3, 17), head).await;
    let page = fetch(&f, &url).await.unwrap();
    assert_eq!(page.attachment_filename().as_deref(), Some("2021年度报告.doc"), "raw GBK header bytes");
    assert!(page.header("content-disposition").unwrap().contains("2021年度报告.doc"), "stored decoded");
}

#[tokio::test]
async fn cancelling_ends_a_hanging_fetch_at_once() {
    let server = PortalServer::start(Ipv4Addr::new(127, 0, 3, 18)).await;
    server.route("/hang.htm", Reply { body: Body::Hang, ..Reply::status(200) });
    let f = fetcher(&[("timeout_secs", "60"), ("retries", "3")]);
    let cancel = CancellationToken::new();
    let req = get(&server.url("/hang.htm"));
    let trigger = cancel.clone();
    let hits = server.clone();
    tokio::spawn(async move {
        while hits.hits("/hang.htm") == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        trigger.cancel();
    });
    let result = tokio::time::timeout(Duration::from_secs(20), f.fetch(&req, &cancel)).await;
    let err = result.expect("returned long before the 60 s timeout").unwrap_err();
    assert!(matches!(err, FetchError::Cancelled), "{err}");
    let again = f.fetch(&req, &cancel).await.unwrap_err();
    assert!(matches!(again, FetchError::Cancelled), "a cancelled token stops new fetches too");
}

#[tokio::test]
async fn non_http_urls_are_refused() {
    let f = fetcher(&[]);
    assert_eq!(kind(&f, "ftp://127.0.0.1/a").await, "request");
}

#[tokio::test]
async fn a_post_redirected_by_302_continues_as_a_get() {
    let server = PortalServer::start(Ipv4Addr::new(127, 0, 3, 25)).await;
    server.route("/search.jsp", Reply::redirect(302, "/list.htm?page=2"));
    server.route("/list.htm?page=2", Reply::html("<ul></ul>"));
    let f = fetcher(&[]);
    let form = Method::PostForm(vec![("q".into(), "年报".into())]);
    let req = FetchRequest {
        url: Url::parse(&server.url("/search.jsp")).unwrap(),
        method: form,
        validators: Validators::default(),
    };
    let page = f.fetch(&req, &CancellationToken::new()).await.unwrap();
    assert_eq!(page.request_body, None, "the last hop carried no form");
    let methods: Vec<(String, String)> = server.requests().into_iter().map(|r| (r.method, r.path)).collect();
    assert_eq!(
        methods,
        [
            ("GET".into(), "/robots.txt".into()),
            ("POST".into(), "/search.jsp".into()),
            ("GET".into(), "/list.htm?page=2".into())
        ]
    );
}

/// Sends `request` raw and returns the whole answer.
async fn raw_exchange(server: &PortalServer, request: &str) -> String {
    let addr = server.url("").trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn the_portal_server_answers_as_the_tests_expect() {
    let server = PortalServer::start(Ipv4Addr::new(127, 0, 3, 26)).await;
    server.route("/a.htm?x=1", Reply::html("<p>hello</p>"));
    let head = raw_exchange(&server, "HEAD /a.htm?x=1 HTTP/1.1\r\nHost: t\r\n\r\n").await;
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n") && head.contains("Content-Length: 12\r\n"), "{head}");
    assert!(head.ends_with("\r\n\r\n"), "HEAD has no body: {head:?}");
    let post = raw_exchange(&server, "POST /a.htm?x=1 HTTP/1.1\r\nHost: t\r\nContent-Length: 7\r\n\r\ncol=1&x").await;
    assert!(post.ends_with("<p>hello</p>"), "{post}");
    assert_eq!(server.requests()[1].body, b"col=1&x");
    assert_eq!(server.requests()[1].header("CONTENT-LENGTH"), Some("7"));
    assert!(
        raw_exchange(&server, "GET /a.htm HTTP/1.1\r\n\r\n").await.starts_with("HTTP/1.1 404"),
        "the query is part of the route"
    );
    server.remove("/a.htm?x=1");
    assert!(raw_exchange(&server, "GET /a.htm?x=1 HTTP/1.1\r\n\r\n").await.starts_with("HTTP/1.1 404"));
    assert_eq!(server.hits("/a.htm?x=1"), 3);

    let Body::Bytes(meta) =
        Reply::gbk_html("<html><HEAD lang=\"zh\"><title>年报</title></head></html>", common::CharsetIn::Meta).body
    else {
        panic!("bytes")
    };
    let text = encoding_rs::GBK.decode(&meta).0;
    assert!(text.starts_with("<html><HEAD lang=\"zh\"><meta http-equiv=\"Content-Type\" content=\"text/html; charset=gb2312\"><title>年报"), "{text}");
    let Body::Bytes(bare) = Reply::gbk_html("<p>年报</p>", common::CharsetIn::Meta).body else { panic!("bytes") };
    assert!(encoding_rs::GBK.decode(&bare).0.starts_with("<meta http-equiv"));
    let etag = etag_aware("\"v1\"", Reply::html("x"));
    let probe = |inm: Option<&str>| common::Request {
        method: "GET".into(),
        path: "/".into(),
        headers: inm.map(|v| vec![("If-None-Match".to_owned(), v.to_owned())]).unwrap_or_default(),
        body: Vec::new(),
        at: Instant::now(),
    };
    assert_eq!(etag(&probe(Some("\"v0\", \"v1\""))).status, 304);
    assert_eq!(etag(&probe(Some("\"v0\""))).status, 200);
    assert_eq!(etag(&probe(None)).status, 200);
}
