//! Phase one: read go.mod files, fetching concurrently. Either exactly the ones the go
//! command loads ([`loaded`]: read what `select` finds missing, load again, until nothing
//! is), or the whole unpruned graph ([`full`]: every version reachable through requirements).
//!
//! The full graph is a superset of every graph the go command loads (pruned or not, and
//! `go mod tidy`'s compatibility check, which loads the unpruned graph): with all of those
//! go.mod files held, no go command needs another one. But it can be many times larger than
//! the loaded graph, and hold go.mod files that no proxy serves (a dependency's requirement
//! that its own `replace` hides, which the go command never reads).

use std::collections::{BTreeSet, HashMap, HashSet};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use godepot_module::parse_go_mod;

use crate::mainset::{Actual, MainSet, Summary};
use crate::needs::{ModVersion, Problem};
use crate::select::{self, Graph};
use crate::source::{Memo, ModSource};

/// The graph as read: a summary for every go.mod that could be read.
#[derive(Debug, Default)]
pub(crate) struct Walked {
    pub(crate) summaries: HashMap<Actual, Summary>,
    /// The fetched go.mod files (local-path replacements are read from disk, not fetched).
    pub(crate) mods: BTreeSet<ModVersion>,
    /// Every go.mod asked for, read or not: none is asked twice.
    tried: HashSet<Actual>,
}

/// Reads the go.mod files the go command loads for `set`, and loads its graph.
pub(crate) async fn loaded<S: ModSource + ?Sized>(
    set: &MainSet,
    memo: &Memo<'_, S>,
    jobs: usize,
    problems: &mut Vec<Problem>,
) -> (Walked, Graph) {
    let mut walked = Walked::default();
    loop {
        let graph = select::load(set, &walked);
        let missing: Vec<Actual> = graph
            .missing
            .iter()
            .filter(|a| !walked.tried.contains(*a))
            .cloned()
            .collect();
        if missing.is_empty() {
            return (walked, graph);
        }
        read(set, memo, missing, jobs, &mut walked, problems).await;
    }
}

/// Reads every go.mod reachable from `set`'s main modules through requirements, adding to
/// `walked`.
pub(crate) async fn full<S: ModSource + ?Sized>(
    set: &MainSet,
    memo: &Memo<'_, S>,
    jobs: usize,
    walked: &mut Walked,
    problems: &mut Vec<Problem>,
) {
    let mut frontier: Vec<ModVersion> = set
        .mains
        .iter()
        .flat_map(|m| m.summary.requires.iter().cloned())
        .collect();
    let mut seen: HashSet<Actual> = HashSet::new();
    while !frontier.is_empty() {
        let actuals: Vec<Actual> = frontier
            .drain(..)
            .map(|r| set.actual(&r))
            .filter(|a| seen.insert(a.clone()))
            .collect();
        for actual in &actuals {
            // Read before (by `loaded`): only its requirements are new here.
            if let Some(summary) = walked.summaries.get(actual) {
                frontier.extend(summary.requires.iter().cloned());
            }
        }
        frontier.extend(read(set, memo, actuals, jobs, walked, problems).await);
    }
}

/// Reads the go.mod behind each of `actuals` not asked for before, `jobs` at a time, into
/// `walked`; returns the requirements of those read.
pub(crate) async fn read<S: ModSource + ?Sized>(
    set: &MainSet,
    memo: &Memo<'_, S>,
    actuals: Vec<Actual>,
    jobs: usize,
    walked: &mut Walked,
    problems: &mut Vec<Problem>,
) -> Vec<ModVersion> {
    let mut requires = Vec::new();
    let mut waiting = Vec::new();
    for actual in actuals {
        if !walked.tried.insert(actual.clone()) {
            continue;
        }
        match actual {
            Actual::Module(mv) => waiting.push(mv),
            Actual::Dir(ref dir) => {
                let summary = local_summary(set, dir, problems);
                requires.extend(summary.requires.iter().cloned());
                walked.summaries.insert(actual, summary);
            }
        }
    }
    waiting.reverse();
    let mut in_flight = FuturesUnordered::new();
    loop {
        while in_flight.len() < jobs.max(1) {
            let Some(mv) = waiting.pop() else { break };
            in_flight.push(async move {
                let answer = memo.go_mod(&mv.0, &mv.1).await;
                (mv, answer)
            });
        }
        let Some((mv, answer)) = in_flight.next().await else {
            break;
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
                requires.extend(summary.requires.iter().cloned());
                walked.mods.insert(mv.clone());
                walked.summaries.insert(Actual::Module(mv), summary);
            }
            Err(e) => problems.push(Problem::new(subject, format!("go.mod: {e}"))),
        }
    }
    requires
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
