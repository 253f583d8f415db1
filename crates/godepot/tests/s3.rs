//! `--storage s3://…` end to end, on a real S3-compatible server (MinIO on loopback, started
//! here), with the real go command as the oracle: pull-through, then served with upstream
//! stopped and `--offline`; `verify` on the bucket, clean and then with one object damaged;
//! `export` from the bucket into a bundle that `import` and a local `serve` accept; the disk
//! cache (`--cache-dir`) answering warm hits while MinIO is down; without it, a clear 503
//! and recovery once MinIO is back, without a restart; the secret key in no log line; the
//! module index each replica keeps of the bucket (web UI, `/api/`, `/metrics`, `reindex`).

mod common;

use std::path::Path;

use common::{Rig, bin, get, go_sum_lines, minio_cli, output_text, tail};
use godepot_module::{ModulePath, Version};
use godepot_store::object::ObjectStore;
use godepot_store::{ArtifactKey, Kind, Store};
use godepot_testkit::minio::MinioServer;
use godepot_testkit::{GoEnv, GodepotProcess};

fn serve(rig: &Rig, minio: &MinioServer, prefix: &str, extra: &[&str]) -> GodepotProcess {
    common::serve_on_bucket(rig, minio, prefix, extra)
}

const BIG_ZIP: &str = "/example.com/big/@v/v1.0.0.zip";

const MODULES: [&str; 2] = ["example.com/f@v1.1.0", "example.com/big@v1.0.0"];

fn download(go: &GoEnv, work: &Path) -> Vec<String> {
    go.clean_modcache();
    let mut args = vec!["mod", "download", "-json"];
    args.extend(MODULES);
    go_sum_lines(&go.ok(work, args))
}

fn assert_no_secret(minio: &MinioServer, gd: &GodepotProcess, context: &str) {
    let logs = gd.logs().join("\n");
    assert!(
        !logs.contains(minio.secret()),
        "{context}: the secret key was logged"
    );
}

#[test]
fn a_bucket_serves_the_go_command_offline_verifies_and_exports() {
    let rig = Rig::small();
    let minio = MinioServer::start();
    let work = rig.tmp.path().join("work");
    std::fs::create_dir_all(&work).expect("mkdir");
    let want = download(&GoEnv::new(&rig.universe.proxy_url()), &work);
    assert_eq!(want.len(), 6, "{want:?}");

    // Pull-through into the bucket.
    let gd = serve(&rig, &minio, "depot", &[]);
    let go = GoEnv::new(&gd.url());
    assert_eq!(
        download(&go, &work),
        want,
        "cold, through godepot on a bucket"
    );

    // The upstream gone: served from the bucket; and by a fresh `--offline` replica too.
    rig.upstream.stop();
    assert_eq!(download(&go, &work), want, "warm, upstream stopped");
    let offline = serve(&rig, &minio, "depot", &["--offline"]);
    assert_eq!(
        download(&GoEnv::new(&offline.url()), &work),
        want,
        "offline, from the bucket: {}",
        tail(&offline)
    );
    assert_no_secret(&minio, &gd, "serve");
    assert_no_secret(&minio, &offline, "serve --offline");

    // verify on the bucket: clean.
    let storage = minio.url("depot");
    let out = minio_cli(&minio, &["verify", "--storage", &storage]);
    assert!(
        out.status.success(),
        "verify on the bucket:\n{}",
        output_text(&out)
    );
    assert!(!output_text(&out).contains(minio.secret()));

    // export from the bucket; import into a fresh data directory, which serves it.
    let bundle = rig.tmp.path().join("bucket.tar.zst");
    let out = minio_cli(
        &minio,
        &[
            "export",
            "--storage",
            &storage,
            "--out",
            bundle.to_str().expect("utf-8"),
        ],
    );
    assert!(out.status.success(), "export:\n{}", output_text(&out));
    let inside = rig.tmp.path().join("inside");
    let out = minio_cli(
        &minio,
        &[
            "import",
            "--data-dir",
            inside.to_str().expect("utf-8"),
            bundle.to_str().expect("utf-8"),
        ],
    );
    assert!(out.status.success(), "import:\n{}", output_text(&out));
    let local = GodepotProcess::start(
        bin(),
        &[
            "--data-dir",
            inside.to_str().expect("utf-8"),
            "--offline",
            "--log-format",
            "json",
        ],
    );
    assert_eq!(
        download(&GoEnv::new(&local.url()), &work),
        want,
        "imported from the bucket's bundle: {}",
        tail(&local)
    );

    // One object damaged in the bucket (moved aside, other bytes put in its place): verify
    // reports it, naming it, and fails.
    let store = ObjectStore::open_s3_with_env(&storage, minio.env(), None).expect("open bucket");
    let rel = "example.com/f/@v/v1.1.0.zip";
    store.quarantine(rel, "damage").expect("move the zip aside");
    let key = ArtifactKey::new(
        ModulePath::parse("example.com/f").expect("path"),
        Version::parse("v1.1.0").expect("version"),
        Kind::Zip,
    );
    let mut damaged = rig.fixture("example.com/f", "v1.1.0", "zip");
    let last = damaged.len() - 30;
    damaged[last] ^= 0xff;
    store.put(&key, &damaged).expect("put other bytes");
    let out = minio_cli(&minio, &["verify", "--storage", &storage]);
    assert!(
        !out.status.success(),
        "verify missed a damaged object:\n{}",
        output_text(&out)
    );
    assert!(
        output_text(&out).contains("example.com/f") && output_text(&out).contains("v1.1.0"),
        "verify does not name the damaged object:\n{}",
        output_text(&out)
    );
    assert!(!output_text(&out).contains(minio.secret()));
}

