//! # godepot-prefetch
//!
//! Fills a store with everything some Go projects need, through the same [`Depot`] as
//! `serve` (so every artifact is validated, fetched once, and stored atomically: safe while a
//! server runs on the same data directory).
//!
//! Two phases: resolve (read the module graph with `godepot-resolve`, and the toolchains
//! the projects name; the go.mod files it reads are fetched and kept as it goes), then keep the zips and `.info` files of the
//! selected versions, and any `.mod` the graph walk did not read (go.sum inputs); last, the
//! checksum database's proof tiles. Zips download [`PrefetchOptions::jobs`] at a time; the
//! small files (go.mod reads, `.info`) [`SMALL_PER_JOB`] times as many, beside them.
//!
//! The caller (the CLI) builds the depot, renders [`Progress`] and prints the [`Report`];
//! nothing here prints. [`dry_run`] resolves without storing anything; [`check()`] resolves
//! from the store alone and says what it lacks, with no network at all.

mod artifact;
mod audit;
mod check;
mod source;
mod tally;
mod toolchain;

use std::sync::Arc;
use std::time::{Duration, Instant};

use godepot_depot::{Depot, Kept, ProofTiles};
use godepot_resolve::{Input, Needs, Problem, ResolveOptions};
use godepot_store::{Kind, Store};
use godepot_upstream::Upstream;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

pub use artifact::Artifact;
pub use audit::{Affected, Audit, audit};
pub use check::{Mismatch, Readiness, check};
pub use toolchain::{Platform, ToolchainError, toolchain_inputs};

use source::{DepotSource, DryRunSource};
use tally::Tally;

/// How to prefetch.
#[derive(Debug, Clone)]
pub struct PrefetchOptions {
    /// How many zips download at once; small files go [`SMALL_PER_JOB`] times as many.
    pub jobs: usize,
    /// For `module@version` inputs, also gather what that module needs to build.
    pub query_deps: bool,
    /// Walk the whole unpruned module graph, not only what the go command loads; what
    /// fails outside the loaded graph is then a warning ([`Report::warnings`]).
    pub full_graph: bool,
    /// Also gather the toolchains the inputs' go.mod and go.work files make the go command
    /// switch to (`godepot_resolve::Resolution::toolchains`), for [`Self::platforms`].
    pub toolchains: bool,
    pub platforms: Vec<Platform>,
    /// The `--private` patterns (GOPRIVATE syntax): modules fetched from their repositories,
    /// whose paths a dry run never asks of the upstream proxy.
    pub private: String,
}

impl Default for PrefetchOptions {
    fn default() -> Self {
        PrefetchOptions {
            jobs: 8,
            query_deps: true,
            full_graph: false,
            toolchains: true,
            platforms: vec![Platform::host()],
            private: String::new(),
        }
    }
}

/// How many small files (`.mod`, `.info`) are fetched at once for each of
/// [`PrefetchOptions::jobs`]. Their time is a round trip each, not bytes: at 8 in flight a
/// real project's 1,003 `.info` files took 35-40 s (about 270 ms each from a remote
/// upstream), after its 963 MiB of zips.
pub const SMALL_PER_JOB: usize = 8;

impl PrefetchOptions {
    /// How many zips are fetched at once (never none, which would wait for ever).
    fn zip_jobs(&self) -> usize {
        self.jobs.max(1)
    }

    /// How many small files are fetched at once.
    fn small_jobs(&self) -> usize {
        self.zip_jobs().saturating_mul(SMALL_PER_JOB)
    }

    fn resolve(&self) -> ResolveOptions {
        ResolveOptions {
            jobs: self.small_jobs(),
            query_deps: self.query_deps,
            full_graph: self.full_graph,
        }
    }
}

/// Where prefetch reports each step as it happens (a progress bar, log lines, nothing).
pub trait Progress: Send + Sync {
    /// A new phase begins.
    fn phase(&self, message: &str);
    /// Fetching begins: `total` artifacts to keep, held or not.
    fn fetching(&self, total: u64);
    /// One artifact is held now.
    fn kept(&self, artifact: &Artifact, kept: &Kept);
    /// One artifact could not be kept.
    fn failed(&self, what: &str, error: &str);
}

/// Reports nothing.
pub struct Quiet;

impl Progress for Quiet {
    fn phase(&self, _: &str) {}
    fn fetching(&self, _: u64) {}
    fn kept(&self, _: &Artifact, _: &Kept) {}
    fn failed(&self, _: &str, _: &str) {}
}

/// What a prefetch did.
#[derive(Debug, Clone)]
pub struct Report {
    /// Module versions needed, and of those, how many need a `.mod` and a `.zip` + `.info`.
    pub versions: usize,
    pub mods: usize,
    pub zips: usize,
    pub fetched: u64,
    pub already_held: u64,
    /// Bytes received from upstream.
    pub bytes_fetched: u64,
    /// Bytes of every artifact needed, held before or not.
    pub bytes_total: u64,
    /// What the go command will miss: the prefetch is incomplete unless this is empty.
    /// Sorted.
    pub failures: Vec<Problem>,
    /// With [`PrefetchOptions::full_graph`]: what could not be had outside the graph the go
    /// command loads. Sorted.
    pub warnings: Vec<Problem>,
    /// Checksum-database tiles held for the go command's proofs.
    pub tiles: ProofTiles,
    pub elapsed: Duration,
}

