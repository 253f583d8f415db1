//! Table tests of whole resolutions: a module universe in memory, a project on disk, and
//! the `.mod` and `.zip` sets expected.

use std::path::Path;

use crate::{Input, MemorySource, ResolveOptions, resolve};

/// A case: files written under a temp dir, the inputs (relative to it), what is expected.
struct Case {
    name: &'static str,
    files: &'static [(&'static str, &'static str)],
    inputs: &'static [&'static str],
    /// What the go command loads (the default).
    mods: &'static [&'static str],
    zips: &'static [&'static str],
    problems: &'static [&'static str],
    /// Versions in the build list only through a pruned-out go.mod's requirements whose
    /// go.mod could not be had: no build needs them, only `go mod download all`.
    warnings: &'static [&'static str],
    /// With `full_graph`, where it differs: the `.mod` and `.zip` sets, and the warnings.
    full: Option<Full>,
}

/// What `full_graph` resolves: today's superset.
struct Full {
    mods: &'static [&'static str],
    zips: &'static [&'static str],
    warnings: &'static [&'static str],
}

/// `go.mod` text for a fixture module version.
fn m(path: &str, go: Option<&str>, requires: &[&str]) -> String {
    let mut s = format!("module {path}\n");
    if let Some(go) = go {
        s.push_str(&format!("go {go}\n"));
    }
    for r in requires {
        let (p, v) = r.split_once('@').expect("path@version");
        s.push_str(&format!("require {p} {v}\n"));
    }
    s
}

