//! Zero-copy file bodies: a large stored file sent on a plain-HTTP/1 connection goes from the
//! page cache to the socket with sendfile(2), not through positioned reads on the blocking
//! pool and a copy through user space.
//!
//! hyper writes every response (head, framing, keep-alive, pipelining, HTTP/1.0, the errors it
//! answers itself) and cannot be handed a file descriptor, so the body stands in for the file:
//! [`response`](crate::response) attaches an [`Offer`] to the response; the accept loop claims
//! it for a plain HTTP/1 GET ([`Offer::claim`]), and the body then yields *placeholder* chunks
//! (slices of one shared region that is never read), each announced to the connection as a
//! [`Piece`] of the file as it is yielded. hyper queues body chunks as they are when it writes
//! vectored (which the accept loop asks of it) and writes them in the order it got them, so
//! the placeholders reach the connection's socket wrapper as themselves and in the order of
//! their pieces: the wrapper recognizes them by address ([`is_placeholder`]) and sends the
//! piece's file bytes instead ([`Piece::send`]). Everything else is written as before.
//!
//! An offer not claimed (TLS, HTTP/2, a router driven without a socket) is served by its
//! fallback stream, exactly as before. A placeholder without its piece, or out of step with
//! it, is an error that closes the connection: never are the region's bytes sent.

use std::fs::File;
use std::io;
use std::sync::{Arc, LazyLock, OnceLock};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::io::Interest;
use tokio::net::TcpStream;

/// The placeholder region: zeroed memory that is never read (nor, being untouched, resident).
/// Its size is the largest chunk a claimed body yields: a 24 MiB zip is six of them, and each
/// write hyper makes carries a long run for sendfile.
const REGION_LEN: usize = 4 * 1024 * 1024;

static REGION: LazyLock<Bytes> = LazyLock::new(|| Bytes::from(vec![0u8; REGION_LEN]));

/// Where `slice` lies in the placeholder region, if it is a placeholder.
pub(crate) fn placeholder_at(slice: &[u8]) -> Option<usize> {
    let offset = (slice.as_ptr() as usize).wrapping_sub(REGION.as_ptr() as usize);
    (!slice.is_empty() && offset < REGION_LEN).then_some(offset)
}

/// Whether `slice` stands for file bytes.
pub(crate) fn is_placeholder(slice: &[u8]) -> bool {
    placeholder_at(slice).is_some()
}

/// Where a connection is told of the pieces its placeholders stand for, in the order they
/// are yielded.
pub(crate) trait Pieces: Send + Sync {
    fn push(&self, piece: Piece);
}

/// A file range a response body may be sent as, put on the response as an extension.
#[derive(Clone)]
pub(crate) struct Offer(Arc<OfferInner>);

struct OfferInner {
    file: Arc<File>,
    start: u64,
    count: u64,
    /// The connection that claimed it.
    claimed: OnceLock<Arc<dyn Pieces>>,
}

impl Offer {
    pub(crate) fn new(file: Arc<File>, start: u64, count: u64) -> Self {
        Offer(Arc::new(OfferInner {
            file,
            start,
            count,
            claimed: OnceLock::new(),
        }))
    }

    /// The body sends its bytes as placeholders, whose pieces go to `to`.
    pub(crate) fn claim(&self, to: Arc<dyn Pieces>) {
        // A response is claimed by the one connection it is written to.
        let _ = self.0.claimed.set(to);
    }

    /// The body: placeholders if the offer is claimed by the time it is first polled (hyper
    /// polls a body only after the service has returned its response), else `fallback`.
    pub(crate) fn body<S>(
        &self,
        fallback: S,
    ) -> impl Stream<Item = io::Result<Bytes>> + Send + use<S>
    where
        S: Stream<Item = io::Result<Bytes>> + Send,
    {
        let offer = Arc::clone(&self.0);
        futures_util::stream::once(async move {
            match offer.claimed.get() {
                Some(to) => placeholders(
                    Arc::clone(&offer.file),
                    offer.start,
                    offer.count,
                    Arc::clone(to),
                )
                .left_stream(),
                None => fallback.right_stream(),
            }
        })
        .flatten()
    }
}

