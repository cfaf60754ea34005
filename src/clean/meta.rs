//! A page's identity: title and publication date from its own metadata first (the 政府网站发展指引
//! meta tags, `firstpublishedtime`, Open Graph), then from the layout; and the 信息公开 metadata
//! table (索引号, 发文字号, 发布机构 …), which is kept apart from the body.

use std::sync::LazyLock;

use regex::Regex;
use scraper::{ElementRef, Html, Selector};

use crate::document::Block;

fn selector(css: &str) -> Selector {
    Selector::parse(css).expect("valid selector")
}

static LAYOUT_TITLES: LazyLock<Selector> = LazyLock::new(|| {
    selector("h1, h2, .title, .article-title, .art-title, .main_tit, .zwxl-title, .bt, .con-title, .tit, #title")
});

/// Meta names that carry the title, best first.
const TITLE_METAS: &[&str] = &["articletitle", "og:title", "dc.title", "title"];
/// Meta names that carry the publication date, best first.
const DATE_METAS: &[&str] = &[
    "pubdate",
    "firstpublishedtime",
    "publishdate",
    "publish_date",
    "article:published_time",
    "dc.date",
    "dcterms.issued",
    "createdate",
];
/// Meta tags kept in [`crate::document::Document::metadata`].
const KEPT_METAS: &[&str] = &["contentsource", "sitename", "siteidcode", "columnname", "columntype"];

/// Labels of the 信息公开 metadata table.
pub(crate) const METADATA_LABELS: &[&str] = &[
    "索引号",
    "发文字号",
    "文号",
    "发布机构",
    "发文机关",
    "发文机构",
    "信息来源",
    "主题分类",
    "信息分类",
    "组配分类",
    "体裁分类",
    "服务对象",
    "成文日期",
    "发布日期",
    "生成日期",
    "公开日期",
    "生效日期",
    "废止日期",
    "公开方式",
    "公开范围",
    "公开时限",
    "有效性",
    "时效",
    "名称",
    "标题",
    "主题词",
    "关键词",
    "公开形式",
    "信息名称",
];

static DATE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(\d{4})\s*[-年/.]\s*(\d{1,2})\s*[-月/.]\s*(\d{1,2})").expect("valid regex"));
static LABELLED_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?:发布日期|发布时间|发文日期|公开日期|日期|时间)\s*[:：]?\s*(\d{4}\s*[-年/.]\s*\d{1,2}\s*[-月/.]\s*\d{1,2})",
    )
    .expect("valid regex")
});

/// A date in any of the usual spellings as `YYYY-MM-DD`; `None` when it is not a plausible date.
pub(crate) fn normalise_date(text: &str) -> Option<String> {
    let caps = DATE.captures(text)?;
    let year: u32 = caps[1].parse().ok()?;
    let month: u32 = caps[2].parse().ok()?;
    let day: u32 = caps[3].parse().ok()?;
    chrono::NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)
        .filter(|_| (1990..=2100).contains(&year))
        .map(|d| d.format("%Y-%m-%d").to_string())
}

/// The meta tags of the page as (lower-case name, content) pairs, in page order.
pub(crate) fn meta_tags(page: &Html) -> Vec<(String, String)> {
    crate::html::elements(page, &["meta"])
        .filter_map(|m| {
            let name = m.value().attr("name").or_else(|| m.value().attr("property"))?;
            Some((name.trim().to_ascii_lowercase(), reflow(m.value().attr("content")?)))
        })
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

fn first_meta<'a>(metas: &'a [(String, String)], names: &[&str]) -> Option<&'a str> {
    names.iter().find_map(|n| metas.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str()))
}

/// The meta tags worth keeping beside the body, named as the page names them.
pub(crate) fn kept_metas(page: &Html) -> Vec<(String, String)> {
    let mut kept: Vec<(String, String)> = Vec::new();
    let tags = crate::html::elements(page, &["meta"]).filter_map(|m| {
        let name = m.value().attr("name")?.trim();
        let content = reflow(m.value().attr("content")?);
        (KEPT_METAS.contains(&name.to_ascii_lowercase().as_str()) && !content.is_empty())
            .then(|| (name.to_owned(), content))
    });
    for tag in tags {
        if !kept.contains(&tag) {
            kept.push(tag);
        }
    }
    kept
}

