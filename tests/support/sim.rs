//! Synthetic 年报 pages for tests, the demo and benchmarks: a report page in the 2021 layout with
//! the chrome real portals wrap around it, and TRS-style list pages with `createPageHTML` paging.
//!
//! Numbers are derived from a seed and are internally consistent (every total adds up), so a test
//! can check that what was crawled, cleaned and parsed is exactly what was published.

#![allow(dead_code)]

use std::fmt::Write;

/// The 26 rows of table 三 in the 2021 layout: (label, group heading printed before it).
pub const APPLICATION_ROWS: [(&str, Option<&str>); 26] = [
    ("一、本年新收政府信息公开申请数量", None),
    ("二、上年结转政府信息公开申请数量", None),
    ("（一）予以公开", Some("三、本年度办理结果")),
    ("（二）部分公开（区分处理的，只计这一情形，不计其他情形）", None),
    ("1.属于国家秘密", Some("（三）不予公开")),
    ("2.其他法律行政法规禁止公开", None),
    ("3.危及“三安全一稳定”", None),
    ("4.保护第三方合法权益", None),
    ("5.属于三类内部事务信息", None),
    ("6.属于四类过程性信息", None),
    ("7.属于行政执法案卷", None),
    ("8.属于行政查询事项", None),
    ("1.本机关不掌握相关政府信息", Some("（四）无法提供")),
    ("2.没有现成信息需要另行制作", None),
    ("3.补正后申请内容仍不明确", None),
    ("1.信访举报投诉类申请", Some("（五）不予处理")),
    ("2.重复申请", None),
    ("3.要求提供公开出版物", None),
    ("4.无正当理由大量反复申请", None),
    ("5.要求行政机关确认或重新出具已获取信息", None),
    ("1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请", Some("（六）其他处理")),
    ("2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请", None),
    ("3.其他", None),
    ("（六）其他处理合计", None),
    ("（七）总计", None),
    ("四、结转下年度继续办理", None),
];

/// One synthetic report.
#[derive(Debug, Clone)]
pub struct SimReport {
    pub agency: String,
    pub year: i32,
    /// 26 rows × 7 columns (six applicant kinds, then the total), consistent.
    pub applications: Vec<[u32; 7]>,
    /// review, litigation_direct, litigation_after_review: upheld, corrected, other, pending, total.
    pub review: [[u32; 5]; 3],
    /// (issued, repealed, in_force) for regulations and normative documents.
    pub documents: [[u32; 3]; 2],
    pub licensing: u32,
    pub punishment: u32,
    pub enforcement: u32,
    pub fees_wan_yuan: u32,
}

fn next(state: &mut u64) -> u32 {
    *state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    ((*state >> 33) % 7) as u32
}

impl SimReport {
    /// A report with non-zero, consistent numbers derived from `seed`.
    pub fn new(agency: &str, year: i32, seed: u64) -> SimReport {
        let mut s = seed.wrapping_add(0x9E3779B97F4A7C15);
        let mut rows = vec![[0u32; 7]; 26];
        for col in 0..6 {
            // Result rows 2..=22 (granted … other_misc), then other_total, total, carried_forward.
            for row in rows.iter_mut().take(23).skip(2) {
                row[col] = next(&mut s);
            }
            rows[23][col] = rows[20][col] + rows[21][col] + rows[22][col];
            rows[24][col] = (2..=22).map(|r| rows[r][col]).sum();
            rows[25][col] = next(&mut s);
            rows[1][col] = next(&mut s).min(rows[24][col] + rows[25][col]);
            rows[0][col] = rows[24][col] + rows[25][col] - rows[1][col];
        }
        for row in rows.iter_mut() {
            row[6] = row[..6].iter().sum();
        }
        let mut review = [[0u32; 5]; 3];
        for group in review.iter_mut() {
            for v in group.iter_mut().take(4) {
                *v = next(&mut s);
            }
            group[4] = group[..4].iter().sum();
        }
        SimReport {
            agency: agency.into(),
            year,
            applications: rows,
            review,
            documents: [
                [next(&mut s), next(&mut s), 10 + next(&mut s)],
                [1 + next(&mut s), next(&mut s), 40 + next(&mut s)],
            ],
            licensing: 100 + next(&mut s),
            punishment: 20 + next(&mut s),
            enforcement: next(&mut s),
            fees_wan_yuan: next(&mut s),
        }
    }

    pub fn title(&self) -> String {
        format!("{}{}年政府信息公开工作年度报告", self.agency, self.year)
    }

    /// Applications received this year, as the narrative states it.
    pub fn received(&self) -> u32 {
        self.applications[0][6]
    }

