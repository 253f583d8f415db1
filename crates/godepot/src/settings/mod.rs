//! Every setting of every command, declared once, in groups that commands flatten into their
//! arguments (`#[command(flatten)]`). A setting is given as a flag, as its `GODEPOT_*`
//! variable, or as a config file key named like the long flag; [`crate::config::ConfigFile`]
//! merges them (flag > variable > file), and the accessors here add the defaults.
//!
//! To add a setting: add a field to the group it belongs to (or a new group, listed in
//! [`all_keys`]), its default in the group's accessor, and a README row.

pub(crate) mod group;
pub(crate) mod value;

use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::BoolishValueParser;

use crate::cli::LogFormat;
use crate::failure::Failure;
use crate::storage::{self, StoreLocation};
use group::{Group, settings_group};
use value::{ByteSize, Listen, Span};

settings_group! {
    /// The store a command works on.
    pub(crate) struct StoreSettings {
        /// Where modules are kept (a GOPROXY=file:// tree)
        /// [default: the platform's data directory, e.g. ~/.local/share/godepot].
        #[arg(long, env = "GODEPOT_DATA_DIR", value_name = "DIR")]
        pub(crate) data_dir: Option<PathBuf>,

        /// The store as a URL: file:///path (the same as --data-dir) or s3://bucket/prefix
        /// (endpoint, region and credentials from the AWS_* variables, never from here)
        /// [default: --data-dir].
        #[arg(long, env = "GODEPOT_STORAGE", value_name = "URL")]
        pub(crate) storage: Option<String>,
    }
}

impl StoreSettings {
    /// Where the store is: `--storage`, else `--data-dir`, else the platform's data
    /// directory. Both given for different places is a mistake, not a precedence.
    pub(crate) fn location(&self) -> Result<StoreLocation, Failure> {
        let Some(url) = &self.storage else {
            return self.dir_or_default().map(StoreLocation::Dir);
        };
        let location = storage::parse(url)?;
        match (&location, &self.data_dir) {
            (StoreLocation::Dir(dir), Some(data_dir)) if !storage::same_dir(dir, data_dir) => {
                Err(Failure::config(format!(
                    "--storage {url} and --data-dir {} name different stores",
                    data_dir.display()
                ))
                .hint("give one of them (they may come from flags, GODEPOT_* variables or the config file)"))
            }
            (StoreLocation::Bucket(bucket), Some(data_dir)) => Err(Failure::config(format!(
                "--storage {bucket} and --data-dir {} name different stores",
                data_dir.display()
            ))
            .hint("with a bucket, drop --data-dir: a replica keeps nothing locally but its --cache-dir")),
            _ => Ok(location),
        }
    }

    /// The store, opened for `access` ([`storage::open`]): a data directory or a bucket.
    pub(crate) fn open(&self, access: storage::Access) -> Result<storage::Opened, Failure> {
        storage::open(&self.location()?, access)
    }

    fn dir_or_default(&self) -> Result<PathBuf, Failure> {
        match &self.data_dir {
            Some(dir) => Ok(dir.clone()),
            None => default_data_dir(),
        }
    }
}

settings_group! {
    /// The local disk cache in front of the store (`serve`, issue 14).
    pub(crate) struct DiskCacheSettings {
        /// Keep a copy of the .info, .mod and .zip files served in this directory (one per
        /// process; derived data, safe to delete), so warm hits do not ask the store (a
        /// bucket) [default: no cache].
        #[arg(long, env = "GODEPOT_CACHE_DIR", value_name = "DIR")]
        pub(crate) cache_dir: Option<PathBuf>,

        /// The cache's bound; the least recently used files go first (e.g. 512MiB, 10GiB,
        /// or a number of bytes) [default: 10GiB].
        #[arg(long, env = "GODEPOT_CACHE_SIZE", value_name = "BYTES")]
        pub(crate) cache_size: Option<ByteSize>,
    }
}

