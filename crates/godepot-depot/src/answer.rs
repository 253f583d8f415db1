use std::pin::Pin;
use std::time::SystemTime;

use bytes::Bytes;
use futures_util::Stream;
use godepot_store::Artifact;

/// Where an answer came from; logged with every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStatus {
    /// Served from the store or a fresh cached answer.
    Hit,
    /// Fetched from upstream for this request (or joined a fetch under way).
    Miss,
    /// Upstream failed; the last good answer was served.
    Stale,
    /// Offline mode: answered from the store alone.
    Offline,
}

impl CacheStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CacheStatus::Hit => "hit",
            CacheStatus::Miss => "miss",
            CacheStatus::Stale => "stale",
            CacheStatus::Offline => "offline",
        }
    }
}

/// A zip still arriving from upstream, relayed as it is written to disk.
pub type ZipStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// The body of an answer.
pub enum Body {
    /// Small answers held in memory.
    Bytes(Bytes),
    /// A small stored artifact, read whole (or served from memory); `modified` is the stored
    /// file's time, so validators match those of [`Body::File`].
    Small { data: Bytes, modified: SystemTime },
    /// A stored artifact, opened.
    File(Artifact),
    /// A zip being fetched; `len` is known when upstream declared it.
    Stream { len: Option<u64>, stream: ZipStream },
}

/// A successful answer.
pub struct Answer {
    pub body: Body,
    pub cache: CacheStatus,
    /// Versioned artifacts never change; mutable answers (lists, queries) do.
    pub immutable: bool,
}

impl Answer {
    pub(crate) fn bytes(data: Bytes, cache: CacheStatus, immutable: bool) -> Self {
        Answer {
            body: Body::Bytes(data),
            cache,
            immutable,
        }
    }
}
