//! Which module zips the go command accepts, and which files belong in one
//! (the rules of `golang.org/x/mod/zip`), plus the zip's `h1:` hash.
//!
//! A proxy must never serve a zip that `go` would refuse to extract, and must
//! compute the same hash `go` records in go.sum, so these rules are restated
//! precisely, including historical quirks kept for checksum stability (see
//! `is_vendored`).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::{Read, Seek, SeekFrom};

use crate::error::go_quote;
use crate::gomod::parse_go_mod;
use sha2::{Digest, Sha256};

use crate::h1::hash1;
use crate::path::check_file_path;
use crate::version::{ModulePath, Version};

/// Largest module zip, and largest total unpacked size, the go command accepts.
pub const MAX_ZIP_FILE: u64 = 500 << 20;
/// Largest go.mod file allowed at the root of a module zip.
pub const MAX_GO_MOD: u64 = 16 << 20;
/// Largest LICENSE file allowed at the root of a module zip.
pub const MAX_LICENSE: u64 = 16 << 20;

/// What kind of file system object a [`FileEntry`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Regular,
    Directory,
    Symlink,
    /// Devices, sockets, pipes: never part of a module.
    Other,
}

/// A file offered for a module zip: its slash-separated path relative to the
/// module root, its size, and its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    pub path: String,
    pub size: u64,
    pub kind: FileKind,
}

impl FileEntry {
    /// A regular file, the common case.
    pub fn file(path: impl Into<String>, size: u64) -> Self {
        Self {
            path: path.into(),
            size,
            kind: FileKind::Regular,
        }
    }
}

/// A file that was omitted or rejected, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileIssue {
    pub path: String,
    pub reason: String,
}

impl fmt::Display for FileIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

/// The classification of a set of files (modzip's `CheckedFiles`): every input
/// file lands in `valid`, `omitted` or `invalid`. A file listed twice may appear
/// both as valid (first copy) and invalid (the duplicate), as in Go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileCheck {
    /// Files that belong in the zip, in input order.
    pub valid: Vec<String>,
    /// Files that are silently left out (vendored, nested modules, ...).
    pub omitted: Vec<FileIssue>,
    /// Files that make the module unusable.
    pub invalid: Vec<FileIssue>,
    /// Set when the valid files together exceed [`MAX_ZIP_FILE`].
    pub size_error: Option<String>,
}

impl FileCheck {
    /// Whether the files describe a valid module zip.
    pub fn is_ok(&self) -> bool {
        self.size_error.is_none() && self.invalid.is_empty()
    }

    /// Records a problem once per path: later problems with the same path are
    /// consequences of the first.
    fn reject(&mut self, seen: &mut HashSet<String>, path: &str, omitted: bool, reason: String) {
        if !seen.insert(path.to_owned()) {
            return;
        }
        let issue = FileIssue {
            path: path.to_owned(),
            reason,
        };
        if omitted {
            self.omitted.push(issue);
        } else {
            self.invalid.push(issue);
        }
    }
}

const VENDORED: &str = "file is in vendor directory";

/// Classifies files for inclusion in a module zip (modzip `CheckFiles`).
///
/// `root_go_mod` is the content of the root go.mod, if there is one: its `go`
/// version decides the vendor-directory rule (see `is_vendored`).
pub fn check_files(files: &[FileEntry], root_go_mod: Option<&[u8]>) -> FileCheck {
    let new_vendor_rules = root_go_mod.is_some_and(go_1_24_or_later);
    let module_dirs = nested_module_dirs(files);

    let mut check = FileCheck::default();
    let mut seen = HashSet::new();
    let mut collisions = CollisionChecker::default();
    let mut budget = MAX_ZIP_FILE;
    for f in files {
        let p = f.path.as_str();
        if let Err((omitted, reason)) = classify_name(p, new_vendor_rules, &module_dirs) {
            check.reject(&mut seen, p, omitted, reason);
            continue;
        }
        if let Err(reason) = collisions.check(p, f.kind == FileKind::Directory) {
            check.reject(&mut seen, p, false, reason);
            continue;
        }
        match f.kind {
            FileKind::Regular => {}
            FileKind::Symlink => {
                check.reject(&mut seen, p, true, "file is a symbolic link".into());
                continue;
            }
            FileKind::Directory | FileKind::Other => {
                check.reject(&mut seen, p, true, "not a regular file".into());
                continue;
            }
        }
        match budget.checked_sub(f.size) {
            Some(left) => budget = left,
            None => {
                check.size_error.get_or_insert_with(|| {
                    format!("module source tree too large (max size is {MAX_ZIP_FILE} bytes)")
                });
            }
        }
        if let Some(reason) = root_file_too_large(p, f.size) {
            check.reject(&mut seen, p, false, reason);
            continue;
        }
        check.valid.push(f.path.clone());
    }
    check
}

