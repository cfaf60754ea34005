//! Tables 二, 三 and 四 read from the document's flat sequence of cells.
//!
//! The tables are found by their headers, in this order: a cell opening with 第二十条 for 二;
//! 申请人情况, the 勾稽关系 note or a 自然人 cell for 三; 行政复议 for 四.
//!
//! Rows are placed by their labels. Where labels were lost, table 三's rows are placed by the
//! form's fixed order only when the count of rows between two placed rows (or the table's edges)
//! proves which rows they are; a row named twice, or out of the form's order, is not placed.
//! Table 二's items are placed by label only, and an item the form follows with another under the
//! same header only when that row follows it. Anything else stays `null`.

use std::ops::Range;

use super::labels::{active_item, application_row, Item};
use super::linear::{groups, resolve, Group};
use super::model::{
    Active2019, Active2021, ActiveDisclosure, ApplicationCells, Decisions, Documents2019, Documents2021, Fees2019,
    Fees2021, Format, Items2019, Procurement, ReviewGroup, ReviewLitigation,
};
use super::numbers::{Cell, Figure};

/// Where each table lies in the cells.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Sections {
    /// Table 二.
    pub active: Option<Range<usize>>,
    /// Table 三.
    pub applications: Option<Range<usize>>,
    /// Whether table 三's end was marked by table 四's header (so its last rows are known).
    pub applications_closed: bool,
    /// Table 四.
    pub review: Option<Range<usize>>,
}

fn find(cells: &[Cell], from: usize, pred: impl Fn(&str) -> bool) -> Option<usize> {
    cells.iter().skip(from).position(|c| matches!(c, Cell::Text(t) if pred(t))).map(|p| p + from)
}

/// Finds the three tables by their headers.
pub(crate) fn locate(cells: &[Cell]) -> Sections {
    let t2 = find(cells, 0, |t| t.starts_with("第二十条"));
    let t3 = find(cells, t2.unwrap_or(0), |t| t.contains("申请人情况") || t.contains("勾稽关系") || t == "自然人");
    let t4 = t3.or(t2).and_then(|from| find(cells, from, |t| t.contains("行政复议")));
    let t5 = t4.and_then(|from| {
        find(cells, from, |t| t.starts_with("五、") || t.contains("存在的主要问题") || t.contains("主要问题及"))
    });
    let end = cells.len();
    Sections {
        active: t2.map(|s| s..t3.or(t4).unwrap_or(end)),
        applications: t3.map(|s| s..t4.unwrap_or(end)),
        applications_closed: t3.is_some() && t4.is_some(),
        review: t4.map(|s| s..t5.unwrap_or(end)),
    }
}

/// One run of figures in table 三: the row its label names, and its seven figures when it has them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RowGroup {
    /// Index into `APPLICATION_ROWS`, from the label or (later) from the form's order.
    pub row: Option<usize>,
    /// The seven figures; `None` when the run is not a clean row (wrong count of figures).
    pub values: Option<ApplicationCells>,
}

fn counts(figures: &[Option<Figure>]) -> ApplicationCells {
    let mut out = [None; 7];
    for (o, f) in out.iter_mut().zip(figures) {
        *o = f.and_then(Figure::count);
    }
    out
}

/// Table 三's runs of figures with the rows their labels name.
pub(crate) fn application_groups(cells: &[Cell]) -> Vec<RowGroup> {
    let mut out = Vec::new();
    let mut previous = None;
    for g in groups(cells) {
        let row = application_row(&g.label, previous);
        previous = row.or(previous);
        let figures = resolve(&g, 7, |k| k > 0 && k % 7 == 0);
        if !figures.is_empty() && figures.len() % 7 == 0 {
            for (i, chunk) in figures.chunks(7).enumerate() {
                out.push(RowGroup { row: if i == 0 { row } else { None }, values: Some(counts(chunk)) });
            }
        } else {
            out.push(RowGroup { row, values: None });
        }
    }
    out
}

/// How the （六）其他处理 group is printed: its three rows, or one.
pub(crate) fn other_rows_printed(groups: &[RowGroup]) -> Option<usize> {
    if groups.iter().any(|g| matches!(g.row, Some(20..=22))) {
        Some(3)
    } else if groups.iter().any(|g| g.row == Some(23)) {
        Some(1)
    } else {
        None
    }
}

