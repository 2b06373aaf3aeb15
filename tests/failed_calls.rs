//! A call that returns an error leaves the database as it was: on the pool and in a session
//! (which keeps its other work), on every backend, for every write that returns rows — also
//! when the statement itself succeeded and only reading back what it returned failed.
//!
//! The failures are forced the way they meet applications: a row the database changes into a
//! value the entity cannot read (a trigger on PostgreSQL and MariaDB, SQLite turning numeric
//! text into a number in a column of INTEGER affinity), a stored row holding an enum label the
//! entity does not know (written by another version of the application), a column whose type
//! the field cannot read at all. Every check reads the table back with plain SQL.

use repo_core::prelude::*;
use repo_core::{Backend, Error};

#[derive(Debug, Clone, Copy, PartialEq, Eq, DbEnum)]
pub enum Shade {
    Light,
    Dark,
}

/// A row the database turns unreadable: its code, as a trigger or SQLite's affinity sees it.
const POISON: &str = "4242";

macro_rules! swatch_entity {
    ($name:ident, $table:literal, $($audit:ident)?) => {
        #[derive(Debug, Clone, PartialEq, Repository)]
        #[repo(table = $table, unique(code) $(, $audit)?)]
        pub struct $name {
            #[repo(primary_key, auto)]
            pub id: i64,
            pub code: String,
            #[repo(on_conflict = "keep")]
            pub shade: Shade,
            pub hits: i64,
            #[repo(version)]
            pub version: i64,
            #[repo(soft_delete)]
            pub deleted_at: Option<DateTime<Utc>>,
        }
    };
}

swatch_entity!(Swatch, "swatches",);
swatch_entity!(AuditedSwatch, "audited_swatches", audit);

/// The table of swatches, made by hand as an existing schema would be, whose shades include
/// one the enum lacks (`neon`: a native enum type on PostgreSQL, text elsewhere); a trigger (PostgreSQL, MariaDB) that stores such a label
/// for the poisoned code, which SQLite instead turns into a number (`code` has INTEGER
/// affinity there).
async fn create(db: &Db, table: &str) {
    let sql = match db.backend() {
        Backend::Postgres => format!(
            "DO $$ BEGIN CREATE TYPE shade AS ENUM ('light', 'dark', 'neon'); \
             EXCEPTION WHEN duplicate_object THEN NULL; END $$; \
             CREATE TABLE {table} (id BIGSERIAL PRIMARY KEY, code TEXT NOT NULL UNIQUE, \
             shade shade NOT NULL, hits BIGINT NOT NULL, version BIGINT NOT NULL, \
             deleted_at TIMESTAMPTZ NULL); \
             CREATE FUNCTION poison_{table}() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN IF NEW.code = '{POISON}' THEN NEW.shade := 'neon'; END IF; RETURN NEW; END $$; \
             CREATE TRIGGER poison BEFORE INSERT OR UPDATE ON {table} \
             FOR EACH ROW EXECUTE FUNCTION poison_{table}();"
        ),
        Backend::MySql => format!(
            "CREATE TABLE {table} (id BIGINT AUTO_INCREMENT PRIMARY KEY, \
             code VARCHAR(64) NOT NULL UNIQUE, shade VARCHAR(32) NOT NULL, hits BIGINT NOT NULL, \
             version BIGINT NOT NULL, deleted_at DATETIME(6) NULL) \
             ENGINE=InnoDB CHARACTER SET utf8mb4 COLLATE utf8mb4_bin; \
             CREATE TRIGGER poison_{table}_insert BEFORE INSERT ON {table} FOR EACH ROW \
             SET NEW.shade = IF(NEW.code = '{POISON}', 'neon', NEW.shade); \
             CREATE TRIGGER poison_{table}_update BEFORE UPDATE ON {table} FOR EACH ROW \
             SET NEW.shade = IF(NEW.code = '{POISON}', 'neon', NEW.shade);"
        ),
        _ => format!(
            "CREATE TABLE {table} (id INTEGER PRIMARY KEY, code INTEGER NOT NULL UNIQUE, \
             shade TEXT NOT NULL, hits INTEGER NOT NULL, version INTEGER NOT NULL, \
             deleted_at TEXT NULL)"
        ),
    };
    repo_tests::raw_sql(db, &sql).await.unwrap();
    db.create_audit_schema().await.unwrap();
}

