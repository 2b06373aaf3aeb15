//! PostgreSQL's tables and views described for declaring entities (`Db::describe_tables`).

use sqlx::PgConnection;

use crate::schema_description::{
    ColumnDescription, EnumDescription, FieldType, TableDescription, is_live_rows_condition,
};

/// Tables (partitioned ones as one, their partitions left out), views and materialized views.
pub(super) async fn relations(
    conn: &mut PgConnection,
    schema: Option<&str>,
) -> Result<Vec<(String, bool)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT c.relname::text, c.relkind IN ('v', 'm') \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = COALESCE($1, current_schema()) \
           AND c.relkind IN ('r', 'p', 'v', 'm') AND NOT c.relispartition \
         ORDER BY c.relname::text COLLATE \"C\"",
    )
    .bind(schema)
    .fetch_all(conn)
    .await
}

pub(super) async fn describe(
    conn: &mut PgConnection,
    schema: Option<&str>,
    name: &str,
    view: bool,
) -> Result<TableDescription, sqlx::Error> {
    type ColumnRow = (String, bool, String, String, String, bool, bool, String);
    // `data_type` names a domain's base type; `udt_*` an enum or array element type.
    let rows: Vec<ColumnRow> = sqlx::query_as(
        "SELECT a.attname::text, NOT a.attnotnull, \
                COALESCE(c.data_type, '')::text, COALESCE(c.udt_schema, '')::text, \
                COALESCE(c.udt_name, '')::text, \
                (a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> ''), \
                (a.attidentity <> '' OR COALESCE(c.column_default LIKE 'nextval(%', false)), \
                format_type(a.atttypid, a.atttypmod) \
         FROM pg_attribute a \
         JOIN pg_class r ON r.oid = a.attrelid \
         JOIN pg_namespace n ON n.oid = r.relnamespace \
         LEFT JOIN information_schema.columns c \
           ON c.table_schema = n.nspname AND c.table_name = r.relname \
          AND c.column_name = a.attname \
         WHERE n.nspname = COALESCE($2, current_schema()) AND r.relname = $1 \
           AND a.attnum > 0 AND NOT a.attisdropped \
         ORDER BY a.attnum",
    )
    .bind(name)
    .bind(schema)
    .fetch_all(&mut *conn)
    .await?;
    let mut columns = Vec::with_capacity(rows.len());
    for (
        column,
        nullable,
        data_type,
        udt_schema,
        udt_name,
        has_default,
        generated_key,
        type_name,
    ) in rows
    {
        let field = match data_type.as_str() {
            "USER-DEFINED" => enum_labels(conn, &udt_schema, &udt_name)
                .await?
                .map(|labels| FieldType::Enum(EnumDescription::new(Some(udt_name), labels))),
            _ => field(&data_type, &udt_name),
        };
        columns.push(ColumnDescription {
            name: column,
            type_name,
            // A view's columns say NOT NULL only when the catalog knows it.
            nullable: nullable || view,
            has_default,
            generated_key,
            field,
        });
    }
    // Indexes on plain columns, whole-table: the ones a declaration can name.
    let indexes: Vec<(bool, bool, Vec<String>, Option<String>)> = sqlx::query_as(
        "SELECT i.indisprimary, i.indisunique, array_agg(a.attname::text ORDER BY k.ord), \
         min(pg_get_expr(i.indpred, i.indrelid)) \
         FROM pg_index i \
         JOIN pg_class r ON r.oid = i.indrelid \
         JOIN pg_class x ON x.oid = i.indexrelid \
         JOIN pg_namespace n ON n.oid = r.relnamespace \
         CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
         JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum = k.attnum \
         WHERE n.nspname = COALESCE($2, current_schema()) AND r.relname = $1 \
           AND i.indexprs IS NULL \
         GROUP BY i.indexrelid, x.relname, i.indisprimary, i.indisunique \
         ORDER BY x.relname::text COLLATE \"C\"",
    )
    .bind(name)
    .bind(schema)
    .fetch_all(&mut *conn)
    .await?;
    let mut table = TableDescription {
        name: name.to_owned(),
        view,
        columns,
        primary_key: Vec::new(),
        unique_keys: Vec::new(),
        indexes: Vec::new(),
    };
    for (primary, unique, columns, condition) in indexes {
        // Partial indexes serve only the rows of their condition: a declaration names none,
        // but for the live rows of a soft-deleting entity, which is how it makes its indexes.
        if let Some(condition) = condition
            && (unique || !is_live_rows_condition(&condition))
        {
            continue;
        }
        if primary {
            table.primary_key = columns;
        } else if unique {
            table.unique_keys.push(columns);
        } else {
            table.indexes.push(columns);
        }
    }
    Ok(table)
}

/// The labels of enum type `schema.name`, in their order; `None` when it is not an enum.
async fn enum_labels(
    conn: &mut PgConnection,
    schema: &str,
    name: &str,
) -> Result<Option<Vec<String>>, sqlx::Error> {
    let labels: Vec<String> = sqlx::query_scalar(
        "SELECT e.enumlabel::text FROM pg_enum e \
         JOIN pg_type t ON t.oid = e.enumtypid \
         JOIN pg_namespace n ON n.oid = t.typnamespace \
         WHERE n.nspname = $1 AND t.typname = $2 ORDER BY e.enumsortorder",
    )
    .bind(schema)
    .bind(name)
    .fetch_all(conn)
    .await?;
    Ok((!labels.is_empty()).then_some(labels))
}

/// The field type that reads a column of `information_schema` type `data_type` (element type
/// `udt_name` for an array); `None` for a type no field reads.
fn field(data_type: &str, udt_name: &str) -> Option<FieldType> {
    Some(match data_type {
        "smallint" => FieldType::I16,
        "integer" => FieldType::I32,
        "bigint" => FieldType::I64,
        "real" => FieldType::F32,
        "double precision" => FieldType::F64,
        "numeric" => FieldType::Decimal,
        "text" | "character varying" | "character" => FieldType::Text,
        "boolean" => FieldType::Bool,
        "date" => FieldType::Date,
        "time without time zone" => FieldType::Time,
        "timestamp without time zone" => FieldType::DateTime,
        "timestamp with time zone" => FieldType::Timestamp,
        "json" | "jsonb" => FieldType::Json,
        "uuid" => FieldType::Uuid,
        "bytea" => FieldType::Bytes,
        "inet" => FieldType::IpAddr,
        "ARRAY" if udt_name == "_float4" => FieldType::Embedding,
        _ => return None,
    })
}
