//! A 64 MiB artifact through the local store with bounded memory: alone in its test binary,
//! so that the process's peak memory measures this one transfer (see `compliance::Memory`).

use std::sync::Arc;

use godepot_store::{LocalStore, Store, compliance};

#[test]
fn a_large_artifact_streams_from_disk_with_bounded_memory() {
    compliance::large_artifact_streams(
        &|| {
            let dir = tempfile::tempdir().unwrap();
            Box::new(move || Arc::new(LocalStore::open(dir.path()).unwrap()) as Arc<dyn Store>)
        },
        compliance::Memory::Measured,
    );
}
