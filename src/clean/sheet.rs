//! Spreadsheet attachments (XLS, XLSX): each sheet's used range as a table, the sheet's name as a
//! heading when the workbook has several. calamine runs inside `catch_unwind`, as a malformed
//! workbook must never take the crawl down.

use calamine::Reader;

use super::CleanError;
use crate::document::{Block, Document, Table};

/// Cleans a workbook; `format` ("XLS" or "XLSX") and `input` name it in errors.
pub(crate) fn clean(body: &[u8], input: &str, format: &'static str) -> Result<Document, CleanError> {
    let corrupt = |detail: String| CleanError::Corrupt { input: input.to_owned(), format, detail };
    let sheets = std::panic::catch_unwind(|| {
        let mut workbook = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(body))?;
        Ok::<_, calamine::Error>(workbook.worksheets())
    })
    .map_err(|_| corrupt("the workbook reader crashed on this file".into()))?
    .map_err(|e| corrupt(e.to_string()))?;
    let several = sheets.len() > 1;
    let mut blocks = Vec::new();
    for (name, range) in sheets {
        let rows: Vec<Vec<String>> = range
            .rows()
            .map(|row| row.iter().map(|c| super::meta::reflow(&c.to_string())).collect::<Vec<_>>())
            .filter(|row| row.iter().any(|c| !c.is_empty()))
            .collect();
        if rows.is_empty() {
            continue;
        }
        if several {
            blocks.push(Block::Heading(name));
        }
        blocks.push(Block::Table(Table { rows }));
    }
    Ok(Document { blocks, ..Document::default() })
}
