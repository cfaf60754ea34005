//! The shared parser on real reports (the seeds and the corpus PDFs' text), on reports of our own in
//! every input shape and both layouts, and under random input.

#[path = "support/sim.rs"]
mod sim;

use std::path::PathBuf;

use nianbao::document::{Block, Document, Table};
use nianbao::parser::{parse_document, parse_text, Format, Report};
use serde_json::Value;

/// The shared data folder, beside the repository (`../shared`) or beside the worktrees (`../../shared`).
fn shared() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let found = [root.join("../shared"), root.join("../../shared")].into_iter().find(|p| p.join("seeds").is_dir());
    if found.is_none() {
        eprintln!("note: the shared folder (../shared) is missing; skipping the tests on real reports");
    }
    found
}

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json(report: &Report) -> Value {
    serde_json::to_value(report).expect("a report serialises")
}

/// Compares a parsed value with the expected one: equal, or null where `nullable(path)` allows it.
fn compare(path: &str, got: &Value, want: &Value, nullable: &dyn Fn(&str) -> bool, errors: &mut Vec<String>) {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => {
            let gk: Vec<&String> = g.keys().filter(|k| *k != "checks").collect();
            let wk: Vec<&String> = w.keys().collect();
            if gk != wk {
                errors.push(format!("{path}: keys {gk:?}, expected {wk:?}"));
            }
            for (k, wv) in w {
                compare(&format!("{path}.{k}"), g.get(k).unwrap_or(&Value::Null), wv, nullable, errors);
            }
        }
        (Value::Array(g), Value::Array(w)) if g.len() == w.len() => {
            for (i, (gv, wv)) in g.iter().zip(w).enumerate() {
                compare(&format!("{path}[{i}]"), gv, wv, nullable, errors);
            }
        }
        (Value::Null, w) if !w.is_null() && nullable(path) => {}
        (g, w) if g != w => errors.push(format!("{path}: got {g}, expected {w}")),
        _ => {}
    }
}

fn check_seed(name: &str, nullable: &dyn Fn(&str) -> bool) {
    let Some(shared) = shared() else { return };
    let text = read(&shared.join(format!("seeds/{name}.txt")));
    let want: Value = serde_json::from_str(&read(&shared.join(format!("seeds/expected/{name}.json")))).unwrap();
    let report = parse_text(&text);
    let got = json(&report);
    let mut errors = Vec::new();
    compare("", &got, &want, nullable, &mut errors);
    assert!(errors.is_empty(), "{name}:\n{}", errors.join("\n"));
    insta::assert_json_snapshot!(name, got);
}

#[test]
fn seed_000_one_cell_per_line_with_lost_labels() {
    // Every cell is readable; rows whose labels were lost are placed by the count of rows.
    check_seed("000_562a5d51c428e764", &|_| false);
}

#[test]
fn seed_001_docx_tab_cells() {
    check_seed("001_1effd3284db83ec5", &|_| false);
}

#[test]
fn seed_002_pdf_tab_debris() {
    // The PDF extraction garbles these rows of table 三: the numbers of 新收, 上年结转, 部分公开,
    // 不予公开 1 (its label runs into 2's), 确认或重新出具, （六） 1 and 2, and 结转下年度 are split
    // across lines or have lost cells; those rows may be null, and so may what depends on them.
    let garbled = [
        "new_received",
        "carried_over",
        "partially_granted",
        "refused_state_secret",
        "not_processed_confirm",
        "other_no_correction",
        "other_no_fee",
        "other_total",
        "carried_forward",
    ];
    check_seed("002_3b49026ec6f2d893", &|path| garbled.iter().any(|row| path.contains(&format!("rows.{row}["))));
}

#[test]
fn seed_003_page_text_with_chrome() {
    check_seed("003_85880c5fdc4d5d91", &|_| false);
}

#[test]
fn seed_004_pipe_table_2019_layout_with_mojibake() {
    check_seed("004_38bf42b0a2d574c0", &|_| false);
}

// ---- the corpus PDFs' text (pypdf), 2021 layout: figures read off the text by eye ----

fn corpus(name: &str) -> Option<Report> {
    Some(parse_text(&read(&shared()?.join(format!("corpus/pdf/{name}.txt")))))
}

fn row(report: &Report, key: &str) -> [Option<u64>; 7] {
    *report.applications.as_ref().expect("table 三").rows.get(key).expect("a row key")
}

fn some<const N: usize>(v: [u64; N]) -> [Option<u64>; N] {
    v.map(Some)
}

fn failed(report: &Report) -> Vec<&str> {
    report.checks.iter().filter(|c| !c.ok).map(|c| c.rule.as_str()).collect()
}

