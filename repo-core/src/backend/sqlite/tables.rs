//! SQLite's tables and views described for declaring entities (`Db::describe_tables`).

use sqlx::SqliteConnection;

use crate::schema_description::{
    ColumnDescription, FieldType, TableDescription, is_live_rows_condition,
};

pub(super) async fn relations(
    conn: &mut SqliteConnection,
    schema: Option<&str>,
) -> Result<Vec<(String, bool)>, sqlx::Error> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, type FROM pragma_table_list \
         WHERE schema = ? AND type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
         ORDER BY name",
    )
    .bind(schema.unwrap_or("main"))
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(name, kind)| (name, kind == "view"))
        .collect())
}

pub(super) async fn describe(
    conn: &mut SqliteConnection,
    schema: Option<&str>,
    name: &str,
    view: bool,
) -> Result<TableDescription, sqlx::Error> {
    let schema = schema.unwrap_or("main");
    let rows: Vec<(String, String, i64, bool, i64)> = sqlx::query_as(
        "SELECT name, type, \"notnull\", dflt_value IS NOT NULL, pk \
         FROM pragma_table_info(?, ?) ORDER BY cid",
    )
    .bind(name)
    .bind(schema)
    .fetch_all(&mut *conn)
    .await?;
    let mut primary: Vec<(i64, String)> = rows
        .iter()
        .filter(|row| row.4 > 0)
        .map(|row| (row.4, row.0.clone()))
        .collect();
    primary.sort();
    let primary_key: Vec<String> = primary.into_iter().map(|(_, name)| name).collect();
    // A lone `INTEGER PRIMARY KEY` is the rowid: SQLite numbers it.
    let rowid = primary_key.len() == 1;
    let columns = rows
        .into_iter()
        .map(|(column, declared, notnull, has_default, pk)| {
            let generated_key = rowid && pk == 1 && declared.eq_ignore_ascii_case("integer");
            ColumnDescription {
                field: field(&declared),
                name: column,
                type_name: declared,
                nullable: notnull == 0 && pk == 0,
                has_default: has_default || generated_key,
                generated_key,
            }
        })
        .collect();
    let mut table = TableDescription {
        name: name.to_owned(),
        view,
        columns,
        primary_key,
        unique_keys: Vec::new(),
        indexes: Vec::new(),
    };
    let mut indexes: Vec<(String, i64, String, i64)> =
        sqlx::query_as("SELECT name, \"unique\", origin, partial FROM pragma_index_list(?, ?)")
            .bind(name)
            .bind(schema)
            .fetch_all(&mut *conn)
            .await?;
    indexes.sort();
    for (index, unique, origin, partial) in indexes {
        if origin == "pk"
            || (partial != 0 && (unique != 0 || !live_rows_index(conn, schema, &index).await?))
        {
            continue;
        }
        let columns: Vec<(Option<String>,)> =
            sqlx::query_as("SELECT name FROM pragma_index_info(?, ?) ORDER BY seqno")
                .bind(&index)
                .bind(schema)
                .fetch_all(&mut *conn)
                .await?;
        // An index on an expression names no column there.
        let Some(columns) = columns
            .into_iter()
            .map(|(c,)| c)
            .collect::<Option<Vec<_>>>()
        else {
            continue;
        };
        if unique != 0 {
            table.unique_keys.push(columns);
        } else {
            table.indexes.push(columns);
        }
    }
    Ok(table)
}

/// Whether partial index `index` holds the live rows of a soft-deleting entity (`WHERE
/// deleted_at IS NULL`), which describes as the index on its columns.
async fn live_rows_index(
    conn: &mut SqliteConnection,
    schema: &str,
    index: &str,
) -> Result<bool, sqlx::Error> {
    let master = format!(
        "SELECT sql FROM \"{}\".sqlite_master WHERE type = 'index' AND name = ?",
        schema.replace('"', "\"\"")
    );
    let sql: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(master))
        .bind(index)
        .fetch_optional(&mut *conn)
        .await?
        .flatten();
    // The condition is what follows the statement's last WHERE: a column name cannot hold
    // one unquoted, and a quoted one that did would fail the check.
    Ok(sql.is_some_and(|sql| {
        let upper = sql.to_ascii_uppercase();
        upper
            .rfind(" WHERE ")
            .is_some_and(|at| is_live_rows_condition(&sql[at + " WHERE ".len()..]))
    }))
}

/// The field type that reads a column of declared type `declared`, by the rules the
/// catalog's classes follow: SQLite keeps dates and times as text, integers of any declared
/// width in 64 bits; `None` for no declared type (a view's computed column) or one no rule
/// names.
fn field(declared: &str) -> Option<FieldType> {
    let t = declared.to_ascii_lowercase();
    Some(if t.contains("timestamp") || t.contains("datetime") {
        FieldType::DateTime
    } else if t.contains("date") {
        FieldType::Date
    } else if t.contains("time") {
        FieldType::Time
    } else if t.contains("json") {
        FieldType::Json
    } else if t.contains("uuid") {
        FieldType::Uuid
    } else if t.contains("int") {
        FieldType::I64
    } else if t.contains("bool") {
        FieldType::Bool
    } else if t.contains("real") || t.contains("floa") || t.contains("doub") {
        FieldType::F64
    } else if t.contains("text") || t.contains("char") || t.contains("clob") {
        FieldType::Text
    } else if t.contains("blob") {
        FieldType::Bytes
    } else if t.contains("numeric") || t.contains("decimal") {
        FieldType::Decimal
    } else {
        return None;
    })
}
