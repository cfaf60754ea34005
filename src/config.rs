//! Configuration and seeds: read, validated, and turned into typed [`Settings`] and [`Portal`]s
//! before any request is sent.
//!
//! Two layers: the raw files are deserialised with `deny_unknown_fields` (so a misspelt key is an
//! error naming it and its line), then checked and converted once into typed values. Everything past
//! this module trusts what it is given.

use std::num::NonZeroU32;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;
use url::Url;

/// A problem in the config or seeds file; always names the file, and the line where it can.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{file}: cannot read: {source}")]
    Read {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}: {message}")]
    Syntax { file: PathBuf, line: usize, message: String },
    #[error("{file}:{line}: `{key}`: {message}")]
    Invalid { file: PathBuf, line: usize, key: String, message: String },
}

/// The validated program settings (`config/nianbao.toml`).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where the sled archive lives, unless `--db` says otherwise.
    pub db_path: PathBuf,
    /// Sent with every request, so that portal operators know who is calling.
    pub user_agent: String,
    pub crawl: CrawlSettings,
}

/// How politely and how far to crawl.
#[derive(Debug, Clone)]
pub struct CrawlSettings {
    /// Sustained requests per second to one host.
    pub per_host_rps: f64,
    /// Requests a host may receive at once after a quiet spell.
    pub per_host_burst: NonZeroU32,
    /// Requests in flight across all hosts.
    pub max_concurrency: usize,
    /// Limit on a whole request, headers and body.
    pub timeout: Duration,
    /// Limit on connecting, so that a dead host fails fast.
    pub connect_timeout: Duration,
    /// Larger responses are cut off and recorded as failures.
    pub max_body_bytes: u64,
    /// Retries for timeouts, connection errors, 429 and 5xx.
    pub retries: u32,
    pub obey_robots: bool,
    pub max_pages_per_portal: u64,
    /// Held pages older than this are revalidated; zero means every run.
    pub revisit_after: Duration,
    /// Consecutive list pages without a new report link before paging stops (trap guard).
    pub max_barren_list_pages: u32,
    /// Redirect hops followed for one request.
    pub max_redirects: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            db_path: PathBuf::from("data/nianbao.sled"),
            user_agent: concat!("nianbao/", env!("CARGO_PKG_VERSION"), " (+https://example.org/nianbao)").into(),
            crawl: CrawlSettings::default(),
        }
    }
}

impl Default for CrawlSettings {
    fn default() -> Self {
        CrawlSettings {
            per_host_rps: 1.0,
            per_host_burst: NonZeroU32::MIN,
            max_concurrency: 64,
            timeout: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(10),
            max_body_bytes: 16 * 1024 * 1024,
            retries: 3,
            obey_robots: true,
            max_pages_per_portal: 20_000,
            revisit_after: Duration::from_secs(168 * 3600),
            max_barren_list_pages: 3,
            max_redirects: 10,
        }
    }
}

