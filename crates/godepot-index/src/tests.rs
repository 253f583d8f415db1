use std::path::Path;

use godepot_module::{ModulePath, Version};
use godepot_store::object::ObjectStore;
use godepot_store::{ArtifactKey, Kind, LocalStore, Store};
use object_store::memory::InMemory;

use super::*;

fn key(module: &str, version: &str, kind: Kind) -> ArtifactKey {
    ArtifactKey::new(
        ModulePath::parse(module).unwrap(),
        Version::parse(version).unwrap(),
        kind,
    )
}

/// Puts a whole version (`.info`, `.mod`, `.zip`, `.ziphash`) through the store.
fn put_version(store: &dyn Store, module: &str, version: &str) {
    let info = format!("{{\"Version\":\"{version}\",\"Time\":\"2024-01-01T00:00:00Z\"}}");
    store
        .put(&key(module, version, Kind::Info), info.as_bytes())
        .unwrap();
    let go_mod = format!("module {module}\n");
    store
        .put(&key(module, version, Kind::Mod), go_mod.as_bytes())
        .unwrap();
    store
        .put(&key(module, version, Kind::Zip), b"PK-not-really-a-zip")
        .unwrap();
    store
        .put(&key(module, version, Kind::ZipHash), b"h1:abc=\n")
        .unwrap();
}

/// What a walk of the files says the store holds, as the index lists it.
fn walked(store: &dyn Store) -> Vec<(String, String)> {
    let found = walk_versions(store).unwrap().into_iter();
    found.map(|(m, v)| (m.to_string(), v.to_string())).collect()
}

fn store() -> (tempfile::TempDir, LocalStore, Arc<Index>) {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(dir.path()).unwrap();
    let index = Index::attach(&store, &local_dir(dir.path())).unwrap();
    (dir, store, index)
}

/// The index of a data directory, opened without a store.
fn open_local(root: &Path) -> Index {
    Index::open_at(&local_dir(root)).unwrap()
}

#[test]
fn every_put_is_indexed_with_sizes_and_h1() {
    let (_dir, store, index) = store();
    put_version(&store, "example.com/a", "v1.0.0");
    put_version(&store, "example.com/a", "v1.2.0");
    store
        .put(
            &key("example.com/b", "v0.1.0", Kind::Mod),
            b"module example.com/b\n",
        )
        .unwrap();
    let detail = index.module("example.com/a").unwrap().unwrap();
    let versions: Vec<_> = detail.versions.iter().map(|v| v.version.as_str()).collect();
    assert_eq!(versions, ["v1.2.0", "v1.0.0"], "newest first");
    let v = &detail.versions[0];
    assert_eq!(v.zip_size, Some(19));
    assert_eq!(v.mod_size, Some(21));
    assert_eq!(v.h1.as_deref(), Some("h1:abc="));
    assert!(v.added > 0);
    let b = index.module("example.com/b").unwrap().unwrap();
    assert_eq!(b.versions[0].zip_size, None, "a version held as .mod only");
    let totals = index.totals().unwrap();
    assert_eq!((totals.modules, totals.versions), (2, 3));
    assert_eq!(totals.bytes, detail.module.bytes + b.module.bytes);
    assert!(!index.needs_rebuild().unwrap() || index.rebuild(&store).is_ok());
}

#[test]
fn quarantine_takes_a_version_out() {
    let (_dir, store, index) = store();
    put_version(&store, "example.com/a", "v1.0.0");
    put_version(&store, "example.com/a", "v1.1.0");
    for kind in [Kind::Info, Kind::Mod, Kind::Zip, Kind::ZipHash] {
        store
            .quarantine(&key("example.com/a", "v1.0.0", kind).rel_path(), "rm-test")
            .unwrap();
    }
    let detail = index.module("example.com/a").unwrap().unwrap();
    assert_eq!(detail.versions.len(), 1);
    assert_eq!(detail.module.versions, 1);
    for kind in [Kind::Info, Kind::Mod, Kind::Zip, Kind::ZipHash] {
        store
            .quarantine(&key("example.com/a", "v1.1.0", kind).rel_path(), "rm-test")
            .unwrap();
    }
    assert!(index.module("example.com/a").unwrap().is_none());
    assert_eq!(index.totals().unwrap(), Totals::default());
}

