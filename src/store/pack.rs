//! How values are packed on disk: zstd, with a compression dictionary per host.
//!
//! The pages of one portal share their chrome and, being annual reports, the labels and layout of
//! their statistics tables; its fetch and page records share their keys and headers. Compressed
//! one by one, every value pays for all of that again. So the first HTML report a host yields
//! becomes that host's dictionary (its body with the head and tail kept, its document and its
//! records, concatenated: a raw-content dictionary, which needs no training), and every later body,
//! version, fetch and page record of the host is compressed against it: about a fifth of the size
//! of plain zstd on the crawl benchmark's pages.
//!
//! A packed value is one of:
//! - [`DICT_TAG`], the dictionary's id (big-endian u32), a zstd frame compressed with it;
//! - [`BODY_TAG`], the SHA-256 of a stored body (32 bytes), a zstd frame compressed with that body
//!   as its dictionary: a version's document against its page's body ([`Packer::pack_against`]);
//! - a plain zstd frame (bodies and versions written before the host had a dictionary, or by an
//!   older nianbao);
//! - anything else is stored as it is: a JSON record (`{…`) written without a dictionary.
//!
//! Dictionaries live in the `dicts` tree (`d` + id → zstd-compressed dictionary, `h` + host → id)
//! and are never changed or removed, so any value can always be unpacked. A dictionary is inserted
//! before the first value that uses it, and sled recovers a prefix of its log, so no value outlives
//! its dictionary in a crash.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use sled::Tree;
use zstd::dict::{DecoderDictionary, EncoderDictionary};
use zstd::zstd_safe::{CParameter, DictAttachPref};

use super::StoreError;

/// First byte of a value compressed with a dictionary; neither JSON (`{`) nor zstd (0x28) starts so.
const DICT_TAG: u8 = 0x01;

/// First byte of a value compressed against a body (see the module documentation).
const BODY_TAG: u8 = 0x03;

/// Bodies larger than this are not made a dictionary: a large body is an attachment's, whose
/// bytes (compressed PDF streams, zipped XML) do not hold its text, and loading it would cost
/// more than it saves.
pub(super) const BODY_DICT_MAX: usize = 1024 * 1024;

/// zstd frames start with this magic number, little-endian.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// zstd's own dictionaries start with this one; any other dictionary is raw content.
const ZSTD_DICT_MAGIC: [u8; 4] = [0x37, 0xa4, 0x30, 0xec];

/// zstd's default level. Level 9 cost a quarter of the crawl's CPU (its match search on every body
/// and version) for bodies about 5% smaller; decompression reads either.
const ZSTD_LEVEL: i32 = 3;

/// How much of a long body goes into a dictionary, from each end: the head holds the portal's
/// navigation and styles, the tail its footer; the middle is this report's own text.
const DICT_BODY_END: usize = 24 * 1024;

/// A document packed to under 1/this of its JSON one way is kept without trying the other. On the
/// crawl benchmark, with the host's dictionary a report of tables and labels packs to 1/14 and one
/// with 8 KB of prose of its own to 1/2.8; against its body, to 1/7 and 1/13 (the JSON's own
/// structure, ~1.3 KB, is what the body lacks). A tenth falls between the winner and the loser in
/// both cases.
const DOCUMENT_KEPT_UNDER: usize = 10;

/// Prepared dictionaries kept for compression. Each costs about half a megabyte (zstd's match
/// tables); hosts beyond this many, interleaved in one run, rebuild theirs (~0.2 ms) when evicted.
const ENCODERS_KEPT: usize = 16;

/// Prepared dictionaries kept for decompression (a few tens of kilobytes each).
const DECODERS_KEPT: usize = 64;

/// Frames that say they hold more than this are decompressed as a stream, growing as they go,
/// rather than into a buffer of the size a possibly corrupt header claims.
const ONE_SHOT_MAX: u64 = 64 * 1024 * 1024;

/// What a value falls back to when its host has no dictionary yet.
#[derive(Clone, Copy)]
pub(super) enum Fallback {
    /// Plain zstd: bodies and documents, which compress well on their own.
    Zstd,
    /// As it is: small JSON records, which plain zstd barely shrinks.
    Raw,
}

