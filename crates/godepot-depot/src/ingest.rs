//! Taking versioned artifacts in: fetch once, check, keep. Nothing upstream sends is stored
//! before it has passed the checks below.

use bytes::Bytes;
use godepot_module::{ModulePath, Version};
use godepot_store::{ArtifactKey, Kind};

use crate::answer::{Answer, Body, CacheStatus};
use crate::coordinate::{self, Turn};
use crate::error::Reason;
use crate::hot::{Hot, MAX_ENTRY};
use crate::{DepotError, Inner};

/// `.info` or `.mod` of a canonical version: store hit, else one fetch shared by all askers.
pub(crate) async fn small_artifact(inner: &Inner, key: ArtifactKey) -> Result<Answer, DepotError> {
    if let Some(held) = held(inner, &key).await? {
        return Ok(Answer {
            body: held,
            cache: CacheStatus::Hit,
            immutable: true,
        });
    }
    let Some(fetcher) = inner.fetcher_for(&key.module) else {
        return Err(inner.not_fetchable(&key));
    };
    let flight_key = key.rel_path();
    let store = std::sync::Arc::clone(&inner.store);
    let health = inner.mutable.health_handle();
    let sumdb = inner.sumdb.clone();
    let metrics = std::sync::Arc::clone(&inner.metrics);
    let coord = inner.coord.clone();
    let (answer, _) = inner
        .small_flights
        .run(&flight_key, || async move {
            // Another replica's fetch of it, if any, first (see `coordinate`).
            let lease = match coord.turn(&key).await? {
                Turn::Held => return read_held(store, key).await,
                Turn::Lead(lease) => lease,
            };
            let (module, version) = (&key.module, &key.version);
            let fetched = match key.kind {
                Kind::Mod => fetcher.go_mod(module, version).await,
                _ => fetcher.info(module, version.as_str()).await,
            };
            health.record(&fetched);
            let fetched = fetched?;
            let data = fetched.data;
            if key.kind == Kind::Info {
                check_info(&data, &key.module, &key.version)?;
            }
            if key.kind == Kind::Mod {
                check_go_mod(&data, &key.module, &key.version, &fetched.source, ".mod")?;
                let h1 = godepot_module::hash_go_mod(&data);
                sumdb
                    .check_artifact(&key.module, &key.version, true, &h1)
                    .await?;
            }
            let (stored, kind) = (data.clone(), key.kind);
            let (put_store, put_key) = (std::sync::Arc::clone(&store), key.clone());
            let put = move || put_store.put(&put_key, &stored).map(drop);
            if !coordinate::publish(&coord, &key, lease, put).await? {
                // Our lease was lost and the replica that took over stored it: its bytes.
                return read_held(store, key).await;
            }
            metrics.kept(kind, data.len() as u64);
            Ok(data)
        })
        .await;
    Ok(Answer::bytes(answer?, CacheStatus::Miss, true))
}

/// The bytes of an artifact another replica has just stored.
async fn read_held(
    store: std::sync::Arc<dyn godepot_store::Store>,
    key: ArtifactKey,
) -> Result<Bytes, DepotError> {
    let what = key.rel_path();
    tokio::task::spawn_blocking(move || store.read(&key))
        .await
        .map_err(|e| DepotError::internal("store task failed", e))?
        .map_err(DepotError::store)?
        .ok_or_else(|| DepotError::internal(what, Reason("stored artifact vanished".into())))
}

/// A held artifact: from memory when hot, else read whole in one trip to the blocking pool
/// (and kept hot) when small, or opened for streaming when large. Most `.info`/`.mod` files
/// and many module zips are small: one trip instead of open-then-read halves a hit's hand-offs
/// between threads, which is most of its latency.
pub(crate) async fn held(inner: &Inner, key: &ArtifactKey) -> Result<Option<Body>, DepotError> {
    if let Some(hot) = inner.hot.get(key) {
        return Ok(Some(Body::Small {
            data: hot.data,
            modified: hot.modified,
        }));
    }
    let open_key = key.clone();
    let read = inner
        .blocking(move |s| {
            let Some(artifact) = s.open(&open_key)? else {
                return Ok(None);
            };
            if artifact.len > MAX_ENTRY {
                return Ok(Some(Err(artifact)));
            }
            let modified = artifact.modified;
            let data = artifact
                .read_all()
                .map_err(|e| godepot_store::StoreError::Io {
                    path: open_key.rel_path().into(),
                    source: e,
                })?;
            Ok(Some(Ok(Hot {
                data: Bytes::from(data),
                modified,
            })))
        })
        .await?;
    Ok(match read {
        None => None,
        Some(Err(artifact)) => Some(Body::File(artifact)),
        Some(Ok(hot)) => {
            inner.hot.insert(key.clone(), hot.clone());
            Some(Body::Small {
                data: hot.data,
                modified: hot.modified,
            })
        }
    })
}

/// The `Version` field of an `.info` answer, if it is one.
pub(crate) fn info_version(data: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Info {
        #[serde(rename = "Version")]
        version: String,
    }
    serde_json::from_slice::<Info>(data).ok().map(|i| i.version)
}

