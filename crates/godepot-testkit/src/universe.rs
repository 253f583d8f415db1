//! Fixture module universes, written to disk as a `GOPROXY=file://` tree.
//!
//! The tree is what the go command itself reads for `file://` proxies, so the same directory
//! serves as (1) the oracle (`go` pointed straight at it), (2) the content of
//! [`crate::FixtureUpstream`], and (3) the expected bytes for godepot's answers.
//! Everything is deterministic (fixed times, seeded PRNG, fixed zip timestamps) so that go.sum
//! files from different runs and different proxies can be compared byte for byte.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use crate::semver::{self, escape};

/// The `go` directive written into generated go.mod files.
pub const GO_DIRECTIVE: &str = "1.21";

#[derive(Debug, Clone)]
enum GoMod {
    Generated,
    Custom(String),
    /// No go.mod in the zip; the `.mod` file is the synthesized `module <path>` line, as the
    /// go command does for pre-modules code (and `+incompatible` versions).
    Absent,
}

#[derive(Debug, Clone)]
struct VersionSpec {
    version: String,
    files: Vec<(String, Vec<u8>)>,
    requires: Vec<(String, String)>,
    retracts: Vec<(String, String)>,
    go_mod: GoMod,
    listed: bool,
    stored: bool,
    time: Option<String>,
}

#[derive(Debug, Clone)]
struct ModuleSpec {
    path: String,
    versions: Vec<VersionSpec>,
}

#[derive(Debug, Clone)]
struct ProjectSpec {
    dir: PathBuf,
    module: String,
    files: Vec<(String, Vec<u8>)>,
    requires: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy)]
enum Cursor {
    Nothing,
    Version,
    Project,
}

/// Builds a universe with a flat, chained API: `.module(path)` starts a module,
/// `.version(v)` starts a version of it, and `.file`/`.require`/`.retract`/... apply to the
/// version (or to the project after `.project(..)`).
///
/// ```no_run
/// # use godepot_testkit::UniverseBuilder;
/// let u = UniverseBuilder::new("/tmp/x/proxy")
///     .module("example.com/b").version("v1.2.0").file("b.go", "package b\n")
///     .module("example.com/a").version("v1.0.0")
///         .file("a.go", "package a\nimport _ \"example.com/b\"\n")
///         .require("example.com/b", "v1.2.0")
///     .version("v1.1.0").retract("v1.0.0", "broken")
///     .build();
/// ```
#[derive(Debug, Clone)]
pub struct UniverseBuilder {
    root: PathBuf,
    modules: Vec<ModuleSpec>,
    project: Option<ProjectSpec>,
    cursor: Cursor,
}

