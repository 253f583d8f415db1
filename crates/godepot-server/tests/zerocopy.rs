//! Stored files sent with sendfile over a real socket (`godepot_server::serve`): the bytes,
//! lengths, ranges and validators are those of the streamed path, on keep-alive, pipelined,
//! HTTP/1.0 and `Connection: close` connections, with hostile clients in between.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use godepot_depot::{Depot, DepotOptions, Fetchers};
use godepot_server::{About, Activity, ConnectionLimits, Metrics, ServerOptions};
use godepot_store::LocalStore;

/// Sizes around the region (4 MiB) and the zero-copy threshold (64 KiB).
const BIG: usize = 9 * 1024 * 1024 + 12_345;
const MEDIUM: usize = 70 * 1024;

fn content(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) as u8
        })
        .collect()
}

fn options() -> ServerOptions {
    ServerOptions {
        list_ttl: Duration::from_secs(60),
        instance_id: "test".into(),
        activity: Arc::new(Activity::default()),
        access: None,
        audit: None,
        remover: None,
        version: "godepot test".into(),
        index: None,
        metrics: Arc::new(Metrics::default()),
        about: About {
            version: "0".into(),
            tls: false,
            private: vec![],
            sumdb: vec![],
        },
    }
}

struct Server {
    addr: SocketAddr,
    big: Vec<u8>,
    medium: Vec<u8>,
    _dir: tempfile::TempDir,
}

/// An offline server on loopback over a store holding a big and a medium zip.
async fn server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let big = content(BIG, 1);
    let medium = content(MEDIUM, 2);
    for (module, bytes) in [("big", &big), ("medium", &medium)] {
        let v = dir.path().join(format!("example.com/{module}/@v"));
        std::fs::create_dir_all(&v).unwrap();
        std::fs::write(v.join("v1.0.0.zip"), bytes).unwrap();
    }
    let store = Arc::new(LocalStore::open(dir.path()).unwrap());
    let depot_options = DepotOptions {
        offline: true,
        ..DepotOptions::default()
    };
    let depot = Depot::with_fetchers(store, Fetchers::offline(), None, depot_options);
    let router = godepot_server::router(depot, options());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = ConnectionLimits {
        header_timeout: Duration::from_secs(5),
        idle_timeout: Duration::from_secs(5),
        max_connections: 16,
    };
    tokio::spawn(godepot_server::serve(
        listener,
        router,
        std::future::pending::<()>(),
        Duration::from_secs(1),
        limits,
        None,
    ));
    Server {
        addr,
        big,
        medium,
        _dir: dir,
    }
}

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One response from `reader`; a HEAD or 304 one has no body, whatever its length says.
fn read_reply(reader: &mut impl BufRead, head_only: bool) -> Reply {
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let status = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("status line {line:?}"));
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (n, v) = line.split_once(':').unwrap();
        headers.push((n.to_owned(), v.trim().to_owned()));
    }
    let mut reply = Reply {
        status,
        headers,
        body: Vec::new(),
    };
    let len: usize = reply
        .header("content-length")
        .map_or(0, |v| v.parse().unwrap());
    if !head_only && status != 304 {
        reply.body = vec![0; len];
        reader.read_exact(&mut reply.body).unwrap();
    }
    reply
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream
}

fn get(path: &str, extra: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: t\r\n{extra}\r\n")
}

/// Whether the server closes the connection after what was read.
fn closed(reader: &mut impl BufRead) -> bool {
    let mut rest = Vec::new();
    matches!(reader.read_to_end(&mut rest), Ok(0))
}

/// A request, whether it is a HEAD, and the status, body and Content-Range expected.
type Row<'a> = (String, bool, u16, &'a [u8], Option<String>);

