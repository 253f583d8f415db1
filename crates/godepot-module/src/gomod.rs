//! A lax reader for go.mod and go.work files (`modfile.ParseLax`).
//!
//! "Lax" because a proxy reads go.mod files of arbitrary dependencies, written for
//! any Go release: directives this reader does not know are skipped rather than
//! rejected, as the go command does for dependencies. Directives it does know
//! must be well formed; errors name the line.

use crate::semver;
use crate::version::canonical_version;

/// The parsed contents of a go.mod file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GoMod {
    pub module: Option<String>,
    pub go: Option<String>,
    pub toolchain: Option<String>,
    pub require: Vec<Require>,
    pub replace: Vec<Replace>,
    pub exclude: Vec<ModVersionRef>,
    pub retract: Vec<Retract>,
}

/// A `require path version [// indirect]` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Require {
    pub path: String,
    pub version: String,
    pub indirect: bool,
}

/// A `replace old [v] => new [v]` line. `new_version == None` means `new_path`
/// is a local directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replace {
    pub old_path: String,
    pub old_version: Option<String>,
    pub new_path: String,
    pub new_version: Option<String>,
}

/// A module path and version, as named by `exclude`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModVersionRef {
    pub path: String,
    pub version: String,
}

/// A `retract v` or `retract [low, high]` line; a single version has `low == high`.
/// `rationale` is the comment attached to the directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retract {
    pub low: String,
    pub high: String,
    pub rationale: String,
}

impl Retract {
    /// Reports whether `v` lies in the closed interval `[low, high]`.
    pub fn contains(&self, v: &str) -> bool {
        semver::is_valid(v)
            && semver::compare(&self.low, v).is_le()
            && semver::compare(v, &self.high).is_le()
    }
}

/// The parsed contents of a go.work file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GoWork {
    pub go: Option<String>,
    pub toolchain: Option<String>,
    pub use_dirs: Vec<String>,
    pub replace: Vec<Replace>,
}

/// A syntax error in a go.mod or go.work file, with its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct GoModError {
    pub line: usize,
    pub message: String,
}

/// Parses a go.mod file, skipping unknown directives.
pub fn parse_go_mod(data: &[u8]) -> Result<GoMod, GoModError> {
    let mut file = GoMod::default();
    for stmt in statements(data)? {
        apply_go_mod(&mut file, &stmt).map_err(|message| GoModError {
            line: stmt.line,
            message,
        })?;
    }
    Ok(file)
}

/// Parses a go.work file, skipping unknown directives.
pub fn parse_go_work(data: &[u8]) -> Result<GoWork, GoModError> {
    let mut work = GoWork::default();
    for stmt in statements(data)? {
        apply_go_work(&mut work, &stmt).map_err(|message| GoModError {
            line: stmt.line,
            message,
        })?;
    }
    Ok(work)
}

/// Why a go.mod taken in for `module@version` must be refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GoModCheckError {
    /// Not a go.mod at all (a login page served with 200, say), or malformed.
    #[error("parsing go.mod: {0}")]
    Syntax(#[from] GoModError),
    /// A go.mod with no `module` line.
    #[error("parsing go.mod: no module declaration in go.mod")]
    NoModule,
    /// The `module` line names another module.
    #[error(
        "parsing go.mod: module declares its path as: {declared} but was required as: {requested}"
    )]
    OtherModule { declared: String, requested: String },
}

/// Checks a go.mod served for `module` the way the go command does when it loads it
/// (`modload`: the file must parse and its `module` line must name exactly the path it was
/// fetched for). A synthesized go.mod (`module <path>`, what proxies serve for a version
/// without one, `+incompatible` versions included) passes like any other.
pub fn check_go_mod_for(module: &str, data: &[u8]) -> Result<GoMod, GoModCheckError> {
    let file = parse_go_mod(data)?;
    match file.module.as_deref() {
        None => Err(GoModCheckError::NoModule),
        Some(declared) if declared != module => Err(GoModCheckError::OtherModule {
            declared: declared.to_owned(),
            requested: module.to_owned(),
        }),
        Some(_) => Ok(file),
    }
}

