//! The state replicas of one bucket share, kept in the bucket (real MinIO on loopback, two
//! `serve` replicas): tokens made by `godepot token` on the bucket work on both replicas and,
//! revoked, are refused by both within the documented reload time; two `token add` racing
//! both survive (compare-and-swap); `gc --storage` merges every replica's access times and
//! removes only what no replica served.

mod common;

use std::process::Output;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{Rig, godepot_command, tail};
use godepot_module::{ModulePath, Version};
use godepot_store::object::ObjectStore;
use godepot_store::{ArtifactKey, Kind, Store};
use godepot_testkit::GodepotProcess;
use godepot_testkit::http::http_request;
use godepot_testkit::minio::MinioServer;

/// How long a replica on a bucket may go on accepting a revoked token (the token file is
/// looked at every 5 seconds; README, docs/scale-out.md), with slack for a loaded machine.
const RELOAD_BOUND: Duration = Duration::from_secs(5);
const SLACK: Duration = Duration::from_secs(3);

fn serve(rig: &Rig, minio: &MinioServer, prefix: &str, extra: &[&str]) -> GodepotProcess {
    common::serve_on_bucket(rig, minio, prefix, extra)
}

fn cli(minio: &MinioServer, args: &[&str]) -> Output {
    godepot_command(args)
        .envs(minio.env())
        .output()
        .expect("run godepot")
}

