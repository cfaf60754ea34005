//! The `nianbao` binary: parses the command line, loads settings, runs one command, and maps its
//! outcome to an exit code in one place (0 ok, 1 needs attention, 2 usage, 75 db locked).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Crawl, archive and export Chinese government information-disclosure annual reports (年报).
#[derive(Parser, Debug)]
#[command(name = "nianbao", version, about, propagate_version = true)]
struct Cli {
    /// Settings file.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Portals to crawl.
    #[arg(long, global = true, value_name = "FILE", default_value = "seeds.toml")]
    seeds: PathBuf,
    /// Archive directory (default: `db_path` from the config).
    #[arg(long, global = true, value_name = "DIR")]
    db: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Scheduled, incremental crawl of every portal in the seeds (or the named ones).
    Crawl {
        #[arg(long = "portal", value_name = "NAME")]
        portals: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Crawl { .. } => ExitCode::from(1),
    }
}
