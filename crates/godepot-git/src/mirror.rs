//! One bare mirror per repository under the cache directory, brought up to date
//! incrementally, at most once per TTL however many requests ask (single-flight).
//!
//! The mirror is a real bare git repository (`HEAD`, `packed-refs`, `objects/pack/`), so
//! `git` can inspect it when debugging; but godepot only ever reads and writes it itself.
//! It is derived data: deleting it costs one full fetch, nothing else.
//!
//! Layout: `<cache>/<host>/<path>-<hash>.git/`. Refs are rewritten whole (scratch file and
//! rename) after the objects they name are indexed, so a reader never sees a ref to a
//! missing object, and two processes sharing the cache at worst fetch twice.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gix_hash::ObjectId;
use sha2::Digest;

use crate::error::GitError;
use crate::http::{Http, redact};
use crate::objects::Objects;
use crate::protocol::{RefTip, Remote, RemoteRefs};

/// The mirrors of one fetcher, and their freshness.
pub(crate) struct Mirrors {
    root: PathBuf,
    ttl: Duration,
    max_pack: u64,
    slots: Mutex<HashMap<String, Arc<Slot>>>,
}

/// One repository's state; the async mutex is the single flight.
struct Slot {
    dir: PathBuf,
    state: tokio::sync::Mutex<Fresh>,
}

#[derive(Default)]
struct Fresh {
    refs: Option<RemoteRefs>,
    fetched_at: Option<Instant>,
}

/// A mirror known to be up to date (within the TTL) with the refs it was brought to.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    pub dir: PathBuf,
    pub refs: RemoteRefs,
}

impl Snapshot {
    pub(crate) fn objects(&self) -> Result<Objects, GitError> {
        Objects::open(&self.dir.join("objects"))
    }
}

impl Mirrors {
    pub(crate) fn new(root: PathBuf, ttl: Duration, max_pack: u64) -> Self {
        Mirrors {
            root,
            ttl,
            max_pack,
            slots: Mutex::new(HashMap::new()),
        }
    }

    fn slot(&self, url: &str) -> Arc<Slot> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots
            .entry(url.to_owned())
            .or_insert_with(|| {
                Arc::new(Slot {
                    dir: self.root.join(dir_name(url)),
                    state: tokio::sync::Mutex::new(Fresh::default()),
                })
            })
            .clone()
    }

    /// The mirror of `url`, fetched first unless that happened within the TTL. Callers
    /// arriving during a fetch wait for it instead of starting their own.
    pub(crate) async fn fresh(&self, http: &Http, url: &str) -> Result<Snapshot, GitError> {
        let slot = self.slot(url);
        let mut fresh = slot.state.lock().await;
        if let (Some(refs), Some(at)) = (&fresh.refs, fresh.fetched_at)
            && at.elapsed() < self.ttl
        {
            return Ok(Snapshot {
                dir: slot.dir.clone(),
                refs: refs.clone(),
            });
        }
        // Its own task: a caller that goes away must not cancel a fetch others wait for
        // (nor leave a half-indexed pack behind).
        let task = tokio::spawn(update(
            http.clone(),
            url.to_owned(),
            slot.dir.clone(),
            self.max_pack,
        ));
        let refs = task.await.map_err(|e| GitError::mirror(&slot.dir, e))??;
        fresh.refs = Some(refs.clone());
        fresh.fetched_at = Some(Instant::now());
        Ok(Snapshot {
            dir: slot.dir.clone(),
            refs,
        })
    }
}

/// `<host>/<path>-<8 hex of the URL's hash>.git`: readable, and distinct for URLs that
/// differ only in scheme or in characters the file system would not keep.
fn dir_name(url: &str) -> PathBuf {
    let shown = redact(url);
    let hash = sha2::Sha256::digest(shown.as_bytes());
    let rest = shown.split_once("://").map_or(shown.as_str(), |(_, r)| r);
    let safe: String = rest
        .trim_end_matches('/')
        .trim_end_matches(".git")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-/".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let safe = safe.replace("..", "_");
    let hex: String = hash[..4].iter().map(|b| format!("{b:02x}")).collect();
    PathBuf::from(format!("{}-{hex}.git", safe.trim_matches('/')))
}

