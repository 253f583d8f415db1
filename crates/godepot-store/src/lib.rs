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
//! - [`atomic`]: the one helper every local write goes through.
//! - [`walk_tree`]: what a tree holds, found by walking it (export, import, verify, ls).
//! - [`cache`]: [`CachedStore`], a bounded local disk cache of immutable artifacts in front
//!   of any store (`--cache-dir`).
//! - [`access`]: when each version was last asked for (derived data, for `gc`).
//! - [`format`]: the data directory's format version (`.godepot/format`), checked on open.
//!
//! The store never touches the network and knows nothing of HTTP.

pub mod access;
pub mod atomic;
pub mod cache;
mod error;
pub mod format;
pub mod key;
pub mod local;
mod store;

pub use cache::{CachedStore, DiskCache};
pub use error::StoreError;
pub use key::{ArtifactKey, Kind};
pub use local::{HeldKinds, ListDrift, LocalStore, TreeEntry, TreeFile, classify, walk_tree};
pub use store::{Artifact, ClosedSpool, PutOutcome, Spool, Store, StoreObserver};
