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
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> StoreError {
        let path = path.into();
        move |source| StoreError::Io { path, source }
    }
}
