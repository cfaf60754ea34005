//! Cleaning and parsing throughput on realistic report pages (UTF-8 and GBK, about 20 KB to 200 KB,
//! with the full statistics tables and portal chrome). Run: `cargo bench --bench pipeline`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

#[path = "../tests/support/sim.rs"]
mod sim;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("clean+parse");
    for kb in [20, 60, 200] {
        let [(utf8, utf8_type), (gbk, gbk_type)] = sim::sized_pages(kb);
        for (name, bytes, content_type) in [("utf8", &utf8, utf8_type), ("gbk", &gbk, gbk_type)] {
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