impl DiskCacheSettings {
    /// The cache's directory and bound, or `None` without `--cache-dir`.
    pub(crate) fn cache(&self) -> Result<Option<(PathBuf, u64)>, Failure> {
        match (&self.cache_dir, self.cache_size) {
            (Some(dir), size) => Ok(Some((dir.clone(), size.map_or(10 << 30, |s| s.0)))),
            (None, Some(_)) => Err(Failure::config("--cache-size needs --cache-dir")
                .hint("give --cache-dir DIR too, or drop --cache-size")),
            (None, None) => Ok(None),
        }
    }
}

settings_group! {
    /// How upstream proxies are reached.
    pub(crate) struct UpstreamSettings {
        /// Upstream proxies, in GOPROXY syntax: URLs separated by ',' (next on 404/410 only) or
        /// '|' (next on any error), or 'off' [default: $GOPROXY, else `go env GOPROXY`].
        #[arg(long, env = "GODEPOT_UPSTREAM", value_name = "LIST")]
        pub(crate) upstream: Option<String>,

        /// Limit on connecting to upstream and receiving its headers, and on any silence in a
        /// body [default: 30s].
        #[arg(long, env = "GODEPOT_UPSTREAM_TIMEOUT", value_name = "DURATION")]
        pub(crate) upstream_timeout: Option<Span>,

        /// Private modules, fetched from their git repositories and never asked of an
        /// upstream proxy or checksum database: comma-separated glob patterns of path
        /// prefixes, as in GOPRIVATE [default: $GONOPROXY, else $GOPRIVATE].
        #[arg(long, env = "GODEPOT_PRIVATE", value_name = "PATTERNS")]
        pub(crate) private: Option<String>,

        /// Hosts (glob patterns of path prefixes, as in GOINSECURE) whose repositories may be
        /// reached over plain http or with unverified TLS [default: $GOINSECURE].
        #[arg(long, env = "GODEPOT_INSECURE", value_name = "PATTERNS")]
        pub(crate) insecure: Option<String>,
    }
}

impl UpstreamSettings {
    pub(crate) fn upstream_timeout(&self) -> Duration {
        self.upstream_timeout
            .map_or(Duration::from_secs(30), |s| s.0)
    }

    /// The `--private` patterns: configured, else the server's `GONOPROXY`, else `GOPRIVATE`
    /// (the go command's own fallback for what it fetches directly).
    pub(crate) fn private(&self) -> String {
        self.private
            .clone()
            .or_else(|| env_value("GONOPROXY"))
            .or_else(|| env_value("GOPRIVATE"))
            .unwrap_or_default()
    }

    /// The `--insecure` patterns: configured, else `GOINSECURE`.
    pub(crate) fn insecure(&self) -> String {
        self.insecure
            .clone()
            .or_else(|| env_value("GOINSECURE"))
            .unwrap_or_default()
    }
}

/// A variable's value, unless unset or blank.
fn env_value(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

settings_group! {
    /// How long answers that change (lists, @latest) are reused.
    pub(crate) struct CacheSettings {
        /// How long list, @latest and query answers are reused before upstream is asked again
        /// (e.g. 30s, 5m) [default: 1m].
        #[arg(long, env = "GODEPOT_LIST_TTL", value_name = "DURATION")]
        pub(crate) list_ttl: Option<Span>,
    }
}

impl CacheSettings {
    pub(crate) fn list_ttl(&self) -> Duration {
        self.list_ttl.map_or(Duration::from_secs(60), |s| s.0)
    }
}

settings_group! {
    /// The checksum databases.
    pub(crate) struct SumdbSettings {
        /// Checksum databases, comma-separated, each 'name', 'name+hash+key' (then godepot
        /// verifies its notes) or 'name+hash+key URL'; 'off' for none. See the README for what
        /// each command does with them.
        #[arg(long, env = "GODEPOT_SUMDB", value_name = "LIST")]
        pub(crate) sumdb: Option<String>,

        /// Modules not checked against the checksum database: comma-separated glob patterns
        /// of path prefixes, as in GONOSUMDB [default: $GONOSUMDB, else $GOPRIVATE]; the
        /// --private patterns are always added.
        #[arg(long, env = "GODEPOT_NOSUMDB", value_name = "PATTERNS")]
        pub(crate) nosumdb: Option<String>,
    }
}

settings_group! {
    /// The Go vulnerability database.
    pub(crate) struct VulnDbSettings {
        /// Where the Go vulnerability database is mirrored from (served under /vulndb/ for
        /// govulncheck -db): an http(s) or file:// URL in its documented layout, or 'off'
        /// (a copy already held, imported, is still served) [default: $GOVULNDB, else off].
        #[arg(long, env = "GODEPOT_VULNDB", value_name = "URL")]
        pub(crate) vulndb: Option<String>,
    }
}

impl VulnDbSettings {
    /// The source: configured, else `$GOVULNDB`; `None` for `off` (or nothing set).
    pub(crate) fn source(&self) -> Option<String> {
        self.vulndb
            .clone()
            .or_else(|| env_value("GOVULNDB"))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty() && s != "off")
    }
}