/// The name-only checks of [`check_files`], in Go's order. `Err((omitted, reason))`.
fn classify_name(
    p: &str,
    new_vendor_rules: bool,
    module_dirs: &HashSet<String>,
) -> Result<(), (bool, String)> {
    if clean(p) != p {
        return Err((false, "file path is not clean".into()));
    }
    if p.starts_with('/') {
        return Err((false, "file path is not relative".into()));
    }
    if is_vendored(p, new_vendor_rules) {
        return Err((true, VENDORED.into()));
    }
    if parent_dirs(p).any(|d| module_dirs.contains(&d)) {
        return Err((true, "file is in another module".into()));
    }
    if p == ".hg_archival.txt" {
        return Err((
            true,
            "file is inserted by 'hg archive' and is always omitted".into(),
        ));
    }
    check_file_path(p).map_err(|e| (false, e.to_string()))?;
    if p.eq_ignore_ascii_case("go.mod") && p != "go.mod" {
        return Err((false, "go.mod files must have lowercase names".into()));
    }
    Ok(())
}

fn root_file_too_large(p: &str, size: u64) -> Option<String> {
    match p {
        "go.mod" if size > MAX_GO_MOD => Some(format!(
            "go.mod file too large (max size is {MAX_GO_MOD} bytes)"
        )),
        "LICENSE" if size > MAX_LICENSE => Some(format!(
            "LICENSE file too large (max size is {MAX_LICENSE} bytes)"
        )),
        _ => None,
    }
}

/// Directories (with trailing `/`, root excluded) holding a regular go.mod in
/// any letter case: they are other modules, so their files are omitted.
fn nested_module_dirs(files: &[FileEntry]) -> HashSet<String> {
    files
        .iter()
        .filter(|f| f.kind == FileKind::Regular)
        .filter_map(|f| {
            let (dir, base) = split_dir(&f.path);
            (base.eq_ignore_ascii_case("go.mod") && !dir.is_empty()).then(|| dir.to_owned())
        })
        .collect()
}

/// Splits after the last `/`: ("a/b/", "c") for "a/b/c", ("", "c") for "c".
fn split_dir(p: &str) -> (&str, &str) {
    match p.rfind('/') {
        Some(i) => (&p[..=i], &p[i + 1..]),
        None => ("", p),
    }
}

/// The ancestors of `p`, innermost first, each with a trailing `/`.
fn parent_dirs(p: &str) -> impl Iterator<Item = String> + '_ {
    p.rmatch_indices('/').map(move |(i, _)| p[..=i].to_owned())
}

/// Whether `name` lies inside a vendored package and is therefore omitted.
///
/// Two quirks are preserved because changing them would change the hashes of
/// existing modules: before go 1.24, `vendor/modules.txt` is kept, and the test
/// for a nested `/vendor/` measures from the wrong offset, so `pkg/vendor/x.go`
/// counts as vendored. Modules declaring `go 1.24` or later get the corrected rules.
fn is_vendored(name: &str, new_rules: bool) -> bool {
    if new_rules && name == "vendor/modules.txt" {
        return true;
    }
    let start = if name.starts_with("vendor/") {
        "vendor/".len()
    } else if let Some(j) = name.find("/vendor/") {
        if new_rules {
            j + "/vendor/".len()
        } else {
            "/vendor/".len()
        }
    } else {
        return false;
    };
    name[start..].contains('/')
}

