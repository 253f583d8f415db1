//! The command line. Flags are a contract: scripts depend on their names.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::settings::{
    AuditSettings, AuthSettings, CacheSettings, CoordinationSettings, DiskCacheSettings,
    FollowSettings, ListenSettings, LogSettings, OfflineSettings, PolicySettings, ServerSettings,
    StoreSettings, SumdbSettings, SyncIntervalSettings, TlsSettings, UpstreamSettings,
    VulnDbSettings,
};

/// godepot: an offline-first Go module repository.
///
/// Point the go command at it with GOPROXY=http://HOST:PORT. Every module version it serves
/// is kept on disk for good, so builds keep working when upstream is slow, down, or gone.
#[derive(Debug, Parser)]
#[command(name = "godepot", version = crate::version::LINE.as_str(), about, long_about)]
pub(crate) struct Cli {
    /// A TOML configuration file. Precedence: flag > GODEPOT_* variable > file > default.
    #[arg(long, global = true, env = "GODEPOT_CONFIG", value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the module proxy server.
    ///
    /// Examples:
    ///   godepot serve                               # upstream from GOPROXY / `go env`
    ///   godepot serve --upstream https://proxy.corp.example --data-dir /srv/godepot
    ///   godepot serve --offline --data-dir /srv/godepot   # air-gapped: serve what is held
    #[command(verbatim_doc_comment)]
    Serve(Box<ServeArgs>),
    /// Fill a store with everything some Go projects need (for the air gap).
    Prefetch(crate::commands::prefetch::PrefetchArgs),
    // `about` rather than a doc comment: a doc comment here would also replace the `--help`
    // text (the details and examples) written on the arguments struct.
    #[command(
        about = "Write a bundle file (tar + zstd of a GOPROXY=file:// tree, with a manifest)"
    )]
    Export(crate::commands::export::ExportArgs),
    #[command(
        about = "Take in a bundle, a GOPROXY=file:// tree or a module cache, checking every artifact"
    )]
    Import(crate::commands::import::ImportArgs),
    #[command(about = "Re-hash every held artifact and report anything wrong")]
    Verify(crate::commands::verify::VerifyArgs),
    #[command(about = "Compare two stores or bundles: versions only in one, files that differ")]
    Diff(crate::commands::diff::DiffArgs),
    #[command(about = "Say whether a store holds everything some projects need to build offline")]
    Check(crate::commands::check::CheckArgs),
    #[command(
        about = "List the vulnerability-database entries affecting the versions some projects select"
    )]
    Audit(crate::commands::audit::AuditArgs),
    #[command(about = "List held modules and versions")]
    Ls(crate::commands::ls::LsArgs),
    #[command(about = "Remove a module version from the store (to the quarantine, never silently)")]
    Rm(crate::commands::rm::RmArgs),
    #[command(
        about = "Remove the versions no client asked for in a while (a dry run without --yes)"
    )]
    Gc(crate::commands::gc::GcArgs),
    #[command(about = "Rebuild the module index (.godepot/index/) from the store's files")]
    Reindex(crate::commands::reindex::ReindexArgs),
    #[command(about = "Manage the API tokens of `serve --require-auth` (add, list, revoke)")]
    Token(crate::commands::token::TokenArgs),
    #[command(
        about = "Check this machine's go command settings against the server, with the line that fixes each problem"
    )]
    Doctor(crate::commands::doctor::DoctorArgs),
    #[command(
        about = "Follow upstream for the modules held: revalidate lists and @latest, fetch new versions"
    )]
    Sync(crate::commands::sync::SyncArgs),
    #[command(about = "Check that a running server answers /healthz (for probes and containers)")]
    Health(crate::commands::health::HealthArgs),
    #[command(about = "Print shell completions (bash, zsh, fish, elvish, powershell)")]
    Completions(crate::commands::completions::CompletionsArgs),
    /// Write the manual pages (for `cargo run -p xtask -- man` and packagers).
    #[command(hide = true)]
    Man(crate::commands::man::ManArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    pub(crate) listen: ListenSettings,
    #[command(flatten)]
    pub(crate) server: ServerSettings,
    #[command(flatten)]
    pub(crate) store: StoreSettings,
    #[command(flatten)]
    pub(crate) upstream: UpstreamSettings,
    #[command(flatten)]
    pub(crate) offline: OfflineSettings,
    #[command(flatten)]
    pub(crate) cache: CacheSettings,
    #[command(flatten)]
    pub(crate) disk_cache: DiskCacheSettings,
    #[command(flatten)]
    pub(crate) sumdb: SumdbSettings,
    #[command(flatten)]
    pub(crate) vulndb: VulnDbSettings,
    #[command(flatten)]
    pub(crate) log: LogSettings,
    #[command(flatten)]
    pub(crate) policy: PolicySettings,
    #[command(flatten)]
    pub(crate) auth: AuthSettings,
    #[command(flatten)]
    pub(crate) audit: AuditSettings,
    #[command(flatten)]
    pub(crate) tls: TlsSettings,
    #[command(flatten)]
    pub(crate) sync: SyncIntervalSettings,
    #[command(flatten)]
    pub(crate) coordination: CoordinationSettings,
    // What the background sync fetches.
    #[command(flatten)]
    pub(crate) follow: FollowSettings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LogFormat {
    Text,
    Json,
}