fn ok(minio: &MinioServer, args: &[&str]) -> String {
    let out = cli(minio, args);
    assert!(
        out.status.success(),
        "godepot {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `godepot token add NAME --storage <bucket>`: the secret (the last line).
fn add_token(minio: &MinioServer, storage: &str, name: &str) -> String {
    let out = ok(minio, &["token", "add", name, "--storage", storage]);
    out.lines().last().unwrap_or_default().to_string()
}

fn status(gd: &GodepotProcess, path: &str, token: Option<&str>) -> u16 {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = bearer
        .iter()
        .map(|b| ("Authorization", b.as_str()))
        .collect();
    http_request("GET", &format!("{}{path}", gd.url()), &headers).status
}

/// Waits until every replica answers `path` with `want`, returning how long that took. Asked
/// once a second: a token not yet known is a failed login, and ten a minute from one address
/// are answered 429 by the brute-force limiter.
fn until_all(replicas: &[&GodepotProcess], path: &str, token: &str, want: u16) -> Duration {
    let start = Instant::now();
    loop {
        if replicas
            .iter()
            .all(|gd| status(gd, path, Some(token)) == want)
        {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < RELOAD_BOUND + SLACK,
            "not {want} on every replica after {:?}",
            start.elapsed()
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}

#[test]
fn tokens_in_a_bucket_work_on_every_replica_and_revocation_reaches_them_all() {
    let rig = Rig::small();
    let minio = MinioServer::start();
    let storage = minio.url("depot");
    let dev = add_token(&minio, &storage, "dev");
    assert!(dev.starts_with("gdp_"), "{dev}");

    let a = serve(&rig, &minio, "depot", &["--require-auth"]);
    let b = serve(&rig, &minio, "depot", &["--require-auth"]);
    let list = "/example.com/f/@v/list";
    for gd in [&a, &b] {
        assert_eq!(status(gd, list, None), 401, "{}", tail(gd));
        assert_eq!(status(gd, list, Some("gdp_wrong")), 401);
        assert_eq!(status(gd, list, Some(&dev)), 200, "{}", tail(gd));
    }

    // Two `token add` at once, as from two machines: both survive.
    let racing: Vec<_> = ["ci-1", "ci-2"]
        .iter()
        .map(|name| {
            godepot_command(&["token", "add", name, "--storage", &storage])
                .envs(minio.env())
                .spawn()
                .expect("start godepot token add")
        })
        .collect();
    for mut child in racing {
        assert!(child.wait().unwrap().success());
    }
    let listed = ok(&minio, &["token", "list", "--storage", &storage]);
    for name in ["dev", "ci-1", "ci-2"] {
        assert!(
            listed.lines().any(|l| l.starts_with(&format!("{name}\t"))),
            "{name} lost: {listed}"
        );
    }
    assert!(!listed.contains(&dev), "a secret was listed");

    // A token added after the replicas started is taken up by both, and a revoked one is
    // refused by both, within the reload time.
    let later = add_token(&minio, &storage, "later");
    let took = until_all(&[&a, &b], list, &later, 200);
    eprintln!("new token accepted by both replicas after {took:?}");
    ok(&minio, &["token", "revoke", "dev", "--storage", &storage]);
    let took = until_all(&[&a, &b], list, &dev, 401);
    eprintln!("revoked token refused by both replicas after {took:?}");

    // No secret in the bucket or a log.
    let bucket = ObjectStore::open_s3_with_env(&storage, minio.env(), None).unwrap();
    let file = bucket
        .get_meta("tokens.json")
        .unwrap()
        .expect("the token file");
    let file = String::from_utf8_lossy(&file);
    assert!(file.contains("\"sha256\""), "{file}");
    for gd in [&a, &b] {
        let logs = gd.logs().join("\n");
        for secret in [&dev, &later, &minio.secret().to_string()] {
            assert!(!logs.contains(secret.as_str()), "a secret was logged");
        }
        assert!(!file.contains(dev.as_str()));
    }
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// The small universe's versions, as `(module, version)`.
const VERSIONS: [(&str, &str); 4] = [
    ("example.com/f", "v1.0.0"),
    ("example.com/f", "v1.1.0"),
    ("example.com/Upper/Mod", "v1.0.0"),
    ("example.com/big", "v1.0.0"),
];

fn key(module: &str, version: &str, kind: Kind) -> ArtifactKey {
    ArtifactKey::new(
        ModulePath::parse(module).unwrap(),
        Version::parse(version).unwrap(),
        kind,
    )
}

#[test]
fn gc_on_a_bucket_removes_only_what_no_replica_served() {
    let rig = Rig::small();
    let minio = MinioServer::start();
    let storage = minio.url("depot");
    let bucket = ObjectStore::open_s3_with_env(&storage, minio.env(), None).unwrap();
    // The bucket's versions, none of them asked for; recording on since a month ago (as if
    // replicas had been serving it all along).
    for (module, version) in VERSIONS {
        for (kind, ext) in [(Kind::Info, "info"), (Kind::Mod, "mod"), (Kind::Zip, "zip")] {
            let bytes = rig.fixture(module, version, ext);
            bucket.put(&key(module, version, kind), &bytes).unwrap();
        }
    }
    let month_ago = SystemTime::now() - Duration::from_secs(30 * 86_400);
    let since = format!("# godepot access times v1 since {}\n", unix(month_ago));
    bucket.put_meta("access/since", since.as_bytes()).unwrap();
    let stored = Instant::now();

    // Each replica serves one version, which only it notes.
    let mut a = serve(&rig, &minio, "depot", &["--offline"]);
    let mut b = serve(&rig, &minio, "depot", &["--offline"]);
    for (gd, path) in [
        (&a, "/example.com/f/@v/v1.0.0.info"),
        (&b, "/example.com/!upper/!mod/@v/v1.0.0.mod"),
    ] {
        assert_eq!(status(gd, path, None), 200, "{}", tail(gd));
    }
    // Stopped gracefully, each writes its own access object.
    a.stop();
    b.stop();
    let objects = bucket.list_meta("access").unwrap();
    assert_eq!(
        objects.len(),
        3,
        "since + one object per replica: {objects:?}"
    );

    // Every version is older than a second, so only the noted ones count as used.
    std::thread::sleep(Duration::from_secs(2).saturating_sub(stored.elapsed()));
    let gc = |extra: &[&str]| {
        let mut args = vec![
            "gc",
            "--storage",
            &storage,
            "--unused-for",
            "1s",
            "--keep-latest",
            "0",
            "--json",
        ];
        args.extend_from_slice(extra);
        serde_json::from_str::<serde_json::Value>(&ok(&minio, &args)).expect("gc --json")
    };
    let names = common::gc_targets;
    let dry = gc(&[]);
    assert_eq!(
        names(&dry, "removed"),
        [
            "example.com/big@v1.0.0 unused",
            "example.com/f@v1.1.0 unused"
        ]
    );
    assert_eq!(
        names(&dry, "kept"),
        [
            "example.com/Upper/Mod@v1.0.0 used",
            "example.com/f@v1.0.0 used"
        ]
    );
    assert!(
        bucket
            .contains(&key("example.com/big", "v1.0.0", Kind::Zip))
            .unwrap()
    );

    let done = gc(&["--yes"]);
    assert_eq!(names(&done, "removed"), names(&dry, "removed"));
    assert!(done["failed"].as_array().unwrap().is_empty(), "{done}");
    for (module, version) in VERSIONS {
        let held = bucket.contains(&key(module, version, Kind::Zip)).unwrap();
        let used = matches!(
            (module, version),
            ("example.com/f", "v1.0.0") | ("example.com/Upper/Mod", "v1.0.0")
        );
        assert_eq!(held, used, "{module}@{version}");
    }
    let versions = bucket
        .versions(&ModulePath::parse("example.com/f").unwrap())
        .unwrap();
    assert_eq!(versions, [Version::parse("v1.0.0").unwrap()], "the list");
    let left: Vec<String> = bucket
        .walk()
        .unwrap()
        .into_iter()
        .map(|e| e.rel_path)
        .filter(|rel| rel.contains("big"))
        .collect();
    assert_eq!(
        left,
        ["example.com/big/@v/list"],
        "nothing of big but its (empty) list"
    );
    assert!(
        bucket.list_meta("quarantine").unwrap().is_empty(),
        "the quarantine batch is purged"
    );

    // --keep cannot be resolved from a bucket (yet): refused, saying so.
    let out = cli(
        &minio,
        &[
            "gc",
            "--storage",
            &storage,
            "--unused-for",
            "1s",
            "--keep",
            "x@v1.0.0",
        ],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error:") && stderr.contains("hint:"),
        "{stderr}"
    );
}
