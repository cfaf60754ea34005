//! An HTML page into a [`Document`]: find the body, walk it into blocks, drop what is chrome.
//!
//! The body is found by CMS anchors first — the ContentStart/ContentEnd markers (metas or the
//! `<!--<$[信息内容]>begin-->` comments of TRS and Hanweb), then the known containers of TRS, Hanweb,
//! UCAP and the 集约化 platforms — and by text density only when no anchor holds text. The walk is
//! iterative (deeply nested pages cannot overflow the stack) and drops chrome elements as it goes;
//! line rules ([`chrome`]) remove what slipped through. The page is parsed once.

use std::collections::HashSet;
use std::sync::LazyLock;

use ego_tree::iter::Edge;
use ego_tree::{NodeId, NodeRef};
use regex::Regex;
use scraper::{Html, Node};

use super::table::{self, is_element};
use super::{chrome, meta};
use crate::document::{Block, Document};

/// Containers of the report body on known CMS families, best first: `.class` or `#id`.
const CONTAINERS: &[&str] = &[
    ".TRS_UEDITOR",
    ".TRS_Editor",
    ".trs_paper_default",
    ".Custom_UnionStyle",
    "#UCAP-CONTENT",
    "#zoom",
    "#Zoom",
    ".pages_content",
    ".zwxl-article",
    ".bt_content",
    ".article-content",
    ".article_content",
    "#ozoomtext",
    "#wenzhang-content",
];

/// An anchor that holds less text than this is empty (the body was loaded by script, or elsewhere).
const MIN_BODY_CHARS: usize = 10;

static HEADING_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:[一二三四五六七八九十]{1,3}[、.．]|第[一二三四五六七八九十]{1,3}[部章节])[^。；;]{1,40}$")
        .expect("valid regex")
});
static DATE_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\d{4}\s*[-年/.]\s*\d{1,2}\s*[-月/.]\s*\d{1,2}\s*日?(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?$")
        .expect("valid regex")
});

/// Cleans a parsed HTML page (parsed by the caller, which may read the same tree for links).
pub(crate) fn clean(page: &Html) -> Document {
    let metas = meta::meta_tags(page);
    let mut metadata = Vec::new();
    let mut skip = HashSet::new();
    for t in crate::html::elements(page, &["table"]) {
        if let Some(pairs) = table::metadata_table(*t) {
            metadata.extend(pairs);
            skip.insert(t.id());
        }
    }
    let root = crate::html::elements(page, &["body"]).next().map_or_else(|| page.tree.root(), |b| *b);
    let mut blocks = body_blocks(root, &skip);
    let title = meta::title(page, &metas);
    tidy(&mut blocks, title.as_deref(), &mut metadata);
    let published = meta::published(&metas, || page_text(root), &metadata);
    metadata.extend(meta::kept_metas(page));
    Document { title, published, metadata, blocks }
}

/// The blocks of the body: markers, then containers, then the densest element.
fn body_blocks(root: NodeRef<'_, Node>, skip: &HashSet<NodeId>) -> Vec<Block> {
    if let Some((start, end)) = markers(root) {
        let mut exempt: HashSet<NodeId> = start.ancestors().map(|n| n.id()).collect();
        exempt.extend(end.ancestors().map(|n| n.id()));
        let mut walker = Walker::new(skip, &exempt, false, Some((start.id(), end.id())));
        walker.run(root);
        if has_body(&walker.blocks) {
            return walker.blocks;
        }
    }
    for (n, container) in containers(root).into_iter().flatten() {
        let blocks = walk(container, skip);
        if has_body(&blocks) || n >= MIN_BODY_CHARS * 10 {
            return blocks;
        }
    }
    walk(densest(root).unwrap_or(root), skip)
}

