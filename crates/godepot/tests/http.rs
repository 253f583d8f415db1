//! HTTP semantics of the served artifacts: Content-Type, HEAD, Range, ETag/If-None-Match,
//! Cache-Control, and the per-request JSON log.

mod common;

use std::time::Duration;

use common::{Rig, get};
use godepot_testkit::http_request;
use godepot_testkit::serde_json;

fn cache_control(r: &godepot_testkit::HttpResponse) -> String {
    r.header("cache-control").unwrap_or("").to_ascii_lowercase()
}

/// A log field, top-level or under `fields` (tracing's JSON layout nests event fields unless
/// flattened; either is accepted).
fn field<'a>(v: &'a serde_json::Value, name: &str) -> Option<&'a serde_json::Value> {
    v.get(name)
        .or_else(|| v.get("fields").and_then(|f| f.get(name)))
}

fn max_age(cc: &str) -> Option<u64> {
    cc.split(',')
        .find_map(|d| d.trim().strip_prefix("max-age="))
        .and_then(|v| v.trim().parse().ok())
}

#[test]
fn content_types() {
    let rig = Rig::small();
    let gd = rig.godepot(&[]);
    for (path, want) in [
        ("/example.com/f/@v/list", "text/plain"),
        ("/example.com/f/@v/v1.0.0.info", "application/json"),
        ("/example.com/f/@v/v1.0.0.mod", "text/plain"),
        ("/example.com/f/@v/v1.0.0.zip", "application/zip"),
        ("/example.com/f/@latest", "application/json"),
        (
            "/example.com/!upper/!mod/@v/v1.0.0.info",
            "application/json",
        ),
        ("/example.com/f/@v/v1.9.9.zip", "text/plain"),
    ] {
        let r = get(&gd, path);
        let ct = r.header("content-type").unwrap_or("");
        assert!(
            ct.starts_with(want),
            "{path}: status {} Content-Type {ct:?}, want {want}",
            r.status
        );
    }
    for p in ["/healthz", "/readyz"] {
        assert_eq!(get(&gd, p).status, 200, "{p}");
    }
    // Answers are the fixture's bytes.
    assert_eq!(
        get(&gd, "/example.com/f/@v/v1.1.0.mod").body,
        rig.fixture("example.com/f", "v1.1.0", "mod")
    );
    assert_eq!(
        get(&gd, "/example.com/f/@v/list").text(),
        "v1.0.0\nv1.1.0\n"
    );
    let latest: serde_json::Value =
        serde_json::from_slice(&get(&gd, "/example.com/f/@latest").body).expect("@latest is JSON");
    assert_eq!(latest["Version"], "v1.1.0");
    let missing = get(&gd, "/example.com/f/@v/v1.9.9.zip");
    assert_eq!(
        missing.status,
        404,
        "unknown version upstream is a 404: {}",
        missing.text()
    );
}

#[test]
fn head_requests() {
    let rig = Rig::small();
    let gd = rig.godepot(&[]);
    for (path, ext) in [
        ("/example.com/f/@v/v1.0.0.zip", "zip"),
        ("/example.com/f/@v/v1.0.0.info", "info"),
        ("/example.com/f/@v/v1.0.0.mod", "mod"),
    ] {
        let want = rig.fixture("example.com/f", "v1.0.0", ext);
        for round in ["cold", "warm"] {
            let r = http_request("HEAD", &format!("{}{path}", gd.url()), &[]);
            assert_eq!(r.status, 200, "HEAD {path} ({round})");
            assert!(r.body.is_empty());
            if let Some(len) = r.header("content-length") {
                assert_eq!(
                    len,
                    want.len().to_string(),
                    "HEAD {path} ({round}) Content-Length"
                );
            }
        }
        assert_eq!(get(&gd, path).body, want, "GET {path} after HEAD");
    }
}

/// Ranges on a small zip (served from memory) and a large one (streamed from disk): the two
/// paths must agree.
#[test]
fn range_requests_on_zip() {
    let rig = Rig::small();
    let gd = rig.godepot(&[]);
    for module in ["example.com/f", "example.com/big"] {
        let path = format!("/{module}/@v/v1.0.0.zip");
        let want = rig.fixture(module, "v1.0.0", "zip");
        let url = format!("{}{path}", gd.url());
        assert_eq!(get(&gd, &path).body, want, "full GET first");
        // Twice: the first hit may be the one that reads it from disk into memory.
        for round in 0..2 {
            let r = http_request("GET", &url, &[("Range", "bytes=100-199")]);
            assert_eq!(
                r.status,
                206,
                "{path} ({round}) bytes=100-199: {}",
                r.text()
            );
            assert_eq!(r.body, want[100..200]);
            assert_eq!(
                r.header("content-range"),
                Some(format!("bytes 100-199/{}", want.len()).as_str())
            );

            let from = want.len() - 1000;
            let r = http_request("GET", &url, &[("Range", &format!("bytes={from}-"))]);
            assert_eq!(r.status, 206, "{path} ({round})");
            assert_eq!(r.body, want[from..]);

            let r = http_request("GET", &url, &[("Range", "bytes=-10")]);
            assert_eq!(r.status, 206, "{path} ({round})");
            assert_eq!(r.body, want[want.len() - 10..]);

            let r = http_request(
                "GET",
                &url,
                &[("Range", &format!("bytes={}-", want.len() + 10))],
            );
            assert_eq!(r.status, 416, "{path} ({round}): unsatisfiable range");
        }
    }
}

