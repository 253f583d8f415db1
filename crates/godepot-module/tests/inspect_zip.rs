//! `inspect_zip` behaviour beyond the conformance vectors: limits, error
//! wording, and how directory entries count.

mod common;

use std::io::{Cursor, Read, Seek, SeekFrom};

use common::{deflate_zip, raw_zip};
use godepot_module::{ModulePath, Version, ZipError, hash1, inspect_zip, sha256};

fn module() -> (ModulePath, Version) {
    (
        ModulePath::parse("example.com/m").unwrap(),
        Version::parse("v1.0.0").unwrap(),
    )
}

fn inspect(zip: Vec<u8>) -> Result<godepot_module::ZipSummary, ZipError> {
    let (path, version) = module();
    inspect_zip(Cursor::new(zip), &path, &version)
}

#[test]
fn rejections_table() {
    /// `expect` is the whole message, or its start where the zip crate words the rest.
    fn check(zip: Vec<u8>, expect: &str) {
        let got = inspect(zip).map(|s| s.h1).map_err(|e| e.to_string());
        let message = got.as_ref().expect_err("should be rejected");
        assert!(
            message.starts_with(expect),
            "{message:?} should start with {expect:?}"
        );
    }
    check(b"not a zip".to_vec(), "reading module zip: ");
    check(
        raw_zip(&[(b"other@v1.0.0/a.go", b""), (b"x", b"")]),
        "other@v1.0.0/a.go: path does not have prefix \"example.com/m@v1.0.0/\" (and 1 more invalid entries)",
    );
    check(
        raw_zip(&[
            (b"example.com/m@v1.0.0/a.go", b"1"),
            (b"example.com/m@v1.0.0/a.go", b"2"),
        ]),
        "example.com/m@v1.0.0/a.go: multiple entries for file \"a.go\"",
    );
    check(
        raw_zip(&[(b"example.com/m@v1.0.0/\xff.go", b"")]),
        "\"example.com/m@v1.0.0/\\xff.go\": invalid UTF-8",
    );
}

#[test]
fn directory_entries_are_hashed_but_not_counted() {
    let zip = deflate_zip(&[
        ("example.com/m@v1.0.0/sub/", b""),
        ("example.com/m@v1.0.0/sub/a.go", b"package a\n"),
    ]);
    let summary = inspect(zip).unwrap();
    let expect = hash1(&[
        ("example.com/m@v1.0.0/sub/".to_owned(), sha256(b"")),
        (
            "example.com/m@v1.0.0/sub/a.go".to_owned(),
            sha256(b"package a\n"),
        ),
    ])
    .unwrap();
    assert_eq!(
        (summary.files, summary.unpacked_size, summary.h1),
        (1, 10, expect)
    );
}

#[test]
fn the_root_go_mod_is_handed_back_for_checking() {
    let with = deflate_zip(&[
        ("example.com/m@v1.0.0/go.mod", b"module example.com/other\n"),
        ("example.com/m@v1.0.0/sub/go.mod.txt", b"x"),
    ]);
    assert_eq!(
        inspect(with).unwrap().go_mod.as_deref(),
        Some(&b"module example.com/other\n"[..])
    );
    let without = deflate_zip(&[("example.com/m@v1.0.0/a.go", b"package a\n")]);
    assert_eq!(inspect(without).unwrap().go_mod, None);
}

/// A reader that claims to be larger than any module zip may be.
struct Huge;

impl Read for Huge {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        Ok(0)
    }
}

impl Seek for Huge {
    fn seek(&mut self, _: SeekFrom) -> std::io::Result<u64> {
        Ok(godepot_module::MAX_ZIP_FILE + 1)
    }
}

#[test]
fn oversized_zip_is_rejected_before_reading() {
    let (path, version) = module();
    let err = inspect_zip(Huge, &path, &version).unwrap_err();
    assert_eq!(
        err.to_string(),
        "module zip file is too large (524288001 bytes; limit is 524288000 bytes)"
    );
}
