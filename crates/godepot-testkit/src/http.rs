//! A tiny blocking HTTP/1.1 client over `std::net::TcpStream`.
//!
//! Not a general client: it exists because tests need to send request targets *exactly as
//! written* (`/../`, `%2e%2e`, raw upper-case, 5000-byte paths) with no normalization, and to
//! see truncated bodies as errors instead of having a library paper over them. It always sends
//! `Connection: close` and reads until the body is complete.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A complete response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers in wire order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body (empty for HEAD, 204, 304).
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// First header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as (lossy) UTF-8, for messages and assertions.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Status line and headers only (the body went to a sink).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpHead {
    /// Status code.
    pub status: u16,
    /// Headers in wire order.
    pub headers: Vec<(String, String)>,
}

/// How long one exchange may stall before it errors: a safety net so a hung server fails the
/// test instead of hanging it, not an assertion about speed.
pub const IO_TIMEOUT: Duration = Duration::from_secs(120);

/// `GET url`; panics on I/O errors (including a body shorter than its Content-Length).
pub fn http_get(url: &str) -> HttpResponse {
    http_request("GET", url, &[])
}

/// `method url` with extra headers; panics on I/O errors.
pub fn http_request(method: &str, url: &str, headers: &[(&str, &str)]) -> HttpResponse {
    try_http_request(method, url, headers).unwrap_or_else(|e| panic!("{method} {url}: {e}"))
}

/// Like [`http_request`] but returns I/O errors (connection refused, truncated body, ...).
pub fn try_http_request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
) -> io::Result<HttpResponse> {
    let mut body = Vec::new();
    let head = http_request_to(method, url, headers, &mut body)?;
    Ok(HttpResponse {
        status: head.status,
        headers: head.headers,
        body,
    })
}

/// Splits `http://host:port/target` into (`host:port`, `/target`), keeping the target verbatim.
pub fn split_url(url: &str) -> (&str, &str) {
    let rest = url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("only http:// URLs are supported: {url}"));
    match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    }
}

/// Performs one exchange, streaming the body into `sink` (so 100 clients of a 30 MiB zip need
/// not hold 100 copies).
pub fn http_request_to(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    sink: &mut dyn Write,
) -> io::Result<HttpHead> {
    let (authority, target) = split_url(url);
    let stream = TcpStream::connect(authority)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut req = format!(
        "{method} {target} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: godepot-testkit\r\nConnection: close\r\n"
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    (&stream).write_all(req.as_bytes())?;
    (&stream).flush()?;

    let mut r = BufReader::with_capacity(64 * 1024, stream);
    let (status, headers) = loop {
        let (status, headers) = read_head(&mut r)?;
        // Skip interim responses (100 Continue and friends).
        if !(100..200).contains(&status) || status == 101 {
            break (status, headers);
        }
    };
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
    };
    let no_body = method.eq_ignore_ascii_case("HEAD") || status == 204 || status == 304;
    if !no_body {
        if get("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
            read_chunked(&mut r, sink)?;
        } else if let Some(len) = get("content-length") {
            let len: u64 = len
                .parse()
                .map_err(|_| bad(format!("bad Content-Length {len:?}")))?;
            let got = io::copy(&mut (&mut r).take(len), sink)?;
            if got < len {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("body truncated: got {got} of {len} bytes"),
                ));
            }
        } else {
            io::copy(&mut r, sink)?;
        }
    }
    Ok(HttpHead { status, headers })
}

fn bad(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

fn read_line(r: &mut impl BufRead) -> io::Result<String> {
    let mut buf = Vec::new();
    r.read_until(b'\n', &mut buf)?;
    if buf.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed before a complete response head",
        ));
    }
    while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        buf.pop();
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

fn read_head(r: &mut impl BufRead) -> io::Result<(u16, Vec<(String, String)>)> {
    let line = read_line(r)?;
    let mut parts = line.splitn(3, ' ');
    let (proto, code) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if !proto.starts_with("HTTP/1.") {
        return Err(bad(format!("not an HTTP/1.x status line: {line:?}")));
    }
    let status: u16 = code
        .parse()
        .map_err(|_| bad(format!("bad status line {line:?}")))?;
    let mut headers = Vec::new();
    loop {
        let line = read_line(r)?;
        if line.is_empty() {
            break;
        }
        let (k, v) = line
            .split_once(':')
            .ok_or_else(|| bad(format!("bad header line {line:?}")))?;
        headers.push((k.trim().to_owned(), v.trim().to_owned()));
    }
    Ok((status, headers))
}

fn read_chunked(r: &mut impl BufRead, sink: &mut dyn Write) -> io::Result<()> {
    loop {
        let line = read_line(r)?;
        let size_hex = line.split(';').next().unwrap_or("").trim();
        let size = u64::from_str_radix(size_hex, 16)
            .map_err(|_| bad(format!("bad chunk size line {line:?}")))?;
        if size == 0 {
            // Trailers, then the empty line.
            while !read_line(r)?.is_empty() {}
            return Ok(());
        }
        let got = io::copy(&mut r.take(size), sink)?;
        if got < size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "chunked body truncated",
            ));
        }
        read_line(r)?;
    }
}

/// A sink that checks streamed bytes against an expected slice without storing them.
#[derive(Debug)]
pub struct CompareSink<'a> {
    expected: &'a [u8],
    pos: usize,
    /// Offset of the first differing byte, if any.
    pub first_mismatch: Option<usize>,
}

impl<'a> CompareSink<'a> {
    /// Compares against `expected`.
    pub fn new(expected: &'a [u8]) -> Self {
        CompareSink {
            expected,
            pos: 0,
            first_mismatch: None,
        }
    }

    /// True if exactly `expected` was written.
    pub fn matched(&self) -> bool {
        self.first_mismatch.is_none() && self.pos == self.expected.len()
    }

    /// Bytes written so far.
    pub fn written(&self) -> usize {
        self.pos
    }
}

impl Write for CompareSink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.first_mismatch.is_none() {
            let end = (self.pos + buf.len()).min(self.expected.len());
            let want = &self.expected[self.pos.min(end)..end];
            // Fast path (memcmp); find the offset only on a mismatch.
            if want != &buf[..want.len()] {
                let i = want.iter().zip(buf).position(|(a, b)| a != b).unwrap_or(0);
                self.first_mismatch = Some(self.pos + i);
            } else if want.len() < buf.len() {
                self.first_mismatch = Some(self.pos + want.len());
            }
        }
        self.pos += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The `Authorization` header value for HTTP Basic credentials.
pub fn basic_auth(login: &str, password: &str) -> String {
    use base64::Engine;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{login}:{password}"));
    format!("Basic {token}")
}
