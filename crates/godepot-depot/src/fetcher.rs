//! Where the depot gets what its store does not hold: a [`Fetcher`] answers the five module
//! questions (list, latest, info, go.mod, zip) for a module, and [`Fetchers`] picks the one
//! for each module.
//!
//! The depot's policy (single-flight, checks, keeping, stale-if-error, offline) is written
//! once against this trait. The upstream proxy list ([`Upstream`]) is one implementation; a
//! fetcher that reads modules from their git repositories is meant to be another, chosen for
//! the modules the `--private` patterns name. The checksum-database proxy is not a module
//! fetcher and keeps talking to [`Upstream`] itself.
//!
//! Errors are [`DepotError`]s already: only the fetcher knows whether its failure means "does
//! not exist" (404/410, which the go command may fall through on) or "could not find out"
//! (502/504), so it decides, with the failure kept as the error's source.

use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::{Stream, StreamExt};
use godepot_module::{ModulePath, Version};
use godepot_upstream::{Upstream, Validators};

use crate::DepotError;

/// Upper bound for a `.info` answer: a version, a time and an `Origin` block.
pub const MAX_INFO: u64 = 1 << 20;
/// Upper bound for a `list` answer or a query's `.info`.
pub const MAX_MUTABLE: u64 = 16 << 20;

/// A small answer, read whole.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub data: Bytes,
    /// Where it came from, for messages (no credentials): a proxy URL, a repository.
    pub source: String,
    /// What identifies this answer at its source, for asking again conditionally; empty
    /// when the source gave none.
    pub validators: Validators,
}

impl Fetched {
    /// An answer from `source` that carries no validators.
    pub fn new(data: impl Into<Bytes>, source: impl Into<String>) -> Fetched {
        Fetched {
            data: data.into(),
            source: source.into(),
            validators: Validators::default(),
        }
    }
}

impl From<godepot_upstream::Whole> for Fetched {
    fn from(whole: godepot_upstream::Whole) -> Fetched {
        Fetched {
            data: whole.data,
            source: whole.source,
            validators: whole.validators,
        }
    }
}

/// The mutable answers that can be revalidated: they name no version, so they change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutable {
    /// `@v/list`.
    List,
    /// `@latest`.
    Latest,
}

/// The answer to a conditional question ([`Fetcher::revalidate`]).
#[derive(Debug, Clone)]
pub enum Revalidated {
    /// The source says the answer held is still current (an HTTP 304): no body came.
    Unchanged,
    /// A new answer, or the same one from a source that cannot tell.
    Changed(Fetched),
}

/// A zip on its way.
pub struct FetchedZip {
    /// The declared length, when the source declared one.
    pub len: Option<u64>,
    /// The bytes; an error ends the stream.
    pub body: Pin<Box<dyn Stream<Item = Result<Bytes, DepotError>> + Send>>,
    /// Where it comes from, for messages (no credentials).
    pub source: String,
}

/// One source of module versions. See the module docs.
///
/// Answers are checked by the depot, not here: a fetcher hands back what its source says.
pub trait Fetcher: Send + Sync + 'static {
    /// What this fetcher asks, for logs and `/readyz` (credentials redacted).
    fn describe(&self) -> String;

    /// The `@v/list` answer: known versions, one a line.
    fn list<'a>(&'a self, module: &'a ModulePath) -> BoxFuture<'a, Result<Fetched, DepotError>>;

    /// The `@latest` answer: an `.info` JSON object.
    fn latest<'a>(&'a self, module: &'a ModulePath) -> BoxFuture<'a, Result<Fetched, DepotError>>;

    /// `list` or `latest`, asking only whether the answer `known` identifies has changed
    /// (validators a [`Fetched`] of this fetcher carried). A source that cannot tell
    /// answers in full, as this default does.
    fn revalidate<'a>(
        &'a self,
        module: &'a ModulePath,
        which: Mutable,
        known: &'a Validators,
    ) -> BoxFuture<'a, Result<Revalidated, DepotError>> {
        let _ = known;
        Box::pin(async move {
            let fetched = match which {
                Mutable::List => self.list(module).await?,
                Mutable::Latest => self.latest(module).await?,
            };
            Ok(Revalidated::Changed(fetched))
        })
    }

    /// The `.info` of a canonical version or of a query (branch, commit, `v1.2`).
    fn info<'a>(
        &'a self,
        module: &'a ModulePath,
        query: &'a str,
    ) -> BoxFuture<'a, Result<Fetched, DepotError>>;

    /// The `.mod` of a version.
    fn go_mod<'a>(
        &'a self,
        module: &'a ModulePath,
        version: &'a Version,
    ) -> BoxFuture<'a, Result<Fetched, DepotError>>;

    /// The `.zip` of a version, as a stream.
    fn zip<'a>(
        &'a self,
        module: &'a ModulePath,
        version: &'a Version,
    ) -> BoxFuture<'a, Result<FetchedZip, DepotError>>;
}

