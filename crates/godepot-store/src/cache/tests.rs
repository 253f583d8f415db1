use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use std::io::Write;

use super::*;
use crate::LocalStore;
use std::path::Path;

fn key(module: &str, version: &str, kind: Kind) -> ArtifactKey {
    ArtifactKey::new(
        ModulePath::parse(module).unwrap(),
        Version::parse(version).unwrap(),
        kind,
    )
}

/// A store that counts the artifact reads that reach it, and can be switched off (a bucket
/// that is unreachable).
struct Counting {
    inner: LocalStore,
    reads: AtomicUsize,
    down: std::sync::atomic::AtomicBool,
}

impl Counting {
    fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }

    fn go_down(&self) {
        self.down.store(true, Ordering::SeqCst);
    }

    fn reach(&self) -> Result<(), StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::Io {
                path: "bucket".into(),
                source: io::Error::other("unreachable"),
            });
        }
        Ok(())
    }
}

impl Store for Counting {
    fn open(&self, key: &ArtifactKey) -> Result<Option<Artifact>, StoreError> {
        self.reach()?;
        self.inner.open(key)
    }
    fn read(&self, key: &ArtifactKey) -> Result<Option<Bytes>, StoreError> {
        self.reach()?;
        self.inner.read(key)
    }
    fn contains(&self, key: &ArtifactKey) -> Result<bool, StoreError> {
        self.reach()?;
        self.inner.contains(key)
    }
    fn put(&self, key: &ArtifactKey, data: &[u8]) -> Result<PutOutcome, StoreError> {
        self.inner.put(key, data)
    }
    fn spool(&self) -> Result<Spool, StoreError> {
        self.inner.spool()
    }
    fn put_spool(&self, key: &ArtifactKey, spool: Spool) -> Result<PutOutcome, StoreError> {
        self.inner.put_spool(key, spool)
    }
    fn versions(&self, module: &ModulePath) -> Result<Vec<Version>, StoreError> {
        self.reach()?;
        self.inner.versions(module)
    }
    fn modules(&self) -> Result<Vec<ModulePath>, StoreError> {
        self.inner.modules()
    }
    fn get_meta(&self, name: &str) -> Result<Option<Bytes>, StoreError> {
        self.reach()?;
        self.inner.get_meta(name)
    }
    fn put_meta(&self, name: &str, data: &[u8]) -> Result<(), StoreError> {
        self.inner.put_meta(name, data)
    }
    fn get_meta_versioned(&self, name: &str) -> Result<Option<(Bytes, MetaVersion)>, StoreError> {
        self.inner.get_meta_versioned(name)
    }
    fn put_meta_if(
        &self,
        name: &str,
        data: &[u8],
        expected: Option<&MetaVersion>,
    ) -> Result<bool, StoreError> {
        self.inner.put_meta_if(name, data, expected)
    }
    fn list_meta(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.inner.list_meta(prefix)
    }
    fn check_writable(&self) -> Result<(), StoreError> {
        self.inner.check_writable()
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn walk(&self) -> Result<Vec<TreeEntry>, StoreError> {
        self.inner.walk()
    }
    fn open_file(&self, rel_path: &str) -> Result<Option<Artifact>, StoreError> {
        self.reach()?;
        self.inner.open_file(rel_path)
    }
    fn reconcile_list(&self, module: &ModulePath) -> Result<ListDrift, StoreError> {
        self.inner.reconcile_list(module)
    }
    fn list_drift(&self, module: &ModulePath) -> Result<ListDrift, StoreError> {
        self.inner.list_drift(module)
    }
    fn quarantine(&self, rel_path: &str, batch: &str) -> Result<(), StoreError> {
        self.inner.quarantine(rel_path, batch)
    }
    fn quarantine_location(&self, batch: &str) -> String {
        self.inner.quarantine_location(batch)
    }
    fn purge_quarantine(&self, batch: &str) -> Result<(), StoreError> {
        self.inner.purge_quarantine(batch)
    }
    fn scratch_dir(&self) -> &Path {
        self.inner.scratch_dir()
    }
    fn local_root(&self) -> Option<&Path> {
        self.inner.local_root()
    }
    fn observe(&self, observer: Arc<dyn StoreObserver>) -> Result<(), Arc<dyn StoreObserver>> {
        self.inner.observe(observer)
    }
}

struct Fixture {
    _tmp: tempfile::TempDir,
    cache_dir: PathBuf,
    inner: Arc<Counting>,
    store: CachedStore,
}

fn fixture(max_bytes: u64) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let inner = Arc::new(Counting {
        inner: LocalStore::open(tmp.path().join("data")).unwrap(),
        reads: AtomicUsize::new(0),
        down: false.into(),
    });
    let cache_dir = tmp.path().join("cache");
    let cache = DiskCache::open(&cache_dir, max_bytes).unwrap();
    let store = CachedStore::new(inner.clone(), cache);
    Fixture {
        _tmp: tmp,
        cache_dir,
        inner,
        store,
    }
}