/// The universe every case resolves against. `go 1.21` modules are pruned; `go 1.16` and
/// go-line-less ones are not.
fn universe() -> MemorySource {
    let new = Some("1.21");
    let old = Some("1.16");
    let mut u = MemorySource::new();
    let mut add = |mv: &str, go: Option<&str>, requires: &[&str]| {
        let (p, v) = mv.split_once('@').unwrap();
        u = std::mem::take(&mut u).with(p, v, &m(p, go, requires));
    };
    // Plain MVS: a needs c v1.1.0, b needs c v1.2.0.
    add("x.test/a@v1.0.0", new, &["x.test/c@v1.1.0"]);
    add("x.test/b@v1.0.0", new, &["x.test/c@v1.2.0"]);
    add("x.test/c@v1.1.0", new, &["x.test/d@v1.0.0"]);
    add("x.test/c@v1.2.0", new, &[]);
    add("x.test/d@v1.0.0", new, &[]);
    // An old (unpruned) module drags its whole subgraph into selection.
    add("x.test/old@v1.0.0", old, &["x.test/c@v1.1.0"]);
    add("x.test/nogo@v1.0.0", None, &["x.test/c@v1.1.0"]);
    // A cycle: e requires f requires e (at a newer version).
    add("x.test/e@v1.0.0", new, &["x.test/f@v1.0.0"]);
    add("x.test/f@v1.0.0", new, &["x.test/e@v1.1.0"]);
    add("x.test/e@v1.1.0", new, &["x.test/f@v1.0.0"]);
    // +incompatible: a v2 without go.mod.
    add("x.test/legacy@v2.0.0+incompatible", None, &[]);
    add(
        "x.test/uselegacy@v1.0.0",
        new,
        &["x.test/legacy@v2.0.0+incompatible"],
    );
    // Replacement targets.
    add("x.test/fork@v1.5.0", new, &["x.test/d@v1.0.0"]);
    add("x.test/c@v1.3.0", new, &[]);
    // A requirement back on the main module (at an older version).
    add("x.test/back@v1.0.0", new, &["x.test/main@v0.9.0"]);
    add("x.test/main@v0.9.0", new, &["x.test/d@v1.0.0"]);
    // A published module that is resolved as `module@version`.
    add("x.test/tool@v1.0.0", new, &["x.test/a@v1.0.0"]);
    add("x.test/tool@v1.1.0", new, &["x.test/a@v1.0.0"]);
    // A requirement on a version no proxy serves, which hides's own `replace` (ignored by
    // the go command outside the main module) hid from its authors.
    add("x.test/hides@v1.0.0", new, &["x.test/hidden@v0.0.0"]);
    u
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "mvs picks the highest required version; unselected versions get only .mod",
            files: &[(
                "p/go.mod",
                "module x.test/main\ngo 1.21\nrequire (\n x.test/a v1.0.0\n x.test/b v1.0.0\n x.test/c v1.2.0\n)\n",
            )],
            inputs: &["p/go.mod"],
            mods: &["x.test/a@v1.0.0", "x.test/b@v1.0.0", "x.test/c@v1.2.0"],
            // d is required only by c v1.1.0, whose go.mod a pruned graph never loads.
            zips: &["x.test/a@v1.0.0", "x.test/b@v1.0.0", "x.test/c@v1.2.0"],
            problems: &[],
            warnings: &[],
            full: Some(Full {
                mods: &[
                    "x.test/a@v1.0.0",
                    "x.test/b@v1.0.0",
                    "x.test/c@v1.1.0",
                    "x.test/c@v1.2.0",
                    "x.test/d@v1.0.0",
                ],
                zips: &["x.test/a@v1.0.0", "x.test/b@v1.0.0", "x.test/c@v1.2.0"],
                warnings: &[],
            }),
        },
        Case {
            name: "an unpruned main module selects over the whole graph",
            files: &[(
                "p/go.mod",
                "module x.test/main\ngo 1.16\nrequire (\n x.test/a v1.0.0\n x.test/b v1.0.0\n)\n",
            )],
            inputs: &["p/go.mod"],
            mods: &[
                "x.test/a@v1.0.0",
                "x.test/b@v1.0.0",
                "x.test/c@v1.1.0",
                "x.test/c@v1.2.0",
                "x.test/d@v1.0.0",
            ],
            zips: &[
                "x.test/a@v1.0.0",
                "x.test/b@v1.0.0",
                "x.test/c@v1.2.0",
                "x.test/d@v1.0.0",
            ],
            problems: &[],
            warnings: &[],
            full: None,
        },
        Case {
            name: "old dependencies without pruning bring their subgraph into selection",
            files: &[(
                "p/go.mod",
                "module x.test/main\ngo 1.21\nrequire x.test/old v1.0.0\nrequire x.test/nogo v1.0.0\n",
            )],
            inputs: &["p/go.mod"],
            mods: &[
                "x.test/c@v1.1.0",
                "x.test/d@v1.0.0",
                "x.test/nogo@v1.0.0",
                "x.test/old@v1.0.0",
            ],
            zips: &[
                "x.test/c@v1.1.0",
                "x.test/d@v1.0.0",
                "x.test/nogo@v1.0.0",
                "x.test/old@v1.0.0",
            ],
            problems: &[],
            warnings: &[],
            full: None,
        },
        Case {
            name: "exclude drops requirements; version-specific replace beats path-wide",
            files: &[(
                "p/go.mod",
                "module x.test/main\ngo 1.16\nrequire (\n x.test/a v1.0.0\n x.test/b v1.0.0\n x.test/c v1.1.0\n)\n\
                 exclude x.test/c v1.2.0\n\
                 replace x.test/c v1.1.0 => x.test/c v1.3.0\n\
                 replace x.test/a => x.test/fork v1.5.0\n",
            )],
            inputs: &["p/go.mod"],
            // c v1.2.0 is excluded: never fetched. c v1.1.0 is read from c v1.3.0; a from fork.
            mods: &[
                "x.test/b@v1.0.0",
                "x.test/c@v1.3.0",
                "x.test/d@v1.0.0",
                "x.test/fork@v1.5.0",
            ],
            zips: &[
                "x.test/b@v1.0.0",
                "x.test/c@v1.3.0",
                "x.test/d@v1.0.0",
                "x.test/fork@v1.5.0",
            ],
            problems: &[],
            warnings: &[],
            full: None,
        },
        Case {
            name: "a local-path replacement is read from disk, not fetched",
            files: &[
                (
                    "p/go.mod",
                    "module x.test/main\ngo 1.16\nrequire x.test/local v0.0.0\nreplace x.test/local => ../local\n",
                ),
                (
                    "local/go.mod",
                    "module x.test/local\ngo 1.16\nrequire x.test/a v1.0.0\n",
                ),
            ],
            inputs: &["p/go.mod"],
            mods: &["x.test/a@v1.0.0", "x.test/c@v1.1.0", "x.test/d@v1.0.0"],
            zips: &["x.test/a@v1.0.0", "x.test/c@v1.1.0", "x.test/d@v1.0.0"],
            problems: &[],
            warnings: &[],
            full: None,
        },
        Case {
            name: "cycles terminate and select the highest version in the cycle",
            files: &[(
                "p/go.mod",
                "module x.test/main\ngo 1.16\nrequire x.test/e v1.0.0\n",
            )],
            inputs: &["p/go.mod"],
            mods: &["x.test/e@v1.0.0", "x.test/e@v1.1.0", "x.test/f@v1.0.0"],
            zips: &["x.test/e@v1.1.0", "x.test/f@v1.0.0"],
            problems: &[],
            warnings: &[],
            full: None,
        },
        Case {
            name: "a dependency requiring the main module: its go.mod, never its zip",
            files: &[(
                "p/go.mod",
                "module x.test/main\ngo 1.16\nrequire x.test/back v1.0.0\n",
            )],
            inputs: &["p/go.mod"],
            mods: &[
                "x.test/back@v1.0.0",
                "x.test/d@v1.0.0",
                "x.test/main@v0.9.0",
            ],
            zips: &["x.test/back@v1.0.0", "x.test/d@v1.0.0"],
            problems: &[],
            warnings: &[],
            full: None,
        },
        Case {
            name: "+incompatible versions resolve like any other",
            files: &[(
                "p/go.mod",
                "module x.test/main\ngo 1.21\nrequire x.test/uselegacy v1.0.0\nrequire x.test/legacy v2.0.0+incompatible\n",
            )],
            inputs: &["p/go.mod"],
            mods: &[
                "x.test/legacy@v2.0.0+incompatible",
                "x.test/uselegacy@v1.0.0",
            ],
            zips: &[
                "x.test/legacy@v2.0.0+incompatible",
                "x.test/uselegacy@v1.0.0",
            ],
            problems: &[],
            warnings: &[],
            full: None,
        },
        Case {
            name: "go.work: use modules are main; go.work replace overrides theirs",
            files: &[
                (
                    "w/go.work",
                    "go 1.21\nuse ./one\nuse ./two\nreplace x.test/c v1.2.0 => x.test/c v1.3.0\n",
                ),
                (
                    "w/one/go.mod",
                    "module x.test/one\ngo 1.21\nrequire x.test/a v1.0.0\n",
                ),
                (
                    "w/two/go.mod",
                    "module x.test/two\ngo 1.21\nrequire x.test/b v1.0.0\nreplace x.test/c => x.test/c v1.1.0\n",
                ),
            ],
            inputs: &["w/go.work"],
            // two's path-wide replace applies to a's requirement on c v1.1.0 too. Zips: the
            // workspace's build list, plus each module's own (for `go mod tidy`, which
            // ignores go.work): two alone builds with its own replace, c v1.1.0. c is only
            // in pruned go.mods' requirements, but in the build list: `go mod download all`
            // takes its .mod and zip (not its requirements: d).
            mods: &[
                "x.test/a@v1.0.0",
                "x.test/b@v1.0.0",
                "x.test/c@v1.1.0",
                "x.test/c@v1.3.0",
            ],
            zips: &[
                "x.test/a@v1.0.0",
                "x.test/b@v1.0.0",
                "x.test/c@v1.1.0",
                "x.test/c@v1.3.0",
            ],
            problems: &[],
            warnings: &[],
            full: Some(Full {
                mods: &[
                    "x.test/a@v1.0.0",
                    "x.test/b@v1.0.0",
                    "x.test/c@v1.1.0",
                    "x.test/c@v1.3.0",
                    "x.test/d@v1.0.0",
                ],
                zips: &[
                    "x.test/a@v1.0.0",
                    "x.test/b@v1.0.0",
                    "x.test/c@v1.1.0",
                    "x.test/c@v1.3.0",
                ],
                warnings: &[],
            }),
        },
        Case {
            name: "go.sum: go.mod lines need the .mod, other lines everything",
            files: &[(
                "p/go.sum",
                "x.test/a v1.0.0 h1:AAAA\nx.test/a v1.0.0/go.mod h1:BBBB\nx.test/b v1.0.0/go.mod h1:CCCC\n",
            )],
            inputs: &["p/go.sum"],
            mods: &["x.test/a@v1.0.0", "x.test/b@v1.0.0"],
            zips: &["x.test/a@v1.0.0"],
            problems: &[],
            warnings: &[],
            full: None,
        },
        Case {
            name: "a directory resolves every go.mod and go.work below it",
            files: &[
                (
                    "d/one/go.mod",
                    "module x.test/one\ngo 1.21\nrequire x.test/a v1.0.0\n",
                ),
                (
                    "d/two/go.mod",
                    "module x.test/two\ngo 1.21\nrequire x.test/b v1.0.0\n",
                ),
                (
                    "d/two/vendor/x/go.mod",
                    "module x.test/v\nrequire x.test/e v1.0.0\n",
                ),
                (
                    "d/.cache/go.mod",
                    "module x.test/h\nrequire x.test/e v1.0.0\n",
                ),
            ],
            inputs: &["d"],
            mods: &[
                "x.test/a@v1.0.0",
                "x.test/b@v1.0.0",
                "x.test/c@v1.1.0",
                "x.test/c@v1.2.0",
            ],
            zips: &[
                "x.test/a@v1.0.0",
                "x.test/b@v1.0.0",
                "x.test/c@v1.1.0",
                "x.test/c@v1.2.0",
            ],
            problems: &[],
            warnings: &[],
            full: Some(Full {
                mods: &[
                    "x.test/a@v1.0.0",
                    "x.test/b@v1.0.0",
                    "x.test/c@v1.1.0",
                    "x.test/c@v1.2.0",
                    "x.test/d@v1.0.0",
                ],
                zips: &[
                    "x.test/a@v1.0.0",
                    "x.test/b@v1.0.0",
                    "x.test/c@v1.1.0",
                    "x.test/c@v1.2.0",
                ],
                warnings: &[],
            }),
        },
        Case {
            name: "module@version and @latest: the version and what it needs to build",
            files: &[],
            inputs: &["x.test/tool@latest", "x.test/d@v1.0.0"],
            mods: &[
                "x.test/a@v1.0.0",
                "x.test/c@v1.1.0",
                "x.test/d@v1.0.0",
                "x.test/tool@v1.1.0",
            ],
            zips: &[
                "x.test/a@v1.0.0",
                "x.test/c@v1.1.0",
                "x.test/d@v1.0.0",
                "x.test/tool@v1.1.0",
            ],
            problems: &[],
            warnings: &[],
            full: Some(Full {
                mods: &[
                    "x.test/a@v1.0.0",
                    "x.test/c@v1.1.0",
                    "x.test/d@v1.0.0",
                    "x.test/tool@v1.1.0",
                ],
                zips: &[
                    "x.test/a@v1.0.0",
                    "x.test/c@v1.1.0",
                    "x.test/d@v1.0.0",
                    "x.test/tool@v1.1.0",
                ],
                warnings: &[],
            }),
        },
        Case {
            name: "what cannot be read is reported, and the rest still resolved",
            files: &[(
                "p/go.mod",
                "module x.test/main\ngo 1.21\nrequire x.test/a v1.0.0\nrequire x.test/gone v1.0.0\n",
            )],
            inputs: &["p/go.mod", "x.test/nothere@v1.9.9"],
            mods: &["x.test/a@v1.0.0", "x.test/c@v1.1.0"],
            zips: &["x.test/a@v1.0.0", "x.test/c@v1.1.0"],
            problems: &[
                "x.test/gone@v1.0.0: not found",
                "x.test/nothere@v1.9.9: not found",
            ],
            warnings: &[],
            full: Some(Full {
                mods: &["x.test/a@v1.0.0", "x.test/c@v1.1.0", "x.test/d@v1.0.0"],
                zips: &["x.test/a@v1.0.0", "x.test/c@v1.1.0"],
                warnings: &[],
            }),
        },
        Case {
            name: "a go.mod outside the loaded graph is never read; --full-graph warns of it",
            files: &[(
                "p/go.mod",
                "module x.test/main\ngo 1.21\nrequire x.test/hides v1.0.0\n",
            )],
            inputs: &["p/go.mod"],
            mods: &["x.test/hides@v1.0.0"],
            zips: &["x.test/hides@v1.0.0"],
            problems: &[],
            warnings: &["x.test/hidden@v0.0.0: not found"],
            full: Some(Full {
                mods: &["x.test/hides@v1.0.0"],
                zips: &["x.test/hides@v1.0.0"],
                warnings: &["x.test/hidden@v0.0.0: not found"],
            }),
        },
        Case {
            name: "at go 1.17, tidy's compatibility check loads the unpruned graph: it is needed",
            files: &[(
                "p/go.mod",
                "module x.test/main\ngo 1.17\nrequire x.test/hides v1.0.0\nrequire x.test/a v1.0.0\n",
            )],
            inputs: &["p/go.mod"],
            mods: &[
                "x.test/a@v1.0.0",
                "x.test/c@v1.1.0",
                "x.test/d@v1.0.0",
                "x.test/hides@v1.0.0",
            ],
            // Selection is still pruned: c is only in a pruned-out go.mod's requirements,
            // yet in the build list (`go mod download all` takes it).
            zips: &["x.test/a@v1.0.0", "x.test/c@v1.1.0", "x.test/hides@v1.0.0"],
            problems: &["x.test/hidden@v0.0.0: not found"],
            warnings: &[],
            full: None,
        },
    ]
}

