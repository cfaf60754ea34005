//! The cleaner on real-shaped pages of each CMS family, the synthetic crawl page (UTF-8 and GBK),
//! real pages and PDFs from the shared corpus, attachments of every format, and hostile input.

#[path = "support/sim.rs"]
mod sim;

use std::io::Write;
use std::path::{Path, PathBuf};

use nianbao::clean::{clean_bytes, clean_file, clean_html, CleanError};
use nianbao::document::Document;
use proptest::prelude::*;

/// Strings of page chrome that must never reach the cleaned text.
const CHROME: &[&str] = &[
    "浏览次数",
    "浏览量",
    "访问量",
    "版权所有",
    "打印本页",
    "关闭窗口",
    "当前位置",
    "您现在的位置",
    "ICP备",
    "公网安备",
    "网站标识码",
    "字体",
    "分享到",
    "扫一扫",
    "网站地图",
    "返回顶部",
    "主办",
    "相关链接",
    "相关稿件",
    "首页",
    "责任编辑",
    "搜索",
    "索引号",
];

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/clean").join(name)
}

/// The shared folder (`../shared` beside the repository, or beside the worktrees); `None` skips.
fn shared() -> Option<PathBuf> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let found = [manifest.join("../shared"), manifest.join("../../shared")].into_iter().find(|p| p.is_dir());
    if found.is_none() {
        eprintln!("note: no shared/ folder beside the repository; corpus tests skipped");
    }
    found
}

fn assert_clean(doc: &Document, title: &str, date: &str, sentences: &[&str]) {
    let text = doc.text();
    assert_eq!(doc.title.as_deref(), Some(title), "{text}");
    assert_eq!(doc.published.as_deref(), Some(date), "{text}");
    for sentence in sentences {
        assert!(text.contains(sentence), "missing {sentence:?} in\n{text}");
    }
    for chrome in CHROME {
        assert!(!text.contains(chrome), "chrome {chrome:?} left in\n{text}");
    }
}

fn strings(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter().map(|r| r.iter().map(|s| s.to_string()).collect()).collect()
}

/// The applications table every fixture page carries, as a full grid.
fn fixture_table(a: u32, b: u32) -> Vec<Vec<String>> {
    let note = "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）";
    let (a, b) = (a.to_string(), b.to_string());
    let new = "一、本年新收政府信息公开申请数量";
    let result = "三、本年度办理结果";
    strings(&[
        &[note, note, "申请人情况", "申请人情况", "申请人情况"],
        &[note, note, "自然人", "法人或其他组织", "法人或其他组织"],
        &["", "", "自然人", "商业企业", "科研机构"],
        &[new, new, &a, "0", &b],
        &[result, "（一）予以公开", &a, "0", "0"],
        &[result, "（二）部分公开", "0", "0", &b],
    ])
}

fn fixture_sentences(agency: &str, year: u32, received: u32) -> Vec<String> {
    vec![
        format!("根据《中华人民共和国政府信息公开条例》规定，现公布{agency}{year}年政府信息公开工作年度报告。"),
        format!("全年共收到政府信息公开申请{received}件，均已按期答复。"),
        format!("本年度{agency}未收取任何信息处理费，全年未发生政府信息公开行政复议案件。"),
    ]
}

