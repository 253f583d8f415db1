//! Range evaluation against the go command's semver order: the precedence order of the
//! conformance vectors (`shared/conformance/x-mod-module/semver-canonical.jsonl`, taken
//! from golang/mod), not our own comparison.

use std::path::PathBuf;

use godepot_vulndb::model::{Event, Range, SEMVER};
use godepot_vulndb::range::{affects, fixed_for, non_superseded_fix};
use proptest::prelude::*;

/// The distinct valid versions of the vectors, in ascending precedence (without `v`).
fn pool() -> Vec<String> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/conformance"
    ));
    let path = dir.join("x-mod-module/semver-canonical.jsonl");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("conformance vectors not found at {}: {e}", path.display()));
    let mut out: Vec<String> = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let row: serde_json::Value = serde_json::from_str(line).unwrap();
        let canonical = row["canonical"].as_str().unwrap();
        if canonical.is_empty() {
            continue;
        }
        let bare = canonical.strip_prefix('v').unwrap().to_owned();
        // Rows with equal canonical forms are equal in precedence: keep one.
        if out.last() != Some(&bare) {
            out.push(bare);
        }
    }
    assert!(out.len() >= 8, "too few versions in {}", path.display());
    out
}

fn event(introduced: Option<&str>, fixed: Option<&str>) -> Event {
    Event {
        introduced: introduced.map(str::to_owned),
        fixed: fixed.map(str::to_owned),
        ..Event::default()
    }
}

/// Intervals [b0, b1), [b2, b3), … over pool ranks; `from_zero` makes the first start at
/// "0", `open` leaves the last without a fix.
fn build(
    pool: &[String],
    bounds: &[usize],
    from_zero: bool,
    open: bool,
) -> (Range, Vec<(usize, Option<usize>)>) {
    let mut events = Vec::new();
    let mut intervals = Vec::new();
    let mut it = bounds.chunks(2).peekable();
    let mut first = true;
    while let Some(pair) = it.next() {
        let last = it.peek().is_none();
        let start = if first && from_zero {
            None
        } else {
            Some(pair[0])
        };
        events.push(event(Some(start.map_or("0", |s| pool[s].as_str())), None));
        let end = if last && open {
            None
        } else {
            pair.get(1).copied()
        };
        if let Some(e) = end {
            events.push(event(None, Some(&pool[e])));
        }
        intervals.push((start.unwrap_or(0), end));
        first = false;
        if end.is_none() {
            break;
        }
    }
    (
        Range {
            kind: SEMVER.into(),
            events,
            extra: Default::default(),
        },
        intervals,
    )
}

fn strategy() -> impl Strategy<Value = (Vec<usize>, bool, bool, u64)> {
    let n = pool().len();
    (
        proptest::collection::btree_set(0..n, 1..8).prop_map(|s| s.into_iter().collect::<Vec<_>>()),
        any::<bool>(),
        any::<bool>(),
        any::<u64>(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn ranges_follow_go_precedence((bounds, from_zero, open, seed) in strategy()) {
        let pool = pool();
        let (mut range, intervals) = build(&pool, &bounds, from_zero, open);
        // Events in any order mean the same range.
        let n = range.events.len();
        for i in (1..n).rev() {
            let j = ((seed.rotate_left(i as u32)) % (i as u64 + 1)) as usize;
            range.events.swap(i, j);
        }
        for (rank, v) in pool.iter().enumerate() {
            let containing = intervals
                .iter()
                .find(|(s, e)| rank >= *s && e.is_none_or(|e| rank < e));
            let module_version = format!("v{v}");
            prop_assert_eq!(
                affects(std::slice::from_ref(&range), &module_version),
                containing.is_some(),
                "{} in {:?}", module_version, range.events
            );
            let want_fix = containing.and_then(|(_, e)| e.map(|e| pool[e].clone()));
            prop_assert_eq!(fixed_for(std::slice::from_ref(&range), &module_version), want_fix);
        }
        let last_fix = intervals.last().and_then(|(_, e)| e.map(|e| pool[e].clone()));
        prop_assert_eq!(non_superseded_fix(std::slice::from_ref(&range)), last_fix);
    }

    #[test]
    fn several_ranges_are_a_union((a, za, oa, _s) in strategy(), (b, zb, ob, _t) in strategy()) {
        let pool = pool();
        let (ra, _) = build(&pool, &a, za, oa);
        let (rb, _) = build(&pool, &b, zb, ob);
        let both = [ra.clone(), rb.clone()];
        for v in &pool {
            let v = format!("v{v}");
            prop_assert_eq!(
                affects(&both, &v),
                affects(std::slice::from_ref(&ra), &v) || affects(std::slice::from_ref(&rb), &v)
            );
        }
    }
}
