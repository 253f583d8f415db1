//! Several `serve` replicas on one store and one Redis (`--coordination`): exactly one upstream
//! fetch between them, the same bytes and the same go.sum through any of them, a replica
//! killed mid-fetch taken over within the lease, and a Redis restart survived without
//! corruption or a restart of godepot.
//!
//! The replicas share a `file://` data directory, which several processes may write at once
//! (atomic, write-once publishing under per-process scratch directories).

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Rig, get, godepot_cli, tail};
use godepot_testkit::redis::RedisServer;
use godepot_testkit::{Fault, GoEnv, GodepotProcess};

const BIG_ZIP: &str = "/example.com/big/@v/v1.0.0.zip";

fn replicas(rig: &Rig, redis: &RedisServer, n: usize, extra: &[&str]) -> Vec<GodepotProcess> {
    let url = redis.url();
    (0..n)
        .map(|_| {
            let mut args = vec!["--coordination", url.as_str()];
            args.extend_from_slice(extra);
            rig.godepot(&args)
        })
        .collect()
}

#[test]
fn sixty_cold_requests_over_three_replicas_cause_one_upstream_fetch() {
    let rig = Rig::small();
    let redis = RedisServer::start();
    // Slow enough that every request arrives while the one fetch is under way.
    rig.upstream.set_latency(Duration::from_millis(500));
    let gds = Arc::new(replicas(&rig, &redis, 3, &[]));
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
    let redis = RedisServer::start();
    let gds = replicas(&rig, &redis, 3, &[]);
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
    let redis = RedisServer::start();
    let lease = Duration::from_secs(2);
    let mut gds = replicas(&rig, &redis, 3, &["--coordination-lease", "2s"]);
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
    // No partial object in the tree: the only zip of the version is the whole one.
    let dir = rig.data.join("example.com/big/@v");
    let zips: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("zip"))
        .collect();
    assert_eq!(zips.len(), 2, "the zip and its hash only: {zips:?}");
    assert_eq!(std::fs::read(dir.join("v1.0.0.zip")).unwrap(), expected);
    // And the next request, on the third replica, is a hit.
    let again = get(&gds[2], BIG_ZIP);
    assert_eq!(again.status, 200);
    assert!(again.body == expected);
    assert_eq!(rig.upstream.hits("example.com/big/@v/v1.0.0.zip"), 2);
}

#[test]
fn a_redis_restart_costs_no_corruption_and_no_godepot_restart() {
    let rig = Rig::small();
    let mut redis = RedisServer::start();
    let gds = replicas(&rig, &redis, 3, &[]);
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
    let verify = godepot_cli(&["verify", "--data-dir", rig.data.to_str().unwrap()]);
    assert!(
        verify.status.success(),
        "verify after the Redis restart:\n{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
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