const BIG_PATH: &str = "/example.com/big/@v/v1.0.0.zip";
const MEDIUM_PATH: &str = "/example.com/medium/@v/v1.0.0.zip";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_bodies_on_one_keep_alive_connection() {
    let s = server().await;
    tokio::task::spawn_blocking(move || {
        let big = &s.big;
        let n = big.len();
        let etag = {
            let mut reader = BufReader::new(connect(s.addr));
            reader
                .get_mut()
                .write_all(get(BIG_PATH, "").as_bytes())
                .unwrap();
            read_reply(&mut reader, false)
                .header("etag")
                .unwrap()
                .to_owned()
        };
        let inm = format!("If-None-Match: {etag}\r\n");
        let stale_if_range = "Range: bytes=0-9\r\nIf-Range: \"other\"\r\n".to_owned();
        let table: Vec<Row<'_>> = vec![
            (get(BIG_PATH, ""), false, 200, big, None),
            (get(MEDIUM_PATH, ""), false, 200, &s.medium, None),
            (
                get(BIG_PATH, "Range: bytes=1000-5000000\r\n"),
                false,
                206,
                &big[1000..=5_000_000],
                Some(format!("bytes 1000-5000000/{n}")),
            ),
            (
                get(BIG_PATH, "Range: bytes=-70000\r\n"),
                false,
                206,
                &big[n - 70000..],
                Some(format!("bytes {}-{}/{n}", n - 70000, n - 1)),
            ),
            // Below the threshold: streamed as before, on the same connection.
            (
                get(BIG_PATH, "Range: bytes=10-19\r\n"),
                false,
                206,
                &big[10..20],
                Some(format!("bytes 10-19/{n}")),
            ),
            (
                format!("HEAD {BIG_PATH} HTTP/1.1\r\nHost: t\r\n\r\n"),
                true,
                200,
                &[],
                None,
            ),
            (get(BIG_PATH, &inm), false, 304, &[], None),
            (get(BIG_PATH, &stale_if_range), false, 200, big, None),
            (
                get(BIG_PATH, &format!("Range: bytes={n}-\r\n")),
                false,
                416,
                &[],
                Some(format!("bytes */{n}")),
            ),
            (get(BIG_PATH, ""), false, 200, big, None),
        ];
        let mut reader = BufReader::new(connect(s.addr));
        for (request, head_only, status, body, range) in &table {
            reader.get_mut().write_all(request.as_bytes()).unwrap();
            let reply = read_reply(&mut reader, *head_only);
            let what = request.lines().next().unwrap();
            assert_eq!(reply.status, *status, "{what}: {:?}", reply.headers);
            assert!(
                reply.body == *body,
                "{what}: body differs ({} bytes)",
                reply.body.len()
            );
            assert_eq!(reply.header("content-range"), range.as_deref(), "{what}");
            if *status == 200 && request.contains(BIG_PATH) {
                assert_eq!(
                    reply.header("content-length"),
                    Some(&*n.to_string()),
                    "{what}"
                );
                assert_eq!(reply.header("etag"), Some(&*etag), "{what}");
            }
        }
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_requests_are_answered_in_order() {
    let s = server().await;
    tokio::task::spawn_blocking(move || {
        let n = s.big.len();
        let requests = [
            get(BIG_PATH, "Range: bytes=100-199999\r\n"),
            get(MEDIUM_PATH, ""),
            format!("HEAD {BIG_PATH} HTTP/1.1\r\nHost: t\r\n\r\n"),
            get(BIG_PATH, ""),
            get(BIG_PATH, "Range: bytes=3-70002\r\n"),
            get("/example.com/none/@v/v1.0.0.zip", ""),
            get(BIG_PATH, &format!("Range: bytes={}-\r\n", n - 100_000)),
        ];
        let expected: [(u16, &[u8]); 7] = [
            (206, &s.big[100..200_000]),
            (200, &s.medium),
            (200, &[]),
            (200, &s.big),
            (206, &s.big[3..70_003]),
            (404, b""),
            (206, &s.big[n - 100_000..]),
        ];
        let mut reader = BufReader::new(connect(s.addr));
        // All at once, so the server finds the next request while still sending a file.
        reader
            .get_mut()
            .write_all(requests.concat().as_bytes())
            .unwrap();
        for (i, (status, body)) in expected.iter().enumerate() {
            let reply = read_reply(&mut reader, i == 2);
            assert_eq!(reply.status, *status, "reply {i}");
            if *status != 404 {
                assert!(reply.body == *body, "reply {i}: body differs");
            }
        }
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http10_and_connection_close_end_the_connection_after_the_file() {
    let s = server().await;
    tokio::task::spawn_blocking(move || {
        for request in [
            format!("GET {BIG_PATH} HTTP/1.0\r\n\r\n"),
            get(BIG_PATH, "Connection: close\r\n"),
        ] {
            let mut reader = BufReader::new(connect(s.addr));
            reader.get_mut().write_all(request.as_bytes()).unwrap();
            let reply = read_reply(&mut reader, false);
            assert_eq!(reply.status, 200, "{request}");
            assert!(reply.body == s.big, "{request}: body differs");
            assert!(closed(&mut reader), "{request}: connection left open");
        }
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_clients_do_not_disturb_the_next_one() {
    let s = server().await;
    tokio::task::spawn_blocking(move || {
        // Gone in the middle of a file, after a little of it.
        let mut stream = connect(s.addr);
        stream.write_all(get(BIG_PATH, "").as_bytes()).unwrap();
        let mut some = [0u8; 4096];
        stream.read_exact(&mut some).unwrap();
        drop(stream);
        // Gone before reading anything, with two files asked for.
        let mut stream = connect(s.addr);
        stream
            .write_all([get(BIG_PATH, ""), get(BIG_PATH, "")].concat().as_bytes())
            .unwrap();
        drop(stream);
        // A file, then a malformed head and an oversized one on the same connections.
        for (bad, status) in [
            ("GET /\u{1} HTTP/1.1\r\nHost: t\r\n\r\n".to_owned(), 400),
            (
                get(BIG_PATH, &format!("X-Big: {}\r\n", "a".repeat(1 << 20))),
                431,
            ),
        ] {
            let mut reader = BufReader::new(connect(s.addr));
            reader
                .get_mut()
                .write_all(get(BIG_PATH, "").as_bytes())
                .unwrap();
            let reply = read_reply(&mut reader, false);
            assert!(reply.body == s.big, "body before {status} differs");
            // The server may answer and close before it has read the whole oversized head.
            let _ = reader.get_mut().write_all(bad.as_bytes());
            let reply = read_reply(&mut reader, false);
            assert_eq!(reply.status, status);
            assert!(closed(&mut reader));
        }
        let mut reader = BufReader::new(connect(s.addr));
        reader
            .get_mut()
            .write_all(get(BIG_PATH, "").as_bytes())
            .unwrap();
        let reply = read_reply(&mut reader, false);
        assert_eq!(reply.status, 200);
        assert!(reply.body == s.big, "body after hostile clients differs");
    })
    .await
    .unwrap();
}
