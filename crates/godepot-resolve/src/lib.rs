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
//! - **`.mod` files**: every module version reachable through requirements, with the main
//!   modules' `replace` directives applied (version-specific ones first, go.work's over the
//!   modules') and requirements on `exclude`d versions dropped, as the go command does. A
//!   local-path replacement is not fetched, but its go.mod on disk (relative to the file that
//!   names it) is read, because its requirements are part of the graph. This is the full,
//!   unpruned graph: a superset of what any go command loads, including `go mod tidy`'s check
//!   that older Go versions would select the same versions.
//! - **`.zip` and `.info` files**: exactly the versions minimal version selection picks —
//!   computed on the graph the go command really loads, honouring graph pruning (Go 1.17+
//!   modules) — mapped through replacements. Versions that only take part in selection get
//!   their `.mod` and nothing more.
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
//! directives; `walk` reads the graph (phase one, I/O); `select` computes the build list
//! (phase two, pure); `latest` answers `@latest`.

mod input;
mod latest;
mod mainset;
mod needs;
mod select;
mod source;
mod walk;

#[cfg(test)]
mod tests;

pub use input::{Input, InputError, Query};
pub use needs::{ModVersion, Needs, Problem, Resolution};
pub use source::{MemorySource, ModSource, SourceError, StoreSource};

use godepot_module::parse_go_sum;

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
}

impl Default for ResolveOptions {
    fn default() -> Self {
        ResolveOptions {
            jobs: 8,
            query_deps: true,
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
    let mut needs = Needs::default();
    let mut problems = Vec::new();
    for input in expand(inputs, &mut problems) {
        match input {
            Input::GoMod(path) => {
                if let Some(set) = MainSet::from_go_mod_file(&path, &mut problems) {
                    needs.extend(resolve_set(&set, &memo, options, &mut problems).await);
                }
            }
            Input::GoWork(path) => {
                if let Some(set) = MainSet::from_go_work_file(&path, &mut problems) {
                    needs.extend(resolve_set(&set, &memo, options, &mut problems).await);
                    // `go mod tidy` in a workspace module ignores go.work and loads that
                    // module on its own, so each one's own build list is needed too.
                    for go_mod in &set.member_go_mods {
                        if let Some(own) = MainSet::from_go_mod_file(go_mod, &mut problems) {
                            needs.extend(resolve_set(&own, &memo, options, &mut problems).await);
                        }
                    }
                }
            }
            Input::GoSum(path) => needs.extend(from_go_sum(&path, &mut problems)),
            Input::Query { module, query } => {
                let version = match query {
                    Query::Version(v) => v,
                    Query::Latest => match latest::latest(&memo, &module).await {
                        Ok(v) => v,
                        Err(e) => {
                            problems.push(Problem::new(format!("{module}@latest"), e.to_string()));
                            continue;
                        }
                    },
                };
                let main = (module, version);
                needs.extend(resolve_published(main, &memo, options, &mut problems).await);
            }
            Input::Dir(_) | Input::List(_) => unreachable!("expanded above"),
        }
    }
    problems.sort();
    problems.dedup();
    Resolution { needs, problems }
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

/// The graph's `.mod` files, and the zips of the build list.
async fn resolve_set<S: ModSource + ?Sized>(
    set: &MainSet,
    memo: &Memo<'_, S>,
    options: &ResolveOptions,
    problems: &mut Vec<Problem>,
) -> Needs {
    let walked = walk::walk(set, memo, options.jobs, problems).await;
    let mut needs = Needs {
        mods: walked.mods.clone(),
        ..Needs::default()
    };
    for selected in select::build_list(set, &walked) {
        if let mainset::Actual::Module(mv) = set.actual(&selected) {
            // A version whose go.mod failed was reported already; its zip would fail too.
            if walked.mods.contains(&mv) {
                needs.add_zip(mv);
            }
        }
    }
    needs
}

/// `module@version`: the version itself, and (optionally) its graph as the main module.
async fn resolve_published<S: ModSource + ?Sized>(
    main: ModVersion,
    memo: &Memo<'_, S>,
    options: &ResolveOptions,
    problems: &mut Vec<Problem>,
) -> Needs {
    let mut needs = Needs::default();
    let data = match memo.go_mod(&main.0, &main.1).await {
        Ok(data) => data,
        Err(e) => {
            problems.push(Problem::new(
                format!("{}@{}", main.0, main.1),
                e.to_string(),
            ));
            return needs;
        }
    };
    needs.add_zip(main.clone());
    if options.query_deps
        && let Some(set) = MainSet::from_published(&main, &data, problems)
    {
        needs.extend(resolve_set(&set, memo, options, problems).await);
    }
    needs
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
