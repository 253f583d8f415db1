//! The golang.org/x/mod `zip` vectors: file classification (check_files,
//! check_dir, check_zip), zip acceptance (unzip) and the h1 hash of zips built
//! from files (create, create_from_dir).

mod common;

use std::io::Cursor;

use common::{Txtar, deflate_zip, raw_zip, txtar_dir};
use godepot_module::{
    FileCheck, FileEntry, ModulePath, Version, check_dir, check_files, check_zip_entries,
    inspect_zip,
};

/// The `-- want --` section as (valid, omitted, invalid) lines.
fn parse_want(want: &str) -> [Vec<String>; 3] {
    let mut lists: [Vec<String>; 3] = Default::default();
    let mut current = None;
    for line in want.lines().filter(|l| !l.is_empty()) {
        match line {
            "valid:" => current = Some(0),
            "omitted:" => current = Some(1),
            "invalid:" => current = Some(2),
            item => lists[current.expect("item before heading")].push(item.to_owned()),
        }
    }
    lists
}

fn as_lines(check: &FileCheck, prefix: &str) -> [Vec<String>; 3] {
    let issues =
        |v: &[godepot_module::FileIssue]| v.iter().map(|i| format!("{prefix}{i}")).collect();
    [
        check.valid.iter().map(|v| format!("{prefix}{v}")).collect(),
        issues(&check.omitted),
        issues(&check.invalid),
    ]
}

fn utf8(b: &[u8]) -> &str {
    std::str::from_utf8(b).expect("section names in these cases are UTF-8")
}

fn entries(case: &Txtar) -> Vec<FileEntry> {
    case.content_files()
        .map(|(n, c)| FileEntry::file(utf8(n), c.len() as u64))
        .collect()
}

fn root_go_mod(case: &Txtar) -> Option<&[u8]> {
    case.content_files()
        .find(|(n, _)| *n == b"go.mod")
        .map(|(_, c)| c)
}

#[test]
fn check_files_cases() {
    for case in txtar_dir("x-mod-zip/check_files") {
        let got = check_files(&entries(&case), root_go_mod(&case));
        let want = parse_want(&case.want().unwrap());
        assert_eq!(as_lines(&got, ""), want, "{}", case.name);
        assert_eq!(got.is_ok(), want[2].is_empty(), "{}", case.name);
    }
}

/// Go walks the directory, so the vectors list results sorted.
#[test]
fn check_dir_cases() {
    for case in txtar_dir("x-mod-zip/check_dir") {
        let got = check_dir(&entries(&case), root_go_mod(&case));
        let mut got = as_lines(&got, "$work/");
        got.iter_mut().for_each(|l| l.sort());
        let mut want = parse_want(&case.want().unwrap());
        want.iter_mut().for_each(|l| l.sort());
        assert_eq!(got, want, "{}", case.name);
    }
}

fn module(case: &Txtar) -> Result<(ModulePath, Version), String> {
    let path = ModulePath::parse_bytes(case.get("path").unwrap()).map_err(|e| e.to_string())?;
    let version = case.get_str("version").unwrap();
    let version = Version::for_module(&path, &version).map_err(|e| e.to_string())?;
    Ok((path, version))
}

#[test]
fn check_zip_cases() {
    for case in txtar_dir("x-mod-zip/check_zip") {
        let (path, version) = module(&case).unwrap();
        let listed: Vec<(&str, u64)> = case
            .content_files()
            .map(|(n, c)| (utf8(n), c.len() as u64))
            .collect();
        let got = check_zip_entries(&path, &version, &listed);
        let want = parse_want(&case.want().unwrap());
        assert_eq!(as_lines(&got, ""), want, "{}", case.name);

        let files: Vec<(&[u8], &[u8])> = case.content_files().collect();
        let inspected = inspect_zip(Cursor::new(raw_zip(&files)), &path, &version);
        assert_eq!(
            inspected.is_ok(),
            want[2].is_empty(),
            "{}: {inspected:?}",
            case.name
        );
    }
}

/// Checks one acceptance case: either the error contains `wantErr`, or the
/// zip is accepted with hash `hash`.
fn expect_outcome(case: &Txtar, outcome: Result<String, String>) {
    match (case.get_str("wantErr"), case.get_str("hash")) {
        (Some(want), _) => {
            let err = outcome.expect_err(&format!("{}: should fail with {want:?}", case.name));
            assert!(
                err.contains(&want),
                "{}: error {err:?} should contain {want:?}",
                case.name
            );
        }
        (None, Some(hash)) => assert_eq!(outcome, Ok(hash), "{}", case.name),
        (None, None) => panic!("{}: neither wantErr nor hash", case.name),
    }
}

#[test]
fn unzip_cases() {
    for case in txtar_dir("x-mod-zip/unzip") {
        let outcome = module(&case).and_then(|(path, version)| {
            let files: Vec<(&[u8], &[u8])> = case.content_files().collect();
            let stored = inspect_zip(Cursor::new(raw_zip(&files)), &path, &version)
                .map(|s| s.h1)
                .map_err(|e| e.to_string());
            if let Ok(h1) = &stored {
                // The same entries deflated must hash the same: the hash is of contents.
                let named: Vec<(&str, &[u8])> = files.iter().map(|(n, c)| (utf8(n), *c)).collect();
                let deflated =
                    inspect_zip(Cursor::new(deflate_zip(&named)), &path, &version).unwrap();
                assert_eq!(&deflated.h1, h1, "{}", case.name);
                assert_eq!(deflated.files, files.len() as u64, "{}", case.name);
            }
            stored
        });
        expect_outcome(&case, outcome);
    }
}

/// Builds the zip Go's `Create`/`CreateFromDir` would (the valid files under the
/// module prefix) and returns its hash, or the first classification problem.
fn create(
    case: &Txtar,
    classify: fn(&[FileEntry], Option<&[u8]>) -> FileCheck,
) -> Result<String, String> {
    let (path, version) = module(case)?;
    let check = classify(&entries(case), root_go_mod(case));
    if let Some(problem) = check
        .size_error
        .clone()
        .or_else(|| check.invalid.first().map(ToString::to_string))
    {
        return Err(problem);
    }
    let prefix = format!("{path}@{version}/");
    let zipped: Vec<(String, &[u8])> = check
        .valid
        .iter()
        .map(|v| {
            let content = case.content_files().find(|(n, _)| utf8(n) == v).unwrap().1;
            (format!("{prefix}{v}"), content)
        })
        .collect();
    let named: Vec<(&str, &[u8])> = zipped.iter().map(|(n, c)| (n.as_str(), *c)).collect();
    inspect_zip(Cursor::new(deflate_zip(&named)), &path, &version)
        .map(|s| s.h1)
        .map_err(|e| e.to_string())
}

#[test]
fn create_cases() {
    for case in txtar_dir("x-mod-zip/create") {
        expect_outcome(&case, create(&case, check_files));
    }
}

#[test]
fn create_from_dir_cases() {
    for case in txtar_dir("x-mod-zip/create_from_dir") {
        expect_outcome(&case, create(&case, check_dir));
    }
}
