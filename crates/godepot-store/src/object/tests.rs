use std::sync::Arc;

use object_store::memory::InMemory;

use super::*;
use crate::compliance;

/// The compliance suite on an in-memory bucket (conditional puts and copies as S3 does
/// them); the same suite runs against a real MinIO in `tests/object_minio.rs`.
#[test]
fn compliance_in_memory() {
    compliance::run_all(
        &|| {
            let bucket: Arc<dyn Backend> = Arc::new(InMemory::new());
            Box::new(move || {
                let store = ObjectStore::with_backend(
                    Arc::clone(&bucket),
                    "memory://bucket/tree".into(),
                    "tree",
                    None,
                )
                .unwrap();
                Arc::new(store) as Arc<dyn Store>
            })
        },
        compliance::Memory::NotMeasured,
    );
}

#[test]
fn keys_are_the_file_tree_under_the_prefix() {
    let bucket = Arc::new(InMemory::new());
    let store = ObjectStore::with_backend(
        bucket.clone() as Arc<dyn Backend>,
        "memory://b/p/q".into(),
        "/p/q/",
        None,
    )
    .unwrap();
    let key = ArtifactKey::new(
        ModulePath::parse("example.com/Upper").unwrap(),
        Version::parse("v1.0.0").unwrap(),
        Kind::Mod,
    );
    store.put(&key, b"module example.com/Upper\n").unwrap();
    store.put_meta("mutable/x", b"y").unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut keys: Vec<String> = rt
        .block_on(bucket.list(None).try_collect::<Vec<_>>())
        .unwrap()
        .into_iter()
        .map(|m| m.location.to_string())
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "p/q/.godepot/mutable/x",
            "p/q/example.com/!upper/@v/v1.0.0.mod"
        ]
    );
    assert_eq!(store.describe(), "memory://b/p/q");
}

#[test]
fn s3_urls_are_checked_and_never_echo_credentials() {
    for (url, ok) in [
        ("s3://bucket", true),
        ("s3://bucket/some/prefix/", true),
        ("s3://", false),
        ("s3://user:secret@bucket/p", false),
        ("s3:///p", false),
    ] {
        match ObjectStore::open_s3(url, None) {
            Ok(store) => {
                assert!(ok, "{url}");
                assert!(store.describe().starts_with("s3://bucket"));
            }
            Err(e) => {
                assert!(!ok, "{url}: {e}");
                let _ = e.to_string();
            }
        }
    }
    let Err(err) = crate::open_url("gs://b", &crate::OpenOptions::default()) else {
        panic!("gs:// is not a scheme godepot opens");
    };
    assert!(err.to_string().contains("unsupported scheme"), "{err}");
}

#[test]
fn an_unreachable_endpoint_is_a_clear_unavailable_error() {
    // A port nothing listens on: taken, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let s3 = object_store::aws::AmazonS3Builder::new()
        .with_bucket_name("b")
        .with_region("us-east-1")
        .with_endpoint(format!("http://127.0.0.1:{port}"))
        .with_allow_http(true)
        .with_access_key_id("AKIDEXAMPLE")
        .with_secret_access_key("not-a-real-secret-value")
        .with_retry(object_store::RetryConfig {
            max_retries: 0,
            retry_timeout: Duration::from_secs(1),
            ..Default::default()
        })
        .build()
        .unwrap();
    let store = ObjectStore::with_backend(Arc::new(s3), "s3://b".into(), "", None).unwrap();
    let key = ArtifactKey::new(
        ModulePath::parse("example.com/a").unwrap(),
        Version::parse("v1.0.0").unwrap(),
        Kind::Info,
    );
    let err = store.contains(&key).unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with("storage unavailable: s3://b/example.com/a/@v/v1.0.0.info"),
        "{text}"
    );
    assert!(
        !text.contains("not-a-real-secret-value") && !text.contains("AKIDEXAMPLE"),
        "{text}"
    );
    assert!(store.check_writable().unwrap_err().is_unavailable());
}
