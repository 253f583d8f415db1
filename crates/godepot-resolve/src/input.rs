//! What the user names: files, directories and `module@version` strings.

use std::fmt;
use std::path::{Path, PathBuf};

use godepot_module::{ModulePath, Version};

/// One thing to resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A main module's go.mod.
    GoMod(PathBuf),
    /// A workspace's go.work.
    GoWork(PathBuf),
    /// A go.sum: exactly the versions it names.
    GoSum(PathBuf),
    /// Every go.mod and go.work below a directory (skipping `vendor`, `testdata` and
    /// directories whose name starts with a dot).
    Dir(PathBuf),
    /// A file naming inputs, one per line; `#` starts a comment.
    List(PathBuf),
    /// `module@version` or `module@latest`.
    Query { module: ModulePath, query: Query },
}

/// The version half of a `module@...` input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    Latest,
    Version(Version),
}

/// A command-line argument that names nothing resolvable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{arg}: {message}")]
pub struct InputError {
    pub arg: String,
    pub message: String,
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Input::GoMod(p)
            | Input::GoWork(p)
            | Input::GoSum(p)
            | Input::Dir(p)
            | Input::List(p) => {
                write!(f, "{}", p.display())
            }
            Input::Query { module, query } => match query {
                Query::Latest => write!(f, "{module}@latest"),
                Query::Version(v) => write!(f, "{module}@{v}"),
            },
        }
    }
}

impl Input {
    /// Classifies an argument: an existing path by its name (`go.mod`, `*.mod`, `go.work`,
    /// `*.work`, `go.sum`, `*.sum`, a directory, anything else is a list file); otherwise
    /// `module@version` or `module@latest`.
    pub fn parse_arg(arg: &str) -> Result<Input, InputError> {
        Input::parse_relative(arg, Path::new(""))
    }

    /// Like [`Input::parse_arg`], with relative paths taken from `base`.
    fn parse_relative(arg: &str, base: &Path) -> Result<Input, InputError> {
        let path = base.join(arg);
        if path.is_dir() {
            return Ok(Input::Dir(path));
        }
        if path.is_file() {
            return Ok(classify_file(path));
        }
        let error = |message: String| InputError {
            arg: arg.to_owned(),
            message: crate::needs::without_subject(arg, message),
        };
        let Some((module, query)) = arg.rsplit_once('@') else {
            return Err(error(
                "no such file or directory, and not of the form module@version".into(),
            ));
        };
        let module = ModulePath::parse(module).map_err(|e| error(e.to_string()))?;
        let query = match query {
            "latest" => Query::Latest,
            v => Query::Version(Version::for_module(&module, v).map_err(|e| {
                error(format!(
                    "{e} (give a canonical version such as v1.2.3, or latest)"
                ))
            })?),
        };
        Ok(Input::Query { module, query })
    }
}

fn classify_file(path: PathBuf) -> Input {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name.ends_with(".mod") {
        Input::GoMod(path)
    } else if name.ends_with(".work") {
        Input::GoWork(path)
    } else if name.ends_with(".sum") {
        Input::GoSum(path)
    } else {
        Input::List(path)
    }
}

/// The inputs a list file names. Relative paths are relative to the list file; a list may
/// not name another list (no recursion to guard against).
pub(crate) fn read_list(path: &Path) -> Result<Vec<Input>, InputError> {
    let label = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| InputError {
        arg: label.clone(),
        message: format!("cannot read: {e}"),
    })?;
    let base = crate::mainset::parent_dir(path);
    let mut inputs = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let at_line = |message: String| InputError {
            arg: format!("{label}:{}", n + 1),
            message,
        };
        match Input::parse_relative(line, &base) {
            Ok(Input::List(_)) => {
                return Err(at_line(format!(
                    "{line}: a list file may not name another list file"
                )));
            }
            Ok(input) => inputs.push(input),
            Err(e) => return Err(at_line(e.to_string())),
        }
    }
    Ok(inputs)
}

