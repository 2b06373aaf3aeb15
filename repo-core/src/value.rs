//! Bound values ([`sea_query::Value`]) compared as keys: the order bulk writes sort their rows
//! in, so concurrent writers lock rows in one order.

use sea_query::Value;

/// A total order on key values, the same in every process: by value for the types keys
/// usually have, by their debug text otherwise. Generated `Entity::compare_at` falls back on it.
#[must_use]
pub fn compare_value(a: &Value, b: &Value) -> std::cmp::Ordering {
    match (a, b) {
        (Value::BigInt(a), Value::BigInt(b)) => a.cmp(b),
        (Value::Int(a), Value::Int(b)) => a.cmp(b),
        (Value::SmallInt(a), Value::SmallInt(b)) => a.cmp(b),
        (Value::String(a), Value::String(b)) => a.cmp(b),
        (Value::Uuid(a), Value::Uuid(b)) => a.cmp(b),
        (Value::ChronoDate(a), Value::ChronoDate(b)) => a.cmp(b),
        (Value::ChronoDateTimeUtc(a), Value::ChronoDateTimeUtc(b)) => a.cmp(b),
        (Value::Bytes(a), Value::Bytes(b)) => a.cmp(b),
        (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
        (a, b) => format!("{a:?}").cmp(&format!("{b:?}")),
    }
}
