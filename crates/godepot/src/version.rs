//! What this build is, as `godepot --version` prints it, `/healthz` answers it and the
//! start-up line logs it. The commit and date are stamped by `build.rs` (see there why the
//! date is the commit's, not the build's).

/// The crate version, e.g. `0.1.0`.
pub(crate) const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The abbreviated git commit built, or `unknown` (a source tarball without `GODEPOT_COMMIT`).
pub(crate) const COMMIT: &str = env!("GODEPOT_COMMIT");

/// `YYYY-MM-DD` of `SOURCE_DATE_EPOCH`, else of the commit, or `unknown`.
pub(crate) const BUILD_DATE: &str = env!("GODEPOT_BUILD_DATE");

/// `0.1.0 (commit 6e4564e5a1b2, built 2026-12-01)`: the version line without the name.
pub(crate) const LINE: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("GODEPOT_COMMIT"),
    ", built ",
    env!("GODEPOT_BUILD_DATE"),
    ")"
);

#[cfg(test)]
#[path = "../build/date.rs"]
mod date;
