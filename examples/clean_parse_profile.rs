//! Cleans and parses the pipeline benchmark's page in a loop, for instruction counts under callgrind
//! (stable on a noisy machine, unlike wall time).
//!
//! ```sh
//! cargo build --release --example clean_parse_profile
//! valgrind --tool=callgrind --zero-before='*measured*' --callgrind-out-file=/tmp/cg.out \
//!     target/release/examples/clean_parse_profile 20 utf8 10
//! callgrind_annotate --inclusive=yes /tmp/cg.out | grep -E 'clean_html|parse_document'
//! ```
//!
//! Arguments: page size in KB (20, 60, 200), `utf8` or `gbk`, iterations. One page is cleaned and
//! parsed before `measured` runs, so `--zero-before` leaves out the one-time costs (the lazily
//! compiled regexes); the inclusive cost of `clean_html` and `parse_document` divided by the
//! iterations is then the cost per page.

#[path = "../tests/support/sim.rs"]
mod sim;

/// The same page as `benches/pipeline.rs` builds.
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

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let kb: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20);
    let gbk = args.get(2).is_some_and(|a| a == "gbk");
    let iterations: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(20);
    let utf8 = page(kb).into_bytes();
    let (bytes, content_type) = if gbk {
        let html = String::from_utf8_lossy(&utf8).replace("charset=\"utf-8\"", "charset=\"gbk\"");
        (encoding_rs::GBK.encode(&html).0.into_owned(), "text/html")
    } else {
        (utf8, "text/html; charset=utf-8")
    };
    run(&bytes, content_type, 1);
    let checks = measured(&bytes, content_type, iterations);
    println!("{} bytes, {iterations} iterations, {checks} checks", bytes.len());
}

#[inline(never)]
fn measured(bytes: &[u8], content_type: &str, iterations: usize) -> usize {
    run(bytes, content_type, iterations)
}

fn run(bytes: &[u8], content_type: &str, iterations: usize) -> usize {
    let mut checks = 0;
    for _ in 0..iterations {
        let doc = nianbao::clean::clean_html(bytes, Some(content_type), None).expect("the page cleans");
        checks += std::hint::black_box(nianbao::parser::parse_document(&doc)).checks.len();
    }
    checks
}