settings_group! {
    /// Whether upstream may be contacted at all.
    pub(crate) struct OfflineSettings {
        /// Never contact upstream or a checksum database; use only what the store holds.
        #[arg(long, env = "GODEPOT_OFFLINE", num_args = 0..=1, default_missing_value = "true",
              value_parser = BoolishValueParser::new(), value_name = "BOOL")]
        pub(crate) offline: Option<bool>,
    }
}

impl OfflineSettings {
    pub(crate) fn offline(&self) -> bool {
        self.offline.unwrap_or(false)
    }
}

settings_group! {
    /// Log lines on stderr.
    pub(crate) struct LogSettings {
        /// Log line format [default: text].
        #[arg(long, env = "GODEPOT_LOG_FORMAT", value_name = "FORMAT")]
        pub(crate) log_format: Option<LogFormat>,

        /// Log level or filter, e.g. info, debug, godepot=debug [default: info].
        #[arg(long, env = "GODEPOT_LOG_LEVEL", value_name = "LEVEL")]
        pub(crate) log_level: Option<String>,
    }
}

impl LogSettings {
    pub(crate) fn log_format(&self) -> LogFormat {
        self.log_format.unwrap_or(LogFormat::Text)
    }

    pub(crate) fn log_level(&self) -> &str {
        self.log_level.as_deref().unwrap_or("info")
    }
}

settings_group! {
    /// Where the server listens (`serve`), and so where `health` asks.
    pub(crate) struct ListenSettings {
        /// Address to listen on; ':PORT' for every interface [default: 127.0.0.1:3000].
        #[arg(long, env = "GODEPOT_LISTEN", value_name = "ADDR")]
        pub(crate) listen: Option<Listen>,
    }
}

impl ListenSettings {
    pub(crate) fn listen(&self) -> std::net::SocketAddr {
        self.listen
            .map_or_else(|| ([127, 0, 0, 1], 3000).into(), |l| l.0)
    }
}

settings_group! {
    /// The HTTP listener and its connections.
    pub(crate) struct ServerSettings {
        /// How long in-flight responses may run after SIGINT/SIGTERM [default: 30s].
        #[arg(long, env = "GODEPOT_SHUTDOWN_TIMEOUT", value_name = "DURATION")]
        pub(crate) shutdown_timeout: Option<Span>,

        /// How long a client may take to send a request's headers, from connecting or from
        /// its first byte; then the connection is closed [default: 30s].
        #[arg(long, env = "GODEPOT_HEADER_TIMEOUT", value_name = "DURATION")]
        pub(crate) header_timeout: Option<Span>,

        /// How long a kept-alive connection may wait for its next request, or a client take
        /// none of its response, before the connection is closed [default: 60s].
        #[arg(long, env = "GODEPOT_IDLE_TIMEOUT", value_name = "DURATION")]
        pub(crate) idle_timeout: Option<Span>,

        /// Connections served at once; further ones wait to be accepted until one closes
        /// [default: 512].
        #[arg(long, env = "GODEPOT_MAX_CONNECTIONS", value_name = "N")]
        pub(crate) max_connections: Option<NonZeroU32>,
    }
}

