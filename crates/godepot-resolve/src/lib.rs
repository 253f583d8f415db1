//! # godepot-resolve
//!
//! What a set of Go projects needs from a module proxy, so that — with only those artifacts
//! held — `go mod download all`, `go build ./...`, `go test all`, `go mod tidy` and
//! `go mod verify` work from a clean module cache with no route to the internet.
//!
//! ```no_run
//! # async fn demo(store: std::sync::Arc<dyn godepot_store::Store>) {
//! use godepot_resolve::{Input, ResolveOptions, StoreSource, resolve};
//!
//! let inputs = [Input::parse_arg("./go.mod").unwrap()];
//! let resolution = resolve(&inputs, &StoreSource::new(store), &ResolveOptions::default()).await;
//! for (module, version) in &resolution.needs.zips {
//!     println!("{module}@{version}");
//! }
//! for problem in &resolution.problems {
//!     eprintln!("{problem}");
//! }
//! # }
//! ```
//!
//! ## Inputs ([`Input`])
//!
//! | input | needs |
//! |---|---|
//! | `go.mod` | its module graph (below) with that module as the main module |
//! | `go.work` | the graph of the workspace (every `use` module is a main module), and each `use` module's own graph, which `go mod tidy` loads (it ignores go.work) |
//! | `go.sum` | each `<version>/go.mod` line: the `.mod`; each other line: `.zip` + `.info` + `.mod` |
//! | directory | every `go.mod` and `go.work` below it, skipping `vendor`, `testdata`, dot-dirs |
//! | `module@version`, `module@latest` | that version, and its graph as if it were the main module (what `go install module@version` needs) unless [`ResolveOptions::query_deps`] is off |
//! | list file | the inputs it names, one per line, `#` comments |
//!
//! ## The module graph of a main module or workspace
//!
//! - **`.mod` files**: the go.mod of every module version the go command loads into its
//!   module graph (`modload.readModGraph`): with pruning (Go 1.17+ main modules), the main
//!   modules' requirements, and below an unpruned (old) module its whole subgraph; without,
//!   everything reachable. The main modules' `replace` directives apply (version-specific ones
//!   first, go.work's over the modules') and requirements on `exclude`d versions are
//!   dropped, as the go command does. A local-path replacement is not fetched, but its go.mod
//!   on disk (relative to the file that names it) is read, because its requirements are part
//!   of the graph. Where `go mod tidy`'s compatibility check loads the unpruned graph (a main
//!   module at `go 1.17` or older), the whole reachable graph; and with
//!   [`ResolveOptions::full_graph`] the whole graph always, a superset of what any go command
//!   loads, whose failures outside the loaded graph are [`Resolution::warnings`].
//! - **`.zip` and `.info` files**: the versions minimal version selection picks, computed on
//!   the graph the go command really loads (its build list, what `go mod download all`
//!   takes, including modules seen only in a pruned-out go.mod's requirements), mapped
//!   through replacements. Versions that only take part in selection get their `.mod` and
//!   nothing more.
//!
//! ## Sources ([`ModSource`])
//!
//! The resolver reads go.mod files through a small async trait, so the same code runs over
//! the depot (prefetch: fetching and storing as it goes), over upstream alone (a dry run),
//! over a store alone ([`StoreSource`]: "what do these projects need, from what is held",
//! for export), or over a map ([`MemorySource`], for tests). go.mod files are fetched
//! concurrently, at most [`ResolveOptions::jobs`] at a time, while the graph is walked; each
//! version is asked for once per [`resolve`] call.
//!
//! ## Failures
//!
//! Resolution never stops at the first problem: [`Resolution::problems`] lists every input
//! and module version that could not be read, and [`Resolution::needs`] holds what the rest
//! need. A version whose go.mod could not be read is not in `needs`.
//!
//! Crate layout: [`input`](Input) parses arguments; `mainset` reads main modules and their
//! directives; `walk` reads go.mod files (phase one, I/O); `select` loads the graph and
//! computes the build list (phase two, pure: it also says which go.mod files phase one must
//! read next); `latest` answers `@latest`.

mod input;
mod latest;
mod mainset;
mod needs;
mod select;
mod source;
mod toolchain;
mod walk;

#[cfg(test)]
mod tests;

pub use input::{Input, InputError, Query};
pub use needs::{ModVersion, Needs, Problem, Resolution};
pub use source::{MemorySource, ModSource, SourceError, StoreSource};

use godepot_module::{ModulePath, Version, parse_go_sum};

use crate::mainset::MainSet;
use crate::source::Memo;

