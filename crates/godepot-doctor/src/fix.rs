//! The line that fixes a finding, ready to paste into a POSIX shell.

use serde::Serialize;

use crate::goenv::GoEnv;

/// What to run to fix a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Fix {
    /// Give a go variable this value (`None`: back to its default).
    GoEnv {
        variable: String,
        value: Option<String>,
        /// The OS environment sets it, so `go env -w` would not win: `export` instead.
        from_os: bool,
    },
    /// Run this command (on the server, or to add a credential).
    Command { line: String },
}

impl Fix {
    /// Sets `variable` the way that takes effect for `env`.
    pub(crate) fn set(env: &GoEnv, variable: &str, value: &str) -> Fix {
        Fix::GoEnv {
            variable: variable.to_string(),
            value: Some(value.to_string()),
            from_os: env.from_os(variable),
        }
    }

    /// Sets `variable` to `value`, or back to its default when `value` is empty.
    pub(crate) fn set_or_unset(env: &GoEnv, variable: &str, value: &str) -> Fix {
        if value.is_empty() {
            Fix::GoEnv {
                variable: variable.to_string(),
                value: None,
                from_os: env.from_os(variable),
            }
        } else {
            Fix::set(env, variable, value)
        }
    }

    pub(crate) fn command(line: impl Into<String>) -> Fix {
        Fix::Command { line: line.into() }
    }

    /// The shell line: `go env -w V=value`, `go env -u V`, or with the variable set in the
    /// OS environment `export V=value` / `unset V`.
    pub fn line(&self) -> String {
        match self {
            Fix::GoEnv {
                variable,
                value: Some(value),
                from_os: false,
            } => format!("go env -w {}", quote(&format!("{variable}={value}"))),
            Fix::GoEnv {
                variable,
                value: None,
                from_os: false,
            } => format!("go env -u {variable}"),
            Fix::GoEnv {
                variable,
                value: Some(value),
                from_os: true,
            } => format!("export {}", quote(&format!("{variable}={value}"))),
            Fix::GoEnv {
                variable,
                value: None,
                from_os: true,
            } => format!("unset {variable}"),
            Fix::Command { line } => line.clone(),
        }
    }
}

/// Single-quotes a word unless it holds only characters no shell treats specially.
fn quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./:,=@%+".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        let file = GoEnv::default();
        let os = GoEnv::from_pairs(&[], &["GOFLAGS"]);
        let cases = [
            (
                Fix::set(&file, "GOPROXY", "http://127.0.0.1:3000"),
                "go env -w GOPROXY=http://127.0.0.1:3000",
            ),
            (
                Fix::set(&file, "GONOSUMDB", "*.corp.example,corp.example/x"),
                "go env -w 'GONOSUMDB=*.corp.example,corp.example/x'",
            ),
            (
                Fix::set(&file, "GOFLAGS", "-x -trimpath"),
                "go env -w 'GOFLAGS=-x -trimpath'",
            ),
            (Fix::set_or_unset(&file, "GOFLAGS", ""), "go env -u GOFLAGS"),
            (Fix::set_or_unset(&os, "GOFLAGS", ""), "unset GOFLAGS"),
            (
                Fix::set(&os, "GOFLAGS", "it's"),
                r"export 'GOFLAGS=it'\''s'",
            ),
            (Fix::command("godepot serve"), "godepot serve"),
        ];
        for (fix, line) in cases {
            assert_eq!(fix.line(), line);
        }
    }
}
