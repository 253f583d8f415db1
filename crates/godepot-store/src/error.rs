use std::path::PathBuf;

/// Failures of the storage layer. They always name the file involved.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid metadata name {0:?}")]
    InvalidMetaName(String),
    /// A relative path that is not a plain path of the tree (empty, `..`, under `.godepot/`).
    #[error("invalid path in the tree {0:?}")]
    InvalidPath(String),
    /// A storage URL that cannot be opened (unknown scheme, missing bucket).
    #[error("invalid storage URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// Object storage answered with a failure (named by its URL, never its credentials).
    #[error("object storage error on {location}: {message}")]
    Object { location: String, message: String },
    /// The bucket a store URL names does not exist (nothing was created).
    #[error("{location}: no such bucket")]
    NoSuchBucket { location: String },
    /// Object storage could not be reached (a connection refused, a timeout, a 5xx): the
    /// server answers 503, and the next request tries again.
    #[error("storage unavailable: {location}: {message}")]
    Unavailable { location: String, message: String },
    /// The data directory was written by a newer godepot (see [`crate::format`]).
    #[error(
        "the data directory has format {found} ({path}), newer than the format {supported} this godepot knows; it was left as it is"
    )]
    NewerFormat {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("{path} should hold the data directory's format number, but holds {content:?}")]
    BadFormat { path: PathBuf, content: String },
}

impl StoreError {
    /// Whether the storage could not be reached right now (worth a retry, a 503).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable { .. })
    }

    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> StoreError {
        let path = path.into();
        move |source| StoreError::Io { path, source }
    }
}
