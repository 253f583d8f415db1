//! What this build is, as `godepot --version` prints it, `/healthz` answers it and the
//! start-up line logs it. The commit and date are stamped by `build.rs` (see there why the
//! date is the commit's, not the build's).

use std::sync::LazyLock;
use std::time::{Duration, UNIX_EPOCH};

/// The crate version, e.g. `0.1.0`.
pub(crate) const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The abbreviated git commit built, or `unknown` (a source tarball without `GODEPOT_COMMIT`).
pub(crate) const COMMIT: &str = env!("GODEPOT_COMMIT");

/// `YYYY-MM-DD` (UTC) of `SOURCE_DATE_EPOCH`, else of the commit, or `unknown`.
pub(crate) static BUILD_DATE: LazyLock<String> =
    LazyLock::new(|| date_of(env!("GODEPOT_BUILD_EPOCH")));

/// The UTC date of seconds since the epoch, or `unknown` for anything else (no date known).
fn date_of(epoch: &str) -> String {
    match epoch.parse::<u64>() {
        Ok(secs) => {
            let time = UNIX_EPOCH + Duration::from_secs(secs);
            godepot_bundle::time::format_rfc3339(time)[..10].to_string()
        }
        Err(_) => "unknown".to_string(),
    }
}

/// `0.1.0 (commit 6e4564e5a1b2, built 2026-12-01)`: the version line without the name.
pub(crate) static LINE: LazyLock<String> =
    LazyLock::new(|| format!("{VERSION} (commit {COMMIT}, built {})", *BUILD_DATE));

#[cfg(test)]
mod tests {
    #[test]
    fn the_date_is_of_the_epoch_seconds_or_unknown() {
        assert_eq!(super::date_of("0"), "1970-01-01");
        assert_eq!(super::date_of("1709251199"), "2024-02-29");
        assert_eq!(super::date_of(""), "unknown");
    }
}
