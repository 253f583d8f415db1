//! The golang.org/x/mod `module` and `semver` vectors, every row.

mod common;

use std::cmp::Ordering;

use common::jsonl;
use godepot_module::{
    ModulePath, check, check_file_path, check_import_path, check_path, escape_path, semver,
    unescape_path,
};
use serde_json::Value;

fn str_field<'a>(row: &'a Value, key: &str) -> &'a str {
    row[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} missing in {row}"))
}

/// A path given as a string, or as `{"hex": ...}` when it is not UTF-8.
fn path_bytes(row: &Value) -> Vec<u8> {
    match &row["path"] {
        Value::String(s) => s.clone().into_bytes(),
        Value::Object(o) => {
            let hex = o["hex"].as_str().unwrap();
            (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect()
        }
        other => panic!("bad path {other}"),
    }
}

#[test]
fn check_path_rows() {
    let rows = jsonl("x-mod-module/module-check-path.jsonl");
    for row in &rows {
        let bytes = path_bytes(row);
        let expect = |k: &str| row[k].as_bool().unwrap();
        let Ok(path) = std::str::from_utf8(&bytes) else {
            // Non-UTF-8 cannot even be a &str; all three kinds reject it.
            assert!(
                !expect("module_ok") && !expect("import_ok") && !expect("file_ok"),
                "{row}"
            );
            assert!(
                ModulePath::parse_bytes(&bytes)
                    .unwrap_err()
                    .to_string()
                    .contains("invalid UTF-8")
            );
            continue;
        };
        assert_eq!(
            check_path(path).is_ok(),
            expect("module_ok"),
            "check_path {row}: {:?}",
            check_path(path)
        );
        assert_eq!(
            check_import_path(path).is_ok(),
            expect("import_ok"),
            "check_import_path {row}"
        );
        assert_eq!(
            check_file_path(path).is_ok(),
            expect("file_ok"),
            "check_file_path {row}"
        );
        assert_eq!(
            ModulePath::parse(path).is_ok(),
            expect("module_ok"),
            "ModulePath {row}"
        );
    }
}

#[test]
fn check_path_version_rows() {
    for row in &jsonl("x-mod-module/module-check-path-version.jsonl") {
        let (path, version) = (str_field(row, "path"), str_field(row, "version"));
        let ok = row["ok"].as_bool().unwrap();
        assert_eq!(
            check(path, version).is_ok(),
            ok,
            "check {row}: {:?}",
            check(path, version)
        );
    }
}

#[test]
fn escape_rows() {
    for row in &jsonl("x-mod-module/module-escape.jsonl") {
        let (path, escaped) = (str_field(row, "path"), str_field(row, "escaped"));
        assert_eq!(escape_path(path).as_deref(), Ok(escaped), "escape {row}");
        assert_eq!(
            unescape_path(escaped).as_deref(),
            Ok(path),
            "unescape {row}"
        );
        assert_eq!(ModulePath::parse(path).unwrap().escaped(), escaped);
    }
}

#[test]
fn bad_unescape_rows() {
    for row in &jsonl("x-mod-module/module-bad-unescape.jsonl") {
        let escaped = str_field(row, "escaped");
        assert!(
            unescape_path(escaped).is_err(),
            "unescape should reject {row}"
        );
        assert!(
            ModulePath::from_escaped(escaped).is_err(),
            "from_escaped should reject {row}"
        );
    }
}

#[test]
fn semver_canonical_rows() {
    for row in &jsonl("x-mod-module/semver-canonical.jsonl") {
        let (input, canonical) = (str_field(row, "in"), str_field(row, "canonical"));
        let expect = (!canonical.is_empty()).then(|| canonical.to_owned());
        assert_eq!(semver::canonical(input), expect, "canonical {row}");
        assert_eq!(semver::is_valid(input), expect.is_some(), "is_valid {row}");
    }
}

/// Rows are in ascending precedence; equal canonical forms compare equal, and
/// every invalid row sorts below every valid one.
#[test]
fn semver_compare_rows() {
    let rows = jsonl("x-mod-module/semver-canonical.jsonl");
    let versions: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (str_field(r, "in"), str_field(r, "canonical")))
        .collect();
    for (i, (a, ca)) in versions.iter().enumerate() {
        for (j, (b, cb)) in versions.iter().enumerate() {
            let expect = match (ca.is_empty(), cb.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Less,
                (false, true) => Ordering::Greater,
                (false, false) if ca == cb => Ordering::Equal,
                (false, false) => i.cmp(&j),
            };
            assert_eq!(semver::compare(a, b), expect, "compare({a:?}, {b:?})");
        }
    }
}
