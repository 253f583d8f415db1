//! Hostile and malformed request paths: each must get a 4xx (never a 5xx, never a crash),
//! leave the data dir untouched, and, when the path is invalid on its face, never be
//! forwarded upstream (validation happens after percent-decoding and before any fetch).
//! Paths are sent byte for byte by the testkit's raw client, with no normalization.

mod common;

use common::{Rig, assert_healthy, tail};
use godepot_testkit::fsutil;
use godepot_testkit::http::try_http_request;
use std::time::Duration;

/// (path, invalid on its face: must not reach upstream)
fn cases() -> Vec<(String, bool)> {
    let mut v: Vec<(String, bool)> = [
        // dot-dot segments, raw and percent-encoded
        ("/../../etc/passwd", true),
        ("/example.com/../../../etc/passwd/@v/list", true),
        ("/example.com/f/@v/../../../../etc/passwd", true),
        ("/%2e%2e/%2e%2e/etc/passwd", true),
        ("/example.com/%2e%2e/@v/list", true),
        ("/example.com/f/@v/%2e%2e%2f%2e%2e%2fx.info", true),
        ("/example.com/f/%2E%2E/%2E%2E/@v/list", true),
        ("/.example.com/f/@v/list", true),
        // encoded slash
        ("/example.com%2Ff/@v/list", true),
        ("/example.com/f/@v/v1.0.0%2Finfo", true),
        ("/example.com/f%2f@v%2flist", true),
        // NUL
        ("/example.com/f%00/@v/list", true),
        ("/example.com/f/@v/v1.0.0.info%00", true),
        ("/example.com/f/@v/v1.0.0%00.zip", true),
        // bad ! escapes
        ("/example.com/!/@v/list", true),
        ("/example.com/!!f/@v/list", true),
        ("/example.com/!Af/@v/list", true),
        ("/example.com/f!/@v/list", true),
        ("/example.com/!1f/@v/list", true),
        ("/example.com/%21%21f/@v/list", true),
        ("/example.com/f/@v/v1.0.0-!.info", true),
        ("/example.com/f/@v/v1.0.0-!A.zip", true),
        // raw upper case (must be !-escaped)
        ("/Example.com/f/@v/list", true),
        ("/example.com/Upper/Mod/@v/list", true),
        ("/example.com/f/@v/v1.0.0-Beta.info", true),
        // invalid versions for immutable artifacts
        ("/example.com/f/@v/v1.zip", true),
        ("/example.com/f/@v/1.0.0.mod", true),
        ("/example.com/f/@v/v1.0.0.0.zip", true),
        ("/example.com/f/@v/v1.0.zip", true),
        ("/example.com/f/@v/v01.0.0.mod", true),
        ("/example.com/f/@v/.zip", true),
        // invalid versions as .info queries: 4xx, possibly after asking upstream
        ("/example.com/f/@v/1.0.0.info", false),
        ("/example.com/f/@v/v1.0.0.0.info", false),
        // unknown suffixes and shapes
        ("/example.com/f/@v/v1.0.0.tar", true),
        ("/example.com/f/@v/v1.0.0.zip.tmp", true),
        ("/example.com/f/@v/v1.0.0", true),
        ("/example.com/f/@v/", true),
        ("/example.com/f/@v", true),
        ("/example.com/f/@v/list/extra", true),
        ("/example.com/f/@latest/x", true),
        ("/@v/list", true),
        ("//example.com/f/@v/list", true),
        ("/example.com//f/@v/list", true),
        ("/example.com/f/@v/list%", true),
        ("/example.com/f/@v/list%zz", true),
        // checksum database not configured (and never an open relay)
        ("/sumdb/sumdb.example.invalid/supported", true),
        (
            "/sumdb/sumdb.example.invalid/lookup/example.com/f@v1.0.0",
            true,
        ),
        ("/sumdb/127.0.0.1:1/latest", true),
    ]
    .into_iter()
    .map(|(p, b)| (p.to_owned(), b))
    .collect();
    v.push((format!("/example.com/{}/@v/list", "a".repeat(5000)), true));
    v.push((
        format!("/example.com/f/@v/v1.0.0-{}.info", "a".repeat(5000)),
        true,
    ));
    v
}

#[test]
fn bad_paths_get_4xx_and_change_nothing() {
    let rig = Rig::small();
    let gd = rig.godepot(&[]);
    assert_healthy(&gd, "start");
    // A new data dir's index is built in the background after start; the snapshot below
    // must not race that write.
    assert!(
        gd.wait_for_log(Duration::from_secs(60), "module index rebuilt")
            .is_some(),
        "no index rebuild at start\nlogs:\n{}",
        tail(&gd)
    );
    let mut before = fsutil::tree(&rig.data);
    rig.upstream.reset_hits();

    let mut failures = Vec::new();
    for (path, invalid) in cases() {
        let shown: String = path.chars().take(120).collect();
        let hits_before = rig.upstream.total_hits();
        match try_http_request("GET", &format!("{}{path}", gd.url()), &[]) {
            Ok(r) if (400..500).contains(&r.status) => {
                // Any 4xx will do; the body must be a one-line sentence.
                if r.text().lines().count() > 1 {
                    failures.push(format!(
                        "{shown}: {} with a multi-line body {:?}",
                        r.status,
                        r.text()
                    ));
                }
            }
            Ok(r) => failures.push(format!(
                "{shown}: expected 4xx, got {} {:?}",
                r.status,
                r.text()
            )),
            Err(e) => failures.push(format!("{shown}: request failed: {e}")),
        }
        if invalid && rig.upstream.total_hits() != hits_before {
            failures.push(format!(
                "{shown}: an invalid path was forwarded upstream: {:?}",
                rig.upstream.all_hits()
            ));
        }
        if try_http_request("GET", &format!("{}/healthz", gd.url()), &[])
            .map(|r| r.status)
            .ok()
            != Some(200)
        {
            failures.push(format!(
                "{shown}: server unhealthy afterwards\nlogs:\n{}",
                tail(&gd)
            ));
            break;
        }
        let now = fsutil::tree(&rig.data);
        if now != before {
            failures.push(format!(
                "{shown}: data dir changed: before {before:?}, after {now:?}"
            ));
            // Compare the next case with this state, so each failure names its own path.
            before = now;
        }
    }
    assert!(
        failures.is_empty(),
        "{} problems over {} bad paths:\n{}",
        failures.len(),
        cases().len(),
        failures.join("\n")
    );

    // Still serving real requests.
    let ok = common::get(&gd, "/example.com/f/@v/v1.1.0.mod");
    assert_eq!(ok.status, 200, "{}", ok.text());
}

#[test]
fn bad_methods_are_rejected() {
    let rig = Rig::small();
    let gd = rig.godepot(&[]);
    for m in ["POST", "PUT", "DELETE"] {
        let r = godepot_testkit::http_request(
            m,
            &format!("{}/example.com/f/@v/list", gd.url()),
            &[("Content-Length", "0")],
        );
        assert!((400..500).contains(&r.status), "{m}: {}", r.status);
    }
    assert_healthy(&gd, "methods");
    assert!(
        fsutil::tree(&rig.data)
            .keys()
            .all(|k| !k.contains("example.com")),
        "{:?}",
        fsutil::tree(&rig.data)
    );
}