/// A canonical version's `.info` must name exactly that version, or the go command fails.
pub(crate) fn check_info(
    data: &Bytes,
    module: &ModulePath,
    version: &Version,
) -> Result<(), DepotError> {
    match info_version(data) {
        Some(v) if v == version.as_str() => Ok(()),
        Some(v) => Err(DepotError::refused(
            format!("{module}@{version}"),
            format!("upstream .info names version {v:?}; refusing to keep it"),
        )),
        None => Err(DepotError::refused(
            format!("{module}@{version}"),
            "upstream .info is not a JSON object with a Version; refusing to keep it",
        )),
    }
}

/// A go.mod taken in for `module@version` (its `.mod`, or the go.mod inside its zip) must be
/// one the go command accepts for that module: it parses, and its module line names exactly
/// the module. Anything else (a login page served with 200, another module's go.mod) would
/// be kept forever and break every build that needs it.
pub(crate) fn check_go_mod(
    data: &[u8],
    module: &ModulePath,
    version: &Version,
    source: &str,
    what: &str,
) -> Result<(), DepotError> {
    godepot_module::check_go_mod_for(module.as_str(), data)
        .map(drop)
        .map_err(|e| {
            DepotError::rejected(
                format!("{module}@{version}: {what} from upstream {source} refused"),
                e,
            )
        })
}

/// A query's `.info` (branch, commit, shorthand) must resolve to some valid version of the
/// module; which one is up to upstream.
pub(crate) fn check_query_info(
    data: &Bytes,
    module: &ModulePath,
    query: &str,
) -> Result<(), DepotError> {
    match info_version(data) {
        Some(v) if Version::for_module(module, &v).is_ok() => Ok(()),
        _ => Err(DepotError::refused(
            format!("{module}@{query}"),
            format!("upstream answer does not name a valid version of {module}"),
        )),
    }
}

/// Checks the name in a zip's first local file header, as soon as enough bytes are in, so a
/// zip of the wrong module is refused with a clear 502 before any byte reaches a client.
/// Returns `None` while more bytes are needed.
pub(crate) fn check_first_entry(head: &[u8], prefix: &str) -> Option<Result<(), String>> {
    const LOCAL_HEADER: &[u8] = b"PK\x03\x04";
    if head.len() < 4 {
        return None;
    }
    if &head[..4] != LOCAL_HEADER {
        // Not a local header (an empty archive, or garbage): the full check at the end decides.
        return Some(Ok(()));
    }
    if head.len() < 30 {
        return None;
    }
    let name_len = u16::from_le_bytes([head[26], head[27]]) as usize;
    let name = head.get(30..30 + name_len)?;
    if name.starts_with(prefix.as_bytes()) {
        Some(Ok(()))
    } else {
        Some(Err(format!(
            "zip entry {:?} is outside {prefix}",
            String::from_utf8_lossy(name)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &str) -> Vec<u8> {
        let mut h = b"PK\x03\x04".to_vec();
        h.resize(26, 0);
        h.extend_from_slice(&(name.len() as u16).to_le_bytes());
        h.extend_from_slice(&[0, 0]);
        h.extend_from_slice(name.as_bytes());
        h
    }

    #[test]
    fn first_entry_prefix() {
        let good = header("example.com/m@v1.0.0/go.mod");
        let bad = header("other.com/m@v1.0.0/go.mod");
        let prefix = "example.com/m@v1.0.0/";
        assert_eq!(check_first_entry(&good, prefix), Some(Ok(())));
        assert!(matches!(check_first_entry(&bad, prefix), Some(Err(m)) if m.contains("other.com")));
        assert_eq!(check_first_entry(&good[..20], prefix), None);
        assert_eq!(check_first_entry(&good[..35], prefix), None);
        assert_eq!(check_first_entry(b"PK\x05\x06rest", prefix), Some(Ok(())));
    }

    #[test]
    fn go_mods_must_name_the_module() {
        let m = ModulePath::parse("example.com/m").unwrap();
        let v = Version::parse("v1.0.0").unwrap();
        let check =
            |data: &str| check_go_mod(data.as_bytes(), &m, &v, "http://u.example/x", ".mod");
        assert!(check("module example.com/m\n\ngo 1.21\n").is_ok());
        let other = check("module example.com/other\n").unwrap_err().to_string();
        assert!(
            other.contains("http://u.example/x") && other.contains("example.com/other"),
            "{other}"
        );
        assert!(check("<!DOCTYPE html>\n<html>Sign in</html>\n").is_err());
        assert!(check("").is_err());
    }

    #[test]
    fn info_must_name_the_version() {
        let m = ModulePath::parse("example.com/m").unwrap();
        let v = Version::parse("v1.0.0").unwrap();
        let ok = Bytes::from_static(
            br#"{"Version":"v1.0.0","Time":"2020-01-01T00:00:00Z","Origin":{"VCS":"git"}}"#,
        );
        assert!(check_info(&ok, &m, &v).is_ok());
        let other = Bytes::from_static(br#"{"Version":"v1.0.1"}"#);
        assert!(check_info(&other, &m, &v).is_err());
        assert!(check_info(&Bytes::from_static(b"<html>"), &m, &v).is_err());
    }
}
