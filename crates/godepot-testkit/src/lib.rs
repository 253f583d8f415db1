//! Test support for godepot.
//!
//! Everything here exists so that end-to-end tests can compare godepot with the real `go`
//! command as the oracle, hermetically (loopback only, never the network):
//!
//! - [`universe`] writes a deterministic fixture module universe as a `GOPROXY=file://` tree;
//! - [`upstream`] serves such a tree over HTTP on 127.0.0.1 with runtime fault injection;
//! - [`gocmd`] runs `go` with every environment variable that could leak the host's settings pinned;
//! - [`process`] starts the `godepot` binary and reads its listen address from its log;
//! - [`http`] is a tiny raw HTTP/1.1 client that sends request targets exactly as written;
//! - [`sumdb`] writes a signed test checksum database over a universe, served by the upstream;
//! - [`tamper`] rewrites a bundle's entries, as an attacker or a bad disk would;
//! - [`toolchain`] adds a fake Go toolchain module (`bin/go` a script) to a universe;
//! - [`git`] makes git repositories and serves them, behind an HTTP proxy, as a made-up host;
//! - [`vulndb`] writes a fixture Go vulnerability database (served at `/vulndb/` by the upstream) and runs `govulncheck`;
//! - [`redis`] runs a real `redis-server` on loopback, restartable on its port (coordination);
//! - [`fsutil`] holds file-tree helpers (snapshots, copies) the tests use to prove "nothing stored".

pub mod fsutil;
pub mod git;
pub mod gitcases;
pub mod gocmd;
pub mod http;
pub mod licenses;
pub mod minio;
pub mod oracle;
pub mod process;
pub mod redis;
pub mod semver;
pub mod sumdb;
pub mod tamper;
pub mod toolchain;
pub mod universe;
pub mod upstream;
pub mod vulndb;

pub use gocmd::GoEnv;
pub use http::{HttpResponse, http_get, http_request};
pub use process::GodepotProcess;
pub use sumdb::TestSumdb;
pub use universe::{Universe, UniverseBuilder};
pub use upstream::{Fault, FixtureUpstream};

/// Re-exported so test crates can read JSON logs without their own dependency on it.
pub use serde_json;