impl UniverseBuilder {
    /// A builder writing its `file://` tree into `root` (created if missing).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        UniverseBuilder {
            root: root.into(),
            modules: Vec::new(),
            project: None,
            cursor: Cursor::Nothing,
        }
    }

    /// Starts a module (decoded path, may contain upper-case letters).
    pub fn module(mut self, path: &str) -> Self {
        self.modules.push(ModuleSpec {
            path: path.to_owned(),
            versions: Vec::new(),
        });
        self.cursor = Cursor::Nothing;
        self
    }

    /// Starts a version of the current module (decoded, e.g. `v1.1.0-Beta`).
    pub fn version(mut self, version: &str) -> Self {
        let m = self
            .modules
            .last_mut()
            .expect("UniverseBuilder::version before any module()");
        assert!(
            semver::parse(version).is_some(),
            "not a canonical version: {version}"
        );
        m.versions.push(VersionSpec {
            version: version.to_owned(),
            files: Vec::new(),
            requires: Vec::new(),
            retracts: Vec::new(),
            go_mod: GoMod::Generated,
            listed: !semver::is_pseudo(version),
            stored: false,
            time: None,
        });
        self.cursor = Cursor::Version;
        self
    }

    fn cur(&mut self) -> &mut VersionSpec {
        self.modules
            .last_mut()
            .and_then(|m| m.versions.last_mut())
            .expect("call version() first")
    }

    /// Adds a file (path relative to the module root) to the current version or the project.
    pub fn file(mut self, name: &str, contents: impl AsRef<[u8]>) -> Self {
        let entry = (name.to_owned(), contents.as_ref().to_vec());
        match self.cursor {
            Cursor::Version => self.cur().files.push(entry),
            Cursor::Project => self.project.as_mut().expect("project").files.push(entry),
            Cursor::Nothing => panic!("file() needs a current version() or project()"),
        }
        self
    }

    /// Adds a `require` line to the generated go.mod of the current version or the project.
    pub fn require(mut self, module: &str, version: &str) -> Self {
        let entry = (module.to_owned(), version.to_owned());
        match self.cursor {
            Cursor::Version => self.cur().requires.push(entry),
            Cursor::Project => self.project.as_mut().expect("project").requires.push(entry),
            Cursor::Nothing => panic!("require() needs a current version() or project()"),
        }
        self
    }

    /// Adds a `retract` directive (a version or `[lo, hi]`) to the current version's go.mod.
    pub fn retract(mut self, what: &str, rationale: &str) -> Self {
        self.cur()
            .retracts
            .push((what.to_owned(), rationale.to_owned()));
        self
    }

    /// Uses `text` as the current version's go.mod verbatim instead of generating one.
    pub fn go_mod(mut self, text: &str) -> Self {
        self.cur().go_mod = GoMod::Custom(text.to_owned());
        self
    }

    /// The current version has no go.mod: its zip holds none and `.mod` is `module <path>\n`.
    pub fn no_go_mod(mut self) -> Self {
        self.cur().go_mod = GoMod::Absent;
        self
    }

    /// Serves the current version (`.info`/`.mod`/`.zip`) without naming it in `list`.
    /// Pseudo-versions are unlisted automatically.
    pub fn unlisted(mut self) -> Self {
        self.cur().listed = false;
        self
    }

    /// Stores the current version's zip entries uncompressed (for large incompressible data).
    pub fn stored(mut self) -> Self {
        self.cur().stored = true;
        self
    }

    /// Overrides the `.info` `Time` (RFC 3339) of the current version.
    pub fn time(mut self, rfc3339: &str) -> Self {
        self.cur().time = Some(rfc3339.to_owned());
        self
    }

    /// Starts the main-module project written into `dir` (with a go.mod, no go.sum).
    pub fn project(mut self, dir: impl Into<PathBuf>, module: &str) -> Self {
        self.project = Some(ProjectSpec {
            dir: dir.into(),
            module: module.to_owned(),
            files: Vec::new(),
            requires: Vec::new(),
        });
        self.cursor = Cursor::Project;
        self
    }

    /// Writes the tree (and project) to disk.
    pub fn build(self) -> Universe {
        fs::create_dir_all(&self.root).expect("create universe root");
        let mut clock = 0u32;
        let mut modules = Vec::new();
        for m in &self.modules {
            let mdir = self.root.join(escape(&m.path)).join("@v");
            fs::create_dir_all(&mdir).expect("create module dir");
            let mut entries = Vec::new();
            for v in &m.versions {
                clock += 1;
                let time = v
                    .time
                    .clone()
                    .or_else(|| pseudo_time(&v.version))
                    .unwrap_or_else(|| fixed_time(clock));
                let ev = escape(&v.version);
                let info = format!(
                    "{{\"Version\":{},\"Time\":{}}}\n",
                    serde_json::to_string(&v.version).expect("json"),
                    serde_json::to_string(&time).expect("json")
                );
                fs::write(mdir.join(format!("{ev}.info")), info).expect("write .info");
                let go_mod = match &v.go_mod {
                    GoMod::Generated => Some(generate_go_mod(&m.path, &v.requires, &v.retracts)),
                    GoMod::Custom(t) => Some(t.clone()),
                    GoMod::Absent => None,
                };
                let mod_file = go_mod
                    .clone()
                    .unwrap_or_else(|| format!("module {}\n", m.path));
                fs::write(mdir.join(format!("{ev}.mod")), &mod_file).expect("write .mod");
                write_zip(
                    &mdir.join(format!("{ev}.zip")),
                    &m.path,
                    v,
                    go_mod.as_deref(),
                );
                entries.push(VersionEntry {
                    version: v.version.clone(),
                    listed: v.listed,
                    time,
                });
            }
            let mut listed: Vec<&str> = entries
                .iter()
                .filter(|e| e.listed)
                .map(|e| e.version.as_str())
                .collect();
            listed.sort_by(|a, b| semver::compare(a, b));
            let list: String = listed.iter().map(|v| format!("{v}\n")).collect();
            fs::write(mdir.join("list"), list).expect("write list");
            modules.push(ModuleEntry {
                path: m.path.clone(),
                versions: entries,
            });
        }
        let project = self.project.as_ref().map(|p| {
            fs::create_dir_all(&p.dir).expect("create project dir");
            fs::write(
                p.dir.join("go.mod"),
                generate_go_mod(&p.module, &p.requires, &[]),
            )
            .expect("write project go.mod");
            for (name, data) in &p.files {
                let path = p.dir.join(name);
                fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
                fs::write(path, data).expect("write project file");
            }
            p.dir.clone()
        });
        Universe {
            root: self.root,
            project,
            modules,
        }
    }
}

