//! Finding the repository that holds a module, as cmd/go's `vcs.RepoRootForImportPath`
//! does in module mode: the hosting patterns it knows without asking, a `.git` qualifier
//! in the path, else `?go-get=1` and the page's `go-import` meta tags.

use crate::error::GitError;
use crate::http::Http;

/// Where a module's code lives. (`Debug` hides credentials a go-import URL may carry.)
#[derive(Clone, PartialEq, Eq)]
pub struct RepoRoot {
    /// The import path of the repository root (`git.corp.example/group/repo`).
    pub root: String,
    /// The URL to clone (`https://git.corp.example/group/repo.git`).
    pub url: String,
    /// The go-import subdirectory field: the directory of the repository that `root`
    /// maps to (usually empty).
    pub subdir: String,
}

impl std::fmt::Debug for RepoRoot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RepoRoot")
            .field("root", &self.root)
            .field("url", &crate::http::redact(&self.url))
            .field("subdir", &self.subdir)
            .finish()
    }
}

/// Largest `?go-get=1` page read: the tags are in its head, a few hundred bytes.
const MAX_PAGE: usize = 1 << 20;

/// A `go-import` meta tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MetaImport {
    pub prefix: String,
    pub vcs: String,
    pub repo: String,
    pub subdir: String,
}

/// Hosts whose layout the go command knows (cmd/go/internal/vcs `vcsPaths`): the root is
/// the first `n` path elements after the host, and it is always git over https.
const KNOWN_HOSTS: &[(&str, usize)] = &[
    ("github.com", 2),
    ("bitbucket.org", 2),
    ("hub.jazz.net/git", 2),
    ("git.openstack.org", 2),
];

/// Repository roots the go command derives from the path alone. `Ok(None)`: ask the
/// server (`?go-get=1`).
pub(crate) fn static_root(path: &str) -> Result<Option<(RepoRoot, bool)>, GitError> {
    for (prefix, elems) in KNOWN_HOSTS {
        let Some(rest) = path.strip_prefix(prefix) else {
            continue;
        };
        if !(rest.is_empty() || rest.starts_with('/')) {
            continue;
        }
        let parts: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
        if parts.len() < *elems || parts.iter().take(*elems).any(|p| p.is_empty()) {
            return Err(GitError::not_found(format!(
                "invalid {prefix} import path {path:?}"
            )));
        }
        let mut root = format!("{prefix}/{}", parts[..*elems].join("/"));
        if *prefix == "git.openstack.org" {
            root = root.trim_end_matches(".git").to_owned();
        }
        if root.ends_with(".git") && *prefix != "git.openstack.org" {
            return Err(GitError::not_found(format!(
                "invalid version control suffix in {prefix} path {path:?}"
            )));
        }
        return Ok(Some((
            RepoRoot {
                url: format!("https://{root}"),
                root,
                subdir: String::new(),
            },
            false,
        )));
    }
    if let Some((root, vcs, repo)) = vcs_qualifier(path) {
        if vcs != "git" {
            return Err(unsupported_vcs(path, vcs));
        }
        // The go command probes the schemes in turn; `true` asks the caller to do so.
        return Ok(Some((
            RepoRoot {
                url: repo.to_owned(),
                root: root.to_owned(),
                subdir: String::new(),
            },
            true,
        )));
    }
    Ok(None)
}

/// The general pattern `host/path/repo.VCS/rest`: (root with the qualifier, vcs, repo
/// without it). The host must have a dot; elements are `[\w.-]`, optionally `~`-prefixed.
fn vcs_qualifier(path: &str) -> Option<(&str, &str, &str)> {
    let host_end = path.find('/')?;
    let host = &path[..host_end];
    let host_ok = host.contains('.')
        && host.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-' || b == b':'
        });
    if !host_ok {
        return None;
    }
    let mut end = host_end;
    for elem in path[host_end + 1..].split('/') {
        let start = end + 1;
        end = start + elem.len();
        let name = elem.strip_prefix('~').unwrap_or(elem);
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
        {
            return None;
        }
        for vcs in ["bzr", "fossil", "git", "hg", "svn"] {
            if let Some(repo) = elem.strip_suffix(&format!(".{vcs}"))
                && !repo.is_empty()
            {
                return Some((&path[..end], vcs, &path[..end - vcs.len() - 1]));
            }
        }
    }
    None
}

fn unsupported_vcs(path: &str, vcs: &str) -> GitError {
    GitError::Unsupported {
        reason: format!(
            "{path}: version control system {vcs:?} is not supported (godepot fetches only from git)"
        ),
    }
}

