//! What can go wrong fetching a module from its repository, classified the way the proxy
//! protocol needs it: "does not exist" (404/410) must never be confused with "could not
//! ask" (502/504), and "you may not" must say how to get in.
//!
//! No variant ever holds a secret: URLs are passed through [`crate::http::redact`] before
//! they land here, and credentials are never formatted.

/// A git fetch or module-semantics failure.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The repository, revision or version does not exist (serve 404/410 with the reason).
    #[error("{reason}")]
    NotFound { reason: String },
    /// The server refused us for lack of credentials (a distinct error, not a 404, so the
    /// go command does not silently fall through to another source).
    #[error(
        "{host}: authentication required (HTTP {status}); give credentials for {host} in the \
         .netrc file ($NETRC, else ~/.netrc) or in a [[credentials]] entry of godepot's config file"
    )]
    AuthRequired { host: String, status: u16 },
    /// The repository could not be reached or answered with a server error (502/504).
    #[error("{url}: {reason}")]
    Unreachable {
        url: String,
        reason: String,
        timed_out: bool,
    },
    /// A repository, pack, file or module over the configured limits; nothing was kept.
    #[error("{what} is too large ({reason})")]
    TooLarge { what: String, reason: String },
    /// The module lives in a version-control system other than git, or the server does
    /// not speak the protocol we do.
    #[error("{reason}")]
    Unsupported { reason: String },
    /// A `go-import` meta tag says the module is served by a module proxy, not a
    /// repository: the caller should ask that proxy.
    #[error("{path} is served by the module proxy {url} (go-import \"mod\" entry)")]
    ModProxy { path: String, url: String },
    /// The server answered something that is not the protocol (a bug or a hostile server).
    #[error("{url}: protocol error: {reason}")]
    Protocol { url: String, reason: String },
    /// Local failure in the mirror under the cache directory.
    #[error("git mirror {path}: {reason}")]
    Mirror { path: String, reason: String },
}

impl GitError {
    pub(crate) fn not_found(reason: impl Into<String>) -> Self {
        GitError::NotFound {
            reason: reason.into(),
        }
    }

    pub(crate) fn mirror(path: &std::path::Path, reason: impl std::fmt::Display) -> Self {
        GitError::Mirror {
            path: path.display().to_string(),
            reason: reason.to_string(),
        }
    }

    pub(crate) fn protocol(url: &str, reason: impl Into<String>) -> Self {
        GitError::Protocol {
            url: url.to_owned(),
            reason: reason.into(),
        }
    }

    /// The HTTP status a proxy should answer with for this error.
    pub fn status(&self) -> u16 {
        match self {
            GitError::NotFound { .. } | GitError::Unsupported { .. } => 404,
            GitError::AuthRequired { .. } => 403,
            GitError::TooLarge { .. } => 403,
            GitError::Unreachable {
                timed_out: true, ..
            } => 504,
            GitError::Unreachable { .. }
            | GitError::Protocol { .. }
            | GitError::ModProxy { .. } => 502,
            GitError::Mirror { .. } => 500,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_keep_not_found_apart_from_could_not_ask() {
        let unreachable = |timed_out| GitError::Unreachable {
            url: "http://git.corp.example/a".into(),
            reason: "connection refused".into(),
            timed_out,
        };
        assert_eq!(GitError::not_found("no such repository").status(), 404);
        assert_eq!(unreachable(false).status(), 502);
        assert_eq!(unreachable(true).status(), 504);
        let auth = GitError::AuthRequired {
            host: "git.corp.example".into(),
            status: 401,
        };
        assert_eq!(auth.status(), 403);
        assert!(auth.to_string().contains(".netrc"), "{auth}");
    }
}
