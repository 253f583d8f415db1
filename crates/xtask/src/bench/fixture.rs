//! The fixture universe the bench serves, built with the testkit's [`UniverseBuilder`], and
//! the 100,000-version scale store written straight to disk.

use std::fs;
use std::path::{Path, PathBuf};

use godepot_testkit::universe::random_bytes;
use godepot_testkit::{Universe, UniverseBuilder};

use super::plan::Plan;

/// Everything the sections need to know about the universe.
pub(crate) struct Fixture {
    pub(crate) universe: Universe,
    /// `(module, versions)` of the library modules, oldest version first.
    pub(crate) lib: Vec<(String, Vec<String>)>,
    /// `(module, version)` of the large zips.
    pub(crate) big: Vec<(String, String)>,
    pub(crate) big_zip_bytes: u64,
}

fn lib_module(i: usize) -> String {
    format!("bench.example/lib/m{i:03}")
}

fn lib_version(k: usize) -> String {
    format!("v1.{k}.0")
}

/// A few KiB of Go source per version so zips are not trivially small.
fn lib_source(i: usize, version: &str) -> String {
    let mut s = format!(
        "// Package m{i:03} is fixture library {i} of the benchmark universe ({version}).\npackage m{i:03}\n\n"
    );
    for f in 0..24 {
        s.push_str(&format!(
            "// F{f} returns a constant derived from the module number and {f}.\nfunc F{f}() int {{ return {i} * {} + {f} }}\n\n",
            f + 1
        ));
    }
    s
}

/// Library modules (every version after the first requires the next module's first version,
/// so the client has a module graph to walk), a few large stored zips of incompressible data,
/// and a project requiring the first `project_requires` modules at their latest versions.
pub(crate) fn build(dir: &Path, plan: &Plan) -> Fixture {
    let mut b = UniverseBuilder::new(dir.join("proxy"));
    let mut lib = Vec::new();
    for i in 0..plan.lib_modules {
        let module = lib_module(i);
        b = b.module(&module);
        let mut versions = Vec::new();
        for k in 0..plan.versions_per_module {
            let v = lib_version(k);
            b = b
                .version(&v)
                .file(&format!("m{i:03}.go"), lib_source(i, &v));
            if k > 0 {
                b = b.require(&lib_module((i + 1) % plan.lib_modules), &lib_version(0));
            }
            versions.push(v);
        }
        lib.push((module, versions));
    }
    let big_len = plan.big_zip_mib * 1024 * 1024;
    let mut big = Vec::new();
    for n in 0..plan.big_zips {
        let module = format!("bench.example/big/b{n}");
        b = b
            .module(&module)
            .version("v1.0.0")
            .stored()
            .file(
                "big.go",
                format!("// Package b{n} carries a large data file.\npackage b{n}\n"),
            )
            .file("data.bin", random_bytes(0xB16 + n as u64, big_len));
        big.push((module, "v1.0.0".to_owned()));
    }
    b = b
        .project(dir.join("project"), "bench.example/project")
        .file(
            "main.go",
            "// Command project exists so the module has a package.\npackage main\n\nfunc main() {}\n",
        );
    for (module, versions) in lib.iter().take(plan.project_requires) {
        b = b.require(module, versions.last().expect("a version"));
    }
    let universe = b.build();
    let big_zip_bytes = big
        .first()
        .and_then(|(m, v)| fs::metadata(universe.artifact(m, v, "zip")).ok())
        .map_or(0, |m| m.len());
    Fixture {
        universe,
        lib,
        big,
        big_zip_bytes,
    }
}

impl Fixture {
    pub(crate) fn info_paths(&self) -> Vec<String> {
        self.lib_paths("info")
    }

    pub(crate) fn mod_paths(&self) -> Vec<String> {
        self.lib_paths("mod")
    }

    pub(crate) fn list_paths(&self) -> Vec<String> {
        self.lib
            .iter()
            .map(|(m, _)| format!("/{m}/@v/list"))
            .collect()
    }

    pub(crate) fn big_zip_paths(&self) -> Vec<String> {
        self.big
            .iter()
            .map(|(m, v)| Universe::url_path(m, v, "zip"))
            .collect()
    }

    /// The latest zip of each of the first `n` library modules.
    pub(crate) fn lib_zip_paths(&self, n: usize) -> Vec<String> {
        self.lib
            .iter()
            .take(n)
            .map(|(m, vs)| Universe::url_path(m, vs.last().expect("a version"), "zip"))
            .collect()
    }

    fn lib_paths(&self, ext: &str) -> Vec<String> {
        self.lib
            .iter()
            .flat_map(|(m, vs)| vs.iter().map(move |v| Universe::url_path(m, v, ext)))
            .collect()
    }

    /// Reads every file of the tree once so that both servers start from a warm page cache.
    pub(crate) fn warm_page_cache(&self) {
        for path in godepot_testkit::fsutil::tree(&self.universe.root).keys() {
            let _ = fs::read(self.universe.root.join(path));
        }
    }
}

/// The `v`-th version of a generated module, and its `.info`.
pub(crate) fn generated_version(v: usize) -> (String, String) {
    let version = format!("v1.0.{v}");
    let info = format!(
        "{{\"Version\":\"{version}\",\"Time\":\"2024-02-01T00:{:02}:{:02}Z\"}}\n",
        (v / 60) % 60,
        v % 60
    );
    (version, info)
}

/// The scale store: the universe's metadata (`.info`, `.mod`, `list`; no zips) plus
/// `modules × versions` generated versions, written directly (no zips needed for `list` and
/// `.info`), so 100,000 versions take seconds rather than minutes.
pub(crate) fn scale_store(dest: &Path, fixture: &Fixture, plan: &Plan) -> Result<PathBuf, String> {
    let io = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
    for (module, versions) in &fixture.lib {
        let from = fixture.universe.root.join(module).join("@v");
        let to = dest.join(module).join("@v");
        fs::create_dir_all(&to).map_err(|e| io(&to, e))?;
        let mut names = vec!["list".to_owned()];
        for v in versions {
            names.push(format!("{v}.info"));
            names.push(format!("{v}.mod"));
        }
        for name in names {
            fs::copy(from.join(&name), to.join(&name)).map_err(|e| io(&to.join(&name), e))?;
        }
    }
    for m in 0..plan.scale_modules {
        let module = format!("bench.example/scale/s{m:04}");
        let dir = dest.join(&module).join("@v");
        fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        let go_mod = format!("module {module}\n\ngo 1.21\n");
        let mut list = String::new();
        for v in 0..plan.scale_versions {
            let (version, info) = generated_version(v);
            let p = dir.join(format!("{version}.info"));
            fs::write(&p, info).map_err(|e| io(&p, e))?;
            let p = dir.join(format!("{version}.mod"));
            fs::write(&p, &go_mod).map_err(|e| io(&p, e))?;
            list.push_str(&version);
            list.push('\n');
        }
        let p = dir.join("list");
        fs::write(&p, list).map_err(|e| io(&p, e))?;
    }
    Ok(dest.to_path_buf())
}
