//! The client side of `/healthz`, for `godepot health`: a container's `HEALTHCHECK`, where an
//! empty image has no shell and no curl, runs godepot itself. One plain HTTP/1.1 `GET` over a
//! blocking socket, bounded by a deadline: nothing here needs an HTTP client crate.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Why a server is not healthy.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("cannot reach {addr}: {source}")]
    Unreachable {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("{addr} answered /healthz with {status}: {body}")]
    Status {
        addr: SocketAddr,
        status: u16,
        body: String,
    },
    #[error("{addr} did not answer /healthz in HTTP: {first_line:?}")]
    NotHttp {
        addr: SocketAddr,
        first_line: String,
    },
}

/// Asks the godepot listening on `addr` for `/healthz`; its answer (`ok godepot 0.1.0 …`) on a
/// 200, else why not. An unspecified address (`0.0.0.0`, `::`) means this machine's loopback.
pub fn healthz(addr: SocketAddr, timeout: Duration) -> Result<String, ProbeError> {
    let addr = loopback_if_unspecified(addr);
    let unreachable = |source| ProbeError::Unreachable { addr, source };
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(unreachable)?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(unreachable)?;
    stream
        .set_write_timeout(Some(timeout))
        .map_err(unreachable)?;
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).map_err(unreachable)?;
    let mut response = Vec::new();
    // The answer is one short line; a server that sends more is not one to trust anyway.
    stream
        .take(64 * 1024)
        .read_to_end(&mut response)
        .map_err(unreachable)?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let first_line = head.lines().next().unwrap_or_default();
    let status = first_line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| first_line.strip_prefix("HTTP/1.0 "))
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| ProbeError::NotHttp {
            addr,
            first_line: first_line.chars().take(80).collect(),
        })?;
    let body = body.trim().to_string();
    match status {
        200 => Ok(body),
        status => Err(ProbeError::Status { addr, status, body }),
    }
}

/// Where to reach a server that listens on `addr` from the same machine.
pub fn loopback_if_unspecified(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => ([127, 0, 0, 1], addr.port()).into(),
        ip if ip.is_unspecified() => (std::net::Ipv6Addr::LOCALHOST, addr.port()).into(),
        _ => addr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A one-shot server that answers every connection with `answer`.
    fn answering(answer: &'static str) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let _ = s.write_all(answer.as_bytes());
        });
        addr
    }

    const LONG: Duration = Duration::from_secs(10);

    #[test]
    fn a_200_is_healthy_and_gives_the_answer() {
        let addr = answering("HTTP/1.1 200 OK\r\ncontent-length: 16\r\n\r\nok godepot 0.1.0");
        assert_eq!(healthz(addr, LONG).unwrap(), "ok godepot 0.1.0");
    }

    #[test]
    fn another_status_or_no_http_is_not() {
        let addr = answering("HTTP/1.1 503 Service Unavailable\r\n\r\nstore: NOT writable");
        let e = healthz(addr, LONG).unwrap_err();
        assert!(matches!(e, ProbeError::Status { status: 503, .. }), "{e}");
        let addr = answering("SSH-2.0-OpenSSH\r\n");
        assert!(matches!(
            healthz(addr, LONG),
            Err(ProbeError::NotHttp { .. })
        ));
    }

    #[test]
    fn nothing_listening_is_unreachable() {
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        assert!(matches!(
            healthz(addr, LONG),
            Err(ProbeError::Unreachable { .. })
        ));
    }

    #[test]
    fn unspecified_means_loopback() {
        let any: SocketAddr = "0.0.0.0:3000".parse().unwrap();
        assert_eq!(
            loopback_if_unspecified(any),
            "127.0.0.1:3000".parse().unwrap()
        );
        let any6: SocketAddr = "[::]:3000".parse().unwrap();
        assert_eq!(loopback_if_unspecified(any6), "[::1]:3000".parse().unwrap());
    }
}
