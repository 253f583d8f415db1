use std::io::Write;

use super::*;
use crate::testutil::{key, zip_of, zip_with_go_mod};

fn file_with(data: &[u8]) -> File {
    let mut file = tempfile::tempfile().unwrap();
    file.write_all(data).unwrap();
    file
}

/// (version, kind, content, what it must inspect as or the error it must mention)
type InspectCase = (
    &'static str,
    Kind,
    Vec<u8>,
    Result<&'static str, &'static str>,
);

#[test]
fn inspect_table() {
    let good_zip = zip_of("example.com/a", "v1.0.0");
    let other_zip = zip_of("example.com/a", "v1.1.0");
    let cases: Vec<InspectCase> = vec![
        ("v1.0.0", Kind::Zip, good_zip.clone(), Ok("zip")),
        ("v1.0.0", Kind::Zip, other_zip, Err("invalid module zip")),
        (
            "v1.0.0",
            Kind::Zip,
            zip_with_go_mod("example.com/a", "v1.0.0", "module example.com/b\n"),
            Err("its go.mod: parsing go.mod: module declares its path as: example.com/b"),
        ),
        (
            "v1.0.0",
            Kind::Zip,
            zip_with_go_mod("example.com/a", "v1.0.0", "<html>sign in</html>\n"),
            Err("its go.mod: parsing go.mod"),
        ),
        // A +incompatible version predates modules: its go.mod may say anything.
        (
            "v2.0.0+incompatible",
            Kind::Zip,
            zip_with_go_mod("example.com/a", "v2.0.0+incompatible", "module other\n"),
            Ok("zip"),
        ),
        (
            "v1.0.0",
            Kind::Mod,
            b"<html><body>Please log in</body></html>\n".to_vec(),
            Err("invalid go.mod: parsing go.mod"),
        ),
        (
            "v1.0.0",
            Kind::Mod,
            b"module example.com/b\n".to_vec(),
            Err("module declares its path as: example.com/b but was required as: example.com/a"),
        ),
        (
            "v2.0.0+incompatible",
            Kind::Mod,
            b"module example.com/a\n".to_vec(),
            Ok("mod"),
        ),
        (
            "v1.0.0",
            Kind::Zip,
            b"not a zip".to_vec(),
            Err("invalid module zip"),
        ),
        (
            "v1.0.0",
            Kind::Mod,
            b"module example.com/a\n".to_vec(),
            Ok("mod"),
        ),
        (
            "v1.0.0",
            Kind::Info,
            br#"{"Version":"v1.0.0","Time":"2024-01-01T00:00:00Z"}"#.to_vec(),
            Ok("info"),
        ),
        (
            "v1.0.0",
            Kind::Info,
            br#"{"Version":"v1.1.0"}"#.to_vec(),
            Err("names version"),
        ),
        ("v1.0.0", Kind::Info, b"v1.0.0".to_vec(), Err("not JSON")),
        (
            "v1.0.0",
            Kind::ZipHash,
            b"h1:abc=\n".to_vec(),
            Ok("ziphash"),
        ),
        (
            "v1.0.0",
            Kind::ZipHash,
            b"sha1:abc".to_vec(),
            Err("not one h1"),
        ),
        (
            "v1.0.0",
            Kind::ZipHash,
            b"h1:a h1:b".to_vec(),
            Err("not one h1"),
        ),
    ];
    for (version, kind, data, want) in cases {
        let k = key("example.com/a", version, kind);
        let got = inspect(&k, &mut file_with(&data));
        // Read whole into memory (what verify and export do with small files): the same.
        let mut opened = Opened::read_whole(Box::new(Cursor::new(data.clone())), data.len() as u64)
            .expect("read whole");
        assert_eq!(inspect(&k, &mut opened), got, "{kind:?} in memory");
        match (want, &got) {
            (Ok("zip"), Ok(Facts::Zip { h1 })) => assert!(h1.starts_with("h1:")),
            (Ok("mod"), Ok(Facts::Mod { h1 })) => {
                assert_eq!(h1, &hash_go_mod(&data))
            }
            (Ok("info"), Ok(Facts::Info { time })) => {
                assert_eq!(time.as_deref(), Some("2024-01-01T00:00:00Z"))
            }
            (Ok("ziphash"), Ok(Facts::ZipHash { stated })) => assert_eq!(stated, "h1:abc="),
            (Err(msg), Err(reason)) => assert!(reason.contains(msg), "{kind:?}: {reason}"),
            _ => panic!("{kind:?} {data:?}: want {want:?}, got {got:?}"),
        }
    }
}

#[test]
fn check_expected_table() {
    let k = key("example.com/a", "v1.0.0", Kind::Mod);
    let facts = Facts::Mod {
        h1: "h1:right=".into(),
    };
    let record = |size, sha: &str, h1: Option<&str>| FileRecord {
        path: k.rel_path(),
        size,
        sha256: sha.into(),
        h1: h1.map(str::to_owned),
    };
    let mut sums = GoSums::default();
    sums.add("go.sum", b"example.com/a v1.0.0/go.mod h1:right=\n")
        .unwrap();
    let mut wrong_sums = GoSums::default();
    wrong_sums
        .add("go.sum", b"example.com/a v1.0.0/go.mod h1:wrong=\n")
        .unwrap();
    let cases = [
        (Some(record(5, "ab", Some("h1:right="))), &sums, Ok(())),
        (None, &sums, Ok(())),
        (
            Some(record(6, "ab", Some("h1:right="))),
            &sums,
            Err("size is 5"),
        ),
        (
            Some(record(5, "cd", Some("h1:right="))),
            &sums,
            Err("SHA-256"),
        ),
        (
            Some(record(5, "ab", Some("h1:other="))),
            &sums,
            Err("h1 hash"),
        ),
        (Some(record(5, "ab", None)), &sums, Err("h1 hash")),
        (None, &wrong_sums, Err("go.sum records")),
    ];
    for (record, sums, want) in cases {
        let got = check_expected(&k, 5, "ab", &facts, record.as_ref(), sums);
        match (want, got) {
            (Ok(()), Ok(())) => {}
            (Err(msg), Err(reason)) => assert!(reason.contains(msg), "{reason}"),
            (want, got) => panic!("{record:?}: want {want:?}, got {got:?}"),
        }
    }
}