    /// The report body: paragraphs and the three statistics tables, as HTML.
    pub fn body_html(&self) -> String {
        let mut h = String::new();
        let _ = write!(
            h,
            "<p>根据《中华人民共和国政府信息公开条例》第五十条规定，编制本年度报告。本报告中所列数据的统计期限自{y}年1月1日起至{y}年12月31日止。</p>\
             <p>一、总体情况</p><p>{y}年，{a}认真贯彻落实政务公开工作部署。全年共收到政府信息公开申请{n}件，均已按期答复。</p>\
             <p>二、主动公开政府信息情况</p>",
            y = self.year,
            a = self.agency,
            n = self.received()
        );
        h.push_str(&self.active_table());
        h.push_str("<p>三、收到和处理政府信息公开申请情况</p>");
        h.push_str(&self.applications_table());
        h.push_str("<p>四、政府信息公开行政复议、行政诉讼情况</p>");
        h.push_str(&self.review_table());
        h.push_str(
            "<p>五、存在的主要问题及改进情况</p><p>公开内容的规范性有待提高，下一步将加强培训。</p>\
                    <p>六、其他需要报告的事项</p><p>本年度未收取信息处理费。</p>",
        );
        h
    }

    fn active_table(&self) -> String {
        let mut t = String::from("<table border=\"1\"><tbody>");
        t.push_str("<tr><td colspan=\"4\">第二十条第（一）项</td></tr>");
        t.push_str("<tr><td>信息内容</td><td>本年制发件数</td><td>本年废止件数</td><td>现行有效件数</td></tr>");
        for (label, d) in [("规章", self.documents[0]), ("行政规范性文件", self.documents[1])] {
            let _ = write!(t, "<tr><td>{label}</td><td>{}</td><td>{}</td><td>{}</td></tr>", d[0], d[1], d[2]);
        }
        t.push_str("<tr><td colspan=\"4\">第二十条第（五）项</td></tr>");
        t.push_str("<tr><td>信息内容</td><td colspan=\"3\">本年处理决定数量</td></tr>");
        let _ = write!(t, "<tr><td>行政许可</td><td colspan=\"3\">{}</td></tr>", self.licensing);
        t.push_str("<tr><td colspan=\"4\">第二十条第（六）项</td></tr>");
        t.push_str("<tr><td>信息内容</td><td colspan=\"3\">本年处理决定数量</td></tr>");
        let _ = write!(t, "<tr><td>行政处罚</td><td colspan=\"3\">{}</td></tr>", self.punishment);
        let _ = write!(t, "<tr><td>行政强制</td><td colspan=\"3\">{}</td></tr>", self.enforcement);
        t.push_str("<tr><td colspan=\"4\">第二十条第（八）项</td></tr>");
        t.push_str("<tr><td>信息内容</td><td colspan=\"3\">本年收费金额（单位：万元）</td></tr>");
        let _ = write!(t, "<tr><td>行政事业性收费</td><td colspan=\"3\">{}</td></tr>", self.fees_wan_yuan);
        t.push_str("</tbody></table>");
        t
    }

    fn applications_table(&self) -> String {
        let mut t = String::from("<table border=\"1\"><tbody>");
        t.push_str(
            "<tr><td colspan=\"3\" rowspan=\"3\">（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）</td>\
             <td colspan=\"7\">申请人情况</td></tr>\
             <tr><td rowspan=\"2\">自然人</td><td colspan=\"5\">法人或其他组织</td><td rowspan=\"2\">总计</td></tr>\
             <tr><td>商业<br/>企业</td><td>科研<br/>机构</td><td>社会公益组织</td><td>法律服务机构</td><td>其他</td></tr>",
        );
        for (i, (label, group)) in APPLICATION_ROWS.iter().enumerate() {
            t.push_str("<tr>");
            if let Some(g) = group {
                let _ = write!(t, "<td colspan=\"3\">{g}</td></tr><tr>");
            }
            let _ = write!(t, "<td colspan=\"3\">{label}</td>");
            for v in self.applications[i] {
                let _ = write!(t, "<td>{v}</td>");
            }
            t.push_str("</tr>");
        }
        t.push_str("</tbody></table>");
        t
    }

