//! DOC attachments (Word 97–2003 binary, also written by WPS): the OLE container's `WordDocument`
//! stream and its table stream read into paragraphs and full-grid tables, as DOCX is.
//!
//! The FIB gives the table stream (`0Table`/`1Table`), the main text length (ccpText) and where the
//! piece table (CLX) and the paragraph-property bins (PlcBtePapx) are. The piece table maps text
//! positions to file offsets, 8-bit CP1252 or UTF-16LE. Structure comes from the text's own marks —
//! `\r` ends a paragraph, `\x07` a cell or a row — with each mark's paragraph properties saying
//! whether it is in a table, whether it ends a row, and (on the row mark) the row's cell edges and
//! vertical merges, from which the grid is built. Field codes are dropped, their results kept; text
//! deleted in a tracked change is dropped (the character properties say which).
//!
//! Invariants: every offset read from the file is bounds-checked and every size capped, so hostile
//! bytes give a [`CleanError`] naming the input, never a panic or a huge allocation. An OLE file
//! holding a workbook goes to the sheet reader; encrypted documents, Word 6/95 files and WPS files
//! in Kingsoft's own older format are [`CleanError::Unsupported`].

use std::io::{Cursor, Read};
use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::grid::{self, Cell};
use super::{meta, sheet, table, CleanError};
use crate::document::{Block, Document};

/// The largest stream read out of the container.
const MAX_STREAM_BYTES: u64 = 64 * 1024 * 1024;
/// The most characters of main text read (a report has far fewer).
const MAX_TEXT_CHARS: u32 = 4 * 1024 * 1024;
/// Word's own limit on cells in a row is 63.
const MAX_ROW_CELLS: usize = 64;
/// Cell edges closer than this (in twips, 1/1440 inch) are one grid line.
const EDGE_TOLERANCE: i32 = 20;
/// The FIB's signature.
const WORD_IDENT: u16 = 0xA5EC;
/// FIB versions below this are Word 6/95, whose FIB and text layout differ.
const FIRST_WORD97_FIB: u16 = 0x00C0;
/// Word's own limit on styles in a style sheet.
const MAX_STYLES: usize = 4094;
/// Size of a formatted disk page (FKP).
const PAGE: usize = 512;

/// Cleans an OLE compound file: a Word binary document here, a workbook by the sheet reader.
///
/// `named` is what the name says the file is ("DOC" or "WPS"); it words the errors.
pub(crate) fn clean_ole(body: &[u8], input: &str, named: &'static str) -> Result<Document, CleanError> {
    let unsupported = |format| CleanError::Unsupported { input: input.to_owned(), format };
    let corrupt = |detail: String| CleanError::Corrupt { input: input.to_owned(), format: named, detail };
    match open(body) {
        Container::Workbook => sheet::clean(body, input, "XLS"),
        Container::Word(streams) => match read_document(&streams) {
            Ok(blocks) => Ok(document(blocks)),
            Err(Fault::Unsupported(format)) => Err(unsupported(format)),
            Err(Fault::Corrupt(detail)) => Err(corrupt(detail)),
        },
        Container::Broken(detail) => Err(corrupt(detail)),
        Container::Other if named == "WPS" => {
            Err(unsupported("WPS in Kingsoft's own older format (no WordDocument stream)"))
        }
        Container::Other => Err(unsupported("OLE (neither a WordDocument nor a Workbook stream)")),
        Container::Unreadable => sheet::clean(body, input, "XLS").map_err(|_| unsupported(named)),
    }
}

fn document(mut blocks: Vec<Block>) -> Document {
    let title = meta::take_leading_title(&mut blocks);
    Document { title, blocks, ..Document::default() }
}

/// What an OLE compound file holds.
enum Container {
    /// An Excel workbook (`Workbook`, or `Book` for Excel 5/95).
    Workbook,
    /// A Word binary document.
    Word(Streams),
    /// A stream exists but could not be read.
    Broken(String),
    /// Neither a document nor a workbook (Kingsoft's own WPS format, or something else).
    Other,
    /// The container itself is unreadable.
    Unreadable,
}