impl ServerSettings {
    pub(crate) fn shutdown_timeout(&self) -> Duration {
        self.shutdown_timeout
            .map_or(Duration::from_secs(30), |s| s.0)
    }

    pub(crate) fn header_timeout(&self) -> Duration {
        self.header_timeout.map_or(Duration::from_secs(30), |s| s.0)
    }

    pub(crate) fn idle_timeout(&self) -> Duration {
        self.idle_timeout.map_or(Duration::from_secs(60), |s| s.0)
    }

    pub(crate) fn max_connections(&self) -> usize {
        self.max_connections.map_or(512, |n| n.get() as usize)
    }
}

settings_group! {
    /// Which module versions may enter (issue 11's policy file).
    pub(crate) struct PolicySettings {
        /// A policy file (TOML: allow/deny rules with reasons; see the README's "Policy and
        /// access"). Blocked versions are never fetched, served, gathered or imported; SIGHUP
        /// reloads it under `serve` [default: everything allowed].
        #[arg(long, env = "GODEPOT_POLICY", value_name = "FILE")]
        pub(crate) policy: Option<PathBuf>,
    }
}

impl PolicySettings {
    /// The policy in force: the file's, else one that allows everything. A file that cannot
    /// be read or parsed is an error naming it (and the line and column).
    pub(crate) fn load(&self) -> Result<godepot_policy::Policy, Failure> {
        match &self.policy {
            Some(path) => crate::policy::read(path),
            None => Ok(godepot_policy::Policy::allow_all()),
        }
    }
}

settings_group! {
    /// The audit log (issue 11).
    pub(crate) struct AuditSettings {
        /// Append one JSON object per line for every security-relevant event (blocked
        /// requests, refused logins, token changes, policy reloads); reopened on SIGHUP, for
        /// rotation [default: none].
        #[arg(long, env = "GODEPOT_AUDIT_LOG", value_name = "FILE")]
        pub(crate) audit_log: Option<PathBuf>,
    }
}

impl AuditSettings {
    pub(crate) fn open(&self) -> Result<Option<godepot_auth::AuditLog>, Failure> {
        let Some(path) = &self.audit_log else {
            return Ok(None);
        };
        godepot_auth::AuditLog::open(path)
            .map(Some)
            .map_err(|e| Failure::config(format!("cannot open audit log {}: {e}", path.display())))
    }
}

settings_group! {
    /// Who may ask `serve` (issue 11).
    pub(crate) struct AuthSettings {
        /// Every request but /healthz and /readyz needs a token (`godepot token add`), as
        /// HTTP Basic (the token as password) or Bearer.
        #[arg(long, env = "GODEPOT_REQUIRE_AUTH", num_args = 0..=1, default_missing_value = "true",
              value_parser = BoolishValueParser::new(), value_name = "BOOL")]
        pub(crate) require_auth: Option<bool>,
    }
}

impl AuthSettings {
    pub(crate) fn require_auth(&self) -> bool {
        self.require_auth.unwrap_or(false)
    }
}

settings_group! {
    /// HTTPS for `serve` (issue 11).
    pub(crate) struct TlsSettings {
        /// Serve HTTPS with this certificate chain (PEM; with --tls-key); HTTP/2 by ALPN.
        /// SIGHUP reloads both files.
        #[arg(long, env = "GODEPOT_TLS_CERT", value_name = "FILE", requires = "tls_key")]
        pub(crate) tls_cert: Option<PathBuf>,

        /// The certificate's private key (PEM).
        #[arg(long, env = "GODEPOT_TLS_KEY", value_name = "FILE", requires = "tls_cert")]
        pub(crate) tls_key: Option<PathBuf>,
    }
}