fn apply_go_mod(file: &mut GoMod, stmt: &Statement) -> Result<(), String> {
    let args = stmt.args();
    match stmt.verb() {
        "module" => file.module = Some(one_arg("module", args)?.to_owned()),
        "go" => file.go = Some(one_arg("go", args)?.to_owned()),
        "toolchain" => file.toolchain = Some(one_arg("toolchain", args)?.to_owned()),
        "require" => {
            let (path, version) = path_and_version("require", args)?;
            file.require.push(Require {
                path,
                version,
                indirect: stmt.is_indirect(),
            });
        }
        "exclude" => {
            let (path, version) = path_and_version("exclude", args)?;
            file.exclude.push(ModVersionRef { path, version });
        }
        "replace" => file.replace.push(parse_replace(args)?),
        "retract" => file.retract.push(parse_retract(args, stmt.rationale())?),
        _ => {}
    }
    Ok(())
}

fn apply_go_work(work: &mut GoWork, stmt: &Statement) -> Result<(), String> {
    let args = stmt.args();
    match stmt.verb() {
        "go" => work.go = Some(one_arg("go", args)?.to_owned()),
        "toolchain" => work.toolchain = Some(one_arg("toolchain", args)?.to_owned()),
        "use" => work.use_dirs.push(one_arg("use", args)?.to_owned()),
        "replace" => work.replace.push(parse_replace(args)?),
        _ => {}
    }
    Ok(())
}

fn one_arg<'a>(verb: &str, args: &'a [String]) -> Result<&'a str, String> {
    match args {
        [arg] => Ok(arg),
        _ => Err(format!("usage: {verb} <one argument>")),
    }
}

fn path_and_version(verb: &str, args: &[String]) -> Result<(String, String), String> {
    match args {
        [path, version] => Ok((path.clone(), parse_version(version)?)),
        _ => Err(format!("usage: {verb} module/path v1.2.3")),
    }
}

/// Accepts any semver spelling and stores the canonical form, as the go command
/// does when it reads a dependency's go.mod.
fn parse_version(v: &str) -> Result<String, String> {
    canonical_version(v).ok_or_else(|| format!("invalid version {v:?}: must be of the form v1.2.3"))
}

fn parse_replace(args: &[String]) -> Result<Replace, String> {
    let usage =
        || "usage: replace module/path [v1.2.3] => other/module v1.4 or => ./local/dir".to_owned();
    let arrow = args.iter().position(|a| a == "=>").ok_or_else(usage)?;
    let (old, new) = (&args[..arrow], &args[arrow + 1..]);
    let (old_path, old_version) = match old {
        [path] => (path.clone(), None),
        [path, v] => (path.clone(), Some(parse_version(v)?)),
        _ => return Err(usage()),
    };
    let (new_path, new_version) = match new {
        [path] if is_local_path(path) => (path.clone(), None),
        [_] => {
            return Err("replacement module without version must be directory path \
                        (rooted or starting with ./ or ../)"
                .into());
        }
        [path, v] => (path.clone(), Some(parse_version(v)?)),
        _ => return Err(usage()),
    };
    Ok(Replace {
        old_path,
        old_version,
        new_path,
        new_version,
    })
}

/// Directory replacements must be unmistakable: explicitly relative or rooted, in
/// either Unix or Windows syntax, since go.mod files move between systems.
fn is_local_path(p: &str) -> bool {
    let relative = [".", ".."].contains(&p)
        || ["./", ".\\", "../", "..\\"]
            .iter()
            .any(|pre| p.starts_with(pre));
    let rooted = p.starts_with('/') || p.starts_with('\\');
    let b = p.as_bytes();
    let drive = b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':';
    relative || rooted || drive
}

