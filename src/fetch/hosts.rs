//! Per-host politeness: one rate limiter per host name, one robots.txt verdict per origin
//! (scheme, host, port) and run. The limiter ignores scheme and port, so that a portal linking
//! its pages by both http and https is still held to one rate.
//!
//! Each host gets a limiter of its own, because the rate differs by host: the global `per_host_rps`
//! and `per_host_burst`, slowed (never sped up) by the `rate` of a portal on that host and by the
//! host's robots.txt `Crawl-delay`. A keyed limiter would hold every key to one rate.
//! The robots.txt verdict is computed once per origin; until it is known, requests to it wait
//! for it, and a cancelled fetch of it leaves it unknown, so the next request fetches it again.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use texting_robots::Robot;
use tokio::sync::OnceCell;
use url::Url;

/// The longest Crawl-delay obeyed; longer ones (some sites ask for hours) are cut to this, so that a
/// run still ends. Two minutes between requests is still far slower than any browser.
pub(crate) const MAX_CRAWL_DELAY: Duration = Duration::from_secs(120);

/// What robots.txt says about one host for this run.
pub(crate) enum Robots {
    /// No robots.txt (4xx), an empty one, or `obey_robots = false`.
    AllowAll,
    /// A 2xx robots.txt, parsed for our user agent.
    Rules(Box<Robot>),
    /// 5xx or unreachable: the host is not crawled this run.
    Unavailable { reason: String },
    /// An anti-bot wall answered for robots.txt: it will answer for every page too.
    Blocked { status: u16, reason: &'static str },
}

/// One host's limiter and robots.txt verdicts.
pub(crate) struct Host {
    /// Replaced (only ever by a slower one) when robots.txt asks for a Crawl-delay.
    limiter: RwLock<Arc<DefaultDirectRateLimiter>>,
    /// The interval between requests the current limiter keeps.
    period: Duration,
    /// By origin: robots.txt belongs to scheme, host and port together (RFC 9309).
    robots: Mutex<HashMap<String, Arc<OnceCell<Robots>>>>,
}

impl Host {
    fn new(period: Duration, burst: NonZeroU32) -> Host {
        Host { limiter: RwLock::new(Arc::new(limiter(period, burst))), period, robots: Mutex::new(HashMap::new()) }
    }

    /// The robots.txt verdict of `url`'s origin, filled by the first request that needs it.
    pub(crate) fn robots(&self, url: &Url) -> Arc<OnceCell<Robots>> {
        let origin = format!("{}://{}:{}", url.scheme(), host_key(url), url.port_or_known_default().unwrap_or(0));
        let mut robots = self.robots.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(robots.entry(origin).or_default())
    }

    /// Waits until this host may receive another request.
    pub(crate) async fn ready(&self) {
        let limiter = Arc::clone(&self.limiter.read().unwrap_or_else(|e| e.into_inner()));
        limiter.until_ready().await;
    }

    /// Obeys a robots.txt Crawl-delay when it is slower than the configured rate: from now on one
    /// request per `delay` (at most [`MAX_CRAWL_DELAY`]), with no burst. The robots.txt request just
    /// made counts as the first, so the next one waits a whole delay.
    pub(crate) fn slow_to(&self, delay: Duration) {
        let delay = delay.min(MAX_CRAWL_DELAY);
        if delay <= self.period {
            return;
        }
        let slower = limiter(delay, NonZeroU32::MIN);
        let _ = slower.check();
        *self.limiter.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(slower);
    }
}

fn limiter(period: Duration, burst: NonZeroU32) -> DefaultDirectRateLimiter {
    let quota = Quota::with_period(period).unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX));
    RateLimiter::direct(quota.allow_burst(burst))
}

/// Every host seen this run, created on first use.
pub(crate) struct Hosts {
    /// The configured interval between requests to one host.
    period: Duration,
    burst: NonZeroU32,
    /// Slower intervals that portals' `rate` asks for, by host key.
    portal_periods: HashMap<String, Duration>,
    hosts: Mutex<HashMap<String, Arc<Host>>>,
}

impl Hosts {
    /// `portal_rates` are (a URL on the host, the portal's requests per second).
    pub(crate) fn new(per_host_rps: f64, burst: NonZeroU32, portal_rates: &[(&Url, f64)]) -> Hosts {
        let period = period_of(per_host_rps);
        let mut portal_periods: HashMap<String, Duration> = HashMap::new();
        for (url, rate) in portal_rates {
            let slowest = portal_periods.entry(host_key(url)).or_insert(Duration::ZERO);
            *slowest = (*slowest).max(period_of(*rate));
        }
        Hosts { period, burst, portal_periods, hosts: Mutex::new(HashMap::new()) }
    }

    /// The state of `url`'s host.
    pub(crate) fn get(&self, url: &Url) -> Arc<Host> {
        let key = host_key(url);
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        let host = hosts.entry(key).or_insert_with_key(|key| {
            let portal = self.portal_periods.get(key).copied().unwrap_or(Duration::ZERO);
            let period = self.period.max(portal);
            // A portal that slows its host also loses the burst: its rate is a ceiling.
            let burst = if portal > self.period { NonZeroU32::MIN } else { self.burst };
            Arc::new(Host::new(period, burst))
        });
        Arc::clone(host)
    }
}

