//! The token store: hashes only, verification, expiry, revocation, concurrent writers.

use std::time::{Duration, SystemTime};

use std::path::{Path, PathBuf};
use std::sync::Arc;

use godepot_auth::{Scope, Secret, TokenError, TokenStore};
use godepot_store::LocalStore;

fn store() -> (tempfile::TempDir, TokenStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    (dir, store)
}

/// The token file of the data directory `dir`, through a store of its own (as another
/// process's would be).
fn open(dir: &Path) -> TokenStore {
    TokenStore::new(Arc::new(LocalStore::open(dir).unwrap()))
}

fn file(dir: &Path) -> PathBuf {
    dir.join(".godepot/tokens.json")
}

const HOUR: Duration = Duration::from_secs(3600);

#[test]
fn add_then_verify_and_list_without_the_secret() {
    let (dir, store) = store();
    let now = SystemTime::now();
    let (info, secret) = store.add("ci", Scope::Read, None, now).unwrap();
    assert_eq!(info.name, "ci");
    let tokens = store.load().unwrap();
    let found = tokens.verify(&secret, now).expect("the new token verifies");
    assert_eq!((found.name.as_str(), found.scope), ("ci", Scope::Read));
    assert_eq!(tokens.verify(&Secret::new("gdp_wrong"), now), None);
    assert_eq!(tokens.verify(&Secret::new(""), now), None);

    let listed = store.list().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].last_used, None);

    // Nothing under the data directory holds the token in clear.
    for entry in walk(dir.path()) {
        let bytes = std::fs::read(&entry).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(secret.expose()),
            "{} holds the token",
            entry.display()
        );
        assert!(
            !text.contains(&secret.expose()[4..]),
            "{} holds the token",
            entry.display()
        );
    }
    let text = std::fs::read_to_string(file(dir.path())).unwrap();
    assert!(text.contains("\"sha256\""), "{text}");
}

#[cfg(unix)]
#[test]
fn the_token_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, store) = store();
    store
        .add("ci", Scope::Read, None, SystemTime::now())
        .unwrap();
    let mode = std::fs::metadata(file(dir.path()))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn expired_and_revoked_tokens_are_refused() {
    let (_dir, store) = store();
    let now = SystemTime::now();
    let (_, short) = store
        .add("short", Scope::Read, Some(now + HOUR), now)
        .unwrap();
    let (_, gone) = store.add("gone", Scope::Admin, None, now).unwrap();
    let tokens = store.load().unwrap();
    assert!(tokens.verify(&short, now + HOUR / 2).is_some());
    assert!(
        tokens.verify(&short, now + HOUR).is_none(),
        "expired at its expiry"
    );
    assert!(tokens.verify(&gone, now).is_some());

    assert!(
        store.reload_if_changed(&tokens).unwrap().is_none(),
        "unchanged"
    );
    let revoked = store.revoke("gone").unwrap();
    assert_eq!(revoked.scope, Scope::Admin);
    let tokens = store.reload_if_changed(&tokens).unwrap().expect("changed");
    assert!(tokens.verify(&gone, now).is_none());
    assert!(matches!(store.revoke("gone"), Err(TokenError::NotFound(_))));
}

#[test]
fn names_scopes_and_expiry_are_checked() {
    let (_dir, store) = store();
    let now = SystemTime::now();
    store.add("ci-1.main_x", Scope::Read, None, now).unwrap();
    assert!(matches!(
        store.add("ci-1.main_x", Scope::Read, None, now),
        Err(TokenError::Exists(_))
    ));
    for bad in ["", "-x", "a b", "a/b", &"x".repeat(65), "ü"] {
        assert!(
            matches!(
                store.add(bad, Scope::Read, None, now),
                Err(TokenError::BadName(_))
            ),
            "{bad:?}"
        );
    }
    assert!(matches!(
        store.add("old", Scope::Read, Some(now), now),
        Err(TokenError::ExpiresInPast)
    ));
    assert_eq!("admin".parse::<Scope>().unwrap(), Scope::Admin);
    assert!("root".parse::<Scope>().is_err());
    assert!(Scope::Admin.allows(Scope::Read) && Scope::Read.allows(Scope::Read));
    assert!(!Scope::Read.allows(Scope::Admin));
}

#[test]
fn last_use_is_recorded_when_written_back() {
    let (_dir, store) = store();
    let now = SystemTime::now();
    let (_, secret) = store.add("ci", Scope::Read, None, now).unwrap();
    let tokens = store.load().unwrap();
    tokens.verify(&secret, now + HOUR).unwrap();
    let uses = tokens.take_uses();
    assert_eq!(uses.len(), 1);
    assert!(tokens.take_uses().is_empty());
    store.record_uses(&uses).unwrap();
    // An older use does not move it back; a removed token is skipped.
    store
        .record_uses(&[("ci".into(), now), ("nobody".into(), now)])
        .unwrap();
    let listed = store.list().unwrap();
    let secs = |t: SystemTime| t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
    assert_eq!(listed[0].last_used.map(secs), Some(secs(now + HOUR)));
}

#[test]
fn concurrent_writers_lose_nothing() {
    let (dir, store) = store();
    let now = SystemTime::now();
    std::thread::scope(|s| {
        for t in 0..6 {
            // Each thread a store of its own, as separate processes would have.
            let store = open(dir.path());
            s.spawn(move || {
                for i in 0..8 {
                    store
                        .add(&format!("t{t}-{i}"), Scope::Read, None, now)
                        .unwrap();
                }
            });
        }
    });
    assert_eq!(store.list().unwrap().len(), 48);
}

#[test]
fn a_corrupt_file_is_an_error_naming_it() {
    let (dir, store) = store();
    std::fs::write(file(dir.path()), "{not json").unwrap();
    let e = store.load().unwrap_err().to_string();
    assert!(
        e.contains("tokens.json") && e.contains("not a token file"),
        "{e}"
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
