//! The few date computations bundles need (`--since`, quarantine batch names), without a
//! date-time dependency: UTC only, proleptic Gregorian calendar.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Parses `YYYY-MM-DD` (midnight UTC) or RFC 3339 (`2026-01-02T03:04:05Z`,
/// `…05.123+02:00`).
pub fn parse_since(text: &str) -> Result<SystemTime, String> {
    let bad = || format!("{text:?} is not a date (YYYY-MM-DD) or an RFC 3339 time");
    let cut = text.len().min(10);
    if !text.is_char_boundary(cut) {
        return Err(bad());
    }
    let (date, rest) = text.split_at(cut);
    let secs_of_day = if rest.is_empty() {
        0
    } else {
        let rest = rest.strip_prefix(['T', 't', ' ']).ok_or_else(bad)?;
        parse_clock(rest).ok_or_else(bad)?
    };
    let days = parse_date(date).ok_or_else(bad)?;
    let secs = days * 86_400 + secs_of_day;
    if secs < 0 {
        return Err(format!("{text:?} is before 1970"));
    }
    Ok(UNIX_EPOCH + Duration::from_secs(secs as u64))
}

/// `YYYY-MM-DDTHH:MM:SSZ` for a time (whole seconds, UTC).
pub fn format_rfc3339(t: SystemTime) -> String {
    let (date, h, m, s) = split(t);
    format!("{date}T{h:02}:{m:02}:{s:02}Z")
}

/// Serializes a time as [`format_rfc3339`] does (for `--json` output).
pub fn serialize_rfc3339<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_rfc3339(*t))
}

/// `YYYYMMDDTHHMMSSZ`: a compact, sortable name for a batch of files (e.g. a quarantine).
pub fn format_compact(t: SystemTime) -> String {
    let (date, h, m, s) = split(t);
    format!("{}T{h:02}{m:02}{s:02}Z", date.replace('-', ""))
}

fn split(t: SystemTime) -> (String, i64, i64, i64) {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, mo, d) = civil_from_days(days);
    (
        format!("{y:04}-{mo:02}-{d:02}"),
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
    )
}

/// Days since 1970-01-01 of `YYYY-MM-DD`.
fn parse_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, mo, d) = (num(&s[0..4])?, num(&s[5..7])?, num(&s[8..10])?);
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&mo) || d < 1 || d > month_days[(mo - 1) as usize] {
        return None;
    }
    Some(days_from_civil(y, mo, d))
}

/// Seconds after midnight UTC of `HH:MM:SS[.frac](Z|±HH:MM)`.
fn parse_clock(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 9 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let (h, m, sec) = (num(&s[0..2])?, num(&s[3..5])?, num(&s[6..8])?);
    if h > 23 || m > 59 || sec > 60 {
        return None;
    }
    let mut rest = &s[8..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let tz = &rest[1..];
            if tz.len() != 5 || tz.as_bytes()[2] != b':' {
                return None;
            }
            sign * (num(&tz[0..2])? * 3600 + num(&tz[3..5])? * 60)
        }
    };
    Some(h * 3600 + m * 60 + sec - offset)
}

fn num(s: &str) -> Option<i64> {
    if s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

/// Howard Hinnant's `days_from_civil`.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_since_table() {
        let cases = [
            ("1970-01-01", Some(0)),
            ("2026-01-02", Some(1_767_312_000)),
            ("2026-01-02T00:00:00Z", Some(1_767_312_000)),
            ("2026-01-02T03:04:05Z", Some(1_767_323_045)),
            ("2026-01-02T03:04:05.999Z", Some(1_767_323_045)),
            ("2026-01-02T05:04:05+02:00", Some(1_767_323_045)),
            ("2026-01-02T01:04:05-02:00", Some(1_767_323_045)),
            ("2024-02-29", Some(1_709_164_800)),
            ("2023-02-29", None),
            ("2026-13-01", None),
            ("2026-1-02", None),
            ("2026-01-02T03:04Z", None),
            ("2026-01-02T03:04:05", None),
            ("yesterday", None),
            ("2026-01-0\u{e9}", None),
            ("", None),
        ];
        for (text, want) in cases {
            let got = parse_since(text)
                .ok()
                .map(|t| t.duration_since(UNIX_EPOCH).unwrap().as_secs());
            assert_eq!(got, want, "{text}");
        }
    }

    #[test]
    fn formats_round_trip() {
        let t = UNIX_EPOCH + Duration::from_secs(1_767_323_045);
        assert_eq!(format_rfc3339(t), "2026-01-02T03:04:05Z");
        assert_eq!(format_compact(t), "20260102T030405Z");
        assert_eq!(parse_since(&format_rfc3339(t)).unwrap(), t);
    }
}
