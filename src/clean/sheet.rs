//! Spreadsheet attachments (XLS, XLSX): each sheet's used range as a table, merged regions repeated
//! into every cell they cover (as HTML and DOCX tables are), the sheet's name as a heading when the
//! workbook has several. calamine runs inside `catch_unwind`, as a malformed workbook must never
//! take the crawl down.

use calamine::{Data, Dimensions, Range, Reader, Sheets};

use super::{meta, CleanError};
use crate::document::{Block, Document, Table};

/// Cleans a workbook; `format` ("XLS" or "XLSX") and `input` name it in errors.
pub(crate) fn clean(body: &[u8], input: &str, format: &'static str) -> Result<Document, CleanError> {
    let corrupt = |detail: String| CleanError::Corrupt { input: input.to_owned(), format, detail };
    let sheets = std::panic::catch_unwind(|| read_sheets(body))
        .map_err(|_| corrupt("the workbook reader crashed on this file".into()))?
        .map_err(|e| corrupt(e.to_string()))?;
    let several = sheets.len() > 1;
    let mut blocks = Vec::new();
    for (name, table) in sheets {
        if table.rows.is_empty() {
            continue;
        }
        if several {
            blocks.push(Block::Heading(name));
        }
        blocks.push(Block::Table(table));
    }
    Ok(Document { blocks, ..Document::default() })
}

fn read_sheets(body: &[u8]) -> Result<Vec<(String, Table)>, calamine::Error> {
    let mut workbook = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(body))?;
    let mut out = Vec::new();
    for name in workbook.sheet_names() {
        let Ok(range) = workbook.worksheet_range(&name) else { continue };
        let merges = match &mut workbook {
            Sheets::Xls(xls) => xls.merge_cells_by_sheet_name(&name).unwrap_or_default(),
            Sheets::Xlsx(xlsx) => xlsx.merge_cells_by_sheet_name(&name).unwrap_or_default(),
            Sheets::Xlsb(_) | Sheets::Ods(_) => Vec::new(),
        };
        out.push((name, grid(&range, &merges)));
    }
    Ok(out)
}

/// The used range as rows of cell texts, merged regions filled from their top-left cell.
fn grid(range: &Range<Data>, merges: &[Dimensions]) -> Table {
    let mut rows: Vec<Vec<String>> =
        range.rows().map(|row| row.iter().map(|c| meta::reflow(&c.to_string())).collect()).collect();
    let (top, left) = range.start().unwrap_or((0, 0));
    for merge in merges {
        let (Some(r0), Some(c0)) = (merge.start.0.checked_sub(top), merge.start.1.checked_sub(left)) else {
            continue;
        };
        let (r0, c0) = (r0 as usize, c0 as usize);
        let Some(text) = rows.get(r0).and_then(|r| r.get(c0)).cloned() else { continue };
        let r1 = (merge.end.0.saturating_sub(top) as usize).min(rows.len().saturating_sub(1));
        for row in rows.iter_mut().take(r1 + 1).skip(r0) {
            let c1 = (merge.end.1.saturating_sub(left) as usize).min(row.len().saturating_sub(1));
            for cell in row.iter_mut().take(c1 + 1).skip(c0) {
                cell.clone_from(&text);
            }
        }
    }
    rows.retain(|row| row.iter().any(|c| !c.is_empty()));
    Table { rows }
}