/// The slowest configured rate kept: one request an hour.
const SLOWEST_PERIOD: Duration = Duration::from_secs(3600);

/// The interval between requests that `rps` requests per second means (config keeps it positive).
fn period_of(rps: f64) -> Duration {
    Duration::try_from_secs_f64(1.0 / rps).unwrap_or(SLOWEST_PERIOD).min(SLOWEST_PERIOD)
}

/// Which host a URL belongs to for politeness: its host name (or address).
fn host_key(url: &Url) -> String {
    url.host_str().unwrap_or_default().to_owned()
}

/// The robots.txt product token of a User-Agent value: `nianbao` of `nianbao/0.1 (+https://…)`.
pub(crate) fn robots_agent(user_agent: &str) -> String {
    let token: String = user_agent.trim().chars().take_while(|c| *c != '/' && !c.is_whitespace()).collect();
    token.to_lowercase()
}

/// Reads a 2xx robots.txt for `agent`. An unparseable file allows everything, as crawlers do;
/// texting_robots is run under `catch_unwind` because its parser once had a panicking input.
pub(crate) fn parse_robots(agent: &str, body: &[u8]) -> (Robots, Option<Duration>) {
    let parsed = std::panic::catch_unwind(|| Robot::new(agent, body));
    match parsed {
        Ok(Ok(robot)) => {
            let delay = robot.delay.and_then(|d| Duration::try_from_secs_f32(d).ok()).filter(|d| !d.is_zero());
            (Robots::Rules(Box::new(robot)), delay)
        }
        _ => (Robots::AllowAll, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn agent_token_is_the_product_name() {
        assert_eq!(robots_agent("nianbao/0.1 (+https://example.org/nianbao)"), "nianbao");
        assert_eq!(robots_agent("nianbao-test/1.0"), "nianbao-test");
        assert_eq!(robots_agent("Bot"), "bot");
    }

    #[test]
    fn robots_rules_for_our_agent() {
        let txt = b"User-agent: *\nDisallow: /\n\nUser-agent: nianbao\nDisallow: /private/\nAllow: /private/nb/\nCrawl-delay: 2\n";
        let (robots, delay) = parse_robots("nianbao", txt);
        let Robots::Rules(robot) = robots else { panic!("rules expected") };
        assert!(robot.allowed("http://a.gov.cn/nb/1.htm"));
        assert!(!robot.allowed("http://a.gov.cn/private/x.htm"));
        assert!(robot.allowed("http://a.gov.cn/private/nb/x.htm"));
        assert_eq!(delay, Some(Duration::from_secs(2)));
        let (robots, _) = parse_robots("other", txt);
        let Robots::Rules(robot) = robots else { panic!("rules expected") };
        assert!(!robot.allowed("http://a.gov.cn/nb/1.htm"), "the * group applies to others");
    }

    #[test]
    fn portal_rate_only_slows_its_host() {
        let slow = url("http://127.0.0.4:8080/nb/");
        let hosts = Hosts::new(10.0, NonZeroU32::new(3).unwrap(), &[(&slow, 2.0), (&slow, 20.0)]);
        assert_eq!(hosts.get(&slow).period, Duration::from_millis(500));
        assert_eq!(hosts.get(&url("http://127.0.0.3:8080/")).period, Duration::from_millis(100));
        let fast = Hosts::new(1.0, NonZeroU32::MIN, &[(&slow, 50.0)]);
        assert_eq!(fast.get(&slow).period, Duration::from_secs(1), "a faster portal rate is ignored");
        let same_host = hosts.get(&url("https://127.0.0.4/other"));
        assert!(Arc::ptr_eq(&hosts.get(&slow), &same_host), "one limiter whatever the scheme and port");
        let (a, b) = (same_host.robots(&slow), same_host.robots(&url("http://127.0.0.4:8080/x?y")));
        assert!(Arc::ptr_eq(&a, &b), "one robots.txt per origin");
        assert!(!Arc::ptr_eq(&a, &same_host.robots(&url("https://127.0.0.4/x"))), "another origin, another robots.txt");
    }

    #[test]
    fn crawl_delay_only_slows_and_is_capped() {
        let host = Host::new(Duration::from_millis(500), NonZeroU32::MIN);
        host.slow_to(Duration::from_millis(100));
        assert!(host.limiter.read().unwrap().check().is_ok(), "a faster delay changes nothing");
        host.slow_to(Duration::from_secs(3600));
        assert!(host.limiter.read().unwrap().check().is_err(), "the robots.txt request used the first cell");
    }

    proptest::proptest! {
        #[test]
        fn any_robots_txt_is_read_without_panic(body in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let (robots, _) = parse_robots("nianbao", &body);
            if let Robots::Rules(robot) = robots {
                let _ = robot.allowed("http://a.gov.cn/x");
            }
        }
    }
}
