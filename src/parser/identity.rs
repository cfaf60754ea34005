//! Who published the report and which year it covers, as the report itself says.
//!
//! The year comes from the statistics period (统计期限 …自2022年), else the title, else the year the
//! body names most often (when one does). The agency comes from the title, else the report's own
//! name quoted in its text (《…2023年政府信息公开工作年度报告》), else the contact line
//! (请与…办公室联系), else its guide or catalogue (《…政府信息公开指南》), else the page metadata.
//! A handful of unambiguous abbreviations (医保局 → 医疗保障局) are spelt out.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

use super::linear::is_footer;
use crate::clean::text::title_lines;
use crate::document::Document;

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("identity patterns are valid")
}

static STAT_PERIOD: LazyLock<Regex> =
    LazyLock::new(|| re(r"统计(?:期限|时限|时间|区间|周期|范围|期间)[^0-9]{0,10}?((?:19|20)\d{2})\s*年"));
static YEAR: LazyLock<Regex> = LazyLock::new(|| re(r"((?:19|20)\d{2})\s*年"));
static TITLE_AGENCY_FIRST: LazyLock<Regex> = LazyLock::new(|| re(r"^(.*?)(?:关于)?\s*(?:19|20)\d{2}\s*年"));
/// An agency's name: what ends in the name of a kind of agency.
const AGENCY: &str = r"(\S{2,40}?(?:局|厅|委员会|委|办公室|人民政府|政府|院|署|中心|办|街道|镇|乡))";
static TITLE_YEAR_FIRST: LazyLock<Regex> =
    LazyLock::new(|| re(&format!(r"^\s*(?:19|20)\d{{2}}\s*年度?\s*{AGENCY}(?:政府信息公开|政务公开|信息公开)")));
static TITLE_NO_YEAR: LazyLock<Regex> =
    LazyLock::new(|| re(&format!(r"^\s*{AGENCY}(?:政府信息公开工作年度报告|政府信息公开年度报告)")));
static QUOTED_REPORT: LazyLock<Regex> =
    LazyLock::new(|| re(r"《\s*([^《》]{2,40}?)\s*(?:19|20)\d{2}\s*年度?\s*政府信息公开工作年度报告\s*》"));
static CONTACT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:请与|可与|请联系|联系单位[:：]?)\s*([^，。,；;（(：:\s]{2,40}?)(?:政务公开办公室|办公室|政务公开科)?\s*联系",
    )
});
static GUIDE: LazyLock<Regex> = LazyLock::new(|| re(r"《\s*([^《》]{2,30}?)\s*政府信息公开(?:指南|目录)\s*》"));

/// Abbreviations that name one kind of agency only, and their full names.
const ABBREVIATIONS: [(&str, &str); 8] = [
    ("医保局", "医疗保障局"),
    ("人社局", "人力资源和社会保障局"),
    ("发改委", "发展和改革委员会"),
    ("卫健委", "卫生健康委员会"),
    ("卫健局", "卫生健康局"),
    ("市监局", "市场监督管理局"),
    ("住建局", "住房和城乡建设局"),
    ("应急局", "应急管理局"),
];

/// The document's title, else a title line among the first lines of its text (a PDF's title page).
fn title(doc: &Document, prose: &str) -> Option<String> {
    doc.title.clone().or_else(|| {
        let lines: Vec<&str> = prose.lines().take(40).filter(|l| !is_footer(l)).collect();
        title_lines(&lines).map(|(t, _)| t)
    })
}

/// The year the report covers.
pub(crate) fn year(doc: &Document, prose: &str) -> Option<i32> {
    let parse = |caps: regex::Captures| caps[1].parse::<i32>().ok();
    if let Some(y) = STAT_PERIOD.captures(prose).and_then(parse) {
        return Some(y);
    }
    if let Some(y) = title(doc, prose).and_then(|t| YEAR.captures(&t).and_then(parse)) {
        return Some(y);
    }
    let mut counts: HashMap<i32, usize> = HashMap::new();
    for caps in YEAR.captures_iter(prose) {
        if let Ok(y) = caps[1].parse::<i32>() {
            *counts.entry(y).or_default() += 1;
        }
    }
    let best = counts.values().copied().max()?;
    let mut top = counts.iter().filter(|(_, n)| **n == best);
    match (top.next(), top.next()) {
        (Some((y, _)), None) => Some(*y),
        _ => None,
    }
}

