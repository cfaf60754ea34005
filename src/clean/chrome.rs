//! The chrome rules as data: which elements are never the report, and which short lines are the
//! page's furniture even when they slip into the body container.
//!
//! Three tables: tags dropped with their subtree, class/id tokens that mark navigation, footers,
//! share bars and the like, and line patterns (breadcrumbs, the date/source/views/font-size bar,
//! tool links, footers). Line patterns only apply to short lines, so a body sentence that happens to
//! mention a 网站 or a 版权 is never lost.

use std::sync::LazyLock;

use regex::{Regex, RegexSet};

/// Elements whose whole subtree is never part of a report (scripts also carry `document.write`
/// output, which therefore never reaches the text).
pub(crate) const DROPPED_TAGS: &[&str] = &[
    "script", "style", "noscript", "template", "head", "nav", "footer", "header", "aside", "iframe", "object", "embed",
    "svg", "canvas", "map", "audio", "video", "button", "input", "select", "textarea", "option", "label",
];

/// Class or id tokens of page furniture: navigation, breadcrumbs, headers and footers, share and
/// tool bars, sidebars, search boxes, related-link lists, QR codes, disclaimers. They also match
/// with a prefix or suffix ("main-nav", "footer_wrap", "xglj2").
const CHROME_TOKENS: &[&str] = &[
    "nav",
    "navbar",
    "navigation",
    "menu",
    "crumb",
    "crumbs",
    "breadcrumb",
    "breadcrumbs",
    "bread",
    "weizhi",
    "dqwz",
    "curpos",
    "header",
    "footer",
    "copyright",
    "share",
    "bdsharebuttonbox",
    "bdshare",
    "fenxiang",
    "sidebar",
    "search",
    "sousuo",
    "toolbar",
    "related",
    "xgxx",
    "xglj",
    "xgwz",
    "relevant",
    "friendlink",
    "yqlj",
    "qrcode",
    "erweima",
    "gotop",
    "backtop",
    "totop",
    "login",
    "banner",
    "fontsize",
    "zoomfont",
    "pagebar",
    "prevnext",
    "banquan",
    "mianze",
    "banquanmianze",
];

/// Tokens that name furniture only on their own (with a prefix or a number): "side" but not
/// "side_content", "font" but not "font_area", which some portals use for the body.
const CHROME_WORDS: &[&str] = &[
    "side", "aside", "foot", "bottom", "print", "tools", "tool", "links", "position", "location", "prev", "next",
    "comment", "ewm", "wza",
];

static CHROME_TOKEN: LazyLock<Regex> = LazyLock::new(|| {
    let tokens = CHROME_TOKENS.join("|");
    let words = CHROME_WORDS.join("|");
    Regex::new(&format!(r"(?i)^(?:[a-z]+[-_])*(?:(?:{tokens})(?:[-_0-9][a-z0-9_-]*)?|(?:{words})[0-9]*)$"))
        .expect("valid regex")
});

/// True when a class or id value names page furniture.
pub(crate) fn is_chrome_name(value: &str) -> bool {
    value.split_whitespace().any(|token| CHROME_TOKEN.is_match(token))
}

/// Lines longer than this are body text whatever they contain.
const MAX_CHROME_LINE: usize = 120;

