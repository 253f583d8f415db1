//! What prefetch tells the user: progress while it runs, then a summary (text on stderr, or
//! JSON on stdout with `--json`) and the list of failures.

use std::collections::BTreeSet;
use std::fmt;
use std::io::IsTerminal;
use std::time::Duration;

use godepot_depot::ProofTiles;
use godepot_module::{ModulePath, Version};
use godepot_store::Kind;
use indicatif::{ProgressBar, ProgressStyle};

use crate::progress::human_bytes;

/// One file of one module version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Artifact {
    pub(super) module: ModulePath,
    pub(super) version: Version,
    /// `mod`, `info` or `zip`.
    pub(super) ext: &'static str,
}

impl Artifact {
    pub(super) fn new(module: &ModulePath, version: &Version, kind: Kind) -> Self {
        Artifact {
            module: module.clone(),
            version: version.clone(),
            ext: kind.extension(),
        }
    }
}

impl fmt::Display for Artifact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{} .{}", self.module, self.version, self.ext)
    }
}

/// Counts of everything done so far.
#[derive(Debug, Default)]
pub(super) struct Tally {
    pub(super) fetched: u64,
    pub(super) already_held: u64,
    /// Bytes received from upstream.
    pub(super) bytes_fetched: u64,
    /// Bytes of every artifact needed, held before or not.
    pub(super) bytes_total: u64,
    pub(super) done: BTreeSet<Artifact>,
    pub(super) failures: Vec<(String, String)>,
    /// Set once fetching starts, so go.mod files read while resolving show in the log too.
    pub(super) progress: Option<Progress>,
}

impl Tally {
    pub(super) fn record_ok(&mut self, artifact: &Artifact, bytes: u64, held: bool) {
        if !self.done.insert(artifact.clone()) {
            return;
        }
        self.bytes_total += bytes;
        if held {
            self.already_held += 1;
        } else {
            self.fetched += 1;
            self.bytes_fetched += bytes;
        }
        if let Some(p) = &self.progress {
            p.finished(artifact, bytes, held);
        }
    }

    pub(super) fn record_failure(&mut self, artifact: &Artifact, error: String) {
        if !self.done.insert(artifact.clone()) {
            return;
        }
        if let Some(p) = &self.progress {
            p.failed(&artifact.to_string(), &error);
        }
        self.failures.push((artifact.to_string(), error));
    }
}

/// A bar on a terminal; otherwise one plain line per artifact fetched or failed.
#[derive(Debug, Clone)]
pub(super) struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    pub(super) fn new() -> Self {
        if !std::io::stderr().is_terminal() {
            return Progress { bar: None };
        }
        let bar = ProgressBar::new_spinner();
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress { bar: Some(bar) }
    }

    pub(super) fn phase(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(message.to_owned()),
            None => eprintln!("{message}"),
        }
    }

    /// Switches the spinner to a bar over `total` artifacts.
    pub(super) fn fetching(&self, total: u64) {
        if let Some(bar) = &self.bar {
            bar.set_length(total);
            bar.set_position(0);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{bar:30}] {pos}/{len} {msg} ({binary_bytes_per_sec}, {elapsed})",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
        }
    }

    fn finished(&self, artifact: &Artifact, bytes: u64, held: bool) {
        match &self.bar {
            Some(bar) => {
                bar.inc(1);
                bar.set_message(artifact.to_string());
            }
            None if !held => eprintln!("fetched {artifact} ({})", human_bytes(bytes)),
            None => {}
        }
    }

    fn failed(&self, what: &str, error: &str) {
        match &self.bar {
            Some(bar) => {
                bar.inc(1);
                bar.println(format!("failed  {what}: {error}"));
            }
            None => eprintln!("failed  {what}: {error}"),
        }
    }

    pub(super) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// What was done, for the summary.
pub(super) struct Summary {
    pub(super) versions: usize,
    pub(super) mods: usize,
    pub(super) zips: usize,
    /// Checksum-database tiles held for the go command's proofs.
    pub(super) tiles: ProofTiles,
    pub(super) elapsed: Duration,
}

impl Summary {
    pub(super) fn print_text(&self, tally: &Tally) {
        eprintln!(
            "prefetch: {} module versions ({} .mod, {} .zip + .info): {} fetched ({}), {} already held, {} failed, in {:.1}s",
            self.versions,
            self.mods,
            self.zips,
            tally.fetched,
            human_bytes(tally.bytes_fetched),
            tally.already_held,
            tally.failures.len(),
            self.elapsed.as_secs_f64()
        );
        if self.tiles.held + self.tiles.failed > 0 {
            eprintln!(
                "checksum database: {} tiles held for the go command's proofs{}",
                self.tiles.held,
                match self.tiles.failed {
                    0 => String::new(),
                    n => format!(
                        " ({n} could not be fetched: the go command inside may fail to verify some modules; see the warnings above)"
                    ),
                }
            );
        }
        if !tally.failures.is_empty() {
            eprintln!("failures:");
            for (what, error) in &tally.failures {
                eprintln!("  {what}: {error}");
            }
        }
    }

    pub(super) fn json(&self, tally: &Tally) -> serde_json::Value {
        let failures: Vec<_> = tally
            .failures
            .iter()
            .map(|(what, error)| serde_json::json!({ "what": what, "error": error }))
            .collect();
        serde_json::json!({
            "versions": self.versions,
            "mods": self.mods,
            "zips": self.zips,
            "fetched": tally.fetched,
            "already_held": tally.already_held,
            "failed": tally.failures.len(),
            "sumdb_tiles_held": self.tiles.held,
            "sumdb_tiles_failed": self.tiles.failed,
            "bytes_fetched": tally.bytes_fetched,
            "bytes_total": tally.bytes_total,
            "elapsed_seconds": self.elapsed.as_secs_f64(),
            "failures": failures,
        })
    }
}
