//! `sync` against the fixture upstream through the real proxy client: each follow rule
//! fetches exactly its versions, a second sync costs only 304s, the policy is obeyed, and a
//! dead upstream is reported with nothing changed. Also the client's side of the same
//! revalidation: a list asked for after its time-to-live costs a 304 when unchanged.

use std::path::Path;
use std::sync::Arc;

use godepot_depot::{Depot, DepotOptions, Follow, NoProgress, SyncOptions, SyncReport, sync};
use godepot_module::{ModulePath, Version};
use godepot_store::{ArtifactKey, Kind, LocalStore, Store};
use godepot_testkit::{FixtureUpstream, UniverseBuilder};
use godepot_upstream::{Netrc, ProxyList, Upstream, UpstreamOptions};

const MOD: &str = "example.com/m";
const OTHER: &str = "example.com/other";

/// The upstream tree: `example.com/m` at `versions`, `example.com/other` at v1.0.0. Built
/// again over the same directory, earlier versions keep their bytes (it is deterministic).
fn publish(root: &Path, versions: &[&str]) {
    let mut builder = UniverseBuilder::new(root).module(MOD);
    for v in versions {
        builder = builder.version(v);
    }
    builder.module(OTHER).version("v1.0.0").build();
}

struct Rig {
    _tmp: tempfile::TempDir,
    upstream: FixtureUpstream,
    store: Arc<LocalStore>,
    depot: Depot,
}

/// A proxy client for `upstream`, without retries (a dead upstream fails at once).
fn client(upstream: &FixtureUpstream) -> Upstream {
    let list = ProxyList::parse(&upstream.url()).unwrap();
    let options = UpstreamOptions {
        retries: 0,
        ..UpstreamOptions::default()
    };
    Upstream::with_netrc(&list, options, Netrc::default()).unwrap()
}

impl Rig {
    /// A store holding `example.com/m@v0.1.0` and `example.com/other@v1.0.0`, after which
    /// upstream gains a patch, a minor and a major version of `example.com/m`.
    async fn new() -> Rig {
        let tmp = tempfile::tempdir().unwrap();
        let served = tmp.path().join("upstream");
        publish(&served, &["v0.1.0"]);
        let upstream = FixtureUpstream::start(&served);
        let store = Arc::new(LocalStore::open(tmp.path().join("data")).unwrap());
        let held: Arc<dyn Store> = store.clone();
        let depot = Depot::new(held, Some(client(&upstream)), DepotOptions::default());
        for (module, version) in [(MOD, "v0.1.0"), (OTHER, "v1.0.0")] {
            for kind in [Kind::Info, Kind::Mod, Kind::Zip] {
                depot.keep(key(module, version, kind)).await.unwrap();
            }
        }
        publish(&served, &["v0.1.0", "v0.1.1", "v0.2.0", "v1.0.0"]);
        upstream.reset_hits();
        Rig {
            _tmp: tmp,
            upstream,
            store,
            depot,
        }
    }

    async fn sync(&self, follow: Follow) -> SyncReport {
        let options = SyncOptions {
            follow,
            ..SyncOptions::default()
        };
        sync(&self.depot, &options, &NoProgress).await.unwrap()
    }

    fn held(&self, module: &str) -> Vec<String> {
        let module = ModulePath::parse(module).unwrap();
        let versions = self.store.versions(&module).unwrap();
        versions.iter().map(|v| v.to_string()).collect()
    }
}

fn key(module: &str, version: &str, kind: Kind) -> ArtifactKey {
    ArtifactKey::new(
        ModulePath::parse(module).unwrap(),
        Version::parse(version).unwrap(),
        kind,
    )
}

fn fetched(report: &SyncReport) -> Vec<String> {
    let names = report.fetched.iter();
    names
        .map(|f| format!("{}@{}", f.module, f.version))
        .collect()
}

#[tokio::test]
async fn each_follow_rule_fetches_exactly_its_versions() {
    let cases = [
        (Follow::None, vec![]),
        (Follow::Patch, vec!["v0.1.1"]),
        (Follow::Minor, vec!["v0.1.1", "v0.2.0"]),
        (Follow::All, vec!["v0.1.1", "v0.2.0", "v1.0.0"]),
    ];
    for (follow, want) in cases {
        let rig = Rig::new().await;
        let report = rig.sync(follow).await;
        assert!(report.is_clean(), "{follow:?}: {report:?}");
        assert_eq!(report.modules_checked, 2);
        let want_fetched: Vec<String> = want.iter().map(|v| format!("{MOD}@{v}")).collect();
        assert_eq!(fetched(&report), want_fetched, "{follow:?}");
        let mut want_held = vec!["v0.1.0"];
        want_held.extend(&want);
        assert_eq!(rig.held(MOD), want_held, "{follow:?}");
        assert_eq!(rig.held(OTHER), ["v1.0.0"]);
        // Only the module whose list upstream changed says so (none was kept before).
        assert_eq!(report.lists_changed, [MOD, OTHER], "{follow:?}");
    }
}

