//! The depot's policy against an in-memory [`Fetcher`]: store hit and miss, single-flight,
//! stale-if-error, offline answers, refusal of what must not be kept, routing by module, and
//! the policy gate.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use godepot_depot::{
    Answer, Body, CacheStatus, Depot, DepotError, DepotOptions, FallThrough, Fetched, FetchedZip,
    Fetcher, Fetchers, Reason,
};
use godepot_module::{ModulePath, Version};
use godepot_store::{ArtifactKey, Kind, LocalStore, Store};

/// Answers from maps, counting every call; can be made to fail or to take its time.
#[derive(Default)]
struct Fake {
    name: &'static str,
    files: Mutex<HashMap<String, Bytes>>,
    calls: Mutex<HashMap<String, usize>>,
    total: AtomicUsize,
    failing: AtomicBool,
    delay: Mutex<Duration>,
}

impl Fake {
    fn new(name: &'static str) -> Arc<Fake> {
        Arc::new(Fake {
            name,
            ..Fake::default()
        })
    }

    /// Serves `module@version` with a go.mod naming `declared`, a matching .info and zip.
    fn add(&self, module: &str, version: &str, declared: &str) {
        let v = godepot_testkit::universe::version_files(module, version, declared);
        let mut files = self.files.lock().unwrap();
        files.insert(format!("{module}@{version}.mod"), v.go_mod.into());
        files.insert(format!("{module}@{version}.info"), v.info.clone().into());
        files.insert(format!("{module}@{version}.zip"), v.zip.into());
        files.insert(format!("{module}@latest"), v.info.into());
        let list = files.entry(format!("{module} list")).or_default();
        *list = format!("{}{version}\n", String::from_utf8_lossy(list)).into();
    }

    fn calls(&self, what: &str) -> usize {
        self.calls.lock().unwrap().get(what).copied().unwrap_or(0)
    }

    fn answer(&self, what: String) -> BoxFuture<'_, Result<Fetched, DepotError>> {
        Box::pin(async move {
            *self.calls.lock().unwrap().entry(what.clone()).or_default() += 1;
            self.total.fetch_add(1, Ordering::SeqCst);
            let delay = *self.delay.lock().unwrap();
            tokio::time::sleep(delay).await;
            if self.failing.load(Ordering::SeqCst) {
                return Err(DepotError::Upstream {
                    what: what.clone(),
                    cause: Arc::new(Reason(format!("{} is down", self.name))),
                });
            }
            match self.files.lock().unwrap().get(&what) {
                Some(data) => Ok(Fetched::new(data.clone(), self.name)),
                None => Err(DepotError::NotFound(format!("{what}: not found"))),
            }
        })
    }
}