#[test]
fn corpus_huaian_2024_wrapped_labels_and_footers_inside_tables() {
    let Some(r) = corpus("01_huaian_city_2024") else { return };
    assert_eq!(r.agency.as_deref(), Some("淮安市人民政府"));
    assert_eq!((r.year, r.format), (Some(2024), Some(Format::Layout2021)));
    let v = json(&r);
    let ad = &v["active_disclosure"];
    assert_eq!(ad["regulations"], serde_json::json!({"issued": 1, "repealed": 0, "in_force": 11}));
    assert_eq!(ad["normative_documents"], serde_json::json!({"issued": 8, "repealed": 26, "in_force": 66}));
    assert_eq!(ad["licensing"]["decisions"], 447228);
    assert_eq!(ad["punishment"]["decisions"], 3985758);
    assert_eq!(ad["enforcement"]["decisions"], 88283);
    assert_eq!(ad["fees"]["amount_wan_yuan"], 96171.6);
    assert_eq!(row(&r, "new_received"), some([3001, 53, 0, 0, 61, 4, 3119]));
    assert_eq!(row(&r, "partially_granted"), some([447, 7, 0, 0, 0, 0, 454]));
    assert_eq!(row(&r, "unable_no_info"), some([746, 12, 0, 0, 10, 1, 769]), "a footer inside its label");
    assert_eq!(row(&r, "unable_needs_creation"), some([11, 0, 0, 0, 0, 0, 11]));
    assert_eq!(row(&r, "not_processed_confirm"), some([1, 0, 0, 0, 0, 0, 1]));
    assert_eq!(row(&r, "other_no_correction"), some([67, 3, 0, 0, 1, 0, 71]));
    assert_eq!(row(&r, "other_no_fee"), some([6, 0, 0, 0, 0, 0, 6]));
    assert_eq!(row(&r, "other_misc"), some([108, 2, 0, 0, 0, 0, 110]));
    assert_eq!(row(&r, "other_total"), some([181, 5, 0, 0, 1, 0, 187]));
    assert_eq!(row(&r, "total"), some([2932, 53, 0, 0, 61, 4, 3050]));
    assert_eq!(row(&r, "carried_forward"), some([103, 0, 0, 0, 0, 0, 103]));
    let rl = r.review_litigation.as_ref().unwrap();
    assert_eq!(rl.review.fields(), some([72, 64, 178, 37, 351]));
    assert_eq!(rl.litigation_direct.fields(), some([13, 4, 8, 1, 26]));
    assert_eq!(rl.litigation_after_review.fields(), some([12, 1, 1, 6, 20]));
    assert!(failed(&r).is_empty(), "{:?}", failed(&r));
    let narrative: Vec<&str> =
        r.checks.iter().filter(|c| c.rule.starts_with("narrative.")).map(|c| c.rule.as_str()).collect();
    assert_eq!(narrative, ["narrative.new_received", "narrative.review_total", "narrative.litigation_total"]);
}

#[test]
fn corpus_hongze_2024_other_group_printed_as_one_row() {
    let Some(r) = corpus("02_hongze_district_2024") else { return };
    assert_eq!(r.agency.as_deref(), Some("淮安市洪泽区人民政府"));
    assert_eq!((r.year, r.format), (Some(2024), Some(Format::Layout2021)));
    assert_eq!(row(&r, "new_received"), some([95, 0, 0, 0, 0, 0, 95]));
    assert_eq!(row(&r, "refused_law_prohibited"), some([0; 7]), "the label reads 其他法律行政止公开");
    assert_eq!(row(&r, "unable_no_info"), some([31, 0, 0, 0, 0, 0, 31]));
    assert_eq!(row(&r, "other_total"), some([0; 7]));
    assert_eq!(row(&r, "other_no_correction"), [None; 7], "not printed");
    assert_eq!(row(&r, "total"), some([95, 0, 0, 0, 0, 0, 95]));
    let rl = r.review_litigation.as_ref().unwrap();
    assert_eq!(rl.review.fields(), some([1, 1, 0, 0, 2]));
    assert_eq!(rl.litigation_after_review.fields(), some([2, 0, 1, 0, 3]));
    // The text speaks of 17 applications the district office received; the table counts 95.
    assert_eq!(failed(&r), ["narrative.new_received"]);
}

#[test]
fn corpus_hongze_2023_review_figures_that_do_not_add_up() {
    let Some(r) = corpus("03_hongze_district_2023") else { return };
    assert_eq!(r.agency.as_deref(), Some("洪泽区人民政府"));
    assert_eq!((r.year, r.format), (Some(2023), Some(Format::Layout2021)));
    let v = json(&r);
    assert_eq!(v["active_disclosure"]["fees"]["amount_wan_yuan"], 7730.28);
    assert_eq!(row(&r, "unable_needs_creation"), some([3, 0, 0, 0, 0, 0, 3]));
    let rl = r.review_litigation.as_ref().unwrap();
    assert_eq!(rl.review.fields(), some([10, 1, 0, 0, 0]), "as printed");
    assert_eq!(failed(&r), ["review_litigation.review.sum", "review_litigation.litigation_after_review.sum"]);
}

// ---- the synthetic TRS page of the crawl tests, through a Document built from its HTML ----

/// A grid from an HTML table, colspan and rowspan expanded (merged cells repeated).
fn grid(table: scraper::ElementRef) -> Vec<Vec<String>> {
    let tr = scraper::Selector::parse("tr").unwrap();
    let td = scraper::Selector::parse("td, th").unwrap();
    let mut rows: Vec<Vec<Option<String>>> = Vec::new();
    for (r, row) in table.select(&tr).enumerate() {
        let mut c = 0;
        for cell in row.select(&td) {
            let span = |name: &str| cell.value().attr(name).and_then(|v| v.parse::<usize>().ok()).unwrap_or(1);
            let text: String = cell.text().collect::<Vec<_>>().join("\n");
            while rows.get(r).and_then(|row| row.get(c)).is_some_and(|v| v.is_some()) {
                c += 1;
            }
            for dr in 0..span("rowspan") {
                for dc in 0..span("colspan") {
                    if rows.len() <= r + dr {
                        rows.resize(r + dr + 1, Vec::new());
                    }
                    let target = &mut rows[r + dr];
                    if target.len() <= c + dc {
                        target.resize(c + dc + 1, None);
                    }
                    target[c + dc] = Some(text.clone());
                }
            }
            c += span("colspan");
        }
    }
    rows.into_iter().map(|row| row.into_iter().map(Option::unwrap_or_default).collect()).collect()
}

