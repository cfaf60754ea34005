//! The report types: what the parser answers, serialised exactly as the contract's report JSON.
//!
//! Every number is an `Option`: `None` (JSON `null`) means the report does not show the figure or shows
//! it unreadably; it is never a guess. Key names and key order follow `CONTRACT.md`.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The keys of table 三's rows, in the order of the form; the CSV exporter's column order.
pub const APPLICATION_ROWS: [&str; 26] = [
    "new_received",
    "carried_over",
    "granted",
    "partially_granted",
    "refused_state_secret",
    "refused_law_prohibited",
    "refused_security_stability",
    "refused_third_party",
    "refused_internal_affairs",
    "refused_process_info",
    "refused_enforcement_file",
    "refused_admin_query",
    "unable_no_info",
    "unable_needs_creation",
    "unable_unclear",
    "not_processed_petition",
    "not_processed_duplicate",
    "not_processed_publication",
    "not_processed_mass_repeat",
    "not_processed_confirm",
    "other_no_correction",
    "other_no_fee",
    "other_misc",
    "other_total",
    "total",
    "carried_forward",
];

/// The keys of table 三's columns (applicant kinds, then the total), in the order of the form.
pub const APPLICATION_COLUMNS: [&str; 7] =
    ["natural_person", "commercial", "research", "social_welfare", "legal_service", "other", "total"];

/// The groups of table 四 (review, then the two kinds of litigation), in the order of the form.
pub const REVIEW_GROUPS: [&str; 3] = ["review", "litigation_direct", "litigation_after_review"];

/// The five figures of each table 四 group, in the order of the form.
pub const REVIEW_FIELDS: [&str; 5] = ["upheld", "corrected", "other", "pending", "total"];

/// Table 二's items and their fields in the 2021 layout, in the order of the JSON and the CSV.
pub const ACTIVE_ITEMS_2021: [(&str, &[&str]); 6] = [
    ("regulations", &["issued", "repealed", "in_force"]),
    ("normative_documents", &["issued", "repealed", "in_force"]),
    ("licensing", &["decisions"]),
    ("punishment", &["decisions"]),
    ("enforcement", &["decisions"]),
    ("fees", &["amount_wan_yuan"]),
];

/// Table 二's items and their fields in the 2019 layout, in the order of the JSON and the CSV.
pub const ACTIVE_ITEMS_2019: [(&str, &[&str]); 8] = [
    ("regulations", &["made", "published", "total_public"]),
    ("normative_documents", &["made", "published", "total_public"]),
    ("licensing", &["prev_items", "change", "decisions"]),
    ("other_services", &["prev_items", "change", "decisions"]),
    ("punishment", &["prev_items", "change", "decisions"]),
    ("enforcement", &["prev_items", "change", "decisions"]),
    ("fees", &["prev_items", "change"]),
    ("procurement", &["items", "amount"]),
];

/// One parsed annual report.
///
/// When `format` is `None` (no standard table found, e.g. a pre-2019 free-form report),
/// `active_disclosure`, `applications` and `review_litigation` are `None` and `checks` is empty:
/// only the identity that the text shows is given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The publishing agency as the report names itself (a known abbreviation such as 医保局 spelt out).
    pub agency: Option<String>,
    /// The year the report covers (statistics period, else title, else body).
    pub year: Option<i32>,
    /// Which standard layout the tables follow.
    pub format: Option<Format>,
    /// Table 二 (主动公开, 第二十条 items), in the fields of the report's layout.
    pub active_disclosure: Option<ActiveDisclosure>,
    /// Table 三, the 26 × 7 applications matrix.
    pub applications: Option<Applications>,
    /// Table 四, the 15 review and litigation figures.
    pub review_litigation: Option<ReviewLitigation>,
    /// Every consistency rule that could be evaluated (all its figures present), passed or failed.
    pub checks: Vec<Check>,
}

/// The two standard layouts of the statistics tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Format {
    /// 国办公开办函〔2019〕60号, used for the 2019 and 2020 reports.
    #[serde(rename = "2019")]
    Layout2019,
    /// 国办公开办函〔2021〕30号, used for reports from 2021 on.
    #[serde(rename = "2021")]
    Layout2021,
}

