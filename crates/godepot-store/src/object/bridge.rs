//! The bridge from the synchronous [`crate::Store`] to `object_store`'s async API: a small
//! private tokio runtime owned by the store. A call is spawned on it and waited for on a
//! standard channel, which is safe from any thread (an async worker thread only blocks, it
//! never panics; callers still keep store calls on the blocking pool, see the trait's doc).

use std::future::Future;
use std::io;
use std::sync::mpsc;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

use crate::chunks::Chunks;

/// How many chunks a streaming read keeps ahead of its reader: the memory a read holds is
/// this many of the HTTP client's chunks (tens of KiB each), whatever the object's size.
const READ_AHEAD: usize = 8;

pub(super) struct Bridge {
    runtime: Option<tokio::runtime::Runtime>,
}

impl Bridge {
    pub(super) fn new() -> io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("godepot-store")
            .enable_all()
            .build()?;
        Ok(Bridge {
            runtime: Some(runtime),
        })
    }

    fn handle(&self) -> &tokio::runtime::Handle {
        self.runtime
            .as_ref()
            .expect("the runtime lives as long as the bridge")
            .handle()
    }

    /// Runs `future` on the private runtime and waits for its output.
    pub(super) fn run<T, F>(&self, future: F) -> io::Result<T>
    where
        T: Send + 'static,
        F: Future<Output = T> + Send + 'static,
    {
        let (tx, rx) = mpsc::sync_channel(1);
        self.handle().spawn(async move {
            let _ = tx.send(future.await);
        });
        rx.recv()
            .map_err(|_| io::Error::other("the object store's runtime stopped"))
    }

    /// The bytes of `stream`, `len` long, forwarded by a task of the private runtime
    /// through a bounded channel (so memory stays bounded however large the object is), for
    /// an async reader (no thread hop per chunk) or a blocking one. Dropping the reader ends
    /// the task and the request.
    pub(super) fn chunks(
        &self,
        mut stream: BoxStream<'static, object_store::Result<Bytes>>,
        len: u64,
    ) -> Chunks {
        let (tx, chunks) = Chunks::channel(len, READ_AHEAD);
        self.handle().spawn(async move {
            while let Some(item) = stream.next().await {
                let item = item.map_err(io::Error::other);
                let failed = item.is_err();
                if tx.send(item).await.is_err() || failed {
                    return;
                }
            }
        });
        chunks
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        // Not `drop(runtime)`: that panics when the last handle goes on an async thread.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
