//! Single-flight across replicas, against an in-memory fake coordinator: two depots on one
//! store stand for two replicas. One fetch between them; a lease that stops being renewed
//! (its replica died or stalled) is taken over by a waiter; a replica whose lease expired does
//! not publish; an unreachable coordinator costs only a duplicate fetch.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use godepot_coord::{CoordError, Coordinator, InProcess, Token};
use godepot_depot::{
    Answer, Body, Coordination, Depot, DepotError, DepotOptions, Fetched, FetchedZip, Fetcher,
    Fetchers,
};
use godepot_module::{ModulePath, Version};
use godepot_store::{ArtifactKey, Kind, LocalStore, Store};

const MODULE: &str = "example.com/m";
const VERSION: &str = "v1.0.0";

/// One replica's view of leases kept in one shared table: it can be made to stop renewing
/// (a replica that died or stalled: its lease runs out) or to fail every call (Redis down).
struct FakeCoordinator {
    shared: Arc<InProcess>,
    frozen: AtomicBool,
    down: AtomicBool,
}

impl FakeCoordinator {
    fn new(shared: &Arc<InProcess>) -> Arc<FakeCoordinator> {
        Arc::new(FakeCoordinator {
            shared: Arc::clone(shared),
            frozen: AtomicBool::new(false),
            down: AtomicBool::new(false),
        })
    }

    fn check(&self) -> Result<(), CoordError> {
        match self.down.load(Ordering::SeqCst) {
            true => Err(CoordError {
                coordinator: "fake".into(),
                reason: "connection refused".into(),
            }),
            false => Ok(()),
        }
    }
}

impl Coordinator for FakeCoordinator {
    fn try_acquire<'a>(
        &'a self,
        name: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<Token>, CoordError>> {
        Box::pin(async move {
            self.check()?;
            self.shared.try_acquire(name, ttl).await
        })
    }

    fn renew<'a>(
        &'a self,
        name: &'a str,
        token: &'a Token,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, CoordError>> {
        Box::pin(async move {
            self.check()?;
            if self.frozen.load(Ordering::SeqCst) {
                // The renewal never arrives: the holder does not know yet.
                return Ok(true);
            }
            self.shared.renew(name, token, ttl).await
        })
    }

    fn holds<'a>(
        &'a self,
        name: &'a str,
        token: &'a Token,
    ) -> BoxFuture<'a, Result<bool, CoordError>> {
        Box::pin(async move {
            self.check()?;
            self.shared.holds(name, token).await
        })
    }

    fn release<'a>(
        &'a self,
        name: &'a str,
        token: &'a Token,
    ) -> BoxFuture<'a, Result<(), CoordError>> {
        Box::pin(async move {
            self.check()?;
            self.shared.release(name, token).await
        })
    }

    fn describe(&self) -> String {
        "fake".into()
    }

    fn is_shared(&self) -> bool {
        true
    }
}

/// One module version; its go.mod carries `tag`, so the bytes tell which replica's fetch
/// was kept. Counts calls; takes `delay` per answer (a very long one: a fetch that never ends).
struct Upstream {
    tag: &'static str,
    delay: Duration,
    calls: AtomicUsize,
}

impl Upstream {
    fn new(tag: &'static str, delay: Duration) -> Arc<Upstream> {
        Arc::new(Upstream {
            tag,
            delay,
            calls: AtomicUsize::new(0),
        })
    }

    fn go_mod(&self) -> String {
        format!("module {MODULE}\n\n// {}\n", self.tag)
    }

    fn zip(&self) -> Vec<u8> {
        let prefix = format!("{MODULE}@{VERSION}/");
        godepot_testkit::universe::zip_bytes(&[
            (&format!("{prefix}go.mod"), self.go_mod().as_bytes()),
            (&format!("{prefix}a.go"), b"package a\n"),
        ])
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    async fn answer(&self, data: Vec<u8>) -> Result<Fetched, DepotError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(self.delay).await;
        Ok(Fetched::new(data, self.tag))
    }
}