/// A row stored behind the framework's back, as another version of the application would.
async fn stored(db: &Db, table: &str, code: &str, shade: &str, hits: i64, deleted: bool) {
    let deleted_at = if deleted {
        "'2024-05-01 12:00:00'"
    } else {
        "NULL"
    };
    let sql = format!(
        "INSERT INTO {table} (code, shade, hits, version, deleted_at) \
         VALUES ('{code}', '{shade}', {hits}, 0, {deleted_at})"
    );
    repo_tests::raw_sql(db, &sql).await.unwrap();
}

/// Every row as plain SQL reads it: code, shade, hits, version, deleted.
async fn snapshot(db: &Db, table: &str) -> Vec<(String, String, i64, i64, bool)> {
    type Row = (String, String, i64, i64, bool);
    if db.postgres_pool().is_some() {
        let sql = format!(
            "SELECT code, shade::text, hits, version, deleted_at IS NOT NULL FROM {table} \
             ORDER BY code"
        );
        repo_tests::pg_query_as::<Row>(db, &sql).await.unwrap()
    } else if let Some(pool) = db.mysql_pool() {
        let sql = format!(
            "SELECT code, shade, hits, version, deleted_at IS NOT NULL FROM {table} ORDER BY code"
        );
        sqlx::query_as::<_, (String, String, i64, i64, i64)>(sqlx::AssertSqlSafe(sql))
            .fetch_all(pool)
            .await
            .unwrap()
            .into_iter()
            .map(|(c, s, h, v, d)| (c, s, h, v, d != 0))
            .collect()
    } else {
        let pool = db.sqlite_pool().unwrap();
        let sql = format!(
            "SELECT CAST(code AS TEXT), shade, hits, version, deleted_at IS NOT NULL \
             FROM {table} ORDER BY CAST(code AS TEXT)"
        );
        sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql))
            .fetch_all(pool)
            .await
            .unwrap()
    }
}

/// Audit entries recorded for `table`.
async fn entries(db: &Db, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM repo_audit WHERE entity = '{table}'");
    repo_tests::scalar(db, &sql).await
}

fn swatch(code: &str) -> Swatch {
    Swatch {
        id: 0,
        code: code.into(),
        shade: Shade::Light,
        hits: 1,
        version: 0,
        deleted_at: None,
    }
}

fn assert_unreadable<T: std::fmt::Debug>(result: repo_core::Result<T>, what: &str) {
    match result {
        Err(Error::Decode { .. }) => {}
        other => panic!("{what}: expected a decode error, got {other:?}"),
    }
}

async fn inserts_that_cannot_be_read_back_write_nothing(db: Db) {
    create(&db, "swatches").await;
    let repo = SwatchRepository::new(&db);
    assert_unreadable(repo.insert(&swatch(POISON)).await, "insert");
    assert_unreadable(
        repo.insert_new(NewSwatch {
            code: POISON.into(),
            shade: Shade::Dark,
            hits: 2,
        })
        .await,
        "insert_new",
    );
    assert_eq!(snapshot(&db, "swatches").await, []);

    // In a session: the failed insert is undone alone; the work around it commits.
    let session = db.begin().await.unwrap();
    let repo = SwatchRepository::new(&session);
    repo.insert(&swatch("a-1")).await.unwrap();
    assert_unreadable(repo.insert(&swatch(POISON)).await, "insert in a session");
    repo.insert(&swatch("a-2")).await.unwrap();
    session.commit().await.unwrap();
    let codes: Vec<String> = snapshot(&db, "swatches")
        .await
        .into_iter()
        .map(|row| row.0)
        .collect();
    assert_eq!(codes, ["a-1", "a-2"]);
}