fn generate_go_mod(
    path: &str,
    requires: &[(String, String)],
    retracts: &[(String, String)],
) -> String {
    let mut s = format!("module {path}\n\ngo {GO_DIRECTIVE}\n");
    if !requires.is_empty() {
        s.push_str("\nrequire (\n");
        for (m, v) in requires {
            s.push_str(&format!("\t{m} {v}\n"));
        }
        s.push_str(")\n");
    }
    if !retracts.is_empty() {
        s.push_str("\nretract (\n");
        for (what, why) in retracts {
            s.push_str(&format!("\t{what} // {why}\n"));
        }
        s.push_str(")\n");
    }
    s
}

fn write_zip(dest: &Path, module: &str, v: &VersionSpec, go_mod: Option<&str>) {
    let file = fs::File::create(dest).expect("create zip");
    let mut zw = ZipWriter::new(std::io::BufWriter::new(file));
    let method = if v.stored {
        CompressionMethod::Stored
    } else {
        CompressionMethod::Deflated
    };
    let opts = SimpleFileOptions::default()
        .compression_method(method)
        .last_modified_time(DateTime::default())
        .unix_permissions(0o644);
    let prefix = format!("{module}@{}/", v.version);
    let mut names: Vec<(&str, &[u8])> = v
        .files
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    if let Some(gm) = go_mod {
        names.push(("go.mod", gm.as_bytes()));
    }
    names.sort_by(|a, b| a.0.cmp(b.0));
    for (name, data) in names {
        zw.start_file(format!("{prefix}{name}"), opts)
            .expect("zip entry");
        zw.write_all(data).expect("zip write");
    }
    zw.finish().expect("zip finish").flush().expect("zip flush");
}

/// The three files of a minimal version of `module` whose go.mod declares `declared`
/// (`go 1.21`, one Go file): for fake fetchers that answer from memory.
#[derive(Debug, Clone)]
pub struct VersionFiles {
    pub go_mod: Vec<u8>,
    pub info: Vec<u8>,
    pub zip: Vec<u8>,
}

pub fn version_files(module: &str, version: &str, declared: &str) -> VersionFiles {
    let go_mod = format!("module {declared}\n\ngo 1.21\n");
    let prefix = format!("{module}@{version}/");
    let zip = zip_bytes(&[
        (&format!("{prefix}go.mod"), go_mod.as_bytes()),
        (&format!("{prefix}a.go"), b"package a\n"),
    ]);
    let info = format!("{{\"Version\":\"{version}\",\"Time\":\"2024-01-01T00:00:00Z\"}}\n");
    VersionFiles {
        go_mod: go_mod.into_bytes(),
        info: info.into_bytes(),
        zip,
    }
}

/// A deflated zip with exactly these entry names (no prefix added): for building bad zips,
/// e.g. entries with the wrong `module@version/` prefix.
pub fn zip_bytes(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zw = ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(DateTime::default())
        .unix_permissions(0o644);
    for (name, data) in entries {
        zw.start_file(*name, opts).expect("zip entry");
        zw.write_all(data).expect("zip write");
    }
    zw.finish().expect("zip finish").into_inner()
}

/// Deterministic, strictly increasing times: one minute apart from 2024-01-01T00:00Z.
fn fixed_time(n: u32) -> String {
    let (day, rem) = (1 + n / 1440, n % 1440);
    format!("2024-01-{day:02}T{:02}:{:02}:00Z", rem / 60, rem % 60)
}

