use std::path::Path;
use std::sync::Arc;

use godepot_module::{ModulePath, Version, hash_go_mod, inspect_zip};
use godepot_resolve::Input;
use godepot_store::{LocalStore, Store};
use godepot_testkit::UniverseBuilder;
use godepot_testkit::universe::Universe;

use super::*;

const A: &str = "example.com/CamelCase";

/// A universe (a `GOPROXY=file://` tree, used as the store) holding `A` v1.0.0, and a
/// project requiring it, with a correct go.sum.
fn fixture(dir: &Path) -> (Universe, Arc<dyn Store>, Input) {
    let universe = UniverseBuilder::new(dir.join("store"))
        .module(A)
        .version("v1.0.0")
        .file("a.go", "package a\n")
        .project(dir.join("app"), "example.com/app")
        .require(A, "v1.0.0")
        .build();
    let zip = std::fs::File::open(universe.artifact(A, "v1.0.0", "zip")).unwrap();
    let module = ModulePath::parse(A).unwrap();
    let version = Version::parse("v1.0.0").unwrap();
    let h1 = inspect_zip(zip, &module, &version).unwrap().h1;
    let go_mod = std::fs::read(universe.artifact(A, "v1.0.0", "mod")).unwrap();
    let project = universe.project_dir().to_path_buf();
    std::fs::write(
        project.join("go.sum"),
        format!(
            "{A} v1.0.0 {h1}\n{A} v1.0.0/go.mod {}\n",
            hash_go_mod(&go_mod)
        ),
    )
    .unwrap();
    let store: Arc<dyn Store> = Arc::new(LocalStore::open(&universe.root).unwrap());
    let input = Input::parse_arg(project.join("go.mod").to_str().unwrap()).unwrap();
    (universe, store, input)
}

async fn run(store: &Arc<dyn Store>, input: &Input) -> Readiness {
    check(
        store.clone(),
        std::slice::from_ref(input),
        &PrefetchOptions::default(),
    )
    .await
}

fn missing(readiness: &Readiness) -> Vec<String> {
    readiness.missing.iter().map(|a| a.to_string()).collect()
}

#[tokio::test]
async fn a_store_holding_everything_is_ready() {
    let tmp = tempfile::tempdir().unwrap();
    let (_u, store, input) = fixture(tmp.path());
    let readiness = run(&store, &input).await;
    assert!(readiness.is_ready(), "{readiness:#?}");
    assert_eq!((readiness.versions, readiness.files), (1, 3));
    assert_eq!(readiness.go_sums.len(), 1);
}

#[tokio::test]
async fn each_missing_file_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let (universe, store, input) = fixture(tmp.path());
    std::fs::remove_file(universe.artifact(A, "v1.0.0", "zip")).unwrap();
    let readiness = run(&store, &input).await;
    assert!(!readiness.is_ready());
    assert_eq!(missing(&readiness), [format!("{A}@v1.0.0 .zip")]);

    // Without its go.mod, the version cannot even be resolved: the go.mod is what is missing.
    std::fs::remove_file(universe.artifact(A, "v1.0.0", "mod")).unwrap();
    let readiness = run(&store, &input).await;
    assert_eq!(missing(&readiness), [format!("{A}@v1.0.0 .mod")]);
    assert!(readiness.problems.is_empty(), "{:?}", readiness.problems);
}

#[tokio::test]
async fn a_go_sum_line_the_held_file_contradicts_is_a_mismatch() {
    let tmp = tempfile::tempdir().unwrap();
    let (universe, store, input) = fixture(tmp.path());
    let go_sum = universe.project_dir().join("go.sum");
    let text = std::fs::read_to_string(&go_sum).unwrap();
    let wrong = "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let first = text.lines().next().unwrap();
    let (line, right) = first.rsplit_once(' ').unwrap();
    std::fs::write(&go_sum, text.replacen(first, &format!("{line} {wrong}"), 1)).unwrap();
    let readiness = run(&store, &input).await;
    assert!(!readiness.is_ready());
    assert!(readiness.missing.is_empty(), "{readiness:#?}");
    assert_eq!(
        readiness.mismatches,
        [Mismatch {
            go_sum: go_sum.clone(),
            artifact: Artifact::new(
                &ModulePath::parse(A).unwrap(),
                &Version::parse("v1.0.0").unwrap(),
                godepot_store::Kind::Zip
            ),
            go_sum_hash: wrong.into(),
            store_hash: right.into(),
        }]
    );
}
