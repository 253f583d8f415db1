//! The store commands on a bucket (`--storage s3://…`, real MinIO on loopback), each held to
//! what it does on a data directory: `import` of a directory's bundle into a bucket, then
//! `serve --upstream off` on it gives the go command the same sums; `diff`, `check` and
//! `audit` say the same of the bucket as of the directory; `prefetch` and `sync` fill a
//! bucket, waiting on a replica's lease (`--coordination`); `rm` takes a version out of it;
//! the `.godepot/format` marker is written by the first writer and a newer one refused; a
//! bucket that does not exist is an error that creates nothing.

mod common;

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use common::{Rig, bin, get, go_sum_lines, godepot_command, minio_cli, output_text, tail};
use godepot_coord::Coordinator;
use godepot_module::{ModulePath, Version};
use godepot_store::object::ObjectStore;
use godepot_store::{ArtifactKey, Kind, Store};
use godepot_testkit::minio::MinioServer;
use godepot_testkit::redis::RedisServer;
use godepot_testkit::vulndb::{FixtureVuln, write_db};
use godepot_testkit::{GoEnv, GodepotProcess};

fn ok(minio: &MinioServer, args: &[&str]) -> Output {
    let out = minio_cli(minio, args);
    assert!(
        out.status.success(),
        "godepot {args:?}:\n{}",
        output_text(&out)
    );
    out
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn bucket(minio: &MinioServer, prefix: &str) -> ObjectStore {
    ObjectStore::open_s3_with_env(&minio.url(prefix), minio.env(), None).expect("open bucket")
}

fn key(module: &str, version: &str, kind: Kind) -> ArtifactKey {
    ArtifactKey::new(
        ModulePath::parse(module).expect("path"),
        Version::parse(version).expect("version"),
        kind,
    )
}

/// The go.sum lines of the three versions the tests store, through `go`.
fn sums(go: &GoEnv, work: &Path) -> Vec<String> {
    go.clean_modcache();
    let json = go.ok(
        work,
        [
            "mod",
            "download",
            "-json",
            "example.com/f@v1.0.0",
            "example.com/f@v1.1.0",
            "example.com/big@v1.0.0",
        ],
    );
    go_sum_lines(&json)
}

/// `serve --upstream off` on `store` (`--data-dir DIR` or `--storage URL`).
fn serve_off(minio: &MinioServer, store: &[&str]) -> GodepotProcess {
    let mut args = store.to_vec();
    args.extend(["--upstream", "off", "--log-format", "json"]);
    let env = minio.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    GodepotProcess::start_with_env(bin(), &args, &env)
}

#[test]
fn a_bundle_imported_into_a_bucket_serves_and_reads_as_the_directory_it_came_from() {
    let rig = Rig::small();
    let minio = MinioServer::start();
    let dir = rig.tmp.path().join("dir");
    ok(
        &minio,
        &["import", "--data-dir", s(&dir), s(&rig.universe.root)],
    );
    write_db(
        &dir.join(".godepot/vulndb"),
        &[FixtureVuln::new("GO-2099-0001", "example.com/f").range("1.0.0", Some("1.1.0"))],
    );
    let bundle = rig.tmp.path().join("all.tar.zst");
    ok(
        &minio,
        &["export", "--data-dir", s(&dir), "--out", s(&bundle)],
    );

    let storage = minio.url("imported");
    let out = ok(&minio, &["import", "--storage", &storage, s(&bundle)]);
    assert!(
        output_text(&out).contains("vulnerability database: kept the copy carried"),
        "{}",
        output_text(&out)
    );
    let store = bucket(&minio, "imported");
    assert_eq!(
        store.get_meta("format").expect("read").as_deref(),
        Some(&b"1\n"[..]),
        "the first writer marks the bucket"
    );
    // A second import holds everything already.
    let again = ok(&minio, &["import", "--storage", &storage, s(&bundle)]);
    assert!(
        output_text(&again).contains(": 0 stored"),
        "{}",
        output_text(&again)
    );

    // The go command gets the same sums from the bucket as from the directory.
    let work = rig.tmp.path().join("work");
    std::fs::create_dir_all(&work).expect("mkdir");
    let from_dir = serve_off(&minio, &["--data-dir", s(&dir)]);
    let want = sums(&GoEnv::new(&from_dir.url()), &work);
    assert_eq!(want.len(), 9, "{want:?}");
    let from_bucket = serve_off(&minio, &["--storage", &storage]);
    assert_eq!(
        sums(&GoEnv::new(&from_bucket.url()), &work),
        want,
        "served from the bucket: {}",
        tail(&from_bucket)
    );

    // diff: the bucket holds what the directory and the bundle hold.
    for other in [s(&dir), s(&bundle)] {
        let out = ok(&minio, &["diff", &storage, other]);
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("0 only in A, 0 only in B, 0 conflicts"),
            "{}",
            output_text(&out)
        );
    }

    // check and audit: the same report, byte for byte, of the bucket and of the directory.
    for (command, inputs, code) in [
        ("check", vec!["--json", "example.com/f@v1.1.0"], 0),
        (
            "check",
            vec![
                "--json",
                "example.com/f@v1.1.0",
                "example.com/Upper/Mod@v1.0.0",
            ],
            0,
        ),
        ("audit", vec!["example.com/f@v1.0.0"], 1),
        ("audit", vec!["--json", "example.com/f@v1.0.0"], 1),
        ("audit", vec!["--json", "example.com/f@v1.1.0"], 0),
    ] {
        let run = |store: &[&str]| {
            let mut args = vec![command];
            args.extend_from_slice(store);
            args.extend(inputs.iter().copied());
            let out = minio_cli(&minio, &args);
            assert_eq!(
                out.status.code(),
                Some(code),
                "{args:?}:\n{}",
                output_text(&out)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let on_dir = run(&["--data-dir", s(&dir)]);
        assert!(!on_dir.is_empty(), "{command} {inputs:?} printed nothing");
        assert_eq!(
            run(&["--storage", &storage]),
            on_dir,
            "{command} {inputs:?}"
        );
    }

    // A bucket lacking a version is found different, and not ready.
    store
        .quarantine("example.com/f/@v/v1.1.0.zip", "test")
        .expect("move aside");
    let out = minio_cli(&minio, &["diff", &storage, s(&dir)]);
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("files only in B\texample.com/f@v1.1.0\t.zip"),
        "{}",
        output_text(&out)
    );
    let out = minio_cli(
        &minio,
        &["check", "--storage", &storage, "example.com/f@v1.1.0"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    assert!(!output_text(&out).contains(minio.secret()));
}

#[test]
fn prefetch_sync_and_rm_work_on_a_bucket_under_the_replicas_leases() {
    let rig = Rig::small();
    let minio = MinioServer::start();
    let redis = RedisServer::start();
    let storage = minio.url("filled");
    let upstream = rig.upstream.url();
    let store = bucket(&minio, "filled");

    // A replica holds the lease on v1.0.0's zip: prefetch waits for it rather than fetch.
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    // Within the runtime: the client connects on it.
    let coordinator = runtime
        .block_on(async { godepot_coord::Redis::new(&redis.url()) })
        .expect("redis");
    let zip = key("example.com/f", "v1.0.0", Kind::Zip);
    let token = runtime
        .block_on(coordinator.try_acquire(&zip.rel_path(), Duration::from_secs(60)))
        .expect("take the lease")
        .expect("free");
    let mut prefetch = godepot_command(&[
        "prefetch",
        "--storage",
        &storage,
        "--upstream",
        &upstream,
        "--sumdb",
        "off",
        "--coordination",
        &redis.url(),
        "example.com/f@v1.0.0",
    ])
    .envs(minio.env())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .expect("start prefetch");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !store
        .contains(&key("example.com/f", "v1.0.0", Kind::Mod))
        .expect("head")
    {
        assert!(Instant::now() < deadline, "prefetch stored no go.mod");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        prefetch.try_wait().expect("wait").is_none(),
        "prefetch did not wait for the lease"
    );
    assert_eq!(rig.upstream.hits_containing("v1.0.0.zip"), 0);
    // The lease holder stores it; prefetch takes it from the bucket.
    store
        .put(&zip, &rig.fixture("example.com/f", "v1.0.0", "zip"))
        .expect("put the zip");
    runtime
        .block_on(coordinator.release(&zip.rel_path(), &token))
        .expect("release");
    let out = prefetch.wait_with_output().expect("prefetch");
    assert!(out.status.success(), "prefetch:\n{}", output_text(&out));
    assert_eq!(
        rig.upstream.hits_containing("v1.0.0.zip"),
        0,
        "fetched despite the lease"
    );
    for kind in [Kind::Info, Kind::Mod, Kind::Zip] {
        assert!(
            store
                .contains(&key("example.com/f", "v1.0.0", kind))
                .expect("head")
        );
    }
    assert_eq!(
        store.get_meta("format").expect("read").as_deref(),
        Some(&b"1\n"[..])
    );

    // sync on the bucket follows the new minor version.
    let out = ok(
        &minio,
        &[
            "sync",
            "--storage",
            &storage,
            "--upstream",
            &upstream,
            "--sumdb",
            "off",
            "--follow",
            "minor",
            "--coordination",
            &redis.url(),
        ],
    );
    for kind in [Kind::Info, Kind::Mod, Kind::Zip] {
        assert!(
            store
                .contains(&key("example.com/f", "v1.1.0", kind))
                .expect("head"),
            "sync did not fetch v1.1.0's {kind:?}:\n{}",
            output_text(&out)
        );
    }

    // rm: the version is gone from the bucket, and from what a replica serves.
    let out = ok(
        &minio,
        &["rm", "--storage", &storage, "example.com/f@v1.1.0"],
    );
    assert!(
        output_text(&out).contains(&format!("{storage}/.godepot/quarantine/rm-")),
        "{}",
        output_text(&out)
    );
    assert!(
        !store
            .contains(&key("example.com/f", "v1.1.0", Kind::Zip))
            .expect("head")
    );
    let replica = serve_off(&minio, &["--storage", &storage]);
    assert_eq!(get(&replica, "/example.com/f/@v/list").text(), "v1.0.0\n");
    let gone = get(&replica, "/example.com/f/@v/v1.1.0.zip");
    assert_eq!(gone.status, 404, "{}", tail(&replica));
    let again = minio_cli(
        &minio,
        &["rm", "--storage", &storage, "example.com/f@v1.1.0"],
    );
    assert!(!again.status.success(), "{}", output_text(&again));
    assert!(!output_text(&again).contains(minio.secret()));
}

#[test]
fn a_newer_bucket_is_refused_and_a_missing_one_is_never_created() {
    let rig = Rig::small();
    let minio = MinioServer::start();
    let newer = bucket(&minio, "newer");
    newer.put_meta("format", b"2\n").expect("mark");
    let upstream = rig.upstream.url();
    let bundle = rig.tmp.path().join("none.tar.zst");
    let commands = |storage: &str| -> Vec<Vec<String>> {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        vec![
            args(&["import", "--storage", storage, s(&rig.universe.root)]),
            args(&[
                "prefetch",
                "--storage",
                storage,
                "--upstream",
                &upstream,
                "--sumdb",
                "off",
                "example.com/f@v1.0.0",
            ]),
            args(&[
                "sync",
                "--storage",
                storage,
                "--upstream",
                &upstream,
                "--sumdb",
                "off",
            ]),
            args(&["rm", "--storage", storage, "example.com/f@v1.0.0"]),
            args(&["check", "--storage", storage, "example.com/f@v1.0.0"]),
            args(&["audit", "--storage", storage, "example.com/f@v1.0.0"]),
            args(&["diff", storage, s(&rig.universe.root)]),
            args(&["ls", "--storage", storage]),
            args(&["verify", "--storage", storage]),
            args(&["export", "--storage", storage, "--out", s(&bundle)]),
            args(&[
                "serve",
                "--storage",
                storage,
                "--upstream",
                "off",
                "--listen",
                "127.0.0.1:0",
            ]),
        ]
    };
    for (storage, says) in [
        (minio.url("newer"), "format 2"),
        ("s3://no-such-bucket/p".to_string(), "no such bucket"),
    ] {
        for args in commands(&storage) {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = minio_cli(&minio, &args);
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                !out.status.success() && err.contains(says) && err.contains("hint:"),
                "{args:?} on {storage}:\n{}",
                output_text(&out)
            );
            assert!(!err.contains(minio.secret()));
        }
    }
    assert_eq!(
        newer.get_meta("format").expect("read").as_deref(),
        Some(&b"2\n"[..]),
        "left as it is"
    );
    assert_eq!(newer.walk().expect("walk").len(), 0, "nothing written");
    assert!(!minio.data_dir().join("no-such-bucket").exists());
    assert!(!bundle.exists());
}
