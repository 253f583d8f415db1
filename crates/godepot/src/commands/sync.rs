//! `godepot sync` and `serve --sync-interval`: the arguments, and the glue around
//! `godepot_depot::sync` (the depot built as `serve` builds it, a progress bar, the summary,
//! the exit code; in `serve`, a timer and log lines).

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::time::Duration;

use godepot_depot::{Depot, NoProgress, SyncOptions, SyncProgress, SyncReport};
use godepot_module::ModulePath;
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::LogFormat;
use crate::commands::depot::{self, DepotSettings, Reach};
use crate::config::ConfigFile;
use crate::datadir;
use crate::failure::Failure;
use crate::logging;
use crate::progress::count;
use crate::settings::{
    CoordinationSettings, FollowSettings, PolicySettings, StoreSettings, SumdbSettings,
    UpstreamSettings, VulnDbSettings,
};
use crate::storage::StoreLocation;

/// For every module held (or those --modules names), ask upstream again for its list and
/// @latest, conditionally (an answer that has not changed costs a 304), and keep them as the
/// answers to serve; then fetch the new versions --follow allows, each checked and subject to
/// the policy like any other. Exits 0 when all went well, 1 when something could not be done
/// (upstream down, a version refused by a check), 2 on a usage or I/O error.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  godepot sync --data-dir /srv/godepot                       # refresh lists and @latest
  godepot sync --data-dir /srv/godepot --follow patch        # and fetch new patch releases
  godepot sync --data-dir /srv/godepot --modules 'corp.example/*' --follow minor --json
  godepot sync --storage s3://modules/depot --coordination redis://10.0.0.5:6379")]
pub(crate) struct SyncArgs {
    /// Only the modules matching these comma-separated glob patterns of path prefixes, as in
    /// GOPRIVATE [default: every module held].
    #[arg(long, value_name = "PATTERNS")]
    pub(crate) modules: Option<String>,

    #[command(flatten)]
    pub(crate) follow: FollowSettings,

    // The store to sync (a data directory or a bucket); it must exist.
    #[command(flatten)]
    pub(crate) store: StoreSettings,

    // On a bucket that replicas serve: take the same leases as they do, so that a version
    // is fetched once among all of them.
    #[command(flatten)]
    pub(crate) coordination: CoordinationSettings,

    #[command(flatten)]
    pub(crate) upstream: UpstreamSettings,

    // Versions fetched are checked against the checksum databases, as `serve` does.
    #[command(flatten)]
    pub(crate) sumdb: SumdbSettings,

    // Blocked versions are not fetched; each is reported with its rule and reason.
    #[command(flatten)]
    pub(crate) policy: PolicySettings,

    // With a source, the whole vulnerability database is mirrored too.
    #[command(flatten)]
    pub(crate) vulndb: VulnDbSettings,

    /// How many modules are worked on at once.
    #[arg(long, short = 'j', default_value_t = 8, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) jobs: u16,

    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

pub(crate) fn run(file: &ConfigFile, args: SyncArgs) -> Result<(), Failure> {
    let location = file.merge(args.store)?.location()?;
    if let StoreLocation::Dir(dir) = &location {
        datadir::existing_dir(dir)?;
    }
    let coordination = file.merge(args.coordination)?;
    let upstream = file.merge(args.upstream)?;
    let sumdb = file.merge(args.sumdb)?;
    let reach = Reach::new(file, &upstream)?;
    let policy = file.merge(args.policy)?.load()?;
    let vulndb = file.merge(args.vulndb)?.source();
    let options = SyncOptions {
        modules: args.modules,
        follow: file.merge(args.follow)?.follow(),
        jobs: usize::from(args.jobs),
    };
    // Only warnings: progress and the summary are this command's output.
    logging::init(LogFormat::Text, "warn")?;
    depot::runtime()?.block_on(async {
        let settings = DepotSettings {
            store: depot::StoreAt::of(&location),
            upstream: upstream.upstream.as_deref(),
            offline: false,
            // Asked now, whatever was asked before: that is the point. (Also how often a
            // repository is fetched from, for private modules.)
            list_ttl: Duration::ZERO,
            upstream_timeout: upstream.upstream_timeout(),
            instance_id: depot::instance_id(),
            // No address is served: port 0 matches no upstream URL.
            listen: SocketAddr::from(([0, 0, 0, 0], 0)),
            reach: &reach,
            // Sync is no client (nothing noted for gc), and has no /metrics.
            access: None,
            upstream_metrics: None,
            vulndb,
            disk_cache: None,
            // Within the runtime: the Redis client connects on it.
            coordination: coordination.coordination()?,
        };
        let sumdb = depot::sumdb_options(sumdb.sumdb.as_deref(), sumdb.nosumdb.as_deref(), &settings)?;
        let built = depot::build_with_sumdb(&settings, sumdb)?;
        if built.depot.is_offline() {
            return Err(Failure::config("sync needs an upstream, and the upstream is 'off'")
                .hint("pass --upstream with the proxies to follow"));
        }
        crate::policy::put_in_force(&built.depot, policy);
        let progress = Bar::new();
        let report = godepot_depot::sync(&built.depot, &options, &progress)
            .await
            .map_err(|e| Failure::io(format!("cannot list the modules held: {e}")))?;
        progress.finish();
        let mirrored = if built.depot.has_vulndb_source() {
            Some(built.depot.mirror_vulndb().await)
        } else {
            None
        };
        print(&report, mirrored.as_ref(), args.json);
        let failures = report.failures.len() + usize::from(matches!(mirrored, Some(Err(_))));
        match failures {
            0 => Ok(()),
            n => Err(Failure::runtime(format!(
                "sync incomplete: {}, listed above",
                count(n as u64, "failure")
            ))
            .hint("nothing was changed for a module that failed; run sync again once upstream answers")),
        }
    })
}

type Mirrored = Result<godepot_depot::MirrorReport, godepot_depot::DepotError>;

fn print(report: &SyncReport, mirrored: Option<&Mirrored>, json: bool) {
    if json {
        let mut value = serde_json::to_value(report).unwrap_or_default();
        if let (Some(object), Some(m)) = (value.as_object_mut(), mirrored) {
            object.insert("vulndb".into(), mirror_json(m));
        }
        println!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        );
    } else {
        for f in &report.fetched {
            println!("fetched\t{}@{}", f.module, f.version);
        }
        for (what, list) in [("blocked", &report.blocked), ("failed", &report.failures)] {
            for f in list {
                let at = f
                    .version
                    .as_deref()
                    .map(|v| format!("@{v}"))
                    .unwrap_or_default();
                println!("{what}\t{}{at}\t{}", f.module, f.reason);
            }
        }
    }
    if let Some(m) = mirrored {
        match m {
            Ok(r) => eprintln!("{}", mirror_summary(r)),
            Err(e) => println!("failed\tvulnerability database\t{e}"),
        }
    }
    eprintln!("{}", summary(report));
}

