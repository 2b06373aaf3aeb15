//! MariaDB's tables and views described for declaring entities (`Db::describe_tables`).

use sqlx::MySqlConnection;

use crate::schema_description::{ColumnDescription, EnumDescription, FieldType, TableDescription};

pub(super) async fn relations(
    conn: &mut MySqlConnection,
    schema: Option<&str>,
) -> Result<Vec<(String, bool)>, sqlx::Error> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT CAST(TABLE_NAME AS CHAR), CAST(TABLE_TYPE AS CHAR) FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) \
           AND TABLE_TYPE IN ('BASE TABLE', 'VIEW', 'SYSTEM VERSIONED')",
    )
    .bind(schema)
    .fetch_all(conn)
    .await?;
    let mut relations: Vec<(String, bool)> = rows
        .into_iter()
        .map(|(name, kind)| (name, kind == "VIEW"))
        .collect();
    // By bytes, as every backend sorts them (the server's collation may fold case).
    relations.sort();
    Ok(relations)
}

pub(super) async fn describe(
    conn: &mut MySqlConnection,
    schema: Option<&str>,
    name: &str,
    view: bool,
) -> Result<TableDescription, sqlx::Error> {
    type ColumnRow = (String, String, String, String, i64, i64);
    let rows: Vec<ColumnRow> = sqlx::query_as(
        "SELECT CAST(COLUMN_NAME AS CHAR), CAST(IS_NULLABLE AS CHAR), \
                CAST(DATA_TYPE AS CHAR), CAST(COLUMN_TYPE AS CHAR), \
                (COLUMN_DEFAULT IS NOT NULL OR EXTRA LIKE '%auto_increment%' \
                 OR IS_GENERATED = 'ALWAYS'), \
                EXTRA LIKE '%auto_increment%' \
         FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? \
         ORDER BY ORDINAL_POSITION",
    )
    .bind(schema)
    .bind(name)
    .fetch_all(&mut *conn)
    .await?;
    // `json` is `longtext` with a `json_valid` check.
    let checks: Vec<String> = sqlx::query_scalar(
        "SELECT CAST(CHECK_CLAUSE AS CHAR) FROM information_schema.CHECK_CONSTRAINTS \
         WHERE CONSTRAINT_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ?",
    )
    .bind(schema)
    .bind(name)
    .fetch_all(&mut *conn)
    .await?;
    let columns = rows
        .into_iter()
        .map(
            |(column, nullable, data_type, type_name, has_default, generated_key)| {
                let json = checks.iter().any(|check| {
                    check.contains(&format!("json_valid(`{column}`)"))
                        || check.contains(&format!("json_valid(\"{column}\")"))
                });
                ColumnDescription {
                    field: field(&data_type, &type_name, json),
                    name: column,
                    type_name,
                    nullable: nullable == "YES",
                    has_default: has_default != 0,
                    generated_key: generated_key != 0,
                }
            },
        )
        .collect();
    // Sub-part indexes (a prefix of a column) are not on the whole column, and full-text and
    // spatial indexes are not the B-tree an entity's `index` declares: left out.
    let indexes: Vec<(String, i64, String)> = sqlx::query_as(
        "SELECT CAST(INDEX_NAME AS CHAR), MIN(NON_UNIQUE), \
                CAST(GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX SEPARATOR ',') AS CHAR) \
         FROM information_schema.STATISTICS \
         WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? \
           AND INDEX_TYPE NOT IN ('FULLTEXT', 'SPATIAL') \
         GROUP BY INDEX_NAME \
         HAVING COUNT(SUB_PART) = 0 AND COUNT(*) = COUNT(COLUMN_NAME)",
    )
    .bind(schema)
    .bind(name)
    .fetch_all(&mut *conn)
    .await?;
    let mut indexes = indexes;
    indexes.sort();
    let mut table = TableDescription {
        name: name.to_owned(),
        view,
        columns,
        primary_key: Vec::new(),
        unique_keys: Vec::new(),
        indexes: Vec::new(),
    };
    for (index, non_unique, columns) in indexes {
        let columns: Vec<String> = columns.split(',').map(str::to_owned).collect();
        if index == "PRIMARY" {
            table.primary_key = columns;
        } else if non_unique == 0 {
            table.unique_keys.push(columns);
        } else {
            table.indexes.push(columns);
        }
    }
    Ok(table)
}

/// The field type that reads a column of `data_type` (`COLUMN_TYPE` `type_name`); `None` for a
/// type no field reads (`SET`, `YEAR`, `BIT`, spatial types).
fn field(data_type: &str, type_name: &str, json: bool) -> Option<FieldType> {
    let unsigned = type_name.contains("unsigned");
    Some(match data_type {
        "tinyint" if type_name.starts_with("tinyint(1)") && !unsigned => FieldType::Bool,
        "tinyint" | "smallint" | "mediumint" | "int" if unsigned => FieldType::U32,
        "tinyint" | "smallint" => FieldType::I16,
        "mediumint" | "int" => FieldType::I32,
        "bigint" if unsigned => FieldType::U64,
        "bigint" => FieldType::I64,
        "float" => FieldType::F32,
        "double" => FieldType::F64,
        "decimal" => FieldType::Decimal,
        "longtext" | "text" | "mediumtext" if json => FieldType::Json,
        "varchar" | "char" | "tinytext" | "text" | "mediumtext" | "longtext" => FieldType::Text,
        "date" => FieldType::Date,
        "time" => FieldType::Time,
        "datetime" => FieldType::DateTime,
        "timestamp" => FieldType::Timestamp,
        "binary" if type_name == "binary(16)" => FieldType::Uuid,
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => {
            FieldType::Bytes
        }
        "enum" => FieldType::Enum(EnumDescription::new(None, enum_labels(type_name)?)),
        _ => return None,
    })
}

/// The labels of `enum('a','b''c')`, unquoted; `None` when the text is not that shape.
fn enum_labels(type_name: &str) -> Option<Vec<String>> {
    let inner = type_name.strip_prefix("enum(")?.strip_suffix(')')?;
    let mut labels = Vec::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\'' {
            return None;
        }
        let mut label = String::new();
        loop {
            match chars.next()? {
                '\'' if chars.peek() == Some(&'\'') => {
                    chars.next();
                    label.push('\'');
                }
                '\'' => break,
                other => label.push(other),
            }
        }
        labels.push(label);
        match chars.next() {
            None => break,
            Some(',') => {}
            Some(_) => return None,
        }
    }
    Some(labels)
}

#[cfg(test)]
mod tests {
    use super::enum_labels;

    #[test]
    fn reads_enum_labels_with_quotes_and_commas() {
        assert_eq!(
            enum_labels("enum('G','PG-13','it''s','a,b')"),
            Some(vec![
                "G".into(),
                "PG-13".into(),
                "it's".into(),
                "a,b".into()
            ])
        );
        assert_eq!(enum_labels("enum('x'"), None);
        assert_eq!(enum_labels("set('a')"), None);
    }
}
