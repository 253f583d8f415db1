//! Metrics as plain atomics, and the Prometheus text exposition format to show them.
//!
//! Every crate that counts something owns its counters (a struct of [`Counter`]s,
//! [`Gauge`]s and [`Histogram`]s) and shows them through [`Collect`]; the server gathers the
//! collectors into one `/metrics` answer. So a lower crate (the upstream client, the depot)
//! counts without knowing the server, and the server shows without knowing the counters.
//!
//! Why not a metrics library: the hot path must stay as cheap as it is. A count here is one
//! relaxed atomic add on a counter resolved once (label sets are array indices, never a map
//! looked up per request), and a histogram observation is two; there is no lock anywhere on
//! the way of a request. Writing the text format is a hundred lines ([`text`]).
//!
//! - [`text`]: the exposition format (`# HELP`, `# TYPE`, samples, label escaping).
//! - [`process`]: the standard `process_*` metrics, read from `/proc` on Linux.

mod histogram;
pub mod process;
pub mod text;

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

pub use histogram::{Histogram, LATENCY_BUCKETS};
pub use text::{CONTENT_TYPE, Text};

/// Something that shows its metrics in a `/metrics` answer.
pub trait Collect: Send + Sync {
    fn collect(&self, out: &mut Text);
}

/// A count that only goes up.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.add(1);
    }

    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down (things in flight).
#[derive(Debug, Default)]
pub struct Gauge(AtomicI64);

impl Gauge {
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub fn dec(&self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}