impl TlsSettings {
    pub(crate) fn load(&self) -> Result<Option<godepot_server::Tls>, Failure> {
        match (&self.tls_cert, &self.tls_key) {
            (None, None) => Ok(None),
            (Some(cert), Some(key)) => godepot_server::Tls::load(cert, key)
                .map(Some)
                .map_err(|e| Failure::config(format!("--tls-cert/--tls-key: {e}"))),
            _ => Err(Failure::config("--tls-cert and --tls-key go together")
                .hint("give both, or neither for plain HTTP")),
        }
    }
}

settings_group! {
    /// Which server `godepot doctor` checks the go command against.
    pub(crate) struct DoctorSettings {
        /// The godepot to check against, e.g. http://godepot.corp.example:3000 [default: the
        /// first http(s) URL in GOPROXY].
        #[arg(long, env = "GODEPOT_SERVER", value_name = "URL")]
        pub(crate) server: Option<String>,
    }
}

settings_group! {
    /// Which new versions `godepot sync` (and `serve --sync-interval`) fetch (issue 12).
    pub(crate) struct FollowSettings {
        /// New versions of the modules held to fetch: none (refresh lists and @latest only),
        /// patch (newer in a major.minor held), minor (newer in a major held), all (also a
        /// newer major) [default: none].
        #[arg(long, env = "GODEPOT_FOLLOW", value_name = "RULE")]
        pub(crate) follow: Option<FollowRule>,
    }
}

/// The `--follow` values, as the depot's rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum FollowRule {
    None,
    Patch,
    Minor,
    All,
}

impl FollowSettings {
    pub(crate) fn follow(&self) -> godepot_depot::Follow {
        use godepot_depot::Follow;
        match self.follow.unwrap_or(FollowRule::None) {
            FollowRule::None => Follow::None,
            FollowRule::Patch => Follow::Patch,
            FollowRule::Minor => Follow::Minor,
            FollowRule::All => Follow::All,
        }
    }
}

settings_group! {
    /// What `gc` keeps (issue 12): a retention policy, the same on every run.
    pub(crate) struct RetentionSettings {
        /// Remove versions no client asked for in this long, e.g. 90d (required: in a flag,
        /// GODEPOT_UNUSED_FOR or the config file).
        #[arg(long, env = "GODEPOT_UNUSED_FOR", value_name = "DURATION")]
        pub(crate) unused_for: Option<Span>,

        /// Always keep the newest N versions of each module (by semantic version, the
        /// downloadable ones first) [default: 1].
        #[arg(long, env = "GODEPOT_KEEP_LATEST", value_name = "N")]
        pub(crate) keep_latest: Option<u32>,
    }
}

impl RetentionSettings {
    pub(crate) fn unused_for(&self) -> Result<Duration, Failure> {
        self.unused_for.map(|s| s.0).ok_or_else(|| {
            Failure::config("gc needs --unused-for DURATION").hint(
                "e.g. godepot gc --unused-for 90d (or unused-for = \"90d\" in the config file)",
            )
        })
    }

    pub(crate) fn keep_latest(&self) -> usize {
        self.keep_latest.map_or(1, |n| n as usize)
    }
}

settings_group! {
    /// `serve`'s background sync (issue 12).
    pub(crate) struct SyncIntervalSettings {
        /// Run `godepot sync` over every module held this often, in the background of the
        /// server, logging its summary (e.g. 1h); the first run is one interval after
        /// start-up [default: off].
        #[arg(long, env = "GODEPOT_SYNC_INTERVAL", value_name = "DURATION")]
        pub(crate) sync_interval: Option<Span>,
    }
}

impl SyncIntervalSettings {
    /// `None` when off (not given, or zero).
    pub(crate) fn sync_interval(&self) -> Option<Duration> {
        self.sync_interval.map(|s| s.0).filter(|d| !d.is_zero())
    }
}

