//! A 64 MiB artifact through MinIO with bounded memory: alone in its test binary, so that
//! the process's peak memory measures this one transfer (see `compliance::Memory`).

use std::sync::Arc;

use godepot_store::object::ObjectStore;
use godepot_store::{Store, compliance};
use godepot_testkit::minio::MinioServer;

#[test]
fn a_large_artifact_streams_through_minio_with_bounded_memory() {
    let minio = Arc::new(MinioServer::start());
    compliance::large_artifact_streams(
        &|| {
            let minio = Arc::clone(&minio);
            Box::new(move || {
                let store =
                    ObjectStore::open_s3_with_env(&minio.url("large"), minio.env(), None).unwrap();
                Arc::new(store) as Arc<dyn Store>
            })
        },
        compliance::Memory::Measured,
    );
}
