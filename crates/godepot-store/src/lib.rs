//! The store: godepot's durable memory of every module artifact it has served.
//!
//! The store *is* a `GOPROXY=file://` tree, laid out exactly like the go command's
//! `$GOMODCACHE/cache/download`:
//!
//! ```text
//! <escaped module>/@v/list                    versions downloadable (.info+.mod+.zip; no pseudo-versions)
//! <escaped module>/@v/<escaped version>.info  .mod  .zip  .ziphash
//! .godepot/                                   godepot's own metadata (no module path starts with a dot)
//! ```
//!
//! Files are the truth. Anything else godepot keeps (mutable-answer caches, indexes) lives under
//! `.godepot/` and can be thrown away. Every write is atomic: a crash never leaves a partial
//! artifact visible.
//!
//! - [`key`]: which file an artifact lives in.
//! - [`Store`]: the storage trait the service is written against.
//! - [`local`]: the local-disk implementation.
//! - [`object`]: the object-storage implementation (S3 and compatible), the same tree as keys.
//! - [`open_url`]: opens either from a `--storage` URL.
//! - [`atomic`]: the one helper every local write goes through.
//! - [`walk_tree`]: what a tree holds, found by walking it (export, import, verify, ls).
//! - [`cache`]: [`CachedStore`], a bounded local disk cache of immutable artifacts in front
//!   of any store (`--cache-dir`).
//! - [`access`]: when each version was last asked for (derived data, for `gc`).
//! - [`format`]: the data directory's format version (`.godepot/format`), checked on open.
//!
//! The local store never touches the network; the object store speaks to its bucket only.

pub mod access;
pub mod atomic;
pub mod cache;
pub mod chunks;
pub mod compliance;
mod error;
pub mod format;
pub mod key;
pub mod local;
pub mod object;
mod store;

pub use cache::{CachedStore, DiskCache};
pub use error::StoreError;
pub use key::{ArtifactKey, Kind};
pub use local::{HeldKinds, ListDrift, LocalStore, TreeEntry, TreeFile, classify, walk_tree};
pub use store::{
    Artifact, ArtifactBody, ClosedSpool, MetaVersion, PutOutcome, Spool, Store, StoreObserver,
};

use std::path::PathBuf;
use std::sync::Arc;

/// How to open a store from its URL ([`open_url`]).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct OpenOptions {
    /// A local directory for spools and scratch files of a store that is not on local disk
    /// (object storage); the system's temporary directory when `None`. A local store always
    /// uses its own `.godepot/tmp/`, on the same file system as the tree.
    pub scratch_dir: Option<PathBuf>,
}

/// Opens the store a `--storage` URL names:
///
/// - `file:///path` (or a plain path): the local store at that directory ([`LocalStore`]);
/// - `s3://bucket/prefix`: object storage, the same `GOPROXY=file://` tree under `prefix/`
///   (credentials and endpoint from the standard `AWS_*` environment, never from the URL).
///
/// Errors name the URL without credentials.
pub fn open_url(url: &str, options: &OpenOptions) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("s3://") {
        let store = object::ObjectStore::open_s3(url, options.scratch_dir.as_deref())?;
        return Ok(Arc::new(store));
    }
    if let Some(path) = url.strip_prefix("file://") {
        if !path.starts_with('/') {
            return Err(StoreError::InvalidUrl {
                url: url.to_string(),
                reason: "a file:// URL needs an absolute path (file:///path)".into(),
            });
        }
        return Ok(Arc::new(LocalStore::open(path)?));
    }
    match url.split_once("://") {
        None => Ok(Arc::new(LocalStore::open(url)?)),
        Some((scheme, _)) => Err(StoreError::InvalidUrl {
            url: url.to_string(),
            reason: format!("unsupported scheme {scheme}:// (use file:// or s3://)"),
        }),
    }
}
