//! The audit log: one JSON object per line for every security-relevant event.
//!
//! Each line is written with a single `write` on a file opened with `O_APPEND`, so
//! lines from several threads, or several processes (a server and a `godepot token`
//! command), never interleave: the kernel places each append at the end as one unit.
//! A mutex additionally orders the threads of one process and makes [`AuditLog::reopen`]
//! (log rotation on SIGHUP) safe while others write.
//!
//! The events hold no secret by construction: they are built from names, addresses
//! and reasons, and [`crate::Secret`] cannot be serialized. A user name that looks
//! like a token (someone typed the token into the user field) is recorded redacted.

use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Serialize, Serializer};

use crate::secret::TOKEN_PREFIX;
use crate::token::Scope;

/// Why a request's credentials were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginRefusal {
    /// No `Authorization` header, or one that does not parse.
    Missing,
    /// The secret matches no token (or a revoked one).
    Unknown,
    Expired,
    /// A valid token whose scope does not cover the request (a 403, not a 401).
    WrongScope,
    /// Too many failures from this address: answered 429 without checking.
    RateLimited,
}

/// One security event. `event` in the JSON names the variant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum AuditEvent {
    /// A module version the policy refused (served 403, or left out of a prefetch).
    RequestBlocked {
        module: String,
        version: String,
        /// The deciding rule as the 403 names it ("deny rule 2, line 5"), or
        /// "default".
        rule: String,
        reason: Option<String>,
        client: Option<IpAddr>,
        token_name: Option<String>,
    },
    LoginRefused {
        client: Option<IpAddr>,
        #[serde(serialize_with = "redacted_user")]
        user: Option<String>,
        /// The token's name when it was known (expired, wrong scope).
        token_name: Option<String>,
        cause: LoginRefusal,
    },
    TokenCreated {
        name: String,
        scope: Scope,
        /// Unix seconds.
        expires: Option<u64>,
        /// Who: a token name, or "cli" for a local command.
        by: String,
    },
    TokenRevoked {
        name: String,
        by: String,
    },
    /// An admin endpoint or command: `action` such as "remove", "refresh".
    AdminAction {
        action: String,
        target: String,
        by: String,
        client: Option<IpAddr>,
        outcome: String,
    },
    PolicyReloaded {
        file: String,
        /// `None` when the new policy is in force; else why the old one was kept.
        error: Option<String>,
        rules: usize,
    },
}

/// A line as written: the time first, then the event's fields.
#[derive(Serialize)]
struct Line<'a> {
    /// Milliseconds since the Unix epoch, UTC.
    time_ms: u64,
    #[serde(flatten)]
    event: &'a AuditEvent,
}

fn redacted_user<S: Serializer>(user: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match user {
        Some(u) if u.starts_with(TOKEN_PREFIX) => s.serialize_some("<redacted>"),
        other => other.serialize(s),
    }
}

/// The audit log file, shared by all threads (`&self` methods).
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    file: Mutex<File>,
}

impl AuditLog {
    /// Opens `path` for appending, creating it (owner-only) if needed.
    pub fn open(path: impl Into<PathBuf>) -> io::Result<Self> {
        let path = path.into();
        let file = open_append(&path)?;
        Ok(Self {
            path,
            file: Mutex::new(file),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one event, stamped now.
    pub fn append(&self, event: &AuditEvent) -> io::Result<()> {
        self.append_at(event, SystemTime::now())
    }

    /// Appends one event as one line, in one write.
    pub fn append_at(&self, event: &AuditEvent, time: SystemTime) -> io::Result<()> {
        let time_ms = time
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let mut line = serde_json::to_vec(&Line { time_ms, event })
            .unwrap_or_else(|e| unreachable!("audit events always serialize: {e}"));
        line.push(b'\n');
        let mut file = self.lock();
        let written = file.write(&line)?;
        if written < line.len() {
            // Only on a full disk or similar; finish the line rather than leave half.
            file.write_all(&line[written..])?;
        }
        Ok(())
    }

    /// Opens the path again (after a rotation moved the old file away). On failure
    /// the old file stays in use and the error is returned for the caller to log.
    pub fn reopen(&self) -> io::Result<()> {
        let fresh = open_append(&self.path)?;
        *self.lock() = fresh;
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, File> {
        self.file.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}
