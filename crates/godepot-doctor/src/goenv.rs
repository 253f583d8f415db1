//! The go command's environment, as `go env -json` reports it: the effective values (a
//! variable left unset shows its default, `GONOPROXY` and `GONOSUMDB` fall back to
//! `GOPRIVATE`), whether they come from the OS environment or the `GOENV` file.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// The variables doctor reads.
pub const VARIABLES: &[&str] = &[
    "GOPROXY",
    "GOSUMDB",
    "GONOSUMDB",
    "GOPRIVATE",
    "GONOPROXY",
    "GOINSECURE",
    "GOFLAGS",
    "GOMOD",
    "GOWORK",
    "GOENV",
    "GOVERSION",
];

/// The go command's effective settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GoEnv {
    values: BTreeMap<String, String>,
    /// Variables set (non-empty) in the OS environment: `go env -w` cannot change those
    /// (the environment wins), so their fix is an `export`.
    from_os: Vec<String>,
}

/// Why the go environment could not be read.
#[derive(Debug, thiserror::Error)]
pub enum GoEnvError {
    #[error("cannot run `go env -json`: {0}")]
    NoGo(std::io::Error),
    #[error("`go env -json` failed: {0}")]
    Failed(String),
    #[error("`go env -json` printed something that is not a JSON object of strings: {0}")]
    Malformed(serde_json::Error),
}

impl GoEnv {
    /// Runs `go env -json` (in the current directory, so `GOMOD` is this module's), and notes
    /// which variables the OS environment sets.
    pub fn read() -> Result<GoEnv, GoEnvError> {
        let output = Command::new("go")
            .arg("env")
            .arg("-json")
            .args(VARIABLES)
            .output()
            .map_err(GoEnvError::NoGo)?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(GoEnvError::Failed(
                stderr.lines().next().unwrap_or("").to_string(),
            ));
        }
        let mut env = GoEnv::parse(&output.stdout)?;
        env.from_os = VARIABLES
            .iter()
            .filter(|v| std::env::var_os(v).is_some_and(|value| !value.is_empty()))
            .map(|v| v.to_string())
            .collect();
        Ok(env)
    }

    /// `go env -json`'s output.
    pub fn parse(json: &[u8]) -> Result<GoEnv, GoEnvError> {
        let values = serde_json::from_slice(json).map_err(GoEnvError::Malformed)?;
        Ok(GoEnv {
            values,
            from_os: Vec::new(),
        })
    }

    /// Values given directly (for tests and table tests): `(name, value)` pairs, and the
    /// names the OS environment sets.
    pub fn from_pairs(pairs: &[(&str, &str)], from_os: &[&str]) -> GoEnv {
        GoEnv {
            values: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            from_os: from_os.iter().map(|v| v.to_string()).collect(),
        }
    }

    /// A variable's value; empty when unset.
    pub fn get(&self, name: &str) -> &str {
        self.values.get(name).map_or("", |v| v.trim())
    }

    /// Whether the OS environment sets `name` (then `go env -w` does not change it).
    pub fn from_os(&self, name: &str) -> bool {
        self.from_os.iter().any(|v| v == name)
    }

    /// The go.mod of the current module, if the current directory is in one.
    pub fn go_mod(&self) -> Option<&Path> {
        let gomod = self.get("GOMOD");
        (!gomod.is_empty() && gomod != "/dev/null" && gomod != "NUL").then(|| Path::new(gomod))
    }

    /// Where `-mod=vendor` looks for `vendor/`: beside go.work in a workspace, else beside
    /// go.mod.
    pub fn vendor_dir(&self) -> Option<std::path::PathBuf> {
        let gowork = self.get("GOWORK");
        let root = if !gowork.is_empty() && gowork != "off" {
            Path::new(gowork)
        } else {
            self.go_mod()?
        };
        Some(root.parent()?.join("vendor"))
    }
}

/// Splits a comma-separated pattern list (GOPRIVATE syntax), dropping empty entries.
pub(crate) fn patterns(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_env_json() {
        let env = GoEnv::parse(
            br#"{"GOPROXY": "http://127.0.0.1:3000,direct", "GOMOD": "/src/app/go.mod", "GOWORK": ""}"#,
        )
        .unwrap();
        assert_eq!(env.get("GOPROXY"), "http://127.0.0.1:3000,direct");
        assert_eq!(env.get("GOSUMDB"), "");
        assert_eq!(env.go_mod(), Some(Path::new("/src/app/go.mod")));
        assert_eq!(env.vendor_dir(), Some("/src/app/vendor".into()));
        assert!(GoEnv::parse(b"[1]").is_err());
    }

    #[test]
    fn vendor_lives_beside_go_work_in_a_workspace() {
        let env = GoEnv::from_pairs(&[("GOMOD", "/w/a/go.mod"), ("GOWORK", "/w/go.work")], &[]);
        assert_eq!(env.vendor_dir(), Some("/w/vendor".into()));
        let outside = GoEnv::from_pairs(&[("GOMOD", "/dev/null")], &[]);
        assert_eq!(outside.vendor_dir(), None);
    }
}
