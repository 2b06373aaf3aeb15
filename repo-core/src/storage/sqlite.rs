//! The text forms SQLite stores timestamps and times in, which it has no types for: written
//! by the framework, and read in every form SQLite's own date functions accept.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc};

/// The text form of a UTC timestamp on SQLite: `YYYY-MM-DD HH:MM:SS`, then `.` and the
/// microseconds without trailing zeros when there are any (see the module documentation).
/// Digits below the microsecond are dropped, as PostgreSQL drops them.
pub(crate) fn timestamp_text(at: &NaiveDateTime) -> String {
    use chrono::{Datelike as _, Timelike as _};
    /// `n` (below 10^`width`) as `width` digits.
    fn digits(text: &mut String, n: u32, width: u32) {
        for place in (0..width).rev() {
            text.push(char::from(b'0' + (n / 10_u32.pow(place) % 10) as u8));
        }
    }
    let year = at.year();
    // chrono's `%Y` signs years outside 0 to 9999: those keep its formatting. Written by hand
    // otherwise, as `%Y-%m-%d %H:%M:%S` writes it: parsing the format costs more than the rest.
    let mut text = if (0..=9999).contains(&year) {
        let mut text = String::with_capacity(26);
        digits(&mut text, year as u32, 4);
        text.push('-');
        digits(&mut text, at.month(), 2);
        text.push('-');
        digits(&mut text, at.day(), 2);
        text.push(' ');
        digits(&mut text, at.hour(), 2);
        text.push(':');
        digits(&mut text, at.minute(), 2);
        text.push(':');
        // A leap second is written 60, as `%S` writes it.
        digits(&mut text, at.second() + at.nanosecond() / 1_000_000_000, 2);
        text
    } else {
        at.format("%Y-%m-%d %H:%M:%S").to_string()
    };
    let micros = at.nanosecond() % 1_000_000_000 / 1_000;
    if micros != 0 {
        let mut fraction = micros;
        let mut width = 6;
        while fraction.is_multiple_of(10) {
            fraction /= 10;
            width -= 1;
        }
        text.push('.');
        digits(&mut text, fraction, width);
    }
    text
}

/// The SQLite text of a time of day: `HH:MM:SS`, then `.` and the microseconds without
/// trailing zeros when there are any.
pub(crate) fn time_text(time: NaiveTime) -> String {
    use chrono::Timelike as _;
    let mut text = time.format("%H:%M:%S").to_string();
    let micros = time.nanosecond() % 1_000_000_000 / 1_000;
    if micros != 0 {
        let digits = format!("{micros:06}");
        text.push('.');
        text.push_str(digits.trim_end_matches('0'));
    }
    text
}

/// The instant of a julian day number, at the millisecond precision SQLite computes with.
pub(crate) fn from_julian_day(day: f64) -> Option<DateTime<Utc>> {
    /// Milliseconds from the julian day epoch to the unix epoch (julian day 2440587.5).
    const UNIX_EPOCH_MS: i64 = 210_866_760_000_000;
    let ms = (day * 86_400_000.0).round();
    // Beyond this, f64 milliseconds are no longer exact and chrono's range is long passed.
    if !ms.is_finite() || ms.abs() > 9.0e15 {
        return None;
    }
    DateTime::from_timestamp_millis(ms as i64 - UNIX_EPOCH_MS)
}

/// Parse `YYYY-MM-DD`, optionally followed by ` ` or `T`, `HH:MM`, optionally `:SS` and
/// `.` with one or more fraction digits, optionally `Z` or `±HH:MM` (optionally after
/// spaces); the UTC instant.
pub(crate) fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    let bytes = text.as_bytes();
    let date = date(bytes.get(..10)?)?;
    let rest = &bytes[10..];
    let Some((&separator, rest)) = rest.split_first() else {
        return Some(date.and_time(NaiveTime::MIN).and_utc());
    };
    if separator != b' ' && separator != b'T' {
        return None;
    }
    let hour = number(rest.get(..2)?)?;
    if rest.get(2) != Some(&b':') {
        return None;
    }
    let minute = number(rest.get(3..5)?)?;
    let mut rest = &rest[5..];
    let mut second = 0;
    let mut nanos = 0;
    if let [b':', s1, s2, tail @ ..] = rest {
        second = number(&[*s1, *s2])?;
        rest = tail;
        if let [b'.', tail @ ..] = rest {
            let digits = tail.iter().take_while(|b| b.is_ascii_digit()).count();
            if digits == 0 {
                return None;
            }
            // Nanoseconds from the first nine digits; later digits are below chrono's
            // precision.
            for position in 0..9 {
                let digit = tail.get(position).filter(|_| position < digits);
                nanos = nanos * 10 + digit.map_or(0, |d| u32::from(d - b'0'));
            }
            rest = &tail[digits..];
        }
    }
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?;
    let local = NaiveDateTime::new(date, time);
    let offset = offset(rest.trim_ascii_start())?;
    Some(local.checked_sub_signed(offset)?.and_utc())
}

