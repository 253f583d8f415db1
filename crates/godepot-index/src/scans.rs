//! Licences found off the request path.
//!
//! Reading a zip's licence files and matching them against the SPDX texts takes tens of
//! milliseconds; the store's observer runs inside its `put`, so done there it delays every
//! zip the depot fetches by that much. A zip held in a local file is handed to one worker
//! thread instead, as the open file (zips are written once, and an open file keeps its bytes
//! when the store moves or removes it): the observer writes the row at once with its licence
//! left empty, and the worker fills it in. A zip that is not a local file (a bucket's, which
//! must be spooled first) is still read in the observer, as is every zip when the queue is
//! full, which bounds both the files held open and the work left behind.
//!
//! Readers of licences ([`crate::Index::module`]) first wait for the scans queued before they
//! asked ([`Scans::settle`], bounded), so an answer never lacks a licence the store already
//! had. A clean close ([`Scans::close`]) finishes the queue; a process that dies with scans
//! queued leaves its writer's marker behind, so the next opener rebuilds the index, which
//! finds those licences again.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, params};

/// Zips queued at most; past it the observer reads the licence itself.
pub(crate) const QUEUE: usize = 64;
/// How long a reader waits at most for the scans queued before it asked.
const SETTLE: Duration = Duration::from_secs(5);

/// One zip to scan: the version's row is updated only while its zip is still of this size.
struct Job {
    module: String,
    version: String,
    zip_size: i64,
    file: File,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Job>,
    /// The zip size of every version queued or being scanned.
    pending: HashMap<(String, String), i64>,
    /// Jobs ever queued, and jobs finished (the zip read, or dropped when no worker could
    /// start).
    queued: u64,
    done: u64,
    closing: bool,
    /// Tests hold the worker still to look at what the observer alone wrote.
    paused: bool,
}

pub(crate) struct Scans {
    state: Mutex<State>,
    changed: Condvar,
    worker: Mutex<Option<JoinHandle<()>>>,
}

/// What the observer does with a zip whose licence it does not know.
pub(crate) enum Offer {
    /// Queued, or already queued for this zip: leave the licence empty for now.
    Deferred,
    /// Not taken (the queue is full, or the index is closing): read it now.
    Inline(File),
}

impl Scans {
    pub(crate) fn new() -> Arc<Scans> {
        Arc::new(Scans {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            worker: Mutex::new(None),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Offers the zip of `module@version` (its open file, `zip_size` bytes) to the worker,
    /// which writes its licence through `writer`. Called with the writer's lock held (the
    /// observer's transaction): the worker's update cannot run before that row is committed.
    pub(crate) fn offer(
        self: &Arc<Self>,
        writer: &Arc<Mutex<Connection>>,
        module: &str,
        version: &str,
        zip_size: i64,
        file: File,
    ) -> Offer {
        let mut state = self.lock();
        let key = (module.to_string(), version.to_string());
        if state.pending.get(&key) == Some(&zip_size) {
            return Offer::Deferred;
        }
        if state.closing || state.queue.len() >= QUEUE {
            return Offer::Inline(file);
        }
        state.pending.insert(key, zip_size);
        state.queue.push_back(Job {
            module: module.to_string(),
            version: version.to_string(),
            zip_size,
            file,
        });
        state.queued += 1;
        drop(state);
        self.changed.notify_all();
        self.start(writer);
        Offer::Deferred
    }

    /// Starts the worker on the first zip queued: a process that never stores one (a
    /// server that only serves) has no thread for it.
    fn start(self: &Arc<Self>, writer: &Arc<Mutex<Connection>>) {
        let mut worker = self.worker.lock().unwrap_or_else(|e| e.into_inner());
        if worker.is_some() {
            return;
        }
        let (scans, writer) = (Arc::clone(self), Arc::clone(writer));
        let spawned = std::thread::Builder::new()
            .name("index-licences".into())
            .spawn(move || scans.work(&writer));
        match spawned {
            Ok(handle) => *worker = Some(handle),
            // No thread: what is queued is dropped (rows keep no licence, as for a zip that
            // cannot be read) and nothing more is queued.
            Err(e) => {
                tracing::warn!(error = %e, "module index: no thread for licence scans; reading them inline");
                let mut state = self.lock();
                state.closing = true;
                let dropped = state.queue.len() as u64;
                state.queue.clear();
                state.pending.clear();
                state.done += dropped;
                drop(state);
                self.changed.notify_all();
            }
        }
    }

    fn work(&self, writer: &Mutex<Connection>) {
        loop {
            let job = {
                let mut state = self.lock();
                loop {
                    if !state.paused {
                        if let Some(job) = state.queue.pop_front() {
                            break job;
                        }
                        if state.closing {
                            return;
                        }
                    }
                    state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
                }
            };
            let found =
                crate::files::detect(io::BufReader::new(&job.file), &job.module, &job.version);
            if let Some((license, confidence)) = found {
                let conn = writer.lock().unwrap_or_else(|e| e.into_inner());
                let updated = conn.execute(
                    "UPDATE versions SET license = ?1, license_confidence = ?2
                     WHERE module = ?3 AND version = ?4 AND zip_size = ?5",
                    params![license, confidence, job.module, job.version, job.zip_size],
                );
                if let Err(e) = updated {
                    // Derived data: the row keeps no licence until the next rebuild.
                    tracing::warn!(module = %job.module, version = %job.version, error = %e, "module index: licence not written");
                    let _ = crate::schema::mark_dirty(&conn);
                }
            }
            let mut state = self.lock();
            let key = (job.module, job.version);
            if state.pending.get(&key) == Some(&job.zip_size) {
                state.pending.remove(&key);
            }
            state.done += 1;
            drop(state);
            self.changed.notify_all();
        }
    }

    /// Waits until every scan queued before this call is done, for at most [`SETTLE`].
    pub(crate) fn settle(&self) {
        let deadline = Instant::now() + SETTLE;
        let mut state = self.lock();
        let target = state.queued;
        while state.done < target {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            state = self
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Finishes what is queued (at most [`QUEUE`] zips) and stops the worker.
    pub(crate) fn close(&self) {
        {
            let mut state = self.lock();
            state.closing = true;
            state.paused = false;
        }
        self.changed.notify_all();
        let worker = self.worker.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(worker) = worker {
            let _ = worker.join();
        }
    }

    #[cfg(test)]
    pub(crate) fn pause(&self, paused: bool) {
        self.lock().paused = paused;
        self.changed.notify_all();
    }

    #[cfg(test)]
    pub(crate) fn scanned(&self) -> u64 {
        self.lock().done
    }
}
