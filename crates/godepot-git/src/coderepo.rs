//! A module inside a mirrored repository, as cmd/go's `modfetch/coderepo.go` (over
//! `codehost/git.go`) sees it: which tags are its versions, what a revision is called,
//! where its go.mod is, which files its zip holds.
//!
//! The function names follow coderepo.go's (`versions`, `stat`, `convert`, `find_dir`,
//! `validate_pseudo_version`, `retracted_versions`), so the two can be read side by side;
//! error texts follow the go command's where a user sees them. Everything here is
//! synchronous over one [`Objects`] handle: run it on the blocking pool.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use gix_hash::ObjectId;
use godepot_module::{
    MAX_GO_MOD, MAX_LICENSE, canonical_version, is_major, is_pseudo_version, match_path_major,
    parse_go_mod, path_major_prefix, pseudo_timestamp, pseudo_version, pseudo_version_base,
    pseudo_version_rev, semver, split_path_version, tag_list_version, tag_to_version,
};

use crate::discover::has_path_prefix;
use crate::error::GitError;
use crate::objects::Objects;
use crate::protocol::RemoteRefs;

/// What a revision resolved to (codehost's `RevInfo`).
#[derive(Debug, Clone)]
pub(crate) struct RevInfo {
    pub name: ObjectId,
    /// The first 12 hex digits of `name`.
    pub short: String,
    /// Commit time, seconds since the Unix epoch.
    pub time: i64,
    /// The tag the revision was asked by, else the full hash.
    pub version: String,
    /// Every tag that points at this commit, sorted.
    pub tags: Vec<String>,
}

/// A resolved module version: the version string and the commit it names.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub version: String,
    pub time: i64,
}

/// One module path inside one repository snapshot.
pub(crate) struct CodeRepo<'a> {
    mod_path: &'a str,
    code_root: &'a str,
    /// The module's directory in the repository (`""` at the root).
    code_dir: String,
    path_prefix: String,
    path_major: String,
    pseudo_major: String,
    refs: &'a RemoteRefs,
    objects: &'a Objects,
    /// Tag name → commit.
    tags: Vec<(String, ObjectId)>,
    ancestors: RefCell<HashMap<ObjectId, HashSet<ObjectId>>>,
}

fn invalid(path: &str, version: &str, reason: impl std::fmt::Display) -> GitError {
    GitError::not_found(format!("{path}@{version}: invalid version: {reason}"))
}

fn invalid_pseudo(path: &str, version: &str, reason: impl std::fmt::Display) -> GitError {
    GitError::not_found(format!(
        "{path}@{version}: invalid pseudo-version: {reason}"
    ))
}

fn trim_incompatible(v: &str) -> &str {
    v.strip_suffix("+incompatible").unwrap_or(v)
}

impl<'a> CodeRepo<'a> {
    /// `newCodeRepo`: `subdir` is the go-import subdirectory field.
    pub(crate) fn new(
        mod_path: &'a str,
        code_root: &'a str,
        subdir: &str,
        refs: &'a RemoteRefs,
        objects: &'a Objects,
    ) -> Result<Self, GitError> {
        if !has_path_prefix(mod_path, code_root) {
            return Err(GitError::not_found(format!(
                "mismatched repo: found {code_root} for {mod_path}"
            )));
        }
        let (mut prefix, major) = split_path_version(mod_path)
            .ok_or_else(|| GitError::not_found(format!("invalid module path {mod_path:?}")))?;
        if code_root == mod_path {
            prefix = mod_path;
        }
        let mut code_dir = String::new();
        if code_root != mod_path {
            if !has_path_prefix(prefix, code_root) {
                return Err(GitError::not_found(format!(
                    "repository rooted at {code_root} cannot contain module {mod_path}"
                )));
            }
            code_dir = prefix[code_root.len()..].trim_matches('/').to_owned();
        }
        // `filepath.Join(codeDir, subdir)`, in that order, as newCodeRepo has it.
        if !subdir.is_empty() {
            code_dir = [code_dir.as_str(), subdir.trim_matches('/')]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join("/");
        }
        let tags = refs
            .refs
            .iter()
            .filter_map(|(name, tip)| {
                Some((name.strip_prefix("refs/tags/")?.to_owned(), tip.target()))
            })
            .collect();
        Ok(CodeRepo {
            mod_path,
            code_root,
            code_dir,
            path_prefix: prefix.to_owned(),
            path_major: major.to_owned(),
            pseudo_major: path_major_prefix(major).to_owned(),
            refs,
            objects,
            tags,
            ancestors: RefCell::new(HashMap::new()),
        })
    }

