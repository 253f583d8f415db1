//! Fetching one proxy path through the configured list.

use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt, TryStreamExt};
use tokio_util::io::ReaderStream;

use crate::metrics::{Outcome, ProxyMetrics, UpstreamMetrics};
use crate::netrc::Netrc;
use crate::url::{Credentials, UpstreamUrl};
use crate::{Endpoint, FetchError, ProxyEntry, ProxyList};

/// Request header that carries the requesting godepot's instance id, so that a godepot that
/// is (through some alias) its own upstream recognises its own requests and refuses them
/// instead of looping.
pub const VIA_HEADER: &str = "godepot-via";

/// How patient to be with upstreams.
#[derive(Debug, Clone)]
pub struct UpstreamOptions {
    /// Limit on connecting plus receiving response headers, and on any silence while a body
    /// is being received. A whole large zip may take longer than this, as long as it keeps
    /// up [`min_rate`](Self::min_rate).
    pub timeout: Duration,
    /// The least a body must deliver in every `timeout` window, in bytes; a body that falls
    /// below it is cut off ([`FetchError::TooSlow`]). Without it, an upstream that drips a
    /// byte a second would hold a request, and everyone waiting on it, for as long as it
    /// liked.
    pub min_rate: u64,
    /// Extra attempts for a transient failure before the first body byte.
    pub retries: u32,
    /// First backoff; each retry waits four times longer.
    pub backoff: Duration,
    /// This process's instance id, sent in [`VIA_HEADER`].
    pub instance_id: String,
    /// Where requests are counted, per proxy (`/metrics`); none: not counted anywhere.
    pub metrics: Option<Arc<UpstreamMetrics>>,
}

impl Default for UpstreamOptions {
    fn default() -> Self {
        UpstreamOptions {
            timeout: Duration::from_secs(30),
            min_rate: 4096,
            retries: 2,
            backoff: Duration::from_millis(100),
            instance_id: String::new(),
            metrics: None,
        }
    }
}

/// A body on its way from upstream.
pub type BodyStream = Pin<Box<dyn Stream<Item = Result<Bytes, FetchError>> + Send>>;

/// A successful answer whose body has not been read yet.
pub struct Fetched {
    /// The declared length, when upstream declared one.
    pub content_length: Option<u64>,
    pub body: BodyStream,
    /// Which proxy answered (the URL fetched, credentials redacted), for logs and messages.
    pub source: String,
    /// What identifies this answer at that proxy, for asking again conditionally.
    pub validators: Validators,
}

/// A small answer read whole.
#[derive(Debug, Clone)]
pub struct Whole {
    pub data: Bytes,
    /// Which proxy answered (the URL fetched, credentials redacted).
    pub source: String,
    /// What identifies this answer at that proxy, for asking again conditionally.
    pub validators: Validators,
}

/// What identifies one state of a mutable answer (`list`, `@latest`) at the proxy that gave
/// it: its `ETag` and `Last-Modified`, sent back as `If-None-Match` and `If-Modified-Since`
/// so that an answer that has not changed costs a 304 and no body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    /// The URL that gave them (credentials redacted). They are sent back to that URL only:
    /// another proxy's tags and dates say nothing about the answer held (a fall-through
    /// proxy whose copy is older than our date would answer 304 for different bytes).
    pub source: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

impl Validators {
    /// Whether there is nothing to ask with (the proxy sent neither header).
    pub fn is_empty(&self) -> bool {
        self.etag.is_none() && self.last_modified.is_none()
    }

    /// The validators of a response from `source`. A value that is not visible ASCII, or
    /// is absurdly long, is left out rather than kept and sent back.
    fn of(source: &str, headers: &reqwest::header::HeaderMap) -> Validators {
        let value = |name| {
            headers
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty() && v.len() <= 512)
                .map(str::to_string)
        };
        Validators {
            source: source.to_string(),
            etag: value(reqwest::header::ETAG),
            last_modified: value(reqwest::header::LAST_MODIFIED),
        }
    }
}

/// The answer to a conditional request ([`Upstream::get_whole_if_changed`]).
#[derive(Debug, Clone)]
pub enum Revalidated {
    /// The proxy that gave the validators says the answer held is still current (304).
    Unchanged,
    /// A new answer (or the same one from a proxy that cannot tell), read whole.
    Changed(Whole),
}

/// One proxy's reply before its body is read: to a conditional request, a 304 is an
/// answer, not an error.
enum Reply {
    Full(Fetched),
    Unchanged,
}

impl std::fmt::Debug for Fetched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetched")
            .field("content_length", &self.content_length)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// The upstream proxies, in `GOPROXY` order, with one shared connection pool.