/// The dictionaries of one archive, loaded as they are needed.
pub(super) struct Packer {
    dicts: Tree,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Host → its dictionary's id; `None` when the host is known to have none yet.
    hosts: HashMap<String, Option<u32>>,
    /// Most recently used last.
    encoders: Vec<(u32, Arc<EncoderDictionary<'static>>)>,
    decoders: HashMap<u32, Arc<DecoderDictionary<'static>>>,
    /// Idle compression contexts, reused: setting one up per value was 1.5% of the crawl's CPU. A
    /// pool rather than one per thread, as each keeps about a megabyte and the store is also used
    /// from other threads (export, stats); the pool holds as many as ever compressed at once.
    idle: Vec<zstd::bulk::Compressor<'static>>,
    /// Idle decompression contexts, likewise: making one per value read was 1.5% of the crawl's CPU.
    idle_readers: Vec<zstd::zstd_safe::DCtx<'static>>,
    /// Hosts whose last document was kept packed against its body, which their next is tried
    /// against first: a portal's reports are alike, and trying the host's dictionary first on
    /// reports with prose compressed each one twice (5–9% of the crawl's CPU).
    body_first: HashSet<String>,
    next_id: u32,
}

fn io(e: std::io::Error) -> StoreError {
    StoreError::Sled(sled::Error::Io(e))
}

fn zstd_error(code: usize) -> StoreError {
    io(std::io::Error::other(zstd::zstd_safe::get_error_name(code)))
}

/// An output buffer holding a packed value's tag and header, positioned after them for the frame
/// (zstd writes at the cursor's position).
fn framed(tag: u8, header: &[u8], len: usize) -> std::io::Cursor<Vec<u8>> {
    let mut out = Vec::with_capacity(1 + header.len() + zstd::zstd_safe::compress_bound(len));
    out.push(tag);
    out.extend_from_slice(header);
    let mut cursor = std::io::Cursor::new(out);
    cursor.set_position(1 + header.len() as u64);
    cursor
}

impl Packer {
    pub(super) fn open(dicts: Tree) -> Result<Packer, StoreError> {
        let last = dicts.scan_prefix(b"d").next_back().transpose()?;
        let next_id = last.and_then(|(k, _)| k.get(1..5)?.try_into().ok()).map_or(1, |b| u32::from_be_bytes(b) + 1);
        Ok(Packer { dicts, state: Mutex::new(State { next_id, ..State::default() }) })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The id of `host`'s dictionary, if it has one.
    pub(super) fn host_dict(&self, host: &str) -> Result<Option<u32>, StoreError> {
        if let Some(known) = self.state().hosts.get(host) {
            return Ok(*known);
        }
        let id = self.dicts.get(host_key(host))?.and_then(|v| Some(u32::from_be_bytes(v.as_ref().try_into().ok()?)));
        self.state().hosts.insert(host.to_owned(), id);
        Ok(id)
    }

    /// Whether `host` still needs a dictionary.
    pub(super) fn wants_dictionary(&self, host: &str) -> Result<bool, StoreError> {
        Ok(!host.is_empty() && self.host_dict(host)?.is_none())
    }

    /// Makes `host`'s dictionary from a body and the records that came with it.
    pub(super) fn learn(&self, host: &str, body: &[u8], records: &[&[u8]]) -> Result<(), StoreError> {
        let mut dict = Vec::new();
        if body.len() > 2 * DICT_BODY_END {
            dict.extend_from_slice(&body[..DICT_BODY_END]);
            dict.extend_from_slice(&body[body.len() - DICT_BODY_END..]);
        } else {
            dict.extend_from_slice(body);
        }
        for record in records {
            dict.extend_from_slice(record);
        }
        let id = {
            let mut state = self.state();
            let id = state.next_id;
            state.next_id += 1;
            id
        };
        let packed = zstd::bulk::compress(&dict, ZSTD_LEVEL).map_err(io)?;
        self.dicts.insert(dict_key(id), packed)?;
        self.dicts.insert(host_key(host), &id.to_be_bytes())?;
        let mut state = self.state();
        state.hosts.insert(host.to_owned(), Some(id));
        remember_encoder(&mut state, id, Arc::new(EncoderDictionary::copy(&dict, ZSTD_LEVEL)));
        Ok(())
    }

    /// Packs a value of `host` (see the module documentation).
    pub(super) fn pack(&self, host: &str, bytes: &[u8], fallback: Fallback) -> Result<Vec<u8>, StoreError> {
        let encoder = match self.host_dict(host)? {
            Some(id) => Some((id, self.encoder(id)?)),
            None if matches!(fallback, Fallback::Raw) => return Ok(bytes.to_vec()),
            None => None,
        };
        let mut compressor = self.compressor()?;
        let packed = match &encoder {
            Some((id, encoder)) => {
                let mut cursor = framed(DICT_TAG, &id.to_be_bytes(), bytes.len());
                let ctx = compressor.context_mut();
                let packed = ctx.ref_cdict(encoder.as_cdict()).and_then(|_| ctx.compress2(&mut cursor, bytes));
                // The dictionary is referenced, not copied, and the encoder cache may drop it: a
                // context that cannot forget it is not pooled again.
                ctx.load_dictionary(&[]).map_err(zstd_error)?;
                packed.map(|_| cursor.into_inner()).map_err(zstd_error)
            }
            None => compressor.compress(bytes).map_err(io),
        };
        self.state().idle.push(compressor);
        packed
    }

    /// Packs a version's document of `host`, with the host's dictionary or against its page's
    /// `body` (and the body's SHA-256) when it has one, whichever is smaller: the dictionary holds
    /// the labels and layout reports share, the body this report's own text. The way the host's
    /// last document was kept is tried first, and the other only if the first left over a tenth
    /// ([`DOCUMENT_KEPT_UNDER`]).
    pub(super) fn pack_document(
        &self,
        host: &str,
        bytes: &[u8],
        body: Option<(&[u8], [u8; 32])>,
    ) -> Result<Vec<u8>, StoreError> {
        let Some((body, body_sha256)) = body else {
            return self.pack(host, bytes, Fallback::Zstd);
        };
        let kept = |packed: &Vec<u8>| packed.len() * DOCUMENT_KEPT_UNDER <= bytes.len();
        let packed = if self.state().body_first.contains(host) {
            match self.pack_against(body, &body_sha256, bytes)? {
                Some(against) if kept(&against) => return Ok(against),
                against => smaller(against, self.pack(host, bytes, Fallback::Zstd)?),
            }
        } else {
            let packed = self.pack(host, bytes, Fallback::Zstd)?;
            if kept(&packed) {
                return Ok(packed);
            }
            smaller(self.pack_against(body, &body_sha256, bytes)?, packed)
        };
        let mut state = self.state();
        if Packer::packed_against(&packed).is_some() {
            state.body_first.insert(host.to_owned());
        } else {
            state.body_first.remove(host);
        }
        Ok(packed)
    }

    /// Packs `bytes` with `body`, whose SHA-256 is `body_sha256`, as its dictionary. A version's
    /// document repeats the text its page's body holds, so packed against the body it takes a
    /// sixth of its size packed with the host's dictionary (with 8 KB of prose per report:
    /// 1.1 KB against 6.2 KB). Reading it back needs the body ([`Packer::unpack_against`]).
    /// `None` for a body zstd would take for a dictionary of its own format (its magic number
    /// first), which no HTML page is.
    pub(super) fn pack_against(
        &self,
        body: &[u8],
        body_sha256: &[u8; 32],
        bytes: &[u8],
    ) -> Result<Option<Vec<u8>>, StoreError> {
        if body.starts_with(&ZSTD_DICT_MAGIC) {
            return Ok(None);
        }
        let mut compressor = self.compressor()?;
        // The body as raw content before the frame, as a prefix is: reading it back references
        // it as one ([`Packer::unpack_against`]). On a pooled context, 10 µs a 6 KB document
        // where a context of its own took 35 µs.
        let mut cursor = framed(BODY_TAG, body_sha256, bytes.len());
        let packed = compressor.context_mut().compress_using_dict(&mut cursor, bytes, body, ZSTD_LEVEL);
        self.state().idle.push(compressor);
        packed.map(|_| Some(cursor.into_inner())).map_err(zstd_error)
    }

    /// A compression context from the pool, or a new one.
    fn compressor(&self) -> Result<zstd::bulk::Compressor<'static>, StoreError> {
        if let Some(compressor) = self.state().idle.pop() {
            return Ok(compressor);
        }
        let mut compressor = zstd::bulk::Compressor::new(ZSTD_LEVEL).map_err(io)?;
        // Search the dictionary's tables where they are rather than copy them into the context,
        // as zstd does for values over 16 KB: the copy (~0.8 MB of tables) cost 40 µs of a 40 KB
        // body's 200 µs.
        compressor
            .context_mut()
            .set_parameter(CParameter::ForceAttachDict(DictAttachPref::ForceAttach))
            .map_err(zstd_error)?;
        Ok(compressor)
    }