/// Resolves `inputs` and makes the depot's store hold everything they need.
pub async fn prefetch(
    depot: &Depot,
    inputs: &[Input],
    options: &PrefetchOptions,
    progress: Arc<dyn Progress>,
) -> Report {
    let started = Instant::now();
    let tally = Tally::new(progress);
    tally.progress().phase("resolving the module graph");
    let source = DepotSource {
        depot: depot.clone(),
        tally: tally.clone(),
    };
    let resolution = toolchain::resolve_all(inputs, &source, options).await;
    let needs = resolution.needs;
    let todo = remaining(&needs, &tally);
    tally.progress().phase(&match todo.len() {
        0 => format!(
            "resolved {} module versions; nothing more to fetch",
            versions(&needs)
        ),
        n => format!(
            "resolved {} module versions; {n} more files needed (those held are not fetched again)",
            versions(&needs)
        ),
    });
    tally.progress().fetching(todo.len() as u64);
    keep_all(depot, todo, options, &tally).await;
    tally
        .progress()
        .phase("gathering the checksum database's proof tiles");
    let tiles = depot.gather_proof_tiles().await;
    let mut counts = tally.lock();
    let mut failures = std::mem::take(&mut counts.failures);
    failures.extend(resolution.problems);
    failures.sort();
    failures.dedup();
    Report {
        versions: versions(&needs),
        mods: needs.mods.len(),
        zips: needs.zips.len(),
        fetched: counts.fetched,
        already_held: counts.already_held,
        bytes_fetched: counts.bytes_fetched,
        bytes_total: counts.bytes_total,
        failures,
        warnings: resolution.warnings,
        tiles,
        elapsed: started.elapsed(),
    }
}

/// What a dry run found.
#[derive(Debug, Clone)]
pub struct DryRun {
    pub versions: usize,
    pub mods: usize,
    pub zips: usize,
    /// Every artifact needed, and whether the store holds it.
    pub artifacts: Vec<(Artifact, bool)>,
    /// Inputs or module versions that could not be resolved.
    pub problems: Vec<Problem>,
    /// As [`Report::warnings`].
    pub warnings: Vec<Problem>,
    pub elapsed: Duration,
}

/// Resolves `inputs` from the store (when there is one) and upstream, storing nothing.
pub async fn dry_run(
    store: Option<Arc<dyn Store>>,
    upstream: Option<Upstream>,
    inputs: &[Input],
    options: &PrefetchOptions,
) -> DryRun {
    let started = Instant::now();
    let source = DryRunSource {
        store: store.clone(),
        upstream,
        private: options.private.clone(),
    };
    let resolution = toolchain::resolve_all(inputs, &source, options).await;
    let needs = &resolution.needs;
    let artifacts = needed(needs)
        .map(|artifact| {
            let held = store
                .as_ref()
                .is_some_and(|s| s.contains(&artifact.key()).unwrap_or(false));
            (artifact, held)
        })
        .collect();
    DryRun {
        versions: versions(needs),
        mods: needs.mods.len(),
        zips: needs.zips.len(),
        artifacts,
        problems: resolution.problems,
        warnings: resolution.warnings,
        elapsed: started.elapsed(),
    }
}

/// Every file `needs` makes: each `.mod`, and each zip with its `.info`.
fn needed(needs: &Needs) -> impl Iterator<Item = Artifact> + '_ {
    let all = needs.mods.iter().map(|mv| (mv, Kind::Mod)).chain(
        needs
            .zips
            .iter()
            .flat_map(|mv| [(mv, Kind::Info), (mv, Kind::Zip)]),
    );
    all.map(|((module, version), kind)| Artifact::new(module, version, kind))
}

fn versions(needs: &Needs) -> usize {
    needs
        .mods
        .iter()
        .chain(&needs.zips)
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

/// The artifacts still to keep: every zip and its `.info`, and the `.mod` files the graph
/// walk did not read already.
fn remaining(needs: &Needs, tally: &Tally) -> Vec<Artifact> {
    let counts = tally.lock();
    let mut todo = Vec::new();
    for (module, version) in &needs.mods {
        let artifact = Artifact::new(module, version, Kind::Mod);
        if !counts.done.contains(&artifact) {
            todo.push(artifact);
        }
    }
    for (module, version) in &needs.zips {
        todo.push(Artifact::new(module, version, Kind::Info));
        todo.push(Artifact::new(module, version, Kind::Zip));
    }
    // Zips first: they are the long downloads, best started early.
    todo.sort_by_key(|a| (a.ext != "zip", a.clone()));
    todo
}

/// Keeps every artifact of `todo`: the zips [`PrefetchOptions::jobs`] at a time, and the
/// small files beside them from a pool of their own, so that neither waits on the other.
async fn keep_all(depot: &Depot, todo: Vec<Artifact>, options: &PrefetchOptions, tally: &Tally) {
    let zips = Arc::new(Semaphore::new(options.zip_jobs()));
    let small = Arc::new(Semaphore::new(options.small_jobs()));
    let mut tasks = JoinSet::new();
    for artifact in todo {
        let permits = if artifact.ext == "zip" { &zips } else { &small };
        let (depot, permits, tally) = (depot.clone(), permits.clone(), tally.clone());
        tasks.spawn(async move {
            let Ok(_permit) = permits.acquire_owned().await else {
                return;
            };
            match depot.keep(artifact.key()).await {
                Ok(kept) => tally.kept(&artifact, &kept),
                Err(error) => tally.failed(&artifact, error.to_string()),
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        if let Err(e) = joined {
            tally
                .lock()
                .failures
                .push(Problem::new("prefetch task", e.to_string()));
        }
    }
}