impl Fetcher for Upstream {
    fn describe(&self) -> String {
        self.tag.to_string()
    }
    fn list<'a>(&'a self, _: &'a ModulePath) -> BoxFuture<'a, Result<Fetched, DepotError>> {
        Box::pin(self.answer(format!("{VERSION}\n").into_bytes()))
    }
    fn latest<'a>(&'a self, _: &'a ModulePath) -> BoxFuture<'a, Result<Fetched, DepotError>> {
        Box::pin(self.answer(format!("{{\"Version\":\"{VERSION}\"}}").into_bytes()))
    }
    fn info<'a>(
        &'a self,
        _: &'a ModulePath,
        q: &'a str,
    ) -> BoxFuture<'a, Result<Fetched, DepotError>> {
        Box::pin(self.answer(format!("{{\"Version\":\"{q}\"}}").into_bytes()))
    }
    fn go_mod<'a>(
        &'a self,
        _: &'a ModulePath,
        _: &'a Version,
    ) -> BoxFuture<'a, Result<Fetched, DepotError>> {
        Box::pin(self.answer(self.go_mod().into_bytes()))
    }
    fn zip<'a>(
        &'a self,
        _: &'a ModulePath,
        _: &'a Version,
    ) -> BoxFuture<'a, Result<FetchedZip, DepotError>> {
        Box::pin(async move {
            let whole = self.answer(self.zip()).await?;
            let len = whole.data.len() as u64;
            let (a, b) = whole.data.split_at(whole.data.len() / 2);
            let pieces = vec![Ok(Bytes::copy_from_slice(a)), Ok(Bytes::copy_from_slice(b))];
            Ok(FetchedZip {
                len: Some(len),
                body: Box::pin(futures_util::stream::iter(pieces)),
                source: whole.source,
            })
        })
    }
}

struct Rig {
    _tmp: tempfile::TempDir,
    store: Arc<LocalStore>,
    leases: Arc<InProcess>,
}

impl Rig {
    fn new() -> Rig {
        let tmp = tempfile::tempdir().unwrap();
        let store = Arc::new(LocalStore::open(tmp.path().join("data")).unwrap());
        Rig {
            _tmp: tmp,
            store,
            leases: Arc::new(InProcess::default()),
        }
    }

    /// A replica: its own depot (and caches), the shared store and leases.
    fn replica(&self, upstream: &Arc<Upstream>, lease: Duration) -> (Depot, Arc<FakeCoordinator>) {
        let coordinator = FakeCoordinator::new(&self.leases);
        let options = DepotOptions {
            coordination: Coordination {
                coordinator: coordinator.clone(),
                lease,
            },
            ..DepotOptions::default()
        };
        let store: Arc<dyn Store> = self.store.clone();
        let fetcher: Arc<dyn Fetcher> = upstream.clone();
        let depot = Depot::with_fetchers(store, Fetchers::single(fetcher), None, options);
        (depot, coordinator)
    }

    fn stored(&self, kind: Kind) -> Option<Bytes> {
        self.store.read(&key(kind)).unwrap()
    }
}

fn module() -> ModulePath {
    ModulePath::parse(MODULE).unwrap()
}

fn version() -> Version {
    Version::parse(VERSION).unwrap()
}

fn key(kind: Kind) -> ArtifactKey {
    ArtifactKey::new(module(), version(), kind)
}

