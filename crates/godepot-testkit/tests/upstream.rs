//! Self-test of `FixtureUpstream`: protocol answers, counters, every fault, stop/restart.

use std::time::Duration;

use godepot_testkit::http::try_http_request;
use godepot_testkit::universe::{self, Universe, std_names};
use godepot_testkit::{Fault, FixtureUpstream, http_get, http_request};

fn small_universe(dir: &std::path::Path) -> Universe {
    godepot_testkit::UniverseBuilder::new(dir)
        .module("example.com/Upper/Mod")
        .version("v1.0.0")
        .file("a.go", "package mod\n")
        .version("v1.1.0-Beta")
        .file("a.go", "package mod\n")
        .module("example.com/pre")
        .version("v0.1.0-alpha.1")
        .file("p.go", "package pre\n")
        .version("v0.1.0-rc.1")
        .file("p.go", "package pre\n")
        .module("example.com/data")
        .version("v1.0.0")
        .stored()
        .file("data.bin", universe::random_bytes(7, 256 * 1024))
        .build()
}

#[test]
fn serves_the_protocol() {
    let tmp = tempfile::tempdir().unwrap();
    let u = small_universe(tmp.path());
    let up = FixtureUpstream::start(&u.root);
    let base = up.url();

    let list = http_get(&format!("{base}/example.com/!upper/!mod/@v/list"));
    assert_eq!(
        (list.status, list.text().as_str()),
        (200, "v1.0.0\nv1.1.0-Beta\n")
    );
    assert_eq!(
        list.header("content-type"),
        Some("text/plain; charset=utf-8")
    );

    let latest = http_get(&format!("{base}/example.com/!upper/!mod/@latest"));
    assert_eq!(latest.status, 200);
    assert!(
        latest.text().contains("\"v1.0.0\""),
        "release wins: {}",
        latest.text()
    );
    let latest = http_get(&format!("{base}/example.com/pre/@latest"));
    assert!(
        latest.text().contains("\"v0.1.0-rc.1\""),
        "else highest pre-release: {}",
        latest.text()
    );
    assert_eq!(latest.header("content-type"), Some("application/json"));

    // Percent-encoded `!` (as the go command sends it) works too.
    let info = http_get(&format!(
        "{base}/example.com/%21upper/%21mod/@v/v1.1.0-%21beta.info"
    ));
    assert_eq!(info.status, 200, "{}", info.text());
    let zip_path = u.artifact("example.com/data", "v1.0.0", "zip");
    let zip = http_get(&format!("{base}/example.com/data/@v/v1.0.0.zip"));
    assert_eq!(zip.body, std::fs::read(&zip_path).unwrap());
    assert_eq!(zip.header("content-type"), Some("application/zip"));
    let head = http_request(
        "HEAD",
        &format!("{base}/example.com/data/@v/v1.0.0.zip"),
        &[],
    );
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(
        head.header("content-length").unwrap(),
        zip.body.len().to_string()
    );

    for missing in [
        "/example.com/nope/@v/list",
        "/example.com/data/@v/v9.9.9.zip",
        "/example.com/data/@v/v1.0.0.tar",
        "/",
        "/example.com/nope/@latest",
    ] {
        let r = http_get(&format!("{base}{missing}"));
        assert_eq!(r.status, 404, "{missing}");
        assert!(r.text().starts_with("not found"), "{missing}: {}", r.text());
    }
    assert_eq!(up.hits("/example.com/data/@v/v1.0.0.zip"), 2);
    assert_eq!(up.hits("/example.com/!upper/!mod/@v/v1.1.0-!beta.info"), 1);
    assert_eq!(up.hits(".zip"), 3);
}

#[test]
fn injects_faults_and_clears_them() {
    let tmp = tempfile::tempdir().unwrap();
    let u = small_universe(tmp.path());
    let up = FixtureUpstream::start(&u.root);
    let url = format!("{}/example.com/data/@v/v1.0.0.zip", up.url());
    let full = std::fs::read(u.artifact("example.com/data", "v1.0.0", "zip")).unwrap();

    up.set_fault(".zip", Fault::Status(500));
    let r = http_get(&url);
    assert_eq!(r.status, 500);
    assert!(r.text().contains("injected"));
    // Other paths are unaffected.
    assert_eq!(
        http_get(&format!("{}/example.com/data/@v/v1.0.0.mod", up.url())).status,
        200
    );
    up.clear_faults();
    assert_eq!(http_get(&url).body, full);

    up.set_fault("v1.0.0.zip", Fault::ResetAfter(1000));
    let err = try_http_request("GET", &url, &[]).expect_err("reset mid-body must fail the client");
    assert!(
        matches!(
            err.kind(),
            std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset
        ),
        "{err:?}"
    );
    up.clear_fault("v1.0.0.zip");

    up.set_fault("/example.com/data/", Fault::Truncate(1000));
    let err = try_http_request("GET", &url, &[]).expect_err("truncated body must fail the client");
    assert!(err.to_string().contains("truncated"), "{err}");
    up.clear_faults();

    up.set_fault(".zip", Fault::ReplaceBody(b"not a zip".to_vec()));
    assert_eq!(http_get(&url).body, b"not a zip");
    up.clear_faults();

    up.set_fault(".zip", Fault::Delay(Duration::from_millis(100)));
    up.set_latency(Duration::from_millis(10));
    assert_eq!(http_get(&url).body, full);
    up.clear_faults();
    up.set_latency(Duration::ZERO);
    assert_eq!(http_get(&url).body, full);
}

#[test]
fn stop_refuses_connections_and_restart_reuses_the_port() {
    let tmp = tempfile::tempdir().unwrap();
    let u = small_universe(tmp.path());
    let up = FixtureUpstream::start(&u.root);
    let url = format!("{}/example.com/pre/@v/list", up.url());
    assert_eq!(http_get(&url).status, 200);
    up.stop();
    assert!(!up.is_running());
    let err = try_http_request("GET", &url, &[]).expect_err("stopped upstream must refuse");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{err:?}");
    up.restart();
    assert_eq!(http_get(&url).status, 200);
    up.restart();
    assert_eq!(http_get(&url).status, 200);
}

#[tokio::test(flavor = "current_thread")]
async fn usable_from_async_tests() {
    let tmp = tempfile::tempdir().unwrap();
    let u = universe::standard(tmp.path());
    let up = FixtureUpstream::start(&u.root);
    let url = format!(
        "{}{}",
        up.url(),
        Universe::url_path(std_names::BIG, std_names::BIG_VERSION, "zip")
    );
    let expected =
        std::fs::read(u.artifact(std_names::BIG, std_names::BIG_VERSION, "zip")).unwrap();
    let got = tokio::task::spawn_blocking(move || http_get(&url))
        .await
        .unwrap();
    assert_eq!(got.body.len(), expected.len());
    assert!(got.body == expected);
    up.stop();
    up.restart();
    drop(up); // must not panic inside a runtime
}