fn parse_retract(args: &[String], rationale: String) -> Result<Retract, String> {
    let (low, high) = match args {
        [v] => (parse_version(v)?, parse_version(v)?),
        [open, low, comma, high, close] if open == "[" && comma == "," && close == "]" => {
            (parse_version(low)?, parse_version(high)?)
        }
        _ => return Err("usage: retract v1.2.3 or retract [v1.2.3, v1.2.4]".into()),
    };
    if semver::compare(&low, &high).is_gt() {
        return Err(format!(
            "version interval lower bound {low:?} must not exceed upper bound {high:?}"
        ));
    }
    Ok(Retract {
        low,
        high,
        rationale,
    })
}

/// One directive after block expansion: `require (\n a v1\n)` yields a statement
/// with verb `require` for each line of the block.
#[derive(Debug)]
struct Statement {
    line: usize,
    tokens: Vec<String>,
    /// Full-line comments directly above, or above the enclosing block.
    before: Vec<String>,
    /// The comment at the end of the line, if any.
    suffix: Option<String>,
}

impl Statement {
    fn verb(&self) -> &str {
        &self.tokens[0]
    }

    fn args(&self) -> &[String] {
        &self.tokens[1..]
    }

    /// `// indirect` (optionally followed by `; more text`) marks requirements that
    /// the main module does not import directly.
    fn is_indirect(&self) -> bool {
        self.suffix.as_deref().is_some_and(|c| {
            let c = c.trim();
            c == "indirect" || c.starts_with("indirect;")
        })
    }

    fn rationale(&self) -> String {
        let mut lines: Vec<&str> = self.before.iter().map(|s| s.trim()).collect();
        lines.extend(self.suffix.as_deref().map(str::trim));
        lines.join("\n")
    }
}

/// A lexed line: its tokens and trailing comment.
struct Line {
    tokens: Vec<String>,
    comment: Option<String>,
}

/// Splits the file into statements, expanding `verb ( ... )` blocks.
fn statements(data: &[u8]) -> Result<Vec<Statement>, GoModError> {
    let text = std::str::from_utf8(data).map_err(|e| GoModError {
        line: 1 + data[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count(),
        message: "invalid UTF-8".into(),
    })?;
    let mut out = Vec::new();
    let mut pending: Vec<String> = Vec::new();
    let mut block: Option<(String, Vec<String>)> = None;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let Line { tokens, comment } =
            lex_line(raw).map_err(|message| GoModError { line, message })?;
        if tokens.is_empty() {
            match comment {
                Some(c) => pending.push(c),
                None => pending.clear(),
            }
            continue;
        }
        let before = std::mem::take(&mut pending);
        if let Some((verb, block_comments)) = &block {
            if tokens == [")"] {
                block = None;
                continue;
            }
            let before = if before.is_empty() && comment.is_none() {
                block_comments.clone()
            } else {
                before
            };
            let mut all = vec![verb.clone()];
            all.extend(tokens);
            out.push(Statement {
                line,
                tokens: all,
                before,
                suffix: comment,
            });
            continue;
        }
        match tokens.as_slice() {
            [verb, open] if open == "(" => block = Some((verb.clone(), before)),
            [_, open, close] if open == "(" && close == ")" => {}
            [close] if close == ")" => {
                return Err(GoModError {
                    line,
                    message: "unexpected ')' outside a block".into(),
                });
            }
            _ => out.push(Statement {
                line,
                tokens,
                before,
                suffix: comment,
            }),
        }
    }
    match block {
        Some(_) => Err(GoModError {
            line: text.lines().count(),
            message: "unterminated block: missing ')'".into(),
        }),
        None => Ok(out),
    }
}

/// Splits one line into tokens: bare words, quoted strings, punctuation
/// `( ) [ ] { } ,` and `=>`; `//` starts a comment.
fn lex_line(line: &str) -> Result<Line, String> {
    let mut tokens = Vec::new();
    let mut rest = line.trim_start();
    while !rest.is_empty() {
        if let Some(comment) = rest.strip_prefix("//") {
            return Ok(Line {
                tokens,
                comment: Some(comment.to_owned()),
            });
        }
        let (token, tail) = next_token(rest)?;
        tokens.push(token);
        rest = tail.trim_start();
    }
    Ok(Line {
        tokens,
        comment: None,
    })
}

