//! RFC 3339 timestamps, as the database writes them (`2023-04-03T15:57:51Z`), ordered by the
//! instant they name. The text is kept as given: the files are never rewritten.

use std::cmp::Ordering;
use std::fmt;

/// An RFC 3339 date-time (the form Go's `time.Time` reads from JSON), kept as written.
#[derive(Debug, Clone)]
pub struct Timestamp {
    text: String,
    /// Seconds since the Unix epoch, UTC.
    secs: i64,
    nanos: u32,
}

/// Why a timestamp was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not an RFC 3339 time ({reason})")]
pub struct TimestampError {
    /// The text given.
    pub text: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl Timestamp {
    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
    pub fn parse(text: &str) -> Result<Self, TimestampError> {
        let err = |reason| TimestampError {
            text: text.to_owned(),
            reason,
        };
        let b = text.as_bytes();
        if b.len() < 20 {
            return Err(err("too short"));
        }
        let num = |from: usize, len: usize| -> Option<u32> {
            let s = text.get(from..from + len)?;
            s.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| s.parse().ok())
                .flatten()
        };
        let sep = |at: usize, c: u8| b.get(at) == Some(&c);
        if !(sep(4, b'-') && sep(7, b'-') && (sep(10, b'T') || sep(10, b't')))
            || !(sep(13, b':') && sep(16, b':'))
        {
            return Err(err("expected YYYY-MM-DDTHH:MM:SS"));
        }
        let fields = (
            num(0, 4),
            num(5, 2),
            num(8, 2),
            num(11, 2),
            num(14, 2),
            num(17, 2),
        );
        let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(s)) = fields else {
            return Err(err("expected digits"));
        };
        if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) {
            return Err(err("no such date"));
        }
        if h > 23 || mi > 59 || s > 59 {
            return Err(err("no such time of day"));
        }
        let mut at = 19;
        let mut nanos = 0u32;
        if sep(at, b'.') {
            at += 1;
            let digits = b[at..].iter().take_while(|c| c.is_ascii_digit()).count();
            if digits == 0 || digits > 9 {
                return Err(err("bad fraction of a second"));
            }
            let frac: u32 = text[at..at + digits]
                .parse()
                .map_err(|_| err("bad fraction"))?;
            nanos = frac * 10u32.pow(9 - digits as u32);
            at += digits;
        }
        let offset_secs: i64 = match &text[at..] {
            "Z" | "z" => 0,
            zone if zone.len() == 6 && (zone.starts_with('+') || zone.starts_with('-')) => {
                let (Some(oh), Some(om)) = (num(at + 1, 2), num(at + 4, 2)) else {
                    return Err(err("bad zone offset"));
                };
                if !sep(at + 3, b':') || oh > 23 || om > 59 {
                    return Err(err("bad zone offset"));
                }
                let o = i64::from(oh * 3600 + om * 60);
                if zone.starts_with('-') { -o } else { o }
            }
            _ => return Err(err("expected Z or a zone offset")),
        };
        let days = days_from_civil(i64::from(y), mo, d);
        let secs = days * 86_400 + i64::from(h * 3600 + mi * 60 + s) - offset_secs;
        Ok(Self {
            text: text.to_owned(),
            secs,
            nanos,
        })
    }

    /// The text as written in the file.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Seconds since the Unix epoch (UTC), rounded down.
    pub fn unix_secs(&self) -> i64 {
        self.secs
    }
}

fn is_leap(y: u32) -> bool {
    (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's days-from-civil).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl PartialEq for Timestamp {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Timestamp {}
impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.secs, self.nanos).cmp(&(other.secs, other.nanos))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Timestamp::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_orders() {
        let t = Timestamp::parse("2023-04-03T15:57:51Z").unwrap();
        assert_eq!(t.unix_secs(), 1_680_537_471);
        let same = Timestamp::parse("2023-04-03T17:57:51+02:00").unwrap();
        assert_eq!(t, same);
        let later = Timestamp::parse("2023-04-03T15:57:51.5Z").unwrap();
        assert!(later > t);
        assert_eq!(
            Timestamp::parse("1970-01-01T00:00:00Z")
                .unwrap()
                .unix_secs(),
            0
        );
        assert_eq!(
            Timestamp::parse("2024-02-29T00:00:00Z")
                .unwrap()
                .unix_secs(),
            1_709_164_800
        );
    }

    #[test]
    fn refuses() {
        for bad in [
            "",
            "2023-04-03",
            "2023-04-03 15:57:51Z",
            "2023-02-30T00:00:00Z",
            "2023-04-03T24:00:00Z",
            "2023-04-03T15:57:51",
            "2023-04-03T15:57:51+0200",
            "2023-04-03T15:57:51.Z",
            "2023-04-03T15:57:51Zjunk",
            "+023-04-03T15:57:51Z",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad:?}");
        }
    }
}
