use std::time::{Duration, UNIX_EPOCH};

use godepot_store::{LocalStore, walk_tree};

use super::*;
use crate::manifest::{FORMAT, FileRecord, SelectionRecord};
use crate::testutil::{key, put_version, store};

fn paths(plan: &Plan<'_>) -> Vec<String> {
    plan.artifacts
        .iter()
        .map(|(e, _)| e.rel_path.clone())
        .collect()
}

fn filled() -> (tempfile::TempDir, LocalStore) {
    let (dir, store) = store();
    put_version(&store, "example.com/a", "v1.0.0");
    put_version(&store, "example.com/a", "v1.1.0");
    put_version(&store, "example.com/b", "v0.1.0");
    (dir, store)
}

#[test]
fn selections_table() {
    let (_dir, store) = filled();
    let entries = walk_tree(store.root()).unwrap();
    let version = |m: &str, v: &str| (ModulePath::parse(m).unwrap(), Version::parse(v).unwrap());

    let all = plan(&entries, &Selection::All, None, &[]).unwrap();
    assert_eq!(all.artifacts.len(), 12);
    assert_eq!(
        all.lists.keys().map(|m| m.as_str()).collect::<Vec<_>>(),
        ["example.com/a", "example.com/b"]
    );

    let one = Selection::Versions([version("example.com/a", "v1.1.0")].into());
    let one = plan(&entries, &one, None, &[]).unwrap();
    assert_eq!(
        paths(&one),
        [
            "example.com/a/@v/v1.1.0.info",
            "example.com/a/@v/v1.1.0.mod",
            "example.com/a/@v/v1.1.0.zip",
            "example.com/a/@v/v1.1.0.ziphash"
        ]
    );
    let listed: Vec<&str> = one.lists.values().flatten().map(|v| v.as_str()).collect();
    assert_eq!(listed, ["v1.1.0"], "a selection lists only what it carries");

    let mods_only = Selection::Artifacts([key("example.com/b", "v0.1.0", Kind::Mod)].into());
    let mods_only = plan(&entries, &mods_only, None, &[]).unwrap();
    assert_eq!(
        paths(&mods_only),
        [
            "example.com/b/@v/v0.1.0.info",
            "example.com/b/@v/v0.1.0.mod"
        ],
        "a .mod brings its .info"
    );

    let missing = Selection::Versions([version("example.com/c", "v1.0.0")].into());
    let err = plan(&entries, &missing, None, &[]).unwrap_err();
    assert!(err.to_string().contains("example.com/c@v1.0.0"), "{err}");

    let future = UNIX_EPOCH + Duration::from_secs(4_000_000_000);
    assert!(
        plan(&entries, &Selection::All, Some(future), &[])
            .unwrap()
            .artifacts
            .is_empty()
    );
}

#[test]
fn since_bundle_excludes_the_whole_chain_and_lists_everything_held() {
    let (_dir, store) = filled();
    let entries = walk_tree(store.root()).unwrap();
    let record = |path: &str| FileRecord {
        path: path.into(),
        size: 0,
        sha256: String::new(),
        h1: None,
    };
    let previous = Manifest {
        format: FORMAT.into(),
        selection: SelectionRecord::default(),
        files: vec![
            record("example.com/a/@v/list"),
            record("example.com/a/@v/v1.0.0.info"),
            record("example.com/a/@v/v1.0.0.mod"),
        ],
        prior: vec![
            "example.com/a/@v/v1.0.0.zip".into(),
            "example.com/a/@v/v1.0.0.ziphash".into(),
        ],
    };
    let next = plan(&entries, &Selection::All, None, &[previous]).unwrap();
    assert!(
        paths(&next).iter().all(|p| !p.contains("v1.0.0")),
        "{:?}",
        paths(&next)
    );
    assert_eq!(next.artifacts.len(), 8);
    assert_eq!(
        next.prior.len(),
        4,
        "the list is not an artifact: {:?}",
        next.prior
    );
    let a = ModulePath::parse("example.com/a").unwrap();
    let listed: Vec<&str> = next.lists[&a].iter().map(|v| v.as_str()).collect();
    assert_eq!(
        listed,
        ["v1.0.0", "v1.1.0"],
        "incremental lists name every held version"
    );
}