    fn tag_prefix(&self) -> String {
        if self.code_dir.is_empty() {
            String::new()
        } else {
            format!("{}/", self.code_dir)
        }
    }

    /// The module's directory joined with `file`.
    fn join(&self, dir: &str, file: &str) -> String {
        if dir.is_empty() {
            file.to_owned()
        } else {
            format!("{dir}/{file}")
        }
    }

    // ---- codehost: revisions of the repository ----

    /// `statLocal`: the commit `id`, asked for as `version`.
    fn stat_local(&self, version: &str, id: ObjectId) -> Result<RevInfo, GitError> {
        let commit = self
            .objects
            .commit(id)?
            .ok_or_else(|| GitError::not_found(format!("unknown revision {version}")))?;
        let hash = commit.id.to_string();
        let mut tags: Vec<String> = self
            .tags
            .iter()
            .filter(|(_, t)| *t == commit.id)
            .map(|(n, _)| n.clone())
            .collect();
        tags.sort();
        tags.dedup();
        let version = if tags.iter().any(|t| t == version) {
            version.to_owned()
        } else {
            hash.clone()
        };
        Ok(RevInfo {
            name: commit.id,
            short: hash[..12].to_owned(),
            time: commit.time,
            version,
            tags,
        })
    }

    /// codehost `Stat`: a commit hash (7 to 40 hex digits), tag, branch or `HEAD`.
    pub(crate) fn code_stat(&self, rev: &str) -> Result<RevInfo, GitError> {
        let is_hash = (7..=40).contains(&rev.len()) && rev.bytes().all(|b| b.is_ascii_hexdigit());
        if is_hash && let Some(c) = self.objects.commit_by_prefix(&rev.to_ascii_lowercase())? {
            return self.stat_local(rev, c.id);
        }
        if let Some(tip) = self.refs.refs.get(&format!("refs/tags/{rev}")) {
            return self.stat_local(rev, tip.target());
        }
        if let Some(tip) = self.refs.refs.get(&format!("refs/heads/{rev}")) {
            return self.stat_local(&tip.target().to_string(), tip.target());
        }
        if rev == "HEAD"
            && let Some(head) = self.refs.head
        {
            return self.stat_local(&head.to_string(), head);
        }
        Err(GitError::not_found(format!("unknown revision {rev}")))
    }

    /// `ReadFile`: `Ok(None)` when the file does not exist at the revision.
    fn read_file(
        &self,
        rev: ObjectId,
        file: &str,
        limit: u64,
    ) -> Result<Option<Vec<u8>>, GitError> {
        self.objects.read_file(&rev, file, limit)
    }

    /// `RecentTag`: the highest allowed tag with `prefix` on an ancestor of `rev`.
    fn recent_tag(
        &self,
        rev: ObjectId,
        prefix: &str,
        allowed: impl Fn(&str) -> bool,
    ) -> Result<Option<String>, GitError> {
        let mut highest: Option<&str> = None;
        for (tag, target) in &self.tags {
            let Some(semtag) = tag.strip_prefix(prefix) else {
                continue;
            };
            if !allowed(tag) || !self.descends_from(rev, *target)? {
                continue;
            }
            if highest.is_none_or(|h| semver::compare(semtag, h).is_gt()) {
                highest = Some(semtag);
            }
        }
        Ok(highest.map(|h| format!("{prefix}{h}")))
    }

