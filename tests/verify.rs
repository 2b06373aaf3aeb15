//! `Db::verify` on every backend: a table created by plain SQL that fits its entity reports
//! nothing, each kind of difference is reported as exactly its variant (a key's collation on
//! MariaDB), and every table `create_schema` makes fits its entity.

use chrono::{NaiveDate, NaiveDateTime};
use repo_core::prelude::*;
use repo_core::rust_decimal::Decimal;
use repo_core::{Backend, Declaration, Error, SchemaDifference, TypeClass};
use repo_tests::entities::{
    Account, Counter, Document, Label, Memo, Reading, Score, Subscription, Widget,
};
use repo_tests::raw_sql;

repo_tests::on_every_backend!(
    a_matching_table_has_no_differences,
    storage_forms_the_framework_uses_are_compatible,
    a_missing_table_is_reported,
    a_missing_column_is_reported,
    an_undeclared_not_null_column_without_default_is_reported,
    an_incompatible_type_is_reported,
    nullability_mismatches_are_reported_both_ways,
    a_different_primary_key_is_reported,
    a_conflict_key_without_unique_constraint_is_reported,
    every_difference_is_listed_and_verify_all_names_each_failing_entity,
    every_created_schema_verifies,
    hand_written_decimal_and_timestamp_columns_verify_and_round_trip,
    a_type_mismatch_names_the_column_type_as_the_database_does,
);

/// The timestamp type a hand-written schema uses on `db`'s backend.
fn timestamp(db: &Db) -> &'static str {
    match db.backend() {
        Backend::Postgres => "TIMESTAMPTZ",
        Backend::MySql => "DATETIME(6)",
        _ => "TIMESTAMP",
    }
}

/// The column definitions of a `readings` table that fits [`Reading`].
fn reading_columns(db: &Db) -> Vec<String> {
    let ts = timestamp(db);
    [
        "id BIGINT NOT NULL PRIMARY KEY",
        "sensor VARCHAR(255) NOT NULL",
        "seq BIGINT NOT NULL",
        "value DOUBLE PRECISION NOT NULL",
        "unit VARCHAR(255) NOT NULL",
        "quality INTEGER NOT NULL",
        "flagged BOOLEAN NOT NULL",
        "note VARCHAR(255)",
        &format!("created_at {ts} NOT NULL"),
        &format!("updated_at {ts} NOT NULL"),
        "UNIQUE (sensor, seq)",
    ]
    .map(str::to_owned)
    .to_vec()
}

/// Create `readings` from `columns`, with each definition starting with a key of `replace`
/// replaced by its value (an empty value drops it), and `extra` definitions added.
async fn create_readings(db: &Db, replace: &[(&str, &str)], extra: &[&str]) {
    let mut columns: Vec<String> = reading_columns(db)
        .into_iter()
        .filter_map(
            |column| match replace.iter().find(|(key, _)| column.starts_with(key)) {
                Some((_, "")) => None,
                Some((_, with)) => Some((*with).to_owned()),
                None => Some(column),
            },
        )
        .collect();
    // Column definitions come before table constraints (SQLite insists).
    let at = columns
        .iter()
        .position(|c| c.starts_with("UNIQUE") || c.starts_with("PRIMARY"))
        .unwrap_or(columns.len());
    columns.splice(at..at, extra.iter().map(|c| (*c).to_owned()));
    raw_sql(
        db,
        &format!("CREATE TABLE readings ({})", columns.join(", ")),
    )
    .await
    .unwrap();
}

/// The differences `verify::<Reading>` reports.
async fn reading_differences(db: &Db) -> Vec<SchemaDifference> {
    match db.verify::<Reading>().await {
        Ok(()) => Vec::new(),
        Err(Error::Schema {
            entity,
            table,
            differences,
        }) => {
            assert_eq!((entity, table), ("Reading", "readings"));
            differences
        }
        Err(other) => panic!("not a schema error: {other}"),
    }
}

fn column(name: &str) -> String {
    name.to_owned()
}

async fn a_matching_table_has_no_differences(db: Db) {
    create_readings(&db, &[], &[]).await;
    assert_eq!(reading_differences(&db).await, []);
}

