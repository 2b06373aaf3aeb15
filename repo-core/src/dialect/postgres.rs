//! PostgreSQL's SQL: arrays bound for bulk writes and long lists, parameter-type signatures,
//! isolation levels.

use sea_query::{ArrayType, OptionEnum, Value};

/// The array a bulk statement binds for a column whose values look like `typed_null`: its
/// element type (as [`bind`] encodes the values) and the SQL name of that type. `None` for an
/// array column: `unnest` would flatten an array of arrays.
pub(crate) fn column_array(typed_null: &Value) -> Option<(ArrayType, &'static str)> {
    Some(match typed_null {
        Value::Bool(_) => (ArrayType::Bool, "bool"),
        Value::TinyInt(_)
        | Value::SmallInt(_)
        | Value::Int(_)
        | Value::BigInt(_)
        | Value::TinyUnsigned(_)
        | Value::SmallUnsigned(_)
        | Value::Unsigned(_)
        | Value::BigUnsigned(_) => (ArrayType::BigInt, "int8"),
        Value::Float(_) | Value::Double(_) => (ArrayType::Double, "float8"),
        Value::String(_) | Value::Char(_) | Value::Enum(_) => (ArrayType::String, "text"),
        Value::Bytes(_) => (ArrayType::Bytes, "bytea"),
        Value::Json(_) => (ArrayType::Json, "jsonb"),
        Value::ChronoDate(_) => (ArrayType::ChronoDate, "date"),
        Value::ChronoTime(_) => (ArrayType::ChronoTime, "time"),
        Value::ChronoDateTime(_) => (ArrayType::ChronoDateTime, "timestamp"),
        Value::ChronoDateTimeUtc(_)
        | Value::ChronoDateTimeLocal(_)
        | Value::ChronoDateTimeWithTimeZone(_) => (ArrayType::ChronoDateTimeUtc, "timestamptz"),
        Value::Uuid(_) => (ArrayType::Uuid, "uuid"),
        Value::IpNetwork(_) => (ArrayType::IpNetwork, "inet"),
        #[cfg(feature = "decimal")]
        Value::Decimal(_) => (ArrayType::Decimal, "numeric"),
        Value::Array(..) => return None,
    })
}

/// The parameter type of `value` as PostgreSQL receives it, as one letter: written into
/// the text of statements whose shape comes from user filters, so two statements that differ
/// only in their parameter types never share a cached prepared statement.
pub(crate) fn type_letter(value: &Value) -> char {
    match value {
        Value::Bool(_) => 'b',
        Value::TinyInt(_)
        | Value::SmallInt(_)
        | Value::Int(_)
        | Value::BigInt(_)
        | Value::TinyUnsigned(_)
        | Value::SmallUnsigned(_)
        | Value::Unsigned(_)
        | Value::BigUnsigned(_) => 'i',
        Value::Float(_) | Value::Double(_) => 'f',
        Value::String(_) | Value::Char(_) | Value::Enum(_) => 's',
        Value::Bytes(_) => 'y',
        Value::Json(_) => 'j',
        Value::ChronoDate(_) => 'd',
        Value::ChronoTime(_) => 't',
        Value::ChronoDateTime(_) => 'n',
        Value::ChronoDateTimeUtc(_)
        | Value::ChronoDateTimeLocal(_)
        | Value::ChronoDateTimeWithTimeZone(_) => 'z',
        Value::Uuid(_) => 'u',
        Value::Array(..) => 'a',
        Value::IpNetwork(_) => 'p',
        #[cfg(feature = "decimal")]
        Value::Decimal(_) => 'm',
    }
}

/// `column = ANY($1)`: a long list as one array parameter.
pub(crate) fn in_list(
    column: &'static str,
    typed_null: &Value,
    values: &[Value],
) -> sea_query::Expr {
    use sea_query::ExprTrait as _;
    let array = Value::Array(array_type(typed_null), Some(Box::new(values.to_vec())));
    sea_query::Expr::col(column).eq(sea_query::extension::postgres::PgFunc::any(
        sea_query::Expr::val(array),
    ))
}

/// The PostgreSQL array type whose elements have `typed_null`'s type.
fn array_type(typed_null: &Value) -> ArrayType {
    match typed_null {
        Value::Bool(_) => ArrayType::Bool,
        Value::TinyInt(_) | Value::SmallInt(_) => ArrayType::SmallInt,
        Value::Int(_) => ArrayType::Int,
        Value::Float(_) => ArrayType::Float,
        Value::Double(_) => ArrayType::Double,
        Value::String(_) | Value::Char(_) => ArrayType::String,
        Value::Enum(OptionEnum::None(name)) => ArrayType::Enum(Box::new(name.clone())),
        Value::Bytes(_) => ArrayType::Bytes,
        Value::Json(_) => ArrayType::Json,
        Value::ChronoDate(_) => ArrayType::ChronoDate,
        Value::ChronoTime(_) => ArrayType::ChronoTime,
        Value::ChronoDateTime(_) => ArrayType::ChronoDateTime,
        Value::ChronoDateTimeUtc(_)
        | Value::ChronoDateTimeLocal(_)
        | Value::ChronoDateTimeWithTimeZone(_) => ArrayType::ChronoDateTimeUtc,
        Value::Uuid(_) => ArrayType::Uuid,
        Value::IpNetwork(_) => ArrayType::IpNetwork,
        #[cfg(feature = "decimal")]
        Value::Decimal(_) => ArrayType::Decimal,
        _ => ArrayType::BigInt,
    }
}

/// `BEGIN` at isolation level `level`.
pub(crate) fn begin(level: super::Isolation) -> &'static str {
    use super::Isolation;
    match level {
        Isolation::ReadCommitted => "BEGIN ISOLATION LEVEL READ COMMITTED",
        Isolation::RepeatableRead => "BEGIN ISOLATION LEVEL REPEATABLE READ",
        Isolation::Serializable => "BEGIN ISOLATION LEVEL SERIALIZABLE",
    }
}
