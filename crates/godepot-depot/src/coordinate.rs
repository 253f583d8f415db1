//! Single-flight across replicas: before fetching an artifact from upstream, a replica takes
//! the artifact's lease from the [`Coordinator`]; while another replica holds it, this one
//! waits for the artifact to appear in the (shared) store and serves it from there. A lease
//! that expires (its holder died) is taken over by a waiter. Just before publishing, the holder
//! checks its lease with its token ([`fenced`]): one that lost it does not publish, and waits
//! its turn again (the replica that took over usually stored the artifact by then).
//!
//! Within one replica the in-process flights ([`crate::flight`], [`crate::zipflight`]) still
//! join every request for one artifact, so this runs once per replica and artifact.
//!
//! The coordinator unreachable (Redis down): each replica fetches on its own, with a warning,
//! as if it were alone. That stays correct, because immutable artifacts are written once (a
//! second put of a key keeps the first bytes), and only costs duplicate upstream fetches; the
//! next request after the coordinator comes back is coordinated again.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use godepot_coord::{CoordError, Coordinator, Fence, InProcess, Lease};
use godepot_module::ModulePath;
use godepot_store::{ArtifactKey, Store};

use crate::DepotError;
use crate::metrics::DepotMetrics;

/// Which coordinator the depot asks, and for how long a lease is taken.
#[derive(Clone)]
pub struct Coordination {
    pub coordinator: Arc<dyn Coordinator>,
    /// How long a lease lasts unless renewed (every third of it): how long waiters sit
    /// out a replica that died mid-fetch.
    pub lease: Duration,
}

impl Default for Coordination {
    fn default() -> Self {
        Coordination {
            coordinator: Arc::new(InProcess::default()),
            lease: Duration::from_secs(30),
        }
    }
}

impl std::fmt::Debug for Coordination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coordination")
            .field("coordinator", &self.coordinator.describe())
            .field("lease", &self.lease)
            .finish()
    }
}

/// What a fetch needs to coordinate itself; cheap to clone into a flight's task.
#[derive(Clone)]
pub(crate) struct Coord {
    coordination: Coordination,
    store: Arc<dyn Store>,
    metrics: Arc<DepotMetrics>,
}

/// Whose turn it is to fetch an artifact.
pub(crate) enum Turn {
    /// This replica's: fetch it, then publish under this lease (none when the coordinator
    /// could not be asked).
    Lead(Option<Lease>),
    /// Nobody's: the store holds it now.
    Held,
}

/// What the fencing check before a publish allows.
pub(crate) enum Fenced {
    /// Publish, and release this lease after.
    Publish(Option<Lease>),
    /// This replica's lease was lost, and the store holds the artifact now (stored by the
    /// replica that took over): do not publish.
    HeldByOther,
}

/// Waits before retrying a busy lease: short at first (a small artifact lands in
/// milliseconds), at most this long.
const MAX_BACKOFF: Duration = Duration::from_millis(200);

/// Warnings about an unreachable coordinator, at most one per this many occurrences.
static DEGRADED: AtomicU64 = AtomicU64::new(0);

fn warn_degraded(e: &CoordError, what: &str) {
    if DEGRADED.fetch_add(1, Ordering::Relaxed).is_multiple_of(100) {
        tracing::warn!(error = %e, %what, "coordinator unreachable; fetching without coordination (artifacts are written once, so this may only fetch twice)");
    }
}

impl Coord {
    pub(crate) fn new(
        coordination: Coordination,
        store: Arc<dyn Store>,
        metrics: Arc<DepotMetrics>,
    ) -> Coord {
        Coord {
            coordination,
            store,
            metrics,
        }
    }

    async fn contains(&self, key: &ArtifactKey) -> Result<bool, DepotError> {
        let (store, key) = (Arc::clone(&self.store), key.clone());
        tokio::task::spawn_blocking(move || store.contains(&key))
            .await
            .map_err(|e| DepotError::internal("store task failed", e))?
            .map_err(DepotError::store)
    }

    async fn take(&self, name: &str) -> Result<Option<Lease>, CoordError> {
        let c = &self.coordination;
        Lease::try_take(&c.coordinator, name, c.lease).await
    }