/// Drops labels that contradict each other: a row named twice (unless only one run is clean),
/// and rows named out of the form's order.
fn settle_labels(groups: &mut [RowGroup]) {
    for row in 0..26 {
        let named: Vec<usize> = (0..groups.len()).filter(|&i| groups[i].row == Some(row)).collect();
        if named.len() < 2 {
            continue;
        }
        let clean: Vec<usize> = named.iter().copied().filter(|&i| groups[i].values.is_some()).collect();
        for &i in &named {
            if clean.len() != 1 || groups[i].values.is_none() {
                groups[i].row = None;
                groups[i].values = None;
            }
        }
    }
    let mut last: Option<usize> = None;
    for i in 0..groups.len() {
        let Some(row) = groups[i].row else { continue };
        if let Some(l) = last {
            if groups[l].row.is_some_and(|r| r >= row) {
                for j in [l, i] {
                    groups[j].row = None;
                    groups[j].values = None;
                }
                last = None;
                continue;
            }
        }
        last = Some(i);
    }
}

/// The ways of printing （六） (which of rows 20 to 23 appear) that the layout and the rows
/// named by their labels allow.
fn other_variants(groups: &[RowGroup], format: Option<Format>) -> Vec<&'static [usize]> {
    let all: &[&'static [usize]] = match format {
        Some(Format::Layout2019) => &[&[23]],
        _ => &[&[20, 21, 22], &[23], &[20, 21, 22, 23]],
    };
    let named: Vec<usize> = groups.iter().filter_map(|g| g.row).filter(|r| (20..=23).contains(r)).collect();
    all.iter().copied().filter(|v| named.iter().all(|r| v.contains(r))).collect()
}

/// The rows the form prints strictly between rows `a` and `b`, for each way of printing （六）.
fn printed_between(a: isize, b: isize, variants: &[&[usize]]) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    for variant in variants {
        let list: Vec<usize> = (0..26usize)
            .filter(|&r| (r as isize) > a && (r as isize) < b)
            .filter(|r| !(20..=23).contains(r) || variant.contains(r))
            .collect();
        if !out.contains(&list) {
            out.push(list);
        }
    }
    out
}

/// Places unlabelled clean runs by the form's order where the count of runs proves their rows.
fn place_by_order(groups: &mut [RowGroup], closed: bool, format: Option<Format>) {
    let variants = other_variants(groups, format);
    let mut anchors: Vec<(usize, isize)> = vec![(usize::MAX, -1)];
    anchors.extend(groups.iter().enumerate().filter_map(|(i, g)| g.row.map(|r| (i, r as isize))));
    if closed {
        anchors.push((groups.len(), 26));
    }
    for pair in anchors.windows(2) {
        let ((pa, ra), (pb, rb)) = (pair[0], pair[1]);
        let first = if pa == usize::MAX { 0 } else { pa + 1 };
        let between = first..pb;
        if between.is_empty() || groups[between.clone()].iter().any(|g| g.values.is_none() || g.row.is_some()) {
            continue;
        }
        let fitting: Vec<Vec<usize>> =
            printed_between(ra, rb, &variants).into_iter().filter(|l| l.len() == between.len()).collect();
        if let [rows] = fitting.as_slice() {
            for (g, r) in groups[between].iter_mut().zip(rows) {
                g.row = Some(*r);
            }
        }
    }
}

/// Table 三's 26 rows from its runs, for the given layout.
pub(crate) fn applications(mut groups: Vec<RowGroup>, closed: bool, format: Option<Format>) -> [ApplicationCells; 26] {
    settle_labels(&mut groups);
    place_by_order(&mut groups, closed, format);
    let mut rows = [[None; 7]; 26];
    for g in &groups {
        if let (Some(r), Some(v)) = (g.row, g.values) {
            rows[r] = v;
        }
    }
    match format {
        Some(Format::Layout2019) => {
            for row in &mut rows[20..=22] {
                *row = [None; 7];
            }
        }
        _ => {
            if rows[23].iter().all(Option::is_none) {
                rows[23] = std::array::from_fn(|c| (20..=22).map(|r| rows[r][c]).sum::<Option<u64>>());
            }
        }
    }
    rows
}

/// The number of figures each table 二 item has in a layout (`None`: not in that layout).
fn item_width(format: Format, item: Item) -> Option<usize> {
    match (format, item) {
        (_, Item::Regulations | Item::NormativeDocuments) => Some(3),
        (Format::Layout2021, Item::OtherServices | Item::Procurement) => None,
        (Format::Layout2021, _) => Some(1),
        (Format::Layout2019, Item::Fees | Item::Procurement) => Some(2),
        (Format::Layout2019, _) => Some(3),
    }
}

