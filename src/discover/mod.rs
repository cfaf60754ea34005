//! Walking a 年报 section: which links of a list page are reports, which are further list pages
//! (including paging written by JavaScript), which links of a report page are attachments, the
//! crawl's scope, URL canonicalisation and crawler-trap limits.
//!
//! Everything here is pure and synchronous: HTML (or XML) text and URLs in, URLs out. The crawl
//! engine fetches, this module only reads what was fetched.
//!
//! Invariants:
//! - Every URL handed out is [`canonicalize`]d, passes its [`Scope`] check and is not [`is_trap`].
//! - Results are deduplicated and keep document order, so the frontier is filled deterministically.
//! - No input makes these functions panic; malformed markup or URLs only yield fewer links.
//! - Selectors and regexes are compiled once (`LazyLock`), never per page.

mod attachment;
mod canon;
mod dataproxy;
mod list;
mod markup;
mod paging;
mod scope;

use serde::{Deserialize, Serialize};
use url::Url;

pub use attachment::{is_attachment_response, looks_like_attachment, read_parsed_report_page, read_report_page};
pub use canon::{canonicalize, is_trap};
pub use dataproxy::{read_dataproxy_response, DataProxyQuery};
pub use list::{read_list_page, ListPage};
pub use scope::Scope;

/// A link found on a page.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Link {
    /// Canonical, so it can key the frontier and the archive directly.
    pub url: Url,
    /// The link's visible text, or its `title` when the text is empty or cut short ("…"); a
    /// report's title as the list shows it, kept for logs and as a fallback title.
    pub text: String,
}
