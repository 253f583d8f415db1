//! The files' contents as typed models. Every struct keeps the fields it does not name
//! (`extra`), so a model read from a newer database loses nothing; but the bytes a client
//! is served are always the bytes received, never these models re-serialized.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Timestamp;

/// Fields a model does not name, kept as read.
pub type Extra = Map<String, Value>;

/// `index/db.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbMeta {
    /// When the newest entry was last modified.
    pub modified: Timestamp,
    #[serde(flatten)]
    pub extra: Extra,
}

/// One element of `index/modules.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleMeta {
    /// The module path (or `stdlib` / `toolchain`).
    pub path: String,
    /// The entries that affect some version of it.
    #[serde(default)]
    pub vulns: Vec<ModuleVuln>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// One vulnerability of a module in `index/modules.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleVuln {
    pub id: String,
    pub modified: Timestamp,
    /// The latest fixed version for this module (no `v` prefix), absent when a version
    /// after every fix is affected. govulncheck skips the entry for versions at or above it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// One element of `index/vulns.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VulnMeta {
    pub id: String,
    pub modified: Timestamp,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// An OSV entry (`ID/<id>.json`), the fields the Go database uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub id: String,
    pub modified: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<Timestamp>,
    /// Set when the entry was withdrawn: it then affects nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub affected: Vec<Affected>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// What an entry affects in one module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Affected {
    pub package: Package,
    /// No ranges at all means every version.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<Range>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecosystem_specific: Option<EcosystemSpecific>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `affected[].package`: in the Go database, `name` is the module path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    pub name: String,
    #[serde(default)]
    pub ecosystem: String,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `affected[].ranges[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    /// `SEMVER` is the only type the Go database writes (and the only one evaluated).
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub events: Vec<Event>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The range type evaluated: semantic versions without the `v` prefix.
pub const SEMVER: &str = "SEMVER";

/// One event of a range: exactly one of its fields is set in a well-formed entry.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Event {
    /// A version that introduces the vulnerability; `"0"` is before every version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introduced: Option<String>,
    /// The first version with the fix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `affected[].ecosystem_specific`: which packages and symbols are vulnerable (what
/// govulncheck's symbol-level analysis looks for).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EcosystemSpecific {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub imports: Vec<Import>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// One vulnerable package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Import {
    pub path: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub goos: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub goarch: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub symbols: Vec<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A file that is not what its place in the layout says.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {source}")]
pub struct ModelError {
    /// The file, as [`crate::DbFile::rel`].
    pub file: String,
    #[source]
    pub source: serde_json::Error,
}

fn parse<T: serde::de::DeserializeOwned>(file: &str, bytes: &[u8]) -> Result<T, ModelError> {
    serde_json::from_slice(bytes).map_err(|source| ModelError {
        file: file.to_owned(),
        source,
    })
}

/// Reads `index/db.json`.
pub fn parse_db_meta(bytes: &[u8]) -> Result<DbMeta, ModelError> {
    parse("index/db.json", bytes)
}

/// Reads `index/modules.json`.
pub fn parse_modules(bytes: &[u8]) -> Result<Vec<ModuleMeta>, ModelError> {
    parse("index/modules.json", bytes)
}

/// Reads `index/vulns.json`.
pub fn parse_vulns(bytes: &[u8]) -> Result<Vec<VulnMeta>, ModelError> {
    parse("index/vulns.json", bytes)
}

/// Reads an entry; `file` names it in errors.
pub fn parse_entry(file: &str, bytes: &[u8]) -> Result<Entry, ModelError> {
    parse(file, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_unknown_fields() {
        let raw = br#"{"schema_version":"1.3.1","id":"GO-2023-0001","modified":"2023-04-03T15:57:51Z",
            "affected":[{"package":{"name":"example.com/m","ecosystem":"Go"},
              "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.2.0"}]}],
              "ecosystem_specific":{"imports":[{"path":"example.com/m/p","symbols":["F"],"future":1}]}}],
            "references":[{"type":"FIX","url":"https://example.invalid/fix"}]}"#;
        let e = parse_entry("ID/GO-2023-0001.json", raw).unwrap();
        assert_eq!(e.extra["schema_version"], "1.3.1");
        assert!(e.extra.contains_key("references"));
        let import = &e.affected[0].ecosystem_specific.as_ref().unwrap().imports[0];
        assert_eq!(import.symbols, ["F"]);
        assert_eq!(import.extra["future"], 1);
        let again: Entry = serde_json::from_value(serde_json::to_value(&e).unwrap()).unwrap();
        assert_eq!(again, e);
    }

    #[test]
    fn refuses_bad_times() {
        let err = parse_db_meta(br#"{"modified":"yesterday"}"#).unwrap_err();
        assert!(err.to_string().starts_with("index/db.json: "), "{err}");
    }
}