/// A pseudo-version's `.info` time is the commit time encoded in it.
fn pseudo_time(v: &str) -> Option<String> {
    if !semver::is_pseudo(v) {
        return None;
    }
    let base = v.split_once('+').map_or(v, |(a, _)| a);
    let (head, _) = base.rsplit_once('-')?;
    let s = head.rsplit(['-', '.']).next()?;
    Some(format!(
        "{}-{}-{}T{}:{}:{}Z",
        &s[0..4],
        &s[4..6],
        &s[6..8],
        &s[8..10],
        &s[10..12],
        &s[12..14]
    ))
}

/// One version as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionEntry {
    /// Decoded version.
    pub version: String,
    /// Whether `list` names it.
    pub listed: bool,
    /// The `.info` time.
    pub time: String,
}

/// One module as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleEntry {
    /// Decoded module path.
    pub path: String,
    /// Its versions in build order.
    pub versions: Vec<VersionEntry>,
}

/// A universe on disk.
#[derive(Debug, Clone)]
pub struct Universe {
    /// The `file://` tree.
    pub root: PathBuf,
    /// The main-module project, if one was built.
    pub project: Option<PathBuf>,
    /// What was written.
    pub modules: Vec<ModuleEntry>,
}

impl Universe {
    /// `file://<root>`: the oracle GOPROXY.
    pub fn proxy_url(&self) -> String {
        format!("file://{}", self.root.display())
    }

    /// All module paths (decoded).
    pub fn module_paths(&self) -> Vec<String> {
        self.modules.iter().map(|m| m.path.clone()).collect()
    }

    /// The written entry for `module`.
    pub fn module(&self, module: &str) -> &ModuleEntry {
        self.modules
            .iter()
            .find(|m| m.path == module)
            .unwrap_or_else(|| panic!("no module {module} in universe"))
    }

    /// `<root>/<escaped module>/@v/<escaped version>.<ext>` (`ext` is `info`, `mod` or `zip`).
    pub fn artifact(&self, module: &str, version: &str, ext: &str) -> PathBuf {
        self.root
            .join(escape(module))
            .join("@v")
            .join(format!("{}.{ext}", escape(version)))
    }

    /// The request path (leading `/`, escaped) of an artifact, as a proxy serves it.
    pub fn url_path(module: &str, version: &str, ext: &str) -> String {
        format!("/{}/@v/{}.{ext}", escape(module), escape(version))
    }

    /// The project directory; panics if none was built.
    pub fn project_dir(&self) -> &Path {
        self.project
            .as_deref()
            .expect("universe built without a project")
    }

    /// Copies the project to `dest` so a test can let `go` modify go.mod/go.sum freely.
    pub fn copy_project(&self, dest: &Path) -> PathBuf {
        crate::fsutil::copy_dir(self.project_dir(), dest);
        dest.to_path_buf()
    }
}

/// Paths and versions of the standard universe, for tests to refer to.
pub mod std_names {
    /// Upper-case letters in the path, and a pre-release version with an upper-case letter.
    pub const UPPER: &str = "example.com/Upper/CamelCase";
    /// Its pre-release with an upper-case letter (`v1.1.0-!beta` on the wire).
    pub const UPPER_BETA: &str = "v1.1.0-Beta";
    /// A v1 module ...
    pub const MULTI: &str = "example.com/multi";
    /// ... and its `/v2` major version.
    pub const MULTI_V2: &str = "example.com/multi/v2";
    /// A module without go.mod, with a `+incompatible` v2 version.
    pub const LEGACY: &str = "example.com/legacy";
    /// The `+incompatible` version.
    pub const LEGACY_INCOMPAT: &str = "v2.0.0+incompatible";
    /// A module with a served but unlisted pseudo-version.
    pub const PSEUDO: &str = "example.com/pseudo";
    /// The unlisted pseudo-version.
    pub const PSEUDO_VERSION: &str = "v1.0.1-0.20240102030405-abcdefabcdef";
    /// Only pre-releases: `@latest` is the highest pre-release.
    pub const PRE: &str = "example.com/pre";
    /// v1.2.0's go.mod retracts v1.1.0.
    pub const RETRACTED: &str = "example.com/retracted";
    /// The retracted version.
    pub const RETRACTED_VERSION: &str = "v1.1.0";
    /// ~30 MiB incompressible, stored zip.
    pub const BIG: &str = "example.com/big";
    /// Its only version.
    pub const BIG_VERSION: &str = "v1.0.0";
    /// Size of the random data file inside the big zip.
    pub const BIG_DATA_LEN: usize = 30 * 1024 * 1024;
    /// Prefix of the require DAG modules `example.com/dag/m00` .. `m21`.
    pub const DAG_PREFIX: &str = "example.com/dag/m";
    /// Number of DAG modules.
    pub const DAG_COUNT: usize = 22;
    /// Module path of the project.
    pub const PROJECT: &str = "example.com/project";
}