#[test]
fn etag_and_if_none_match() {
    let rig = Rig::small();
    let gd = rig.godepot(&[]);
    for path in [
        "/example.com/f/@v/v1.0.0.zip",
        "/example.com/f/@v/v1.0.0.mod",
        "/example.com/f/@v/v1.0.0.info",
    ] {
        let url = format!("{}{path}", gd.url());
        // A cold answer may be streamed from upstream before its digest is known, so the ETag
        // is only required once the artifact is held.
        let cold = http_request("GET", &url, &[]);
        assert_eq!(cold.status, 200);
        let first = http_request("GET", &url, &[]);
        assert_eq!(first.status, 200);
        assert_eq!(first.body, cold.body);
        let etag = first
            .header("etag")
            .unwrap_or_else(|| panic!("{path}: no ETag; headers {:?}", first.headers))
            .to_owned();
        let second = http_request("GET", &url, &[]);
        assert_eq!(
            second.header("etag"),
            Some(etag.as_str()),
            "{path}: ETag must be stable"
        );
        let r = http_request("GET", &url, &[("If-None-Match", &etag)]);
        assert_eq!(r.status, 304, "{path}: If-None-Match {etag}");
        assert!(r.body.is_empty());
        let r = http_request("GET", &url, &[("If-None-Match", "\"something-else\"")]);
        assert_eq!(r.status, 200, "{path}: non-matching If-None-Match");
        assert_eq!(r.body, first.body);
    }
}

#[test]
fn cache_control_immutable_vs_short() {
    let rig = Rig::small();
    let gd = rig.godepot(&[]);
    for path in [
        "/example.com/f/@v/v1.0.0.zip",
        "/example.com/f/@v/v1.0.0.mod",
        "/example.com/f/@v/v1.0.0.info",
    ] {
        let cc = cache_control(&get(&gd, path));
        assert!(
            cc.contains("immutable"),
            "{path}: Cache-Control {cc:?} must say immutable"
        );
    }
    for path in ["/example.com/f/@v/list", "/example.com/f/@latest"] {
        let cc = cache_control(&get(&gd, path));
        assert!(
            !cc.contains("immutable"),
            "{path}: Cache-Control {cc:?} must not say immutable"
        );
        let short = cc.contains("no-cache")
            || cc.contains("no-store")
            || max_age(&cc).is_some_and(|a| a <= 300);
        assert!(
            short,
            "{path}: Cache-Control {cc:?} must be short-lived (max-age <= 300 or no-cache)"
        );
    }
}

#[test]
fn json_request_log_has_cache_status() {
    let rig = Rig::small();
    let gd = rig.godepot(&[]);
    let path = "/example.com/f/@v/v1.1.0.mod";
    let body_len = rig.fixture("example.com/f", "v1.1.0", "mod").len() as u64;
    assert_eq!(get(&gd, path).status, 200);
    assert_eq!(get(&gd, path).status, 200);
    let timeout = Duration::from_secs(10);
    let records_for = |p: &str| {
        gd.json_logs()
            .into_iter()
            .filter(|v| field(v, "path").and_then(|x| x.as_str()) == Some(p))
            .collect::<Vec<_>>()
    };
    gd.wait_for_json_log(timeout, |_| records_for(path).len() >= 2);
    let recs = records_for(path);
    assert_eq!(
        recs.len(),
        2,
        "two request records for {path}; logs:\n{}",
        gd.logs().join("\n")
    );
    for r in &recs {
        assert_eq!(
            field(r, "method").and_then(|x| x.as_str()),
            Some("GET"),
            "{r}"
        );
        assert_eq!(
            field(r, "status").and_then(|x| x.as_u64()),
            Some(200),
            "{r}"
        );
        assert_eq!(
            field(r, "bytes").and_then(|x| x.as_u64()),
            Some(body_len),
            "{r}"
        );
    }
    assert_eq!(
        field(&recs[0], "cache").and_then(|x| x.as_str()),
        Some("miss"),
        "{}",
        recs[0]
    );
    assert_eq!(
        field(&recs[1], "cache").and_then(|x| x.as_str()),
        Some("hit"),
        "{}",
        recs[1]
    );

    let _ = get(&gd, "/healthz");
    let allowed = ["hit", "miss", "stale", "offline", "none"];
    gd.wait_for_json_log(timeout, |v| {
        field(v, "path").and_then(|x| x.as_str()) == Some("/healthz")
    });
    for r in gd
        .json_logs()
        .iter()
        .filter(|v| field(v, "path").is_some() && field(v, "status").is_some())
    {
        let cache = field(r, "cache")
            .and_then(|c| c.as_str())
            .unwrap_or("<missing>");
        assert!(
            allowed.contains(&cache),
            "cache field {cache:?} not one of {allowed:?}: {r}"
        );
    }
}