async fn body(answer: Answer) -> Vec<u8> {
    match answer.body {
        Body::Bytes(data) | Body::Small { data, .. } => data.to_vec(),
        Body::File(artifact) => artifact.read_all().unwrap(),
        Body::Stream { mut stream, .. } => {
            let mut data = Vec::new();
            while let Some(chunk) = stream.next().await {
                data.extend_from_slice(&chunk.unwrap());
            }
            data
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_one_fetch_and_serve_the_same_bytes() {
    let rig = Rig::new();
    let (a_up, b_up) = (
        Upstream::new("a", Duration::from_millis(300)),
        Upstream::new("b", Duration::from_millis(300)),
    );
    let (a, _) = rig.replica(&a_up, Duration::from_secs(30));
    let (b, _) = rig.replica(&b_up, Duration::from_secs(30));
    let mut asks = Vec::new();
    for i in 0..8 {
        let depot = if i % 2 == 0 { a.clone() } else { b.clone() };
        asks.push(tokio::spawn(async move {
            body(depot.zip(&module(), &version()).await.unwrap()).await
        }));
    }
    let mut bodies = Vec::new();
    for ask in asks {
        bodies.push(ask.await.unwrap());
    }
    assert_eq!(
        a_up.calls() + b_up.calls(),
        1,
        "one upstream fetch between the replicas"
    );
    let stored = rig.stored(Kind::Zip).unwrap();
    assert!(
        bodies.iter().all(|b| b[..] == stored[..]),
        "every client got the stored bytes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_not_renewed_is_taken_over_by_a_waiter() {
    let rig = Rig::new();
    let lease = Duration::from_millis(300);
    // Replica a takes the lease, then hangs in its fetch and stops renewing (it died).
    let stuck = Upstream::new("a", Duration::from_secs(3600));
    let healthy = Upstream::new("b", Duration::ZERO);
    let (a, a_coord) = rig.replica(&stuck, lease);
    let (b, _) = rig.replica(&healthy, lease);
    a_coord.frozen.store(true, Ordering::SeqCst);
    let dead = tokio::spawn(async move { a.zip(&module(), &version()).await.map(drop) });
    while stuck.calls() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let started = Instant::now();
    let answer = b.zip(&module(), &version()).await.unwrap();
    let waited = started.elapsed();
    let data = body(answer).await;
    assert_eq!(healthy.calls(), 1, "the waiter fetched once it took over");
    assert!(
        waited >= lease / 2,
        "it waited for the lease to run out: {waited:?}"
    );
    assert!(waited < lease * 10, "and took over soon after: {waited:?}");
    assert_eq!(rig.stored(Kind::Zip).unwrap()[..], data[..]);
    assert_eq!(data, healthy.zip());
    dead.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_whose_lease_expired_does_not_publish() {
    let rig = Rig::new();
    let lease = Duration::from_millis(200);
    // a stalls (no renewals reach the coordinator) for longer than its lease, then finishes.
    let slow = Upstream::new("a", Duration::from_millis(1200));
    let fast = Upstream::new("b", Duration::ZERO);
    let (a, a_coord) = rig.replica(&slow, lease);
    let (b, _) = rig.replica(&fast, lease);
    a_coord.frozen.store(true, Ordering::SeqCst);
    let stalled = tokio::spawn(async move { a.go_mod(&module(), &version()).await });
    while slow.calls() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // b waits out a's lease, takes over and publishes its own bytes.
    let from_b = body(b.go_mod(&module(), &version()).await.unwrap()).await;
    assert_eq!(from_b, fast.go_mod().as_bytes());
    // a's fetch ends after that: fenced off, it serves what b stored, and stores nothing.
    let from_a = body(stalled.await.unwrap().unwrap()).await;
    assert_eq!(slow.calls(), 1);
    assert_eq!(from_a, fast.go_mod().as_bytes(), "a serves b's bytes");
    assert_eq!(
        rig.stored(Kind::Mod).unwrap(),
        fast.go_mod().as_bytes(),
        "the store holds b's bytes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_coordinator_costs_only_a_second_fetch() {
    let rig = Rig::new();
    let (a_up, b_up) = (
        Upstream::new("a", Duration::from_millis(100)),
        Upstream::new("b", Duration::from_millis(100)),
    );
    let (a, a_coord) = rig.replica(&a_up, Duration::from_secs(30));
    let (b, b_coord) = rig.replica(&b_up, Duration::from_secs(30));
    a_coord.down.store(true, Ordering::SeqCst);
    b_coord.down.store(true, Ordering::SeqCst);
    let (m, v) = (module(), version());
    let (x, y) = tokio::join!(a.go_mod(&m, &v), b.go_mod(&m, &v));
    let (x, y) = (body(x.unwrap()).await, body(y.unwrap()).await);
    assert_eq!(a_up.calls() + b_up.calls(), 2, "each fetched on its own");
    // Written once: whichever came first is what the store holds.
    let stored = rig.stored(Kind::Mod).unwrap();
    assert!(stored == x || stored == y);
    // The coordinator back: coordinated again, without a restart.
    a_coord.down.store(false, Ordering::SeqCst);
    b_coord.down.store(false, Ordering::SeqCst);
    let (zx, zy) = tokio::join!(a.zip(&m, &v), b.zip(&m, &v));
    let (zx, zy) = (body(zx.unwrap()).await, body(zy.unwrap()).await);
    assert_eq!(zx, zy);
    assert_eq!(
        a_up.calls() + b_up.calls(),
        3,
        "one fetch of the zip between them"
    );
}
