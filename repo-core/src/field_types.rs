//! Column types for existing schemas: timestamps without a zone, times of day, unsigned
//! integers, IP addresses and exact decimals.
//!
//! | Rust | PostgreSQL | MariaDB | SQLite |
//! |---|---|---|---|
//! | `chrono::NaiveDateTime` | `timestamp` | `DATETIME(6)` | text `YYYY-MM-DD HH:MM:SS[.ffffff]` |
//! | `chrono::NaiveTime` | `time` | `TIME(6)` | text `HH:MM:SS[.ffffff]` |
//! | `u32` | `bigint` | `BIGINT` (an existing `INT UNSIGNED` too) | `integer` |
//! | `u64` | `bigint` (up to `i64::MAX`) | `BIGINT UNSIGNED` | `integer` (up to `i64::MAX`) |
//! | `std::net::IpAddr` | `inet` | text | text |
//! | `rust_decimal::Decimal` (feature `decimal`) | `numeric` | `DECIMAL(38,10)` | exact text |
//!
//! Fractions of a second are kept to the microsecond, as PostgreSQL and MariaDB keep them; on
//! SQLite they are written as timestamps are (trailing zeros trimmed, none for a whole second),
//! so text order is time order.
//!
//! A `u64` above `i64::MAX` is refused with [`Error::Validation`](crate::Error::Validation)
//! before anything is sent on PostgreSQL and SQLite, whose integers are signed 64-bit; MariaDB's
//! `BIGINT UNSIGNED` holds every `u64`. A stored value that does not fit the field (a negative
//! number, a `u32` column holding more than `u32::MAX`) is an [`Error::Decode`](crate::Error::Decode).
//!
//! An `IpAddr` is stored as its `to_string()` text where there is no address type (IPv6 in its
//! RFC 5952 form), so equality filters match what this framework wrote; text order is not
//! address order.
//!
//! A `Decimal` keeps its scale: `12.30` reads back as `12.30` from PostgreSQL `numeric` and
//! SQLite. MariaDB `DECIMAL(p,s)` has a fixed scale, so a value reads back with the column's
//! scale (equal as a number: `12.3` written to `DECIMAL(38,10)` reads `12.3000000000`), and
//! MariaDB rounds digits beyond the scale. The generated schema uses `DECIMAL(38,10)`; any
//! `DECIMAL(p,s)` of an existing table decodes, up to the 28 significant digits a `Decimal` has.
//! On SQLite the exact decimal is text: **comparisons and ordering in SQL are then textual**
//! (`"9" > "10"`), so range filters and ordering by a decimal column are only meaningful on
//! PostgreSQL and MariaDB; equality filters match the same text (the same scale). An existing
//! SQLite `NUMERIC` or `DECIMAL(p,s)` column holds numbers instead: SQLite stores a decimal
//! written there as an integer or a float, so it compares as a number and reads back equal up
//! to 15 significant digits, without its trailing zeros.

use std::net::IpAddr;

use chrono::{NaiveDateTime, NaiveTime};
use sea_query::{ColumnType, StringLen, Value};

use crate::dialect::Backend;
use crate::field::{DbField, Decoding};
use crate::row::ColumnInfo;
use crate::row::Row;

impl DbField for NaiveDateTime {
    type Scalar = Self;
    fn to_value(&self) -> Value {
        Value::ChronoDateTime(Some(*self))
    }
    fn null_value() -> Value {
        Value::ChronoDateTime(None)
    }
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::ChronoDateTime(Some(value)) => Some(*value),
            _ => None,
        }
    }
    fn decode(row: &Row, index: usize) -> Result<Self, sqlx::Error> {
        row.naive_timestamp(index)
    }
    fn column_type(_: Backend) -> ColumnType {
        ColumnType::DateTime
    }
    fn decoding(column: &ColumnInfo) -> Decoding {
        column.timestamp::<Self>()
    }
}

