//! Single-flight for small fetches: however many requests ask for the same thing at once,
//! one upstream request is made and every asker gets its answer.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::watch;

use crate::DepotError;
use crate::metrics::DepotMetrics;

pub(crate) type Shared<T = Bytes> = Result<T, DepotError>;

/// Where each asker waits for a flight's answer (`None` until it lands).
type Waiting<T> = watch::Receiver<Option<Shared<T>>>;

/// Fetches under way, by what they fetch; each ends in a `T` (a small artifact's bytes, a
/// revalidated mutable answer) that every asker gets a clone of.
pub(crate) struct Flights<T = Bytes> {
    /// std's mutex: it is held only to look up or insert, never across an await.
    map: Arc<Mutex<HashMap<String, Waiting<T>>>>,
    /// Counts the fetches under way and the requests waiting on another's.
    metrics: Arc<DepotMetrics>,
}

impl<T: Clone + Send + Sync + 'static> Flights<T> {
    pub(crate) fn new(metrics: Arc<DepotMetrics>) -> Self {
        Flights {
            map: Arc::default(),
            metrics,
        }
    }

    /// Runs `work` for `key` unless a run is already under way, and waits for the answer.
    /// The work runs as its own task, so a client that goes away does not cancel it for the
    /// others (or leave a half-done write behind).
    pub(crate) async fn run<F, Fut>(&self, key: &str, work: F) -> (Shared<T>, bool)
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Shared<T>> + Send + 'static,
    {
        let (mut rx, leader) = {
            let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
            match map.get(key) {
                Some(rx) => (rx.clone(), false),
                None => {
                    let (tx, rx) = watch::channel(None);
                    map.insert(key.to_string(), rx.clone());
                    let guard = Remove {
                        map: Arc::clone(&self.map),
                        key: key.to_string(),
                    };
                    let fut = work();
                    let busy = self.metrics.fetching();
                    tokio::spawn(async move {
                        let answer = fut.await;
                        drop(guard);
                        drop(busy);
                        let _ = tx.send(Some(answer));
                    });
                    (rx, true)
                }
            }
        };
        let waiting = (!leader).then(|| self.metrics.waiting());
        let answer = match rx.wait_for(Option::is_some).await {
            Ok(answer) => answer.clone().expect("waited for Some"),
            Err(e) => Err(DepotError::internal(
                format!("internal error while fetching {key}"),
                e,
            )),
        };
        drop(waiting);
        (answer, leader)
    }
}

/// Takes a finished flight out of its map when dropped, however the fetch ended (even by
/// panic). Shared by the small-artifact and the zip single-flight maps.
pub(crate) struct Remove<K: Eq + Hash, V> {
    pub(crate) map: Arc<Mutex<HashMap<K, V>>>,
    pub(crate) key: K,
}

impl<K: Eq + Hash, V> Drop for Remove<K, V> {
    fn drop(&mut self) {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.key);
    }
}
