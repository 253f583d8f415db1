//! The git fetcher as a depot [`Fetcher`]: the modules the `--private` patterns name (and
//! those `direct` reaches) are read from their repositories by [`GitFetcher`], and its
//! failures are put in the proxy protocol's terms here, once.
//!
//! | [`GitError`]            | answer | why                                                   |
//! |-------------------------|--------|-------------------------------------------------------|
//! | `NotFound`, `Unsupported` | 404  | does not exist here: the go command may fall through  |
//! | `AuthRequired`          | 502    | never a 404: go would fall through silently; the message names the host and how to give credentials |
//! | `Unreachable`           | 502/504| could not ask                                          |
//! | `TooLarge`              | 502    | refused, nothing kept                                  |
//! | `Protocol`              | 502    | the server said something we do not take               |
//! | `Mirror`                | 500    | our own cache directory failed                         |
//!
//! A `go-import` tag of kind `mod` names a module proxy that serves the module instead of a
//! repository (`GitError::ModProxy`): as the go command does, the request is then asked of
//! that proxy, with the same credentials and limits as the configured upstreams.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use godepot_git::{GitError, GitFetcher};
use godepot_module::{ModulePath, Version};
use godepot_upstream::{Netrc, ProxyList, Upstream, UpstreamOptions};

use crate::DepotError;
use crate::fetcher::{Fetched, FetchedZip, Fetcher};

/// A [`GitFetcher`] answering for the depot. Zips are built into `scratch` (the store's
/// scratch directory for this process, so a crash leaves nothing behind for long) and
/// streamed from there.
pub struct GitSource {
    git: GitFetcher,
    scratch: PathBuf,
    /// How to reach the module proxies that `mod` go-import tags name.
    proxy_options: UpstreamOptions,
    netrc: Netrc,
    /// One client per proxy named so far (a handful: one per private host that uses them).
    mod_proxies: Mutex<HashMap<String, Arc<Upstream>>>,
}

impl GitSource {
    /// `proxy_options` and `netrc` are those of the configured upstreams: a proxy that a
    /// `mod` go-import tag names is reached the same way.
    pub fn new(
        git: GitFetcher,
        scratch: impl Into<PathBuf>,
        proxy_options: UpstreamOptions,
        netrc: Netrc,
    ) -> GitSource {
        GitSource {
            git,
            scratch: scratch.into(),
            proxy_options,
            netrc,
            mod_proxies: Mutex::new(HashMap::new()),
        }
    }

    /// The client for the module proxy at `url` (from a `mod` go-import tag for `what`).
    fn mod_proxy(&self, what: &str, url: &str) -> Result<Arc<Upstream>, DepotError> {
        let mut proxies = self.mod_proxies.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(up) = proxies.get(url) {
            return Ok(Arc::clone(up));
        }
        let refused = |reason: String| {
            DepotError::upstream(
                what,
                format!(
                    "go-import names the module proxy {}: {reason}",
                    godepot_upstream::url::redact(url)
                ),
            )
        };
        let list = ProxyList::parse(url).map_err(|e| refused(e.to_string()))?;
        if list.entries.len() != 1 || list.has_direct || list.ends_off {
            return Err(refused("not one module proxy URL".into()));
        }
        let up = Upstream::with_netrc(&list, self.proxy_options.clone(), self.netrc.clone())
            .map_err(|e| refused(e.to_string()))?;
        let up = Arc::new(up);
        proxies.insert(url.to_owned(), Arc::clone(&up));
        Ok(up)
    }

    /// A git failure for `what`, unless the module lives on a module proxy instead: then
    /// the client to ask there.
    fn elsewhere(&self, what: &str, e: GitError) -> Result<Arc<Upstream>, DepotError> {
        match e {
            GitError::ModProxy { url, .. } => self.mod_proxy(what, &url),
            e => Err(git_error(what, e)),
        }
    }
}

/// The depot's error for a git failure while doing `what` (a module, a module@query).
pub fn git_error(what: &str, e: GitError) -> DepotError {
    let status = e.status();
    let message = e.to_string();
    let with_what = || {
        if message.contains(what) {
            message.clone()
        } else {
            format!("{what}: {message}")
        }
    };
    match e {
        GitError::NotFound { .. } | GitError::Unsupported { .. } => {
            DepotError::NotFound(with_what())
        }
        GitError::Mirror { .. } => DepotError::internal(what, e),
        GitError::TooLarge { .. } => DepotError::rejected(what, e),
        _ if status == 504 => DepotError::UpstreamTimeout {
            what: what.to_owned(),
            cause: Arc::new(e),
        },
        _ => DepotError::Upstream {
            what: what.to_owned(),
            cause: Arc::new(e),
        },
    }
}

fn fetched(data: impl Into<Bytes>) -> Fetched {
    Fetched::new(data, "git")
}

impl Fetcher for GitSource {
    fn describe(&self) -> String {
        "git (from each module's repository)".into()
    }

