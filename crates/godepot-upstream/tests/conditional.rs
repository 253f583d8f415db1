//! Conditional requests for mutable answers against the fixture upstream: validators come
//! back with an answer, a request carrying them for an unchanged answer is a 304 (an answer,
//! not an error), and they are sent to the proxy that gave them only.

use std::path::Path;

use godepot_testkit::upstream::FixtureUpstream;
use godepot_upstream::{ProxyList, Revalidated, Upstream, UpstreamOptions, Validators};

const LIST: &str = "example.com/m/@v/list";

fn write_list(root: &Path, text: &str) {
    let path = root.join(LIST);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn client(url: &str) -> Upstream {
    let list = ProxyList::parse(url).unwrap();
    Upstream::with_netrc(&list, UpstreamOptions::default(), Default::default()).unwrap()
}

async fn ask(up: &Upstream, known: &Validators) -> Revalidated {
    up.get_whole_if_changed(LIST, 1 << 20, known).await.unwrap()
}

fn changed(answer: Revalidated) -> godepot_upstream::Whole {
    match answer {
        Revalidated::Changed(whole) => whole,
        Revalidated::Unchanged => panic!("expected a new answer, got 304"),
    }
}

#[tokio::test]
async fn an_unchanged_list_costs_a_304_and_a_changed_one_comes_whole() {
    let dir = tempfile::tempdir().unwrap();
    write_list(dir.path(), "v1.0.0\n");
    let fixture = FixtureUpstream::start(dir.path());
    let up = client(&fixture.url());

    let first = changed(ask(&up, &Validators::default()).await);
    assert_eq!(first.data, "v1.0.0\n");
    let known = first.validators;
    assert!(
        known.etag.is_some() && known.last_modified.is_some(),
        "{known:?}"
    );
    assert_eq!(known.source, first.source);

    assert!(matches!(ask(&up, &known).await, Revalidated::Unchanged));
    assert_eq!(fixture.not_modified("/@v/list"), 1);

    // The date alone is asked with when no tag was given.
    let date_only = Validators {
        etag: None,
        ..known.clone()
    };
    assert!(matches!(ask(&up, &date_only).await, Revalidated::Unchanged));
    assert_eq!(fixture.not_modified("/@v/list"), 2);

    write_list(dir.path(), "v1.0.0\nv1.0.1\n");
    let second = changed(ask(&up, &known).await);
    assert_eq!(second.data, "v1.0.0\nv1.0.1\n");
    assert_ne!(second.validators.etag, known.etag);
    assert_eq!(fixture.not_modified("/@v/list"), 2);
    assert_eq!(fixture.hits("/@v/list"), 4);
}

#[tokio::test]
async fn validators_are_sent_only_to_the_proxy_that_gave_them() {
    let dir = tempfile::tempdir().unwrap();
    write_list(dir.path(), "v1.0.0\n");
    let fixture = FixtureUpstream::start(dir.path());
    let up = client(&fixture.url());
    let known = changed(ask(&up, &Validators::default()).await).validators;
    let elsewhere = Validators {
        source: "http://other.example/example.com/m/@v/list".into(),
        ..known
    };
    assert_eq!(changed(ask(&up, &elsewhere).await).data, "v1.0.0\n");
    assert_eq!(fixture.not_modified("/@v/list"), 0);
}

#[tokio::test]
async fn a_file_proxy_gives_no_validators_and_always_answers_whole() {
    let dir = tempfile::tempdir().unwrap();
    write_list(dir.path(), "v1.0.0\n");
    let up = client(&format!("file://{}", dir.path().display()));
    let whole = changed(ask(&up, &Validators::default()).await);
    assert!(whole.validators.is_empty());
    assert_eq!(whole.data, "v1.0.0\n");
}