async fn storage_forms_the_framework_uses_are_compatible(db: Db) {
    // SQLite timestamps are text the framework writes and parses; MariaDB's is DATETIME.
    let text_or_native = match db.backend() {
        Backend::Sqlite => "TEXT",
        _ => timestamp(&db),
    };
    let created = format!("created_at {text_or_native} NOT NULL");
    // A NOT NULL column with a default, and a nullable one, need not be declared.
    create_readings(
        &db,
        &[("created_at", &created)],
        &["spare INTEGER", "origin VARCHAR(20) NOT NULL DEFAULT 'x'"],
    )
    .await;
    assert_eq!(reading_differences(&db).await, []);
}

async fn a_missing_table_is_reported(db: Db) {
    assert_eq!(
        reading_differences(&db).await,
        [SchemaDifference::TableMissing]
    );
}

async fn a_missing_column_is_reported(db: Db) {
    create_readings(&db, &[("note", "")], &[]).await;
    assert_eq!(
        reading_differences(&db).await,
        [SchemaDifference::ColumnMissing {
            column: column("note")
        }]
    );
}

async fn an_undeclared_not_null_column_without_default_is_reported(db: Db) {
    create_readings(&db, &[], &["site INTEGER NOT NULL"]).await;
    assert_eq!(
        reading_differences(&db).await,
        [SchemaDifference::UndeclaredRequiredColumn {
            column: column("site")
        }]
    );
}

/// `VARCHAR(255)` as the database names it.
fn varchar(db: &Db) -> &'static str {
    match db.backend() {
        Backend::Postgres => "character varying(255)",
        Backend::MySql => "varchar(255)",
        _ => "VARCHAR(255)",
    }
}

async fn an_incompatible_type_is_reported(db: Db) {
    create_readings(&db, &[("quality", "quality VARCHAR(255) NOT NULL")], &[]).await;
    assert_eq!(
        reading_differences(&db).await,
        [SchemaDifference::Type {
            column: column("quality"),
            declared: TypeClass::Integer,
            found: varchar(&db).to_owned(),
        }]
    );
}

async fn nullability_mismatches_are_reported_both_ways(db: Db) {
    create_readings(
        &db,
        &[
            ("unit", "unit VARCHAR(255)"),
            ("note", "note VARCHAR(255) NOT NULL"),
        ],
        &[],
    )
    .await;
    assert_eq!(
        reading_differences(&db).await,
        [
            SchemaDifference::Nullability {
                column: column("unit"),
                declared_nullable: false,
            },
            SchemaDifference::Nullability {
                column: column("note"),
                declared_nullable: true,
            },
        ]
    );
}

async fn a_different_primary_key_is_reported(db: Db) {
    create_readings(
        &db,
        &[
            ("id", "id BIGINT NOT NULL"),
            ("UNIQUE", "PRIMARY KEY (sensor, seq)"),
        ],
        &[],
    )
    .await;
    assert_eq!(
        reading_differences(&db).await,
        [SchemaDifference::PrimaryKey {
            declared: vec![column("id")],
            found: vec![column("sensor"), column("seq")],
        }]
    );
}

async fn a_conflict_key_without_unique_constraint_is_reported(db: Db) {
    // Unique on one of the two columns only: not the key upserts name.
    create_readings(&db, &[("UNIQUE", "UNIQUE (sensor)")], &[]).await;
    assert_eq!(
        reading_differences(&db).await,
        [SchemaDifference::ConflictKeyNotUnique {
            columns: vec![column("sensor"), column("seq")],
        }]
    );
}

async fn every_difference_is_listed_and_verify_all_names_each_failing_entity(db: Db) {
    create_readings(
        &db,
        &[("note", ""), ("quality", "quality VARCHAR(255) NOT NULL")],
        &[],
    )
    .await;
    db.create_schema::<Label>().await.unwrap();
    let error = db.verify::<Reading>().await.unwrap_err();
    let message = error.to_string();
    assert!(message.contains("readings"), "{message}");
    assert!(message.contains("`note` is missing"), "{message}");
    assert!(
        message.contains(&format!(
            "`quality` is `{}`, declared integer",
            varchar(&db)
        )),
        "{message}"
    );

    let error = db
        .verify_all(&[
            Declaration::of::<Label>(),
            Declaration::of::<Reading>(),
            Declaration::of::<Score>(),
        ])
        .await
        .unwrap_err();
    let Error::Schemas { errors } = &error else {
        panic!("not a list of schema errors: {error}");
    };
    let failed: Vec<(&str, usize)> = errors
        .iter()
        .map(|e| match e {
            Error::Schema {
                entity,
                differences,
                ..
            } => (*entity, differences.len()),
            other => panic!("not a schema error: {other}"),
        })
        .collect();
    assert_eq!(failed, [("Reading", 2), ("Score", 1)]);
    assert!(
        error
            .to_string()
            .contains("Score does not match table `scores`")
    );
}

