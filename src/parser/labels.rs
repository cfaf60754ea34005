//! Row and item labels: which row of table 三, or which item of table 二, a folded label names.
//!
//! A label is matched by the key phrases of the form's wording (robust to wrapping, numbering
//! "1、"/"1.", brackets and PDF debris); when a label carries several phrases — a group heading
//! repeated by a merged cell, then the row's own text — the phrase that comes last wins. From that
//! phrase on the label must read as the form's wording (or its start, or with a short note in
//! brackets after it); anything else means the labels of two rows ran together and names nothing.

/// Phrases naming each row of table 三 (indices into `APPLICATION_ROWS`), each with the form's
/// wording from the phrase to the end of the row's label (its Han characters).
const ROW_PHRASES: [(&str, usize, &str); 36] = [
    ("新收", 0, "新收政府信息公开申请数量"),
    ("上年结转", 1, "上年结转政府信息公开申请数量"),
    ("予以公开", 2, "予以公开"),
    ("部分公开", 3, "部分公开区分处理的只计这一情形不计其他情形"),
    ("国家秘密", 4, "国家秘密"),
    ("止公开", 5, "止公开"),
    ("三安全", 6, "三安全一稳定"),
    ("一稳定", 6, "一稳定"),
    ("第三方", 7, "第三方合法权益"),
    ("内部事务", 8, "内部事务信息"),
    ("过程性", 9, "过程性信息"),
    ("执法案卷", 10, "执法案卷"),
    ("行政查询", 11, "行政查询事项"),
    ("查询事项", 11, "查询事项"),
    ("不掌握", 12, "不掌握相关政府信息"),
    ("另行制作", 13, "另行制作"),
    ("没有现成", 13, "没有现成信息需要另行制作"),
    ("仍不明确", 14, "仍不明确"),
    ("补正后申请", 14, "补正后申请内容仍不明确"),
    ("信访", 15, "信访举报投诉类申请"),
    ("举报投诉", 15, "举报投诉类申请"),
    ("重复申请", 16, "重复申请"),
    ("出版物", 17, "出版物"),
    ("大量反复", 18, "大量反复申请"),
    ("确认或重新", 19, "确认或重新出具已获取信息"),
    ("重新出具", 19, "重新出具已获取信息"),
    ("不补正", 20, "不补正行政机关不再处理其政府信息公开申请"),
    ("逾期不补", 20, "逾期不补正行政机关不再处理其政府信息公开申请"),
    ("缴纳费用", 21, "缴纳费用行政机关不再处理其政府信息公开申请"),
    ("收费通知", 21, "收费通知要求缴纳费用行政机关不再处理其政府信息公开申请"),
    ("3.其他", 22, "其他"),
    ("其他处理", 23, "其他处理合计"),
    ("总计", 24, "总计"),
    ("七)合计", 24, "七合计"),
    ("结转下年", 25, "结转下年度继续办理"),
    ("下年度继续", 25, "下年度继续办理"),
];

/// The last words of table 三's column header; a label is read only after them.
const HEADER_WORDS: [&str; 8] =
    ["勾稽关系", "申请人情况", "自然人", "法人或其他组织", "商业企业", "科研机构", "社会公益组织", "法律服务机构"];

/// The phrase of `phrases` that starts last in `label` (the longer one on a tie), with its position.
fn last_phrase<'a, T>(label: &str, phrases: &'a [(&str, usize, T)]) -> Option<(usize, &'a (&'a str, usize, T))> {
    for (pos, c) in label.char_indices().rev() {
        let rest = &label[pos..];
        // One byte rules out most phrases before a full comparison: the last byte of the first
        // character, which varies most among Han characters.
        let k = c.len_utf8() - 1;
        let found = phrases
            .iter()
            .filter(|(p, _, _)| p.as_bytes().get(k) == Some(&rest.as_bytes()[k]) && rest.starts_with(p))
            .max_by_key(|(p, _, _)| p.len());
        if let Some(found) = found {
            return Some((pos, found));
        }
    }
    None
}

