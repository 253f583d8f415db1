//! The main modules of one build (a module, or a workspace), with the `replace` and `exclude`
//! directives that apply to every go.mod read while walking their graph.
//!
//! As in the go command, only main modules' (and go.work's) directives count: a dependency's
//! own `replace` and `exclude` lines are ignored.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use godepot_module::{GoMod, ModulePath, Replace, Version, parse_go_mod, parse_go_work};

use crate::needs::{ModVersion, Problem};
use crate::toolchain;

/// What a go.mod contributes to the module graph.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Summary {
    /// Requirements, minus excluded versions (the go command drops those, it does not
    /// upgrade them).
    pub(crate) requires: Vec<ModVersion>,
    /// `go 1.17` or later: the module lists every dependency its packages need, so the
    /// go command does not load its requirements' requirements (graph pruning).
    pub(crate) pruned: bool,
}

/// The module version whose files are actually read for a requirement.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Actual {
    Module(ModVersion),
    /// A local-path replacement: read from disk, never fetched.
    Dir(PathBuf),
}

#[derive(Debug)]
pub(crate) struct MainModule {
    pub(crate) path: ModulePath,
    pub(crate) summary: Summary,
    /// Its `go` line.
    pub(crate) go: Option<String>,
}

/// One build's main modules and directives.
#[derive(Debug, Default)]
pub(crate) struct MainSet {
    /// Names the input, for problems.
    pub(crate) label: String,
    pub(crate) mains: Vec<MainModule>,
    /// go.work mode: graph loading differs slightly (see `select`).
    pub(crate) workspace: bool,
    /// A module on disk (not a workspace, not `module@version`): `go mod tidy` runs there.
    pub(crate) tidied: bool,
    /// The Go release its go.mod or go.work makes the go command switch to (`go1.22.6`).
    pub(crate) toolchain: Option<String>,
    /// go.work mode: the go.mod of every `use` module that could be read.
    pub(crate) member_go_mods: Vec<PathBuf>,
    /// go.work's replacements, which win over any main module's.
    work_replace: Replacements,
    module_replace: Replacements,
    exclude: HashSet<ModVersion>,
}

#[derive(Debug, Default)]
struct Replacements {
    /// `replace path version => ...`: wins over a path-wide replacement.
    exact: HashMap<ModVersion, Actual>,
    /// `replace path => ...`.
    any: HashMap<ModulePath, Actual>,
}

impl Replacements {
    fn lookup(&self, mv: &ModVersion) -> Option<&Actual> {
        self.exact.get(mv).or_else(|| self.any.get(&mv.0))
    }

    /// Adds `replace` lines; local paths are relative to `base` (the directory of the file
    /// holding them).
    fn add(&mut self, lines: &[Replace], base: &Path, label: &str, problems: &mut Vec<Problem>) {
        for r in lines {
            let target = match replacement_target(r, base) {
                Ok(target) => target,
                Err(message) => {
                    problems.push(Problem::new(label, message));
                    continue;
                }
            };
            let old = match ModulePath::parse(&r.old_path) {
                Ok(path) => path,
                Err(e) => {
                    problems.push(Problem::new(label, format!("replace {}: {e}", r.old_path)));
                    continue;
                }
            };
            match r.old_version.as_deref().map(Version::parse) {
                None => {
                    self.any.insert(old, target);
                }
                Some(Ok(v)) => {
                    self.exact.insert((old, v), target);
                }
                Some(Err(e)) => problems.push(Problem::new(label, format!("replace: {e}"))),
            }
        }
    }
}

fn replacement_target(r: &Replace, base: &Path) -> Result<Actual, String> {
    match &r.new_version {
        None => Ok(Actual::Dir(base.join(&r.new_path))),
        Some(v) => {
            let path = ModulePath::parse(&r.new_path)
                .map_err(|e| format!("replace {} => {}: {e}", r.old_path, r.new_path))?;
            let version = Version::parse(v)
                .map_err(|e| format!("replace {} => {} {v}: {e}", r.old_path, r.new_path))?;
            Ok(Actual::Module((path, version)))
        }
    }
}

