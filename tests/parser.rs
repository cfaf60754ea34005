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