/// For each of [`CONTAINERS`], in order, its visible match holding the most text (at least
/// [`MIN_BODY_CHARS`]), with that text's length. One pass over the page.
fn containers(root: NodeRef<'_, Node>) -> Vec<Option<(usize, NodeRef<'_, Node>)>> {
    let mut best: Vec<Option<(usize, NodeRef<'_, Node>)>> = vec![None; CONTAINERS.len()];
    let mut hidden_until: Option<NodeId> = None;
    for edge in root.traverse() {
        let node = match edge {
            Edge::Open(node) if hidden_until.is_none() => node,
            Edge::Close(node) if hidden_until == Some(node.id()) => {
                hidden_until = None;
                continue;
            }
            _ => continue,
        };
        let Node::Element(e) = node.value() else { continue };
        let attrs = Attrs::of(e);
        if attrs.is_hidden() {
            hidden_until = Some(node.id());
            continue;
        }
        for (i, container) in CONTAINERS.iter().enumerate() {
            let matches = match container.split_at(1) {
                (".", class) => attrs.classes().any(|c| c == class),
                (_, id) => attrs.id == Some(id),
            };
            if matches {
                let n = text_chars(node);
                if n >= MIN_BODY_CHARS && best[i].map(|(m, _)| m) < Some(n) {
                    best[i] = Some((n, node));
                }
            }
        }
    }
    best
}

fn walk(root: NodeRef<'_, Node>, skip: &HashSet<NodeId>) -> Vec<Block> {
    let exempt = HashSet::from([root.id()]);
    let mut walker = Walker::new(skip, &exempt, true, None);
    walker.run(root);
    walker.blocks
}

fn has_body(blocks: &[Block]) -> bool {
    blocks.iter().any(|b| matches!(b, Block::Table(_)))
        || blocks
            .iter()
            .filter_map(|b| match b {
                Block::Paragraph(s) | Block::Heading(s) if !chrome::is_chrome_line(s) => Some(s.chars().count()),
                _ => None,
            })
            .sum::<usize>()
            >= MIN_BODY_CHARS
}

/// The first ContentStart marker and the first ContentEnd after it.
fn markers(root: NodeRef<'_, Node>) -> Option<(NodeRef<'_, Node>, NodeRef<'_, Node>)> {
    let mut start = None;
    for node in root.descendants() {
        let (is_start, is_end) = match node.value() {
            Node::Comment(c) => (
                c.contains("信息内容]>begin") || c.trim() == "ContentStart",
                c.contains("信息内容]>end") || c.trim() == "ContentEnd",
            ),
            Node::Element(e) if e.name() == "meta" => {
                let name = e.attr("name").unwrap_or("");
                (name.eq_ignore_ascii_case("ContentStart"), name.eq_ignore_ascii_case("ContentEnd"))
            }
            _ => (false, false),
        };
        match start {
            None if is_start => start = Some(node),
            Some(s) if is_end => return Some((s, node)),
            _ => {}
        }
    }
    None
}

/// Non-space characters of an element's text, scripts and styles left out.
fn text_chars(root: NodeRef<'_, Node>) -> usize {
    let mut n = 0;
    visit_text(root, |t| n += t.chars().filter(|c| !c.is_whitespace()).count());
    n
}

/// The page's visible text (for a date printed in the layout), scripts and styles left out.
fn page_text(root: NodeRef<'_, Node>) -> String {
    let mut out = String::new();
    visit_text(root, |t| {
        if out.len() < 200_000 {
            out.push_str(t);
            out.push(' ');
        }
    });
    out
}

fn visit_text(root: NodeRef<'_, Node>, mut f: impl FnMut(&str)) {
    let mut skipping = None;
    for edge in root.traverse() {
        match edge {
            Edge::Open(node) if skipping.is_none() => match node.value() {
                Node::Text(t) => f(t),
                Node::Element(e) if matches!(e.name(), "script" | "style" | "noscript" | "template") => {
                    skipping = Some(node.id());
                }
                _ => {}
            },
            Edge::Close(node) if skipping == Some(node.id()) => skipping = None,
            _ => {}
        }
    }
}

/// Text statistics of one open element during the density pass.
struct Frame {
    id: NodeId,
    candidate: bool,
    chars: usize,
    link_chars: usize,
    /// Sentence punctuation, plus [`CELL_WEIGHT`] per table cell of plain text.
    weight: f64,
}

/// What a table cell of plain (non-link) text weighs against a sentence mark in the density pass:
/// enough that a report's statistics tables stay inside the chosen element, too little for a table
/// to outweigh the report's prose.
const CELL_WEIGHT: f64 = 0.25;

/// The generic fallback: the smallest element holding nearly as much sentence punctuation (and data
/// cells), weighed by
/// how little of its text is links, as the best element of the page. One pass, bottom-up.
fn densest(root: NodeRef<'_, Node>) -> Option<NodeRef<'_, Node>> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut scored: Vec<(NodeId, f64, usize)> = Vec::new();
    let mut link_depth = 0usize;
    let mut skipping = None;
    for edge in root.traverse() {
        match edge {
            Edge::Open(node) if skipping.is_none() => match node.value() {
                Node::Element(e) if is_dropped(e) => skipping = Some(node.id()),
                Node::Element(e) => {
                    link_depth += usize::from(e.name() == "a");
                    let candidate = matches!(e.name(), "div" | "td" | "article" | "section" | "main" | "body");
                    stack.push(Frame { id: node.id(), candidate, chars: 0, link_chars: 0, weight: 0.0 });
                }
                Node::Text(t) => {
                    if let Some(top) = stack.last_mut() {
                        let chars = t.chars().filter(|c| !c.is_whitespace()).count();
                        top.chars += chars;
                        top.link_chars += if link_depth > 0 { chars } else { 0 };
                        let marks = t.chars().filter(|c| matches!(c, '，' | '。' | '；' | '、')).count();
                        top.weight += marks as f64;
                    }
                }
                _ => {}
            },
            Edge::Close(node) if skipping == Some(node.id()) => skipping = None,
            Edge::Close(node) if skipping.is_none() && matches!(node.value(), Node::Element(_)) => {
                link_depth -= usize::from(is_element(node, "a") && link_depth > 0);
                let Some(mut frame) = stack.pop() else { continue };
                if (is_element(node, "td") || is_element(node, "th")) && frame.chars > frame.link_chars {
                    frame.weight += CELL_WEIGHT;
                }
                if frame.candidate && frame.chars > 0 {
                    let text_share = 1.0 - frame.link_chars as f64 / frame.chars as f64;
                    scored.push((frame.id, frame.weight * text_share * text_share, frame.chars));
                }
                if let Some(parent) = stack.last_mut() {
                    parent.chars += frame.chars;
                    parent.link_chars += frame.link_chars;
                    parent.weight += frame.weight;
                }
            }
            _ => {}
        }
    }
    let best = scored.iter().map(|s| s.1).fold(0.0, f64::max);
    if best <= 0.0 {
        return None;
    }
    let (id, _, _) = scored.iter().filter(|s| s.1 >= best * 0.9).min_by_key(|s| s.2)?;
    root.tree().get(*id)
}

/// Tags after which a new block starts.
fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "div"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "li"
            | "ul"
            | "ol"
            | "dl"
            | "dt"
            | "dd"
            | "tr"
            | "td"
            | "th"
            | "table"
            | "tbody"
            | "thead"
            | "tfoot"
            | "caption"
            | "section"
            | "article"
            | "main"
            | "blockquote"
            | "pre"
            | "center"
            | "form"
            | "fieldset"
            | "figure"
            | "figcaption"
            | "address"
            | "hr"
            | "body"
    )
}

