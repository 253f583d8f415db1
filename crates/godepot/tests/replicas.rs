//! Several `serve` replicas on one MinIO bucket (`--storage s3://…`) and one Redis
//! (`--coordination`): exactly one upstream fetch between them, the same bytes and the same
//! go.sum through any of them, a replica killed mid-fetch taken over within the lease (and no
//! partial object in the bucket), a Redis restart and a MinIO outage survived without
//! corruption or a restart of godepot. The Redis password case runs on a local data directory
//! (cheap, and the one file-based case).

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Rig, get, godepot_command, tail};
use godepot_store::Store;
use godepot_store::object::ObjectStore;
use godepot_testkit::minio::MinioServer;
use godepot_testkit::redis::RedisServer;
use godepot_testkit::{Fault, GoEnv, GodepotProcess};

const BIG_ZIP: &str = "/example.com/big/@v/v1.0.0.zip";

/// The prefix of the bucket the replicas share.
const PREFIX: &str = "shared";

/// `n` replicas of `serve --storage <bucket> --coordination <redis> <extra>`, MinIO's
/// endpoint and credentials in the standard environment.
fn replicas(
    rig: &Rig,
    minio: &MinioServer,
    redis: &RedisServer,
    n: usize,
    extra: &[&str],
) -> Vec<GodepotProcess> {
    let coordination = redis.url();
    (0..n)
        .map(|_| {
            let mut args = vec!["--coordination", coordination.as_str()];
            args.extend_from_slice(extra);
            common::serve_on_bucket(rig, minio, PREFIX, &args)
        })
        .collect()
}

/// The bucket as a store, as the test sees it.
fn bucket(minio: &MinioServer) -> ObjectStore {
    ObjectStore::open_s3_with_env(&minio.url(PREFIX), minio.env(), None).expect("open bucket")
}

/// `godepot verify --storage <bucket>` succeeds, and the secret is not in its output.
fn assert_verify_clean(minio: &MinioServer, context: &str) {
    let out = godepot_command(&["verify", "--storage", &minio.url(PREFIX)])
        .envs(minio.env())
        .output()
        .expect("run godepot");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "verify {context}:\n{text}");
    assert!(!text.contains(minio.secret()));
}

fn assert_no_secret(minio: &MinioServer, gds: &[GodepotProcess]) {
    for gd in gds {
        assert!(
            !gd.logs().join("\n").contains(minio.secret()),
            "the secret key was logged"
        );
    }
}

#[test]
fn sixty_cold_requests_over_three_replicas_cause_one_upstream_fetch() {
    let rig = Rig::small();
    let minio = MinioServer::start();
    let redis = RedisServer::start();
    // Slow enough that every request arrives while the one fetch is under way.
    rig.upstream.set_latency(Duration::from_millis(500));
    let gds = Arc::new(replicas(&rig, &minio, &redis, 3, &[]));
    let expected = rig.fixture("example.com/big", "v1.0.0", "zip");
    let clients: Vec<_> = (0..60)
        .map(|i| {
            let gds = Arc::clone(&gds);
            std::thread::spawn(move || get(&gds[i % 3], BIG_ZIP))
        })
        .collect();
    for (i, client) in clients.into_iter().enumerate() {
        let r = client.join().expect("client thread");
        assert_eq!(r.status, 200, "client {i}: {}", r.text());
        assert!(r.body == expected, "client {i} got other bytes");
    }
    assert_eq!(
        rig.upstream.hits("example.com/big/@v/v1.0.0.zip"),
        1,
        "one upstream fetch between three replicas; logs:\n{}",
        gds.iter().map(tail).collect::<Vec<_>>().join("\n---\n")
    );
}

/// A small project needing example.com/f; go.sum comes from `go mod tidy`.
fn project(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("go.mod"),
        "module example.com/app\n\ngo 1.21\n\nrequire example.com/f v1.1.0\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("main.go"),
        "package main\n\nimport _ \"example.com/f\"\n\nfunc main() {}\n",
    )
    .unwrap();
}

fn tidy_go_sum(go: &GoEnv, dir: &Path) -> String {
    let _ = std::fs::remove_file(dir.join("go.sum"));
    go.clean_modcache();
    go.ok(dir, ["mod", "tidy"]);
    std::fs::read_to_string(dir.join("go.sum")).expect("go.sum")
}

