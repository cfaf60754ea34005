//! One HTTP exchange: the request built with every header we send written down, the response read
//! with its body streamed under a cap, and the failures of the wire mapped to [`FetchError`]s.
//! Pacing, retries and redirects are the caller's ([`super::Fetcher`]).

use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

use super::page::header_text;
use super::{FetchError, Method, Validators};

/// What we ask servers for: pages first, anything else (attachments) after.
const ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
const ACCEPT_LANGUAGE: &str = "zh-CN,zh;q=0.9,en;q=0.5";
/// The longest Retry-After obeyed; a server asking for more gets our own backoff's longest wait
/// instead of stalling the run (the request is retried at most `retries` times anyway).
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

/// How much of a body to keep.
#[derive(Debug, Clone, Copy)]
pub(crate) enum BodyCap {
    /// More than this many bytes is a `too_large` failure (pages and attachments).
    Fail(u64),
    /// Keep this many bytes and drop the rest (robots.txt, of which only the start counts).
    Truncate(u64),
}

/// A request ready to send, with the record of what it carries.
pub(crate) struct Outgoing {
    pub method: reqwest::Method,
    pub url: Url,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

/// One answer, redirect or final, exactly as received.
pub(crate) struct Exchange {
    pub request_headers: Vec<(String, String)>,
    pub request_body: Option<Vec<u8>>,
    pub status: u16,
    pub http_version: &'static str,
    pub headers: Vec<(String, String)>,
    pub fetched_at: DateTime<Utc>,
    pub body: Bytes,
    pub remote_ip: Option<std::net::IpAddr>,
}

/// Writes down the request for `url`: Host, User-Agent, Accept, conditionals, and a POST's form.
pub(crate) fn outgoing(url: &Url, method: &Method, validators: &Validators, user_agent: &str) -> Outgoing {
    let host = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_owned(),
    };
    let mut headers = vec![
        ("host".to_owned(), host),
        ("user-agent".to_owned(), user_agent.to_owned()),
        ("accept".to_owned(), ACCEPT.to_owned()),
        ("accept-language".to_owned(), ACCEPT_LANGUAGE.to_owned()),
        // Bodies are stored as received; without this header a server may compress them at will.
        ("accept-encoding".to_owned(), "identity".to_owned()),
    ];
    // A held validator that is not a valid header value (it came from a broken server) is left out:
    // the page is then fetched whole, which is always correct.
    let valid = |v: &&String| HeaderValue::from_bytes(v.as_bytes()).is_ok();
    if let Some(etag) = validators.etag.as_ref().filter(valid) {
        headers.push(("if-none-match".to_owned(), etag.clone()));
    }
    if let Some(date) = validators.last_modified.as_ref().filter(valid) {
        headers.push(("if-modified-since".to_owned(), date.clone()));
    }
    let (method, body) = match method {
        Method::Get => (reqwest::Method::GET, None),
        Method::PostForm(form) => {
            let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish().into_bytes();
            headers.push(("content-type".to_owned(), "application/x-www-form-urlencoded; charset=UTF-8".to_owned()));
            headers.push(("content-length".to_owned(), body.len().to_string()));
            (reqwest::Method::POST, Some(body))
        }
    };
    Outgoing { method, url: url.clone(), headers, body }
}

/// Sends `out` and reads the whole answer, its body under `cap`.
pub(crate) async fn send(client: &reqwest::Client, out: Outgoing, cap: BodyCap) -> Result<Exchange, FetchError> {
    let mut map = HeaderMap::with_capacity(out.headers.len());
    for (name, value) in &out.headers {
        let parsed = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_bytes(value.as_bytes()));
        let (Ok(name), Ok(value)) = parsed else {
            return Err(FetchError::Request { url: Some(out.url), message: format!("cannot send header {name}") });
        };
        map.append(name, value);
    }
    let mut builder = client.request(out.method, out.url.clone()).headers(map);
    if let Some(body) = &out.body {
        builder = builder.body(body.clone());
    }
    let response = builder.send().await.map_err(|e| wire_error(&out.url, &e))?;
    let fetched_at = Utc::now();
    let status = response.status().as_u16();
    let http_version = version_name(response.version());
    let remote_ip = response.remote_addr().map(|a| a.ip());
    // HeaderMap gives each name's values together, in the order the names first arrived.
    let headers = response.headers().iter().map(|(k, v)| (k.as_str().to_owned(), header_text(v.as_bytes()))).collect();
    let body = read_body(response, cap, &out.url).await?;
    Ok(Exchange {
        request_headers: out.headers,
        request_body: out.body,
        status,
        http_version,
        headers,
        fetched_at,
        body,
        remote_ip,
    })
}

