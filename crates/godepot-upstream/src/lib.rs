//! Upstream module proxies: where godepot gets what its store does not hold yet.
//!
//! - [`proxylist`]: the `GOPROXY` list syntax (`,` falls through on 404/410 only, `|` on any
//!   error, `off`, `direct`).
//! - [`client`]: fetching one path through the list, with timeouts, bounded retries and
//!   connection reuse, over `http(s)://` or `file://` proxies.
//!
//! This crate never touches the store: it hands back bytes and streams, and the service
//! decides what to keep.

pub mod client;
mod error;
pub mod proxylist;

pub use client::{Fetched, Upstream, UpstreamOptions, VIA_HEADER};
pub use error::FetchError;
pub use proxylist::{Endpoint, ProxyEntry, ProxyList, ProxyListError};
