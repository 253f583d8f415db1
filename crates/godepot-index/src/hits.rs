//! Downloads counted in memory and written in batches: a write transaction per request would
//! put the database's lock on the hot path.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, params};

use crate::IndexError;

/// Counts since the last flush, by `(module, version)`: hits and the last access (seconds).
pub(crate) type Pending = HashMap<(String, String), (u64, i64)>;

#[derive(Debug, Default)]
pub(crate) struct Hits {
    pending: Mutex<Pending>,
}

impl Hits {
    pub(crate) fn record(&self, module: &str, version: &str) {
        let now = now_secs();
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let entry = pending
            .entry((module.to_string(), version.to_string()))
            .or_insert((0, now));
        entry.0 += 1;
        entry.1 = now;
    }

    pub(crate) fn take(&self) -> Pending {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Adds the counts to the rows (a version no longer indexed loses its counts).
pub(crate) fn write(conn: &mut Connection, pending: &Pending) -> Result<(), IndexError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    {
        let mut update = tx.prepare_cached(
            "UPDATE versions SET hits = hits + ?3, last_access = max(coalesce(last_access, 0), ?4)
             WHERE module = ?1 AND version = ?2",
        )?;
        for ((module, version), (hits, last)) in pending {
            update.execute(params![module, version, *hits as i64, last])?;
        }
    }
    tx.commit()?;
    Ok(())
}

pub(crate) fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}