/// The streams of a Word binary document.
struct Streams {
    /// `WordDocument`: the FIB, the text, the FKP pages.
    word: Vec<u8>,
    /// `0Table` and `1Table`: the piece table and the property bins (the FIB says which).
    tables: [Option<Vec<u8>>; 2],
    /// `Data`: paragraph properties too large for an FKP page (sprmPHugePapx).
    data: Option<Vec<u8>>,
}

/// Reads the container's streams; the cfb crate runs under `catch_unwind`, so a container that
/// makes it panic is just unreadable.
fn open(body: &[u8]) -> Container {
    catch_unwind(AssertUnwindSafe(|| {
        let Ok(mut file) = cfb::CompoundFile::open(Cursor::new(body)) else { return Container::Unreadable };
        if file.is_stream("/Workbook") || file.is_stream("/Book") {
            return Container::Workbook;
        }
        if !file.is_stream("/WordDocument") {
            return Container::Other;
        }
        let mut read = |name: &str| -> Result<Option<Vec<u8>>, String> {
            if !file.is_stream(name) {
                return Ok(None);
            }
            let mut bytes = Vec::new();
            let stream = file.open_stream(name).map_err(|e| format!("{name} stream: {e}"))?;
            stream.take(MAX_STREAM_BYTES).read_to_end(&mut bytes).map_err(|e| format!("{name} stream: {e}"))?;
            Ok(Some(bytes))
        };
        let streams =
            (|| Ok::<_, String>((read("/WordDocument")?, [read("/0Table")?, read("/1Table")?], read("/Data")?)))();
        match streams {
            Ok((Some(word), tables, data)) => Container::Word(Streams { word, tables, data }),
            Ok((None, ..)) => Container::Other,
            Err(detail) => Container::Broken(detail),
        }
    }))
    .unwrap_or(Container::Unreadable)
}

/// Why a Word document could not be read.
#[derive(Debug, PartialEq)]
enum Fault {
    Unsupported(&'static str),
    Corrupt(String),
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at.checked_add(2)?)?.try_into().ok()?))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

fn i16_at(bytes: &[u8], at: usize) -> Option<i16> {
    u16_at(bytes, at).map(|v| v as i16)
}

/// `len` bytes at `at`, if all of them exist.
fn slice(bytes: &[u8], at: usize, len: usize) -> Option<&[u8]> {
    bytes.get(at..at.checked_add(len)?)
}

/// What the FIB says about the document.
#[derive(Debug)]
struct Fib {
    /// Index of the table stream: 0 for `0Table`, 1 for `1Table`.
    table_stream: usize,
    /// Characters of main text.
    ccp_text: u32,
    /// The CLX (piece table) in the table stream.
    clx: (usize, usize),
    /// The PlcBtePapx (paragraph-property bins) in the table stream.
    papx_bins: (usize, usize),
    /// The PlcBteChpx (character-property bins) in the table stream.
    chpx_bins: (usize, usize),
    /// The STSH (style sheet) in the table stream.
    styles: (usize, usize),
}

fn read_fib(word: &[u8]) -> Result<Fib, Fault> {
    let short = || Fault::Corrupt("the WordDocument stream is too short for its FIB".into());
    let ident = u16_at(word, 0).ok_or_else(short)?;
    if ident != WORD_IDENT {
        return Err(Fault::Corrupt(format!("the WordDocument stream has no Word FIB (signature {ident:#06x})")));
    }
    if u16_at(word, 2).ok_or_else(short)? < FIRST_WORD97_FIB {
        return Err(Fault::Unsupported("Word 6.0/95 DOC"));
    }
    let flags = u16_at(word, 0x0A).ok_or_else(short)?;
    if flags & 0x0100 != 0 {
        return Err(Fault::Unsupported("password-protected (encrypted) DOC"));
    }
    let csw = usize::from(u16_at(word, 32).ok_or_else(short)?);
    let rglw = 36 + 2 * csw;
    let cslw = usize::from(u16_at(word, rglw - 2).ok_or_else(short)?);
    let ccp_text = u32_at(word, rglw + 12).ok_or_else(short)?;
    let blob = rglw + 4 * cslw + 2;
    let pairs = usize::from(u16_at(word, blob - 2).ok_or_else(short)?);
    let pair = |index: usize| -> Result<(usize, usize), Fault> {
        if index >= pairs {
            return Err(Fault::Corrupt("the FIB has no piece table entry".into()));
        }
        let at = blob + 8 * index;
        Ok((u32_at(word, at).ok_or_else(short)? as usize, u32_at(word, at + 4).ok_or_else(short)? as usize))
    };
    Ok(Fib {
        table_stream: usize::from(flags & 0x0200 != 0),
        ccp_text,
        clx: pair(33)?,
        papx_bins: pair(13)?,
        chpx_bins: pair(12)?,
        styles: pair(1)?,
    })
}

