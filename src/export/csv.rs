//! `reports.csv`: one row per parsed report, UTF-8 with a BOM (so that spreadsheet programs read the
//! Chinese right), RFC 4180 quoting, CRLF line ends.
//!
//! Columns, in this fixed order (the README lists them):
//! 1. `url, portal, agency, year, format`;
//! 2. `applications.<row>.<column>`: the 26 rows of table 三 in form order, each with its 7 columns;
//! 3. `review_litigation.<group>.<field>`;
//! 4. `active_disclosure.<item>.<field>`: the 2021 layout's items, then the 2019 layout's. A report
//!    fills only its own layout's columns. Three names (`licensing`, `punishment`, `enforcement`
//!    `.decisions`: 本年处理决定数量 in both forms) occur in both layouts; they are one column each,
//!    at their 2021 place, filled by reports of either layout, so that no header name repeats;
//! 5. `checks_failed`: the name of every check with `ok == false` (`rule[at]`, see
//!    [`crate::parser::Check::name`]), `;`-separated.
//!
//! An empty cell is a null or missing number, never a guess; numbers are written as JSON writes
//! them, strings (a signed `change` such as `+1036`) as they are.

use std::io::Write;
use std::path::Path;
use std::sync::LazyLock;

use serde_json::Value;

use super::manifest::{FileEntry, HashedFile};
use super::{ArchivedDocument, ExportError, SnapshotFile};
use crate::parser::{
    Check, ACTIVE_ITEMS_2019, ACTIVE_ITEMS_2021, APPLICATION_COLUMNS, APPLICATION_ROWS, REVIEW_FIELDS, REVIEW_GROUPS,
};

/// The CSV file's name inside the snapshot.
pub(super) const CSV: &str = "reports.csv";

/// Where a column's cell comes from.
enum Source {
    /// The document's URL.
    Url,
    /// The document's portal.
    Portal,
    /// A value of the report, by JSON pointer; only for reports of `layout` when that is set.
    Report { pointer: String, layout: Option<&'static str> },
    /// The failed checks' rules.
    ChecksFailed,
}

struct Column {
    name: String,
    source: Source,
}

static COLUMNS: LazyLock<Vec<Column>> = LazyLock::new(columns);

fn columns() -> Vec<Column> {
    let report = |name: String, pointer: String, layout| Column { name, source: Source::Report { pointer, layout } };
    let mut cols = vec![
        Column { name: "url".into(), source: Source::Url },
        Column { name: "portal".into(), source: Source::Portal },
    ];
    for key in ["agency", "year", "format"] {
        cols.push(report(key.into(), format!("/{key}"), None));
    }
    for row in APPLICATION_ROWS {
        for (i, column) in APPLICATION_COLUMNS.iter().enumerate() {
            cols.push(report(format!("applications.{row}.{column}"), format!("/applications/rows/{row}/{i}"), None));
        }
    }
    for group in REVIEW_GROUPS {
        for field in REVIEW_FIELDS {
            let name = format!("review_litigation.{group}.{field}");
            cols.push(report(name, format!("/review_litigation/{group}/{field}"), None));
        }
    }
    for (layout, items) in [("2021", &ACTIVE_ITEMS_2021[..]), ("2019", &ACTIVE_ITEMS_2019[..])] {
        for (item, fields) in items {
            for field in *fields {
                let name = format!("active_disclosure.{item}.{field}");
                match cols.iter_mut().find(|c| c.name == name) {
                    // The same figure in both layouts: one column, whichever layout the report has.
                    Some(Column { source: Source::Report { layout: shared, .. }, .. }) => *shared = None,
                    _ => cols.push(report(name, format!("/active_disclosure/{item}/{field}"), Some(layout))),
                }
            }
        }
    }
    cols.push(Column { name: "checks_failed".into(), source: Source::ChecksFailed });
    cols
}

/// reports.csv being written.
pub(super) struct CsvFile {
    file: HashedFile,
    rows: u64,
}

impl CsvFile {
    /// Creates the file in `dir` and writes the BOM and the header.
    pub(super) fn create(dir: &Path) -> Result<CsvFile, ExportError> {
        let mut csv = CsvFile { file: HashedFile::create(dir, CSV)?, rows: 0 };
        let header: Vec<&str> = COLUMNS.iter().map(|c| c.name.as_str()).collect();
        csv.write_line("\u{feff}", &header)?;
        Ok(csv)
    }