#[test]
fn a_deleted_index_is_rebuilt_from_the_files_and_a_current_one_is_not() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (store, index) = {
            let store = LocalStore::open(dir.path()).unwrap();
            let index = Index::attach(&store, &local_dir(dir.path())).unwrap();
            (store, index)
        };
        index.rebuild(&store).unwrap();
        put_version(&store, "example.com/a", "v1.0.0");
        put_version(&store, "example.com/c", "v2.0.0+incompatible");
    }
    let index = open_local(dir.path());
    assert!(
        !index.needs_rebuild().unwrap(),
        "a clean exit leaves it current"
    );
    drop(index);
    std::fs::remove_dir_all(dir.path().join(INDEX_DIR)).unwrap();
    let store = LocalStore::open(dir.path()).unwrap();
    let index = open_local(dir.path());
    assert!(index.needs_rebuild().unwrap());
    assert!(index.indexed_versions().unwrap().is_empty());
    let rebuilt = index.rebuild(&store).unwrap();
    assert_eq!(rebuilt.totals.versions, 2);
    assert!(!index.needs_rebuild().unwrap());
    assert_eq!(index.indexed_versions().unwrap(), walked(&store));
}

#[test]
fn a_dead_writer_marks_the_index_for_a_rebuild_which_repairs_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::open(dir.path()).unwrap();
    let index = Index::attach(&store, &local_dir(dir.path())).unwrap();
    index.rebuild(&store).unwrap();
    put_version(&store, "example.com/a", "v1.0.0");
    // A file written by a process that died before telling the index, and its marker left
    // unlocked, as kill -9 leaves them.
    std::fs::create_dir_all(dir.path().join("example.com/lost/@v")).unwrap();
    std::fs::write(
        dir.path().join("example.com/lost/@v/v0.1.0.mod"),
        "module example.com/lost\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join(INDEX_DIR).join("writers/999999-1.lock"),
        b"",
    )
    .unwrap();
    let second = open_local(dir.path());
    assert!(second.needs_rebuild().unwrap());
    assert!(
        index.needs_rebuild().unwrap(),
        "one database, seen by every process"
    );
    second.rebuild(&store).unwrap();
    assert_eq!(second.indexed_versions().unwrap(), walked(&store));
    assert!(!second.needs_rebuild().unwrap());
}

#[test]
fn an_index_of_another_format_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = LocalStore::open(dir.path()).unwrap();
        let index = open_local(dir.path());
        index.rebuild(&store).unwrap();
        schema::set(&index.write(), "format", schema::FORMAT - 1).unwrap();
    }
    let index = open_local(dir.path());
    assert!(index.needs_rebuild().unwrap());
}

#[test]
fn search_finds_substrings_prefixes_first_and_pages() {
    let (_dir, store, index) = store();
    for m in [
        "example.com/zeta/yaml",
        "corp.example/yaml",
        "example.com/json",
        "yaml.example/x",
    ] {
        store
            .put(
                &key(m, "v1.0.0", Kind::Mod),
                format!("module {m}\n").as_bytes(),
            )
            .unwrap();
    }
    let page = index.search("YAML", 1, 2).unwrap();
    assert_eq!(page.total, 3);
    assert_eq!(page.pages(), 2);
    let paths: Vec<_> = page.modules.iter().map(|m| m.path.as_str()).collect();
    assert_eq!(paths, ["yaml.example/x", "corp.example/yaml"]);
    let second = index.search("yaml", 2, 2).unwrap();
    assert_eq!(second.modules[0].path, "example.com/zeta/yaml");
    assert_eq!(
        index.search("_", 1, 10).unwrap().total,
        0,
        "wildcards are literal"
    );
    assert_eq!(
        index.search("", 1, 10).unwrap().total,
        4,
        "an empty query lists all"
    );
}

#[test]
fn hits_are_counted_and_written_in_batches() {
    let (_dir, store, index) = store();
    put_version(&store, "example.com/a", "v1.0.0");
    let (m, v) = (
        ModulePath::parse("example.com/a").unwrap(),
        Version::parse("v1.0.0").unwrap(),
    );
    index.record_hit(&m, &v);
    index.record_hit(&m, &v);
    assert_eq!(
        index.module("example.com/a").unwrap().unwrap().versions[0].hits,
        0
    );
    index.flush_hits().unwrap();
    let row = &index.module("example.com/a").unwrap().unwrap().versions[0];
    assert_eq!(row.hits, 2);
    assert!(row.last_access.is_some());
    // A rebuild keeps them: they are not in the files.
    index.rebuild(&store).unwrap();
    assert_eq!(
        index.module("example.com/a").unwrap().unwrap().versions[0].hits,
        2
    );
}

