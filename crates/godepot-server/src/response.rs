//! Turning depot answers into HTTP responses: content types, validators, conditional and
//! range requests, cache lifetimes. Also the one place errors become status codes.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use godepot_depot::{Answer, DepotError};
use godepot_store::ArtifactBody;

use crate::zerocopy;

/// Read size for streaming stored files where they cannot be sent with sendfile (TLS,
/// HTTP/2): each chunk is a hop to the blocking pool and a wake-up, so large enough that a
/// 24 MiB zip is under a hundred of them, small enough that hundreds of concurrent downloads
/// stay within a few hundred MiB.
const FILE_CHUNK: u64 = 256 * 1024;

/// Read size for streams from a store without local files (object storage), whose reads are
/// network reads: the chunk is what a slow client holds up.
const STREAM_CHUNK: u64 = 64 * 1024;

/// Stored file ranges from this size on are offered for sendfile ([`crate::zerocopy`]). The
/// depot holds smaller artifacts in memory; a smaller range of a file is one short read.
const ZERO_COPY_MIN: u64 = 64 * 1024;

/// What kind of resource a response carries, for its Content-Type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Json,
    Text,
    Zip,
    /// Checksum database tiles.
    Binary,
    /// The vulnerability database's `.json.gz` files.
    Gzip,
}

impl Resource {
    fn content_type(self) -> &'static str {
        match self {
            Resource::Json => "application/json",
            Resource::Text => "text/plain; charset=utf-8",
            Resource::Zip => "application/zip",
            Resource::Binary => "application/octet-stream",
            Resource::Gzip => "application/gzip",
        }
    }
}

pub fn answer(answer: Answer, resource: Resource, req: &HeaderMap, ttl: Duration) -> Response {
    let cache_control = if answer.immutable {
        HeaderValue::from_static("public, max-age=31536000, immutable")
    } else {
        HeaderValue::from_str(&format!("public, max-age={}", ttl.as_secs()))
            .expect("digits are a valid header value")
    };
    let mut builder = Response::builder()
        .header(header::CONTENT_TYPE, resource.content_type())
        .header(header::CACHE_CONTROL, cache_control);
    match answer.body {
        godepot_depot::Body::Bytes(data) => {
            let etag = bytes_etag(&data);
            builder = builder.header(header::ETAG, &etag);
            if none_match(req, &etag) {
                return not_modified(builder);
            }
            let len = data.len() as u64;
            builder
                .header(header::CONTENT_LENGTH, len)
                .body(Body::from(data))
                .expect("valid response")
        }
        godepot_depot::Body::Small { data, modified } => {
            let len = data.len() as u64;
            stored(Stored::Memory(data), len, modified, builder, req)
        }
        godepot_depot::Body::File(artifact) => {
            let (len, modified) = (artifact.len, artifact.modified);
            let content = match artifact.body {
                ArtifactBody::File(file) => Stored::File(file),
                ArtifactBody::Reader(reader) => Stored::Reader(reader),
                ArtifactBody::Chunks(chunks) => Stored::Chunks(chunks),
            };
            stored(content, len, modified, builder, req)
        }
        godepot_depot::Body::Stream { len, stream } => {
            if let Some(len) = len {
                builder = builder.header(header::CONTENT_LENGTH, len);
            }
            builder
                .body(Body::from_stream(stream))
                .expect("valid response")
        }
    }
}

/// The `.json.gz` form of a vulnerability-database answer: the same bytes, gzip-compressed
/// (what govulncheck asks for over HTTP), with the same time, so their validators differ only
/// by the length.
pub fn gzipped(mut answer: Answer) -> Answer {
    use std::io::Write;
    let compress = |data: &[u8]| {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(data)
            .and_then(|()| gz.finish())
            .map(Bytes::from)
            .expect("compressing into memory cannot fail")
    };
    answer.body = match answer.body {
        godepot_depot::Body::Bytes(data) => godepot_depot::Body::Bytes(compress(&data)),
        godepot_depot::Body::Small { data, modified } => godepot_depot::Body::Small {
            data: compress(&data),
            modified,
        },
        other => other,
    };
    answer
}

