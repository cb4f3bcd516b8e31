//! The two date forms S3 answers with, as Unix seconds: listings carry
//! ISO 8601 (`2026-12-07T01:50:00.000Z`), `HEAD` an HTTP date
//! (`Mon, 07 Dec 2026 01:50:00 GMT`, RFC 9110 §5.6.7).

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn seconds(year: i64, month: i64, day: i64, h: i64, m: i64, s: i64) -> Option<i64> {
    let valid = (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && (0..24).contains(&h)
        && (0..60).contains(&m)
        && (0..=60).contains(&s);
    valid.then(|| days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + s)
}

fn num(text: &str) -> Option<i64> {
    text.parse().ok()
}

/// `YYYY-MM-DDTHH:MM:SS[.fff]Z`.
pub(crate) fn parse_iso8601(text: &str) -> Option<i64> {
    let (date, time) = text.split_once('T')?;
    let mut date = date.splitn(3, '-');
    let (y, mo, d) = (num(date.next()?)?, num(date.next()?)?, num(date.next()?)?);
    let time = time.trim_end_matches('Z');
    let time = time.split_once('.').map_or(time, |(whole, _)| whole);
    let mut time = time.splitn(3, ':');
    let (h, mi, s) = (num(time.next()?)?, num(time.next()?)?, num(time.next()?)?);
    seconds(y, mo, d, h, mi, s)
}

/// `Mon, 07 Dec 2026 01:50:00 GMT`.
pub(crate) fn parse_http_date(text: &str) -> Option<i64> {
    let mut parts = text.split_whitespace().skip(1);
    let day = num(parts.next()?)?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year = num(parts.next()?)?;
    let mut time = parts.next()?.splitn(3, ':');
    let (h, mi, s) = (num(time.next()?)?, num(time.next()?)?, num(time.next()?)?);
    seconds(year, month, day, h, mi, s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_give_unix_seconds() {
        assert_eq!(parse_iso8601("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_iso8601("2000-03-01T00:00:01.500Z"), Some(951_868_801));
        assert_eq!(
            parse_http_date("Wed, 01 Mar 2000 00:00:01 GMT"),
            Some(951_868_801)
        );
        assert_eq!(
            parse_http_date("Thu, 29 Feb 2024 23:59:59 GMT"),
            Some(1_709_251_199)
        );
        assert_eq!(parse_iso8601("2024-13-01T00:00:00Z"), None);
        assert_eq!(parse_http_date("yesterday"), None);
    }
}
