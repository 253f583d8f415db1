//! Prefetch's downloads through a depot on an in-memory fetcher: the small files (go.mod
//! reads, `.info`) never queue behind the zips.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use godepot_depot::{Depot, DepotError, DepotOptions, Fetched, FetchedZip, Fetcher, Fetchers};
use godepot_module::{ModulePath, Version};
use godepot_prefetch::{PrefetchOptions, Quiet, prefetch};
use godepot_resolve::Input;
use godepot_store::{LocalStore, Store};
use tokio::sync::Notify;

const DEPS: usize = 20;

/// Serves `example.com/dep<i>@v1.0.0`; its zips wait until [`Gated::open`] is called.
#[derive(Default)]
struct Gated {
    files: HashMap<String, Bytes>,
    infos: AtomicUsize,
    zips_started: AtomicUsize,
    open: AtomicBool,
    opened: Notify,
}

impl Gated {
    fn new() -> Gated {
        let mut files = HashMap::new();
        for i in 0..DEPS {
            let (module, version) = (format!("example.com/dep{i}"), "v1.0.0");
            let v = godepot_testkit::universe::version_files(&module, version, &module);
            files.insert(format!("{module}@{version}.mod"), v.go_mod.into());
            files.insert(format!("{module}@{version}.info"), v.info.into());
            files.insert(format!("{module}@{version}.zip"), v.zip.into());
        }
        Gated {
            files,
            ..Gated::default()
        }
    }

    fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
        self.opened.notify_waiters();
    }

    fn get(&self, what: &str) -> Result<Fetched, DepotError> {
        match self.files.get(what) {
            Some(data) => Ok(Fetched::new(data.clone(), "gated")),
            None => Err(DepotError::NotFound(format!("{what}: not found"))),
        }
    }
}

impl Fetcher for Gated {
    fn describe(&self) -> String {
        "gated".into()
    }
    fn list<'a>(&'a self, m: &'a ModulePath) -> BoxFuture<'a, Result<Fetched, DepotError>> {
        Box::pin(async move { self.get(&format!("{m} list")) })
    }
    fn latest<'a>(&'a self, m: &'a ModulePath) -> BoxFuture<'a, Result<Fetched, DepotError>> {
        Box::pin(async move { self.get(&format!("{m}@latest")) })
    }
    fn info<'a>(
        &'a self,
        m: &'a ModulePath,
        q: &'a str,
    ) -> BoxFuture<'a, Result<Fetched, DepotError>> {
        Box::pin(async move {
            self.infos.fetch_add(1, Ordering::SeqCst);
            self.get(&format!("{m}@{q}.info"))
        })
    }
    fn go_mod<'a>(
        &'a self,
        m: &'a ModulePath,
        v: &'a Version,
    ) -> BoxFuture<'a, Result<Fetched, DepotError>> {
        Box::pin(async move { self.get(&format!("{m}@{v}.mod")) })
    }
    fn zip<'a>(
        &'a self,
        m: &'a ModulePath,
        v: &'a Version,
    ) -> BoxFuture<'a, Result<FetchedZip, DepotError>> {
        Box::pin(async move {
            self.zips_started.fetch_add(1, Ordering::SeqCst);
            loop {
                let opened = self.opened.notified();
                if self.open.load(Ordering::SeqCst) {
                    break;
                }
                opened.await;
            }
            let whole = self.get(&format!("{m}@{v}.zip"))?;
            Ok(FetchedZip {
                len: Some(whole.data.len() as u64),
                body: Box::pin(futures_util::stream::iter([Ok(whole.data)])),
                source: whole.source,
            })
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_info_is_fetched_while_the_zips_are_still_downloading() {
    let tmp = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(LocalStore::open(tmp.path().join("data")).unwrap());
    let fetcher = Arc::new(Gated::new());
    let depot = Depot::with_fetchers(
        store,
        Fetchers::single(fetcher.clone()),
        None,
        DepotOptions::default(),
    );
    let requires: String = (0..DEPS)
        .map(|i| format!("\texample.com/dep{i} v1.0.0\n"))
        .collect();
    let go_mod = tmp.path().join("go.mod");
    std::fs::write(
        &go_mod,
        format!("module example.com/app\n\ngo 1.21\n\nrequire (\n{requires})\n"),
    )
    .unwrap();
    let inputs = [Input::parse_arg(go_mod.to_str().unwrap()).unwrap()];
    // One zip at a time: before the small files had their own pool, the first zip held
    // the only permit and every .info waited behind all twenty zips.
    let options = PrefetchOptions {
        jobs: 1,
        toolchains: false,
        ..PrefetchOptions::default()
    };
    let run =
        tokio::spawn(async move { prefetch(&depot, &inputs, &options, Arc::new(Quiet)).await });

    let waited = tokio::time::timeout(Duration::from_secs(30), async {
        while fetcher.infos.load(Ordering::SeqCst) < DEPS {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let (infos, zips) = (
        fetcher.infos.load(Ordering::SeqCst),
        fetcher.zips_started.load(Ordering::SeqCst),
    );
    fetcher.open();
    let report = run.await.unwrap();
    assert!(
        waited.is_ok(),
        "only {infos} of {DEPS} .info fetched while the first zip was held"
    );
    assert_eq!(zips, 1, "more zips in flight than --jobs allows");
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(report.zips, DEPS);
}
