//! The `nianbao` binary: parses the command line, loads settings, runs one command, and maps its
//! outcome to an exit code in one place (0 ok, 1 needs attention, 2 usage, 75 archive locked).

mod allocator;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, Context};
use clap::{Args, Parser, Subcommand};
use nianbao::config::{self, Portal, Settings};
use nianbao::crawl::{self, Mode, Summary};
use nianbao::store::{self, Store};
use nianbao::{clean, export, inspect, lock::RunLock, parser};
use tokio_util::sync::CancellationToken;

/// Crawl, archive and export Chinese government information-disclosure annual reports (年报).
#[derive(Parser, Debug)]
#[command(name = "nianbao", version, about, propagate_version = true)]
struct Cli {
    /// Settings file [default: config/nianbao.toml].
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Portals to crawl.
    #[arg(long, global = true, value_name = "FILE", default_value = "seeds.toml")]
    seeds: PathBuf,
    /// Archive directory [default: `db_path` from the config].
    #[arg(long, global = true, value_name = "DIR")]
    db: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The scheduled crawl: every portal (or the named ones), incrementally. Safe to run from cron.
    Crawl {
        /// Only this portal (repeatable).
        #[arg(long = "portal", value_name = "NAME")]
        portals: Vec<String>,
    },
    /// One-off deep crawl of every portal on DOMAIN: every list page, every report not yet held.
    Backfill {
        /// A host (www.dingxi.gov.cn) or its parent domain (dingxi.gov.cn).
        domain: String,
        /// Skip reports about years before this one.
        #[arg(long, value_name = "YEAR")]
        since: Option<i32>,
    },
    /// Write an archive snapshot: a directory, or one .tar.gz / .tar.zst file.
    Export(ExportArgs),
    /// Clean local HTML (or other) files and print each cleaned document as JSON.
    Clean {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The page's URL, for resolving relative links and CMS hints.
        #[arg(long)]
        url: Option<url::Url>,
    },
    /// Parse local reports (.txt, .html, .docx, .pdf, …) and print the report JSON.
    Parse {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print what the archive holds for a URL.
    Show {
        url: String,
        /// The raw bytes as fetched.
        #[arg(long, group = "form")]
        raw: bool,
        /// The cleaned text.
        #[arg(long, group = "form")]
        text: bool,
        /// The full record with every version (the default).
        #[arg(long, group = "form")]
        json: bool,
    },
    /// Per-portal counts and the database size.
    Stats {
        #[arg(long)]
        json: bool,
    },
    /// Re-hash every stored body against its digest; exit 1 on any corruption.
    Verify,
    /// Rewrite the archive into a fresh database, giving back the space sled's log leaves behind.
    /// A crawl does this by itself once the archive has grown by a quarter since the last time.
    Compact,
}

#[derive(Args, Debug)]
struct ExportArgs {
    #[arg(long, value_name = "PATH")]
    out: PathBuf,
    #[arg(long = "portal", value_name = "NAME")]
    portals: Vec<String>,
    /// Only fetches on or after this date (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    since: Option<chrono::NaiveDate>,
}

/// How a command ended, mapped to the process exit code in [`main`].
enum Outcome {
    Ok,
    /// Finished, but something needs the user's attention (exit 1).
    Attention,
    /// The command line named something that does not exist (exit 2).
    Usage(String),
    /// Another run holds the archive (exit 75).
    Locked(String),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.command);
    match run(cli) {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Attention) => ExitCode::from(1),
        Ok(Outcome::Usage(msg)) => {
            eprintln!("nianbao: {msg}");
            ExitCode::from(2)
        }
        Ok(Outcome::Locked(msg)) => {
            eprintln!("nianbao: {msg}");
            ExitCode::from(75)
        }
        Err(e) => {
            eprintln!("nianbao: error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn init_logging(command: &Command) {
    // On a terminal the progress bar tells the story; logs are for warnings only.
    let quiet = matches!(command, Command::Crawl { .. } | Command::Backfill { .. }) && std::io::stderr().is_terminal();
    let default = if quiet { "warn" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let settings =
        config::load_settings(cli.config.as_deref().unwrap_or(Path::new("config/nianbao.toml")), cli.config.is_some())?;
    let db = cli.db.clone().unwrap_or_else(|| settings.db_path.clone());
    match cli.command {
        Command::Crawl { portals } => {
            let all = config::load_portals(&cli.seeds)?;
            match select_named(&all, &portals, &cli.seeds) {
                Ok(selected) => crawl_command(&settings, &db, selected, Mode::Crawl),
                Err(msg) => Ok(Outcome::Usage(msg)),
            }
        }
        Command::Backfill { domain, since } => {
            let all = config::load_portals(&cli.seeds)?;
            let selected = portals_on_domain(&all, &domain);
            if selected.is_empty() {
                return Ok(Outcome::Usage(format!("no portal in {} starts on {domain}", cli.seeds.display())));
            }
            crawl_command(&settings, &db, selected, Mode::Backfill { since })
        }
        Command::Export(args) => export_command(&db, args),
        Command::Clean { files, url } => clean_command(&files, url.as_ref()),
        Command::Parse { files } => parse_command(&files),
        Command::Show { url, raw, text, .. } => show_command(&db, &url, raw, text),
        Command::Stats { json } => {
            let stats = inspect::stats(&open_store(&db)?.store)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&stats)?);
            } else {
                print!("{stats}");
            }
            Ok(Outcome::Ok)
        }
        Command::Verify => verify_command(&db),
        Command::Compact => compact_command(&db),
    }
}

