//! The shared parser on real reports (the seeds and the corpus PDFs' text), on reports of our own in
//! every input shape and both layouts, and under random input.

#[path = "support/sim.rs"]
mod sim;

use std::path::PathBuf;

use nianbao::parser::{parse_text, Report};
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
