//! Fetching, politely: the one way nianbao talks to portals.
//!
//! Invariants every request keeps, whoever asks for it:
//! - it waits for its host's rate limiter ([`hosts`]) and for a slot under `max_concurrency`, on
//!   every attempt and every redirect hop;
//! - robots.txt of its host has been read (once per host per run) and allows it, unless
//!   `obey_robots = false`; a host whose robots.txt cannot be read is not crawled this run;
//! - it carries the configured User-Agent, and the headers sent are recorded as sent;
//! - it ends within `timeout` (headers and body), its body is held only up to `max_body_bytes`;
//! - redirects are followed by hand, every hop recorded; transient failures (timeouts, broken
//!   connections, 429, 5xx) are retried with backoff and `Retry-After`; anti-bot walls are
//!   [`FetchError::Blocked`], never content, and are not retried;
//! - every wait is abandoned as soon as the cancel token fires ([`FetchError::Cancelled`]).
//!
//! `Retry-After` is obeyed up to two minutes (a longer one is cut to that), Crawl-delay likewise.
//! Bodies are kept exactly as received: no decompression (we ask for `identity`), no decoding.

mod error;
mod exchange;
mod hosts;
mod page;

pub use error::FetchError;
pub use page::{FetchedPage, Redirect};

use std::collections::HashSet;
use std::future::Future;
use std::time::{Duration, SystemTime};

use tokio::sync::{Semaphore, TryAcquireError};
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::config::{CrawlSettings, Portal, Settings};
use exchange::{BodyCap, Exchange};
use hosts::{Host, Hosts, Robots};

/// The most of a robots.txt that is read (RFC 9309 asks crawlers to parse at least 500 KiB).
const ROBOTS_MAX_BYTES: u64 = 500 * 1024;
/// Redirect hops followed for robots.txt (RFC 9309: at least five).
const ROBOTS_MAX_REDIRECTS: usize = 5;

/// One request the crawl wants answered.
#[derive(Debug, Clone)]
pub struct FetchRequest {
    pub url: Url,
    /// GET, or a form POST.
    pub method: Method,
    /// What the archive holds for this URL, for a conditional request.
    pub validators: Validators,
}

/// How to ask: most pages are GETs; Hanweb `dataproxy.jsp` lists are form POSTs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    Get,
    /// The form's fields, sent urlencoded in this order.
    PostForm(Vec<(String, String)>),
}

/// The held page's ETag and Last-Modified, sent as If-None-Match / If-Modified-Since.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// The polite HTTP client of one run; shared by all page tasks (it is `Send + Sync`).
pub struct Fetcher {
    /// rustls, for every host but the legacy ones.
    modern: reqwest::Client,
    /// native-tls down to TLS 1.0, for the hosts of portals marked `tls = "legacy"`. (Where the
    /// system OpenSSL's security level forbids TLS 1.0/1.1, its config has the last word.) Built
    /// only when a portal is so marked: setting up OpenSSL was 3% of a 1,000-page crawl's CPU.
    legacy: Option<reqwest::Client>,
    legacy_hosts: HashSet<String>,
    crawl: CrawlSettings,
    user_agent: String,
    /// Our product token, matched against robots.txt `User-agent` lines.
    robots_agent: String,
    hosts: Hosts,
    /// Requests in flight across all hosts.
    in_flight: Semaphore,
}

impl Fetcher {
    /// Builds the two HTTP clients once and the per-host politeness from the settings and portals.
    pub fn new(settings: &Settings, portals: &[Portal]) -> Result<Fetcher, FetchError> {
        let crawl = settings.crawl.clone();
        let base = || {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(crawl.connect_timeout)
                .pool_idle_timeout(Duration::from_secs(30))
        };
        let client_error = |e: reqwest::Error| FetchError::Request {
            url: None,
            message: format!("cannot build the HTTP client: {e}"),
        };
        let modern = base().use_rustls_tls().build().map_err(client_error)?;
        let legacy_hosts: HashSet<String> =
            portals.iter().filter(|p| p.legacy_tls).filter_map(|p| p.start.host_str().map(str::to_owned)).collect();
        let legacy = if legacy_hosts.is_empty() {
            None
        } else {
            let builder = base().use_native_tls().min_tls_version(reqwest::tls::Version::TLS_1_0);
            Some(builder.build().map_err(client_error)?)
        };
        let rates: Vec<(&Url, f64)> = portals.iter().filter_map(|p| p.rate.map(|r| (&p.start, r))).collect();
        Ok(Fetcher {
            modern,
            legacy,
            legacy_hosts,
            hosts: Hosts::new(crawl.per_host_rps, crawl.per_host_burst, &rates),
            in_flight: Semaphore::new(crawl.max_concurrency.max(1)),
            robots_agent: hosts::robots_agent(&settings.user_agent),
            user_agent: settings.user_agent.clone(),
            crawl,
        })
    }