#[test]
fn the_go_command_gets_the_same_go_sum_through_any_replica_also_with_upstream_stopped() {
    let rig = Rig::small();
    let minio = MinioServer::start();
    let redis = RedisServer::start();
    let gds = replicas(&rig, &minio, &redis, 3, &[]);
    let dir = rig.tmp.path().join("app");
    project(&dir);
    let first = tidy_go_sum(&GoEnv::new(&gds[0].url()), &dir);
    assert!(first.contains("example.com/f v1.1.0 h1:"), "{first}");
    for gd in &gds[1..] {
        assert_eq!(
            tidy_go_sum(&GoEnv::new(&gd.url()), &dir),
            first,
            "{}",
            tail(gd)
        );
    }
    rig.upstream.stop();
    for gd in &gds {
        assert_eq!(
            tidy_go_sum(&GoEnv::new(&gd.url()), &dir),
            first,
            "upstream stopped: {}",
            tail(gd)
        );
    }
}

#[test]
fn a_replica_killed_mid_fetch_is_taken_over_within_the_lease() {
    let rig = Rig::small();
    let minio = MinioServer::start();
    let redis = RedisServer::start();
    let lease = Duration::from_secs(2);
    let mut gds = replicas(&rig, &minio, &redis, 3, &["--coordination-lease", "2s"]);
    // The upstream sends the zip's head late: the first replica is mid-fetch when killed.
    rig.upstream
        .set_fault("big/@v/v1.0.0.zip", Fault::Delay(Duration::from_secs(30)));
    let victim = gds[0].url();
    let doomed = std::thread::spawn(move || {
        godepot_testkit::http::try_http_request("GET", &format!("{victim}{BIG_ZIP}"), &[])
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while rig.upstream.hits("example.com/big/@v/v1.0.0.zip") == 0 {
        assert!(
            Instant::now() < deadline,
            "the first replica never asked upstream"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    gds[0].kill();
    let _ = doomed.join();
    rig.upstream.clear_faults();
    let started = Instant::now();
    let r = get(&gds[1], BIG_ZIP);
    let took = started.elapsed();
    assert_eq!(r.status, 200, "{}", tail(&gds[1]));
    let expected = rig.fixture("example.com/big", "v1.0.0", "zip");
    assert!(
        r.body == expected,
        "the replica that took over served other bytes"
    );
    assert!(
        took < lease + Duration::from_secs(10),
        "taken over in {took:?}, lease {lease:?}"
    );
    assert_eq!(rig.upstream.hits("example.com/big/@v/v1.0.0.zip"), 2);
    // No partial object in the bucket: the only zip of the version is the whole one, and no
    // scratch key is left.
    let store = bucket(&minio);
    let zips: Vec<_> = store
        .walk()
        .unwrap()
        .into_iter()
        .map(|e| e.rel_path)
        .filter(|n| n.starts_with("example.com/big/") && n.contains("zip"))
        .collect();
    assert_eq!(
        zips,
        [
            "example.com/big/@v/v1.0.0.zip",
            "example.com/big/@v/v1.0.0.ziphash"
        ],
        "the zip and its hash only: {zips:?}"
    );
    let held = store.open_file(&zips[0]).unwrap().expect("the zip");
    assert_eq!(held.len, expected.len() as u64);
    let scratch = store.list_meta("tmp").unwrap();
    assert!(scratch.is_empty(), "scratch keys left: {scratch:?}");
    // And the next request, on the third replica, is a hit.
    let again = get(&gds[2], BIG_ZIP);
    assert_eq!(again.status, 200);
    assert!(again.body == expected);
    assert_eq!(rig.upstream.hits("example.com/big/@v/v1.0.0.zip"), 2);
}

#[test]
fn a_redis_restart_costs_no_corruption_and_no_godepot_restart() {
    let rig = Rig::small();
    let minio = MinioServer::start();
    let mut redis = RedisServer::start();
    let gds = replicas(&rig, &minio, &redis, 3, &[]);
    let f = |v: &str, ext: &str| format!("/example.com/f/@v/{v}.{ext}");
    for (i, gd) in gds.iter().enumerate() {
        let r = get(gd, &f("v1.0.0", "info"));
        assert_eq!(r.status, 200, "replica {i} before: {}", r.text());
    }
    // Redis gone: each replica fetches on its own (write-once keeps that correct).
    redis.stop();
    for (i, gd) in gds.iter().enumerate() {
        for ext in ["mod", "zip"] {
            let r = get(gd, &f("v1.0.0", ext));
            assert_eq!(r.status, 200, "replica {i} without Redis: {}", r.text());
            assert!(r.body == rig.fixture("example.com/f", "v1.0.0", ext));
        }
    }
    gds[0]
        .wait_for_log(Duration::from_secs(10), "coordinator unreachable")
        .unwrap_or_else(|| panic!("no warning about Redis: {}", tail(&gds[0])));
    // Redis back (empty): coordinated again, without restarting godepot.
    redis.restart();
    rig.upstream.reset_hits();
    rig.upstream.set_latency(Duration::from_millis(300));
    let clients: Vec<_> = (0..9)
        .map(|i| {
            let url = format!("{}{}", gds[i % 3].url(), f("v1.1.0", "zip"));
            std::thread::spawn(move || godepot_testkit::http_get(&url))
        })
        .collect();
    let expected = rig.fixture("example.com/f", "v1.1.0", "zip");
    for client in clients {
        let r = client.join().unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(r.body == expected);
    }
    for ext in ["info", "mod"] {
        let r = get(&gds[1], &f("v1.1.0", ext));
        assert_eq!(r.status, 200, "{}", r.text());
    }
    // The connection comes back within a few requests; by now, one fetch between them.
    let hits = rig.upstream.hits("example.com/f/@v/v1.1.0.zip");
    assert!(hits <= 3, "{hits} fetches");
    assert_verify_clean(&minio, "after the Redis restart");
    assert_no_secret(&minio, &gds);
}

#[test]
fn the_redis_password_is_never_logged() {
    let rig = Rig::small();
    let redis = RedisServer::start_with_password(Some("hunter2-redis"));
    let gd = rig.godepot(&["--coordination", &redis.url()]);
    let r = get(&gd, "/example.com/f/@v/v1.0.0.info");
    assert_eq!(r.status, 200, "{}", r.text());
    gd.wait_for_log(
        Duration::from_secs(10),
        "coordinated with the other replicas",
    )
    .expect("the start-up line names the coordinator");
    let logs = gd.logs().join("\n");
    assert!(!logs.contains("hunter2"), "{logs}");
    assert!(
        logs.contains(&format!("redis://{}", redis.addr())),
        "{logs}"
    );
}

#[test]
fn minio_unreachable_for_a_moment_costs_no_corruption_and_no_godepot_restart() {
    let rig = Rig::small();
    let mut minio = MinioServer::start();
    let redis = RedisServer::start();
    let gds = replicas(&rig, &minio, &redis, 3, &[]);
    let f = |v: &str, ext: &str| format!("/example.com/f/@v/{v}.{ext}");
    for ext in ["info", "mod", "zip"] {
        let r = get(&gds[0], &f("v1.0.0", ext));
        assert_eq!(r.status, 200, "before: {}", tail(&gds[0]));
    }

    // MinIO gone: what the bucket must answer is a clear 503 from every replica, naming the
    // storage; no 404, no crash.
    minio.stop();
    let paths = [f("v1.1.0", "info"), f("v1.1.0", "zip"), BIG_ZIP.to_string()];
    for (i, gd) in gds.iter().enumerate() {
        for path in &paths {
            let r = get(gd, path);
            assert!(
                r.status == 503 || r.status == 502,
                "replica {i}, {path} with MinIO down: {} {}\n{}",
                r.status,
                r.text(),
                tail(gd)
            );
            assert!(
                r.text().to_lowercase().contains("storage"),
                "replica {i}, {path}: the reason does not say the storage failed: {}",
                r.text()
            );
        }
    }

    // MinIO back: every replica serves everything, the same bytes, without a restart.
    minio.restart();
    for (i, gd) in gds.iter().enumerate() {
        for (module, v) in [("example.com/f", "v1.1.0"), ("example.com/big", "v1.0.0")] {
            for ext in ["info", "mod", "zip"] {
                let path = format!("/{module}/@v/{v}.{ext}");
                let r = get(gd, &path);
                assert_eq!(r.status, 200, "replica {i}, {path} after: {}", tail(gd));
                assert!(
                    r.body == rig.fixture(module, v, ext),
                    "replica {i}, {path}: other bytes"
                );
            }
        }
    }
    let dir = rig.tmp.path().join("app");
    project(&dir);
    let sum = tidy_go_sum(&GoEnv::new(&gds[2].url()), &dir);
    assert!(sum.contains("example.com/f v1.1.0 h1:"), "{sum}");
    assert_verify_clean(&minio, "after the MinIO outage");
    assert_no_secret(&minio, &gds);
}
