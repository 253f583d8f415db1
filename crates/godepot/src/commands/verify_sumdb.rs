//! `godepot verify --sumdb`: where the checksum-database records come from. The check itself
//! (godepot-bundle's `verify`) reads only the store's cache; online, the records it lacks are
//! fetched into that cache first, through the depot, which verifies them as `serve` does.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use godepot_bundle::sumdb::SumdbCheck;
use godepot_depot::DepotError;
use godepot_module::{ModulePath, Version};
use godepot_store::{Kind, LocalStore, Store, TreeFile};
use godepot_sumdb::SumdbPath;
use godepot_sumdb::check::cache_name;

use crate::commands::depot::{self, DepotSettings, Reach};
use crate::failure::Failure;

/// How the records were obtained, for the report.
#[derive(Debug, Default, serde::Serialize)]
pub(crate) struct RecordSources {
    pub(crate) database: String,
    /// Records the store's cache already held.
    pub(crate) cached: usize,
    /// Records fetched now, and from where.
    pub(crate) fetched: usize,
    pub(crate) fetched_from: Option<String>,
    /// Records that could not be fetched (the check reports those artifacts unverified).
    pub(crate) not_fetched: usize,
}

/// Where records are fetched from when online.
pub(crate) struct Online<'a> {
    pub(crate) upstream: Option<&'a str>,
    pub(crate) upstream_timeout: Duration,
    pub(crate) list: &'a str,
    pub(crate) nosumdb: Option<&'a str>,
    pub(crate) reach: &'a Reach,
}

/// Counts the records held for what the store holds and, with `online`, fetches the rest.
pub(crate) fn gather(
    store: &LocalStore,
    check: &SumdbCheck,
    online: Option<Online<'_>>,
) -> Result<RecordSources, Failure> {
    let Some(db) = check.keyed() else {
        return Err(Failure::config(
            "--sumdb: verify needs a database key (name+hash+key) to trust its records",
        ));
    };
    let walked = store
        .walk()
        .map_err(|e| Failure::runtime(format!("cannot walk the store: {e}")))?;
    let versions: BTreeSet<(ModulePath, Version)> = walked
        .into_iter()
        .filter_map(|e| match e.file {
            TreeFile::Artifact(k) if matches!(k.kind, Kind::Zip | Kind::Mod) => {
                Some((k.module, k.version))
            }
            _ => None,
        })
        .filter(|(m, _)| !godepot_module::matches_glob_prefix(&check.skip, m.as_str()))
        .collect();
    let meta = store.root().join(godepot_store::local::META_DIR);
    let (held, missing): (Vec<_>, Vec<_>) = versions.into_iter().partition(|(m, v)| {
        let rel = SumdbPath::Lookup(m.clone(), v.clone()).rel();
        meta.join(cache_name(&db.name, &rel)).is_file()
    });
    let mut sources = RecordSources {
        database: db.name.clone(),
        cached: held.len(),
        ..RecordSources::default()
    };
    let Some(online) = online.filter(|_| !missing.is_empty()) else {
        return Ok(sources);
    };
    sources.fetched_from = Some(match &db.url {
        Some(url) => url.clone(),
        None => format!(
            "the upstream proxy's /sumdb/{0}/ (else https://{0})",
            db.name
        ),
    });
    let settings = DepotSettings {
        store: depot::StoreAt::Dir(store.root()),
        upstream: online.upstream,
        offline: false,
        list_ttl: Duration::from_secs(60),
        upstream_timeout: online.upstream_timeout,
        instance_id: depot::instance_id(),
        // Nothing is served: port 0 matches no upstream URL.
        listen: SocketAddr::from(([0, 0, 0, 0], 0)),
        reach: online.reach,
        access: None,
        upstream_metrics: None,
        vulndb: None,
        disk_cache: None,
        coordination: godepot_depot::Coordination::default(),
    };
    let options = depot::sumdb_options(Some(online.list), online.nosumdb, &settings)?;
    let built = depot::build_with_sumdb(&settings, options)?;
    let runtime = depot::runtime()?;
    runtime.block_on(async {
        for (module, version) in &missing {
            let lookup = SumdbPath::Lookup(module.clone(), version.clone());
            match built.depot.sumdb(&db.name, &lookup).await {
                Ok(_) => sources.fetched += 1,
                Err(DepotError::NotFound(_) | DepotError::Gone(_)) => sources.not_fetched += 1,
                Err(e) => {
                    // Unreachable or refused: asking again for every record would only
                    // wait on timeouts. The check reports what stays unproven.
                    eprintln!("checksum database {}: {e}; fetching no more", db.name);
                    sources.not_fetched += missing.len() - sources.fetched - sources.not_fetched;
                    break;
                }
            }
        }
    });
    Ok(sources)
}

/// One line saying where the records came from.
pub(crate) fn describe(sources: &RecordSources) -> String {
    let mut line = format!(
        "checksum database {}: {} records from the store's cache",
        sources.database, sources.cached
    );
    if let Some(from) = &sources.fetched_from {
        line.push_str(&format!(", {} fetched from {from}", sources.fetched));
        if sources.not_fetched > 0 {
            line.push_str(&format!(", {} not fetched", sources.not_fetched));
        }
    }
    line
}
