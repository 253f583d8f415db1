//! Go modules straight from their git repositories, as the go command's
//! `GOPROXY=direct` fetches them, without starting `git` or `go`.
//!
//! [`GitFetcher`] answers the questions of the module proxy protocol (`list`, `@latest`,
//! `.info` for a query, `.mod`, `.zip`) for modules whose code lives in git:
//!
//! | module      | cmd/go counterpart                 | what it does                                   |
//! |-------------|------------------------------------|------------------------------------------------|
//! | `discover`  | `vcs.RepoRootForImportPath`        | module path → repository URL (go-get, `.git`)  |
//! | `http`      | `web`, `auth` (netrc)              | clients, proxies, credentials, insecure hosts  |
//! | `pktline`, `protocol` | `git` smart HTTP v2      | `ls-refs`, `fetch` (a pack streamed to disk)  |
//! | `mirror`    | `codehost` work dir                | one bare mirror per repository, TTL, one flight |
//! | `objects`   | `git log`, `cat-file`, `merge-base`| reading commits, files, trees, ancestry         |
//! | `coderepo`  | `modfetch/coderepo.go`             | tags → versions, pseudo-versions, go.mod lookup |
//! | `zipbuild`  | `codeRepo.Zip` + `modzip.Create`   | the module zip, streamed to a scratch file      |
//!
//! The pure version arithmetic (pseudo-versions, tag names) lives in `godepot-module`;
//! this crate walks repositories. See `docs/git-fetcher.md` for why the protocol is spoken
//! here over the workspace's reqwest instead of through gitoxide's transport.

mod coderepo;
mod discover;
mod error;
mod http;
mod mirror;
mod objects;
mod pktline;
mod protocol;
mod zipbuild;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use godepot_module::{ModulePath, Version, ZipSummary, canonical_version, info_time, semver};

use crate::coderepo::{CodeRepo, Resolved, prefer_release};
use crate::mirror::{Mirrors, Snapshot};

pub use discover::RepoRoot;
pub use error::GitError;
pub use http::{Credential, HttpConfig, redact};

/// Largest pack godepot accepts from one fetch of a repository, by default.
pub const DEFAULT_MAX_PACK: u64 = 2 << 30;

/// How a [`GitFetcher`] works.
#[derive(Debug, Clone)]
pub struct GitOptions {
    /// Where the mirrors live (the depot passes `<data>/.godepot/git/`). Derived data.
    pub cache_dir: PathBuf,
    /// Proxies, credentials, insecure hosts, timeouts.
    pub http: HttpConfig,
    /// A repository is asked for new refs at most once per `ttl` (the depot's list TTL).
    pub ttl: Duration,
    /// Largest pack accepted from one fetch; a larger repository is refused.
    pub max_pack: u64,
}

impl GitOptions {
    /// Defaults for everything but the cache directory: no insecure hosts, no
    /// credentials, one-minute timeouts and TTL.
    pub fn new(cache_dir: impl Into<PathBuf>) -> Self {
        GitOptions {
            cache_dir: cache_dir.into(),
            http: HttpConfig::default(),
            ttl: Duration::from_secs(60),
            max_pack: DEFAULT_MAX_PACK,
        }
    }
}

/// The `.info` answer: what the go command reads from `@v/<query>.info` and `@latest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    pub version: Version,
    /// The commit time, RFC 3339 in UTC (`2026-01-02T03:04:05Z`).
    pub time: String,
}

impl Info {
    /// The JSON body, `{"Version":"…","Time":"…"}`.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "Version": self.version.as_str(),
            "Time": self.time,
        }))
        .unwrap_or_default()
    }
}

/// Fetches modules from git repositories. Cheap to share (`Arc` inside); every method may
/// run concurrently with the others.
#[derive(Clone)]
pub struct GitFetcher {
    inner: Arc<Inner>,
}

struct Inner {
    http: http::Http,
    mirrors: Mirrors,
    ttl: Duration,
    roots: Mutex<HashMap<String, (RepoRoot, Instant)>>,
}

