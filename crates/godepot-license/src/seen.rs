//! Licence texts met before in this process, and what they were found to be.
//!
//! A scan compares a text with every SPDX licence (tens of milliseconds), and most modules
//! carry one of a few texts: trivy v0.74.0's 1,002 zips hold 1,414 licence files, 765
//! different byte for byte and 373 once the spdx crate's normalization has dropped their
//! copyright lines, case, punctuation and spacing. Scanning each took 29 s of CPU on these
//! machines, all of it spent while the go command's downloads waited for a CPU. Two kinds of
//! hit, both giving exactly what a scan would:
//!
//! - **The same bytes**, by SHA-256: any answer.
//! - **The same n-grams** after normalization (`TextData::ngram_matches`; sets of another
//!   size are passed over at once), for answers the scan gave from its first comparison
//!   alone (a score above [`crate::SHALLOW`]): that comparison reads nothing but the n-grams.
//!   A text whose first score was lower is searched line by line, which depends on more than
//!   its n-grams, so it is reused only for the same bytes.
//!
//! Both are bounded ([`BY_BYTES`] answers, [`BY_NGRAMS`] n-gram sets of 10–60 KiB each), the
//! ones used last kept.

use std::collections::{HashMap, VecDeque};
use std::sync::{LazyLock, Mutex};

use sha2::{Digest, Sha256};
use spdx::detection::TextData;

/// Answers kept by the SHA-256 of their text (about a hundred bytes each).
const BY_BYTES: usize = 1024;
/// Normalized texts kept with their answers.
const BY_NGRAMS: usize = 64;

/// What a scan found: see [`crate::FileLicense`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Found {
    /// The answer came from the first comparison alone.
    pub(crate) shallow: bool,
    pub(crate) licenses: Vec<String>,
    pub(crate) confidence: f32,
}

#[derive(Default)]
struct Seen {
    by_bytes: HashMap<[u8; 32], Found>,
    /// Insertion order of `by_bytes`, oldest first.
    order: VecDeque<[u8; 32]>,
    /// Last used first.
    by_ngrams: VecDeque<(TextData, Found)>,
}

impl Seen {
    fn keep(&mut self, hash: [u8; 32], found: &Found) {
        if self.by_bytes.insert(hash, found.clone()).is_none() {
            self.order.push_back(hash);
            if self.order.len() > BY_BYTES
                && let Some(oldest) = self.order.pop_front()
            {
                self.by_bytes.remove(&oldest);
            }
        }
    }

    fn by_ngrams(&mut self, data: &TextData) -> Option<Found> {
        let at = self
            .by_ngrams
            .iter()
            .position(|(d, _)| d.ngram_matches(data))?;
        let entry = self.by_ngrams.remove(at)?;
        let found = entry.1.clone();
        self.by_ngrams.push_front(entry);
        Some(found)
    }
}

static SEEN: LazyLock<Mutex<Seen>> = LazyLock::new(Mutex::default);

/// The licences and confidence of `text`: remembered, else `scan` of its normalized form.
pub(crate) fn found(text: &str, scan: impl FnOnce(&TextData) -> Found) -> (Vec<String>, f32) {
    let found = found_in(&SEEN, text, scan);
    (found.licenses, found.confidence)
}

fn found_in(seen: &Mutex<Seen>, text: &str, scan: impl FnOnce(&TextData) -> Found) -> Found {
    let lock = || seen.lock().unwrap_or_else(|e| e.into_inner());
    let hash: [u8; 32] = Sha256::digest(text.as_bytes()).into();
    let known = lock().by_bytes.get(&hash).cloned();
    if let Some(found) = known {
        return found;
    }
    // Normalizing costs a few percent of a scan; the scan itself runs outside the lock.
    let data = TextData::new(text);
    let mut seen = lock();
    if let Some(found) = seen.by_ngrams(&data) {
        seen.keep(hash, &found);
        return found;
    }
    drop(seen);
    let found = scan(&data);
    let mut seen = lock();
    seen.keep(hash, &found);
    if found.shallow {
        seen.by_ngrams
            .push_front((data.without_text(), found.clone()));
        seen.by_ngrams.truncate(BY_NGRAMS);
    }
    found
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    fn mit(holder: &str) -> String {
        godepot_testkit::licenses::MIT.replace("2099 Example Authors", &format!("2020 {holder}"))
    }

    /// A scan through the real detector, counted.
    fn counted<'a>(scans: &'a Cell<u32>) -> impl FnOnce(&TextData) -> Found + 'a {
        move |data| {
            scans.set(scans.get() + 1);
            crate::scan(crate::DETECTOR.as_ref().expect("detector"), data)
        }
    }

    #[test]
    fn a_text_met_again_is_not_scanned_again_and_gets_the_scans_answer() {
        let seen = Mutex::default();
        let scans = Cell::new(0);
        let first = found_in(&seen, &mit("Alice"), counted(&scans));
        assert_eq!(first.licenses, ["MIT"]);
        assert!(first.shallow, "{first:?}");
        assert_eq!(found_in(&seen, &mit("Alice"), counted(&scans)), first);
        // Another holder: other bytes, the same text once normalized.
        let other = found_in(&seen, &mit("Bob and Carol"), counted(&scans));
        assert_eq!(scans.get(), 1, "answered from what was found before");
        let fresh = crate::scan(
            crate::DETECTOR.as_ref().unwrap(),
            &TextData::new(&mit("Bob and Carol")),
        );
        assert_eq!(other, fresh, "exactly what a scan says");
    }

    #[test]
    fn an_answer_from_a_deeper_search_is_reused_for_the_same_bytes_only() {
        let seen = Mutex::default();
        let scans = Cell::new(0);
        let deep = |data: &TextData| {
            scans.set(scans.get() + 1);
            Found {
                shallow: false,
                ..crate::scan(crate::DETECTOR.as_ref().unwrap(), data)
            }
        };
        found_in(&seen, &mit("Alice"), deep);
        found_in(&seen, &mit("Alice"), deep);
        assert_eq!(scans.get(), 1);
        found_in(&seen, &mit("Bob"), deep);
        assert_eq!(scans.get(), 2, "other bytes: scanned");
    }

    #[test]
    fn a_changed_licence_text_is_scanned_not_taken_for_the_one_it_resembles() {
        let seen = Mutex::default();
        let scans = Cell::new(0);
        found_in(&seen, &mit("Alice"), counted(&scans));
        let changed = mit("Alice").replace("without restriction", "with restrictions");
        found_in(&seen, &changed, counted(&scans));
        assert_eq!(scans.get(), 2);
    }

    #[test]
    fn what_is_kept_is_bounded() {
        let seen = Mutex::default();
        for i in 0..(BY_BYTES + 10) {
            let text = format!("not a licence {i} {}", "word ".repeat(i % 7));
            found_in(&seen, &text, |_| Found {
                shallow: true,
                licenses: vec![],
                confidence: 0.1,
            });
        }
        let seen = seen.lock().unwrap();
        assert_eq!(seen.by_bytes.len(), BY_BYTES);
        assert_eq!(seen.order.len(), BY_BYTES);
        assert!(seen.by_ngrams.len() <= BY_NGRAMS);
    }
}
