//! What prefetch tells the user: progress while it runs, then a summary (text on stderr, or
//! JSON on stdout with `--json`) and the lists of failures and warnings.

use std::io::IsTerminal;
use std::time::Duration;

use godepot_depot::{Kept, Outcome};
use godepot_prefetch::{Artifact, DryRun, Report};
use godepot_resolve::Problem;
use indicatif::{ProgressBar, ProgressStyle};

use crate::progress::{count, human_bytes};

/// A bar on a terminal; otherwise one plain line per artifact fetched or failed.
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

    pub(super) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl godepot_prefetch::Progress for Progress {
    fn phase(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(message.to_owned()),
            None => eprintln!("{message}"),
        }
    }

    /// Switches the spinner to a bar over `total` artifacts.
    fn fetching(&self, total: u64) {
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

    fn kept(&self, artifact: &Artifact, kept: &Kept) {
        match &self.bar {
            Some(bar) => {
                bar.inc(1);
                bar.set_message(artifact.to_string());
            }
            None if kept.outcome == Outcome::Stored => {
                eprintln!("fetched {artifact} ({})", human_bytes(kept.len))
            }
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
}

pub(super) fn print_text(report: &Report) {
    eprintln!(
        "prefetch: {} ({} .mod, {} .zip + .info): {} fetched ({}), {} already held, {} failed{}, in {:.1}s",
        count(report.versions as u64, "module version"),
        report.mods,
        report.zips,
        report.fetched,
        human_bytes(report.bytes_fetched),
        report.already_held,
        report.failures.len(),
        match report.warnings.len() {
            0 => String::new(),
            n => format!(", {} (versions no build needs)", count(n as u64, "warning")),
        },
        report.elapsed.as_secs_f64()
    );
    let tiles = &report.tiles;
    if tiles.held + tiles.failed > 0 {
        eprintln!(
            "checksum database: {} tiles held for the go command's proofs{}",
            tiles.held,
            match tiles.failed {
                0 => String::new(),
                n => format!(
                    " ({n} could not be fetched: the go command inside may fail to verify some modules; see the warnings above)"
                ),
            }
        );
    }
    print_problems("failures", &report.failures);
    print_problems(
        "warnings (outside the graph the go command loads; --full-graph only)",
        &report.warnings,
    );
}

fn print_problems(title: &str, problems: &[Problem]) {
    if !problems.is_empty() {
        eprintln!("{title}:");
        for problem in problems {
            eprintln!("  {problem}");
        }
    }
}

fn problems_json(problems: &[Problem]) -> Vec<serde_json::Value> {
    problems
        .iter()
        .map(|p| serde_json::json!({ "what": p.subject, "error": p.message }))
        .collect()
}

pub(super) fn json(report: &Report) -> serde_json::Value {
    serde_json::json!({
        "versions": report.versions,
        "mods": report.mods,
        "zips": report.zips,
        "fetched": report.fetched,
        "already_held": report.already_held,
        "failed": report.failures.len(),
        "warned": report.warnings.len(),
        "sumdb_tiles_held": report.tiles.held,
        "sumdb_tiles_failed": report.tiles.failed,
        "bytes_fetched": report.bytes_fetched,
        "bytes_total": report.bytes_total,
        "elapsed_seconds": report.elapsed.as_secs_f64(),
        "failures": problems_json(&report.failures),
        "warnings": problems_json(&report.warnings),
    })
}

pub(super) fn print_dry_run(found: &DryRun) {
    let held = found.artifacts.iter().filter(|(_, held)| *held).count();
    eprintln!(
        "dry run: {}; would fetch {}, {} already held; {} failed to resolve",
        count(found.versions as u64, "module version"),
        count((found.artifacts.len() - held) as u64, "file"),
        held,
        found.problems.len()
    );
    for problem in &found.problems {
        eprintln!("  {problem}");
    }
    print_problems(
        "warnings (outside the graph the go command loads; --full-graph only)",
        &found.warnings,
    );
}

pub(super) fn dry_run_json(found: &DryRun) -> serde_json::Value {
    let artifacts: Vec<_> = found
        .artifacts
        .iter()
        .map(|(a, held)| {
            serde_json::json!({
                "module": a.module.as_str(),
                "version": a.version.as_str(),
                "kind": a.ext,
                "held": held,
            })
        })
        .collect();
    let held = found.artifacts.iter().filter(|(_, held)| *held).count();
    serde_json::json!({
        "dry_run": true,
        "versions": found.versions,
        "mods": found.mods,
        "zips": found.zips,
        "would_fetch": found.artifacts.len() - held,
        "already_held": held,
        "failed": found.problems.len(),
        "warned": found.warnings.len(),
        "elapsed_seconds": found.elapsed.as_secs_f64(),
        "artifacts": artifacts,
        "failures": problems_json(&found.problems),
        "warnings": problems_json(&found.warnings),
    })
}
