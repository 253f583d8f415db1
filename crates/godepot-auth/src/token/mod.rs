//! API tokens: the store's metadata file `.godepot/tokens.json` (in the data directory, or
//! in the bucket) keeps, per token, its name, scope, times and the SHA-256 of the secret;
//! never the secret.
//!
//! A plain hash suffices (no bcrypt/argon2): a token is 256 random bits, so there is
//! no dictionary to try and a fast hash cannot be reversed by guessing; slow hashes
//! exist to protect low-entropy passwords. It also keeps a check per request cheap.
//!
//! Changes (add, revoke, last-used) are read-modify-write by compare-and-swap
//! ([`godepot_store::Store::put_meta_if`]: on disk under the store's lock file, on a bucket
//! by `If-Match`), retried when another writer got there first, so a `godepot token add`
//! beside running servers, or two of them on two machines, lose nothing. The file is
//! replaced whole and atomically, so a reader never sees half of it; readers take no lock.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::secret::{Secret, digests_equal};

mod store;

pub use store::TokenStore;

/// What a token may do. `Admin` includes `Read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Read,
    Admin,
}

impl Scope {
    /// Whether a token of this scope may do what needs `required`.
    pub fn allows(self, required: Scope) -> bool {
        self >= required
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Admin => "admin",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = TokenError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "read" => Ok(Scope::Read),
            "admin" => Ok(Scope::Admin),
            _ => Err(TokenError::BadScope(s.to_owned())),
        }
    }
}

/// A token as listed: everything but the secret (which is not kept) and its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub name: String,
    pub scope: Scope,
    pub created: SystemTime,
    pub expires: Option<SystemTime>,
    pub last_used: Option<SystemTime>,
}

impl TokenInfo {
    pub fn is_expired(&self, now: SystemTime) -> bool {
        self.expires.is_some_and(|e| now >= e)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(transparent)]
    Store(#[from] godepot_store::StoreError),
    #[error("{location}: not a token file: {message}")]
    Corrupt { location: String, message: String },
    #[error("{0}: changed by other writers at every attempt; try again")]
    Contended(String),
    #[error(
        "{0:?} is not a token name (1 to 64 of A-Z a-z 0-9 . _ -, starting with a letter or digit)"
    )]
    BadName(String),
    #[error("{0:?} is not a scope (read or admin)")]
    BadScope(String),
    #[error("a token named {0:?} already exists")]
    Exists(String),
    #[error("no token named {0:?}")]
    NotFound(String),
    #[error("the expiry is not in the future")]
    ExpiresInPast,
    #[error("the operating system's random generator failed: {0}")]
    Random(getrandom::Error),
}

/// Why [`Tokens::check`] refused a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    Unknown,
    Expired(TokenInfo),
}

/// The tokens loaded in memory, for checking requests: reload it when the file changes
/// ([`TokenStore::reload_if_changed`]) so that `token add`/`revoke` take effect.
#[derive(Debug)]
pub struct Tokens {
    /// Each token with the SHA-256 of its secret.
    records: Vec<(TokenInfo, [u8; 32])>,
    /// Which version of the file this is (`None`: there was none).
    stamp: Option<godepot_store::MetaVersion>,
    /// Last use per token name, not yet written back ([`Tokens::take_uses`]).
    uses: Mutex<HashMap<String, SystemTime>>,
}

impl Tokens {
    fn new(records: Vec<(TokenInfo, [u8; 32])>, stamp: Option<godepot_store::MetaVersion>) -> Self {
        Self {
            records,
            stamp,
            uses: Mutex::default(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    pub fn list(&self) -> Vec<TokenInfo> {
        self.records.iter().map(|(info, _)| info.clone()).collect()
    }

    /// The token `secret` is, unless unknown or expired (revoked tokens are gone from
    /// the file).
    pub fn verify(&self, secret: &Secret, now: SystemTime) -> Option<TokenInfo> {
        self.check(secret, now).ok()
    }

    /// Like [`Tokens::verify`], saying why a secret is refused (for the audit log; the
    /// client is told no more than 401). Every stored hash is compared, in constant
    /// time, whatever matches, and a use is recorded for [`Tokens::take_uses`].
    pub fn check(&self, secret: &Secret, now: SystemTime) -> Result<TokenInfo, Refused> {
        let digest = secret.digest();
        let mut found = None;
        for (info, stored) in &self.records {
            if digests_equal(stored, &digest) {
                found = Some(info);
            }
        }
        let info = found.ok_or(Refused::Unknown)?.clone();
        if info.is_expired(now) {
            return Err(Refused::Expired(info));
        }
        self.lock_uses().insert(info.name.clone(), now);
        Ok(info)
    }

    /// The uses recorded by [`Tokens::verify`] since the last call, for
    /// [`TokenStore::record_uses`] (the server writes them back now and then, not per
    /// request).
    pub fn take_uses(&self) -> Vec<(String, SystemTime)> {
        self.lock_uses().drain().collect()
    }

    /// Takes over the uses `older` (the tokens these replace) noted and did not write back,
    /// so that a reload writes nothing: on a bucket a write makes every other replica reload,
    /// and a write per reload would echo between them.
    pub fn carry_uses_from(&self, older: &Tokens) {
        let taken = older.take_uses();
        let mut uses = self.lock_uses();
        for (name, at) in taken {
            let slot = uses.entry(name).or_insert(at);
            *slot = (*slot).max(at);
        }
    }

    fn lock_uses(&self) -> std::sync::MutexGuard<'_, HashMap<String, SystemTime>> {
        self.uses.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Parses a token lifetime such as `90d`, `12h`, `1w2d` or `30m` (units `s`, `m`,
/// `h`, `d`, `w`), for `token add --expires`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("{text:?} is not a duration (e.g. 90d, 12h, 1w2d, 30m)");
    let mut total: u64 = 0;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let number: u64 = rest[..digits].parse().map_err(|_| bad())?;
        let unit = rest[digits..].chars().next().ok_or_else(bad)?;
        let seconds = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => return Err(bad()),
        };
        total = number
            .checked_mul(seconds)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(bad)?;
        rest = &rest[digits + unit.len_utf8()..];
    }
    if total == 0 {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

fn check_name(name: &str) -> Result<(), TokenError> {
    let ok = (1..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    ok.then_some(())
        .ok_or_else(|| TokenError::BadName(name.to_owned()))
}