/// Where the last `word` in `label` ends. Labels are short, so trying each position is cheaper than
/// `rfind`, which builds a searcher for every call (a tenth of the parser's time, for these calls).
/// A match can only start on a character boundary: `word` starts with a leading byte.
fn end_of_last(label: &str, word: &str) -> Option<usize> {
    let (hay, needle) = (label.as_bytes(), word.as_bytes());
    (0..=hay.len().checked_sub(needle.len())?).rev().find(|&i| hay[i..].starts_with(needle)).map(|i| i + needle.len())
}

fn is_han(c: &char) -> bool {
    matches!(c, '\u{3400}'..='\u{9FFF}')
}

/// The label without short notes in brackets at its end ("(件)", "(注1)").
fn without_notes(mut label: &str) -> &str {
    while let Some(open) = label.strip_suffix(')').and_then(|l| l.rfind('(')) {
        if label[open..].chars().count() > 6 {
            break;
        }
        label = &label[..open];
    }
    label
}

/// Whether the label, from the naming phrase at `pos` on, is the form's wording or its start
/// (their Han characters, that is), compared without gathering either into a string.
fn reads_as(label: &str, pos: usize, wording: &str) -> bool {
    let mut wording = wording.chars().filter(is_han);
    without_notes(&label[pos..]).chars().filter(is_han).all(|c| wording.next() == Some(c))
}

/// The label with table 三's column header (when it runs into the first row's label) cut off.
pub(crate) fn strip_header(label: &str) -> &str {
    let cut = HEADER_WORDS.iter().filter_map(|w| end_of_last(label, w)).max().unwrap_or(0);
    let mut rest = &label[cut..];
    if cut > 0 {
        while let Some(r) = rest.strip_prefix("其他").or_else(|| rest.strip_prefix("总计")) {
            rest = r;
        }
    }
    rest
}

/// The table 三 row a label names. The label's text from the naming phrase on must be the form's
/// wording or the start of it: text after it means pieces of two rows' labels ran together (a row
/// whose figures were lost), and the label names no row for certain. `previous` is the row named
/// just before, which lets a bare
/// "其他" after 2.申请人逾期未按收费通知… be the （六） group's "3.其他", and a bare "合计" after
/// the （六） rows be that group's total (anywhere else it is some group's subtotal, no row).
pub(crate) fn application_row(label: &str, previous: Option<usize>) -> Option<usize> {
    let label = strip_header(label);
    if previous == Some(21) && matches!(label, "其他" | "3其他" | "(3)其他") {
        return Some(22);
    }
    if matches!(label, "合计" | "小计") {
        return matches!(previous, Some(20..=22)).then_some(23);
    }
    let (pos, (_, row, wording)) = last_phrase(label, &ROW_PHRASES)?;
    reads_as(label, pos, wording).then_some(*row)
}

/// Table 二's items across both layouts, in the 2019 layout's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Item {
    Regulations,
    NormativeDocuments,
    Licensing,
    OtherServices,
    Punishment,
    Enforcement,
    Fees,
    Procurement,
}

const ITEMS: [Item; 8] = [
    Item::Regulations,
    Item::NormativeDocuments,
    Item::Licensing,
    Item::OtherServices,
    Item::Punishment,
    Item::Enforcement,
    Item::Fees,
    Item::Procurement,
];

/// Phrases naming each item of table 二 (indices into `ITEMS`), each with the form's wording from
/// the phrase on.
const ITEM_PHRASES: [(&str, usize, &str); 8] = [
    ("规章", 0, "规章"),
    ("规范性文件", 1, "规范性文件"),
    ("行政许可", 2, "行政许可"),
    ("对外管理服务", 3, "对外管理服务事项"),
    ("行政处罚", 4, "行政处罚"),
    ("行政强制", 5, "行政强制"),
    ("事业性收费", 6, "事业性收费"),
    ("集中采购", 7, "集中采购"),
];