/// Deterministic incompressible bytes (splitmix64), so the big zip is identical every run.
pub fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    out
}

fn dag_name(i: usize) -> String {
    format!("{}{i:02}", std_names::DAG_PREFIX)
}

/// The standard universe with the hard cases, in `<dir>/proxy`, and a project in
/// `<dir>/project` whose `go build ./...` compiles every module's package:
///
/// - upper-case letters in a module path and in a version (`v1.1.0-Beta`);
/// - a v1 module and its `/v2` sibling;
/// - `v2.0.0+incompatible` of a module without go.mod (synthesized `.mod`);
/// - a pseudo-version served but absent from `list`;
/// - a module with only pre-releases;
/// - a retraction in the latest version's go.mod;
/// - a ~30 MiB stored zip of seeded random bytes;
/// - a require DAG of 22 modules importing each other (with an MVS upgrade inside).
pub fn standard(dir: &Path) -> Universe {
    use std_names::*;
    let mut b = UniverseBuilder::new(dir.join("proxy"));

    // The DAG: m_i imports m_{i-1} and m_{i-2}; modules with i % 5 == 0 also have a v1.1.0,
    // which m_{i+2} requires, so minimal version selection has something to do.
    for i in 0..DAG_COUNT {
        let name = dag_name(i);
        let pkg = format!("m{i:02}");
        let versions: &[&str] = if i % 5 == 0 {
            &["v1.0.0", "v1.1.0"]
        } else {
            &["v1.0.0"]
        };
        b = b.module(&name);
        for v in versions {
            let mut imports = String::new();
            let mut expr = format!("{i}");
            b = b.version(v);
            for d in [1usize, 2] {
                if i >= d {
                    let dep = i - d;
                    let dep_version = if d == 2 && dep % 5 == 0 {
                        "v1.1.0"
                    } else {
                        "v1.0.0"
                    };
                    imports.push_str(&format!("\t\"{}\"\n", dag_name(dep)));
                    expr.push_str(&format!(" + m{dep:02}.Value()%1000"));
                    b = b.require(&dag_name(dep), dep_version);
                }
            }
            let import_block = if imports.is_empty() {
                String::new()
            } else {
                format!("import (\n{imports})\n\n")
            };
            let src = format!(
                "// Package {pkg} is fixture module {i} of the require DAG ({v}).\npackage {pkg}\n\n{import_block}// Value mixes this module's number with its dependencies'.\nfunc Value() int {{ return {expr} }}\n\n// Version is the module version this file was built into.\nconst Version = \"{v}\"\n"
            );
            b = b.file(&format!("{pkg}.go"), src);
        }
    }

    b = b
        .module(UPPER)
        .version("v1.0.0")
        .file("camel.go", "// Package camelcase lives under an upper-case module path.\npackage camelcase\n\n// Name is the module path.\nconst Name = \"example.com/Upper/CamelCase\"\n\n// Version is the release.\nconst Version = \"v1.0.0\"\n")
        .version(UPPER_BETA)
        .file("camel.go", "// Package camelcase lives under an upper-case module path.\npackage camelcase\n\n// Name is the module path.\nconst Name = \"example.com/Upper/CamelCase\"\n\n// Version is an upper-case pre-release.\nconst Version = \"v1.1.0-Beta\"\n")
        .file("README.md", "upper-case pre-release\n");

    b = b
        .module(MULTI)
        .version("v1.0.0")
        .file("multi.go", "// Package multi is the v1 line.\npackage multi\n\n// Major is the major version.\nconst Major = 1\n")
        .module(MULTI_V2)
        .version("v2.0.0")
        .file("multi.go", "// Package multi is the v2 line.\npackage multi\n\n// Major is the major version.\nconst Major = 2\n")
        .version("v2.1.0")
        .file("multi.go", "// Package multi is the v2 line.\npackage multi\n\n// Major is the major version.\nconst Major = 2\n\n// Minor is the minor version.\nconst Minor = 1\n");

    b = b
        .module(LEGACY)
        .version("v1.0.0")
        .no_go_mod()
        .file("legacy.go", "// Package legacy predates modules.\npackage legacy\n\n// Gen is the generation.\nconst Gen = 1\n")
        .version(LEGACY_INCOMPAT)
        .no_go_mod()
        .file("legacy.go", "// Package legacy predates modules.\npackage legacy\n\n// Gen is the generation.\nconst Gen = 2\n")
        .file("LICENSE", "fixture license\n");

    b = b
        .module(PSEUDO)
        .version("v1.0.0")
        .file("pseudo.go", "// Package pseudo has an unlisted pseudo-version.\npackage pseudo\n\n// Rev is the revision.\nconst Rev = \"v1.0.0\"\n")
        .version(PSEUDO_VERSION)
        .file("pseudo.go", "// Package pseudo has an unlisted pseudo-version.\npackage pseudo\n\n// Rev is the revision.\nconst Rev = \"abcdefabcdef\"\n");

    b = b
        .module(PRE)
        .version("v0.1.0-alpha.1")
        .file("pre.go", "// Package pre has only pre-releases.\npackage pre\n\n// Stage is the pre-release stage.\nconst Stage = \"alpha.1\"\n")
        .version("v0.1.0-rc.1")
        .file("pre.go", "// Package pre has only pre-releases.\npackage pre\n\n// Stage is the pre-release stage.\nconst Stage = \"rc.1\"\n");

    b = b.module(RETRACTED);
    for v in ["v1.0.0", RETRACTED_VERSION, "v1.2.0"] {
        b = b.version(v).file(
            "retracted.go",
            format!("// Package retracted has a retracted version.\npackage retracted\n\n// Version is the version.\nconst Version = \"{v}\"\n"),
        );
    }
    b = b.retract(RETRACTED_VERSION, "published with a broken build");

    b = b
        .module(BIG)
        .version(BIG_VERSION)
        .stored()
        .file("big.go", "// Package big carries a large data file.\npackage big\n\n// Size is the size of data.bin.\nconst Size = 31457280\n")
        .file("data.bin", random_bytes(0x060D_EB07, BIG_DATA_LEN));

    let top = DAG_COUNT - 1;
    let main_go = r#"// Command app imports every fixture module so that `go build ./...` compiles them all.
package main

import (
	"fmt"

	camelcase "example.com/Upper/CamelCase"
	"example.com/big"
	"example.com/legacy"
	"example.com/multi"
	multiv2 "example.com/multi/v2"
	"example.com/pre"
	"example.com/project/internal/dagtop"
	"example.com/pseudo"
	"example.com/retracted"
)

func main() {
	fmt.Println(camelcase.Name, camelcase.Version, big.Size, legacy.Gen, multi.Major, multiv2.Major,
		pre.Stage, pseudo.Rev, retracted.Version, dagtop.Value())
}
"#;
    let dagtop = format!(
        "// Package dagtop pulls in the whole require DAG through its top module.\npackage dagtop\n\nimport \"{}\"\n\n// Value is the DAG's value.\nfunc Value() int {{ return m{top:02}.Value() }}\n",
        dag_name(top)
    );
    b = b
        .project(dir.join("project"), PROJECT)
        .require(UPPER, UPPER_BETA)
        .require(BIG, BIG_VERSION)
        .require(&dag_name(top), "v1.0.0")
        .require(LEGACY, LEGACY_INCOMPAT)
        .require(MULTI, "v1.0.0")
        .require(MULTI_V2, "v2.0.0")
        .require(PRE, "v0.1.0-alpha.1")
        .require(PSEUDO, PSEUDO_VERSION)
        .require(RETRACTED, "v1.0.0")
        .file("cmd/app/main.go", main_go)
        .file("internal/dagtop/dagtop.go", dagtop);
    b.build()
}