fn read_all(artifact: Artifact) -> Vec<u8> {
    let len = artifact.len;
    assert!(artifact.as_file().is_some(), "served from a local file");
    let data = artifact.read_all().unwrap();
    assert_eq!(data.len() as u64, len);
    data
}

fn entry_files(cache_dir: &Path) -> Vec<String> {
    let root = cache_dir.join(ENTRIES);
    let mut found = Vec::new();
    let mut pending = vec![root.clone()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
            if entry.file_type().unwrap().is_dir() {
                pending.push(entry.path());
            } else {
                let rel = entry.path().strip_prefix(&root).unwrap().to_owned();
                found.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    found.sort();
    found
}

#[test]
fn warm_hits_never_reach_the_inner_store() {
    let f = fixture(1 << 20);
    let zip = key("example.com/m", "v1.0.0", Kind::Zip);
    f.inner.put(&zip, b"zip bytes").unwrap();
    let modified = f.inner.inner.open(&zip).unwrap().unwrap().modified;

    let first = f.store.open(&zip).unwrap().unwrap();
    assert_eq!(first.modified, modified, "a hit answers the store's time");
    assert_eq!(read_all(first), b"zip bytes");
    assert_eq!(f.inner.reads(), 1);

    f.inner.go_down();
    for _ in 0..3 {
        let hit = f.store.open(&zip).unwrap().unwrap();
        assert_eq!(hit.modified, modified);
        assert_eq!(read_all(hit), b"zip bytes");
        assert_eq!(f.store.read(&zip).unwrap().unwrap(), "zip bytes");
        assert!(f.store.contains(&zip).unwrap());
    }
    assert_eq!(f.inner.reads(), 1, "served from the cache alone");
    assert_eq!(entry_files(&f.cache_dir), vec![zip.rel_path()]);
    assert!(
        fs::read_dir(f.cache_dir.join(TMP))
            .unwrap()
            .next()
            .is_none(),
        "no fill left behind"
    );
}

#[test]
fn small_reads_fill_the_cache_too() {
    let f = fixture(1 << 20);
    let info = key("example.com/m", "v1.0.0", Kind::Info);
    f.inner.put(&info, b"{}").unwrap();
    assert_eq!(f.store.read(&info).unwrap().unwrap(), "{}");
    f.inner.go_down();
    assert_eq!(f.store.read(&info).unwrap().unwrap(), "{}");
    assert_eq!(read_all(f.store.open(&info).unwrap().unwrap()), b"{}");
}

#[test]
fn misses_and_mutable_answers_go_to_the_inner_store_every_time() {
    let f = fixture(1 << 20);
    let m = ModulePath::parse("example.com/m").unwrap();
    let missing = key("example.com/m", "v9.0.0", Kind::Mod);
    assert!(f.store.open(&missing).unwrap().is_none());
    assert!(f.store.open(&missing).unwrap().is_none());
    assert_eq!(f.inner.reads(), 2, "a miss is not remembered");

    for kind in [Kind::Info, Kind::Mod, Kind::Zip] {
        f.store
            .put(&key("example.com/m", "v1.0.0", kind), b"x")
            .unwrap();
    }
    assert_eq!(f.store.versions(&m).unwrap().len(), 1);
    for kind in [Kind::Info, Kind::Mod, Kind::Zip] {
        f.store
            .put(&key("example.com/m", "v1.1.0", kind), b"x")
            .unwrap();
    }
    assert_eq!(
        f.store.versions(&m).unwrap().len(),
        2,
        "lists are never cached"
    );

    f.store.put_meta("mutable/x", b"one").unwrap();
    assert_eq!(f.store.get_meta("mutable/x").unwrap().unwrap(), "one");
    f.store.put_meta("mutable/x", b"two").unwrap();
    assert_eq!(f.store.get_meta("mutable/x").unwrap().unwrap(), "two");

    let ziphash = key("example.com/m", "v1.0.0", Kind::ZipHash);
    f.store.put(&ziphash, b"h1:x").unwrap();
    f.store.open(&ziphash).unwrap().unwrap();
    let cached = entry_files(&f.cache_dir);
    assert_eq!(cached.len(), 6, "{cached:?}");
    assert!(
        cached
            .iter()
            .all(|f| f.ends_with(".info") || f.ends_with(".mod") || f.ends_with(".zip")),
        "nothing but .info, .mod and .zip is cached: {cached:?}"
    );
}

#[test]
fn eviction_keeps_the_bound_least_recently_used_first() {
    let f = fixture(100);
    let keys: Vec<_> = ["v1.0.0", "v1.1.0", "v1.2.0"]
        .iter()
        .map(|v| key("example.com/m", v, Kind::Zip))
        .collect();
    for k in &keys {
        f.inner.put(k, &[7u8; 40]).unwrap();
    }
    f.store.open(&keys[0]).unwrap().unwrap();
    f.store.open(&keys[1]).unwrap().unwrap();
    f.store.open(&keys[0]).unwrap().unwrap(); // v1.1.0 is now the least recent
    assert_eq!(f.inner.reads(), 2);
    let third = f.store.open(&keys[2]).unwrap().unwrap();
    assert_eq!(read_all(third), [7u8; 40]);
    assert!(f.store.cache().held_bytes() <= 100);
    assert_eq!(
        entry_files(&f.cache_dir),
        vec![keys[0].rel_path(), keys[2].rel_path()]
    );
    f.store.open(&keys[0]).unwrap().unwrap();
    assert_eq!(f.inner.reads(), 3, "v1.0.0 was kept");
}

#[test]
fn an_artifact_larger_than_the_bound_is_served_uncached() {
    let f = fixture(10);
    let zip = key("example.com/m", "v1.0.0", Kind::Zip);
    f.inner.put(&zip, &[1u8; 11]).unwrap();
    assert_eq!(read_all(f.store.open(&zip).unwrap().unwrap()), [1u8; 11]);
    assert_eq!(read_all(f.store.open(&zip).unwrap().unwrap()), [1u8; 11]);
    assert_eq!(f.inner.reads(), 2);
    assert!(entry_files(&f.cache_dir).is_empty());
}

#[test]
fn a_short_source_is_never_cached() {
    let f = fixture(1 << 20);
    let zip = key("example.com/m", "v1.0.0", Kind::Zip);
    let e = f
        .store
        .cache()
        .fill(&zip, 10, SystemTime::now(), &mut &b"short"[..])
        .unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
    let e = f
        .store
        .cache()
        .fill(&zip, 2, SystemTime::now(), &mut &b"longer"[..])
        .unwrap_err();
    assert!(e.to_string().contains("more than"), "{e}");
    assert!(entry_files(&f.cache_dir).is_empty());
    assert!(
        fs::read_dir(f.cache_dir.join(TMP))
            .unwrap()
            .next()
            .is_none()
    );
    assert_eq!(f.store.cache().held_bytes(), 0);
    assert!(f.store.cache().get(&zip).is_none());
}

#[test]
fn deleting_the_cache_directory_while_serving_loses_nothing() {
    let f = fixture(1 << 20);
    let zip = key("example.com/m", "v1.0.0", Kind::Zip);
    f.inner.put(&zip, b"zip").unwrap();
    f.store.open(&zip).unwrap().unwrap();
    fs::remove_dir_all(&f.cache_dir).unwrap();
    assert_eq!(read_all(f.store.open(&zip).unwrap().unwrap()), b"zip");
    assert_eq!(f.inner.reads(), 2, "a missing file is a miss");
    assert_eq!(f.store.cache().held_bytes(), 3, "counted once");
    f.inner.go_down();
    assert_eq!(read_all(f.store.open(&zip).unwrap().unwrap()), b"zip");
}

#[test]
fn quarantine_drops_the_cached_copy() {
    let f = fixture(1 << 20);
    let zip = key("example.com/m", "v1.0.0", Kind::Zip);
    f.inner.put(&zip, b"bad").unwrap();
    f.store.open(&zip).unwrap().unwrap();
    f.store.quarantine(&zip.rel_path(), "b1").unwrap();
    assert!(entry_files(&f.cache_dir).is_empty());
    assert_eq!(f.store.cache().held_bytes(), 0);
    assert!(f.store.open(&zip).unwrap().is_none(), "gone from both");
    f.inner.put(&zip, b"good").unwrap();
    assert_eq!(read_all(f.store.open(&zip).unwrap().unwrap()), b"good");
}

#[test]
fn a_streamed_artifact_is_served_from_its_cached_copy() {
    let tmp = tempfile::tempdir().unwrap();
    let local = LocalStore::open(tmp.path().join("data")).unwrap();
    let zip = key("example.com/m", "v1.0.0", Kind::Zip);
    local.put(&zip, b"streamed").unwrap();
    let held = local.open(&zip).unwrap().unwrap();
    let (len, modified) = (held.len, held.modified);
    let cache = DiskCache::open(tmp.path().join("cache"), 1 << 20).unwrap();
    let mut reader = held.into_reader();
    let hit = cache
        .fill(&zip, len, modified, &mut reader)
        .unwrap()
        .unwrap();
    assert_eq!(read_all(hit_artifact(hit)), b"streamed");
}

#[test]
fn a_restart_adopts_the_earlier_entries_in_the_background() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cache");
    let zip = key("example.com/m", "v1.0.0", Kind::Zip);
    let other = key("example.com/m", "v1.1.0", Kind::Zip);
    {
        let cache = DiskCache::open(&dir, 100).unwrap();
        cache
            .fill(&zip, 30, SystemTime::now(), &mut &[1u8; 30][..])
            .unwrap()
            .unwrap();
        cache
            .fill(&other, 30, SystemTime::now(), &mut &[2u8; 30][..])
            .unwrap()
            .unwrap();
        // A crash mid-fill leaves a file in tmp/.
        fs::write(dir.join(TMP).join("99.tmp"), b"partial").unwrap();
    }
    let cache = DiskCache::open(&dir, 100).unwrap();
    assert!(fs::read_dir(dir.join(TMP)).unwrap().next().is_none());
    let deadline = Instant::now() + Duration::from_secs(10);
    while cache.held_bytes() < 60 {
        assert!(
            Instant::now() < deadline,
            "the earlier entries were adopted"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(cache.held_bytes(), 60, "each counted once");
    let mut hit = cache.get(&zip).unwrap();
    let mut data = Vec::new();
    hit.file.read_to_end(&mut data).unwrap();
    assert_eq!(data, [1u8; 30]);
}

#[test]
fn one_process_per_cache_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let _first = DiskCache::open(tmp.path(), 100).unwrap();
    let e = DiskCache::open(tmp.path(), 100).unwrap_err();
    assert!(e.to_string().contains("in use"), "{e}");
}

#[test]
fn what_this_process_stores_is_written_through() {
    let f = fixture(1 << 20);
    let info = key("example.com/m", "v1.0.0", Kind::Info);
    assert_eq!(f.store.put(&info, b"{}").unwrap(), PutOutcome::Stored);
    let zip = key("example.com/m", "v1.0.0", Kind::Zip);
    let mut spool = f.store.spool().unwrap();
    spool.file.write_all(b"zip from a spool").unwrap();
    assert_eq!(f.store.put_spool(&zip, spool).unwrap(), PutOutcome::Stored);
    assert_eq!(
        f.inner.inner.read(&zip).unwrap().unwrap(),
        "zip from a spool",
        "the inner store got the whole spool"
    );

    f.inner.go_down();
    assert_eq!(read_all(f.store.open(&info).unwrap().unwrap()), b"{}");
    assert_eq!(
        read_all(f.store.open(&zip).unwrap().unwrap()),
        b"zip from a spool"
    );
    assert!(
        fs::read_dir(f.cache_dir.join(TMP))
            .unwrap()
            .next()
            .is_none()
    );
}

#[test]
fn bytes_another_writer_won_over_are_not_cached() {
    let f = fixture(1 << 20);
    let info = key("example.com/m", "v1.0.0", Kind::Info);
    f.inner.put(&info, b"first").unwrap();
    assert_eq!(
        f.store.put(&info, b"second").unwrap(),
        PutOutcome::AlreadyHeld
    );
    let zip = key("example.com/m", "v1.0.0", Kind::Zip);
    f.inner.put(&zip, b"held").unwrap();
    let mut spool = f.store.spool().unwrap();
    spool.file.write_all(b"other").unwrap();
    assert_eq!(
        f.store.put_spool(&zip, spool).unwrap(),
        PutOutcome::AlreadyHeld
    );
    assert!(entry_files(&f.cache_dir).is_empty());
    assert!(
        fs::read_dir(f.cache_dir.join(TMP))
            .unwrap()
            .next()
            .is_none()
    );
    assert_eq!(f.store.read(&info).unwrap().unwrap(), "first");
    assert_eq!(read_all(f.store.open(&zip).unwrap().unwrap()), b"held");
}

/// The storage compliance suite, on the cache in front of the local store: each replica has
/// a cache directory of its own (as each process must), the tree is shared.
#[test]
fn compliance_over_the_local_store() {
    crate::compliance::run_all(
        &|| {
            let tree = tempfile::tempdir().unwrap();
            let caches = tempfile::tempdir().unwrap();
            let replicas = AtomicUsize::new(0);
            Box::new(move || {
                let n = replicas.fetch_add(1, Ordering::SeqCst);
                let inner = Arc::new(LocalStore::open(tree.path()).unwrap());
                let cache = DiskCache::open(caches.path().join(n.to_string()), 256 << 20).unwrap();
                Arc::new(CachedStore::new(inner, cache)) as Arc<dyn Store>
            })
        },
        crate::compliance::Memory::NotMeasured,
    );
}
