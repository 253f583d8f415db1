//! The token file: the metadata file `tokens.json` of the store (the data directory's
//! `.godepot/tokens.json`, or `<prefix>/.godepot/tokens.json` in a bucket). See the parent
//! module for why hashes only and why compare-and-swap.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use godepot_store::{MetaVersion, Store};
use serde::{Deserialize, Serialize};

use super::{Scope, TokenError, TokenInfo, Tokens, check_name};
use crate::secret::Secret;

const FILE: &str = "tokens.json";
const FORMAT: u32 = 1;

/// How many times a change is tried while other writers keep changing the file first.
const CAS_ATTEMPTS: usize = 64;

/// One token as stored. Times are Unix seconds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    name: String,
    scope: Scope,
    /// Lower-case hex SHA-256 of the token.
    sha256: String,
    created: u64,
    expires: Option<u64>,
    last_used: Option<u64>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileBody {
    format: u32,
    tokens: Vec<Record>,
}

impl Record {
    fn info(&self) -> TokenInfo {
        TokenInfo {
            name: self.name.clone(),
            scope: self.scope,
            created: from_secs(self.created),
            expires: self.expires.map(from_secs),
            last_used: self.last_used.map(from_secs),
        }
    }
}

/// The token file of one store.
#[derive(Clone)]
pub struct TokenStore {
    store: Arc<dyn Store>,
}

impl std::fmt::Debug for TokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenStore")
            .field("location", &self.location())
            .finish()
    }
}

impl TokenStore {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// Where the file is, for messages (a path, or a URL without credentials).
    pub fn location(&self) -> String {
        format!("{}/.godepot/{FILE}", self.store.describe())
    }

    /// Reads the tokens; no file means no tokens.
    pub fn load(&self) -> Result<Tokens, TokenError> {
        let (body, version) = self.read()?;
        Ok(Tokens::new(self.records(body)?, version))
    }

    /// A fresh [`Tokens`] when the file changed since `current` was loaded.
    pub fn reload_if_changed(&self, current: &Tokens) -> Result<Option<Tokens>, TokenError> {
        let (body, version) = self.read()?;
        if version == current.stamp {
            return Ok(None);
        }
        Ok(Some(Tokens::new(self.records(body)?, version)))
    }

    pub fn list(&self) -> Result<Vec<TokenInfo>, TokenError> {
        Ok(self.read()?.0.tokens.iter().map(Record::info).collect())
    }

    /// Creates a token; the returned secret is the only copy there will ever be.
    pub fn add(
        &self,
        name: &str,
        scope: Scope,
        expires: Option<SystemTime>,
        now: SystemTime,
    ) -> Result<(TokenInfo, Secret), TokenError> {
        check_name(name)?;
        if expires.is_some_and(|e| e <= now) {
            return Err(TokenError::ExpiresInPast);
        }
        let secret = Secret::generate().map_err(TokenError::Random)?;
        let record = Record {
            name: name.to_owned(),
            scope,
            sha256: to_hex(&secret.digest()),
            created: to_secs(now),
            expires: expires.map(to_secs),
            last_used: None,
        };
        let info = record.info();
        self.modify(|body| {
            if body.tokens.iter().any(|r| r.name == name) {
                return Err(TokenError::Exists(name.to_owned()));
            }
            body.tokens.push(record.clone());
            Ok(())
        })?;
        Ok((info, secret))
    }

    /// Removes a token: from the next reload on, it is refused.
    pub fn revoke(&self, name: &str) -> Result<TokenInfo, TokenError> {
        self.modify(|body| {
            let i = (body.tokens.iter().position(|r| r.name == name))
                .ok_or_else(|| TokenError::NotFound(name.to_owned()))?;
            Ok(body.tokens.remove(i).info())
        })
    }

    /// Writes back last-use times (of tokens that still exist; later times win).
    pub fn record_uses(&self, uses: &[(String, SystemTime)]) -> Result<(), TokenError> {
        if uses.is_empty() {
            return Ok(());
        }
        self.modify(|body| {
            for (name, when) in uses {
                if let Some(r) = body.tokens.iter_mut().find(|r| &r.name == name) {
                    r.last_used = r.last_used.max(Some(to_secs(*when)));
                }
            }
            Ok(())
        })
    }

    fn records(&self, body: FileBody) -> Result<Vec<(TokenInfo, [u8; 32])>, TokenError> {
        body.tokens
            .into_iter()
            .map(|r| {
                let digest = parse_hex(&r.sha256).ok_or_else(|| TokenError::Corrupt {
                    location: self.location(),
                    message: format!("token {:?} has a malformed hash", r.name),
                })?;
                Ok((r.info(), digest))
            })
            .collect()
    }

    fn read(&self) -> Result<(FileBody, Option<MetaVersion>), TokenError> {
        let Some((text, version)) = self.store.get_meta_versioned(FILE)? else {
            return Ok((FileBody::default(), None));
        };
        let body: FileBody = serde_json::from_slice(&text).map_err(|e| TokenError::Corrupt {
            location: self.location(),
            message: e.to_string(),
        })?;
        if body.format != FORMAT {
            return Err(TokenError::Corrupt {
                location: self.location(),
                message: format!("format {} is not {FORMAT}", body.format),
            });
        }
        Ok((body, Some(version)))
    }

    /// Read, change, write back only over the version read (a compare-and-swap, on disk and
    /// on a bucket alike), else read again and redo the change: concurrent writers, on one
    /// machine or several, lose nothing.
    fn modify<T>(
        &self,
        mut change: impl FnMut(&mut FileBody) -> Result<T, TokenError>,
    ) -> Result<T, TokenError> {
        for _ in 0..CAS_ATTEMPTS {
            let (mut body, version) = self.read()?;
            body.format = FORMAT;
            let outcome = change(&mut body)?;
            if self
                .store
                .put_meta_if(FILE, &serialize(&body), version.as_ref())?
            {
                return Ok(outcome);
            }
        }
        Err(TokenError::Contended(self.location()))
    }
}

/// The file's text: pretty JSON and a final newline.
fn serialize(body: &FileBody) -> Vec<u8> {
    let mut text = serde_json::to_vec_pretty(body)
        .unwrap_or_else(|e| unreachable!("a token file always serializes: {e}"));
    text.push(b'\n');
    text
}

fn to_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn from_secs(s: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(s)
}

fn to_hex(bytes: &[u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_hex(text: &str) -> Option<[u8; 32]> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(bytes.chunks(2)) {
        *o = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(out)
}
