//! Synthetic reports for the parser's tests: random consistent figures in both layouts, rendered
//! in every input shape reports reach us in (grid Documents, pipe text, tab text, tab-led cells,
//! one cell per line with or without `|`, PDF-style flat text with page footers).

use nianbao::document::{Block, Document, Table};
use serde_json::Value;

use super::sim;

/// How table 三 prints its （六） group, which also fixes the layout.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Layout {
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
pub enum Shape {
    Grid,
    Pipe,
    Tab,
    TabCells,
    CellPerLine,
    CellPerLinePiped,
    Pdf,
}

pub const SHAPES: [Shape; 7] =
    [Shape::Grid, Shape::Pipe, Shape::Tab, Shape::TabCells, Shape::CellPerLine, Shape::CellPerLinePiped, Shape::Pdf];
pub const LAYOUTS: [Layout; 4] = [Layout::L2019, Layout::L2021, Layout::L2021Sum, Layout::L2021One];

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
pub struct Synthetic {
    pub layout: Layout,
    pub agency: &'static str,
    pub year: i32,
    pub rows: [[u64; 7]; 26],
    pub review: [[u64; 5]; 3],
    /// Table 二 as printed: (label, cells) per item row, with the expected JSON beside.
    pub active_rows: Vec<(&'static str, Vec<String>)>,
    pub active_json: Value,
    /// The narrative's figure for applications received.
    pub stated_received: u64,
    /// 1、 for 1., half-width brackets, 合计 for 总计.
    pub variant_labels: bool,
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
    pub fn new(seed: u64, layout: Layout) -> Synthetic {
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
    pub fn expected_rows(&self) -> [[Option<u64>; 7]; 26] {
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
pub fn grid_document(s: &Synthetic) -> Document {
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
pub fn text_report(s: &Synthetic, shape: Shape) -> String {
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