/// Table 二 in whichever layout the report uses; the two have different items and fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ActiveDisclosure {
    /// The 2021 layout.
    Layout2021(Active2021),
    /// The 2019 layout.
    Layout2019(Active2019),
}

/// Table 二 in the 2021 layout.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Active2021 {
    /// 规章.
    pub regulations: Documents2021,
    /// 行政规范性文件.
    pub normative_documents: Documents2021,
    /// 行政许可.
    pub licensing: Decisions,
    /// 行政处罚.
    pub punishment: Decisions,
    /// 行政强制.
    pub enforcement: Decisions,
    /// 行政事业性收费.
    pub fees: Fees2021,
}

/// Documents issued, repealed and in force this year (2021 layout, 第二十条第（一）项).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Documents2021 {
    /// 本年制发件数.
    pub issued: Option<u64>,
    /// 本年废止件数.
    pub repealed: Option<u64>,
    /// 现行有效件数.
    pub in_force: Option<u64>,
}

/// Decisions taken this year (2021 layout, 第二十条第（五）（六）项).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decisions {
    /// 本年处理决定数量.
    pub decisions: Option<u64>,
}

/// Fees collected this year (2021 layout, 第二十条第（八）项).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fees2021 {
    /// 本年收费金额, in 万元 as printed; may be a decimal.
    pub amount_wan_yuan: Option<serde_json::Number>,
}

/// Table 二 in the 2019 layout.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Active2019 {
    /// 规章.
    pub regulations: Documents2019,
    /// 规范性文件.
    pub normative_documents: Documents2019,
    /// 行政许可.
    pub licensing: Items2019,
    /// 其他对外管理服务事项.
    pub other_services: Items2019,
    /// 行政处罚.
    pub punishment: Items2019,
    /// 行政强制.
    pub enforcement: Items2019,
    /// 行政事业性收费.
    pub fees: Fees2019,
    /// 政府集中采购 (第二十条第（九）项).
    pub procurement: Procurement,
}

/// Documents made, published and public in total (2019 layout, 第二十条第（一）项).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Documents2019 {
    /// 本年新制作数量.
    pub made: Option<u64>,
    /// 本年新公开数量.
    pub published: Option<u64>,
    /// 对外公开总数量.
    pub total_public: Option<u64>,
}

/// Items of the previous year, the change, and decisions (2019 layout, 第（五）（六）项).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Items2019 {
    /// 上一年项目数量.
    pub prev_items: Option<u64>,
    /// 本年增/减, signed.
    pub change: Option<i64>,
    /// 处理决定数量.
    pub decisions: Option<u64>,
}

/// Fee items of the previous year and the change (2019 layout, 第（八）项).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fees2019 {
    /// 上一年项目数量.
    pub prev_items: Option<u64>,
    /// 本年增/减, signed ("+1036").
    pub change: Option<i64>,
}

/// Central government procurement (2019 layout, 第（九）项).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Procurement {
    /// 采购项目数量.
    pub items: Option<u64>,
    /// 采购总金额, as printed with its unit stripped; may be a decimal.
    pub amount: Option<serde_json::Number>,
}

/// Seven figures of one row of table 三, in [`APPLICATION_COLUMNS`] order.
pub type ApplicationCells = [Option<u64>; 7];

/// Table 三: the column keys and one row of seven figures per [`APPLICATION_ROWS`] key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Applications {
    /// Always [`APPLICATION_COLUMNS`]; carried in the JSON so that a reader needs no schema.
    pub columns: Vec<String>,
    /// The rows, keyed by [`APPLICATION_ROWS`].
    pub rows: ApplicationRows,
}

impl Applications {
    /// Table 三 with the given rows (in [`APPLICATION_ROWS`] order).
    pub fn new(rows: [ApplicationCells; 26]) -> Applications {
        Applications {
            columns: APPLICATION_COLUMNS.iter().map(|c| c.to_string()).collect(),
            rows: ApplicationRows(rows),
        }
    }
}

