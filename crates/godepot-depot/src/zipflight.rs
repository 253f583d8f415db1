//! Zips: one upstream fetch per zip however many clients ask, written to a spool file on the
//! store's disk and relayed to every waiting client as it arrives, then checked and made
//! visible in the store in one atomic step.
//!
//! No client ever receives the complete bytes of a zip that failed its checks: the last byte
//! is held back until the whole zip has passed, and a failure ends every relay with an error
//! (the client sees a broken download, never a bad zip). Zips up to 64 KiB, and any zip whose
//! first entry names the wrong module, are refused before the first byte goes out, with a
//! proper 502.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use futures_util::{FutureExt, StreamExt};
use godepot_coord::Lease;
use godepot_store::{ArtifactKey, Kind, Spool, Store};
use tokio::sync::watch;

use crate::Fetcher;
use crate::answer::{Answer, Body, CacheStatus};
use crate::coordinate::{self, Coord, Turn};
use crate::error::Reason;
use crate::flight::Remove;
use crate::ingest::{check_first_entry, check_go_mod, held};
use crate::metrics::{Busy, DepotMetrics};
use crate::mutable::Health;
use crate::{DepotError, Inner};

/// Relay chunk size: large enough that a client on loopback is not limited by task hops.
const RELAY_CHUNK: usize = 256 * 1024;

/// A zip up to this size is checked whole before its first byte is sent, so any failure is a
/// clean 502 with a reason; a larger zip starts flowing once this much has arrived. Small
/// enough that waiting for it costs about a millisecond even from a slow upstream (the
/// benchmark's first-byte target), large enough to cover the many tiny module zips.
const CHECK_BEFORE_SENDING: u64 = 64 << 10;

#[derive(Default)]
pub(crate) struct ZipFlights {
    /// std's mutex: held only to look up or insert.
    map: Arc<Mutex<HashMap<ArtifactKey, Arc<Flight>>>>,
}

/// One zip fetch under way.
struct Flight {
    state: watch::Receiver<State>,
    /// A second handle on the spool file, for positioned reads by the relays. It stays valid
    /// after the spool is renamed into the store.
    reader: Arc<File>,
}

#[derive(Clone, Debug, Default)]
struct State {
    /// Bytes on disk so far.
    written: u64,
    /// Upstream's declared length, when it declared one.
    declared: Option<u64>,
    /// The first entry has been checked: relaying may begin.
    started: bool,
    /// `Some` when the fetch has ended: checked and stored, or failed.
    done: Option<Result<(), DepotError>>,
}

pub(crate) async fn zip(inner: &Inner, key: ArtifactKey) -> Result<Answer, DepotError> {
    if let Some(answer) = open_held(inner, &key).await? {
        return Ok(answer);
    }
    let what = format!("{}@{}", key.module, key.version);
    let Some(fetcher) = inner.fetcher_for(&key.module) else {
        return Err(inner.not_fetchable(&key));
    };
    let (flight, leader) = match joined(inner, &key) {
        Some(flight) => (flight, false),
        None => {
            // A new spool is a file created: on the blocking pool, like every store call.
            let store = Arc::clone(&inner.store);
            let spool = blocking(move || store.spool()).await?;
            join_or_start(inner, &key, fetcher, spool)?
        }
    };
    let mut state = flight.state.clone();
    let ready = |s: &State| s.done.is_some() || (s.started && s.written > CHECK_BEFORE_SENDING);
    let waiting = (!leader).then(|| inner.metrics.waiting());
    let waited = state.wait_for(ready).await.map(|s| s.clone());
    drop(waiting);
    let snapshot = match waited {
        Ok(s) => s,
        Err(_) => {
            return Err(DepotError::internal(
                what,
                Reason("zip fetch ended unexpectedly".into()),
            ));
        }
    };
    match snapshot.done {
        // Nothing has gone out to this client yet: it gets the reason, as a 502/504.
        Some(Err(e)) => Err(e),
        // Finished before this client got going: it is in the store now, but this request
        // still caused (or waited for) the fetch, so it is logged as a miss.
        Some(Ok(())) => {
            let mut answer = open_held(inner, &key)
                .await?
                .ok_or_else(|| DepotError::internal(what, Reason("stored zip vanished".into())))?;
            answer.cache = CacheStatus::Miss;
            Ok(answer)
        }
        _ => Ok(Answer {
            body: Body::Stream {
                len: snapshot.declared,
                stream: relay(flight),
            },
            cache: CacheStatus::Miss,
            immutable: true,
        }),
    }
}

async fn open_held(inner: &Inner, key: &ArtifactKey) -> Result<Option<Answer>, DepotError> {
    Ok(held(inner, key).await?.map(|body| Answer {
        body,
        cache: CacheStatus::Hit,
        immutable: true,
    }))
}

