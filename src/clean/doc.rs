//! DOC attachments (Word 97–2003 binary, also written by WPS): the OLE container's `WordDocument`
//! stream and its table stream read into paragraphs and full-grid tables, as DOCX is.
//!
//! The FIB gives the table stream (`0Table`/`1Table`), the main text length (ccpText) and where the
//! piece table (CLX) and the paragraph-property bins (PlcBtePapx) are. The piece table maps text
//! positions to file offsets, 8-bit CP1252 or UTF-16LE. Structure comes from the text's own marks —
//! `\r` ends a paragraph, `\x07` a cell or a row — with each mark's paragraph properties saying
//! whether it is in a table, whether it ends a row, and (on the row mark) the row's cell edges and
//! vertical merges, from which the grid is built (the property tables are read in `properties`).
//! Field codes are dropped, their results kept; text deleted in a tracked change is dropped.
//!
//! Invariants: every offset read from the file is bounds-checked and every size capped, so hostile
//! bytes give a [`CleanError`] naming the input, never a panic or a huge allocation. An OLE file
//! holding a workbook goes to the sheet reader; encrypted documents, Word 6/95 files and WPS files
//! in Kingsoft's own older format are [`CleanError::Unsupported`].

use std::io::{Cursor, Read};
use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};

mod properties;

use properties::{heading_styles, Bins, PageKind, Paragraph, Properties, RowDef};

use super::grid::{self, Cell};
use super::{meta, sheet, table, CleanError};
use crate::document::{Block, Document};

/// The largest stream read out of the container.
const MAX_STREAM_BYTES: u64 = 64 * 1024 * 1024;
/// The most characters of main text read (a report has far fewer).
const MAX_TEXT_CHARS: u32 = 4 * 1024 * 1024;
/// Cell edges closer than this (in twips, 1/1440 inch) are one grid line.
const EDGE_TOLERANCE: i32 = 20;
/// The FIB's signature.
const WORD_IDENT: u16 = 0xA5EC;
/// FIB versions below this are Word 6/95, whose FIB and text layout differ.
const FIRST_WORD97_FIB: u16 = 0x00C0;

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
        Container::Unreadable => {
            sheet::clean(body, input, "XLS").map_err(|_| corrupt("the OLE compound file cannot be opened".into()))
        }
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
    // The CLX is the 34th (offset, size) pair; the others read come before it.
    if usize::from(u16_at(word, blob - 2).ok_or_else(short)?) < 34 {
        return Err(Fault::Corrupt("the FIB is too short to locate a piece table".into()));
    }
    let pair = |index: usize| -> Result<(usize, usize), Fault> {
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
    // Each grid line is the smallest edge of its cluster, and every edge lies between its own line and
    // the next, so the lines at or left of an edge number its column.
    let column = |edge: i32| lines.partition_point(|line| *line <= edge);
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
    fn nearby_cell_edges_are_one_grid_line_and_spans_follow_the_lines() {
        let row = |texts: [&str; 2], middle: i32| {
            let def = RowDef { edges: vec![0, middle, 2000], merges: vec![(false, false); 2] };
            (texts.map(String::from).to_vec(), Some(def))
        };
        let rows = vec![row(["a", "b"], 1000), row(["c", "d"], 1010), row(["e", "f"], 1025)];
        let table = grid::expand(grid_cells(rows));
        assert_eq!(table.rows, [["a", "b", "b"], ["c", "d", "d"], ["e", "e", "f"]]);
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
