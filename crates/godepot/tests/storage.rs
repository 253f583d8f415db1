//! `--storage` and `--cache-dir` (issue 14), over the local store: the URL forms and their
//! errors, and the disk cache answering warm hits (checked with the real go command) when
//! the store behind it can no longer give them.

mod common;

use std::time::Duration;

use common::{Rig, get, go_sum_lines, godepot_cli, tail};
use godepot_testkit::GoEnv;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn storage_urls_are_checked_with_an_error_and_a_hint() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let url = format!("file://{}", dir.display());

    // file:// is the data directory.
    let out = godepot_cli(&["ls", "--storage", &url]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = godepot_cli(&[
        "ls",
        "--storage",
        &url,
        "--data-dir",
        dir.to_str().expect("utf-8"),
    ]);
    assert!(
        out.status.success(),
        "the same place twice: {}",
        stderr(&out)
    );

    let other = tmp.path().join("other");
    let cases: [(&[&str], &str); 5] = [
        (
            &[
                "ls",
                "--storage",
                &url,
                "--data-dir",
                other.to_str().expect("utf-8"),
            ],
            "name different stores",
        ),
        (&["ls", "--storage", "/srv/godepot"], "is not a URL"),
        (&["ls", "--storage", "ftp://host/x"], "unsupported scheme"),
        (
            &["ls", "--storage", "s3://AKIAXXXX:hunter2@bucket/p"],
            "credentials do not go in the URL",
        ),
        (
            &[
                "serve",
                "--cache-size",
                "1GiB",
                "--data-dir",
                dir.to_str().expect("utf-8"),
            ],
            "--cache-size needs --cache-dir",
        ),
    ];
    for (args, want) in cases {
        let out = godepot_cli(args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(
            err.lines().any(|l| l.starts_with("hint: ")),
            "{args:?}: {err}"
        );
        assert!(
            !err.contains("hunter2"),
            "{args:?}: a secret was repeated: {err}"
        );
    }

    let out = godepot_cli(&["serve", "--cache-size", "lots", "--cache-dir", "/tmp/x"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("invalid size"), "{}", stderr(&out));

    // The variable and the config file key say the same.
    let config = tmp.path().join("godepot.toml");
    std::fs::write(&config, format!("storage = \"{url}\"\n")).expect("write");
    let out = godepot_cli(&["--config", config.to_str().expect("utf-8"), "ls"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = common::godepot_command(&["ls"])
        .env("GODEPOT_STORAGE", "s3://Not_A_Bucket")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not a bucket name"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_disk_cache_answers_warm_hits_the_store_no_longer_has() {
    let rig = Rig::small();
    let cache = rig.tmp.path().join("cache");
    let cache_arg = cache.to_str().expect("utf-8");
    let gd = rig.godepot(&["--cache-dir", cache_arg, "--cache-size", "64MiB"]);
    gd.wait_for_log(Duration::from_secs(10), "local disk cache")
        .unwrap_or_else(|| panic!("the cache was not announced:\n{}", tail(&gd)));

    let work = rig.tmp.path().join("work");
    std::fs::create_dir_all(&work).expect("mkdir");
    let direct = GoEnv::new(&rig.universe.proxy_url());
    let want = direct.ok(
        &work,
        ["mod", "download", "-json", "example.com/big@v1.0.0"],
    );

    let go = GoEnv::new(&gd.url());
    let cold = go.ok(
        &work,
        ["mod", "download", "-json", "example.com/big@v1.0.0"],
    );
    assert_eq!(
        go_sum_lines(&cold),
        go_sum_lines(&want),
        "cold, through godepot"
    );

    // The store loses the version and upstream goes away: only the cache holds it now.
    rig.upstream.stop();
    for ext in ["info", "mod", "zip"] {
        let path = rig.data.join(format!("example.com/big/@v/v1.0.0.{ext}"));
        std::fs::remove_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    go.clean_modcache();
    let warm = go.ok(
        &work,
        ["mod", "download", "-json", "example.com/big@v1.0.0"],
    );
    assert_eq!(
        go_sum_lines(&warm),
        go_sum_lines(&want),
        "warm, from the cache alone"
    );
    let zip = get(&gd, "/example.com/big/@v/v1.0.0.zip");
    assert_eq!(zip.status, 200, "{}", tail(&gd));
    assert!(zip.body == rig.fixture("example.com/big", "v1.0.0", "zip"));

    // Deleting the cache while serving is a miss, not a failure: with neither the store nor
    // upstream, the answer is a clean 5xx, and godepot stays healthy.
    std::fs::remove_dir_all(&cache).expect("rm cache");
    let gone = get(&gd, "/example.com/big/@v/v1.0.0.zip");
    assert!(gone.status >= 500, "{}: {}", gone.status, gone.text());
    common::assert_healthy(&gd, "after the cache directory was deleted");
}
