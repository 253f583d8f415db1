//! What the depot counts: fetches under way and the requests waiting on them (single-flight),
//! checks against the checksum database, and what this process kept in the store. The
//! server shows them ([`godepot_metrics::Collect`]); the depot only adds.

use std::sync::Arc;

use godepot_metrics::{Collect, Counter, Gauge, Text};
use godepot_store::Kind;

use crate::DepotError;

/// See the module docs. One per depot ([`crate::Depot::metrics`]).
#[derive(Debug, Default)]
pub struct DepotMetrics {
    fetches: Gauge,
    waiters: Gauge,
    /// By [`CHECKS`].
    checks: [Counter; CHECKS.len()],
    /// By [`KEPT`].
    kept: [Counter; KEPT.len()],
    kept_bytes: Counter,
}

const CHECKS: [&str; 3] = ["verified", "refused", "unavailable"];
const KEPT: [&str; 3] = ["info", "mod", "zip"];

/// One unit of a gauge, given back when dropped (however the work ends).
pub(crate) struct Busy {
    metrics: Arc<DepotMetrics>,
    gauge: fn(&DepotMetrics) -> &Gauge,
}

impl Drop for Busy {
    fn drop(&mut self) {
        (self.gauge)(&self.metrics).dec();
    }
}

impl DepotMetrics {
    fn hold(self: &Arc<Self>, gauge: fn(&DepotMetrics) -> &Gauge) -> Busy {
        gauge(self).inc();
        Busy {
            metrics: Arc::clone(self),
            gauge,
        }
    }

    /// A fetch (of an artifact, a mutable answer, a checksum-database answer) under way.
    pub(crate) fn fetching(self: &Arc<Self>) -> Busy {
        self.hold(|m| &m.fetches)
    }

    /// A request waiting on a fetch another request started.
    pub(crate) fn waiting(self: &Arc<Self>) -> Busy {
        self.hold(|m| &m.waiters)
    }

    /// The outcome of checking an artifact against the checksum database: it matched; it
    /// was refused (absent, or another hash); or the database could not be asked.
    pub(crate) fn checked(&self, result: &Result<(), DepotError>) {
        let slot = match result {
            Ok(()) => 0,
            Err(DepotError::Upstream { .. } | DepotError::UpstreamTimeout { .. }) => 2,
            Err(_) => 1,
        };
        self.checks[slot].inc();
    }

    /// An artifact this process put into the store.
    pub(crate) fn kept(&self, kind: Kind, bytes: u64) {
        let slot = match kind {
            Kind::Info => 0,
            Kind::Mod => 1,
            Kind::Zip => 2,
            _ => return,
        };
        self.kept[slot].inc();
        self.kept_bytes.add(bytes);
    }

    /// Fetches under way (for tests: the single-flight gauges settle at zero).
    pub fn fetches_in_flight(&self) -> i64 {
        self.fetches.get()
    }

    /// Requests waiting on another's fetch.
    pub fn flight_waiters(&self) -> i64 {
        self.waiters.get()
    }
}

impl Collect for DepotMetrics {
    fn collect(&self, out: &mut Text) {
        out.gauge(
            "godepot_fetches_in_flight",
            "Fetches from upstream under way (one per artifact however many clients ask).",
            self.fetches.get(),
        );
        out.gauge(
            "godepot_flight_waiters",
            "Requests waiting on a fetch another request started (single-flight).",
            self.waiters.get(),
        );
        out.counters(
            "godepot_sumdb_checks_total",
            "Artifacts taken in checked against the checksum database, by result.",
            "result",
            CHECKS.into_iter().zip(self.checks.iter().map(Counter::get)),
        );
        out.counters(
            "godepot_store_kept_total",
            "Artifacts this process fetched and put into the store, by kind.",
            "kind",
            KEPT.into_iter().zip(self.kept.iter().map(Counter::get)),
        );
        out.counter(
            "godepot_store_kept_bytes_total",
            "Bytes of the artifacts this process put into the store.",
            self.kept_bytes.get(),
        );
    }
}