    /// The SHA-256 of the body a value was packed against, if it was.
    pub(super) fn packed_against(packed: &[u8]) -> Option<[u8; 32]> {
        match packed {
            [BODY_TAG, rest @ ..] => rest.get(..32)?.try_into().ok(),
            _ => None,
        }
    }

    /// The bytes of a value packed against `body` ([`Packer::pack_against`]).
    pub(super) fn unpack_against(packed: &[u8], body: &[u8]) -> Result<Vec<u8>, String> {
        let frame = packed.get(33..).ok_or("truncated body digest")?;
        let size = match zstd::zstd_safe::get_frame_content_size(frame) {
            Ok(Some(size)) if size <= ONE_SHOT_MAX => size as usize,
            _ => return Err("not a zstd frame of a plausible size".into()),
        };
        let mut out = Vec::with_capacity(size);
        let mut ctx = zstd::zstd_safe::DCtx::create();
        ctx.ref_prefix(body)
            .and_then(|_| ctx.decompress(&mut out, frame))
            .map_err(|code| zstd::zstd_safe::get_error_name(code).to_owned())?;
        Ok(out)
    }

    /// The bytes a packed value holds. Errors say what is wrong; the caller names the record.
    pub(super) fn unpack(&self, packed: &[u8]) -> Result<Vec<u8>, String> {
        match packed {
            [BODY_TAG, ..] => Err("packed against its page's body, which is needed to read it".into()),
            [DICT_TAG, rest @ ..] => {
                let (id, frame) = rest.split_at_checked(4).ok_or("truncated dictionary id")?;
                let id = u32::from_be_bytes(id.try_into().map_err(|_| "truncated dictionary id")?);
                self.decompress(frame, Some(&*self.decoder(id)?))
            }
            [a, b, c, d, ..] if [*a, *b, *c, *d] == ZSTD_MAGIC => self.decompress(packed, None),
            _ => Ok(packed.to_vec()),
        }
    }

