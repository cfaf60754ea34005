//! PDF attachments with a text layer: poppler's `pdftotext` when it is on PATH (best with CJK fonts),
//! run with a timeout; otherwise the pure-Rust `pdf-extract`, on its own thread with a timeout and
//! inside `catch_unwind`, because it panics (and can spin) on some files. The text is then reflowed —
//! lines the PDF wrapped are joined back into paragraphs, page numbers dropped — and read by
//! [`text::document_from_text`].

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::{mpsc, LazyLock};
use std::time::{Duration, Instant};

use regex::Regex;

use super::{meta, text, CleanError};
use crate::document::Document;

/// How long one PDF may take to yield its text.
const TIMEOUT: Duration = Duration::from_secs(30);

static PAGE_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[-—–－\s]*(?:第\s*)?\d{1,4}\s*页?(?:\s*(?:[/／]|共)\s*(?:共\s*)?\d{1,4}\s*页?)?[-—–－\s]*$")
        .expect("valid regex")
});
static COLUMN_GAP: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\s{2,}").expect("valid regex"));
static FIGURE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:[+\-−]?[0-9][0-9,，.]*%?|[/—–\-]+|无)$").expect("valid regex"));
static PARAGRAPH_START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:[一二三四五六七八九十]{1,3}[、.．]|[（(][一二三四五六七八九十0-9]{1,3}[)）]|[0-9]{1,2}[、.．]|第[一二三四五六七八九十]{1,3})")
        .expect("valid regex")
});

/// Cleans a PDF; `input` names it in errors.
pub(crate) fn clean(body: &[u8], input: &str) -> Result<Document, CleanError> {
    let raw = match pdftotext(body) {
        Some(Ok(text)) => text,
        Some(Err(_)) | None => pdf_extract_text(body).map_err(|detail| CleanError::Corrupt {
            input: input.to_owned(),
            format: "PDF",
            detail,
        })?,
    };
    document_from_pdf_text(&raw).ok_or_else(|| CleanError::NoText { input: input.to_owned() })
}

/// A Document from a PDF's extracted text; `None` when the text layer is empty.
fn document_from_pdf_text(raw: &str) -> Option<Document> {
    let mut doc = text::document_from_text(&reflow_pages(raw));
    if doc.blocks.is_empty() {
        return None;
    }
    if doc.title.is_none() {
        doc.title = meta::take_leading_title(&mut doc.blocks);
    }
    Some(doc)
}

/// Text from `pdftotext`; `None` when it is not installed.
fn pdftotext(body: &[u8]) -> Option<Result<String, String>> {
    let mut child = match Command::new("pdftotext")
        .args(["-q", "-layout", "-enc", "UTF-8", "-", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => return Some(Err(format!("pdftotext: {e}"))),
    };
    let (Some(mut stdin), Some(mut stdout)) = (child.stdin.take(), child.stdout.take()) else {
        let _ = child.kill();
        let _ = child.wait();
        return Some(Err("pdftotext: no pipes".into()));
    };
    let input = body.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        stdout.read_to_end(&mut out).map(|_| out)
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) if started.elapsed() > TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                break Err(format!("pdftotext took longer than {}s", TIMEOUT.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => break Err(format!("pdftotext: {e}")),
        }
    };
    let _ = writer.join();
    let out = reader.join().ok().and_then(Result::ok).unwrap_or_default();
    Some(match status {
        Ok(s) if s.success() => Ok(String::from_utf8_lossy(&out).into_owned()),
        Ok(s) => Err(format!("pdftotext failed ({s})")),
        Err(e) => Err(e),
    })
}

/// Text from the `pdf-extract` crate, panics and hangs contained.
fn pdf_extract_text(body: &[u8]) -> Result<String, String> {
    let (tx, rx) = mpsc::channel();
    let input = body.to_vec();
    std::thread::Builder::new()
        .name("pdf-extract".into())
        .spawn(move || {
            let result = std::panic::catch_unwind(|| pdf_extract::extract_text_from_mem(&input));
            let _ = tx.send(result);
        })
        .map_err(|e| format!("cannot start the PDF reader: {e}"))?;
    match rx.recv_timeout(TIMEOUT) {
        Ok(Ok(Ok(text))) => Ok(text),
        Ok(Ok(Err(e))) => Err(e.to_string()),
        Ok(Err(_)) => Err("the PDF reader crashed on this file".into()),
        Err(_) => Err(format!("reading the PDF took longer than {}s", TIMEOUT.as_secs())),
    }
}

/// One line of a PDF's text: a table row (cells split at wide gaps, most of them figures) or text.
enum Line {
    Row(Vec<String>),
    Text(String),
}

fn read_line(raw: &str) -> Option<Line> {
    let cells: Vec<&str> = COLUMN_GAP.split(raw.trim()).filter(|c| !c.is_empty()).collect();
    let figures = cells.iter().skip(1).filter(|c| FIGURE.is_match(c)).count();
    if cells.len() >= 2 && figures * 2 >= cells.len() - 1 && figures > 0 {
        return Some(Line::Row(cells.iter().map(|c| meta::reflow(c)).collect()));
    }
    let text = meta::reflow(raw);
    (!text.is_empty() && !PAGE_NUMBER.is_match(&text)).then_some(Line::Text(text))
}