fn is_heading(name: &str) -> bool {
    matches!(name, "h1" | "h2" | "h3" | "h4" | "h5" | "h6")
}

/// Elements never read: chrome tags, furniture classes and ids, hidden elements.
fn is_dropped(e: &scraper::node::Element) -> bool {
    let attrs = Attrs::of(e);
    chrome::DROPPED_TAGS.contains(&e.name())
        || attrs.class.is_some_and(chrome::is_chrome_name)
        || attrs.id.is_some_and(chrome::is_chrome_name)
        || attrs.is_hidden()
}

/// The attributes that decide whether an element is read, found in one pass over its attributes
/// (`Element::attr` interns and hashes the name on every call, `Element::classes` interns every
/// class).
struct Attrs<'a> {
    class: Option<&'a str>,
    id: Option<&'a str>,
    style: Option<&'a str>,
    hidden: bool,
}

impl<'a> Attrs<'a> {
    fn of(e: &'a scraper::node::Element) -> Attrs<'a> {
        let mut attrs = Attrs { class: None, id: None, style: None, hidden: false };
        for (name, value) in e.attrs() {
            match name {
                "class" => attrs.class = Some(value),
                "id" => attrs.id = Some(value),
                "style" => attrs.style = Some(value),
                "hidden" => attrs.hidden = true,
                _ => {}
            }
        }
        attrs
    }

    fn classes(&self) -> impl Iterator<Item = &'a str> {
        self.class.unwrap_or("").split_whitespace()
    }

    /// Whether a browser hides the element: inline `display:none`, the `hidden` attribute, hiding
    /// classes.
    fn is_hidden(&self) -> bool {
        self.hidden
            || self.classes().any(|c| matches!(c, "ng-hide" | "hidden" | "hide" | "d-none"))
            || self
                .style
                .is_some_and(|s| squeezed_contains(s, "display:none") || squeezed_contains(s, "visibility:hidden"))
    }
}

