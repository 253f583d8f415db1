//! "Fetch and keep, and tell me what happened", for callers that fill the store (prefetch)
//! rather than serve a client: the answer says whether the artifact was stored now or held
//! already, so such callers never re-read the store to find out. A refusal is the
//! [`DepotError`] that says why.

use bytes::Bytes;
use futures_util::StreamExt;
use godepot_store::{ArtifactKey, Kind};

use crate::answer::{Body, CacheStatus};
use crate::{DepotError, Inner, ingest, zipflight};

/// What [`crate::Depot::keep`] did with one artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Fetched from upstream, checked and stored by this call (or by a fetch it joined).
    Stored,
    /// The store held it already.
    AlreadyHeld,
}

/// An artifact the store now holds.
#[derive(Debug, Clone)]
pub struct Kept {
    pub outcome: Outcome,
    /// Its size in bytes.
    pub len: u64,
    /// The bytes of an `.info` or `.mod` (what a caller reads next); `None` for a zip, which
    /// is drained, never held in memory.
    pub data: Option<Bytes>,
}

pub(crate) async fn keep(inner: &Inner, key: ArtifactKey) -> Result<Kept, DepotError> {
    let small = key.kind != Kind::Zip;
    // Asked first: a zip that a racing fetch finished a moment ago is answered as a store
    // hit, so an answer's cache status alone cannot tell "held before" apart.
    let (outcome, body) = match ingest::held(inner, &key).await? {
        Some(body) => (Outcome::AlreadyHeld, body),
        None => {
            let answer = match key.kind {
                Kind::Zip => zipflight::zip(inner, key).await?,
                _ => ingest::small_artifact(inner, key).await?,
            };
            let outcome = match answer.cache {
                CacheStatus::Hit => Outcome::AlreadyHeld,
                _ => Outcome::Stored,
            };
            (outcome, answer.body)
        }
    };
    let (len, data) = drain(body, small).await?;
    Ok(Kept { outcome, len, data })
}

/// Reads an answer to its end: whole when `small`, else only counting its bytes.
async fn drain(body: Body, small: bool) -> Result<(u64, Option<Bytes>), DepotError> {
    match body {
        Body::Bytes(data) | Body::Small { data, .. } => Ok((data.len() as u64, Some(data))),
        Body::File(artifact) if small => {
            let data = tokio::task::spawn_blocking(move || artifact.read_all().map(Bytes::from))
                .await
                .map_err(|e| DepotError::internal("store task failed", e))?
                .map_err(|e| DepotError::internal("cannot read stored file", e))?;
            Ok((data.len() as u64, Some(data)))
        }
        Body::File(artifact) => Ok((artifact.len, None)),
        // A relay ends without an error only once the zip has been checked and stored; an
        // error carries the fetch's reason (its kind is lost in the relay: it is a refusal).
        Body::Stream { mut stream, .. } => {
            let mut len = 0u64;
            while let Some(chunk) = stream.next().await {
                len += chunk.map_err(|e| DepotError::rejected("", e))?.len() as u64;
            }
            Ok((len, None))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use godepot_module::{ModulePath, Version};
    use godepot_store::{ArtifactKey, Kind, LocalStore};
    use godepot_upstream::{ProxyList, Upstream, UpstreamOptions};

    use crate::{Depot, DepotError, DepotOptions, Outcome};

    #[tokio::test]
    async fn keep_says_stored_then_already_held_or_why_it_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let versions = tmp.path().join("up/example.com/m/@v");
        std::fs::create_dir_all(&versions).unwrap();
        std::fs::write(versions.join("v1.0.0.mod"), "module example.com/m\n").unwrap();
        // Names another version: refused.
        std::fs::write(versions.join("v1.0.0.info"), r#"{"Version":"v1.0.1"}"#).unwrap();
        let list = ProxyList::parse(&format!("file://{}", tmp.path().join("up").display()));
        let upstream = Upstream::new(&list.unwrap(), UpstreamOptions::default()).unwrap();
        let store = Arc::new(LocalStore::open(tmp.path().join("data")).unwrap());
        let depot = Depot::new(store, Some(upstream), DepotOptions::default());
        let key = |kind| {
            let module = ModulePath::parse("example.com/m").unwrap();
            ArtifactKey::new(module, Version::parse("v1.0.0").unwrap(), kind)
        };

        let kept = depot.keep(key(Kind::Mod)).await.unwrap();
        assert_eq!(kept.outcome, Outcome::Stored);
        assert_eq!(kept.data.as_deref(), Some(&b"module example.com/m\n"[..]));
        let again = depot.keep(key(Kind::Mod)).await.unwrap();
        assert_eq!((again.outcome, again.len), (Outcome::AlreadyHeld, 21));
        let refused = depot.keep(key(Kind::Info)).await;
        assert!(
            matches!(refused, Err(DepotError::Rejected { .. })),
            "{refused:?}"
        );
        let missing = depot.keep(key(Kind::Zip)).await;
        assert!(
            matches!(missing, Err(DepotError::NotFound(_))),
            "{missing:?}"
        );
    }
}