/// The bytes of a stored artifact: held in memory (small ones), an open local file, or a
/// stream from a store without a local copy (object storage).
enum Stored {
    Memory(Bytes),
    File(std::fs::File),
    Reader(Box<dyn Read + Send>),
    Chunks(godepot_store::chunks::Chunks),
}

/// A stored artifact: the same validators (ETag from length and time, Last-Modified),
/// conditional and range handling whether it is served from memory or from disk.
fn stored(
    content: Stored,
    len: u64,
    modified: SystemTime,
    mut builder: axum::http::response::Builder,
    req: &HeaderMap,
) -> Response {
    let etag = file_etag(len, modified);
    let last_modified = httpdate::fmt_http_date(modified);
    builder = builder
        .header(header::ETAG, &etag)
        .header(header::LAST_MODIFIED, &last_modified)
        .header(header::ACCEPT_RANGES, "bytes");
    let conditional = if req.contains_key(header::IF_NONE_MATCH) {
        none_match(req, &etag)
    } else {
        not_modified_since(req, modified)
    };
    if conditional {
        return not_modified(builder);
    }
    let range = match req.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(spec) if if_range_holds(req, &etag, &last_modified) => parse_range(spec, len),
        _ => Range::Full,
    };
    let (status, start, count) = match range {
        Range::Full => (StatusCode::OK, 0, len),
        Range::Partial(start, end) => {
            builder = builder.header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{len}"));
            (StatusCode::PARTIAL_CONTENT, start, end - start + 1)
        }
        Range::Unsatisfiable => {
            return builder
                .status(StatusCode::RANGE_NOT_SATISFIABLE)
                .header(header::CONTENT_RANGE, format!("bytes */{len}"))
                .header(header::CONTENT_LENGTH, 0)
                .body(Body::empty())
                .expect("valid response");
        }
    };
    let body = match content {
        // The range was parsed against this very length, so the slice is in bounds.
        Stored::Memory(data) => Body::from(data.slice(start as usize..(start + count) as usize)),
        Stored::File(file) if count >= ZERO_COPY_MIN => {
            let file = std::sync::Arc::new(file);
            let offer = zerocopy::Offer::new(std::sync::Arc::clone(&file), start, count);
            let body = Body::from_stream(offer.body(file_stream(file, start, count)));
            builder = builder.extension(offer);
            body
        }
        Stored::File(file) => {
            Body::from_stream(file_stream(std::sync::Arc::new(file), start, count))
        }
        Stored::Reader(reader) => Body::from_stream(reader_stream(reader, start, count)),
        Stored::Chunks(chunks) => Body::from_stream(chunk_stream(chunks, start, count)),
    };
    builder
        .status(status)
        .header(header::CONTENT_LENGTH, count)
        .body(body)
        .expect("valid response")
}

/// `count` bytes of `file` from `start`, read with positioned reads on the blocking pool. Each
/// chunk is read straight into the buffer that goes out: no second copy, no per-stream buffer
/// held between reads.
fn file_stream(
    file: std::sync::Arc<std::fs::File>,
    start: u64,
    count: u64,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send {
    futures_util::stream::try_unfold(
        (file, start, start + count),
        |(file, pos, end)| async move {
            if pos >= end {
                return Ok(None);
            }
            let len = (end - pos).min(FILE_CHUNK) as usize;
            let reader = std::sync::Arc::clone(&file);
            let chunk = tokio::task::spawn_blocking(move || {
                let mut buf = vec![0; len];
                reader
                    .read_exact_at(&mut buf, pos)
                    .map(|()| Bytes::from(buf))
            })
            .await
            .map_err(std::io::Error::other)??;
            Ok(Some((chunk, (file, pos + len as u64, end))))
        },
    )
}

/// `count` bytes of a stream from `start` (skipped by reading), read on the blocking pool in
/// chunks: the store's reader may block on the network.
fn reader_stream(
    reader: Box<dyn Read + Send>,
    start: u64,
    count: u64,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send {
    futures_util::stream::try_unfold(
        (Some(reader), start, count),
        |(reader, skip, left)| async move {
            let Some(mut reader) = reader else {
                return Ok(None);
            };
            if left == 0 {
                return Ok(None);
            }
            let len = left.min(STREAM_CHUNK) as usize;
            let (reader, chunk) = tokio::task::spawn_blocking(move || {
                if skip > 0 {
                    let skipped =
                        std::io::copy(&mut (&mut reader).take(skip), &mut std::io::sink())?;
                    if skipped < skip {
                        return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof));
                    }
                }
                let mut buf = vec![0; len];
                reader.read_exact(&mut buf)?;
                Ok::<_, std::io::Error>((reader, Bytes::from(buf)))
            })
            .await
            .map_err(std::io::Error::other)??;
            Ok(Some((chunk, (Some(reader), 0, left - len as u64))))
        },
    )
}