/// Whether `text`, without its white space and ASCII lower-cased, contains `needle` (lower-case
/// ASCII); without building that text, as most elements of Word-pasted pages carry a style.
fn squeezed_contains(text: &str, needle: &str) -> bool {
    let mut rest = text.chars().filter(|c| !c.is_whitespace()).map(|c| c.to_ascii_lowercase());
    loop {
        if rest.clone().take(needle.len()).eq(needle.chars()) {
            return true;
        }
        if rest.next().is_none() {
            return false;
        }
    }
}

/// The walk from the body's root to blocks.
struct Walker<'a> {
    blocks: Vec<Block>,
    line: String,
    heading_depth: usize,
    /// False outside the ContentStart/ContentEnd markers.
    active: bool,
    markers: Option<(NodeId, NodeId)>,
    /// Metadata tables, read apart.
    skip: &'a HashSet<NodeId>,
    /// The root and the markers' ancestors: never dropped, whatever their class.
    exempt: &'a HashSet<NodeId>,
}

impl<'a> Walker<'a> {
    fn new(
        skip: &'a HashSet<NodeId>,
        exempt: &'a HashSet<NodeId>,
        active: bool,
        markers: Option<(NodeId, NodeId)>,
    ) -> Self {
        Walker { blocks: Vec::new(), line: String::new(), heading_depth: 0, active, markers, skip, exempt }
    }

    fn run(&mut self, root: NodeRef<'_, Node>) {
        let mut skipping: Option<NodeId> = None;
        for edge in root.traverse() {
            match edge {
                Edge::Open(node) if skipping.is_none() => skipping = self.open(node).then(|| node.id()),
                Edge::Close(node) if skipping == Some(node.id()) => skipping = None,
                Edge::Close(node) if skipping.is_none() => {
                    if let Node::Element(e) = node.value() {
                        if is_block(e.name()) {
                            self.flush();
                        }
                        if is_heading(e.name()) {
                            self.heading_depth = self.heading_depth.saturating_sub(1);
                        }
                    }
                }
                _ => {}
            }
        }
        self.flush();
    }

    /// Reads one opened node; true when its subtree is to be skipped.
    fn open(&mut self, node: NodeRef<'_, Node>) -> bool {
        if let Some((start, end)) = self.markers {
            if node.id() == start || node.id() == end {
                self.flush();
                self.active = node.id() == start;
                return false;
            }
        }
        match node.value() {
            Node::Text(t) if self.active => self.line.push_str(t),
            Node::Element(e) => {
                let exempt = self.exempt.contains(&node.id());
                if !exempt && (is_dropped(e) || self.skip.contains(&node.id())) {
                    return true;
                }
                if e.name() == "table" && self.active {
                    if let Some(t) = table::data_table(node) {
                        self.flush();
                        self.blocks.push(Block::Table(t));
                        return true;
                    }
                }
                if e.name() == "br" || is_block(e.name()) {
                    self.flush();
                }
                if is_heading(e.name()) {
                    self.heading_depth += 1;
                }
            }
            _ => {}
        }
        false
    }

    fn flush(&mut self) {
        if self.line.is_empty() {
            return;
        }
        let text = meta::reflow(&self.line);
        self.line.clear();
        if text.is_empty() {
            return;
        }
        self.blocks.push(if self.heading_depth > 0 { Block::Heading(text) } else { Block::Paragraph(text) });
    }
}