/// One 年报 section to crawl, from `seeds.toml`.
#[derive(Debug, Clone, PartialEq)]
pub struct Portal {
    /// Unique, `[a-z0-9-]`: the key under which the archive files everything from this portal.
    pub name: String,
    /// Who publishes there, when known.
    pub agency: Option<String>,
    /// The section's first list page.
    pub start: Url,
    /// A slower rate than the global one for this portal's host, in requests per second.
    pub rate: Option<f64>,
    /// URL prefixes list pages may live under, besides the start URL's directory.
    pub scope: Vec<Url>,
    /// Overrides `max_pages_per_portal`.
    pub max_pages: Option<u64>,
    /// Use the legacy TLS client (TLS 1.0/1.1 servers that rustls refuses).
    pub legacy_tls: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    db_path: Option<Spanned<String>>,
    user_agent: Option<Spanned<String>>,
    crawl: Option<RawCrawl>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCrawl {
    per_host_rps: Option<Spanned<f64>>,
    per_host_burst: Option<Spanned<i64>>,
    max_concurrency: Option<Spanned<i64>>,
    timeout_secs: Option<Spanned<f64>>,
    connect_timeout_secs: Option<Spanned<f64>>,
    max_body_bytes: Option<Spanned<i64>>,
    retries: Option<Spanned<i64>>,
    obey_robots: Option<bool>,
    max_pages_per_portal: Option<Spanned<i64>>,
    revisit_after_hours: Option<Spanned<f64>>,
    max_barren_list_pages: Option<Spanned<i64>>,
    max_redirects: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSeeds {
    #[serde(default)]
    portal: Vec<Spanned<RawPortal>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPortal {
    name: Spanned<String>,
    agency: Option<String>,
    start: Spanned<String>,
    rate: Option<Spanned<f64>>,
    #[serde(default)]
    scope: Vec<Spanned<String>>,
    max_pages: Option<Spanned<i64>>,
    tls: Option<Spanned<String>>,
}

/// Reads and validates the config file. A missing file at the default path means defaults.
pub fn load_settings(path: &Path, must_exist: bool) -> Result<Settings, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => return Ok(Settings::default()),
        Err(source) => return Err(ConfigError::Read { file: path.into(), source }),
    };
    parse_settings(path, &text)
}

/// Validates config text; `path` is only used in messages.
pub fn parse_settings(path: &Path, text: &str) -> Result<Settings, ConfigError> {
    let raw: RawConfig = toml::from_str(text).map_err(|e| syntax(path, text, &e))?;
    let ctx = Ctx { file: path, text };
    let mut s = Settings::default();
    if let Some(p) = raw.db_path {
        ctx.check(!p.get_ref().trim().is_empty(), "db_path", p.span(), "must not be empty")?;
        s.db_path = PathBuf::from(p.into_inner());
    }
    if let Some(ua) = raw.user_agent {
        let ok = !ua.get_ref().trim().is_empty() && reqwest::header::HeaderValue::from_str(ua.get_ref()).is_ok();
        ctx.check(ok, "user_agent", ua.span(), "must be a non-empty, single-line header value")?;
        s.user_agent = ua.into_inner();
    }
    if let Some(c) = raw.crawl {
        let d = &mut s.crawl;
        if let Some(v) = c.per_host_rps {
            d.per_host_rps = ctx.positive_f64("crawl.per_host_rps", &v)?;
        }
        if let Some(v) = c.per_host_burst {
            d.per_host_burst =
                NonZeroU32::new(ctx.int_in("crawl.per_host_burst", &v, 1, 10_000)? as u32).unwrap_or(NonZeroU32::MIN);
        }
        if let Some(v) = c.max_concurrency {
            d.max_concurrency = ctx.int_in("crawl.max_concurrency", &v, 1, 10_000)? as usize;
        }
        if let Some(v) = c.timeout_secs {
            d.timeout = Duration::from_secs_f64(ctx.positive_f64("crawl.timeout_secs", &v)?);
        }
        if let Some(v) = c.connect_timeout_secs {
            d.connect_timeout = Duration::from_secs_f64(ctx.positive_f64("crawl.connect_timeout_secs", &v)?);
        }
        if let Some(v) = c.max_body_bytes {
            d.max_body_bytes = ctx.int_in("crawl.max_body_bytes", &v, 1, i64::MAX)? as u64;
        }
        if let Some(v) = c.retries {
            d.retries = ctx.int_in("crawl.retries", &v, 0, 20)? as u32;
        }
        if let Some(v) = c.obey_robots {
            d.obey_robots = v;
        }
        if let Some(v) = c.max_pages_per_portal {
            d.max_pages_per_portal = ctx.int_in("crawl.max_pages_per_portal", &v, 1, i64::MAX)? as u64;
        }
        if let Some(v) = c.revisit_after_hours {
            let h = *v.get_ref();
            ctx.check(h.is_finite() && h >= 0.0, "crawl.revisit_after_hours", v.span(), "must be zero or more")?;
            // A huge number means "never"; `from_secs_f64` would panic past Duration's range.
            d.revisit_after = Duration::try_from_secs_f64(h * 3600.0).unwrap_or(Duration::MAX);
        }
        if let Some(v) = c.max_barren_list_pages {
            d.max_barren_list_pages = ctx.int_in("crawl.max_barren_list_pages", &v, 1, 1000)? as u32;
        }
        if let Some(v) = c.max_redirects {
            d.max_redirects = ctx.int_in("crawl.max_redirects", &v, 0, 50)? as usize;
        }
    }
    Ok(s)
}

/// Reads and validates the seeds file.
pub fn load_portals(path: &Path) -> Result<Vec<Portal>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { file: path.into(), source })?;
    parse_portals(path, &text)
}