fn write_files(root: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

#[tokio::test]
async fn resolution_table() {
    let source = universe();
    for case in cases() {
        let tmp = tempfile::tempdir().unwrap();
        write_files(tmp.path(), case.files);
        let inputs: Vec<Input> = case
            .inputs
            .iter()
            .map(|arg| {
                let path = tmp.path().join(arg);
                let arg = if path.exists() {
                    path.display().to_string()
                } else {
                    arg.to_string()
                };
                Input::parse_arg(&arg).unwrap()
            })
            .collect();
        for (jobs, full_graph) in [(1, false), (4, false), (1, true), (4, true)] {
            let options = ResolveOptions {
                jobs,
                full_graph,
                ..ResolveOptions::default()
            };
            let got = resolve(&inputs, &source, &options).await;
            let show = |set: &std::collections::BTreeSet<crate::ModVersion>| {
                set.iter()
                    .map(|(p, v)| format!("{p}@{v}"))
                    .collect::<Vec<_>>()
            };
            let (mods, zips, warnings) = match (&case.full, full_graph) {
                (Some(full), true) => (full.mods, full.zips, full.warnings),
                _ => (case.mods, case.zips, case.warnings),
            };
            let name = format!("{} (full graph: {full_graph})", case.name);
            assert_eq!(show(&got.needs.mods), mods, "{name}: mods");
            assert_eq!(show(&got.needs.zips), zips, "{name}: zips");
            let problems: Vec<String> = got.problems.iter().map(|p| p.to_string()).collect();
            assert_eq!(problems, case.problems, "{name}: problems");
            let warned: Vec<String> = got.warnings.iter().map(|p| p.to_string()).collect();
            assert_eq!(warned, warnings, "{name}: warnings");
        }
    }
}

#[tokio::test]
async fn without_query_deps_only_the_named_version_is_needed() {
    let options = ResolveOptions {
        query_deps: false,
        ..ResolveOptions::default()
    };
    let inputs = [Input::parse_arg("x.test/tool@v1.0.0").unwrap()];
    let got = resolve(&inputs, &universe(), &options).await;
    let tool = (
        godepot_module::ModulePath::parse("x.test/tool").unwrap(),
        godepot_module::Version::parse("v1.0.0").unwrap(),
    );
    assert_eq!(got.needs.zips.iter().collect::<Vec<_>>(), [&tool]);
    assert_eq!(got.needs.mods.iter().collect::<Vec<_>>(), [&tool]);
}

#[tokio::test]
async fn the_checksum_files_beside_the_inputs_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    write_files(
        tmp.path(),
        &[
            ("app/go.mod", "module x.test/app\ngo 1.21\n"),
            ("app/go.sum", ""),
            ("nosum/go.mod", "module x.test/nosum\ngo 1.21\n"),
            ("w/go.work", "go 1.21\nuse ./one\nuse ./two\n"),
            ("w/go.work.sum", ""),
            ("w/one/go.mod", "module x.test/one\ngo 1.21\n"),
            ("w/one/go.sum", ""),
            ("w/two/go.mod", "module x.test/two\ngo 1.21\n"),
            ("extra.sum", ""),
        ],
    );
    let inputs: Vec<Input> = ["app/go.mod", "nosum/go.mod", "w/go.work", "extra.sum"]
        .iter()
        .map(|arg| Input::parse_arg(tmp.path().join(arg).to_str().unwrap()).unwrap())
        .collect();
    let got = resolve(&inputs, &universe(), &ResolveOptions::default()).await;
    let named: Vec<String> = got
        .go_sums
        .iter()
        .map(|p| {
            let rel = p.strip_prefix(tmp.path()).unwrap();
            rel.display().to_string()
        })
        .collect();
    assert_eq!(
        named,
        ["app/go.sum", "extra.sum", "w/go.work.sum", "w/one/go.sum"]
    );
}