/// After the walk: chrome lines out, leading metadata lines into `metadata`, the title and date
/// repeated at the top of the body out, numbered section titles as headings.
fn tidy(blocks: &mut Vec<Block>, title: Option<&str>, metadata: &mut Vec<(String, String)>) {
    let squeeze = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    let title = title.map(squeeze);
    blocks.retain(|b| match b {
        Block::Paragraph(s) | Block::Heading(s) => !chrome::is_chrome_line(s),
        Block::Table(_) => true,
    });
    let mut leading = 0;
    while leading < blocks.len() {
        let (Block::Paragraph(s) | Block::Heading(s)) = &blocks[leading] else { break };
        if let Some(pair) = table::labelled_value(s) {
            metadata.push(pair);
            blocks.remove(leading);
        } else if title.as_deref().is_some_and(|t| *t == squeeze(s)) || DATE_LINE.is_match(s) {
            blocks.remove(leading);
        } else if s.chars().count() < 40 && leading < 3 {
            leading += 1;
        } else {
            break;
        }
    }
    for block in blocks.iter_mut() {
        if let Block::Paragraph(s) = block {
            if HEADING_LINE.is_match(s) {
                *block = Block::Heading(std::mem::take(s));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(text: &str) -> Document {
        super::clean(&Html::parse_document(text))
    }

    fn paragraphs(doc: &Document) -> Vec<&str> {
        doc.blocks
            .iter()
            .filter_map(|b| match b {
                Block::Paragraph(s) | Block::Heading(s) => Some(s.as_str()),
                Block::Table(_) => None,
            })
            .collect()
    }

    #[test]
    fn markers_bound_the_body() {
        let doc = clean(
            "<body><div class=\"info\">发布时间：2022-01-05 浏览次数：3</div><p>网页上方的一段说明文字，不属于正文内容。</p>\
             <!--<$[信息内容]>begin--><p>本年度收到申请一件，已经按期答复。</p><!--<$[信息内容]>end--><p>页面底部的一段文字，也不属于正文。</p></body>",
        );
        assert_eq!(paragraphs(&doc), ["本年度收到申请一件，已经按期答复。"]);
        assert_eq!(doc.published.as_deref(), Some("2022-01-05"));
    }

    #[test]
    fn density_finds_an_unmarked_body() {
        let doc = clean(
            "<body><div><a href=\"/\">首页</a><a href=\"/a\">机构</a><a href=\"/b\">政务公开</a></div>\
             <div><div><p>一、总体情况</p><p>本年度，本机关认真贯彻条例，主动公开信息，依法答复申请，接受社会监督。</p>\
             <p>二、其他事项</p><p>本年度未收取任何费用，也未发生行政复议、行政诉讼。</p></div></div>\
             <div><a href=\"/c\">相关文章一</a>，<a href=\"/d\">相关文章二</a>。</div></body>",
        );
        assert_eq!(paragraphs(&doc).len(), 4, "{:?}", doc.blocks);
        assert_eq!(doc.blocks[0], Block::Heading("一、总体情况".into()));
    }

    #[test]
    fn density_keeps_the_tables_beside_the_prose() {
        let rows = "<tr><td>规章</td><td>0</td><td>1</td><td>2</td></tr>".repeat(8);
        let doc = clean(&format!(
            "<body><div><a href=\"/\">首页</a><a href=\"/a\">机构</a></div><div class=\"doc\">\
             <div><p>本年度，本机关认真贯彻条例，主动公开信息，依法答复申请，接受社会监督，全年收到申请三件。</p>\
             <p>本年度未收取任何费用，也未发生行政复议、行政诉讼，各项工作有序开展。</p></div>\
             <div><table>{rows}</table></div></div></body>"
        ));
        assert_eq!(doc.tables().count(), 1, "{:?}", doc.blocks);
        assert_eq!(paragraphs(&doc).len(), 2, "{:?}", doc.blocks);
    }

    #[test]
    fn metadata_table_is_kept_apart() {
        let doc = clean(
            "<body><table class=\"zwxl-table\"><tr><td>索引号：</td><td>11500000MB1</td><td>发文字号：</td><td>无</td></tr>\
             <tr><td>发布机构：</td><td>重庆市医疗保障局</td><td>成文日期：</td><td>2023-01-30</td></tr></table>\
             <div class=\"TRS_Editor\"><p>本报告由本局编制，统计期限自2022年1月1日起至2022年12月31日止。</p></div></body>",
        );
        assert_eq!(doc.metadata[0], ("索引号".into(), "11500000MB1".into()));
        assert_eq!(doc.published.as_deref(), Some("2023-01-30"));
        assert_eq!(doc.blocks.len(), 1);
    }

    #[test]
    fn styles_hide_whatever_their_spacing_and_case() {
        assert!(squeezed_contains("color:red; DISPLAY : No ne", "display:none"));
        assert!(squeezed_contains("visibility:hidden", "visibility:hidden"));
        assert!(!squeezed_contains("display:block; none", "display:none"));
        assert!(!squeezed_contains("display:non", "display:none"));
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let page = format!("{}<p>正文一段，内容。</p>{}", "<div>".repeat(3_000), "</div>".repeat(3_000));
        let _ = clean(&page);
    }
}
