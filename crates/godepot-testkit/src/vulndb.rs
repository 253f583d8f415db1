//! A fixture Go vulnerability database, written in the documented layout
//! (`index/db.json`, `index/modules.json`, `ID/<id>.json`), and the real `govulncheck` to read
//! it with.
//!
//! The indexes are computed here from the entries as the database's own tools do (the
//! `fixed` of a module is the latest fix of its ranges, none when the last interval is open),
//! independently of godepot's code. Written beside a universe (`<root>/vulndb/`), the
//! [`crate::FixtureUpstream`] serves it at `/vulndb/`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::GoEnv;

/// One OSV entry of the fixture database: one module, one `SEMVER` range.
#[derive(Debug, Clone)]
pub struct FixtureVuln {
    pub id: String,
    pub module: String,
    /// Intervals `(introduced, fixed)`, versions without `v` (`"0"`: from the beginning).
    pub ranges: Vec<(String, Option<String>)>,
    /// The vulnerable package and its symbols (govulncheck's symbol-level analysis).
    pub package: String,
    pub symbols: Vec<String>,
    pub withdrawn: bool,
    pub aliases: Vec<String>,
    pub modified: String,
}

impl FixtureVuln {
    /// An entry for `module` (its root package), modified at a fixed time.
    pub fn new(id: &str, module: &str) -> FixtureVuln {
        FixtureVuln {
            id: id.into(),
            module: module.into(),
            ranges: Vec::new(),
            package: module.into(),
            symbols: Vec::new(),
            withdrawn: false,
            aliases: Vec::new(),
            modified: "2024-03-01T12:00:00Z".into(),
        }
    }

    /// Adds an interval: `introduced` (`"0"` for the beginning) up to `fixed`.
    pub fn range(mut self, introduced: &str, fixed: Option<&str>) -> Self {
        self.ranges
            .push((introduced.into(), fixed.map(str::to_owned)));
        self
    }

    pub fn symbols(mut self, symbols: &[&str]) -> Self {
        self.symbols = symbols.iter().map(|s| s.to_string()).collect();
        self
    }

    pub fn withdrawn(mut self) -> Self {
        self.withdrawn = true;
        self
    }

    pub fn alias(mut self, alias: &str) -> Self {
        self.aliases.push(alias.into());
        self
    }

    pub fn modified(mut self, rfc3339: &str) -> Self {
        self.modified = rfc3339.into();
        self
    }

    /// The entry's JSON (OSV schema 1.3.1, as the Go database writes it).
    pub fn json(&self) -> serde_json::Value {
        let mut events = Vec::new();
        for (introduced, fixed) in &self.ranges {
            events.push(serde_json::json!({ "introduced": introduced }));
            if let Some(f) = fixed {
                events.push(serde_json::json!({ "fixed": f }));
            }
        }
        let mut entry = serde_json::json!({
            "schema_version": "1.3.1",
            "id": self.id,
            "modified": self.modified,
            "published": "2024-01-01T00:00:00Z",
            "aliases": self.aliases,
            "summary": format!("Fixture vulnerability {} in {}", self.id, self.module),
            "details": "A fixture entry for godepot's tests.",
            "affected": [{
                "package": { "name": self.module, "ecosystem": "Go" },
                "ranges": [{ "type": "SEMVER", "events": events }],
                "ecosystem_specific": {
                    "imports": [{ "path": self.package, "symbols": self.symbols }]
                }
            }],
            "references": [{ "type": "FIX", "url": "https://fixture.invalid/fix" }],
            "database_specific": { "url": format!("https://fixture.invalid/{}", self.id) }
        });
        if self.withdrawn {
            entry["withdrawn"] = serde_json::json!(self.modified);
        }
        entry
    }

    /// The latest fix, unless a version after every fix is affected.
    fn index_fixed(&self) -> Option<String> {
        self.ranges.last().and_then(|(_, f)| f.clone())
    }
}