/// Search over 100,000 versions (10,000 modules of ten versions) finds exactly the matches.
/// How fast it is is measured by the benchmark harness (`bench`, scale section), not here.
#[test]
fn search_over_100000_versions_finds_every_match() {
    let dir = tempfile::tempdir().unwrap();
    let index = open_local(dir.path());
    {
        let mut conn = index.write();
        let tx = conn.transaction().unwrap();
        {
            let mut insert = tx
                .prepare("INSERT INTO versions (module, version, mod_size, added) VALUES (?1, ?2, 10, 1)")
                .unwrap();
            for m in 0..10_000 {
                for v in 0..10 {
                    let module = format!("example.com/org{}/module{m}", m % 97);
                    insert
                        .execute(rusqlite::params![module, format!("v1.{v}.0")])
                        .unwrap();
                }
            }
        }
        tx.commit().unwrap();
    }
    assert_eq!(index.totals().unwrap().versions, 100_000);
    let page = index.search("module12", 1, 50).unwrap();
    assert_eq!(page.total, 111);
}

#[test]
fn a_damaged_database_is_started_afresh() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(INDEX_DIR)).unwrap();
    std::fs::write(dir.path().join(INDEX_DIR).join(DB_FILE), vec![7u8; 8192]).unwrap();
    let index = open_local(dir.path());
    assert!(index.needs_rebuild().unwrap());
}

#[test]
fn the_licence_of_a_held_zip_is_a_column_and_a_rebuild_finds_it_again() {
    let (dir, store, index) = store();
    put_licensed_zip(&store, "example.com/lic", "v1.0.0");
    store
        .put(
            &key("example.com/lic", "v1.1.0", Kind::Mod),
            b"module example.com/lic\n",
        )
        .unwrap();
    put_version(&store, "example.com/lic", "v1.2.0");
    let row = |index: &Index, version: &str| {
        let detail = index.module("example.com/lic").unwrap().unwrap();
        let row = detail.versions.into_iter().find(|r| r.version == version);
        row.map(|r| (r.license, r.license_confidence))
    };
    let (license, confidence) = row(&index, "v1.0.0").unwrap();
    assert_eq!(license.as_deref(), Some("MIT"));
    assert!(confidence.unwrap() >= 90, "{confidence:?}");
    // Only a .mod: nothing known; a zip that is not one: nothing known either.
    assert_eq!(row(&index, "v1.1.0"), Some((None, None)));
    assert_eq!(row(&index, "v1.2.0"), Some((None, None)));

    drop(index);
    drop(store);
    let store = LocalStore::open(dir.path()).unwrap();
    let index = open_local(dir.path());
    index
        .write()
        .execute("UPDATE versions SET license = NULL", [])
        .unwrap();
    index.rebuild(&store).unwrap();
    let (license, _) = row(&index, "v1.0.0").unwrap();
    assert_eq!(license.as_deref(), Some("MIT"), "recomputed from the files");
}

#[test]
fn a_zips_licence_is_found_once_not_again_when_its_ziphash_arrives() {
    let (_dir, store, index) = store();
    put_licensed_zip(&store, "example.com/lic", "v1.0.0");
    index.scans.settle();
    // What the row says stands for the zip it was found in: a detection now would say MIT.
    index
        .write()
        .execute("UPDATE versions SET license = 'as found before'", [])
        .unwrap();
    store
        .put(
            &key("example.com/lic", "v1.0.0", Kind::ZipHash),
            b"h1:abc=\n",
        )
        .unwrap();
    let detail = index.module("example.com/lic").unwrap().unwrap();
    let row = &detail.versions[0];
    assert_eq!(row.license.as_deref(), Some("as found before"));
    assert_eq!(
        row.h1.as_deref(),
        Some("h1:abc="),
        "the row is in step otherwise"
    );
}

/// The licence columns of a row as written, without waiting for the scans.
fn raw_license(index: &Index, module: &str, version: &str) -> Option<String> {
    index
        .write()
        .query_row(
            "SELECT license FROM versions WHERE module = ?1 AND version = ?2",
            [module, version],
            |row| row.get(0),
        )
        .unwrap()
}

#[test]
fn a_zips_licence_is_found_after_its_put_and_readers_wait_for_it() {
    let (_dir, store, index) = store();
    index.scans.pause(true);
    put_licensed_zip(&store, "example.com/lic", "v1.0.0");
    store
        .put(
            &key("example.com/lic", "v1.0.0", Kind::ZipHash),
            b"h1:abc=\n",
        )
        .unwrap();
    // The put returned with the row written and its licence still to be found, once.
    assert_eq!(raw_license(&index, "example.com/lic", "v1.0.0"), None);
    assert_eq!(index.scans.scanned(), 0);
    index.scans.pause(false);
    let detail = index.module("example.com/lic").unwrap().unwrap();
    assert_eq!(detail.versions[0].license.as_deref(), Some("MIT"));
    assert_eq!(detail.versions[0].h1.as_deref(), Some("h1:abc="));
    assert_eq!(
        index.scans.scanned(),
        1,
        "the .ziphash queued no second scan"
    );
}