/// Line patterns of page furniture, matched against a reflowed line.
const CHROME_LINES: &[&str] = &[
    // Breadcrumbs.
    r"^(?:当前位置|您现在的位置|您当前的位置|你现在的位置|您的位置|你的位置|所在位置|当前栏目)",
    r"^(?:网站)?首页\s*(?:[>＞»›/→]|&gt;)",
    r"^\S{1,12}\s*[>＞»›]\s*\S{1,12}\s*[>＞»›]",
    // The date/source/views/font-size bar.
    r"(?:浏览次数|浏览量|访问量|访问次数|点击数|点击量|点击率|阅读次数|阅读量|阅读数|浏览人次)",
    r"字[体号]\s*[:：]?\s*[【\[]?\s*[大中小]",
    r"字体(?:放大|缩小)",
    r"^[【\[]?\s*字[体号]\s*[:：]?\s*[】\]]?$",
    r"^(?:发布|发表|更新|成文)?(?:日期|时间)\s*[:：]\s*\d{4}\s*[-年/.]\s*\d{1,2}\s*[-月/.]\s*\d{1,2}\s*日?(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?\s*(?:(?:来源|信息来源|作者|发布机构|发布者)\s*[:：].*)?$",
    r"^(?:来源|信息来源|文章来源|作者|责任编辑|编辑|审核|审稿|校对|供稿|发布机构|发布者)\s*[:：]",
    // Tool links.
    r"(?:打印本页|打印本文|打印文章|打印此页|关闭窗口|关闭本页|关闭此页|【\s*打印\s*】|【\s*关闭\s*】|\[\s*打印\s*\]|\[\s*关闭\s*\])",
    r"^(?:(?:打印|关闭|收藏|纠错|分享|返回|顶部|保存|复制链接|微博|微信|QQ空间|QQ|人人网)\s*)+$",
    r"(?:分享到|扫一扫|在手机打开|手机扫码|手机浏览|微信扫码|扫码分享|用手机扫描)",
    r"^(?:上一篇|下一篇|上一条|下一条)\s*[:：]?",
    r"^(?:相关链接|相关文章|相关阅读|相关新闻|相关文件|相关信息|相关稿件|相关附件|热点推荐|推荐阅读)\s*[:：]?$",
    // Footers.
    r"(?:主办单位|承办单位|协办单位|运维单位|维护单位|技术支持\s*[:：]|版权所有|Copyright|©|ICP备|ICP证|公网安备|网站标识码|网站地图|返回顶部|联系我们|网站声明|隐私声明|免责声明|建议使用\S{0,20}浏览器)",
];

static CHROME_LINE_SET: LazyLock<RegexSet> = LazyLock::new(|| RegexSet::new(CHROME_LINES).expect("valid regexes"));

/// True when a line of the body is page furniture.
pub(crate) fn is_chrome_line(line: &str) -> bool {
    line.chars().count() <= MAX_CHROME_LINE && CHROME_LINE_SET.is_match(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn furniture_lines_are_recognised() {
        for line in [
            "当前位置：首页 > 政务公开 > 政府信息公开年报",
            "首页>政务公开>政府信息公开年报",
            "发布日期：2023-01-31 来源：重庆市医疗保障局 浏览次数：123 字体：大 中 小",
            "日期: 2023-01-31",
            "字体:",
            "打印本页 关闭窗口 分享到：",
            "扫一扫在手机打开当前页",
            "主办单位：重庆市医疗保障局 版权所有",
            "ICP备案: 渝ICP备20001439号 政府网站标识码: 5000000106",
            "渝公网安备 50011202502228号",
            "返回顶部",
            "【打印】 【关闭】",
        ] {
            assert!(is_chrome_line(line), "{line}");
        }
    }

    #[test]
    fn body_sentences_are_not_chrome() {
        for line in [
            "一、总体情况",
            "2022年通过网站发布各类信息528条，其中法定主动公开信息113条。",
            "（一）主动公开情况。坚持公开为常态、不公开为例外原则。",
            "五、存在的主要问题及下一步改进措施",
            "本年度未收取信息处理费。",
        ] {
            assert!(!is_chrome_line(line), "{line}");
        }
    }

    #[test]
    fn furniture_classes_are_recognised() {
        for name in ["nav", "main-nav", "crumb", "footer_wrap", "bdsharebuttonbox", "side2", "xglj clearfix"] {
            assert!(is_chrome_name(name), "{name}");
        }
        for name in ["TRS_Editor", "zoom", "zwxl-article", "pages_content", "article-content", "info", "font_area"] {
            assert!(!is_chrome_name(name), "{name}");
        }
    }
}
