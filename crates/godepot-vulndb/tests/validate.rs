//! Validation of a whole copy, and queries over it.

use godepot_vulndb::{DbCopy, validate};

const T1: &str = "2024-01-10T00:00:00Z";
const T2: &str = "2024-02-20T12:00:00Z";

fn entry(id: &str, modified: &str, module: &str, events: &str, extra: &str) -> Vec<u8> {
    format!(
        r#"{{"schema_version":"1.3.1","id":"{id}","modified":"{modified}","aliases":["CVE-2024-{id}"],
        "summary":"Bad thing in {module}"{extra},
        "affected":[{{"package":{{"name":"{module}","ecosystem":"Go"}},
          "ranges":[{{"type":"SEMVER","events":[{events}]}}],
          "ecosystem_specific":{{"imports":[{{"path":"{module}/p","symbols":["F"]}}]}}}}]}}"#
    )
    .into_bytes()
}

fn good() -> DbCopy {
    let mut c = DbCopy {
        db: format!(r#"{{"modified":"{T2}"}}"#).into_bytes(),
        modules: format!(
            r#"[{{"path":"example.com/a","vulns":[{{"id":"GO-2024-0001","modified":"{T1}","fixed":"1.2.0"}},
                 {{"id":"GO-2024-0003","modified":"{T1}"}}]}},
               {{"path":"example.com/b","vulns":[{{"id":"GO-2024-0002","modified":"{T2}","fixed":"2.0.1"}}]}},
               {{"path":"stdlib","vulns":[{{"id":"GO-2024-0004","modified":"{T1}","fixed":"1.21.4"}}]}}]"#
        )
        .into_bytes(),
        ..DbCopy::default()
    };
    c.entries.insert(
        "GO-2024-0001".into(),
        entry(
            "GO-2024-0001",
            T1,
            "example.com/a",
            r#"{"introduced":"0"},{"fixed":"1.2.0"}"#,
            "",
        ),
    );
    c.entries.insert(
        "GO-2024-0002".into(),
        entry(
            "GO-2024-0002",
            T2,
            "example.com/b",
            r#"{"introduced":"2.0.0"},{"fixed":"2.0.1"}"#,
            "",
        ),
    );
    c.entries.insert(
        "GO-2024-0003".into(),
        entry(
            "GO-2024-0003",
            T1,
            "example.com/a",
            r#"{"introduced":"0"}"#,
            &format!(r#","withdrawn":"{T1}""#),
        ),
    );
    c.entries.insert(
        "GO-2024-0004".into(),
        entry(
            "GO-2024-0004",
            T1,
            "stdlib",
            r#"{"introduced":"1.21.0"},{"fixed":"1.21.4"}"#,
            "",
        ),
    );
    c
}

#[test]
fn a_good_copy_answers_queries() {
    let db = validate(&good()).unwrap();
    assert_eq!(db.modified().as_str(), T2);
    let found = db.affecting("example.com/a", "v1.1.0");
    assert_eq!(
        found.len(),
        1,
        "the withdrawn entry affects nothing: {found:?}"
    );
    assert_eq!(found[0].id, "GO-2024-0001");
    assert_eq!(found[0].aliases, ["CVE-2024-GO-2024-0001"]);
    assert_eq!(found[0].fixed.as_ref().unwrap().as_str(), "v1.2.0");
    assert_eq!(
        found[0].summary.as_deref(),
        Some("Bad thing in example.com/a")
    );
    assert!(db.affecting("example.com/a", "v1.2.0").is_empty());
    assert!(db.affecting("example.com/b", "v1.9.0").is_empty());
    assert_eq!(
        db.affecting("example.com/b", "v2.0.0")[0].id,
        "GO-2024-0002"
    );
    assert!(db.affecting("example.com/c", "v1.0.0").is_empty());
    assert_eq!(db.affecting("stdlib", "go1.21.3")[0].id, "GO-2024-0004");
    assert_eq!(db.affecting("stdlib", "v1.21.3")[0].id, "GO-2024-0004");
    assert!(db.affecting("stdlib", "go1.21.4").is_empty());
    assert!(db.affecting("stdlib", "go1.20").is_empty());
    assert!(db.entry("GO-2024-0003").unwrap().withdrawn.is_some());
}

