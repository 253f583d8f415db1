//! Phase two: the build list, computed the way the go command loads its module graph
//! (`modload.readModGraph`), from the go.mod summaries phase one read. No I/O.
//!
//! Minimal version selection picks, for every module path in the graph, the highest version
//! any loaded go.mod requires. Which go.mod files count depends on graph pruning:
//!
//! - an unpruned main module (`go` < 1.17) loads every reachable go.mod;
//! - a pruned main module loads its requirements' go.mod files, but not *their*
//!   requirements' — except below an unpruned (old) module, whose whole subgraph is loaded;
//! - a workspace loads one level more: each main module's requirements are loaded like
//!   roots, and a requirement that selection upgraded is loaded at its selected version.
//!
//! Selecting on the full graph instead would pick versions the go command never uses (a
//! requirement seen only through a pruned-out go.mod), and miss the ones it does.
//!
//! The same walk says which go.mod files the go command loads ([`Graph::missing`] lists the
//! ones it would load but `walked` lacks), so phase one can read exactly those and no more.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

use godepot_module::{ModulePath, Version};

use crate::mainset::{Actual, MainSet, Summary};
use crate::needs::ModVersion;
use crate::walk::Walked;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Pruning {
    Pruned,
    Unpruned,
    Workspace,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Node {
    /// A main module, by index; its version is "the one on disk", above every other.
    Main(usize),
    Dep(ModVersion),
}

/// The module graph the go command loads, as far as `walked` holds it.
#[derive(Debug, Default)]
pub(crate) struct Graph {
    /// The selected version of every non-main module path in the graph.
    pub(crate) selected: BTreeMap<ModulePath, Version>,
    /// Go.mod files the go command loads that `walked` does not hold (not read yet, or
    /// unreadable). Loading stopped at each of them.
    pub(crate) missing: BTreeSet<Actual>,
    /// The module paths whose go.mod was loaded, at some version: the go command may use
    /// their packages (at the selected version).
    pub(crate) loaded_paths: BTreeSet<ModulePath>,
}

/// Loads the graph from the summaries in `walked`.
pub(crate) fn load(set: &MainSet, walked: &Walked) -> Graph {
    let mut loader = Loader {
        set,
        walked,
        selected: HashMap::new(),
        loaded: HashMap::new(),
        missing: BTreeSet::new(),
        queued: HashSet::new(),
        queue: VecDeque::new(),
    };
    if set.workspace {
        loader.load_workspace();
    } else if let Some(main) = set.mains.first() {
        let pruning = if main.summary.pruned {
            Pruning::Pruned
        } else {
            Pruning::Unpruned
        };
        loader.note(&main.summary.requires.clone());
        for r in &main.summary.requires {
            loader.enqueue(Node::Dep(r.clone()), pruning);
        }
        loader.drain();
    }
    let loaded_paths = loader
        .loaded
        .keys()
        .filter_map(|node| match node {
            Node::Dep((path, _)) => Some(path.clone()),
            Node::Main(_) => None,
        })
        .collect();
    Graph {
        selected: loader.selected.into_iter().collect(),
        missing: loader.missing,
        loaded_paths,
    }
}

struct Loader<'a> {
    set: &'a MainSet,
    walked: &'a Walked,
    selected: HashMap<ModulePath, Version>,
    /// Nodes whose go.mod has been loaded: their requirements are edges of the graph.
    loaded: HashMap<Node, Summary>,
    missing: BTreeSet<Actual>,
    queued: HashSet<(Node, Pruning)>,
    queue: VecDeque<(Node, Pruning)>,
}

impl Loader<'_> {
    fn summary(&mut self, node: &Node) -> Option<Summary> {
        match node {
            Node::Main(i) => Some(self.set.mains[*i].summary.clone()),
            Node::Dep(mv) => {
                let actual = self.set.actual(mv);
                let summary = self.walked.summaries.get(&actual).cloned();
                if summary.is_none() {
                    self.missing.insert(actual);
                }
                summary
            }
        }
    }

    /// Records requirements in the selection: the highest version wins. Main modules are
    /// always selected at their own (disk) version, whatever anything requires of them.
    fn note(&mut self, requires: &[ModVersion]) {
        for (path, version) in requires {
            if self.set.is_main(path) {
                continue;
            }
            match self.selected.get(path) {
                Some(held) if held >= version => {}
                _ => {
                    self.selected.insert(path.clone(), version.clone());
                }
            }
        }
    }

    fn enqueue(&mut self, node: Node, pruning: Pruning) {
        if self.queued.insert((node.clone(), pruning)) {
            self.queue.push_back((node, pruning));
        }
    }

    fn drain(&mut self) {
        while let Some((node, pruning)) = self.queue.pop_front() {
            let summary = match self.loaded.get(&node) {
                Some(summary) => summary.clone(),
                None => {
                    // Not read (yet): phase one reads it, or reported why it cannot.
                    let Some(summary) = self.summary(&node) else {
                        continue;
                    };
                    self.note(&summary.requires);
                    self.loaded.insert(node.clone(), summary.clone());
                    summary
                }
            };
            let next = if pruning == Pruning::Unpruned || !summary.pruned {
                Pruning::Unpruned
            } else {
                Pruning::Pruned
            };
            if pruning != Pruning::Pruned || !summary.pruned {
                for r in summary.requires {
                    self.enqueue(Node::Dep(r), next);
                }
            }
        }
    }

    fn load_workspace(&mut self) {
        for i in 0..self.set.mains.len() {
            self.enqueue(Node::Main(i), Pruning::Workspace);
        }
        self.drain();
        // Requirements of the main modules that selection upgraded are loaded at their
        // selected version, repeatedly, until nothing more is upgraded.
        let mut deps_in_all: HashSet<ModulePath> =
            self.set.mains.iter().map(|m| m.path.clone()).collect();
        let mut seen: HashSet<Node> = HashSet::new();
        loop {
            let mut wanted: Vec<Node> = Vec::new();
            for path in &deps_in_all {
                let node = self.selected_node(path);
                let Some(node) = node else { continue };
                if !seen.contains(&node) {
                    wanted.push(node);
                    continue;
                }
                let Some(summary) = self.loaded.get(&node) else {
                    continue;
                };
                for (rpath, rversion) in &summary.requires {
                    if let Some(Node::Dep((p, v))) = self.selected_node(rpath) {
                        let s = Node::Dep((p, v.clone()));
                        if &v > rversion && !seen.contains(&s) {
                            wanted.push(s);
                        }
                    }
                }
            }
            if wanted.is_empty() {
                break;
            }
            for node in wanted {
                if let Node::Dep((path, _)) = &node {
                    deps_in_all.insert(path.clone());
                }
                self.enqueue(node.clone(), Pruning::Workspace);
                seen.insert(node);
            }
            self.drain();
        }
    }

    fn selected_node(&self, path: &ModulePath) -> Option<Node> {
        if let Some(i) = self.set.mains.iter().position(|m| &m.path == path) {
            return Some(Node::Main(i));
        }
        let v = self.selected.get(path)?;
        Some(Node::Dep((path.clone(), v.clone())))
    }
}
