//! The statement text of migration steps, per backend.

use sea_query::{ColumnType, Index, StringLen, Table, TableBuilder};

use crate::dialect::Backend;
use crate::schema::{Shape, unique_key_name};

/// The table quoted, qualified by its schema when it has one.
pub(super) fn table(backend: Backend, schema: Option<&str>, table: &str) -> String {
    match schema {
        Some(schema) => format!(
            "{}.{}",
            backend.identifier(schema),
            backend.identifier(table)
        ),
        None => backend.identifier(table),
    }
}

/// The SQL name of `column_type` on `backend` (`bigint`, `varchar(255)`, `DATETIME(6)`).
pub(super) fn type_name(backend: Backend, column_type: &ColumnType) -> String {
    let mut sql = String::new();
    match backend {
        Backend::Postgres => {
            sea_query::PostgresQueryBuilder.prepare_column_type(column_type, &mut sql);
        }
        Backend::MySql => sea_query::MysqlQueryBuilder.prepare_column_type(column_type, &mut sql),
        Backend::Sqlite => sea_query::SqliteQueryBuilder.prepare_column_type(column_type, &mut sql),
    }
    sql
}

/// The values an integer column type holds, `None` for other types.
pub(super) fn declared_range(column_type: &ColumnType) -> Option<(i128, i128)> {
    Some(match column_type {
        ColumnType::TinyInteger => (i8::MIN.into(), i8::MAX.into()),
        ColumnType::SmallInteger => (i16::MIN.into(), i16::MAX.into()),
        ColumnType::Integer => (i32::MIN.into(), i32::MAX.into()),
        ColumnType::BigInteger => (i64::MIN.into(), i64::MAX.into()),
        ColumnType::TinyUnsigned => (0, u8::MAX.into()),
        ColumnType::SmallUnsigned => (0, u16::MAX.into()),
        ColumnType::Unsigned => (0, u32::MAX.into()),
        ColumnType::BigUnsigned => (0, u64::MAX.into()),
        _ => return None,
    })
}

/// The values an integer column of the catalog's `type_name` holds (PostgreSQL's
/// `format_type`, MariaDB's `COLUMN_TYPE`); `None` when it is not one of those (SQLite's
/// integers are all 64-bit).
pub(super) fn found_range(type_name: &str) -> Option<(i128, i128)> {
    let name = type_name.to_ascii_lowercase();
    let unsigned = name.contains("unsigned");
    let base = name.split(['(', ' ']).next().unwrap_or_default();
    let bits: u32 = match base {
        "tinyint" => 8,
        "smallint" => 16,
        "mediumint" => 24,
        "int" | "integer" => 32,
        "bigint" => 64,
        _ => return None,
    };
    Some(if unsigned {
        (0, (1_i128 << bits) - 1)
    } else {
        (-(1_i128 << (bits - 1)), (1_i128 << (bits - 1)) - 1)
    })
}

/// The most characters a text column type holds, when the declaration bounds it (a
/// MariaDB key column is `varchar(255)`).
pub(super) fn declared_length(column_type: &ColumnType) -> Option<u64> {
    match column_type {
        ColumnType::String(StringLen::N(n)) | ColumnType::Char(Some(n)) => Some(u64::from(*n)),
        _ => None,
    }
}

/// The most characters a text column of the catalog's `type_name` holds; `None` when
/// unbounded or not text.
pub(super) fn found_length(backend: Backend, type_name: &str) -> Option<u64> {
    let name = type_name.to_ascii_lowercase();
    if let Some(rest) = ["varchar(", "char(", "character varying(", "character("]
        .iter()
        .find_map(|prefix| name.strip_prefix(prefix))
    {
        return rest.split(')').next()?.parse().ok();
    }
    match name.as_str() {
        "tinytext" => Some(255),
        "text" if backend == Backend::MySql => Some(65_535),
        "mediumtext" => Some(16_777_215),
        _ => None,
    }
}

/// `ALTER TABLE … ADD COLUMN` with the declared definition.
pub(super) fn add_column(backend: Backend, shape: &Shape, column: &crate::ColumnDef) -> String {
    let alter = Table::alter()
        .table(shape.table_named(shape.table))
        .add_column(shape.column_def_in_place(backend, column))
        .to_owned();
    backend.render_schema(&alter)
}

/// `ALTER TABLE … DROP COLUMN`.
pub(super) fn drop_column(backend: Backend, shape: &Shape, column: &str) -> String {
    let alter = Table::alter()
        .table(shape.table_named(shape.table))
        .drop_column(column.to_owned())
        .to_owned();
    backend.render_schema(&alter)
}

/// `ALTER TABLE … RENAME COLUMN`.
pub(super) fn rename_column(backend: Backend, shape: &Shape, from: &str, to: &str) -> String {
    let alter = Table::alter()
        .table(shape.table_named(shape.table))
        .rename_column(from.to_owned(), to.to_owned())
        .to_owned();
    backend.render_schema(&alter)
}

/// `CREATE UNIQUE INDEX` for a declared unique key, named as `create_schema` names it.
pub(super) fn add_unique_key(backend: Backend, shape: &Shape, columns: &[&'static str]) -> String {
    let mut index = Index::create();
    index
        .unique()
        .name(unique_key_name(shape.table, columns))
        .table(shape.table_named(shape.table));
    for column in columns {
        index.col(*column);
    }
    backend.render_schema(&index)
}

/// `DROP TABLE`.
pub(super) fn drop_table(backend: Backend, schema: Option<&str>, name: &str) -> String {
    let table: sea_query::TableName = match schema {
        Some(schema) => (schema.to_owned(), name.to_owned()).into(),
        None => name.to_owned().into(),
    };
    backend.render_schema(&Table::drop().table(table).to_owned())
}

/// `SELECT COUNT(*) FROM table WHERE condition`.
pub(super) fn count(backend: Backend, shape: &Shape, condition: Option<&str>) -> String {
    let from = table(backend, shape.schema, shape.table);
    match condition {
        Some(condition) => format!("SELECT COUNT(*) FROM {from} WHERE {condition}"),
        None => format!("SELECT COUNT(*) FROM {from}"),
    }
}

/// The rows whose values of `columns` (none NULL) another row has too: what a new unique key
/// on them fails on.
pub(super) fn duplicates(backend: Backend, shape: &Shape, columns: &[&str]) -> String {
    let from = table(backend, shape.schema, shape.table);
    let list = columns
        .iter()
        .map(|c| backend.identifier(c))
        .collect::<Vec<_>>()
        .join(", ");
    let not_null = columns
        .iter()
        .map(|c| format!("{} IS NOT NULL", backend.identifier(c)))
        .collect::<Vec<_>>()
        .join(" AND ");
    format!(
        "SELECT COUNT(*) FROM {from} WHERE ({list}) IN \
         (SELECT {list} FROM {from} WHERE {not_null} GROUP BY {list} HAVING COUNT(*) > 1)"
    )
}