impl Fetcher for Fake {
    fn describe(&self) -> String {
        self.name.to_string()
    }
    fn list<'a>(&'a self, m: &'a ModulePath) -> BoxFuture<'a, Result<Fetched, DepotError>> {
        self.answer(format!("{m} list"))
    }
    fn latest<'a>(&'a self, m: &'a ModulePath) -> BoxFuture<'a, Result<Fetched, DepotError>> {
        self.answer(format!("{m}@latest"))
    }
    fn info<'a>(
        &'a self,
        m: &'a ModulePath,
        q: &'a str,
    ) -> BoxFuture<'a, Result<Fetched, DepotError>> {
        self.answer(format!("{m}@{q}.info"))
    }
    fn go_mod<'a>(
        &'a self,
        m: &'a ModulePath,
        v: &'a Version,
    ) -> BoxFuture<'a, Result<Fetched, DepotError>> {
        self.answer(format!("{m}@{v}.mod"))
    }
    fn zip<'a>(
        &'a self,
        m: &'a ModulePath,
        v: &'a Version,
    ) -> BoxFuture<'a, Result<FetchedZip, DepotError>> {
        Box::pin(async move {
            let whole = self.answer(format!("{m}@{v}.zip")).await?;
            let len = whole.data.len() as u64;
            // In two pieces, as a network would deliver it.
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
}

impl Rig {
    fn new() -> Rig {
        let tmp = tempfile::tempdir().unwrap();
        let store = Arc::new(LocalStore::open(tmp.path().join("data")).unwrap());
        Rig { _tmp: tmp, store }
    }

    fn depot(&self, fetchers: Fetchers, options: DepotOptions) -> Depot {
        let store: Arc<dyn Store> = self.store.clone();
        Depot::with_fetchers(store, fetchers, None, options)
    }

    fn holds(&self, module: &str, version: &str, kind: Kind) -> bool {
        self.store.contains(&key(module, version, kind)).unwrap()
    }
}

fn m(path: &str) -> ModulePath {
    ModulePath::parse(path).unwrap()
}

fn v(version: &str) -> Version {
    Version::parse(version).unwrap()
}

fn key(module: &str, version: &str, kind: Kind) -> ArtifactKey {
    ArtifactKey::new(m(module), v(version), kind)
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

const MOD: &str = "example.com/a";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_miss_is_fetched_kept_and_then_a_hit() {
    let rig = Rig::new();
    let fake = Fake::new("fake");
    fake.add(MOD, "v1.0.0", MOD);
    let depot = rig.depot(Fetchers::single(fake.clone()), DepotOptions::default());

    let first = depot.go_mod(&m(MOD), &v("v1.0.0")).await.unwrap();
    assert_eq!(first.cache, CacheStatus::Miss);
    assert_eq!(body(first).await, b"module example.com/a\n\ngo 1.21\n");
    assert!(rig.holds(MOD, "v1.0.0", Kind::Mod));
    let again = depot.go_mod(&m(MOD), &v("v1.0.0")).await.unwrap();
    assert_eq!(again.cache, CacheStatus::Hit);
    assert_eq!(fake.calls("example.com/a@v1.0.0.mod"), 1);

    let zip = depot.zip(&m(MOD), &v("v1.0.0")).await.unwrap();
    let want = fake.files.lock().unwrap()["example.com/a@v1.0.0.zip"].clone();
    assert_eq!(body(zip).await, want);
    assert!(rig.holds(MOD, "v1.0.0", Kind::Zip));
    let info = depot.info(&m(MOD), "v1.0.0").await.unwrap();
    assert!(body(info).await.starts_with(b"{\"Version\":\"v1.0.0\""));
    // Not there: the fetcher's 404 is the client's.
    let missing = depot.go_mod(&m(MOD), &v("v9.0.0")).await.err().unwrap();
    assert!(matches!(missing, DepotError::NotFound(_)), "{missing}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_askers_share_one_fetch() {
    let rig = Rig::new();
    let fake = Fake::new("fake");
    fake.add(MOD, "v1.0.0", MOD);
    *fake.delay.lock().unwrap() = Duration::from_millis(300);
    let depot = rig.depot(Fetchers::single(fake.clone()), DepotOptions::default());

    let mods = (0..20).map(|_| {
        let depot = depot.clone();
        tokio::spawn(async move { body(depot.go_mod(&m(MOD), &v("v1.0.0")).await.unwrap()).await })
    });
    let zips = (0..10).map(|_| {
        let depot = depot.clone();
        tokio::spawn(async move { body(depot.zip(&m(MOD), &v("v1.0.0")).await.unwrap()).await })
    });
    let lists = (0..10).map(|_| {
        let depot = depot.clone();
        tokio::spawn(async move { body(depot.list(&m(MOD)).await.unwrap()).await })
    });
    let mods: Vec<_> = futures_util::future::join_all(mods).await;
    let zips: Vec<_> = futures_util::future::join_all(zips).await;
    let lists: Vec<_> = futures_util::future::join_all(lists).await;
    assert!(
        mods.iter()
            .all(|b| b.as_ref().unwrap().starts_with(b"module example.com/a"))
    );
    let want = fake.files.lock().unwrap()["example.com/a@v1.0.0.zip"].clone();
    assert!(zips.iter().all(|b| *b.as_ref().unwrap() == want));
    assert!(lists.iter().all(|b| b.as_ref().unwrap() == b"v1.0.0\n"));
    assert_eq!(
        fake.calls("example.com/a@v1.0.0.mod"),
        1,
        "20 waiters, 1 fetch"
    );
    assert_eq!(
        fake.calls("example.com/a@v1.0.0.zip"),
        1,
        "10 waiters, 1 fetch"
    );
    assert_eq!(fake.calls("example.com/a list"), 1, "10 waiters, 1 fetch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_count_one_fetch_its_waiters_and_what_was_kept() {
    use godepot_metrics::Collect;
    let rig = Rig::new();
    let fake = Fake::new("fake");
    fake.add(MOD, "v1.0.0", MOD);
    *fake.delay.lock().unwrap() = Duration::from_secs(5);
    let depot = rig.depot(Fetchers::single(fake.clone()), DepotOptions::default());
    let metrics = depot.metrics();

    let askers: Vec<_> = (0..5)
        .map(|_| {
            let depot = depot.clone();
            tokio::spawn(async move { depot.go_mod(&m(MOD), &v("v1.0.0")).await.map(|_| ()) })
        })
        .collect();
    // While the fetch is held up: one fetch, four waiting on it.
    let deadline = std::time::Instant::now() + Duration::from_secs(4);
    while (metrics.fetches_in_flight(), metrics.flight_waiters()) != (1, 4) {
        assert!(
            std::time::Instant::now() < deadline,
            "fetches {} waiters {}",
            metrics.fetches_in_flight(),
            metrics.flight_waiters()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for asker in askers {
        asker.await.unwrap().unwrap();
    }
    assert_eq!(
        (metrics.fetches_in_flight(), metrics.flight_waiters()),
        (0, 0)
    );
    let mut text = godepot_metrics::Text::new();
    metrics.collect(&mut text);
    let text = text.finish();
    for line in [
        "godepot_store_kept_total{kind=\"mod\"} 1\n",
        "godepot_store_kept_total{kind=\"zip\"} 0\n",
        "godepot_fetches_in_flight 0\n",
        // No checksum database with a key: nothing checked.
        "godepot_sumdb_checks_total{result=\"verified\"} 0\n",
    ] {
        assert!(text.contains(line), "{line} not in:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_fetcher_gets_the_last_good_answer_served() {
    let rig = Rig::new();
    let fake = Fake::new("fake");
    fake.add(MOD, "v1.0.0", MOD);
    let options = DepotOptions {
        list_ttl: Duration::ZERO,
        ..DepotOptions::default()
    };
    let depot = rig.depot(Fetchers::single(fake.clone()), options);
    let good = depot.latest(&m(MOD)).await.unwrap();
    assert_eq!(good.cache, CacheStatus::Miss);
    let good = body(good).await;

    fake.failing.store(true, Ordering::SeqCst);
    let stale = depot.latest(&m(MOD)).await.unwrap();
    assert_eq!(stale.cache, CacheStatus::Stale);
    assert_eq!(body(stale).await, good);
    // Nothing good to fall back on: the failure is the answer, a 502 with its cause.
    let e = depot.list(&m("example.com/never")).await.err().unwrap();
    assert!(matches!(e, DepotError::Upstream { .. }), "{e}");
    assert!(std::error::Error::source(&e).is_some());
    let ready = depot.readiness().await;
    assert!(
        ready.upstream.contains("fake is down"),
        "{}",
        ready.upstream
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_answers_come_from_the_store_alone() {
    let rig = Rig::new();
    let fake = Fake::new("fake");
    fake.add(MOD, "v1.0.0", MOD);
    fake.add(MOD, "v1.1.0", MOD);
    let online = rig.depot(Fetchers::single(fake.clone()), DepotOptions::default());
    body(online.go_mod(&m(MOD), &v("v1.0.0")).await.unwrap()).await;
    body(online.info(&m(MOD), "v1.0.0").await.unwrap()).await;
    body(online.zip(&m(MOD), &v("v1.0.0")).await.unwrap()).await;
    // v1.1.0 only as a go.mod (graph-only): held, but not offered by list.
    body(online.go_mod(&m(MOD), &v("v1.1.0")).await.unwrap()).await;
    let before = fake.total.load(Ordering::SeqCst);

    for depot in [
        rig.depot(Fetchers::offline(), DepotOptions::default()),
        rig.depot(
            Fetchers::single(fake.clone()),
            DepotOptions {
                offline: true,
                ..DepotOptions::default()
            },
        ),
    ] {
        assert!(depot.is_offline());
        let held = depot.go_mod(&m(MOD), &v("v1.0.0")).await.unwrap();
        assert_eq!(held.cache, CacheStatus::Hit);
        assert_eq!(body(depot.list(&m(MOD)).await.unwrap()).await, b"v1.0.0\n");
        let zip = depot.zip(&m(MOD), &v("v1.1.0")).await.err().unwrap();
        assert!(matches!(zip, DepotError::NotFound(_)), "{zip}");
        assert!(zip.to_string().contains("offline"), "{zip}");
    }
    assert_eq!(
        fake.total.load(Ordering::SeqCst),
        before,
        "offline asks nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_names_another_module_is_refused_and_not_kept() {
    let rig = Rig::new();
    let fake = Fake::new("fake");
    fake.add(MOD, "v1.0.0", "example.com/other");
    let depot = rig.depot(Fetchers::single(fake.clone()), DepotOptions::default());

    let e = depot.go_mod(&m(MOD), &v("v1.0.0")).await.err().unwrap();
    assert!(matches!(e, DepotError::Rejected { .. }), "{e}");
    assert!(e.to_string().contains("from upstream fake"), "{e}");
    let cause = std::error::Error::source(&e).unwrap();
    assert!(
        cause
            .downcast_ref::<godepot_module::GoModCheckError>()
            .is_some()
    );
    let e = depot.zip(&m(MOD), &v("v1.0.0")).await.err().unwrap();
    assert!(matches!(e, DepotError::Rejected { .. }), "{e}");
    assert!(!rig.holds(MOD, "v1.0.0", Kind::Mod));
    assert!(!rig.holds(MOD, "v1.0.0", Kind::Zip));

    // Fixed at the source: the next request succeeds.
    fake.add(MOD, "v1.0.0", MOD);
    assert!(depot.go_mod(&m(MOD), &v("v1.0.0")).await.is_ok());
    body(depot.zip(&m(MOD), &v("v1.0.0")).await.unwrap()).await;
    assert!(rig.holds(MOD, "v1.0.0", Kind::Zip));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_module_goes_to_its_routed_fetcher() {
    let rig = Rig::new();
    let (public, private) = (Fake::new("public"), Fake::new("private"));
    public.add(MOD, "v1.0.0", MOD);
    private.add("corp.example/x", "v1.0.0", "corp.example/x");
    let fetchers = Fetchers::single(public.clone()).route("corp.example", private.clone());
    let depot = rig.depot(fetchers, DepotOptions::default());

    assert!(depot.go_mod(&m(MOD), &v("v1.0.0")).await.is_ok());
    assert!(
        depot
            .go_mod(&m("corp.example/x"), &v("v1.0.0"))
            .await
            .is_ok()
    );
    assert_eq!(public.calls("example.com/a@v1.0.0.mod"), 1);
    assert_eq!(private.calls("corp.example/x@v1.0.0.mod"), 1);
    assert_eq!(
        public.calls("corp.example/x@v1.0.0.mod"),
        0,
        "a private path never goes public"
    );
    let ready = depot.readiness().await;
    assert!(
        ready.upstream.starts_with("corp.example: private; public"),
        "{}",
        ready.upstream
    );
}

/// `proxy,direct`: the second is asked only when the first says "does not exist".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fall_through_moves_on_after_not_found_only() {
    let rig = Rig::new();
    let (proxy, direct) = (Fake::new("proxy"), Fake::new("direct"));
    proxy.add(MOD, "v1.0.0", MOD);
    direct.add("example.com/b", "v1.0.0", "example.com/b");
    let chain = FallThrough::new(vec![proxy.clone(), direct.clone()]);
    let depot = rig.depot(Fetchers::single(Arc::new(chain)), DepotOptions::default());

    assert!(depot.go_mod(&m(MOD), &v("v1.0.0")).await.is_ok());
    assert_eq!(direct.calls("example.com/a@v1.0.0.mod"), 0);
    let zip = depot.zip(&m("example.com/b"), &v("v1.0.0")).await.unwrap();
    assert!(!body(zip).await.is_empty());
    assert_eq!(proxy.calls("example.com/b@v1.0.0.zip"), 1);
    assert_eq!(direct.calls("example.com/b@v1.0.0.zip"), 1);

    proxy.failing.store(true, Ordering::SeqCst);
    let e = depot.list(&m("example.com/b")).await.err().unwrap();
    assert!(matches!(e, DepotError::Upstream { .. }), "{e}");
    assert_eq!(
        direct.calls("example.com/b list"),
        0,
        "a failure is not a 404"
    );
    let ready = depot.readiness().await;
    assert!(
        ready.upstream.starts_with("proxy,direct"),
        "{}",
        ready.upstream
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_decides_before_any_fetch_and_filters_what_changes() {
    let rig = Rig::new();
    let fake = Fake::new("fake");
    for version in ["v1.0.0", "v1.1.0", "v1.2.0"] {
        fake.add(MOD, version, MOD);
    }
    let v11 = fake.files.lock().unwrap()["example.com/a@v1.1.0.info"].clone();
    fake.files
        .lock()
        .unwrap()
        .insert("example.com/a@v1.1.info".into(), v11);
    let depot = rig.depot(Fetchers::single(fake.clone()), DepotOptions::default());
    let text = "[[deny]]\nmodule = \"example.com/a\"\nversions = \">= v1.1.0\"\nreason = \"CVE-2099-0001\"\n";
    depot.set_policy(godepot_policy::Policy::parse("p.toml", text).unwrap());

    for blocked in [
        depot.go_mod(&m(MOD), &v("v1.1.0")).await.err(),
        depot.zip(&m(MOD), &v("v1.2.0")).await.err(),
        depot.info(&m(MOD), "v1.1.0").await.err(),
        depot.keep(key(MOD, "v1.1.0", Kind::Zip)).await.err(),
        // A query must not resolve to a blocked version.
        depot.info(&m(MOD), "v1.1").await.err(),
    ] {
        let e = blocked.expect("refused");
        assert!(matches!(e, DepotError::Blocked(_)), "{e}");
        assert!(e.to_string().ends_with(": CVE-2099-0001"), "{e}");
    }
    for never in ["v1.1.0.mod", "v1.2.0.zip", "v1.1.0.info", "v1.1.0.zip"] {
        assert_eq!(
            fake.calls(&format!("example.com/a@{never}")),
            0,
            "{never} fetched"
        );
    }
    assert!(!rig.holds(MOD, "v1.1.0", Kind::Zip));

    let list = body(depot.list(&m(MOD)).await.unwrap()).await;
    assert_eq!(list, b"v1.0.0\n");
    // Upstream's latest (v1.2.0) is blocked: the newest allowed instead.
    let latest = body(depot.latest(&m(MOD)).await.unwrap()).await;
    assert!(
        latest.starts_with(b"{\"Version\":\"v1.0.0\""),
        "{}",
        String::from_utf8_lossy(&latest)
    );

    // Every version blocked: @latest is the refusal of the newest.
    let all = "[[deny]]\nmodule = \"example.com/a\"\nreason = \"malware\"\n";
    depot.set_policy(godepot_policy::Policy::parse("p.toml", all).unwrap());
    let e = depot.latest(&m(MOD)).await.err().expect("refused");
    assert_eq!(
        e.to_string(),
        "example.com/a@v1.2.0 is blocked by policy (deny rule 1, line 1): malware"
    );

    // A policy swapped in takes effect at once, cached answers included.
    depot.set_policy(godepot_policy::Policy::allow_all());
    let list = body(depot.list(&m(MOD)).await.unwrap()).await;
    assert_eq!(list, b"v1.0.0\nv1.1.0\nv1.2.0\n");
    assert_eq!(
        fake.calls("example.com/a list"),
        1,
        "filtered when served, cached as fetched"
    );
    assert!(depot.go_mod(&m(MOD), &v("v1.1.0")).await.is_ok());
}

#[tokio::test]
async fn a_private_lookup_is_answered_here_never_forwarded() {
    let rig = Rig::new();
    // A database whose address answers nothing: forwarding would be a 502, not a 404.
    let unreachable = godepot_upstream::ProxyList::parse("http://127.0.0.1:9").unwrap();
    let spec = godepot_sumdb::parse_database_list("sum.example")
        .unwrap()
        .remove(0);
    let sumdb = godepot_depot::SumdbOptions {
        databases: vec![godepot_depot::SumdbDatabase {
            spec,
            direct: godepot_upstream::Upstream::new(&unreachable, Default::default()).unwrap(),
        }],
        private: "git.corp.example".into(),
        ..Default::default()
    };
    let options = DepotOptions {
        sumdb,
        ..DepotOptions::default()
    };
    let depot = rig.depot(Fetchers::offline(), options);
    let lookup = godepot_sumdb::SumdbPath::Lookup(m("git.corp.example/team/lib"), v("v1.0.0"));
    let e = depot.sumdb("sum.example", &lookup).await.err().unwrap();
    assert!(matches!(e, DepotError::NotFound(_)), "{e}");
    assert!(
        e.to_string().contains("private module: set GONOSUMDB"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_given_to_clients_are_noted_and_nothing_else() {
    use godepot_store::access::{AccessRecorder, AccessTimes, Recorded, SystemClock};

    let rig = Rig::new();
    let fake = Fake::new("fake");
    fake.add(MOD, "v1.0.0", MOD);
    fake.add(MOD, "v1.1.0", MOD);
    fake.add(MOD, "v1.2.0", "example.com/other");
    let recorder = AccessRecorder::open(rig.store.root(), Arc::new(SystemClock)).unwrap();
    let recorder = Arc::new(recorder);
    let options = DepotOptions {
        access: Some(Arc::clone(&recorder)),
        ..DepotOptions::default()
    };
    let depot = rig.depot(Fetchers::single(fake.clone()), options);

    // Given: v1.0.0 (fetched, then held) and v1.1.0's go.mod.
    body(depot.info(&m(MOD), "v1.0.0").await.unwrap()).await;
    body(depot.zip(&m(MOD), &v("v1.0.0")).await.unwrap()).await;
    body(depot.go_mod(&m(MOD), &v("v1.0.0")).await.unwrap()).await;
    body(depot.go_mod(&m(MOD), &v("v1.1.0")).await.unwrap()).await;
    // Not given to anyone: a list, a refusal, a version that does not exist, a prefetch.
    body(depot.list(&m(MOD)).await.unwrap()).await;
    assert!(depot.go_mod(&m(MOD), &v("v1.2.0")).await.is_err());
    assert!(depot.go_mod(&m(MOD), &v("v9.0.0")).await.is_err());
    depot.keep(key(MOD, "v1.1.0", Kind::Zip)).await.unwrap();

    assert_eq!(recorder.flush().unwrap(), 2, "one note per version");
    let Recorded::Known(data) = AccessTimes::new(rig.store.root()).read().unwrap() else {
        panic!("no access log");
    };
    let mut noted: Vec<String> = data.iter().map(|(_, v, _)| v.to_string()).collect();
    noted.sort();
    assert_eq!(noted, ["v1.0.0", "v1.1.0"]);
}

/// A fetcher that gives no validators (as git does) is asked in full by sync, which tells a
/// changed list by the copy it kept.
#[tokio::test]
async fn sync_over_a_fetcher_without_validators_compares_the_copy_kept() {
    use godepot_depot::{Follow, NoProgress, SyncOptions, sync};
    let rig = Rig::new();
    let fake = Fake::new("fake");
    fake.add(MOD, "v1.0.0", MOD);
    let depot = rig.depot(Fetchers::single(fake.clone()), DepotOptions::default());
    for kind in [Kind::Info, Kind::Mod, Kind::Zip] {
        depot.keep(key(MOD, "v1.0.0", kind)).await.unwrap();
    }
    fake.add(MOD, "v1.0.1", MOD);
    fake.add(MOD, "v1.1.0", MOD);
    let options = SyncOptions {
        follow: Follow::Patch,
        ..SyncOptions::default()
    };
    let first = sync(&depot, &options, &NoProgress).await.unwrap();
    assert!(first.is_clean(), "{first:?}");
    let fetched: Vec<&str> = first.fetched.iter().map(|f| f.version.as_str()).collect();
    assert_eq!(fetched, ["v1.0.1"]);
    assert_eq!((first.not_modified, first.lists_changed.len()), (0, 1));
    assert!(rig.holds(MOD, "v1.0.1", Kind::Zip) && !rig.holds(MOD, "v1.1.0", Kind::Info));

    let second = sync(&depot, &options, &NoProgress).await.unwrap();
    assert!(
        second.fetched.is_empty() && second.lists_changed.is_empty(),
        "{second:?}"
    );
    assert_eq!(second.not_modified, 0);
    assert_eq!(fake.calls(&format!("{MOD} list")), 2);
}

/// The fixture database of the facts tests: `example.com/a` below v1.2.0 is affected by
/// GO-2099-0001, fixed in v1.2.0.
#[derive(Debug)]
struct FixtureAdvisories;

impl godepot_depot::Advisories for FixtureAdvisories {
    fn affecting(&self, module: &ModulePath, version: &Version) -> Vec<godepot_policy::Advisory> {
        let below = godepot_module::semver::compare(version.as_str(), "v1.2.0").is_lt();
        if module.as_str() != MOD || !below {
            return Vec::new();
        }
        vec![godepot_policy::Advisory {
            id: "GO-2099-0001".into(),
            aliases: vec!["CVE-2099-0001".into()],
            summary: None,
            fixed: Some("v1.2.0".into()),
        }]
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vulnerable_versions_are_refused_skipped_by_lists_and_latest_but_their_go_mod_served() {
    let rig = Rig::new();
    let fake = Fake::new("fake");
    for version in ["v1.0.0", "v1.1.0", "v1.2.0"] {
        fake.add(MOD, version, MOD);
    }
    // Upstream's @latest names an affected version.
    let v11 = fake.files.lock().unwrap()["example.com/a@v1.1.0.info"].clone();
    fake.files
        .lock()
        .unwrap()
        .insert("example.com/a@latest".into(), v11.clone());
    fake.files
        .lock()
        .unwrap()
        .insert("example.com/a@v1.1.info".into(), v11);
    let depot = rig.depot(Fetchers::single(fake.clone()), DepotOptions::default());
    let text = "[[deny]]\nvulnerable = true\nreason = \"upgrade\"\n";
    depot.set_policy(godepot_policy::Policy::parse("p.toml", text).unwrap());

    // No database held: nothing is affected.
    assert!(depot.info(&m(MOD), "v1.0.0").await.is_ok());
    depot.set_advisories(Some(Arc::new(FixtureAdvisories)));
    for refused in [
        depot.info(&m(MOD), "v1.1.0").await.err(),
        depot.zip(&m(MOD), &v("v1.1.0")).await.err(),
        depot.keep(key(MOD, "v1.1.0", Kind::Zip)).await.err(),
        depot.info(&m(MOD), "v1.1").await.err(),
    ] {
        let e = refused.expect("refused");
        assert!(matches!(e, DepotError::Blocked(_)), "{e}");
        assert_eq!(
            e.to_string(),
            "example.com/a@v1.1.0 is blocked by policy (deny rule 1, line 1): affected by \
             GO-2099-0001 (fixed in v1.2.0); upgrade"
        );
    }
    assert_eq!(fake.calls("example.com/a@v1.1.0.zip"), 0, "never fetched");
    // The module graph may need the go.mod of a version it does not build.
    assert!(depot.go_mod(&m(MOD), &v("v1.1.0")).await.is_ok());

    let list = body(depot.list(&m(MOD)).await.unwrap()).await;
    assert_eq!(list, b"v1.2.0\n");
    let latest = body(depot.latest(&m(MOD)).await.unwrap()).await;
    assert!(
        latest.starts_with(b"{\"Version\":\"v1.2.0\""),
        "{}",
        String::from_utf8_lossy(&latest)
    );

    // An exception for the id, written first, lets the affected versions in again.
    let text =
        "[[allow]]\nvulnerable = true\nids = [\"GO-2099-0001\"]\n[[deny]]\nvulnerable = true\n";
    depot.set_policy(godepot_policy::Policy::parse("p.toml", text).unwrap());
    assert!(depot.zip(&m(MOD), &v("v1.1.0")).await.is_ok());
    let list = body(depot.list(&m(MOD)).await.unwrap()).await;
    assert_eq!(list, b"v1.0.0\nv1.1.0\nv1.2.0\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zip_refused_for_its_licence_is_fetched_checked_kept_and_never_served() {
    let rig = Rig::new();
    let fake = Fake::new("fake");
    fake.add(MOD, "v1.0.0", MOD);
    fake.add("example.com/b", "v1.0.0", "example.com/b");
    let prefix = "example.com/a@v1.0.0/";
    let zip = godepot_testkit::universe::zip_bytes(&[
        (
            &format!("{prefix}go.mod"),
            b"module example.com/a\n\ngo 1.21\n",
        ),
        (
            &format!("{prefix}LICENSE"),
            godepot_testkit::licenses::MIT.as_bytes(),
        ),
    ]);
    let go_mod = Bytes::from_static(b"module example.com/a\n\ngo 1.21\n");
    {
        let mut files = fake.files.lock().unwrap();
        files.insert("example.com/a@v1.0.0.zip".into(), zip.into());
        files.insert("example.com/a@v1.0.0.mod".into(), go_mod);
    }
    let depot = rig.depot(Fetchers::single(fake.clone()), DepotOptions::default());
    let text =
        "default-license = \"deny\"\n[[deny]]\nlicenses = [\"MIT\"]\nreason = \"not ours\"\n";
    depot.set_policy(godepot_policy::Policy::parse("p.toml", text).unwrap());

    // The licence is not known until the zip is: .info and .mod are served.
    assert!(depot.info(&m(MOD), "v1.0.0").await.is_ok());
    assert!(depot.go_mod(&m(MOD), &v("v1.0.0")).await.is_ok());
    let e = depot
        .zip(&m(MOD), &v("v1.0.0"))
        .await
        .err()
        .expect("refused");
    assert_eq!(
        e.to_string(),
        "example.com/a@v1.0.0 is blocked by policy (deny rule 1, line 2): licence MIT; not ours"
    );
    assert_eq!(fake.calls("example.com/a@v1.0.0.zip"), 1);
    assert!(rig.holds(MOD, "v1.0.0", Kind::Zip), "kept, as checked");
    // Known now: the .info is refused too, and the zip is not fetched again.
    assert!(depot.info(&m(MOD), "v1.0.0").await.is_err());
    assert!(depot.zip(&m(MOD), &v("v1.0.0")).await.is_err());
    assert_eq!(fake.calls("example.com/a@v1.0.0.zip"), 1);

    // No licence file: unknown, and default-license decides.
    let e = depot.zip(&m("example.com/b"), &v("v1.0.0")).await.err();
    let e = e.expect("refused");
    assert!(e.to_string().contains("default-license = \"deny\""), "{e}");
    // Without licence rules nothing is looked at.
    depot.set_policy(godepot_policy::Policy::allow_all());
    assert!(depot.zip(&m("example.com/b"), &v("v1.0.0")).await.is_ok());
}
