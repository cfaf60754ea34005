//! `archive.warc.gz`: every selected fetch as WARC/1.1 records, one gzip member per record.
//!
//! The file opens with a `warcinfo` record. Then, per fetch, oldest first:
//! - a `request` record: request line, the request headers as sent, CRLF, and a POST's body;
//! - a `response` record: status line (`HTTP/1.1 200 OK`, the reason phrase from the status code),
//!   the response headers as received, CRLF, and the body exactly as received from its blob;
//! - or, instead of the response, a `revisit` record (headers only) when the body was not sent again:
//!   profile `identical-payload-digest` for an unchanged refetch (`FetchRecord::same_as`), referring
//!   to the response that holds the body; profile `server-not-modified` for a 304, referring to the
//!   response holding the body it revalidated;
//! - when redirects were followed, a `metadata` record (`application/warc-fields`) whose target is
//!   the URL first requested, listing each hop as `redirect: STATUS FROM TO`. The fetcher keeps only
//!   the final response, so the request and response records target the final URL, where that
//!   response came from; readers index and replay them under it, and the metadata record says how
//!   the requested URL led there.
//!
//! Every record has `WARC-Record-ID`, `WARC-Date` (the fetch time), `WARC-Block-Digest`; requests,
//! responses and revisits also `WARC-Target-URI`, `WARC-Payload-Digest`, `WARC-Concurrent-To`
//! (request ↔ response) and `WARC-IP-Address` when known. Digests are `sha1:` base32, as Heritrix
//! and wget write them. Record ids are name-based UUIDs derived from the fetch, so exporting the
//! same archive twice names the same records alike and a revisit can name its original without a
//! lookup table of ids.
//!
//! A revisit only ever refers to a response in this same file: when the fetch holding the body was
//! not selected (`--since`, `--portal`), the unchanged refetch is written as a full response instead,
//! so that every snapshot replays on its own. A 304 whose revalidated body is not in the file is a
//! revisit without `WARC-Refers-To` and without a payload digest (there is no payload to digest, and
//! claiming the empty one would make replay tools serve an empty page).
//!
//! Memory: one body at a time, plus, per URL exported, the fetch that last brought its body and the
//! response that holds it (for the revisits).

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use chrono::{DateTime, SecondsFormat, Utc};
use flate2::write::GzEncoder;
use flate2::Compression;
use sha1::{Digest, Sha1};

use super::manifest::{FileEntry, HashedFile};
use super::{ExportError, Selection, SnapshotFile};
use crate::store::{FetchRecord, Store};

/// The WARC file's name inside the snapshot.
pub(super) const WARC: &str = "archive.warc.gz";

const PROFILE_IDENTICAL: &str = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest";
const PROFILE_NOT_MODIFIED: &str = "http://netpreserve.org/warc/1.1/revisit/server-not-modified";

/// The WARC being written.
pub(super) struct WarcFile<'s> {
    file: HashedFile,
    store: &'s Store,
    records: u64,
    /// Requested URL → the newest exported fetch of it that brought a body, and the fetch whose
    /// response record holds that body (itself, or the original its revisit refers to).
    held: HashMap<String, Held>,
}

#[derive(Debug, Clone, Copy)]
struct Held {
    latest: u64,
    holder: u64,
}

/// One WARC record about to be written.
struct Record<'a> {
    kind: &'static str,
    id: String,
    date: DateTime<Utc>,
    target: Option<&'a str>,
    /// Further named fields, in order (after the target, before the digests).
    fields: Vec<(&'static str, String)>,
    content_type: &'static str,
    /// `None` for records without an HTTP payload (warcinfo, metadata) and for a 304 whose body is
    /// not in the file.
    payload_digest: Option<String>,
    block: &'a [&'a [u8]],
}

