//! `godepot prefetch`: fill a store with everything some Go projects need, through the same
//! depot as `serve` (so every artifact is validated, fetched once, and stored atomically —
//! safe while a server runs on the same data directory).
//!
//! Two phases: resolve (read the module graph; the go.mod files it reads are fetched and
//! stored as it goes), then fetch the zips and `.info` files of the selected versions, and any
//! `.mod` the graph walk did not read (go.sum inputs), `--jobs` at a time.

mod report;
mod source;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use godepot_depot::{Body, Depot};
use godepot_resolve::{Input, Needs, ResolveOptions, resolve};
use godepot_store::{ArtifactKey, Kind, LocalStore, Store};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::cli::LogFormat;
use crate::commands::depot::{self, DepotSettings, Reach};
use crate::config::ConfigFile;
use crate::failure::Failure;
use crate::logging;
use crate::settings::{CacheSettings, StoreSettings, SumdbSettings, UpstreamSettings};

use report::{Artifact, Progress, Summary, Tally};
use source::{DepotSource, DryRunSource};

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  godepot prefetch --data-dir /srv/godepot ./go.mod
  godepot prefetch --data-dir /srv/godepot ~/src          # every go.mod and go.work below
  godepot prefetch --data-dir /srv/godepot example.com/tool@latest modules.txt
  godepot prefetch --data-dir /srv/godepot --toolchain go1.22.3 --platform linux/amd64 \\
      --platform darwin/arm64")]
pub(crate) struct PrefetchArgs {
    /// What to fetch for: go.mod, go.work or go.sum files; directories (every go.mod and
    /// go.work below them, skipping vendor, testdata and dot-dirs); module@version or
    /// module@latest; or files listing those, one per line (# starts a comment).
    #[arg(value_name = "INPUT", required_unless_present = "toolchain")]
    pub(crate) inputs: Vec<String>,

    /// A Go toolchain to gather (the `golang.org/toolchain` module the go command downloads
    /// for GOTOOLCHAIN), e.g. go1.22.3. Repeatable.
    #[arg(long, value_name = "GOVERSION")]
    pub(crate) toolchain: Vec<String>,

    /// Platforms of the --toolchain downloads, as GOOS/GOARCH. Repeatable
    /// [default: this machine's].
    #[arg(long, value_name = "GOOS/GOARCH", requires = "toolchain")]
    pub(crate) platform: Vec<String>,

    // The store to fill; created if absent.
    #[command(flatten)]
    pub(crate) store: StoreSettings,

    #[command(flatten)]
    pub(crate) upstream: UpstreamSettings,

    /// How many downloads run at once.
    #[arg(long, short = 'j', default_value_t = 8, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) jobs: u16,

    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,

    /// Resolve and print what would be fetched; store nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,

    /// For module@version inputs, fetch only that version, not what it needs to build.
    #[arg(long)]
    pub(crate) no_deps: bool,

    #[command(flatten)]
    pub(crate) cache: CacheSettings,

    // Checksum databases, as for `serve`: the lookup answers and tiles that prove each
    // module fetched are kept for an offline `serve`; with a key every module is also
    // checked against the database [default: $GOSUMDB, else `go env GOSUMDB`].
    #[command(flatten)]
    pub(crate) sumdb: SumdbSettings,
}

/// The arguments, merged with the config file and checked.
struct Settings {
    inputs: Vec<Input>,
    data_dir: PathBuf,
    upstream: Option<String>,
    list_ttl: Duration,
    upstream_timeout: Duration,
    sumdb: Option<String>,
    nosumdb: Option<String>,
    reach: Reach,
    jobs: usize,
    json: bool,
    dry_run: bool,
    no_deps: bool,
}

pub(crate) fn run(file: &ConfigFile, args: PrefetchArgs) -> Result<(), Failure> {
    let settings = settings(file, args)?;
    // Only warnings: progress and the summary are this command's output.
    logging::init(LogFormat::Text, "warn")?;
    let runtime = depot::runtime()?;
    if settings.dry_run {
        runtime.block_on(dry_run(settings))
    } else {
        runtime.block_on(prefetch(settings))
    }
}

