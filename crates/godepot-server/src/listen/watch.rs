//! Per-connection deadlines, kept by the connection's reads: while no request is being
//! handled, a connection must show progress or go. Fresh, its first request's headers are
//! due within the header timeout; after a response, the next request must start within the
//! idle timeout and, once started, finish its headers within the header timeout. While a
//! request is handled (until its response body is done) there is no read deadline: a long
//! upstream fetch or a large download is not a slow client. A client that stops taking its
//! response (a write that makes no progress for the idle timeout) is one, and is dropped.
//! A response sent from a file ([`crate::zerocopy`]) is done when its last piece is on the
//! socket, which may be well after its body has yielded its last placeholder.
//!
//! hyper's own `header_read_timeout` cannot express this: it restarts when a connection goes
//! idle, so it would also be the idle timeout.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use http_body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

use super::ConnectionLimits;
use crate::zerocopy::{Piece, Pieces, is_placeholder, placeholder_at};

/// What one connection is doing, shared by its reads and its requests.
#[derive(Clone)]
pub(super) struct Connection(Arc<Mutex<State>>);

struct State {
    limits: ConnectionLimits,
    /// Requests whose responses are not finished.
    in_flight: usize,
    /// When the connection last had nothing to do (accepted, or a response finished).
    waiting_since: Instant,
    /// No request has come yet: the first one's headers are due from `waiting_since`.
    fresh: bool,
    /// When the next request's first byte arrived, if it has.
    started: Option<Instant>,
    /// The read waiting for data, woken when the last response finishes so that it arms
    /// the idle deadline (nothing else would wake it on a silent connection).
    reader: Option<Waker>,
    /// The file pieces that placeholders queued for writing stand for, in their order.
    pieces: VecDeque<Piece>,
}

impl State {
    fn deadline(&self) -> Option<Instant> {
        if self.in_flight > 0 || !self.pieces.is_empty() {
            return None;
        }
        Some(match self.started {
            // The first request is due from the connection's start, however late its first
            // byte.
            _ if self.fresh => self.waiting_since + self.limits.header_timeout,
            Some(started) => started + self.limits.header_timeout,
            None => self.waiting_since + self.limits.idle_timeout,
        })
    }

    /// A response finished: once none is under way, the connection waits from now.
    fn settle(&mut self) {
        if self.in_flight == 0 && self.pieces.is_empty() {
            self.waiting_since = Instant::now();
            if let Some(reader) = self.reader.take() {
                reader.wake();
            }
        }
    }
}

impl Connection {
    pub(super) fn new(limits: ConnectionLimits) -> Self {
        Connection(Arc::new(Mutex::new(State {
            limits,
            in_flight: 0,
            waiting_since: Instant::now(),
            fresh: true,
            started: None,
            reader: None,
            pieces: VecDeque::new(),
        })))
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A request's headers are in: no deadline until its response is done.
    pub(super) fn begin(&self) -> Busy {
        let mut state = self.state();
        state.in_flight += 1;
        state.fresh = false;
        state.started = None;
        Busy(self.clone())
    }
}

impl Pieces for Connection {
    fn push(&self, piece: Piece) {
        self.state().pieces.push_back(piece);
    }
}

/// Held from a request's headers to the end of its response body.
pub(super) struct Busy(Connection);

impl Busy {
    /// The response body, holding this until it is done (or dropped).
    pub(super) fn track<B>(self, body: B) -> Tracked<B> {
        Tracked {
            inner: body,
            _busy: self,
        }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let mut state = self.0.state();
        state.in_flight -= 1;
        state.settle();
    }
}

/// A response body that keeps its connection busy until it is done.
pub(super) struct Tracked<B> {
    inner: B,
    _busy: Busy,
}

impl<B: Body + Unpin> Body for Tracked<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A client socket whose reads fail with `TimedOut` once the connection's deadline passes,
/// and whose writes do when the client has taken nothing for the idle timeout.
pub(super) struct Watched {
    stream: TcpStream,
    connection: Connection,
    timer: Pin<Box<Sleep>>,
    /// Since when writes have been waiting on the client, if they are.
    write_stalled: Option<Instant>,
    write_timer: Pin<Box<Sleep>>,
    stall_limit: std::time::Duration,
}

impl Watched {
    pub(super) fn new(stream: TcpStream, connection: Connection) -> Self {
        let stall_limit = connection.state().limits.idle_timeout;
        Watched {
            stream,
            connection,
            timer: Box::pin(tokio::time::sleep_until(Instant::now())),
            write_stalled: None,
            write_timer: Box::pin(tokio::time::sleep_until(Instant::now())),
            stall_limit,
        }
    }