    /// Fetches one page: robots, pacing, redirects, retries; a 2xx or 304, or the reason there is none.
    pub async fn fetch(&self, req: &FetchRequest, cancel: &CancellationToken) -> Result<FetchedPage, FetchError> {
        let mut url = req.url.clone();
        let mut method = req.method.clone();
        let mut redirects: Vec<Redirect> = Vec::new();
        loop {
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return Err(FetchError::Request { url: Some(url), message: "only http(s) URLs are fetched".into() });
            }
            self.check_robots(&url, cancel).await?;
            let cap = BodyCap::Fail(self.crawl.max_body_bytes);
            // The held validators go with every hop: the archive took them from the last hop's
            // answer, and servers ignore them on the hops that only redirect.
            let answer = self.exchange_retrying(&url, &method, &req.validators, cap, cancel).await?;
            if let Some(to) = redirect_target(&url, &answer)? {
                let status = answer.status;
                method = method_after_redirect(status, method);
                let seen = |u: &Url| *u == req.url || redirects.iter().any(|r| r.from == *u);
                if seen(&to) && method == Method::Get {
                    return Err(FetchError::RedirectLoop { url: req.url.clone(), to: to.into() });
                }
                if redirects.len() >= self.crawl.max_redirects {
                    return Err(FetchError::TooManyRedirects { url: req.url.clone(), limit: self.crawl.max_redirects });
                }
                redirects.push(Redirect { from: url, to: to.clone(), status });
                url = to;
                continue;
            }
            return final_answer(req.url.clone(), url, redirects, answer);
        }
    }

    /// Fails unless robots.txt of `url`'s host allows it (fetching robots.txt the first time).
    async fn check_robots(&self, url: &Url, cancel: &CancellationToken) -> Result<(), FetchError> {
        if !self.crawl.obey_robots {
            return Ok(());
        }
        let host = self.hosts.get(url);
        // Waiting for another task's fetch of robots.txt is cancellable too.
        let cell = host.robots(url);
        let robots = or_cancel(cancel, cell.get_or_try_init(|| self.load_robots(url, &host, cancel))).await??;
        match robots {
            Robots::AllowAll => Ok(()),
            Robots::Rules(robot) if robot.allowed(url.as_str()) => Ok(()),
            Robots::Rules(_) => Err(FetchError::RobotsDisallowed { url: url.clone() }),
            Robots::Unavailable { reason } => {
                Err(FetchError::RobotsUnavailable { url: url.clone(), reason: reason.clone() })
            }
            Robots::Blocked { status, reason } => {
                Err(FetchError::Blocked { url: url.clone(), status: *status, reason })
            }
        }
    }

    /// Reads robots.txt of `url`'s host: 2xx rules (and Crawl-delay), 4xx allow all, a wall blocks
    /// the host, anything else (5xx, 429 and unreachable after retries) keeps us off the host.
    /// Fails only when cancelled.
    async fn load_robots(&self, url: &Url, host: &Host, cancel: &CancellationToken) -> Result<Robots, FetchError> {
        let mut target = url.clone();
        target.set_path("/robots.txt");
        target.set_query(None);
        target.set_fragment(None);
        let cap = BodyCap::Truncate(ROBOTS_MAX_BYTES);
        for _ in 0..=ROBOTS_MAX_REDIRECTS {
            let answer = match self.exchange_retrying(&target, &Method::Get, &Validators::default(), cap, cancel).await
            {
                Ok(answer) => answer,
                Err(FetchError::Cancelled) => return Err(FetchError::Cancelled),
                Err(e) => return Ok(Robots::Unavailable { reason: e.to_string() }),
            };
            if let Some(reason) = page::blocked_reason(answer.status, &answer.headers, &answer.body) {
                return Ok(Robots::Blocked { status: answer.status, reason });
            }
            match answer.status {
                200..=299 => {
                    let (robots, delay) = hosts::parse_robots(&self.robots_agent, &answer.body);
                    if let Some(delay) = delay {
                        host.slow_to(delay);
                    }
                    return Ok(robots);
                }
                300..=399 => match redirect_target(&target, &answer) {
                    Ok(Some(next)) => target = next,
                    _ => return Ok(Robots::AllowAll),
                },
                400..=499 => return Ok(Robots::AllowAll),
                status => return Ok(Robots::Unavailable { reason: format!("{target}: HTTP {status}") }),
            }
        }
        Ok(Robots::AllowAll)
    }

    /// One hop, tried up to `1 + retries` times while the failure is transient.
    async fn exchange_retrying(
        &self,
        url: &Url,
        method: &Method,
        validators: &Validators,
        cap: BodyCap,
        cancel: &CancellationToken,
    ) -> Result<Exchange, FetchError> {
        let mut attempt = 0;
        loop {
            let (failure, asked_wait) = match self.exchange(url, method, validators, cap, cancel).await {
                Ok(answer) if is_retryable_status(&answer) => {
                    let wait = page::header_in(&answer.headers, "retry-after")
                        .and_then(|v| exchange::retry_after(v, SystemTime::now()));
                    (FetchError::Status { url: url.clone(), status: answer.status }, wait)
                }
                Ok(answer) => return Ok(answer),
                Err(e) if e.is_transient() => (e, None),
                Err(e) => return Err(e),
            };
            if attempt >= self.crawl.retries {
                return Err(failure);
            }
            let wait = asked_wait.unwrap_or_else(|| exchange::backoff(attempt));
            tracing::debug!(%url, attempt, ?wait, "retrying after: {failure}");
            or_cancel(cancel, tokio::time::sleep(wait)).await?;
            attempt += 1;
        }
    }

    /// One request on the wire, after the host's limiter and a concurrency slot, within `timeout`.
    async fn exchange(
        &self,
        url: &Url,
        method: &Method,
        validators: &Validators,
        cap: BodyCap,
        cancel: &CancellationToken,
    ) -> Result<Exchange, FetchError> {
        let host = self.hosts.get(url);
        or_cancel(cancel, host.ready()).await?;
        let shut = || FetchError::Request { url: Some(url.clone()), message: "the fetcher is shut down".into() };
        // The request goes out right after the limiter's grant: when it had to wait for a slot,
        // it asks the limiter again, so that requests held up together do not leave together.
        let _slot = match self.in_flight.try_acquire() {
            Ok(slot) => slot,
            Err(TryAcquireError::Closed) => return Err(shut()),
            Err(TryAcquireError::NoPermits) => {
                let slot = or_cancel(cancel, self.in_flight.acquire()).await?.map_err(|_| shut())?;
                or_cancel(cancel, host.ready()).await?;
                slot
            }
        };
        let legacy = self.legacy.as_ref().filter(|_| url.host_str().is_some_and(|h| self.legacy_hosts.contains(h)));
        let client = legacy.unwrap_or(&self.modern);
        let out = exchange::outgoing(url, method, validators, &self.user_agent);
        let work = tokio::time::timeout(self.crawl.timeout, exchange::send(client, out, cap));
        match or_cancel(cancel, work).await? {
            Ok(result) => result,
            Err(_) => Err(FetchError::Timeout { url: url.clone(), after: self.crawl.timeout }),
        }
    }
}

