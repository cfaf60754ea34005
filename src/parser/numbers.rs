//! Cell normalisation: folding labels for matching, and reading a cell as a figure.
//!
//! Folding maps full-width ASCII to half-width, drops white space and writes "1、" as "1."; it is
//! used only for matching and never changes a figure. A cell is a figure only when nothing but
//! the number, a sign, thousands separators, a unit or a parenthesised note is in it; `?` and U+FFFD
//! mojibake around digits is ignored. Blank-like cells ("/", "—", "无" …) are figures that are absent.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

/// A number as printed: its value, and the integer when it has no fractional part.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Figure {
    /// The value, exact for every integer a report prints.
    pub value: f64,
    /// The value as an integer when it is one.
    pub int: Option<i64>,
}

impl Figure {
    /// The figure as a count: a non-negative integer.
    pub fn count(self) -> Option<u64> {
        self.int.and_then(|v| u64::try_from(v).ok())
    }

    /// The figure as a signed integer (a change such as "+1036").
    pub fn signed(self) -> Option<i64> {
        self.int
    }

    /// The figure as an amount of money, integer or decimal, as a JSON number.
    pub fn amount(self) -> Option<serde_json::Number> {
        match self.int {
            Some(v) => Some(v.into()),
            None => serde_json::Number::from_f64(self.value),
        }
    }
}

/// What one cell or word holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    /// Text, folded for matching.
    Text(String),
    /// A figure, or `None` for a cell that says there is none ("/", "—", "无").
    Value(Option<Figure>),
    /// Nothing (empty, white space, stray punctuation).
    Blank,
    /// The end of a table row or of a line of text.
    RowEnd,
}

/// The units a figure may carry after a number.
const UNITS: [&str; 9] = ["万元", "元", "件", "个", "项", "条", "人次", "次", "家"];

static FIGURE: LazyLock<Regex> = LazyLock::new(|| {
    let units = UNITS.join("|");
    Regex::new(&format!(r"^([+-]?)(\d{{1,3}}(?:,\d{{3}})+|\d+)(?:\.(\d+))?(?:{units})?(?:\([^()]*\))?$"))
        .expect("the figure pattern is valid")
});

/// Maps one character to its half-width form (full-width ASCII, ideographic space).
fn half_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' | '\u{00A0}' => ' ',
        _ => c,
    }
}

/// A label folded for matching: half-width, no white space, "1、" written "1.".
pub(crate) fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_digit = false;
    for c in s.chars().map(half_width) {
        if c.is_whitespace() {
            continue;
        }
        let c = if c == '、' && prev_digit { '.' } else { c };
        prev_digit = c.is_ascii_digit();
        out.push(c);
    }
    out
}

/// Characters that decoding debris leaves around digits.
fn is_debris(c: char) -> bool {
    matches!(c, '?' | '\u{FFFD}' | '*' | '＊')
}

fn is_null_marker(s: &str) -> bool {
    matches!(s, "/" | "-" | "—" | "——" | "–" | "―" | "\\" | "无" | "——/" | "--")
}

/// Reads a word (no white space inside) as a figure.
pub(crate) fn figure(word: &str) -> Option<Figure> {
    if !word.is_empty() && word.len() <= 18 && word.bytes().all(|b| b.is_ascii_digit()) {
        let int: i64 = word.parse().ok()?;
        return Some(Figure { value: int as f64, int: Some(int) });
    }
    let cleaned = || word.chars().map(half_width).filter(|c| !is_debris(*c) && *c != ' ');
    let first = cleaned().next()?;
    if !(first.is_ascii_digit() || first == '+' || first == '-') || !may_be_figure(cleaned()) {
        return None;
    }
    let w: String = cleaned().collect();
    let caps = FIGURE.captures(&w)?;
    let negative = &caps[1] == "-";
    let digits: String = caps[2].chars().filter(|c| *c != ',').collect();
    let frac = caps.get(3).map(|m| m.as_str()).unwrap_or("");
    let int_part: f64 = digits.parse().ok()?;
    let value = if frac.is_empty() { int_part } else { format!("{digits}.{frac}").parse().ok()? };
    let value = if negative { -value } else { value };
    let int = if frac.bytes().all(|b| b == b'0') {
        digits.parse::<i64>().ok().map(|v| if negative { -v } else { v })
    } else {
        None
    };
    Some(Figure { value, int })
}

/// A cheap test that [`FIGURE`] can match the cleaned word: after the sign and the run of digits,
/// commas and points comes nothing, a unit or a note. Labels and sentences that start with a digit
/// ("1.属于国家秘密", "2023年，…") fail it without being copied for the regex.
fn may_be_figure(mut chars: impl Iterator<Item = char>) -> bool {
    let mut c = chars.next();
    if matches!(c, Some('+' | '-')) {
        c = chars.next();
    }
    while c.is_some_and(|c| c.is_numeric() || c == ',' || c == '.') {
        c = chars.next();
    }
    if c.is_none() || c == Some('(') {
        return true;
    }
    // Units have at most two characters.
    let rest = [c, chars.next()];
    UNITS.iter().any(|u| u.chars().map(Some).zip(rest).all(|(a, b)| a == b))
}

fn is_han(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}')
}