/// Opens the archive for reading, through a consistent copy when a crawl is running.
fn open_store(db: &Path) -> anyhow::Result<nianbao::handoff::View> {
    if !db.exists() {
        return Err(anyhow!("no archive at {} (run `nianbao crawl` first, or pass --db)", db.display()));
    }
    Ok(nianbao::handoff::open_view(db, std::time::Duration::from_secs(120))?)
}

fn select_named(all: &[Portal], names: &[String], seeds: &Path) -> Result<Vec<Portal>, String> {
    if names.is_empty() {
        return Ok(all.to_vec());
    }
    let mut selected = Vec::new();
    for name in names {
        match all.iter().find(|p| &p.name == name) {
            Some(p) => selected.push(p.clone()),
            None => {
                let known: Vec<&str> = all.iter().map(|p| p.name.as_str()).collect();
                return Err(format!("no portal {name:?} in {} (known: {})", seeds.display(), known.join(", ")));
            }
        }
    }
    Ok(selected)
}

/// Portals whose start host is `domain` or lies under it.
fn portals_on_domain(all: &[Portal], domain: &str) -> Vec<Portal> {
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    all.iter()
        .filter(|p| {
            let host = p.start.host_str().unwrap_or_default();
            host == domain || host.ends_with(&format!(".{domain}"))
        })
        .cloned()
        .collect()
}

fn crawl_command(settings: &Settings, db: &Path, portals: Vec<Portal>, mode: Mode) -> anyhow::Result<Outcome> {
    let lock = match RunLock::acquire(db) {
        Ok(lock) => lock,
        Err(e @ nianbao::lock::LockError::Held { .. }) => return Ok(Outcome::Locked(e.to_string())),
        Err(e) => return Err(e.into()),
    };
    if let Some(stale) = &lock.stale {
        tracing::warn!("taking over the archive lock left by a run that did not finish ({stale})");
    }
    let store = Store::open(db)?;
    let runtime = crawl::runtime().context("cannot start the async runtime")?;
    let summary = runtime.block_on(async {
        let cancel = CancellationToken::new();
        tokio::spawn(stop_on_signal(cancel.clone()));
        let (progress, bar) = progress_bar();
        let result = crawl::run(settings, &store, &portals, mode, cancel, progress).await;
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        result
    })?;
    print!("{summary}");
    // Compaction needs the archive closed: every handle, including the runtime's tasks', dropped.
    drop(runtime);
    drop(store);
    if !summary.interrupted {
        allocator::give_back_free_memory_at_once();
        compact_after_run(db);
    }
    drop(lock);
    Ok(if summary.dead_portals().is_empty() { Outcome::Ok } else { Outcome::Attention })
}

/// A crawl's closing compaction (see [`store::compact_if_grown`]). It is upkeep, not the crawl's work: a
/// failure leaves the archive as it was and only warns.
fn compact_after_run(db: &Path) {
    match store::compact_if_grown(db) {
        Ok(Some(done)) => tracing::info!(
            before_mb = done.before as f64 / 1e6,
            copy_mb = done.copy as f64 / 1e6,
            swapped = done.swapped,
            "compacted the archive"
        ),
        Ok(None) => {}
        Err(e) => tracing::warn!("{e}; the archive is unchanged, and the next crawl will try again"),
    }
}

fn compact_command(db: &Path) -> anyhow::Result<Outcome> {
    if !db.exists() {
        return Err(anyhow!("no archive at {} (run `nianbao crawl` first, or pass --db)", db.display()));
    }
    let _lock = match RunLock::acquire(db) {
        Ok(lock) => lock,
        Err(e @ nianbao::lock::LockError::Held { .. }) => return Ok(Outcome::Locked(e.to_string())),
        Err(e) => return Err(e.into()),
    };
    let done = store::compact(db)?;
    let mb = |bytes: u64| bytes as f64 / 1e6;
    if done.swapped {
        println!("compacted {}: {:.1} MB -> {:.1} MB on disk", db.display(), mb(done.before), mb(done.copy));
    } else {
        println!(
            "{} kept as it was: {:.1} MB on disk, a fresh copy took {:.1} MB",
            db.display(),
            mb(done.before),
            mb(done.copy)
        );
    }
    Ok(Outcome::Ok)
}