/// Whether a go.mod declares a language version of at least 1.24.
fn go_1_24_or_later(go_mod: &[u8]) -> bool {
    let Ok(file) = parse_go_mod(go_mod) else {
        return false;
    };
    file.go
        .as_deref()
        .and_then(go_lang)
        .is_some_and(|lang| lang >= (1, 24))
}

/// The (major, minor) language version of a go directive such as `1.24`,
/// `1.24.1` or `1.24rc1`.
fn go_lang(v: &str) -> Option<(u64, u64)> {
    let (major, rest) = v.split_once('.').unwrap_or((v, ""));
    let major = major.parse().ok()?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let minor = if digits == 0 {
        0
    } else {
        rest[..digits].parse().ok()?
    };
    Some((major, minor))
}

/// Lexical cleaning as Go's `path.Clean`, used only to detect unclean names.
fn clean(p: &str) -> String {
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for elem in p.split('/') {
        match elem {
            "" | "." => {}
            ".." if out.last().is_some_and(|l| *l != "..") => {
                out.pop();
            }
            ".." if rooted => {}
            e => out.push(e),
        }
    }
    let joined = out.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// Finds names equal under Unicode case folding (which could not coexist on
/// macOS or Windows) and names used both as a file and as a directory.
#[derive(Default)]
struct CollisionChecker {
    /// Folded name -> (original name, is a directory).
    seen: HashMap<String, (String, bool)>,
}

impl CollisionChecker {
    fn check(&mut self, p: &str, is_dir: bool) -> Result<(), String> {
        let folded = fold(p);
        match self.seen.get(&folded) {
            Some((other, _)) if other != p => {
                return Err(format!(
                    "case-insensitive file name collision: {other:?} and {p:?}"
                ));
            }
            Some((_, other_is_dir)) if *other_is_dir != is_dir => {
                return Err(format!("entry {p:?} is both a file and a directory"));
            }
            Some(_) if !is_dir => return Err(format!("multiple entries for file {p:?}")),
            Some(_) => {}
            None => {
                self.seen.insert(folded, (p.to_owned(), is_dir));
            }
        }
        match p.rfind('/') {
            Some(i) => self.check(&p[..i], true),
            None => Ok(()),
        }
    }
}

/// A representative of `s`'s case-folding class: characters that upper-case to
/// the same letter share a lower-case form (`K`, `k` and the Kelvin sign all map
/// to `k`). Multi-character case mappings are left alone, as simple folding does.
fn fold(s: &str) -> String {
    s.chars().map(fold_char).collect()
}

fn fold_char(c: char) -> char {
    fn single(mut it: impl Iterator<Item = char>) -> Option<char> {
        let first = it.next()?;
        it.next().is_none().then_some(first)
    }
    single(c.to_uppercase())
        .and_then(|u| single(u.to_lowercase()))
        .unwrap_or(c)
}

/// Classifies a directory tree the way modzip's `CheckDir`/`CreateFromDir` walk it:
/// version-control directories and nested-module directories are omitted whole,
/// then the remaining files go through [`check_files`].
///
/// `entries` lists the tree's files (directories may be listed or left implicit);
/// paths are relative to the module root. Omitted directories are reported, their
/// contents are not.
pub fn check_dir(entries: &[FileEntry], root_go_mod: Option<&[u8]>) -> FileCheck {
    let new_vendor_rules = root_go_mod.is_some_and(go_1_24_or_later);
    let mut nodes = with_implicit_dirs(entries);
    nodes.sort_by(|a, b| a.path.split('/').cmp(b.path.split('/')));
    // Directories holding a go.mod (any kind but a directory, as Go's Lstat test).
    let go_mod_dirs: HashSet<&str> = entries
        .iter()
        .filter(|e| e.kind != FileKind::Directory)
        .filter_map(|e| e.path.strip_suffix("go.mod"))
        .filter_map(|dir| dir.strip_suffix('/'))
        .collect();

    let mut omitted = Vec::new();
    // In walk order a directory's descendants directly follow it, so one pruned
    // prefix at a time suffices.
    let mut pruned: Option<String> = None;
    let mut files = Vec::new();
    for node in nodes {
        let p = node.path.as_str();
        if pruned
            .as_deref()
            .is_some_and(|prefix| p.starts_with(prefix))
        {
            continue;
        }
        match walk_omission(&node, new_vendor_rules, &go_mod_dirs) {
            Some((reason, prune)) => {
                if prune {
                    pruned = Some(format!("{p}/"));
                }
                omitted.push(FileIssue {
                    path: p.to_owned(),
                    reason: reason.into(),
                });
            }
            None if node.kind == FileKind::Directory => {}
            None => files.push(node),
        }
    }
    let mut check = check_files(&files, root_go_mod);
    check.omitted.extend(omitted);
    check
}

/// Why the directory walk leaves `node` out, and whether to skip its subtree.
fn walk_omission(
    node: &FileEntry,
    new_vendor_rules: bool,
    go_mod_dirs: &HashSet<&str>,
) -> Option<(&'static str, bool)> {
    if is_vendored(&node.path, new_vendor_rules) {
        return Some((VENDORED, false));
    }
    match node.kind {
        FileKind::Directory => {
            let base = split_dir(&node.path).1;
            if [".bzr", ".git", ".hg", ".svn"].contains(&base) {
                Some(("directory is a version control repository", true))
            } else if go_mod_dirs.contains(node.path.as_str()) {
                Some(("directory is in another module", true))
            } else {
                None
            }
        }
        FileKind::Regular => None,
        FileKind::Symlink | FileKind::Other => Some(("not a regular file", false)),
    }
}

/// `entries` plus a directory entry for every ancestor not already listed.
fn with_implicit_dirs(entries: &[FileEntry]) -> Vec<FileEntry> {
    let mut nodes = entries.to_vec();
    let mut dirs: Vec<String> = entries
        .iter()
        .flat_map(|e| {
            parent_dirs(&e.path)
                .map(|d| d.trim_end_matches('/').to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    dirs.sort();
    dirs.dedup();
    for d in dirs {
        if !entries.iter().any(|e| e.path == d) {
            nodes.push(FileEntry {
                path: d,
                size: 0,
                kind: FileKind::Directory,
            });
        }
    }
    nodes
}

/// Classifies the entries of a module zip (modzip `CheckZip`): `entries` are the
/// raw entry names (as stored, `module@version/...`) with their declared
/// uncompressed sizes. Directory entries (trailing `/`) are checked for
/// collisions but otherwise ignored.
pub fn check_zip_entries(
    path: &ModulePath,
    version: &Version,
    entries: &[(&str, u64)],
) -> FileCheck {
    let prefix = format!("{path}@{version}/");
    let mut check = FileCheck::default();
    let mut collisions = CollisionChecker::default();
    let mut total: u64 = 0;
    for &(full, size) in entries {
        let invalid = |check: &mut FileCheck, reason: String| {
            check.invalid.push(FileIssue {
                path: full.to_owned(),
                reason,
            });
        };
        let Some(name) = full.strip_prefix(&prefix) else {
            invalid(&mut check, format!("path does not have prefix {prefix:?}"));
            continue;
        };
        if name.is_empty() {
            continue;
        }
        let (name, is_dir) = match name.strip_suffix('/') {
            Some(dir) => (dir, true),
            None => (name, false),
        };
        if let Err(reason) = check_zip_name(name, is_dir, &mut collisions) {
            invalid(&mut check, reason);
            continue;
        }
        if is_dir {
            continue;
        }
        match total.checked_add(size).filter(|t| *t <= MAX_ZIP_FILE) {
            Some(t) => total = t,
            None => {
                check.size_error.get_or_insert_with(|| {
                    format!("total uncompressed size of module contents too large (max size is {MAX_ZIP_FILE} bytes)")
                });
            }
        }
        if let Some(reason) = root_file_too_large(name, size) {
            invalid(&mut check, reason);
            continue;
        }
        check.valid.push(full.to_owned());
    }
    check
}

fn check_zip_name(
    name: &str,
    is_dir: bool,
    collisions: &mut CollisionChecker,
) -> Result<(), String> {
    if clean(name) != name {
        return Err("file path is not clean".into());
    }
    check_file_path(name).map_err(|e| e.to_string())?;
    collisions.check(name, is_dir)?;
    if is_dir {
        return Ok(());
    }
    let base = split_dir(name).1;
    if base.eq_ignore_ascii_case("go.mod") {
        if base != name {
            return Err("go.mod file not in module root directory".into());
        }
        if name != "go.mod" {
            return Err("go.mod files must have lowercase names".into());
        }
    }
    Ok(())
}

/// Summary of a module zip that passed the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipSummary {
    /// The `h1:` hash go.sum records for the module.
    pub h1: String,
    /// Regular files in the zip (directory entries not counted).
    pub files: u64,
    /// Total uncompressed size of those files.
    pub unpacked_size: u64,
    /// The module's own go.mod (`module@version/go.mod`), when the zip has one: whoever
    /// takes the zip in checks that it names the module. At most [`MAX_GO_MOD`] bytes.
    pub go_mod: Option<Vec<u8>>,
}

/// Why a module zip was rejected. Messages name the offending entry.
#[derive(Debug, thiserror::Error)]
pub enum ZipError {
    #[error("module zip file is too large ({size} bytes; limit is {MAX_ZIP_FILE} bytes)")]
    TooLarge { size: u64 },
    #[error("reading module zip: {reason}")]
    Unreadable { reason: String },
    #[error("{issue}{}", more_suffix(*more))]
    InvalidEntry { issue: FileIssue, more: usize },
    #[error("{reason}")]
    ContentsTooLarge { reason: String },
    #[error("uncompressed size of file {entry} does not match declared size ({declared} bytes)")]
    SizeMismatch { entry: String, declared: u64 },
    #[error("reading {entry}: {reason}")]
    Entry { entry: String, reason: String },
}

fn more_suffix(more: usize) -> String {
    match more {
        0 => String::new(),
        n => format!(" (and {n} more invalid entries)"),
    }
}

impl ZipError {
    fn unreadable(e: impl fmt::Display) -> Self {
        Self::Unreadable {
            reason: e.to_string(),
        }
    }
}

/// Reads a module zip and checks it the way the go command's `CheckZip` and
/// `Unzip` would before accepting it; see [`check_zip_entries`] for the name rules.
/// Entries are streamed through the hash, never held in memory whole.
///
/// The `h1:` hash covers every entry, directory entries included, because the
/// go command hashes a downloaded zip entry by entry (dirhash `HashZip`).
pub fn inspect_zip<R: Read + Seek>(
    mut reader: R,
    path: &ModulePath,
    version: &Version,
) -> Result<ZipSummary, ZipError> {
    let size = reader
        .seek(SeekFrom::End(0))
        .map_err(ZipError::unreadable)?;
    if size > MAX_ZIP_FILE {
        return Err(ZipError::TooLarge { size });
    }
    reader
        .seek(SeekFrom::Start(0))
        .map_err(ZipError::unreadable)?;
    let mut archive = zip::ZipArchive::new(&mut reader).map_err(ZipError::unreadable)?;
    let entries = entry_names(&mut archive)?;
    let listed: Vec<(&str, u64)> = entries.iter().map(|(n, s)| (n.as_str(), *s)).collect();
    let mut check = check_zip_entries(path, version, &listed);
    let duplicated = archive.has_duplicate_names();
    if check.is_ok() && !duplicated {
        return hash_entries(&mut archive, &format!("{path}@{version}/go.mod"));
    }
    drop(archive);
    if duplicated {
        check
            .invalid
            .extend(duplicate_issues(&mut reader, &format!("{path}@{version}/")));
    }
    Err(first_problem(check).unwrap_or_else(|| unreachable!("failed checks report a problem")))
}

/// Entry names (required to be UTF-8, as valid paths are) and declared sizes.
fn entry_names<R: Read + Seek>(
    archive: &mut zip::ZipArchive<R>,
) -> Result<Vec<(String, u64)>, ZipError> {
    (0..archive.len())
        .map(|i| {
            let entry = archive.by_index_raw(i).map_err(ZipError::unreadable)?;
            let name =
                std::str::from_utf8(entry.name_raw()).map_err(|_| ZipError::InvalidEntry {
                    issue: FileIssue {
                        path: go_quote(entry.name_raw()),
                        reason: "invalid UTF-8".into(),
                    },
                    more: 0,
                })?;
            Ok((name.to_owned(), entry.size()))
        })
        .collect()
}

/// The error for a failed check: the size problem, else the first invalid entry.
fn first_problem(check: FileCheck) -> Option<ZipError> {
    let more = check.invalid.len().saturating_sub(1);
    match (check.size_error, check.invalid.into_iter().next()) {
        (Some(reason), _) => Some(ZipError::ContentsTooLarge { reason }),
        (None, Some(issue)) => Some(ZipError::InvalidEntry { issue, more }),
        (None, None) => None,
    }
}

/// The zip reader keeps one entry per name, so to name the duplicates we list the
/// central directory ourselves. Never empty: if the listing fails, a generic
/// issue stands in.
fn duplicate_issues<R: Read + Seek>(reader: R, prefix: &str) -> Vec<FileIssue> {
    let names = central::names(reader).unwrap_or_default();
    let mut seen = HashSet::new();
    let mut issues: Vec<FileIssue> = names
        .iter()
        .filter(|name| !seen.insert(name.as_slice()))
        .map(|name| {
            let full = String::from_utf8_lossy(name).into_owned();
            let short = full.strip_prefix(prefix).unwrap_or(&full).to_owned();
            FileIssue {
                path: full,
                reason: format!("multiple entries for file {short:?}"),
            }
        })
        .collect();
    if issues.is_empty() {
        issues.push(FileIssue {
            path: prefix.to_owned(),
            reason: "zip has duplicate entry names".into(),
        });
    }
    issues
}

/// Decompresses every entry, enforcing declared sizes, and computes the hash.
/// Hashes every entry, keeping the bytes of `root_go_mod` (whose size the entry checks have
/// already bounded).
fn hash_entries<R: Read + Seek>(
    archive: &mut zip::ZipArchive<R>,
    root_go_mod: &str,
) -> Result<ZipSummary, ZipError> {
    let mut digests = Vec::with_capacity(archive.len());
    let mut summary = ZipSummary {
        h1: String::new(),
        files: 0,
        unpacked_size: 0,
        go_mod: None,
    };
    for i in 0..archive.len() {
        let entry = archive.by_index(i).map_err(ZipError::unreadable)?;
        let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        let declared = entry.size();
        let digest = if name == root_go_mod {
            let mut data = Vec::new();
            let digest = digest_exactly(Keep(entry, &mut data), &name, declared)?;
            summary.go_mod = Some(data);
            digest
        } else {
            digest_exactly(entry, &name, declared)?
        };
        if !name.ends_with('/') {
            summary.files += 1;
            summary.unpacked_size += declared;
        }
        digests.push((name, digest));
    }
    // Names with newlines never get here: check_file_path rejects them.
    summary.h1 = hash1(&digests).map_err(|e| ZipError::Entry {
        entry: String::new(),
        reason: e.to_string(),
    })?;
    Ok(summary)
}

/// A reader that keeps a copy of what passes through it.
struct Keep<'a, R>(R, &'a mut Vec<u8>);

impl<R: Read> Read for Keep<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.read(buf)?;
        self.1.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

/// SHA-256 of an entry's content, which must be exactly `declared` bytes long:
/// Go's zip reader rejects entries whose data disagrees with the header.
fn digest_exactly(entry: impl Read, name: &str, declared: u64) -> Result<[u8; 32], ZipError> {
    let mut hasher = Sha256::new();
    let read =
        std::io::copy(&mut entry.take(declared.saturating_add(1)), &mut hasher).map_err(|e| {
            ZipError::Entry {
                entry: name.to_owned(),
                reason: e.to_string(),
            }
        })?;
    if read != declared {
        return Err(ZipError::SizeMismatch {
            entry: name.to_owned(),
            declared,
        });
    }
    Ok(hasher.finalize().into())
}

mod central;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_vendored_table() {
        fn check(name: &str, old: bool, new: bool) {
            assert_eq!(
                (is_vendored(name, false), is_vendored(name, true)),
                (old, new),
                "{name}"
            );
        }
        check("vendor/modules.txt", false, true);
        check("vendor/x/y.go", true, true);
        check("vendor/x.go", false, false);
        check("pkg/vendor/vendor.go", true, false);
        check("pkg/vendor/x/y.go", true, true);
        check("sub/vendor/sub.txt", true, false);
        check("a/b.go", false, false);
    }

    #[test]
    fn clean_table() {
        fn check(p: &str, expect: &str) {
            assert_eq!(clean(p), expect, "clean({p:?})");
        }
        check("a/b", "a/b");
        check("a//b", "a/b");
        check("a/./b", "a/b");
        check("a/../b", "b");
        check("../a", "../a");
        check("/../a", "/a");
        check("", ".");
        check("a/", "a");
    }

    #[test]
    fn go_lang_table() {
        fn check(v: &str, expect: Option<(u64, u64)>) {
            assert_eq!(go_lang(v), expect, "go_lang({v:?})");
        }
        check("1.24", Some((1, 24)));
        check("1.24.1", Some((1, 24)));
        check("1.24rc1", Some((1, 24)));
        check("1", Some((1, 0)));
        check("x", None);
    }

    #[test]
    fn fold_table() {
        fn check(a: &str, b: &str, same: bool) {
            assert_eq!(fold(a) == fold(b), same, "{a:?} vs {b:?}");
        }
        check("m.go", "M.GO", true);
        check("k", "\u{212a}", true);
        check("σ", "ς", true);
        check("ß", "SS", false);
        check("a", "b", false);
    }

    #[test]
    fn size_limits_table() {
        fn check(files: &[(&str, u64)], expect_invalid: &[&str], expect_size_error: bool) {
            let entries: Vec<FileEntry> =
                files.iter().map(|(p, s)| FileEntry::file(*p, *s)).collect();
            let got = check_files(&entries, None);
            let invalid: Vec<String> = got.invalid.iter().map(ToString::to_string).collect();
            assert_eq!(invalid, expect_invalid, "{files:?}");
            assert_eq!(got.size_error.is_some(), expect_size_error, "{files:?}");
        }
        check(&[("go.mod", MAX_GO_MOD)], &[], false);
        check(
            &[("go.mod", MAX_GO_MOD + 1)],
            &["go.mod: go.mod file too large (max size is 16777216 bytes)"],
            false,
        );
        check(
            &[("LICENSE", MAX_LICENSE + 1)],
            &["LICENSE: LICENSE file too large (max size is 16777216 bytes)"],
            false,
        );
        check(&[("a", MAX_ZIP_FILE), ("b", 1)], &[], true);
        check(&[("a", MAX_ZIP_FILE)], &[], false);
    }

    #[test]
    fn kinds_table() {
        fn check(kind: FileKind, expect_omitted: &str) {
            let got = check_files(
                &[FileEntry {
                    path: "x".into(),
                    size: 0,
                    kind,
                }],
                None,
            );
            assert_eq!(
                got.omitted.first().map(|i| i.reason.as_str()),
                Some(expect_omitted)
            );
        }
        check(FileKind::Symlink, "file is a symbolic link");
        check(FileKind::Other, "not a regular file");
    }
}