fn settings(file: &ConfigFile, args: PrefetchArgs) -> Result<Settings, Failure> {
    let mut inputs = Vec::new();
    for arg in &args.inputs {
        inputs.push(Input::parse_arg(arg).map_err(|e| {
            Failure::config(e.to_string()).hint(
                "give go.mod, go.work or go.sum files, directories, list files, or module@version",
            )
        })?);
    }
    inputs.extend(toolchain_inputs(&args.toolchain, &args.platform)?);
    let upstream = file.merge(args.upstream)?;
    let sumdb = file.merge(args.sumdb)?;
    Ok(Settings {
        inputs,
        data_dir: file.merge(args.store)?.data_dir()?,
        upstream_timeout: upstream.upstream_timeout(),
        reach: Reach::new(file, &upstream)?,
        upstream: upstream.upstream,
        list_ttl: file.merge(args.cache)?.list_ttl(),
        sumdb: sumdb.sumdb,
        nosumdb: sumdb.nosumdb,
        jobs: usize::from(args.jobs),
        json: args.json,
        dry_run: args.dry_run,
        no_deps: args.no_deps,
    })
}

/// One `golang.org/toolchain@v0.0.1-go<version>.<goos>-<goarch>` input per toolchain and
/// platform.
fn toolchain_inputs(toolchains: &[String], platforms: &[String]) -> Result<Vec<Input>, Failure> {
    let host = godepot_module::host_platform();
    let platforms: Vec<(&str, &str)> = if platforms.is_empty() {
        vec![host]
    } else {
        platforms
            .iter()
            .map(|p| {
                p.split_once('/').ok_or_else(|| {
                    Failure::config(format!(
                        "--platform {p:?}: want GOOS/GOARCH, e.g. linux/amd64"
                    ))
                })
            })
            .collect::<Result<_, _>>()?
    };
    let mut inputs = Vec::new();
    for go in toolchains {
        for &(goos, goarch) in &platforms {
            let (module, version) = godepot_module::toolchain_version(go, goos, goarch)
                .map_err(|e| Failure::config(format!("--toolchain {go}: {e}")))?;
            inputs.push(Input::Query {
                module,
                query: godepot_resolve::Query::Version(version),
            });
        }
    }
    Ok(inputs)
}

/// No address is served: port 0 matches no upstream URL, so only real loops are refused.
fn no_listen() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 0))
}

fn resolve_options(settings: &Settings) -> ResolveOptions {
    ResolveOptions {
        jobs: settings.jobs,
        query_deps: !settings.no_deps,
    }
}

async fn prefetch(settings: Settings) -> Result<(), Failure> {
    let started = Instant::now();
    let depot_settings = DepotSettings {
        data_dir: &settings.data_dir,
        upstream: settings.upstream.as_deref(),
        offline: false,
        list_ttl: settings.list_ttl,
        upstream_timeout: settings.upstream_timeout,
        instance_id: depot::instance_id(),
        listen: no_listen(),
        reach: &settings.reach,
    };
    let mut sumdb = depot::sumdb_options(
        settings.sumdb.as_deref(),
        settings.nosumdb.as_deref(),
        &depot_settings,
    )?;
    // Inside the air gap the go command verifies with its own key: keep the records even
    // when godepot was not given the key.
    sumdb.gather = true;
    let built = depot::build_with_sumdb(&depot_settings, sumdb)?;
    let progress = Progress::new();
    let tally = Arc::new(Mutex::new(Tally {
        progress: Some(progress.clone()),
        ..Tally::default()
    }));
    progress.phase("resolving the module graph");
    let source = DepotSource {
        depot: built.depot.clone(),
        tally: tally.clone(),
    };
    let resolution = resolve(&settings.inputs, &source, &resolve_options(&settings)).await;
    let needs = resolution.needs;
    {
        let mut tally = lock(&tally);
        for problem in resolution.problems {
            // A go.mod that failed to fetch was recorded already, under its artifact.
            let recorded = tally
                .failures
                .iter()
                .any(|(what, _)| what.strip_suffix(" .mod") == Some(problem.subject.as_str()));
            if !recorded {
                tally.failures.push((problem.subject, problem.message));
            }
        }
    }
    let todo = remaining(&needs, &lock(&tally));
    progress.phase(&format!(
        "resolved {} module versions; fetching {} files",
        versions(&needs),
        todo.len()
    ));
    progress.fetching(todo.len() as u64);
    fetch_all(&built.depot, &built.store, todo, settings.jobs, &tally).await;
    progress.phase("gathering the checksum database's proof tiles");
    let tiles = built.depot.gather_proof_tiles().await;
    progress.finish();
    let mut tally = lock(&tally);
    tally.failures.sort();
    let summary = Summary {
        versions: versions(&needs),
        mods: needs.mods.len(),
        zips: needs.zips.len(),
        tiles,
        elapsed: started.elapsed(),
    };
    finish(&summary, &tally, settings.json)
}