/// Which fetcher answers for which module: the first route whose patterns match the module
/// path (the go command's `GOPRIVATE` glob syntax), else the default. No fetcher at all is
/// offline mode. (`--private` patterns route to the repository fetcher; `proxy,direct` is a
/// [`FallThrough`] default.)
#[derive(Clone, Default)]
pub struct Fetchers {
    routes: Vec<(String, Arc<dyn Fetcher>)>,
    default: Option<Arc<dyn Fetcher>>,
}

impl Fetchers {
    /// No fetcher: everything is answered from the store.
    pub fn offline() -> Fetchers {
        Fetchers::default()
    }

    /// One fetcher for every module.
    pub fn single(fetcher: Arc<dyn Fetcher>) -> Fetchers {
        Fetchers {
            routes: Vec::new(),
            default: Some(fetcher),
        }
    }

    /// Sends the modules matching `patterns` (comma-separated globs of path prefixes) to
    /// `fetcher`: after the routes given before, ahead of the default.
    pub fn route(mut self, patterns: &str, fetcher: Arc<dyn Fetcher>) -> Fetchers {
        self.routes.push((patterns.to_string(), fetcher));
        self
    }

    /// The fetcher for `module`, if any.
    pub fn for_module(&self, module: &ModulePath) -> Option<&Arc<dyn Fetcher>> {
        self.routes
            .iter()
            .find(|(patterns, _)| godepot_module::matches_glob_prefix(patterns, module.as_str()))
            .map(|(_, f)| f)
            .or(self.default.as_ref())
    }

    /// Whether nothing can ever be fetched.
    pub fn is_offline(&self) -> bool {
        self.routes.is_empty() && self.default.is_none()
    }

    /// Every fetcher, for the readiness report.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self
            .routes
            .iter()
            .map(|(patterns, f)| format!("{patterns}: {}", f.describe()))
            .collect();
        if let Some(f) = &self.default {
            parts.push(f.describe());
        }
        parts.join("; ")
    }
}

/// Fetchers asked in turn, the next one only when the one before says "does not exist"
/// (404/410): the go command's rule for `,` in `GOPROXY`, and so what `proxy,direct`
/// means (the repository is asked when the proxies do not have the module). Any other
/// failure is the answer.
pub struct FallThrough {
    fetchers: Vec<Arc<dyn Fetcher>>,
}

impl FallThrough {
    pub fn new(fetchers: Vec<Arc<dyn Fetcher>>) -> FallThrough {
        FallThrough { fetchers }
    }

    async fn first<'a, T>(
        &'a self,
        ask: impl Fn(&'a dyn Fetcher) -> BoxFuture<'a, Result<T, DepotError>>,
    ) -> Result<T, DepotError> {
        let mut last = DepotError::NotFound("not found: no fetcher is configured".into());
        for fetcher in &self.fetchers {
            match ask(fetcher.as_ref()).await {
                Err(e) if e.is_not_found() => last = e,
                answer => return answer,
            }
        }
        Err(last)
    }
}

impl Fetcher for FallThrough {
    fn describe(&self) -> String {
        let names: Vec<String> = self.fetchers.iter().map(|f| f.describe()).collect();
        names.join(",")
    }

    fn list<'a>(&'a self, module: &'a ModulePath) -> BoxFuture<'a, Result<Fetched, DepotError>> {
        Box::pin(self.first(move |f| f.list(module)))
    }

    fn latest<'a>(&'a self, module: &'a ModulePath) -> BoxFuture<'a, Result<Fetched, DepotError>> {
        Box::pin(self.first(move |f| f.latest(module)))
    }

