//! A minimal HTTP/1.1 GET over a fresh loopback connection that times the first and the last
//! byte. One connection per request (`Connection: close`), so the end of the body is simply
//! the end of the stream, whatever framing the server chose.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Large reads so that the client is not what limits a 50 MiB transfer.
const READ_BUF: usize = 256 * 1024;

/// One timed request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timed {
    pub(crate) status: u16,
    /// From just before connecting until the first response byte.
    pub(crate) first_byte: Duration,
    /// From just before connecting until the server closed the connection.
    pub(crate) last_byte: Duration,
    /// Bytes received after the response head.
    pub(crate) body_bytes: u64,
}

pub(crate) fn get(addr: SocketAddr, path: &str, timeout: Duration) -> Result<Timed, String> {
    let start = Instant::now();
    let mut stream =
        TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("connect {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .and_then(|()| stream.set_nodelay(true))
        .map_err(|e| format!("socket options: {e}"))?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("send GET {path}: {e}"))?;
    let mut buf = vec![0u8; READ_BUF];
    let mut head = Vec::new();
    let mut head_len = None;
    let mut total = 0u64;
    let mut first_byte = None;
    loop {
        let n = stream
            .read(&mut buf)
            .map_err(|e| format!("read GET {path} after {total} bytes: {e}"))?;
        if n == 0 {
            break;
        }
        first_byte.get_or_insert_with(|| start.elapsed());
        total += n as u64;
        if head_len.is_none() {
            head.extend_from_slice(&buf[..n]);
            head_len = head
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .map(|i| i + 4);
        }
        if start.elapsed() > timeout * 4 {
            return Err(format!(
                "GET {path}: transfer took longer than {:?}",
                timeout * 4
            ));
        }
    }
    let last_byte = start.elapsed();
    let head_len = head_len.ok_or_else(|| format!("GET {path}: no complete response head"))?;
    let status = std::str::from_utf8(&head[..head_len])
        .ok()
        .and_then(|h| h.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("GET {path}: unparsable status line"))?;
    Ok(Timed {
        status,
        first_byte: first_byte.unwrap_or(last_byte),
        last_byte,
        body_bytes: total - head_len as u64,
    })
}

/// [`get`] that also insists on a 200.
pub(crate) fn get_ok(addr: SocketAddr, path: &str, timeout: Duration) -> Result<Timed, String> {
    let t = get(addr, path, timeout)?;
    if t.status != 200 {
        return Err(format!("GET {path}: status {} (expected 200)", t.status));
    }
    Ok(t)
}

/// The whole response (head and body) of a `GET`, as text: for small JSON answers the harness
/// reads (not timed).
pub(crate) fn get_text(addr: SocketAddr, path: &str, timeout: Duration) -> Result<String, String> {
    let mut stream =
        TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("connect {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| format!("socket options: {e}"))?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("send GET {path}: {e}"))?;
    let mut text = String::new();
    stream
        .read_to_string(&mut text)
        .map_err(|e| format!("read GET {path}: {e}"))?;
    Ok(text)
}
