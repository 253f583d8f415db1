//! The storage compliance suite: what every [`Store`] backend must do, run against each of
//! them (the local store in this crate's tests, object storage against a real MinIO in
//! `tests/object_minio.rs`); public, so that a backend elsewhere (a cache in front of a
//! bucket) runs it too. It has no dependencies of its own and panics on the first failure.
//!
//! A backend is given as a function making a new, empty tree, which returns a function
//! opening a store on that tree; opening it twice gives two replicas of one tree (two
//! processes on one data directory, two machines on one bucket prefix).
//!
//! ```ignore
//! godepot_store::compliance::run_all(
//!     &|| {
//!         let dir = tempfile::tempdir().unwrap();
//!         Box::new(move || Arc::new(LocalStore::open(dir.path()).unwrap()) as Arc<dyn Store>)
//!     },
//!     Memory::NotMeasured,
//! );
//! ```

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::sync::{Arc, Barrier};

use godepot_module::{ModulePath, Version};

use crate::{ArtifactKey, Kind, PutOutcome, Store, TreeFile};

/// Opens a store on one tree; each call is another replica of it.
pub type OpenTree = Box<dyn Fn() -> Arc<dyn Store> + Send + Sync>;

/// Makes a new, empty tree.
pub type NewTree<'a> = &'a dyn Fn() -> OpenTree;

/// The size of the large artifact, streamed with bounded memory.
pub const LARGE: u64 = 64 << 20;

/// Whether the large-artifact check also measures this process's memory. The measure is the
/// process's peak, so it means something only where nothing else in the process holds large
/// buffers at the same time: a test binary of its own, with a backend keeping the bytes
/// outside the process (a disk, a server).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Memory {
    Measured,
    NotMeasured,
}

/// Runs every check, the large artifact first (so that its memory is measured from the
/// lowest high-water mark).
pub fn run_all(new_tree: NewTree<'_>, memory: Memory) {
    large_artifact_streams(new_tree, memory);
    write_once(new_tree);
    batch_puts(new_tree);
    racing_writers(new_tree);
    partial_writes_never_visible(new_tree);
    list_under_concurrent_appends(new_tree);
    walk_for_export_and_verify(new_tree);
    metadata(new_tree);
    metadata_compare_and_swap(new_tree);
    quarantine(new_tree);
}

fn module(path: &str) -> ModulePath {
    ModulePath::parse(path).unwrap()
}

fn key(m: &str, v: &str, kind: Kind) -> ArtifactKey {
    ArtifactKey::new(module(m), Version::parse(v).unwrap(), kind)
}

fn read_all(store: &dyn Store, k: &ArtifactKey) -> Option<Vec<u8>> {
    store.open(k).unwrap().map(|a| {
        let len = a.len;
        let data = a.read_all().unwrap();
        assert_eq!(data.len() as u64, len, "{}: length as opened", k.rel_path());
        data
    })
}

/// A version held complete (`.info`, `.mod`, `.zip`), so that it is listed.
fn put_complete(store: &dyn Store, m: &str, v: &str) {
    let info = format!("{{\"Version\":\"{v}\",\"Time\":\"2024-01-01T00:00:00Z\"}}");
    store.put(&key(m, v, Kind::Info), info.as_bytes()).unwrap();
    store
        .put(&key(m, v, Kind::Mod), format!("module {m}\n").as_bytes())
        .unwrap();
    store
        .put(&key(m, v, Kind::Zip), format!("zip of {m}@{v}").as_bytes())
        .unwrap();
}

/// A second put keeps the first bytes, for `put` and `put_spool` alike; `read`, `open` and
/// `contains` agree.
pub fn write_once(new_tree: NewTree<'_>) {
    let open = new_tree();
    let store = open();
    let k = key("example.com/once", "v1.0.0", Kind::Mod);
    assert!(!store.contains(&k).unwrap());
    assert!(store.read(&k).unwrap().is_none());
    assert!(store.open(&k).unwrap().is_none());
    assert_eq!(store.put(&k, b"first").unwrap(), PutOutcome::Stored);
    assert_eq!(store.put(&k, b"second").unwrap(), PutOutcome::AlreadyHeld);
    let mut spool = store.spool().unwrap();
    spool.file.write_all(b"third").unwrap();
    assert_eq!(store.put_spool(&k, spool).unwrap(), PutOutcome::AlreadyHeld);
    assert!(store.contains(&k).unwrap());
    assert_eq!(&store.read(&k).unwrap().unwrap()[..], b"first");
    assert_eq!(read_all(&*store, &k).unwrap(), b"first");

    let z = key("example.com/once", "v1.0.0", Kind::Zip);
    let mut spool = store.spool().unwrap();
    spool.file.write_all(b"spooled zip").unwrap();
    assert_eq!(store.put_spool(&z, spool).unwrap(), PutOutcome::Stored);
    assert_eq!(store.put(&z, b"other").unwrap(), PutOutcome::AlreadyHeld);
    assert_eq!(read_all(&*store, &z).unwrap(), b"spooled zip");
}

