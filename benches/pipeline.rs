//! Cleaning and parsing throughput on realistic report pages (UTF-8 and GBK, about 20 KB to 200 KB,
//! with the full statistics tables and portal chrome). Run: `cargo bench --bench pipeline`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

#[path = "../tests/support/sim.rs"]
mod sim;

/// A report page of roughly `kb` kilobytes: the report plus running text, as long reports have.
fn page(kb: usize) -> String {
    let report = sim::SimReport::new("某某市医疗保障局", 2023, 7);
    let mut html = report.page_html("2024-01-20", 1234, Some("./P020240120.pdf"));
    let filler = "<p>全年通过政府网站主动公开各类政府信息，围绕重点领域持续深化政务公开，进一步规范依申请公开办理流程，及时回应社会关切。</p>";
    while html.len() < kb * 1024 {
        html = html.replacen(
            "<p>五、存在的主要问题及改进情况</p>",
            &format!("{filler}<p>五、存在的主要问题及改进情况</p>"),
            1,
        );
    }
    html
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("clean+parse");
    for kb in [20, 60, 200] {
        let utf8 = page(kb).into_bytes();
        let gbk = encoding_rs::GBK
            .encode(&String::from_utf8_lossy(&utf8).replace("charset=\"utf-8\"", "charset=\"gbk\""))
            .0
            .into_owned();
        for (name, bytes, content_type) in [("utf8", &utf8, "text/html; charset=utf-8"), ("gbk", &gbk, "text/html")] {
            group.throughput(Throughput::Bytes(bytes.len() as u64));
            group.bench_with_input(BenchmarkId::new(format!("clean/{name}"), kb), bytes, |b, bytes| {
                b.iter(|| nianbao::clean::clean_html(bytes, Some(content_type), None).map(|d| d.blocks.len()))
            });
            let doc = nianbao::clean::clean_html(bytes, Some(content_type), None).expect("the bench page cleans");
            group.bench_with_input(BenchmarkId::new(format!("parse/{name}"), kb), &doc, |b, doc| {
                b.iter(|| nianbao::parser::parse_document(doc))
            });
            group.bench_with_input(BenchmarkId::new(format!("clean+parse/{name}"), kb), bytes, |b, bytes| {
                b.iter(|| {
                    let doc = nianbao::clean::clean_html(bytes, Some(content_type), None).ok()?;
                    Some(nianbao::parser::parse_document(&doc))
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