settings_group! {
    /// Coordination across replicas on one store (issue 14).
    pub(crate) struct CoordinationSettings {
        /// Share single-flight with the other replicas on this store through Redis:
        /// redis://HOST:PORT (a password as redis://:PASSWORD@HOST:PORT; prefer the variable
        /// then). One replica fetches each artifact, the others serve it from the store
        /// [default: this process alone].
        #[arg(long, env = "GODEPOT_COORDINATION", value_name = "URL")]
        pub(crate) coordination: Option<String>,

        /// How long a replica's lease on a fetch lasts unless renewed: how long the others
        /// wait before taking over from one that died [default: 30s].
        #[arg(long, env = "GODEPOT_COORDINATION_LEASE", value_name = "DURATION")]
        pub(crate) coordination_lease: Option<Span>,
    }
}

impl CoordinationSettings {
    /// The depot's coordination: Redis when configured, else this process alone. Must run
    /// within the tokio runtime (the Redis client connects lazily, on it).
    pub(crate) fn coordination(&self) -> Result<godepot_depot::Coordination, Failure> {
        let mut coordination = godepot_depot::Coordination::default();
        if let Some(lease) = self.coordination_lease {
            if lease.0 < Duration::from_millis(100) {
                return Err(
                    Failure::config("--coordination-lease must be at least 100ms")
                        .hint("e.g. --coordination-lease 30s"),
                );
            }
            coordination.lease = lease.0;
        }
        let Some(url) = self
            .coordination
            .as_deref()
            .filter(|u| !u.trim().is_empty())
        else {
            return Ok(coordination);
        };
        if !url.starts_with("redis://") {
            return Err(Failure::config(
                "--coordination takes a redis://HOST:PORT URL (TLS, rediss://, is not supported)",
            )
            .hint("e.g. --coordination redis://127.0.0.1:6379"));
        }
        let redis = godepot_coord::Redis::new(url).map_err(|e| {
            Failure::config(format!("--coordination: {e}"))
                .hint("write it as redis://HOST:PORT, e.g. redis://127.0.0.1:6379")
        })?;
        coordination.coordinator = std::sync::Arc::new(redis);
        Ok(coordination)
    }
}

/// Every key a config file may hold: all commands share one file.
pub(crate) fn all_keys() -> Vec<String> {
    [
        StoreSettings::fields(),
        DiskCacheSettings::fields(),
        UpstreamSettings::fields(),
        CacheSettings::fields(),
        SumdbSettings::fields(),
        VulnDbSettings::fields(),
        OfflineSettings::fields(),
        LogSettings::fields(),
        ListenSettings::fields(),
        ServerSettings::fields(),
        PolicySettings::fields(),
        AuditSettings::fields(),
        AuthSettings::fields(),
        TlsSettings::fields(),
        DoctorSettings::fields(),
        RetentionSettings::fields(),
        FollowSettings::fields(),
        SyncIntervalSettings::fields(),
        CoordinationSettings::fields(),
    ]
    .concat()
}

/// The platform's per-user data directory, plus `godepot`.
fn default_data_dir() -> Result<PathBuf, Failure> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A file key is the long flag's name: a field whose flag is renamed would break it.
    #[test]
    fn file_keys_are_the_long_flags() {
        fn same<G: Group>() {
            assert_eq!(G::keys(), G::fields(), "{}", std::any::type_name::<G>());
        }
        same::<StoreSettings>();
        same::<DiskCacheSettings>();
        same::<UpstreamSettings>();
        same::<CacheSettings>();
        same::<SumdbSettings>();
        same::<OfflineSettings>();
        same::<LogSettings>();
        same::<ListenSettings>();
        same::<ServerSettings>();
        same::<PolicySettings>();
        same::<AuditSettings>();
        same::<AuthSettings>();
        same::<TlsSettings>();
        same::<DoctorSettings>();
        same::<RetentionSettings>();
        same::<FollowSettings>();
        same::<SyncIntervalSettings>();
        same::<CoordinationSettings>();
        assert_eq!(all_keys().len(), 32);
    }
}
