//! The token file: `tokens.json` beside `tokens.lock` in the data directory's
//! `.godepot/`. See the parent module for why hashes only and why the lock.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::{Scope, TokenError, TokenInfo, Tokens, check_name};
use crate::secret::Secret;

const FILE: &str = "tokens.json";
const LOCK: &str = "tokens.lock";
const FORMAT: u32 = 1;

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

/// The token file of one data directory.
#[derive(Debug, Clone)]
pub struct TokenStore {
    dir: PathBuf,
}

impl TokenStore {
    /// `meta_dir` is the data directory's `.godepot/`.
    pub fn new(meta_dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: meta_dir.into(),
        }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE)
    }

    /// Reads the tokens; no file means no tokens.
    pub fn load(&self) -> Result<Tokens, TokenError> {
        let path = self.path();
        // The stamp before the content: a change in between makes the next
        // `reload_if_changed` reload once more, never miss it.
        let stamp = modified(&path);
        let body = self.read()?;
        let records = body
            .tokens
            .into_iter()
            .map(|r| {
                let digest = parse_hex(&r.sha256).ok_or_else(|| TokenError::Corrupt {
                    path: path.clone(),
                    message: format!("token {:?} has a malformed hash", r.name),
                })?;
                Ok((r.info(), digest))
            })
            .collect::<Result<_, TokenError>>()?;
        Ok(Tokens::new(records, stamp))
    }

    /// A fresh [`Tokens`] when the file changed since `current` was loaded.
    pub fn reload_if_changed(&self, current: &Tokens) -> Result<Option<Tokens>, TokenError> {
        if modified(&self.path()) == current.stamp {
            return Ok(None);
        }
        self.load().map(Some)
    }

    pub fn list(&self) -> Result<Vec<TokenInfo>, TokenError> {
        Ok(self.read()?.tokens.iter().map(Record::info).collect())
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
            body.tokens.push(record);
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

    fn read(&self) -> Result<FileBody, TokenError> {
        let path = self.path();
        let text = match fs::read(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(FileBody::default()),
            Err(source) => return Err(TokenError::Io { path, source }),
        };
        let body: FileBody = serde_json::from_slice(&text).map_err(|e| TokenError::Corrupt {
            path: path.clone(),
            message: e.to_string(),
        })?;
        if body.format != FORMAT {
            return Err(TokenError::Corrupt {
                path,
                message: format!("format {} is not {FORMAT}", body.format),
            });
        }
        Ok(body)
    }

    /// Read, change, write back atomically, all under the lock.
    fn modify<T>(
        &self,
        change: impl FnOnce(&mut FileBody) -> Result<T, TokenError>,
    ) -> Result<T, TokenError> {
        let io_err = |path: &Path| {
            let path = path.to_owned();
            move |source| TokenError::Io { path, source }
        };
        fs::create_dir_all(&self.dir).map_err(io_err(&self.dir))?;
        let lock_path = self.dir.join(LOCK);
        let lock = private_file(&lock_path, false).map_err(io_err(&lock_path))?;
        lock.lock().map_err(io_err(&lock_path))?;
        let mut body = self.read()?;
        body.format = FORMAT;
        let outcome = change(&mut body)?;
        let mut text = serde_json::to_vec_pretty(&body)
            .unwrap_or_else(|e| unreachable!("a token file always serializes: {e}"));
        text.push(b'\n');
        // A fixed scratch name is safe: only the lock holder writes it.
        let tmp = self.dir.join(format!("{FILE}.tmp"));
        let dest = self.path();
        let mut file = private_file(&tmp, true).map_err(io_err(&tmp))?;
        file.write_all(&text).map_err(io_err(&tmp))?;
        godepot_store::atomic::publish_replace(&tmp, &file, &dest).map_err(io_err(&dest))?;
        // The lock is released when `lock` is dropped, after the rename.
        Ok(outcome)
    }
}

/// Opens (creating) a file only its owner can read: the token hashes are not secrets,
/// but nobody else has any business reading them.
fn private_file(path: &Path, truncate: bool) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options
        .read(true)
        .write(true)
        .create(true)
        .truncate(truncate);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// What tells one version of the file from the next: every write is a rename of a
/// new file, so the inode changes even when the modification time's tick does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    #[cfg(unix)]
    inode: u64,
}

fn modified(path: &Path) -> Option<Stamp> {
    let meta = fs::metadata(path).ok()?;
    Some(Stamp {
        modified: meta.modified().ok(),
        len: meta.len(),
        #[cfg(unix)]
        inode: std::os::unix::fs::MetadataExt::ino(&meta),
    })
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