#[tokio::test]
async fn a_second_sync_asks_conditionally_and_fetches_nothing() {
    let rig = Rig::new().await;
    let first = rig.sync(Follow::All).await;
    assert_eq!(fetched(&first).len(), 3);
    assert_eq!(first.not_modified, 0);
    rig.upstream.reset_hits();

    let second = rig.sync(Follow::All).await;
    assert!(second.is_clean(), "{second:?}");
    assert!(second.fetched.is_empty(), "{second:?}");
    assert!(second.lists_changed.is_empty(), "{second:?}");
    // Two modules, a list and an @latest each: all four answered 304, and nothing else asked.
    assert_eq!(second.not_modified, 4, "{second:?}");
    assert_eq!(rig.upstream.not_modified(""), 4);
    assert_eq!(
        rig.upstream.total_hits(),
        4,
        "{:?}",
        rig.upstream.all_hits()
    );

    // A new version after that is seen (its list changed) and fetched.
    publish(
        rig.upstream.root(),
        &["v0.1.0", "v0.1.1", "v0.2.0", "v1.0.0", "v1.0.1"],
    );
    let third = rig.sync(Follow::Patch).await;
    assert_eq!(fetched(&third), [format!("{MOD}@v1.0.1")]);
    assert_eq!(third.lists_changed, [MOD]);
}

#[tokio::test]
async fn a_second_depot_on_the_same_store_asks_conditionally_too() {
    let rig = Rig::new().await;
    rig.sync(Follow::None).await;
    rig.upstream.reset_hits();
    // As a later `godepot sync` process would: the validators are read from the store.
    let held: Arc<dyn Store> = rig.store.clone();
    let depot = Depot::new(held, Some(client(&rig.upstream)), DepotOptions::default());
    let report = sync(&depot, &SyncOptions::default(), &NoProgress)
        .await
        .unwrap();
    assert_eq!(report.not_modified, 4, "{report:?}");
    assert_eq!(rig.upstream.not_modified(""), 4);
}

#[tokio::test]
async fn modules_patterns_narrow_what_is_synced() {
    let rig = Rig::new().await;
    let options = SyncOptions {
        modules: Some("example.com/oth*".into()),
        follow: Follow::All,
        ..SyncOptions::default()
    };
    let report = sync(&rig.depot, &options, &NoProgress).await.unwrap();
    assert_eq!(report.modules_checked, 1);
    assert!(report.fetched.is_empty());
    assert_eq!(rig.upstream.hits_containing(MOD), 0);
}

#[tokio::test]
async fn versions_the_policy_blocks_are_reported_and_not_fetched() {
    let rig = Rig::new().await;
    let text =
        "[[deny]]\nmodule = \"example.com/m\"\nversions = \">= v0.2.0\"\nreason = \"not vetted\"\n";
    rig.depot
        .set_policy(godepot_policy::Policy::parse("p.toml", text).unwrap());
    let report = rig.sync(Follow::All).await;
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(fetched(&report), [format!("{MOD}@v0.1.1")]);
    let blocked: Vec<&str> = report
        .blocked
        .iter()
        .filter_map(|b| b.version.as_deref())
        .collect();
    assert_eq!(blocked, ["v0.2.0", "v1.0.0"]);
    assert!(
        report.blocked[0].reason.contains("not vetted"),
        "{report:?}"
    );
    assert_eq!(rig.upstream.hits_containing("v0.2.0"), 0);
}

#[tokio::test]
async fn upstream_down_is_reported_and_changes_nothing() {
    let rig = Rig::new().await;
    let before = rig.store.walk().unwrap();
    let meta_before = rig.store.list_meta("mutable").unwrap();
    rig.upstream.stop();
    let report = rig.sync(Follow::All).await;
    assert!(!report.is_clean());
    let failed: Vec<&str> = report.failures.iter().map(|f| f.module.as_str()).collect();
    assert_eq!(failed, [MOD, OTHER], "{report:?}");
    assert!(
        report.failures[0].reason.contains("unreachable"),
        "{report:?}"
    );
    assert!(report.fetched.is_empty());
    assert_eq!(rig.store.walk().unwrap(), before);
    assert_eq!(rig.store.list_meta("mutable").unwrap(), meta_before);
}

#[tokio::test]
async fn a_list_asked_after_its_ttl_is_revalidated_with_a_304() {
    let rig = Rig::new().await;
    let held: Arc<dyn Store> = rig.store.clone();
    let options = DepotOptions {
        list_ttl: std::time::Duration::ZERO,
        ..DepotOptions::default()
    };
    let depot = Depot::new(held, Some(client(&rig.upstream)), options);
    let module = ModulePath::parse(MOD).unwrap();
    let body = |answer: godepot_depot::Answer| match answer.body {
        godepot_depot::Body::Bytes(data) => data,
        _ => panic!("a list is bytes"),
    };
    let first = body(depot.list(&module).await.unwrap());
    assert_eq!(first, "v0.1.0\nv0.1.1\nv0.2.0\nv1.0.0\n");
    let second = body(depot.list(&module).await.unwrap());
    assert_eq!(second, first);
    assert_eq!(rig.upstream.hits("/@v/list"), 2);
    assert_eq!(rig.upstream.not_modified("/@v/list"), 1);

    // A changed list comes whole; a dead upstream still gets the last good answer.
    publish(
        rig.upstream.root(),
        &["v0.1.0", "v0.1.1", "v0.2.0", "v1.0.0", "v1.0.1"],
    );
    let third = body(depot.list(&module).await.unwrap());
    assert_eq!(third, "v0.1.0\nv0.1.1\nv0.2.0\nv1.0.0\nv1.0.1\n");
    rig.upstream.stop();
    let stale = depot.list(&module).await.unwrap();
    assert_eq!(stale.cache, godepot_depot::CacheStatus::Stale);
    assert_eq!(body(stale), third);
}
