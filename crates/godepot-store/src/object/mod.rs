//! The object-storage store: the same `GOPROXY=file://` tree, as the keys of a bucket.
//!
//! ```text
//! <prefix>/<escaped module>/@v/list, <version>.info .mod .zip .ziphash   the tree, as on disk
//! <prefix>/.godepot/…                                                   metadata, quarantine
//! <prefix>/.godepot/tmp/…                                               large uploads in flight
//! ```
//!
//! A bucket synced to disk is a valid `file://` tree, and the reverse.
//!
//! - **Write-once**: every artifact is written with a conditional put (`If-None-Match: *`):
//!   of two replicas racing for one artifact, the second gets [`PutOutcome::AlreadyHeld`]
//!   and the first bytes stay.
//! - **Visible only when complete**: spools are local temporary files. [`Store::put_spool`]
//!   sends a small one as one conditional PUT. A large one (over [`SINGLE_PUT_MAX`]) cannot
//!   be sent as a conditional multipart upload through `object_store`, so it goes as a
//!   multipart upload to a scratch key under `<prefix>/.godepot/tmp/` (never under the
//!   module tree), completed only once every part is sent (aborted on any failure), then
//!   copied to its key with copy-if-not-exists and the scratch key deleted. A process
//!   killed mid-upload leaves an incomplete multipart upload (invisible; a bucket lifecycle
//!   rule should abort incomplete multipart uploads after a day) or a scratch key under
//!   `.godepot/tmp/` (a lifecycle rule on that prefix removes them).
//! - **`@v/list`** is derived from the module's keys, as on disk, and replaced with an
//!   `If-Match` compare-and-swap loop: read the list (and its ETag), then list the keys, then
//!   put if the ETag is unchanged, else start again. Concurrent appends from several
//!   replicas never lose a version.
//! - **Reads** stream: a GET's body comes through a bounded channel from the private runtime
//!   ([`bridge`]), so a large zip is served with bounded memory.
//!
//! Credentials and the endpoint come from the standard environment only (`AWS_ENDPOINT_URL`,
//! `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ALLOW_HTTP`, ...); they
//! never appear in [`Store::describe`], a log or an error.

mod bridge;

use std::collections::BTreeSet;
use std::io::{Read, Seek};
use std::path::{Component, Path as FsPath, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use godepot_module::{ModulePath, Version};
use object_store::path::Path as Key;
use object_store::{
    GetOptions, ObjectStore as Backend, ObjectStoreExt, PutMode, PutOptions, PutPayload,
    UpdateVersion,
};

use crate::format::{self, FORMAT_FILE, Marker};
use crate::key::list_rel_path;
use crate::local::{META_DIR, list};
use crate::store::{
    Artifact, ArtifactBody, MetaTag, MetaVersion, PutOutcome, Spool, Store, StoreObserver,
};
use crate::{ArtifactKey, Kind, ListDrift, StoreError, TreeEntry, TreeFile, classify};

use bridge::Bridge;

/// The largest spool sent as one conditional PUT (read into memory for it); larger ones go
/// through a multipart upload and a copy-if-not-exists.
pub const SINGLE_PUT_MAX: u64 = 16 << 20;

/// The size of each part of a multipart upload (S3's minimum is 5 MiB).
const PART_SIZE: usize = 8 << 20;

/// How many times the `@v/list` compare-and-swap is tried before giving up.
const LIST_CAS_ATTEMPTS: usize = 32;

static SCRATCH_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A `GOPROXY=file://` tree in a bucket.
pub struct ObjectStore {
    backend: Arc<dyn Backend>,
    /// What [`Store::describe`] says: the URL without credentials.
    location: String,
    /// The key prefix of the tree, without a trailing `/` (empty for the bucket's root).
    prefix: String,
    bridge: Bridge,
    scratch: Scratch,
    observer: OnceLock<Arc<dyn StoreObserver>>,
}

impl std::fmt::Debug for ObjectStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectStore")
            .field("location", &self.location)
            .field("scratch", &self.scratch.dir)
            .finish_non_exhaustive()
    }
}

