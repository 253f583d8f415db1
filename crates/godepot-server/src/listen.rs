//! The accept loop: one task per connection, at most [`ConnectionLimits::max_connections`]
//! of them, each closed when its client is too slow to send a request or stays idle too long
//! (see [`watch`]). Without these limits, connections that send half a request line and
//! nothing more stay open for good, and about a thousand of them exhaust the process's file
//! descriptors: the server then answers no one.

mod watch;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower_service::Service;

use crate::tls::Tls;
use crate::zerocopy::Offer;
use watch::{Connection, Watched};

/// How long connections may wait on their clients, and how many are served at once.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// From connecting (or from the first byte of a later request) to the end of the
    /// request's headers.
    pub header_timeout: Duration,
    /// From the end of a response to the first byte of the next request; also the longest
    /// a response may wait on a client that takes none of it.
    pub idle_timeout: Duration,
    /// Connections served at once; more wait in the listen backlog until one closes.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_connections: 512,
        }
    }
}

/// Serves until `shutdown` completes, then lets in-flight responses finish for at most
/// `grace`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
    limits: ConnectionLimits,
    tls: Option<Arc<Tls>>,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // Vectored writes queue body chunks as they are instead of copying them into one
    // buffer: the placeholders of a file sent with sendfile must reach `Watched` as
    // themselves (see `crate::zerocopy`).
    builder.http1().writev(true);
    let graceful = GracefulShutdown::new();
    let mut at_limit = false;
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = accept(&listener, &permits, limits.max_connections, &mut at_limit) => accepted,
        };
        let (stream, permit) = accepted;
        let peer = stream.peer_addr().ok().map(crate::PeerAddr);
        let secure = tls.is_some();
        let connection = Connection::new(limits);
        let io = Watched::new(stream, connection.clone());
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: http::Request<Incoming>| {
            if let Some(peer) = peer {
                request.extensions_mut().insert(peer);
            }
            if secure {
                request.extensions_mut().insert(crate::OverTls);
            }
            let busy = connection.begin();
            // sendfile writes to the socket itself: not under TLS, nor into HTTP/2 frames;
            // a HEAD response has no body to send.
            let zero_copy = !secure
                && matches!(
                    request.version(),
                    http::Version::HTTP_10 | http::Version::HTTP_11
                )
                && request.method() == http::Method::GET;
            let connection = connection.clone();
            let mut router = router.clone();
            async move {
                let response = router.call(request).await?;
                if zero_copy && let Some(offer) = response.extensions().get::<Offer>() {
                    offer.claim(Arc::new(connection));
                }
                Ok::<_, std::convert::Infallible>(response.map(|body| busy.track(body)))
            }
        });
        let builder = builder.clone();
        let watcher = graceful.watcher();
        // The handshake runs in the connection's task, so a slow client never holds up the
        // accept loop; the header deadline of `Watched` covers it too.
        let acceptor = tls.as_ref().map(|tls| tls.acceptor());
        tokio::spawn(async move {
            let served = match acceptor {
                None => {
                    let conn = builder.serve_connection(TokioIo::new(io), service);
                    watcher.watch(conn.into_owned()).await
                }
                Some(acceptor) => match acceptor.accept(io).await {
                    Ok(tls_io) => {
                        let conn = builder.serve_connection(TokioIo::new(tls_io), service);
                        watcher.watch(conn.into_owned()).await
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "TLS handshake failed");
                        Ok(())
                    }
                },
            };
            if let Err(e) = served {
                tracing::debug!(error = %e, "connection closed");
            }
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(grace) => {
            tracing::warn!(grace_secs = grace.as_secs_f64(), "in-flight requests outlived the shutdown grace period; stopping anyway");
        }
    }
    Ok(())
}

/// The next connection, once there is room for it. Waiting for room before accepting
/// leaves the excess in the kernel's backlog, where it costs this process nothing. Says so
/// once each time the limit is reached (`at_limit` remembers it), not once per connection.
async fn accept(
    listener: &TcpListener,
    permits: &Arc<Semaphore>,
    max: usize,
    at_limit: &mut bool,
) -> (TcpStream, OwnedSemaphorePermit) {
    let permit = match Arc::clone(permits).try_acquire_owned() {
        Ok(permit) => {
            *at_limit = false;
            permit
        }
        Err(_) => {
            if !std::mem::replace(at_limit, true) {
                tracing::warn!(
                    max_connections = max,
                    "connection limit reached: new connections wait until one closes (see --max-connections)"
                );
            }
            // The semaphore is never closed.
            match Arc::clone(permits).acquire_owned().await {
                Ok(permit) => permit,
                Err(_) => std::future::pending().await,
            }
        }
    };
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                // Responses go out as a head write and body writes: with Nagle's algorithm
                // on, the body of a small response waits for the client's delayed ACK
                // (~40 ms). Every hit would pay it.
                let _ = stream.set_nodelay(true);
                return (stream, permit);
            }
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                // Out of file descriptors, most likely: wait for some to close, don't spin.
                tracing::error!(error = %e, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// Errors of one connection (gone before it was accepted), not of the listener.
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}
