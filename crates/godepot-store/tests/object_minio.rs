//! The object-storage store against a real S3-compatible server (MinIO on loopback, started
//! here): the storage compliance suite, the key layout, large uploads, and an outage.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use godepot_module::{ModulePath, Version};
use godepot_store::object::{ObjectStore, SINGLE_PUT_MAX};
use godepot_store::{ArtifactKey, Kind, PutOutcome, Store, compliance};
use godepot_testkit::minio::MinioServer;

fn open(minio: &MinioServer, prefix: &str) -> ObjectStore {
    ObjectStore::open_s3_with_env(&minio.url(prefix), minio.env(), None).unwrap()
}

fn key(m: &str, v: &str, kind: Kind) -> ArtifactKey {
    ArtifactKey::new(
        ModulePath::parse(m).unwrap(),
        Version::parse(v).unwrap(),
        kind,
    )
}

/// Every check of the suite, each on a fresh prefix of one bucket; replicas are separate
/// stores (separate clients and runtimes) on the same prefix.
#[test]
fn compliance_on_minio() {
    let minio = Arc::new(MinioServer::start());
    let n = AtomicUsize::new(0);
    compliance::run_all(
        &|| {
            let prefix = format!("suite-{}", n.fetch_add(1, Ordering::Relaxed));
            let minio = Arc::clone(&minio);
            Box::new(move || Arc::new(open(&minio, &prefix)) as Arc<dyn Store>)
        },
        compliance::Memory::NotMeasured,
    );
}

/// The bucket holds the `GOPROXY=file://` tree under the prefix, with no scratch key left
/// by a large (multipart) upload, and the secret is in no error or description.
#[test]
fn layout_and_large_uploads_on_minio() {
    let minio = MinioServer::start();
    let store = open(&minio, "tree/sub");
    assert_eq!(store.describe(), "s3://godepot/tree/sub");
    let zip = key("example.com/Big", "v1.0.0", Kind::Zip);
    let mut spool = store.spool().unwrap();
    let chunk = vec![b'z'; 1 << 20];
    for _ in 0..(SINGLE_PUT_MAX >> 20) + 3 {
        spool.file.write_all(&chunk).unwrap();
    }
    assert_eq!(store.put_spool(&zip, spool).unwrap(), PutOutcome::Stored);
    // A second large upload of the same key loses, and leaves nothing behind either.
    let mut spool = store.spool().unwrap();
    for _ in 0..(SINGLE_PUT_MAX >> 20) + 1 {
        spool.file.write_all(&[b'y'; 1 << 20]).unwrap();
    }
    assert_eq!(
        store.put_spool(&zip, spool).unwrap(),
        PutOutcome::AlreadyHeld
    );
    assert_eq!(
        store.open(&zip).unwrap().unwrap().len,
        ((SINGLE_PUT_MAX >> 20) + 3) << 20
    );
    let other = open(&minio, "tree");
    let names = other.list_meta("tmp").unwrap();
    assert!(
        names.is_empty(),
        "no scratch keys above the tree: {names:?}"
    );
    let inner = store.list_meta("tmp").unwrap();
    assert!(inner.is_empty(), "no scratch keys left: {inner:?}");
    let walked: Vec<String> = other
        .walk()
        .unwrap()
        .into_iter()
        .map(|e| e.rel_path)
        .collect();
    assert_eq!(walked, ["sub/example.com/!big/@v/v1.0.0.zip"]);
    assert!(!format!("{store:?}").contains(minio.secret()));
}

/// MinIO stopped: calls fail with a clear "storage unavailable" naming the object, not the
/// secret, quickly; once it is back the same store works again, without a restart.
#[test]
fn an_outage_is_unavailable_then_recovers() {
    let mut minio = MinioServer::start();
    let store = open(&minio, "outage");
    let info = key("example.com/a", "v1.0.0", Kind::Info);
    store.put(&info, b"{}").unwrap();
    minio.stop();
    let started = std::time::Instant::now();
    let err = store.read(&info).unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("s3://godepot/outage/example.com/a/@v/v1.0.0.info"),
        "{text}"
    );
    assert!(!text.contains(minio.secret()), "{text}");
    assert!(store.check_writable().unwrap_err().is_unavailable());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "an outage is reported, not waited out forever"
    );
    minio.restart();
    assert_eq!(&store.read(&info).unwrap().unwrap()[..], b"{}");
    store.check_writable().unwrap();
}

/// The bucket's format marker: written once by the first writer, read at every open, a
/// newer one refused untouched; a bucket that does not exist is said so, and nothing is
/// created in it.
#[test]
fn format_marker_on_minio() {
    use godepot_store::StoreError;
    use godepot_store::format::{CURRENT, Marker};
    let minio = MinioServer::start();
    let store = open(&minio, "marked");
    assert_eq!(store.check_format().unwrap(), Marker::Absent);
    store.mark_format().unwrap();
    store.mark_format().unwrap();
    assert_eq!(store.check_format().unwrap(), Marker::Format(CURRENT));
    assert_eq!(
        store.get_meta("format").unwrap().as_deref(),
        Some(&b"1\n"[..])
    );

    let newer = open(&minio, "newer");
    newer.put_meta("format", b"2\n").unwrap();
    for e in [
        newer.check_format().unwrap_err(),
        newer.mark_format().unwrap_err(),
    ] {
        assert!(matches!(e, StoreError::NewerFormat { found: 2, .. }), "{e}");
    }
    assert_eq!(
        newer.get_meta("format").unwrap().as_deref(),
        Some(&b"2\n"[..])
    );

    let url = format!("s3://no-such-bucket/{}", "p");
    let missing = ObjectStore::open_s3_with_env(&url, minio.env(), None).unwrap();
    for e in [
        missing.check_format().unwrap_err(),
        missing.mark_format().unwrap_err(),
    ] {
        assert!(matches!(e, StoreError::NoSuchBucket { .. }), "{e}");
        assert!(!e.to_string().contains(minio.secret()), "{e}");
    }
    assert!(!minio.data_dir().join("no-such-bucket").exists());
}
