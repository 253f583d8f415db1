//! When each module version was last asked for: what `godepot gc` decides by.
//!
//! Recording must cost a request nothing measurable, so a hit only touches memory: the
//! [`AccessRecorder`] notes a version at most once per [`RESOLUTION`] (an hour) and a
//! background task appends what was noted to the log ([`log`], under `.godepot/access/`)
//! every few seconds. On a bucket each replica writes an object of its own instead, and
//! readers merge them ([`bucket`]); [`read`] reads either. The log is derived data: deleting it loses the times, and then every
//! version's last access is *unknown*, which gc treats as "keep", never as "unused".
//!
//! What the times mean, for whoever reads them:
//! - A noted time is at most [`RESOLUTION`] older than the version's latest access (later
//!   accesses within the hour are not noted), so readers add it as slack.
//! - Accesses noted in memory but not yet appended are lost with the process (`kill -9`,
//!   a crash): at most one flush interval of them.
//! - Only `godepot serve` records. Clients reading the tree some other way (a static file
//!   server, `GOPROXY=file://`) are not seen.

mod bucket;
mod log;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use godepot_module::{ModulePath, Version};

pub use log::{AccessData, AccessRecord, AccessTimes, Recorded};

use crate::{Store, StoreError};
use bucket::BucketTimes;

/// How often one version's access is noted at most; also how much older than the latest
/// access a noted time may be.
pub const RESOLUTION: Duration = Duration::from_secs(3600);

/// Compaction once the log has grown to this many times its size after the last one (and
/// at least [`COMPACT_FLOOR`]), so it stays proportional to the versions asked for.
const COMPACT_GROWTH: u64 = 4;
const COMPACT_FLOOR: u64 = 1 << 20;

/// Where the time comes from: the system clock, or a test's.
pub trait Clock: Send + Sync {
    fn now(&self) -> SystemTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// The access times of a store, however it keeps them: its log on disk, or every replica's
/// object merged on a bucket (any store without a local root).
pub fn read(store: &dyn Store) -> Result<Recorded, StoreError> {
    match store.local_root() {
        Some(root) => AccessTimes::new(root).read(),
        None => bucket::read(store),
    }
}

/// Where a recorder writes.
#[derive(Debug)]
enum Sink {
    /// The data directory's append-only log, shared by its processes.
    Log(AccessTimes),
    /// This replica's own object in a bucket.
    Bucket(BucketTimes),
}

/// Notes accesses in memory and appends them to the store's access log when flushed.
pub struct AccessRecorder {
    sink: Sink,
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// When each version was last noted by this process (pruned once older than an hour).
    noted: HashMap<ModulePath, HashMap<Version, SystemTime>>,
    /// Noted, not yet appended.
    pending: Vec<AccessRecord>,
    /// The log's size after this process last compacted it; `None` before the first time.
    compacted: Option<u64>,
}

impl std::fmt::Debug for AccessRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessRecorder")
            .field("sink", &self.sink)
            .finish_non_exhaustive()
    }
}

impl AccessRecorder {
    /// A recorder for the store at `data_dir`; starts the log unless it exists.
    pub fn open(data_dir: &Path, clock: Arc<dyn Clock>) -> Result<Self, StoreError> {
        let log = AccessTimes::new(data_dir);
        log.begin(clock.now())?;
        Ok(AccessRecorder {
            sink: Sink::Log(log),
            clock,
            state: Mutex::new(State::default()),
        })
    }

    /// A recorder for replica `instance` (unique to this process) of a bucket's store; starts
    /// the bucket's record unless another replica did.
    pub fn open_bucket(store: Arc<dyn Store>, instance: &str, clock: Arc<dyn Clock>) -> Self {
        let times = BucketTimes::open(store, instance, clock.now());
        AccessRecorder {
            sink: Sink::Bucket(times),
            clock,
            state: Mutex::new(State::default()),
        }
    }

    /// A client was served `module@version` (its `.info`, `.mod` or `.zip`). Memory only:
    /// one map lookup, and a clone of the names once an hour per version.
    pub fn note(&self, module: &ModulePath, version: &Version) {
        let now = self.clock.now();
        let mut state = self.lock();
        let seen = state.noted.get(module).and_then(|vs| vs.get(version));
        if seen.is_some_and(|t| within_resolution(now, *t)) {
            return;
        }
        state
            .noted
            .entry(module.clone())
            .or_default()
            .insert(version.clone(), now);
        state.pending.push(AccessRecord {
            module: module.clone(),
            version: version.clone(),
            at: now,
        });
    }

    /// Appends what was noted since the last flush (compacting the log when it has grown);
    /// returns how many accesses were written. On failure they are kept for the next try.
    pub fn flush(&self) -> Result<usize, StoreError> {
        let (pending, compacted) = {
            let mut state = self.lock();
            let now = self.clock.now();
            state.noted.retain(|_, versions| {
                versions.retain(|_, t| within_resolution(now, *t));
                !versions.is_empty()
            });
            (std::mem::take(&mut state.pending), state.compacted)
        };
        let appended = match &self.sink {
            Sink::Log(log) => log.append(&pending, self.clock.now()),
            Sink::Bucket(times) => times.append(&pending, self.clock.now()),
        };
        if let Err(e) = appended {
            let mut state = self.lock();
            let newer = std::mem::replace(&mut state.pending, pending);
            state.pending.extend(newer);
            return Err(e);
        }
        // A replica's object is rewritten compact every time; only the log grows.
        if let Sink::Log(log) = &self.sink {
            let size = log.size()?;
            let due =
                compacted.is_none_or(|after| size > (after * COMPACT_GROWTH).max(COMPACT_FLOOR));
            if due {
                let after = log.compact(self.clock.now())?;
                self.lock().compacted = Some(after);
            }
        }
        Ok(pending.len())
    }

    /// Flushes every `every`, for as long as the server runs (spawn it). Failures are
    /// logged; the accesses are retried at the next tick.
    pub async fn flush_every(self: Arc<Self>, every: Duration) {
        loop {
            tokio::time::sleep(every).await;
            self.flush_logged().await;
        }
    }

    /// [`AccessRecorder::flush`] on the blocking pool, a failure logged (also for the last
    /// flush when the server stops).
    pub async fn flush_logged(self: &Arc<Self>) {
        let recorder = Arc::clone(self);
        match tokio::task::spawn_blocking(move || recorder.flush()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot record access times"),
            Err(e) => tracing::warn!(error = %e, "access-time flush failed"),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Whether `noted` is less than [`RESOLUTION`] before `now` (a clock that went back counts
/// as not: the version is noted again).
fn within_resolution(now: SystemTime, noted: SystemTime) -> bool {
    now.duration_since(noted).is_ok_and(|d| d < RESOLUTION)
}

#[cfg(test)]
mod tests;