/// Runs `work` unless the cancel token fires first.
async fn or_cancel<T>(cancel: &CancellationToken, work: impl Future<Output = T>) -> Result<T, FetchError> {
    tokio::select! {
        biased;
        _ = cancel.cancelled() => Err(FetchError::Cancelled),
        value = work => Ok(value),
    }
}

/// 429 and 5xx are worth another try; a 521 wall is not.
fn is_retryable_status(answer: &Exchange) -> bool {
    let status = answer.status;
    (status == 429 || status >= 500) && page::blocked_reason(status, &answer.headers, &answer.body).is_none()
}

/// Where a redirect answer points, resolved against the URL it answered; `None` if it is no redirect.
fn redirect_target(from: &Url, answer: &Exchange) -> Result<Option<Url>, FetchError> {
    if !matches!(answer.status, 301 | 302 | 303 | 307 | 308) {
        return Ok(None);
    }
    let Some(location) = page::header_in(&answer.headers, "location") else { return Ok(None) };
    let bad = || FetchError::BadRedirect { url: from.clone(), status: answer.status, location: location.to_owned() };
    let mut to = from.join(location.trim()).map_err(|_| bad())?;
    if !matches!(to.scheme(), "http" | "https") || to.host_str().is_none() {
        return Err(bad());
    }
    to.set_fragment(None);
    Ok(Some(to))
}