/// `put_spools` stores what is not held and keeps what is, saying which in order, and lists
/// the versions it completed, as `put_spool` of each in turn would.
pub fn batch_puts(new_tree: NewTree<'_>) {
    let open = new_tree();
    let store = open();
    let m = "example.com/batch";
    store.put(&key(m, "v1.0.0", Kind::Mod), b"held").unwrap();
    let spooled = |data: &[u8]| {
        let mut spool = store.spool().unwrap();
        spool.file.write_all(data).unwrap();
        spool.close()
    };
    let mut batch = Vec::new();
    for v in ["v1.0.0", "v1.1.0"] {
        let info = format!("{{\"Version\":\"{v}\"}}");
        batch.push((key(m, v, Kind::Mod), spooled(b"module example.com/batch\n")));
        batch.push((
            key(m, v, Kind::Zip),
            spooled(format!("zip of {v}").as_bytes()),
        ));
        batch.push((key(m, v, Kind::Info), spooled(info.as_bytes())));
    }
    let outcomes = store.put_spools(batch).unwrap();
    let stored = PutOutcome::Stored;
    assert_eq!(
        outcomes,
        [
            PutOutcome::AlreadyHeld,
            stored,
            stored,
            stored,
            stored,
            stored
        ]
    );
    assert_eq!(
        read_all(&*store, &key(m, "v1.0.0", Kind::Mod)).unwrap(),
        b"held"
    );
    assert_eq!(
        read_all(&*store, &key(m, "v1.1.0", Kind::Zip)).unwrap(),
        b"zip of v1.1.0"
    );
    let versions: Vec<String> = store
        .versions(&module(m))
        .unwrap()
        .iter()
        .map(|v| v.to_string())
        .collect();
    assert_eq!(versions, ["v1.0.0", "v1.1.0"]);
    let list = store.open_file(&format!("{m}/@v/list")).unwrap().unwrap();
    assert_eq!(list.read_all().unwrap(), b"v1.0.0\nv1.1.0\n");
    assert!(store.put_spools(Vec::new()).unwrap().is_empty());
}

