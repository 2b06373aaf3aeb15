//! The versioned migrations agree with the entity declarations, on every backend: every
//! declared column exists with the declared nullability and type class, every unique key has
//! its constraint under the name repo-core gives it, and migrating twice changes nothing.

use repo_core::schema::{primary_key_name, unique_key_name};
use repo_core::sea_query::ColumnType;
use repo_core::{Backend, BaseRepository as _, Db, Entity};
use repo_domain::*;

repo_tests::on_every_backend!(migrations_match_declarations, migrating_twice_is_a_no_op);

/// A column as the database describes it.
#[derive(Debug)]
struct Actual {
    nullable: bool,
    class: &'static str,
}

/// The type class a declared column type belongs to.
fn declared_class(column_type: &ColumnType) -> &'static str {
    match column_type {
        ColumnType::SmallInteger | ColumnType::Integer | ColumnType::BigInteger => "integer",
        ColumnType::Float | ColumnType::Double => "float",
        ColumnType::Text | ColumnType::String(_) => "text",
        ColumnType::Boolean => "bool",
        ColumnType::TimestampWithTimeZone => "timestamp",
        ColumnType::Json | ColumnType::JsonBinary => "json",
        ColumnType::Uuid => "uuid",
        ColumnType::Blob | ColumnType::Binary(_) => "blob",
        ColumnType::Array(_) => "array",
        ColumnType::Custom(_) => "enum",
        other => panic!("no class for {other:?}"),
    }
}

/// The class of a PostgreSQL column from `information_schema.columns`.
fn postgres_class(data_type: &str, udt_name: &str, enum_types: &[String]) -> &'static str {
    match data_type {
        "smallint" | "integer" | "bigint" => "integer",
        "real" | "double precision" => "float",
        "text" | "character varying" => "text",
        "boolean" => "bool",
        "timestamp with time zone" => "timestamp",
        "json" | "jsonb" => "json",
        "uuid" => "uuid",
        "bytea" => "blob",
        "ARRAY" => "array",
        "USER-DEFINED" if enum_types.iter().any(|t| t == udt_name) => "enum",
        other => panic!("unexpected PostgreSQL type {other} ({udt_name})"),
    }
}

/// The class of a SQLite column from its declared type.
fn sqlite_class(declared: &str) -> &'static str {
    let t = declared.to_ascii_lowercase();
    if t.contains("timestamp") {
        "timestamp"
    } else if t.contains("json") {
        "json"
    } else if t.contains("uuid") {
        "uuid"
    } else if t.contains("int") {
        "integer"
    } else if t.contains("bool") {
        "bool"
    } else if t.contains("real") || t.contains("floa") || t.contains("doub") {
        "float"
    } else if t.contains("blob") {
        "blob"
    } else if t.contains("text") || t.contains("char") {
        "text"
    } else {
        panic!("unexpected SQLite type {declared}")
    }
}

/// The class of a MariaDB column from `information_schema.columns` (`json` is `longtext`
/// with a `json_valid` check).
fn mysql_class(data_type: &str, json: bool) -> &'static str {
    match data_type {
        "longtext" | "text" if json => "json",
        "smallint" | "int" | "bigint" => "integer",
        "float" | "double" => "float",
        "varchar" | "text" | "longtext" => "text",
        "tinyint" => "bool",
        "datetime" => "timestamp",
        "binary" => "uuid",
        "blob" | "longblob" => "blob",
        other => panic!("unexpected MariaDB type {other}"),
    }
}

async fn mysql_columns(db: &Db, table: &str) -> Vec<(String, Actual)> {
    let pool = db.mysql_pool().unwrap();
    let checks: Vec<String> = sqlx::query_scalar(
        "SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS \
         WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = ?",
    )
    .bind(table)
    .fetch_all(pool)
    .await
    .unwrap();
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT CAST(COLUMN_NAME AS CHAR), CAST(IS_NULLABLE AS CHAR), CAST(DATA_TYPE AS CHAR) \
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
    )
    .bind(table)
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(name, nullable, data_type)| {
            // Identifiers are quoted as the session quotes them (double quotes: ANSI_QUOTES).
            let json = checks.iter().any(|check| {
                check.contains(&format!("json_valid(`{name}`)"))
                    || check.contains(&format!("json_valid(\"{name}\")"))
            });
            let class = mysql_class(&data_type, json);
            (
                name,
                Actual {
                    nullable: nullable == "YES",
                    class,
                },
            )
        })
        .collect()
}

async fn postgres_columns(db: &Db, table: &str) -> Vec<(String, Actual)> {
    let pool = db.postgres_pool().unwrap();
    let enum_types: Vec<String> = sqlx::query_scalar(
        "SELECT t.typname::text FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
         WHERE t.typtype = 'e' AND n.nspname = current_schema()",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT column_name::text, is_nullable::text, data_type::text, udt_name::text \
         FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1",
    )
    .bind(table)
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(name, nullable, data_type, udt)| {
            let class = postgres_class(&data_type, &udt, &enum_types);
            (
                name,
                Actual {
                    nullable: nullable == "YES",
                    class,
                },
            )
        })
        .collect()
}

