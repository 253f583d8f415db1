//! `GET /metrics`: the Prometheus text exposition of what the server, the depot and the
//! upstream clients count, and of the process.
//!
//! The HTTP counters are bumped once per request, when its access-log line is written (so a
//! streamed zip counts the bytes that really went out, and its whole duration): a few relaxed
//! atomic adds on counters picked by array index, no lock and no map. Label values come from
//! small fixed sets (kind, status class, cache outcome, refusal reason), never from the
//! request: a module path is never a label.

use std::sync::Arc;
use std::time::Duration;

use godepot_auth::LoginRefusal;
use godepot_depot::{CacheStatus, Depot};
use godepot_metrics::text::Type;
use godepot_metrics::{Collect, Counter, Histogram, Text};

use crate::activity::Activity;
use crate::request::Request;

/// What the store holds, `(versions, bytes)`, for `godepot_store_versions` and
/// `godepot_store_bytes`. Asked on every scrape (on the blocking pool), so it must answer
/// from something kept up to date (the module index), never by walking the store; `None`
/// when it cannot tell right now (the index is being rebuilt), and the two are left out.
pub trait StoreTotals: Send + Sync {
    fn totals(&self) -> Option<(u64, u64)>;
}

impl<F: Fn() -> Option<(u64, u64)> + Send + Sync> StoreTotals for F {
    fn totals(&self) -> Option<(u64, u64)> {
        self()
    }
}

/// What a request asked for: the `kind` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Info,
    Mod,
    Zip,
    List,
    Latest,
    Sumdb,
    /// The vulnerability database (`/vulndb/`).
    VulnDb,
    /// Probes, `/metrics`, admin, and whatever was refused before it was understood.
    Other,
}

const KINDS: [&str; 8] = [
    "info", "mod", "zip", "list", "latest", "sumdb", "vulndb", "other",
];
const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];
const CACHES: [&str; 5] = ["none", "hit", "miss", "stale", "offline"];
const REFUSALS: [&str; 5] = [
    "missing",
    "unknown",
    "expired",
    "wrong_scope",
    "rate_limited",
];

impl Kind {
    pub(crate) fn of(req: &Request) -> Kind {
        match req {
            Request::Info(..) => Kind::Info,
            Request::Mod(..) => Kind::Mod,
            Request::Zip(..) => Kind::Zip,
            Request::List(_) => Kind::List,
            Request::Latest(_) => Kind::Latest,
            Request::Sumdb(..) => Kind::Sumdb,
            Request::VulnDb(..) => Kind::VulnDb,
            Request::Healthz | Request::Readyz | Request::Metrics | Request::ServerInfo => {
                Kind::Other
            }
        }
    }
}

/// Everything `/metrics` shows. One per server ([`crate::ServerOptions::metrics`]); the
/// binary adds what lives outside the server and the depot (the upstream clients' counters,
/// the store's totals).
pub struct Metrics {
    /// By kind, status class, cache outcome.
    requests: [[[Counter; CACHES.len()]; CLASSES.len()]; KINDS.len()],
    /// Body bytes sent, by kind.
    bytes: [Counter; KINDS.len()],
    /// Until the body ended, by kind.
    duration: [Histogram; KINDS.len()],
    policy_blocks: Counter,
    /// By [`REFUSALS`].
    auth_failures: [Counter; REFUSALS.len()],
    sources: Vec<Arc<dyn Collect>>,
    store: Option<Arc<dyn StoreTotals>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            requests: Default::default(),
            bytes: Default::default(),
            duration: std::array::from_fn(|_| Histogram::latency()),
            policy_blocks: Counter::default(),
            auth_failures: Default::default(),
            sources: Vec::new(),
            store: None,
        }
    }
}

impl Metrics {
    /// Also shows what `source` counts (e.g. `godepot_upstream::UpstreamMetrics`).
    pub fn with_source(mut self, source: Arc<dyn Collect>) -> Metrics {
        self.sources.push(source);
        self
    }