fn next_token(s: &str) -> Result<(String, &str), String> {
    let first = s.chars().next().unwrap_or_default();
    if "()[]{},".contains(first) {
        return Ok((first.to_string(), &s[1..]));
    }
    if let Some(tail) = s.strip_prefix("=>") {
        return Ok(("=>".into(), tail));
    }
    match first {
        '"' => unquote_interpreted(&s[1..]),
        '`' => {
            let end = s[1..].find('`').ok_or("unterminated raw string")?;
            Ok((s[1..1 + end].to_owned(), &s[2 + end..]))
        }
        _ => {
            let end = s
                .find(|c: char| c.is_whitespace() || "()[]{},\"`".contains(c))
                .unwrap_or(s.len());
            let end = s[..end].find("//").unwrap_or(end);
            Ok((s[..end].to_owned(), &s[end..]))
        }
    }
}

/// Reads a Go double-quoted string body (after the opening quote).
fn unquote_interpreted(s: &str) -> Result<(String, &str), String> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, &s[i + 1..])),
            '\\' => {
                let (_, e) = chars.next().ok_or("unterminated quoted string")?;
                out.push(match e {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    '\\' | '"' | '\'' => e,
                    _ => return Err(format!("unsupported escape \\{e} in quoted string")),
                });
            }
            c => out.push(c),
        }
    }
    Err("unterminated quoted string".into())
}

#[cfg(test)]
mod tests {
    #[test]
    fn check_go_mod_for_table() {
        use super::{GoModCheckError, check_go_mod_for};
        let ok = |m: &str, data: &str| check_go_mod_for(m, data.as_bytes()).is_ok();
        assert!(ok("example.com/a", "module example.com/a\n"));
        assert!(ok("example.com/a", "module \"example.com/a\"\n\ngo 1.21\n"));
        assert!(ok(
            "example.com/a/v2",
            "// comment\nmodule example.com/a/v2 // x\nrequire b.com/c v1.0.0\n"
        ));
        assert!(!ok("example.com/a", "module example.com/b\n"));
        assert!(!ok("example.com/a/v2", "module example.com/a\n"));
        assert!(!ok(
            "github.com/Sirupsen/logrus",
            "module github.com/sirupsen/logrus\n"
        ));
        assert_eq!(
            check_go_mod_for("example.com/a", b"go 1.21\n"),
            Err(GoModCheckError::NoModule)
        );
        let page = "<!DOCTYPE html>\n<html><body>Sign in</body></html>\n";
        assert!(matches!(
            check_go_mod_for("example.com/a", page.as_bytes()),
            Err(GoModCheckError::Syntax(_) | GoModCheckError::NoModule)
        ));
        let err = check_go_mod_for("example.com/a", b"module example.com/b\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "parsing go.mod: module declares its path as: example.com/b but was required as: example.com/a"
        );
    }

    use super::*;

    fn req(path: &str, version: &str, indirect: bool) -> Require {
        Require {
            path: path.into(),
            version: version.into(),
            indirect,
        }
    }