    /// Waits for this replica's turn to fetch `key`: its lease taken, and the store still
    /// without it (asked after taking, since the last holder may have just stored it); or the
    /// store holds it.
    pub(crate) async fn turn(&self, key: &ArtifactKey) -> Result<Turn, DepotError> {
        let name = key.rel_path();
        let mut backoff = Duration::from_millis(10);
        let mut waiting = None;
        loop {
            match self.take(&name).await {
                Ok(Some(lease)) => {
                    if self.contains(key).await? {
                        lease.release().await;
                        return Ok(Turn::Held);
                    }
                    return Ok(Turn::Lead(Some(lease)));
                }
                Ok(None) => {
                    // Another replica fetches it: counted as a waiter, like one on a flight
                    // of this process.
                    waiting.get_or_insert_with(|| self.metrics.waiting());
                    if self.contains(key).await? {
                        return Ok(Turn::Held);
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
                Err(e) => {
                    warn_degraded(&e, &name);
                    return Ok(Turn::Lead(None));
                }
            }
        }
    }

    /// The fencing check, just before publishing `key`: a lease still held (or a coordinator
    /// that cannot be asked: the write-once put decides then) may publish; a lost one waits
    /// for its turn again, which ends with the artifact held (stored by the replica that took
    /// over) or with a new lease to publish under.
    pub(crate) async fn fenced(
        &self,
        key: &ArtifactKey,
        mut lease: Option<Lease>,
    ) -> Result<Fenced, DepotError> {
        loop {
            let Some(held) = &lease else {
                return Ok(Fenced::Publish(None));
            };
            let fence = held.fence().await;
            match fence {
                Fence::Held => return Ok(Fenced::Publish(lease)),
                Fence::Unknown(e) => {
                    warn_degraded(&e, &key.rel_path());
                    return Ok(Fenced::Publish(lease));
                }
                Fence::Lost => {
                    tracing::warn!(module = %key.module, version = %key.version, kind = key.kind.extension(), "lease lost before publishing; not publishing, another replica took over");
                    drop(lease.take());
                    match self.turn(key).await? {
                        Turn::Held => return Ok(Fenced::HeldByOther),
                        Turn::Lead(again) => lease = again,
                    }
                }
            }
        }
    }

    /// With a coordinator shared by several replicas: the module's lease, taken around a
    /// publish, so that replicas storing versions of one module at once bring its `@v/list`
    /// in step one after the other. Waits at most one lease time; `None` (publish anyway:
    /// the list is derived from the files, so the next publish or `verify --repair` fixes
    /// it) when the coordinator cannot be asked or the wait is over.
    pub(crate) async fn module_lock(&self, module: &ModulePath) -> Option<Lease> {
        if !self.coordination.coordinator.is_shared() {
            return None;
        }
        let name = format!("{}/@v/list", module.escaped());
        let deadline = tokio::time::Instant::now() + self.coordination.lease;
        let mut backoff = Duration::from_millis(5);
        loop {
            match self.take(&name).await {
                Ok(Some(lease)) => return Some(lease),
                Ok(None) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_millis(50));
                }
                Ok(None) => return None,
                Err(e) => {
                    warn_degraded(&e, &name);
                    return None;
                }
            }
        }
    }

    /// For a mutable answer (`rel`): its lease, if free, taken before asking upstream; the
    /// answer's copies are written only under it (see [`may_write`]).
    pub(crate) async fn mutable_lease(&self, rel: &str) -> MutableTurn {
        if !self.coordination.coordinator.is_shared() {
            return MutableTurn::Alone;
        }
        match self.take(&format!("mutable/{rel}")).await {
            Ok(Some(lease)) => MutableTurn::Lease(lease),
            Ok(None) => MutableTurn::Busy,
            Err(e) => {
                warn_degraded(&e, rel);
                MutableTurn::Alone
            }
        }
    }
}

/// Who writes a mutable answer's copies under `.godepot/mutable/`.
pub(crate) enum MutableTurn {
    /// This replica alone (no shared coordinator, or it cannot be asked).
    Alone,
    /// This replica, under this lease, if still held when writing.
    Lease(Lease),
    /// Another replica is refreshing the same answer right now, and writes its copies.
    Busy,
}

impl MutableTurn {
    /// Whether the copies may be written now: not while another replica writes them, and not
    /// after this one's lease expired (a replica that stalled must not put back an older
    /// answer over the newer one of the replica that took over).
    pub(crate) async fn may_write(&self) -> bool {
        match self {
            MutableTurn::Alone => true,
            MutableTurn::Busy => false,
            MutableTurn::Lease(lease) => !matches!(lease.fence().await, Fence::Lost),
        }
    }

    pub(crate) async fn release(self) {
        if let MutableTurn::Lease(lease) = self {
            lease.release().await;
        }
    }
}

/// Publishes under `lease`, then releases it; `publish` runs only when the fencing check
/// allows, checked again once the module's lease is taken (which may take a moment). Says
/// whether this replica published (false: another had stored it).
pub(crate) async fn publish<F>(
    coord: &Coord,
    key: &ArtifactKey,
    mut lease: Option<Lease>,
    publish: F,
) -> Result<bool, DepotError>
where
    F: FnOnce() -> Result<(), godepot_store::StoreError> + Send + 'static,
{
    let mut publish = Some(publish);
    loop {
        let held = match coord.fenced(key, lease).await? {
            Fenced::HeldByOther => return Ok(false),
            Fenced::Publish(held) => held,
        };
        let list = coord.module_lock(&key.module).await;
        if let Some(l) = &held
            && l.fence().await == Fence::Lost
        {
            if let Some(list) = list {
                list.release().await;
            }
            lease = held;
            continue;
        }
        let publish = publish.take().expect("published once");
        let written = tokio::task::spawn_blocking(publish)
            .await
            .map_err(|e| DepotError::internal("store task failed", e))
            .and_then(|r| r.map_err(DepotError::store));
        if let Some(lease) = held {
            lease.release().await;
        }
        if let Some(list) = list {
            list.release().await;
        }
        return written.map(|()| true);
    }
}