/// Every `go.mod` and `go.work` below `dir`, in a stable order.
pub(crate) fn find_module_files(dir: &Path) -> Result<Vec<Input>, InputError> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| InputError {
            arg: dir.display().to_string(),
            message: format!("cannot read directory: {e}"),
        })?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            // file_type does not follow symlinks: a link cycle cannot trap the walk.
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                if !(name.starts_with('.') || name == "vendor" || name == "testdata") {
                    pending.push(path);
                }
            } else if name == "go.mod" {
                found.push(Input::GoMod(path));
            } else if name == "go.work" {
                found.push(Input::GoWork(path));
            }
        }
    }
    found.sort_by_key(|input| input.to_string());
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_classified() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        for name in ["go.mod", "other.mod", "go.work", "go.sum", "modules.txt"] {
            std::fs::write(root.join(name), "").unwrap();
        }
        let arg = |name: &str| root.join(name).display().to_string();
        let path = |name: &str| root.join(name);
        let cases = [
            (arg("go.mod"), Ok(Input::GoMod(path("go.mod")))),
            (arg("other.mod"), Ok(Input::GoMod(path("other.mod")))),
            (arg("go.work"), Ok(Input::GoWork(path("go.work")))),
            (arg("go.sum"), Ok(Input::GoSum(path("go.sum")))),
            (arg("modules.txt"), Ok(Input::List(path("modules.txt")))),
            (
                root.display().to_string(),
                Ok(Input::Dir(root.to_path_buf())),
            ),
            (
                "example.com/a@v1.2.3".into(),
                Ok(Input::Query {
                    module: ModulePath::parse("example.com/a").unwrap(),
                    query: Query::Version(Version::parse("v1.2.3").unwrap()),
                }),
            ),
            (
                "example.com/a/v2@latest".into(),
                Ok(Input::Query {
                    module: ModulePath::parse("example.com/a/v2").unwrap(),
                    query: Query::Latest,
                }),
            ),
        ];
        for (arg, want) in cases {
            assert_eq!(Input::parse_arg(&arg), want, "{arg}");
        }
        for bad in [
            "no-such-file",
            "example.com/a@v1.2",
            "example.com/a/v2@v1.0.0",
            "example.com/a@master",
            "Bad Path@v1.0.0",
        ] {
            assert!(Input::parse_arg(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn list_files_name_inputs_relative_to_themselves() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::create_dir(root.join("p")).unwrap();
        std::fs::write(root.join("p/go.mod"), "module x\n").unwrap();
        std::fs::write(
            root.join("list.txt"),
            "# modules for the air gap\nexample.com/a@v1.0.0  # pinned\n\np/go.mod\nexample.com/b@latest\n",
        )
        .unwrap();
        let got: Vec<String> = read_list(&root.join("list.txt"))
            .unwrap()
            .iter()
            .map(|i| i.to_string())
            .collect();
        assert_eq!(
            got,
            [
                "example.com/a@v1.0.0".to_string(),
                root.join("p/go.mod").display().to_string(),
                "example.com/b@latest".to_string(),
            ]
        );
        std::fs::write(root.join("bad.txt"), "ok.example/m@v1.0.0\nnot a thing\n").unwrap();
        let err = read_list(&root.join("bad.txt")).unwrap_err();
        assert!(err.arg.ends_with("bad.txt:2"), "{err}");
        std::fs::write(root.join("nested.txt"), "list.txt\n").unwrap();
        assert!(read_list(&root.join("nested.txt")).is_err());
    }

    #[test]
    fn directory_walk_skips_vendor_testdata_and_dot_dirs() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        for dir in [
            "a",
            "a/sub",
            "vendor/v",
            "a/testdata/t",
            ".git/x",
            "b/.hidden",
            "c",
        ] {
            std::fs::create_dir_all(root.join(dir)).unwrap();
            std::fs::write(root.join(dir).join("go.mod"), "module m\n").unwrap();
        }
        std::fs::write(root.join("go.work"), "go 1.22\n").unwrap();
        let got: Vec<String> = find_module_files(root)
            .unwrap()
            .iter()
            .map(|i| {
                let s = i.to_string();
                s[root.display().to_string().len() + 1..].to_string()
            })
            .collect();
        assert_eq!(got, ["a/go.mod", "a/sub/go.mod", "c/go.mod", "go.work"]);
    }
}
