//! The shared parser on real reports (the seeds and the corpus PDFs' text), on reports of our own in
//! every input shape and both layouts, and under random input.

#[path = "support/sim.rs"]
mod sim;

use std::path::PathBuf;

use nianbao::document::{Block, Document, Table};
use nianbao::parser::{parse_document, parse_text, Check, Format, Report};
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

/// A corpus report's text parsed, its full output snapshotted.
fn corpus(name: &str) -> Option<Report> {
    let report = parse_text(&read(&shared()?.join(format!("corpus/pdf/{name}.txt"))));
    insta::assert_json_snapshot!(name, json(&report));
    Some(report)
}

fn row(report: &Report, key: &str) -> [Option<u64>; 7] {
    *report.applications.as_ref().expect("table 三").rows.get(key).expect("a row key")
}

fn some<const N: usize>(v: [u64; N]) -> [Option<u64>; N] {
    v.map(Some)
}

fn failed(report: &Report) -> Vec<String> {
    report.checks.iter().filter(|c| !c.ok).map(Check::name).collect()
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
    assert_eq!(
        failed(&r),
        ["review_litigation.group_sum[review]", "review_litigation.group_sum[litigation_after_review]"]
    );
}

// ---- the synthetic TRS page of the crawl tests, through a Document built from its HTML ----

/// A Document from an HTML body, through the cleaner (as `nianbao parse page.html` reads it).
fn html_document(title: &str, body: &str) -> Document {
    let page = format!("<html><head><meta name=\"ArticleTitle\" content=\"{title}\"></head><body>{body}</body></html>");
    let mut doc = nianbao::clean::clean_html(page.as_bytes(), Some("text/html; charset=utf-8"), None).unwrap();
    doc.title = Some(title.to_owned()).filter(|t| !t.is_empty());
    doc
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
            r.checks.iter().any(|c| c.name() == "applications.other_sum[total]"),
            "the printed （六） total is checked"
        );
        assert!(r.checks.iter().any(|c| c.rule == "narrative.new_received"));
    }
}

// ---- reports of our own: random consistent figures rendered in every input shape ----

#[path = "parser/render.rs"]
mod render;