impl MainSet {
    /// A main module read from its go.mod on disk (module mode).
    pub(crate) fn from_go_mod_file(go_mod: &Path, problems: &mut Vec<Problem>) -> Option<Self> {
        let label = go_mod.display().to_string();
        let file = read_go_mod_file(go_mod).map_err(|m| problems.push(Problem::new(&label, m)));
        let file = file.ok()?;
        let dir = parent_dir(go_mod);
        let mut set = MainSet {
            label,
            tidied: true,
            toolchain: toolchain::wanted(file.go.as_deref(), file.toolchain.as_deref()),
            ..MainSet::default()
        };
        set.add_main(&file, &dir, problems)?;
        set.finish_mains(&[file], problems);
        Some(set)
    }

    /// A workspace: every `use` directory's go.mod is a main module.
    pub(crate) fn from_go_work_file(go_work: &Path, problems: &mut Vec<Problem>) -> Option<Self> {
        let label = go_work.display().to_string();
        let work = std::fs::read(go_work)
            .map_err(|e| e.to_string())
            .and_then(|data| parse_go_work(&data).map_err(|e| e.to_string()));
        let work = work
            .map_err(|m| problems.push(Problem::new(&label, m)))
            .ok()?;
        let work_dir = parent_dir(go_work);
        let mut set = MainSet {
            label: label.clone(),
            workspace: true,
            toolchain: toolchain::wanted(work.go.as_deref(), work.toolchain.as_deref()),
            ..MainSet::default()
        };
        set.work_replace
            .add(&work.replace, &work_dir, &label, problems);
        let mut files = Vec::new();
        for dir in &work.use_dirs {
            let dir = work_dir.join(dir);
            let go_mod = dir.join("go.mod");
            match read_go_mod_file(&go_mod) {
                Ok(file) => {
                    set.module_replace.add(
                        &file.replace,
                        &dir,
                        &go_mod.display().to_string(),
                        problems,
                    );
                    if set.add_main(&file, &dir, problems).is_some() {
                        files.push(file);
                        set.member_go_mods.push(go_mod);
                    }
                }
                Err(m) => problems.push(Problem::new(go_mod.display().to_string(), m)),
            }
        }
        set.finish_mains(&files, problems);
        Some(set)
    }

    /// `module@version` as the main module, the way `go install module@version` builds it:
    /// from its go.mod as published, whose `replace` and `exclude` lines do not apply.
    pub(crate) fn from_published(
        main: &ModVersion,
        data: &[u8],
        problems: &mut Vec<Problem>,
    ) -> Option<Self> {
        let label = format!("{}@{}", main.0, main.1);
        let file = parse_go_mod(data)
            .map_err(|e| problems.push(Problem::new(&label, format!("go.mod: {e}"))))
            .ok()?;
        let mut set = MainSet {
            label,
            ..MainSet::default()
        };
        let summary = set.summarize(&file, problems);
        set.mains.push(MainModule {
            path: main.0.clone(),
            summary,
            go: file.go.clone(),
        });
        Some(set)
    }

    /// Records a main module; module-mode replacements are added by the caller.
    fn add_main(&mut self, file: &GoMod, dir: &Path, problems: &mut Vec<Problem>) -> Option<()> {
        let Some(module) = file.module.as_deref() else {
            problems.push(Problem::new(&self.label, "go.mod has no module line"));
            return None;
        };
        let path = ModulePath::parse(module)
            .map_err(|e| problems.push(Problem::new(&self.label, format!("module {module}: {e}"))))
            .ok()?;
        if !self.workspace {
            let label = self.label.clone();
            self.module_replace
                .add(&file.replace, dir, &label, problems);
        }
        self.mains.push(MainModule {
            path,
            summary: Summary::default(),
            go: file.go.clone(),
        });
        Some(())
    }

    /// Excludes of all main modules apply to every go.mod, the main ones included; so the
    /// main summaries are computed once all excludes are known.
    fn finish_mains(&mut self, files: &[GoMod], problems: &mut Vec<Problem>) {
        for file in files {
            for e in &file.exclude {
                match parse_mod_version(&e.path, &e.version) {
                    Ok(mv) => {
                        self.exclude.insert(mv);
                    }
                    Err(m) => problems.push(Problem::new(&self.label, format!("exclude: {m}"))),
                }
            }
        }
        for (i, file) in files.iter().enumerate() {
            self.mains[i].summary = self.summarize(file, problems);
        }
    }

