//! Which standard layout the tables follow, from their headers first and the year only on a tie.
//!
//! Each header phrase that only one layout prints is one vote, counted once however often it
//! appears; three （六）其他处理 rows are one more for 2021 (the 2019 form has one). One （六） row
//! is only a weak sign of 2019, since 2021 reports print it too (洪泽区 2024): it decides only when
//! the headers tie and no year is known.

use super::model::Format;
use super::numbers::Cell;

/// Header phrases only the 2021 layout prints.
const PHRASES_2021: [&str; 4] = ["制发件数", "现行有效件数", "本年收费金额", "废止件数"];

/// Header phrases only the 2019 layout prints.
const PHRASES_2019: [&str; 7] =
    ["新制作数量", "新公开数量", "对外公开总数量", "上一年项目数量", "本年增/减", "第(九)项", "集中采购"];

/// The layout the header cells vote for, given how many （六） rows table 三 prints and the year.
pub(crate) fn detect(headers: &[Cell], other_rows: Option<usize>, year: Option<i32>) -> Option<Format> {
    let mut texts = String::new();
    for cell in headers {
        if let Cell::Text(t) = cell {
            texts.push_str(t);
            texts.push('\n');
        }
    }
    let votes = |phrases: &[&str]| phrases.iter().filter(|p| texts.contains(*p)).count();
    let v2021 = votes(&PHRASES_2021) + usize::from(other_rows == Some(3));
    let v2019 = votes(&PHRASES_2019);
    match v2021.cmp(&v2019) {
        std::cmp::Ordering::Greater => Some(Format::Layout2021),
        std::cmp::Ordering::Less => Some(Format::Layout2019),
        std::cmp::Ordering::Equal => match year {
            Some(y) if y >= 2021 => Some(Format::Layout2021),
            Some(2019 | 2020) => Some(Format::Layout2019),
            _ if other_rows == Some(1) => Some(Format::Layout2019),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Cell {
        Cell::Text(s.into())
    }

    #[test]
    fn headers_outweigh_the_printing_of_the_other_group() {
        let h = [t("本年制发件数"), t("现行有效件数"), t("本年收费金额(单位:万元)")];
        assert_eq!(detect(&h, Some(1), Some(2024)), Some(Format::Layout2021));
        let h = [t("对外公开总数量"), t("上一年项目数量"), t("第二十条第(九)项")];
        assert_eq!(detect(&h, None, Some(2022)), Some(Format::Layout2019));
    }

    #[test]
    fn the_year_breaks_ties_only() {
        assert_eq!(detect(&[], None, Some(2020)), Some(Format::Layout2019));
        assert_eq!(detect(&[], None, Some(2023)), Some(Format::Layout2021));
        assert_eq!(detect(&[], None, Some(2017)), None);
        assert_eq!(detect(&[], Some(3), Some(2020)), Some(Format::Layout2021));
        assert_eq!(detect(&[], Some(1), Some(2024)), Some(Format::Layout2021), "one （六） row is a weak sign");
        assert_eq!(detect(&[], Some(1), None), Some(Format::Layout2019));
    }
}