/// The vulnerability database's part of the JSON report.
pub(crate) fn mirror_json(m: &Mirrored) -> serde_json::Value {
    match m {
        Ok(r) => serde_json::json!({
            "modified": r.modified,
            "previous": r.previous,
            "entries": r.entries,
            "fetched": r.fetched,
        }),
        Err(e) => serde_json::json!({ "error": e.to_string() }),
    }
}

/// One line on what a mirror of the vulnerability database did.
pub(crate) fn mirror_summary(r: &godepot_depot::MirrorReport) -> String {
    let was = match &r.previous {
        Some(p) if *p == r.modified => "unchanged".to_string(),
        Some(p) => format!("was {p}"),
        None => "new".to_string(),
    };
    format!(
        "vulnerability database: modified {} ({was}), {}, {} fetched",
        r.modified,
        if r.entries == 1 {
            "1 entry".to_string()
        } else {
            format!("{} entries", r.entries)
        },
        r.fetched
    )
}

/// The one-line summary, for the terminal and the server's log.
fn summary(report: &SyncReport) -> String {
    format!(
        "synced {} (follow {}): {} unchanged (304), {} changed, {} fetched, {} blocked, {}",
        count(report.modules_checked as u64, "module"),
        serde_json::to_value(report.follow)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        count(report.not_modified as u64, "answer"),
        count(report.lists_changed.len() as u64, "list"),
        count(report.fetched.len() as u64, "version"),
        report.blocked.len(),
        count(report.failures.len() as u64, "failure"),
    )
}

/// `serve --sync-interval`: a sync every `interval`, the first one interval after start-up
/// (start-up never walks the store), each logged; a slow one delays the next.
pub(crate) async fn every(depot: Depot, interval: Duration, options: SyncOptions) {
    let start = tokio::time::Instant::now() + interval;
    let mut ticks = tokio::time::interval_at(start, interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match godepot_depot::sync(&depot, &options, &NoProgress).await {
            Ok(report) => log(&report),
            Err(e) => tracing::warn!(error = %e, "sync failed: cannot list the modules held"),
        }
        if depot.has_vulndb_source() {
            match depot.mirror_vulndb().await {
                Ok(r) => tracing::info!("{}", mirror_summary(&r)),
                Err(e) => {
                    tracing::warn!(error = %e, "sync could not mirror the vulnerability database")
                }
            }
        }
    }
}

fn log(report: &SyncReport) {
    for f in &report.fetched {
        tracing::info!(module = %f.module, version = %f.version, "sync fetched a new version");
    }
    for f in report.blocked.iter().chain(&report.failures) {
        let version = f.version.as_deref().unwrap_or("");
        tracing::warn!(module = %f.module, version, reason = %f.reason, "sync could not fetch");
    }
    tracing::info!(
        modules_checked = report.modules_checked,
        not_modified = report.not_modified,
        lists_changed = report.lists_changed.len(),
        fetched = report.fetched.len(),
        blocked = report.blocked.len(),
        failures = report.failures.len(),
        "{}",
        summary(report)
    );
}

/// Modules done out of the total, on stderr when it is a terminal.
struct Bar(Option<ProgressBar>);

impl Bar {
    fn new() -> Bar {
        if !std::io::stderr().is_terminal() {
            return Bar(None);
        }
        let bar = ProgressBar::new(0);
        if let Ok(style) =
            ProgressStyle::with_template("{prefix:>10} [{bar:30}] {pos}/{len} {wide_msg}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix("syncing");
        Bar(Some(bar))
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

impl SyncProgress for Bar {
    fn modules(&self, total: usize) {
        if let Some(bar) = &self.0 {
            bar.set_length(total as u64);
        }
    }

    fn module_done(&self, module: &ModulePath) {
        if let Some(bar) = &self.0 {
            bar.inc(1);
            bar.set_message(module.to_string());
        }
    }
}
