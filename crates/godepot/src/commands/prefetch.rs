//! `godepot prefetch`: the arguments, and the glue around `godepot_prefetch` (building the
//! depot, rendering progress, printing the summary, the exit code).

mod report;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use godepot_prefetch::PrefetchOptions;
use godepot_resolve::Input;

use crate::cli::LogFormat;
use crate::commands::depot::{self, DepotSettings, Reach};
use crate::commands::gather::GatherArgs;
use crate::config::ConfigFile;
use crate::datadir;
use crate::failure::Failure;
use crate::logging;
use crate::settings::{
    CacheSettings, CoordinationSettings, PolicySettings, StoreSettings, SumdbSettings,
    UpstreamSettings, VulnDbSettings,
};
use crate::storage::{self, Access, StoreLocation};

use report::Progress;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  godepot prefetch --data-dir /srv/godepot ./go.mod
  godepot prefetch --data-dir /srv/godepot ~/src          # every go.mod and go.work below
  godepot prefetch --data-dir /srv/godepot example.com/tool@latest modules.txt
  godepot prefetch --data-dir /srv/godepot --toolchain go1.22.3 --platform linux/amd64 \\
      --platform darwin/arm64
  godepot prefetch --storage s3://modules/depot --coordination redis://10.0.0.5:6379 ./go.mod")]
pub(crate) struct PrefetchArgs {
    #[command(flatten)]
    pub(crate) gather: GatherArgs,

    // The store to fill: a data directory (created if absent) or a bucket (which must
    // exist).
    #[command(flatten)]
    pub(crate) store: StoreSettings,

    // Into a bucket that replicas serve: take the same leases as they do, so that a
    // version is fetched once among all of them.
    #[command(flatten)]
    pub(crate) coordination: CoordinationSettings,

    #[command(flatten)]
    pub(crate) upstream: UpstreamSettings,

    /// How many zips download at once (go.mod and .info files: 8 times as many).
    #[arg(long, short = 'j', default_value_t = 8, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) jobs: u16,

    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,

    /// Resolve and print what would be fetched; store nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,

    #[command(flatten)]
    pub(crate) cache: CacheSettings,

    // Checksum databases, as for `serve`: the lookup answers and tiles that prove each
    // module fetched are kept for an offline `serve`; with a key every module is also
    // checked against the database [default: $GOSUMDB, else `go env GOSUMDB`].
    #[command(flatten)]
    pub(crate) sumdb: SumdbSettings,

    // Blocked versions are not gathered: each is a failure naming its rule and reason.
    #[command(flatten)]
    pub(crate) policy: PolicySettings,

    /// Also mirror the whole Go vulnerability database (for govulncheck inside the air gap):
    /// `--vulndb=URL` from URL, `--vulndb` from the configured source (GODEPOT_VULNDB, the
    /// config file's vulndb, $GOVULNDB).
    #[arg(long, value_name = "URL", num_args = 0..=1, default_missing_value = "",
          require_equals = true, conflicts_with = "dry_run")]
    pub(crate) vulndb: Option<String>,
}

/// The arguments, merged with the config file and checked.
struct Settings {
    inputs: Vec<Input>,
    location: StoreLocation,
    coordination: CoordinationSettings,
    upstream: Option<String>,
    list_ttl: Duration,
    upstream_timeout: Duration,
    sumdb: Option<String>,
    nosumdb: Option<String>,
    options: PrefetchOptions,
    reach: Reach,
    json: bool,
    dry_run: bool,
    policy: godepot_policy::Policy,
    /// `--vulndb`: the source to mirror the vulnerability database from.
    vulndb: Option<String>,
}

pub(crate) fn run(file: &ConfigFile, args: PrefetchArgs) -> Result<(), Failure> {
    let settings = settings(file, args)?;
    // Only warnings: progress and the summary are this command's output.
    logging::init(LogFormat::Text, "warn")?;
    let runtime = depot::runtime()?;
    // A prefetch that fails before storing anything leaves no data directory behind.
    let created = match &settings.location {
        StoreLocation::Dir(dir) => Some(datadir::Created::guard(dir)),
        StoreLocation::Bucket(_) => None,
    };
    let outcome = if settings.dry_run {
        runtime.block_on(dry_run(settings))
    } else {
        runtime.block_on(prefetch(settings))
    };
    if let (Ok(()), Some(created)) = (&outcome, created) {
        created.keep();
    }
    outcome
}

