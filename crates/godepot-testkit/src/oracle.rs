//! The go-command oracle: runs the same battery of `go` commands against any GOPROXY and
//! reduces the results to a comparable [`OracleReport`] (checksums and versions, never local
//! paths), so "godepot behaves like the fixture tree" becomes `assert_same(&direct, &via)`.

use std::collections::BTreeMap;
use std::path::Path;

use crate::GoEnv;
use crate::universe::Universe;

/// What a proxy made the go command do, reduced to proxy-independent facts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OracleReport {
    /// The project's go.mod after `go build ./...` (which runs with `-mod=mod`).
    pub go_mod: String,
    /// The project's go.sum after `go build ./...`.
    pub go_sum: String,
    /// `go mod download -json all`: `path@version` → `Sum GoModSum Error`.
    pub downloads: BTreeMap<String, String>,
    /// `go list -m -versions -retracted <module>` output per module.
    pub versions: BTreeMap<String, String>,
    /// `go list -m <module>@latest` output per module.
    pub latest: BTreeMap<String, String>,
    /// `go get <module>@latest` from the built project: resulting go.mod and go.sum.
    pub get_latest: BTreeMap<String, (String, String)>,
}

/// Modules whose `go get @latest` is exercised: every hard case plus two DAG members (all 22
/// would only repeat the same path through the proxy at ten times the cost).
pub fn get_latest_targets(universe: &Universe) -> Vec<String> {
    universe
        .module_paths()
        .into_iter()
        .filter(|m| {
            !m.starts_with(crate::universe::std_names::DAG_PREFIX)
                || m.ends_with("m05")
                || m.ends_with("m21")
        })
        .collect()
}

/// Parses the concatenated JSON objects of `go mod download -json`.
pub fn parse_download_json(stdout: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for v in serde_json::Deserializer::from_str(stdout).into_iter::<serde_json::Value>() {
        let v = v.unwrap_or_else(|e| panic!("bad `go mod download -json` output: {e}\n{stdout}"));
        let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_owned();
        out.insert(
            format!("{}@{}", s("Path"), s("Version")),
            format!("{} {} {}", s("Sum"), s("GoModSum"), s("Error"))
                .trim()
                .to_owned(),
        );
    }
    out
}

/// Runs the battery in a fresh copy of the universe's project under `work` (which must not
/// exist yet or be empty). `go` must have a clean module cache for a cold comparison.
pub fn run_oracle(go: &GoEnv, universe: &Universe, work: &Path) -> OracleReport {
    let project = universe.copy_project(&work.join("project"));
    go.ok(&project, ["build", "./..."]);
    let go_mod = std::fs::read_to_string(project.join("go.mod")).expect("go.mod");
    let go_sum = std::fs::read_to_string(project.join("go.sum")).expect("go.sum after build");

    let downloads = parse_download_json(&go.ok(&project, ["mod", "download", "-json", "all"]));

    let mut versions = BTreeMap::new();
    let mut latest = BTreeMap::new();
    for m in universe.module_paths() {
        versions.insert(
            m.clone(),
            go.ok(
                &project,
                ["list", "-m", "-versions", "-retracted", m.as_str()],
            )
            .trim()
            .to_owned(),
        );
        latest.insert(
            m.clone(),
            go.ok(&project, ["list", "-m", &format!("{m}@latest")])
                .trim()
                .to_owned(),
        );
    }

    let mut get_latest = BTreeMap::new();
    for (i, m) in get_latest_targets(universe).into_iter().enumerate() {
        let dir = work.join(format!("get-{i}"));
        crate::fsutil::copy_dir(&project, &dir);
        go.ok(&dir, ["get", &format!("{m}@latest")]);
        let gm = std::fs::read_to_string(dir.join("go.mod")).expect("go.mod");
        let gs = std::fs::read_to_string(dir.join("go.sum")).expect("go.sum");
        get_latest.insert(m, (gm, gs));
    }
    OracleReport {
        go_mod,
        go_sum,
        downloads,
        versions,
        latest,
        get_latest,
    }
}

