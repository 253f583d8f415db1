//! Counts of what prefetch has done so far, shared by the tasks that do it.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};

use godepot_depot::{Kept, Outcome};
use godepot_resolve::Problem;

use crate::Progress;
use crate::artifact::Artifact;

#[derive(Default)]
pub(crate) struct Counts {
    pub(crate) fetched: u64,
    pub(crate) already_held: u64,
    /// Bytes received from upstream.
    pub(crate) bytes_fetched: u64,
    /// Bytes of every artifact needed, held before or not.
    pub(crate) bytes_total: u64,
    /// Artifacts kept or refused: each is counted once, however often it is asked for.
    pub(crate) done: BTreeSet<Artifact>,
    pub(crate) failures: Vec<Problem>,
}

/// [`Counts`] behind a lock, and where each step is reported as it happens.
#[derive(Clone)]
pub(crate) struct Tally {
    counts: Arc<Mutex<Counts>>,
    progress: Arc<dyn Progress>,
}

impl Tally {
    pub(crate) fn new(progress: Arc<dyn Progress>) -> Self {
        Tally {
            counts: Arc::default(),
            progress,
        }
    }

    pub(crate) fn progress(&self) -> &dyn Progress {
        self.progress.as_ref()
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn kept(&self, artifact: &Artifact, kept: &Kept) {
        let mut counts = self.lock();
        if !counts.done.insert(artifact.clone()) {
            return;
        }
        counts.bytes_total += kept.len;
        match kept.outcome {
            Outcome::AlreadyHeld => counts.already_held += 1,
            Outcome::Stored => {
                counts.fetched += 1;
                counts.bytes_fetched += kept.len;
            }
        }
        self.progress.kept(artifact, kept);
    }

    pub(crate) fn failed(&self, artifact: &Artifact, error: String) {
        let mut counts = self.lock();
        if !counts.done.insert(artifact.clone()) {
            return;
        }
        self.progress.failed(&artifact.to_string(), &error);
        counts
            .failures
            .push(Problem::new(artifact.to_string(), error));
    }
}
