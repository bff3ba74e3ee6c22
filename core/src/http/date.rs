//! HTTP dates (RFC 9110 §5.6.7), written from seconds since the Unix epoch: the core has
//! no clock, so the caller reads the calendar time.

use core::fmt::Write;

/// An IMF-fixdate, such as `Sun, 06 Nov 1994 08:49:37 GMT`.
pub type HttpDate = heapless::String<29>;

/// The IMF-fixdate of `secs` seconds after 1970-01-01 00:00:00 UTC.
///
/// ```
/// assert_eq!(sockwire_core::http::imf_fixdate(784111777).as_str(), "Sun, 06 Nov 1994 08:49:37 GMT");
/// ```
pub fn imf_fixdate(secs: u64) -> HttpDate {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // The civil date of a day count (Howard Hinnant's algorithm), in i64 for the eras.
    let z = i64::try_from(days)
        .unwrap_or(i64::MAX / 2)
        .saturating_add(719_468);
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe.saturating_add(era.saturating_mul(400)) + i64::from(month <= 2);
    let weekday = DAYS.get((days % 7) as usize).copied().unwrap_or("Thu");
    let month = MONTHS
        .get(usize::try_from(month - 1).unwrap_or(0))
        .copied()
        .unwrap_or("Jan");
    let mut out = HttpDate::new();
    let _ = write!(
        out,
        "{weekday}, {day:02} {month} {year} {:02}:{:02}:{:02} GMT",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_across_leap_years_and_centuries() {
        assert_eq!(imf_fixdate(0).as_str(), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(
            imf_fixdate(951_782_400).as_str(),
            "Tue, 29 Feb 2000 00:00:00 GMT"
        );
        assert_eq!(
            imf_fixdate(4_133_980_799).as_str(),
            "Fri, 31 Dec 2100 23:59:59 GMT"
        );
    }
}