/// One piece of the piece table: a run of text positions stored contiguously.
#[derive(Debug, Clone, PartialEq)]
struct Piece {
    cps: Range<u32>,
    /// Byte offset of the piece's first character in the WordDocument stream.
    offset: usize,
    /// 8-bit CP1252 text rather than UTF-16LE.
    compressed: bool,
}

/// The pieces of the CLX: Prc entries (property modifiers) are skipped, the Pcdt read.
fn read_pieces(clx: &[u8]) -> Result<Vec<Piece>, String> {
    let mut at = 0;
    loop {
        match clx.get(at) {
            Some(1) => {
                let size = i16_at(clx, at + 1).ok_or("a truncated property modifier in the CLX")?;
                at += 3 + usize::try_from(size).map_err(|_| "a property modifier of negative size in the CLX")?;
            }
            Some(2) => {
                let size = u32_at(clx, at + 1).ok_or("a truncated piece table")? as usize;
                let plc = slice(clx, at + 5, size).ok_or("the piece table runs past the end of the CLX")?;
                return read_plc_pcd(plc);
            }
            Some(other) => return Err(format!("the CLX holds an unknown entry type {other:#04x}, not a piece table")),
            None => return Err("the document has no piece table".into()),
        }
    }
}

fn read_plc_pcd(plc: &[u8]) -> Result<Vec<Piece>, String> {
    if plc.len() < 4 || (plc.len() - 4) % 12 != 0 {
        return Err(format!("a piece table of {} bytes is no whole number of pieces", plc.len()));
    }
    let count = (plc.len() - 4) / 12;
    let mut pieces = Vec::with_capacity(count);
    for i in 0..count {
        let (start, end) = (u32_at(plc, 4 * i), u32_at(plc, 4 * (i + 1)));
        let fc = u32_at(plc, 4 * (count + 1) + 8 * i + 2);
        let (Some(start), Some(end), Some(fc)) = (start, end, fc) else {
            return Err("a truncated piece table".into());
        };
        if end < start || pieces.last().is_some_and(|p: &Piece| p.cps.end > start) {
            return Err(format!("piece {i} has text positions out of order ({start}..{end})"));
        }
        let compressed = fc & 0x4000_0000 != 0;
        let raw = (fc & 0x3FFF_FFFF) as usize;
        pieces.push(Piece { cps: start..end, offset: if compressed { raw / 2 } else { raw }, compressed });
    }
    if pieces.is_empty() {
        return Err("the document has an empty piece table".into());
    }
    Ok(pieces)
}