#[derive(Debug, Clone)]
pub struct Upstream {
    entries: Vec<ProxyEntry>,
    /// Each entry's counters, in the same order.
    counted: Vec<Arc<ProxyMetrics>>,
    client: reqwest::Client,
    options: UpstreamOptions,
    /// Credentials for proxies whose URL carries none.
    netrc: std::sync::Arc<Netrc>,
}

impl Upstream {
    /// A client for `list`. Credentials come from each URL's userinfo, else from `.netrc`
    /// (`$NETRC`, else `~/.netrc`), read once here.
    pub fn new(list: &ProxyList, options: UpstreamOptions) -> Result<Self, FetchError> {
        Self::with_netrc(list, options, Netrc::from_environment())
    }

    /// As [`new`](Self::new), with the `.netrc` entries given.
    pub fn with_netrc(
        list: &ProxyList,
        options: UpstreamOptions,
        netrc: Netrc,
    ) -> Result<Self, FetchError> {
        // reqwest is built without a bundled crypto provider; choose ring once per process.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .connect_timeout(options.timeout)
            .read_timeout(options.timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .user_agent(concat!("godepot/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FetchError::Unreachable {
                url: "(client)".into(),
                reason: e.to_string(),
            })?;
        let counted = list
            .entries
            .iter()
            .map(|e| match &options.metrics {
                Some(metrics) => metrics.proxy(&e.endpoint),
                None => ProxyMetrics::unregistered(),
            })
            .collect();
        Ok(Upstream {
            entries: list.entries.clone(),
            counted,
            client,
            options,
            netrc: std::sync::Arc::new(netrc),
        })
    }

    /// The proxies asked, for logs (credentials redacted).
    pub fn describe(&self) -> String {
        let names: Vec<String> = self
            .entries
            .iter()
            .map(|e| e.endpoint.to_string())
            .collect();
        names.join(",")
    }

    /// Fetches `rel` (an escaped proxy path such as `m/@v/v1.0.0.info`) through the list,
    /// following the go command's fall-through rules.
    pub async fn get(&self, rel: &str) -> Result<Fetched, FetchError> {
        match self.get_unless(rel, None).await? {
            Reply::Full(fetched) => Ok(fetched),
            Reply::Unchanged => Err(FetchError::Status {
                url: rel.to_string(),
                status: 304,
                message: "not modified, though nothing conditional was asked".into(),
            }),
        }
    }

    /// As [`get`](Self::get); the proxy that gave `known`, when it is asked, is asked only
    /// whether its answer changed since.
    async fn get_unless(&self, rel: &str, known: Option<&Validators>) -> Result<Reply, FetchError> {
        let mut last = FetchError::Off;
        for (entry, counted) in self.entries.iter().zip(&self.counted) {
            match self
                .get_with_retries(&entry.endpoint, counted, rel, known)
                .await
            {
                Ok(reply) => return Ok(reply),
                Err(e @ FetchError::NotFound { .. }) => last = e,
                Err(e) if entry.fall_through_on_error => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    /// Fetches a small file whole, refusing bodies over `limit` bytes.
    pub async fn get_bytes(&self, rel: &str, limit: u64) -> Result<Bytes, FetchError> {
        self.get_whole(rel, limit).await.map(|whole| whole.data)
    }

    /// As [`get_bytes`](Self::get_bytes), saying which proxy answered.
    pub async fn get_whole(&self, rel: &str, limit: u64) -> Result<Whole, FetchError> {
        read_whole(self.get(rel).await?, limit).await
    }

    /// Fetches a small mutable answer (`list`, `@latest`) unless the proxy that gave `known`
    /// says it has not changed since (`If-None-Match`, `If-Modified-Since`: a 304). Empty
    /// validators ask unconditionally.
    pub async fn get_whole_if_changed(
        &self,
        rel: &str,
        limit: u64,
        known: &Validators,
    ) -> Result<Revalidated, FetchError> {
        let known = (!known.is_empty()).then_some(known);
        match self.get_unless(rel, known).await? {
            Reply::Unchanged => Ok(Revalidated::Unchanged),
            Reply::Full(fetched) => read_whole(fetched, limit).await.map(Revalidated::Changed),
        }
    }

    async fn get_with_retries(
        &self,
        endpoint: &Endpoint,
        counted: &Arc<ProxyMetrics>,
        rel: &str,
        known: Option<&Validators>,
    ) -> Result<Reply, FetchError> {
        let mut attempt = 0;
        loop {
            let start = Instant::now();
            let result = self.get_once(endpoint, counted, rel, known).await;
            counted.record(Outcome::of(&result), start.elapsed());
            match result {
                Err(e) if e.is_transient() && attempt < self.options.retries => {
                    let wait = self.options.backoff * 4u32.pow(attempt);
                    tracing::debug!(%endpoint, rel, error = %e, ?wait, "retrying upstream fetch");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    async fn get_once(
        &self,
        endpoint: &Endpoint,
        counted: &Arc<ProxyMetrics>,
        rel: &str,
        known: Option<&Validators>,
    ) -> Result<Reply, FetchError> {
        let mut fetched = match endpoint {
            Endpoint::Http(base) => match self.get_http(base, rel, known).await? {
                Reply::Full(fetched) => fetched,
                Reply::Unchanged => return Ok(Reply::Unchanged),
            },
            Endpoint::File(root) => get_file(root, rel).await?,
        };
        let counted = Arc::clone(counted);
        fetched.body = Box::pin(
            fetched
                .body
                .inspect_ok(move |chunk| counted.received(chunk.len())),
        );
        Ok(Reply::Full(fetched))
    }

    async fn get_http(
        &self,
        base: &UpstreamUrl,
        rel: &str,
        known: Option<&Validators>,
    ) -> Result<Reply, FetchError> {
        // `url` is what is asked; `shown` is what messages say (no credentials).
        let url = format!("{}/{rel}", base.base());
        let shown = format!("{base}/{rel}");
        let mut request = self
            .client
            .get(&url)
            .header(VIA_HEADER, &self.options.instance_id);
        if let Some(creds) = self.credentials_for(base) {
            request = request.basic_auth(&creds.login, Some(&creds.password));
        }
        let known = known.filter(|k| k.source == shown);
        if let Some(known) = known {
            if let Some(etag) = &known.etag {
                request = request.header(reqwest::header::IF_NONE_MATCH, etag);
            }
            if let Some(date) = &known.last_modified {
                request = request.header(reqwest::header::IF_MODIFIED_SINCE, date);
            }
        }
        let response = match tokio::time::timeout(self.options.timeout, request.send()).await {
            Err(_) => return Err(self.timeout(&shown)),
            Ok(Err(e)) if e.is_timeout() => return Err(self.timeout(&shown)),
            Ok(Err(e)) => {
                return Err(FetchError::Unreachable {
                    reason: error_chain(&e.without_url()),
                    url: shown,
                });
            }
            Ok(Ok(response)) => response,
        };
        let status = response.status().as_u16();
        if status == 304 && known.is_some() {
            return Ok(Reply::Unchanged);
        }
        if status != 200 {
            let mut message = short_text(response.bytes().await.unwrap_or_default());
            if matches!(status, 401 | 403) {
                message.push_str(if self.credentials_for(base).is_some() {
                    " (the credentials given for this upstream were refused)"
                } else {
                    " (this upstream wants credentials: give them in its URL, https://user:token@host, or in .netrc)"
                });
            }
            return Err(match status {
                404 | 410 => FetchError::NotFound { status, message },
                _ => FetchError::Status {
                    url: shown,
                    status,
                    message,
                },
            });
        }
        let content_length = response.content_length();
        let validators = Validators::of(&shown, response.headers());
        let body_url = shown.clone();
        let secs = self.options.timeout.as_secs_f64();
        let body = response.bytes_stream().map_err(move |e| {
            if e.is_timeout() {
                FetchError::Timeout {
                    url: body_url.clone(),
                    secs,
                }
            } else {
                FetchError::Body {
                    url: body_url.clone(),
                    reason: error_chain(&e.without_url()),
                }
            }
        });
        let guard = MinRate {
            window: self.options.timeout,
            min_bytes: self.options.min_rate,
            url: shown.clone(),
        };
        Ok(Reply::Full(Fetched {
            content_length,
            body: guard.wrap(Box::pin(body)),
            source: shown,
            validators,
        }))
    }

    /// The URL's own credentials, else `.netrc`'s for its host: sent to that host only
    /// (reqwest drops the header on a redirect to another host).
    fn credentials_for<'a>(&'a self, base: &'a UpstreamUrl) -> Option<&'a Credentials> {
        base.credentials()
            .or_else(|| self.netrc.lookup(&base.host()?))
    }

    fn timeout(&self, shown: &str) -> FetchError {
        FetchError::Timeout {
            url: shown.to_string(),
            secs: self.options.timeout.as_secs_f64(),
        }
    }
}

/// Reads a body whole, refusing more than `limit` bytes, and fewer than it declared.
async fn read_whole(fetched: Fetched, limit: u64) -> Result<Whole, FetchError> {
    let too_large = || FetchError::TooLarge {
        url: fetched.source.clone(),
        limit,
    };
    if fetched.content_length.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = fetched.body;
    let mut data = BytesMut::new();
    while let Some(chunk) = body.next().await {
        data.extend_from_slice(&chunk?);
        if data.len() as u64 > limit {
            return Err(too_large());
        }
    }
    if let Some(n) = fetched.content_length
        && n != data.len() as u64
    {
        return Err(FetchError::Body {
            url: fetched.source,
            reason: format!("declared {n} bytes, sent {}", data.len()),
        });
    }
    Ok(Whole {
        data: data.freeze(),
        source: fetched.source,
        validators: fetched.validators,
    })
}

/// Cuts a body off when it delivers fewer than `min_bytes` in a `window`: each window starts
/// when the previous one has received its due, so a body that keeps up is never cut, however
/// long it takes as a whole.
struct MinRate {
    window: Duration,
    min_bytes: u64,
    url: String,
}

impl MinRate {
    fn wrap(self, body: BodyStream) -> BodyStream {
        let start = tokio::time::Instant::now();
        let state = (body, start, 0u64, false);
        // Fused: callers may poll again after the end, as they can a reqwest body.
        Box::pin(
            futures_util::stream::unfold(
                (self, state),
                |(guard, (mut body, mut start, mut got, done))| async move {
                    if done {
                        return None;
                    }
                    let deadline = start + guard.window;
                    let item = match tokio::time::timeout_at(deadline, body.next()).await {
                        Ok(None) => return None,
                        Ok(Some(item)) => item,
                        Err(_) => Err(FetchError::TooSlow {
                            url: guard.url.clone(),
                            min_bytes: guard.min_bytes,
                            secs: guard.window.as_secs_f64(),
                        }),
                    };
                    let failed = item.is_err();
                    if let Ok(chunk) = &item {
                        got += chunk.len() as u64;
                        if got >= guard.min_bytes {
                            (start, got) = (tokio::time::Instant::now(), 0);
                        }
                    }
                    Some((item, (guard, (body, start, got, failed))))
                },
            )
            .fuse(),
        )
    }
}

async fn get_file(root: &std::path::Path, rel: &str) -> Result<Fetched, FetchError> {
    let path = root.join(rel);
    let source = format!("file://{}", path.display());
    let file = match tokio::fs::File::open(&path).await {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(FetchError::NotFound {
                status: 404,
                message: format!("not found: {rel}"),
            });
        }
        Err(e) => {
            return Err(FetchError::Unreachable {
                url: source,
                reason: e.to_string(),
            });
        }
    };
    let len = file.metadata().await.ok().map(|m| m.len());
    let url = source.clone();
    let body = ReaderStream::with_capacity(file, 256 * 1024).map_err(move |e| FetchError::Body {
        url: url.clone(),
        reason: e.to_string(),
    });
    Ok(Fetched {
        content_length: len,
        body: Box::pin(body),
        source,
        // A file:// proxy is read whole each time: nothing to ask conditionally.
        validators: Validators::default(),
    })
}

/// The first line of an error body, bounded: the go command shows it to the user.
fn short_text(body: Bytes) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(1024)]);
    text.lines().next().unwrap_or("").trim().to_string()
}

/// reqwest's top-level message is often just "error sending request"; the cause is below.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` chunks of `size` bytes, one per `every`.
    fn drip(n: usize, size: usize, every: Duration) -> BodyStream {
        Box::pin(futures_util::stream::unfold(0, move |i| async move {
            if i == n {
                return None;
            }
            tokio::time::sleep(every).await;
            Some((Ok(Bytes::from(vec![b'x'; size])), i + 1))
        }))
    }

    async fn drain(body: BodyStream) -> Result<usize, FetchError> {
        let mut body = body;
        let mut total = 0;
        while let Some(chunk) = body.next().await {
            total += chunk?.len();
        }
        // Fused: asking again after the end is harmless.
        assert!(body.next().await.is_none());
        Ok(total)
    }

    fn guard(window_ms: u64, min_bytes: u64) -> MinRate {
        MinRate {
            window: Duration::from_millis(window_ms),
            min_bytes,
            url: "http://***@u.example/m/@v/v1.0.0.zip".into(),
        }
    }

    #[tokio::test]
    async fn a_body_below_the_minimum_rate_is_cut_off() {
        let slow = drip(100, 1, Duration::from_millis(20));
        let e = drain(guard(200, 1024).wrap(slow)).await.unwrap_err();
        assert!(
            matches!(e, FetchError::TooSlow { .. }) && e.is_timeout(),
            "{e}"
        );
        assert!(e.to_string().contains("***@u.example"), "{e}");
    }

    #[tokio::test]
    async fn a_body_that_keeps_up_is_never_cut_off() {
        // Longer in all than the window, but each window gets its due.
        let steady = drip(20, 512, Duration::from_millis(20));
        assert_eq!(
            drain(guard(1000, 1024).wrap(steady)).await.unwrap(),
            20 * 512
        );
        let short = drip(3, 1, Duration::from_millis(5));
        assert_eq!(drain(guard(2000, 4096).wrap(short)).await.unwrap(), 3);
    }
}