/// How to resolve.
#[derive(Debug, Clone)]
pub struct ResolveOptions {
    /// How many go.mod files may be fetched at once.
    pub jobs: usize,
    /// For `module@version` inputs, also resolve what that module needs to build (as
    /// `go install module@version` would); when off, only the version itself is needed.
    pub query_deps: bool,
    /// Read the whole unpruned module graph of every main module, not only the go.mod files
    /// the go command loads; the ones that cannot be read outside the loaded graph are
    /// [`Resolution::warnings`].
    pub full_graph: bool,
}

impl Default for ResolveOptions {
    fn default() -> Self {
        ResolveOptions {
            jobs: 8,
            query_deps: true,
            full_graph: false,
        }
    }
}

/// Computes what `inputs` need from a module proxy, reading go.mod files from `source`.
pub async fn resolve<S: ModSource + ?Sized>(
    inputs: &[Input],
    source: &S,
    options: &ResolveOptions,
) -> Resolution {
    let memo = Memo::new(source);
    let mut out = Resolution::default();
    for input in expand(inputs, &mut out.problems) {
        match input {
            Input::GoMod(path) => {
                out.go_sums.extend(beside(&path, "sum"));
                if let Some(set) = MainSet::from_go_mod_file(&path, &mut out.problems) {
                    out.toolchains.extend(set.toolchain.clone());
                    resolve_set(&set, &memo, options, &mut out).await;
                }
            }
            Input::GoWork(path) => {
                out.go_sums.extend(beside(&path, "work.sum"));
                if let Some(set) = MainSet::from_go_work_file(&path, &mut out.problems) {
                    out.toolchains.extend(set.toolchain.clone());
                    resolve_set(&set, &memo, options, &mut out).await;
                    // `go mod tidy` in a workspace module ignores go.work and loads that
                    // module on its own, so each one's own build list is needed too.
                    for go_mod in &set.member_go_mods {
                        out.go_sums.extend(beside(go_mod, "sum"));
                        if let Some(own) = MainSet::from_go_mod_file(go_mod, &mut out.problems) {
                            out.toolchains.extend(own.toolchain.clone());
                            resolve_set(&own, &memo, options, &mut out).await;
                        }
                    }
                }
            }
            Input::GoSum(path) => {
                out.needs.extend(from_go_sum(&path, &mut out.problems));
                out.go_sums.insert(path);
            }
            Input::Query { module, query } => {
                let version = match query {
                    Query::Version(v) => v,
                    Query::Latest => match latest::latest(&memo, &module).await {
                        Ok(v) => v,
                        Err(e) => {
                            out.problems
                                .push(Problem::new(format!("{module}@latest"), e.to_string()));
                            continue;
                        }
                    },
                };
                resolve_published((module, version), &memo, options, &mut out).await;
            }
            Input::Dir(_) | Input::List(_) => unreachable!("expanded above"),
        }
    }
    for problems in [&mut out.problems, &mut out.warnings] {
        problems.sort();
        problems.dedup();
    }
    // What failed inside the loaded graph (of another input) is a problem, not a warning.
    let failed: std::collections::HashSet<String> =
        out.problems.iter().map(|p| p.subject.clone()).collect();
    out.warnings.retain(|w| !failed.contains(&w.subject));
    out
}

/// The checksum file of a go.mod or go.work (`go.mod` → `go.sum`, `go.work` →
/// `go.work.sum`), if there is one.
fn beside(path: &std::path::Path, extension: &str) -> Option<std::path::PathBuf> {
    // A go.work's `use ./m` gives `w/./m/go.mod`: said as `w/m/go.sum`.
    let sum: std::path::PathBuf = path
        .with_extension(extension)
        .components()
        .filter(|c| *c != std::path::Component::CurDir)
        .collect();
    Some(sum).filter(|sum| sum.is_file())
}

/// Replaces directories and list files by what they name.
fn expand(inputs: &[Input], problems: &mut Vec<Problem>) -> Vec<Input> {
    let mut out = Vec::new();
    for input in inputs {
        let named = match input {
            Input::Dir(dir) => input::find_module_files(dir),
            Input::List(list) => input::read_list(list).map(|named| expand(&named, problems)),
            other => Ok(vec![other.clone()]),
        };
        match named {
            Ok(named) if named.is_empty() && matches!(input, Input::Dir(_)) => {
                problems.push(Problem::new(
                    input.to_string(),
                    "no go.mod or go.work below this directory",
                ))
            }
            Ok(named) => out.extend(named),
            Err(e) => problems.push(Problem::new(e.arg, e.message)),
        }
    }
    out
}