fn check_fixture(file: &str, title: &str, date: &str, agency: &str, year: u32, (a, b): (u32, u32)) -> Document {
    let doc = clean_file(&fixture(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    let sentences = fixture_sentences(agency, year, a + b);
    assert_clean(&doc, title, date, &sentences.iter().map(String::as_str).collect::<Vec<_>>());
    let tables: Vec<_> = doc.tables().collect();
    assert_eq!(tables.len(), 1, "{file}: one data table, layout tables are not data");
    assert_eq!(tables[0].rows, fixture_table(a, b), "{file}");
    doc
}

#[test]
fn trs_page_declared_gb2312_in_a_meta() {
    let doc = check_fixture(
        "trs_xiamen_gb2312.html",
        "厦门市医疗保障局2022年政府信息公开工作年度报告",
        "2023-01-06",
        "厦门市医疗保障局",
        2022,
        (3, 1),
    );
    assert!(doc.metadata.contains(&("ContentSource".into(), "厦门市医疗保障局".into())));
}

#[test]
fn hanweb_page_with_markers_inside_layout_tables() {
    check_fixture(
        "hanweb_dingxi.html",
        "定西市人民政府2020年政府信息公开工作年度报告",
        "2021-01-25",
        "定西市人民政府",
        2020,
        (12, 5),
    );
}

#[test]
fn ucap_page_titled_by_its_layout_and_dated_by_firstpublishedtime() {
    check_fixture(
        "ucap_govcn.html",
        "国家医疗保障局2022年政府信息公开工作年度报告",
        "2023-03-31",
        "国家医疗保障局",
        2022,
        (40, 7),
    );
}

#[test]
fn chongqing_page_keeps_its_metadata_table_apart() {
    let doc = check_fixture(
        "cq_jiyuehua.html",
        "重庆市医疗保障局2022年政府信息公开工作年度报告",
        "2023-01-31",
        "重庆市医疗保障局",
        2022,
        (1, 0),
    );
    assert!(doc.metadata.contains(&("索引号".into(), "11500000MB1K95421X/2023-00012".into())), "{:?}", doc.metadata);
    assert!(doc.metadata.contains(&("发布机构".into(), "重庆市医疗保障局".into())));
}

#[test]
fn jinan_page_without_known_containers_is_found_by_density() {
    let doc = check_fixture(
        "jinan_jiyuehua.html",
        "济南市历下区大明湖街道2022年政府信息公开工作年度报告",
        "2023-01-16",
        "大明湖街道",
        2022,
        (2, 0),
    );
    assert!(!doc.text().contains("政府信息公开指南"), "the sidebar is gone");
}

/// The whole cleaned Document of every fixture page, so that any change in what the cleaner keeps is
/// seen in review.
#[test]
fn fixture_documents_snapshot() {
    let snapshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/clean/snapshots");
    for file in
        ["trs_xiamen_gb2312.html", "hanweb_dingxi.html", "ucap_govcn.html", "cq_jiyuehua.html", "jinan_jiyuehua.html"]
    {
        let doc = clean_file(&fixture(file)).unwrap();
        insta::with_settings!({ snapshot_path => &snapshots, prepend_module_to_snapshot => false }, {
            insta::assert_json_snapshot!(file.trim_end_matches(".html"), doc);
        });
    }
}

fn sim_report() -> sim::SimReport {
    sim::SimReport::new("重庆市医疗保障局", 2022, 11)
}

fn check_sim(doc: &Document, report: &sim::SimReport) {
    let text = doc.text();
    assert_eq!(doc.title.as_deref(), Some(report.title().as_str()));
    assert_eq!(doc.published.as_deref(), Some("2023-01-31"));
    assert!(text.contains(&report.title()));
    assert!(text.contains(&format!("全年共收到政府信息公开申请{}件", report.received())), "{text}");
    assert!(text.contains("本年度未收取信息处理费。"));
    for chrome in ["浏览次数", "版权所有", "打印本页", "关闭窗口", "当前位置", "ICP备", "字体：", "访问量"]
    {
        assert!(!text.contains(chrome), "chrome {chrome:?} left in\n{text}");
    }
    let tables: Vec<_> = doc.tables().collect();
    assert_eq!(tables.len(), 3, "{text}");
    let active = &tables[0].rows;
    assert_eq!(active[0], vec!["第二十条第（一）项"; 4]);
    assert_eq!(
        active[6],
        vec![
            "行政许可".to_string(),
            report.licensing.to_string(),
            report.licensing.to_string(),
            report.licensing.to_string()
        ]
    );
    let applications = &tables[1].rows;
    let note = "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）";
    let mut header = vec![note; 3];
    header.extend(["申请人情况"; 7]);
    assert_eq!(applications[0], header);
    assert_eq!(
        applications[1][3..],
        ["自然人", "法人或其他组织", "法人或其他组织", "法人或其他组织", "法人或其他组织", "法人或其他组织", "总计"]
    );
    assert_eq!(
        applications[2][3..],
        ["自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计"]
    );
    let new_received = applications.iter().find(|r| r[0] == "一、本年新收政府信息公开申请数量").expect("row 一");
    let figures: Vec<String> = report.applications[0].iter().map(u32::to_string).collect();
    assert_eq!(new_received[3..], figures[..]);
    let carried = applications.last().expect("rows");
    assert_eq!(carried[0], "四、结转下年度继续办理");
    let review = &tables[2].rows;
    assert_eq!(review[0][..6], ["行政复议", "行政复议", "行政复议", "行政复议", "行政复议", "行政诉讼"]);
    assert_eq!(
        review[1][5..],
        ["未经复议直接起诉"; 5].iter().chain(["复议后起诉"; 5].iter()).copied().collect::<Vec<_>>()[..]
    );
    let figures: Vec<String> = report.review.iter().flatten().map(u32::to_string).collect();
    assert_eq!(review[3], figures);
}

#[test]
fn sim_page_cleans_in_utf8_and_in_gbk_however_declared() {
    let report = sim_report();
    let html = report.page_html("2023-01-31", 4242, Some("./P020230131.pdf"));
    check_sim(&clean_html(html.as_bytes(), Some("text/html; charset=utf-8"), None).unwrap(), &report);
    let gbk = |s: &str| encoding_rs::GBK.encode(s).0.into_owned();
    let header_only = gbk(&html.replace("<meta charset=\"utf-8\">", ""));
    check_sim(&clean_html(&header_only, Some("text/html; charset=GBK"), None).unwrap(), &report);
    let meta_only = gbk(&html.replace("<meta charset=\"utf-8\">", "<meta charset=\"gb2312\">"));
    check_sim(&clean_html(&meta_only, Some("text/html"), None).unwrap(), &report);
    let undeclared = gbk(&html.replace("<meta charset=\"utf-8\">", ""));
    check_sim(&clean_bytes(&undeclared, None, None, None).unwrap(), &report);
}

#[test]
fn view_counter_and_script_footer_do_not_change_the_text() {
    let report = sim_report();
    let first = report.page_html("2023-01-31", 1, None);
    let second = report.page_html("2023-01-31", 987_654, None).replace("访问量", "今日访问");
    assert_ne!(first, second);
    let a = clean_html(first.as_bytes(), None, None).unwrap();
    let b = clean_html(second.as_bytes(), None, None).unwrap();
    assert_eq!(a.text(), b.text());
}

/// (file, title, date, sentences that must be there, strings of the page's own chrome that must not,
/// besides the common [`CHROME`]).
type CorpusCase = (&'static str, &'static str, Option<&'static str>, &'static [&'static str], &'static [&'static str]);

const CORPUS: &[CorpusCase] = &[
    (
        "01_shanxi_gov.html",
        "山西品牌丝路行（南美站）正式启动",
        Some("2019-09-18"),
        &[
            "跨越千山万水，行程近两万公里",
            "省贸促会分别与巴西华人协会",
            "南美站活动将先后在巴西、乌拉圭、阿根廷举行。（张巨峰）",
        ],
        &["版权所有", "网站标识码", "打印", "当前位置"],
    ),
    (
        "02_zj_fzggw.html",
        "1-10月德清县固定资产投资结构趋稳趋优",
        Some("2016-11-22"),
        &["1-10月，全县固定资产投资完成246.79亿元"],
        &["版权所有", "浏览次数", "当前位置", "ICP备"],
    ),
    (
        "03_www_gov_cn.html",
        "全国人民代表大会常务委员会关于批准财政部发行特别国债购买外汇及调整2007 年末国债余额限额的决议",
        Some("2007-08-20"),
        &["第十届全国人民代表大会常务委员会第二十八次会议，听取了财政部部长金人庆"],
        &["版权所有", "ICP备", "首页", "打印"],
    ),
    (
        "04_cmse_gov.html",
        "天宫一号与神舟九号载人交会对接任务第二场新闻发布会",
        Some("2012-06-24"),
        &["很高兴又一次和大家见面。", "我国首次航天员手控交会对接试验取得圆满成功", "下面，我愿意回答大家的提问。"],
        &["版权所有", "ICP备", "当前位置", "打印"],
    ),
    (
        "05_sxmu_edu.html",
        "中华人民共和国监察法",
        Some("2018-05-17"),
        &["第一条 为了深化国家监察体制改革", "第六十九条 本法自公布之日起施行。"],
        &["版权所有", "ICP备", "当前位置"],
    ),
    (
        "06_kepu_gov.html",
        "习近平主持召开深入推进长三角一体化发展座谈会",
        None,
        &["新华社上海11月30日电", "中央和国家机关有关部门、有关地方、有关企业负责同志参加座谈会。"],
        &["版权所有", "ICP备", "当前位置"],
    ),
    (
        "08_theorychina_article.html",
        "《中国式现代化发展之路》全文",
        Some("2024-05-05"),
        &["推进中国式现代化是一项前无古人的开创性事业"],
        &["重点推荐", "友情链接", "字体放大", "版权所有"],
    ),
];

#[test]
fn real_pages_keep_their_body_and_lose_their_chrome() {
    let Some(shared) = shared() else { return };
    for (file, title, date, sentences, chrome) in CORPUS {
        let doc = clean_file(&shared.join("corpus/html").join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let text = doc.text();
        assert_eq!(doc.title.as_deref(), Some(*title), "{file}");
        assert_eq!(doc.published.as_deref(), *date, "{file}");
        for s in *sentences {
            assert!(text.contains(s), "{file}: missing {s:?}");
        }
        for c in chrome.iter().chain(CHROME) {
            assert!(!text.contains(c), "{file}: chrome {c:?} left in\n{text}");
        }
    }
}

#[test]
fn nfra_merged_cells_expand_cell_for_cell() {
    let Some(shared) = shared() else { return };
    let doc = clean_file(&shared.join("corpus/html/nfra_penalty_2024-36_merged_cells_page_source.html")).unwrap();
    assert_eq!(doc.published.as_deref(), Some("2025-06-03"));
    let tables: Vec<_> = doc.tables().collect();
    assert_eq!(tables.len(), 1, "the hidden copy of the body is not read");
    let rows = &tables[0].rows;
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows[0],
        ["序号", "当事人名称", "行政处罚决定书文号", "主要违法违规行为", "行政处罚内容", "作出决定机关"]
    );
    assert_eq!(rows[1][0], "1");
    assert_eq!(rows[2][0], "2");
    assert_eq!(rows[1][1], "中国太平洋财产保险股份有限公司温州分公司");
    assert!(rows[2][1].starts_with("陈首伟"));
    for col in [2, 3, 5] {
        assert_eq!(rows[1][col], rows[2][col], "rowspan column {col} repeated");
    }
    assert_eq!(rows[2][2], "浙金罚决字〔2024〕52号");
    assert_eq!((rows[1][4].as_str(), rows[2][4].as_str()), ("罚款56万元", "警告并罚款14万元"));
    for chrome in CHROME.iter().chain(&["版权与免责声明", "微博"]) {
        assert!(!doc.text().contains(chrome), "chrome {chrome:?} left in\n{}", doc.text());
    }
    let debug = clean_file(&shared.join("corpus/html/nfra_penalty_2024-36_page_source_debug.html")).unwrap();
    let rows = &debug.tables().next().expect("a table").rows;
    assert_eq!(rows[0], ["行政处罚决定书文号", "金罚决字〔2024〕36号"]);
    assert_eq!(rows.last().map(|r| r[1].as_str()), Some("2024年7月8日"));
}

/// Every 12-character run of a reference text's lines (white space removed) that our text holds.
fn share_of_runs_found(reference: &str, ours: &str) -> f64 {
    let squeeze = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    let ours = squeeze(ours);
    let runs: Vec<String> = reference
        .lines()
        .map(squeeze)
        .filter(|l| l.chars().count() >= 12)
        .map(|l| l.chars().take(12).collect())
        .collect();
    let found = runs.iter().filter(|r| ours.contains(r.as_str())).count();
    found as f64 / runs.len().max(1) as f64
}

#[test]
fn real_pdfs_hold_the_reports_sentences_and_numbers() {
    let Some(shared) = shared() else { return };
    let dir = shared.join("corpus/pdf");
    for (pdf, txt, numbers) in [
        ("hongze_district_2023.pdf", "03_hongze_district_2023.txt", &["1136", "0517-87222589"][..]),
        ("hongze_district_2024.pdf", "02_hongze_district_2024.txt", &["2024"][..]),
        ("huaian_city_2024.pdf", "01_huaian_city_2024.txt", &["2024"][..]),
    ] {
        let doc = clean_file(&dir.join(pdf)).unwrap_or_else(|e| panic!("{pdf}: {e}"));
        let reference = std::fs::read_to_string(dir.join(txt)).unwrap();
        let text = doc.text();
        let share = share_of_runs_found(&reference, &text);
        assert!(share > 0.8, "{pdf}: only {share:.2} of the reference lines found in\n{text}");
        for n in numbers {
            assert!(text.contains(n), "{pdf}: {n}");
        }
        assert!(doc.title.as_deref().is_some_and(|t| t.contains("年度报告")), "{pdf}: {:?}", doc.title);
    }
}

fn zip_of(parts: &[(&str, &str)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, body) in parts {
        zip.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(body.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

#[test]
fn docx_attachment_is_dispatched_by_content_whatever_its_name() {
    let xml = r#"<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>
        <w:p><w:r><w:t>海盐县医疗保障局2022年政府信息公开工作年度报告</w:t></w:r></w:p>
        <w:p><w:r><w:t>本年度共收到政府信息公开申请3件。</w:t></w:r></w:p>
        <w:tbl><w:tblGrid><w:gridCol/><w:gridCol/><w:gridCol/></w:tblGrid>
        <w:tr><w:tc><w:tcPr><w:vMerge w:val="restart"/></w:tcPr><w:p><w:r><w:t>行政复议</w:t></w:r></w:p></w:tc><w:tc><w:tcPr><w:gridSpan w:val="2"/></w:tcPr><w:p><w:r><w:t>结果维持</w:t></w:r></w:p></w:tc></w:tr>
        <w:tr><w:tc><w:tcPr><w:vMerge/></w:tcPr><w:p/></w:tc><w:tc><w:p><w:r><w:t>0</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>2</w:t></w:r></w:p></w:tc></w:tr>
        </w:tbl></w:body></w:document>"#;
    let body = zip_of(&[("[Content_Types].xml", "<Types/>"), ("word/document.xml", xml)]);
    for name in [Some("2022.docx"), Some("附件1"), None] {
        let doc = clean_bytes(&body, Some("application/octet-stream"), name, None).unwrap();
        assert_eq!(doc.title.as_deref(), Some("海盐县医疗保障局2022年政府信息公开工作年度报告"));
        assert!(doc.text().contains("本年度共收到政府信息公开申请3件。"));
        assert_eq!(
            doc.tables().next().unwrap().rows,
            strings(&[&["行政复议", "结果维持", "结果维持"], &["行政复议", "0", "2"]])
        );
    }
}

#[test]
fn xlsx_sheets_become_tables() {
    let workbook = r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="申请情况" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
    let rels = r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#;
    let sheet = r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>
        <row r="1"><c r="A1" t="inlineStr"><is><t>第二十条第（一）项</t></is></c></row>
        <row r="2"><c r="A2" t="inlineStr"><is><t>信息内容</t></is></c><c r="B2" t="inlineStr"><is><t>本年制发件数</t></is></c></row>
        <row r="3"><c r="A3" t="inlineStr"><is><t>规章</t></is></c><c r="B3"><v>3</v></c></row></sheetData>
        <mergeCells count="1"><mergeCell ref="A1:B1"/></mergeCells></worksheet>"#;
    let types = r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#;
    let root_rels = r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
    let body = zip_of(&[
        ("[Content_Types].xml", types),
        ("_rels/.rels", root_rels),
        ("xl/workbook.xml", workbook),
        ("xl/_rels/workbook.xml.rels", rels),
        ("xl/worksheets/sheet1.xml", sheet),
    ]);
    let doc = clean_bytes(&body, None, Some("统计表.xlsx"), None).unwrap();
    assert_eq!(
        doc.tables().next().map(|t| t.rows.clone()),
        Some(strings(&[&["第二十条第（一）项", "第二十条第（一）项"], &["信息内容", "本年制发件数"], &["规章", "3"]]))
    );
}

#[test]
fn a_broken_doc_or_wps_is_a_clear_error_naming_the_input() {
    let mut ole = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    ole.resize(2048, 0);
    let err = clean_bytes(&ole, Some("application/msword"), Some("2022年报.doc"), None).unwrap_err();
    assert!(matches!(err, CleanError::Corrupt { format: "DOC", .. }), "{err:?}");
    assert!(err.to_string().contains("2022年报.doc"), "{err}");
    let url = url::Url::parse("http://127.0.0.1/module/download/downfile.jsp?filename=a.wps").unwrap();
    let err = clean_bytes(&ole, None, Some("a.wps"), Some(&url)).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("WPS") && message.contains("a.wps") && message.contains("downfile.jsp"), "{err}");
    let rtf = b"{\\rtf1\\ansi\\ansicpg936 {\\fonttbl}\\par 2022\\'c4\\'ea}";
    let err = clean_bytes(rtf, None, Some("2022年报.doc"), None).unwrap_err();
    assert!(matches!(err, CleanError::Unsupported { format: "RTF", .. }), "{err:?}");
}

#[test]
fn a_zip_of_other_files_is_unsupported_and_a_truncated_docx_is_corrupt() {
    let zip = zip_of(&[("2022年报.pdf", "%PDF-1.4")]);
    let err = clean_bytes(&zip, None, Some("年报.zip"), None).unwrap_err();
    assert!(matches!(err, CleanError::Unsupported { format: "ZIP", .. }), "{err:?}");
    let docx = zip_of(&[("word/document.xml", "<w:document/>")]);
    let err = clean_bytes(&docx[..docx.len() / 2], None, Some("年报.docx"), None).unwrap_err();
    assert!(matches!(err, CleanError::Corrupt { format: "DOCX", .. }), "{err:?}");
    assert!(err.to_string().contains("年报.docx"), "{err}");
}

#[test]
fn html_served_as_plain_text_is_still_html() {
    let page = sim_report().page_html("2023-01-31", 5, None);
    let doc = clean_bytes(page.as_bytes(), Some("text/plain"), None, None).unwrap();
    assert_eq!(doc.tables().count(), 3);
    assert!(!doc.text().contains("<td>"));
}

#[test]
fn binary_data_of_no_known_format_is_an_error_not_a_garbage_document() {
    let png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00";
    let err = clean_bytes(png, Some("application/pdf"), Some("2022年报.pdf"), None).unwrap_err();
    assert!(matches!(err, CleanError::Unrecognised { .. }), "{err:?}");
    assert!(err.to_string().contains("2022年报.pdf"), "{err}");
}

#[test]
fn text_files_are_decoded_and_read_as_text() {
    let gbk = encoding_rs::GBK.encode("一、总体情况\n本年度收到政府信息公开申请5件，均已按期答复。\n").0.into_owned();
    let doc = clean_bytes(&gbk, None, Some("report.txt"), None).unwrap();
    assert!(doc.text().contains("本年度收到政府信息公开申请5件，均已按期答复。"), "{}", doc.text());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("年报.txt");
    std::fs::write(&path, &gbk).unwrap();
    assert_eq!(clean_file(&path).unwrap(), doc);
}

#[test]
fn a_missing_file_is_a_read_error_naming_it() {
    let err = clean_file(Path::new("/nonexistent/2022年报.html")).unwrap_err();
    assert!(matches!(err, CleanError::Read { .. }));
    assert!(err.to_string().contains("/nonexistent/2022年报.html"), "{err}");
}

#[test]
fn truncated_empty_and_misdeclared_pages_never_panic() {
    let page = sim_report().page_html("2023-01-31", 5, Some("./a.pdf"));
    let bytes = page.as_bytes();
    for cut in (0..bytes.len()).step_by(613) {
        let doc = clean_html(&bytes[..cut], None, None).unwrap();
        if cut > bytes.len() / 2 {
            assert!(doc.title.is_some(), "the head survives a cut at {cut}");
        }
    }
    assert!(clean_html(b"", None, None).unwrap().is_empty());
    let gbk = encoding_rs::GBK.encode(&page).0.into_owned();
    let misdeclared = clean_html(&gbk, Some("text/html; charset=utf-8"), None).unwrap();
    assert!(misdeclared.tables().count() == 3, "structure survives a wrong charset");
    for magic in [
        &b"%PDF-1.7\n"[..],
        b"PK\x03\x04\x14\x00",
        b"\xD0\xCF\x11\xE0",
        b"<html><body><table><tr><td rowspan=99999 colspan=99999>x",
    ] {
        let _ = clean_bytes(magic, None, None, None);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_clean_or_fail_without_panicking(
        prefix in prop::sample::select(vec![&b""[..], b"PK\x03\x04", b"\xD0\xCF\x11\xE0", b"<html><table><tr><td colspan=3>"]),
        body in prop::collection::vec(any::<u8>(), 0..512),
        name in prop::sample::select(vec![None, Some("a.docx"), Some("a.xls"), Some("a.txt"), Some("a.html")]),
    ) {
        let mut bytes = prefix.to_vec();
        bytes.extend(body);
        let _ = clean_bytes(&bytes, Some("text/html; charset=gbk"), name, None);
    }

    #[test]
    fn any_markup_soup_cleans(parts in prop::collection::vec(prop::sample::select(vec![
        "<table>", "</table>", "<tr>", "<td rowspan=\"3\">", "<td colspan=\"0\">", "</td>", "<p>", "</p>", "<br>",
        "<!--<$[信息内容]>begin-->", "<!--<$[信息内容]>end-->", "<meta name=\"ContentStart\">", "<div class=\"TRS_Editor\">",
        "</div>", "<script>document.write('x')", "</script>", "索引号：", "一、总体情况", "申请3件。", "&nbsp;", "\u{3000}",
    ]), 0..80)) {
        let html = parts.concat();
        let doc = clean_html(html.as_bytes(), None, None).unwrap();
        for table in doc.tables() {
            prop_assert!(table.rows.len() >= 2);
        }
    }
}
