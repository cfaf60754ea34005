//! Crawl benchmark: a whole crawl (fetch → discover → clean → parse → store) of local portals on
//! 127.0.0.x, measured from outside the portals.
//!
//! ```sh
//! cargo bench --bench crawl                       # both scenarios, default sizes
//! NIANBAO_BENCH_REPORTS=5000 cargo bench --bench crawl
//! NIANBAO_BENCH_DB=/tmp/bench.sled cargo bench --bench crawl   # keep the archive afterwards
//! NIANBAO_BENCH_CONNECTION=close cargo bench --bench crawl      # a connection per request
//! ```
//!
//! The portals run in a child process (this binary re-executed with `serve`), so the CPU time read
//! with getrusage and the peak RSS read from /proc/self/status are the crawler's alone.
//!
//! - throughput: 8 hosts, `NIANBAO_BENCH_REPORTS` reports in all (default 5000), rate limits
//!   effectively off: pages/s, CPU per page, peak RSS, db size per report and against the zstd-
//!   compressed bodies it holds.
//! - rate-bound: 8 hosts at 10 requests/s each, 60 reports per host: wall time against the bound
//!   the rate limit sets (requests per host / rate).

#[path = "../src/allocator.rs"]
mod allocator;
#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/support/sim.rs"]
mod sim;

use std::io::{BufRead, BufReader, Write};
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{PortalServer, Reply};
use nianbao::config;
use nianbao::crawl::{self, Mode};
use nianbao::store::Store;
use sim::{list_page_html, SimReport};
use tokio_util::sync::CancellationToken;

const HOSTS: u8 = 8;
const PER_PAGE: usize = 20;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("serve") {
        let per_host = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(100);
        serve(per_host);
        return;
    }
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing we need to run.
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    let reports: usize = std::env::var("NIANBAO_BENCH_REPORTS").ok().and_then(|n| n.parse().ok()).unwrap_or(5000);
    let per_host = reports.div_ceil(HOSTS as usize);
    throughput(per_host);
    rate_bound(60, 10.0);
}

/// The child: portals on 127.0.0.11.., one line per start URL on stdout, until stdin closes.
fn serve(per_host: usize) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        for h in 0..HOSTS {
            let ip = Ipv4Addr::new(127, 0, 0, 11 + h);
            let server =
                if keep_alive() { PortalServer::start_keep_alive(ip).await } else { PortalServer::start(ip).await };
            publish(&server, h, per_host);
            println!("{}", server.url("/nb/"));
        }
        std::io::stdout().flush().expect("stdout");
        tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
        })
        .await
        .expect("stdin");
    });
}

/// Whether the portals keep connections open, as most portals' servers do; with
/// `NIANBAO_BENCH_CONNECTION=close` every request has a connection of its own.
fn keep_alive() -> bool {
    std::env::var("NIANBAO_BENCH_CONNECTION").map_or(true, |v| v != "close")
}

/// A TRS section of `count` reports whose pages are rendered on request.
fn publish(server: &PortalServer, host: u8, count: usize) {
    let path = |i: usize| format!("/nb/2023{:02}/t2023{:02}01_{i}.html", 1 + i % 12, 1 + i % 12);
    let pages = count.div_ceil(PER_PAGE).max(1);
    for k in 0..pages {
        let links: Vec<(String, String, String)> = (k * PER_PAGE..((k + 1) * PER_PAGE).min(count))
            .map(|i| (format!(".{}", &path(i)[3..]), report(host, i).title(), "2024-01-20".to_owned()))
            .collect();
        let html = list_page_html("政府信息公开年报", &links, k, pages);
        let name = if k == 0 { "/nb/".to_owned() } else { format!("/nb/index_{k}.html") };
        server.route(&name, Reply::html(&html));
    }
    for i in 0..count {
        server.handle(&path(i), move |_| Reply::html(&report(host, i).page_html("2024-01-20", 1000 + i as u64, None)));
    }
}

fn report(host: u8, i: usize) -> SimReport {
    SimReport::new(&format!("第{host}区第{i}局"), 2023, (host as u64) << 32 | i as u64)
}

/// The portals in a child process; dropped → the child ends.
struct Portals {
    child: std::process::Child,
    starts: Vec<String>,
}