    fn list<'a>(&'a self, module: &'a ModulePath) -> BoxFuture<'a, Result<Fetched, DepotError>> {
        Box::pin(async move {
            let what = format!("{module}: list");
            match self.git.list(module).await {
                Ok(list) => Ok(fetched(
                    list.iter().map(|v| format!("{v}\n")).collect::<String>(),
                )),
                Err(e) => Fetcher::list(&*self.elsewhere(&what, e)?, module).await,
            }
        })
    }

    fn latest<'a>(&'a self, module: &'a ModulePath) -> BoxFuture<'a, Result<Fetched, DepotError>> {
        Box::pin(async move {
            let what = format!("{module}@latest");
            match self.git.latest(module).await {
                Ok(info) => Ok(fetched(info.to_json())),
                Err(e) => Fetcher::latest(&*self.elsewhere(&what, e)?, module).await,
            }
        })
    }

    fn info<'a>(
        &'a self,
        module: &'a ModulePath,
        query: &'a str,
    ) -> BoxFuture<'a, Result<Fetched, DepotError>> {
        Box::pin(async move {
            let what = format!("{module}@{query}");
            match self.git.info(module, query).await {
                Ok(info) => Ok(fetched(info.to_json())),
                Err(e) => Fetcher::info(&*self.elsewhere(&what, e)?, module, query).await,
            }
        })
    }

    fn go_mod<'a>(
        &'a self,
        module: &'a ModulePath,
        version: &'a Version,
    ) -> BoxFuture<'a, Result<Fetched, DepotError>> {
        Box::pin(async move {
            let what = format!("{module}@{version}");
            match self.git.go_mod(module, version).await {
                Ok(data) => Ok(fetched(data)),
                Err(e) => Fetcher::go_mod(&*self.elsewhere(&what, e)?, module, version).await,
            }
        })
    }

    fn zip<'a>(
        &'a self,
        module: &'a ModulePath,
        version: &'a Version,
    ) -> BoxFuture<'a, Result<FetchedZip, DepotError>> {
        Box::pin(async move {
            let what = format!("{module}@{version}");
            let scratch = |e: std::io::Error| DepotError::internal(&what, e);
            std::fs::create_dir_all(&self.scratch).map_err(scratch)?;
            // Named only while it is written; the open handle outlives the name.
            let file = tempfile::Builder::new()
                .prefix(".zip-")
                .tempfile_in(&self.scratch)
                .map_err(scratch)?;
            if let Err(e) = self.git.zip(module, version, file.path()).await {
                return Fetcher::zip(&*self.elsewhere(&what, e)?, module, version).await;
            }
            let reader = tokio::fs::File::open(file.path()).await.map_err(scratch)?;
            drop(file);
            let len = reader.metadata().await.map_err(scratch)?.len();
            let body = tokio_util::io::ReaderStream::new(reader)
                .map(move |chunk| chunk.map_err(|e| DepotError::internal(what.clone(), e)));
            Ok(FetchedZip {
                len: Some(len),
                body: Box::pin(body),
                source: "git".into(),
            })
        })
    }
}

/// The `.netrc` entries as the git fetcher's credentials (`default` as the empty host):
/// one parser for every outbound connection, godepot-upstream's.
pub fn netrc_credentials(netrc: &Netrc) -> Vec<godepot_git::Credential> {
    netrc
        .entries()
        .map(|(host, c)| godepot_git::Credential {
            host: host.unwrap_or_default().to_owned(),
            login: c.login.clone(),
            secret: c.password.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_failures_in_protocol_terms() {
        let e = git_error(
            "m@v1",
            GitError::NotFound {
                reason: "no such tag".into(),
            },
        );
        assert!(matches!(e, DepotError::NotFound(_)));
        assert_eq!(e.to_string(), "m@v1: no such tag");
        let auth = GitError::AuthRequired {
            host: "git.corp.example".into(),
            status: 401,
        };
        let e = git_error("git.corp.example/a@v1.0.0", auth);
        assert!(
            matches!(e, DepotError::Upstream { .. }),
            "never a 404: {e:?}"
        );
        assert!(
            e.to_string()
                .contains("git.corp.example: authentication required")
        );
        assert!(e.to_string().contains(".netrc"));
        let slow = GitError::Unreachable {
            url: "https://git.corp.example/a".into(),
            reason: "timed out".into(),
            timed_out: true,
        };
        assert!(matches!(
            git_error("m", slow),
            DepotError::UpstreamTimeout { .. }
        ));
        let big = GitError::TooLarge {
            what: "pack".into(),
            reason: "over 2 GiB".into(),
        };
        assert!(matches!(git_error("m", big), DepotError::Rejected { .. }));
    }

    #[test]
    fn netrc_entries_become_credentials() {
        let netrc = Netrc::parse(
            "machine git.corp.example login alice password pw\ndefault login anon password x\n",
        );
        let creds = netrc_credentials(&netrc);
        assert_eq!(creds.len(), 2);
        assert_eq!(
            (creds[0].host.as_str(), creds[0].login.as_str()),
            ("git.corp.example", "alice")
        );
        assert_eq!(creds[1].host, "");
    }
}