impl Item {
    /// Position in [`ITEMS`] (the 2019 layout's order).
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Words of table 二's headers; an item is named only after the last of them, so that a label lost
/// before a header never lends its name to the next item's figures.
const ACTIVE_HEADER_WORDS: [&str; 7] = ["第二十条", "信息内容", "数量", "件数", "金额", "万元)", "增/减"];

/// The table 二 item a label names.
pub(crate) fn active_item(label: &str) -> Option<Item> {
    let cut = ACTIVE_HEADER_WORDS.iter().filter_map(|w| end_of_last(label, w)).max().unwrap_or(0);
    let label = &label[cut..];
    let (pos, (_, item, wording)) = last_phrase(label, &ITEM_PHRASES)?;
    reads_as(label, pos, wording).then_some(ITEMS[*item])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::numbers::fold;

    fn row(s: &str) -> Option<usize> {
        application_row(&fold(s), None)
    }

    #[test]
    fn end_of_last_finds_the_last_occurrence() {
        assert_eq!(end_of_last("自然人法人自然人其他", "自然人"), Some("自然人法人自然人".len()));
        assert_eq!(end_of_last("自然人", "自然人"), Some("自然人".len()));
        assert_eq!(end_of_last("法人", "自然人"), None);
        assert_eq!(end_of_last("", "自然人"), None);
    }

    #[test]
    fn rows_by_their_wording() {
        assert_eq!(row("一、本年新收政府信息公开申请数量"), Some(0));
        assert_eq!(row("三、本年度办理结果（一）予以公开"), Some(2));
        assert_eq!(row("（三）不予公开 1.属于国家秘密"), Some(4));
        assert_eq!(row("2.其他法律行政止公开"), Some(5));
        assert_eq!(row("（四）无 1.本机关不掌握相关政府信息"), Some(12));
        assert_eq!(row("法提供 2.没有现成信息需要另行制作"), Some(13));
        assert_eq!(row("5.要求行政机关确认或重 新出具已获取信息"), Some(19));
        assert_eq!(row("（六）其他处理1、申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请"), Some(20));
        assert_eq!(row("（六）其他处理 3.其他"), Some(22));
        assert_eq!(row("（六）其他处理"), Some(23));
        assert_eq!(row("（六）其他处理合计"), Some(23));
        assert_eq!(row("（七）总计"), Some(24));
        assert_eq!(row("（七）合计"), Some(24));
        assert_eq!(row("其他处理"), Some(23));
        assert_eq!(row("四、结转下年度继续办理"), Some(25));
        assert_eq!(row("(五)不予处理"), None);
        assert_eq!(row("（四）无法提供1.本机关不掌握相关政行制作"), None, "two rows' labels run together");
        assert_eq!(row("1.本机关不掌握相关政"), Some(12), "the start of the wording");
        assert_eq!(row("一、本年新收政府信息公开申请数量（件）"), Some(0), "a note in brackets");
        assert_eq!(row("（二）部分公开（区分处理的，只计这一情形，不计其他情形）"), Some(3));
    }

    #[test]
    fn the_column_header_is_not_a_row() {
        assert_eq!(row("申请人情况自然人法人或其他组织总计商业企业科研机构社会公益组织法律服务机构其他"), None);
        assert_eq!(row("申请人情况自然人商业企业科研机构社会公益组织法律服务机构其他总计"), None);
        assert_eq!(row("总计商业企业科研机构社会公益组织法律服务机构其他一、本年新收政府信息公开申请数量"), Some(0));
        assert_eq!(application_row("其他", Some(21)), Some(22));
        assert_eq!(application_row("其他", Some(3)), None);
        assert_eq!(application_row("合计", Some(22)), Some(23));
        assert_eq!(application_row("合计", Some(11)), None, "a subtotal of 不予公开");
    }

    #[test]
    fn items_by_their_wording() {
        assert_eq!(active_item(&fold("第二十条第（五）项 信息内容 本年处理决定数量 行政许可")), Some(Item::Licensing));
        assert_eq!(active_item("行政规范性文件"), Some(Item::NormativeDocuments));
        assert_eq!(active_item("本年收费金额(单位:万元)行政事业性收费"), Some(Item::Fees));
        assert_eq!(active_item("第二十条第(九)项信息内容采购项目数量采购总金额政府集中采购"), Some(Item::Procurement));
        assert_eq!(active_item("行政许可行政处罚"), Some(Item::Punishment));
        assert_eq!(active_item("行政处罚决定"), None, "not the form's wording");
        assert_eq!(active_item("信息内容"), None);
        assert_eq!(active_item("行政强制第二十条第(八)项信息内容本年收费金额(单位:万元)"), None);
        assert_eq!(active_item("信息内容本年度制发件数本年度废止件数现行有效件规章"), Some(Item::Regulations));
    }
}
