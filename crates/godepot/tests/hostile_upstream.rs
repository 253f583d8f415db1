//! Upstreams that answer 200 with the wrong thing, drip their bodies, or need credentials:
//! godepot refuses what it must not keep (502/504 naming the upstream, nothing stored, the
//! next request after the upstream is fixed succeeds), and never shows a credential.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Rig, assert_healthy, assert_no_zip_stored, get, godepot_command, tail};
use godepot_testkit::http::basic_auth;
use godepot_testkit::universe::zip_bytes;
use godepot_testkit::{Fault, GodepotProcess, fsutil};

const MOD: &str = "/example.com/f/@v/v1.1.0.mod";
const ZIP: &str = "/example.com/f/@v/v1.0.0.zip";

/// Files under the data dir whose name ends with `suffix` (scratch files included).
fn stored_ending(data: &Path, suffix: &str) -> Vec<String> {
    fsutil::tree(data)
        .into_keys()
        .filter(|rel| rel.ends_with(suffix))
        .collect()
}

/// With `fault` on `path`, godepot answers `want` with a one-line body naming the upstream,
/// keeps nothing; once the fault is cleared, it serves the fixture. Returns the error body.
fn refused_then_served(
    rig: &Rig,
    gd: &GodepotProcess,
    path: &str,
    fault: Fault,
    want: u16,
) -> String {
    rig.upstream.set_fault(path, fault.clone());
    let r = get(gd, path);
    let body = r.text();
    assert_eq!(
        r.status,
        want,
        "{fault:?}: body {body:?}\nlogs:\n{}",
        gd.logs().join("\n")
    );
    assert_eq!(body.trim().lines().count(), 1, "one-line body: {body:?}");
    assert!(
        body.contains(&rig.upstream.url()),
        "the error must name the upstream: {body:?}"
    );
    let ext = path.rsplit('.').next().unwrap();
    let name = path.rsplit('/').next().unwrap();
    assert!(
        stored_ending(&rig.data, name).is_empty(),
        "{fault:?}: nothing may be kept for {path}: {:?}",
        fsutil::tree(&rig.data)
    );
    if ext == "zip" {
        assert_no_zip_stored(&rig.data, &format!("{fault:?}"));
    }
    assert_healthy(gd, &format!("{fault:?}"));
    rig.upstream.clear_faults();
    let ok = get(gd, path);
    assert_eq!(ok.status, 200, "after the fault is cleared: {}", ok.text());
    let version = name.rsplit_once('.').unwrap().0;
    assert!(ok.body == rig.fixture("example.com/f", version, ext));
    body
}

#[test]
fn a_login_page_served_as_a_mod_is_refused() {
    let rig = Rig::small();
    let gd = rig.godepot(&[]);
    let page = b"<!DOCTYPE html>\n<html><body><form>Sign in</form></body></html>\n".to_vec();
    let body = refused_then_served(&rig, &gd, MOD, Fault::ReplaceBody(page), 502);
    assert!(body.contains("go.mod"), "the reason: {body:?}");
}

#[test]
fn a_mod_naming_another_module_is_refused() {
    let rig = Rig::small();
    let gd = rig.godepot(&[]);
    let other = b"module example.com/other\n\ngo 1.21\n".to_vec();
    let body = refused_then_served(&rig, &gd, MOD, Fault::ReplaceBody(other), 502);
    assert!(
        body.contains(
            "module declares its path as: example.com/other but was required as: example.com/f"
        ),
        "the reason, in the go command's words: {body:?}"
    );
}

#[test]
fn a_zip_whose_go_mod_names_another_module_is_refused() {
    let rig = Rig::small();
    let gd = rig.godepot(&[]);
    let zip = zip_bytes(&[
        ("example.com/f@v1.0.0/go.mod", b"module example.com/other\n"),
        ("example.com/f@v1.0.0/f.go", b"package f\n"),
    ]);
    let body = refused_then_served(&rig, &gd, ZIP, Fault::ReplaceBody(zip), 502);
    assert!(body.contains("example.com/other"), "the reason: {body:?}");
}

/// One byte every 200 ms is far below 4 KiB a second: cut off within a few seconds, a 504
/// for the client and for everyone waiting on the same fetch, nothing kept.
#[test]
fn a_dripping_upstream_is_cut_off_with_504() {
    let rig = Rig::small();
    let gd = rig.godepot(&["--upstream-timeout", "1s"]);
    let drip = Fault::Drip(Duration::from_millis(200));
    rig.upstream.set_fault(ZIP, drip.clone());
    let started = Instant::now();
    let url = format!("{}{ZIP}", gd.url());
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || godepot_testkit::http_get(&url))
        })
        .collect();
    for waiter in waiters {
        let r = waiter.join().expect("client");
        assert_eq!(
            r.status,
            504,
            "waiting client: {:?}\nlogs:\n{}",
            r.text(),
            tail(&gd)
        );
        assert!(r.text().contains(&rig.upstream.url()), "{:?}", r.text());
    }
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the drip must be cut off within a few seconds, took {:?}",
        started.elapsed()
    );
    assert_eq!(rig.upstream.hits(ZIP), 1, "one fetch for all waiters");
    assert_no_zip_stored(&rig.data, "dripping upstream");
    // The small-file path is guarded the same way.
    refused_then_served(&rig, &gd, MOD, drip, 504);
}

