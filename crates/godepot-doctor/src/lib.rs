//! `godepot doctor`: why this developer's go command does not use the server (or will fail
//! through it), each problem with the line that fixes it.
//!
//! Three steps, so that the judgement is pure and table-tested:
//!
//! - [`goenv`]: read the go command's environment (`go env -json`: the one place godepot runs
//!   `go`, since only it knows its effective settings);
//! - [`probe`]: ask the server what the go command would (`/healthz`, `/api/server`, one
//!   real `@v/list`), recording outcomes as data;
//! - [`checks`]: judge those facts: [`checks::diagnose`].
//!
//! Nothing here prints; the binary renders the [`Report`].

pub mod checks;
pub mod fix;
pub mod goenv;
pub mod probe;
pub mod server;

use godepot_module::{GoMod, TOOLCHAIN_MODULE, escape_path, matches_glob_prefix};
use serde::Serialize;

pub use checks::{Check, Facts, Status, diagnose};
pub use goenv::{GoEnv, GoEnvError};
pub use probe::{Probe, Probes, Target};
pub use server::{ServerInfo, ServerUrl};

/// What doctor found: for `--json`, and for the readable summary.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The server diagnosed, credentials shown as `***`.
    pub server: String,
    pub go_version: String,
    /// The file `go env -w` writes.
    pub goenv: String,
    pub checks: Vec<Check>,
    pub findings: usize,
}

impl Report {
    pub fn new(env: &GoEnv, server: &ServerUrl, checks: Vec<Check>) -> Report {
        let findings = checks
            .iter()
            .filter(|c| c.status == Status::Finding)
            .count();
        Report {
            server: server.to_string(),
            go_version: env.get("GOVERSION").to_string(),
            goenv: env.get("GOENV").to_string(),
            checks,
            findings,
        }
    }
}

/// The one real fetch: the version list of the first requirement of the current module
/// that the go command would ask the server for (not replaced, not matched by
/// `GONOPROXY`), since that is what this build needs; outside a module, the Go
/// toolchain's list, a cheap request any server answers (a 404 included).
pub fn fetch_target(env: &GoEnv, go_mod: Option<&GoMod>) -> Target {
    let nonproxy = env.get("GONOPROXY");
    let required = go_mod.and_then(|m| {
        m.require.iter().find(|r| {
            !matches_glob_prefix(nonproxy, &r.path)
                && !m.replace.iter().any(|rep| rep.old_path == r.path)
        })
    });
    if let Some((path, escaped)) =
        required.and_then(|r| Some((&r.path, escape_path(&r.path).ok()?)))
    {
        return Target {
            path: format!("{escaped}/@v/list"),
            why: format!("{path}, required by this module"),
            must_exist: true,
        };
    }
    Target {
        path: format!("{TOOLCHAIN_MODULE}/@v/list"),
        why: "the Go toolchain's versions: a cheap request".to_string(),
        must_exist: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fetch_is_what_the_build_needs() {
        let go_mod = godepot_module::parse_go_mod(
            b"module app\nrequire (\n corp.example/lib v1.0.0\n example.com/Local v1.0.0\n example.com/M v1.2.3\n)\nreplace example.com/Local => ../local\n",
        )
        .unwrap();
        let env = GoEnv::from_pairs(&[("GONOPROXY", "corp.example")], &[]);
        let target = fetch_target(&env, Some(&go_mod));
        assert_eq!(target.path, "example.com/!m/@v/list");
        assert!(target.must_exist);
        let outside = fetch_target(&env, None);
        assert_eq!(outside.path, "golang.org/toolchain/@v/list");
        assert!(!outside.must_exist);
    }
}