    /// The summary of a go.mod, under this set's excludes.
    pub(crate) fn summarize(&self, file: &GoMod, problems: &mut Vec<Problem>) -> Summary {
        let mut requires = Vec::new();
        for r in &file.require {
            match parse_mod_version(&r.path, &r.version) {
                Ok(mv) if !self.exclude.contains(&mv) => requires.push(mv),
                Ok(_) => {}
                Err(m) => problems.push(Problem::new(
                    file.module.as_deref().unwrap_or(&self.label),
                    format!("require: {m}"),
                )),
            }
        }
        Summary {
            requires,
            pruned: supports_pruning(file.go.as_deref()),
        }
    }

    /// Where `mv`'s files come from, after replacements.
    pub(crate) fn actual(&self, mv: &ModVersion) -> Actual {
        self.work_replace
            .lookup(mv)
            .or_else(|| self.module_replace.lookup(mv))
            .cloned()
            .unwrap_or_else(|| Actual::Module(mv.clone()))
    }

    /// Whether `go mod tidy` loads the unpruned graph here: its compatibility check
    /// (`-compat`, by default the Go release before the `go` line's) loads the graph as that
    /// release would, and releases before 1.17 do not prune. So a main module at `go 1.17`
    /// or older (or none) needs every reachable go.mod.
    pub(crate) fn tidy_loads_unpruned(&self) -> bool {
        self.tidied
            && self
                .mains
                .iter()
                .any(|m| go_release(m.go.as_deref()) < (1, 18))
    }

    pub(crate) fn is_main(&self, path: &ModulePath) -> bool {
        self.mains.iter().any(|m| &m.path == path)
    }
}

fn parse_mod_version(path: &str, version: &str) -> Result<ModVersion, String> {
    let path = ModulePath::parse(path).map_err(|e| format!("{path}: {e}"))?;
    let version = Version::for_module(&path, version).map_err(|e| format!("{path}: {e}"))?;
    Ok((path, version))
}

fn read_go_mod_file(path: &Path) -> Result<GoMod, String> {
    let data = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    parse_go_mod(&data).map_err(|e| e.to_string())
}

/// The directory holding `file`, as given (relative paths stay relative to the working
/// directory, which is what the user meant).
pub(crate) fn parent_dir(file: &Path) -> PathBuf {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Whether a go.mod with this `go` line gets graph pruning (Go 1.17 and later). No `go`
/// line means an old module: unpruned.
pub(crate) fn supports_pruning(go: Option<&str>) -> bool {
    go_release(go) >= (1, 17)
}

/// The major and minor release of a `go` line; `(0, 0)` for none or junk (the oldest).
fn go_release(go: Option<&str>) -> (u64, u64) {
    let Some(go) = go else { return (0, 0) };
    let mut parts = go.split('.');
    let major: u64 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let minor: u64 = parts
        .next()
        .map(|p| {
            p.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        })
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    (major, minor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pruning_starts_at_go_1_17() {
        for (go, want) in [
            (None, false),
            (Some("1.16"), false),
            (Some("1.17"), true),
            (Some("1.21.0"), true),
            (Some("1.22rc1"), true),
            (Some("1.9"), false),
            (Some("2.0"), true),
            (Some("junk"), false),
        ] {
            assert_eq!(supports_pruning(go), want, "{go:?}");
        }
    }

    #[test]
    fn tidy_loads_the_unpruned_graph_up_to_go_1_17() {
        for (go, want) in [
            (None, true),
            (Some("1.16"), true),
            (Some("1.17"), true),
            (Some("1.17.13"), true),
            (Some("1.18"), false),
            (Some("1.21.0"), false),
        ] {
            let set = MainSet {
                tidied: true,
                mains: vec![MainModule {
                    path: ModulePath::parse("example.com/main").unwrap(),
                    summary: Summary::default(),
                    go: go.map(str::to_owned),
                }],
                ..MainSet::default()
            };
            assert_eq!(set.tidy_loads_unpruned(), want, "{go:?}");
            let untidied = MainSet {
                tidied: false,
                ..set
            };
            assert!(
                !untidied.tidy_loads_unpruned(),
                "{go:?}: go install runs no tidy"
            );
        }
    }
}