use render::{grid_document, text_report, Layout, Shape, Synthetic, LAYOUTS, SHAPES};

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

    /// Every figure the parser gives equals the truth (`null` is always allowed).
    fn only_true_figures(path: &str, got: &Value, want: &Value, wrong: &mut Vec<String>) {
        match got {
            Value::Object(g) => {
                for (k, v) in g {
                    only_true_figures(&format!("{path}.{k}"), v, want.get(k).unwrap_or(&Value::Null), wrong);
                }
            }
            Value::Array(g) => {
                for (i, v) in g.iter().enumerate() {
                    only_true_figures(&format!("{path}[{i}]"), v, want.get(i).unwrap_or(&Value::Null), wrong);
                }
            }
            Value::Null => {}
            g if g != want => wrong.push(format!("{path}: {g}, truly {want}")),
            _ => {}
        }
    }

    /// Renders a synthetic report, drops the `lost` lines, and checks that every figure the parser
    /// still gives is true.
    fn only_true_figures_without(
        seed: u64,
        layout: Layout,
        shape: Shape,
        lost: &[prop::sample::Index],
    ) -> Result<(), TestCaseError> {
        let s = Synthetic::new(seed, layout);
        let mut lines: Vec<String> = text_report(&s, shape).lines().map(str::to_string).collect();
        for l in lost {
            let i = l.index(lines.len());
            lines.remove(i);
        }
        check_true_figures(&s, &parse_text(&lines.join("\n")), shape)
    }

    /// Every figure of `r` is true of `s`, and its layout is right when it has one.
    fn check_true_figures(s: &Synthetic, r: &Report, shape: Shape) -> Result<(), TestCaseError> {
        let layout = s.layout;
        if r.format.is_some() {
            let format = if layout == Layout::L2019 { Format::Layout2019 } else { Format::Layout2021 };
            prop_assert_eq!(r.format, Some(format));
            let got = json(r);
            let mut wrong = Vec::new();
            only_true_figures("", &got["applications"]["rows"], &expected_rows_json(s), &mut wrong);
            only_true_figures("", &got["review_litigation"], &expected_review_json(s), &mut wrong);
            only_true_figures("", &got["active_disclosure"], &s.active_json, &mut wrong);
            prop_assert!(wrong.is_empty(), "{:?} in {:?}: {}", layout, shape, wrong.join("; "));
        }
        Ok(())
    }

    fn expected_rows_json(s: &Synthetic) -> Value {
        let rows = s.expected_rows();
        Value::Object(
            nianbao::parser::APPLICATION_ROWS
                .iter()
                .zip(rows)
                .map(|(k, r)| (k.to_string(), serde_json::json!(r)))
                .collect(),
        )
    }

    fn expected_review_json(s: &Synthetic) -> Value {
        let fields = nianbao::parser::REVIEW_FIELDS;
        let group = |g: [u64; 5]| Value::Object(fields.iter().zip(g).map(|(f, v)| (f.to_string(), v.into())).collect());
        serde_json::json!({
            "review": group(s.review[0]),
            "litigation_direct": group(s.review[1]),
            "litigation_after_review": group(s.review[2]),
        })
    }

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
        #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn random_consistent_figures_read_back_in_every_shape(seed in any::<u64>(), layout in layout(), shape in shape()) {
            let s = Synthetic::new(seed, layout);
            let r = render(&s, shape);
            assert_reads_back(&s, shape, &r);
            prop_assert!(failed(&r).is_empty(), "{:?}", failed(&r));
        }

        #[test]
        fn lost_lines_give_nulls_never_wrong_figures(
            seed in any::<u64>(),
            layout in layout(),
            // Not PDF text: there a lost line can join the halves of two wrapped labels into one
            // valid label ("一、本年新收政府信息公" + "开申请数量" of the next row), which no reader
            // can tell from the real thing.
            shape in prop::sample::select(vec![Shape::CellPerLine, Shape::CellPerLinePiped, Shape::TabCells, Shape::Pipe, Shape::Tab]),
            lost in prop::collection::vec(any::<prop::sample::Index>(), 1..7),
        ) {
            only_true_figures_without(seed, layout, shape, &lost)?;
        }

        #[test]
        fn a_lost_line_of_pdf_text_gives_nulls_never_wrong_figures(
            seed in any::<u64>(),
            layout in layout(),
            lost in any::<prop::sample::Index>(),
        ) {
            only_true_figures_without(seed, layout, Shape::Pdf, &[lost])?;
        }

        #[test]
        fn lost_or_blanked_grid_cells_give_nulls_never_wrong_figures(
            seed in any::<u64>(),
            layout in layout(),
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>(), any::<bool>()), 1..6),
        ) {
            let s = Synthetic::new(seed, layout);
            let mut doc = grid_document(&s);
            let tables: Vec<usize> = (0..doc.blocks.len()).filter(|&i| matches!(doc.blocks[i], Block::Table(_))).collect();
            for (row, cell, blank) in edits {
                let Block::Table(t) = &mut doc.blocks[tables[row.index(3)]] else { unreachable!() };
                let r = row.index(t.rows.len());
                let c = cell.index(t.rows[r].len());
                if blank {
                    t.rows[r][c].clear();
                } else {
                    t.rows[r].remove(c);
                }
            }
            check_true_figures(&s, &parse_document(&doc), Shape::Grid)?;
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
            "applications.row_sum[granted]",
            "applications.results_sum[total]",
            "review_litigation.group_sum[review]",
            "narrative.new_received"
        ]
    );
    let stated = r.checks.iter().find(|c| c.rule == "narrative.new_received").unwrap();
    assert_eq!(stated.detail, "the text states 9 applications received; the table says 10");
    let granted = r.checks.iter().find(|c| c.name() == "applications.row_sum[granted]").unwrap();
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

#[test]
fn real_pages_that_are_not_annual_reports_have_no_format() {
    let Some(shared) = shared() else { return };
    let dir = shared.join("corpus/html");
    let mut pages: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    pages.sort();
    assert!(pages.len() >= 9);
    for page in pages {
        let html = read(&page);
        let r = parse_document(&html_document("", &html));
        assert_eq!(r.format, None, "{}", page.display());
        assert!(r.checks.is_empty());
    }
}

#[test]
fn subtotal_rows_of_a_group_are_no_row_of_the_form() {
    let s = Synthetic::new(31, Layout::L2021);
    let mut doc = grid_document(&s);
    let Some(Block::Table(t)) = doc.blocks.iter_mut().filter(|b| matches!(b, Block::Table(_))).nth(1) else {
        panic!("table 三")
    };
    let after = t.rows.iter().position(|r| r.iter().any(|c| c.contains("行政查询"))).unwrap();
    let subtotal: Vec<u64> = (0..7).map(|c| (4..=11).map(|r| s.rows[r][c]).sum()).collect();
    let mut row = vec!["三、本年度办理结果".to_string(), "（三）不予公开".into(), "小计".into()];
    row.extend(subtotal.iter().map(u64::to_string));
    t.rows.insert(after + 1, row);
    let r = parse_document(&doc);
    let rows = &r.applications.as_ref().unwrap().rows.0;
    for (i, want) in s.expected_rows().iter().enumerate() {
        assert_eq!(rows[i], *want, "row {}", nianbao::parser::APPLICATION_ROWS[i]);
    }
}