impl ObjectStore {
    /// Opens `s3://bucket/prefix`, with credentials, endpoint and region from the standard
    /// `AWS_*` environment. `scratch` is the local directory spools are made in (the
    /// system's temporary directory when `None`). Nothing is sent to the bucket here: an
    /// unreachable endpoint shows in the first call (and in [`Store::check_writable`]).
    pub fn open_s3(url: &str, scratch: Option<&FsPath>) -> Result<Self, StoreError> {
        Self::open_s3_with_env(url, std::env::vars_os(), scratch)
    }

    /// [`ObjectStore::open_s3`] with the `AWS_*` variables taken from `env` instead of the
    /// process's environment (tests; a caller that scopes credentials).
    pub fn open_s3_with_env<K, V>(
        url: &str,
        env: impl IntoIterator<Item = (K, V)>,
        scratch: Option<&FsPath>,
    ) -> Result<Self, StoreError>
    where
        K: AsRef<std::ffi::OsStr>,
        V: AsRef<std::ffi::OsStr>,
    {
        let invalid = |reason: &str| StoreError::InvalidUrl {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| invalid("not an s3:// URL"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() || bucket.contains(['@', ':', '?', '#']) {
            return Err(invalid(
                "expected s3://bucket/prefix (credentials come from the environment)",
            ));
        }
        let prefix = prefix.trim_matches('/');
        if !prefix.is_empty() && Key::parse(prefix).is_err() {
            return Err(invalid("the prefix is not a valid key prefix"));
        }
        // Object storage over TLS uses the same provider as the rest of godepot.
        let _ = rustls::crypto::ring::default_provider().install_default();
        // Timeouts first: the environment's client settings (`AWS_ALLOW_HTTP`, ...) are
        // applied onto these options, and replacing them later would drop those.
        let mut builder = object_store::aws::AmazonS3Builder::new().with_client_options(
            object_store::ClientOptions::new()
                .with_connect_timeout(Duration::from_secs(5))
                .with_timeout(Duration::from_secs(600)),
        );
        let mut copy_mode_set = false;
        for (key, value) in env {
            let (Some(key), Some(value)) = (key.as_ref().to_str(), value.as_ref().to_str()) else {
                continue;
            };
            if !key.starts_with("AWS_") {
                continue;
            }
            copy_mode_set |= key == "AWS_COPY_IF_NOT_EXISTS";
            if let Ok(config) = key.to_ascii_lowercase().parse() {
                builder = builder.with_config(config, value);
            }
        }
        builder = builder
            .with_bucket_name(bucket)
            .with_conditional_put(object_store::aws::S3ConditionalPut::ETagMatch)
            .with_retry(object_store::RetryConfig {
                max_retries: 3,
                retry_timeout: Duration::from_secs(15),
                ..Default::default()
            });
        // Copy-if-not-exists (for large uploads and the quarantine): S3's own way unless the
        // environment names another (`AWS_COPY_IF_NOT_EXISTS`, for S3-compatible stores).
        if !copy_mode_set {
            builder =
                builder.with_copy_if_not_exists(object_store::aws::S3CopyIfNotExists::Multipart);
        }
        let s3 = builder.build().map_err(|e| StoreError::InvalidUrl {
            url: url.to_string(),
            reason: e.to_string(),
        })?;
        let location = match prefix {
            "" => format!("s3://{bucket}"),
            p => format!("s3://{bucket}/{p}"),
        };
        Self::with_backend(Arc::new(s3), location, prefix, scratch)
    }

    /// A store on any `object_store` backend (an in-memory one, in tests): `location` is what
    /// [`Store::describe`] says, `prefix` the key prefix of the tree.
    pub fn with_backend(
        backend: Arc<dyn Backend>,
        location: String,
        prefix: &str,
        scratch: Option<&FsPath>,
    ) -> Result<Self, StoreError> {
        let bridge = Bridge::new().map_err(StoreError::io("the object store's runtime"))?;
        Ok(ObjectStore {
            backend,
            location,
            prefix: prefix.trim_matches('/').to_string(),
            bridge,
            scratch: Scratch::new(scratch)?,
            observer: OnceLock::new(),
        })
    }

    /// The tree's format marker (`.godepot/format`, one GET), refusing a newer format as a
    /// data directory's is refused ([`crate::format`]). Without a marker, one LIST proves
    /// the bucket is there: S3 answers a GET in a missing bucket as it answers a missing key.
    pub fn check_format(&self) -> Result<Marker, StoreError> {
        let rel = format!("{META_DIR}/{FORMAT_FILE}");
        if let Some((data, _)) = self.get_bytes(&rel)? {
            return format::parse(&String::from_utf8_lossy(&data), self.url_of(&rel).into());
        }
        let backend = Arc::clone(&self.backend);
        let prefix = match self.prefix.as_str() {
            "" => None,
            p => Some(Key::parse(p).map_err(|_| StoreError::InvalidPath(p.to_string()))?),
        };
        let listed = self
            .bridge
            .run(async move { backend.list_with_delimiter(prefix.as_ref()).await });
        match listed {
            Ok(Ok(_)) => Ok(Marker::Absent),
            Ok(Err(e)) if e.to_string().contains("NoSuchBucket") => Err(StoreError::NoSuchBucket {
                location: self.location.clone(),
            }),
            Ok(Err(e)) => Err(self.error("", e)),
            Err(e) => Err(StoreError::Unavailable {
                location: self.location.clone(),
                message: e.to_string(),
            }),
        }
    }

    /// [`ObjectStore::check_format`], then marks an unmarked tree as [`format::CURRENT`]
    /// with a conditional put: of two first writers, one marker stays, and is checked.
    /// Called by the commands that write the tree, before they write anything.
    pub fn mark_format(&self) -> Result<(), StoreError> {
        if self.check_format()? != Marker::Absent {
            return Ok(());
        }
        let rel = format!("{META_DIR}/{FORMAT_FILE}");
        let marker = Bytes::from(format!("{}\n", format::CURRENT));
        if self.put_new(&rel, marker)? == PutOutcome::AlreadyHeld {
            self.check_format()?;
        }
        Ok(())
    }

    /// The key of a path relative to the tree's root.
    fn key(&self, rel: &str) -> Result<Key, StoreError> {
        let full = match self.prefix.as_str() {
            "" => rel.to_string(),
            p => format!("{p}/{rel}"),
        };
        Key::parse(&full).map_err(|_| StoreError::InvalidPath(rel.to_string()))
    }

    fn meta_key(&self, name: &str) -> Result<Key, StoreError> {
        if !plain(name) {
            return Err(StoreError::InvalidMetaName(name.to_string()));
        }
        self.key(&format!("{META_DIR}/{name}"))
    }

    /// The path of a key relative to the tree's root (`None` outside the prefix).
    fn rel_of(&self, key: &Key) -> Option<String> {
        let key = key.as_ref();
        match self.prefix.as_str() {
            "" => Some(key.to_string()),
            p => key
                .strip_prefix(p)
                .and_then(|r| r.strip_prefix('/'))
                .map(str::to_string),
        }
    }

    /// A readable name of `rel` for errors: the URL of the object, without credentials.
    fn url_of(&self, rel: &str) -> String {
        format!("{}/{rel}", self.location)
    }

    fn error(&self, rel: &str, e: object_store::Error) -> StoreError {
        backend_error(self.url_of(rel), &e)
    }

    /// Runs a backend call on the private runtime.
    fn run<T, F>(&self, rel: &str, future: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: std::future::Future<Output = Result<T, object_store::Error>> + Send + 'static,
    {
        match self.bridge.run(future) {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(self.error(rel, e)),
            Err(e) => Err(StoreError::Unavailable {
                location: self.url_of(rel),
                message: e.to_string(),
            }),
        }
    }

    fn get_bytes(&self, rel: &str) -> Result<Option<(Bytes, Option<String>)>, StoreError> {
        let (backend, key) = (Arc::clone(&self.backend), self.key(rel)?);
        let got = self.run(rel, async move {
            match backend.get(&key).await {
                Ok(result) => {
                    let e_tag = result.meta.e_tag.clone();
                    Ok(Some((result.bytes().await?, e_tag)))
                }
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        })?;
        Ok(got)
    }

    fn open_rel(&self, rel: &str) -> Result<Option<Artifact>, StoreError> {
        let (backend, key) = (Arc::clone(&self.backend), self.key(rel)?);
        let got = self.run(rel, async move {
            match backend.get_opts(&key, GetOptions::default()).await {
                Ok(result) => Ok(Some(result)),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        })?;
        Ok(got.map(|result| {
            let len = result.meta.size;
            let modified = SystemTime::from(result.meta.last_modified);
            Artifact {
                len,
                modified,
                body: ArtifactBody::Chunks(self.bridge.chunks(result.into_stream(), len)),
            }
        }))
    }

    /// Puts `data` at `rel` unless something is there.
    fn put_new(&self, rel: &str, data: Bytes) -> Result<PutOutcome, StoreError> {
        let (backend, key) = (Arc::clone(&self.backend), self.key(rel)?);
        self.run(rel, async move {
            let options = PutOptions::from(PutMode::Create);
            match backend
                .put_opts(&key, PutPayload::from(data), options)
                .await
            {
                Ok(_) => Ok(PutOutcome::Stored),
                Err(object_store::Error::AlreadyExists { .. }) => Ok(PutOutcome::AlreadyHeld),
                // Some stores answer a lost If-None-Match race with 412.
                Err(object_store::Error::Precondition { .. }) => Ok(PutOutcome::AlreadyHeld),
                Err(e) => Err(e),
            }
        })
    }

    /// Sends a large spool: a multipart upload to a scratch key, completed only once every
    /// part is sent, then copied to `rel` unless something is there; the scratch key is
    /// deleted either way.
    fn put_large(&self, rel: &str, file: std::fs::File) -> Result<PutOutcome, StoreError> {
        let scratch_rel = format!(
            "{META_DIR}/tmp/upload-{}-{}-{}",
            std::process::id(),
            SCRATCH_COUNTER.fetch_add(1, Ordering::Relaxed),
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        );
        let scratch = self.key(&scratch_rel)?;
        let dest = self.key(rel)?;
        let backend = Arc::clone(&self.backend);
        let mut parts = Parts { file: Some(file) };
        self.run(rel, async move {
            let mut upload = backend.put_multipart(&scratch).await?;
            let sent: Result<(), object_store::Error> = async {
                while let Some(part) = parts.next_part().await? {
                    upload.put_part(PutPayload::from(part)).await?;
                }
                upload.complete().await?;
                Ok(())
            }
            .await;
            if let Err(e) = sent {
                let _ = upload.abort().await;
                return Err(e);
            }
            let copied = backend.copy_if_not_exists(&scratch, &dest).await;
            let _ = backend.delete(&scratch).await;
            match copied {
                Ok(()) => Ok(PutOutcome::Stored),
                Err(object_store::Error::AlreadyExists { .. })
                | Err(object_store::Error::Precondition { .. }) => Ok(PutOutcome::AlreadyHeld),
                Err(e) => Err(e),
            }
        })
    }

    /// The names of the files in a module's `@v/` "directory".
    fn version_names(&self, module: &ModulePath) -> Result<Vec<String>, StoreError> {
        let rel = format!("{}/@v", module.escaped());
        let (backend, key) = (Arc::clone(&self.backend), self.key(&rel)?);
        let listed = self.run(&rel, async move {
            backend.list_with_delimiter(Some(&key)).await
        })?;
        Ok(listed
            .objects
            .into_iter()
            .filter_map(|o| o.location.filename().map(str::to_string))
            .collect())
    }

    /// Every object under `rel_dir` (recursively), as (path relative to the tree, meta).
    fn list_all(&self, rel_dir: &str) -> Result<Vec<(String, u64, SystemTime)>, StoreError> {
        let backend = Arc::clone(&self.backend);
        let key = if rel_dir.is_empty() {
            match self.prefix.as_str() {
                "" => None,
                p => Some(Key::parse(p).map_err(|_| StoreError::InvalidPath(p.to_string()))?),
            }
        } else {
            Some(self.key(rel_dir)?)
        };
        let listed: Vec<object_store::ObjectMeta> = self.run(rel_dir, async move {
            backend.list(key.as_ref()).try_collect().await
        })?;
        Ok(listed
            .into_iter()
            .filter_map(|meta| {
                let rel = self.rel_of(&meta.location)?;
                Some((rel, meta.size, SystemTime::from(meta.last_modified)))
            })
            .collect())
    }

    /// Puts `data` at `key` under `mode` (`If-None-Match: *` or `If-Match`): false when
    /// the condition failed (another writer got there first), for a compare-and-swap.
    fn put_conditional(
        &self,
        rel: &str,
        key: Key,
        data: Bytes,
        mode: PutMode,
    ) -> Result<bool, StoreError> {
        let backend = Arc::clone(&self.backend);
        self.run(rel, async move {
            match backend
                .put_opts(&key, PutPayload::from(data), mode.into())
                .await
            {
                Ok(_) => Ok(true),
                Err(object_store::Error::Precondition { .. })
                | Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
                Err(e) => Err(e),
            }
        })
    }

    fn sync_list(&self, module: &ModulePath, write: bool) -> Result<ListDrift, StoreError> {
        let rel = list_rel_path(module);
        for _ in 0..LIST_CAS_ATTEMPTS {
            // The list first, then the keys: a version stored after the keys were listed is
            // added by its own writer, whose put then finds our ETag changed, or after ours.
            let current = self.get_bytes(&rel)?;
            let want = list::listable(&list::held_from_names(module, self.version_names(module)?));
            let (text, drift) = list::reconcile(
                &list::parse_list(current.as_ref().map(|(d, _)| &d[..]).unwrap_or_default()),
                &want,
            );
            if !write || drift.is_empty() {
                return Ok(drift);
            }
            let mode = match current {
                Some((_, e_tag)) => PutMode::Update(UpdateVersion {
                    e_tag,
                    version: None,
                }),
                None => PutMode::Create,
            };
            if self.put_conditional(&rel, self.key(&rel)?, Bytes::from(text), mode)? {
                return Ok(drift);
            }
        }
        Err(StoreError::Object {
            location: self.url_of(&rel),
            message: format!("the list kept changing under {LIST_CAS_ATTEMPTS} attempts"),
        })
    }

    fn after_put(&self, key: &ArtifactKey, outcome: PutOutcome) -> Result<PutOutcome, StoreError> {
        if outcome == PutOutcome::Stored && key.kind != Kind::ZipHash {
            self.sync_list(&key.module, true)?;
        }
        if outcome == PutOutcome::Stored
            && let Some(observer) = self.observer.get()
        {
            observer.version_changed(self, &key.module, &key.version);
        }
        Ok(outcome)
    }
}

/// A local file read in parts for a multipart upload, on a blocking thread as the upload asks
/// for each (one part in memory at a time).
struct Parts {
    file: Option<std::fs::File>,
}

impl Parts {
    async fn next_part(&mut self) -> Result<Option<Bytes>, object_store::Error> {
        let Some(mut file) = self.file.take() else {
            return Ok(None);
        };
        let (file, part) = tokio::task::spawn_blocking(move || {
            let mut buf = Vec::with_capacity(PART_SIZE);
            (&mut file).take(PART_SIZE as u64).read_to_end(&mut buf)?;
            Ok::<_, std::io::Error>((file, buf))
        })
        .await
        .map_err(|e| object_store::Error::Generic {
            store: "spool",
            source: Box::new(e),
        })?
        .map_err(|e| object_store::Error::Generic {
            store: "spool",
            source: Box::new(e),
        })?;
        if part.is_empty() {
            return Ok(None);
        }
        if part.len() == PART_SIZE {
            self.file = Some(file);
        }
        Ok(Some(Bytes::from(part)))
    }
}

impl Store for ObjectStore {
    fn open(&self, key: &ArtifactKey) -> Result<Option<Artifact>, StoreError> {
        self.open_rel(&key.rel_path())
    }

    fn read(&self, key: &ArtifactKey) -> Result<Option<Bytes>, StoreError> {
        Ok(self.get_bytes(&key.rel_path())?.map(|(data, _)| data))
    }

    fn contains(&self, key: &ArtifactKey) -> Result<bool, StoreError> {
        let rel = key.rel_path();
        let (backend, object) = (Arc::clone(&self.backend), self.key(&rel)?);
        self.run(&rel, async move {
            match backend.head(&object).await {
                Ok(_) => Ok(true),
                Err(object_store::Error::NotFound { .. }) => Ok(false),
                Err(e) => Err(e),
            }
        })
    }

    fn put(&self, key: &ArtifactKey, data: &[u8]) -> Result<PutOutcome, StoreError> {
        let outcome = self.put_new(&key.rel_path(), Bytes::copy_from_slice(data))?;
        self.after_put(key, outcome)
    }

    fn spool(&self) -> Result<Spool, StoreError> {
        let (path, file) = crate::atomic::temp_file(&self.scratch.dir)
            .map_err(StoreError::io(&self.scratch.dir))?;
        Ok(Spool {
            path,
            file,
            committed: false,
        })
    }

    fn put_spool(&self, key: &ArtifactKey, spool: Spool) -> Result<PutOutcome, StoreError> {
        let rel = key.rel_path();
        let mut file = spool
            .file
            .try_clone()
            .map_err(StoreError::io(&spool.path))?;
        let len = file.metadata().map_err(StoreError::io(&spool.path))?.len();
        file.rewind().map_err(StoreError::io(&spool.path))?;
        let outcome = if len <= SINGLE_PUT_MAX {
            let mut data = Vec::with_capacity(len as usize);
            file.read_to_end(&mut data)
                .map_err(StoreError::io(&spool.path))?;
            self.put_new(&rel, Bytes::from(data))?
        } else {
            self.put_large(&rel, file)?
        };
        // The spool (a local file) is removed when dropped, whatever happened.
        drop(spool);
        self.after_put(key, outcome)
    }

    fn versions(&self, module: &ModulePath) -> Result<Vec<Version>, StoreError> {
        Ok(list::listable(&list::held_from_names(
            module,
            self.version_names(module)?,
        )))
    }

    fn get_meta(&self, name: &str) -> Result<Option<Bytes>, StoreError> {
        self.meta_key(name)?;
        Ok(self
            .get_bytes(&format!("{META_DIR}/{name}"))?
            .map(|(data, _)| data))
    }

    fn put_meta(&self, name: &str, data: &[u8]) -> Result<(), StoreError> {
        let rel = format!("{META_DIR}/{name}");
        let (backend, key) = (Arc::clone(&self.backend), self.meta_key(name)?);
        let data = Bytes::copy_from_slice(data);
        self.run(&rel, async move {
            backend.put(&key, PutPayload::from(data)).await.map(|_| ())
        })
    }

    fn get_meta_versioned(&self, name: &str) -> Result<Option<(Bytes, MetaVersion)>, StoreError> {
        self.meta_key(name)?;
        let got = self.get_bytes(&format!("{META_DIR}/{name}"))?;
        got.map(|(data, e_tag)| match e_tag {
            Some(e_tag) => Ok((data, MetaVersion(MetaTag::ETag(e_tag)))),
            // Without an ETag no conditional put is possible: refused rather than racy.
            None => Err(StoreError::Object {
                location: self.url_of(&format!("{META_DIR}/{name}")),
                message: "the object store gave no ETag".into(),
            }),
        })
        .transpose()
    }

    /// `If-Match` on the ETag read, or `If-None-Match: *` for a file that must not exist yet,
    /// as the `@v/list` compare-and-swap does.
    fn put_meta_if(
        &self,
        name: &str,
        data: &[u8],
        expected: Option<&MetaVersion>,
    ) -> Result<bool, StoreError> {
        let rel = format!("{META_DIR}/{name}");
        let key = self.meta_key(name)?;
        let mode = match expected.map(|v| &v.0) {
            None => PutMode::Create,
            Some(MetaTag::ETag(e_tag)) => PutMode::Update(UpdateVersion {
                e_tag: Some(e_tag.clone()),
                version: None,
            }),
            // A version read from another backend can never match.
            Some(MetaTag::Content(_)) => return Ok(false),
        };
        self.put_conditional(&rel, key, Bytes::copy_from_slice(data), mode)
    }

    fn check_writable(&self) -> Result<(), StoreError> {
        let rel = format!(
            "{META_DIR}/tmp/writable-{}-{}",
            std::process::id(),
            SCRATCH_COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let (backend, key) = (Arc::clone(&self.backend), self.key(&rel)?);
        self.run(&rel, async move {
            backend.put(&key, PutPayload::from_static(b"ok")).await?;
            backend.delete(&key).await
        })
    }

    fn describe(&self) -> String {
        self.location.clone()
    }

    /// Lists the whole tree (one LIST walk).
    fn modules(&self) -> Result<Vec<ModulePath>, StoreError> {
        let mut modules = BTreeSet::new();
        for (rel, _, _) in self.list_all("")? {
            if rel.starts_with(&format!("{META_DIR}/")) {
                continue;
            }
            if let Some((module, _)) = rel.rsplit_once("/@v/")
                && let Ok(module) = ModulePath::from_escaped(module)
            {
                modules.insert(module);
            }
        }
        Ok(modules.into_iter().collect())
    }

    fn list_meta(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let prefix = prefix.trim_end_matches('/');
        self.meta_key(prefix)?;
        let dir = format!("{META_DIR}/{prefix}");
        let mut names: Vec<String> = self
            .list_all(&dir)?
            .into_iter()
            .filter_map(|(rel, _, _)| {
                rel.strip_prefix(&format!("{META_DIR}/"))
                    .map(str::to_string)
            })
            .collect();
        names.sort();
        Ok(names)
    }

    fn walk(&self) -> Result<Vec<TreeEntry>, StoreError> {
        let mut out: Vec<TreeEntry> = self
            .list_all("")?
            .into_iter()
            .filter(|(rel, _, _)| rel != META_DIR && !rel.starts_with(&format!("{META_DIR}/")))
            .map(|(rel_path, size, modified)| TreeEntry {
                file: classify(&rel_path),
                rel_path,
                size,
                modified,
            })
            .collect();
        out.sort_by(|a, b| a.rel_path.as_bytes().cmp(b.rel_path.as_bytes()));
        Ok(out)
    }

    fn open_file(&self, rel_path: &str) -> Result<Option<Artifact>, StoreError> {
        if !plain(rel_path) || rel_path.starts_with(META_DIR) {
            return Err(StoreError::InvalidPath(rel_path.to_string()));
        }
        self.open_rel(rel_path)
    }

    fn reconcile_list(&self, module: &ModulePath) -> Result<ListDrift, StoreError> {
        self.sync_list(module, true)
    }

    fn list_drift(&self, module: &ModulePath) -> Result<ListDrift, StoreError> {
        self.sync_list(module, false)
    }

    /// A copy-if-not-exists to the quarantine, then the delete of the original: a crash in
    /// between leaves the file in both places (still served), and a second attempt is
    /// refused, as on disk, rather than replacing the quarantined copy.
    fn quarantine(&self, rel_path: &str, batch: &str) -> Result<(), StoreError> {
        if !plain(rel_path) || !plain(batch) || rel_path.starts_with(META_DIR) {
            return Err(StoreError::InvalidMetaName(format!("{batch}/{rel_path}")));
        }
        let src = self.key(rel_path)?;
        let dest_rel = format!("{META_DIR}/quarantine/{batch}/{rel_path}");
        let dest = self.key(&dest_rel)?;
        let backend = Arc::clone(&self.backend);
        self.run(rel_path, async move {
            backend.copy_if_not_exists(&src, &dest).await?;
            backend.delete(&src).await
        })?;
        if let TreeFile::Artifact(key) = classify(rel_path)
            && let Some(observer) = self.observer.get()
        {
            observer.version_changed(self, &key.module, &key.version);
        }
        Ok(())
    }

    fn quarantine_location(&self, batch: &str) -> String {
        self.url_of(&format!("{META_DIR}/quarantine/{batch}"))
    }

    fn purge_quarantine(&self, batch: &str) -> Result<(), StoreError> {
        if !plain(batch) {
            return Err(StoreError::InvalidMetaName(format!("quarantine/{batch}")));
        }
        let dir = format!("{META_DIR}/quarantine/{batch}");
        let keys = self
            .list_all(&dir)?
            .into_iter()
            .map(|(rel, _, _)| self.key(&rel))
            .collect::<Result<Vec<Key>, _>>()?;
        let backend = Arc::clone(&self.backend);
        self.run(&dir, async move {
            let locations = futures_util::stream::iter(keys.into_iter().map(Ok)).boxed();
            let mut deleted = backend.delete_stream(locations);
            while let Some(result) = deleted.next().await {
                match result {
                    Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        })
    }

    fn scratch_dir(&self) -> &FsPath {
        &self.scratch.dir
    }

    fn local_root(&self) -> Option<&FsPath> {
        None
    }

    fn observe(&self, observer: Arc<dyn StoreObserver>) -> Result<(), Arc<dyn StoreObserver>> {
        self.observer.set(observer)
    }
}

/// A store error from a backend error: `Unavailable` when the bucket could not be reached
/// (a connection, a timeout, a 5xx), else `Object`. The message is the backend's, which names
/// the key and the HTTP status, never a credential (requests are signed in headers).
fn backend_error(location: String, e: &object_store::Error) -> StoreError {
    let message = e.to_string();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut unavailable = false;
    while let Some(err) = source {
        if err
            .downcast_ref::<object_store::client::HttpError>()
            .is_some()
        {
            unavailable = true;
        }
        source = err.source();
    }
    // The status of a failed request is only in its message.
    if message.contains("status code: 5") || message.contains("error response: 5") {
        unavailable = true;
    }
    if unavailable {
        StoreError::Unavailable { location, message }
    } else {
        StoreError::Object { location, message }
    }
}

/// A relative path of plain names only (no `..`, no root, not empty).
fn plain(s: &str) -> bool {
    !s.is_empty()
        && FsPath::new(s)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

/// This process's local scratch directory for spools, removed (with what is left in it) when
/// the store is dropped.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new(parent: Option<&FsPath>) -> Result<Self, StoreError> {
        let parent = parent.map_or_else(std::env::temp_dir, FsPath::to_path_buf);
        loop {
            let dir = parent.join(format!(
                "godepot-spool-{}-{}",
                std::process::id(),
                SCRATCH_COUNTER.fetch_add(1, Ordering::Relaxed)
            ));
            match std::fs::create_dir_all(&parent).and_then(|()| std::fs::create_dir(&dir)) {
                Ok(()) => return Ok(Scratch { dir }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(StoreError::io(&dir)(e)),
            }
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests;