    fn revalidate<'a>(
        &'a self,
        module: &'a ModulePath,
        which: Mutable,
        known: &'a Validators,
    ) -> BoxFuture<'a, Result<Revalidated, DepotError>> {
        // Each source sends back only the validators it gave (they name their source).
        Box::pin(self.first(move |f| f.revalidate(module, which, known)))
    }

    fn info<'a>(
        &'a self,
        module: &'a ModulePath,
        query: &'a str,
    ) -> BoxFuture<'a, Result<Fetched, DepotError>> {
        Box::pin(self.first(move |f| f.info(module, query)))
    }

    fn go_mod<'a>(
        &'a self,
        module: &'a ModulePath,
        version: &'a Version,
    ) -> BoxFuture<'a, Result<Fetched, DepotError>> {
        Box::pin(self.first(move |f| f.go_mod(module, version)))
    }

    fn zip<'a>(
        &'a self,
        module: &'a ModulePath,
        version: &'a Version,
    ) -> BoxFuture<'a, Result<FetchedZip, DepotError>> {
        Box::pin(self.first(move |f| f.zip(module, version)))
    }
}

/// The proxy list: every question is one path under each proxy, in `GOPROXY` order.
impl Fetcher for Upstream {
    fn describe(&self) -> String {
        Upstream::describe(self)
    }

    fn list<'a>(&'a self, module: &'a ModulePath) -> BoxFuture<'a, Result<Fetched, DepotError>> {
        let rel = format!("{}/@v/list", module.escaped());
        Box::pin(whole(self, rel, MAX_MUTABLE, format!("{module}: list")))
    }

    fn latest<'a>(&'a self, module: &'a ModulePath) -> BoxFuture<'a, Result<Fetched, DepotError>> {
        let rel = format!("{}/@latest", module.escaped());
        Box::pin(whole(self, rel, MAX_MUTABLE, format!("{module}@latest")))
    }

    fn revalidate<'a>(
        &'a self,
        module: &'a ModulePath,
        which: Mutable,
        known: &'a Validators,
    ) -> BoxFuture<'a, Result<Revalidated, DepotError>> {
        let (rel, what) = match which {
            Mutable::List => (
                format!("{}/@v/list", module.escaped()),
                format!("{module}: list"),
            ),
            Mutable::Latest => (
                format!("{}/@latest", module.escaped()),
                format!("{module}@latest"),
            ),
        };
        Box::pin(async move {
            let answer = self
                .get_whole_if_changed(&rel, MAX_MUTABLE, known)
                .await
                .map_err(|e| DepotError::from_fetch(&what, e))?;
            Ok(match answer {
                godepot_upstream::Revalidated::Unchanged => Revalidated::Unchanged,
                godepot_upstream::Revalidated::Changed(whole) => {
                    Revalidated::Changed(Fetched::from(whole))
                }
            })
        })
    }

    fn info<'a>(
        &'a self,
        module: &'a ModulePath,
        query: &'a str,
    ) -> BoxFuture<'a, Result<Fetched, DepotError>> {
        Box::pin(async move {
            let escaped = godepot_module::escape_version(query)
                .map_err(|e| DepotError::Invalid(e.to_string()))?;
            let rel = format!("{}/@v/{escaped}.info", module.escaped());
            let canonical = Version::for_module(module, query).is_ok();
            let limit = if canonical { MAX_INFO } else { MAX_MUTABLE };
            whole(self, rel, limit, format!("{module}@{query}")).await
        })
    }

    fn go_mod<'a>(
        &'a self,
        module: &'a ModulePath,
        version: &'a Version,
    ) -> BoxFuture<'a, Result<Fetched, DepotError>> {
        let rel = format!("{}/@v/{}.mod", module.escaped(), version.escaped());
        let what = format!("{module}@{version}");
        Box::pin(whole(self, rel, godepot_module::MAX_GO_MOD, what))
    }

    fn zip<'a>(
        &'a self,
        module: &'a ModulePath,
        version: &'a Version,
    ) -> BoxFuture<'a, Result<FetchedZip, DepotError>> {
        Box::pin(async move {
            let rel = format!("{}/@v/{}.zip", module.escaped(), version.escaped());
            let what = format!("{module}@{version}");
            let fetched = self
                .get(&rel)
                .await
                .map_err(|e| DepotError::from_fetch(&what, e))?;
            let body = fetched
                .body
                .map(move |chunk| chunk.map_err(|e| DepotError::from_fetch(&what, e)));
            Ok(FetchedZip {
                len: fetched.content_length,
                body: Box::pin(body),
                source: fetched.source,
            })
        })
    }
}

async fn whole(
    upstream: &Upstream,
    rel: String,
    limit: u64,
    what: String,
) -> Result<Fetched, DepotError> {
    upstream
        .get_whole(&rel, limit)
        .await
        .map(Fetched::from)
        .map_err(|e| DepotError::from_fetch(&what, e))
}