/// `count` bytes of `file` from `start` as placeholder chunks of at most the region's size,
/// each announced to `to` as it is yielded.
fn placeholders(
    file: Arc<File>,
    start: u64,
    count: u64,
    to: Arc<dyn Pieces>,
) -> impl Stream<Item = io::Result<Bytes>> + Send {
    futures_util::stream::unfold((start, count), move |(pos, left)| {
        let next = (left > 0).then(|| {
            let len = left.min(REGION_LEN as u64) as usize;
            to.push(Piece {
                file: Arc::clone(&file),
                pos,
                len,
                left: len,
            });
            (
                Ok(REGION.slice(..len)),
                (pos + len as u64, left - len as u64),
            )
        });
        std::future::ready(next)
    })
}

/// The file bytes one placeholder chunk stands for, and how many of them are still to send.
pub(crate) struct Piece {
    file: Arc<File>,
    /// The file offset of the next byte to send.
    pos: u64,
    /// The chunk's length.
    len: usize,
    left: usize,
}

impl Piece {
    /// Whether every byte has been sent.
    pub(crate) fn is_sent(&self) -> bool {
        self.left == 0
    }

    /// Sends up to `max` bytes of the piece on `stream` (as many as the socket takes now),
    /// for a run of placeholders that starts at `offset` in the region; the count is of
    /// placeholder bytes written.
    pub(crate) fn send(
        &mut self,
        stream: &TcpStream,
        cx: &mut Context<'_>,
        offset: usize,
        max: usize,
    ) -> Poll<io::Result<usize>> {
        // The chunk's bytes go out from its start, in order: anything else is a chunk of
        // another piece, and its bytes are not these.
        if offset != self.len - self.left {
            return Poll::Ready(Err(io::Error::other(
                "placeholders out of step with the file they stand for",
            )));
        }
        let want = max.min(self.left);
        loop {
            ready!(stream.poll_write_ready(cx))?;
            let sent = stream.try_io(Interest::WRITABLE, || {
                rustix::fs::sendfile(stream, &*self.file, Some(&mut self.pos), want)
                    .map_err(io::Error::from)
            });
            match sent {
                // The file is shorter than the length it was opened with: artifacts are
                // write-once, so the store is being tampered with. Stop rather than pad.
                Ok(0) => return Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into())),
                Ok(n) => {
                    self.left -= n;
                    return Poll::Ready(Ok(n));
                }
                // Readiness was stale: `poll_write_ready` now waits for the next one.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[test]
    fn only_region_slices_are_placeholders() {
        let chunk = REGION.slice(10..20);
        assert_eq!(placeholder_at(&chunk), Some(10));
        assert_eq!(
            placeholder_at(&REGION[REGION_LEN - 1..]),
            Some(REGION_LEN - 1)
        );
        assert!(
            !is_placeholder(&REGION[..0]),
            "an empty slice stands for nothing"
        );
        let copy = chunk.to_vec();
        assert!(
            !is_placeholder(&copy),
            "a copy of placeholder bytes is plain bytes"
        );
        assert!(!is_placeholder(b"HTTP/1.1 200 OK\r\n"));
    }

    #[derive(Default)]
    struct Told(Mutex<Vec<(u64, usize)>>);

    impl Pieces for Told {
        fn push(&self, piece: Piece) {
            self.0.lock().unwrap().push((piece.pos, piece.len));
        }
    }

    #[tokio::test]
    async fn an_unclaimed_offer_is_its_fallback_and_a_claimed_one_placeholders() {
        let file = Arc::new(tempfile::tempfile().unwrap());
        let count = REGION_LEN as u64 * 2 + 5;
        let fallback = || futures_util::stream::iter([Ok(Bytes::from_static(b"fallback"))]);
        let offer = Offer::new(Arc::clone(&file), 0, count);
        let chunks: Vec<Bytes> = offer.body(fallback()).map(Result::unwrap).collect().await;
        assert_eq!(chunks, [Bytes::from_static(b"fallback")]);

        let offer = Offer::new(file, 3, count);
        let body = offer.body(fallback());
        let told = Arc::new(Told::default());
        offer.claim(Arc::clone(&told) as Arc<dyn Pieces>);
        let chunks: Vec<Bytes> = body.map(Result::unwrap).collect().await;
        let lens: Vec<usize> = chunks.iter().map(Bytes::len).collect();
        assert_eq!(lens, [REGION_LEN, REGION_LEN, 5]);
        assert!(chunks.iter().all(|c| placeholder_at(c) == Some(0)));
        let r = REGION_LEN;
        assert_eq!(
            *told.0.lock().unwrap(),
            [(3, r), (3 + r as u64, r), (3 + 2 * r as u64, 5)]
        );
    }
}
