//! Importing a bundle: all or nothing. Every file is streamed into the store's scratch
//! space and checked against the manifest (and its own rules, and go.sum files) before any
//! is published, so a damaged bundle leaves the store exactly as it was.

use std::collections::{BTreeSet, HashMap};
use std::io::{self, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};

use godepot_module::{ModulePath, Version};
use godepot_store::{Kind, Store, TreeFile, classify};

use super::publish::{
    Copied, StageError, Staged, copy_to_spool, publish_all, publish_rank, repair_lists,
};
use super::sumdb::Incoming;
use super::{ImportOptions, ImportSummary};
use crate::check::{Facts, MAX_LIST, check_expected, check_ziphash, inspect, max_size};
use crate::hashing::hash_reader;
use crate::manifest::{bad_bundle, entries_after_manifest, open_bundle, unreadable};
use crate::sumdb::BUNDLE_PREFIX;
use crate::{BundleError, Progress};

pub(super) fn import_bundle(
    store: &dyn Store,
    path: &Path,
    options: &ImportOptions,
    progress: &dyn Progress,
) -> Result<ImportSummary, BundleError> {
    let bad = |file: &str, reason: String| bad_bundle(path, file, reason);
    let mut archive = open_bundle(path)?;
    let (mut entries, manifest) = entries_after_manifest(path, &mut archive)?;

    // Checked on the manifest, before anything is read: entries must match it.
    let mut blocked: Vec<super::Problem> = Vec::new();
    for record in &manifest.files {
        if let TreeFile::Artifact(key) = classify(&record.path)
            && let Some(problem) = options.blocked(&key)
            && !blocked.iter().any(|b| b.path == problem.path)
        {
            blocked.push(problem);
        }
    }
    if !blocked.is_empty() && !options.skip_blocked {
        return Err(BundleError::Blocked {
            bundle: path.to_path_buf(),
            blocked: blocked.into_iter().map(|b| b.reason).collect(),
        });
    }

    let total: u64 = manifest.files.iter().map(|f| f.size).sum();
    progress.phase("checking", total);
    let mut skipped_blocked = 0;
    let mut answers = Incoming::default();
    let mut vulndb = crate::vulndb::Incoming::default();
    // The stream is read by this thread, each artifact copied into its spool here; their
    // checks (zips are the costly part) run on every core meanwhile. What is reported is
    // what reading in order would have met first.
    let checked: Mutex<Vec<(usize, Result<Staged, BundleError>)>> = Mutex::new(Vec::new());
    let failed = AtomicBool::new(false);
    let mut at = 0;
    let (jobs, queue) = mpsc::sync_channel::<Job<'_>>(CHECK_QUEUE);
    let queue = Mutex::new(queue);
    let read = std::thread::scope(|s| {
        for _ in 0..std::thread::available_parallelism().map_or(1, usize::from) {
            s.spawn(|| {
                loop {
                    let job = queue.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    let Ok(job) = job else { return };
                    let index = job.index;
                    let result = job.check(options).map_err(|(file, r)| bad(&file, r));
                    if result.is_err() {
                        failed.store(true, Ordering::Relaxed);
                    }
                    checked
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((index, result));
                }
            });
        }
        let read = (|| -> Result<(), BundleError> {
            for (i, record) in manifest.files.iter().enumerate() {
                at = i;
                if failed.load(Ordering::Relaxed) {
                    // A check failed: that is the answer, the rest need not be read.
                    return Ok(());
                }
                progress.file(&record.path);
                let mut entry = match entries.next() {
                    None => {
                        return Err(bad(
                            &record.path,
                            "the bundle ends before this file: it is truncated".into(),
                        ));
                    }
                    Some(Err(e)) => return Err(bad(&record.path, unreadable(&e))),
                    Some(Ok(entry)) => entry,
                };
                let name = entry
                    .path()
                    .map_err(|e| bad(&record.path, e.to_string()))?
                    .to_string_lossy()
                    .into_owned();
                if name != record.path {
                    return Err(bad(
                        &name,
                        format!("unexpected here: the manifest lists {} next", record.path),
                    ));
                }
                if entry.header().entry_type() != tar::EntryType::Regular {
                    return Err(bad(&name, "not a regular file".into()));
                }
                // What the tar header says is what the entry's reader yields: it must be what the
                // manifest says, and within the limit for its kind, before a byte is copied.
                let stated = entry.size();
                if stated != record.size {
                    return Err(bad(
                        &name,
                        format!(
                            "its tar header says {stated} bytes, the manifest says {}",
                            record.size
                        ),
                    ));
                }
                if record.path.starts_with(crate::vulndb::BUNDLE_PREFIX) {
                    let sha256 = match vulndb.add(&record.path, record.size, &mut entry) {
                        Ok(Ok(sha256)) => sha256,
                        Ok(Err(reason)) => return Err(bad(&record.path, reason)),
                        Err(e) => return Err(bad(&record.path, unreadable(&e))),
                    };
                    progress.advance(record.size);
                    if sha256 != record.sha256 {
                        return Err(bad(&record.path, "does not match the manifest".into()));
                    }
                    continue;
                }
                if record.path.starts_with(BUNDLE_PREFIX) {
                    let sha256 =
                        match answers.add(store, &record.path, record.size, &mut entry, progress) {
                            Ok(Ok(sha256)) => sha256,
                            Ok(Err(reason)) => return Err(bad(&record.path, reason)),
                            Err(StageError::Read(e)) => {
                                return Err(bad(&record.path, unreadable(&e)));
                            }
                            Err(StageError::Store(e)) => return Err(e),
                        };
                    if sha256 != record.sha256 {
                        return Err(bad(&record.path, "does not match the manifest".into()));
                    }
                    continue;
                }
                // An artifact, or (None) a list.
                let (artifact, limit) = match classify(&record.path) {
                    TreeFile::Other(reason) => {
                        return Err(bad(&record.path, format!("not a GOPROXY file: {reason}")));
                    }
                    TreeFile::List(_) => (None, MAX_LIST),
                    TreeFile::Artifact(key) => {
                        let limit = max_size(key.kind);
                        (Some(key), limit)
                    }
                };
                if record.size > limit {
                    return Err(bad(
                        &record.path,
                        format!(
                            "{} bytes, more than the {limit} a file of its kind may have",
                            record.size
                        ),
                    ));
                }
                let mut entry = Read::take(&mut entry, record.size);
                match artifact {
                    // Lists are checked but not imported: the store keeps its own as versions arrive.
                    None => {
                        let (size, sha256) = hash_reader(&mut entry, |n| progress.advance(n))
                            .map_err(|e| bad(&record.path, unreadable(&e)))?;
                        if size != record.size || sha256 != record.sha256 {
                            return Err(bad(&record.path, "does not match the manifest".into()));
                        }
                    }
                    // Left out (--skip-blocked): read past, never staged.
                    Some(key) if options.blocked(&key).is_some() => {
                        io::copy(&mut entry, &mut io::sink())
                            .map_err(|e| bad(&record.path, unreadable(&e)))?;
                        skipped_blocked += 1;
                    }
                    Some(key) => {
                        let copied = match copy_to_spool(store, &mut entry, progress) {
                            Ok(copied) => copied,
                            Err(StageError::Read(e)) => {
                                return Err(bad(&record.path, unreadable(&e)));
                            }
                            Err(StageError::Store(e)) => return Err(e),
                        };
                        let job = Job {
                            index: i,
                            key,
                            record,
                            copied,
                        };
                        if jobs.send(job).is_err() {
                            return Ok(());
                        }
                    }
                }
            }
            at = manifest.files.len();
            match entries.next() {
                None => {}
                Some(Ok(mut extra)) => {
                    let name = extra
                        .path()
                        .map(|p| p.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    let _ = io::copy(&mut extra, &mut io::sink());
                    return Err(bad(&name, "not listed in the manifest".into()));
                }
                Some(Err(e)) => return Err(bad("(end of bundle)", unreadable(&e))),
            }
            Ok(())
        })();
        drop(jobs);
        read
    });
    let mut checked = checked.into_inner().unwrap_or_else(|p| p.into_inner());
    checked.sort_unstable_by_key(|(i, _)| *i);
    if let Some(first) = checked.iter().position(|(_, r)| r.is_err())
        && (read.is_ok() || checked[first].0 < at)
        && let (_, Err(e)) = checked.swap_remove(first)
    {
        return Err(e);
    }
    read?;
    // Reading to the very end makes zstd check the checksum of the whole stream.
    io::copy(&mut archive.into_inner(), &mut io::sink())
        .map_err(|e| bad("(end of bundle)", unreadable(&e)))?;
    let mut staged: Vec<Staged> = checked.into_iter().filter_map(|(_, r)| r.ok()).collect();
    progress.finish_phase();

    check_staged_ziphashes(store, &staged).map_err(|(file, r)| bad(&file, r))?;
    answers
        .verify(store, &options.sumdb, &staged)
        .map_err(|(file, r)| bad(&file, r))?;
    let checked_vulndb = vulndb.check().map_err(|(file, r)| bad(&file, r))?;

    staged.sort_by(|a, b| {
        (
            &a.id.key.module,
            &a.id.key.version,
            publish_rank(a.id.key.kind),
        )
            .cmp(&(
                &b.id.key.module,
                &b.id.key.version,
                publish_rank(b.id.key.kind),
            ))
    });
    let mut summary = ImportSummary {
        source: path.display().to_string(),
        source_kind: "bundle".into(),
        skipped: manifest.files.len()
            - staged.len()
            - answers.len()
            - vulndb.len()
            - skipped_blocked,
        blocked,
        ..ImportSummary::default()
    };
    answers.publish(store, &mut summary)?;
    let modules: BTreeSet<ModulePath> = staged.iter().map(|s| s.id.key.module.clone()).collect();
    publish_all(store, staged, &mut summary)?;
    // Versions already held are not published again; their lists are repaired here.
    repair_lists(store, modules.iter(), &mut summary)?;
    if let Some(checked) = checked_vulndb {
        summary.vulndb = Some(vulndb.publish(store, &checked)?);
    }
    Ok(summary)
}

/// Artifacts copied and waiting for their checks: a few spools (and their open files) per core.
const CHECK_QUEUE: usize = 64;

/// An artifact of the bundle copied into its spool, to be checked.
struct Job<'a> {
    index: usize,
    key: godepot_store::ArtifactKey,
    record: &'a crate::manifest::FileRecord,
    copied: Copied,
}