impl<'s> WarcFile<'s> {
    /// Creates the file in `dir` and writes its `warcinfo` record.
    pub(super) fn create(
        dir: &Path,
        store: &'s Store,
        selection: &Selection,
        exported_at: DateTime<Utc>,
    ) -> Result<WarcFile<'s>, ExportError> {
        let mut warc = WarcFile { file: HashedFile::create(dir, WARC)?, store, records: 0, held: HashMap::new() };
        let portals = if selection.portals.is_empty() { "all".to_owned() } else { selection.portals.join(", ") };
        let since = selection.since.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_else(|| "none".into());
        let info = format!(
            "software: {}/{}\r\nformat: WARC File Format 1.1\r\n\
             conformsTo: http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/\r\n\
             description: nianbao archive snapshot of government information-disclosure annual reports\r\n\
             portals: {}\r\nsince: {}\r\n",
            env!("CARGO_PKG_NAME"),
            env!("CARGO_PKG_VERSION"),
            field_value(&portals),
            since
        );
        warc.write(Record {
            kind: "warcinfo",
            id: format!("<urn:uuid:{}>", uuid::Uuid::new_v4()),
            date: exported_at,
            target: None,
            fields: vec![("WARC-Filename", WARC.to_owned())],
            content_type: "application/warc-fields",
            payload_digest: None,
            block: &[info.as_bytes()],
        })?;
        Ok(warc)
    }

    fn write(&mut self, record: Record<'_>) -> Result<(), ExportError> {
        let length: usize = record.block.iter().map(|part| part.len()).sum();
        let mut block_digest = Sha1::new();
        record.block.iter().for_each(|part| block_digest.update(part));
        let mut head = format!("WARC/1.1\r\nWARC-Type: {}\r\nWARC-Record-ID: {}\r\n", record.kind, record.id);
        head.push_str(&format!("WARC-Date: {}\r\n", record.date.to_rfc3339_opts(SecondsFormat::Secs, true)));
        if let Some(target) = record.target {
            head.push_str(&format!("WARC-Target-URI: {}\r\n", field_value(target)));
        }
        for (name, value) in &record.fields {
            head.push_str(&format!("{name}: {}\r\n", field_value(value)));
        }
        if let Some(digest) = &record.payload_digest {
            head.push_str(&format!("WARC-Payload-Digest: sha1:{digest}\r\n"));
        }
        head.push_str(&format!("WARC-Block-Digest: sha1:{}\r\n", base32(&block_digest.finalize())));
        head.push_str(&format!("Content-Type: {}\r\nContent-Length: {length}\r\n\r\n", record.content_type));
        let path = self.file.path.clone();
        let mut member = GzEncoder::new(&mut self.file, Compression::default());
        let written = (|| {
            member.write_all(head.as_bytes())?;
            record.block.iter().try_for_each(|part| member.write_all(part))?;
            member.write_all(b"\r\n\r\n")?;
            member.finish().map(drop)
        })();
        written.map_err(|source| ExportError::Io { path, source })?;
        self.records += 1;
        Ok(())
    }

    fn request(&mut self, fetch: &FetchRecord, request_id: &str, response_id: &str) -> Result<(), ExportError> {
        let body = fetch.request_body.as_deref().unwrap_or_default().as_bytes();
        let head = request_head(fetch);
        self.write(Record {
            kind: "request",
            id: request_id.to_owned(),
            date: fetch.fetched_at,
            target: Some(&fetch.final_url),
            fields: exchange_fields(fetch, response_id),
            content_type: "application/http;msgtype=request",
            payload_digest: Some(sha1_base32(body)),
            block: &[&head, body],
        })
    }

    fn response(&mut self, fetch: &FetchRecord, sha256: &str, ids: (&str, &str)) -> Result<(), ExportError> {
        let (response_id, request_id) = ids;
        let body = self.body(fetch, sha256)?;
        let head = response_head(fetch);
        self.write(Record {
            kind: "response",
            id: response_id.to_owned(),
            date: fetch.fetched_at,
            target: Some(&fetch.final_url),
            fields: exchange_fields(fetch, request_id),
            content_type: "application/http;msgtype=response",
            payload_digest: Some(sha1_base32(&body)),
            block: &[&head, &body],
        })
    }

    /// A revisit of `holder`'s response: an unchanged refetch, or a 304 (`not_modified`).
    fn revisit(
        &mut self,
        fetch: &FetchRecord,
        holder: Option<&FetchRecord>,
        not_modified: bool,
        ids: (&str, &str),
    ) -> Result<(), ExportError> {
        let (response_id, request_id) = ids;
        let profile = if not_modified { PROFILE_NOT_MODIFIED } else { PROFILE_IDENTICAL };
        let mut fields = vec![("WARC-Profile", profile.to_owned())];
        let mut payload_digest = None;
        if let Some(holder) = holder {
            fields.push(("WARC-Refers-To", record_id(holder, "response")));
            fields.push(("WARC-Refers-To-Target-URI", holder.final_url.clone()));
            fields.push(("WARC-Refers-To-Date", holder.fetched_at.to_rfc3339_opts(SecondsFormat::Secs, true)));
            payload_digest = Some(self.payload_sha1(holder)?);
        }
        fields.extend(exchange_fields(fetch, request_id));
        let head = response_head(fetch);
        self.write(Record {
            kind: "revisit",
            id: response_id.to_owned(),
            date: fetch.fetched_at,
            target: Some(&fetch.final_url),
            fields,
            content_type: "application/http;msgtype=response",
            payload_digest,
            block: &[&head],
        })
    }

    fn redirects(&mut self, fetch: &FetchRecord, response_id: &str) -> Result<(), ExportError> {
        let mut block = format!("requested-uri: {}\r\n", field_value(&fetch.url));
        for hop in &fetch.redirects {
            block.push_str(&format!(
                "redirect: {} {} {}\r\n",
                hop.status,
                field_value(&hop.from),
                field_value(&hop.to)
            ));
        }
        block.push_str(&format!("final-uri: {}\r\n", field_value(&fetch.final_url)));
        self.write(Record {
            kind: "metadata",
            id: record_id(fetch, "metadata"),
            date: fetch.fetched_at,
            target: Some(&fetch.url),
            fields: vec![("WARC-Concurrent-To", response_id.to_owned())],
            content_type: "application/warc-fields",
            payload_digest: None,
            block: &[block.as_bytes()],
        })
    }

    fn body(&self, fetch: &FetchRecord, sha256: &str) -> Result<Vec<u8>, ExportError> {
        let blob = self.store.blob(sha256).map_err(ExportError::store(format!("the body of {}", fetch.url)))?;
        blob.ok_or_else(|| ExportError::MissingBlob { fetch: fetch.id, url: fetch.url.clone(), sha256: sha256.into() })
    }

    /// The base32 SHA-1 of a fetch's body: as recorded, or from the blob for records without it.
    fn payload_sha1(&self, fetch: &FetchRecord) -> Result<String, ExportError> {
        match (&fetch.body_sha1, &fetch.body_sha256) {
            (Some(sha1), _) => Ok(sha1.clone()),
            (None, Some(sha256)) => Ok(sha1_base32(&self.body(fetch, sha256)?)),
            (None, None) => Ok(sha1_base32(b"")),
        }
    }

    /// The exported fetch whose response holds the body `fetch` did not receive again, if any.
    fn holder(&self, fetch: &FetchRecord) -> Result<Option<FetchRecord>, ExportError> {
        let Some(held) = self.held.get(&fetch.url) else { return Ok(None) };
        let refetch = fetch.body_sha256.is_some();
        if refetch && fetch.same_as != Some(held.latest) {
            return Ok(None);
        }
        let holder = self.store.fetch(held.holder).map_err(ExportError::store(format!("fetch {}", held.holder)))?;
        Ok(holder.filter(|h| !refetch || h.body_sha256 == fetch.body_sha256))
    }
}

