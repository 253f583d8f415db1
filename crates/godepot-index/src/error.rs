use std::path::{Path, PathBuf};

/// What can go wrong with the index. None of it touches the store: files stay the truth.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("module index database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("walking the store: {0}")]
    Store(#[from] godepot_store::StoreError),
    #[error("the store already has an observer; the index is attached once")]
    AlreadyAttached,
}

impl IndexError {
    pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> IndexError + '_ {
        move |source| IndexError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