/// The item the form prints right after `item` under the same 第二十条 header, if any.
fn successor(format: Format, item: Item) -> Option<Item> {
    match (format, item) {
        (_, Item::Regulations) => Some(Item::NormativeDocuments),
        (_, Item::Punishment) => Some(Item::Enforcement),
        (Format::Layout2019, Item::Licensing) => Some(Item::OtherServices),
        _ => None,
    }
}

/// An item's figures as its row prints them, `None` when they are not `width` many. A last cell
/// merged across the table's remaining columns repeats its figure in that row; the repeats are
/// dropped.
fn item_figures(g: &Group, width: usize) -> Option<Vec<Option<Figure>>> {
    let mut figures = resolve(g, width, |k| k == width);
    if g.one_row && figures.len() > width && figures[width - 1..].windows(2).all(|w| w[0] == w[1]) {
        figures.truncate(width);
    }
    (figures.len() == width).then_some(figures)
}

/// Table 二's figures per item (in the 2019 layout's item order), `None` where unreadable.
///
/// An item whose row the form follows with another item's row under the same header (规章 by
/// 规范性文件, 行政处罚 by 行政强制) is read only when that row follows it: had the next row's label
/// been lost, its figures would run on after this item's. An item read twice with different
/// figures is not read.
fn active_figures(cells: &[Cell], format: Format) -> [Option<Vec<Option<Figure>>>; 8] {
    let named: Vec<(Item, Group)> = groups(cells)
        .into_iter()
        .filter_map(|g| active_item(&g.label).filter(|i| item_width(format, *i).is_some()).map(|i| (i, g)))
        .collect();
    let mut out: [Option<Vec<Option<Figure>>>; 8] = Default::default();
    let mut conflicted = [false; 8];
    for (n, (item, g)) in named.iter().enumerate() {
        let followed = match successor(format, *item) {
            Some(next) => named.get(n + 1).is_some_and(|(i, _)| *i == next),
            None => true,
        };
        let width = item_width(format, *item).unwrap_or(0);
        let Some(figures) = item_figures(g, width).filter(|_| followed) else { continue };
        let slot = &mut out[item.index()];
        match slot {
            Some(held) if *held != figures => conflicted[item.index()] = true,
            _ => *slot = Some(figures),
        }
    }
    for (slot, bad) in out.iter_mut().zip(conflicted) {
        if bad {
            *slot = None;
        }
    }
    out
}

fn at(figures: &Option<Vec<Option<Figure>>>, i: usize) -> Option<Figure> {
    figures.as_ref().and_then(|f| f.get(i).copied().flatten())
}

fn count_at(figures: &Option<Vec<Option<Figure>>>, i: usize) -> Option<u64> {
    at(figures, i).and_then(Figure::count)
}

/// Table 二 in the given layout.
pub(crate) fn active(cells: &[Cell], format: Format) -> ActiveDisclosure {
    let f = active_figures(cells, format);
    match format {
        Format::Layout2021 => {
            let documents = |x: &Option<Vec<Option<Figure>>>| Documents2021 {
                issued: count_at(x, 0),
                repealed: count_at(x, 1),
                in_force: count_at(x, 2),
            };
            let decisions = |x: &Option<Vec<Option<Figure>>>| Decisions { decisions: count_at(x, 0) };
            ActiveDisclosure::Layout2021(Active2021 {
                regulations: documents(&f[0]),
                normative_documents: documents(&f[1]),
                licensing: decisions(&f[2]),
                punishment: decisions(&f[4]),
                enforcement: decisions(&f[5]),
                fees: Fees2021 { amount_wan_yuan: at(&f[6], 0).and_then(Figure::amount) },
            })
        }
        Format::Layout2019 => {
            let documents = |x: &Option<Vec<Option<Figure>>>| Documents2019 {
                made: count_at(x, 0),
                published: count_at(x, 1),
                total_public: count_at(x, 2),
            };
            let items = |x: &Option<Vec<Option<Figure>>>| Items2019 {
                prev_items: count_at(x, 0),
                change: at(x, 1).and_then(Figure::signed),
                decisions: count_at(x, 2),
            };
            ActiveDisclosure::Layout2019(Active2019 {
                regulations: documents(&f[0]),
                normative_documents: documents(&f[1]),
                licensing: items(&f[2]),
                other_services: items(&f[3]),
                punishment: items(&f[4]),
                enforcement: items(&f[5]),
                fees: Fees2019 { prev_items: count_at(&f[6], 0), change: at(&f[6], 1).and_then(Figure::signed) },
                procurement: Procurement { items: count_at(&f[7], 0), amount: at(&f[7], 1).and_then(Figure::amount) },
            })
        }
    }
}