/// Reads the `go-import` meta tags of a `?go-get=1` page, up to the end of `<head>` or the
/// start of `<body>` (cmd/go's `parseMetaGoImports`; `mod` entries first, shadowing a
/// VCS entry with the same prefix).
pub(crate) fn parse_meta_imports(html: &str) -> Vec<MetaImport> {
    let mut imports = Vec::new();
    let lower = html.to_ascii_lowercase();
    let mut at = 0;
    while let Some(open) = lower[at..].find('<').map(|i| at + i) {
        let close = lower[open..].find('>').map_or(lower.len(), |i| open + i);
        let tag = &lower[open + 1..close];
        at = close;
        if tag.starts_with("body") || tag.starts_with("/head") {
            break;
        }
        if !tag.starts_with("meta") {
            continue;
        }
        let original = &html[open + 1..close];
        if attr(original, "name").as_deref() != Some("go-import") {
            continue;
        }
        let content = attr(original, "content").unwrap_or_default();
        let f: Vec<&str> = content.split_whitespace().collect();
        if f.len() == 3 || f.len() == 4 {
            imports.push(MetaImport {
                prefix: f[0].to_owned(),
                vcs: f[1].to_owned(),
                repo: f[2].to_owned(),
                subdir: f.get(3).copied().unwrap_or_default().to_owned(),
            });
        }
    }
    let mods: Vec<MetaImport> = imports.iter().filter(|m| m.vcs == "mod").cloned().collect();
    let mut list = mods.clone();
    list.extend(
        imports
            .into_iter()
            .filter(|m| m.vcs != "mod" && !mods.iter().any(|x| x.prefix == m.prefix)),
    );
    list
}

/// An attribute value from a tag's text (quoted with `"` or `'`, or bare), with the
/// entities the meta tags use decoded.
fn attr(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find(name).map(|i| from + i) {
        from = i + name.len();
        let before_ok = i == 0 || lower.as_bytes()[i - 1].is_ascii_whitespace();
        let rest = lower[from..].trim_start();
        if !before_ok || !rest.starts_with('=') {
            continue;
        }
        let value_start = tag.len() - rest.len() + 1;
        let value = tag[value_start..].trim_start();
        let (v, _) = match value.chars().next() {
            Some(q @ ('"' | '\'')) => value[1..].split_once(q).unwrap_or((&value[1..], "")),
            _ => value
                .split_once(|c: char| c.is_whitespace() || c == '/')
                .unwrap_or((value, "")),
        };
        return Some(
            v.replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&"),
        );
    }
    None
}

/// cmd/go's `matchGoImport`: the one entry whose prefix is a path prefix of `path`
/// (a `mod` entry wins over the VCS entries after it); more than one is an error.
pub(crate) fn match_go_import(imports: &[MetaImport], path: &str) -> Result<MetaImport, GitError> {
    let mut found: Option<&MetaImport> = None;
    for im in imports {
        if !has_path_prefix(path, &im.prefix) {
            continue;
        }
        if let Some(prev) = found {
            if prev.vcs == "mod" && im.vcs != "mod" {
                break;
            }
            return Err(GitError::not_found(format!(
                "{path}: multiple meta tags match import path {path:?} ({} and {})",
                prev.prefix, im.prefix
            )));
        }
        found = Some(im);
    }
    found.cloned().ok_or_else(|| {
        let prefixes: Vec<&str> = imports.iter().map(|m| m.prefix.as_str()).collect();
        GitError::not_found(if prefixes.is_empty() {
            format!("{path}: unrecognized import path (no go-import meta tags)")
        } else {
            format!(
                "{path}: no go-import meta tag matches (meta tags for {})",
                prefixes.join(", ")
            )
        })
    })
}

/// Whether `prefix` is `s` or a whole-element prefix of it.
pub(crate) fn has_path_prefix(s: &str, prefix: &str) -> bool {
    s == prefix
        || (s.len() > prefix.len()
            && s.starts_with(prefix)
            && (prefix.ends_with('/') || s.as_bytes()[prefix.len()] == b'/'))
}

/// Asks `https://<path>?go-get=1` (and, for insecure hosts, `http://` after a failure)
/// and picks the matching meta tag.
///
/// When the tag found names a shorter prefix than `path`, the prefix's own page must agree
/// (cmd/go's `repoRootForImportDynamic`), so a page under someone else's control cannot
/// claim a repository root above it.
pub(crate) async fn dynamic_root(http: &Http, path: &str) -> Result<RepoRoot, GitError> {
    let (url, found) = meta_import(http, path, path).await?;
    if found.prefix != path {
        let (root_url, again) = meta_import(http, &found.prefix, path).await?;
        if again != found {
            return Err(GitError::not_found(format!(
                "{root_url} and {url} disagree about go-import for {}",
                found.prefix
            )));
        }
    }
    root_from_import(found, path)
}