/// `count` bytes of an artifact's chunks from `start`, each chunk passed on as it arrives
/// (sliced at the range's ends, never copied), on the connection's own task.
fn chunk_stream(
    chunks: godepot_store::chunks::Chunks,
    start: u64,
    count: u64,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send {
    futures_util::stream::try_unfold(
        (chunks, start, count),
        |(mut chunks, mut skip, left)| async move {
            if left == 0 {
                return Ok(None);
            }
            loop {
                let Some(chunk) = chunks.next().await else {
                    return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof));
                };
                let mut chunk = chunk?;
                let len = chunk.len() as u64;
                if skip >= len {
                    skip -= len;
                    continue;
                }
                let chunk = chunk.split_off(skip as usize);
                let take = left.min(chunk.len() as u64);
                let out = chunk.slice(..take as usize);
                return Ok(Some((out, (chunks, 0, left - take))));
            }
        },
    )
}

fn not_modified(builder: axum::http::response::Builder) -> Response {
    builder
        .status(StatusCode::NOT_MODIFIED)
        .body(Body::empty())
        .expect("valid response")
}

/// Maps every depot error to its status: the only place this happens.
pub fn error(e: &DepotError) -> Response {
    text(status_of(e), &e.to_string())
}

/// The status a depot error is answered with.
pub fn status_of(e: &DepotError) -> StatusCode {
    match e {
        DepotError::NotFound(_) => StatusCode::NOT_FOUND,
        DepotError::Gone(_) => StatusCode::GONE,
        DepotError::Invalid(_) => StatusCode::BAD_REQUEST,
        DepotError::Upstream { .. } | DepotError::Rejected { .. } => StatusCode::BAD_GATEWAY,
        DepotError::UpstreamTimeout { .. } => StatusCode::GATEWAY_TIMEOUT,
        DepotError::Store { .. } if e.is_storage_unavailable() => StatusCode::SERVICE_UNAVAILABLE,
        DepotError::Store { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        DepotError::Blocked(_) => StatusCode::FORBIDDEN,
    }
}

/// A short plain-text answer; the go command shows the body to its user.
pub fn text(status: StatusCode, message: &str) -> Response {
    let line = message.lines().next().unwrap_or("");
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, Resource::Text.content_type())
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::from(format!("{line}\n")))
        .expect("valid response")
}

fn bytes_etag(data: &[u8]) -> String {
    // Fixed keys: the same bytes give the same tag across restarts and replicas.
    let mut hasher = DefaultHasher::new();
    data.hash(&mut hasher);
    format!("\"{:016x}\"", hasher.finish())
}

fn file_etag(len: u64, modified: SystemTime) -> String {
    let nanos = modified
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("\"{len:x}-{nanos:x}\"")
}

/// `If-None-Match`: any listed tag (weak comparison) or `*` matches.
fn none_match(req: &HeaderMap, etag: &str) -> bool {
    req.get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == etag)
}

fn not_modified_since(req: &HeaderMap, modified: SystemTime) -> bool {
    let Some(since) = req
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
    else {
        return false;
    };
    // HTTP dates have whole seconds.
    let modified_secs = modified
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let since_secs = since
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    modified_secs <= since_secs
}

