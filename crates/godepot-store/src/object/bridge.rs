//! The bridge from the synchronous [`crate::Store`] to `object_store`'s async API: a small
//! private tokio runtime owned by the store. A call is spawned on it and waited for on a
//! standard channel, which is safe from any thread (an async worker thread only blocks, it
//! never panics; callers still keep store calls on the blocking pool, see the trait's doc).

use std::future::Future;
use std::io::{self, Read};
use std::sync::mpsc;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

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

    /// A blocking reader of `stream`, filled by a task of the private runtime through a
    /// bounded channel (so memory stays bounded however large the object is). Dropping the
    /// reader ends the task and the request.
    pub(super) fn reader(
        &self,
        mut stream: BoxStream<'static, object_store::Result<Bytes>>,
        len: u64,
    ) -> StreamReader {
        let (tx, rx) = mpsc::sync_channel::<io::Result<Bytes>>(READ_AHEAD);
        let handle = self.handle().clone();
        // A blocking thread of the runtime: it may wait on the channel while the reader is
        // slow, which no async worker may do.
        self.handle().spawn_blocking(move || {
            while let Some(item) = handle.block_on(stream.next()) {
                let item = item.map_err(io::Error::other);
                let failed = item.is_err();
                if tx.send(item).is_err() || failed {
                    return;
                }
            }
        });
        StreamReader {
            rx,
            current: Bytes::new(),
            done: false,
            left: len,
        }
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

/// The bytes of one GET, as a [`Read`]: an error, never a short read, if the stream ends
/// before the object's length.
pub(super) struct StreamReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
    done: bool,
    /// Bytes the object still has to give.
    left: u64,
}

impl Read for StreamReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            if self.done {
                return Ok(0);
            }
            match self.rx.recv() {
                Ok(Ok(chunk)) => self.current = chunk,
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                // The producer ended: the stream is complete.
                Err(_) => {
                    self.done = true;
                    if self.left > 0 {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            format!("the object ended {} bytes short", self.left),
                        ));
                    }
                }
            }
        }
        let n = buf.len().min(self.current.len());
        self.left = self.left.saturating_sub(n as u64);
        buf[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}
