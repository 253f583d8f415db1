//! Retention (`godepot gc`): removing the versions no client asked for in a while.
//!
//! A version goes when all of these hold, and is kept otherwise (the report says why):
//! - it is not among the newest `keep_latest` of its module (by semantic version, counting
//!   the versions a client can download first: those are what `@latest` picks);
//! - no `--keep` project needs it (resolved from the store by the caller);
//! - the access times ([`godepot_store::access`]: the data directory's log, or on a bucket
//!   every replica's object merged) are readable, and say no client asked for it since the
//!   cutoff. A version with no noted access counts as used when recording began
//!   (or when it was stored, if later): the log is complete from its start, so "not noted"
//!   means "not asked for since then". Without a readable log every version is kept.
//!
//! Noted times lag the real access by up to [`RESOLUTION`], which is added before comparing.
//! Removal goes through the quarantine, as `godepot rm` does (one move per file, the zip
//! first, then the list brought in step), then the batch is purged: gc is for freeing space.
//! All of it through the [`Store`] trait, so a bucket is collected as a data directory is. A
//! download under way keeps its open file: on Unix an unlinked file lives until its last
//! reader closes it (an object being streamed from a bucket is read to its end).

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use godepot_module::{ModulePath, Version};
use godepot_store::Store;
use godepot_store::access::{AccessData, RESOLUTION, Recorded};
use serde::Serialize;

use crate::BundleError;
use crate::ls::{ModuleListing, VersionListing, list};
use crate::remove::quarantine_files;
use crate::time::format_rfc3339;

/// What to collect.
#[derive(Debug, Clone)]
pub struct GcOptions {
    /// A version no client asked for in this long may go.
    pub unused_for: Duration,
    /// The newest this many versions of each module always stay.
    pub keep_latest: usize,
    /// Only modules matching (as for `ls`).
    pub modules: Option<String>,
    /// Versions that stay whatever their use (what the `--keep` projects need).
    pub keep: HashSet<(ModulePath, Version)>,
    /// Remove; otherwise only report what would go.
    pub remove: bool,
    pub now: SystemTime,
}

/// Why a version stays, or that it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// No client asked for it since the cutoff: removed (or, in a dry run, would be).
    Unused,
    /// Among the newest `keep_latest` of its module.
    Latest,
    /// A `--keep` project needs it.
    Needed,
    /// Asked for (or stored) since the cutoff.
    Used,
    /// No readable access log: nothing is known of its use.
    Unknown,
}

/// One version gc looked at.
#[derive(Debug, Clone, Serialize)]
pub struct GcVersion {
    pub module: String,
    pub version: String,
    pub bytes: u64,
    /// Its latest noted access, if any.
    pub last_access: Option<String>,
    pub verdict: Verdict,
}

/// What gc did (or, in a dry run, would do).
#[derive(Debug, Clone, Serialize)]
pub struct GcReport {
    pub dry_run: bool,
    /// Versions not asked for since this time may go.
    pub cutoff: String,
    /// Since when access times have been recorded, when the log is readable.
    pub recording_since: Option<String>,
    /// Why nothing is known of any version's use, when the log is not readable.
    pub access_unknown: Option<String>,
    /// Removed (in a dry run: would be).
    pub removed: Vec<GcVersion>,
    pub removed_bytes: u64,
    pub kept: Vec<GcVersion>,
    pub kept_bytes: u64,
    /// Versions whose removal failed (the rest went on).
    pub failed: Vec<GcFailure>,
}

/// A version gc could not remove.
#[derive(Debug, Clone, Serialize)]
pub struct GcFailure {
    /// `module@version`.
    pub target: String,
    pub error: String,
}

/// Decides every version of the store (matching `options.modules`), and removes the unused
/// ones unless it is a dry run.
pub fn gc(store: &dyn Store, options: &GcOptions) -> Result<GcReport, BundleError> {
    let listing = list(store.walk()?, &[], options.modules.as_deref())?;
    let recorded = godepot_store::access::read(store)?;
    let cutoff = options
        .now
        .checked_sub(options.unused_for)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let mut report = GcReport {
        dry_run: !options.remove,
        cutoff: format_rfc3339(cutoff),
        recording_since: None,
        access_unknown: None,
        removed: Vec::new(),
        removed_bytes: 0,
        kept: Vec::new(),
        kept_bytes: 0,
        failed: Vec::new(),
    };
    let access = match recorded {
        Recorded::Known(data) => {
            report.recording_since = Some(format_rfc3339(data.since));
            Some(data)
        }
        Recorded::Unknown(why) => {
            report.access_unknown = Some(why);
            None
        }
    };
    let batch = format!(
        "gc-{}-{}",
        crate::time::format_compact(options.now),
        std::process::id()
    );
    for module in &listing.modules {
        let Ok(path) = ModulePath::parse(&module.path) else {
            continue;
        };
        let latest = newest(module, options.keep_latest);
        for v in &module.versions {
            let Ok(version) = Version::for_module(&path, &v.version) else {
                continue;
            };
            let noted = access.as_ref().and_then(|a| a.last(&path, &version));
            let verdict = if latest.contains(&v.version.as_str()) {
                Verdict::Latest
            } else if options.keep.contains(&(path.clone(), version.clone())) {
                Verdict::Needed
            } else {
                match &access {
                    None => Verdict::Unknown,
                    Some(a) if in_use_until(a, noted, v) >= cutoff => Verdict::Used,
                    Some(_) => Verdict::Unused,
                }
            };
            let entry = GcVersion {
                module: module.path.clone(),
                version: v.version.clone(),
                bytes: v.bytes,
                last_access: noted.map(format_rfc3339),
                verdict,
            };
            if verdict != Verdict::Unused {
                report.kept_bytes += v.bytes;
                report.kept.push(entry);
                continue;
            }
            if options.remove
                && let Err(e) = quarantine_files(store, &path, &version, &batch)
            {
                report.failed.push(GcFailure {
                    target: format!("{path}@{version}"),
                    error: e.to_string(),
                });
                report.kept_bytes += v.bytes;
                report.kept.push(entry);
                continue;
            }
            report.removed_bytes += v.bytes;
            report.removed.push(entry);
        }
    }
    if options.remove {
        store.purge_quarantine(&batch)?;
    }
    Ok(report)
}

/// The latest a version can have been asked for: its noted access (or the start of
/// recording, when none was noted), plus the hour a noted time may lag; or when it was
/// stored, if later.
fn in_use_until(access: &AccessData, noted: Option<SystemTime>, v: &VersionListing) -> SystemTime {
    let noted = noted.unwrap_or(access.since).max(access.since);
    (noted + RESOLUTION).max(v.stored)
}

/// The newest `n` versions of the module: those a client can download first (a version held
/// only for its go.mod, or a pseudo-version, is never what `@latest` picks), then the rest.
fn newest(module: &ModuleListing, n: usize) -> Vec<&str> {
    let mut ranked: Vec<(bool, Version, &str)> = module
        .versions
        .iter()
        .filter_map(|v| {
            let parsed = Version::parse(&v.version).ok()?;
            let offered = v.is_complete() && !parsed.is_pseudo();
            Some((offered, parsed, v.version.as_str()))
        })
        .collect();
    ranked.sort_by(|a, b| (b.0, &b.1).cmp(&(a.0, &a.1)));
    ranked.into_iter().take(n).map(|(_, _, v)| v).collect()
}

#[cfg(test)]
mod tests;