/// The main text, each character with the byte offset (FC) it is stored at.
fn main_text(word: &[u8], pieces: &[Piece], ccp_text: u32) -> Result<Vec<(char, u32)>, String> {
    let limit = ccp_text.min(MAX_TEXT_CHARS);
    let mut text = Vec::new();
    for (i, piece) in pieces.iter().enumerate() {
        let end = piece.cps.end.min(limit);
        let Some(count) = end.checked_sub(piece.cps.start).filter(|&n| n > 0) else { continue };
        let width = if piece.compressed { 1 } else { 2 };
        let beyond = || format!("piece {i} (text {}..{end}) lies beyond the WordDocument stream", piece.cps.start);
        let bytes = slice(word, piece.offset, count as usize * width).ok_or_else(beyond)?;
        let fc = |index: usize| u32::try_from(piece.offset + index * width).unwrap_or(u32::MAX);
        if piece.compressed {
            let (decoded, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
            text.extend(decoded.chars().enumerate().map(|(n, c)| (c, fc(n))));
        } else {
            let units = bytes.chunks_exact(2).map(|b| u16::from_le_bytes([b[0], b[1]]));
            let mut n = 0;
            for decoded in char::decode_utf16(units) {
                let c = decoded.unwrap_or(char::REPLACEMENT_CHARACTER);
                text.push((c, fc(n)));
                n += c.len_utf16();
            }
        }
    }
    Ok(text)
}

/// Reads the main text into blocks.
fn read_document(streams: &Streams) -> Result<Vec<Block>, Fault> {
    let word = &streams.word;
    let fib = read_fib(word)?;
    let name = ["0Table", "1Table"][fib.table_stream];
    let table = streams.tables[fib.table_stream]
        .as_deref()
        .ok_or_else(|| Fault::Corrupt(format!("the FIB names a {name} stream the file does not have")))?;
    let clx = slice(table, fib.clx.0, fib.clx.1)
        .filter(|clx| !clx.is_empty())
        .ok_or_else(|| Fault::Corrupt(format!("the document has no piece table (CLX) in its {name} stream")))?;
    let pieces = read_pieces(clx).map_err(Fault::Corrupt)?;
    let text = main_text(word, &pieces, fib.ccp_text).map_err(Fault::Corrupt)?;
    let bins = |(at, len): (usize, usize), kind| Bins::new(word, slice(table, at, len).unwrap_or_default(), kind);
    let properties = Properties {
        paragraphs: bins(fib.papx_bins, PageKind::Paragraph),
        characters: bins(fib.chpx_bins, PageKind::Character),
        data: streams.data.as_deref().unwrap_or_default(),
        headings: heading_styles(slice(table, fib.styles.0, fib.styles.1).unwrap_or_default()),
    };
    Ok(structure(&text, &properties))
}

/// Which styles of the STSH (by istd) are headings: the built-in heading 1–9 and Title, or a style
/// whose name says heading (标题) or title.
fn heading_styles(stsh: &[u8]) -> Vec<bool> {
    let Some(header) = u16_at(stsh, 0).map(usize::from) else { return Vec::new() };
    let (Some(count), Some(base)) = (u16_at(stsh, 2), u16_at(stsh, 4)) else { return Vec::new() };
    let (count, base) = (usize::from(count).min(MAX_STYLES), usize::from(base));
    let mut at = 2 + header;
    let mut headings = Vec::with_capacity(count);
    for _ in 0..count {
        let Some(size) = u16_at(stsh, at).map(usize::from) else { break };
        let style = slice(stsh, at + 2, size).unwrap_or_default();
        at += 2 + size;
        let sti = u16_at(style, 0).map_or(0, |v| v & 0x0FFF);
        let name = u16_at(style, base).map_or(String::new(), |chars| {
            let units = (0..usize::from(chars)).map_while(|i| u16_at(style, base + 2 + 2 * i));
            char::decode_utf16(units).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)).collect::<String>()
        });
        let name = name.to_lowercase();
        headings.push(
            (1..=9).contains(&sti)
                || sti == 62
                || name.starts_with("heading")
                || name.starts_with("title")
                || name.contains("标题"),
        );
    }
    headings
}

/// Which properties an FKP page holds; they differ in how a run finds its sprms.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
enum PageKind {
    #[default]
    Paragraph,
    Character,
}

/// An FKP-paged property table (PlcBtePapx or PlcBteChpx): runs of FCs and the sprms formatting each.
#[derive(Default)]
struct Bins<'a> {
    word: &'a [u8],
    /// (first FC, FC past the end, page number) of each bin, in FC order.
    bins: Vec<(u32, u32, usize)>,
    kind: PageKind,
}

impl<'a> Bins<'a> {
    fn new(word: &'a [u8], plc: &[u8], kind: PageKind) -> Self {
        let count = plc.len().saturating_sub(4) / 8;
        let entry = |i: usize| {
            let start = u32_at(plc, 4 * i)?;
            let end = u32_at(plc, 4 * (i + 1))?;
            let page = u32_at(plc, 4 * (count + 1) + 4 * i)? & 0x003F_FFFF;
            Some((start, end, page as usize))
        };
        Bins { word, bins: (0..count).map_while(entry).collect(), kind }
    }

