//! Checksum-database answers arriving in a bundle (`sumdb/<name>/…`): checked for form as
//! they stream by, verified with the database's key when it is known (and then used to check
//! every zip and go.mod of the bundle), and written back under `.godepot/sumdb/<name>/`.
//!
//! Lookup answers and tiles never change, so they are write-once: a held copy that differs
//! is a conflict (a lookup answer counts as the same when its record is, as the tree head
//! it carries depends on when it was fetched). `latest` is replaced only by a larger tree
//! that the key verifies; without the key, a `latest` is kept only where the store holds
//! none and never verified one, so a forged head cannot displace or shadow a genuine one.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};

use godepot_store::{ClosedSpool, Store};
use godepot_sumdb::check::{VERIFIED_TREE, cache_name};
use godepot_sumdb::note::split_note;
use godepot_sumdb::{LookupAnswer, SumdbPath, TreeHead, shape};

use super::publish::{StageError, Staged};
use super::{ImportSummary, Problem};
use crate::check::Facts;
use crate::sumdb::records::Records;
use crate::sumdb::{BUNDLE_PREFIX, SumdbCheck, cache};
use crate::{BundleError, Progress};

/// The database answers of one bundle, by database and path under its root, each in a
/// spool on the store's disk: a bundle may carry tens of thousands of tiles, and none of
/// them is held in memory longer than it takes to check its shape.
#[derive(Debug, Default)]
pub(super) struct Incoming {
    databases: BTreeMap<String, BTreeMap<String, ClosedSpool>>,
    /// The keyed database and the largest tree head verified, once [`Incoming::verify`] ran.
    verified: Option<(String, TreeHead)>,
}

impl Incoming {
    /// Database answers to keep (`supported` markers are not kept).
    pub(super) fn len(&self) -> usize {
        self.databases.values().map(BTreeMap::len).sum()
    }

    /// Reads one `sumdb/…` entry of `size` bytes (which its tar header and the manifest
    /// state; refused before reading when no such answer can be that large), checks its
    /// shape and spools it. Returns its SHA-256; `Ok(Err(reason))` refuses the bundle.
    pub(super) fn add(
        &mut self,
        store: &dyn Store,
        bundle_path: &str,
        size: u64,
        reader: &mut impl Read,
        progress: &dyn Progress,
    ) -> Result<Result<String, String>, StageError> {
        let rest = &bundle_path[BUNDLE_PREFIX.len()..];
        let (name, endpoint) = match SumdbPath::parse(rest) {
            Ok(parsed) => parsed,
            Err(e) => return Ok(Err(e.to_string())),
        };
        let most = shape::max_size(&endpoint);
        if size > most {
            return Ok(Err(format!(
                "{size} bytes, but no checksum database answer of its kind has more than {most}"
            )));
        }
        let mut data = Vec::new();
        reader
            .take(size)
            .read_to_end(&mut data)
            .map_err(StageError::Read)?;
        progress.advance(data.len() as u64);
        if data.len() as u64 != size {
            return Ok(Err(
                "the bundle ends inside this file: it is truncated".into()
            ));
        }
        if let Err(e) = shape::check_shape(&name, &endpoint, &data) {
            return Ok(Err(e.to_string()));
        }
        let sha256 = crate::hashing::sha256_hex(&data);
        // `supported` only serves `GOPROXY=file://` use of the bundle: checked, not kept.
        if endpoint != SumdbPath::Supported {
            let mut spool = store.spool()?;
            spool.file.write_all(&data).map_err(|source| {
                StageError::Store(BundleError::Write {
                    path: spool.path().to_path_buf(),
                    source,
                })
            })?;
            self.databases
                .entry(name)
                .or_default()
                .insert(endpoint.rel(), spool.close());
        }
        Ok(Ok(sha256))
    }