#[test]
fn minio_down_is_a_503_or_a_cache_hit_and_recovery_needs_no_restart() {
    let rig = Rig::small();
    let mut minio = MinioServer::start();
    let cache = rig.tmp.path().join("cache");
    let plain = serve(&rig, &minio, "p", &[]);
    let cached = serve(
        &rig,
        &minio,
        "p",
        &[
            "--cache-dir",
            cache.to_str().expect("utf-8"),
            "--cache-size",
            "64MiB",
        ],
    );
    let f = |v: &str, ext: &str| format!("/example.com/f/@v/{v}.{ext}");
    for gd in [&plain, &cached] {
        for ext in ["info", "mod", "zip"] {
            let r = get(gd, &f("v1.0.0", ext));
            assert_eq!(r.status, 200, "{}: {}", r.text(), tail(gd));
        }
        let r = get(gd, BIG_ZIP);
        assert_eq!(r.status, 200, "{}", tail(gd));
    }
    let work = rig.tmp.path().join("work");
    std::fs::create_dir_all(&work).expect("mkdir");
    let direct = GoEnv::new(&rig.universe.proxy_url());
    let want =
        go_sum_lines(&direct.ok(&work, ["mod", "download", "-json", "example.com/f@v1.0.0"]));

    minio.stop();
    // Warm hits come from the disk cache, for the go command too.
    let go = GoEnv::new(&cached.url());
    go.clean_modcache();
    let warm = go_sum_lines(&go.ok(&work, ["mod", "download", "-json", "example.com/f@v1.0.0"]));
    assert_eq!(warm, want, "warm hits from the cache with MinIO down");
    let zip = get(&cached, &f("v1.0.0", "zip"));
    assert_eq!(zip.status, 200, "{}", tail(&cached));
    assert!(zip.body == rig.fixture("example.com/f", "v1.0.0", "zip"));
    let big = get(&cached, BIG_ZIP);
    assert_eq!(big.status, 200, "{}", tail(&cached));
    assert!(big.body == rig.fixture("example.com/big", "v1.0.0", "zip"));

    // Without the cache (or for what it does not hold): a clear 503 naming the storage, not
    // a 404 and not a crash. (Small artifacts are kept in memory too, so the replica without
    // a disk cache is asked for a large zip, and for what it never served.)
    for (gd, path) in [
        (&plain, BIG_ZIP.to_string()),
        (&plain, f("v1.1.0", "info")),
        (&cached, f("v1.1.0", "info")),
    ] {
        let r = get(gd, &path);
        assert!(
            r.status == 503 || r.status == 502,
            "{path} with MinIO down: {} {}\n{}",
            r.status,
            r.text(),
            tail(gd)
        );
        assert!(
            r.text().to_lowercase().contains("storage"),
            "{path}: the reason does not say the storage failed: {}",
            r.text()
        );
        assert!(!r.text().contains(minio.secret()));
    }

    // MinIO back: the same processes answer again.
    minio.restart();
    for gd in [&plain, &cached] {
        let r = get(gd, BIG_ZIP);
        assert_eq!(
            r.status,
            200,
            "the large zip after MinIO is back: {}",
            tail(gd)
        );
        for ext in ["info", "mod"] {
            let r = get(gd, &format!("/example.com/big/@v/v1.0.0.{ext}"));
            assert_eq!(
                r.status,
                200,
                "big .{ext} after MinIO is back: {}",
                tail(gd)
            );
        }
        for (v, ext) in [
            ("v1.0.0", "zip"),
            ("v1.1.0", "info"),
            ("v1.1.0", "mod"),
            ("v1.1.0", "zip"),
        ] {
            let r = get(gd, &f(v, ext));
            assert_eq!(r.status, 200, "{v}.{ext} after MinIO is back: {}", tail(gd));
            assert!(r.body == rig.fixture("example.com/f", v, ext));
        }
    }
    for gd in [&plain, &cached] {
        common::assert_healthy(gd, "after MinIO is back");
        assert_no_secret(&minio, gd, "MinIO outage");
    }
    let out = minio_cli(&minio, &["verify", "--storage", &minio.url("p")]);
    assert!(
        out.status.success(),
        "verify after the outage:\n{}",
        output_text(&out)
    );
}

