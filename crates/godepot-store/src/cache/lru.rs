//! The bookkeeping of the disk cache, apart from the files: which entries it holds, their
//! sizes, and the order they were last used in. Pure, so the eviction rules are tested on
//! their own.

use std::collections::{BTreeMap, HashMap};

/// Ticks given to entries used while this process runs start here; entries adopted from an
/// earlier run's files take the ticks below it, oldest first, so they go before any entry
/// used since start-up.
pub(super) const LIVE_TICKS: u64 = 1 << 48;

#[derive(Debug)]
pub(super) struct Lru {
    entries: HashMap<String, Entry>,
    /// Tick of last use → entry; the first is the least recently used.
    order: BTreeMap<u64, String>,
    total: u64,
    next: u64,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    size: u64,
    tick: u64,
}

impl Lru {
    pub(super) fn new() -> Self {
        Lru {
            entries: HashMap::new(),
            order: BTreeMap::new(),
            total: 0,
            next: LIVE_TICKS,
        }
    }

    /// Bytes held by the entries known.
    pub(super) fn total(&self) -> u64 {
        self.total
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Marks `rel` as used now: inserts it with `size` if it was not known.
    pub(super) fn touch(&mut self, rel: &str, size: u64) {
        let tick = self.next;
        self.next += 1;
        match self.entries.get_mut(rel) {
            Some(entry) => {
                self.order.remove(&entry.tick);
                entry.tick = tick;
            }
            None => {
                self.entries.insert(rel.to_string(), Entry { size, tick });
                self.total += size;
            }
        }
        self.order.insert(tick, rel.to_string());
    }

    /// Adopts an entry found on disk from an earlier run with `tick` (below [`LIVE_TICKS`]),
    /// unless it is known already (used since start-up, which is more recent).
    pub(super) fn adopt(&mut self, rel: &str, size: u64, tick: u64) {
        debug_assert!(tick < LIVE_TICKS);
        if self.entries.contains_key(rel) || self.order.contains_key(&tick) {
            return;
        }
        self.entries.insert(rel.to_string(), Entry { size, tick });
        self.order.insert(tick, rel.to_string());
        self.total += size;
    }

    /// Forgets an entry (its file is gone, or is being removed).
    pub(super) fn remove(&mut self, rel: &str) {
        if let Some(entry) = self.entries.remove(rel) {
            self.order.remove(&entry.tick);
            self.total -= entry.size;
        }
    }

    /// Forgets the least recently used entries until the total is within `max`, and returns
    /// them (their files are the caller's to delete).
    pub(super) fn evict(&mut self, max: u64) -> Vec<String> {
        let mut gone = Vec::new();
        while self.total > max {
            let Some((_, rel)) = self.order.pop_first() else {
                break;
            };
            if let Some(entry) = self.entries.remove(&rel) {
                self.total -= entry.size;
            }
            gone.push(rel);
        }
        gone
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_least_recently_used_first() {
        let mut lru = Lru::new();
        lru.touch("a", 10);
        lru.touch("b", 10);
        lru.touch("c", 10);
        lru.touch("a", 10); // a is now the most recent; b the least
        assert_eq!(lru.total(), 30);
        assert_eq!(lru.evict(25), vec!["b".to_string()]);
        assert_eq!(lru.evict(10), vec!["c".to_string()]);
        assert_eq!(lru.total(), 10);
        assert_eq!(lru.len(), 1);
        assert!(lru.evict(10).is_empty());
    }

    #[test]
    fn a_touch_does_not_count_twice() {
        let mut lru = Lru::new();
        lru.touch("a", 10);
        lru.touch("a", 10);
        assert_eq!((lru.total(), lru.len()), (10, 1));
        lru.remove("a");
        lru.remove("a");
        assert_eq!((lru.total(), lru.len()), (0, 0));
    }

    #[test]
    fn adopted_entries_are_older_than_live_ones() {
        let mut lru = Lru::new();
        lru.touch("live", 5);
        lru.adopt("old-2", 5, 2);
        lru.adopt("old-1", 5, 1);
        // Already known: the live use wins.
        lru.adopt("live", 5, 3);
        assert_eq!(lru.total(), 15);
        assert_eq!(lru.evict(5), vec!["old-1".to_string(), "old-2".to_string()]);
    }
}