    /// `DescendsFrom`: whether `ancestor` is reachable from `rev` (or is it).
    fn descends_from(&self, rev: ObjectId, ancestor: ObjectId) -> Result<bool, GitError> {
        let mut cache = self.ancestors.borrow_mut();
        let set = match cache.entry(rev) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => e.insert(self.objects.ancestors(rev)?),
        };
        Ok(set.contains(&ancestor))
    }

    // ---- coderepo: versions of the module ----

    /// `Versions`: the module's tags as versions, sorted, then `+incompatible` ones.
    pub(crate) fn versions(&self) -> Result<Vec<String>, GitError> {
        if self.mod_path.starts_with("gopkg.in/") && self.mod_path.ends_with("-unstable") {
            return Ok(Vec::new());
        }
        let prefix = self.tag_prefix();
        let mut list = Vec::new();
        let mut incompatible = Vec::new();
        for (tag, _) in &self.tags {
            let Some(v) = tag_list_version(tag, &prefix) else {
                continue;
            };
            if !match_path_major(v, &self.path_major) {
                if self.code_dir.is_empty()
                    && self.path_major.is_empty()
                    && semver::major(v).is_some_and(|m| semver::compare(m, "v1").is_gt())
                {
                    incompatible.push(v.to_owned());
                }
                continue;
            }
            list.push(v.to_owned());
        }
        list.sort_by(|a, b| semver::compare(a, b));
        incompatible.sort_by(|a, b| semver::compare(a, b));
        self.append_incompatible(list, incompatible)
    }

    fn version_has_go_mod(&self, v: &str) -> Result<bool, GitError> {
        let rev = self.code_stat(v)?;
        Ok(self.read_file(rev.name, "go.mod", MAX_GO_MOD)?.is_some())
    }

    /// `appendIncompatibleVersions`: v2+ tags count as `+incompatible` versions only when
    /// the latest compatible version lacks a go.mod and so does the latest at that major.
    fn append_incompatible(
        &self,
        mut list: Vec<String>,
        incompatible: Vec<String>,
    ) -> Result<Vec<String>, GitError> {
        if incompatible.is_empty() || !self.path_major.is_empty() {
            return Ok(list);
        }
        if let Some(last) = list.last()
            && self.version_has_go_mod(last)?
        {
            return Ok(list);
        }
        let mut last_major = String::new();
        let mut last_major_has_go_mod = false;
        for (i, v) in incompatible.iter().enumerate() {
            let major = semver::major(v).unwrap_or_default();
            if major != last_major {
                let latest_at_major = incompatible[i..]
                    .iter()
                    .take_while(|w| semver::major(w) == Some(major))
                    .last()
                    .unwrap_or(v);
                last_major = major.to_owned();
                last_major_has_go_mod = self.version_has_go_mod(latest_at_major)?;
            }
            if !last_major_has_go_mod {
                list.push(format!("{v}+incompatible"));
            }
        }
        Ok(list)
    }

    /// `revToRev`: the repository revision a module version or query names.
    fn rev_to_rev(&self, rev: &str) -> String {
        if !semver::is_valid(rev) {
            return rev.to_owned();
        }
        if is_pseudo_version(rev) {
            return pseudo_version_rev(rev).unwrap_or(rev).to_owned();
        }
        let rev = trim_incompatible(rev);
        format!("{}{rev}", self.tag_prefix())
    }

    /// `Stat`: what `rev` (a version, tag, branch or hash) is called as a module version.
    pub(crate) fn stat(&self, rev: &str) -> Result<Resolved, GitError> {
        let code_rev = self.rev_to_rev(rev);
        let info = self
            .code_stat(&code_rev)
            .map_err(|e| invalid(self.mod_path, rev, e))?;
        self.convert(&info, rev)
    }

    /// `Latest` of the repository: the default branch's head as a version.
    pub(crate) fn head(&self) -> Result<Resolved, GitError> {
        let head = self
            .refs
            .head
            .ok_or_else(|| GitError::not_found(format!("{}: no commits", self.mod_path)))?;
        let info = self.code_stat(&head.to_string())?;
        self.convert(&info, "")
    }

    /// `convert`: names the revision `info` as a module version; `stat_vers` is what the
    /// caller asked for (`""` for the latest).
    fn convert(&self, info: &RevInfo, stat_vers: &str) -> Result<Resolved, GitError> {
        let incompatible_ok: RefCell<HashMap<String, bool>> = RefCell::new(HashMap::new());
        let can_use_incompatible = |v: &str| -> Result<bool, GitError> {
            if !self.code_dir.is_empty() || !self.path_major.is_empty() {
                return Ok(false);
            }
            let cached = incompatible_ok.borrow().get("").copied();
            let root_ok = match cached {
                Some(ok) => ok,
                None => {
                    let ok = self.read_file(info.name, "go.mod", MAX_GO_MOD)?.is_none();
                    incompatible_ok.borrow_mut().insert(String::new(), ok);
                    ok
                }
            };
            if !root_ok {
                return Ok(false);
            }
            if !v.is_empty() && !stat_vers.ends_with("+incompatible") {
                let major = semver::major(v).unwrap_or_default().to_owned();
                let cached = incompatible_ok.borrow().get(&major).copied();
                let ok = match cached {
                    Some(ok) => ok,
                    None => {
                        let file = format!("{major}/go.mod");
                        let ok = self.read_file(info.name, &file, MAX_GO_MOD)?.is_none();
                        incompatible_ok.borrow_mut().insert(major, ok);
                        ok
                    }
                };
                return Ok(ok);
            }
            Ok(true)
        };
        let check_canonical = |v: &str| -> Result<Resolved, GitError> {
            self.find_dir(v).map_err(|e| invalid(self.mod_path, v, e))?;
            let mut v = v.to_owned();
            if v == trim_incompatible(stat_vers) {
                v = stat_vers.to_owned();
            }
            let base = trim_incompatible(&v).to_owned();
            let mut err_incompatible = None;
            if !match_path_major(&base, &self.path_major) {
                if can_use_incompatible(&base)? {
                    v = format!("{base}+incompatible");
                } else if !self.path_major.is_empty() {
                    err_incompatible = Some(invalid(
                        self.mod_path,
                        &v,
                        "module path includes a major version suffix, so major version must match",
                    ));
                } else {
                    let major = semver::major(&v).unwrap_or_default();
                    err_incompatible = Some(invalid(
                        self.mod_path,
                        &v,
                        format!(
                            "module contains a go.mod file, so module path must match major version (\"{}/{major}\")",
                            self.path_prefix
                        ),
                    ));
                }
            } else if v.ends_with("+incompatible") {
                let major = semver::major(&v).unwrap_or_default();
                err_incompatible = Some(invalid(
                    self.mod_path,
                    &v,
                    format!(
                        "+incompatible suffix not allowed: major version {major} is compatible"
                    ),
                ));
            }
            if !stat_vers.is_empty() && canonical_version(stat_vers).as_deref() == Some(stat_vers) {
                let stat_base = trim_incompatible(stat_vers);
                if stat_base != base {
                    return Err(invalid(
                        self.mod_path,
                        stat_vers,
                        format!("resolves to version {v} ({stat_base} is not a tag)"),
                    ));
                }
            }
            if let Some(e) = err_incompatible {
                return Err(e);
            }
            Ok(Resolved {
                version: v,
                time: info.time,
            })
        };

        if is_pseudo_version(stat_vers) {
            let resolved = check_canonical(stat_vers)?;
            self.validate_pseudo_version(info, stat_vers)?;
            return Ok(resolved);
        }

        let tag_prefix = self.tag_prefix();
        let is_retracted = self.retracted();
        if let Some((v, true)) = tag_to_version(&info.version, &tag_prefix)
            && let Ok(resolved) = check_canonical(&v)
        {
            return Ok(resolved);
        }
        let mut highest_canonical = String::new();
        let mut pseudo_base = String::new();
        for tag in &info.tags {
            let (v, canonical) = tag_to_version(tag, &tag_prefix).unwrap_or_default();
            if !stat_vers.is_empty() && semver::compare(&v, stat_vers).is_eq() {
                if canonical {
                    return check_canonical(&v);
                }
                pseudo_base = v.clone();
            }
            if canonical
                && semver::compare(&highest_canonical, &v).is_lt()
                && !is_retracted(&v)
                && (match_path_major(&v, &self.path_major) || can_use_incompatible(&v)?)
            {
                highest_canonical = v;
            }
        }
        if !highest_canonical.is_empty() {
            return check_canonical(&highest_canonical);
        }
        if pseudo_base.is_empty() {
            // `allowed` may not fail; a go.mod read error counts as "not allowed".
            let allowed = |tag: &str| {
                let Some((v, _)) = tag_to_version(tag, &tag_prefix) else {
                    return false;
                };
                (match_path_major(&v, &self.path_major)
                    || can_use_incompatible(&v).unwrap_or(false))
                    && !is_retracted(&v)
            };
            if let Some(tag) = self.recent_tag(info.name, &tag_prefix, allowed)? {
                pseudo_base = tag_to_version(&tag, &tag_prefix).unwrap_or_default().0;
            }
        }
        let pseudo = pseudo_version(
            &self.pseudo_major,
            &pseudo_base,
            &pseudo_timestamp(info.time),
            &info.short,
        );
        check_canonical(&pseudo)
    }

    /// `validatePseudoVersion`: the pseudo-version must be the one the go command would
    /// have made for its commit.
    fn validate_pseudo_version(&self, info: &RevInfo, version: &str) -> Result<(), GitError> {
        let bad = |reason: String| invalid_pseudo(self.mod_path, version, reason);
        let rev = pseudo_version_rev(version).ok_or_else(|| bad("syntax error".into()))?;
        if rev != info.short {
            return Err(bad(if rev.starts_with(&info.short) {
                format!(
                    "revision is longer than canonical (expected {})",
                    info.short
                )
            } else if info.short.starts_with(rev) {
                format!(
                    "revision is shorter than canonical (expected {})",
                    info.short
                )
            } else {
                format!(
                    "does not match short name of revision (expected {})",
                    info.short
                )
            }));
        }
        let expected = pseudo_timestamp(info.time);
        if godepot_module::pseudo_version_time(version).as_deref() != Some(expected.as_str()) {
            return Err(bad(format!(
                "does not match version-control timestamp (expected {expected})"
            )));
        }
        let tag_prefix = self.tag_prefix();
        let Some(base) = pseudo_version_base(trim_incompatible(version)).map_err(bad)? else {
            if self.pseudo_major.is_empty() && semver::major(version) == Some("v1") {
                return Err(bad(
                    "major version without preceding tag must be v0, not v1".into(),
                ));
            }
            return Ok(());
        };
        for tag in &info.tags {
            if tag.strip_prefix(&tag_prefix).unwrap_or(tag) == base {
                return Err(bad(format!(
                    "tag ({tag}) found on revision {rev} is already canonical, so should not be replaced with a pseudo-version derived from that tag"
                )));
            }
        }
        let mut last_tag = None;
        for (tag, target) in &self.tags {
            let Some(only) = tag.strip_prefix(&tag_prefix) else {
                continue;
            };
            if !tag.starts_with(&format!("{tag_prefix}{base}"))
                || !semver::compare(only, &base).is_eq()
            {
                continue;
            }
            last_tag = Some(tag.clone());
            if self.descends_from(info.name, *target)? {
                return Ok(());
            }
        }
        match last_tag {
            None => Err(bad(format!("preceding tag ({base}) not found"))),
            Some(tag) => Err(bad(format!(
                "revision {rev} is not a descendent of preceding tag ({tag})"
            ))),
        }
    }

    /// Whether the module's latest go.mod retracts `v` (no retractions when that go.mod
    /// cannot be read, as the go command treats that error).
    pub(crate) fn retracted(&self) -> impl Fn(&str) -> bool + use<> {
        let intervals = self.retracted_versions().unwrap_or_default();
        move |v: &str| {
            intervals
                .iter()
                .any(|(lo, hi)| semver::compare(lo, v).is_le() && semver::compare(v, hi).is_le())
        }
    }

    /// `retractedVersions`: the retract intervals of the highest version's go.mod.
    fn retracted_versions(&self) -> Result<Vec<(String, String)>, GitError> {
        let versions: Vec<String> = self
            .versions()?
            .into_iter()
            .take_while(|v| !v.ends_with("+incompatible"))
            .collect();
        let Some(highest) = prefer_release(&versions) else {
            return Ok(Vec::new());
        };
        let data = self.go_mod(highest)?;
        let file = parse_go_mod(&data).map_err(|e| GitError::not_found(e.to_string()))?;
        Ok(file.retract.into_iter().map(|r| (r.low, r.high)).collect())
    }

    /// `findDir`: the commit, the module's directory, and its go.mod if already read.
    pub(crate) fn find_dir(
        &self,
        version: &str,
    ) -> Result<(ObjectId, String, Option<Vec<u8>>), String> {
        if !semver::is_valid(version) {
            return Err("syntax error".into());
        }
        let rev = self.rev_to_rev(version);
        let info = self.code_stat(&rev).map_err(|e| e.to_string())?;
        let read = |file: &str| {
            self.read_file(info.name, file, MAX_GO_MOD)
                .map_err(|e| format!("reading {}/{file} at revision {rev}: {e}", self.code_root))
        };
        let module_path = |data: &Option<Vec<u8>>| {
            data.as_deref()
                .and_then(|d| parse_go_mod(d).ok())
                .and_then(|f| f.module)
                .unwrap_or_default()
        };
        let file1 = self.join(&self.code_dir, "go.mod");
        let gomod1 = read(&file1)?;
        let mpath1 = module_path(&gomod1);
        let found1 = gomod1.is_some()
            && (is_major(&mpath1, &self.path_major)
                || (self.path_major.is_empty() && mpath1.starts_with("gopkg.in/")));
        let mut file2 = String::new();
        if !self.path_major.is_empty()
            && self.code_root != self.mod_path
            && !self.path_major.starts_with('.')
        {
            let dir2 = self.join(&self.code_dir, &self.path_major[1..]);
            file2 = self.join(&dir2, "go.mod");
            let gomod2 = read(&file2)?;
            let mpath2 = module_path(&gomod2);
            let found2 = gomod2.is_some() && is_major(&mpath2, &self.path_major);
            if found1 && found2 {
                return Err(format!(
                    "{}/{file1} and ...{}/go.mod both have ...{} module paths at revision {rev}",
                    self.path_prefix, self.path_major, self.path_major
                ));
            }
            if found2 {
                return Ok((info.name, dir2, gomod2));
            }
            if gomod2.is_some() {
                if mpath2.is_empty() {
                    return Err(format!(
                        "{}/{file2} is missing module path at revision {rev}",
                        self.code_root
                    ));
                }
                return Err(format!(
                    "{}/{file2} has non-...{} module path {mpath2:?} at revision {rev}",
                    self.code_root, self.path_major
                ));
            }
        }
        if found1 {
            return Ok((info.name, self.code_dir.clone(), gomod1));
        }
        if gomod1.is_some() {
            let suffix = if file2.is_empty() {
                String::new()
            } else {
                format!(" (and ...{}/go.mod does not exist)", self.path_major)
            };
            if mpath1.is_empty() {
                return Err(format!(
                    "{file1} is missing module path{suffix} at revision {rev}"
                ));
            }
            if !self.path_major.is_empty() {
                return Err(format!(
                    "{file1} has non-...{} module path {mpath1:?}{suffix} at revision {rev}",
                    self.path_major
                ));
            }
            if split_path_version(&mpath1).is_none() {
                return Err(format!(
                    "{file1} has malformed module path {mpath1:?}{suffix} at revision {rev}"
                ));
            }
            return Err(format!(
                "{file1} has post-{} module path {mpath1:?}{suffix} at revision {rev}",
                semver::major(version).unwrap_or_default()
            ));
        }
        if self.code_dir.is_empty()
            && (self.path_major.is_empty() || self.path_major.starts_with('.'))
        {
            return Ok((info.name, String::new(), None));
        }
        if !file2.is_empty() {
            return Err(format!(
                "missing {}/go.mod and ...{}/go.mod at revision {rev}",
                self.path_prefix, self.path_major
            ));
        }
        Err(format!(
            "missing {}/go.mod at revision {rev}",
            self.path_prefix
        ))
    }

    /// `GoMod`: the go.mod of a version, or the `module` line the go command synthesizes.
    pub(crate) fn go_mod(&self, version: &str) -> Result<Vec<u8>, GitError> {
        let (rev, dir, gomod) = self
            .find_dir(version)
            .map_err(|e| invalid(self.mod_path, version, e))?;
        if let Some(data) = gomod {
            return Ok(data);
        }
        match self.read_file(rev, &self.join(&dir, "go.mod"), MAX_GO_MOD)? {
            Some(data) => Ok(data),
            None => Ok(legacy_go_mod(self.mod_path)),
        }
    }

    /// The module's commit and directory for its zip (after `find_dir`).
    pub(crate) fn zip_source(&self, version: &str) -> Result<(ObjectId, String), GitError> {
        let (rev, dir, _) = self
            .find_dir(version)
            .map_err(|e| invalid(self.mod_path, version, e))?;
        Ok((rev, dir))
    }

    /// The root LICENSE to carry into a module in a subdirectory that has none.
    pub(crate) fn root_license(&self, rev: ObjectId) -> Option<Vec<u8>> {
        self.read_file(rev, "LICENSE", MAX_LICENSE).ok().flatten()
    }
}

/// The highest release in a sorted list, else its highest pre-release: how the go command
/// picks from the versions a query matches (and `retractedVersions` its go.mod source).
pub(crate) fn prefer_release<S: AsRef<str>>(sorted: &[S]) -> Option<&S> {
    sorted
        .iter()
        .rev()
        .find(|v| semver::prerelease(v.as_ref()).is_none())
        .or(sorted.last())
}

/// `LegacyGoMod`: `module <path>`. (`modfile.AutoQuote` would quote a path with spaces
/// or quotes, which no valid module path has.)
pub(crate) fn legacy_go_mod(path: &str) -> Vec<u8> {
    format!("module {path}\n").into_bytes()
}
