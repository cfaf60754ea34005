//! The consistency rules of the contract, and the narrative's figures against the tables.
//!
//! The rules and their names are listed in the parser's module documentation ([`crate::parser`]).

use std::sync::LazyLock;

use regex::Regex;

use super::model::{ApplicationCells, Check, ReviewLitigation, APPLICATION_COLUMNS, APPLICATION_ROWS, REVIEW_GROUPS};

static RECEIVED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:收到|受理|接收)[^，。；,;！!？?\d]{0,14}?申请[^，。；,;！!？?\d]{0,8}?(\d+)\s*件")
        .expect("the narrative pattern is valid")
});
static REVIEWED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"行政复议\s*(\d+)\s*件").expect("the narrative pattern is valid"));
static LITIGATED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"行政诉讼\s*(\d+)\s*件").expect("the narrative pattern is valid"));

fn sum_check(rule: &str, at: &str, parts: &[Option<u64>], total: Option<u64>) -> Option<Check> {
    let total = total?;
    if parts.iter().any(Option::is_none) {
        return None;
    }
    // The equation written straight into one string, without `fmt` (a check per row and column
    // adds up: formatting was a sixth of the parser's time).
    let mut detail = String::new();
    let mut digits = itoa::Buffer::new();
    let mut sum = 0;
    for (i, part) in parts.iter().flatten().enumerate() {
        sum += part;
        if i > 0 {
            detail.push_str(" + ");
        }
        detail.push_str(digits.format(*part));
    }
    let ok = sum == total;
    detail.push_str(" = ");
    if ok {
        detail.push_str(digits.format(total));
    } else {
        detail.push_str(digits.format(sum));
        detail.push_str(", not ");
        detail.push_str(digits.format(total));
    }
    Some(Check { rule: rule.into(), at: Some(at.into()), ok, detail })
}

/// The rules on table 三; `other_printed` says whether the （六） total row was printed (rather than
/// summed by the parser, which would make its rule trivially true).
pub(crate) fn applications(rows: &[ApplicationCells; 26], other_printed: bool, out: &mut Vec<Check>) {
    for (key, row) in APPLICATION_ROWS.iter().zip(rows) {
        out.extend(sum_check("applications.row_sum", key, &row[..6], row[6]));
    }
    for (c, column) in APPLICATION_COLUMNS.iter().enumerate() {
        let results: Vec<Option<u64>> = (2..=19).chain([23]).map(|r| rows[r][c]).collect();
        out.extend(sum_check("applications.results_sum", column, &results, rows[24][c]));
    }
    if other_printed {
        for (c, column) in APPLICATION_COLUMNS.iter().enumerate() {
            let parts: Vec<Option<u64>> = (20..=22).map(|r| rows[r][c]).collect();
            out.extend(sum_check("applications.other_sum", column, &parts, rows[23][c]));
        }
    }
    for (c, column) in APPLICATION_COLUMNS.iter().enumerate() {
        let [Some(new), Some(carried), Some(total), Some(forward)] = [0, 1, 24, 25].map(|r| rows[r][c]) else {
            continue;
        };
        let ok = new + carried == total + forward;
        let sign = if ok { "=" } else { "≠" };
        out.push(Check {
            rule: "applications.balance".into(),
            at: Some((*column).into()),
            ok,
            detail: format!("{new} + {carried} {sign} {total} + {forward}"),
        });
    }
}

/// The rules on table 四.
pub(crate) fn review(review: &ReviewLitigation, out: &mut Vec<Check>) {
    for (name, group) in REVIEW_GROUPS.iter().zip(review.groups()) {
        let f = group.fields();
        out.extend(sum_check("review_litigation.group_sum", name, &f[..4], f[4]));
    }
}

fn stated(pattern: &Regex, prose: &str) -> Option<u64> {
    pattern.captures(prose).and_then(|c| c[1].parse().ok())
}

fn narrative_check(rule: &str, what: &str, stated: Option<u64>, table: Option<u64>) -> Option<Check> {
    let (stated, table) = (stated?, table?);
    let ok = stated == table;
    let detail = format!("the text states {stated} {what}; the table says {table}");
    Some(Check { rule: rule.into(), at: None, ok, detail })
}

/// The narrative's figures against the tables.
pub(crate) fn narrative(
    prose: &str,
    rows: Option<&[ApplicationCells; 26]>,
    review: Option<&ReviewLitigation>,
    out: &mut Vec<Check>,
) {
    let received = rows.and_then(|r| r[0][6]);
    out.extend(narrative_check("narrative.new_received", "applications received", stated(&RECEIVED, prose), received));
    let reviews = review.and_then(|r| r.review.total);
    out.extend(narrative_check("narrative.review_total", "administrative reviews", stated(&REVIEWED, prose), reviews));
    let suits = review.and_then(|r| Some(r.litigation_direct.total? + r.litigation_after_review.total?));
    out.extend(narrative_check("narrative.litigation_total", "lawsuits", stated(&LITIGATED, prose), suits));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::model::ReviewGroup;

    #[test]
    fn sums_report_their_equation() {
        let c = sum_check("r", "x", &[Some(1), Some(2)], Some(3)).unwrap();
        assert!(c.ok);
        assert_eq!(c.detail, "1 + 2 = 3");
        let c = sum_check("r", "x", &[Some(1), Some(2)], Some(4)).unwrap();
        assert!(!c.ok);
        assert_eq!(c.detail, "1 + 2 = 3, not 4");
        assert!(sum_check("r", "x", &[Some(1), None], Some(4)).is_none(), "not evaluated with a figure missing");
    }

    #[test]
    fn balance_per_column() {
        let mut rows = [[Some(0); 7]; 26];
        rows[0] = [Some(1), Some(0), Some(0), Some(0), Some(0), Some(0), Some(1)];
        rows[2] = rows[0];
        rows[24] = rows[0];
        let mut out = Vec::new();
        applications(&rows, false, &mut out);
        let balance: Vec<&Check> = out.iter().filter(|c| c.rule.starts_with("applications.balance")).collect();
        assert_eq!(balance.len(), 7);
        assert_eq!(balance[6].detail, "1 + 0 = 1 + 0");
        assert!(out.iter().all(|c| c.ok));
        rows[25][0] = Some(2);
        out.clear();
        applications(&rows, false, &mut out);
        let bad: Vec<String> = out.iter().filter(|c| !c.ok).map(Check::name).collect();
        assert_eq!(bad, ["applications.row_sum[carried_forward]", "applications.balance[natural_person]"]);
    }

    #[test]
    fn the_narrative_against_the_table() {
        let mut rows = [[Some(0); 7]; 26];
        rows[0][6] = Some(10);
        let review = ReviewLitigation {
            review: ReviewGroup::from_fields([Some(1), Some(0), Some(0), Some(0), Some(1)]),
            ..Default::default()
        };
        let mut out = Vec::new();
        narrative("全年共收到政府信息公开申请9件，行政复议 1 件。", Some(&rows), Some(&review), &mut out);
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(!out[0].ok);
        assert_eq!(out[0].detail, "the text states 9 applications received; the table says 10");
        assert!(out[1].ok);
    }
}
