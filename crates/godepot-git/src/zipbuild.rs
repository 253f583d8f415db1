//! Building a module zip from a commit, as cmd/go's `codeRepo.Zip` does with
//! `modzip.Create` over the files of `git archive`: the module's directory, minus what
//! the zip rules omit (vendor directories, nested modules, symbolic links), plus the
//! repository's root LICENSE for a module in a subdirectory that has none.
//!
//! The zip is written to the caller's scratch file one blob at a time, so memory holds at
//! most one file; it is then read back through [`godepot_module::inspect_zip`], which
//! both checks it as the go command will and computes its `h1:` hash.

use std::io::Write;
use std::path::Path;

use gix_hash::ObjectId;
use gix_object::tree::EntryKind;
use godepot_module::{
    FileEntry, FileKind, MAX_GO_MOD, MAX_ZIP_FILE, ModulePath, Version, ZipError, ZipSummary,
    check_files, inspect_zip,
};

use crate::coderepo::CodeRepo;
use crate::error::GitError;
use crate::objects::Objects;

/// Where a zip entry's bytes come from.
enum Source {
    Blob(ObjectId),
    Bytes(Vec<u8>),
}

pub(crate) fn build_zip(
    repo: &CodeRepo<'_>,
    objects: &Objects,
    path: &ModulePath,
    version: &Version,
    dest: &Path,
) -> Result<ZipSummary, GitError> {
    let (rev, dir) = repo.zip_source(version.as_str())?;
    let files = objects.walk(&rev, &dir)?;
    let mut entries = Vec::with_capacity(files.len() + 1);
    let mut sources = Vec::with_capacity(files.len() + 1);
    let mut root_go_mod = None;
    for f in &files {
        let kind = match f.kind {
            EntryKind::Link => FileKind::Symlink,
            EntryKind::Blob | EntryKind::BlobExecutable => FileKind::Regular,
            EntryKind::Tree | EntryKind::Commit => FileKind::Other,
        };
        if f.path == "go.mod" && kind == FileKind::Regular && f.size <= MAX_GO_MOD {
            root_go_mod = Some(objects.blob(&f.oid, MAX_GO_MOD, "go.mod")?);
        }
        entries.push(FileEntry {
            path: f.path.clone(),
            size: f.size,
            kind,
        });
        sources.push(Source::Blob(f.oid));
    }
    if !dir.is_empty()
        && !files.iter().any(|f| f.path == "LICENSE")
        && let Some(license) = repo.root_license(rev)
    {
        entries.push(FileEntry::file("LICENSE", license.len() as u64));
        sources.push(Source::Bytes(license));
    }
    let check = check_files(&entries, root_go_mod.as_deref());
    let module = format!("{path}@{version}");
    if let Some(reason) = check.size_error {
        return Err(GitError::TooLarge {
            what: module,
            reason,
        });
    }
    if !check.invalid.is_empty() {
        let issues: Vec<String> = check.invalid.iter().map(ToString::to_string).collect();
        return Err(GitError::not_found(format!(
            "{module}: create zip: {}",
            issues.join("; ")
        )));
    }
    let valid: std::collections::HashSet<&str> = check.valid.iter().map(String::as_str).collect();
    write_zip(dest, &module, &entries, &sources, &valid, objects)?;
    let file = std::fs::File::open(dest).map_err(|e| GitError::mirror(dest, e))?;
    inspect_zip(std::io::BufReader::new(file), path, version).map_err(|e| match e {
        ZipError::TooLarge { .. } | ZipError::ContentsTooLarge { .. } => GitError::TooLarge {
            what: format!("the zip of {path}@{version}"),
            reason: e.to_string(),
        },
        other => GitError::not_found(format!("{path}@{version}: {other}")),
    })
}

fn write_zip(
    dest: &Path,
    module: &str,
    entries: &[FileEntry],
    sources: &[Source],
    valid: &std::collections::HashSet<&str>,
    objects: &Objects,
) -> Result<(), GitError> {
    let err = |e: &dyn std::fmt::Display| GitError::mirror(dest, e);
    let file = std::fs::File::create(dest).map_err(|e| err(&e))?;
    let mut zw = zip::ZipWriter::new(std::io::BufWriter::new(file));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644)
        .large_file(false);
    for (entry, source) in entries.iter().zip(sources) {
        if !valid.contains(entry.path.as_str()) {
            continue;
        }
        let data = match source {
            Source::Blob(id) => objects.blob(id, MAX_ZIP_FILE, &entry.path)?,
            Source::Bytes(b) => b.clone(),
        };
        zw.start_file(format!("{module}/{}", entry.path), opts)
            .map_err(|e| err(&e))?;
        zw.write_all(&data).map_err(|e| err(&e))?;
    }
    let mut out = zw.finish().map_err(|e| err(&e))?;
    out.flush().map_err(|e| err(&e))?;
    out.get_ref().sync_all().map_err(|e| err(&e))?;
    Ok(())
}
