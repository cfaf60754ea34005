//! nianbao: a crawler and archiver for Chinese government information-disclosure annual reports
//! (政府信息公开工作年度报告, "年报").
//!
//! The pipeline, one module per stage, each with a small typed seam:
//!
//! - [`config`]: `config/nianbao.toml` and `seeds.toml`, validated into [`config::Settings`] and
//!   [`config::Portal`]s before any request.
//! - [`fetch`]: polite HTTP — per-host rate limits, robots.txt, retries, body caps — giving a
//!   [`fetch::FetchedPage`] with the raw bytes as received.
//! - [`discover`]: which links of a list page are reports, which are more list pages (including
//!   paging written by JavaScript), which links of a report are attachments; URL canonicalisation.
//! - [`charset`]: header, BOM, `<meta>`, detection; decoding with encoding_rs.
//! - [`clean`]: a page or an attachment into a [`document::Document`] without page chrome.
//! - [`parser`]: the shared parser, a `Document` into a [`parser::Report`] with consistency checks.
//!   It knows nothing of HTTP or storage, so other programs can link it.
//! - [`store`]: the sled archive — frontier, fetches, compressed raw bodies, versions of documents.
//! - [`crawl`]: the engine that walks portals through the stages above, resumably.
//! - [`export`]: archive snapshots as WARC, JSONL and CSV.

pub mod charset;
pub mod clean;
pub mod config;
pub mod crawl;
pub mod discover;
pub mod document;
pub mod export;
pub mod fetch;
pub mod handoff;
mod html;
pub mod inspect;
pub mod lock;
pub mod parser;
pub mod store;
