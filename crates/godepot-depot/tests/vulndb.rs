//! The vulnerability-database mirror's caching policy, against a fixture database served on
//! loopback: files kept as received, indexes asked again after the TTL and served stale when
//! the source fails, entries refetched only when the index says they changed, offline from
//! the store, and a whole mirror checked before anything is kept.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use godepot_depot::{Body, CacheStatus, Depot, DepotError, DepotOptions, VulnDbOptions};
use godepot_store::LocalStore;
use godepot_testkit::FixtureUpstream;
use godepot_testkit::vulndb::{FixtureVuln, write_db};
use godepot_upstream::{ProxyList, Upstream};
use godepot_vulndb::DbFile;

fn vulns(modified: &str) -> Vec<FixtureVuln> {
    vec![
        FixtureVuln::new("GO-2024-0001", "example.com/vuln")
            .range("0", Some("1.1.0"))
            .symbols(&["Bad"])
            .modified(modified),
        FixtureVuln::new("GO-2024-0002", "example.com/vuln")
            .range("0", None)
            .withdrawn(),
    ]
}

struct Rig {
    tmp: tempfile::TempDir,
    source: FixtureUpstream,
}

impl Rig {
    fn new() -> Rig {
        let tmp = tempfile::tempdir().unwrap();
        write_db(
            &tmp.path().join("src/vulndb"),
            &vulns("2024-03-01T12:00:00Z"),
        );
        let source = FixtureUpstream::start(&tmp.path().join("src"));
        Rig { tmp, source }
    }

    fn depot(&self, offline: bool, ttl: Duration) -> Depot {
        let store = Arc::new(LocalStore::open(self.tmp.path().join("data")).unwrap());
        let list = ProxyList::parse(&format!("{}/vulndb", self.source.url())).unwrap();
        let source = Upstream::new(&list, Default::default()).unwrap();
        let options = DepotOptions {
            offline,
            list_ttl: ttl,
            vulndb: VulnDbOptions {
                source: Some(source),
            },
            ..DepotOptions::default()
        };
        Depot::new(store, None, options)
    }

    fn source_bytes(&self, rel: &str) -> Vec<u8> {
        std::fs::read(self.tmp.path().join("src/vulndb").join(rel)).unwrap()
    }
}

async fn get(depot: &Depot, rel: &str) -> Result<(Bytes, CacheStatus), DepotError> {
    let answer = depot.vulndb(&DbFile::parse(rel).unwrap()).await?;
    match answer.body {
        Body::Small { data, .. } => Ok((data, answer.cache)),
        _ => panic!("a vulndb answer is held in memory"),
    }
}

#[tokio::test]
async fn files_are_kept_as_received_and_served_stale_then_offline() {
    let rig = Rig::new();
    let depot = rig.depot(false, Duration::from_millis(200));
    let (data, cache) = get(&depot, "index/modules.json").await.unwrap();
    assert_eq!(
        (data.to_vec(), cache),
        (rig.source_bytes("index/modules.json"), CacheStatus::Miss)
    );
    let (_, cache) = get(&depot, "index/modules.json").await.unwrap();
    assert_eq!(cache, CacheStatus::Hit, "within the TTL");
    let (data, cache) = get(&depot, "ID/GO-2024-0001.json").await.unwrap();
    assert_eq!(
        (data.to_vec(), cache),
        (rig.source_bytes("ID/GO-2024-0001.json"), CacheStatus::Miss)
    );
    let (_, cache) = get(&depot, "ID/GO-2024-0001.json").await.unwrap();
    assert_eq!(
        cache,
        CacheStatus::Hit,
        "an entry the index says is current"
    );
    let hits = rig.source.hits("/vulndb/ID/GO-2024-0001.json");
    assert_eq!(hits, 1);

    // Not there at the source: 404, nothing kept.
    let missing = get(&depot, "ID/GO-2099-0001.json").await.unwrap_err();
    assert!(matches!(missing, DepotError::NotFound(_)), "{missing}");

    // The source down: past the TTL the index is served stale, entries as held.
    rig.source.stop();
    tokio::time::sleep(Duration::from_millis(250)).await;
    let (data, cache) = get(&depot, "index/modules.json").await.unwrap();
    assert_eq!(
        (data.to_vec(), cache),
        (rig.source_bytes("index/modules.json"), CacheStatus::Stale)
    );
    let never = get(&depot, "index/db.json").await.unwrap_err();
    assert!(
        matches!(
            never,
            DepotError::Upstream { .. } | DepotError::UpstreamTimeout { .. }
        ),
        "not held and the source down: a 502, not a 404: {never}"
    );

    let offline = rig.depot(true, Duration::from_secs(60));
    let (data, cache) = get(&offline, "ID/GO-2024-0001.json").await.unwrap();
    assert_eq!(
        (data.to_vec(), cache),
        (
            rig.source_bytes("ID/GO-2024-0001.json"),
            CacheStatus::Offline
        )
    );
    let absent = get(&offline, "ID/GO-2024-0002.json").await.unwrap_err();
    assert!(matches!(absent, DepotError::NotFound(_)), "{absent}");
}

#[tokio::test]
async fn a_mirror_is_whole_checked_and_refetches_only_changed_entries() {
    let rig = Rig::new();
    let depot = rig.depot(false, Duration::ZERO);
    let report = depot.mirror_vulndb().await.unwrap();
    assert_eq!(
        (report.entries, report.fetched, report.previous),
        (2, 2, None)
    );
    assert_eq!(report.modified, "2024-03-01T12:00:00Z");

    // One entry changes: only it is fetched again.
    write_db(
        &rig.tmp.path().join("src/vulndb"),
        &vulns("2024-04-01T00:00:00Z"),
    );
    let report = depot.mirror_vulndb().await.unwrap();
    assert_eq!(report.fetched, 1, "{report:?}");
    assert_eq!(report.previous.as_deref(), Some("2024-03-01T12:00:00Z"));
    assert_eq!(report.modified, "2024-04-01T00:00:00Z");

    // An inconsistent source: refused whole, the copy held left as it was.
    let db = rig.tmp.path().join("src/vulndb/index/db.json");
    std::fs::write(&db, br#"{"modified":"2020-01-01T00:00:00Z"}"#).unwrap();
    let err = depot.mirror_vulndb().await.unwrap_err();
    assert!(
        err.to_string().contains("before ID/GO-2024-0001.json"),
        "{err}"
    );
    let store = LocalStore::open(rig.tmp.path().join("data")).unwrap();
    let held = godepot_depot::held_vulndb(&store).unwrap().unwrap();
    assert_eq!(held.db, br#"{"modified":"2024-04-01T00:00:00Z"}"#);
    godepot_vulndb::validate(&held).unwrap();
}
