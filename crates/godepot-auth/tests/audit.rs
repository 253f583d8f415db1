//! The audit log: whole lines under concurrency, rotation, and no secret field.

use std::collections::HashSet;
use std::net::IpAddr;

use godepot_auth::{AuditEvent, AuditLog, LoginRefusal, Scope};
use serde_json::Value;

fn blocked(reason: String) -> AuditEvent {
    AuditEvent::RequestBlocked {
        module: "example.com/evil/x".into(),
        version: "v1.0.0".into(),
        rule: "deny rule 1, line 2".into(),
        reason: Some(reason),
        client: Some(IpAddr::from([127, 0, 0, 1])),
        token_name: Some("ci".into()),
    }
}

fn lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not one JSON object: {e}: {l:.80}"))
        })
        .collect()
}

#[test]
fn concurrent_appends_never_interleave() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    // Two handles on one file stand for two processes; four threads write through each.
    let logs = [
        AuditLog::open(&path).unwrap(),
        AuditLog::open(&path).unwrap(),
    ];
    let (threads, per_thread) = (8, 200);
    std::thread::scope(|s| {
        for t in 0..threads {
            let log = &logs[t % 2];
            s.spawn(move || {
                for i in 0..per_thread {
                    // Long lines make a torn write likely if appends were not atomic.
                    let reason = format!("{t}:{i}:{}", "x".repeat(3000));
                    log.append(&blocked(reason)).unwrap();
                }
            });
        }
    });
    let seen: HashSet<String> = lines(&path)
        .iter()
        .map(|l| {
            let reason = l["reason"].as_str().unwrap();
            assert_eq!(reason.len() - reason.find(":x").unwrap(), 3001);
            reason.split(":x").next().unwrap().to_owned()
        })
        .collect();
    assert_eq!(seen.len(), threads * per_thread);
}

#[test]
fn a_line_is_the_time_then_the_event() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let log = AuditLog::open(&path).unwrap();
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_123);
    log.append_at(&blocked("known malware".into()), time)
        .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text,
        "{\"time_ms\":1700000000123,\"event\":\"request_blocked\",\"module\":\"example.com/evil/x\",\
         \"version\":\"v1.0.0\",\"rule\":\"deny rule 1, line 2\",\"reason\":\"known malware\",\
         \"client\":\"127.0.0.1\",\"token_name\":\"ci\"}\n"
    );
}

#[test]
fn reopen_follows_a_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let log = AuditLog::open(&path).unwrap();
    log.append(&blocked("before".into())).unwrap();
    std::fs::rename(&path, dir.path().join("audit.log.1")).unwrap();
    log.append(&blocked("still old".into())).unwrap();
    log.reopen().unwrap();
    log.append(&blocked("after".into())).unwrap();
    let reasons = |p: &std::path::Path| -> Vec<String> {
        lines(p)
            .iter()
            .map(|l| l["reason"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        reasons(&dir.path().join("audit.log.1")),
        ["before", "still old"]
    );
    assert_eq!(reasons(&path), ["after"]);
    // A reopen that fails keeps the old file.
    std::fs::remove_dir_all(dir.path()).unwrap();
    assert!(log.reopen().is_err());
    log.append(&blocked("kept".into())).unwrap();
}

#[test]
fn no_event_has_a_secret_field_and_token_like_user_names_are_redacted() {
    let client = Some(IpAddr::from([192, 0, 2, 1]));
    let events = [
        blocked("r".into()),
        AuditEvent::LoginRefused {
            client,
            user: Some("gdp_AAAAsecretBBBB".into()),
            token_name: None,
            cause: LoginRefusal::Unknown,
        },
        AuditEvent::TokenCreated {
            name: "ci".into(),
            scope: Scope::Read,
            expires: Some(1),
            by: "cli".into(),
        },
        AuditEvent::TokenRevoked {
            name: "ci".into(),
            by: "admin-token".into(),
        },
        AuditEvent::AdminAction {
            action: "remove".into(),
            target: "example.com/x@v1.0.0".into(),
            by: "admin-token".into(),
            client,
            outcome: "quarantined".into(),
        },
        AuditEvent::PolicyReloaded {
            file: "policy.toml".into(),
            error: None,
            rules: 3,
        },
    ];
    let allowed: HashSet<&str> = [
        "time_ms",
        "event",
        "module",
        "version",
        "rule",
        "reason",
        "client",
        "token_name",
        "user",
        "cause",
        "name",
        "scope",
        "expires",
        "by",
        "action",
        "target",
        "outcome",
        "file",
        "error",
        "rules",
    ]
    .into();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let log = AuditLog::open(&path).unwrap();
    for e in &events {
        log.append(e).unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("secret"), "{text}");
    assert!(text.contains("\"user\":\"<redacted>\""), "{text}");
    for line in lines(&path) {
        for key in line.as_object().unwrap().keys() {
            assert!(
                allowed.contains(key.as_str()),
                "unexpected field {key:?}: review it, then allow it"
            );
        }
    }
}