/// The flight under way for `key`, if any.
fn joined(inner: &Inner, key: &ArtifactKey) -> Option<Arc<Flight>> {
    let map = inner
        .zip_flights
        .map
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    map.get(key).map(Arc::clone)
}

/// The flight under way for `key`, else a new one writing to `spool`; and whether this
/// request started it.
fn join_or_start(
    inner: &Inner,
    key: &ArtifactKey,
    fetcher: Arc<dyn Fetcher>,
    spool: Spool,
) -> Result<(Arc<Flight>, bool), DepotError> {
    let mut map = inner
        .zip_flights
        .map
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(flight) = map.get(key) {
        let flight = Arc::clone(flight);
        drop(map);
        // Another request started one meanwhile: the unused spool is removed off this thread.
        tokio::task::spawn_blocking(move || drop(spool));
        return Ok((flight, false));
    }
    let reader = spool.file.try_clone().map_err(spool_error)?;
    let (tx, rx) = watch::channel(State::default());
    let flight = Arc::new(Flight {
        state: rx,
        reader: Arc::new(reader),
    });
    map.insert(key.clone(), Arc::clone(&flight));
    let fetch = Fetch {
        key: key.clone(),
        store: Arc::clone(&inner.store),
        fetcher,
        max_zip: inner.options.max_zip,
        health: inner.mutable.health_handle(),
        sumdb: inner.sumdb.clone(),
        metrics: Arc::clone(&inner.metrics),
        coord: inner.coord.clone(),
        _busy: inner.metrics.fetching(),
        tx,
        _remove: Remove {
            map: Arc::clone(&inner.zip_flights.map),
            key: key.clone(),
        },
    };
    tokio::spawn(fetch.run(spool));
    Ok((flight, true))
}

/// The leader's side of a flight.
struct Fetch {
    key: ArtifactKey,
    store: Arc<dyn Store>,
    fetcher: Arc<dyn Fetcher>,
    max_zip: u64,
    health: Health,
    /// Checks the zip's hash against the checksum database before it is kept.
    sumdb: crate::sumdb::SumdbProxy,
    metrics: Arc<DepotMetrics>,
    /// Across replicas: whose turn it is, and the fencing check before publishing.
    coord: Coord,
    /// Counts this fetch as under way until it ends.
    _busy: Busy,
    tx: watch::Sender<State>,
    /// Dropped when the fetch ends, however it ends.
    _remove: Remove<ArtifactKey, Arc<Flight>>,
}

impl Fetch {
    async fn run(self, spool: Spool) {
        let result = self.fetch(spool).await;
        if let Err(e) = &result {
            tracing::warn!(module = %self.key.module, version = %self.key.version, error = %e, "zip fetch failed");
        }
        // Leave the map first: a request that sees this flight's end must not be able to
        // join it any more, or a retry right after a failure would get the old failure.
        drop(self._remove);
        self.tx.send_modify(|s| s.done = Some(result));
    }

    async fn fetch(&self, spool: Spool) -> Result<(), DepotError> {
        let what = format!("{}@{}", self.key.module, self.key.version);
        // Another process (or a flight that just ended) may have stored it meanwhile, or
        // another replica may be fetching it (see `coordinate`): then it is served from the
        // store once there.
        let lease = match self.coord.turn(&self.key).await? {
            Turn::Held => return Ok(()),
            Turn::Lead(lease) => lease,
        };
        let fetched = self.fetcher.zip(&self.key.module, &self.key.version).await;
        self.health.record(&fetched);
        let fetched = fetched?;
        if let Some(n) = fetched.len.filter(|&n| n > self.max_zip) {
            return Err(DepotError::refused(
                what,
                format!(
                    "upstream zip is {n} bytes, over the {} byte limit",
                    self.max_zip
                ),
            ));
        }
        self.tx.send_modify(|s| s.declared = fetched.len);
        let prefix = format!("{}@{}/", self.key.module, self.key.version);
        let mut body = fetched.body;
        let mut file = spool.file.try_clone().map_err(spool_error)?;
        let mut head = Vec::new();
        let mut written = 0u64;
        while let Some(first) = body.next().await {
            // Gather whatever else is ready right now, so that disk writes are large
            // without ever holding back bytes that could already be relayed.
            let mut batch = BytesMut::from(first?.as_ref());
            while batch.len() < RELAY_CHUNK {
                match body.next().now_or_never() {
                    Some(Some(chunk)) => batch.extend_from_slice(&chunk?),
                    _ => break,
                }
            }
            written += batch.len() as u64;
            if written > self.max_zip {
                return Err(DepotError::refused(
                    what,
                    format!("upstream zip exceeds the {} byte limit", self.max_zip),
                ));
            }
            let started = self.tx.borrow().started;
            if !started && head.len() < 64 * 1024 {
                head.extend_from_slice(&batch[..batch.len().min(64 * 1024)]);
            }
            let (f, batch) = (file, batch.freeze());
            file = tokio::task::spawn_blocking(move || {
                let mut f = f;
                f.write_all(&batch).map(|()| f)
            })
            .await
            .map_err(|e| DepotError::internal("spool writer failed", e))?
            .map_err(spool_error)?;
            let check = if started {
                None
            } else {
                check_first_entry(&head, &prefix)
            };
            if let Some(Err(reason)) = check {
                return Err(DepotError::refused(
                    what,
                    format!("{reason}; refusing to keep it"),
                ));
            }
            self.tx.send_modify(|s| {
                s.written = written;
                s.started |= check.is_some();
            });
        }
        if let Some(n) = fetched.len.filter(|&n| n != written) {
            return Err(DepotError::upstream(
                what,
                format!("upstream zip truncated: declared {n} bytes, received {written}"),
            ));
        }
        self.finish(spool, what, &fetched.source, lease).await
    }

