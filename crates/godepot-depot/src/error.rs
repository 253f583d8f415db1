use std::sync::Arc;

use godepot_upstream::FetchError;

/// The underlying error of a [`DepotError`]: shared, because one failed fetch is the answer
/// of every request waiting on it.
pub type Cause = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong serving a request, in the terms a client needs: the server maps each
/// variant to one status code, in one place.
///
/// The three "does not exist / malformed" variants carry a whole one-line message. The
/// failures carry what was being done (`what`, e.g. `example.com/m@v1.0.0`) and the typed
/// error underneath as their [`source`](std::error::Error::source), so code can ask what
/// failed (a [`FetchError`], a store error, a refused go.mod) without parsing text. Display
/// is the one-line message a client reads, `what: cause` (causes never hold credentials:
/// upstream URLs are redacted at the root, in godepot-upstream).
#[derive(Debug, Clone)]
pub enum DepotError {
    /// The module or version does not exist upstream, or (offline) is not held. 404.
    NotFound(String),
    /// Upstream said 410 Gone. Kept distinct so the client sees the same status.
    Gone(String),
    /// The request itself is malformed. 400.
    Invalid(String),
    /// Upstream could not be reached or answered with an error. 502.
    Upstream { what: String, cause: Cause },
    /// Upstream did not answer in time, or too slowly. 504.
    UpstreamTimeout { what: String, cause: Cause },
    /// Upstream answered, but with something godepot refuses to keep. 502.
    Rejected { what: String, cause: Cause },
    /// The store failed. 500: the one case that is godepot's own fault; 503 when the store
    /// could not be reached ([`DepotError::is_storage_unavailable`]: object storage down).
    Store { what: String, cause: Cause },
    /// The policy refuses this module version. 403, with the refusal's one line (module@version,
    /// rule, reason) as the body, which the go command shows its user. Boxed: it is rare and
    /// larger than the other variants.
    Blocked(Box<godepot_policy::Blocked>),
}

impl DepotError {
    fn parts(&self) -> Result<&str, (&str, &Cause)> {
        match self {
            DepotError::Blocked(_) => Ok(""),
            DepotError::NotFound(m) | DepotError::Gone(m) | DepotError::Invalid(m) => Ok(m),
            DepotError::Upstream { what, cause }
            | DepotError::UpstreamTimeout { what, cause }
            | DepotError::Rejected { what, cause }
            | DepotError::Store { what, cause } => Err((what, cause)),
        }
    }
}

impl std::fmt::Display for DepotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let DepotError::Blocked(blocked) = self {
            return write!(f, "{blocked}");
        }
        match self.parts() {
            Ok(message) => f.write_str(message),
            Err(("", cause)) => write!(f, "{cause}"),
            Err((what, cause)) => write!(f, "{what}: {cause}"),
        }
    }
}

/// Hand-written rather than derived: the source is the error inside the [`Cause`], not the
/// `Arc` around it, so that `downcast_ref` finds it.
impl std::error::Error for DepotError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.parts().err().map(|(_, cause)| &**cause as _)
    }
}

/// A cause that is a sentence of godepot's own (a limit exceeded, a length that disagrees).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct Reason(pub String);

fn cause(e: impl std::error::Error + Send + Sync + 'static) -> Cause {
    Arc::new(e)
}

impl DepotError {
    /// Wraps an upstream failure with the name of what was being fetched.
    pub(crate) fn from_fetch(what: &str, e: FetchError) -> Self {
        match e {
            FetchError::NotFound {
                status: 410,
                message,
            } => DepotError::Gone(not_found_message(what, &message)),
            FetchError::NotFound { message, .. } => {
                DepotError::NotFound(not_found_message(what, &message))
            }
            FetchError::Off => {
                DepotError::NotFound(format!("{what}: not held, and no upstream is configured"))
            }
            e if e.is_timeout() => DepotError::UpstreamTimeout {
                what: what.to_string(),
                cause: cause(e),
            },
            e => DepotError::Upstream {
                what: what.to_string(),
                cause: cause(e),
            },
        }
    }