async fn sqlite_columns(db: &Db, table: &str) -> Vec<(String, Actual)> {
    let pool = db.sqlite_pool().unwrap();
    let rows: Vec<(String, String, i64, i64)> =
        sqlx::query_as("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?)")
            .bind(table)
            .fetch_all(pool)
            .await
            .unwrap();
    rows.into_iter()
        .map(|(name, declared, notnull, pk)| {
            (
                name,
                Actual {
                    nullable: notnull == 0 && pk == 0,
                    class: sqlite_class(&declared),
                },
            )
        })
        .collect()
}

/// The unique constraints of `table`: name and columns in order.
async fn unique_keys(db: &Db, table: &str) -> Vec<(String, Vec<String>)> {
    if let Some(pool) = db.postgres_pool() {
        let rows: Vec<(String, Vec<String>)> = sqlx::query_as(
            "SELECT c.conname::text, \
                    array_agg(a.attname::text ORDER BY k.ord) \
             FROM pg_constraint c \
             JOIN pg_class r ON r.oid = c.conrelid \
             JOIN pg_namespace n ON n.oid = r.relnamespace \
             CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord) \
             JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum = k.attnum \
             WHERE n.nspname = current_schema() AND r.relname = $1 AND c.contype IN ('u', 'p') \
             GROUP BY c.conname",
        )
        .bind(table)
        .fetch_all(pool)
        .await
        .unwrap();
        rows
    } else if let Some(pool) = db.mysql_pool() {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT CAST(INDEX_NAME AS CHAR), \
                    CAST(GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX) AS CHAR) \
             FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND NON_UNIQUE = 0 \
             GROUP BY INDEX_NAME",
        )
        .bind(table)
        .fetch_all(pool)
        .await
        .unwrap();
        rows.into_iter()
            .map(|(name, columns)| {
                // The primary key is always called PRIMARY on MariaDB.
                let name = if name == "PRIMARY" {
                    primary_key_name(table)
                } else {
                    name
                };
                (name, columns.split(',').map(str::to_owned).collect())
            })
            .collect()
    } else {
        let pool = db.sqlite_pool().unwrap();
        let indexes: Vec<(String, i64, String)> =
            sqlx::query_as("SELECT name, \"unique\", origin FROM pragma_index_list(?)")
                .bind(table)
                .fetch_all(pool)
                .await
                .unwrap();
        let mut keys = Vec::new();
        for (name, unique, _origin) in indexes {
            if unique == 0 {
                continue;
            }
            let columns: Vec<(String,)> =
                sqlx::query_as("SELECT name FROM pragma_index_info(?) ORDER BY seqno")
                    .bind(&name)
                    .fetch_all(pool)
                    .await
                    .unwrap();
            keys.push((name, columns.into_iter().map(|(c,)| c).collect()));
        }
        keys
    }
}

async fn check<E: Entity>(db: &Db) {
    let backend = db.backend();
    let actual = match backend {
        Backend::Postgres => postgres_columns(db, E::TABLE).await,
        Backend::MySql => mysql_columns(db, E::TABLE).await,
        _ => sqlite_columns(db, E::TABLE).await,
    };
    assert!(!actual.is_empty(), "table {} exists", E::TABLE);
    for column in E::COLUMNS {
        let (_, found) = actual
            .iter()
            .find(|(name, _)| name == column.name)
            .unwrap_or_else(|| panic!("{}.{} is missing", E::TABLE, column.name));
        assert_eq!(
            found.nullable,
            (column.nullable)(),
            "{}.{} nullability",
            E::TABLE,
            column.name
        );
        assert_eq!(
            found.class,
            declared_class(&(column.column_type)(backend)),
            "{}.{} type",
            E::TABLE,
            column.name
        );
    }
    assert_eq!(
        actual.len(),
        E::COLUMNS.len(),
        "{} has no undeclared columns: {actual:?}",
        E::TABLE
    );

    let keys = unique_keys(db, E::TABLE).await;
    for key in E::UNIQUE_KEYS {
        let name = unique_key_name(E::TABLE, key);
        let (_, columns) = keys
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("{} has no unique constraint {name}: {keys:?}", E::TABLE));
        assert_eq!(columns, key, "{name} columns");
    }
    if backend != Backend::Sqlite {
        let pk = primary_key_name(E::TABLE);
        let (_, columns) = keys.iter().find(|(n, _)| *n == pk).expect("primary key");
        assert_eq!(columns, &[E::primary_key().name]);
    }
}

async fn migrations_match_declarations(db: Db) {
    migrate(&db).await.unwrap();
    check::<Dataset>(&db).await;
    check::<EnrichmentLog>(&db).await;
    check::<ApiError>(&db).await;
    check::<ErrorAggregation>(&db).await;
    check::<GenerationPipeline>(&db).await;
    check::<PipelineStage>(&db).await;
}

async fn migrating_twice_is_a_no_op(db: Db) {
    migrate(&db).await.unwrap();
    let repo = DatasetRepository::new(&db);
    repo.insert(&Dataset::new("kaggle", "a/b", "kept"))
        .await
        .unwrap();
    migrate(&db).await.unwrap();
    let applied = migrate::migrator(db.backend())
        .expect("migrations for the backend")
        .iter()
        .count();
    assert!(applied >= 1);
    let kept = repo.get_by_external_id("kaggle", "a/b").await.unwrap();
    assert_eq!(kept.map(|d| d.title).as_deref(), Some("kept"));
}