async fn updates_that_cannot_be_read_back_write_nothing(db: Db) {
    create(&db, "swatches").await;
    let repo = SwatchRepository::new(&db);
    let stored = repo.insert(&swatch("b-1")).await.unwrap();
    let before = snapshot(&db, "swatches").await;
    let poisoned = Swatch {
        code: POISON.into(),
        hits: 7,
        ..stored.clone()
    };
    assert_unreadable(repo.update(&poisoned).await, "update");
    assert_eq!(snapshot(&db, "swatches").await, before);

    let session = db.begin().await.unwrap();
    let repo = SwatchRepository::new(&session);
    repo.insert(&swatch("b-2")).await.unwrap();
    assert_unreadable(repo.update(&poisoned).await, "update in a session");
    let renamed = repo
        .update(&Swatch {
            hits: 3,
            ..stored.clone()
        })
        .await
        .unwrap();
    assert_eq!(renamed.version, 1);
    session.commit().await.unwrap();
    let after = snapshot(&db, "swatches").await;
    assert_eq!(
        after,
        [
            ("b-1".into(), "light".into(), 3, 1, false),
            ("b-2".into(), "light".into(), 1, 0, false),
        ]
    );
}

async fn upserts_meeting_an_unreadable_row_write_nothing(db: Db) {
    create(&db, "swatches").await;
    // Another version of the application stored a shade this one does not know.
    stored(&db, "swatches", "neon", "neon", 5, false).await;
    stored(&db, "swatches", "plain", "dark", 5, false).await;
    let before = snapshot(&db, "swatches").await;
    let repo = SwatchRepository::new(&db);
    let neon = Swatch {
        hits: 9,
        ..swatch("neon")
    };
    assert_unreadable(repo.upsert(&neon).await, "upsert");
    assert_unreadable(
        repo.upsert_with(&neon, repo_core::Conflict::new().add(Swatch::HITS))
            .await,
        "upsert_with",
    );
    assert_unreadable(
        repo.bulk_upsert_returning(&[swatch("c-new"), neon.clone(), swatch("plain")])
            .await,
        "bulk_upsert_returning",
    );
    assert_eq!(snapshot(&db, "swatches").await, before);

    let session = db.begin().await.unwrap();
    let repo = SwatchRepository::new(&session);
    repo.upsert(&swatch("c-1")).await.unwrap();
    assert_unreadable(repo.upsert(&neon).await, "upsert in a session");
    assert_unreadable(
        repo.bulk_upsert_returning(&[swatch("c-2"), neon.clone()])
            .await,
        "bulk_upsert_returning in a session",
    );
    repo.upsert(&Swatch {
        hits: 6,
        ..swatch("plain")
    })
    .await
    .unwrap();
    session.commit().await.unwrap();
    let after = snapshot(&db, "swatches").await;
    assert_eq!(
        after,
        [
            ("c-1".into(), "light".into(), 1, 0, false),
            ("neon".into(), "neon".into(), 5, 0, false),
            ("plain".into(), "dark".into(), 6, 1, false),
        ]
    );
}

async fn claims_meeting_an_unreadable_row_claim_nothing(db: Db) {
    create(&db, "swatches").await;
    stored(&db, "swatches", "d-1", "light", 0, false).await;
    stored(&db, "swatches", "d-2", "neon", 0, false).await;
    stored(&db, "swatches", "d-3", "dark", 0, false).await;
    let before = snapshot(&db, "swatches").await;
    let repo = SwatchRepository::new(&db);
    let bump = |repo: &SwatchRepository<'_>| {
        let mut update = repo.update_returning();
        update.value(Swatch::HITS, Swatch::HITS.expr().add(1));
        update
    };
    assert_unreadable(repo.claim(bump(&repo), 10).await, "claim");
    assert_unreadable(repo.fetch_updated(bump(&repo)).await, "fetch_updated");
    let mut one = bump(&repo);
    one.cond_where(repo.condition(Swatch::CODE.eq("d-2")));
    assert_unreadable(
        repo.update_guarded(one, Swatch::HITS.eq(0)).await,
        "update_guarded",
    );
    assert_eq!(snapshot(&db, "swatches").await, before);

    let session = db.begin().await.unwrap();
    let repo = SwatchRepository::new(&session);
    repo.insert(&swatch("d-0")).await.unwrap();
    assert_unreadable(repo.claim(bump(&repo), 10).await, "claim in a session");
    let mut readable = bump(&repo);
    readable.cond_where(repo.condition(Swatch::CODE.eq("d-3")));
    let claimed = repo.fetch_updated(readable).await.unwrap();
    assert_eq!(claimed.len(), 1);
    session.commit().await.unwrap();
    let after = snapshot(&db, "swatches").await;
    assert_eq!(
        after,
        [
            ("d-0".into(), "light".into(), 1, 0, false),
            ("d-1".into(), "light".into(), 0, 0, false),
            ("d-2".into(), "neon".into(), 0, 0, false),
            ("d-3".into(), "dark".into(), 1, 1, false),
        ]
    );
}

