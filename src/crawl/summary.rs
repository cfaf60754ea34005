//! What a run did, for the end-of-run summary (a cron mail) and the exit code.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use serde::Serialize;

/// Counts for one run; filled by the engine as pages complete.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Summary {
    /// HTTP requests that got an answer (content, 304 or error status).
    pub pages_fetched: u64,
    pub list_pages: u64,
    /// Documents archived for the first time.
    pub new_reports: u64,
    pub new_attachments: u64,
    /// Held documents whose cleaned text changed.
    pub new_versions: u64,
    /// New documents and versions in which the parser found the standard tables.
    pub parsed_reports: u64,
    /// Of those, how many failed a consistency check (each is logged with the checks' names).
    pub failed_checks: u64,
    /// Refetches whose cleaned text (or whose bytes) had not changed, and 304s.
    pub unchanged: u64,
    /// Held pages now answered with 404 or 410.
    pub gone: u64,
    /// Same document at another URL.
    pub aliases: u64,
    /// Failures by kind (`timeout`, `http_5xx`, `clean`, …).
    pub failures: BTreeMap<String, u64>,
    pub blocked_hosts: BTreeSet<String>,
    /// Per portal: (pages answered, pages failed); a portal whose every page failed needs a look.
    pub portals: BTreeMap<String, (u64, u64)>,
    pub elapsed: Duration,
    /// The run was stopped by a signal; the next run resumes it.
    pub interrupted: bool,
    /// The run resumed an earlier, unfinished one.
    pub resumed: bool,
}

impl Summary {
    /// Portals that were tried and answered nothing at all.
    pub fn dead_portals(&self) -> Vec<&str> {
        self.portals.iter().filter(|(_, (ok, failed))| *ok == 0 && *failed > 0).map(|(n, _)| n.as_str()).collect()
    }

    pub fn failed(&self) -> u64 {
        self.failures.values().sum()
    }

    pub(crate) fn fail(&mut self, portal: &str, kind: &str) {
        *self.failures.entry(kind.to_owned()).or_default() += 1;
        self.portals.entry(portal.to_owned()).or_default().1 += 1;
    }

    pub(crate) fn answered(&mut self, portal: &str) {
        self.pages_fetched += 1;
        self.portals.entry(portal.to_owned()).or_default().0 += 1;
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match (self.interrupted, self.resumed) {
            (true, _) => "interrupted (the next run resumes it)",
            (false, true) => "finished (resumed run)",
            (false, false) => "finished",
        };
        writeln!(f, "nianbao run {state} in {:.1}s", self.elapsed.as_secs_f64())?;
        writeln!(f, "  pages fetched   {} ({} list pages)", self.pages_fetched, self.list_pages)?;
        writeln!(f, "  new reports     {}", self.new_reports)?;
        writeln!(f, "  new attachments {}", self.new_attachments)?;
        writeln!(f, "  new versions    {}", self.new_versions)?;
        writeln!(f, "  parsed tables   {} ({} with failed checks)", self.parsed_reports, self.failed_checks)?;
        writeln!(f, "  unchanged       {}", self.unchanged)?;
        writeln!(f, "  gone            {}", self.gone)?;
        writeln!(f, "  aliases         {}", self.aliases)?;
        if self.failures.is_empty() {
            writeln!(f, "  failures        0")?;
        } else {
            let kinds: Vec<String> = self.failures.iter().map(|(k, n)| format!("{k} {n}")).collect();
            writeln!(f, "  failures        {} ({})", self.failed(), kinds.join(", "))?;
        }
        if !self.blocked_hosts.is_empty() {
            let hosts: Vec<&str> = self.blocked_hosts.iter().map(String::as_str).collect();
            writeln!(f, "  blocked hosts   {}", hosts.join(", "))?;
        }
        for portal in self.dead_portals() {
            writeln!(f, "  portal {portal}: every page failed")?;
        }
        Ok(())
    }
}