/// The 26 rows of table 三 in form order; serialised as a JSON object keyed by [`APPLICATION_ROWS`].
#[derive(Debug, Clone, PartialEq)]
pub struct ApplicationRows(pub [ApplicationCells; 26]);

impl ApplicationRows {
    /// The row with the given key, `None` for a key that is not in [`APPLICATION_ROWS`].
    pub fn get(&self, key: &str) -> Option<&ApplicationCells> {
        APPLICATION_ROWS.iter().position(|k| *k == key).map(|i| &self.0[i])
    }
}

impl Serialize for ApplicationRows {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(APPLICATION_ROWS.len()))?;
        for (key, row) in APPLICATION_ROWS.iter().zip(&self.0) {
            map.serialize_entry(key, row)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for ApplicationRows {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RowsVisitor;
        impl<'de> Visitor<'de> for RowsVisitor {
            type Value = ApplicationRows;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object with the 26 row keys of table 三")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ApplicationRows, A::Error> {
                let mut rows = [[None; 7]; 26];
                let mut seen = [false; 26];
                while let Some(key) = map.next_key::<String>()? {
                    let i = APPLICATION_ROWS
                        .iter()
                        .position(|k| *k == key)
                        .ok_or_else(|| de::Error::unknown_field(&key, &APPLICATION_ROWS))?;
                    rows[i] = map.next_value()?;
                    seen[i] = true;
                }
                match seen.iter().position(|s| !s) {
                    Some(i) => Err(de::Error::missing_field(APPLICATION_ROWS[i])),
                    None => Ok(ApplicationRows(rows)),
                }
            }
        }
        deserializer.deserialize_map(RowsVisitor)
    }
}

/// Table 四: administrative review, and litigation with and without review first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReviewLitigation {
    /// 行政复议.
    pub review: ReviewGroup,
    /// 行政诉讼, 未经复议直接起诉.
    pub litigation_direct: ReviewGroup,
    /// 行政诉讼, 复议后起诉.
    pub litigation_after_review: ReviewGroup,
}

impl ReviewLitigation {
    /// The three groups in [`REVIEW_GROUPS`] order.
    pub fn groups(&self) -> [&ReviewGroup; 3] {
        [&self.review, &self.litigation_direct, &self.litigation_after_review]
    }
}

/// The five figures of one table 四 group, in [`REVIEW_FIELDS`] order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReviewGroup {
    /// 结果维持.
    pub upheld: Option<u64>,
    /// 结果纠正.
    pub corrected: Option<u64>,
    /// 其他结果.
    pub other: Option<u64>,
    /// 尚未审结.
    pub pending: Option<u64>,
    /// 总计.
    pub total: Option<u64>,
}

impl ReviewGroup {
    /// A group from its five figures in [`REVIEW_FIELDS`] order.
    pub fn from_fields(f: [Option<u64>; 5]) -> ReviewGroup {
        ReviewGroup { upheld: f[0], corrected: f[1], other: f[2], pending: f[3], total: f[4] }
    }

    /// The five figures in [`REVIEW_FIELDS`] order.
    pub fn fields(&self) -> [Option<u64>; 5] {
        [self.upheld, self.corrected, self.other, self.pending, self.total]
    }
}

/// One consistency rule evaluated on the report; a failed check is data about the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// Which rule, e.g. `applications.balance` (see [`crate::parser`] for the list).
    pub rule: String,
    /// Where the rule was applied: a row (`new_received`), a column (`total`) or a group
    /// (`review`); absent for a rule that applies once. An addition to the contract's check object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// Whether the report's figures satisfy it.
    pub ok: bool,
    /// The figures as an equation a reader can verify, e.g. "1 + 0 = 1 + 0".
    pub detail: String,
}

impl Check {
    /// The rule with where it was applied, `applications.balance[total]`: one name per check, as
    /// the CSV's `checks_failed` lists them.
    pub fn name(&self) -> String {
        match &self.at {
            Some(at) => format!("{}[{at}]", self.rule),
            None => self.rule.clone(),
        }
    }
}