/// True when table 二 names at least one of its items with figures.
pub(crate) fn has_active_rows(cells: &[Cell]) -> bool {
    groups(cells).iter().any(|g| active_item(&g.label).is_some())
}

/// Table 四: the first run of exactly 15 figures (the form's one row), else three runs of five each
/// named by its group (a table printed one group per row).
pub(crate) fn review(cells: &[Cell]) -> ReviewLitigation {
    let groups = groups(cells);
    let runs: Vec<(&str, Vec<Option<Figure>>)> =
        groups.iter().map(|g| (g.label.as_str(), resolve(g, 15, |k| k == 15 || k == 5))).collect();
    let mut figures: [Option<[Option<Figure>; 5]>; 3] = [None; 3];
    if let Some((_, run)) = runs.iter().find(|(_, r)| r.len() == 15) {
        for (g, slot) in figures.iter_mut().enumerate() {
            *slot = Some(std::array::from_fn(|i| run[g * 5 + i]));
        }
    } else if runs.len() == 3 && runs.iter().all(|(_, r)| r.len() == 5) {
        for (label, run) in &runs {
            let g = if label.contains("直接起诉") {
                1
            } else if label.contains("复议后起诉") {
                2
            } else if label.contains("复议") {
                0
            } else {
                continue;
            };
            figures[g] = Some(std::array::from_fn(|i| run[i]));
        }
        if figures.iter().any(Option::is_none) {
            figures = [None; 3];
        }
    }
    let group =
        |g: usize| ReviewGroup::from_fields(figures[g].map_or([None; 5], |f| f.map(|v| v.and_then(Figure::count))));
    ReviewLitigation { review: group(0), litigation_direct: group(1), litigation_after_review: group(2) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labelled(row: Option<usize>) -> RowGroup {
        RowGroup { row, values: Some([Some(1); 7]) }
    }

    #[test]
    fn lost_labels_are_placed_only_when_the_count_proves_them() {
        let groups = vec![labelled(None), labelled(Some(1)), labelled(Some(2)), labelled(None), labelled(Some(4))];
        let rows = applications(groups, false, Some(Format::Layout2021));
        assert_eq!(rows[0], [Some(1); 7], "first row before 二、上年结转");
        assert_eq!(rows[3], [Some(1); 7], "between 予以公开 and 国家秘密");
        let unproven = vec![labelled(Some(0)), labelled(None), labelled(Some(4))];
        let rows = applications(unproven, false, Some(Format::Layout2021));
        assert!(rows[1..4].iter().all(|r| r.iter().all(Option::is_none)), "one run for three rows");
    }

    #[test]
    fn the_other_group_is_counted_in_both_printings() {
        let mut three: Vec<RowGroup> = (0..20).map(|r| labelled(Some(r))).collect();
        three.extend([labelled(None), labelled(None), labelled(None), labelled(Some(24)), labelled(Some(25))]);
        let rows = applications(three, true, Some(Format::Layout2021));
        assert_eq!(rows[22], [Some(1); 7]);
        assert_eq!(rows[23], [Some(3); 7], "the sum of the three rows");
        let mut one: Vec<RowGroup> = (0..20).map(|r| labelled(Some(r))).collect();
        one.extend([labelled(None), labelled(Some(24)), labelled(Some(25))]);
        let rows = applications(one, true, Some(Format::Layout2019));
        assert_eq!(rows[23], [Some(1); 7]);
        assert_eq!(rows[20], [None; 7]);
    }

    #[test]
    fn the_other_group_as_printed_is_what_its_labels_show() {
        // 其他处理 1 lost its label and 5.要求… lost its figures: one run between 4.无正当理由 and
        // 2.申请人逾期未按收费通知 would be 5.要求… only if （六） were printed as one row, which the
        // label 2.申请人… disproves.
        let mut groups: Vec<RowGroup> = (0..19).map(|r| labelled(Some(r))).collect();
        groups.extend([labelled(None), labelled(Some(21)), labelled(Some(22)), labelled(Some(24)), labelled(Some(25))]);
        let rows = applications(groups, true, Some(Format::Layout2021));
        assert_eq!(rows[19], [None; 7]);
        assert_eq!(rows[20], [None; 7]);
    }

    #[test]
    fn contradicting_labels_give_nulls() {
        let groups = vec![labelled(Some(0)), labelled(Some(5)), labelled(Some(3)), labelled(Some(6))];
        let rows = applications(groups, false, Some(Format::Layout2021));
        assert_eq!(rows[0], [Some(1); 7]);
        assert_eq!(rows[3], [None; 7]);
        assert_eq!(rows[5], [None; 7]);
        assert_eq!(rows[6], [Some(1); 7]);
    }
}