    /// Checks the whole zip, then stores it and its hash.
    async fn finish(
        &self,
        spool: Spool,
        what: String,
        source: &str,
        lease: Option<Lease>,
    ) -> Result<(), DepotError> {
        let (module, version) = (self.key.module.clone(), self.key.version.clone());
        let reader = spool.file.try_clone().map_err(spool_error)?;
        let summary = tokio::task::spawn_blocking(move || {
            godepot_module::inspect_zip(std::io::BufReader::new(reader), &module, &version)
        })
        .await
        .map_err(|e| DepotError::internal("zip check failed", e))?
        .map_err(|e| DepotError::rejected(format!("{what}: upstream zip refused"), e))?;
        // A `+incompatible` version predates its module's go.mod, or has one naming another
        // major version: the go command ignores it (the `.mod` is synthesized).
        if let Some(go_mod) = &summary.go_mod
            && !self.key.version.as_str().ends_with("+incompatible")
        {
            check_go_mod(
                go_mod,
                &self.key.module,
                &self.key.version,
                source,
                "the zip's go.mod",
            )?;
        }
        self.sumdb
            .check_artifact(&self.key.module, &self.key.version, false, &summary.h1)
            .await?;
        let (store, key) = (Arc::clone(&self.store), self.key.clone());
        let len = spool.file.metadata().map_err(spool_error)?.len();
        let put = move || {
            store.put_spool(&key, spool)?;
            store
                .put(&key.with_kind(Kind::ZipHash), summary.h1.as_bytes())
                .map(drop)
        };
        // Not published when our lease was lost and the replica that took over stored it:
        // the clients relayed from our spool get bytes that passed the same checks.
        if coordinate::publish(&self.coord, &self.key, lease, put).await? {
            self.metrics.kept(Kind::Zip, len);
        }
        Ok(())
    }
}

/// A client's view of a flight: the bytes on disk so far, then the rest as they land.
fn relay(flight: Arc<Flight>) -> crate::ZipStream {
    let stream =
        futures_util::stream::unfold((flight, 0u64, false), |(flight, pos, failed)| async move {
            if failed {
                return None;
            }
            let mut rx = flight.state.clone();
            loop {
                let state = rx.borrow_and_update().clone();
                // Everything but the last byte may go out before the zip has been checked.
                let limit = match &state.done {
                    Some(Ok(())) => state.written,
                    Some(Err(e)) => {
                        let err = std::io::Error::other(e.to_string());
                        return Some((Err(err), (flight, pos, true)));
                    }
                    None => state.written.saturating_sub(1),
                };
                if pos < limit {
                    let len = (limit - pos).min(RELAY_CHUNK as u64) as usize;
                    let reader = Arc::clone(&flight.reader);
                    let read = tokio::task::spawn_blocking(move || {
                        let mut buf = vec![0; len];
                        reader
                            .read_exact_at(&mut buf, pos)
                            .map(|()| Bytes::from(buf))
                    })
                    .await
                    .unwrap_or_else(|e| Err(std::io::Error::other(e)));
                    return match read {
                        Ok(bytes) => Some((Ok(bytes), (flight, pos + len as u64, false))),
                        Err(e) => Some((Err(e), (flight, pos, true))),
                    };
                }
                if state.done.is_some() {
                    return None;
                }
                if rx.changed().await.is_err() {
                    let err = std::io::Error::other("zip fetch ended unexpectedly");
                    return Some((Err(err), (flight, pos, true)));
                }
            }
        });
    Box::pin(stream)
}

/// A store call on the blocking pool, its failure a `DepotError`.
async fn blocking<T, F>(f: F) -> Result<T, DepotError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, godepot_store::StoreError> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| DepotError::internal("store task failed", e))?
        .map_err(DepotError::store)
}

fn spool_error(e: std::io::Error) -> DepotError {
    DepotError::internal("spool file", e)
}
