//! Upstream module proxies: where godepot gets what its store does not hold yet.
//!
//! - [`proxylist`]: the `GOPROXY` list syntax (`,` falls through on 404/410 only, `|` on any
//!   error, `off`, `direct`).
//! - [`client`]: fetching one path through the list, with timeouts, bounded retries and
//!   connection reuse, over `http(s)://` or `file://` proxies; a minimum body rate.
//! - [`url`]: proxy URLs whose credentials never show; [`netrc`]: credentials per host.
//! - [`UpstreamMetrics`]: requests per proxy by outcome, their latency, bytes received.
//!
//! This crate never touches the store: it hands back bytes and streams, and the service
//! decides what to keep.

pub mod client;
mod error;
mod metrics;
pub mod netrc;
pub mod proxylist;
pub mod url;

pub use client::{Fetched, Revalidated, Upstream, UpstreamOptions, VIA_HEADER, Validators, Whole};
pub use error::FetchError;
pub use metrics::UpstreamMetrics;
pub use netrc::Netrc;
pub use proxylist::{Endpoint, ProxyEntry, ProxyList, ProxyListError};
pub use url::{Credentials, UpstreamUrl};