/// A Document from an HTML body: `<p>` paragraphs and `<table>` grids in order.
fn html_document(title: &str, body: &str) -> Document {
    let html = scraper::Html::parse_fragment(body);
    let blocks_sel = scraper::Selector::parse("p, table").unwrap();
    let blocks = html
        .select(&blocks_sel)
        .map(|e| match e.value().name() {
            "table" => Block::Table(Table { rows: grid(e) }),
            _ => Block::Paragraph(e.text().collect()),
        })
        .collect();
    Document { title: Some(title.into()), blocks, ..Default::default() }
}

#[test]
fn the_crawl_tests_synthetic_report_page() {
    for seed in [1, 7, 42] {
        let sim = sim::SimReport::new("某县教育局", 2022, seed);
        let r = parse_document(&html_document(&sim.title(), &sim.body_html()));
        assert_eq!(r.agency.as_deref(), Some("某县教育局"));
        assert_eq!((r.year, r.format), (Some(2022), Some(Format::Layout2021)));
        let rows = &r.applications.as_ref().unwrap().rows;
        for (i, want) in sim.applications.iter().enumerate() {
            assert_eq!(rows.0[i], want.map(|v| Some(u64::from(v))), "row {i}");
        }
        let rl = r.review_litigation.as_ref().unwrap();
        for (g, want) in rl.groups().iter().zip(sim.review) {
            assert_eq!(g.fields(), want.map(|v| Some(u64::from(v))));
        }
        let v = json(&r);
        assert_eq!(v["active_disclosure"]["licensing"]["decisions"], sim.licensing);
        assert_eq!(v["active_disclosure"]["normative_documents"]["in_force"], sim.documents[1][2]);
        assert_eq!(v["active_disclosure"]["fees"]["amount_wan_yuan"], sim.fees_wan_yuan);
        assert!(failed(&r).is_empty(), "{:?}", failed(&r));
        assert!(
            r.checks.iter().any(|c| c.rule == "applications.other_sum.total"),
            "the printed （六） total is checked"
        );
        assert!(r.checks.iter().any(|c| c.rule == "narrative.new_received"));
    }
}

// ---- reports of our own: random consistent figures rendered in every input shape ----

/// How table 三 prints its （六） group, which also fixes the layout.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Layout {
    /// 2019 layout: （六）其他处理 is one row.
    L2019,
    /// 2021 layout: three （六） rows.
    L2021,
    /// 2021 layout with the three rows and a printed （六） total row (as the crawl's TRS page).
    L2021Sum,
    /// 2021 layout with （六） printed as one row (as 洪泽区 2024).
    L2021One,
}

/// The input shapes reports reach us in.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    Grid,
    Pipe,
    Tab,
    TabCells,
    CellPerLine,
    CellPerLinePiped,
    Pdf,
}

const SHAPES: [Shape; 7] =
    [Shape::Grid, Shape::Pipe, Shape::Tab, Shape::TabCells, Shape::CellPerLine, Shape::CellPerLinePiped, Shape::Pdf];
const LAYOUTS: [Layout; 4] = [Layout::L2019, Layout::L2021, Layout::L2021Sum, Layout::L2021One];

struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % bound
    }

    /// Mostly small figures, sometimes large ones, never all zero.
    fn figure(&mut self) -> u64 {
        match self.next(10) {
            0 => self.next(5000),
            1..=2 => 0,
            _ => 1 + self.next(30),
        }
    }
}

/// A report's figures, consistent unless spoilt on purpose.
struct Synthetic {
    layout: Layout,
    agency: &'static str,
    year: i32,
    rows: [[u64; 7]; 26],
    review: [[u64; 5]; 3],
    /// Table 二 as printed: (label, cells) per item row, with the expected JSON beside.
    active_rows: Vec<(&'static str, Vec<String>)>,
    active_json: Value,
    /// The narrative's figure for applications received.
    stated_received: u64,
    /// 1、 for 1., half-width brackets, 合计 for 总计.
    variant_labels: bool,
}

fn amount(rng: &mut Lcg) -> (String, Value) {
    if rng.next(2) == 0 {
        let v = rng.next(100000);
        (v.to_string(), Value::from(v))
    } else {
        let (whole, tenths) = (rng.next(9000), 1 + rng.next(9));
        (format!("{whole}.{tenths}"), serde_json::json!(format!("{whole}.{tenths}").parse::<f64>().unwrap()))
    }
}

fn signed(rng: &mut Lcg) -> (String, i64) {
    let v = rng.next(200) as i64 - 100;
    (if v > 0 { format!("+{v}") } else { v.to_string() }, v)
}

impl Synthetic {
    // Figures are made column by column, as the form's rules run down the columns.
    #[allow(clippy::needless_range_loop)]
    fn new(seed: u64, layout: Layout) -> Synthetic {
        let mut rng = Lcg(seed ^ 0x5DEECE66D);
        let three = matches!(layout, Layout::L2021 | Layout::L2021Sum);
        let mut rows = [[0u64; 7]; 26];
        for c in 0..6 {
            for r in 2..=19 {
                rows[r][c] = rng.figure();
            }
            if three {
                for r in 20..=22 {
                    rows[r][c] = rng.figure();
                }
                rows[23][c] = (20..=22).map(|r| rows[r][c]).sum();
            } else {
                rows[23][c] = rng.figure();
            }
            rows[24][c] = (2..=19).map(|r| rows[r][c]).sum::<u64>() + rows[23][c];
            rows[25][c] = rng.figure();
            rows[1][c] = rng.figure().min(rows[24][c] + rows[25][c]);
            rows[0][c] = rows[24][c] + rows[25][c] - rows[1][c];
        }
        for row in rows.iter_mut() {
            row[6] = row[..6].iter().sum();
        }
        let mut review = [[0u64; 5]; 3];
        for g in review.iter_mut() {
            for v in g.iter_mut().take(4) {
                *v = rng.figure();
            }
            g[4] = g[..4].iter().sum();
        }
        let (active_rows, active_json) =
            if layout == Layout::L2019 { active_2019(&mut rng) } else { active_2021(&mut rng) };
        let agencies = ["某县教育局", "某市人力资源和社会保障局", "某区人民政府", "某省医疗保障局"];
        let year = if layout == Layout::L2019 { 2019 + rng.next(2) as i32 } else { 2021 + rng.next(4) as i32 };
        Synthetic {
            layout,
            agency: agencies[rng.next(4) as usize],
            year,
            stated_received: rows[0][6],
            rows,
            review,
            active_rows,
            active_json,
            variant_labels: rng.next(2) == 0,
        }
    }