    fn write_line<S: AsRef<str>>(&mut self, prefix: &str, cells: &[S]) -> Result<(), ExportError> {
        let mut line = String::from(prefix);
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                line.push(',');
            }
            push_field(&mut line, cell.as_ref());
        }
        line.push_str("\r\n");
        self.file.write_all(line.as_bytes()).map_err(ExportError::io(&self.file.path))
    }
}

impl SnapshotFile for CsvFile {
    fn add_document(&mut self, doc: &ArchivedDocument) -> Result<(), ExportError> {
        let Some(report) = doc.version.report.as_ref().filter(|r| r.is_object()) else { return Ok(()) };
        let cells: Vec<String> = COLUMNS.iter().map(|c| cell(&c.source, doc, report)).collect();
        self.write_line("", &cells)?;
        self.rows += 1;
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<(FileEntry, u64), ExportError> {
        Ok((self.file.finish()?, self.rows))
    }
}

fn cell(source: &Source, doc: &ArchivedDocument, report: &Value) -> String {
    match source {
        Source::Url => doc.page.url.clone(),
        Source::Portal => doc.page.portal.clone(),
        Source::Report { layout: Some(layout), .. } if report["format"].as_str() != Some(layout) => String::new(),
        Source::Report { pointer, .. } => report.pointer(pointer).map(scalar).unwrap_or_default(),
        Source::ChecksFailed => {
            let checks = report["checks"].as_array().map(Vec::as_slice).unwrap_or_default();
            let failed = checks.iter().filter(|c| c["ok"] == Value::Bool(false));
            let names = failed.filter_map(|c| serde_json::from_value::<Check>(c.clone()).ok()).map(|c| c.name());
            names.collect::<Vec<_>>().join(";")
        }
    }
}

/// A JSON scalar as a cell: numbers as JSON writes them, strings as they are, nothing else.
fn scalar(value: &Value) -> String {
    match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Null | Value::Array(_) | Value::Object(_) => String::new(),
    }
}

/// Appends one field, quoted (RFC 4180) when it holds a comma, a quote or a line break.
fn push_field(line: &mut String, field: &str) {
    if field.contains([',', '"', '\r', '\n']) {
        line.push('"');
        line.push_str(&field.replace('"', "\"\""));
        line.push('"');
    } else {
        line.push_str(field);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_has_every_number_of_the_schema_once() {
        let names: Vec<&str> = COLUMNS.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names.len(), 5 + 26 * 7 + 3 * 5 + (3 + 3 + 1 + 1 + 1 + 1) + (3 + 3 + 2 + 3 + 2 + 2 + 2 + 2) + 1);
        let unique: std::collections::HashSet<&&str> = names.iter().collect();
        assert_eq!(unique.len(), names.len(), "no header name repeats");
        assert_eq!(
            names[..6],
            ["url", "portal", "agency", "year", "format", "applications.new_received.natural_person"]
        );
        assert_eq!(names[5 + 26 * 7 - 1], "applications.carried_forward.total");
        assert_eq!(names[5 + 26 * 7], "review_litigation.review.upheld");
        assert_eq!(names[5 + 26 * 7 + 15], "active_disclosure.regulations.issued");
        assert_eq!(names.last(), Some(&"checks_failed"));
    }

    #[test]
    fn fields_are_quoted_only_when_they_must_be() {
        let mut line = String::new();
        for field in ["plain", "a,b", "say \"hi\"", "two\nlines", "重庆市医疗保障局"] {
            push_field(&mut line, field);
            line.push('|');
        }
        assert_eq!(line, "plain|\"a,b\"|\"say \"\"hi\"\"\"|\"two\nlines\"|重庆市医疗保障局|");
    }

    #[test]
    fn numbers_keep_their_json_form() {
        let v: Value = serde_json::from_str(r#"[1036, 12.5, "+1036", null, [1]]"#).unwrap();
        let cells: Vec<String> = v.as_array().unwrap().iter().map(scalar).collect();
        assert_eq!(cells, ["1036", "12.5", "+1036", "", ""]);
    }
}