    /// Upstream failed in a way godepot noticed itself (say, a body shorter than declared).
    pub(crate) fn upstream(what: impl Into<String>, reason: impl Into<String>) -> Self {
        DepotError::Upstream {
            what: what.into(),
            cause: cause(Reason(reason.into())),
        }
    }

    /// Upstream sent something godepot will not keep, for this reason.
    pub(crate) fn rejected(
        what: impl Into<String>,
        reason: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        DepotError::Rejected {
            what: what.into(),
            cause: cause(reason),
        }
    }

    /// As [`rejected`](Self::rejected), for a reason of godepot's own words.
    pub(crate) fn refused(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::rejected(what, Reason(reason.into()))
    }

    pub(crate) fn store(e: godepot_store::StoreError) -> Self {
        DepotError::Store {
            what: String::new(),
            cause: cause(e),
        }
    }

    /// A failure of godepot's own machinery (a task that died, a spool file).
    pub(crate) fn internal(
        what: impl Into<String>,
        e: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        DepotError::Store {
            what: what.into(),
            cause: cause(e),
        }
    }

    /// Whether the store could not be reached right now (object storage down or cut off):
    /// answered 503, and worth a retry; never cached.
    pub fn is_storage_unavailable(&self) -> bool {
        match self {
            DepotError::Store { cause, .. } => cause
                .downcast_ref::<godepot_store::StoreError>()
                .is_some_and(godepot_store::StoreError::is_unavailable),
            _ => false,
        }
    }

    /// Whether this answer may be cached as "does not exist".
    pub(crate) fn is_not_found(&self) -> bool {
        matches!(self, DepotError::NotFound(_) | DepotError::Gone(_))
    }

    /// The upstream failure underneath, if that is what this is.
    pub fn fetch_error(&self) -> Option<&FetchError> {
        match self {
            DepotError::Upstream { cause, .. } | DepotError::UpstreamTimeout { cause, .. } => {
                cause.downcast_ref()
            }
            _ => None,
        }
    }
}

/// Upstream's own not-found text usually names the module already; keep it as is then.
fn not_found_message(what: &str, upstream: &str) -> String {
    if upstream.is_empty() {
        format!("{what}: not found")
    } else if upstream.contains(what) {
        upstream.to_string()
    } else {
        format!("{what}: {upstream}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_store_is_told_from_a_failing_one() {
        let unavailable = DepotError::store(godepot_store::StoreError::Unavailable {
            location: "s3://b/example.com/m/@v/v1.0.0.zip".into(),
            message: "connection refused".into(),
        });
        assert!(unavailable.is_storage_unavailable());
        assert_eq!(
            unavailable.to_string(),
            "storage unavailable: s3://b/example.com/m/@v/v1.0.0.zip: connection refused"
        );
        let failed = DepotError::store(godepot_store::StoreError::InvalidPath("..".into()));
        assert!(!failed.is_storage_unavailable());
        assert!(!DepotError::NotFound("x".into()).is_storage_unavailable());
    }

    #[test]
    fn failures_keep_their_cause() {
        let e = DepotError::from_fetch(
            "example.com/m@v1.0.0",
            FetchError::TooSlow {
                url: "http://***@u.example/x".into(),
                min_bytes: 4096,
                secs: 1.0,
            },
        );
        assert!(matches!(e, DepotError::UpstreamTimeout { .. }));
        assert_eq!(
            e.to_string(),
            "example.com/m@v1.0.0: upstream http://***@u.example/x sent fewer than 4096 bytes in 1.0s; cut off"
        );
        let source = std::error::Error::source(&e).expect("a source");
        assert!(source.downcast_ref::<FetchError>().is_some());
        assert!(e.fetch_error().is_some_and(FetchError::is_timeout));
        let refused = DepotError::refused("m@v1", "too large");
        assert_eq!(refused.to_string(), "m@v1: too large");
        assert!(refused.fetch_error().is_none());
    }
}
