/// Why an upstream fetch failed. [`FetchError::NotFound`] is the one answer that means "this
/// does not exist"; everything else means "could not find out", and must never be reported
/// to a client as a 404 (the go command would silently move on to its next proxy).
///
/// Every `url` here is the redacted form ([`crate::UpstreamUrl`]'s `Display`): messages
/// never carry credentials.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FetchError {
    #[error("{message}")]
    NotFound { status: u16, message: String },
    #[error("upstream {url} did not answer within {secs:.1}s")]
    Timeout { url: String, secs: f64 },
    #[error("upstream {url} unreachable: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("upstream {url} answered {status}: {message}")]
    Status {
        url: String,
        status: u16,
        message: String,
    },
    #[error("upstream {url} sent more than {limit} bytes")]
    TooLarge { url: String, limit: u64 },
    /// The body arrived slower than the minimum rate ([`crate::UpstreamOptions::min_rate`]).
    #[error("upstream {url} sent fewer than {min_bytes} bytes in {secs:.1}s; cut off")]
    TooSlow {
        url: String,
        min_bytes: u64,
        secs: f64,
    },
    #[error("upstream {url} broke off the body: {reason}")]
    Body { url: String, reason: String },
    #[error("no upstream is configured (offline)")]
    Off,
}

impl FetchError {
    /// Whether trying the same request again may help.
    pub fn is_transient(&self) -> bool {
        match self {
            FetchError::Timeout { .. } | FetchError::Unreachable { .. } => true,
            FetchError::Status { status, .. } => matches!(status, 500 | 502 | 503 | 504 | 429),
            _ => false,
        }
    }

    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            FetchError::Timeout { .. } | FetchError::TooSlow { .. }
        )
    }
}
