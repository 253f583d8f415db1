//! Checksum-database data in bundles and stores.
//!
//! A store keeps the answers of the databases it proxies under
//! `.godepot/sumdb/<name>/{latest,lookup/…,tile/…}` (see the depot). A bundle carries them as
//! `sumdb/<name>/…`, which is also where a `GOPROXY=file://` tree serves them from, with an
//! empty `sumdb/<name>/supported` so that the go command (with `GOSUMDB` on) asks the tree
//! instead of the database itself.
//!
//! - [`cache`]: reading a store's cached answers;
//! - [`records`]: checking artifacts and answers against them with a known key, the same
//!   checks the depot makes of what it fetches (`godepot_sumdb::check`).

pub(crate) mod cache;
pub(crate) mod records;
pub(crate) mod select;

use godepot_sumdb::DatabaseSpec;

/// Where database files sit inside a bundle (and a `GOPROXY=file://` tree).
pub const BUNDLE_PREFIX: &str = "sumdb/";

/// Which databases to check against, when importing or verifying.
#[derive(Debug, Clone, Default)]
pub struct SumdbCheck {
    /// The first database with a key is the one artifacts are checked against; data of the
    /// others (and of unlisted ones) is only checked for form.
    pub databases: Vec<DatabaseSpec>,
    /// `GONOSUMDB`-style patterns: matching modules are not looked up.
    pub skip: String,
}

impl SumdbCheck {
    /// The database artifacts are checked against, if any has a key.
    pub fn keyed(&self) -> Option<&DatabaseSpec> {
        self.databases.iter().find(|d| d.key.is_some())
    }

    /// Whether `module` is to be checked at all.
    pub(crate) fn covers(&self, module: &str) -> bool {
        self.keyed().is_some() && !godepot_module::matches_glob_prefix(&self.skip, module)
    }
}
