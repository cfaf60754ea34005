//! The shared parser: a report's [`Document`] into the report JSON of the contract.
//!
//! Role: read the identity (agency, year), detect the layout (国办公开办函〔2019〕60号 or
//! 〔2021〕30号) and read tables 二 (主动公开), 三 (applications, 26 × 7) and 四 (review and
//! litigation), then evaluate the consistency rules (see [Checks](#checks)).
//!
//! Invariants:
//! - Pure and synchronous; never panics and never fails, whatever the input. It imports nothing of
//!   fetching or storage, so other programs can link it.
//! - Every number is right or `null`: rows are matched by label; where labels were lost the form's
//!   fixed order is used only when the count of rows proves it. A wrong number is worse than none.
//! - Every input shape reads the same way: grid tables (merged cells repeated), text with `|` or
//!   tab cells, one cell per line, and PDF text where tables are labels and numbers in reading
//!   order: the document is read as one flat sequence of cells, cut into labels and runs of figures.
//!
//! # Checks
//! Each reported [`Check`] names its rule (`rule`, as the contract names it), where it was applied
//! (`at`: the row, column or group; absent for a rule that applies once), whether the figures
//! satisfy it and the equation behind it. A rule is evaluated only when every figure it needs is
//! present; a failed rule is data about the report, not an error. The rules, in the order they are
//! reported:
//! - `applications.row_sum` at each row: the six applicant columns add up to the total column;
//! - `applications.results_sum` at each column: the result rows (予以公开 … （六）) add up to （七）总计;
//! - `applications.other_sum` at each column: the three （六） rows add up to a printed （六） total row;
//! - `applications.balance` at each column: 新收 + 上年结转 = 总计 + 结转下年度;
//! - `review_litigation.group_sum` at each group: each group of table 四 adds up to its 总计;
//! - `narrative.new_received`, `narrative.review_total`, `narrative.litigation_total`: a figure the
//!   text states ("收到政府信息公开申请9件", "行政复议 5 件", "行政诉讼 4 件") equals the table's.
//!
//! # Identity
//! The year comes from the statistics period (统计期限 …自2022年), else the title, else the year the
//! body names most often; the agency from the title, else the report's own name quoted in its
//! text, else its contact line (请与…办公室联系), else its guide (《…政府信息公开指南》), else
//! the page metadata, with a few unambiguous abbreviations spelt out (医保局 → 医疗保障局).

mod checks;
mod identity;
mod labels;
mod layout;
mod linear;
mod model;
mod numbers;
mod tables;

pub use model::{
    Active2019, Active2021, ActiveDisclosure, ApplicationCells, ApplicationRows, Applications, Check, Decisions,
    Documents2019, Documents2021, Fees2019, Fees2021, Format, Items2019, Procurement, Report, ReviewGroup,
    ReviewLitigation, ACTIVE_ITEMS_2019, ACTIVE_ITEMS_2021, APPLICATION_COLUMNS, APPLICATION_ROWS, REVIEW_FIELDS,
    REVIEW_GROUPS,
};

use crate::document::{Block, Document};
use numbers::Cell;

/// Parses a cleaned report (from a page, an attachment or a text file).
pub fn parse_document(doc: &Document) -> Report {
    let prose = prose(doc);
    let year = identity::year(doc, &prose);
    let agency = identity::agency(doc, &prose);
    let identity_only = Report {
        agency,
        year,
        format: None,
        active_disclosure: None,
        applications: None,
        review_litigation: None,
        checks: Vec::new(),
    };
    let cells = linear::cells(doc);
    let sections = tables::locate(&cells);
    let section = |r: &Option<std::ops::Range<usize>>| -> &[Cell] { r.clone().map_or(&[][..], |r| &cells[r]) };
    let row_groups = tables::application_groups(section(&sections.applications));
    let found = row_groups.iter().any(|g| g.row.is_some()) || tables::has_active_rows(section(&sections.active));
    if !found {
        return identity_only;
    }
    let headers_start = sections.active.as_ref().or(sections.applications.as_ref()).map_or(0, |r| r.start);
    let headers_end = sections.applications.as_ref().or(sections.active.as_ref()).map_or(0, |r| r.end);
    let headers = &cells[headers_start.min(headers_end)..headers_end];
    let Some(format) = layout::detect(headers, tables::other_rows_printed(&row_groups), year) else {
        return identity_only;
    };
    let other_printed = format == Format::Layout2021 && row_groups.iter().any(|g| g.row == Some(23));
    let rows = tables::applications(row_groups, sections.applications_closed, Some(format));
    let review = tables::review(section(&sections.review));
    let mut checks = Vec::new();
    checks::applications(&rows, other_printed, &mut checks);
    checks::review(&review, &mut checks);
    checks::narrative(&prose, Some(&rows), Some(&review), &mut checks);
    Report {
        format: Some(format),
        active_disclosure: Some(tables::active(section(&sections.active), format)),
        applications: Some(Applications::new(rows)),
        review_litigation: Some(review),
        checks,
        ..identity_only
    }
}

/// The parser's report when `doc` is an annual report: the parser found a standard table, or the
/// document names itself one (年度报告, 年报). The archive keeps documents, not reports: readers
/// derive the report with this, so that a better parser improves every report already archived.
pub fn annual_report(doc: &Document) -> Option<Report> {
    let report = parse_document(doc);
    let named = |s: &str| s.contains("年度报告") || s.contains("年报");
    (report.format.is_some() || doc.title.as_deref().is_some_and(named)).then_some(report)
}

/// Parses a report that arrives as plain text (see [`crate::clean::text`] for the shapes read).
pub fn parse_text(text: &str) -> Report {
    parse_document(&crate::clean::text::document_from_text(text))
}

/// The title and the running text (headings and paragraphs), where identity and narrative are read.
fn prose(doc: &Document) -> String {
    let mut out = String::new();
    if let Some(title) = &doc.title {
        out.push_str(title);
        out.push('\n');
    }
    for block in &doc.blocks {
        if let Block::Heading(s) | Block::Paragraph(s) = block {
            out.push_str(s);
            out.push('\n');
        }
    }
    out
}