    /// The run holding `fc`: its FC range and its sprms (empty for default properties; for a
    /// paragraph, after its style's istd); `None` when no run covers it.
    fn run(&self, fc: u32) -> Option<(Range<u32>, &'a [u8])> {
        // Bins and runs are searched by halving: hostile files may hold millions of marks.
        let bin = self.bins.get(self.bins.partition_point(|(_, end, _)| *end <= fc))?;
        let page = slice(self.word, bin.2.checked_mul(PAGE)?, PAGE)?;
        if fc < bin.0 {
            return None;
        }
        let runs = usize::from(page[PAGE - 1]);
        let fcs: Vec<u32> = (0..=runs).map_while(|i| u32_at(page, 4 * i)).collect();
        let run = fcs.get(1..)?.partition_point(|end| *end <= fc);
        let range = *fcs.get(run)?..*fcs.get(run + 1)?;
        if run >= runs || !range.contains(&fc) {
            return None;
        }
        let stride = if self.kind == PageKind::Paragraph { 13 } else { 1 };
        let offset = usize::from(*page.get(4 * (runs + 1) + stride * run)?) * 2;
        if offset == 0 {
            return Some((range, &[]));
        }
        let sprms = match (self.kind, *page.get(offset)?) {
            (PageKind::Character, cb) => slice(page, offset + 1, usize::from(cb))?,
            (PageKind::Paragraph, 0) => slice(page, offset + 2, usize::from(*page.get(offset + 1)?) * 2)?,
            (PageKind::Paragraph, cb) => slice(page, offset + 1, usize::from(cb) * 2 - 1)?,
        };
        Some((range, sprms))
    }
}

/// What the property tables say about the text.
#[derive(Default)]
struct Properties<'a> {
    paragraphs: Bins<'a>,
    characters: Bins<'a>,
    /// The `Data` stream, for sprmPHugePapx.
    data: &'a [u8],
    /// Which paragraph styles, by istd, are headings.
    headings: Vec<bool>,
}

impl Properties<'_> {
    /// The properties of the paragraph whose mark is stored at `fc`; `None` when unknown.
    fn paragraph(&self, fc: u32) -> Option<Paragraph> {
        let (_, papx) = self.paragraphs.run(fc)?;
        let style = u16_at(papx, 0).map_or(0, usize::from);
        let mut paragraph = Paragraph { heading: self.headings.get(style) == Some(&true), ..Paragraph::default() };
        paragraph.apply(papx.get(2..).unwrap_or_default(), Some(self.data));
        Some(paragraph)
    }

    /// Whether the character stored at `fc` is deleted text of a tracked change (sprmCFRMarkDel),
    /// and the FCs the answer holds for.
    fn deleted(&self, fc: u32) -> (Range<u32>, bool) {
        match self.characters.run(fc) {
            Some((range, sprms)) => {
                let deleted = Sprms(sprms).any(|(sprm, operand)| sprm == 0x0800 && matches!(operand, [1 | 0x81]));
                (range, deleted)
            }
            None => (fc..fc.saturating_add(1), false),
        }
    }
}

/// The properties of one paragraph mark that give the document its structure.
#[derive(Debug, Default, PartialEq)]
struct Paragraph {
    /// The paragraph's style is a heading.
    heading: bool,
    in_table: bool,
    /// The mark ends a table row (sprmPFTtp).
    row_end: bool,
    /// On a row mark: the row's cells.
    row: Option<RowDef>,
}

/// A row's layout from sprmTDefTable and the merge sprms.
#[derive(Debug, Default, Clone, PartialEq)]
struct RowDef {
    /// Cell edges, left to right, in twips: one more than the cells.
    edges: Vec<i32>,
    /// Per cell: (merged into the cell to its left, continues the cell above).
    merges: Vec<(bool, bool)>,
}

impl Paragraph {
    /// Applies the structure sprms of a grpprl; with the `Data` stream, also those that
    /// sprmPHugePapx points to there.
    fn apply(&mut self, grpprl: &[u8], data: Option<&[u8]>) {
        for (sprm, operand) in Sprms(grpprl) {
            let flag = operand.first().is_some_and(|b| *b != 0);
            match sprm {
                0x2416 => self.in_table = flag,
                0x2417 => self.row_end = flag,
                0x6649 => self.in_table |= u32_at(operand, 0).is_some_and(|depth| depth > 0),
                0x6646 => {
                    let huge = data.zip(u32_at(operand, 0)).and_then(|(data, at)| {
                        let size = u16_at(data, at as usize)?;
                        slice(data, at as usize + 2, usize::from(size))
                    });
                    if let Some(huge) = huge {
                        self.apply(huge, None);
                    }
                }
                0xD608 => self.row = define_row(operand),
                0xD62B => {
                    if let (Some(row), [_, cell, flags, ..]) = (self.row.as_mut(), operand) {
                        if let Some(merge) = row.merges.get_mut(usize::from(*cell)) {
                            merge.1 = *flags == 1;
                        }
                    }
                }
                0x5624 => {
                    if let (Some(row), [first, limit, ..]) = (self.row.as_mut(), operand) {
                        let cells = usize::from(*first) + 1..usize::from(*limit);
                        row.merges.iter_mut().take(cells.end).skip(cells.start).for_each(|m| m.0 = true);
                    }
                }
                _ => {}
            }
        }
    }
}