fn finish(summary: &Summary, tally: &Tally, json: bool) -> Result<(), Failure> {
    if json {
        println!("{}", summary.json(tally));
    }
    summary.print_text(tally);
    match tally.failures.len() {
        0 => Ok(()),
        n => Err(Failure::runtime(format!(
            "prefetch incomplete: {n} failure(s), listed above"
        ))),
    }
}

fn lock(tally: &Mutex<Tally>) -> std::sync::MutexGuard<'_, Tally> {
    tally.lock().unwrap_or_else(|e| e.into_inner())
}

fn versions(needs: &Needs) -> usize {
    needs
        .mods
        .iter()
        .chain(&needs.zips)
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

/// The artifacts still to fetch: every zip and its `.info`, and the `.mod` files the graph
/// walk did not read already.
fn remaining(needs: &Needs, tally: &Tally) -> Vec<Artifact> {
    let mut todo = Vec::new();
    for (module, version) in &needs.mods {
        let artifact = Artifact::new(module, version, Kind::Mod);
        if !tally.done.contains(&artifact) {
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

async fn fetch_all(
    depot: &Depot,
    store: &Arc<LocalStore>,
    todo: Vec<Artifact>,
    jobs: usize,
    tally: &Arc<Mutex<Tally>>,
) {
    let permits = Arc::new(Semaphore::new(jobs));
    let mut tasks = JoinSet::new();
    for artifact in todo {
        let (depot, store, permits, tally) =
            (depot.clone(), store.clone(), permits.clone(), tally.clone());
        tasks.spawn(async move {
            let Ok(_permit) = permits.acquire_owned().await else {
                return;
            };
            let outcome = fetch_one(&depot, &store, &artifact).await;
            let mut tally = lock(&tally);
            match outcome {
                Ok((bytes, held)) => tally.record_ok(&artifact, bytes, held),
                Err(error) => tally.record_failure(&artifact, error),
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        if let Err(e) = joined {
            lock(tally)
                .failures
                .push(("prefetch task".into(), e.to_string()));
        }
    }
}

/// Fetches one artifact through the depot and drains its body. Returns its size and
/// whether the store held it already.
async fn fetch_one(
    depot: &Depot,
    store: &Arc<LocalStore>,
    artifact: &Artifact,
) -> Result<(u64, bool), String> {
    let (module, version) = (&artifact.module, &artifact.version);
    // Asked before fetching: the depot answers a zip it finished fetching quickly as a
    // store hit, so the answer's cache status cannot tell "held before" apart.
    let held = is_held(store, artifact).await?;
    let answer = match artifact.ext {
        "info" => depot.info(module, version.as_str()).await,
        "mod" => depot.go_mod(module, version).await,
        _ => depot.zip(module, version).await,
    }
    .map_err(|e| e.to_string())?;
    let bytes = match answer.body {
        Body::Bytes(data) | Body::Small { data, .. } => data.len() as u64,
        Body::File(file) => file.len,
        Body::Stream { mut stream, .. } => {
            let mut n = 0u64;
            while let Some(chunk) = stream.next().await {
                n += chunk.map_err(|e| e.to_string())?.len() as u64;
            }
            n
        }
    };
    // A relayed zip is only worth counting once the depot has checked and stored it.
    if artifact.ext == "zip" && !is_held(store, artifact).await? {
        return Err("the zip was received but is not in the store (it failed its checks)".into());
    }
    Ok((bytes, held))
}

async fn is_held(store: &Arc<LocalStore>, artifact: &Artifact) -> Result<bool, String> {
    let kind = match artifact.ext {
        "info" => Kind::Info,
        "mod" => Kind::Mod,
        _ => Kind::Zip,
    };
    let key = ArtifactKey::new(artifact.module.clone(), artifact.version.clone(), kind);
    let store = store.clone();
    tokio::task::spawn_blocking(move || store.contains(&key))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("store: {e}"))
}

/// `--dry-run`: resolve without storing, then print each artifact the store lacks.
async fn dry_run(settings: Settings) -> Result<(), Failure> {
    let started = Instant::now();
    // Never create the data directory: a dry run leaves no trace.
    let store = match settings.data_dir.is_dir() {
        true => Some(Arc::new(depot::open_store(&settings.data_dir)?)),
        false => None,
    };
    let upstream = depot::upstream_client(&DepotSettings {
        data_dir: &settings.data_dir,
        upstream: settings.upstream.as_deref(),
        offline: false,
        list_ttl: settings.list_ttl,
        upstream_timeout: settings.upstream_timeout,
        instance_id: depot::instance_id(),
        listen: no_listen(),
        reach: &settings.reach,
    })?;
    let source = DryRunSource {
        store: store.clone(),
        upstream,
        private: settings.reach.private.clone(),
    };
    let resolution = resolve(&settings.inputs, &source, &resolve_options(&settings)).await;
    let needs = &resolution.needs;
    let mut wanted: Vec<(Artifact, bool)> = Vec::new();
    let all = needs.mods.iter().map(|mv| (mv, Kind::Mod)).chain(
        needs
            .zips
            .iter()
            .flat_map(|mv| [(mv, Kind::Info), (mv, Kind::Zip)]),
    );
    for ((module, version), kind) in all {
        let key = ArtifactKey::new(module.clone(), version.clone(), kind);
        let held = store
            .as_ref()
            .is_some_and(|s| s.contains(&key).unwrap_or(false));
        wanted.push((Artifact::new(module, version, kind), held));
    }
    let held = wanted.iter().filter(|(_, held)| *held).count();
    let problems: Vec<(String, String)> = resolution
        .problems
        .iter()
        .map(|p| (p.subject.clone(), p.message.clone()))
        .collect();
    if settings.json {
        println!("{}", dry_run_json(&wanted, &problems, needs, started));
    } else {
        for (artifact, _) in wanted.iter().filter(|(_, held)| !held) {
            println!("{artifact}");
        }
    }
    eprintln!(
        "dry run: {} module versions; would fetch {} files, {} already held; {} failed to resolve",
        versions(needs),
        wanted.len() - held,
        held,
        problems.len()
    );
    for (what, error) in &problems {
        eprintln!("  {what}: {error}");
    }
    match problems.len() {
        0 => Ok(()),
        n => Err(Failure::runtime(format!(
            "dry run: {n} input(s) or module version(s) could not be resolved"
        ))),
    }
}

fn dry_run_json(
    wanted: &[(Artifact, bool)],
    problems: &[(String, String)],
    needs: &Needs,
    started: Instant,
) -> serde_json::Value {
    let artifacts: Vec<_> = wanted
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
    let failures: Vec<_> = problems
        .iter()
        .map(|(what, error)| serde_json::json!({ "what": what, "error": error }))
        .collect();
    serde_json::json!({
        "dry_run": true,
        "versions": versions(needs),
        "mods": needs.mods.len(),
        "zips": needs.zips.len(),
        "would_fetch": wanted.iter().filter(|(_, held)| !held).count(),
        "already_held": wanted.iter().filter(|(_, held)| *held).count(),
        "failed": problems.len(),
        "elapsed_seconds": started.elapsed().as_secs_f64(),
        "artifacts": artifacts,
        "failures": failures,
    })
}