impl SnapshotFile for WarcFile<'_> {
    fn add_fetch(&mut self, fetch: &FetchRecord) -> Result<(), ExportError> {
        let response_id = record_id(fetch, "response");
        let request_id = record_id(fetch, "request");
        self.request(fetch, &request_id, &response_id)?;
        let ids = (response_id.as_str(), request_id.as_str());
        let holder = self.holder(fetch)?;
        match &fetch.body_sha256 {
            None => self.revisit(fetch, holder.as_ref(), true, ids)?,
            Some(_) if holder.is_some() => self.revisit(fetch, holder.as_ref(), false, ids)?,
            Some(sha256) => self.response(fetch, sha256, ids)?,
        }
        if fetch.body_sha256.is_some() {
            let holder = holder.map_or(fetch.id, |h| h.id);
            self.held.insert(fetch.url.clone(), Held { latest: fetch.id, holder });
        }
        if !fetch.redirects.is_empty() {
            self.redirects(fetch, &response_id)?;
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<(FileEntry, u64), ExportError> {
        Ok((self.file.finish()?, self.records))
    }
}

/// `WARC-Concurrent-To` the other half of the exchange, and the server's address when known.
fn exchange_fields(fetch: &FetchRecord, concurrent: &str) -> Vec<(&'static str, String)> {
    let mut fields = vec![("WARC-Concurrent-To", concurrent.to_owned())];
    if let Some(ip) = &fetch.remote_ip {
        fields.push(("WARC-IP-Address", ip.clone()));
    }
    fields
}

/// Request line and headers as sent, then the blank line.
fn request_head(fetch: &FetchRecord) -> Vec<u8> {
    let target = match url::Url::parse(&fetch.final_url) {
        Ok(url) => match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        },
        Err(_) => fetch.final_url.clone(),
    };
    let line = format!("{} {} {}", field_value(&fetch.method), field_value(&target), http_version(&fetch.http_version));
    http_head(&line, &fetch.request_headers, false)
}