#[test]
fn licences_still_queued_are_found_before_a_clean_close() {
    let (dir, store, index) = store();
    index.rebuild(&store).unwrap();
    index.scans.pause(true);
    put_licensed_zip(&store, "example.com/lic", "v1.0.0");
    assert_eq!(raw_license(&index, "example.com/lic", "v1.0.0"), None);
    drop(store);
    drop(index);
    let index = open_local(dir.path());
    assert!(!index.needs_rebuild().unwrap(), "a clean close");
    assert_eq!(
        raw_license(&index, "example.com/lic", "v1.0.0").as_deref(),
        Some("MIT")
    );
}

#[test]
fn a_licence_left_unfound_by_a_killed_writer_is_found_by_the_next_reader() {
    let (dir, store, index) = store();
    put_licensed_zip(&store, "example.com/lic", "v1.0.0");
    put_version(&store, "example.com/lic", "v1.1.0");
    index.scans.settle();
    // What a writer killed before its scan leaves: the row without its licence.
    index
        .write()
        .execute(
            "UPDATE versions SET license = NULL, license_confidence = NULL",
            [],
        )
        .unwrap();
    let reader = open_local(dir.path());
    let module = ModulePath::parse("example.com/lic").unwrap();
    // v1.1.0's zip is not one: looked at, nothing found, as before.
    assert_eq!(reader.find_missing_licences(&store, &module).unwrap(), 2);
    let detail = reader.module("example.com/lic").unwrap().unwrap();
    let license = |v: &str| {
        let row = detail.versions.iter().find(|r| r.version == v).unwrap();
        row.license.clone()
    };
    assert_eq!(license("v1.0.0").as_deref(), Some("MIT"));
    assert_eq!(license("v1.1.0"), None);
}

#[test]
fn a_full_queue_has_the_licence_read_in_the_put() {
    let (_dir, store, index) = store();
    index.scans.pause(true);
    let versions: Vec<String> = (0..=scans::QUEUE).map(|i| format!("v1.0.{i}")).collect();
    for version in &versions {
        put_licensed_zip(&store, "example.com/lic", version);
    }
    let (queued, last) = versions.split_at(scans::QUEUE);
    assert_eq!(raw_license(&index, "example.com/lic", &queued[0]), None);
    assert_eq!(
        raw_license(&index, "example.com/lic", &last[0]).as_deref(),
        Some("MIT"),
        "read in the put: the queue was full"
    );
    index.scans.pause(false);
    let detail = index.module("example.com/lic").unwrap().unwrap();
    assert!(
        detail
            .versions
            .iter()
            .all(|v| v.license.as_deref() == Some("MIT"))
    );
    assert_eq!(index.scans.scanned(), scans::QUEUE as u64);
}

#[test]
fn a_zip_removed_before_its_scan_leaves_no_row_behind() {
    let (_dir, store, index) = store();
    index.scans.pause(true);
    put_version(&store, "example.com/gone", "v1.0.0");
    put_licensed_zip(&store, "example.com/gone", "v1.1.0");
    store
        .quarantine(
            &key("example.com/gone", "v1.1.0", Kind::Zip).rel_path(),
            "rm",
        )
        .unwrap();
    index.scans.pause(false);
    let detail = index.module("example.com/gone").unwrap().unwrap();
    let versions: Vec<_> = detail.versions.iter().map(|v| v.version.as_str()).collect();
    assert_eq!(versions, ["v1.0.0"], "the scan wrote into no row");
}

/// A tree in a bucket in memory (conditional puts as S3 does them), as one replica opens it;
/// two replicas of one bucket share `bucket`.
fn replica(bucket: &Arc<InMemory>) -> ObjectStore {
    let backend: Arc<dyn object_store::ObjectStore> = bucket.clone();
    ObjectStore::with_backend(backend, "memory://bucket/tree".into(), "tree", None).unwrap()
}

/// Puts a zip whose LICENSE is the MIT licence, and nothing else of its version.
fn put_licensed_zip(store: &dyn Store, module: &str, version: &str) {
    let zip = licensed_zip(module, version);
    store.put(&key(module, version, Kind::Zip), &zip).unwrap();
}

