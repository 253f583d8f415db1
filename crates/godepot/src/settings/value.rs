//! Setting values that parse themselves, the same way from a flag, a variable or the config
//! file, so that nothing downstream holds a string that still needs checking.

use std::fmt::Display;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::duration;

/// Deserializes a string setting through its `FromStr`: one parser for all three sources.
fn from_text<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    T::Err: Display,
{
    let text = String::deserialize(deserializer)?;
    text.parse().map_err(serde::de::Error::custom)
}

/// A duration as people write it: `500ms`, `30s`, `5m`, `1h`, or a bare number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span(pub(crate) Duration);

impl FromStr for Span {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        duration::parse(text).map(Span)
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        from_text(deserializer)
    }
}

/// An address to listen on: `HOST:PORT`, `[V6]:PORT`, or `:PORT` for every interface (the
/// form Go servers, Athens among them, accept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Listen(pub(crate) SocketAddr);

impl FromStr for Listen {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let full = match text.strip_prefix(':') {
            Some(port) => format!("0.0.0.0:{port}"),
            None => text.to_string(),
        };
        full.parse().map(Listen).map_err(|_| {
            format!("invalid address {text:?}: write HOST:PORT, e.g. 127.0.0.1:3000, or :3000 for every interface")
        })
    }
}

impl<'de> Deserialize<'de> for Listen {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        from_text(deserializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_forms() {
        let parse = |s: &str| s.parse::<Listen>().map(|l| l.0.to_string());
        assert_eq!(parse(":3000").as_deref(), Ok("0.0.0.0:3000"));
        assert_eq!(parse("127.0.0.1:3000").as_deref(), Ok("127.0.0.1:3000"));
        assert_eq!(parse("[::1]:3000").as_deref(), Ok("[::1]:3000"));
        assert!(parse("3000").is_err());
        assert!(parse(":http").is_err());
    }
}
