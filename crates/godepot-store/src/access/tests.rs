use std::sync::atomic::{AtomicU64, Ordering};

use super::*;

/// A clock the test moves by hand.
#[derive(Default)]
struct FakeClock(AtomicU64);

impl FakeClock {
    /// Sets the clock to this long after its start.
    fn set(&self, since_start: Duration) {
        self.0.store(since_start.as_secs(), Ordering::SeqCst);
    }
}

impl Clock for FakeClock {
    fn now(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + self.0.load(Ordering::SeqCst))
    }
}

fn mv(module: &str, version: &str) -> (ModulePath, Version) {
    (
        ModulePath::parse(module).unwrap(),
        Version::parse(version).unwrap(),
    )
}

fn known(recorder: &AccessRecorder) -> AccessData {
    let Sink::Log(log) = &recorder.sink else {
        panic!("not a log")
    };
    match log.read().unwrap() {
        Recorded::Known(data) => data,
        Recorded::Unknown(why) => panic!("unknown: {why}"),
    }
}

#[test]
fn notes_a_version_at_most_once_an_hour() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FakeClock::default());
    let recorder = AccessRecorder::open(dir.path(), clock.clone()).unwrap();
    let start = clock.now();
    let (m, v) = mv("example.com/Upper/m", "v1.0.0-Beta");
    let (m2, v2) = mv("example.com/other", "v2.0.0+incompatible");

    for _ in 0..100 {
        recorder.note(&m, &v);
    }
    recorder.note(&m2, &v2);
    assert_eq!(recorder.flush().unwrap(), 2);

    // Every later access within the hour (across flushes) writes nothing.
    for minutes in [1, 30, 59] {
        clock.set(Duration::from_secs(60) * minutes);
        recorder.note(&m, &v);
        assert_eq!(recorder.flush().unwrap(), 0, "{minutes} min later");
    }
    assert_eq!(known(&recorder).last(&m, &v), Some(start));

    // An hour after it was noted, it is noted again, once.
    clock.set(Duration::from_secs(61 * 60));
    recorder.note(&m, &v);
    recorder.note(&m, &v);
    assert_eq!(recorder.flush().unwrap(), 1);
    let data = known(&recorder);
    assert_eq!(
        data.last(&m, &v),
        Some(start + Duration::from_secs(61 * 60))
    );
    assert_eq!(data.last(&m2, &v2), Some(start));
    assert_eq!(data.since, start);
}

#[test]
fn compaction_keeps_the_latest_time_of_each_version() {
    let dir = tempfile::tempdir().unwrap();
    let log = AccessTimes::new(dir.path());
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    log.begin(t0).unwrap();
    let (m, v) = mv("example.com/m", "v1.0.0");
    let at = |secs| AccessRecord {
        module: m.clone(),
        version: v.clone(),
        at: t0 + Duration::from_secs(secs),
    };
    log.append(&[at(10), at(7200)], t0).unwrap();
    log.append(&[at(3600)], t0).unwrap();
    let before = log.size().unwrap();
    let after = log.compact(t0).unwrap();
    assert!(after < before, "{after} < {before}");
    let Recorded::Known(data) = log.read().unwrap() else {
        panic!("compacted log unreadable");
    };
    assert_eq!(data.last(&m, &v), Some(t0 + Duration::from_secs(7200)));
    assert_eq!(data.since, t0);
}

#[test]
fn a_lost_or_damaged_log_is_unknown_and_starts_afresh() {
    let dir = tempfile::tempdir().unwrap();
    let log = AccessTimes::new(dir.path());
    assert!(matches!(log.read().unwrap(), Recorded::Unknown(_)));

    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    log.begin(t0).unwrap();
    let path = dir.path().join(".godepot/access/log");
    let mut text = fs_read(&path);
    text.push_str("garbage\n");
    std::fs::write(&path, &text).unwrap();
    assert!(matches!(log.read().unwrap(), Recorded::Unknown(_)));

    let later = t0 + Duration::from_secs(99);
    log.compact(later).unwrap();
    let Recorded::Known(data) = log.read().unwrap() else {
        panic!("fresh log unreadable");
    };
    assert_eq!(data.since, later);
    assert_eq!(data.iter().count(), 0);

    // A partial last line (a crash mid-append) is not damage.
    let mut text = fs_read(&path);
    text.push_str("1000050 example.com/m v1.0");
    std::fs::write(&path, &text).unwrap();
    assert!(matches!(log.read().unwrap(), Recorded::Known(_)));

    // Deleted while a server records: the next append starts it again, from then.
    std::fs::remove_file(&path).unwrap();
    let (m, v) = mv("example.com/m", "v1.0.0");
    let record = AccessRecord {
        module: m.clone(),
        version: v.clone(),
        at: later,
    };
    log.append(&[record], later).unwrap();
    let Recorded::Known(data) = log.read().unwrap() else {
        panic!("restarted log unreadable");
    };
    assert_eq!((data.since, data.last(&m, &v)), (later, Some(later)));
}

fn fs_read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// Two replicas of one bucket each write their own object; a reader merges them, the latest
/// time of a version winning, and the bucket's record starts with the first replica.
#[test]
fn replicas_on_a_bucket_write_their_own_objects_and_are_merged() {
    let backend: Arc<dyn object_store::ObjectStore> =
        Arc::new(object_store::memory::InMemory::new());
    let open = || {
        let store = crate::object::ObjectStore::with_backend(
            Arc::clone(&backend),
            "memory://bucket/tree".into(),
            "tree",
            None,
        )
        .unwrap();
        Arc::new(store) as Arc<dyn Store>
    };
    let (a_store, b_store) = (open(), open());
    assert!(matches!(read(&*a_store).unwrap(), Recorded::Unknown(_)));

    let clock = Arc::new(FakeClock::default());
    let start = clock.now();
    let a = AccessRecorder::open_bucket(Arc::clone(&a_store), "a", clock.clone());
    clock.set(Duration::from_secs(600));
    let b = AccessRecorder::open_bucket(Arc::clone(&b_store), "b", clock.clone());
    let (shared, sv) = mv("example.com/shared", "v1.0.0");
    let (only_b, bv) = mv("example.com/b", "v0.1.0");
    a.note(&shared, &sv);
    a.flush().unwrap();
    clock.set(Duration::from_secs(7200));
    b.note(&shared, &sv);
    b.note(&only_b, &bv);
    b.flush().unwrap();
    // A later flush of `a` rewrites its object with everything it noted, not only the new.
    clock.set(Duration::from_secs(7300));
    let (only_a, av) = mv("example.com/a", "v2.0.0");
    a.note(&only_a, &av);
    a.flush().unwrap();

    let Recorded::Known(data) = read(&*b_store).unwrap() else {
        panic!("merged times unreadable");
    };
    assert_eq!(data.since, start, "since the first replica started");
    let at = |secs| Some(start + Duration::from_secs(secs));
    assert_eq!(data.last(&shared, &sv), at(7200), "the latest wins");
    assert_eq!(data.last(&only_b, &bv), at(7200));
    assert_eq!(data.last(&only_a, &av), at(7300));
    assert_eq!(
        a_store.list_meta("access").unwrap(),
        ["access/replica-a", "access/replica-b", "access/since"]
    );

    // One damaged object makes every time unknown: its versions could be in use.
    a_store.put_meta("access/replica-a", b"garbage").unwrap();
    let Recorded::Unknown(why) = read(&*b_store).unwrap() else {
        panic!("a damaged object was trusted");
    };
    assert!(why.contains("replica-a"), "{why}");
}