    #[test]
    fn parse_go_mod_table() {
        fn check(src: &str, expect: GoMod) {
            assert_eq!(parse_go_mod(src.as_bytes()), Ok(expect), "{src}");
        }
        check("", GoMod::default());
        check(
            "module \"rsc.io/quote\"\n\nrequire \"rsc.io/sampler\" v1.3.0\n",
            GoMod {
                module: Some("rsc.io/quote".into()),
                require: vec![req("rsc.io/sampler", "v1.3.0", false)],
                ..GoMod::default()
            },
        );
        check(
            "// comment\nmodule example.com/m // trailing\n\ngo 1.22\ntoolchain go1.22.3\n\
             require (\n\tgolang.org/x/mod v0.17.0\n\tgolang.org/x/sys v0.1.0 // indirect\n)\n\
             exclude example.com/bad v1.0.0\n\
             replace (\n  example.com/a => ./a\n  example.com/b v1.0.0 => example.com/c v1.1\n)\n\
             godebug default=go1.21\ntool example.com/tool\n",
            GoMod {
                module: Some("example.com/m".into()),
                go: Some("1.22".into()),
                toolchain: Some("go1.22.3".into()),
                require: vec![
                    req("golang.org/x/mod", "v0.17.0", false),
                    req("golang.org/x/sys", "v0.1.0", true),
                ],
                exclude: vec![ModVersionRef {
                    path: "example.com/bad".into(),
                    version: "v1.0.0".into(),
                }],
                replace: vec![
                    Replace {
                        old_path: "example.com/a".into(),
                        old_version: None,
                        new_path: "./a".into(),
                        new_version: None,
                    },
                    Replace {
                        old_path: "example.com/b".into(),
                        old_version: Some("v1.0.0".into()),
                        new_path: "example.com/c".into(),
                        new_version: Some("v1.1.0".into()),
                    },
                ],
                ..GoMod::default()
            },
        );
        check(
            "module m\n// Published by mistake.\nretract v1.0.1\nretract [v1.1.0, v1.2.0] // broken\n\
             retract (\n  // in block\n  v2.0.0\n)\n",
            GoMod {
                module: Some("m".into()),
                retract: vec![
                    Retract {
                        low: "v1.0.1".into(),
                        high: "v1.0.1".into(),
                        rationale: "Published by mistake.".into(),
                    },
                    Retract {
                        low: "v1.1.0".into(),
                        high: "v1.2.0".into(),
                        rationale: "broken".into(),
                    },
                    Retract {
                        low: "v2.0.0".into(),
                        high: "v2.0.0".into(),
                        rationale: "in block".into(),
                    },
                ],
                ..GoMod::default()
            },
        );
    }

    #[test]
    fn parse_go_mod_errors() {
        fn check(src: &str, expect: &str) {
            let got = parse_go_mod(src.as_bytes()).map_err(|e| e.to_string());
            assert_eq!(got.err().as_deref(), Some(expect), "{src:?}");
        }
        check("module a b\n", "line 1: usage: module <one argument>");
        check(
            "module m\nrequire x.com/y\n",
            "line 2: usage: require module/path v1.2.3",
        );
        check(
            "require x.com/y latest\n",
            "line 1: invalid version \"latest\": must be of the form v1.2.3",
        );
        check(
            "replace a => b\n",
            "line 1: replacement module without version must be directory path (rooted or starting with ./ or ../)",
        );
        check(
            "require (\nx.com/y v1.0.0\n",
            "line 2: unterminated block: missing ')'",
        );
        check("module \"m\n", "line 1: unterminated quoted string");
        check("module m\n)\n", "line 2: unexpected ')' outside a block");
        check(
            "retract [v1.2.0, v1.1.0]\n",
            "line 1: version interval lower bound \"v1.2.0\" must not exceed upper bound \"v1.1.0\"",
        );
    }

    #[test]
    fn retract_contains_table() {
        fn check(low: &str, high: &str, v: &str, expect: bool) {
            let r = Retract {
                low: low.into(),
                high: high.into(),
                rationale: String::new(),
            };
            assert_eq!(r.contains(v), expect, "[{low}, {high}] contains {v}");
        }
        check("v1.0.0", "v1.0.0", "v1.0.0", true);
        check("v1.0.0", "v1.2.0", "v1.1.9-pre", true);
        check("v1.0.0", "v1.2.0", "v1.2.1", false);
        check("v1.0.0", "v1.2.0", "v1.0.0-rc.1", false);
        check("v1.0.0", "v1.2.0", "junk", false);
    }

    #[test]
    fn parse_go_work_table() {
        let src =
            "go 1.23\n\nuse (\n\t./a\n\t./b // comment\n)\nuse ./c\nreplace x.com/y => ../y\n";
        let expect = GoWork {
            go: Some("1.23".into()),
            toolchain: None,
            use_dirs: vec!["./a".into(), "./b".into(), "./c".into()],
            replace: vec![Replace {
                old_path: "x.com/y".into(),
                old_version: None,
                new_path: "../y".into(),
                new_version: None,
            }],
        };
        assert_eq!(parse_go_work(src.as_bytes()), Ok(expect));
    }
}
