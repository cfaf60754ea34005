//! Why a fetch gave no page. Every variant that concerns a request names its URL, so that a
//! failure recorded on a page or printed in a log says where it happened.

use std::time::Duration;

use url::Url;

/// A request that produced no usable answer. [`FetchError::kind`] is the stable name the archive
/// stores and the run summary counts.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The cancel token fired; the crawl drops the page silently and picks it up next run.
    #[error("cancelled before the server answered")]
    Cancelled,
    /// The request could not be made at all (not a URL, an unsendable form, a client failure).
    #[error("{}: {message}", url.as_ref().map_or("(no URL)", Url::as_str))]
    Request { url: Option<Url>, message: String },
    /// A bot wall (瑞数 412 `$_ts`, 加速乐 521, a JavaScript cookie challenge) answered instead of the page.
    #[error("{url}: blocked by an anti-bot wall ({reason}, HTTP {status}); the page needs a browser")]
    Blocked { url: Url, status: u16, reason: &'static str },
    /// The final answer was neither 2xx nor 304.
    #[error("{url}: the server answered HTTP {status}")]
    Status { url: Url, status: u16 },
    /// No complete answer within `timeout_secs` (headers and body together).
    #[error("{url}: no complete answer within {}s (crawl.timeout_secs)", after.as_secs_f64())]
    Timeout { url: Url, after: Duration },
    /// The body was larger than `max_body_bytes`; it was cut off, not stored.
    #[error("{url}: the body is larger than {limit} bytes (crawl.max_body_bytes)")]
    TooLarge { url: Url, limit: u64 },
    /// Connecting failed or the connection broke (refused, reset, DNS, TLS).
    #[error("{url}: connection failed: {message}")]
    Connect { url: Url, message: String },
    /// robots.txt of the host forbids this URL to our user agent; it was not requested.
    #[error("{url}: disallowed by robots.txt (set crawl.obey_robots = false only with the site's consent)")]
    RobotsDisallowed { url: Url },
    /// robots.txt of the host could not be read (5xx, unreachable), so the host is left alone this run.
    #[error("{url}: host skipped this run, its robots.txt could not be read: {reason}")]
    RobotsUnavailable { url: Url, reason: String },
    /// More redirect hops than `max_redirects`.
    #[error("{url}: more than {limit} redirects (crawl.max_redirects)")]
    TooManyRedirects { url: Url, limit: usize },
    /// A redirect led back to a URL already visited in the same chain.
    #[error("{url}: redirect loop back to {to}")]
    RedirectLoop { url: Url, to: String },
    /// A redirect whose Location is missing or not a usable http(s) URL.
    #[error("{url}: HTTP {status} redirect to an unusable location {location:?}")]
    BadRedirect { url: Url, status: u16, location: String },
}

impl FetchError {
    /// A stable snake_case name for the failure, stored on the page and summarised per portal.
    pub fn kind(&self) -> &'static str {
        match self {
            FetchError::Cancelled => "cancelled",
            FetchError::Request { .. } => "request",
            FetchError::Blocked { .. } => "blocked",
            FetchError::Status { status, .. } => status_kind(*status),
            FetchError::Timeout { .. } => "timeout",
            FetchError::TooLarge { .. } => "too_large",
            FetchError::Connect { .. } => "connect",
            FetchError::RobotsDisallowed { .. } => "robots_disallowed",
            FetchError::RobotsUnavailable { .. } => "robots_unavailable",
            FetchError::TooManyRedirects { .. } => "too_many_redirects",
            FetchError::RedirectLoop { .. } => "redirect_loop",
            FetchError::BadRedirect { .. } => "bad_redirect",
        }
    }

    /// Whether trying the same request again may succeed: timeouts, broken connections, 429, 5xx.
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            FetchError::Timeout { .. } | FetchError::Connect { .. } => true,
            FetchError::Status { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }
}

fn status_kind(status: u16) -> &'static str {
    match status {
        404 => "http_404",
        410 => "http_410",
        403 => "http_403",
        429 => "http_429",
        300..=399 => "http_3xx",
        400..=499 => "http_4xx",
        500..=599 => "http_5xx",
        _ => "http_other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> Url {
        Url::parse("http://127.0.0.1/nb/a.htm").unwrap()
    }

    #[test]
    fn status_kinds_are_stable() {
        let kind = |status| FetchError::Status { url: url(), status }.kind();
        assert_eq!(kind(404), "http_404");
        assert_eq!(kind(410), "http_410");
        assert_eq!(kind(403), "http_403");
        assert_eq!(kind(429), "http_429");
        assert_eq!(kind(400), "http_4xx");
        assert_eq!(kind(502), "http_5xx");
        assert_eq!(kind(300), "http_3xx");
    }

    #[test]
    fn messages_name_the_url() {
        let errors = [
            FetchError::Timeout { url: url(), after: Duration::from_secs(2) },
            FetchError::TooLarge { url: url(), limit: 10 },
            FetchError::Blocked { url: url(), status: 412, reason: "瑞数 $_ts" },
            FetchError::RobotsDisallowed { url: url() },
            FetchError::Request { url: Some(url()), message: "bad".into() },
        ];
        for e in errors {
            assert!(e.to_string().contains("http://127.0.0.1/nb/a.htm"), "{e}");
        }
    }

    #[test]
    fn only_transient_failures_are_retried() {
        assert!(FetchError::Status { url: url(), status: 503 }.is_transient());
        assert!(FetchError::Status { url: url(), status: 429 }.is_transient());
        assert!(!FetchError::Status { url: url(), status: 404 }.is_transient());
        assert!(!FetchError::Blocked { url: url(), status: 521, reason: "加速乐" }.is_transient());
        assert!(!FetchError::TooLarge { url: url(), limit: 1 }.is_transient());
    }
}
