//! The property tables of a Word binary document, read only as far as structure needs: paragraph
//! properties (in a table, row end, the row's cell edges and merges, heading style), character
//! properties (deleted in a tracked change), and the style sheet's heading styles.
//!
//! Properties live in FKP pages of the WordDocument stream, found through the PlcBtePapx and
//! PlcBteChpx bins of the table stream; each run of FCs points to a grpprl, a list of sprms. Every
//! read is bounds-checked; a sprm that does not fit ends its list.

use std::ops::Range;

use super::{i16_at, slice, u16_at, u32_at};

/// Word's own limit on cells in a row is 63.
const MAX_ROW_CELLS: usize = 64;
/// Word's own limit on styles in a style sheet.
const MAX_STYLES: usize = 4094;
/// Size of a formatted disk page (FKP).
const PAGE: usize = 512;

/// Which styles of the STSH (by istd) are headings: the built-in heading 1–9 and Title, or a style
/// whose name says heading (标题) or title.
pub(super) fn heading_styles(stsh: &[u8]) -> Vec<bool> {
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
pub(super) enum PageKind {
    #[default]
    Paragraph,
    Character,
}

/// An FKP-paged property table (PlcBtePapx or PlcBteChpx): runs of FCs and the sprms formatting each.
#[derive(Default)]
pub(super) struct Bins<'a> {
    word: &'a [u8],
    /// (first FC, FC past the end, page number) of each bin, in FC order.
    bins: Vec<(u32, u32, usize)>,
    kind: PageKind,
}

impl<'a> Bins<'a> {
    pub(super) fn new(word: &'a [u8], plc: &[u8], kind: PageKind) -> Self {
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
pub(super) struct Properties<'a> {
    pub(super) paragraphs: Bins<'a>,
    pub(super) characters: Bins<'a>,
    /// The `Data` stream, for sprmPHugePapx.
    pub(super) data: &'a [u8],
    /// Which paragraph styles, by istd, are headings.
    pub(super) headings: Vec<bool>,
}

impl Properties<'_> {
    /// The properties of the paragraph whose mark is stored at `fc`; `None` when unknown.
    pub(super) fn paragraph(&self, fc: u32) -> Option<Paragraph> {
        let (_, papx) = self.paragraphs.run(fc)?;
        let style = u16_at(papx, 0).map_or(0, usize::from);
        let mut paragraph = Paragraph { heading: self.headings.get(style) == Some(&true), ..Paragraph::default() };
        paragraph.apply(papx.get(2..).unwrap_or_default(), Some(self.data));
        Some(paragraph)
    }

    /// Whether the character stored at `fc` is deleted text of a tracked change (sprmCFRMarkDel),
    /// and the FCs the answer holds for.
    pub(super) fn deleted(&self, fc: u32) -> (Range<u32>, bool) {
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
pub(super) struct Paragraph {
    /// The paragraph's style is a heading.
    pub(super) heading: bool,
    pub(super) in_table: bool,
    /// The mark ends a table row (sprmPFTtp).
    pub(super) row_end: bool,
    /// On a row mark: the row's cells.
    pub(super) row: Option<RowDef>,
}

/// A row's layout from sprmTDefTable and the merge sprms.
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct RowDef {
    /// Cell edges, left to right, in twips: one more than the cells.
    pub(super) edges: Vec<i32>,
    /// Per cell: (merged into the cell to its left, continues the cell above).
    pub(super) merges: Vec<(bool, bool)>,
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
