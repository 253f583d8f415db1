//! Upstream failures: godepot must answer 502/504 (never a 404 that would make clients fall
//! back silently, never a partial or wrong artifact), store nothing for the failed fetch, and
//! succeed on the next request once upstream is healthy again.

mod common;

use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::{Rig, assert_healthy, assert_no_zip_stored, data_dir_holds, get, tail};
use godepot_testkit::Fault;
use godepot_testkit::http::{CompareSink, http_request_to, try_http_request};
use godepot_testkit::universe::{Universe, std_names, zip_bytes};

const ZIP: &str = "/example.com/f/@v/v1.0.0.zip";

/// Runs one fault scenario on the zip of `example.com/f@v1.0.0`: with the fault set, godepot
/// must answer `want_status` and keep no zip; after clearing it, the zip is served and kept.
fn fault_then_recover(
    fault: Fault,
    extra_args: &[&str],
    want_status: u16,
) -> (Rig, godepot_testkit::HttpResponse) {
    let rig = Rig::small();
    let gd = rig.godepot(extra_args);
    rig.upstream
        .set_fault("/example.com/f/@v/v1.0.0.zip", fault.clone());

    // The answer to the faulty fetch. If godepot's own response breaks off (it started a 200
    // before the upstream body was complete and checked), the storage and recovery checks still
    // run first, so one run tells the whole story; the test fails at the end.
    let first = try_http_request("GET", &format!("{}{ZIP}", gd.url()), &[]);
    let mut broke_off = None;
    let r = match first {
        Ok(r) => {
            assert_eq!(
                r.status,
                want_status,
                "{fault:?}: status; body {:?}\nlogs:\n{}",
                r.text(),
                tail(&gd)
            );
            let text = r.text();
            assert!(
                !text.trim().is_empty() && text.trim().lines().count() == 1,
                "{fault:?}: error body must be one line: {text:?}"
            );
            r
        }
        Err(e) => {
            broke_off = Some(format!(
                "{fault:?}: godepot's own response broke off ({e}): it must not start a 200 before \
                 the upstream body is complete and checked; expected a {want_status}\nlogs:\n{}",
                tail(&gd)
            ));
            godepot_testkit::HttpResponse {
                status: 0,
                headers: Vec::new(),
                body: Vec::new(),
            }
        }
    };
    assert!(
        rig.upstream.hits(".zip") >= 1,
        "{fault:?}: godepot never asked upstream for the zip"
    );
    assert_no_zip_stored(&rig.data, &format!("{fault:?}"));
    assert_healthy(&gd, &format!("{fault:?}"));

    rig.upstream.clear_faults();
    let ok = get(&gd, ZIP);
    assert_eq!(
        ok.status,
        200,
        "{fault:?}: after clearing the fault: {}\nlogs:\n{}",
        ok.text(),
        tail(&gd)
    );
    let want = rig.fixture("example.com/f", "v1.0.0", "zip");
    assert!(
        ok.body == want,
        "{fault:?}: served zip differs from the fixture ({} vs {} bytes)",
        ok.body.len(),
        want.len()
    );
    assert!(
        data_dir_holds(&rig.data, &want),
        "{fault:?}: the good zip was not stored"
    );
    if let Some(msg) = broke_off {
        panic!("{msg}\n(after it: nothing was stored, and the next request succeeded)");
    }
    (rig, r)
}

#[test]
fn upstream_500_gives_502_and_nothing_stored() {
    fault_then_recover(Fault::Status(500), &[], 502);
}

#[test]
fn connection_reset_mid_zip_gives_502() {
    fault_then_recover(Fault::ResetAfter(16 * 1024), &[], 502);
}

#[test]
fn truncated_zip_gives_502() {
    fault_then_recover(Fault::Truncate(16 * 1024), &[], 502);
}

/// A large zip is relayed while it is fetched, so a fault past the first MiB can no longer be
/// a 502: the client must then see its download break off, never a complete 200, and nothing
/// may be stored.
#[test]
fn a_streamed_zip_that_breaks_off_upstream_breaks_off_for_the_client() {
    const BIG: &str = "/example.com/big/@v/v1.0.0.zip";
    for fault in [Fault::ResetAfter(3 << 20), Fault::Truncate(3 << 20)] {
        let rig = Rig::small();
        let gd = rig.godepot(&[]);
        rig.upstream.set_fault(BIG, fault.clone());
        let want = rig.fixture("example.com/big", "v1.0.0", "zip");
        match try_http_request("GET", &format!("{}{BIG}", gd.url()), &[]) {
            Err(_) => {}
            Ok(r) => assert!(
                r.status == 502 || (r.status == 200 && r.body.len() < want.len()),
                "{fault:?}: a failed fetch must not look like a complete download: status {} with {} of {} bytes",
                r.status,
                r.body.len(),
                want.len()
            ),
        }
        assert_no_zip_stored(&rig.data, &format!("{fault:?}"));
        assert_healthy(&gd, &format!("{fault:?}"));
        rig.upstream.clear_faults();
        let ok = get(&gd, BIG);
        assert_eq!(
            ok.status,
            200,
            "{fault:?}: after clearing the fault: {}",
            ok.text()
        );
        assert!(
            ok.body == want,
            "{fault:?}: served zip differs from the fixture"
        );
    }
}