/// The `.mod` files of the graph the go command loads (the unpruned graph too where
/// `go mod tidy` loads it, or with [`ResolveOptions::full_graph`]), and the zips of the build
/// list.
async fn resolve_set<S: ModSource + ?Sized>(
    set: &MainSet,
    memo: &Memo<'_, S>,
    options: &ResolveOptions,
    out: &mut Resolution,
) {
    let problems = &mut out.problems;
    let (mut walked, graph) = walk::loaded(set, memo, options.jobs, problems).await;
    let actual = |selected: (ModulePath, Version)| match set.actual(&selected) {
        mainset::Actual::Module(mv) => Some(mv),
        mainset::Actual::Dir(_) => None,
    };
    // The build list: the selected version of every module in the loaded graph. `go mod
    // download all` (`go list -m all`) takes each of them, including a module seen only in
    // the requirements of a pruned-out go.mod, so its .mod, .info and zip are needed (not
    // its requirements). No build uses such a module's packages (tidy would have required it
    // then), so failing to get one is a warning, not a failure.
    let (builds, pruned_only): (Vec<_>, Vec<_>) = graph
        .selected
        .iter()
        .filter_map(|(p, v)| {
            Some((
                graph.loaded_paths.contains(p),
                actual((p.clone(), v.clone()))?,
            ))
        })
        .partition(|(loaded, _)| *loaded);
    let builds: Vec<ModVersion> = builds.into_iter().map(|(_, mv)| mv).collect();
    let pruned_only: Vec<ModVersion> = pruned_only.into_iter().map(|(_, mv)| mv).collect();
    let unread = |versions: &[ModVersion]| {
        let versions = versions
            .iter()
            .map(|mv| mainset::Actual::Module(mv.clone()));
        versions.collect()
    };
    walk::read(
        set,
        memo,
        unread(&builds),
        options.jobs,
        &mut walked,
        problems,
    )
    .await;
    // The unpruned walks first, so that what they need is a problem (or their warning)
    // before a pruned-only version could make it a mere warning.
    if set.tidy_loads_unpruned() {
        walk::full(set, memo, options.jobs, &mut walked, problems).await;
    } else if options.full_graph {
        walk::full(set, memo, options.jobs, &mut walked, &mut out.warnings).await;
    }
    let pruned = unread(&pruned_only);
    walk::read(
        set,
        memo,
        pruned,
        options.jobs,
        &mut walked,
        &mut out.warnings,
    )
    .await;
    for mv in builds.into_iter().chain(pruned_only) {
        // A version whose go.mod failed was reported already; its zip would fail too.
        if walked.mods.contains(&mv) {
            out.needs.add_zip(mv);
        }
    }
    out.needs.mods.extend(walked.mods);
}

/// `module@version`: the version itself, and (optionally) its graph as the main module.
async fn resolve_published<S: ModSource + ?Sized>(
    main: ModVersion,
    memo: &Memo<'_, S>,
    options: &ResolveOptions,
    out: &mut Resolution,
) {
    let data = match memo.go_mod(&main.0, &main.1).await {
        Ok(data) => data,
        Err(e) => {
            out.problems.push(Problem::new(
                format!("{}@{}", main.0, main.1),
                e.to_string(),
            ));
            return;
        }
    };
    out.needs.add_zip(main.clone());
    if options.query_deps
        && let Some(set) = MainSet::from_published(&main, &data, &mut out.problems)
    {
        resolve_set(&set, memo, options, out).await;
    }
}

/// A go.sum names versions directly: no graph to walk.
fn from_go_sum(path: &std::path::Path, problems: &mut Vec<Problem>) -> Needs {
    let label = path.display().to_string();
    let mut needs = Needs::default();
    let lines = std::fs::read(path)
        .map_err(|e| format!("cannot read: {e}"))
        .and_then(|data| parse_go_sum(&data).map_err(|e| e.to_string()));
    let lines = match lines {
        Ok(lines) => lines,
        Err(message) => {
            problems.push(Problem::new(label, message));
            return needs;
        }
    };
    for line in lines {
        let parsed = godepot_module::ModulePath::parse(&line.path).and_then(|p| {
            let v = godepot_module::Version::for_module(&p, &line.version)?;
            Ok((p, v))
        });
        match parsed {
            Ok(mv) if line.go_mod => needs.add_mod(mv),
            Ok(mv) => needs.add_zip(mv),
            Err(e) => problems.push(Problem::new(
                &label,
                format!("{} {}: {e}", line.path, line.version),
            )),
        }
    }
    needs
}
