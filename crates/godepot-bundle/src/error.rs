use std::path::PathBuf;

/// Why a whole operation failed (as opposed to problems with single artifacts, which the
/// summaries list). Messages name the file involved.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Writing into the store failed (a full disk, say): the source is not to blame.
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] godepot_store::StoreError),
    /// A directory given to import holds no module artifacts at all.
    #[error(
        "{0} holds nothing to import: no module files (<module>/@v/<version>.info, .mod or .zip) in it"
    )]
    NothingToImport(PathBuf),
    /// The bundle is damaged, truncated or tampered with; nothing was imported.
    #[error("bundle {bundle} refused: {file}: {reason}")]
    BadBundle {
        bundle: PathBuf,
        /// The file inside the bundle that failed (or the bundle's own structure).
        file: String,
        reason: String,
    },
    /// The bundle carries versions the policy blocks (each line names one, its rule and
    /// reason); nothing was imported.
    #[error("bundle {bundle} refused: it carries {} blocked version(s): {}", .blocked.len(), .blocked.join("; "))]
    Blocked {
        bundle: PathBuf,
        blocked: Vec<String>,
    },
    /// The store itself holds something that cannot be exported as is.
    #[error("cannot export {file}: {reason}")]
    BadStoreFile { file: String, reason: String },
    /// The selection names versions the store does not hold.
    #[error("not held in the store: {}", .0.join(", "))]
    NotHeld(Vec<String>),
    #[error("{0}")]
    Invalid(String),
}

impl BundleError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> BundleError {
        let path = path.into();
        move |source| BundleError::Io { path, source }
    }
}
