//! Crawl benchmark: a whole crawl (fetch → discover → clean → parse → store) of local portals on
//! 127.0.0.x, measured from outside the portals.
//!
//! ```sh
//! cargo bench --bench crawl                       # all three scenarios, default sizes
//! NIANBAO_BENCH_REPORTS=5000 cargo bench --bench crawl
//! NIANBAO_BENCH_DB=/tmp/bench.sled cargo bench --bench crawl   # keep the archive afterwards
//! NIANBAO_BENCH_CONNECTION=close cargo bench --bench crawl      # a connection per request
//! NIANBAO_BENCH_GROWTH_RUNS=8 cargo bench --bench crawl          # the growth scenario to 40,000
//! NIANBAO_BENCH_PROSE_KB=8 cargo bench --bench crawl             # reports with 8 KB of prose each
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
//! - growth: the cron case. The portals publish `NIANBAO_BENCH_REPORTS` new reports (newest first
//!   in their lists) before each of `NIANBAO_BENCH_GROWTH_RUNS` runs (default 4), and each run is a
//!   crawl and its closing compaction in a process of its own on the same archive, as cron starts
//!   `nianbao crawl`: its CPU per page and peak RSS as the archive it opens grows.

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
use std::sync::LazyLock;
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
    match args.get(1).map(String::as_str) {
        Some("serve") => {
            let per_host = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(100);
            serve(per_host);
            return;
        }
        Some("run-once") if args.len() > 3 => {
            run_once(Path::new(&args[2]), &args[3..]);
            return;
        }
        _ => {}
    }
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing we need to run.
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    let reports = env_count("NIANBAO_BENCH_REPORTS", 5000);
    let per_host = reports.div_ceil(HOSTS as usize);
    throughput(per_host);
    rate_bound(60, 10.0);
    let runs = env_count("NIANBAO_BENCH_GROWTH_RUNS", 4);
    growth(per_host, runs);
}

/// A count from the environment variable `name`, or `default` when it is unset or not a number.
fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|n| n.parse().ok()).unwrap_or(default)
}