/// Streams a body into memory, never holding more than the cap.
async fn read_body(mut response: reqwest::Response, cap: BodyCap, url: &Url) -> Result<Bytes, FetchError> {
    let limit = match cap {
        BodyCap::Fail(n) | BodyCap::Truncate(n) => n,
    };
    let declared = response.content_length();
    if let (BodyCap::Fail(_), Some(len)) = (cap, declared) {
        if len > limit {
            return Err(FetchError::TooLarge { url: url.clone(), limit });
        }
    }
    let mut buf = BytesMut::with_capacity(declared.unwrap_or(0).min(limit).min(1 << 20) as usize);
    while let Some(chunk) = response.chunk().await.map_err(|e| wire_error(url, &e))? {
        let room = (limit - buf.len() as u64) as usize;
        if chunk.len() > room {
            if let BodyCap::Fail(_) = cap {
                return Err(FetchError::TooLarge { url: url.clone(), limit });
            }
            buf.extend_from_slice(&chunk[..room]);
            break;
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// A failure of the client or the wire, with its whole chain of causes in the message.
fn wire_error(url: &Url, e: &reqwest::Error) -> FetchError {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message = format!("{message}: {text}");
        }
        source = cause.source();
    }
    if e.is_builder() {
        FetchError::Request { url: Some(url.clone()), message }
    } else {
        FetchError::Connect { url: url.clone(), message }
    }
}

fn version_name(v: reqwest::Version) -> &'static str {
    match v {
        reqwest::Version::HTTP_09 => "HTTP/0.9",
        reqwest::Version::HTTP_10 => "HTTP/1.0",
        reqwest::Version::HTTP_2 => "HTTP/2.0",
        reqwest::Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

/// A Retry-After value (seconds or an HTTP date) as a wait from `now`, at most [`MAX_RETRY_AFTER`].
pub(crate) fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    let wait = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => httpdate::parse_http_date(value).ok()?.duration_since(now).unwrap_or(Duration::ZERO),
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// The wait before retry number `attempt` (0-based): 0.5 s doubling up to 30 s, plus up to half
/// again of random jitter so that many pages of one host do not retry in step.
pub(crate) fn backoff(attempt: u32) -> Duration {
    let base = Duration::from_millis(500).saturating_mul(1 << attempt.min(6)).min(Duration::from_secs(30));
    base + base.mul_f64(fastrand::f64() / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_both_forms_is_capped() {
        let now = SystemTime::now();
        assert_eq!(retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(retry_after("86400", now), Some(MAX_RETRY_AFTER));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(10));
        let wait = retry_after(&later, now).unwrap();
        assert!(wait <= Duration::from_secs(10) && wait >= Duration::from_secs(9), "{wait:?}");
        let past = httpdate::fmt_http_date(now - Duration::from_secs(10));
        assert_eq!(retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(retry_after("soon", now), None);
    }

    #[test]
    fn backoff_grows_with_jitter_and_is_bounded() {
        for attempt in 0..30 {
            let base = Duration::from_millis(500).saturating_mul(1 << attempt.min(6)).min(Duration::from_secs(30));
            let wait = backoff(attempt);
            assert!(wait >= base && wait <= base.mul_f64(1.5), "{attempt}: {wait:?}");
        }
    }

    #[test]
    fn requests_are_written_down_whole() {
        let url = Url::parse("http://127.0.0.2:8080/module/dataproxy.jsp?x=1").unwrap();
        let form = Method::PostForm(vec![("col".into(), "1".into()), ("q".into(), "年报 a&b".into())]);
        let validators = Validators { etag: Some("\"abc\"".into()), last_modified: None };
        let out = outgoing(&url, &form, &validators, "nianbao-test/1.0");
        assert_eq!(out.method, reqwest::Method::POST);
        let body = out.body.clone().unwrap();
        assert_eq!(String::from_utf8(body).unwrap(), "col=1&q=%E5%B9%B4%E6%8A%A5+a%26b");
        let names: Vec<&str> = out.headers.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "host",
                "user-agent",
                "accept",
                "accept-language",
                "accept-encoding",
                "if-none-match",
                "content-type",
                "content-length"
            ]
        );
        assert_eq!(out.headers[0].1, "127.0.0.2:8080");
        let plain = outgoing(&Url::parse("https://a.gov.cn/").unwrap(), &Method::Get, &Validators::default(), "x");
        assert_eq!(plain.headers[0].1, "a.gov.cn");
        assert!(plain.body.is_none());
        let bad = Validators { etag: Some("a\nb".into()), last_modified: Some("Tue, 01 Dec 2026 00:00:00 GMT".into()) };
        let out = outgoing(&url, &Method::Get, &bad, "x");
        assert!(!out.headers.iter().any(|(k, _)| k == "if-none-match"), "an unsendable ETag is left out");
        assert!(out.headers.iter().any(|(k, _)| k == "if-modified-since"));
    }
}