/// sprmTDefTable's operand (after its 2-byte size): cell count, edges, then TC80 cell descriptions.
fn define_row(operand: &[u8]) -> Option<RowDef> {
    let data = operand.get(2..)?;
    let cells = usize::from(*data.first()?).min(MAX_ROW_CELLS);
    let edges: Vec<i32> = (0..=cells).map_while(|i| i16_at(data, 1 + 2 * i).map(i32::from)).collect();
    if edges.len() != cells + 1 {
        return None;
    }
    let descriptions = 1 + 2 * (cells + 1);
    let merges = (0..cells)
        .map(|i| {
            let flags = u16_at(data, descriptions + 20 * i).unwrap_or(0);
            (flags & 0x0002 != 0, flags & 0x0020 != 0 && flags & 0x0040 == 0)
        })
        .collect();
    Some(RowDef { edges, merges })
}

/// The sprms of a grpprl with their operands; stops at the first one that does not fit.
struct Sprms<'a>(&'a [u8]);

impl<'a> Iterator for Sprms<'a> {
    type Item = (u16, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let sprm = u16_at(self.0, 0)?;
        let size = match sprm >> 13 {
            0 | 1 => 1,
            2 | 4 | 5 => 2,
            3 => 4,
            7 => 3,
            // sprmTDefTable's size is a u16 counting itself minus one.
            _ if sprm == 0xD608 => usize::from(u16_at(self.0, 2)?) + 1,
            _ => usize::from(*self.0.get(2)?) + 1,
        };
        let operand = slice(self.0, 2, size)?;
        self.0 = &self.0[2 + size..];
        Some((sprm, operand))
    }
}

/// A table being read: finished rows (cell texts and the row's layout), the open row, the open
/// cell's finished paragraphs.
#[derive(Default)]
struct TableBuild {
    rows: Vec<(Vec<String>, Option<RowDef>)>,
    row: Vec<String>,
    cell: Vec<String>,
}

/// The main text into blocks, by its marks.
#[derive(Default)]
struct Builder {
    blocks: Vec<Block>,
    table: TableBuild,
    /// The open paragraph's visible text.
    paragraph: String,
    /// Open fields: whether each is past its separator (showing its result).
    fields: Vec<bool>,
    /// How many open fields are still in their code; text shows only when none is.
    in_code: usize,
    /// The last mark was a cell end, so a cell mark right after it ends the row (when the
    /// paragraph properties do not say).
    after_cell_end: bool,
}

fn structure(text: &[(char, u32)], properties: &Properties<'_>) -> Vec<Block> {
    let mut builder = Builder::default();
    // Character runs are long, so the last one's answer is kept.
    let mut deleted = (0..0, false);
    for &(c, fc) in text {
        let after_cell_end = std::mem::take(&mut builder.after_cell_end);
        if !deleted.0.contains(&fc) {
            deleted = properties.deleted(fc);
        }
        match c {
            '\r' | '\x0c' | '\x0e' => builder.end_paragraph(properties.paragraph(fc)),
            '\x07' => builder.cell_mark(properties.paragraph(fc), after_cell_end),
            '\x13' => {
                builder.fields.push(false);
                builder.in_code += 1;
            }
            '\x14' => {
                if let Some(shown @ false) = builder.fields.last_mut() {
                    *shown = true;
                    builder.in_code -= 1;
                }
            }
            '\x15' => {
                if builder.fields.pop() == Some(false) {
                    builder.in_code -= 1;
                }
            }
            _ if builder.in_code > 0 || deleted.1 => {}
            '\t' => builder.paragraph.push(' '),
            '\x0b' => builder.paragraph.push('\n'),
            '\x1e' => builder.paragraph.push('-'),
            c if c.is_control() => {}
            c => builder.paragraph.push(c),
        }
    }
    builder.end_paragraph(None);
    builder.end_table();
    builder.blocks
}