impl DbField for NaiveTime {
    type Scalar = Self;
    fn to_value(&self) -> Value {
        Value::ChronoTime(Some(*self))
    }
    fn null_value() -> Value {
        Value::ChronoTime(None)
    }
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::ChronoTime(Some(value)) => Some(*value),
            _ => None,
        }
    }
    fn decode(row: &Row, index: usize) -> Result<Self, sqlx::Error> {
        row.try_get(index)
    }
    fn column_type(_: Backend) -> ColumnType {
        ColumnType::Time
    }
    fn decoding(column: &ColumnInfo) -> Decoding {
        column.temporal::<Self>()
    }
}

impl DbField for u32 {
    type Scalar = Self;
    fn to_value(&self) -> Value {
        Value::BigInt(Some(i64::from(*self)))
    }
    fn null_value() -> Value {
        Value::BigInt(None)
    }
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::BigInt(Some(value)) => u32::try_from(*value).ok(),
            _ => None,
        }
    }
    fn decode(row: &Row, index: usize) -> Result<Self, sqlx::Error> {
        // A signed column of any width, or an unsigned MariaDB one (`INT UNSIGNED`).
        let stored = match row.try_get::<i64>(index) {
            Ok(stored) => i128::from(stored),
            Err(signed) => i128::from(row.unsigned(index).map_err(|_| signed)?),
        };
        Self::try_from(stored).map_err(|_| crate::row::out_of_range(index, stored, "u32"))
    }
    fn column_type(_: Backend) -> ColumnType {
        ColumnType::BigInteger
    }
    fn decoding(column: &ColumnInfo) -> Decoding {
        column.unsigned()
    }
}

impl DbField for u64 {
    type Scalar = Self;
    fn to_value(&self) -> Value {
        Value::BigUnsigned(Some(*self))
    }
    fn null_value() -> Value {
        Value::BigUnsigned(None)
    }
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::BigUnsigned(Some(value)) => Some(*value),
            _ => None,
        }
    }
    fn decode(row: &Row, index: usize) -> Result<Self, sqlx::Error> {
        row.unsigned(index)
    }
    fn column_type(backend: Backend) -> ColumnType {
        if backend == Backend::MySql {
            ColumnType::BigUnsigned
        } else {
            ColumnType::BigInteger
        }
    }
    fn decoding(column: &ColumnInfo) -> Decoding {
        column.unsigned()
    }
}

impl DbField for IpAddr {
    type Scalar = Self;
    fn to_value(&self) -> Value {
        Value::IpNetwork(Some(ipnetwork::IpNetwork::from(*self)))
    }
    fn null_value() -> Value {
        Value::IpNetwork(None)
    }
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::IpNetwork(Some(network)) => Some(network.ip()),
            _ => None,
        }
    }
    fn decode(row: &Row, index: usize) -> Result<Self, sqlx::Error> {
        row.ip(index)
    }
    fn column_type(backend: Backend) -> ColumnType {
        if backend == Backend::Postgres {
            ColumnType::Inet
        } else {
            ColumnType::String(StringLen::None)
        }
    }
    fn decoding(column: &ColumnInfo) -> Decoding {
        column.ip()
    }
}

#[cfg(feature = "decimal")]
impl DbField for rust_decimal::Decimal {
    type Scalar = Self;
    fn to_value(&self) -> Value {
        Value::Decimal(Some(*self))
    }
    fn null_value() -> Value {
        Value::Decimal(None)
    }
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Decimal(Some(value)) => Some(*value),
            _ => None,
        }
    }
    fn decode(row: &Row, index: usize) -> Result<Self, sqlx::Error> {
        row.decimal(index)
    }
    fn column_type(backend: Backend) -> ColumnType {
        match backend {
            Backend::MySql => ColumnType::Decimal(Some(DECIMAL_DEFAULT)),
            // Text affinity: a `numeric` or `real` SQLite column would turn `12.30` into a float.
            Backend::Sqlite => ColumnType::Text,
            Backend::Postgres => ColumnType::Decimal(None),
        }
    }
    fn decoding(column: &ColumnInfo) -> Decoding {
        column.decimal()
    }
}

/// Precision and scale of a generated MariaDB decimal column.
#[cfg(feature = "decimal")]
pub const DECIMAL_DEFAULT: (u32, u32) = (38, 10);