/// MariaDB: a key column whose collation ignores trailing spaces (`utf8mb4_bin` is PAD SPACE)
/// is reported, text outside the keys is not, and the conversion the README gives clears it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_key_text_that_ignores_trailing_spaces_is_reported() {
    let db = repo_tests::mysql("key_text_that_ignores_trailing_spaces").await;
    create_readings(
        &db,
        &[
            ("sensor", "sensor VARCHAR(255) COLLATE utf8mb4_bin NOT NULL"),
            (
                "unit",
                "unit VARCHAR(255) COLLATE utf8mb4_general_ci NOT NULL",
            ),
        ],
        &[],
    )
    .await;
    assert_eq!(
        reading_differences(&db).await,
        [SchemaDifference::Collation {
            column: column("sensor"),
            collation: "utf8mb4_bin".to_owned(),
        }]
    );
    let message = db.verify::<Reading>().await.unwrap_err().to_string();
    assert!(
        message.contains("key column `sensor` compares text with collation utf8mb4_bin"),
        "{message}"
    );
    raw_sql(
        &db,
        "ALTER TABLE readings CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin",
    )
    .await
    .unwrap();
    assert_eq!(reading_differences(&db).await, []);
}

async fn every_created_schema_verifies(db: Db) {
    db.create_schema::<Widget>().await.unwrap();
    db.create_schema::<Reading>().await.unwrap();
    db.create_schema::<Account>().await.unwrap();
    db.create_schema::<Label>().await.unwrap();
    db.create_schema::<Score>().await.unwrap();
    db.create_schema::<Subscription>().await.unwrap();
    db.create_schema::<Document>().await.unwrap();
    db.create_schema::<Counter>().await.unwrap();
    db.create_schema::<Memo>().await.unwrap();
    db.verify::<Widget>().await.unwrap();
    db.verify_all(&[
        Declaration::of::<Widget>(),
        Declaration::of::<Reading>(),
        Declaration::of::<Account>(),
        Declaration::of::<Label>(),
        Declaration::of::<Score>(),
        Declaration::of::<Subscription>(),
        Declaration::of::<Document>(),
        Declaration::of::<Counter>(),
        Declaration::of::<Memo>(),
    ])
    .await
    .unwrap();
}

/// Prices kept in exact decimals and timestamps with and without a zone.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "prices")]
pub struct Price {
    #[repo(primary_key)]
    pub id: i64,
    pub amount: Decimal,
    pub total: Decimal,
    pub at: DateTime<Utc>,
    pub local: NaiveDateTime,
}

/// The differences `verify::<Price>` reports.
async fn price_differences(db: &Db) -> Vec<SchemaDifference> {
    match db.verify::<Price>().await {
        Ok(()) => Vec::new(),
        Err(Error::Schema { differences, .. }) => differences,
        Err(other) => panic!("not a schema error: {other}"),
    }
}

fn dec(text: &str) -> Decimal {
    text.parse().expect("a valid test decimal")
}