/// `YYYY-MM-DD`.
fn date(bytes: &[u8]) -> Option<NaiveDate> {
    let [y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2] = bytes else {
        return None;
    };
    let year = number(&[*y1, *y2, *y3, *y4])?;
    NaiveDate::from_ymd_opt(
        i32::try_from(year).ok()?,
        number(&[*m1, *m2])?,
        number(&[*d1, *d2])?,
    )
}

/// The offset east of UTC a zone suffix names: none, `Z`, or `±HH:MM`.
fn offset(zone: &[u8]) -> Option<TimeDelta> {
    match zone {
        [] | [b'Z' | b'z'] => Some(TimeDelta::zero()),
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let hours = number(&[*h1, *h2])?;
            let minutes = number(&[*m1, *m2])?;
            if hours > 14 || minutes > 59 {
                return None;
            }
            let delta = TimeDelta::minutes(i64::from(hours * 60 + minutes));
            Some(if *sign == b'-' { -delta } else { delta })
        }
        _ => None,
    }
}

/// ASCII digits as a number; `None` for anything else.
fn number(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0_u32, |n, b| {
        b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::parse_timestamp as parse;

    fn at(text: &str) -> String {
        parse(text).map_or_else(|| "none".to_owned(), |t| t.to_rfc3339())
    }

    #[test]
    fn accepts_every_sqlite_form() {
        let midnight = "2024-01-01T00:00:00+00:00";
        assert_eq!(at("2024-01-01"), midnight);
        assert_eq!(at("2024-01-01 00:00"), midnight);
        assert_eq!(at("2024-01-01 00:00:00"), midnight);
        assert_eq!(at("2024-01-01T00:00:00"), midnight);
        assert_eq!(at("2024-01-01 00:00:00.000000"), midnight);
        assert_eq!(at("2024-01-01 00:00:00Z"), midnight);
        assert_eq!(at("2024-01-01T02:30:00+02:30"), midnight);
        assert_eq!(at("2023-12-31 22:00 -02:00"), midnight);
        assert_eq!(at("2024-01-01 00:00:00.5"), "2024-01-01T00:00:00.500+00:00");
        assert_eq!(
            at("2024-01-01 00:00:00.0000015999"),
            "2024-01-01T00:00:00.000001599+00:00"
        );
    }

    #[test]
    fn refuses_malformed_text() {
        for text in [
            "",
            "yesterday",
            "2024-1-01",
            "2024-02-30",
            "2024-01-01 24:00:00",
            "2024-01-01 00:00:00.",
            "2024-01-01 00:00:00+2",
            "2024-01-01x00:00",
            "2024-01-01 00:00:00 UTC",
        ] {
            assert_eq!(at(text), "none", "{text:?}");
        }
    }

    use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

    /// The text as chrono's format writes it, which the hand-written form must equal.
    fn formatted(at: &NaiveDateTime) -> String {
        use chrono::Timelike as _;
        let mut text = at.format("%Y-%m-%d %H:%M:%S").to_string();
        let micros = at.nanosecond() % 1_000_000_000 / 1_000;
        if micros != 0 {
            let digits = format!("{micros:06}");
            text.push('.');
            text.push_str(digits.trim_end_matches('0'));
        }
        text
    }

    #[test]
    fn timestamp_text_is_chronos() {
        let dates = [
            (1, 1, 1),
            (999, 12, 31),
            (2024, 2, 29),
            (9999, 12, 31),
            (0, 6, 15),
        ];
        let times = [
            (0, 0, 0, 0),
            (23, 59, 59, 999_999_999),
            (12, 30, 5, 120_000_000),
            (1, 2, 3, 100),
            (4, 5, 6, 1_000),
            (7, 8, 9, 10_000),
            (10, 11, 12, 123_456_000),
            (23, 59, 59, 1_500_000_000),
        ];
        for (y, m, d) in dates {
            for (h, mi, s, nano) in times {
                let at = NaiveDate::from_ymd_opt(y, m, d)
                    .and_then(|date| date.and_hms_nano_opt(h, mi, s, nano))
                    .expect("a valid instant");
                assert_eq!(super::timestamp_text(&at), formatted(&at), "{at:?}");
            }
        }
        for year in [-1, 10_000] {
            let at = NaiveDate::from_ymd_opt(year, 1, 2)
                .and_then(|date| date.and_hms_micro_opt(3, 4, 5, 60))
                .expect("a valid instant");
            assert_eq!(super::timestamp_text(&at), formatted(&at));
        }
    }

    #[test]
    fn times_trim_the_fraction() {
        let t = |h, m, s, micro| NaiveTime::from_hms_micro_opt(h, m, s, micro).unwrap();
        assert_eq!(super::time_text(t(8, 5, 3, 0)), "08:05:03");
        assert_eq!(super::time_text(t(23, 59, 59, 250_000)), "23:59:59.25");
        assert_eq!(super::time_text(t(0, 0, 0, 1)), "00:00:00.000001");
    }
}