/// 303 always, and 301/302 after a POST, continue as GET (as browsers do); 307/308 repeat the request.
fn method_after_redirect(status: u16, method: Method) -> Method {
    match (status, method) {
        (303, _) | (301 | 302, Method::PostForm(_)) => Method::Get,
        (_, method) => method,
    }
}

/// The last hop's answer as a page, a wall, or a status failure.
fn final_answer(
    url: Url,
    final_url: Url,
    redirects: Vec<Redirect>,
    answer: Exchange,
) -> Result<FetchedPage, FetchError> {
    let status = answer.status;
    if let Some(reason) = page::blocked_reason(status, &answer.headers, &answer.body) {
        return Err(FetchError::Blocked { url: final_url, status, reason });
    }
    if !(200..=299).contains(&status) && status != 304 {
        return Err(FetchError::Status { url: final_url, status });
    }
    Ok(FetchedPage {
        url,
        final_url,
        redirects,
        request_headers: answer.request_headers,
        request_body: answer.request_body,
        status,
        http_version: answer.http_version,
        headers: answer.headers,
        fetched_at: answer.fetched_at,
        body: answer.body,
        remote_ip: answer.remote_ip,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, headers: &[(&str, &str)]) -> Exchange {
        Exchange {
            request_headers: Vec::new(),
            request_body: None,
            status,
            http_version: "HTTP/1.1",
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            fetched_at: chrono::Utc::now(),
            body: bytes::Bytes::new(),
            remote_ip: None,
        }
    }

    #[test]
    fn fetcher_is_shareable() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Fetcher>();
    }

    #[test]
    fn legacy_portals_get_the_legacy_client() {
        let portals = crate::config::parse_portals(
            std::path::Path::new("t.toml"),
            "[[portal]]\nname = \"old\"\nstart = \"https://old.gov.cn/nb/\"\ntls = \"legacy\"\n\
             [[portal]]\nname = \"new\"\nstart = \"https://new.gov.cn/nb/\"\n",
        )
        .unwrap();
        let fetcher = Fetcher::new(&Settings::default(), &portals).unwrap();
        assert_eq!(fetcher.legacy_hosts, HashSet::from(["old.gov.cn".to_owned()]));
        assert!(fetcher.legacy.is_some());
        assert_eq!(fetcher.robots_agent, "nianbao");
        let modern_only = Fetcher::new(&Settings::default(), &portals[1..]).unwrap();
        assert!(modern_only.legacy_hosts.is_empty() && modern_only.legacy.is_none());
    }

    #[test]
    fn redirects_resolve_relative_locations() {
        let from = Url::parse("http://127.0.0.1:9/nb/a.htm").unwrap();
        let to = redirect_target(&from, &answer(302, &[("location", "../x/b.htm#top")])).unwrap();
        assert_eq!(to.unwrap().as_str(), "http://127.0.0.1:9/x/b.htm");
        assert!(redirect_target(&from, &answer(302, &[])).unwrap().is_none(), "no Location: the answer is final");
        assert!(redirect_target(&from, &answer(200, &[("location", "/b")])).unwrap().is_none());
        let err = redirect_target(&from, &answer(301, &[("location", "javascript:alert(1)")])).unwrap_err();
        assert_eq!(err.kind(), "bad_redirect");
    }

    #[test]
    fn posts_become_gets_as_browsers_do() {
        let post = Method::PostForm(vec![("a".into(), "1".into())]);
        assert_eq!(method_after_redirect(302, post.clone()), Method::Get);
        assert_eq!(method_after_redirect(303, post.clone()), Method::Get);
        assert_eq!(method_after_redirect(307, post.clone()), post);
        assert_eq!(method_after_redirect(301, Method::Get), Method::Get);
    }

    #[test]
    fn walls_are_not_retried() {
        assert!(is_retryable_status(&answer(503, &[])));
        assert!(is_retryable_status(&answer(429, &[])));
        assert!(!is_retryable_status(&answer(521, &[])));
        assert!(!is_retryable_status(&answer(404, &[])));
    }
}