impl std::fmt::Debug for GitFetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitFetcher").finish_non_exhaustive()
    }
}

impl GitFetcher {
    pub fn new(options: GitOptions) -> Result<Self, GitError> {
        let http = http::Http::new(options.http)?;
        Ok(GitFetcher {
            inner: Arc::new(Inner {
                http,
                mirrors: Mirrors::new(options.cache_dir, options.ttl, options.max_pack),
                ttl: options.ttl,
                roots: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The repository holding `path` (cached for one TTL).
    pub async fn repo_root(&self, path: &ModulePath) -> Result<RepoRoot, GitError> {
        let key = path.as_str().to_owned();
        if let Some((root, at)) = self
            .inner
            .roots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            && at.elapsed() < self.inner.ttl
        {
            return Ok(root.clone());
        }
        let root = match discover::static_root(path.as_str())? {
            Some((root, false)) => root,
            Some((root, true)) => self.probe_scheme(root).await?,
            None => discover::dynamic_root(&self.inner.http, path.as_str()).await?,
        };
        self.inner
            .roots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, (root.clone(), Instant::now()));
        Ok(root)
    }

    /// For a `.git`-qualified path: the first scheme that answers as a git server
    /// (https, then http for insecure hosts), as the go command pings them.
    async fn probe_scheme(&self, mut root: RepoRoot) -> Result<RepoRoot, GitError> {
        let host = root.url.split('/').next().unwrap_or_default().to_owned();
        let schemes: &[&str] = if self.inner.http.config().is_insecure(&host) {
            &["https", "http"]
        } else {
            &["https"]
        };
        let mut last = None;
        for scheme in schemes {
            let url = format!("{scheme}://{}", root.url);
            let remote = protocol::Remote {
                http: &self.inner.http,
                url: &url,
            };
            match remote.handshake().await {
                Ok(()) => {
                    root.url = url;
                    return Ok(root);
                }
                Err(e @ GitError::AuthRequired { .. }) => return Err(e),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| GitError::not_found("no protocol found for repository")))
    }

    /// Runs `f` over the module in a fresh snapshot of its repository, on the blocking pool.
    async fn with_repo<T, F>(&self, path: &ModulePath, f: F) -> Result<T, GitError>
    where
        T: Send + 'static,
        F: FnOnce(&CodeRepo<'_>, &objects::Objects) -> Result<T, GitError> + Send + 'static,
    {
        let root = self.repo_root(path).await?;
        let snap: Snapshot = self
            .inner
            .mirrors
            .fresh(&self.inner.http, &root.url)
            .await?;
        let path = path.as_str().to_owned();
        tokio::task::spawn_blocking(move || {
            let objects = snap.objects()?;
            let repo = CodeRepo::new(&path, &root.root, &root.subdir, &snap.refs, &objects)?;
            f(&repo, &objects)
        })
        .await
        .map_err(|e| GitError::Mirror {
            path: "(task)".into(),
            reason: e.to_string(),
        })?
    }

    /// The module's versions from its tags (coderepo's `Versions`), sorted, `+incompatible`
    /// ones last: the `@v/list` answer.
    pub async fn list(&self, path: &ModulePath) -> Result<Vec<Version>, GitError> {
        let list = self.with_repo(path, |repo, _| repo.versions()).await?;
        Ok(list.iter().filter_map(|v| Version::parse(v).ok()).collect())
    }

    /// `@latest`: the highest release, else the highest pre-release, else the
    /// pseudo-version of the default branch's head; retracted versions are passed over
    /// (modload's `queryProxy` for `latest`).
    pub async fn latest(&self, path: &ModulePath) -> Result<Info, GitError> {
        let p = path.clone();
        self.with_repo(path, move |repo, _| {
            let retracted = repo.retracted();
            let list: Vec<String> = repo
                .versions()?
                .into_iter()
                .filter(|v| !retracted(v))
                .collect();
            let resolved = match prefer_release(&list) {
                Some(v) => repo.stat(v)?,
                None => repo.head()?,
            };
            to_info(&p, resolved)
        })
        .await
    }

    /// `.info` for a query: a version (tag or pseudo-version), a version prefix (`v1.2`),
    /// a branch, a full or short commit hash, or `latest`.
    pub async fn info(&self, path: &ModulePath, query: &str) -> Result<Info, GitError> {
        if query == "latest" {
            return self.latest(path).await;
        }
        let p = path.clone();
        let query = query.to_owned();
        self.with_repo(path, move |repo, _| {
            let resolved = if is_version_prefix(&query) {
                let list = repo.versions()?;
                let retracted = repo.retracted();
                let prefix = format!("{query}.");
                let matching: Vec<&String> = list
                    .iter()
                    .filter(|v| v.starts_with(&prefix) && semver::compare(v, &query).is_ge())
                    .filter(|v| !retracted(v))
                    .collect();
                let pick = prefer_release(&matching).ok_or_else(|| {
                    GitError::not_found(format!(
                        "{p}@{query}: no matching versions for query \"{query}\""
                    ))
                })?;
                repo.stat(pick)?
            } else {
                repo.stat(&query)?
            };
            to_info(&p, resolved)
        })
        .await
    }

    /// The go.mod of `version`, or the `module <path>` line synthesized for a version
    /// without one.
    pub async fn go_mod(&self, path: &ModulePath, version: &Version) -> Result<Bytes, GitError> {
        let v = version.clone();
        self.with_repo(path, move |repo, _| {
            check_is_version(repo, &v)?;
            repo.go_mod(v.as_str()).map(Bytes::from)
        })
        .await
    }

    /// Writes the module zip of `version` to `dest` (a scratch file the caller publishes
    /// after its own checks) and returns its summary (`h1:` hash, file count, size).
    pub async fn zip(
        &self,
        path: &ModulePath,
        version: &Version,
        dest: &Path,
    ) -> Result<ZipSummary, GitError> {
        let (p, v, dest) = (path.clone(), version.clone(), dest.to_owned());
        self.with_repo(path, move |repo, objects| {
            check_is_version(repo, &v)?;
            zipbuild::build_zip(repo, objects, &p, &v, &dest)
        })
        .await
    }
}

/// Refuses a version that names something else (a branch called `v1.0.0` aside, the go
/// command accepts a version only if `Stat` gives it back unchanged).
fn check_is_version(repo: &CodeRepo<'_>, v: &Version) -> Result<(), GitError> {
    let resolved = repo.stat(v.as_str())?;
    if resolved.version != v.as_str() {
        return Err(GitError::not_found(format!(
            "{v}: invalid version: resolves to {}",
            resolved.version
        )));
    }
    Ok(())
}

/// `v1` or `v1.2`: valid, but shorthand (the query matches versions with that prefix).
fn is_version_prefix(q: &str) -> bool {
    semver::is_valid(q)
        && canonical_version(q).is_some_and(|c| c != q)
        && semver::prerelease(q).is_none()
        && semver::build(q).is_none()
}

fn to_info(path: &ModulePath, r: Resolved) -> Result<Info, GitError> {
    let version =
        Version::for_module(path, &r.version).map_err(|e| GitError::not_found(e.to_string()))?;
    Ok(Info {
        version,
        time: info_time(r.time),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_prefixes() {
        assert!(is_version_prefix("v1"));
        assert!(is_version_prefix("v1.2"));
        assert!(!is_version_prefix("v1.2.0"));
        assert!(!is_version_prefix("master"));
        assert!(!is_version_prefix("v1.2.3-pre"));
    }

    #[test]
    fn info_json() {
        let info = Info {
            version: Version::parse("v1.0.0").unwrap(),
            time: "2026-01-02T03:04:05Z".into(),
        };
        assert_eq!(
            String::from_utf8(info.to_json()).unwrap(),
            r#"{"Time":"2026-01-02T03:04:05Z","Version":"v1.0.0"}"#
        );
    }
}