    /// One zstd frame, with a pooled context when its header gives a plausible size.
    fn decompress(&self, frame: &[u8], dict: Option<&DecoderDictionary<'static>>) -> Result<Vec<u8>, String> {
        let size = match zstd::zstd_safe::get_frame_content_size(frame) {
            Ok(Some(size)) if size <= ONE_SHOT_MAX => size as usize,
            _ => {
                let mut reader = match dict {
                    Some(dict) => zstd::stream::read::Decoder::with_prepared_dictionary(frame, dict),
                    None => zstd::stream::read::Decoder::with_buffer(frame),
                }
                .map_err(|e| e.to_string())?;
                let mut out = Vec::new();
                std::io::copy(&mut reader, &mut out).map_err(|e| e.to_string())?;
                return Ok(out);
            }
        };
        let mut reader = self.state().idle_readers.pop().unwrap_or_else(zstd::zstd_safe::DCtx::create);
        let mut out = Vec::with_capacity(size);
        let result = match dict {
            Some(dict) => reader.decompress_using_ddict(&mut out, frame, dict.as_ddict()),
            None => reader.decompress(&mut out, frame),
        };
        self.state().idle_readers.push(reader);
        match result {
            Ok(_) => Ok(out),
            Err(code) => Err(zstd::zstd_safe::get_error_name(code).to_owned()),
        }
    }

    fn encoder(&self, id: u32) -> Result<Arc<EncoderDictionary<'static>>, StoreError> {
        let mut state = self.state();
        if let Some(pos) = state.encoders.iter().position(|(i, _)| *i == id) {
            let entry = state.encoders.remove(pos);
            let encoder = Arc::clone(&entry.1);
            state.encoders.push(entry);
            return Ok(encoder);
        }
        drop(state);
        let dict =
            self.load(id).map_err(|reason| StoreError::Corrupt { what: "dictionary", key: id.to_string(), reason })?;
        let encoder = Arc::new(EncoderDictionary::copy(&dict, ZSTD_LEVEL));
        remember_encoder(&mut self.state(), id, Arc::clone(&encoder));
        Ok(encoder)
    }

    fn decoder(&self, id: u32) -> Result<Arc<DecoderDictionary<'static>>, String> {
        if let Some(decoder) = self.state().decoders.get(&id) {
            return Ok(Arc::clone(decoder));
        }
        let decoder = Arc::new(DecoderDictionary::copy(&self.load(id)?));
        let mut state = self.state();
        if state.decoders.len() >= DECODERS_KEPT {
            state.decoders.clear();
        }
        state.decoders.insert(id, Arc::clone(&decoder));
        Ok(decoder)
    }

    fn load(&self, id: u32) -> Result<Vec<u8>, String> {
        let packed = self.dicts.get(dict_key(id)).map_err(|e| e.to_string())?;
        let packed = packed.ok_or_else(|| format!("compression dictionary {id} is missing"))?;
        zstd::stream::decode_all(&packed[..]).map_err(|e| format!("compression dictionary {id}: {e}"))
    }
}

/// The packing against a body if there is one and it is smaller, else `packed`.
fn smaller(against: Option<Vec<u8>>, packed: Vec<u8>) -> Vec<u8> {
    against.filter(|a| a.len() < packed.len()).unwrap_or(packed)
}

fn remember_encoder(state: &mut State, id: u32, encoder: Arc<EncoderDictionary<'static>>) {
    if state.encoders.len() >= ENCODERS_KEPT {
        state.encoders.remove(0);
    }
    state.encoders.push((id, encoder));
}

fn dict_key(id: u32) -> Vec<u8> {
    [&b"d"[..], &id.to_be_bytes()].concat()
}

fn host_key(host: &str) -> Vec<u8> {
    [b"h", host.as_bytes()].concat()
}