/// The title: meta tags, then a layout heading that the `<title>` also names, then the `<title>`'s
/// first part (before the site name).
pub(crate) fn title(page: &Html, metas: &[(String, String)]) -> Option<String> {
    if let Some(t) = first_meta(metas, TITLE_METAS) {
        return Some(t.to_owned());
    }
    let head_title = crate::html::elements(page, &["title"])
        .next()
        .map(|t| reflow(&t.text().collect::<String>()))
        .unwrap_or_default();
    let first = head_title.split(['_', '|']).map(str::trim).find(|p| !p.is_empty()).unwrap_or("");
    let first = match first.rsplit_once(" - ").or_else(|| first.rsplit_once('-')) {
        Some((main, site)) if site.chars().count() <= 20 && main.chars().count() >= 4 => main.trim(),
        _ => first,
    };
    let layout = page
        .select(&LAYOUT_TITLES)
        .map(|e| element_text(e))
        .filter(|t| t.chars().count() >= 4 && t.chars().count() <= 200)
        .find(|t| first.contains(t.as_str()));
    layout.or_else(|| (!first.is_empty()).then(|| first.to_owned()))
}

/// The publication date: meta tags, then the metadata table's 发布日期, then a labelled date
/// (发布日期：…) in the page's text, then the table's 成文日期. The page's text is only gathered when
/// nothing before it dates the page.
pub(crate) fn published(
    metas: &[(String, String)],
    page_text: impl FnOnce() -> String,
    metadata: &[(String, String)],
) -> Option<String> {
    let from_table = |labels: &[&str]| {
        labels.iter().find_map(|label| metadata.iter().find(|(k, _)| k == label).and_then(|(_, v)| normalise_date(v)))
    };
    DATE_METAS
        .iter()
        .filter_map(|n| first_meta(metas, &[n]))
        .find_map(normalise_date)
        .or_else(|| from_table(&["发布日期", "公开日期", "生成日期"]))
        .or_else(|| LABELLED_DATE.captures_iter(&page_text()).take(20).find_map(|c| normalise_date(&c[1])))
        .or_else(|| from_table(&["成文日期"]))
}

/// The title of an attachment (DOCX, PDF), which has no metadata worth trusting: its first line, or
/// its first two (the agency, then "…年度报告"), when short and naming a report; taken out of the body.
pub(crate) fn take_leading_title(blocks: &mut Vec<Block>) -> Option<String> {
    let short = |b: Option<&Block>| match b {
        Some(Block::Paragraph(s) | Block::Heading(s)) if s.chars().count() <= 60 => Some(s.clone()),
        _ => None,
    };
    let first = short(blocks.first())?;
    if first.contains("报告") {
        blocks.remove(0);
        return Some(first);
    }
    let second = short(blocks.get(1)).filter(|s| s.contains("报告") && !first.ends_with(['。', '：', ':']))?;
    blocks.drain(..2);
    Some(format!("{first}{second}"))
}

/// White space collapsed to single spaces and trimmed (`&nbsp;` and U+3000 included).
pub(crate) fn reflow(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

fn element_text(e: ElementRef<'_>) -> String {
    reflow(&e.text().collect::<String>())
}

/// A metadata label as the table prints it ("索 引 号：" → "索引号"), when it is one.
pub(crate) fn metadata_label(cell: &str) -> Option<&'static str> {
    let bare: String = cell.chars().filter(|c| !c.is_whitespace() && !matches!(c, ':' | '：')).collect();
    METADATA_LABELS.iter().copied().find(|l| *l == bare)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_the_usual_spellings() {
        assert_eq!(normalise_date("2023-01-31 10:00").as_deref(), Some("2023-01-31"));
        assert_eq!(normalise_date("2007-08-20-23:59:59").as_deref(), Some("2007-08-20"));
        assert_eq!(normalise_date("2023年1月5日").as_deref(), Some("2023-01-05"));
        assert_eq!(normalise_date("2023/02/30"), None);
        assert_eq!(normalise_date("索引号 1150"), None);
    }

    #[test]
    fn title_falls_back_to_the_head_title_without_the_site_name() {
        let page = Html::parse_document("<title>关于印发某某办法的通知_政策文件_中国政府网</title><h1>中国政府网</h1>");
        assert_eq!(title(&page, &meta_tags(&page)).as_deref(), Some("关于印发某某办法的通知"));
        let page = Html::parse_document("<title>习近平主持召开座谈会-中国科普网</title>");
        assert_eq!(title(&page, &[]).as_deref(), Some("习近平主持召开座谈会"));
    }

    #[test]
    fn labels_are_read_through_spacing_and_colons() {
        assert_eq!(metadata_label("索 引 号："), Some("索引号"));
        assert_eq!(metadata_label("一、总体情况"), None);
    }
}
