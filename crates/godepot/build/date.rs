//! The build date, from seconds since the Unix epoch, without a date crate: shared by the
//! build script (which stamps it into the binary) and the binary's tests (which check it).

/// `YYYY-MM-DD` (UTC) of a Unix time, for any date from 1970 on.
pub(crate) fn iso_date(epoch_seconds: u64) -> String {
    let (year, month, day) = civil_from_days(epoch_seconds / 86_400);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to a proleptic Gregorian date,
/// counting in 400-year eras that start on 1 March (so the leap day ends a year).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::iso_date;

    #[test]
    fn dates_from_epoch_seconds() {
        assert_eq!(iso_date(0), "1970-01-01");
        assert_eq!(iso_date(86_399), "1970-01-01");
        assert_eq!(iso_date(951_782_400), "2000-02-29");
        assert_eq!(iso_date(951_868_800), "2000-03-01");
        assert_eq!(iso_date(1_709_164_800), "2024-02-29");
        assert_eq!(iso_date(1_735_689_599), "2024-12-31");
        assert_eq!(iso_date(4_102_444_800), "2100-01-01");
    }
}