fn settings(file: &ConfigFile, args: PrefetchArgs) -> Result<Settings, Failure> {
    let inputs = args.gather.inputs()?;
    let upstream = file.merge(args.upstream)?;
    let sumdb = file.merge(args.sumdb)?;
    let reach = Reach::new(file, &upstream)?;
    Ok(Settings {
        inputs,
        location: file.merge(args.store)?.location()?,
        coordination: file.merge(args.coordination)?,
        upstream_timeout: upstream.upstream_timeout(),
        upstream: upstream.upstream,
        list_ttl: file.merge(args.cache)?.list_ttl(),
        sumdb: sumdb.sumdb,
        nosumdb: sumdb.nosumdb,
        options: args
            .gather
            .options(reach.private.clone(), usize::from(args.jobs))?,
        reach,
        json: args.json,
        dry_run: args.dry_run,
        policy: file.merge(args.policy)?.load()?,
        vulndb: vulndb_source(file, args.vulndb)?,
    })
}

/// `--vulndb [URL]`: the URL given, else the configured source; given without either, a
/// usage error.
fn vulndb_source(file: &ConfigFile, flag: Option<String>) -> Result<Option<String>, Failure> {
    let Some(given) = flag else {
        return Ok(None);
    };
    let configured = VulnDbSettings {
        vulndb: Some(given).filter(|g| !g.trim().is_empty()).or_else(|| {
            std::env::var("GODEPOT_VULNDB")
                .ok()
                .filter(|v| !v.trim().is_empty())
        }),
    };
    match file.merge(configured)?.source() {
        Some(source) => Ok(Some(source)),
        None => Err(
            Failure::config("--vulndb: no vulnerability database source to mirror")
                .hint("pass --vulndb URL, or set GOVULNDB (or vulndb in the config file)"),
        ),
    }
}

impl Settings {
    /// Within the runtime: the Redis client of `--coordination` connects on it.
    fn depot(&self) -> Result<DepotSettings<'_>, Failure> {
        Ok(DepotSettings {
            store: depot::StoreAt::of(&self.location),
            upstream: self.upstream.as_deref(),
            offline: false,
            list_ttl: self.list_ttl,
            upstream_timeout: self.upstream_timeout,
            instance_id: depot::instance_id(),
            // No address is served: port 0 matches no upstream URL, so only real loops are
            // refused.
            listen: SocketAddr::from(([0, 0, 0, 0], 0)),
            reach: &self.reach,
            access: None,
            upstream_metrics: None,
            vulndb: self.vulndb.clone(),
            disk_cache: None,
            coordination: self.coordination.coordination()?,
        })
    }
}

async fn prefetch(settings: Settings) -> Result<(), Failure> {
    let depot_settings = settings.depot()?;
    let mut sumdb = depot::sumdb_options(
        settings.sumdb.as_deref(),
        settings.nosumdb.as_deref(),
        &depot_settings,
    )?;
    // Inside the air gap the go command verifies with its own key: keep the records even
    // when godepot was not given the key.
    sumdb.gather = true;
    let built = depot::build_with_sumdb(&depot_settings, sumdb)?;
    crate::policy::put_in_force(&built.depot, settings.policy);
    let progress = Arc::new(Progress::new());
    let done = godepot_prefetch::prefetch(
        &built.depot,
        &settings.inputs,
        &settings.options,
        progress.clone(),
    )
    .await;
    progress.finish();
    let mirrored = match settings.vulndb {
        Some(_) => Some(built.depot.mirror_vulndb().await),
        None => None,
    };
    if settings.json {
        let mut value = report::json(&done);
        if let (Some(object), Some(m)) = (value.as_object_mut(), &mirrored) {
            object.insert("vulndb".into(), crate::commands::sync::mirror_json(m));
        }
        println!("{value}");
    }
    report::print_text(&done);
    let mut failures = done.failures.len();
    match &mirrored {
        Some(Ok(r)) => eprintln!("{}", crate::commands::sync::mirror_summary(r)),
        Some(Err(e)) => {
            eprintln!("failed: vulnerability database: {e}");
            failures += 1;
        }
        None => {}
    }
    match failures {
        0 => Ok(()),
        n => Err(Failure::runtime(format!(
            "prefetch incomplete: {n} failure(s), listed above"
        ))),
    }
}

/// `--dry-run`: resolve without storing, then print each artifact the store lacks.
async fn dry_run(settings: Settings) -> Result<(), Failure> {
    // Never create the data directory: a dry run leaves no trace.
    let store = match &settings.location {
        StoreLocation::Dir(dir) if !dir.is_dir() => None,
        location => Some(storage::open(location, Access::Read)?.store),
    };
    let upstream = depot::upstream_client(&settings.depot()?)?;
    let found =
        godepot_prefetch::dry_run(store, upstream, &settings.inputs, &settings.options).await;
    if settings.json {
        println!("{}", report::dry_run_json(&found));
    } else {
        for (artifact, _) in found.artifacts.iter().filter(|(_, held)| !held) {
            println!("{artifact}");
        }
    }
    report::print_dry_run(&found);
    match found.problems.len() {
        0 => Ok(()),
        n => Err(Failure::runtime(format!(
            "dry run: {n} input(s) or module version(s) could not be resolved"
        ))),
    }
}
