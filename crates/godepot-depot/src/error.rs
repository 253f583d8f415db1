use godepot_upstream::FetchError;

/// What went wrong serving a request, in the terms a client needs: the server maps each
/// variant to one status code, in one place. Payloads are whole one-line messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DepotError {
    /// The module or version does not exist upstream, or (offline) is not held. 404.
    #[error("{0}")]
    NotFound(String),
    /// Upstream said 410 Gone. Kept distinct so the client sees the same status.
    #[error("{0}")]
    Gone(String),
    /// The request itself is malformed. 400.
    #[error("{0}")]
    Invalid(String),
    /// Upstream could not be reached or answered with an error. 502.
    #[error("{0}")]
    Upstream(String),
    /// Upstream did not answer in time. 504.
    #[error("{0}")]
    UpstreamTimeout(String),
    /// Upstream answered, but with something godepot refuses to keep. 502.
    #[error("{0}")]
    Rejected(String),
    /// The store failed. 500: the one case that is godepot's own fault.
    #[error("{0}")]
    Store(String),
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
            e if e.is_timeout() => DepotError::UpstreamTimeout(format!("{what}: {e}")),
            e => DepotError::Upstream(format!("{what}: {e}")),
        }
    }

    pub(crate) fn store(e: godepot_store::StoreError) -> Self {
        DepotError::Store(e.to_string())
    }

    /// Whether this answer may be cached as "does not exist".
    pub(crate) fn is_not_found(&self) -> bool {
        matches!(self, DepotError::NotFound(_) | DepotError::Gone(_))
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
