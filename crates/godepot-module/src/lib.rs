//! Go module semantics for godepot, with no I/O of its own.
//!
//! Each module restates, in Rust, one part of what the go command (via
//! `golang.org/x/mod`) decides about modules, so that godepot accepts and serves
//! exactly what `go` would:
//!
//! | module      | Go counterpart            | what it decides                                      |
//! |-------------|---------------------------|------------------------------------------------------|
//! | [`semver`]  | `semver`                  | version validity, canonical form, precedence         |
//! | `path`      | `module` (Check*)         | valid module/import/file paths, major-version suffix |
//! | `escape`    | `module` (Escape*)        | the `!`-case encoding used in proxy URLs             |
//! | `version`   | `module` (pseudo-versions)| [`ModulePath`] / [`Version`] newtypes, "latest"     |
//! | `h1`        | `sumdb/dirhash`           | the `h1:` hash recorded in go.sum                    |
//! | `zipcheck`  | `zip`                     | which module zips are acceptable, and their hash     |
//! | `gomod`     | `modfile` (lax)           | go.mod and go.work contents                          |
//! | `gosum`     | go.sum format             | go.sum lines                                         |
//! | `pseudo`    | `module` pseudo.go, coderepo tags | pseudo-versions, tag → version, commit times  |
//!
//! Callers own all reading and writing; functions here take bytes or readers and
//! only interpret them.

mod error;
mod escape;
mod glob;
mod gomod;
mod gosum;
mod h1;
mod path;
mod pseudo;
pub mod semver;
mod toolchain;
mod version;
mod zipcheck;

pub use error::ModuleError;
pub use escape::{escape_path, escape_version, unescape_path, unescape_version};
pub use gomod::{
    GoMod, GoModCheckError, GoModError, GoWork, ModVersionRef, Replace, Require, Retract,
    check_go_mod_for, parse_go_mod, parse_go_work,
};
pub use gosum::{GoSumError, SumLine, parse_go_sum};
pub use h1::{hash_go_mod, hash1, sha256};
pub use path::{
    check, check_file_path, check_import_path, check_path, check_path_major, is_valid_glob,
    matches_glob_prefix, split_path_version,
};
pub use pseudo::{
    info_time, is_major, match_path_major, path_major_prefix, pseudo_timestamp, pseudo_version,
    pseudo_version_base, pseudo_version_rev, tag_list_version, tag_to_version,
};
pub use toolchain::{TOOLCHAIN_MODULE, host_platform, toolchain_version};
pub use version::{
    ModulePath, Version, canonical_version, is_pseudo_version, pick_latest, pseudo_version_time,
};
pub use zipcheck::{
    FileCheck, FileEntry, FileIssue, FileKind, MAX_GO_MOD, MAX_LICENSE, MAX_ZIP_FILE, ZipError,
    ZipSummary, check_dir, check_files, check_zip_entries, inspect_zip,
};