    /// The rows the parser must give: those the layout does not print are null.
    fn expected_rows(&self) -> [[Option<u64>; 7]; 26] {
        let mut out = self.rows.map(|r| r.map(Some));
        if matches!(self.layout, Layout::L2019 | Layout::L2021One) {
            for r in &mut out[20..=22] {
                *r = [None; 7];
            }
        }
        out
    }
}

fn active_2021(rng: &mut Lcg) -> (Vec<(&'static str, Vec<String>)>, Value) {
    let d: Vec<u64> = (0..6).map(|_| rng.figure()).collect();
    let decisions: Vec<u64> = (0..3).map(|_| rng.figure()).collect();
    let (fee_text, fee) = amount(rng);
    let rows = vec![
        ("规章", d[..3].iter().map(u64::to_string).collect()),
        ("行政规范性文件", d[3..].iter().map(u64::to_string).collect()),
        ("行政许可", vec![decisions[0].to_string()]),
        ("行政处罚", vec![decisions[1].to_string()]),
        ("行政强制", vec![decisions[2].to_string()]),
        ("行政事业性收费", vec![fee_text]),
    ];
    let json = serde_json::json!({
        "regulations": {"issued": d[0], "repealed": d[1], "in_force": d[2]},
        "normative_documents": {"issued": d[3], "repealed": d[4], "in_force": d[5]},
        "licensing": {"decisions": decisions[0]},
        "punishment": {"decisions": decisions[1]},
        "enforcement": {"decisions": decisions[2]},
        "fees": {"amount_wan_yuan": fee},
    });
    (rows, json)
}

fn active_2019(rng: &mut Lcg) -> (Vec<(&'static str, Vec<String>)>, Value) {
    let d: Vec<u64> = (0..6).map(|_| rng.figure()).collect();
    let mut items = Vec::new();
    let mut rows: Vec<(&'static str, Vec<String>)> = vec![
        ("规章", d[..3].iter().map(u64::to_string).collect()),
        ("规范性文件", d[3..].iter().map(u64::to_string).collect()),
    ];
    for label in ["行政许可", "其他对外管理服务事项", "行政处罚", "行政强制"] {
        let (prev, (change_text, change), decisions) = (rng.figure(), signed(rng), rng.figure());
        rows.push((label, vec![prev.to_string(), change_text, decisions.to_string()]));
        items.push(serde_json::json!({"prev_items": prev, "change": change, "decisions": decisions}));
    }
    let (fee_prev, (fee_change_text, fee_change)) = (rng.figure(), signed(rng));
    rows.push(("行政事业性收费", vec![fee_prev.to_string(), fee_change_text]));
    let (procured, (amount_text, amount)) = (rng.figure(), amount(rng));
    rows.push(("政府集中采购", vec![procured.to_string(), amount_text]));
    let json = serde_json::json!({
        "regulations": {"made": d[0], "published": d[1], "total_public": d[2]},
        "normative_documents": {"made": d[3], "published": d[4], "total_public": d[5]},
        "licensing": items[0], "other_services": items[1], "punishment": items[2], "enforcement": items[3],
        "fees": {"prev_items": fee_prev, "change": fee_change},
        "procurement": {"items": procured, "amount": amount},
    });
    (rows, json)
}

/// A grid cell: its text, and whether it continues a merged cell to its left or above.
#[derive(Clone, PartialEq)]
enum Merge {
    Own,
    Right,
    Down,
}

type Grid = Vec<Vec<(String, Merge)>>;

fn own(s: &str) -> (String, Merge) {
    (s.to_string(), Merge::Own)
}

/// `s` followed by `n` cells continuing it to the right.
fn spanning(s: &str, n: usize) -> Vec<(String, Merge)> {
    std::iter::once(own(s)).chain((0..n).map(|_| (s.to_string(), Merge::Right))).collect()
}

fn active_grid(s: &Synthetic) -> Grid {
    let header = |item: &str, fields: &[&str]| {
        let mut h = vec![spanning(&format!("第二十条第（{item}）项"), 3), vec![own("信息内容")]];
        for f in fields {
            h[1].push(own(f));
        }
        while h[1].len() < 4 {
            let last = h[1].last().unwrap().0.clone();
            h[1].push((last, Merge::Right));
        }
        h
    };
    let data = |(label, cells): &(&str, Vec<String>)| {
        let mut row = vec![own(label)];
        row.extend(cells.iter().map(|c| own(c)));
        while row.len() < 4 {
            let last = row.last().unwrap().0.clone();
            row.push((last, Merge::Right));
        }
        row
    };
    let sections: Vec<(&str, Vec<&str>, usize)> = if s.layout == Layout::L2019 {
        vec![
            ("一", vec!["本年新制作数量", "本年新公开数量", "对外公开总数量"], 2),
            ("五", vec!["上一年项目数量", "本年增/减", "处理决定数量"], 2),
            ("六", vec!["上一年项目数量", "本年增/减", "处理决定数量"], 2),
            ("八", vec!["上一年项目数量", "本年增/减"], 1),
            ("九", vec!["采购项目数量", "采购总金额"], 1),
        ]
    } else {
        vec![
            ("一", vec!["本年制发件数", "本年废止件数", "现行有效件数"], 2),
            ("五", vec!["本年处理决定数量"], 1),
            ("六", vec!["本年处理决定数量"], 2),
            ("八", vec!["本年收费金额（单位：万元）"], 1),
        ]
    };
    let mut grid = Vec::new();
    let mut items = s.active_rows.iter();
    for (item, fields, n) in sections {
        grid.extend(header(item, &fields));
        grid.extend(items.by_ref().take(n).map(data));
    }
    grid
}

/// Table 三's printed rows: (row index, group heading, sub-group heading, label).
fn application_labels(s: &Synthetic) -> Vec<(usize, Option<&'static str>, Option<&'static str>, String)> {
    let result = Some("三、本年度办理结果");
    let mut out = Vec::new();
    for (i, (label, group)) in sim::APPLICATION_ROWS.iter().enumerate() {
        let sub = match i {
            4..=11 => Some("（三）不予公开"),
            12..=14 => Some("（四）无法提供"),
            15..=19 => Some("（五）不予处理"),
            20..=23 => Some("（六）其他处理"),
            _ => None,
        };
        let unprinted = matches!((s.layout, i), (Layout::L2019 | Layout::L2021One, 20..=22) | (Layout::L2021, 23));
        if unprinted {
            continue;
        }
        let label = match (s.layout, i) {
            (Layout::L2019 | Layout::L2021One, 23) => "（六）其他处理".to_string(),
            (_, 23) => "合计".to_string(),
            (_, 24) if s.variant_labels => "（七）合计".to_string(),
            _ => label.to_string(),
        };
        let label = if s.variant_labels {
            label.replacen('.', "、", 1).replace('（', "(").replace('）', ")")
        } else {
            label
        };
        let (group, sub) = match (i, group) {
            (0 | 1 | 25, _) => (None, None),
            (2 | 3 | 24, _) => (result, None),
            (23, _) if sub.is_some() && label.contains("其他处理") => (result, None),
            _ => (result, sub),
        };
        out.push((i, group, sub, label));
    }
    out
}

fn applications_grid(s: &Synthetic) -> Grid {
    let note = "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）";
    let down = |t: &str, n: usize| vec![(t.to_string(), Merge::Down); n];
    let mut grid: Grid = vec![
        [spanning(note, 2), spanning("申请人情况", 6)].concat(),
        [down(note, 3), vec![own("自然人")], spanning("法人或其他组织", 4), vec![own("总计")]].concat(),
        [
            down(note, 3),
            down("自然人", 1),
            ["商业\n企业", "科研\n机构", "社会公益组织", "法律服务机构", "其他"].iter().map(|c| own(c)).collect(),
            down("总计", 1),
        ]
        .concat(),
    ];
    let mut above: Vec<String> = vec![String::new(); 3];
    for (i, group, sub, label) in application_labels(s) {
        let mut row: Vec<(String, Merge)> = Vec::new();
        let texts: Vec<&str> = match (group, sub) {
            (None, _) => vec![&label, &label, &label],
            (Some(g), None) => vec![g, &label, &label],
            (Some(g), Some(sub)) => vec![g, sub, &label],
        };
        for (c, t) in texts.iter().enumerate() {
            let merge = if c > 0 && texts[c - 1] == *t {
                Merge::Right
            } else if above[c] == *t {
                Merge::Down
            } else {
                Merge::Own
            };
            row.push((t.to_string(), merge));
        }
        above = texts.iter().map(|t| t.to_string()).collect();
        row.extend(s.rows[i].iter().map(|v| own(&v.to_string())));
        grid.push(row);
    }
    grid
}

fn review_grid(s: &Synthetic) -> Grid {
    let fields = ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"];
    let mut r2: Vec<(String, Merge)> = fields.iter().map(|f| (f.to_string(), Merge::Down)).collect();
    r2.extend(fields.iter().chain(fields.iter()).map(|f| own(f)));
    vec![
        [spanning("行政复议", 4), spanning("行政诉讼", 9)].concat(),
        [fields.iter().map(|f| own(f)).collect(), spanning("未经复议直接起诉", 4), spanning("复议后起诉", 4)].concat(),
        r2,
        s.review.iter().flatten().map(|v| own(&v.to_string())).collect(),
    ]
}

/// The cells of a grid row as a text shape prints them: merged continuations blank.
fn printed(row: &[(String, Merge)]) -> Vec<String> {
    row.iter().map(|(t, m)| if *m == Merge::Own { t.replace('\n', "") } else { String::new() }).collect()
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.trim_start_matches(['+', '-']).chars().all(|c| c.is_ascii_digit() || c == '.')
}

/// A grid in a text shape, as lines.
fn table_lines(grid: &Grid, shape: Shape, out: &mut Vec<String>) {
    for row in grid {
        let cells = printed(row);
        match shape {
            Shape::Grid => unreachable!("grids are not text"),
            Shape::Pipe => out.push(format!("| {} |", cells.join(" | "))),
            Shape::Tab => out.push(cells.join("\t")),
            Shape::TabCells => {
                for (cell, (_, merge)) in cells.iter().zip(row) {
                    if *merge != Merge::Right {
                        out.push(format!("\t{cell}"));
                    }
                }
                out.push(String::new());
            }
            Shape::CellPerLine | Shape::CellPerLinePiped => {
                for cell in cells.iter().filter(|c| !c.is_empty()) {
                    out.push(if shape == Shape::CellPerLinePiped { format!("{cell} |") } else { cell.clone() });
                    if shape == Shape::CellPerLine {
                        out.push(String::new());
                    }
                }
            }
            Shape::Pdf => {
                let texts: Vec<&String> = cells.iter().filter(|c| !c.is_empty() && !is_number(c)).collect();
                let numbers: Vec<&String> = cells.iter().filter(|c| is_number(c)).collect();
                let mut lines: Vec<String> = Vec::new();
                for t in texts {
                    let chars: Vec<char> = t.chars().collect();
                    lines.extend(chars.chunks(11).map(|c| c.iter().collect::<String>()));
                }
                let numbers = numbers.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(" ");
                match lines.last_mut() {
                    Some(last) if !numbers.is_empty() => *last = format!("{last} {numbers}"),
                    _ if !numbers.is_empty() => lines.push(numbers),
                    _ => {}
                }
                out.extend(lines);
            }
        }
    }
}

fn intro(s: &Synthetic) -> [String; 3] {
    [
        format!(
            "本报告中所列数据的统计期限自{y}年1月1日起至{y}年12月31日止。如对本报告有疑问，请与{a}办公室联系。",
            y = s.year,
            a = s.agency
        ),
        "一、总体情况".into(),
        format!("{}年，全年共收到政府信息公开申请{}件，均已按期答复。", s.year, s.stated_received),
    ]
}

fn title(s: &Synthetic) -> String {
    format!("{}{}年政府信息公开工作年度报告", s.agency, s.year)
}

/// The report as a Document of grids (the HTML cleaner's output).
fn grid_document(s: &Synthetic) -> Document {
    let full = |g: Grid| Table { rows: g.into_iter().map(|r| r.into_iter().map(|(t, _)| t).collect()).collect() };
    let mut blocks: Vec<Block> = intro(s).into_iter().map(Block::Paragraph).collect();
    blocks.push(Block::Heading("二、主动公开政府信息情况".into()));
    blocks.push(Block::Table(full(active_grid(s))));
    blocks.push(Block::Heading("三、收到和处理政府信息公开申请情况".into()));
    blocks.push(Block::Table(full(applications_grid(s))));
    blocks.push(Block::Heading("四、政府信息公开行政复议、行政诉讼情况".into()));
    blocks.push(Block::Table(full(review_grid(s))));
    blocks.push(Block::Heading("五、存在的主要问题及改进情况".into()));
    blocks.push(Block::Paragraph("下一步将加强培训。".into()));
    Document { title: Some(title(s)), published: Some("2023-01-31".into()), metadata: Vec::new(), blocks }
}

/// The report as text in the given shape; PDF text gets page footers inside its tables.
fn text_report(s: &Synthetic, shape: Shape) -> String {
    let mut lines = Vec::new();
    if shape == Shape::Pdf {
        lines.extend(["- 1 -".to_string(), s.agency.to_string(), format!("{} 年政府信息公开工作年度报告", s.year)]);
    } else {
        lines.push(title(s));
    }
    lines.extend(intro(s));
    let sections = [
        ("二、主动公开政府信息情况", active_grid(s)),
        ("三、收到和处理政府信息公开申请情况", applications_grid(s)),
        ("四、政府信息公开行政复议、行政诉讼情况", review_grid(s)),
    ];
    for (heading, grid) in sections {
        lines.push(String::new());
        lines.push(heading.into());
        table_lines(&grid, shape, &mut lines);
        lines.push(String::new());
    }
    lines.push("五、存在的主要问题及改进情况".into());
    lines.push("下一步将加强培训。".into());
    if shape == Shape::Pdf {
        let mut paged = Vec::new();
        for (i, line) in lines.into_iter().enumerate() {
            if i > 0 && i % 17 == 0 {
                paged.push(format!("- {} -", i / 17 + 1));
            }
            paged.push(line);
        }
        lines = paged;
    }
    lines.join("\n")
}

fn render(s: &Synthetic, shape: Shape) -> Report {
    match shape {
        Shape::Grid => parse_document(&grid_document(s)),
        _ => parse_text(&text_report(s, shape)),
    }
}

/// Everything the parser must read back from a synthetic report.
fn assert_reads_back(s: &Synthetic, shape: Shape, r: &Report) {
    let what = format!("{:?} in {shape:?}", s.layout);
    let format = if s.layout == Layout::L2019 { Format::Layout2019 } else { Format::Layout2021 };
    assert_eq!(r.format, Some(format), "{what}");
    assert_eq!((r.agency.as_deref(), r.year), (Some(s.agency), Some(s.year)), "{what}");
    let rows = &r.applications.as_ref().unwrap().rows.0;
    for (i, (got, want)) in rows.iter().zip(s.expected_rows()).enumerate() {
        assert_eq!(*got, want, "{what}: row {}", nianbao::parser::APPLICATION_ROWS[i]);
    }
    let review: Vec<[Option<u64>; 5]> =
        r.review_litigation.as_ref().unwrap().groups().iter().map(|g| g.fields()).collect();
    assert_eq!(review, s.review.map(|g| g.map(Some)), "{what}");
    assert_eq!(json(r)["active_disclosure"], s.active_json, "{what}");
}

#[test]
fn every_shape_and_layout_reads_back_its_figures() {
    for layout in LAYOUTS {
        for shape in SHAPES {
            for seed in [3, 11] {
                let s = Synthetic::new(seed, layout);
                let r = render(&s, shape);
                assert_reads_back(&s, shape, &r);
                assert!(failed(&r).is_empty(), "{layout:?} in {shape:?}: {:?}", failed(&r));
            }
        }
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn shape() -> impl Strategy<Value = Shape> {
        prop::sample::select(SHAPES.to_vec())
    }

    fn text_shape() -> impl Strategy<Value = Shape> {
        prop::sample::select(SHAPES[1..].to_vec())
    }

    fn layout() -> impl Strategy<Value = Layout> {
        prop::sample::select(LAYOUTS.to_vec())
    }

    /// Characters that mutations insert: table syntax, digits, brackets, debris, labels' words.
    const DEBRIS: [&str; 16] = [
        "|",
        "\t",
        "\n",
        "\n\n",
        "0",
        "７",
        "?",
        "（六）",
        "- 3 -",
        "——",
        "合计",
        "总计",
        "，",
        " ",
        "3.其他",
        "\u{FFFD}",
    ];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn random_consistent_figures_read_back_in_every_shape(seed in any::<u64>(), layout in layout(), shape in shape()) {
            let s = Synthetic::new(seed, layout);
            let r = render(&s, shape);
            assert_reads_back(&s, shape, &r);
            prop_assert!(failed(&r).is_empty(), "{:?}", failed(&r));
        }

        #[test]
        fn mutated_text_never_panics(
            seed in any::<u64>(),
            layout in layout(),
            shape in text_shape(),
            edits in prop::collection::vec((any::<prop::sample::Index>(), 0usize..40, 0usize..DEBRIS.len()), 1..12),
        ) {
            let mut text: Vec<char> = text_report(&Synthetic::new(seed, layout), shape).chars().collect();
            for (at, cut, insert) in edits {
                let i = at.index(text.len().max(1)).min(text.len());
                let end = (i + cut).min(text.len());
                text.splice(i..end, DEBRIS[insert].chars());
            }
            let text: String = text.into_iter().collect();
            let r = parse_text(&text);
            prop_assert!(serde_json::to_value(&r).is_ok());
            if r.format.is_none() {
                prop_assert!(r.applications.is_none() && r.checks.is_empty());
            }
        }

        #[test]
        fn arbitrary_text_and_grids_never_panic(text in "\\PC{0,400}", cells in prop::collection::vec(prop::collection::vec("\\PC{0,6}", 0..12), 0..30)) {
            let _ = parse_text(&text);
            let doc = Document { blocks: vec![Block::Paragraph(text), Block::Table(Table { rows: cells })], ..Default::default() };
            let _ = parse_document(&doc);
        }
    }
}

// ---- handwritten fixtures: quirks of real tables, failing checks, a pre-2019 report ----

fn fixture(name: &str) -> String {
    read(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/parser").join(name))
}

#[test]
fn html_2019_layout_with_every_cell_quirk() {
    // Colspans differing between header and data rows, <br> in labels, "1、", half-width brackets,
    // 合计 for 总计, thousands separators, full-width digits, units, signs, decimals, and cells
    // that are blank, "/", "——", "—" or "无" (null, never 0).
    let html = fixture("2019_html_quirks.html");
    let title = "某市生态环境局2020年政府信息公开工作年度报告";
    let r = parse_document(&html_document(title, &html));
    let want: Value = serde_json::from_str(&fixture("2019_html_quirks.expected.json")).unwrap();
    let mut errors = Vec::new();
    compare("", &json(&r), &want, &|_| false, &mut errors);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    let failed = failed(&r);
    assert!(failed.is_empty(), "{failed:?}");
    insta::assert_json_snapshot!("2019_html_quirks", json(&r));
}

#[test]
fn pdf_text_whose_checks_fail_and_whose_narrative_contradicts_its_table() {
    let r = parse_text(&fixture("2021_pdf_failing_checks.txt"));
    assert_eq!(r.agency.as_deref(), Some("某县市场监督管理局"));
    assert_eq!((r.year, r.format), (Some(2023), Some(Format::Layout2021)));
    let v = json(&r);
    assert_eq!(v["active_disclosure"]["licensing"]["decisions"], 1386);
    assert_eq!(v["active_disclosure"]["enforcement"]["decisions"], Value::Null, "printed —");
    assert_eq!(v["active_disclosure"]["fees"]["amount_wan_yuan"], 12.75);
    assert_eq!(
        v["active_disclosure"]["normative_documents"],
        serde_json::json!({"issued": 3, "repealed": 1, "in_force": 17})
    );
    // Figures are reported as printed, even where they do not add up.
    assert_eq!(row(&r, "granted"), some([3, 1, 0, 0, 0, 0, 5]));
    assert_eq!(row(&r, "unable_no_info"), some([1, 1, 0, 0, 0, 0, 2]));
    assert_eq!(row(&r, "not_processed_petition"), some([0, 0, 0, 1, 0, 0, 1]));
    assert_eq!(row(&r, "other_misc"), some([1, 0, 0, 0, 0, 0, 1]));
    assert_eq!(row(&r, "other_total"), some([1, 0, 0, 0, 0, 0, 1]));
    assert_eq!(row(&r, "total"), some([7, 2, 0, 1, 0, 1, 11]));
    assert_eq!(r.review_litigation.as_ref().unwrap().review.fields(), some([2, 1, 0, 1, 5]));
    assert_eq!(
        failed(&r),
        [
            "applications.row_sum.granted",
            "applications.results_sum.total",
            "review_litigation.review.sum",
            "narrative.new_received"
        ]
    );
    let stated = r.checks.iter().find(|c| c.rule == "narrative.new_received").unwrap();
    assert_eq!(stated.detail, "the text states 9 applications received; the table says 10");
    let granted = r.checks.iter().find(|c| c.rule == "applications.row_sum.granted").unwrap();
    assert_eq!(granted.detail, "3 + 1 + 0 + 0 + 0 + 0 = 4, not 5");
    insta::assert_json_snapshot!("2021_pdf_failing_checks", v);
}

#[test]
fn a_pre_2019_free_form_report_has_identity_only() {
    let r = parse_text(&fixture("pre2019_free_form.txt"));
    assert_eq!(r.agency.as_deref(), Some("某县统计局"));
    assert_eq!(r.year, Some(2017));
    assert_eq!(r.format, None);
    assert_eq!((&r.active_disclosure, &r.applications, &r.review_litigation), (&None, &None, &None));
    assert!(r.checks.is_empty());
    let v = json(&r);
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["agency", "year", "format", "active_disclosure", "applications", "review_litigation", "checks"],
        "the contract's key order, nulls included"
    );
}

#[test]
fn an_empty_or_unrelated_document_is_all_null() {
    for text in ["", "\n\n", "通知\n各单位：请于月底前报送材料。"] {
        let r = parse_text(text);
        assert_eq!((r.agency, r.year, r.format), (None, None, None), "{text:?}");
        assert!(r.checks.is_empty());
    }
}

#[test]
fn header_phrases_decide_the_layout_over_the_year() {
    // A 2021-layout table in a report about 2020 (and one citing 〔2019〕60号 as seed 000 does).
    let s = Synthetic::new(5, Layout::L2021);
    let text = text_report(&s, Shape::Tab).replace(&format!("{}年", s.year), "2020年");
    let r = parse_text(&text);
    assert_eq!((r.year, r.format), (Some(2020), Some(Format::Layout2021)));
}

#[test]
fn the_report_json_round_trips() {
    for layout in LAYOUTS {
        let r = render(&Synthetic::new(9, layout), Shape::Grid);
        let back: Report = serde_json::from_value(json(&r)).expect("the report JSON reads back");
        assert_eq!(back, r, "{layout:?}");
    }
}

fn table(rows: &[&[&str]]) -> Block {
    Block::Table(Table { rows: rows.iter().map(|r| r.iter().map(|c| c.to_string()).collect()).collect() })
}

#[test]
fn table_four_printed_one_group_per_row() {
    let s = Synthetic::new(21, Layout::L2021);
    let mut doc = grid_document(&s);
    let review = doc.blocks.iter().rposition(|b| matches!(b, Block::Table(_))).unwrap();
    doc.blocks[review] = table(&[
        &["", "结果维持", "结果纠正", "其他结果", "尚未审结", "总计"],
        &["行政复议", "1", "2", "0", "0", "3"],
        &["行政诉讼（未经复议直接起诉）", "4", "0", "1", "0", "5"],
        &["行政诉讼（复议后起诉）", "0", "0", "0", "2", "2"],
    ]);
    let r = parse_document(&doc);
    let rl = r.review_litigation.unwrap();
    assert_eq!(rl.review.fields(), some([1, 2, 0, 0, 3]));
    assert_eq!(rl.litigation_direct.fields(), some([4, 0, 1, 0, 5]));
    assert_eq!(rl.litigation_after_review.fields(), some([0, 0, 0, 2, 2]));
}

#[test]
fn table_four_with_an_unplaceable_count_of_figures_is_null() {
    let s = Synthetic::new(22, Layout::L2021);
    let mut doc = grid_document(&s);
    let review = doc.blocks.iter().rposition(|b| matches!(b, Block::Table(_))).unwrap();
    doc.blocks[review] =
        table(&[&["行政复议", "行政诉讼"], &["1", "2", "0", "0", "3", "4", "0", "1", "0", "5", "0", "0", "2", "2"]]);
    let r = parse_document(&doc);
    assert_eq!(r.review_litigation.unwrap(), Default::default(), "14 figures for 15 cells");
}

#[test]
fn table_three_without_its_applicant_header_line() {
    let s = Synthetic::new(23, Layout::L2021);
    let text = text_report(&s, Shape::Tab)
        .lines()
        .filter(|l| !l.contains("申请人情况") && !l.contains("勾稽关系"))
        .collect::<Vec<_>>()
        .join("\n");
    let r = parse_text(&text);
    assert_reads_back(&s, Shape::Tab, &r);
}
