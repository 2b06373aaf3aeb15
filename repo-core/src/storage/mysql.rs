//! The text forms MariaDB reads timestamps and times from, where a value travels as text (a
//! long list bound as one JSON parameter).

/// A timestamp as MariaDB reads `DATETIME(6)` text.
pub(crate) fn datetime_text(at: &chrono::NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
}

/// A time as MariaDB reads `TIME(6)` text.
pub(crate) fn time_text(time: chrono::NaiveTime) -> String {
    time.format("%H:%M:%S%.6f").to_string()
}
