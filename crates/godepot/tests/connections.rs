//! Slow and idle clients: a connection that sends half a request line and nothing more, or
//! stays open after its response, is closed after the configured timeout, and a cap on
//! connections keeps a flood of them from exhausting the server's file descriptors. Normal
//! clients are answered throughout.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use godepot_testkit::GodepotProcess;

/// How long a closed connection may take to be noticed: far beyond the 1 s timeouts used.
const GENEROUS: Duration = Duration::from_secs(30);

/// An offline server on an empty store, with these extra flags.
fn server(extra: &[&str]) -> (tempfile::TempDir, GodepotProcess) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    std::fs::create_dir(&data).expect("data dir");
    let mut args = vec!["--offline", "--data-dir", data.to_str().expect("utf-8")];
    args.extend(extra);
    let godepot = GodepotProcess::start(common::bin(), &args);
    (tmp, godepot)
}

/// `n` connections that each send the start of a request line and then fall silent.
fn half_sent(addr: &str, n: usize) -> Vec<TcpStream> {
    (0..n)
        .map(|i| {
            let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {i}: {e}"));
            s.write_all(b"GET /healthz HTTP/1.1\r\n")
                .expect("partial request");
            s
        })
        .collect()
}

/// Whether the server closed `stream` (EOF or reset) within [`GENEROUS`].
fn closed_by_server(mut stream: &TcpStream) -> bool {
    stream
        .set_read_timeout(Some(GENEROUS))
        .expect("read timeout");
    let mut buf = [0u8; 512];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            // A response (e.g. an error page) before the close is fine; keep reading.
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false;
            }
            Err(_) => return true,
        }
    }
}

#[test]
fn half_sent_requests_are_closed_and_others_still_answered() {
    let (_tmp, godepot) = server(&["--header-timeout", "1s"]);
    let slow = half_sent(godepot.addr(), 300);
    common::assert_healthy(&godepot, "while 300 clients send half a request");
    let started = Instant::now();
    let open = slow.iter().filter(|s| !closed_by_server(s)).count();
    assert_eq!(
        open,
        0,
        "connections still open after {:?}",
        started.elapsed()
    );
    common::assert_healthy(&godepot, "after the slow clients were closed");
}

#[test]
fn idle_kept_alive_connections_are_closed() {
    let (_tmp, godepot) = server(&["--idle-timeout", "1s"]);
    let mut stream = TcpStream::connect(godepot.addr()).expect("connect");
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", godepot.addr());
    stream.write_all(request.as_bytes()).expect("request");
    stream
        .set_read_timeout(Some(GENEROUS))
        .expect("read timeout");
    let mut buf = [0u8; 512];
    let n = stream.read(&mut buf).expect("response");
    let head = String::from_utf8_lossy(&buf[..n]);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        closed_by_server(&stream),
        "an idle kept-alive connection stayed open"
    );
}

#[test]
fn excess_connections_wait_without_killing_the_server() {
    let (_tmp, godepot) = server(&["--max-connections", "20", "--header-timeout", "1s"]);
    let slow = half_sent(godepot.addr(), 200);
    // Served once the slow ones ahead of it have been closed.
    common::assert_healthy(&godepot, "behind 200 slow clients with room for 20");
    let open = slow.iter().filter(|s| !closed_by_server(s)).count();
    assert_eq!(open, 0, "slow connections beyond the cap were never closed");
    common::assert_healthy(&godepot, "after the flood");
    assert!(
        godepot
            .wait_for_log(Duration::from_secs(10), "connection limit reached")
            .is_some(),
        "no log line when the cap bit:\n{}",
        godepot.logs().join("\n")
    );
}

#[test]
fn a_client_that_stops_reading_its_response_is_dropped() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let v = data.join("example.com/m/@v");
    std::fs::create_dir_all(&v).expect("store");
    // Far more than the socket buffers hold, so the server's writes stall.
    let mut go_mod = b"module example.com/m\n".to_vec();
    go_mod.resize(64 * 1024 * 1024, b'\n');
    std::fs::write(v.join("v1.0.0.mod"), &go_mod).expect("go.mod");
    let godepot = GodepotProcess::start(
        common::bin(),
        &[
            "--offline",
            "--data-dir",
            data.to_str().expect("utf-8"),
            "--idle-timeout",
            "1s",
            "--max-connections",
            "1",
        ],
    );
    let mut stalled = TcpStream::connect(godepot.addr()).expect("connect");
    let request = format!(
        "GET /example.com/m/@v/v1.0.0.mod HTTP/1.1\r\nHost: {}\r\n\r\n",
        godepot.addr()
    );
    stalled.write_all(request.as_bytes()).expect("request");
    // The only connection slot is held by a client that reads nothing: once it is dropped,
    // another is answered.
    common::assert_healthy(&godepot, "behind a client that stopped reading");
    let mut received = 0usize;
    let mut buf = vec![0u8; 1 << 16];
    stalled
        .set_read_timeout(Some(GENEROUS))
        .expect("read timeout");
    loop {
        match stalled.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => received += n,
        }
    }
    assert!(
        received < go_mod.len(),
        "the stalled client still received the whole response ({received} bytes)"
    );
}