    fn review_table(&self) -> String {
        let mut t = String::from("<table border=\"1\"><tbody>");
        t.push_str(
            "<tr><td colspan=\"5\" rowspan=\"2\">行政复议</td><td colspan=\"10\">行政诉讼</td></tr>\
             <tr><td colspan=\"5\">未经复议直接起诉</td><td colspan=\"5\">复议后起诉</td></tr><tr>",
        );
        for _ in 0..3 {
            t.push_str("<td>结果维持</td><td>结果纠正</td><td>其他结果</td><td>尚未审结</td><td>总计</td>");
        }
        t.push_str("</tr><tr>");
        for group in self.review {
            for v in group {
                let _ = write!(t, "<td>{v}</td>");
            }
        }
        t.push_str("</tr></tbody></table>");
        t
    }

    /// A whole TRS-style report page with its chrome; `views` is the view counter, which changes
    /// the bytes but not the report.
    pub fn page_html(&self, published: &str, views: u64, attachment: Option<&str>) -> String {
        let attachment = attachment
            .map(|href| format!("<p>附件：<a href=\"{href}\" oldsrc=\"{href}\">{}.pdf</a></p>", self.title()))
            .unwrap_or_default();
        format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{title}_政府信息公开年报</title>\
             <meta name=\"ArticleTitle\" content=\"{title}\"><meta name=\"PubDate\" content=\"{published} 09:30\">\
             <meta name=\"ContentSource\" content=\"{agency}\"></head><body>\
             <div class=\"header\"><a href=\"/\">首页</a> <a href=\"/zwgk/\">政务公开</a> <a href=\"/hdjl/\">互动交流</a></div>\
             <div class=\"crumb\">当前位置：<a href=\"/\">首页</a> &gt; <a href=\"/zwgk/\">政务公开</a> &gt; 政府信息公开年报</div>\
             <h1 class=\"title\">{title}</h1>\
             <div class=\"info\">发布日期：{published} 来源：{agency} 浏览次数：<span id=\"views\">{views}</span> 字体：<a>大</a> <a>中</a> <a>小</a></div>\
             <div class=\"TRS_Editor\">{body}{attachment}</div>\
             <div class=\"tools\"><a href=\"javascript:window.print()\">打印本页</a> <a href=\"javascript:window.close()\">关闭窗口</a> 分享到：</div>\
             <div class=\"footer\"><p>主办单位：{agency} 版权所有</p><p>网站标识码：5000000001 渝ICP备05003300号</p>\
             <script>document.write('<span>访问量 {views}</span>');</script></div></body></html>",
            title = self.title(),
            agency = self.agency,
            body = self.body_html(),
        )
    }
}

/// A TRS-style list page: links in `ul.list`, site navigation around it, and paging written by
/// `createPageHTML(count, current, "index", "html")`.
pub fn list_page_html(section: &str, links: &[(String, String, String)], current: usize, count: usize) -> String {
    let mut items = String::new();
    for (href, text, date) in links {
        let _ = write!(items, "<li><a href=\"{href}\" title=\"{text}\">{text}</a><span>{date}</span></li>");
    }
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{section}</title></head><body>\
         <div class=\"nav\"><a href=\"/\">首页</a> <a href=\"/zwgk/\">政务公开</a> <a href=\"/zwgk/tzgg/\">通知公告</a> \
         <a href=\"http://www.gov.cn/\">中国政府网</a></div>\
         <div class=\"crumb\">当前位置：首页 &gt; 政务公开 &gt; {section}</div>\
         <div class=\"main\"><ul class=\"list\">{items}</ul>\
         <div class=\"page\"><script>createPageHTML({count}, {current}, \"index\", \"html\");</script></div></div>\
         <div class=\"footer\">版权所有 网站标识码：5000000001</div></body></html>"
    )
}

/// The pipeline benchmark's page: a report page of roughly `kb` kilobytes, the report plus running
/// text, as long reports have; in UTF-8 and, re-labelled and encoded, in GBK (with no charset in
/// the content type, as GBK portals often send it).
pub fn sized_pages(kb: usize) -> [(Vec<u8>, &'static str); 2] {
    let report = SimReport::new("某某市医疗保障局", 2023, 7);
    let mut html = report.page_html("2024-01-20", 1234, Some("./P020240120.pdf"));
    let filler = "<p>全年通过政府网站主动公开各类政府信息，围绕重点领域持续深化政务公开，进一步规范依申请公开办理流程，及时回应社会关切。</p>";
    while html.len() < kb * 1024 {
        html = html.replacen(
            "<p>五、存在的主要问题及改进情况</p>",
            &format!("{filler}<p>五、存在的主要问题及改进情况</p>"),
            1,
        );
    }
    let gbk = encoding_rs::GBK.encode(&html.replace("charset=\"utf-8\"", "charset=\"gbk\"")).0.into_owned();
    [(html.into_bytes(), "text/html; charset=utf-8"), (gbk, "text/html")]
}