/// A candidate name cleaned: no white space or quotes, abbreviations spelt out; `None` if it is
/// not a plausible agency name.
fn clean(name: &str) -> Option<String> {
    let name: String = name
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '“' | '”' | '"' | '《' | '》' | '「' | '」'))
        .collect();
    let count = name.chars().count();
    let pronoun = name.starts_with(['我', '本', '该']);
    if !(2..=40).contains(&count) || pronoun || name.contains("关于") || name.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    for (short, full) in ABBREVIATIONS {
        if let Some(stem) = name.strip_suffix(short) {
            return Some(format!("{stem}{full}"));
        }
    }
    Some(name)
}

fn from_title(title: &str) -> Option<String> {
    let before = TITLE_AGENCY_FIRST.captures(title).and_then(|c| clean(&c[1]));
    before
        .or_else(|| TITLE_YEAR_FIRST.captures(title).and_then(|c| clean(&c[1])))
        .or_else(|| TITLE_NO_YEAR.captures(title).and_then(|c| clean(&c[1])))
}

/// The publishing agency as the report names itself.
pub(crate) fn agency(doc: &Document, prose: &str) -> Option<String> {
    title(doc, prose)
        .filter(|t| t.contains("报告"))
        .and_then(|t| from_title(&t))
        .or_else(|| QUOTED_REPORT.captures(prose).and_then(|c| clean(&c[1])))
        .or_else(|| CONTACT.captures(prose).and_then(|c| clean(&c[1])))
        .or_else(|| GUIDE.captures(prose).and_then(|c| clean(&c[1])))
        .or_else(|| {
            doc.metadata
                .iter()
                .find(|(k, _)| matches!(k.as_str(), "ContentSource" | "发布机构" | "来源" | "信息来源"))
                .and_then(|(_, v)| clean(v))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn titled(t: &str) -> Document {
        Document { title: Some(t.into()), ..Default::default() }
    }

    #[test]
    fn agency_and_year_from_the_title() {
        let d = titled("重庆市医疗保障局2022年政府信息公开工作年度报告");
        assert_eq!(agency(&d, "").as_deref(), Some("重庆市医疗保障局"));
        assert_eq!(year(&d, ""), Some(2022));
        let d = titled("2020年度某县人社局政府信息公开工作年度报告");
        assert_eq!(agency(&d, "").as_deref(), Some("某县人力资源和社会保障局"));
        assert_eq!(year(&d, ""), Some(2020));
        assert_eq!(agency(&titled("2022年度政府信息公开工作年度报告"), ""), None);
        assert_eq!(agency(&titled("某市财政局政府信息公开工作年度报告"), "").as_deref(), Some("某市财政局"));
    }

    #[test]
    fn agency_from_the_text() {
        let d = Document::default();
        let quoted = "编制的《绵阳市游仙区医疗保障局 2023 年政府信息公开工作年度报告》(以下简称《年报》)";
        assert_eq!(agency(&d, quoted).as_deref(), Some("绵阳市游仙区医疗保障局"));
        let contact = "如对本报告有疑问,可与山亭区医保局办公室联系(地址:…)";
        assert_eq!(agency(&d, contact).as_deref(), Some("山亭区医疗保障局"));
        let guide = "制定《辽宁省医疗保障局政府信息公开目录》、《2019年政务公开工作实施方案》";
        assert_eq!(agency(&d, guide).as_deref(), Some("辽宁省医疗保障局"));
        assert_eq!(agency(&d, "《中华人民共和国政府信息公开条例》"), None);
        assert_eq!(agency(&d, "如有疑问请与我局办公室联系。"), None);
    }

    #[test]
    fn a_title_page_in_the_text() {
        let prose = "- 1 -\n淮安市人民政府\n2024 年政府信息公开工作年度报告\n本报告由淮安市人民政府办公室编制。\n";
        assert_eq!(agency(&Document::default(), prose).as_deref(), Some("淮安市人民政府"));
        assert_eq!(year(&Document::default(), prose), Some(2024));
    }

    #[test]
    fn year_from_the_period_then_the_body() {
        let d = titled("某局2021年政府信息公开工作年度报告");
        assert_eq!(year(&d, "本报告所列数据的统计期限自 2022 年 1 月 1 日起"), Some(2022));
        let d = Document::default();
        assert_eq!(year(&d, "2018年组建。2019年方案。2019年发布。"), Some(2019));
        assert_eq!(year(&d, "2018年组建。2019年方案。"), None);
    }
}