impl Portals {
    fn start(per_host: usize) -> Portals {
        let exe = std::env::current_exe().expect("own path");
        let mut child = Command::new(exe)
            .arg("serve")
            .arg(per_host.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("portal process starts");
        let stdout = child.stdout.take().expect("piped");
        let starts: Vec<String> =
            BufReader::new(stdout).lines().take(HOSTS as usize).map(|l| l.expect("url")).collect();
        Portals { child, starts }
    }
}

impl Drop for Portals {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// User+system CPU seconds and peak RSS (KiB) of this process so far.
///
/// The peak is the kernel's `VmHWM` for this process's memory. getrusage's `ru_maxrss` is not used
/// for it: Linux carries that figure across `exec`, so under `cargo bench` it reported cargo's own
/// peak (100–200 MB) whenever that was higher than the crawl's.
fn usage() -> (f64, f64, i64) {
    // SAFETY: getrusage writes into the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (secs(ru.ru_utime) + secs(ru.ru_stime), secs(ru.ru_stime), peak_rss_kib())
}

/// `VmHWM` from /proc/self/status, in KiB; 0 where there is no such file.
fn peak_rss_kib() -> i64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// One crawl of the portals: its summary, wall time, CPU seconds (user+sys, and sys alone) and
/// the peak RSS (KiB) when it ended.
fn crawl(portals: &Portals, rps: f64, burst: u32, db: &Path) -> (nianbao::crawl::Summary, Duration, (f64, f64), i64) {
    let settings = config::parse_settings(
        Path::new("bench"),
        &format!(
            "db_path = {:?}\n[crawl]\nper_host_rps = {rps:?}\nper_host_burst = {burst}\nmax_concurrency = 64\nobey_robots = false\n",
            db.display().to_string()
        ),
    )
    .expect("bench settings");
    let seeds: String = portals
        .starts
        .iter()
        .enumerate()
        .map(|(i, start)| format!("[[portal]]\nname = \"p{i}\"\nstart = \"{start}\"\n"))
        .collect();
    let portals = config::parse_portals(Path::new("bench-seeds"), &seeds).expect("bench seeds");
    let store = Store::open(db).expect("store");
    let runtime = crawl::runtime().expect("runtime");
    let (cpu0, sys0, _) = usage();
    let started = Instant::now();
    let summary = runtime
        .block_on(crawl::run(&settings, &store, &portals, Mode::Crawl, CancellationToken::new(), None))
        .expect("crawl");
    let wall = started.elapsed();
    let (cpu1, sys1, rss_kib) = usage();
    (summary, wall, (cpu1 - cpu0, sys1 - sys0), rss_kib)
}

fn dir_size(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

fn throughput(per_host: usize) {
    let portals = Portals::start(per_host);
    let tmp = tempfile::tempdir().expect("temp dir");
    // NIANBAO_BENCH_DB keeps the archive for a look afterwards (it must not exist yet).
    let db = std::env::var_os("NIANBAO_BENCH_DB").map_or_else(|| tmp.path().join("bench.sled"), Into::into);
    // Peak RSS is read before the bodies are read back below, so that it is the crawl's alone.
    let (summary, wall, cpu, rss_kib) = crawl(&portals, 10_000.0, 50, &db);
    let pages = summary.pages_fetched as f64;
    // The closing compaction, as `nianbao crawl` runs it: its own line, not in the crawl's figures.
    let crawled = dir_size(&db);
    allocator::give_back_free_memory_at_once();
    // Writing 5 to clear_refs resets VmHWM to the current RSS, so that the compaction's own peak
    // can be read, not only whether it passed the crawl's.
    let hwm_reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let (cpu0, _, _) = usage();
    let started = Instant::now();
    let compaction = nianbao::store::compact_if_grown(&db).expect("compaction");
    let (cpu1, _, rss_compaction) = usage();
    let (compact_wall, compact_cpu) = (started.elapsed(), cpu1 - cpu0);
    let store = Store::open(&db).expect("store");
    let mut zstd_bodies = 0u64;
    let mut raw_bodies = 0u64;
    for page in store.pages().flatten() {
        if let Some(body) = page.body_sha256.as_deref().and_then(|sha| store.blob(sha).ok().flatten()) {
            raw_bodies += body.len() as u64;
            zstd_bodies += zstd::bulk::compress(&body, 3).map_or(0, |z| z.len() as u64);
        }
    }
    drop(store);
    let live = live_bytes(&db);
    let on_disk = dir_size(&db);
    let connections = if keep_alive() { "kept alive" } else { "one per request" };
    println!("crawl/throughput: {} hosts, {} reports, connections {connections}", HOSTS, summary.new_reports);
    println!("  pages fetched        {}", summary.pages_fetched);
    println!("  wall                 {:.2} s ({:.0} pages/s)", wall.as_secs_f64(), pages / wall.as_secs_f64());
    println!(
        "  CPU (user+sys)       {:.2} s ({:.3} ms per page; sys {:.2} s)",
        cpu.0,
        cpu.0 * 1000.0 / pages.max(1.0),
        cpu.1
    );
    let compaction_peak = if hwm_reset { "its own peak" } else { "the process's peak with it" };
    println!(
        "  peak RSS             {:.1} MB (compaction: {compaction_peak} {:.1} MB)",
        rss_kib as f64 / 1024.0,
        rss_compaction as f64 / 1024.0
    );
    println!(
        "  db after the crawl   {:.1} MB; compaction {:.2} s wall, {:.2} s CPU, copy {}",
        crawled as f64 / 1e6,
        compact_wall.as_secs_f64(),
        compact_cpu,
        match compaction {
            Some(c) if c.swapped => "swapped in",
            Some(_) => "no smaller, thrown away",
            None => "not needed",
        }
    );
    println!(
        "  db on disk           {:.1} MB ({:.1} KB per report)",
        on_disk as f64 / 1e6,
        on_disk as f64 / 1e3 / (summary.new_reports.max(1) as f64)
    );
    println!(
        "  raw bodies           {:.1} MB, zstd -3 {:.1} MB; db / zstd bodies = {:.2}",
        raw_bodies as f64 / 1e6,
        zstd_bodies as f64 / 1e6,
        on_disk as f64 / zstd_bodies.max(1) as f64
    );
    let total: u64 = live.iter().map(|(_, bytes)| bytes).sum();
    println!(
        "  live keys+values     {:.1} MB; db on disk / live = {:.2}",
        total as f64 / 1e6,
        on_disk as f64 / total.max(1) as f64
    );
    for (tree, bytes) in live.iter().filter(|(_, bytes)| *bytes > 0) {
        println!("    {tree:<18} {:.2} MB", *bytes as f64 / 1e6);
    }
}

/// Bytes of keys and values per tree of a closed archive: what the db holds, apart from sled's own
/// overhead. Read with sled directly, as only a benchmark needs this.
fn live_bytes(db: &Path) -> Vec<(String, u64)> {
    let Ok(sled) = sled::open(db) else { return Vec::new() };
    let mut out: Vec<(String, u64)> = sled
        .tree_names()
        .into_iter()
        .filter_map(|name| {
            let tree = sled.open_tree(&name).ok()?;
            let bytes = tree.iter().flatten().map(|(k, v)| (k.len() + v.len()) as u64).sum();
            Some((String::from_utf8_lossy(&name).into_owned(), bytes))
        })
        .collect();
    out.sort_by_key(|(_, bytes)| std::cmp::Reverse(*bytes));
    out
}

fn rate_bound(per_host: usize, rps: f64) {
    let portals = Portals::start(per_host);
    let tmp = tempfile::tempdir().expect("temp dir");
    let db = tmp.path().join("bench.sled");
    let (summary, wall, cpu, _) = crawl(&portals, rps, 1, &db);
    let requests_per_host = summary.pages_fetched as f64 / HOSTS as f64;
    // The first request of a host is free (a full bucket); every further one waits 1/rps.
    let bound = (requests_per_host - 1.0) / rps;
    println!("crawl/rate-bound: {HOSTS} hosts at {rps} requests/s, {} reports", summary.new_reports);
    println!("  requests per host    {requests_per_host:.0}");
    println!(
        "  wall                 {:.2} s; bound {:.2} s; {:+.1}%",
        wall.as_secs_f64(),
        bound,
        (wall.as_secs_f64() / bound - 1.0) * 100.0
    );
    println!("  CPU (user+sys)       {:.2} s (sys {:.2} s)", cpu.0, cpu.1);
}