/// The go-import tag for `path` on the `?go-get=1` page of `page`, and the page's URL.
async fn meta_import(
    http: &Http,
    page: &str,
    path: &str,
) -> Result<(String, MetaImport), GitError> {
    let host = page.split('/').next().unwrap_or_default();
    let schemes: &[&str] = if http.config().is_insecure(host) {
        &["https", "http"]
    } else {
        &["https"]
    };
    let mut last = None;
    for scheme in schemes {
        let url = format!("{scheme}://{page}?go-get=1");
        let result = async {
            let req = http.request(reqwest::Method::GET, &url)?;
            let resp = http.send(req, &url).await?;
            let body = crate::protocol::read_limited(resp, &url, MAX_PAGE).await?;
            Ok::<_, GitError>(String::from_utf8_lossy(&body).into_owned())
        }
        .await;
        match result {
            Ok(text) => return Ok((url, match_go_import(&parse_meta_imports(&text), path)?)),
            // A definite answer from the server ends the search.
            Err(e @ (GitError::AuthRequired { .. } | GitError::NotFound { .. })) => return Err(e),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| GitError::not_found(format!("{path}: no repository found"))))
}

fn root_from_import(m: MetaImport, path: &str) -> Result<RepoRoot, GitError> {
    match m.vcs.as_str() {
        "git" => Ok(RepoRoot {
            root: m.prefix,
            url: m.repo,
            subdir: m.subdir,
        }),
        "mod" => Err(GitError::ModProxy {
            path: path.to_owned(),
            url: crate::http::redact(&m.repo),
        }),
        other => Err(unsupported_vcs(path, other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(prefix: &str, vcs: &str, repo: &str) -> MetaImport {
        MetaImport {
            prefix: prefix.into(),
            vcs: vcs.into(),
            repo: repo.into(),
            subdir: String::new(),
        }
    }

    #[test]
    fn meta_tags_in_head_only() {
        let page = r#"<!DOCTYPE html><html><head>
            <meta name="go-import" content="git.corp.example/a git https://git.corp.example/a.git">
            <META NAME='go-import' CONTENT='git.corp.example/b mod https://proxy.corp.example'/>
            <meta name="go-source" content="x y z">
            </head><body><meta name="go-import" content="git.corp.example/c git https://c"></body>"#;
        let got = parse_meta_imports(page);
        assert_eq!(
            got,
            vec![
                meta("git.corp.example/b", "mod", "https://proxy.corp.example"),
                meta(
                    "git.corp.example/a",
                    "git",
                    "https://git.corp.example/a.git"
                ),
            ]
        );
    }

    #[test]
    fn matching_rules() {
        let imports = vec![
            meta("git.corp.example/a", "git", "https://x/a"),
            meta("git.corp.example/ab", "git", "https://x/ab"),
        ];
        assert_eq!(
            match_go_import(&imports, "git.corp.example/a/sub")
                .unwrap()
                .repo,
            "https://x/a"
        );
        assert!(match_go_import(&imports, "git.corp.example/c").is_err());
        let conflicting = vec![
            meta("git.corp.example/a", "git", "https://x/a"),
            meta("git.corp.example/a", "git", "https://y/a"),
        ];
        let err = match_go_import(&conflicting, "git.corp.example/a").unwrap_err();
        assert!(err.to_string().contains("multiple meta tags"), "{err}");
        let with_mod = vec![
            meta("git.corp.example/a", "mod", "https://proxy"),
            meta("git.corp.example/a", "git", "https://x/a"),
        ];
        assert_eq!(
            match_go_import(&with_mod, "git.corp.example/a")
                .unwrap()
                .vcs,
            "mod"
        );
    }

    #[test]
    fn static_roots() {
        let (r, probe) = static_root("github.com/owner/repo/sub/v2")
            .unwrap()
            .unwrap();
        assert_eq!(r.root, "github.com/owner/repo");
        assert_eq!(r.url, "https://github.com/owner/repo");
        assert!(!probe);
        assert!(static_root("github.com/owner").is_err());
        let (r, probe) = static_root("git.corp.example/group/repo.git/sub")
            .unwrap()
            .unwrap();
        assert_eq!(r.root, "git.corp.example/group/repo.git");
        assert_eq!(r.url, "git.corp.example/group/repo");
        assert!(probe);
        let err = static_root("hg.corp.example/x/repo.hg").unwrap_err();
        assert!(err.to_string().contains("not supported"), "{err}");
        assert!(
            static_root("git.corp.example/group/repo")
                .unwrap()
                .is_none()
        );
    }
}
