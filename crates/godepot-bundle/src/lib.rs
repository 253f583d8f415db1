//! Air-gap bundles and store maintenance: everything godepot does with a whole store at once.
//!
//! - [`export`]: one bundle file, a zstd-compressed tar whose content is itself a
//!   `GOPROXY=file://` tree, led by a manifest ([`manifest`]) of every file it carries.
//! - [`import`]: takes in a bundle, any `GOPROXY=file://` tree or a module cache, checking
//!   every artifact ([`check`]) before it becomes visible.
//! - [`verify`]: re-hashes what a store holds; optionally quarantines what is bad.
//! - [`ls`]: what a store holds, module by module.
//! - [`diff`]: whether two stores or bundles hold the same bytes.
//! - [`gc`]: removing the versions no client asked for in a while.
//!
//! No network, no printing: callers pass a [`Progress`] and render the returned summaries.

pub mod check;
pub mod diff;
mod error;
pub mod export;
pub mod gc;
mod gosum;
mod hashing;
pub mod import;
pub mod ls;
pub mod manifest;
mod parallel;
mod progress;
pub mod remove;
mod select;
pub mod sumdb;
pub mod time;
pub mod verify;
pub mod vulndb;

pub use error::BundleError;
pub use gosum::GoSums;
pub use progress::{NoProgress, Progress};
pub use select::Selection;

#[cfg(test)]
mod testutil;
