//! Finding a page's character encoding and decoding it.
//!
//! Order, as browsers do it: the HTTP `Content-Type` charset, then a byte-order mark, then a `<meta>`
//! prescan of the first 1024 bytes, then statistical detection (chardetng). Labels go through the
//! WHATWG table, so `gb2312` decodes as GBK. Raw bytes are never changed by this module: the store
//! keeps them as received, and decoding happens wherever text is needed.

use encoding_rs::Encoding;

/// Where the encoding came from; recorded so that a wrong guess can be traced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Header,
    Bom,
    Meta,
    Detected,
}

/// Decodes `bytes` as text, honouring the declared charset where there is one.
///
/// Returns the text and the encoding used. Malformed sequences become U+FFFD; this never fails.
pub fn decode(bytes: &[u8], content_type: Option<&str>) -> (String, &'static Encoding) {
    let (encoding, _) = sniff(bytes, content_type);
    let (text, _, _) = encoding.decode(bytes);
    (text.into_owned(), encoding)
}

/// Picks the encoding of `bytes` without decoding them.
pub fn sniff(bytes: &[u8], content_type: Option<&str>) -> (&'static Encoding, Source) {
    if let Some(enc) = content_type.and_then(charset_param).and_then(|l| Encoding::for_label(l.as_bytes())) {
        // A BOM still wins over a header that disagrees, as in the WHATWG decode algorithm.
        if let Some((bom, _)) = Encoding::for_bom(bytes) {
            return (bom, Source::Bom);
        }
        return (enc, Source::Header);
    }
    if let Some((enc, _)) = Encoding::for_bom(bytes) {
        return (enc, Source::Bom);
    }
    if let Some(enc) = meta_prescan(&bytes[..bytes.len().min(1024)]) {
        return (enc, Source::Meta);
    }
    let mut detector = chardetng::EncodingDetector::new();
    detector.feed(bytes, true);
    (detector.guess(Some(b"cn"), true), Source::Detected)
}

/// The `charset=` parameter of a Content-Type value.
fn charset_param(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim().eq_ignore_ascii_case("charset").then(|| v.trim().trim_matches(['"', '\'']))
    })
}

/// A simplified WHATWG meta prescan: `<meta charset=…>` or `<meta http-equiv … content="…charset=…">`.
fn meta_prescan(head: &[u8]) -> Option<&'static Encoding> {
    let lower: Vec<u8> = head.iter().map(u8::to_ascii_lowercase).collect();
    let mut from = 0;
    while let Some(pos) = find(&lower[from..], b"<meta") {
        let start = from + pos;
        let end = find(&lower[start..], b">").map_or(lower.len(), |e| start + e);
        let tag = &lower[start..end];
        if let Some(cs) = find(tag, b"charset") {
            let rest = &tag[cs + "charset".len()..];
            let rest = rest.iter().skip_while(|b| b.is_ascii_whitespace()).copied().collect::<Vec<_>>();
            if let Some(rest) = rest.strip_prefix(b"=") {
                let label: Vec<u8> = rest
                    .iter()
                    .skip_while(|b| b.is_ascii_whitespace() || **b == b'"' || **b == b'\'')
                    .take_while(|b| !(b.is_ascii_whitespace() || matches!(**b, b'"' | b'\'' | b';' | b'/' | b'>')))
                    .copied()
                    .collect();
                if let Some(enc) = Encoding::for_label(&label) {
                    // A page cannot declare itself UTF-16 in ASCII; browsers read that as UTF-8.
                    return Some(if enc == encoding_rs::UTF_16LE || enc == encoding_rs::UTF_16BE {
                        encoding_rs::UTF_8
                    } else {
                        enc
                    });
                }
            }
        }
        from = end.max(start + 1);
        if from >= lower.len() {
            break;
        }
    }
    None
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gbk(s: &str) -> Vec<u8> {
        encoding_rs::GBK.encode(s).0.into_owned()
    }

    #[test]
    fn header_charset_wins_over_meta() {
        let body = gbk("<html><head><meta charset=\"utf-8\"></head><body>政府信息公开工作年度报告</body></html>");
        let (text, enc) = decode(&body, Some("text/html; charset=GB2312"));
        assert_eq!(enc, encoding_rs::GBK);
        assert!(text.contains("政府信息公开工作年度报告"));
    }

    #[test]
    fn meta_http_equiv_is_found() {
        let body = gbk("<html><head><META HTTP-EQUIV=\"Content-Type\" CONTENT=\"text/html; charset=gb2312\"></head><body>年度报告</body></html>");
        assert_eq!(sniff(&body, Some("text/html")), (encoding_rs::GBK, Source::Meta));
        assert!(decode(&body, None).0.contains("年度报告"));
    }

    #[test]
    fn undeclared_gbk_is_detected() {
        let body = gbk("<html><body><p>本年度共收到政府信息公开申请九件，均已按期答复。主动公开政府信息一百二十条。</p></body></html>");
        let (text, enc) = decode(&body, None);
        assert_eq!(enc, encoding_rs::GBK);
        assert!(text.contains("政府信息公开申请"));
    }

    #[test]
    fn bom_is_honoured() {
        let mut body = vec![0xEF, 0xBB, 0xBF];
        body.extend_from_slice("年报".as_bytes());
        assert_eq!(sniff(&body, None).1, Source::Bom);
    }

    #[test]
    fn garbage_never_panics() {
        for body in [&b""[..], b"<meta", b"<meta charset=", b"<meta charset=\"\xff\xfe", b"\xff\xfe\x00"] {
            let _ = decode(body, Some("text/html; charset"));
        }
    }
}