/// One fetch: list the remote's refs, fetch what is missing, index it, then publish the
/// new refs.
async fn update(
    http: Http,
    url: String,
    dir: PathBuf,
    max_pack: u64,
) -> Result<RemoteRefs, GitError> {
    init(&dir)?;
    let remote = Remote {
        http: &http,
        url: &url,
    };
    remote.handshake().await?;
    let refs = remote.ls_refs().await?;
    let objects_dir = dir.join("objects");
    let (wants, haves) = {
        let objects = Objects::open(&objects_dir)?;
        let mut wants: Vec<ObjectId> = refs.refs.values().map(|t| t.oid).collect();
        wants.extend(refs.head);
        wants.sort();
        wants.dedup();
        wants.retain(|w| !objects.contains(w));
        let mut haves: Vec<ObjectId> = read_refs(&dir)
            .refs
            .values()
            .map(RefTip::target)
            .filter(|h| objects.contains(h))
            .collect();
        haves.sort();
        haves.dedup();
        haves.truncate(256);
        (wants, haves)
    };
    if !wants.is_empty() {
        let pack_dir = objects_dir.join("pack");
        let scratch = tempfile::Builder::new()
            .prefix("incoming-")
            .suffix(".tmp")
            .tempfile_in(&pack_dir)
            .map_err(|e| GitError::mirror(&pack_dir, e))?
            .into_temp_path();
        remote
            .fetch_pack(&wants, &haves, &scratch, max_pack)
            .await?;
        let scratch_path = scratch.to_path_buf();
        let pack_dir2 = pack_dir.clone();
        let alloc_limit = usize::try_from(max_pack).unwrap_or(usize::MAX);
        tokio::task::spawn_blocking(move || index_pack(&scratch_path, &pack_dir2, alloc_limit))
            .await
            .map_err(|e| GitError::mirror(&pack_dir, e))?
            // A pack that does not index is the server's fault (502), not ours.
            .map_err(|reason| GitError::protocol(&redact(&url), reason))?;
        drop(scratch);
    }
    warn_moved_tags(&url, &read_refs(&dir), &refs);
    write_refs(&dir, &refs)?;
    Ok(refs)
}

/// Tags are meant never to move; when one did upstream, say so with both commits (the
/// depot keeps serving what it already holds for that version).
fn warn_moved_tags(url: &str, old: &RemoteRefs, new: &RemoteRefs) {
    for (name, tip) in &new.refs {
        let Some(tag) = name.strip_prefix("refs/tags/") else {
            continue;
        };
        if let Some(before) = old.refs.get(name)
            && before.target() != tip.target()
        {
            tracing::warn!(
                repository = %redact(url),
                tag,
                was = %before.target(),
                now = %tip.target(),
                "tag moved upstream"
            );
        }
    }
}

/// Creates an empty bare repository at `dir` unless one is there.
fn init(dir: &Path) -> Result<(), GitError> {
    let err = |e: std::io::Error| GitError::mirror(dir, e);
    std::fs::create_dir_all(dir.join("objects/pack")).map_err(err)?;
    std::fs::create_dir_all(dir.join("objects/info")).map_err(err)?;
    std::fs::create_dir_all(dir.join("refs/heads")).map_err(err)?;
    std::fs::create_dir_all(dir.join("refs/tags")).map_err(err)?;
    let config = dir.join("config");
    if !config.exists() {
        write_atomic(
            dir,
            "config",
            b"[core]\n\trepositoryformatversion = 0\n\tbare = true\n",
        )?;
        write_atomic(dir, "HEAD", b"ref: refs/heads/main\n")?;
    }
    Ok(())
}

/// Indexes a received pack into `pack_dir` (`pack-<hash>.pack` and `.idx`). No single
/// allocation may exceed `alloc_limit`: a pack may not claim objects larger than itself
/// is allowed to be.
fn index_pack(pack: &Path, pack_dir: &Path, alloc_limit: usize) -> Result<(), String> {
    let file = std::fs::File::open(pack).map_err(|e| format!("opening the received pack: {e}"))?;
    let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
    let mut progress = gix_utils::progress::Discard;
    let interrupt = AtomicBool::new(false);
    let options = gix_pack::bundle::write::Options {
        thread_limit: Some(1),
        alloc_limit_bytes: Some(alloc_limit),
        ..Default::default()
    };
    gix_pack::Bundle::write_to_directory(
        &mut reader,
        Some(pack_dir),
        &mut progress,
        &interrupt,
        None::<gix_object::find::Never>,
        gix_hash::Kind::Sha1,
        options,
    )
    .map_err(|e| format!("the received pack does not index: {e}"))?;
    Ok(())
}

