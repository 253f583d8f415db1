//! Where prefetch's resolver reads go.mod files: through the depot (so that reading the
//! graph also stores it), or, for `--dry-run`, from the store and upstream without storing.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use godepot_depot::{Answer, Body, Depot, DepotError};
use godepot_module::{MAX_GO_MOD, ModulePath, Version};
use godepot_resolve::{ModSource, SourceError};
use godepot_store::{ArtifactKey, Kind, Store};
use godepot_upstream::{FetchError, Upstream};

use crate::artifact::Artifact;
use crate::tally::Tally;

/// Reads go.mod files through the depot, which keeps them; each is counted as held or
/// fetched. A go.mod that cannot be had is not counted here: resolution reports it, and
/// decides whether it matters (a failure) or not (a warning).
pub(crate) struct DepotSource {
    pub(crate) depot: Depot,
    pub(crate) tally: Tally,
}

#[async_trait]
impl ModSource for DepotSource {
    async fn go_mod(&self, module: &ModulePath, version: &Version) -> Result<Bytes, SourceError> {
        let artifact = Artifact::new(module, version, Kind::Mod);
        let kept = self
            .depot
            .keep(artifact.key())
            .await
            .map_err(source_error)?;
        self.tally.kept(&artifact, &kept);
        kept.data
            .ok_or_else(|| SourceError::Failed(format!("{artifact}: kept, but not read")))
    }

    async fn versions(&self, module: &ModulePath) -> Result<Vec<Version>, SourceError> {
        let answer = self.depot.list(module).await.map_err(source_error)?;
        Ok(parse_list(&read_body(answer).await?))
    }

    async fn latest(&self, module: &ModulePath) -> Result<Version, SourceError> {
        let answer = self.depot.latest(module).await.map_err(source_error)?;
        parse_info_version(module, &read_body(answer).await?)
    }
}

/// For `--dry-run`: the store when it holds the go.mod, else upstream directly (not
/// through the depot, which would store what it fetches).
pub(crate) struct DryRunSource {
    pub(crate) store: Option<Arc<dyn Store>>,
    pub(crate) upstream: Option<Upstream>,
    /// The `--private` patterns: such a path is never asked of the upstream proxy.
    pub(crate) private: String,
}

impl DryRunSource {
    async fn ask_upstream(
        &self,
        module: &ModulePath,
        rel: &str,
        limit: u64,
    ) -> Result<Bytes, SourceError> {
        if godepot_module::matches_glob_prefix(&self.private, module.as_str()) {
            return Err(SourceError::NotFound(format!(
                "{module}: private, and --dry-run reads no repository: only what is held is listed"
            )));
        }
        let Some(upstream) = &self.upstream else {
            return Err(SourceError::NotFound(format!(
                "{rel}: not held, and no upstream is configured"
            )));
        };
        upstream.get_bytes(rel, limit).await.map_err(|e| match e {
            FetchError::NotFound { message, .. } => SourceError::NotFound(message),
            e => SourceError::Failed(e.to_string()),
        })
    }
}

#[async_trait]
impl ModSource for DryRunSource {
    async fn go_mod(&self, module: &ModulePath, version: &Version) -> Result<Bytes, SourceError> {
        let key = ArtifactKey::new(module.clone(), version.clone(), Kind::Mod);
        if let Some(store) = &self.store {
            let (store, held) = (Arc::clone(store), key.clone());
            if let Ok(Ok(Some(data))) = tokio::task::spawn_blocking(move || store.read(&held)).await
            {
                return Ok(data);
            }
        }
        self.ask_upstream(module, &key.rel_path(), MAX_GO_MOD)
            .await
            .map_err(|e| name_error(e, &format!("{module}@{version}")))
    }

    async fn versions(&self, module: &ModulePath) -> Result<Vec<Version>, SourceError> {
        let rel = format!("{}/@v/list", module.escaped());
        match self.ask_upstream(module, &rel, 16 << 20).await {
            Ok(data) => Ok(parse_list(&data)),
            Err(e) => match &self.store {
                Some(store) => {
                    let (store, m) = (Arc::clone(store), module.clone());
                    match tokio::task::spawn_blocking(move || store.versions(&m)).await {
                        Ok(Ok(versions)) => Ok(versions),
                        _ => Err(e),
                    }
                }
                None => Err(e),
            },
        }
    }

    async fn latest(&self, module: &ModulePath) -> Result<Version, SourceError> {
        let data = self
            .ask_upstream(module, &format!("{}/@latest", module.escaped()), 1 << 20)
            .await?;
        parse_info_version(module, &data)
    }
}

/// Reads a small answer whole.
async fn read_body(answer: Answer) -> Result<Bytes, SourceError> {
    match answer.body {
        Body::Bytes(data) | Body::Small { data, .. } => Ok(data),
        Body::File(artifact) => {
            tokio::task::spawn_blocking(move || artifact.read_all().map(Bytes::from))
                .await
                .map_err(|e| SourceError::Failed(e.to_string()))?
                .map_err(|e| SourceError::Failed(format!("cannot read stored file: {e}")))
        }
        Body::Stream { mut stream, .. } => {
            let mut data = Vec::new();
            while let Some(chunk) = stream.next().await {
                data.extend_from_slice(&chunk.map_err(|e| SourceError::Failed(e.to_string()))?);
            }
            Ok(Bytes::from(data))
        }
    }
}

fn source_error(e: DepotError) -> SourceError {
    match e {
        DepotError::NotFound(m) | DepotError::Gone(m) => SourceError::NotFound(m),
        e => SourceError::Failed(e.to_string()),
    }
}

/// Upstream's own not-found text may not name the module version; make sure it does.
fn name_error(e: SourceError, what: &str) -> SourceError {
    let named = |m: String| {
        if m.contains(what) {
            m
        } else if m.is_empty() {
            format!("{what}: not found")
        } else {
            format!("{what}: {m}")
        }
    };
    match e {
        SourceError::NotFound(m) => SourceError::NotFound(named(m)),
        SourceError::Failed(m) => SourceError::Failed(named(m)),
    }
}

/// `@v/list`: one version per line, maybe followed by a timestamp; anything that is not a
/// canonical version is ignored, as the go command does.
fn parse_list(data: &[u8]) -> Vec<Version> {
    String::from_utf8_lossy(data)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter_map(|v| Version::parse(v).ok())
        .collect()
}

fn parse_info_version(module: &ModulePath, data: &[u8]) -> Result<Version, SourceError> {
    let bad = |why: String| SourceError::Failed(format!("{module}@latest: {why}"));
    let info: serde_json::Value =
        serde_json::from_slice(data).map_err(|e| bad(format!("invalid JSON: {e}")))?;
    let version = info
        .get("Version")
        .and_then(|v| v.as_str())
        .ok_or_else(|| bad("no Version".into()))?;
    Version::for_module(module, version).map_err(|e| bad(e.to_string()))
}
