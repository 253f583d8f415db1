//! A small in-memory cache of hot small artifacts (`.info`, `.mod`, and zips of small modules).
//! They are immutable, so a copy never goes stale, and serving one from memory saves the
//! open/stat/read/close and the hand-off to the blocking pool that would otherwise dominate a
//! hit. Bounded in bytes, so idle memory stays small.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::SystemTime;

use bytes::Bytes;
use godepot_store::ArtifactKey;

/// Total bytes kept.
const BUDGET: usize = 4 << 20;
/// Larger artifacts are served from disk every time: a few big go.mod files must not push
/// out hundreds of typical ones.
pub(crate) const MAX_ENTRY: u64 = 64 << 10;

#[derive(Clone)]
pub(crate) struct Hot {
    pub(crate) data: Bytes,
    pub(crate) modified: SystemTime,
}

#[derive(Default)]
pub(crate) struct HotCache {
    /// std's mutex: held for one map operation, never across an await.
    inner: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    map: HashMap<ArtifactKey, Hot>,
    bytes: usize,
}

impl HotCache {
    pub(crate) fn get(&self, key: &ArtifactKey) -> Option<Hot> {
        self.lock().map.get(key).cloned()
    }

    /// Drops `key` (its file was taken out of the store).
    pub(crate) fn remove(&self, key: &ArtifactKey) {
        let mut entries = self.lock();
        if let Some(old) = entries.map.remove(key) {
            entries.bytes -= old.data.len();
        }
    }

    pub(crate) fn insert(&self, key: ArtifactKey, hot: Hot) {
        let len = hot.data.len();
        if len as u64 > MAX_ENTRY {
            return;
        }
        let mut entries = self.lock();
        // Evict arbitrary entries until the new one fits: for a cache this size, simpler
        // than LRU bookkeeping on every hit, and hits stay a single lookup.
        while entries.bytes + len > BUDGET {
            let Some(victim) = entries.map.keys().next().cloned() else {
                break;
            };
            if let Some(old) = entries.map.remove(&victim) {
                entries.bytes -= old.data.len();
            }
        }
        if let Some(old) = entries.map.insert(key, hot) {
            entries.bytes -= old.data.len();
        }
        entries.bytes += len;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use godepot_module::{ModulePath, Version};
    use godepot_store::Kind;

    fn key(n: usize) -> ArtifactKey {
        ArtifactKey::new(
            ModulePath::parse(&format!("example.com/m{n}")).unwrap(),
            Version::parse("v1.0.0").unwrap(),
            Kind::Mod,
        )
    }

    fn hot(len: usize) -> Hot {
        Hot {
            data: Bytes::from(vec![b'x'; len]),
            modified: SystemTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn stays_within_its_budget() {
        let cache = HotCache::default();
        for n in 0..200 {
            cache.insert(key(n), hot(60 << 10));
        }
        let entries = cache.lock();
        assert!(entries.bytes <= BUDGET);
        assert_eq!(entries.bytes, entries.map.len() * (60 << 10));
        drop(entries);
        assert!(cache.get(&key(199)).is_some());
    }

    #[test]
    fn large_artifacts_are_not_kept() {
        let cache = HotCache::default();
        cache.insert(key(1), hot(MAX_ENTRY as usize + 1));
        assert!(cache.get(&key(1)).is_none());
    }
}
