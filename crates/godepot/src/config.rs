//! The configuration file, and the merge of flags, environment, file and defaults into one
//! validated [`ServeConfig`]. Raw inputs are parsed here once; nothing downstream sees a
//! string that still needs checking.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::cli::{LogFormat, ServeArgs};
use crate::datadir;
use crate::duration;
use crate::failure::Failure;

/// `godepot.toml`: every key is the long flag's name.
///
/// ```toml
/// listen = "0.0.0.0:3000"
/// data-dir = "/srv/godepot"
/// upstream = "https://proxy.corp.example"
/// offline = false
/// list-ttl = "1m"
/// upstream-timeout = "30s"
/// shutdown-timeout = "30s"
/// log-format = "json"
/// log-level = "info"
/// sumdb = "sum.corp.example+<hash>+<key>"
/// nosumdb = "corp.example/private"
/// ```
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct FileConfig {
    listen: Option<SocketAddr>,
    pub(crate) data_dir: Option<PathBuf>,
    pub(crate) upstream: Option<String>,
    offline: Option<bool>,
    pub(crate) list_ttl: Option<String>,
    pub(crate) upstream_timeout: Option<String>,
    shutdown_timeout: Option<String>,
    log_format: Option<LogFormat>,
    log_level: Option<String>,
    pub(crate) sumdb: Option<String>,
    pub(crate) nosumdb: Option<String>,
}

impl FileConfig {
    pub(crate) fn load(path: Option<&Path>) -> Result<Self, Failure> {
        let Some(path) = path else {
            return Ok(FileConfig::default());
        };
        let text = std::fs::read_to_string(path).map_err(|e| {
            Failure::config(format!("cannot read config file {}: {e}", path.display()))
        })?;
        toml::from_str(&text).map_err(|e| {
            let detail = e.to_string().replace('\n', " ");
            Failure::config(format!("invalid config file {}: {detail}", path.display()))
        })
    }
}

/// Everything `serve` needs, validated.
#[derive(Debug)]
pub(crate) struct ServeConfig {
    pub(crate) listen: SocketAddr,
    pub(crate) data_dir: PathBuf,
    /// The upstream as configured (flag, env or file); `None` means "discover it".
    pub(crate) upstream: Option<String>,
    pub(crate) offline: bool,
    pub(crate) list_ttl: Duration,
    pub(crate) upstream_timeout: Duration,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) log_format: LogFormat,
    pub(crate) log_level: String,
    /// The checksum databases as configured; `None` means "discover" (`$GOSUMDB`, `go env`).
    pub(crate) sumdb: Option<String>,
    /// Modules not checked against it; `None` means "discover" (`$GONOSUMDB`, `$GOPRIVATE`).
    pub(crate) nosumdb: Option<String>,
}

impl ServeConfig {
    /// Flag (or its GODEPOT_* variable, which clap already folded in) > file > default.
    pub(crate) fn merge(args: ServeArgs, file: FileConfig) -> Result<Self, Failure> {
        let data_dir = datadir::resolve(args.data_dir.or(file.data_dir))?;
        Ok(ServeConfig {
            listen: args
                .listen
                .or(file.listen)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 3000))),
            data_dir,
            upstream: args.upstream.or(file.upstream),
            offline: args.offline.or(file.offline).unwrap_or(false),
            list_ttl: duration_setting(
                "list-ttl",
                args.list_ttl.or(file.list_ttl),
                DEFAULT_LIST_TTL,
            )?,
            upstream_timeout: duration_setting(
                "upstream-timeout",
                args.upstream_timeout.or(file.upstream_timeout),
                DEFAULT_UPSTREAM_TIMEOUT,
            )?,
            shutdown_timeout: duration_setting(
                "shutdown-timeout",
                args.shutdown_timeout.or(file.shutdown_timeout),
                Duration::from_secs(30),
            )?,
            log_format: args
                .log_format
                .or(file.log_format)
                .unwrap_or(LogFormat::Text),
            log_level: args
                .log_level
                .or(file.log_level)
                .unwrap_or_else(|| "info".into()),
            sumdb: args.sumdb.or(file.sumdb),
            nosumdb: args.nosumdb.or(file.nosumdb),
        })
    }
}

/// How long mutable answers are reused, unless configured.
pub(crate) const DEFAULT_LIST_TTL: Duration = Duration::from_secs(60);
/// The upstream patience, unless configured.
pub(crate) const DEFAULT_UPSTREAM_TIMEOUT: Duration = Duration::from_secs(30);

/// A duration setting: the value given (flag or variable, else file), else the default.
pub(crate) fn duration_setting(
    flag: &str,
    value: Option<String>,
    default: Duration,
) -> Result<Duration, Failure> {
    match value {
        None => Ok(default),
        Some(text) => duration::parse(&text).map_err(|e| Failure::config(format!("--{flag}: {e}"))),
    }
}

/// The platform's per-user data directory, plus `godepot`.
pub(crate) fn default_data_dir() -> Result<PathBuf, Failure> {
    let env = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let base = if cfg!(windows) {
        env("LOCALAPPDATA")
    } else if cfg!(target_os = "macos") {
        env("HOME").map(|h| h.join("Library/Application Support"))
    } else {
        env("XDG_DATA_HOME").or_else(|| env("HOME").map(|h| h.join(".local/share")))
    };
    base.map(|b| b.join("godepot")).ok_or_else(|| {
        Failure::config("cannot find a data directory: HOME is not set").hint("pass --data-dir DIR")
    })
}