/// Classifies one table cell. Figures separated by white space are several cells, and so are
/// figures after a label in the same cell ("行政处罚 16"); figures before text are part of the text.
pub(crate) fn classify_cell(raw: &str, out: &mut Vec<Cell>) {
    // Most cells of a report's tables are plain counts.
    if !raw.is_empty() && raw.len() <= 18 && raw.bytes().all(|b| b.is_ascii_digit()) {
        out.push(Cell::Value(figure(raw)));
        return;
    }
    let half: Cow<str> = if raw.chars().any(|c| half_width(c) != c) {
        Cow::Owned(raw.chars().map(half_width).collect())
    } else {
        Cow::Borrowed(raw)
    };
    let words: Vec<&str> = half.split_whitespace().collect();
    if words.is_empty() {
        out.push(Cell::Blank);
        return;
    }
    let is_figure = |w: &&str| figure(w).is_some() || is_null_marker(w);
    let text_words = words.iter().rposition(|w| !is_figure(w)).map_or(0, |p| p + 1);
    if text_words > 0 {
        classify_word(&words[..text_words].concat(), out);
    }
    for w in &words[text_words..] {
        classify_word(w, out);
    }
}

/// A label with its figure glued on ("行政许可447228"): the label and the digits.
fn glued_figure(word: &str) -> Option<(&str, &str)> {
    let start = word.char_indices().rev().take_while(|(_, c)| c.is_ascii_digit()).last()?.0;
    let label = &word[..start];
    let before = label.chars().next_back()?;
    let joined = is_han(before) || matches!(before, ')' | '）');
    (joined && word.len() - start <= 12 && label.chars().any(is_han)).then_some((label, &word[start..]))
}

/// A word this long with a full stop in it is running text, never a label or a figure: it is kept
/// as it is, unfolded (folding every sentence of a report would cost more than all its tables).
const SENTENCE_BYTES: usize = 120;

/// Classifies one word (no white space inside).
pub(crate) fn classify_word(word: &str, out: &mut Vec<Cell>) {
    if word.len() > SENTENCE_BYTES && word.contains('。') {
        out.push(Cell::Text(word.to_string()));
        return;
    }
    let trimmed: Cow<str> = if word.chars().any(is_debris) {
        Cow::Owned(word.chars().filter(|c| !is_debris(*c)).collect())
    } else {
        Cow::Borrowed(word)
    };
    if trimmed.is_empty() {
        out.push(Cell::Blank);
    } else if is_null_marker(&trimmed) {
        out.push(Cell::Value(None));
    } else if let Some(f) = figure(word) {
        out.push(Cell::Value(Some(f)));
    } else if let Some((label, digits)) = glued_figure(&trimmed) {
        out.push(Cell::Text(fold(label)));
        out.push(Cell::Value(figure(digits)));
    } else if trimmed.chars().any(|c| is_han(c) || c.is_alphanumeric()) {
        out.push(Cell::Text(fold(word)));
    } else {
        out.push(Cell::Blank);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> Cell {
        let mut out = Vec::new();
        classify_cell(s, &mut out);
        assert_eq!(out.len(), 1, "{s}: {out:?}");
        out.remove(0)
    }

    fn int(s: &str) -> Option<i64> {
        match one(s) {
            Cell::Value(Some(f)) => f.int,
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn figures_in_every_printed_form() {
        assert_eq!(int("0"), Some(0));
        assert_eq!(int("１２３"), Some(123));
        assert_eq!(int("??0"), Some(0));
        assert_eq!(int("0?"), Some(0));
        assert_eq!(int("+1036"), Some(1036));
        assert_eq!(int("-3"), Some(-3));
        assert_eq!(int("3,119"), Some(3119));
        assert_eq!(int("251000元"), Some(251000));
        assert_eq!(int("12 件"), Some(12));
        assert_eq!(int("58(注)"), Some(58));
        assert_eq!(int("5.00"), Some(5));
        match one("96171.6") {
            Cell::Value(Some(f)) => {
                assert_eq!(f.int, None);
                assert_eq!(f.amount().map(|n| n.to_string()), Some("96171.6".into()));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn blank_and_absent_cells() {
        for s in ["", " ", "\u{a0}", "\u{3000}", "•"] {
            assert_eq!(one(s), Cell::Blank, "{s:?}");
        }
        for s in ["/", "-", "—", "——", "无"] {
            assert_eq!(one(s), Cell::Value(None), "{s:?}");
        }
    }

    #[test]
    fn labels_are_text_and_fold() {
        assert_eq!(one("1、属于国家秘密"), Cell::Text("1.属于国家秘密".into()));
        assert_eq!(one("（六）其他 处理"), Cell::Text("(六)其他处理".into()));
        assert_eq!(one("4 果 纠 正"), Cell::Text("4果纠正".into()));
        assert_eq!(one("3,1"), Cell::Text("3,1".into()));
        assert_eq!(one("2024年"), Cell::Text("2024年".into()));
        assert_eq!(one("第二十条第1项"), Cell::Text("第二十条第1项".into()));
    }

    #[test]
    fn several_figures_in_one_cell() {
        let mut out = Vec::new();
        classify_cell("1 0 —", &mut out);
        assert_eq!(out.len(), 3);
        assert_eq!(out[2], Cell::Value(None));
        out.clear();
        classify_cell("行政处罚 16", &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0], Cell::Text("行政处罚".into()));
        out.clear();
        classify_word("（一）予以公开1288", &mut out);
        assert_eq!(out.len(), 2, "{out:?}");
        assert_eq!(out[0], Cell::Text("(一)予以公开".into()));
        assert_eq!(out[1], Cell::Value(figure("1288")));
    }

    #[test]
    fn counts_refuse_decimals_and_negatives() {
        assert_eq!(figure("1.5").and_then(Figure::count), None);
        assert_eq!(figure("-1").and_then(Figure::count), None);
        assert_eq!(figure("99999999999999999999999").and_then(Figure::count), None);
    }
}