impl Builder {
    /// The open paragraph's lines (split at line breaks, white space reflowed), closing it.
    fn lines(&mut self) -> Vec<String> {
        let paragraph = std::mem::take(&mut self.paragraph);
        paragraph.split('\n').map(meta::reflow).filter(|l| !l.is_empty()).collect()
    }

    /// A paragraph mark: a line of the open cell, or a body paragraph that closes any open table.
    /// Without properties, a paragraph in the middle of a row is taken to be in the table.
    fn end_paragraph(&mut self, properties: Option<Paragraph>) {
        let (in_table, heading) = match properties {
            Some(p) => (p.in_table, p.heading),
            None => (!self.table.row.is_empty(), false),
        };
        let lines = self.lines();
        if in_table {
            self.table.cell.extend(lines);
            return;
        }
        self.end_table();
        self.blocks.extend(lines.into_iter().map(if heading { Block::Heading } else { Block::Paragraph }));
    }

    /// A `\x07`: the end of a cell, or of a row when the properties say so (or, without them, when
    /// it follows a cell end directly).
    fn cell_mark(&mut self, properties: Option<Paragraph>, after_cell_end: bool) {
        let lines = self.lines();
        let (row_end, row) = match properties {
            Some(p) => (p.row_end, p.row),
            None => (after_cell_end && lines.is_empty(), None),
        };
        if row_end {
            self.table.cell.clear();
            let cells = std::mem::take(&mut self.table.row);
            self.table.rows.push((cells, row));
            return;
        }
        let mut cell = std::mem::take(&mut self.table.cell);
        cell.extend(lines);
        self.table.row.push(table::join_lines(cell.into_iter()));
        self.after_cell_end = true;
    }

    fn end_table(&mut self) {
        let mut build = std::mem::take(&mut self.table);
        if !build.cell.is_empty() {
            build.row.push(table::join_lines(build.cell.into_iter()));
        }
        if !build.row.is_empty() {
            build.rows.push((build.row, None));
        }
        let mut table = grid::expand(grid_cells(build.rows));
        table.rows.retain(|row| row.iter().any(|c| !c.is_empty()));
        if !table.rows.is_empty() {
            self.blocks.push(Block::Table(table));
        }
    }
}

