//! A parsed page's elements by tag name, for the plain `tag` and `tag[attr]` lookups that the
//! cleaner and discovery make on every page.
//!
//! scraper's `Html::select` matches a CSS selector against every element with a fresh matching
//! context each time; for a lookup by name that was 4% of a crawl's CPU (README, Performance).
//! Selectors that need classes or ids stay selectors.

use scraper::{ElementRef, Html};

/// The elements named one of `names` (lower case, as html5ever names them), in document order.
pub(crate) fn elements<'a>(doc: &'a Html, names: &'a [&'a str]) -> impl Iterator<Item = ElementRef<'a>> + 'a {
    doc.tree.root().descendants().filter_map(ElementRef::wrap).filter(|e| names.contains(&e.value().name()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use scraper::Selector;

    #[test]
    fn the_same_elements_as_the_selector_in_the_same_order() {
        let doc = Html::parse_document(
            "<html><head><base href=/x/><meta name=a content=1><META name=b></head><body>\
             <table><tr><td><a href=1>one</a><table><tr><td><A HREF=2>two</A></table></table>\
             <p><a name=anchor>no href</a><iframe src=v.html></iframe><object data=f.pdf></object></p></body></html>",
        );
        let by_selector =
            |css: &str| -> Vec<String> { doc.select(&Selector::parse(css).unwrap()).map(|e| e.html()).collect() };
        let by_name = |names: &[&str], attr: Option<&str>| -> Vec<String> {
            elements(&doc, names)
                .filter(|e| attr.is_none_or(|a| e.value().attr(a).is_some()))
                .map(|e| e.html())
                .collect()
        };
        assert_eq!(by_name(&["table"], None), by_selector("table"));
        assert_eq!(by_name(&["a"], Some("href")), by_selector("a[href]"));
        assert_eq!(by_name(&["meta"], Some("content")), by_selector("meta[content]"));
        assert_eq!(by_name(&["base"], Some("href")), by_selector("base[href]"));
        assert_eq!(by_name(&["iframe", "object"], None), by_selector("iframe, object"));
        assert_eq!(by_name(&["a"], Some("href")).len(), 2);
    }
}