fn licensed_zip(module: &str, version: &str) -> Vec<u8> {
    let (go_mod, license) = (
        format!("{module}@{version}/go.mod"),
        format!("{module}@{version}/LICENSE"),
    );
    let module_line = format!("module {module}\n");
    godepot_testkit::universe::zip_bytes(&[
        (go_mod.as_str(), module_line.as_bytes()),
        (license.as_str(), godepot_testkit::licenses::MIT.as_bytes()),
    ])
}

#[test]
fn a_bucket_is_indexed_through_the_store_with_the_index_where_the_caller_says() {
    let bucket = Arc::new(InMemory::new());
    let store = replica(&bucket);
    let dir = tempfile::tempdir().unwrap();
    let index = Index::attach(&store, dir.path()).unwrap();
    put_version(&store, "example.com/a", "v1.0.0");
    store
        .put(
            &key("example.com/lic", "v1.0.0", Kind::Zip),
            &licensed_zip("example.com/lic", "v1.0.0"),
        )
        .unwrap();
    assert!(dir.path().join(DB_FILE).is_file(), "in the directory given");
    let a = index.module("example.com/a").unwrap().unwrap();
    let v = &a.versions[0];
    assert_eq!((v.zip_size, v.mod_size), (Some(19), Some(21)));
    assert_eq!(v.h1.as_deref(), Some("h1:abc="));
    assert!(v.added > 0, "the objects' modification time");
    let lic = index.module("example.com/lic").unwrap().unwrap();
    assert_eq!(
        lic.versions[0].license.as_deref(),
        Some("MIT"),
        "the zip read from the bucket"
    );
    assert_eq!(index.search("lic", 1, 10).unwrap().total, 1);

    // A replica starting with an index of its own finds the same by a rebuild.
    let other = tempfile::tempdir().unwrap();
    let second = Index::open_at(other.path()).unwrap();
    assert!(second.needs_rebuild().unwrap());
    let rebuilt = second.rebuild(&replica(&bucket)).unwrap();
    assert_eq!(rebuilt.totals, index.totals().unwrap());
    assert_eq!(second.indexed_versions().unwrap(), walked(&store));
    assert_eq!(
        second.module("example.com/lic").unwrap().unwrap().versions[0]
            .license
            .as_deref(),
        Some("MIT")
    );
}

#[test]
fn a_refresh_syncs_only_what_other_replicas_added_changed_or_removed() {
    let bucket = Arc::new(InMemory::new());
    let (one, two) = (replica(&bucket), replica(&bucket));
    let (dir_one, dir_two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let _index_one = Index::attach(&one, dir_one.path()).unwrap();
    let index_two = Index::attach(&two, dir_two.path()).unwrap();
    index_two.rebuild(&two).unwrap();
    put_version(&two, "example.com/own", "v1.0.0");
    assert_eq!(
        index_two.totals().unwrap().versions,
        1,
        "its own write, told"
    );

    put_version(&one, "example.com/a", "v1.0.0");
    put_version(&one, "example.com/a", "v1.1.0");
    one.put(
        &key("example.com/b", "v0.1.0", Kind::Mod),
        b"module example.com/b\n",
    )
    .unwrap();
    assert_eq!(index_two.totals().unwrap().versions, 1, "not told of those");
    let refreshed = index_two.refresh(&two).unwrap();
    assert_eq!(refreshed.examined, 3, "only the versions added");
    assert_eq!(refreshed.totals.versions, 4);
    assert_eq!(index_two.indexed_versions().unwrap(), walked(&two));
    assert_eq!(index_two.search("example.com/a", 1, 10).unwrap().total, 1);
    assert_eq!(
        index_two.refresh(&two).unwrap().examined,
        0,
        "nothing changed, nothing read"
    );

    // A zip arriving for a version held as .mod only, and a version taken out.
    one.put(
        &key("example.com/b", "v0.1.0", Kind::Zip),
        &licensed_zip("example.com/b", "v0.1.0"),
    )
    .unwrap();
    for kind in [Kind::Info, Kind::Mod, Kind::Zip, Kind::ZipHash] {
        one.quarantine(&key("example.com/a", "v1.0.0", kind).rel_path(), "rm-test")
            .unwrap();
    }
    let refreshed = index_two.refresh(&two).unwrap();
    assert_eq!(refreshed.examined, 2);
    assert_eq!(index_two.indexed_versions().unwrap(), walked(&two));
    let b = index_two.module("example.com/b").unwrap().unwrap();
    assert_eq!(b.versions[0].license.as_deref(), Some("MIT"));
    assert!(b.versions[0].zip_size.is_some());
    assert!(
        !index_two.needs_rebuild().unwrap(),
        "a refresh leaves a current index current"
    );
}
