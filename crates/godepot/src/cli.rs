//! The command line. Flags are a contract: scripts depend on their names.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::builder::BoolishValueParser;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// godepot: an offline-first Go module repository.
///
/// Point the go command at it with GOPROXY=http://HOST:PORT. Every module version it serves
/// is kept on disk for good, so builds keep working when upstream is slow, down, or gone.
#[derive(Debug, Parser)]
#[command(name = "godepot", version, about, long_about)]
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
    Serve(ServeArgs),
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
    #[command(about = "List held modules and versions")]
    Ls(crate::commands::ls::LsArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:3000].
    #[arg(long, env = "GODEPOT_LISTEN", value_name = "ADDR")]
    pub(crate) listen: Option<SocketAddr>,

    /// Where modules are kept (a GOPROXY=file:// tree); created if absent
    /// [default: the platform's data directory, e.g. ~/.local/share/godepot].
    #[arg(long, env = "GODEPOT_DATA_DIR", value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,

    /// Upstream proxies, in GOPROXY syntax: URLs separated by ',' (next on 404/410 only) or
    /// '|' (next on any error), or 'off' [default: $GOPROXY, else `go env GOPROXY`].
    #[arg(long, env = "GODEPOT_UPSTREAM", value_name = "LIST")]
    pub(crate) upstream: Option<String>,

    /// Never contact upstream; serve only what the store holds.
    #[arg(long, env = "GODEPOT_OFFLINE", num_args = 0..=1, default_missing_value = "true",
          value_parser = BoolishValueParser::new(), value_name = "BOOL")]
    pub(crate) offline: Option<bool>,

    /// How long list, @latest and query answers are reused before upstream is asked again
    /// (e.g. 30s, 5m) [default: 1m].
    #[arg(long, env = "GODEPOT_LIST_TTL", value_name = "DURATION")]
    pub(crate) list_ttl: Option<String>,

    /// Limit on connecting to upstream and receiving its headers, and on any silence in a
    /// body [default: 30s].
    #[arg(long, env = "GODEPOT_UPSTREAM_TIMEOUT", value_name = "DURATION")]
    pub(crate) upstream_timeout: Option<String>,

    /// How long in-flight responses may run after SIGINT/SIGTERM [default: 30s].
    #[arg(long, env = "GODEPOT_SHUTDOWN_TIMEOUT", value_name = "DURATION")]
    pub(crate) shutdown_timeout: Option<String>,

    /// Checksum databases to proxy under /sumdb/<name>/, comma-separated, each 'name',
    /// 'name+hash+key' (then godepot verifies its notes) or 'name+hash+key URL'; 'off' for none
    /// [default: $GOSUMDB, else `go env GOSUMDB`].
    #[arg(long, env = "GODEPOT_SUMDB", value_name = "LIST")]
    pub(crate) sumdb: Option<String>,

    /// Modules not checked against the checksum database when taken in: comma-separated
    /// glob patterns of path prefixes, as in GONOSUMDB [default: $GONOSUMDB, else $GOPRIVATE].
    #[arg(long, env = "GODEPOT_NOSUMDB", value_name = "PATTERNS")]
    pub(crate) nosumdb: Option<String>,

    /// Log line format [default: text].
    #[arg(long, env = "GODEPOT_LOG_FORMAT", value_name = "FORMAT")]
    pub(crate) log_format: Option<LogFormat>,

    /// Log level or filter, e.g. info, debug, godepot=debug [default: info].
    #[arg(long, env = "GODEPOT_LOG_LEVEL", value_name = "LEVEL")]
    pub(crate) log_level: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LogFormat {
    Text,
    Json,
}