/// Writes `name` in `dir` whole: scratch file, fsync, rename.
fn write_atomic(dir: &Path, name: &str, data: &[u8]) -> Result<(), GitError> {
    let err = |e: std::io::Error| GitError::mirror(dir, e);
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(err)?;
    tmp.write_all(data).map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(dir.join(name)).map_err(|e| err(e.error))?;
    Ok(())
}

/// Publishes the refs as git's `packed-refs` (peeled) and `HEAD`.
fn write_refs(dir: &Path, refs: &RemoteRefs) -> Result<(), GitError> {
    let mut packed = String::from("# pack-refs with: peeled fully-peeled sorted \n");
    for (name, tip) in &refs.refs {
        packed.push_str(&format!("{} {name}\n", tip.oid));
        if let Some(p) = tip.peeled {
            packed.push_str(&format!("^{p}\n"));
        }
    }
    write_atomic(dir, "packed-refs", packed.as_bytes())?;
    let head = match (&refs.head_target, refs.head) {
        (Some(target), _) if refs.refs.contains_key(target) => format!("ref: {target}\n"),
        (_, Some(oid)) => format!("{oid}\n"),
        _ => "ref: refs/heads/main\n".to_owned(),
    };
    write_atomic(dir, "HEAD", head.as_bytes())
}

/// The refs last published in the mirror (empty when there are none yet).
pub(crate) fn read_refs(dir: &Path) -> RemoteRefs {
    let mut out = RemoteRefs::default();
    let packed = std::fs::read_to_string(dir.join("packed-refs")).unwrap_or_default();
    let mut last: Option<String> = None;
    for line in packed.lines() {
        if line.starts_with('#') {
            continue;
        }
        if let Some(peeled) = line.strip_prefix('^') {
            if let (Some(name), Ok(p)) = (&last, ObjectId::from_hex(peeled.as_bytes()))
                && let Some(tip) = out.refs.get_mut(name)
            {
                tip.peeled = Some(p);
            }
            continue;
        }
        let Some((oid, name)) = line.split_once(' ') else {
            continue;
        };
        let Ok(oid) = ObjectId::from_hex(oid.as_bytes()) else {
            continue;
        };
        out.refs
            .insert(name.to_owned(), RefTip { oid, peeled: None });
        last = Some(name.to_owned());
    }
    let head = std::fs::read_to_string(dir.join("HEAD")).unwrap_or_default();
    let head = head.trim();
    match head.strip_prefix("ref: ") {
        Some(target) => {
            out.head = out.refs.get(target).map(RefTip::target);
            out.head_target = Some(target.to_owned());
        }
        None => out.head = ObjectId::from_hex(head.as_bytes()).ok(),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dir_names_are_safe_and_distinct() {
        let a = dir_name("https://git.corp.example/group/repo.git");
        let b = dir_name("http://git.corp.example/group/repo.git");
        assert!(
            a.to_str()
                .unwrap()
                .starts_with("git.corp.example/group/repo-")
        );
        assert_ne!(a, b);
        let c = dir_name("https://user:pw@git.corp.example/../x");
        assert!(!c.to_str().unwrap().contains(".."));
        assert!(!c.to_str().unwrap().contains("pw"));
    }

    #[test]
    fn a_pack_that_is_not_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let pack = dir.path().join("incoming.tmp");
        std::fs::write(&pack, b"PACK\0\0\0\x02garbage").unwrap();
        let e = index_pack(&pack, dir.path(), 1 << 20).unwrap_err();
        assert!(e.contains("does not index"), "{e}");
    }

    #[test]
    fn refs_round_trip_through_packed_refs() {
        let dir = tempfile::tempdir().unwrap();
        init(dir.path()).unwrap();
        let a = ObjectId::from_hex("1".repeat(40).as_bytes()).unwrap();
        let b = ObjectId::from_hex("2".repeat(40).as_bytes()).unwrap();
        let mut refs = RemoteRefs {
            head: Some(a),
            head_target: Some("refs/heads/main".into()),
            ..RemoteRefs::default()
        };
        refs.refs.insert(
            "refs/heads/main".into(),
            RefTip {
                oid: a,
                peeled: None,
            },
        );
        refs.refs.insert(
            "refs/tags/v1.0.0".into(),
            RefTip {
                oid: b,
                peeled: Some(a),
            },
        );
        write_refs(dir.path(), &refs).unwrap();
        assert_eq!(read_refs(dir.path()), refs);
    }
}
