//! The crawl's boundary for one portal, so that nianbao never wanders off a 年报 section.

use url::{Host, Url};

use super::canon::canonicalize;
use crate::config::Portal;

/// The crawl's boundary for one portal.
///
/// - List pages: the start URL's host and port, under the start URL's directory or one of the
///   portal's `scope` prefixes.
/// - Reports and attachments: any host of the start URL's registrable domain (`www.dingxi.gov.cn`
///   and `xxgk.dingxi.gov.cn` are one site; `gov.cn` is a public suffix, so `a.gov.cn` and
///   `b.gov.cn` are two). A host without a registrable domain (an IP address, `localhost`) is its
///   own site, port included, so that local test servers on different ports stay apart.
///
/// Only http and https URLs are ever allowed. Scheme does not matter otherwise: portals move
/// between http and https.
#[derive(Debug, Clone)]
pub struct Scope {
    /// Where list pages may live: the start directory first, then the portal's prefixes; all
    /// canonical, compared by host, port and path prefix.
    list_prefixes: Vec<Url>,
    /// The registrable domain (or `host:port`) that reports and attachments must belong to.
    site: String,
}

impl Scope {
    /// The scope of a portal's section, from its start URL and `scope` prefixes.
    pub fn new(portal: &Portal) -> Scope {
        let start = canonicalize(&portal.start);
        let mut dir = start.clone();
        let path = start.path();
        dir.set_path(&path[..path.rfind('/').map_or(path.len(), |i| i + 1)]);
        dir.set_query(None);
        let mut list_prefixes = vec![dir];
        list_prefixes.extend(portal.scope.iter().map(|p| {
            let mut p = canonicalize(p);
            p.set_query(None);
            p
        }));
        let site = site_of(&start).unwrap_or_default();
        Scope { list_prefixes, site }
    }

    /// Whether `url` may be crawled as a list page of this section.
    pub fn allows_list(&self, url: &Url) -> bool {
        if !is_http(url) {
            return false;
        }
        let url = canonicalize(url);
        self.list_prefixes.iter().any(|p| same_authority(p, &url) && url.path().starts_with(p.path()))
    }

    /// Whether `url` may be fetched as a report page: a host of the portal's registrable domain
    /// (Hanweb lists at `/col/colNNN/` link reports at `/art/…`, 集约化 platforms use a second host).
    pub fn allows_report(&self, url: &Url) -> bool {
        is_http(url) && !self.site.is_empty() && site_of(url).is_some_and(|s| s == self.site)
    }

    /// Whether `url` may be fetched as an attachment of a report: the same registrable domain.
    pub fn allows_attachment(&self, url: &Url) -> bool {
        self.allows_report(url)
    }

    /// The registrable domain of the portal (or `host:port` when its host has none).
    pub fn registrable_domain(&self) -> &str {
        &self.site
    }
}

fn is_http(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https")
}

fn same_authority(a: &Url, b: &Url) -> bool {
    a.host_str() == b.host_str() && a.port() == b.port()
}

/// The site a URL belongs to: its registrable domain by the public suffix list, or `host:port`
/// for IP addresses and names that have none.
fn site_of(url: &Url) -> Option<String> {
    let host = url.host()?;
    let domain = match host {
        Host::Domain(d) => psl::domain_str(d).filter(|r| r.contains('.')),
        Host::Ipv4(_) | Host::Ipv6(_) => None,
    };
    Some(match domain {
        Some(d) => d.to_ascii_lowercase(),
        None => format!("{}:{}", url.host_str()?, url.port_or_known_default().unwrap_or(0)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn portal(start: &str, scope: &[&str]) -> Portal {
        Portal {
            name: "t".into(),
            agency: None,
            start: Url::parse(start).unwrap(),
            rate: None,
            scope: scope.iter().map(|s| Url::parse(s).unwrap()).collect(),
            max_pages: None,
            legacy_tls: false,
        }
    }

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn list_scope_is_start_directory_and_prefixes() {
        let s =
            Scope::new(&portal("http://www.dingxi.gov.cn/col/col16516/index.html", &["http://www.dingxi.gov.cn/nb/"]));
        assert!(s.allows_list(&u("http://www.dingxi.gov.cn/col/col16516/index_2.html")));
        assert!(s.allows_list(&u("https://www.dingxi.gov.cn/col/col16516/index.html?uid=1&pageNum=2#x")));
        assert!(s.allows_list(&u("http://www.dingxi.gov.cn/nb/2022/")));
        assert!(!s.allows_list(&u("http://www.dingxi.gov.cn/col/col16517/index.html")));
        assert!(!s.allows_list(&u("http://xxgk.dingxi.gov.cn/col/col16516/index.html")));
        assert!(!s.allows_list(&u("http://www.dingxi.gov.cn:8080/col/col16516/index.html")));
        assert!(!s.allows_list(&u("ftp://www.dingxi.gov.cn/col/col16516/index.html")));
    }

    #[test]
    fn reports_may_live_on_other_hosts_of_the_registrable_domain() {
        let s = Scope::new(&portal("http://www.dingxi.gov.cn/col/col16516/index.html", &[]));
        assert_eq!(s.registrable_domain(), "dingxi.gov.cn");
        assert!(s.allows_report(&u("http://www.dingxi.gov.cn/art/2021/1/25/art_16516_1541057.html")));
        assert!(s.allows_report(&u("https://xxgk.dingxi.gov.cn/art/2021/1/25/art_16516_1541057.html")));
        assert!(s.allows_attachment(&u("http://files.dingxi.gov.cn/P020230131.pdf")));
        assert!(!s.allows_report(&u("http://www.gansu.gov.cn/art/2021/1/25/art_1_1.html")));
        assert!(!s.allows_report(&u("http://gov.cn/x.html")));
        assert!(!s.allows_report(&u("http://dingxi.gov.cn.evil.com/x.html")));
        assert!(!s.allows_attachment(&u("mailto:a@dingxi.gov.cn")));
    }

    #[test]
    fn gov_cn_is_a_public_suffix() {
        let s = Scope::new(&portal("http://a.gov.cn/nb/", &[]));
        assert_eq!(s.registrable_domain(), "a.gov.cn");
        assert!(s.allows_report(&u("http://www.a.gov.cn/x.html")));
        assert!(!s.allows_report(&u("http://b.gov.cn/x.html")));
    }

    #[test]
    fn ip_hosts_are_their_own_site_with_port() {
        let s = Scope::new(&portal("http://127.0.0.1:8123/nb/index.html", &[]));
        assert_eq!(s.registrable_domain(), "127.0.0.1:8123");
        assert!(s.allows_report(&u("http://127.0.0.1:8123/art/1.html")));
        assert!(!s.allows_report(&u("http://127.0.0.1:9000/art/1.html")));
        assert!(s.allows_list(&u("http://127.0.0.1:8123/nb/index_1.html")));
        let s = Scope::new(&portal("http://localhost:8123/nb/", &[]));
        assert!(s.allows_report(&u("http://localhost:8123/x.html")));
        assert!(!s.allows_report(&u("http://localhost:8124/x.html")));
    }
}
