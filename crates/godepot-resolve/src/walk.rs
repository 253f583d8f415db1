//! Phase one: read the go.mod of every module version reachable from the main modules
//! through requirements (the full, unpruned module graph), fetching concurrently.
//!
//! The full graph is a superset of every graph the go command loads (pruned or not, and
//! `go mod tidy`'s compatibility check, which loads the unpruned graph): so with all of these
//! go.mod files held, no go command needs another one.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use godepot_module::parse_go_mod;

use crate::mainset::{Actual, MainSet, Summary};
use crate::needs::{ModVersion, Problem};
use crate::source::{Memo, ModSource};

/// The graph as read: a summary for every go.mod that could be read.
#[derive(Debug, Default)]
pub(crate) struct Walked {
    pub(crate) summaries: HashMap<Actual, Summary>,
    /// The fetched go.mod files (local-path replacements are read from disk, not fetched).
    pub(crate) mods: BTreeSet<ModVersion>,
}

pub(crate) async fn walk<S: ModSource + ?Sized>(
    set: &MainSet,
    memo: &Memo<'_, S>,
    jobs: usize,
    problems: &mut Vec<Problem>,
) -> Walked {
    let mut walked = Walked::default();
    let mut seen: HashSet<Actual> = HashSet::new();
    let mut todo: Vec<ModVersion> = set
        .mains
        .iter()
        .flat_map(|m| m.summary.requires.iter().cloned())
        .collect();
    let mut waiting: VecDeque<ModVersion> = VecDeque::new();
    let mut in_flight = FuturesUnordered::new();
    loop {
        for required in std::mem::take(&mut todo) {
            let actual = set.actual(&required);
            if !seen.insert(actual.clone()) {
                continue;
            }
            match actual {
                Actual::Module(mv) => waiting.push_back(mv),
                Actual::Dir(ref dir) => {
                    let summary = local_summary(set, dir, problems);
                    todo.extend(summary.requires.iter().cloned());
                    walked.summaries.insert(actual, summary);
                }
            }
        }
        while in_flight.len() < jobs.max(1) {
            let Some(mv) = waiting.pop_front() else { break };
            in_flight.push(async move {
                let answer = memo.go_mod(&mv.0, &mv.1).await;
                (mv, answer)
            });
        }
        let Some((mv, answer)) = in_flight.next().await else {
            if todo.is_empty() && waiting.is_empty() {
                break;
            }
            continue;
        };
        let subject = format!("{}@{}", mv.0, mv.1);
        let data = match answer {
            Ok(data) => data,
            Err(e) => {
                problems.push(Problem::new(subject, e.to_string()));
                continue;
            }
        };
        match parse_go_mod(&data) {
            Ok(file) => {
                let summary = set.summarize(&file, problems);
                todo.extend(summary.requires.iter().cloned());
                walked.mods.insert(mv.clone());
                walked.summaries.insert(Actual::Module(mv), summary);
            }
            Err(e) => problems.push(Problem::new(subject, format!("go.mod: {e}"))),
        }
    }
    walked
}

/// A local-path replacement's requirements are part of the graph; a missing directory or
/// go.mod contributes nothing (it may exist only on the machine that builds).
fn local_summary(set: &MainSet, dir: &std::path::Path, problems: &mut Vec<Problem>) -> Summary {
    let go_mod = dir.join("go.mod");
    let Ok(data) = std::fs::read(&go_mod) else {
        return Summary::default();
    };
    match parse_go_mod(&data) {
        Ok(file) => set.summarize(&file, problems),
        Err(e) => {
            problems.push(Problem::new(go_mod.display().to_string(), e.to_string()));
            Summary::default()
        }
    }
}
