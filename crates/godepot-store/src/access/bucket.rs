//! Access times of a store without a local directory (a bucket served by several replicas).
//!
//! ```text
//! .godepot/access/since                # godepot access times v1 since 1767225600
//! .godepot/access/replica-<instance>   the same header (when that replica started), then
//!                                      one line per version it served, its latest time
//! ```
//!
//! Objects cannot be appended to, and replicas must never overwrite each other, so each
//! replica keeps what it noted since it started in memory and rewrites its own object whole
//! at every flush: the object is always compact (one line per version that replica served).
//! `since` is written once, by the first replica to record (`If-None-Match: *`): from then
//! on every access of every replica is noted, so a version no object names was not asked
//! for. Reading merges every replica's object, the latest time of a version winning.
//!
//! A replica's instance name is new at every start, so the objects of replicas that are
//! gone stay behind: they are kept and merged like the others (their times are still true,
//! and small: a line per version that replica served). Deleting them, or `since`, would
//! make those accesses unknown, so nothing deletes them and no lifecycle rule may expire
//! `.godepot/access/`.

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use super::log::{AccessData, AccessRecord, Recorded, compacted, header, parse};
use crate::{Store, StoreError};

const SINCE: &str = "access/since";
const REPLICA: &str = "access/replica-";

/// This replica's access object in a bucket.
pub(super) struct BucketTimes {
    store: Arc<dyn Store>,
    /// `access/replica-<instance>`.
    name: String,
    /// Everything this replica noted since it started: what its object holds once flushed.
    held: Mutex<AccessData>,
}

impl std::fmt::Debug for BucketTimes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BucketTimes")
            .field("store", &self.store.describe())
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl BucketTimes {
    /// The object of replica `instance` (a name unique to this process), recording from
    /// `now`; starts the bucket's record unless it was started before. A bucket out of
    /// reach is no reason not to serve: the record is started at the first flush then.
    pub(super) fn open(store: Arc<dyn Store>, instance: &str, now: SystemTime) -> Self {
        let times = BucketTimes {
            name: format!("{REPLICA}{instance}"),
            store,
            held: Mutex::new(AccessData::new(now)),
        };
        if let Err(e) = times.begin(now) {
            tracing::warn!(error = %e, "cannot start the access times in the bucket yet");
        }
        times
    }

    /// Starts the bucket's record from `now` unless it exists: one conditional put, a
    /// no-op when another replica started it first.
    fn begin(&self, now: SystemTime) -> Result<(), StoreError> {
        self.store
            .put_meta_if(SINCE, header(now).as_bytes(), None)
            .map(|_| ())
    }

    /// Adds these accesses to this replica's object, rewritten whole. Should `since` have
    /// gone missing, recording on the bucket starts afresh from `now`.
    pub(super) fn append(
        &self,
        records: &[AccessRecord],
        now: SystemTime,
    ) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        self.begin(now)?;
        // Held while writing, so that two flushes never put an older state over a newer.
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        for r in records {
            held.note(r.module.clone(), r.version.clone(), r.at);
        }
        self.store.put_meta(&self.name, compacted(&held).as_bytes())
    }
}

/// Every replica's times merged, since the bucket's record began.
pub(super) fn read(store: &dyn Store) -> Result<Recorded, StoreError> {
    let Some(since) = store.get_meta(SINCE)? else {
        return Ok(Recorded::Unknown(format!(
            "no access times in {} (is this store served by godepot serve?)",
            store.describe()
        )));
    };
    let located = |name: &str| format!("{}/.godepot/{name}", store.describe());
    let mut merged = match parse(&String::from_utf8_lossy(&since)) {
        Ok(data) => AccessData::new(data.since),
        Err(why) => return Ok(Recorded::Unknown(format!("{}: {why}", located(SINCE)))),
    };
    for name in store.list_meta("access")? {
        if !name.starts_with(REPLICA) {
            continue;
        }
        // Listed, then gone: a deletion by hand; what it said is no longer known.
        let Some(text) = store.get_meta(&name)? else {
            return Ok(Recorded::Unknown(format!("{}: vanished", located(&name))));
        };
        match parse(&String::from_utf8_lossy(&text)) {
            Ok(data) => {
                for (module, version, at) in data.iter() {
                    merged.note(module.clone(), version.clone(), at);
                }
            }
            Err(why) => return Ok(Recorded::Unknown(format!("{}: {why}", located(&name)))),
        }
    }
    Ok(Recorded::Known(merged))
}
