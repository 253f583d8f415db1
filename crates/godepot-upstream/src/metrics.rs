//! What the upstream clients count, per proxy: requests by outcome, their latency to the
//! response headers, and the body bytes received.
//!
//! Labelled by the proxy's host and port as configured (credentials never reach a URL's
//! host; a `file://` proxy is `file`): a label drawn from configuration, so bounded, and
//! never a module path.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use godepot_metrics::text::Type;
use godepot_metrics::{Collect, Counter, Histogram, Text};

use crate::{Endpoint, FetchError};

/// How one request to a proxy ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Ok,
    NotFound,
    Timeout,
    Error,
}

const OUTCOMES: [(Outcome, &str); 4] = [
    (Outcome::Ok, "ok"),
    (Outcome::NotFound, "not_found"),
    (Outcome::Timeout, "timeout"),
    (Outcome::Error, "error"),
];

impl Outcome {
    pub(crate) fn of<T>(result: &Result<T, FetchError>) -> Outcome {
        match result {
            Ok(_) => Outcome::Ok,
            Err(FetchError::NotFound { .. }) => Outcome::NotFound,
            Err(e) if e.is_timeout() => Outcome::Timeout,
            Err(_) => Outcome::Error,
        }
    }
}

/// The counters of every proxy of every client built with these
/// ([`crate::UpstreamOptions::metrics`]); clients asking the same host share its counters.
#[derive(Debug, Default)]
pub struct UpstreamMetrics {
    /// Locked when a client is built and when metrics are shown, never per request: each
    /// client holds its proxies' counters.
    proxies: Mutex<Vec<Arc<ProxyMetrics>>>,
}

/// One proxy's counters.
#[derive(Debug)]
pub(crate) struct ProxyMetrics {
    label: String,
    requests: [Counter; OUTCOMES.len()],
    latency: Histogram,
    bytes: Counter,
}

impl ProxyMetrics {
    fn new(label: String) -> ProxyMetrics {
        ProxyMetrics {
            label,
            requests: Default::default(),
            latency: Histogram::latency(),
            bytes: Counter::default(),
        }
    }

    /// The counters of a proxy no [`UpstreamMetrics`] collects.
    pub(crate) fn unregistered() -> Arc<ProxyMetrics> {
        Arc::new(ProxyMetrics::new(String::new()))
    }

    pub(crate) fn record(&self, outcome: Outcome, took: Duration) {
        self.requests[outcome as usize].inc();
        self.latency.observe(took);
    }

    pub(crate) fn received(&self, n: usize) {
        self.bytes.add(n as u64);
    }
}

impl UpstreamMetrics {
    /// The counters for `endpoint`, shared with any client already asking its host.
    pub(crate) fn proxy(&self, endpoint: &Endpoint) -> Arc<ProxyMetrics> {
        let label = label(endpoint);
        let mut proxies = self.proxies.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = proxies.iter().find(|p| p.label == label) {
            return Arc::clone(found);
        }
        let made = Arc::new(ProxyMetrics::new(label));
        proxies.push(Arc::clone(&made));
        made
    }
}

/// `host[:port]` of an http(s) proxy, `file` for a directory.
fn label(endpoint: &Endpoint) -> String {
    match endpoint {
        Endpoint::File(_) => "file".to_string(),
        Endpoint::Http(url) => reqwest::Url::parse(url.base())
            .ok()
            .and_then(|u| {
                let host = u.host_str()?.to_string();
                Some(match u.port() {
                    Some(port) => format!("{host}:{port}"),
                    None => host,
                })
            })
            .unwrap_or_else(|| "unknown".to_string()),
    }
}

impl Collect for UpstreamMetrics {
    fn collect(&self, out: &mut Text) {
        let proxies = self
            .proxies
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let name = "godepot_upstream_requests_total";
        out.family(
            name,
            Type::Counter,
            "Requests to upstream proxies (each attempt), by proxy and outcome.",
        );
        for p in &proxies {
            for ((_, outcome), counter) in OUTCOMES.iter().zip(&p.requests) {
                let labels = [("upstream", p.label.as_str()), ("outcome", *outcome)];
                out.sample(name, &labels, counter.get());
            }
        }
        let name = "godepot_upstream_request_duration_seconds";
        out.family(
            name,
            Type::Histogram,
            "Time from sending a request to an upstream proxy to its response headers.",
        );
        for p in &proxies {
            out.histogram(name, &[("upstream", p.label.as_str())], &p.latency);
        }
        out.counters(
            "godepot_upstream_received_bytes_total",
            "Body bytes received from upstream proxies.",
            "upstream",
            proxies.iter().map(|p| (p.label.as_str(), p.bytes.get())),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ProxyList;

    #[test]
    fn one_label_per_host_never_credentials() {
        let list = ProxyList::parse(
            "https://user:secret@proxy.corp.example/go,http://127.0.0.1:8080,file:///srv/mods",
        )
        .unwrap();
        let metrics = UpstreamMetrics::default();
        let labels: Vec<String> = list
            .entries
            .iter()
            .map(|e| metrics.proxy(&e.endpoint).label.clone())
            .collect();
        assert_eq!(labels, ["proxy.corp.example", "127.0.0.1:8080", "file"]);
        let again = metrics.proxy(&list.entries[0].endpoint);
        again.record(Outcome::Ok, Duration::from_millis(3));
        let mut text = Text::new();
        metrics.collect(&mut text);
        let text = text.finish();
        assert!(!text.contains("secret"), "{text}");
        assert!(
            text.contains(
                "godepot_upstream_requests_total{upstream=\"proxy.corp.example\",outcome=\"ok\"} 1"
            ),
            "{text}"
        );
    }
}