#[test]
fn vulns_index_is_checked_when_present() {
    let mut c = good();
    c.vulns = Some(
        format!(
            r#"[{{"id":"GO-2024-0001","modified":"{T1}"}},{{"id":"GO-2024-0002","modified":"{T2}"}},
               {{"id":"GO-2024-0003","modified":"{T1}"}},{{"id":"GO-2024-0004","modified":"{T1}"}}]"#
        )
        .into_bytes(),
    );
    validate(&c).unwrap();
    c.vulns = Some(format!(r#"[{{"id":"GO-2024-0001","modified":"{T2}"}}]"#).into_bytes());
    let err = validate(&c).unwrap_err().to_string();
    assert!(
        err.contains("index/vulns.json: GO-2024-0001 modified"),
        "{err}"
    );
    assert!(
        err.contains("index/vulns.json: ID/GO-2024-0002.json is not listed"),
        "{err}"
    );
}

#[test]
fn inconsistencies_are_each_named() {
    type Damage = fn(&mut DbCopy);
    let cases: &[(&str, Damage, &str)] = &[
        ("not json", |c| c.db = b"{".to_vec(), "index/db.json: "),
        (
            "db older",
            |c| c.db = format!(r#"{{"modified":"{T1}"}}"#).into_bytes(),
            "index/db.json: modified 2024-01-10T00:00:00Z, before ID/GO-2024-0002.json",
        ),
        (
            "entry not json",
            |c| {
                c.entries.insert("GO-2024-0001".into(), b"[]".to_vec());
            },
            "ID/GO-2024-0001.json: ",
        ),
        (
            "id mismatch",
            |c| {
                let e = c.entries["GO-2024-0002"].clone();
                c.entries.insert("GO-2024-0009".into(), e);
            },
            "ID/GO-2024-0009.json: the entry's id is \"GO-2024-0002\"",
        ),
        (
            "bad file name",
            |c| {
                c.entries.insert("../x".into(), b"{}".to_vec());
            },
            "ID/../x.json: not a valid entry id",
        ),
        (
            "missing entry",
            |c| {
                c.entries.remove("GO-2024-0002");
            },
            "index/modules.json: GO-2024-0002 has no file ID/GO-2024-0002.json",
        ),
        (
            "modified mismatch",
            |c| {
                c.entries.insert(
                    "GO-2024-0002".into(),
                    entry(
                        "GO-2024-0002",
                        T1,
                        "example.com/b",
                        r#"{"introduced":"2.0.0"},{"fixed":"2.0.1"}"#,
                        "",
                    ),
                );
            },
            "index/modules.json: GO-2024-0002 modified 2024-02-20T12:00:00Z, but ID/GO-2024-0002.json says 2024-01-10T00:00:00Z",
        ),
        (
            "fixed mismatch",
            |c| {
                c.entries.insert(
                    "GO-2024-0002".into(),
                    entry(
                        "GO-2024-0002",
                        T2,
                        "example.com/b",
                        r#"{"introduced":"2.0.0"},{"fixed":"2.0.2"}"#,
                        "",
                    ),
                );
            },
            "GO-2024-0002 under example.com/b fixed 2.0.1, but its ranges say 2.0.2",
        ),
        (
            "not indexed",
            |c| {
                c.entries.insert(
                    "GO-2024-0005".into(),
                    entry(
                        "GO-2024-0005",
                        T1,
                        "example.com/z",
                        r#"{"introduced":"0"}"#,
                        "",
                    ),
                );
            },
            "index/modules.json: ID/GO-2024-0005.json names example.com/z, which does not list it",
        ),
        (
            "wrong module",
            |c| {
                c.entries.insert(
                    "GO-2024-0002".into(),
                    entry(
                        "GO-2024-0002",
                        T2,
                        "example.com/y",
                        r#"{"introduced":"2.0.0"},{"fixed":"2.0.1"}"#,
                        "",
                    ),
                );
            },
            "lists GO-2024-0002 under example.com/b, which ID/GO-2024-0002.json does not name",
        ),
        (
            "bad version",
            |c| {
                c.entries.insert(
                    "GO-2024-0001".into(),
                    entry(
                        "GO-2024-0001",
                        T1,
                        "example.com/a",
                        r#"{"introduced":"0"},{"fixed":"v1.2.0"}"#,
                        "",
                    ),
                );
            },
            "\"v1.2.0\" (for example.com/a) is not a semantic version without the v prefix",
        ),
        (
            "duplicate module",
            |c| {
                let mut m: Vec<serde_json::Value> = serde_json::from_slice(&c.modules).unwrap();
                m.push(m[1].clone());
                c.modules = serde_json::to_vec(&m).unwrap();
            },
            "index/modules.json: example.com/b is listed twice",
        ),
        (
            "bad time",
            |c| {
                c.modules = String::from_utf8(c.modules.clone())
                    .unwrap()
                    .replacen(T1, "2024-13-01T00:00:00Z", 1)
                    .into_bytes();
            },
            "index/modules.json: ",
        ),
    ];
    for (name, damage, want) in cases {
        let mut c = good();
        damage(&mut c);
        let err = validate(&c).expect_err(name).to_string();
        assert!(err.contains(want), "{name}: {err}");
    }
}
