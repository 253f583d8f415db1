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
}

impl StoreError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> StoreError {
        let path = path.into();
        move |source| StoreError::Io { path, source }
    }
}