    /// With a key: verifies the answers of the keyed database, then checks every staged zip
    /// and go.mod against its records. `Err` is (file in the bundle, reason).
    pub(super) fn verify(
        &mut self,
        store: &dyn Store,
        check: &SumdbCheck,
        staged: &[Staged],
    ) -> Result<(), (String, String)> {
        let Some(db) = check.keyed() else {
            return Ok(());
        };
        let key = db.key.as_ref().expect("keyed");
        let empty = BTreeMap::new();
        let incoming = self.databases.get(&db.name).unwrap_or(&empty);
        let records = Records::new(store, &db.name, key, incoming);
        let largest = records
            .verify_incoming()
            .map_err(|(rel, why)| (format!("{BUNDLE_PREFIX}{}/{rel}", db.name), why))?;
        for one in staged {
            let (go_mod, h1) = match &one.id.facts {
                Facts::Zip { h1 } => (false, h1),
                Facts::Mod { h1 } => (true, h1),
                _ => continue,
            };
            let key = &one.id.key;
            if !check.covers(key.module.as_str()) {
                continue;
            }
            records
                .check_artifact(&key.module, &key.version, go_mod, h1)
                .map_err(|p| (one.id.rel_path.clone(), p.reason().to_owned()))?;
        }
        self.verified = largest.map(|head| (db.name.clone(), head));
        Ok(())
    }

    /// Writes the answers into the store's cache (before the artifacts they vouch for, so a
    /// server never holds an artifact without its record); records the outcome.
    pub(super) fn publish(
        self,
        store: &dyn Store,
        summary: &mut ImportSummary,
    ) -> Result<(), BundleError> {
        for (name, files) in &self.databases {
            let verified = self.verified.as_ref().filter(|(n, _)| n == name);
            for (rel, spool) in files {
                let data = &fs::read(spool.path()).map_err(BundleError::io(spool.path()))?;
                let held = cache::read(store, name, rel)?;
                let write = match (&held, rel.as_str()) {
                    // Without a key nothing says a tree head is genuine: it is kept only
                    // where no head is held and none was ever verified, so an unverified
                    // head can never displace (or shadow) a verified one.
                    (None, "latest")
                        if verified.is_none()
                            && cache::read(store, name, VERIFIED_TREE)?.is_some() =>
                    {
                        summary.sumdb_left_out += 1;
                        continue;
                    }
                    (None, _) => true,
                    // Only a larger tree the key verified (and found consistent) replaces
                    // the held one.
                    (Some(held), "latest") if verified.is_none() && held != data => {
                        summary.sumdb_left_out += 1;
                        continue;
                    }
                    (Some(held), "latest") => {
                        head_size(data).unwrap_or(0) > head_size(held).unwrap_or(0)
                    }
                    (Some(held), _) if same_answer(rel, held, data) => false,
                    (Some(_), _) => {
                        summary.conflicts.push(Problem {
                            path: format!("{BUNDLE_PREFIX}{name}/{rel}"),
                            reason: "differs from the checksum database answer already held (kept the held one)".into(),
                        });
                        continue;
                    }
                };
                if write {
                    store.put_meta(&cache_name(name, rel), data)?;
                    summary.sumdb_stored += 1;
                } else {
                    summary.sumdb_already_held += 1;
                }
            }
        }
        if let Some((name, head)) = &self.verified {
            remember_verified(store, name, head)?;
        }
        Ok(())
    }
}

/// Keeps the largest tree head now verified, as the depot does, so that later answers
/// must be consistent with it.
fn remember_verified(store: &dyn Store, name: &str, head: &TreeHead) -> Result<(), BundleError> {
    let before = cache::read(store, name, VERIFIED_TREE)?
        .and_then(|b| TreeHead::parse(std::str::from_utf8(&b).ok()?).ok());
    if before.is_none_or(|b| b.size < head.size) {
        store.put_meta(&cache_name(name, VERIFIED_TREE), head.text().as_bytes())?;
    }
    Ok(())
}

/// Whether two copies of one answer say the same: equal bytes, or for lookups the same
/// record under tree heads of different times.
fn same_answer(rel: &str, held: &[u8], new: &[u8]) -> bool {
    if held == new {
        return true;
    }
    if !rel.starts_with("lookup/") {
        return false;
    }
    match (LookupAnswer::parse(held), LookupAnswer::parse(new)) {
        (Ok(a), Ok(b)) => a.id == b.id && a.data == b.data,
        _ => false,
    }
}

fn head_size(note: &[u8]) -> Option<u64> {
    let (text, _) = split_note(note).ok()?;
    TreeHead::parse(text).ok().map(|h| h.size)
}
