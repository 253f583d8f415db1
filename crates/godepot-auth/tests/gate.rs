//! One request's way through `authenticate`: anonymous, wrong, expired, revoked,
//! wrong-scope and good tokens, and the limiter.

use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use godepot_auth::{
    AuditEvent, FailureLimiter, LoginRefusal, Scope, TokenStore, authenticate, parse_duration,
};

const HOUR: Duration = Duration::from_secs(3600);

fn basic(user: &str, password: &str) -> Vec<u8> {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}"))).into_bytes()
}

#[test]
fn every_kind_of_request() {
    let dir = tempfile::tempdir().unwrap();
    let store = TokenStore::new(std::sync::Arc::new(
        godepot_store::LocalStore::open(dir.path()).unwrap(),
    ));
    let now = SystemTime::now();
    let (_, read) = store.add("dev", Scope::Read, None, now).unwrap();
    let (_, admin) = store.add("ops", Scope::Admin, None, now).unwrap();
    let (_, short) = store
        .add("short", Scope::Read, Some(now + HOUR), now)
        .unwrap();
    let (_, revoked) = store.add("gone", Scope::Read, None, now).unwrap();
    store.revoke("gone").unwrap();
    let tokens = store.load().unwrap();
    let limiter = FailureLimiter::new(100, HOUR, 100);
    let client = IpAddr::from([127, 0, 0, 1]);
    let clock = Instant::now();
    let later = now + 2 * HOUR;

    let bearer = |s: &str| format!("Bearer {s}").into_bytes();
    type Row<'a> = (Option<Vec<u8>>, Scope, Result<&'a str, (LoginRefusal, u16)>);
    let rows: Vec<Row> = vec![
        (None, Scope::Read, Err((LoginRefusal::Missing, 401))),
        (
            Some(b"Digest x".to_vec()),
            Scope::Read,
            Err((LoginRefusal::Missing, 401)),
        ),
        (
            Some(basic("dev", "gdp_wrong")),
            Scope::Read,
            Err((LoginRefusal::Unknown, 401)),
        ),
        (
            Some(basic("dev", revoked.expose())),
            Scope::Read,
            Err((LoginRefusal::Unknown, 401)),
        ),
        (
            Some(basic("dev", short.expose())),
            Scope::Read,
            Err((LoginRefusal::Expired, 401)),
        ),
        (
            Some(basic("dev", read.expose())),
            Scope::Admin,
            Err((LoginRefusal::WrongScope, 403)),
        ),
        (Some(basic("anyone", read.expose())), Scope::Read, Ok("dev")),
        (Some(bearer(read.expose())), Scope::Read, Ok("dev")),
        (Some(basic("", admin.expose())), Scope::Admin, Ok("ops")),
        (Some(bearer(admin.expose())), Scope::Read, Ok("ops")),
    ];
    for (header, scope, expect) in rows {
        let got = authenticate(
            &tokens,
            &limiter,
            header.as_deref(),
            client,
            scope,
            later,
            clock,
        );
        let got = got.map(|t| t.name).map_err(|d| (d.cause, d.status()));
        assert_eq!(
            got,
            expect.map(str::to_owned),
            "{:?}",
            header.map(String::from_utf8)
        );
    }
}

#[test]
fn guessing_is_slowed_down_and_audited_without_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let store = TokenStore::new(std::sync::Arc::new(
        godepot_store::LocalStore::open(dir.path()).unwrap(),
    ));
    let now = SystemTime::now();
    let (_, good) = store.add("dev", Scope::Read, None, now).unwrap();
    let tokens = store.load().unwrap();
    let limiter = FailureLimiter::new(3, HOUR, 100);
    let client = IpAddr::from([192, 0, 2, 1]);
    let clock = Instant::now();
    let attempt = |header: &[u8]| {
        authenticate(
            &tokens,
            &limiter,
            Some(header),
            client,
            Scope::Read,
            now,
            clock,
        )
    };
    for i in 0..3 {
        let denied = attempt(&basic("mallory", &format!("gdp_guess{i}"))).unwrap_err();
        assert_eq!(denied.cause, LoginRefusal::Unknown);
        let event = serde_json::to_string(&denied.audit_event(Some(client))).unwrap();
        assert!(
            event.contains("mallory") && !event.contains("guess"),
            "{event}"
        );
    }
    // Now even the right token waits: the limiter is checked first.
    let denied = attempt(&basic("dev", good.expose())).unwrap_err();
    assert_eq!(
        (denied.cause, denied.status()),
        (LoginRefusal::RateLimited, 429)
    );
    assert_eq!(denied.slow_down.unwrap().retry_after, HOUR);
    assert!(matches!(
        denied.audit_event(None),
        AuditEvent::LoginRefused {
            cause: LoginRefusal::RateLimited,
            ..
        }
    ));
}

#[test]
fn durations() {
    let d = |s| parse_duration(s).map(|d| d.as_secs());
    assert_eq!(d("90d"), Ok(90 * 86_400));
    assert_eq!(d("12h"), Ok(12 * 3600));
    assert_eq!(d("1w2d"), Ok(9 * 86_400));
    assert_eq!(d("30m"), Ok(1800));
    assert_eq!(d("45s"), Ok(45));
    for bad in [
        "",
        "0d",
        "12",
        "d",
        "1y",
        "1.5d",
        "-1d",
        "99999999999999999999w",
    ] {
        assert!(parse_duration(bad).is_err(), "{bad:?}");
    }
}