#[test]
fn zip_with_wrong_entry_prefixes_gives_502_naming_the_reason() {
    let bad = zip_bytes(&[
        (
            "example.com/wrong@v1.0.0/go.mod",
            b"module example.com/wrong\n",
        ),
        ("example.com/wrong@v1.0.0/f.go", b"package f\n"),
    ]);
    let (_rig, r) = fault_then_recover(Fault::ReplaceBody(bad), &[], 502);
    let text = r.text().to_ascii_lowercase();
    assert!(
        text.contains("prefix") || text.contains("example.com/wrong"),
        "the 502 body must say what is wrong with the zip (its entry prefix): {:?}",
        r.text()
    );
}

#[test]
fn slow_upstream_past_timeout_gives_504() {
    // Every request for the module is slow, whichever artifact godepot fetches first.
    let rig = Rig::small();
    let gd = rig.godepot(&["--upstream-timeout", "1s"]);
    rig.upstream
        .set_fault("/example.com/f/", Fault::Delay(Duration::from_secs(4)));
    let r = get(&gd, ZIP);
    assert_eq!(
        r.status,
        504,
        "slow upstream: body {:?}\nlogs:\n{}",
        r.text(),
        tail(&gd)
    );
    assert_no_zip_stored(&rig.data, "slow upstream");
    assert_healthy(&gd, "slow upstream");
    rig.upstream.clear_faults();
    let ok = get(&gd, ZIP);
    assert_eq!(ok.status, 200, "after the delay is cleared: {}", ok.text());
    assert!(ok.body == rig.fixture("example.com/f", "v1.0.0", "zip"));
}

#[test]
fn list_failure_is_not_a_404() {
    // A 404 would make `GOPROXY=godepot,next` clients silently fall through.
    let rig = Rig::small();
    let gd = rig.godepot(&[]);
    rig.upstream.set_fault("/@v/list", Fault::Status(500));
    let r = get(&gd, "/example.com/f/@v/list");
    assert_eq!(
        r.status,
        502,
        "cold list with a failing upstream: {:?}",
        r.text()
    );
    rig.upstream.stop();
    let r = get(&gd, "/example.com/f/@v/v1.1.0.info");
    assert_eq!(
        r.status,
        502,
        "cold .info with upstream refusing connections: {:?}",
        r.text()
    );
    assert_healthy(&gd, "upstream down");
    rig.upstream.restart();
    rig.upstream.clear_faults();
    assert_eq!(
        get(&gd, "/example.com/f/@v/list").text(),
        "v1.0.0\nv1.1.0\n"
    );
}

#[test]
fn hundred_concurrent_cold_requests_fetch_the_big_zip_once() {
    let rig = Rig::standard();
    let gd = rig.godepot(&[]);
    let path = Universe::url_path(std_names::BIG, std_names::BIG_VERSION, "zip");
    let want = Arc::new(rig.fixture(std_names::BIG, std_names::BIG_VERSION, "zip"));
    // Hold the upstream answer back a little so the 100 requests overlap the one fetch.
    rig.upstream
        .set_fault(&path, Fault::Delay(Duration::from_millis(500)));

    let url = format!("{}{path}", gd.url());
    let barrier = Arc::new(Barrier::new(100));
    let handles: Vec<_> = (0..100)
        .map(|i| {
            let (url, want, barrier) = (url.clone(), want.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let mut sink = CompareSink::new(&want);
                let head = http_request_to("GET", &url, &[], &mut sink)
                    .unwrap_or_else(|e| panic!("client {i}: {e}"));
                (
                    head.status,
                    sink.matched(),
                    sink.written(),
                    sink.first_mismatch,
                )
            })
        })
        .collect();
    let results: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().expect("client thread"))
        .collect();
    for (i, (status, matched, written, mismatch)) in results.iter().enumerate() {
        assert_eq!(*status, 200, "client {i}\nlogs:\n{}", tail(&gd));
        assert!(
            matched,
            "client {i}: body differs from the fixture ({written} bytes, first mismatch at {mismatch:?})"
        );
    }
    assert_eq!(
        rig.upstream.hits(&path),
        1,
        "100 concurrent cold requests must cause exactly one upstream fetch of the zip; upstream saw {:?}",
        rig.upstream.all_hits()
    );
}
