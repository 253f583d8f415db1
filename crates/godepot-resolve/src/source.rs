//! Where go.mod files come from: the [`ModSource`] trait, and the implementations that need
//! nothing but this crate's dependencies.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use godepot_module::{ModulePath, Version};
use godepot_store::{ArtifactKey, Kind, Store};

/// Why a source could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// The module or version does not exist (or, for a store, is not held).
    #[error("{0}")]
    NotFound(String),
    /// The source could not find out (network, disk, bad data).
    #[error("{0}")]
    Failed(String),
}

/// What the resolver reads: go.mod files of module versions, and version lists for
/// `module@latest`. Implemented over the depot (fetching and storing as it goes), over
/// upstream alone (`--dry-run`), over a store alone ([`StoreSource`]) and over a map
/// ([`MemorySource`], for tests).
#[async_trait]
pub trait ModSource: Send + Sync {
    /// The go.mod of `module@version`, byte for byte as a proxy serves its `.mod`.
    async fn go_mod(&self, module: &ModulePath, version: &Version) -> Result<Bytes, SourceError>;

    /// The module's `@v/list`: its tagged versions, in any order.
    async fn versions(&self, module: &ModulePath) -> Result<Vec<Version>, SourceError>;

    /// The proxy's `@latest` answer, asked only when `versions` is empty (as the go command
    /// does). Sources that cannot answer it keep this default.
    async fn latest(&self, module: &ModulePath) -> Result<Version, SourceError> {
        Err(SourceError::NotFound(format!(
            "{module}@latest: no versions listed"
        )))
    }
}

/// go.mod texts held in memory; `versions` lists the non-pseudo versions it holds.
#[derive(Debug, Clone, Default)]
pub struct MemorySource {
    go_mods: BTreeMap<ModulePath, BTreeMap<Version, Bytes>>,
}

impl MemorySource {
    pub fn new() -> Self {
        MemorySource::default()
    }

    /// Adds `module@version` with this go.mod. Panics on an invalid path or version: this
    /// is for tests and fixtures.
    pub fn with(mut self, module: &str, version: &str, go_mod: &str) -> Self {
        let path = ModulePath::parse(module).expect("valid module path");
        let version = Version::parse(version).expect("canonical version");
        self.go_mods
            .entry(path)
            .or_default()
            .insert(version, Bytes::copy_from_slice(go_mod.as_bytes()));
        self
    }
}

#[async_trait]
impl ModSource for MemorySource {
    async fn go_mod(&self, module: &ModulePath, version: &Version) -> Result<Bytes, SourceError> {
        self.go_mods
            .get(module)
            .and_then(|vs| vs.get(version))
            .cloned()
            .ok_or_else(|| SourceError::NotFound(format!("{module}@{version}: not found")))
    }

    async fn versions(&self, module: &ModulePath) -> Result<Vec<Version>, SourceError> {
        let held = self.go_mods.get(module);
        let listed = held.into_iter().flat_map(|vs| vs.keys());
        Ok(listed.filter(|v| !v.is_pseudo()).cloned().collect())
    }
}

/// Reads a store alone: "what do these projects need, from what is held". A version the
/// store does not hold is [`SourceError::NotFound`].
///
/// The store's methods may block; they run on the blocking pool, never on the calling task.
pub struct StoreSource {
    store: Arc<dyn Store>,
}

impl StoreSource {
    pub fn new(store: Arc<dyn Store>) -> Self {
        StoreSource { store }
    }
}

#[async_trait]
impl ModSource for StoreSource {
    async fn go_mod(&self, module: &ModulePath, version: &Version) -> Result<Bytes, SourceError> {
        let key = ArtifactKey::new(module.clone(), version.clone(), Kind::Mod);
        let store = Arc::clone(&self.store);
        match blocking(move || store.read(&key)).await {
            Ok(Some(data)) => Ok(data),
            Ok(None) => Err(SourceError::NotFound(format!(
                "{module}@{version}: go.mod not held in {}",
                self.store.describe()
            ))),
            Err(e) => Err(SourceError::Failed(format!("{module}@{version}: {e}"))),
        }
    }

    async fn versions(&self, module: &ModulePath) -> Result<Vec<Version>, SourceError> {
        let (store, m) = (Arc::clone(&self.store), module.clone());
        blocking(move || store.versions(&m))
            .await
            .map_err(|e| SourceError::Failed(format!("{module}: {e}")))
    }
}

/// Runs a store call on the blocking pool: store methods may block (a disk, a bucket round
/// trip) and must never run on an async worker thread.
async fn blocking<T, F>(f: F) -> Result<T, String>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, godepot_store::StoreError> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(e) => Err(format!("store task failed: {e}")),
    }
}

/// Remembers every go.mod answer (failures included), so that inputs resolved one after
/// another ask the source once per version, and a failure is reported once.
pub(crate) struct Memo<'a, S: ?Sized> {
    source: &'a S,
    go_mods: Mutex<HashMap<(ModulePath, Version), Result<Bytes, SourceError>>>,
}

impl<'a, S: ModSource + ?Sized> Memo<'a, S> {
    pub(crate) fn new(source: &'a S) -> Self {
        Memo {
            source,
            go_mods: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) async fn go_mod(
        &self,
        module: &ModulePath,
        version: &Version,
    ) -> Result<Bytes, SourceError> {
        let key = (module.clone(), version.clone());
        if let Some(answer) = self.lock().get(&key) {
            return answer.clone();
        }
        let answer = self.source.go_mod(module, version).await;
        self.lock().insert(key, answer.clone());
        answer
    }

    pub(crate) fn source(&self) -> &S {
        self.source
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<(ModulePath, Version), Result<Bytes, SourceError>>> {
        // A panic while holding this lock leaves the map consistent: recover it.
        self.go_mods.lock().unwrap_or_else(|e| e.into_inner())
    }
}
