//! `serve --require-auth` and `godepot token`, end to end, with the go command as the oracle:
//! a token is accepted as Basic or Bearer; anonymous, wrong, expired, revoked and wrong-scope requests
//! are refused; the probes need nothing; no token is kept in clear; the audit log holds the
//! refusals and never a secret.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Rig, godepot_cli};
use godepot_testkit::http::{basic_auth, http_request};
use godepot_testkit::{GoEnv, GodepotProcess, fsutil};

/// `godepot token <args> --data-dir <data>`; the token is the last line of stdout.
fn token(data: &Path, args: &[&str]) -> String {
    let mut all = vec!["token"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--data-dir", data.to_str().unwrap()]);
    let out = godepot_cli(&all);
    assert!(
        out.status.success(),
        "godepot token {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    stdout.lines().last().unwrap_or("").to_string()
}

fn serve(rig: &Rig, audit: &Path) -> GodepotProcess {
    rig.godepot(&["--require-auth", "--audit-log", audit.to_str().unwrap()])
}

fn status(gd: &GodepotProcess, path: &str, auth: Option<&str>) -> u16 {
    let headers: Vec<(&str, &str)> = auth.map(|a| ("Authorization", a)).into_iter().collect();
    http_request("GET", &format!("{}{path}", gd.url()), &headers).status
}

#[test]
fn tokens_are_required_picked_up_live_and_refusals_are_audited() {
    let rig = Rig::small();
    let read = token(&rig.data, &["add", "dev"]);
    assert!(read.starts_with("gdp_"), "{read}");
    let audit = rig.tmp.path().join("audit.log");
    let gd = serve(&rig, &audit);

    // The go command without credentials: 401 with the challenge it answers (from .netrc or
    // GOAUTH, over HTTPS only: see tls.rs).
    let work = rig.tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let mut anonymous = GoEnv::new(&gd.url());
    anonymous.set_env("NETRC", "/dev/null");
    let out = anonymous.run(&work, ["mod", "download", "example.com/f@v1.1.0"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("401 Unauthorized"));
    let r = http_request("GET", &format!("{}/example.com/f/@v/list", gd.url()), &[]);
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Basic realm=\"godepot\"")
    );
    assert_eq!(
        status(
            &gd,
            "/example.com/f/@v/list",
            Some(&basic_auth("dev", &read))
        ),
        200
    );

    // Bearer works too; a wrong token does not; probes need none.
    assert_eq!(
        status(
            &gd,
            "/example.com/f/@v/list",
            Some(&format!("Bearer {read}"))
        ),
        200
    );
    let wrong = basic_auth("dev", "gdp_not-a-token");
    assert_eq!(status(&gd, "/example.com/f/@v/list", Some(&wrong)), 401);
    assert_eq!(status(&gd, "/healthz", None), 200);
    assert_eq!(status(&gd, "/readyz", None), 200);

    // Revoked: refused within a second or so, without a restart.
    let basic = basic_auth("dev", &read);
    token(&rig.data, &["revoke", "dev"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while status(&gd, "/example.com/f/@v/list", Some(&basic)) != 401 {
        assert!(
            std::time::Instant::now() < deadline,
            "revoked token still accepted"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Added while running: accepted.
    let later = token(&rig.data, &["add", "later"]);
    let later_basic = basic_auth("x", &later);
    while status(&gd, "/example.com/f/@v/list", Some(&later_basic)) != 200 {
        assert!(
            std::time::Instant::now() < deadline,
            "new token not picked up"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // No token in clear anywhere under the data directory, nor in the audit log.
    for (rel, _) in fsutil::tree(&rig.data) {
        let bytes = std::fs::read(rig.data.join(&rel)).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(&read) && !text.contains(&later),
            "{rel} holds a token"
        );
    }
    let log = std::fs::read_to_string(&audit).expect("audit log");
    assert!(
        !log.contains(&read) && !log.contains(&later) && !log.contains("gdp_not-a-token"),
        "{log}"
    );
    let refusals: Vec<_> = log
        .lines()
        .filter(|l| l.contains("\"event\":\"login_refused\""))
        .collect();
    assert!(
        refusals.iter().any(|l| l.contains("\"cause\":\"missing\"")),
        "{log}"
    );
    assert!(
        refusals.iter().any(|l| l.contains("\"cause\":\"unknown\"")),
        "{log}"
    );
    assert!(log.contains("127.0.0.1"), "{log}");
}

#[test]
fn an_expired_token_is_refused_and_tokens_are_listed_without_secrets() {
    let rig = Rig::small();
    let secret = token(&rig.data, &["add", "brief", "--expires", "1s"]);
    let admin = token(&rig.data, &["add", "ops", "--scope", "admin"]);
    let out = godepot_cli(&["token", "list", "--data-dir", rig.data.to_str().unwrap()]);
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(
        list.contains("brief\tread") && list.contains("ops\tadmin"),
        "{list}"
    );
    assert!(!list.contains(&secret) && !list.contains(&admin), "{list}");
    std::thread::sleep(Duration::from_millis(1500));
    let audit = rig.tmp.path().join("audit.log");
    let gd = serve(&rig, &audit);
    let expired = basic_auth("x", &secret);
    assert_eq!(status(&gd, "/example.com/f/@v/list", Some(&expired)), 401);
    assert_eq!(
        status(
            &gd,
            "/example.com/f/@v/list",
            Some(&basic_auth("x", &admin))
        ),
        200
    );
    let log = std::fs::read_to_string(&audit).expect("audit log");
    assert!(
        log.contains("\"cause\":\"expired\"") && log.contains("\"token_name\":\"brief\""),
        "{log}"
    );
}

#[test]
fn repeated_failures_from_one_address_are_slowed_down() {
    let rig = Rig::small();
    token(&rig.data, &["add", "dev"]);
    let audit = rig.tmp.path().join("audit.log");
    let gd = serve(&rig, &audit);
    let wrong = basic_auth("x", "gdp_guess");
    let statuses: Vec<u16> = (0..15)
        .map(|_| status(&gd, "/example.com/f/@v/list", Some(&wrong)))
        .collect();
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    assert!(statuses.iter().take(5).all(|s| *s == 401), "{statuses:?}");
}

#[test]
fn admin_endpoints_need_an_admin_token_and_removal_is_never_silent() {
    let rig = Rig::small();
    let read = basic_auth("x", &token(&rig.data, &["add", "dev"]));
    let admin = basic_auth("x", &token(&rig.data, &["add", "ops", "--scope", "admin"]));
    let audit = rig.tmp.path().join("audit.log");
    let gd = serve(&rig, &audit);
    let call = |method: &str, path: &str, auth: &str| {
        http_request(
            method,
            &format!("{}{path}", gd.url()),
            &[("Authorization", auth)],
        )
    };

    assert_eq!(
        call("GET", "/admin/policy", &read).status,
        403,
        "a read token"
    );
    let policy = call("GET", "/admin/policy", &admin);
    assert_eq!(policy.status, 200);
    assert!(
        policy.text().contains("default = \"allow\""),
        "{}",
        policy.text()
    );

    let refreshed = call("POST", "/admin/refresh/example.com/f", &admin);
    assert_eq!(refreshed.status, 200, "{}", refreshed.text());
    assert!(refreshed.text().contains("v1.0.0"), "{}", refreshed.text());

    assert_eq!(
        status(&gd, "/example.com/f/@v/v1.0.0.info", Some(&read)),
        200
    );
    let held = rig.data.join("example.com/f/@v/v1.0.0.info");
    assert!(held.is_file());
    let removed = call("POST", "/admin/remove/example.com/f@v1.0.0", &admin);
    assert_eq!(removed.status, 200, "{}", removed.text());
    assert!(
        removed.text().contains("a version this server served"),
        "{}",
        removed.text()
    );
    assert!(!held.exists(), "moved to the quarantine");
    assert!(
        gd.wait_for_log(Duration::from_secs(10), "removed a served version")
            .is_some(),
        "{}",
        gd.logs().join("\n")
    );
    let log = std::fs::read_to_string(&audit).expect("audit log");
    let actions: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("\"event\":\"admin_action\""))
        .collect();
    assert!(
        actions
            .iter()
            .any(|l| l.contains("\"action\":\"remove\"") && l.contains("\"by\":\"ops\"")),
        "{log}"
    );
    assert_eq!(
        call("POST", "/admin/remove/example.com/f@v1.0.0", &admin).status,
        404
    );
}

#[test]
fn admin_endpoints_do_not_exist_without_require_auth() {
    let rig = Rig::small();
    let gd = rig.godepot(&[]);
    let r = http_request("GET", &format!("{}/admin/policy", gd.url()), &[]);
    assert_eq!(r.status, 403, "{}", r.text());
}