    /// Shows the store's totals as `totals` tells them.
    pub fn with_store_totals(mut self, totals: Arc<dyn StoreTotals>) -> Metrics {
        self.store = Some(totals);
        self
    }

    /// One request, when its response has ended.
    pub(crate) fn request(
        &self,
        kind: Kind,
        status: u16,
        cache: Option<CacheStatus>,
        bytes: u64,
        took: Duration,
    ) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        let cache = match cache {
            None => 0,
            Some(CacheStatus::Hit) => 1,
            Some(CacheStatus::Miss) => 2,
            Some(CacheStatus::Stale) => 3,
            Some(CacheStatus::Offline) => 4,
        };
        let kind = kind as usize;
        self.requests[kind][class][cache].inc();
        self.bytes[kind].add(bytes);
        self.duration[kind].observe(took);
    }

    /// A request the policy refused.
    pub(crate) fn blocked(&self) {
        self.policy_blocks.inc();
    }

    /// A request refused for its credentials.
    pub(crate) fn auth_failed(&self, cause: LoginRefusal) {
        let slot = match cause {
            LoginRefusal::Missing => 0,
            LoginRefusal::Unknown => 1,
            LoginRefusal::Expired => 2,
            LoginRefusal::WrongScope => 3,
            LoginRefusal::RateLimited => 4,
        };
        self.auth_failures[slot].inc();
    }

    /// The exposition. Reads `/proc` and asks the store's totals: run it on the blocking
    /// pool.
    pub(crate) fn render(&self, depot: &Depot, activity: &Activity) -> String {
        let mut out = Text::new();
        out.family(
            "godepot_build_info",
            Type::Gauge,
            "Always 1; the version of godepot serving.",
        )
        .sample(
            "godepot_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))],
            1u64,
        );
        out.gauge(
            "godepot_offline",
            "1 when serving from the store alone (offline mode), else 0.",
            u64::from(depot.is_offline()),
        );
        self.collect_http(&mut out, activity);
        depot.metrics().collect(&mut out);
        for source in &self.sources {
            source.collect(&mut out);
        }
        if let Some((versions, bytes)) = self.store.as_ref().and_then(|s| s.totals()) {
            out.gauge(
                "godepot_store_versions",
                "Module versions held in the store.",
                versions,
            );
            out.gauge(
                "godepot_store_bytes",
                "Bytes of the artifacts held in the store.",
                bytes,
            );
        }
        godepot_metrics::process::collect(&mut out);
        out.finish()
    }

    fn collect_http(&self, out: &mut Text, activity: &Activity) {
        let name = "godepot_http_requests_total";
        out.family(
            name,
            Type::Counter,
            "Requests answered, by kind, status class and cache outcome.",
        );
        for (kind, by_class) in KINDS.iter().zip(&self.requests) {
            for (class, by_cache) in CLASSES.iter().zip(by_class) {
                for (cache, counter) in CACHES.iter().zip(by_cache) {
                    let labels = [("kind", *kind), ("status", *class), ("cache", *cache)];
                    out.sample(name, &labels, counter.get());
                }
            }
        }
        out.counters(
            "godepot_http_response_bytes_total",
            "Response body bytes sent, by kind.",
            "kind",
            KINDS.into_iter().zip(self.bytes.iter().map(Counter::get)),
        );
        let name = "godepot_http_request_duration_seconds";
        out.family(
            name,
            Type::Histogram,
            "Time from a request's arrival to the end of its response body, by kind.",
        );
        for (kind, histogram) in KINDS.iter().zip(&self.duration) {
            out.histogram(name, &[("kind", kind)], histogram);
        }
        out.gauge(
            "godepot_http_requests_in_flight",
            "Requests whose response has not ended yet.",
            activity.in_flight(),
        );
        out.counter(
            "godepot_policy_blocks_total",
            "Requests refused by the policy (403).",
            self.policy_blocks.get(),
        );
        out.counters(
            "godepot_auth_failures_total",
            "Requests refused for their credentials (--require-auth), by reason.",
            "reason",
            REFUSALS
                .into_iter()
                .zip(self.auth_failures.iter().map(Counter::get)),
        );
    }
}