impl Job<'_> {
    /// Its own checks, then the manifest's and the go.sum files' word on it. `Err` is (file
    /// in the bundle, reason).
    fn check(self, options: &ImportOptions) -> Result<Staged, (String, String)> {
        let Job {
            key,
            record,
            copied,
            ..
        } = self;
        let refuse = |reason| (record.path.clone(), reason);
        let one = copied.inspect(key, record.path.clone()).map_err(refuse)?;
        let id = &one.id;
        check_expected(
            &id.key,
            id.size,
            &id.sha256,
            &id.facts,
            Some(record),
            &options.go_sums,
        )
        .map_err(refuse)?;
        Ok(one)
    }
}

/// A `.ziphash` must agree with its zip: the one in the bundle, else the one held.
fn check_staged_ziphashes(store: &dyn Store, staged: &[Staged]) -> Result<(), (String, String)> {
    let zips: HashMap<(&ModulePath, &Version), &str> = staged
        .iter()
        .filter_map(|s| match &s.id.facts {
            Facts::Zip { h1 } => Some(((&s.id.key.module, &s.id.key.version), h1.as_str())),
            _ => None,
        })
        .collect();
    for one in staged {
        let Facts::ZipHash { stated } = &one.id.facts else {
            continue;
        };
        let key = &one.id.key;
        let zip_h1 = match zips.get(&(&key.module, &key.version)) {
            Some(h1) => Some(h1.to_string()),
            None => held_zip_h1(store, key),
        };
        let Some(zip_h1) = zip_h1 else {
            return Err((one.id.rel_path.clone(), "a .ziphash without its zip".into()));
        };
        check_ziphash(stated, &zip_h1).map_err(|r| (one.id.rel_path.clone(), r))?;
    }
    Ok(())
}

/// The `h1:` of the zip the store holds for this version, if it holds a valid one.
pub(super) fn held_zip_h1(store: &dyn Store, key: &godepot_store::ArtifactKey) -> Option<String> {
    let zip = key.with_kind(Kind::Zip);
    let held = godepot_store::Store::open(store, &zip).ok()??;
    let mut held = held
        .into_file(godepot_store::Store::scratch_dir(store))
        .ok()?;
    match inspect(&zip, &mut held) {
        Ok(Facts::Zip { h1 }) => Some(h1),
        _ => None,
    }
}
