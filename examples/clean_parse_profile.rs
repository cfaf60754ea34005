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

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let kb: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20);
    let gbk = args.get(2).is_some_and(|a| a == "gbk");
    let iterations: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(20);
    let [utf8, gbk_page] = sim::sized_pages(kb);
    let (bytes, content_type) = if gbk { gbk_page } else { utf8 };
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