/// Rebuilds the report from the text layer: table rows (as pdftotext's layout places them) become
/// tab-separated lines; a text line continues the previous one when that one was nearly as long as
/// the page's longest lines and did not end a sentence. Page numbers and form feeds go.
fn reflow_pages(raw: &str) -> String {
    let lines: Vec<Line> = raw.split(['\n', '\x0c']).filter_map(read_line).collect();
    let mut lengths: Vec<usize> =
        lines.iter().filter_map(|l| if let Line::Text(t) = l { Some(t.chars().count()) } else { None }).collect();
    lengths.sort_unstable();
    let full = lengths.get(lengths.len() * 9 / 10).copied().unwrap_or(0);
    let mut out = String::with_capacity(raw.len());
    let mut previous_full = false;
    for line in &lines {
        match line {
            Line::Row(cells) => {
                out.push('\n');
                out.push_str(&cells.join("\t"));
                previous_full = false;
            }
            Line::Text(text) => {
                let joins = previous_full && !PARAGRAPH_START.is_match(text);
                if !joins {
                    out.push('\n');
                }
                out.push_str(text);
                let len = text.chars().count();
                previous_full =
                    full >= 10 && len * 10 >= full * 8 && !text.ends_with(['。', '；', '：', '！', '？', ':']);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_lines_join_and_page_numbers_go() {
        let raw = "某区2023年年度报告\n\
                   本报告由区政府办公室根据《中华人民共和国政\n\
                   府信息公开条例》要求编制此报告，报告中所列数\n\
                   据统计期限自2023年1月1日起。\n\
                   一、总体情况\n-1-\n第 1 页 共 9 页\n\x0c\
                   （一）主动公开情况。主要通过政府门户网站主动\n\
                   公开政府信息，全年主动公开政府信息一千余条。\n";
        let doc = document_from_pdf_text(raw).unwrap();
        assert_eq!(doc.title.as_deref(), Some("某区2023年年度报告"));
        let text = doc.text();
        assert!(
            text.contains("根据《中华人民共和国政府信息公开条例》要求编制此报告，报告中所列数据统计期限"),
            "{text}"
        );
        assert!(text.contains("主要通过政府门户网站主动公开政府信息，"), "{text}");
        assert!(text.contains("\n一、总体情况\n"), "{text}");
        assert!(!text.contains("-1-") && !text.contains("共 9 页"), "{text}");
    }

    /// The shared corpus folder, when it is beside the repository or the worktrees.
    fn corpus_pdf() -> Option<std::path::PathBuf> {
        let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let found =
            ["../shared/corpus/pdf", "../../shared/corpus/pdf"].iter().map(|p| manifest.join(p)).find(|p| p.is_dir());
        if found.is_none() {
            eprintln!("note: no shared/ folder beside the repository; PDF corpus tests skipped");
        }
        found
    }

    fn squeeze(s: &str) -> String {
        s.chars().filter(|c| !c.is_whitespace()).collect()
    }

    /// Both extraction paths hold the report's sentences and figures (compared without white space,
    /// which the two tools place differently).
    #[test]
    fn both_paths_read_the_real_reports() {
        let Some(dir) = corpus_pdf() else { return };
        let body = std::fs::read(dir.join("hongze_district_2023.pdf")).unwrap();
        let via_poppler = pdftotext(&body).expect("pdftotext is installed here").unwrap();
        let via_crate = pdf_extract_text(&body).unwrap();
        for raw in [via_poppler, via_crate] {
            let text = squeeze(&document_from_pdf_text(&raw).unwrap().text());
            for expected in [
                "报告中所列数据统计期限自2023年1月1日起至2023年12月31日止",
                "主动公开政府信息1136条",
                "受理政府信息公开申请21件",
                "0517-87222589",
            ] {
                assert!(text.contains(expected), "{expected} missing from\n{text}");
            }
        }
    }

    #[test]
    fn layout_rows_become_tab_separated() {
        let raw = "一、本年新收政府信息公开申请数量      21    0      0     0   0   0     21\n      1.属于国家秘密         1     0   0\n  自然人         社会 法律                总计\n";
        assert_eq!(
            reflow_pages(raw),
            "\n一、本年新收政府信息公开申请数量\t21\t0\t0\t0\t0\t0\t21\n1.属于国家秘密\t1\t0\t0\n自然人 社会 法律 总计"
        );
    }

    #[test]
    fn garbage_is_an_error_on_both_paths() {
        for body in [&b"%PDF-1.4\n garbage"[..], b"%PDF-", b""] {
            assert!(clean(body, "x.pdf").is_err());
            assert!(pdf_extract_text(body).is_err() || pdf_extract_text(body).is_ok_and(|t| t.trim().is_empty()));
        }
    }
}
