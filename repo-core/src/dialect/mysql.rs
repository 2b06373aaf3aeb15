//! MariaDB's SQL: generated column types, long lists read by `JSON_TABLE`, isolation levels,
//! and the rewrites of the statement builder's MySQL text (`RETURNING`, casts,
//! `IF NOT EXISTS`).

use sea_query::{ColumnType, StringLen, Value};

use crate::storage::mysql::{datetime_text, time_text};

/// The column type of the generated schema: timestamps with microseconds (`DATETIME(6)`,
/// holding UTC, as the session's time zone is), text and binary without a small size limit,
/// except text in keys and indexes, which `InnoDB` can only index up to a length.
pub(crate) fn column_type(declared: ColumnType, indexed: bool) -> ColumnType {
    match declared {
        ColumnType::TimestampWithTimeZone | ColumnType::Timestamp | ColumnType::DateTime => {
            ColumnType::Custom("DATETIME(6)".into())
        }
        ColumnType::Time => ColumnType::Custom("TIME(6)".into()),
        ColumnType::String(StringLen::None) | ColumnType::Text if indexed => {
            ColumnType::String(StringLen::N(255))
        }
        ColumnType::String(StringLen::None) | ColumnType::Text => {
            ColumnType::Custom("LONGTEXT".into())
        }
        ColumnType::Blob => ColumnType::Custom("LONGBLOB".into()),
        other => other,
    }
}

/// `column IN (…)` for a long list: the values as one JSON array parameter, read as rows by
/// `JSON_TABLE` with the column's type.
pub(crate) fn in_list(
    column: &'static str,
    typed_null: &Value,
    values: &[Value],
) -> sea_query::Expr {
    let json = serde_json::Value::Array(
        values
            .iter()
            .map(|v| crate::storage::list_json(v, datetime_text, time_text))
            .collect(),
    )
    .to_string();
    let (select, sql_type) = match typed_null {
        Value::Bool(_)
        | Value::TinyInt(_)
        | Value::SmallInt(_)
        | Value::Int(_)
        | Value::BigInt(_) => ("v", "BIGINT"),
        Value::TinyUnsigned(_)
        | Value::SmallUnsigned(_)
        | Value::Unsigned(_)
        | Value::BigUnsigned(_) => ("v", "BIGINT UNSIGNED"),
        Value::Float(_) | Value::Double(_) => ("v", "DOUBLE"),
        Value::Bytes(_) | Value::Uuid(_) => ("UNHEX(v)", "TEXT"),
        #[cfg(feature = "decimal")]
        Value::Decimal(_) => ("v", "DECIMAL(65,30)"),
        Value::ChronoDate(_) => ("v", "DATE"),
        Value::ChronoTime(_) => ("v", "TIME(6)"),
        Value::ChronoDateTime(_)
        | Value::ChronoDateTimeUtc(_)
        | Value::ChronoDateTimeLocal(_)
        | Value::ChronoDateTimeWithTimeZone(_) => ("v", "DATETIME(6)"),
        _ => ("v", "TEXT"),
    };
    sea_query::Expr::cust_with_exprs(
        format!(
            "? IN (SELECT {select} FROM JSON_TABLE(?, '$[*]' COLUMNS (v {sql_type} PATH '$')) \
             AS list)"
        ),
        [sea_query::Expr::col(column), sea_query::Expr::val(json)],
    )
}

/// `BEGIN` at isolation level `level`: the level is set for the next transaction, which the
/// same text then starts.
pub(crate) fn begin(level: super::Isolation) -> &'static str {
    use super::Isolation;
    match level {
        Isolation::RepeatableRead => "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ; BEGIN",
        Isolation::Serializable => "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE; BEGIN",
        Isolation::ReadCommitted => "SET TRANSACTION ISOLATION LEVEL READ COMMITTED; BEGIN",
    }
}

/// The collation of text in the generated schema (tables, and databases it creates): bytes
/// compared as they are, NO PAD, so trailing spaces count (`'k0' <> 'k0 '`, `'' <> ' '`) in
/// equality, unique keys and `IN` as on PostgreSQL and SQLite. `utf8mb4_bin` compares bytes
/// too, but is PAD SPACE: `'k0' = 'k0 '`, and a unique key refuses the second.
pub(crate) const COLLATION: &str = "utf8mb4_nopad_bin";

/// DDL as the MySQL builder wrote it, with the `IF NOT EXISTS` it leaves out of `CREATE
/// INDEX` (MariaDB reads it).
pub(crate) fn if_not_exists(ddl: String) -> String {
    for prefix in ["CREATE INDEX ", "CREATE UNIQUE INDEX "] {
        if let Some(rest) = ddl.strip_prefix(prefix)
            && !rest.starts_with("IF NOT EXISTS")
        {
            return format!("{prefix}IF NOT EXISTS {rest}");
        }
    }
    ddl
}

/// `sql` with the `RETURNING` clause sea-query's MySQL builder leaves out of every statement,
/// taken from the statement as `standard` renders it (its identifiers in double quotes, which
/// the session reads as identifiers): MariaDB has `INSERT … RETURNING` and `DELETE …
/// RETURNING`, and an `UPDATE … RETURNING` then fails loudly instead of returning nothing.
pub(crate) fn with_returning(sql: String, standard: impl FnOnce() -> String) -> String {
    let writes = ["INSERT ", "DELETE ", "UPDATE ", "REPLACE "]
        .iter()
        .any(|verb| sql.starts_with(verb));
    if !writes {
        return sql;
    }
    let standard = standard();
    match standard.rfind(" RETURNING ") {
        Some(at) => sql + &standard[at..],
        None => sql,
    }
}

/// Cast targets in standard SQL and MariaDB's names for them.
const CAST_TYPES: [(&str, &str); 5] = [
    ("BIGINT", "SIGNED"),
    ("INTEGER", "SIGNED"),
    ("DOUBLE PRECISION", "DOUBLE"),
    ("REAL", "DOUBLE"),
    ("TEXT", "CHAR"),
];

/// SQL as the MySQL builder wrote it, with the cast targets MariaDB spells differently
/// (`CAST(x AS BIGINT)` is `CAST(x AS SIGNED)` there): the aggregates cast to `BIGINT` and
/// `DOUBLE PRECISION`, and custom queries written for the other backends read the same.
pub(crate) fn cast_types(sql: String) -> String {
    if !sql.contains(" AS ") && !sql.contains(" as ") {
        return sql;
    }
    let mut sql = sql;
    for (standard, mariadb) in CAST_TYPES {
        for spelling in [standard.to_owned(), standard.to_lowercase()] {
            let pattern = format!(" AS {spelling})");
            if sql.contains(&pattern) {
                sql = sql.replace(&pattern, &format!(" AS {mariadb})"));
            }
        }
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spells_cast_types_as_mariadb_does() {
        assert_eq!(
            cast_types(
                "SELECT CAST(SUM(`a`) AS BIGINT), CAST(AVG(`a`) AS DOUBLE PRECISION), \
                 CAST(`b` AS text), `c` AS text"
                    .into()
            ),
            "SELECT CAST(SUM(`a`) AS SIGNED), CAST(AVG(`a`) AS DOUBLE), CAST(`b` AS CHAR), \
             `c` AS text"
        );
    }
}