async fn restoring_an_unreadable_row_keeps_it_deleted(db: Db) {
    create(&db, "swatches").await;
    stored(&db, "swatches", "e-1", "neon", 0, true).await;
    let before = snapshot(&db, "swatches").await;
    let repo = SwatchRepository::new(&db);
    let id = repo_tests::scalar(&db, "SELECT MAX(id) FROM swatches").await;
    assert_unreadable(repo.restore(id).await, "restore");
    assert_eq!(snapshot(&db, "swatches").await, before);
}

async fn audited_writes_that_cannot_be_read_back_record_nothing(db: Db) {
    create(&db, "audited_swatches").await;
    let session = db.begin_as("tester").await.unwrap();
    let repo = AuditedSwatchRepository::new(&session);
    let stored = repo
        .insert(&AuditedSwatch {
            id: 0,
            code: "f-1".into(),
            shade: Shade::Dark,
            hits: 0,
            version: 0,
            deleted_at: None,
        })
        .await
        .unwrap();
    session.commit().await.unwrap();
    let before = snapshot(&db, "audited_swatches").await;
    let entries_before = entries(&db, "audited_swatches").await;
    assert_eq!(entries_before, 1);

    let repo = AuditedSwatchRepository::new(&db).acting_as("tester");
    let poisoned = AuditedSwatch {
        code: POISON.into(),
        ..stored.clone()
    };
    assert_unreadable(repo.update(&poisoned).await, "audited update");
    assert_unreadable(
        repo.insert(&AuditedSwatch {
            code: POISON.into(),
            ..stored.clone()
        })
        .await,
        "audited insert",
    );
    assert_eq!(snapshot(&db, "audited_swatches").await, before);
    assert_eq!(entries(&db, "audited_swatches").await, entries_before);
}

/// Sixteen tasks writing readable and unreadable rows at once: exactly the calls that
/// returned `Ok` left rows.
async fn crowded_failing_writes_leave_exactly_the_successes(db: Db) {
    create(&db, "swatches").await;
    stored(&db, "swatches", "neon", "neon", 5, false).await;
    let tasks = (0..16).map(|task| {
        let db = db.clone();
        tokio::spawn(async move {
            let repo = SwatchRepository::new(&db);
            let mut written = Vec::new();
            for round in 0..4 {
                let code = format!("g-{task:02}-{round}");
                if repo.insert(&swatch(&code)).await.is_ok() {
                    written.push(code);
                }
                assert!(repo.insert(&swatch(POISON)).await.is_err());
                assert!(
                    repo.upsert(&Swatch {
                        hits: 50,
                        ..swatch("neon")
                    })
                    .await
                    .is_err()
                );
            }
            written
        })
    });
    let mut written: Vec<String> = Vec::new();
    for task in tasks {
        written.extend(task.await.unwrap());
    }
    written.push("neon".into());
    written.sort();
    let after = snapshot(&db, "swatches").await;
    let codes: Vec<String> = after.iter().map(|row| row.0.clone()).collect();
    assert_eq!(codes, written);
    assert_eq!(after.iter().find(|row| row.0 == "neon").unwrap().2, 5);
}

#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "flags", unique(name))]
pub struct Flag {
    #[repo(primary_key, auto)]
    pub id: i64,
    pub name: String,
    pub enabled: bool,
}

