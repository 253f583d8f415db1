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

/// A number of bytes as people write it: `1048576`, `512MiB`, `10GiB`, `1.5G`; KiB, MiB,
/// GiB, TiB (and K, M, G, T) are powers of 1024, kB, MB, GB, TB powers of 1000.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ByteSize(pub(crate) u64);

impl FromStr for ByteSize {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let bad =
            || format!("invalid size {text:?}: write e.g. 512MiB, 10GiB or a number of bytes");
        let split = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "k" | "kib" => 1 << 10,
            "m" | "mib" => 1 << 20,
            "g" | "gib" => 1 << 30,
            "t" | "tib" => 1 << 40,
            "kb" => 1_000,
            "mb" => 1_000_000,
            "gb" => 1_000_000_000,
            "tb" => 1_000_000_000_000,
            _ => return Err(bad()),
        };
        let bytes = match number.split_once('.') {
            None => number
                .parse::<u64>()
                .ok()
                .and_then(|n| n.checked_mul(multiplier)),
            Some(_) if multiplier == 1 => None,
            Some(_) => number
                .parse::<f64>()
                .ok()
                .map(|n| n * multiplier as f64)
                .filter(|n| n.is_finite() && *n < u64::MAX as f64)
                .map(|n| n as u64),
        };
        match bytes {
            Some(0) => Err(format!("invalid size {text:?}: must be more than zero")),
            Some(bytes) => Ok(ByteSize(bytes)),
            None => Err(bad()),
        }
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Given {
            Number(u64),
            Text(String),
        }
        match Given::deserialize(deserializer)? {
            Given::Number(0) => Err(serde::de::Error::custom("a size must be more than zero")),
            Given::Number(n) => Ok(ByteSize(n)),
            Given::Text(text) => text.parse().map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        let parse = |s: &str| s.parse::<ByteSize>().map(|b| b.0);
        assert_eq!(parse("1048576"), Ok(1 << 20));
        assert_eq!(parse("10GiB"), Ok(10 << 30));
        assert_eq!(parse("10 gib"), Ok(10 << 30));
        assert_eq!(parse("512M"), Ok(512 << 20));
        assert_eq!(parse("2kB"), Ok(2000));
        assert_eq!(parse("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse("100b"), Ok(100));
        for bad in [
            "",
            "GiB",
            "10 parsecs",
            "-1",
            "0",
            "1.5",
            "99999999999999TiB",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

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