/// Validates seeds text; `path` is only used in messages.
pub fn parse_portals(path: &Path, text: &str) -> Result<Vec<Portal>, ConfigError> {
    let raw: RawSeeds = toml::from_str(text).map_err(|e| syntax(path, text, &e))?;
    let ctx = Ctx { file: path, text };
    let mut portals: Vec<Portal> = Vec::with_capacity(raw.portal.len());
    for entry in raw.portal {
        let p = entry.into_inner();
        let name = p.name.get_ref();
        let valid_name = !name.is_empty()
            && name.len() <= 64
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        ctx.check(valid_name, "name", p.name.span(), "must be 1–64 characters of [a-z0-9-]")?;
        ctx.check(
            !portals.iter().any(|q| &q.name == name),
            "name",
            p.name.span(),
            &format!("duplicate portal name {name:?}"),
        )?;
        let start = ctx.http_url("start", &p.start)?;
        let rate = match p.rate {
            Some(r) => Some(ctx.positive_f64("rate", &r)?),
            None => None,
        };
        let scope = p.scope.iter().map(|s| ctx.http_url("scope", s)).collect::<Result<Vec<_>, _>>()?;
        let max_pages = match p.max_pages {
            Some(m) => Some(ctx.int_in("max_pages", &m, 1, i64::MAX)? as u64),
            None => None,
        };
        let legacy_tls = match &p.tls {
            None => false,
            Some(t) => match t.get_ref().as_str() {
                "modern" => false,
                "legacy" => true,
                _ => return Err(ctx.invalid("tls", t.span(), "must be \"modern\" or \"legacy\"")),
            },
        };
        portals.push(Portal {
            name: p.name.into_inner(),
            agency: p.agency.filter(|a| !a.trim().is_empty()),
            start,
            rate,
            scope,
            max_pages,
            legacy_tls,
        });
    }
    Ok(portals)
}

/// Where in which file: turns byte spans into line numbers for messages.
struct Ctx<'a> {
    file: &'a Path,
    text: &'a str,
}

impl Ctx<'_> {
    fn invalid(&self, key: &str, span: Range<usize>, message: &str) -> ConfigError {
        ConfigError::Invalid {
            file: self.file.into(),
            line: line_of(self.text, span.start),
            key: key.into(),
            message: message.into(),
        }
    }

    fn check(&self, ok: bool, key: &str, span: Range<usize>, message: &str) -> Result<(), ConfigError> {
        if ok {
            Ok(())
        } else {
            Err(self.invalid(key, span, message))
        }
    }

    fn positive_f64(&self, key: &str, v: &Spanned<f64>) -> Result<f64, ConfigError> {
        let x = *v.get_ref();
        self.check(x.is_finite() && x > 0.0, key, v.span(), &format!("must be a number above zero, not {x}"))?;
        Ok(x)
    }

    fn int_in(&self, key: &str, v: &Spanned<i64>, lo: i64, hi: i64) -> Result<i64, ConfigError> {
        let x = *v.get_ref();
        self.check((lo..=hi).contains(&x), key, v.span(), &format!("must be between {lo} and {hi}, not {x}"))?;
        Ok(x)
    }

    fn http_url(&self, key: &str, v: &Spanned<String>) -> Result<Url, ConfigError> {
        let url = Url::parse(v.get_ref().trim())
            .map_err(|e| self.invalid(key, v.span(), &format!("not a URL ({e}): {:?}", v.get_ref())))?;
        let ok = matches!(url.scheme(), "http" | "https") && url.host_str().is_some_and(|h| !h.is_empty());
        self.check(ok, key, v.span(), &format!("must be an http(s) URL with a host, not {:?}", v.get_ref()))?;
        Ok(url)
    }
}