/// `GET path` on `gd`, as JSON.
fn api(gd: &GodepotProcess, path: &str) -> serde_json::Value {
    let r = get(gd, path);
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    serde_json::from_slice(&r.body).expect("JSON")
}

/// The versions `/api/module/<module>` lists, newest first.
fn indexed_versions(gd: &GodepotProcess, module: &str) -> Vec<String> {
    let json = api(gd, &format!("/api/module/{module}"));
    let versions = json["versions"].as_array().expect("versions");
    versions
        .iter()
        .map(|v| v["version"].as_str().expect("version").to_string())
        .collect()
}

#[test]
fn each_replica_on_a_bucket_keeps_an_index_of_everything_in_it() {
    let rig = Rig::small();
    let minio = MinioServer::start();
    let dir = |name: &str| {
        rig.tmp
            .path()
            .join(name)
            .to_str()
            .expect("utf-8")
            .to_string()
    };
    let (cache_one, cache_two) = (dir("cache-one"), dir("cache-two"));
    let one = serve(&rig, &minio, "depot", &["--cache-dir", &cache_one]);
    assert!(
        !one.logs()
            .iter()
            .any(|l| l.contains("module index is not kept")),
        "{}",
        tail(&one)
    );
    let work = rig.tmp.path().join("work");
    std::fs::create_dir_all(&work).expect("mkdir");
    let go = GoEnv::new(&one.url());
    go.ok(
        &work,
        [
            "mod",
            "download",
            "example.com/f@v1.1.0",
            "example.com/big@v1.0.0",
        ],
    );

    // Replica one was told of its own writes: listed, searched, counted at once.
    let found = api(&one, "/api/search?q=example.com");
    assert_eq!(found["total"], 2, "{found}");
    assert_eq!(indexed_versions(&one, "example.com/f"), ["v1.1.0"]);
    let row = &api(&one, "/api/module/example.com/f")["versions"][0];
    assert!(row["zip_size"].as_u64().expect("zip_size") > 0, "{row}");
    assert!(row["h1"].as_str().expect("h1").starts_with("h1:"), "{row}");
    let page = get(&one, "/module/example.com/f");
    assert_eq!(page.status, 200);
    assert!(page.text().contains("v1.1.0"), "{}", page.text());
    let metrics = get(&one, "/metrics").text();
    assert!(
        metrics.lines().any(|l| l == "godepot_store_versions 2"),
        "{metrics}"
    );

    // A second replica, its own --cache-dir: its background rebuild finds what one stored.
    let mut two = serve(&rig, &minio, "depot", &["--cache-dir", &cache_two]);
    two.wait_for_log(std::time::Duration::from_secs(60), "module index rebuilt")
        .unwrap_or_else(|| panic!("no rebuild: {}", tail(&two)));
    assert_eq!(api(&two, "/api/search?q=example.com")["total"], 2);
    assert_eq!(indexed_versions(&two, "example.com/big"), ["v1.0.0"]);

    // A version stored by replica one afterwards: replica two is not told of it; its
    // refresh finds it (here the one at start, after a clean stop kept its index current).
    go.ok(&work, ["mod", "download", "example.com/f@v1.0.0"]);
    assert_eq!(
        indexed_versions(&one, "example.com/f"),
        ["v1.1.0", "v1.0.0"]
    );
    two.stop();
    let two = serve(&rig, &minio, "depot", &["--cache-dir", &cache_two]);
    two.wait_for_log(std::time::Duration::from_secs(60), "module index current")
        .unwrap_or_else(|| panic!("rebuilt after a clean stop: {}", tail(&two)));
    two.wait_for_log(std::time::Duration::from_secs(60), "module index refreshed")
        .unwrap_or_else(|| panic!("no refresh: {}", tail(&two)));
    assert_eq!(
        indexed_versions(&two, "example.com/f"),
        ["v1.1.0", "v1.0.0"]
    );
    assert_no_secret(&minio, &two, "replica two");

    // reindex rebuilds the index of the replica with that --cache-dir, beside it.
    let storage = minio.url("depot");
    let out = minio_cli(
        &minio,
        &[
            "reindex",
            "--json",
            "--storage",
            &storage,
            "--cache-dir",
            &cache_two,
        ],
    );
    assert!(out.status.success(), "reindex:\n{}", output_text(&out));
    let rebuilt: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(rebuilt["totals"]["versions"], 3, "{rebuilt}");
    assert!(!output_text(&out).contains(minio.secret()));
    let out = minio_cli(&minio, &["reindex", "--storage", &storage]);
    assert_eq!(out.status.code(), Some(2), "{}", output_text(&out));
    assert!(
        output_text(&out).contains("error: reindex on s3://")
            && output_text(&out).contains("hint: "),
        "{}",
        output_text(&out)
    );
    let out = minio_cli(
        &minio,
        &[
            "reindex",
            "--storage",
            &storage,
            "--cache-dir",
            &cache_two,
            "--cache-size",
            "1GiB",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", output_text(&out));
    assert!(
        output_text(&out).contains("error: --cache-size"),
        "{}",
        output_text(&out)
    );
}