/// The first SIGINT or SIGTERM stops the run cleanly; a second one stops the process at once.
async fn stop_on_signal(cancel: CancellationToken) {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let terminated = async {
        match term.as_mut() {
            Some(t) => {
                t.recv().await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminated => {}
    }
    tracing::warn!("stopping: finishing pages in flight and flushing the archive (signal again to quit at once)");
    cancel.cancel();
    let _ = tokio::signal::ctrl_c().await;
    std::process::exit(130);
}

fn progress_bar() -> (Option<crawl::Progress>, Option<indicatif::ProgressBar>) {
    if !std::io::stderr().is_terminal() {
        return (None, None);
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let shown = bar.clone();
    let hook: crawl::Progress = Arc::new(move |s: &Summary, pending: usize| {
        shown.set_message(format!(
            "{} fetched, {} new reports, {} new versions, {} failed, {} pending",
            s.pages_fetched,
            s.new_reports,
            s.new_versions,
            s.failed(),
            pending
        ));
    });
    (Some(hook), Some(bar))
}

fn export_command(db: &Path, args: ExportArgs) -> anyhow::Result<Outcome> {
    let view = open_store(db)?;
    let store = &view.store;
    let opts = export::ExportOptions { out: args.out.clone(), portals: args.portals, since: args.since };
    let summary = export::export(store, &opts)?;
    if summary.empty {
        eprintln!("nianbao: the selection is empty; wrote an empty snapshot to {}", args.out.display());
    }
    eprintln!(
        "exported {} documents, {} reports, {} WARC records to {}",
        summary.documents,
        summary.reports,
        summary.warc_records,
        args.out.display()
    );
    Ok(Outcome::Ok)
}

/// The JSON `nianbao clean` prints: the same fields as in documents.jsonl.
#[derive(serde::Serialize)]
struct CleanedJson<'a> {
    file: String,
    title: Option<&'a str>,
    published: Option<&'a str>,
    text: String,
    tables: Vec<&'a Vec<Vec<String>>>,
}

fn clean_command(files: &[PathBuf], url: Option<&url::Url>) -> anyhow::Result<Outcome> {
    let mut failed = false;
    let mut out = std::io::stdout().lock();
    for file in files {
        let bytes = match std::fs::read(file) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("nianbao: {}: {e}", file.display());
                failed = true;
                continue;
            }
        };
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned());
        match clean::clean_bytes(&bytes, None, name.as_deref(), url) {
            Ok(doc) => {
                let json = CleanedJson {
                    file: file.display().to_string(),
                    title: doc.title.as_deref(),
                    published: doc.published.as_deref(),
                    text: doc.text(),
                    tables: doc.tables().map(|t| &t.rows).collect(),
                };
                writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?;
            }
            Err(e) => {
                eprintln!("nianbao: {}: {e}", file.display());
                failed = true;
            }
        }
    }
    Ok(if failed { Outcome::Attention } else { Outcome::Ok })
}

fn parse_command(files: &[PathBuf]) -> anyhow::Result<Outcome> {
    let mut reports = Vec::new();
    let mut failed = false;
    for file in files {
        match clean::clean_file(file) {
            Ok(doc) => reports.push(serde_json::to_value(parser::parse_document(&doc))?),
            Err(e) => {
                eprintln!("nianbao: {}: {e}", file.display());
                failed = true;
            }
        }
    }
    let json = match reports.len() {
        1 => serde_json::to_string_pretty(&reports[0])?,
        _ => serde_json::to_string_pretty(&reports)?,
    };
    println!("{json}");
    Ok(if failed { Outcome::Attention } else { Outcome::Ok })
}

fn show_command(db: &Path, url: &str, raw: bool, text: bool) -> anyhow::Result<Outcome> {
    let view = open_store(db)?;
    let store = &view.store;
    let Some(shown) = inspect::show(store, url)? else {
        eprintln!("nianbao: {url} is not in the archive");
        return Ok(Outcome::Attention);
    };
    let mut out = std::io::stdout().lock();
    if raw {
        let sha = shown.page.body_sha256.as_deref().ok_or_else(|| anyhow!("{url}: no body was ever stored"))?;
        let body =
            store.blob(sha)?.ok_or_else(|| anyhow!("{url}: the stored body {sha} is missing; run `nianbao verify`"))?;
        out.write_all(&body)?;
    } else if text {
        let latest = shown.versions.last().ok_or_else(|| anyhow!("{url}: no cleaned text is held"))?;
        out.write_all(latest.document.text().as_bytes())?;
    } else {
        writeln!(out, "{}", serde_json::to_string_pretty(&shown)?)?;
    }
    Ok(Outcome::Ok)
}

fn verify_command(db: &Path) -> anyhow::Result<Outcome> {
    let view = open_store(db)?;
    let problems = inspect::verify(&view.store)?;
    for p in &problems {
        let urls = if p.urls.is_empty() { "(no URL)".to_owned() } else { p.urls.join(", ") };
        println!("corrupt: {urls}: {}", p.what);
    }
    if problems.is_empty() {
        println!("ok: every stored body matches its digest");
        Ok(Outcome::Ok)
    } else {
        println!("{} problem(s) found", problems.len());
        Ok(Outcome::Attention)
    }
}