/// Downloads every version of every module (listed or not) through `go`'s proxy, so that a
/// caching proxy holds the whole universe afterwards.
pub fn fetch_everything(
    go: &GoEnv,
    universe: &Universe,
    scratch: &Path,
) -> BTreeMap<String, String> {
    std::fs::create_dir_all(scratch).expect("scratch dir");
    let mut args = vec!["mod".to_owned(), "download".to_owned(), "-json".to_owned()];
    for m in &universe.modules {
        for v in &m.versions {
            args.push(format!("{}@{}", m.path, v.version));
        }
    }
    parse_download_json(&go.ok(scratch, &args))
}

/// Panics with a field-by-field explanation unless the reports are equal.
pub fn assert_same(expected: &OracleReport, actual: &OracleReport, label: &str) {
    let mut diffs = Vec::new();
    if expected.go_mod != actual.go_mod {
        diffs.push(format!(
            "go.mod after build differs:\n--- expected\n{}\n--- {label}\n{}",
            expected.go_mod, actual.go_mod
        ));
    }
    if expected.go_sum != actual.go_sum {
        diffs.push(format!(
            "go.sum after build differs:\n--- expected\n{}\n--- {label}\n{}",
            expected.go_sum, actual.go_sum
        ));
    }
    map_diff(
        "go mod download -json all",
        &expected.downloads,
        &actual.downloads,
        &mut diffs,
    );
    map_diff(
        "go list -m -versions -retracted",
        &expected.versions,
        &actual.versions,
        &mut diffs,
    );
    map_diff(
        "go list -m @latest",
        &expected.latest,
        &actual.latest,
        &mut diffs,
    );
    for (m, want) in &expected.get_latest {
        match actual.get_latest.get(m) {
            Some(got) if got == want => {}
            got => diffs.push(format!(
                "go get {m}@latest: expected go.mod/go.sum\n{want:?}\ngot\n{got:?}"
            )),
        }
    }
    assert!(
        diffs.is_empty(),
        "[{label}] go oracle mismatch ({} differences):\n{}",
        diffs.len(),
        diffs.join("\n\n")
    );
}

fn map_diff(
    what: &str,
    want: &BTreeMap<String, String>,
    got: &BTreeMap<String, String>,
    diffs: &mut Vec<String>,
) {
    for (k, w) in want {
        match got.get(k) {
            Some(g) if g == w => {}
            Some(g) => diffs.push(format!("{what} [{k}]: expected {w:?}, got {g:?}")),
            None => diffs.push(format!("{what} [{k}]: missing (expected {w:?})")),
        }
    }
    for (k, g) in got {
        if !want.contains_key(k) {
            diffs.push(format!("{what} [{k}]: unexpected {g:?}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> OracleReport {
        let mut r = OracleReport {
            go_mod: "module m\n".into(),
            go_sum: "a v1 h1:x\n".into(),
            ..Default::default()
        };
        r.downloads.insert("a@v1".into(), "h1:x h1:y".into());
        r.versions.insert("a".into(), "a v1 v2".into());
        r
    }

    #[test]
    fn equal_reports_pass() {
        assert_same(&report(), &report(), "same");
    }

    #[test]
    #[should_panic(expected = "go list -m -versions -retracted [a]")]
    fn a_missing_version_is_reported() {
        let mut other = report();
        other.versions.insert("a".into(), "a v1".into());
        assert_same(&report(), &other, "diff");
    }

    #[test]
    #[should_panic(expected = "unexpected")]
    fn an_extra_download_is_reported() {
        let mut other = report();
        other.downloads.insert("b@v1".into(), "h1:z".into());
        assert_same(&report(), &other, "diff");
    }

    #[test]
    fn parses_download_stream() {
        let out = "{\n\t\"Path\": \"a\",\n\t\"Version\": \"v1\",\n\t\"Dir\": \"/x\",\n\t\"Sum\": \"h1:s\",\n\t\"GoModSum\": \"h1:g\"\n}\n{\"Path\":\"b\",\"Version\":\"v2\",\"Error\":\"boom\"}\n";
        let m = parse_download_json(out);
        assert_eq!(m["a@v1"], "h1:s h1:g");
        assert_eq!(m["b@v2"], "boom");
    }
}