    /// Writes the leading slices of `bufs`: plain bytes as they are, a run of placeholders as
    /// the file bytes they stand for (see [`crate::zerocopy`]). Either way the count is of
    /// slice bytes written, so hyper advances its buffers as for any partial write.
    fn poll_write_slices(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let plain = bufs.iter().take_while(|b| !is_placeholder(b)).count();
        let first = bufs.first().and_then(|b| placeholder_at(b));
        let Some(offset) = first else {
            return Pin::new(&mut self.stream).poll_write_vectored(cx, &bufs[..plain]);
        };
        let run = bufs
            .iter()
            .take_while(|b| is_placeholder(b))
            .map(|b| b.len())
            .sum();
        // The piece is sent outside the lock, which the connection's reads also take.
        let Some(mut piece) = self.connection.state().pieces.pop_front() else {
            return Poll::Ready(Err(io::Error::other(
                "placeholder body without a file to send",
            )));
        };
        let sent = piece.send(&self.stream, cx, offset, run);
        let mut state = self.connection.state();
        if piece.is_sent() {
            state.settle();
        } else {
            state.pieces.push_front(piece);
        }
        sent
    }

    /// `poll`, the outcome of a write or flush, unless it has been waiting on the client for
    /// too long.
    fn unless_stalled<T>(
        &mut self,
        cx: &mut Context<'_>,
        poll: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if poll.is_ready() {
            self.write_stalled = None;
            return poll;
        }
        let deadline = *self.write_stalled.get_or_insert_with(Instant::now) + self.stall_limit;
        timed_out(
            &mut self.write_timer,
            deadline,
            cx,
            "client stopped taking its response",
        )
    }
}

/// Pending until `deadline`, then `TimedOut` saying `why`.
///
/// The timer is moved only when the deadline comes earlier than it is set for, or when it
/// fires before the deadline: every response moves a keep-alive connection's deadline later,
/// and resetting a timer touches the runtime's timer wheel, which the hot path should not pay
/// per request. A timer that fires early is simply armed again for the real deadline.
fn timed_out<T>(
    timer: &mut Pin<Box<Sleep>>,
    deadline: Instant,
    cx: &mut Context<'_>,
    why: &'static str,
) -> Poll<io::Result<T>> {
    if timer.deadline() > deadline {
        timer.as_mut().reset(deadline);
    }
    loop {
        match timer.as_mut().poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(()) if Instant::now() >= deadline => {
                return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, why)));
            }
            Poll::Ready(()) => timer.as_mut().reset(deadline),
        }
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        let read = Pin::new(&mut this.stream).poll_read(cx, buf);
        let mut state = this.connection.state();
        if read.is_ready() {
            if buf.filled().len() > before && state.in_flight == 0 && state.started.is_none() {
                state.started = Some(Instant::now());
            }
            return read;
        }
        match &state.reader {
            Some(reader) if reader.will_wake(cx.waker()) => {}
            _ => state.reader = Some(cx.waker().clone()),
        }
        let Some(deadline) = state.deadline() else {
            return Poll::Pending;
        };
        drop(state);
        timed_out(
            &mut this.timer,
            deadline,
            cx,
            "client too slow: no complete request in time",
        )
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = self.poll_write_slices(cx, &[io::IoSlice::new(buf)]);
        self.unless_stalled(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = self.poll_write_slices(cx, bufs);
        self.unless_stalled(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.stream).poll_flush(cx);
        self.unless_stalled(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn deadlines_follow_what_the_connection_is_doing() {
        let limits = ConnectionLimits {
            header_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_connections: 1,
        };
        let connection = Connection::new(limits);
        let opened = connection.state().waiting_since;
        let deadline = || connection.state().deadline();
        // Fresh: the first request's headers are due from the start, however late its
        // first byte.
        assert_eq!(deadline(), Some(opened + limits.header_timeout));
        connection.state().started = Some(opened + Duration::from_secs(20));
        assert_eq!(deadline(), Some(opened + limits.header_timeout));
        // Handling a request: no deadline, until its response body is done.
        let busy = connection.begin();
        assert_eq!(deadline(), None);
        drop(busy);
        let idle = connection.state().waiting_since;
        assert_eq!(deadline(), Some(idle + limits.idle_timeout));
        // The next request started: its headers are due from its first byte.
        let first_byte = idle + Duration::from_secs(5);
        connection.state().started = Some(first_byte);
        assert_eq!(deadline(), Some(first_byte + limits.header_timeout));
    }

    async fn wait(timer: &mut Pin<Box<Sleep>>, deadline: Instant) -> io::Error {
        let waited = std::future::poll_fn(|cx| timed_out::<()>(timer, deadline, cx, "late"));
        tokio::time::timeout(Duration::from_secs(30), waited)
            .await
            .expect("the deadline was kept")
            .expect_err("a deadline ends in an error")
    }

    #[tokio::test]
    async fn a_deadline_is_kept_whichever_way_it_moved() {
        // The timer is set earlier than the deadline (a connection whose deadline moved
        // later): it fires early, is armed again, and the error waits for the deadline.
        let mut timer = Box::pin(tokio::time::sleep_until(Instant::now()));
        let later = Instant::now() + Duration::from_millis(40);
        let error = wait(&mut timer, later).await;
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert!(Instant::now() >= later, "timed out before the deadline");
        // The timer is set later than the deadline: it is moved earlier.
        let mut timer = Box::pin(tokio::time::sleep(Duration::from_secs(3600)));
        let soon = Instant::now() + Duration::from_millis(20);
        assert_eq!(wait(&mut timer, soon).await.kind(), io::ErrorKind::TimedOut);
        assert!(Instant::now() >= soon);
    }
}