/// Rows of cell texts into grid cells: spans from the cell edges of all rows (edges within
/// [`EDGE_TOLERANCE`] are one grid line), merges from the rows' layouts.
fn grid_cells(rows: Vec<(Vec<String>, Option<RowDef>)>) -> Vec<Vec<Cell>> {
    let mut lines: Vec<i32> = rows.iter().filter_map(|(_, def)| def.as_ref()).flat_map(|d| d.edges.clone()).collect();
    lines.sort_unstable();
    lines.dedup_by(|later, first| *later - *first <= EDGE_TOLERANCE);
    let column = |edge: i32| lines.partition_point(|line| *line - EDGE_TOLERANCE <= edge);
    rows.into_iter()
        .map(|(texts, def)| {
            let Some(def) = def.filter(|d| d.merges.len() == texts.len()) else {
                return texts.into_iter().map(Cell::new).collect();
            };
            let mut cells: Vec<Cell> = Vec::with_capacity(texts.len() + 1);
            let before = column(def.edges[0]).saturating_sub(1);
            if before > 0 {
                cells.push(Cell { colspan: before, ..Cell::new(String::new()) });
            }
            for (i, text) in texts.into_iter().enumerate() {
                let span = column(def.edges[i + 1]).saturating_sub(column(def.edges[i])).max(1);
                let (merged_left, continues_above) = def.merges[i];
                match cells.last_mut() {
                    Some(left) if merged_left && i > 0 => left.colspan += span,
                    _ => cells.push(Cell { colspan: span, continues_above, ..Cell::new(text) }),
                }
            }
            cells
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Vec<(char, u32)> {
        s.chars().zip(0..).collect()
    }

    #[test]
    fn sprm_operands_are_sized_by_their_kind() {
        let mut grpprl = vec![0x16, 0x24, 1, 0x49, 0x66, 2, 0, 0, 0, 0x2B, 0xD6, 2, 1, 3];
        grpprl.extend([0x08, 0xD6, 5, 0, 1, 0, 0, 0x10]);
        grpprl.extend([0x17, 0x24, 1, 0xFF]);
        let sprms: Vec<(u16, usize)> = Sprms(&grpprl).map(|(sprm, operand)| (sprm, operand.len())).collect();
        assert_eq!(sprms, [(0x2416, 1), (0x6649, 4), (0xD62B, 3), (0xD608, 6), (0x2417, 1)]);
    }

    #[test]
    fn a_row_definition_gives_edges_and_merge_flags() {
        let mut operand = vec![0, 0, 2];
        operand.extend([0i16, 1000, 2500].iter().flat_map(|e| e.to_le_bytes()));
        operand.extend([0x60u8, 0].iter().chain(&[0u8; 18]));
        operand.extend([0x02u8, 0].iter().chain(&[0u8; 18]));
        let row = define_row(&operand).unwrap();
        assert_eq!(row, RowDef { edges: vec![0, 1000, 2500], merges: vec![(false, false), (true, false)] });
        assert_eq!(define_row(&[0, 0, 5, 1, 2]), None, "edges past the operand");
    }

    #[test]
    fn piece_tables_out_of_order_or_ragged_are_refused() {
        let plc = |cps: &[u32], fcs: &[u32]| -> Vec<u8> {
            let mut b: Vec<u8> = cps.iter().flat_map(|c| c.to_le_bytes()).collect();
            for fc in fcs {
                b.extend([0, 0]);
                b.extend(fc.to_le_bytes());
                b.extend([0, 0]);
            }
            b
        };
        let pieces = read_plc_pcd(&plc(&[0, 3, 5], &[0x4000_0800, 100])).unwrap();
        assert_eq!(pieces[0], Piece { cps: 0..3, offset: 0x400, compressed: true });
        assert_eq!(pieces[1], Piece { cps: 3..5, offset: 100, compressed: false });
        assert!(read_plc_pcd(&plc(&[0, 5, 3], &[0, 0])).is_err());
        assert!(read_plc_pcd(&plc(&[0, 3], &[0])[..10]).is_err());
        assert!(read_pieces(&[0x01, 0xFF, 0xFF]).is_err(), "a modifier of negative size");
        assert!(read_pieces(&[0x01, 0x00, 0x00]).is_err(), "modifiers and no piece table");
    }

    #[test]
    fn heading_styles_are_built_in_headings_or_named_so() {
        let style = |sti: u16, name: &str| -> Vec<u8> {
            let mut std = sti.to_le_bytes().to_vec();
            std.extend([0u8; 8]);
            std.extend((name.encode_utf16().count() as u16).to_le_bytes());
            std.extend(name.encode_utf16().flat_map(u16::to_le_bytes));
            std.extend([0, 0]);
            [(std.len() as u16).to_le_bytes().to_vec(), std].concat()
        };
        let mut stsh = [4u16, 5, 10].iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>();
        stsh.extend(style(0, "Normal"));
        stsh.extend(style(1, "heading 1"));
        stsh.extend([0, 0]);
        stsh.extend(style(0x0FFE, "报告标题"));
        stsh.extend(style(0x0FFE, "正文缩进"));
        assert_eq!(heading_styles(&stsh), [false, true, false, true, false]);
        assert_eq!(heading_styles(&stsh[..20]), [false], "a truncated sheet ends the list");
    }

    #[test]
    fn only_field_results_show_and_stray_field_marks_are_harmless() {
        let blocks = structure(&text("甲\x13 REF \x13 X \x14y\x15 \x14乙\x15丙\x15\x14丁\r"), &Properties::default());
        assert_eq!(blocks, [Block::Paragraph("甲乙丙丁".into())]);
    }

    #[test]
    fn many_open_fields_do_not_slow_the_text_down() {
        let mut s = "\x13".repeat(200_000);
        s.push_str(&"字".repeat(200_000));
        s.push_str(&"\x14\x15".repeat(200_000));
        s.push_str("尾\r");
        assert_eq!(structure(&text(&s), &Properties::default()), [Block::Paragraph("尾".into())]);
    }
}
