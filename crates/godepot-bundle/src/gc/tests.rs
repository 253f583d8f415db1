use std::fs::File;

use godepot_store::access::{AccessRecord, AccessTimes};
use godepot_store::{Kind, LocalStore, Store};

use super::*;
use crate::testutil::{key, put_version};

const DAY: Duration = Duration::from_secs(86_400);
const M: &str = "example.com/m";

fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn ago(days: u64) -> SystemTime {
    now() - DAY * days as u32
}

/// A store holding `M` at these versions, each stored `days` ago.
fn store(versions: &[(&str, u64)]) -> (tempfile::TempDir, LocalStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(dir.path()).unwrap();
    for (version, days) in versions {
        put_version(&store, M, version);
        for kind in [Kind::Info, Kind::Mod, Kind::Zip, Kind::ZipHash] {
            let path = dir.path().join(key(M, version, kind).rel_path());
            let file = File::options().write(true).open(path).unwrap();
            file.set_modified(ago(*days)).unwrap();
        }
    }
    (dir, store)
}

/// The access log: recording since `since_days` ago, these versions last asked for then.
fn record(store: &LocalStore, since_days: u64, accesses: &[(&str, u64)]) {
    let log = AccessTimes::new(store.root());
    log.begin(ago(since_days)).unwrap();
    let records: Vec<AccessRecord> = accesses
        .iter()
        .map(|(v, days)| AccessRecord {
            module: ModulePath::parse(M).unwrap(),
            version: Version::parse(v).unwrap(),
            at: ago(*days),
        })
        .collect();
    log.append(&records, now()).unwrap();
}

fn options(remove: bool) -> GcOptions {
    GcOptions {
        unused_for: DAY * 30,
        keep_latest: 1,
        modules: None,
        keep: HashSet::new(),
        remove,
        now: now(),
    }
}

fn verdicts(report: &GcReport) -> Vec<(String, Verdict)> {
    let mut all: Vec<_> = report
        .removed
        .iter()
        .chain(&report.kept)
        .map(|v| (v.version.clone(), v.verdict))
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all
}

fn held(store: &LocalStore) -> Vec<String> {
    let m = ModulePath::parse(M).unwrap();
    store
        .versions(&m)
        .unwrap()
        .iter()
        .map(|v| v.to_string())
        .collect()
}

#[test]
fn removes_what_no_client_asked_for_since_the_cutoff() {
    let (_dir, store) = store(&[
        ("v0.9.0", 300),
        ("v1.0.0", 300),
        ("v1.1.0", 300),
        ("v1.2.0", 300),
        ("v1.3.0", 10),
    ]);
    // v0.9.0: never asked for since recording began 100 days ago; v1.0.0 50 days ago;
    // v1.1.0 yesterday; v1.2.0 is the newest; v1.3.0 was stored 10 days ago.
    record(&store, 100, &[("v1.0.0", 50), ("v1.1.0", 1)]);
    let mut opts = options(true);
    opts.keep_latest = 0;
    let report = gc(&store, &opts).unwrap();
    assert_eq!(
        verdicts(&report),
        [
            ("v0.9.0".into(), Verdict::Unused),
            ("v1.0.0".into(), Verdict::Unused),
            ("v1.1.0".into(), Verdict::Used),
            ("v1.2.0".into(), Verdict::Unused),
            ("v1.3.0".into(), Verdict::Used),
        ]
    );
    assert_eq!(held(&store), ["v1.1.0", "v1.3.0"]);
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert!(report.removed_bytes > 0);
    let removed_zip = store.root().join(key(M, "v1.0.0", Kind::Zip).rel_path());
    assert!(!removed_zip.exists());
    let list = std::fs::read_to_string(store.root().join(M).join("@v/list")).unwrap();
    assert_eq!(list.lines().collect::<Vec<_>>(), ["v1.1.0", "v1.3.0"]);
    // Deleted, not kept in the quarantine.
    let quarantine = store.root().join(".godepot/quarantine");
    assert!(!quarantine.exists() || std::fs::read_dir(&quarantine).unwrap().next().is_none());
}

#[test]
fn keeps_the_newest_and_what_projects_need() {
    let (_dir, store) = store(&[("v1.0.0", 300), ("v1.1.0", 300), ("v1.2.0", 300)]);
    record(&store, 100, &[]);
    let mut opts = options(true);
    opts.keep.insert((
        ModulePath::parse(M).unwrap(),
        Version::parse("v1.0.0").unwrap(),
    ));
    let report = gc(&store, &opts).unwrap();
    assert_eq!(
        verdicts(&report),
        [
            ("v1.0.0".into(), Verdict::Needed),
            ("v1.1.0".into(), Verdict::Unused),
            ("v1.2.0".into(), Verdict::Latest),
        ]
    );
    assert_eq!(held(&store), ["v1.0.0", "v1.2.0"]);
}

#[test]
fn the_newest_kept_is_one_a_client_can_download() {
    let (dir, store) = store(&[("v1.0.0", 300), ("v1.1.0", 300)]);
    // v2-less module: v1.1.0 held only for its go.mod (gathered for graph pruning).
    for kind in [Kind::Zip, Kind::Info, Kind::ZipHash] {
        std::fs::remove_file(dir.path().join(key(M, "v1.1.0", kind).rel_path())).unwrap();
    }
    record(&store, 100, &[]);
    let report = gc(&store, &options(false)).unwrap();
    assert_eq!(
        verdicts(&report),
        [
            ("v1.0.0".into(), Verdict::Latest),
            ("v1.1.0".into(), Verdict::Unused),
        ]
    );
}

#[test]
fn a_dry_run_removes_nothing() {
    let (_dir, store) = store(&[("v1.0.0", 300), ("v1.1.0", 300)]);
    record(&store, 100, &[]);
    let report = gc(&store, &options(false)).unwrap();
    assert!(report.dry_run);
    assert_eq!(report.removed.len(), 1);
    assert_eq!(held(&store), ["v1.0.0", "v1.1.0"]);
}

#[test]
fn without_the_access_log_nothing_is_removed() {
    let (dir, store) = store(&[("v1.0.0", 300), ("v1.1.0", 300)]);
    record(&store, 100, &[]);
    std::fs::remove_dir_all(dir.path().join(".godepot/access")).unwrap();
    let report = gc(&store, &options(true)).unwrap();
    assert!(report.removed.is_empty(), "{report:?}");
    assert!(report.access_unknown.is_some());
    assert_eq!(
        verdicts(&report),
        [
            ("v1.0.0".into(), Verdict::Unknown),
            ("v1.1.0".into(), Verdict::Latest),
        ]
    );
    assert_eq!(held(&store), ["v1.0.0", "v1.1.0"]);
}

#[test]
fn recording_that_began_after_the_cutoff_proves_nothing_unused() {
    let (_dir, store) = store(&[("v1.0.0", 300), ("v1.1.0", 300)]);
    record(&store, 10, &[]);
    let report = gc(&store, &options(true)).unwrap();
    assert!(report.removed.is_empty(), "{report:?}");
}