/// `If-Range`: the range applies only if the client's copy is still this one.
fn if_range_holds(req: &HeaderMap, etag: &str, last_modified: &str) -> bool {
    match req.get(header::IF_RANGE).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(v) => v == etag || v == last_modified,
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Range {
    Full,
    /// First and last byte, inclusive.
    Partial(u64, u64),
    Unsatisfiable,
}

/// A single `bytes=` range. Multiple ranges and malformed headers get the whole body, as
/// RFC 9110 allows.
fn parse_range(spec: &str, len: u64) -> Range {
    let Some(spec) = spec.trim().strip_prefix("bytes=") else {
        return Range::Full;
    };
    if spec.contains(',') {
        return Range::Full;
    }
    let Some((first, last)) = spec.split_once('-') else {
        return Range::Full;
    };
    let (first, last) = (first.trim(), last.trim());
    let parsed = match (first.is_empty(), last.is_empty()) {
        (true, false) => last.parse::<u64>().ok().map(|n| {
            if n == 0 || len == 0 {
                Range::Unsatisfiable
            } else {
                Range::Partial(len.saturating_sub(n), len - 1)
            }
        }),
        (false, _) => first.parse::<u64>().ok().and_then(|start| {
            let end = if last.is_empty() {
                Some(u64::MAX)
            } else {
                last.parse().ok()
            };
            end.map(|end| match end {
                end if end < start => Range::Full,
                _ if start >= len => Range::Unsatisfiable,
                end => Range::Partial(start, end.min(len - 1)),
            })
        }),
        (true, true) => None,
    };
    parsed.unwrap_or(Range::Full)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        for (spec, len, expect) in [
            ("bytes=0-9", 100, Range::Partial(0, 9)),
            ("bytes=90-", 100, Range::Partial(90, 99)),
            ("bytes=90-200", 100, Range::Partial(90, 99)),
            ("bytes=-10", 100, Range::Partial(90, 99)),
            ("bytes=-200", 100, Range::Partial(0, 99)),
            ("bytes=100-", 100, Range::Unsatisfiable),
            ("bytes=-0", 100, Range::Unsatisfiable),
            ("bytes=5-1", 100, Range::Full),
            ("bytes=0-1,5-6", 100, Range::Full),
            ("items=0-1", 100, Range::Full),
            ("bytes=x-y", 100, Range::Full),
            ("bytes=-", 100, Range::Full),
        ] {
            assert_eq!(parse_range(spec, len), expect, "{spec} of {len}");
        }
    }

    /// A range of an artifact arriving in chunks: every start and length over chunks of
    /// uneven sizes gives exactly those bytes.
    #[tokio::test]
    async fn chunk_ranges_slice_across_chunks() {
        use futures_util::TryStreamExt;
        let data: Vec<u8> = (0..40u8).collect();
        let sizes = [1usize, 7, 0, 13, 19];
        for start in 0..40u64 {
            for count in [0u64, 1, 5, 17, 40 - start] {
                let count = count.min(40 - start);
                let (tx, chunks) = godepot_store::chunks::Chunks::channel(40, sizes.len());
                let mut at = 0;
                for n in sizes {
                    tx.try_send(Ok(Bytes::copy_from_slice(&data[at..at + n])))
                        .unwrap();
                    at += n;
                }
                drop(tx);
                let got: Vec<Bytes> = chunk_stream(chunks, start, count)
                    .try_collect()
                    .await
                    .unwrap();
                let got = got.concat();
                let want = &data[start as usize..(start + count) as usize];
                assert_eq!(got, want, "{start}+{count}");
            }
        }
    }

    #[test]
    fn etags_match_weakly_and_in_lists() {
        let mut h = HeaderMap::new();
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"a\", W/\"b\""),
        );
        assert!(none_match(&h, "\"b\""));
        assert!(!none_match(&h, "\"c\""));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(none_match(&h, "\"c\""));
    }
}