/// Writes the database into `dir` (created): every entry, and the indexes computed from
/// them. Returns `index/db.json`'s `modified` (the newest entry's).
pub fn write_db(dir: &Path, vulns: &[FixtureVuln]) -> String {
    std::fs::create_dir_all(dir.join("ID")).expect("mkdir ID");
    std::fs::create_dir_all(dir.join("index")).expect("mkdir index");
    let mut modules: BTreeMap<&str, Vec<serde_json::Value>> = BTreeMap::new();
    for v in vulns {
        let bytes = serde_json::to_vec(&v.json()).expect("json");
        std::fs::write(dir.join("ID").join(format!("{}.json", v.id)), bytes).expect("write entry");
        let mut line = serde_json::json!({ "id": v.id, "modified": v.modified });
        if let Some(f) = v.index_fixed() {
            line["fixed"] = serde_json::json!(f);
        }
        modules.entry(&v.module).or_default().push(line);
    }
    let index: Vec<serde_json::Value> = modules
        .into_iter()
        .map(|(path, vulns)| serde_json::json!({ "path": path, "vulns": vulns }))
        .collect();
    std::fs::write(
        dir.join("index/modules.json"),
        serde_json::to_vec(&index).expect("json"),
    )
    .expect("write modules.json");
    // RFC 3339 times of one form order as strings.
    let modified = vulns
        .iter()
        .map(|v| v.modified.clone())
        .max()
        .unwrap_or_else(|| "2024-01-01T00:00:00Z".into());
    std::fs::write(
        dir.join("index/db.json"),
        serde_json::to_vec(&serde_json::json!({ "modified": modified })).expect("json"),
    )
    .expect("write db.json");
    modified
}

/// The `govulncheck` binary: on PATH, else where `.ci/run` installs it
/// (`$HOME/.cache/godepot-ci/bin`). Panics, saying how to install it, when there is none.
pub fn require_govulncheck() -> PathBuf {
    let cached = std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".cache/godepot-ci/bin/govulncheck"));
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join("govulncheck"))
            .find(|p| p.is_file())
    });
    match on_path.or(cached.filter(|p| p.is_file())) {
        Some(p) => p,
        None => panic!(
            "govulncheck is required by these tests (it is the oracle for /vulndb/) and was found neither on PATH \
             nor in $HOME/.cache/godepot-ci/bin. Install it with \
             `GOBIN=$HOME/.cache/godepot-ci/bin go install golang.org/x/vuln/cmd/govulncheck@v1.9.0` \
             (what .ci/run does) and re-run; these tests never skip."
        ),
    }
}

/// What a govulncheck run found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    /// The ids of the findings that reach a vulnerable symbol (called).
    pub called: BTreeSet<String>,
    /// The ids of every finding (module, package or symbol level).
    pub all: BTreeSet<String>,
    /// The ids of the OSV entries govulncheck read.
    pub osvs: BTreeSet<String>,
    /// The database's time, as govulncheck reports it.
    pub db_last_modified: Option<String>,
}

/// Runs `govulncheck -db <db> -format json ./...` in `project`, with `go`'s hermetic
/// environment (the project's modules come from `go`'s GOPROXY), and reads its findings.
/// Panics with the output when it does not run to the end.
pub fn scan(go: &GoEnv, project: &Path, db: &str) -> Scan {
    let bin = require_govulncheck();
    let mut cmd = Command::new(&bin);
    cmd.args(["-db", db, "-format", "json", "./..."])
        .current_dir(project);
    go.apply(&mut cmd);
    let out = cmd.output().expect("run govulncheck");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // With -format json the exit status is 0 whether or not something was found.
    assert!(
        out.status.success(),
        "govulncheck -db {db} failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    let mut scan = Scan {
        called: BTreeSet::new(),
        all: BTreeSet::new(),
        osvs: BTreeSet::new(),
        db_last_modified: None,
    };
    let mut stream = serde_json::Deserializer::from_str(&stdout).into_iter::<serde_json::Value>();
    while let Some(Ok(message)) = stream.next() {
        if let Some(config) = message.get("config") {
            scan.db_last_modified = config["db_last_modified"].as_str().map(str::to_owned);
        }
        if let Some(osv) = message.get("osv") {
            scan.osvs
                .insert(osv["id"].as_str().unwrap_or_default().to_owned());
        }
        if let Some(finding) = message.get("finding") {
            let id = finding["osv"].as_str().unwrap_or_default().to_owned();
            let symbol_level = finding["trace"]
                .as_array()
                .and_then(|t| t.first())
                .is_some_and(|frame| frame.get("function").is_some());
            if symbol_level {
                scan.called.insert(id.clone());
            }
            scan.all.insert(id);
        }
    }
    assert!(
        scan.db_last_modified.is_some(),
        "govulncheck printed no config message:\n{stdout}\n{stderr}"
    );
    scan
}