/// Writers on several replicas racing for one key: exactly one stores, every other is told
/// the artifact is held, and the bytes are the winner's, whole.
pub fn racing_writers(new_tree: NewTree<'_>) {
    const WRITERS: usize = 8;
    let open = new_tree();
    let replicas: Vec<Arc<dyn Store>> = (0..WRITERS).map(|_| open()).collect();
    for (kind, spooled) in [(Kind::Mod, false), (Kind::Zip, true)] {
        let k = key("example.com/race", "v1.0.0", kind);
        let barrier = Arc::new(Barrier::new(WRITERS));
        let outcomes: Vec<(usize, PutOutcome)> = std::thread::scope(|scope| {
            let handles: Vec<_> = replicas
                .iter()
                .enumerate()
                .map(|(i, store)| {
                    let (k, barrier) = (k.clone(), Arc::clone(&barrier));
                    scope.spawn(move || {
                        let data = writer_bytes(i);
                        let outcome = if spooled {
                            let mut spool = store.spool().unwrap();
                            spool.file.write_all(&data).unwrap();
                            barrier.wait();
                            store.put_spool(&k, spool).unwrap()
                        } else {
                            barrier.wait();
                            store.put(&k, &data).unwrap()
                        };
                        (i, outcome)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let winners: Vec<usize> = outcomes
            .iter()
            .filter(|(_, o)| *o == PutOutcome::Stored)
            .map(|(i, _)| *i)
            .collect();
        assert_eq!(
            winners.len(),
            1,
            "{kind:?}: exactly one writer stores: {outcomes:?}"
        );
        let want = writer_bytes(winners[0]);
        for store in &replicas {
            assert_eq!(
                read_all(&**store, &k).unwrap(),
                want,
                "{kind:?}: the winner's bytes"
            );
        }
    }
}

fn writer_bytes(i: usize) -> Vec<u8> {
    let mut data = format!("writer {i}\n").into_bytes();
    data.extend(std::iter::repeat_n(b'a' + i as u8, 64 * 1024 + i));
    data
}

/// A spool dropped (or closed and dropped) before it is put leaves nothing visible, in the
/// tree or its walk; nor does a spool until it is put.
pub fn partial_writes_never_visible(new_tree: NewTree<'_>) {
    let open = new_tree();
    let store = open();
    let k = key("example.com/partial", "v1.0.0", Kind::Zip);
    let mut spool = store.spool().unwrap();
    spool.file.write_all(&[7; 100_000]).unwrap();
    assert!(
        !store.contains(&k).unwrap(),
        "a spool being filled is not visible"
    );
    drop(spool);
    let mut closed = store.spool().unwrap();
    closed.file.write_all(b"half").unwrap();
    drop(closed.close());
    assert!(!store.contains(&k).unwrap());
    assert!(store.open(&k).unwrap().is_none());
    assert!(store.walk().unwrap().is_empty(), "nothing under the tree");
    assert!(store.versions(&k.module).unwrap().is_empty());
    // A closed spool reopened is put whole.
    let mut spool = store.spool().unwrap();
    spool.file.write_all(b"whole").unwrap();
    let spool = spool.close().reopen().unwrap();
    assert_eq!(store.put_spool(&k, spool).unwrap(), PutOutcome::Stored);
    assert_eq!(read_all(&*store, &k).unwrap(), b"whole");
}

/// Complete versions stored concurrently from several replicas: the `@v/list` names every
/// one of them, and only downloadable ones (a `.mod` alone is not listed).
pub fn list_under_concurrent_appends(new_tree: NewTree<'_>) {
    const WRITERS: usize = 6;
    const EACH: usize = 4;
    let m = "example.com/appends";
    let open = new_tree();
    std::thread::scope(|scope| {
        for w in 0..WRITERS {
            let store = open();
            scope.spawn(move || {
                for n in 0..EACH {
                    put_complete(&*store, m, &format!("v1.{w}.{n}"));
                }
            });
        }
    });
    let store = open();
    store
        .put(&key(m, "v2.0.0+incompatible", Kind::Mod), b"module x\n")
        .unwrap();
    let want: BTreeSet<String> = (0..WRITERS)
        .flat_map(|w| (0..EACH).map(move |n| format!("v1.{w}.{n}")))
        .collect();
    let versions: BTreeSet<String> = store
        .versions(&module(m))
        .unwrap()
        .iter()
        .map(|v| v.to_string())
        .collect();
    assert_eq!(versions, want);
    let list = store
        .open_file(&format!("{m}/@v/list"))
        .unwrap()
        .expect("the list is kept")
        .read_all()
        .unwrap();
    let listed: BTreeSet<String> = String::from_utf8(list)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(listed, want, "no version lost from the list");
    assert!(store.list_drift(&module(m)).unwrap().is_empty());
    assert!(store.reconcile_list(&module(m)).unwrap().is_empty());
}

/// The walk export and verify work from: every file outside `.godepot/`, sorted bytewise,
/// each classified, with its size; `modules` and `open_file` agree with it.
pub fn walk_for_export_and_verify(new_tree: NewTree<'_>) {
    let open = new_tree();
    let store = open();
    put_complete(&*store, "example.com/b", "v1.0.0");
    put_complete(&*store, "example.com/Upper", "v1.1.0-Beta");
    store
        .put(&key("example.com/b", "v1.0.0", Kind::ZipHash), b"h1:x=\n")
        .unwrap();
    store
        .put_meta("mutable/example.com/b/@v/list", b"v1.0.0\n")
        .unwrap();
    let walked = store.walk().unwrap();
    let paths: Vec<&str> = walked.iter().map(|e| e.rel_path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "example.com/!upper/@v/list",
            "example.com/!upper/@v/v1.1.0-!beta.info",
            "example.com/!upper/@v/v1.1.0-!beta.mod",
            "example.com/!upper/@v/v1.1.0-!beta.zip",
            "example.com/b/@v/list",
            "example.com/b/@v/v1.0.0.info",
            "example.com/b/@v/v1.0.0.mod",
            "example.com/b/@v/v1.0.0.zip",
            "example.com/b/@v/v1.0.0.ziphash",
        ]
    );
    for entry in &walked {
        let opened = store.open_file(&entry.rel_path).unwrap().unwrap();
        assert_eq!(opened.len, entry.size, "{}", entry.rel_path);
        match &entry.file {
            TreeFile::Artifact(k) => assert_eq!(k.rel_path(), entry.rel_path),
            TreeFile::List(m) => assert!(entry.rel_path.starts_with(&m.escaped())),
            TreeFile::Other(why) => panic!("{}: {why}", entry.rel_path),
        }
    }
    assert_eq!(walked[7].size, "zip of example.com/b@v1.0.0".len() as u64);
    let modules: Vec<String> = store
        .modules()
        .unwrap()
        .iter()
        .map(|m| m.to_string())
        .collect();
    assert_eq!(modules, ["example.com/Upper", "example.com/b"]);
    assert!(
        store
            .open_file("example.com/b/@v/absent.zip")
            .unwrap()
            .is_none()
    );
    assert!(
        store.open_file(".godepot/format").is_err(),
        "not the metadata"
    );
    assert!(store.open_file("../x").is_err());
}

/// Metadata: read back as written, replaced whole, listed by prefix, names checked.
pub fn metadata(new_tree: NewTree<'_>) {
    let open = new_tree();
    let store = open();
    assert!(store.get_meta("mutable/a/@latest").unwrap().is_none());
    store.put_meta("mutable/a/@latest", b"one").unwrap();
    store.put_meta("mutable/a/@latest", b"two").unwrap();
    store.put_meta("mutable/b/c/@v/list", b"three").unwrap();
    store.put_meta("other/d", b"four").unwrap();
    assert_eq!(
        &store.get_meta("mutable/a/@latest").unwrap().unwrap()[..],
        b"two"
    );
    assert_eq!(
        store.list_meta("mutable").unwrap(),
        ["mutable/a/@latest", "mutable/b/c/@v/list"]
    );
    assert!(store.list_meta("absent").unwrap().is_empty());
    for bad in ["", "../x", "/abs", "a/../../b"] {
        assert!(store.get_meta(bad).is_err(), "{bad:?}");
        assert!(store.put_meta(bad, b"x").is_err(), "{bad:?}");
    }
    assert!(
        store.walk().unwrap().is_empty(),
        "metadata is not in the tree"
    );
    store.check_writable().unwrap();
    assert!(!store.describe().is_empty());
}

/// A metadata compare-and-swap writes only over the version read (or only where nothing is,
/// with `None`), and replicas racing read-modify-write loops on one file lose no change.
pub fn metadata_compare_and_swap(new_tree: NewTree<'_>) {
    const NAME: &str = "shared/state";
    let open = new_tree();
    let store = open();
    assert!(store.get_meta_versioned(NAME).unwrap().is_none());
    assert!(
        store.put_meta_if(NAME, b"one", None).unwrap(),
        "absent: created"
    );
    assert!(
        !store.put_meta_if(NAME, b"other", None).unwrap(),
        "present: not created again"
    );
    let (data, first) = store.get_meta_versioned(NAME).unwrap().unwrap();
    assert_eq!(&data[..], b"one");
    assert!(store.put_meta_if(NAME, b"two", Some(&first)).unwrap());
    assert!(
        !store.put_meta_if(NAME, b"stale", Some(&first)).unwrap(),
        "a version that is no longer current is refused"
    );
    assert_eq!(&store.get_meta(NAME).unwrap().unwrap()[..], b"two");
    for bad in ["", "../x", "/abs"] {
        assert!(store.get_meta_versioned(bad).is_err(), "{bad:?}");
        assert!(store.put_meta_if(bad, b"x", None).is_err(), "{bad:?}");
    }

    // Each replica appends its own lines to one file; all of them must survive.
    const REPLICAS: usize = 4;
    const EACH: usize = 5;
    let barrier = Barrier::new(REPLICAS);
    std::thread::scope(|s| {
        for r in 0..REPLICAS {
            let (store, barrier) = (open(), &barrier);
            s.spawn(move || {
                barrier.wait();
                for i in 0..EACH {
                    loop {
                        let read = store.get_meta_versioned("shared/lines").unwrap();
                        let mut text = read.as_ref().map(|(d, _)| d.to_vec()).unwrap_or_default();
                        text.extend_from_slice(format!("{r}-{i}\n").as_bytes());
                        let expected = read.as_ref().map(|(_, v)| v);
                        if store.put_meta_if("shared/lines", &text, expected).unwrap() {
                            break;
                        }
                    }
                }
            });
        }
    });
    let text = store.get_meta("shared/lines").unwrap().unwrap();
    let lines: BTreeSet<&[u8]> = text
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(lines.len(), REPLICAS * EACH, "no change lost");
}

/// Quarantine takes a file out of the tree (kept aside), never replaces a quarantined copy,
/// and a purge deletes the batch.
pub fn quarantine(new_tree: NewTree<'_>) {
    let open = new_tree();
    let store = open();
    let m = "example.com/q";
    put_complete(&*store, m, "v1.0.0");
    put_complete(&*store, m, "v1.1.0");
    let zip = key(m, "v1.0.0", Kind::Zip);
    store.quarantine(&zip.rel_path(), "batch-1").unwrap();
    assert!(!store.contains(&zip).unwrap());
    store.reconcile_list(&module(m)).unwrap();
    let versions: Vec<String> = store
        .versions(&module(m))
        .unwrap()
        .iter()
        .map(|v| v.to_string())
        .collect();
    assert_eq!(versions, ["v1.1.0"]);
    let list = store
        .open_file(&format!("{m}/@v/list"))
        .unwrap()
        .unwrap()
        .read_all()
        .unwrap();
    assert_eq!(list, b"v1.1.0\n");
    assert!(
        store.quarantine(&zip.rel_path(), "batch-1").is_err(),
        "no longer there"
    );
    // Put again, and quarantined again into the same batch: refused, the first copy kept.
    assert_eq!(store.put(&zip, b"again").unwrap(), PutOutcome::Stored);
    assert!(store.quarantine(&zip.rel_path(), "batch-1").is_err());
    assert!(store.contains(&zip).unwrap());
    assert!(store.quarantine("../escape", "batch-1").is_err());
    assert!(store.quarantine(&zip.rel_path(), "../up").is_err());
    assert!(!store.quarantine_location("batch-1").is_empty());
    assert!(
        store
            .walk()
            .unwrap()
            .iter()
            .all(|e| !e.rel_path.contains("quarantine"))
    );
    store.purge_quarantine("batch-1").unwrap();
    store.purge_quarantine("batch-1").unwrap();
    store.quarantine(&zip.rel_path(), "batch-1").unwrap();
    assert!(!store.contains(&zip).unwrap());
}

/// A 64 MiB artifact stored from a spool and read back as a stream, byte for byte, without
/// the process's memory growing by anything near its size.
pub fn large_artifact_streams(new_tree: NewTree<'_>, memory: Memory) {
    let open = new_tree();
    let store = open();
    let k = key("example.com/large", "v1.0.0", Kind::Zip);
    let before = high_water_mark();
    let mut spool = store.spool().unwrap();
    let mut generator = Bytes::new(0x5eed);
    let mut chunk = vec![0; 1 << 20];
    for _ in 0..LARGE / chunk.len() as u64 {
        generator.fill(&mut chunk);
        spool.file.write_all(&chunk).unwrap();
    }
    assert_eq!(store.put_spool(&k, spool).unwrap(), PutOutcome::Stored);
    let artifact = store.open(&k).unwrap().unwrap();
    assert_eq!(artifact.len, LARGE);
    let mut reader = artifact.into_reader();
    let mut expected = Bytes::new(0x5eed);
    let (mut got, mut want) = (vec![0; 64 * 1024], vec![0; 64 * 1024]);
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut got).unwrap();
        if n == 0 {
            break;
        }
        expected.fill(&mut want[..n]);
        assert!(got[..n] == want[..n], "bytes differ near offset {total}");
        total += n as u64;
    }
    assert_eq!(total, LARGE);
    if memory == Memory::Measured
        && let (Some(before), Some(after)) = (before, high_water_mark())
    {
        let grew = after.saturating_sub(before);
        assert!(
            grew < LARGE * 3 / 4,
            "memory grew by {grew} bytes for a {LARGE}-byte artifact: not streamed"
        );
    }
}

/// The process's peak resident memory, in bytes (Linux), if known.
fn high_water_mark() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// A reproducible stream of pseudo-random bytes (xorshift), so that a large artifact is
/// checked without holding a copy of it.
struct Bytes(u64);

impl Bytes {
    fn new(seed: u64) -> Self {
        Bytes(seed)
    }

    /// The next `buf.len()` bytes of the stream (consumed byte by byte, so that reads of any
    /// size line up).
    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            *b = self.0 as u8;
        }
    }
}