const USER: &str = "depot-user";
const SECRET: &str = "s3cret-Pa55";

/// Everything a client, an operator or a script can see must not show the password.
fn assert_no_secret(what: &str, text: &str) {
    assert!(
        !text.contains(SECRET),
        "{what} shows the upstream password: {text}"
    );
}

#[test]
fn upstream_credentials_are_sent_but_never_shown() {
    let rig = Rig::small();
    let with_creds = rig
        .upstream
        .url()
        .replacen("http://", &format!("http://{USER}:{SECRET}@"), 1);
    let data = rig.data.to_str().unwrap();
    let gd = GodepotProcess::start(
        common::bin(),
        &[
            "--data-dir",
            data,
            "--upstream",
            &with_creds,
            "--log-format",
            "json",
        ],
    );
    let ok = get(&gd, MOD);
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(
        rig.upstream.authorization(".mod").as_deref(),
        Some(basic_auth(USER, SECRET).as_str()),
        "the URL's credentials reach the upstream as Basic auth"
    );
    rig.upstream
        .set_fault("/example.com/f/@v/v1.0.0.info", Fault::Status(500));
    let failed = get(&gd, "/example.com/f/@v/v1.0.0.info");
    assert_eq!(failed.status, 502, "{}", failed.text());
    assert!(
        failed.text().contains("***@127.0.0.1"),
        "names the upstream: {}",
        failed.text()
    );
    assert_no_secret("a 502 body", &failed.text());
    let ready = get(&gd, "/readyz");
    assert_no_secret("/readyz", &ready.text());
    assert!(
        ready.text().contains("***@"),
        "/readyz names the upstream: {}",
        ready.text()
    );
    assert_no_secret("the server's log", &gd.logs().join("\n"));

    // prefetch --json, with a failure whose message names the upstream.
    let project = rig.tmp.path().join("p");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("go.mod"),
        "module example.com/p\n\ngo 1.21\n\nrequire example.com/f v1.0.0\n",
    )
    .unwrap();
    rig.upstream
        .set_fault("/example.com/f/@v/v1.0.0.mod", Fault::Status(500));
    let out = godepot_command(&["prefetch", "--upstream", &with_creds, "--json"])
        .arg("--data-dir")
        .arg(rig.tmp.path().join("prefetched"))
        .arg(project.join("go.mod"))
        .output()
        .expect("run prefetch");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        stdout.contains("***@127.0.0.1") || stderr.contains("***@127.0.0.1"),
        "prefetch reports the failing upstream:\n{stdout}\n{stderr}"
    );
    assert_no_secret("prefetch --json output", &stdout);
    assert_no_secret("prefetch's stderr", &stderr);
}

#[test]
fn netrc_gives_credentials_and_the_url_takes_precedence() {
    let rig = Rig::small();
    let netrc = rig.tmp.path().join("netrc");
    std::fs::write(
        &netrc,
        format!("machine elsewhere.example login x password y\nmachine 127.0.0.1 login {USER} password {SECRET}\n"),
    )
    .unwrap();
    let data = rig.data.to_str().unwrap();
    let args = [
        "--data-dir",
        data,
        "--upstream",
        &rig.upstream.url(),
        "--log-format",
        "json",
    ];
    let env = [("NETRC", netrc.to_str().unwrap())];
    let gd = GodepotProcess::start_with_env(common::bin(), &args, &env);
    assert_eq!(get(&gd, MOD).status, 200);
    assert_eq!(
        rig.upstream.authorization(MOD).as_deref(),
        Some(basic_auth(USER, SECRET).as_str()),
        ".netrc's entry for the upstream host is sent"
    );
    drop(gd);

    let url = rig
        .upstream
        .url()
        .replacen("http://", "http://other:pw@", 1);
    let args = [
        "--data-dir",
        data,
        "--upstream",
        &url,
        "--log-format",
        "json",
    ];
    let gd = GodepotProcess::start_with_env(common::bin(), &args, &env);
    let path = "/example.com/f/@v/v1.0.0.mod";
    assert_eq!(get(&gd, path).status, 200);
    assert_eq!(
        rig.upstream.authorization(path).as_deref(),
        Some(basic_auth("other", "pw").as_str()),
        "the URL's own credentials win over .netrc"
    );
    assert_no_secret("the server's log", &gd.logs().join("\n"));
}

#[test]
fn an_upstream_that_wants_credentials_says_how_to_give_them() {
    let rig = Rig::small();
    let gd = rig.godepot(&[]);
    rig.upstream.set_fault(MOD, Fault::Status(401));
    let r = get(&gd, MOD);
    assert_eq!(r.status, 502, "{}", r.text());
    assert!(
        r.text().contains(&rig.upstream.url()) && r.text().contains(".netrc"),
        "names the upstream and how to give credentials: {}",
        r.text()
    );
}