/// Status line and headers as received, then the blank line.
fn response_head(fetch: &FetchRecord) -> Vec<u8> {
    let reason = reqwest::StatusCode::from_u16(fetch.status).ok().and_then(|s| s.canonical_reason()).unwrap_or("");
    let line = format!("{} {} {reason}", http_version(&fetch.http_version), fetch.status);
    http_head(&line, &fetch.headers, true)
}

fn http_head(first_line: &str, headers: &[(String, String)], response: bool) -> Vec<u8> {
    let mut head = format!("{first_line}\r\n");
    for (name, value) in headers {
        // reqwest has already removed the chunked transfer coding from the stored body, so a
        // `Transfer-Encoding` header left as it was would make readers de-chunk a plain body. It is
        // kept under the name other archivers use for it. Content-Encoding stays: bodies are stored
        // (and written here) exactly as received, compressed or not.
        let name = if response && name.eq_ignore_ascii_case("transfer-encoding") {
            "X-Archive-Orig-Transfer-Encoding"
        } else {
            name.as_str()
        };
        head.push_str(&format!("{}: {}\r\n", field_value(name), field_value(value)));
    }
    head.push_str("\r\n");
    head.into_bytes()
}

/// `HTTP/1.1` for records that lack the version or store it bare.
fn http_version(stored: &str) -> String {
    match stored {
        "" => "HTTP/1.1".to_owned(),
        v if v.starts_with("HTTP/") => v.to_owned(),
        v => format!("HTTP/{v}"),
    }
}

/// A header value on one line, whatever the record holds: line breaks would end the header early.
fn field_value(value: &str) -> String {
    value.replace(['\r', '\n'], " ")
}

/// A record id unique to one record of one fetch, stable across exports.
fn record_id(fetch: &FetchRecord, role: &str) -> String {
    let mut name = Sha1::new();
    name.update(b"nianbao WARC record\0");
    name.update(role.as_bytes());
    name.update([0]);
    name.update(fetch.id.to_be_bytes());
    name.update(fetch.url.as_bytes());
    name.update([0]);
    name.update(fetch.fetched_at.to_rfc3339_opts(SecondsFormat::Nanos, true).as_bytes());
    let digest = name.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    format!("<urn:uuid:{}>", uuid::Builder::from_sha1_bytes(bytes).into_uuid())
}

/// Base32 SHA-1, the form WARC digests take after their `sha1:` label.
pub(crate) fn sha1_base32(bytes: &[u8]) -> String {
    base32(&Sha1::digest(bytes))
}

fn base32(digest: &[u8]) -> String {
    data_encoding::BASE32.encode(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_empty_payload_digest_is_the_well_known_one() {
        assert_eq!(sha1_base32(b""), "3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ");
    }

    #[test]
    fn heads_keep_headers_in_order_and_rename_transfer_encoding() {
        let headers = vec![
            ("Content-Type".to_owned(), "text/html; charset=gbk".to_owned()),
            ("Transfer-Encoding".to_owned(), "chunked".to_owned()),
            ("X-Evil".to_owned(), "a\r\nInjected: yes".to_owned()),
        ];
        let head = String::from_utf8(http_head("HTTP/1.1 200 OK", &headers, true)).unwrap();
        assert_eq!(
            head,
            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=gbk\r\n\
             X-Archive-Orig-Transfer-Encoding: chunked\r\nX-Evil: a  Injected: yes\r\n\r\n"
        );
        let request = String::from_utf8(http_head("GET / HTTP/1.1", &headers[1..2], false)).unwrap();
        assert!(request.contains("\r\nTransfer-Encoding: chunked\r\n"), "requests are written as sent");
    }

    #[test]
    fn versions_are_written_as_http_x_y() {
        assert_eq!(http_version("HTTP/2.0"), "HTTP/2.0");
        assert_eq!(http_version("1.0"), "HTTP/1.0");
        assert_eq!(http_version(""), "HTTP/1.1");
    }
}
