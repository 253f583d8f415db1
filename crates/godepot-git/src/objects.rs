//! Reading a mirror's object database: commits, files at a revision, trees, ancestry.
//!
//! Synchronous (gitoxide's object database is), so callers run these on the blocking pool.
//! Every blob is size-checked from its header before it is inflated, so a hostile
//! repository cannot make us hold more than the limit in memory.

use std::collections::HashSet;
use std::path::Path;

use gix_hash::{ObjectId, oid};
use gix_object::tree::EntryKind;
use gix_object::{Exists, FindExt, FindHeader, Kind};

use crate::error::GitError;

/// One opened object database (cheap to open; indices load lazily and are memory-mapped).
pub(crate) struct Objects {
    odb: gix_odb::Handle,
    dir: std::path::PathBuf,
}

/// What the go command needs to know of a commit (`git log --format=%H %ct`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CommitInfo {
    pub id: ObjectId,
    /// Committer time, seconds since the Unix epoch.
    pub time: i64,
}

/// A file in a tree walk.
#[derive(Debug, Clone)]
pub(crate) struct TreeFile {
    /// Slash-separated, relative to the walked directory.
    pub path: String,
    pub kind: EntryKind,
    pub oid: ObjectId,
    pub size: u64,
}

impl Objects {
    pub(crate) fn open(objects_dir: &Path) -> Result<Self, GitError> {
        let odb = gix_odb::at(objects_dir, gix_hash::Kind::Sha1)
            .map_err(|e| GitError::mirror(objects_dir, e))?;
        Ok(Objects {
            odb,
            dir: objects_dir.to_owned(),
        })
    }

    fn err(&self, e: impl std::fmt::Display) -> GitError {
        GitError::mirror(&self.dir, e)
    }

    pub(crate) fn contains(&self, id: &oid) -> bool {
        self.odb.exists(id)
    }

    /// Follows tag objects to what they finally name.
    fn peel(&self, mut id: ObjectId) -> Result<(ObjectId, Kind), GitError> {
        let mut buf = Vec::new();
        for _ in 0..16 {
            let header = self.odb.try_header(&id).map_err(|e| self.err(e))?;
            let Some(header) = header else {
                return Err(self.err(format!("object {id} is missing")));
            };
            if header.kind != Kind::Tag {
                return Ok((id, header.kind));
            }
            id = self
                .odb
                .find_tag(&id, &mut buf)
                .map_err(|e| self.err(e))?
                .target();
        }
        Err(self.err(format!("tag chain too long at {id}")))
    }

    /// The commit `id` names (through tags), if it names one.
    pub(crate) fn commit(&self, id: ObjectId) -> Result<Option<CommitInfo>, GitError> {
        if !self.odb.exists(&id) {
            return Ok(None);
        }
        let (id, kind) = self.peel(id)?;
        if kind != Kind::Commit {
            return Ok(None);
        }
        let mut buf = Vec::new();
        let commit = self
            .odb
            .find_commit(&id, &mut buf)
            .map_err(|e| self.err(e))?;
        let time = commit.time().map_err(|e| self.err(e))?.seconds;
        Ok(Some(CommitInfo { id, time }))
    }

    /// The commit whose full hash starts with `hex` (7 to 40 hex digits), if exactly one
    /// object has that prefix and it is (or peels to) a commit.
    pub(crate) fn commit_by_prefix(&self, hex: &str) -> Result<Option<CommitInfo>, GitError> {
        let Ok(prefix) = gix_hash::Prefix::from_hex(hex) else {
            return Ok(None);
        };
        match self
            .odb
            .lookup_prefix(prefix, None)
            .map_err(|e| self.err(e))?
        {
            Some(Ok(id)) => self.commit(id),
            Some(Err(())) => Err(GitError::not_found(format!("ambiguous revision {hex}"))),
            None => Ok(None),
        }
    }

    fn tree_of(&self, commit: &oid) -> Result<ObjectId, GitError> {
        let mut buf = Vec::new();
        Ok(self
            .odb
            .find_commit(commit, &mut buf)
            .map_err(|e| self.err(e))?
            .tree())
    }