/// A `bool` over a text column: the database takes the value (as `'true'` or `'1'`) but the
/// field cannot read it back. PostgreSQL and MariaDB refuse the column type before anything is
/// sent; on SQLite the write is undone once its row fails to decode. Either way the call fails
/// and nothing is written, on the pool and in a session.
async fn a_column_the_field_cannot_read_fails_writes_and_writes_nothing(db: Db) {
    let (key, text) = match db.backend() {
        Backend::Postgres => ("id BIGSERIAL PRIMARY KEY", "TEXT"),
        Backend::MySql => ("id BIGINT AUTO_INCREMENT PRIMARY KEY", "VARCHAR(10)"),
        _ => ("id INTEGER PRIMARY KEY", "TEXT"),
    };
    let sql = format!(
        "CREATE TABLE flags ({key}, name VARCHAR(20) NOT NULL UNIQUE, enabled {text} NOT NULL)"
    );
    repo_tests::raw_sql(&db, &sql).await.unwrap();
    let repo = FlagRepository::new(&db);
    let flag = Flag {
        id: 0,
        name: "f-1".into(),
        enabled: true,
    };
    let refused = repo.insert(&flag).await.unwrap_err();
    assert!(
        matches!(&refused, Error::Decode { column, .. } if column == "enabled"
            || db.backend() == Backend::Sqlite),
        "{refused:?}"
    );
    assert!(repo.upsert(&flag).await.is_err());
    assert_eq!(
        repo_tests::scalar(&db, "SELECT COUNT(*) FROM flags").await,
        0
    );

    repo_tests::raw_sql(
        &db,
        "INSERT INTO flags (name, enabled) VALUES ('f-2', 'no')",
    )
    .await
    .unwrap();
    let id = repo_tests::scalar(&db, "SELECT MAX(id) FROM flags").await;
    let update = Flag {
        id,
        name: "f-2".into(),
        enabled: true,
    };
    assert!(repo.update(&update).await.is_err());
    let session = db.begin().await.unwrap();
    let in_session = FlagRepository::new(&session);
    assert!(in_session.update(&update).await.is_err());
    assert!(in_session.insert(&flag).await.is_err());
    session.commit().await.unwrap();
    assert_eq!(
        repo_tests::scalar(&db, "SELECT COUNT(*) FROM flags").await,
        1
    );
    assert_eq!(
        repo_tests::scalar(&db, "SELECT COUNT(*) FROM flags WHERE enabled = 'no'").await,
        1
    );
}

#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "prices", unique(sku))]
pub struct Price {
    #[repo(primary_key, auto)]
    pub id: i64,
    pub sku: String,
    pub price: f64,
}

/// An `f64` over an exact decimal column reads it (as the nearest double): every write
/// returning rows works, and reads back what the column holds.
async fn an_f64_over_a_decimal_column_writes_and_reads(db: Db) {
    let (key, numeric) = match db.backend() {
        Backend::Postgres => ("id BIGSERIAL PRIMARY KEY", "NUMERIC(10,2)"),
        Backend::MySql => ("id BIGINT AUTO_INCREMENT PRIMARY KEY", "DECIMAL(10,2)"),
        _ => ("id INTEGER PRIMARY KEY", "NUMERIC(10,2)"),
    };
    let sql = format!(
        "CREATE TABLE prices ({key}, sku VARCHAR(20) NOT NULL UNIQUE, price {numeric} NOT NULL)"
    );
    repo_tests::raw_sql(&db, &sql).await.unwrap();
    let repo = PriceRepository::new(&db);
    let stored = repo
        .insert(&Price {
            id: 0,
            sku: "p-1".into(),
            price: 2.0,
        })
        .await
        .unwrap();
    assert!((stored.price - 2.0).abs() < f64::EPSILON);
    let upserted = repo
        .upsert(&Price {
            price: 1.25,
            ..stored.clone()
        })
        .await
        .unwrap();
    assert!((upserted.price - 1.25).abs() < f64::EPSILON);
    let updated = repo
        .update(&Price {
            price: 3.5,
            ..upserted
        })
        .await
        .unwrap();
    assert!((updated.price - 3.5).abs() < f64::EPSILON);
    assert_eq!(
        repo_tests::scalar(&db, "SELECT COUNT(*) FROM prices WHERE price = 3.5").await,
        1
    );
}

repo_tests::on_every_backend!(
    inserts_that_cannot_be_read_back_write_nothing,
    updates_that_cannot_be_read_back_write_nothing,
    upserts_meeting_an_unreadable_row_write_nothing,
    claims_meeting_an_unreadable_row_claim_nothing,
    restoring_an_unreadable_row_keeps_it_deleted,
    audited_writes_that_cannot_be_read_back_record_nothing,
    crowded_failing_writes_leave_exactly_the_successes,
    a_column_the_field_cannot_read_fails_writes_and_writes_nothing,
    an_f64_over_a_decimal_column_writes_and_reads,
);
