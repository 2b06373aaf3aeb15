//! SQLite's description of a table, from `pragma_table_info` and `pragma_index_list`.

use crate::backend::catalog::{Catalog, CatalogColumn, CatalogTable, TypeClass};

impl Catalog for sqlx::Sqlite {
    async fn catalog(
        conn: &mut sqlx::SqliteConnection,
        schema: Option<&str>,
        table: &str,
    ) -> Result<Option<CatalogTable>, sqlx::Error> {
        // The schema is an attached database's name; `main` is the connection's own.
        let schema = schema.unwrap_or("main");
        let rows: Vec<(String, String, i64, bool, i64)> = sqlx::query_as(
            "SELECT name, type, \"notnull\", dflt_value IS NOT NULL, pk \
             FROM pragma_table_info(?, ?) ORDER BY cid",
        )
        .bind(table)
        .bind(schema)
        .fetch_all(&mut *conn)
        .await?;
        if rows.is_empty() {
            return Ok(None);
        }
        let mut primary: Vec<(i64, String)> = rows
            .iter()
            .filter(|row| row.4 > 0)
            .map(|row| (row.4, row.0.clone()))
            .collect();
        primary.sort();
        let primary_key: Vec<String> = primary.into_iter().map(|(_, name)| name).collect();
        let indexes: Vec<(String, i64, i64)> =
            sqlx::query_as("SELECT name, \"unique\", partial FROM pragma_index_list(?, ?)")
                .bind(table)
                .bind(schema)
                .fetch_all(&mut *conn)
                .await?;
        let mut unique_keys = vec![primary_key.clone()];
        for (name, unique, partial) in indexes {
            if unique == 0 || partial != 0 {
                continue;
            }
            let columns: Vec<(Option<String>,)> =
                sqlx::query_as("SELECT name FROM pragma_index_info(?, ?) ORDER BY seqno")
                    .bind(&name)
                    .bind(schema)
                    .fetch_all(&mut *conn)
                    .await?;
            // An index on an expression names no column there: ON CONFLICT cannot use it.
            if let Some(columns) = columns.into_iter().map(|(c,)| c).collect() {
                unique_keys.push(columns);
            }
        }
        // An `INTEGER PRIMARY KEY` is the rowid: SQLite fills it when an insert leaves it out.
        let rowid = primary_key.len() == 1;
        let columns = rows
            .into_iter()
            .map(|(name, declared, notnull, has_default, pk)| {
                let (class, serves) = class(&declared);
                CatalogColumn {
                    nullable: notnull == 0 && pk == 0,
                    has_default: has_default
                        || (rowid && pk == 1 && declared.eq_ignore_ascii_case("integer")),
                    name,
                    type_name: declared,
                    class,
                    serves,
                    inexact_collation: None,
                }
            })
            .collect();
        Ok(Some(CatalogTable {
            columns,
            primary_key,
            unique_keys,
        }))
    }

    async fn relations(
        conn: &mut sqlx::SqliteConnection,
        schema: Option<&str>,
    ) -> Result<Vec<(String, bool)>, sqlx::Error> {
        super::tables::relations(conn, schema).await
    }

    async fn describe(
        conn: &mut sqlx::SqliteConnection,
        schema: Option<&str>,
        name: &str,
        view: bool,
    ) -> Result<crate::schema_description::TableDescription, sqlx::Error> {
        super::tables::describe(conn, schema, name, view).await
    }
}

/// The class of a column from its declared type (the names the generated schema uses, and the
/// affinities of hand-written ones), and the classes the framework also stores there: SQLite
/// keeps timestamps, dates, JSON, enum labels and decimals as text, booleans as integers, UUIDs
/// and embeddings as BLOBs. A `NUMERIC` / `DECIMAL(p,s)` column holds decimals: SQLite turns
/// the text written there into an integer or a float, which reads back as the same decimal up
/// to 15 significant digits.
fn class(declared: &str) -> (TypeClass, &'static [TypeClass]) {
    const TEXT: &[TypeClass] = &[
        TypeClass::Timestamp,
        TypeClass::DateTime,
        TypeClass::Date,
        TypeClass::Time,
        TypeClass::Json,
        TypeClass::Enum,
        TypeClass::Decimal,
        TypeClass::Inet,
    ];
    let t = declared.to_ascii_lowercase();
    if t.contains("timestamp") {
        (TypeClass::Timestamp, TEXT)
    } else if t.contains("datetime") {
        (TypeClass::DateTime, TEXT)
    } else if t.contains("date") {
        (TypeClass::Date, TEXT)
    } else if t.contains("time") {
        (TypeClass::Time, TEXT)
    } else if t.contains("json") {
        (TypeClass::Json, TEXT)
    } else if t.contains("uuid") {
        (TypeClass::Uuid, &[TypeClass::Blob])
    } else if t.contains("int") {
        (TypeClass::Integer, &[TypeClass::Bool])
    } else if t.contains("bool") {
        (TypeClass::Bool, &[TypeClass::Integer])
    } else if t.contains("real") || t.contains("floa") || t.contains("doub") {
        (TypeClass::Float, &[])
    } else if t.contains("text") || t.contains("char") || t.contains("clob") {
        // Before BLOB, as SQLite's affinity rules: `BLOB SUB_TYPE TEXT` holds text.
        (TypeClass::Text, TEXT)
    } else if t.contains("blob") || t.is_empty() {
        (TypeClass::Blob, &[TypeClass::Array, TypeClass::Uuid])
    } else if t.contains("numeric") || t.contains("decimal") {
        (TypeClass::Decimal, TEXT)
    } else {
        (TypeClass::Other, &[])
    }
}