async fn hand_written_decimal_and_timestamp_columns_verify_and_round_trip(db: Db) {
    // The types an existing schema uses for money and times on each backend: on SQLite
    // `DECIMAL(10,2)` and `NUMERIC` have numeric affinity, `TIMESTAMP` and `DATETIME` too.
    let columns = match db.backend() {
        Backend::Postgres => {
            "amount NUMERIC(10,2) NOT NULL, total NUMERIC NOT NULL, \
                              at TIMESTAMPTZ NOT NULL, local TIMESTAMP NOT NULL"
        }
        Backend::MySql => {
            "amount DECIMAL(10,2) NOT NULL, total DECIMAL(30,10) NOT NULL, \
                           at DATETIME(6) NOT NULL, local DATETIME(6) NOT NULL"
        }
        _ => {
            "amount DECIMAL(10,2) NOT NULL, total NUMERIC NOT NULL, \
              at TIMESTAMP NOT NULL, local DATETIME NOT NULL"
        }
    };
    raw_sql(
        &db,
        &format!("CREATE TABLE prices (id BIGINT NOT NULL PRIMARY KEY, {columns})"),
    )
    .await
    .unwrap();
    assert_eq!(price_differences(&db).await, []);

    // What verify accepts, the repository writes and reads back: decimals of up to 15
    // significant digits (all SQLite's numeric affinity keeps), negative and fractional.
    let local = NaiveDate::from_ymd_opt(2024, 2, 29)
        .and_then(|d| d.and_hms_micro_opt(23, 59, 58, 250_000))
        .unwrap();
    let rows: Vec<Price> = [
        ("12.30", "1234567.891"),
        ("-0.05", "-0.000001"),
        ("99999999.99", "123456789012.345"),
        ("0", "42"),
    ]
    .into_iter()
    .zip(1..)
    .map(|((amount, total), id)| Price {
        id,
        amount: dec(amount),
        total: dec(total),
        at: local.and_utc() + chrono::Duration::seconds(id),
        local: local + chrono::Duration::seconds(id),
    })
    .collect();
    let repo = PriceRepository::new(&db);
    for row in &rows {
        repo.insert(row).await.unwrap();
    }
    for row in &rows {
        assert_eq!(&repo.get(row.id).await.unwrap(), row);
    }
    // Filters compare the stored values as numbers and times.
    assert_eq!(
        repo.count(Price::TOTAL.eq(dec("123456789012.345")))
            .await
            .unwrap(),
        1
    );
    assert_eq!(repo.count(Price::LOCAL.gt(local)).await.unwrap(), 4);
    let stored: i64 = match db.backend() {
        Backend::Postgres => {
            repo_tests::scalar(&db, "SELECT COUNT(*) FROM prices WHERE amount > 12").await
        }
        Backend::MySql => sqlx::query_scalar("SELECT COUNT(*) FROM prices WHERE amount > 12")
            .fetch_one(db.mysql_pool().unwrap())
            .await
            .unwrap(),
        _ => sqlx::query_scalar("SELECT COUNT(*) FROM prices WHERE amount > 12")
            .fetch_one(db.sqlite_pool().unwrap())
            .await
            .unwrap(),
    };
    assert_eq!(stored, 2, "amounts are stored as numbers");
    assert_eq!(price_differences(&db).await, []);
}

async fn a_type_mismatch_names_the_column_type_as_the_database_does(db: Db) {
    // A decimal in a float column: each backend would turn it into a binary fraction.
    let (columns, float) = match db.backend() {
        // A zone where none is declared and none where one is: neither reads back.
        Backend::Postgres => (
            "amount NUMERIC NOT NULL, total DOUBLE PRECISION NOT NULL, \
             at TIMESTAMP NOT NULL, local TIMESTAMPTZ NOT NULL",
            "double precision",
        ),
        Backend::MySql => (
            "amount DECIMAL(10,2) NOT NULL, total DOUBLE NOT NULL, \
             at DATETIME(6) NOT NULL, local DATETIME(6) NOT NULL",
            "double",
        ),
        _ => (
            "amount NUMERIC NOT NULL, total REAL NOT NULL, \
             at TEXT NOT NULL, local TEXT NOT NULL",
            "REAL",
        ),
    };
    raw_sql(
        &db,
        &format!("CREATE TABLE prices (id BIGINT NOT NULL PRIMARY KEY, {columns})"),
    )
    .await
    .unwrap();
    let mut expected = vec![SchemaDifference::Type {
        column: column("total"),
        declared: TypeClass::Decimal,
        found: float.to_owned(),
    }];
    if db.backend() == Backend::Postgres {
        expected.extend([
            SchemaDifference::Type {
                column: column("at"),
                declared: TypeClass::Timestamp,
                found: "timestamp without time zone".to_owned(),
            },
            SchemaDifference::Type {
                column: column("local"),
                declared: TypeClass::DateTime,
                found: "timestamp with time zone".to_owned(),
            },
        ]);
        // The mismatch is real: a row written by plain SQL does not read.
        raw_sql(
            &db,
            "INSERT INTO prices VALUES (1, 1.5, 1.5, '2024-01-01 00:00:00', '2024-01-01 00:00:00+00')",
        )
        .await
        .unwrap();
        assert!(PriceRepository::new(&db).get(1).await.is_err());
    }
    assert_eq!(price_differences(&db).await, expected);
    let message = db.verify::<Price>().await.unwrap_err().to_string();
    assert!(
        message.contains(&format!("column `total` is `{float}`, declared decimal")),
        "{message}"
    );
}