fn syntax(file: &Path, text: &str, e: &toml::de::Error) -> ConfigError {
    ConfigError::Syntax {
        file: file.into(),
        line: e.span().map_or(0, |s| line_of(text, s.start)),
        message: e.message().to_string(),
    }
}

/// 1-based line number of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeds(text: &str) -> Result<Vec<Portal>, ConfigError> {
        parse_portals(Path::new("seeds.toml"), text)
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let err = seeds("[[portal]]\nname = \"a\"\nstart = \"https://x.gov.cn/nb/\"\nrat = 2\n").unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("seeds.toml:4:"), "{msg}");
        assert!(msg.contains("rat"), "{msg}");
    }

    #[test]
    fn duplicate_names_and_bad_urls_are_rejected_with_lines() {
        let text = "[[portal]]\nname = \"a\"\nstart = \"https://x.gov.cn/nb/\"\n[[portal]]\nname = \"a\"\nstart = \"https://y.gov.cn/\"\n";
        let msg = seeds(text).unwrap_err().to_string();
        assert!(msg.starts_with("seeds.toml:5:") && msg.contains("duplicate"), "{msg}");
        let msg = seeds("[[portal]]\nname = \"b\"\nstart = \"ftp://x.gov.cn/\"\n").unwrap_err().to_string();
        assert!(msg.starts_with("seeds.toml:3:") && msg.contains("`start`"), "{msg}");
        let msg = seeds("[[portal]]\nname = \"B_1\"\nstart = \"https://x.gov.cn/\"\n").unwrap_err().to_string();
        assert!(msg.starts_with("seeds.toml:2:") && msg.contains("`name`"), "{msg}");
    }

    #[test]
    fn config_numbers_are_checked() {
        let msg = parse_settings(Path::new("c.toml"), "[crawl]\nper_host_rps = 0\n").unwrap_err().to_string();
        assert!(msg.starts_with("c.toml:2:") && msg.contains("crawl.per_host_rps"), "{msg}");
        let msg = parse_settings(Path::new("c.toml"), "[crawl]\nretries = -1\n").unwrap_err().to_string();
        assert!(msg.contains("crawl.retries"), "{msg}");
        let msg = parse_settings(Path::new("c.toml"), "[crawl]\nspeed = 3\n").unwrap_err().to_string();
        assert!(msg.starts_with("c.toml:2:") && msg.contains("speed"), "{msg}");
        let s = parse_settings(
            Path::new("c.toml"),
            "user_agent = \"t\"\n[crawl]\nper_host_rps = 2.5\nrevisit_after_hours = 0\n",
        )
        .unwrap();
        assert_eq!(s.crawl.per_host_rps, 2.5);
        assert_eq!(s.crawl.revisit_after, Duration::ZERO);
        // "Never", as a huge number: no panic past Duration's range.
        let s = parse_settings(Path::new("c.toml"), "[crawl]\nrevisit_after_hours = 1e300\n").unwrap();
        assert_eq!(s.crawl.revisit_after, Duration::MAX);
    }

    #[test]
    fn shipped_files_are_valid() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        load_settings(&root.join("config/nianbao.toml"), true).unwrap();
        let portals = load_portals(&root.join("seeds.toml")).unwrap();
        assert!(portals.len() >= 10);
    }
}