    /// The entry at `path` (slash-separated) in the commit's tree.
    fn entry(&self, commit: &oid, path: &str) -> Result<Option<(EntryKind, ObjectId)>, GitError> {
        let mut current = (EntryKind::Tree, self.tree_of(commit)?);
        let mut buf = Vec::new();
        for name in path.split('/').filter(|s| !s.is_empty()) {
            if current.0 != EntryKind::Tree {
                return Ok(None);
            }
            let tree = self
                .odb
                .find_tree(&current.1, &mut buf)
                .map_err(|e| self.err(e))?;
            let Some(e) = tree.entries.iter().find(|e| e.filename == name.as_bytes()) else {
                return Ok(None);
            };
            current = (e.mode.kind(), e.oid.to_owned());
        }
        Ok(Some(current))
    }

    /// The contents of the file at `path` in `commit` (`git cat-file blob rev:path`: a
    /// symbolic link reads as its target text), `None` if there is no such file.
    pub(crate) fn read_file(
        &self,
        commit: &oid,
        path: &str,
        limit: u64,
    ) -> Result<Option<Vec<u8>>, GitError> {
        match self.entry(commit, path)? {
            Some((EntryKind::Blob | EntryKind::BlobExecutable | EntryKind::Link, id)) => {
                self.blob(&id, limit, path).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// A blob's bytes, refused before inflating if it is larger than `limit`.
    pub(crate) fn blob(&self, id: &oid, limit: u64, what: &str) -> Result<Vec<u8>, GitError> {
        let size = self.size(id)?;
        if size > limit {
            return Err(GitError::TooLarge {
                what: what.to_owned(),
                reason: format!("{size} bytes; the limit is {limit} bytes"),
            });
        }
        let mut buf = Vec::new();
        let data = self.odb.find_blob(id, &mut buf).map_err(|e| self.err(e))?;
        Ok(data.data.to_vec())
    }

    fn size(&self, id: &oid) -> Result<u64, GitError> {
        match self.odb.try_header(id).map_err(|e| self.err(e))? {
            Some(h) => Ok(h.size),
            None => Err(self.err(format!("object {id} is missing"))),
        }
    }

    /// Every file below `dir` (`""` for the root) in `commit`, with its size, in tree
    /// order. Submodule entries are skipped, as `git archive` leaves them empty.
    pub(crate) fn walk(&self, commit: &oid, dir: &str) -> Result<Vec<TreeFile>, GitError> {
        let root = if dir.is_empty() {
            Some((EntryKind::Tree, self.tree_of(commit)?))
        } else {
            self.entry(commit, dir)?
        };
        let mut out = Vec::new();
        let Some((EntryKind::Tree, root)) = root else {
            return Ok(out);
        };
        let mut stack = vec![(String::new(), root)];
        let mut buf = Vec::new();
        while let Some((prefix, tree_id)) = stack.pop() {
            let tree = self
                .odb
                .find_tree(&tree_id, &mut buf)
                .map_err(|e| self.err(e))?;
            let mut subtrees = Vec::new();
            for e in &tree.entries {
                let name = String::from_utf8_lossy(e.filename);
                let path = format!("{prefix}{name}");
                match e.mode.kind() {
                    EntryKind::Tree => subtrees.push((format!("{path}/"), e.oid.to_owned())),
                    EntryKind::Commit => {}
                    kind => out.push(TreeFile {
                        path,
                        kind,
                        oid: e.oid.to_owned(),
                        size: 0,
                    }),
                }
            }
            stack.extend(subtrees.into_iter().rev());
        }
        for f in &mut out {
            f.size = self.size(&f.oid)?;
        }
        Ok(out)
    }

    /// Every commit reachable from `start` (itself included).
    pub(crate) fn ancestors(&self, start: ObjectId) -> Result<HashSet<ObjectId>, GitError> {
        let mut seen = HashSet::new();
        let mut todo = vec![start];
        let mut buf = Vec::new();
        while let Some(id) = todo.pop() {
            if !seen.insert(id) {
                continue;
            }
            let commit = self
                .odb
                .find_commit(&id, &mut buf)
                .map_err(|e| self.err(e))?;
            todo.extend(commit.parents());
        }
        Ok(seen)
    }
}
