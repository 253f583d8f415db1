//! The Go vulnerability database, with no I/O of its own.
//!
//! The database is a tree of JSON files in a documented layout (the "v1 schema"):
//!
//! | file                  | contents                                                       |
//! |-----------------------|----------------------------------------------------------------|
//! | `index/db.json`       | `{"modified": T}`: when the newest entry was last modified      |
//! | `index/modules.json`  | `[{"path", "vulns": [{"id", "modified", "fixed"?}]}]`           |
//! | `index/vulns.json`    | `[{"id", "modified", "aliases"?}]` (optional here)              |
//! | `ID/<id>.json`        | one OSV entry                                                   |
//!
//! Over HTTP each file is also asked for as `<file>.gz` (gzip of the same bytes): that is
//! what `govulncheck` requests. This crate knows the layout ([`layout`]), reads the files
//! into models that keep every field they do not name ([`model`]; the bytes a client is
//! given are never re-serialized from them), checks a whole copy for consistency
//! ([`validate`]), decides which versions an entry's ranges cover exactly as govulncheck
//! does ([`range`]), and answers "which entries affect this module version"
//! ([`VulnDb::affecting`]).
//!
//! Callers own all reading, writing and fetching.

mod db;
pub mod layout;
pub mod model;
pub mod range;
mod time;
pub mod validate;

pub use db::{Finding, VulnDb};
pub use layout::{DbFile, DbPath, PathError};
pub use model::{DbMeta, Entry, ModelError, ModuleMeta, ModuleVuln};
pub use time::{Timestamp, TimestampError};
pub use validate::{DbCopy, Invalid, Problem, validate};

/// The pseudo-module under which the database lists the standard library.
pub const STDLIB: &str = "stdlib";
/// The pseudo-module under which the database lists the go command itself.
pub const TOOLCHAIN: &str = "toolchain";