/// The child: portals on 127.0.0.11.., one line per start URL on stdout; then, until stdin closes,
/// each `publish N` line makes every portal list N reports, answered by a `published` line.
fn serve(per_host: usize) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let mut servers = Vec::new();
        for h in 0..HOSTS {
            let ip = Ipv4Addr::new(127, 0, 0, 11 + h);
            let server =
                if keep_alive() { PortalServer::start_keep_alive(ip).await } else { PortalServer::start(ip).await };
            publish(&server, h, per_host);
            println!("{}", server.url("/nb/"));
            servers.push(server);
        }
        std::io::stdout().flush().expect("stdout");
        tokio::task::spawn_blocking(move || {
            for line in std::io::stdin().lines().map_while(Result::ok) {
                if let Some(count) = line.strip_prefix("publish ").and_then(|n| n.parse().ok()) {
                    for (h, server) in (0..).zip(&servers) {
                        publish(server, h, count);
                    }
                    println!("published");
                    std::io::stdout().flush().expect("stdout");
                }
            }
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

/// A TRS section of `count` reports whose pages are rendered on request, newest (the highest
/// number) first, as portals list them: publishing more pushes the older ones down the list.
fn publish(server: &PortalServer, host: u8, count: usize) {
    // As TRS names them (`202301/t20230131_11549147.html`): a month's folder, the day, and a
    // document id that only grows, so that later reports sort after earlier ones, as on a portal.
    let path = |i: usize| {
        let (year, month, day) = (2015 + i / 1200, 1 + i / 100 % 12, 1 + i % 100 / 4);
        format!("/nb/{year}{month:02}/t{year}{month:02}{day:02}_{}.html", 11_000_000 + i)
    };
    let pages = count.div_ceil(PER_PAGE).max(1);
    for k in 0..pages {
        let links: Vec<(String, String, String)> = (k * PER_PAGE..((k + 1) * PER_PAGE).min(count))
            .map(|position| count - 1 - position)
            .map(|i| (format!(".{}", &path(i)[3..]), report(host, i).title(), "2024-01-20".to_owned()))
            .collect();
        let html = list_page_html("政府信息公开年报", &links, k, pages);
        let name = if k == 0 { "/nb/".to_owned() } else { format!("/nb/index_{k}.html") };
        server.route(&name, Reply::html(&html));
    }
    for i in 0..count {
        server.handle(&path(i), move |_| Reply::html(&report_page(host, i)));
    }
}

/// Report `i` of `host` as its page. With `NIANBAO_BENCH_PROSE_KB`, each report also says that
/// much of its own (the synthetic reports otherwise differ only in their numbers, so a host's
/// dictionary packs their bodies to ~500 bytes; real reports' prose packs to several KB).
fn report_page(host: u8, i: usize) -> String {
    // Read once, not on every request the portals answer.
    static PROSE_KB: LazyLock<usize> = LazyLock::new(|| env_count("NIANBAO_BENCH_PROSE_KB", 0));
    let html = report(host, i).page_html("2024-01-20", 1000 + i as u64, None);
    let kb = *PROSE_KB;
    if kb == 0 {
        return html;
    }
    let mut state = (host as u64) << 32 | i as u64;
    let prose: String = (0..kb * 1024 / 3)
        .map(|_| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            char::from_u32(0x4e00 + (state >> 33) as u32 % 3000).unwrap_or('。')
        })
        .collect();
    html.replacen(
        "<p>五、存在的主要问题及改进情况</p>",
        &format!("<p>{prose}</p><p>五、存在的主要问题及改进情况</p>"),
        1,
    )
}

fn report(host: u8, i: usize) -> SimReport {
    SimReport::new(&format!("第{host}区第{i}局"), 2023, (host as u64) << 32 | i as u64)
}

/// The portals in a child process; dropped → the child ends.
struct Portals {
    child: std::process::Child,
    answers: std::io::Lines<BufReader<std::process::ChildStdout>>,
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
        let mut answers = BufReader::new(child.stdout.take().expect("piped")).lines();
        let starts: Vec<String> = answers.by_ref().take(HOSTS as usize).map(|l| l.expect("url")).collect();
        Portals { child, answers, starts }
    }

    /// Every portal lists `per_host` reports from now on.
    fn publish(&mut self, per_host: usize) {
        let stdin = self.child.stdin.as_mut().expect("piped");
        writeln!(stdin, "publish {per_host}").and_then(|()| stdin.flush()).expect("portal process listens");
        let answer = self.answers.next().and_then(Result::ok);
        assert_eq!(answer.as_deref(), Some("published"), "portal process answers");
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
fn crawl(starts: &[String], rps: f64, burst: u32, db: &Path) -> (nianbao::crawl::Summary, Duration, (f64, f64), i64) {
    let settings = config::parse_settings(
        Path::new("bench"),
        &format!(
            "db_path = {:?}\n[crawl]\nper_host_rps = {rps:?}\nper_host_burst = {burst}\nmax_concurrency = 64\nobey_robots = false\n",
            db.display().to_string()
        ),
    )
    .expect("bench settings");
    let seeds: String = starts
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
    let (summary, wall, cpu, rss_kib) = crawl(&portals.starts, 10_000.0, 50, &db);
    let pages = summary.pages_fetched as f64;
    // The closing compaction, as `nianbao crawl` runs it: its own line, not in the crawl's figures.
    let crawled = dir_size(&db);
    let closing = close_crawl(&db);
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
    let compaction_peak = if closing.own_peak { "its own peak" } else { "the process's peak with it" };
    println!(
        "  peak RSS             {:.1} MB (compaction: {compaction_peak} {:.1} MB)",
        rss_kib as f64 / 1024.0,
        closing.peak_kib as f64 / 1024.0
    );
    println!(
        "  db after the crawl   {:.1} MB; compaction {:.2} s wall, {:.2} s CPU, copy {}",
        crawled as f64 / 1e6,
        closing.wall.as_secs_f64(),
        closing.cpu,
        match closing.compaction {
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

/// The end of a crawl as the binary runs it: freed memory given back, then the closing compaction.
struct Closing {
    compaction: Option<nianbao::store::Compaction>,
    wall: Duration,
    cpu: f64,
    /// The compaction's own peak RSS in KiB, or the process's peak if VmHWM could not be reset.
    peak_kib: i64,
    own_peak: bool,
}

fn close_crawl(db: &Path) -> Closing {
    allocator::give_back_free_memory_at_once();
    // Writing 5 to clear_refs resets VmHWM to the current RSS, so that the compaction's own peak
    // can be read, not only whether it passed the crawl's.
    let own_peak = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let (cpu0, _, _) = usage();
    let started = Instant::now();
    let compaction = nianbao::store::compact_if_grown(db).expect("compaction");
    let (cpu1, _, peak_kib) = usage();
    Closing { compaction, wall: started.elapsed(), cpu: cpu1 - cpu0, peak_kib, own_peak }
}

/// The growth scenario's child: one crawl of the portals at `starts` into the archive at `db`, and
/// its closing compaction, in a process of its own as cron runs `nianbao crawl`; its figures on one
/// line for [`growth`]: new reports, pages, CPU seconds, peak RSS and the compaction's (KiB).
fn run_once(db: &Path, starts: &[String]) {
    let (summary, _, cpu, peak_kib) = crawl(starts, 10_000.0, 50, db);
    let closing = close_crawl(db);
    println!("{} {} {} {peak_kib} {}", summary.new_reports, summary.pages_fetched, cpu.0, closing.peak_kib);
}

/// `runs` crawls of the same archive, each in a new process, the portals publishing `per_host`
/// more reports per host before each: whether a crawl's cost stays flat as the archive it opens
/// grows (the frontier and the seen-set live in sled, so only sled's own index should grow).
fn growth(per_host: usize, runs: usize) {
    let mut portals = Portals::start(per_host);
    let tmp = tempfile::tempdir().expect("temp dir");
    let db = tmp.path().join("bench.sled");
    let exe = std::env::current_exe().expect("own path");
    println!(
        "crawl/growth: {HOSTS} hosts, {} new reports before each run, each run a process of its own",
        per_host * HOSTS as usize
    );
    println!(
        "  {:>11} {:>6} {:>6} {:>13} {:>9} {:>15} {:>10}",
        "held before", "new", "pages", "CPU per page", "peak RSS", "compaction peak", "db on disk"
    );
    let mut held = 0;
    for run in 0..runs {
        if run > 0 {
            portals.publish((run + 1) * per_host);
        }
        let out = Command::new(&exe)
            .arg("run-once")
            .arg(&db)
            .args(&portals.starts)
            .stderr(Stdio::inherit())
            .output()
            .expect("run starts");
        let line = String::from_utf8_lossy(&out.stdout);
        let figures: Vec<f64> = line.split_whitespace().filter_map(|f| f.parse().ok()).collect();
        let &[new, pages, cpu, peak_kib, compaction_kib] = figures.as_slice() else {
            panic!("run {run} failed ({}) and printed {line:?}", out.status)
        };
        println!(
            "  {held:>11} {new:>6} {pages:>6} {:>10.3} ms {:>6.1} MB {:>12.1} MB {:>7.1} MB",
            cpu * 1000.0 / pages.max(1.0),
            peak_kib / 1024.0,
            compaction_kib / 1024.0,
            dir_size(&db) as f64 / 1e6
        );
        held += new as usize;
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
    let (summary, wall, cpu, _) = crawl(&portals.starts, rps, 1, &db);
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
