//! One structured log line per request, with what was sent and where it came from; the
//! request's metrics are counted at the same moment. Streamed bodies are logged when they
//! end, so the line tells how many bytes really went out and how long the whole transfer
//! took.

use std::sync::Arc;
use std::time::Instant;

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, BodyDataStream, Bytes, HttpBody};
use axum::http::Method;
use axum::response::Response;
use futures_util::{Stream, StreamExt};
use godepot_depot::CacheStatus;

use crate::activity::InFlight;
use crate::metrics::{Kind, Metrics};

pub(crate) struct AccessLog {
    method: Method,
    path: String,
    start: Instant,
    /// What was asked, once the path is understood (`Other` until then).
    pub(crate) kind: Kind,
    metrics: Arc<Metrics>,
    /// Held until the line is written, i.e. until the response has ended.
    _in_flight: InFlight,
}

impl AccessLog {
    pub(crate) fn start(
        method: Method,
        path: String,
        in_flight: InFlight,
        metrics: Arc<Metrics>,
    ) -> Self {
        AccessLog {
            method,
            path,
            start: Instant::now(),
            kind: Kind::Other,
            metrics,
            _in_flight: in_flight,
        }
    }

    pub(crate) fn finish(self, response: Response, cache: Option<CacheStatus>) -> Response {
        let status = response.status().as_u16();
        if let Some(len) = response.body().size_hint().exact() {
            self.emit(status, cache, len, true);
            return response;
        }
        let (parts, body) = response.into_parts();
        let expected = parts
            .headers
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let stream = Logged {
            inner: body.into_data_stream(),
            expected,
            done: Done {
                log: Some(self),
                status,
                cache,
                sent: 0,
                complete: false,
            },
        };
        Response::from_parts(parts, Body::from_stream(stream))
    }

    fn emit(&self, status: u16, cache: Option<CacheStatus>, bytes: u64, complete: bool) {
        let took = self.start.elapsed();
        self.metrics.request(self.kind, status, cache, bytes, took);
        let ms = took.as_secs_f64() * 1000.0;
        let cache = cache.map_or("none", CacheStatus::as_str);
        tracing::info!(
            target: "godepot::access",
            method = %self.method,
            path = %self.path,
            status,
            bytes,
            ms = (ms * 1000.0).round() / 1000.0,
            cache,
            complete,
            "request"
        );
    }
}

/// Logs when dropped: at the end of the body, or when the client went away mid-body.
struct Done {
    log: Option<AccessLog>,
    status: u16,
    cache: Option<CacheStatus>,
    sent: u64,
    complete: bool,
}

impl Drop for Done {
    fn drop(&mut self) {
        if let Some(log) = self.log.take() {
            log.emit(self.status, self.cache, self.sent, self.complete);
        }
    }
}

/// A body stream that counts what it yields and notices its own end.
struct Logged {
    inner: BodyDataStream,
    /// The declared length: hyper stops polling once it is sent, so the end is never seen.
    expected: Option<u64>,
    done: Done,
}

impl Stream for Logged {
    type Item = Result<Bytes, axum::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = self.inner.poll_next_unpin(cx);
        match &polled {
            Poll::Ready(Some(Ok(data))) => {
                self.done.sent += data.len() as u64;
                if self.expected.is_some_and(|n| self.done.sent >= n) {
                    self.done.complete = true;
                }
            }
            Poll::Ready(None) => self.done.complete = true,
            _ => {}
        }
        polled
    }
}
