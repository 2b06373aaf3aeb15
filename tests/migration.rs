//! `Db::diff` on every backend: each class of change planned, classified, written as an sqlx
//! migration, applied by sqlx's migrator, and the diff after it empty (and `verify` clean).
//! Destructive steps are refused without the allowance, a rename happens only from the hint
//! and a missing hint is refused naming both columns, data-dependent steps count the rows
//! they would fail on first. Every table starts as another declaration of it creates it.

use std::path::PathBuf;

use repo_core::prelude::*;
use repo_core::{Backend, Change, ChangeClass, Declaration, DiffOptions, Error, Migration};
use repo_tests::{raw_sql, scalar};

repo_tests::on_every_backend!(
    safe_changes_apply_and_the_diff_is_then_empty,
    destructive_changes_are_refused_without_the_allowance,
    a_rename_with_the_hint_keeps_the_values,
    a_rename_without_the_hint_is_refused_naming_both_columns,
    not_null_over_null_rows_reports_their_count_first,
    new_not_null_columns_and_unique_keys_count_the_rows_they_fail_on,
    a_narrower_or_other_type_counts_the_values_it_fails_on,
    a_diff_writes_nothing_and_a_refused_migration_no_file,
    enum_labels_are_added,
    an_audited_entity_brings_the_audit_table,
    a_soft_deleting_entitys_indexes_hold_its_live_rows,
);

/// An audited entity, whose writes need the audit log's table.
#[derive(Debug, Clone, Repository)]
#[repo(table = "ledger", audit, no_new)]
struct LedgerEntry {
    #[repo(primary_key, auto)]
    id: i64,
    amount: i64,
}

/// A state with the labels it had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, DbEnum)]
#[repo(type_name = "ticket_state")]
enum TicketStateBefore {
    Open,
    Closed,
}

/// The same state with a label more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, DbEnum)]
#[repo(type_name = "ticket_state")]
enum TicketState {
    Open,
    Closed,
    Archived,
}

#[derive(Debug, Clone, Repository)]
#[repo(table = "tickets", no_new)]
struct TicketBefore {
    #[repo(primary_key, auto)]
    id: i64,
    state: TicketStateBefore,
}

#[derive(Debug, Clone, Repository)]
#[repo(table = "tickets", no_new)]
struct Ticket {
    #[repo(primary_key, auto)]
    id: i64,
    state: TicketState,
}

/// `members` as it was: no nickname, no index on `joined_on`, `name` required.
#[derive(Debug, Clone, Repository)]
#[repo(table = "members", unique(email), no_new)]
struct MemberBefore {
    #[repo(primary_key, auto)]
    id: i64,
    email: String,
    name: String,
    joined_on: i64,
}

/// `members` as declared now: a nullable nickname, an index, `name` optional.
#[derive(Debug, Clone, Repository)]
#[repo(table = "members", unique(email), index(joined_on), no_new)]
struct Member {
    #[repo(primary_key, auto)]
    id: i64,
    email: String,
    name: Option<String>,
    joined_on: i64,
    nickname: Option<String>,
}

/// A table that does not exist yet.
#[derive(Debug, Clone, Repository)]
#[repo(table = "visits", index(member_id), no_new)]
struct Visit {
    #[repo(primary_key, auto)]
    id: i64,
    member_id: i64,
    page: String,
}

/// `members` with `name` renamed to `display_name`, saying so.
#[derive(Debug, Clone, Repository)]
#[repo(table = "members", unique(email), no_new)]
struct MemberRenamed {
    #[repo(primary_key, auto)]
    id: i64,
    email: String,
    #[repo(renamed_from = "name")]
    display_name: String,
    joined_on: i64,
}

/// `members` with `name` renamed to `display_name`, without saying so.
#[derive(Debug, Clone, Repository)]
#[repo(table = "members", unique(email), no_new)]
struct MemberRenamedSilently {
    #[repo(primary_key, auto)]
    id: i64,
    email: String,
    display_name: String,
    joined_on: i64,
}

/// `members` with `joined_on` gone.
#[derive(Debug, Clone, Repository)]
#[repo(table = "members", unique(email), no_new)]
struct MemberWithoutJoinedOn {
    #[repo(primary_key, auto)]
    id: i64,
    email: String,
    name: String,
}

/// `notes` as it was: everything optional, nothing unique, a wide number.
#[derive(Debug, Clone, Repository)]
#[repo(table = "notes", no_new)]
struct NoteBefore {
    #[repo(primary_key, auto)]
    id: i64,
    author: Option<String>,
    slug: Option<String>,
    score: i64,
    tag: Option<String>,
}

/// `notes` as declared now: `author` required, `slug` unique, a new required `body`.
#[derive(Debug, Clone, Repository)]
#[repo(table = "notes", unique(slug), no_new)]
struct Note {
    #[repo(primary_key, auto)]
    id: i64,
    author: String,
    slug: Option<String>,
    score: i64,
    tag: Option<String>,
    body: String,
}

/// `notes` with `author` alone made NOT NULL.
#[derive(Debug, Clone, Repository)]
#[repo(table = "notes", no_new)]
struct NoteWithAuthor {
    #[repo(primary_key, auto)]
    id: i64,
    author: String,
    slug: Option<String>,
    score: i64,
    tag: Option<String>,
}

/// `notes` with a narrower `score` and a numeric `tag`.
#[derive(Debug, Clone, Repository)]
#[repo(table = "notes", no_new)]
struct NoteNarrowed {
    #[repo(primary_key, auto)]
    id: i64,
    author: Option<String>,
    slug: Option<String>,
    score: i32,
    tag: Option<i64>,
}

/// Where `test`'s migrations are written on `db`'s backend (emptied).
fn migrations_dir(db: &Db, test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "repo-migrations-{}-{:?}-{test}",
        std::process::id(),
        db.backend()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Write `migration` into `dir` and apply every migration there with sqlx's migrator.
async fn apply(db: &Db, migration: &Migration, dir: &std::path::Path) {
    let path = migration
        .write(dir, "schema")
        .expect("the migration is written")
        .expect("there is something to write");
    assert!(path.exists(), "{} is written", path.display());
    let migrator = sqlx::migrate::Migrator::new(dir.to_path_buf())
        .await
        .expect("the directory holds sqlx migrations");
    let applied = if let Some(pool) = db.postgres_pool() {
        match db.transaction_preamble() {
            Some(preamble) => apply_through_pooler(pool, preamble, migrator).await,
            None => migrator.run(pool).await,
        }
    } else if let Some(pool) = db.mysql_pool() {
        // On a connection as a migration tool opens it: without the framework's ANSI_QUOTES
        // (left out of the pool afterwards).
        let mut conn = pool.acquire().await.expect("a connection").detach();
        sqlx::raw_sql("SET SESSION sql_mode = 'STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION'")
            .execute(&mut conn)
            .await
            .expect("sql_mode");
        migrator.run(&mut conn).await
    } else {
        migrator.run(db.sqlite_pool().expect("a pool")).await
    };
    applied.unwrap_or_else(|e| {
        panic!(
            "the migration applies: {e}\n{}",
            migration.sql().unwrap_or_default()
        )
    });
}

/// Through a transaction pooler, as `repo_domain::migrate` applies its own: in one
/// transaction begun as the framework begins its own (the test's search path), without
/// sqlx's session lock, and the statements sqlx prepared dropped before the end.
async fn apply_through_pooler(
    pool: &sqlx::PgPool,
    preamble: &str,
    mut migrator: sqlx::migrate::Migrator,
) -> Result<(), sqlx::migrate::MigrateError> {
    migrator.set_locking(false);
    let mut tx = pool.begin().await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(preamble.to_owned()))
        .execute(&mut *tx)
        .await?;
    migrator.run(&mut *tx).await?;
    sqlx::raw_sql("DEALLOCATE ALL").execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

/// The table of `E` (a declaration of how it was), holding the rows `insert` writes.
async fn as_it_was<E: Entity>(db: &Db, insert: &str) {
    db.create_schema::<E>().await.unwrap();
    raw_sql(db, insert).await.unwrap();
}

async fn diff(db: &Db, entities: &[Declaration], options: &DiffOptions) -> Migration {
    db.diff(entities, options).await.expect("the diff runs")
}

/// Each step's class and change, in order.
fn steps(migration: &Migration) -> Vec<(String, ChangeClass, Change)> {
    migration
        .steps()
        .map(|(table, step)| (table, step.class, step.change.clone()))
        .collect()
}

fn column(name: &str) -> String {
    name.to_owned()
}

/// The columns of `table` as the catalog lists them, for asserting what a migration left.
async fn columns(db: &Db, table: &str) -> Vec<String> {
    let only = [table.to_owned()];
    let tables = db
        .describe_tables(None, Some(&only))
        .await
        .expect("describe");
    tables
        .first()
        .map(|t| t.columns.iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default()
}

async fn safe_changes_apply_and_the_diff_is_then_empty(db: Db) {
    as_it_was::<MemberBefore>(
        &db,
        "INSERT INTO members (email, name, joined_on) VALUES ('a@x', 'Ann', 1), ('b@x', 'Bo', 2)",
    )
    .await;
    let entities = [Declaration::of::<Member>(), Declaration::of::<Visit>()];
    let migration = diff(&db, &entities, &DiffOptions::new()).await;
    assert_eq!(
        steps(&migration),
        vec![
            (
                "members".to_owned(),
                ChangeClass::Safe,
                Change::DropNotNull {
                    column: column("name")
                }
            ),
            (
                "members".to_owned(),
                ChangeClass::Safe,
                Change::AddColumn {
                    column: column("nickname")
                }
            ),
            (
                "members".to_owned(),
                ChangeClass::Safe,
                Change::AddIndex {
                    columns: vec![column("joined_on")]
                }
            ),
            ("visits".to_owned(), ChangeClass::Safe, Change::CreateTable),
        ]
    );
    assert!(migration.refusals().is_empty());
    apply(&db, &migration, &migrations_dir(&db, "safe")).await;

    assert!(diff(&db, &entities, &DiffOptions::new()).await.is_empty());
    db.verify_all(&entities).await.expect("the tables fit");
    // The rows are as they were, and the new shape takes writes.
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) FROM members WHERE nickname IS NULL AND name IS NOT NULL"
        )
        .await,
        2
    );
    raw_sql(
        &db,
        "INSERT INTO members (email, name, joined_on) VALUES ('c@x', NULL, 3)",
    )
    .await
    .expect("name takes NULL");
    let repo = Repository::<Visit>::new(&db);
    repo.insert(&Visit {
        id: 0,
        member_id: 1,
        page: "/".to_owned(),
    })
    .await
    .expect("the new table takes rows");
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) FROM visits WHERE page = '/'").await,
        1
    );
}

async fn destructive_changes_are_refused_without_the_allowance(db: Db) {
    db.create_schema::<MemberBefore>().await.unwrap();
    as_it_was::<NoteBefore>(
        &db,
        "INSERT INTO members (email, name, joined_on) VALUES ('a@x', 'Ann', 7); \
         INSERT INTO notes (author, score) VALUES ('Ann', 1)",
    )
    .await;
    let entities = [Declaration::of::<MemberWithoutJoinedOn>()];
    let migration = diff(&db, &entities, &DiffOptions::new()).await;
    assert_eq!(
        steps(&migration),
        vec![
            (
                "members".to_owned(),
                ChangeClass::Destructive,
                Change::DropColumn {
                    column: column("joined_on")
                }
            ),
            (
                "notes".to_owned(),
                ChangeClass::Destructive,
                Change::DropTable
            ),
        ]
    );
    let refusals = migration.refusals();
    assert_eq!(refusals.len(), 2, "{refusals:?}");
    assert!(refusals[0].contains("`joined_on`"), "{refusals:?}");
    assert!(refusals[1].contains("`notes`"), "{refusals:?}");
    let dir = migrations_dir(&db, "destructive");
    assert!(matches!(
        migration.write(&dir, "schema"),
        Err(Error::MigrationRefused { refusals }) if refusals.len() == 2
    ));
    assert!(!dir.exists(), "a refused migration writes no file");
    assert!(columns(&db, "members").await.contains(&column("joined_on")));

    // Kept, the table is left; allowed, the column goes.
    let options = DiffOptions::new().allow_destructive().keep_table("notes");
    let migration = diff(&db, &entities, &options).await;
    assert_eq!(migration.tables().len(), 1);
    apply(&db, &migration, &dir).await;
    assert!(diff(&db, &entities, &options).await.is_empty());
    assert!(!columns(&db, "members").await.contains(&column("joined_on")));
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) FROM members WHERE name = 'Ann'").await,
        1
    );
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM notes").await, 1);

    let options = DiffOptions::new().allow_destructive();
    let migration = diff(&db, &entities, &options).await;
    apply(&db, &migration, &dir).await;
    assert!(diff(&db, &entities, &options).await.is_empty());
    assert!(columns(&db, "notes").await.is_empty(), "notes is dropped");
}

async fn a_rename_with_the_hint_keeps_the_values(db: Db) {
    as_it_was::<MemberBefore>(
        &db,
        "INSERT INTO members (email, name, joined_on) VALUES ('a@x', 'Ann', 1), ('b@x', 'Bo', 2)",
    )
    .await;
    let entities = [Declaration::of::<MemberRenamed>()];
    let migration = diff(&db, &entities, &DiffOptions::new()).await;
    assert_eq!(
        steps(&migration),
        vec![(
            "members".to_owned(),
            ChangeClass::Safe,
            Change::RenameColumn {
                from: column("name"),
                to: column("display_name")
            }
        )]
    );
    let sql = migration.sql().unwrap();
    assert!(sql.contains("RENAME COLUMN"), "{sql}");
    apply(&db, &migration, &migrations_dir(&db, "rename")).await;
    assert!(diff(&db, &entities, &DiffOptions::new()).await.is_empty());
    db.verify_all(&entities).await.expect("the table fits");
    let repo = Repository::<MemberRenamed>::new(&db);
    let mut names: Vec<String> = repo
        .find_all(Filter::all())
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.display_name)
        .collect();
    names.sort();
    assert_eq!(names, ["Ann", "Bo"]);
}

async fn a_rename_without_the_hint_is_refused_naming_both_columns(db: Db) {
    as_it_was::<MemberBefore>(
        &db,
        "INSERT INTO members (email, name, joined_on) VALUES ('a@x', 'Ann', 1)",
    )
    .await;
    let entities = [Declaration::of::<MemberRenamedSilently>()];
    let migration = diff(&db, &entities, &DiffOptions::new()).await;
    let refusals = migration.refusals();
    let dropped = refusals
        .iter()
        .find(|r| r.contains("drop column `name`"))
        .unwrap_or_else(|| panic!("the drop is refused: {refusals:?}"));
    assert!(dropped.contains("`display_name`"), "{dropped}");
    assert!(dropped.contains("renamed_from = \"name\""), "{dropped}");
    assert!(
        !migration
            .steps()
            .any(|(_, s)| matches!(s.change, Change::RenameColumn { .. })),
        "a rename is never guessed"
    );
    assert!(migration.sql().is_err());
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) FROM members WHERE name = 'Ann'").await,
        1
    );
}

async fn not_null_over_null_rows_reports_their_count_first(db: Db) {
    as_it_was::<NoteBefore>(
        &db,
        "INSERT INTO notes (author, score) VALUES ('Ann', 1), (NULL, 2), (NULL, 3), (NULL, 4)",
    )
    .await;
    let entities = [Declaration::of::<NoteWithAuthor>()];
    let migration = diff(&db, &entities, &DiffOptions::new()).await;
    let (_, step) = migration.steps().next().expect("one step");
    assert_eq!(
        step.change,
        Change::SetNotNull {
            column: column("author")
        }
    );
    assert_eq!(step.class, ChangeClass::DataDependent);
    assert_eq!(step.precheck.as_ref().map(|c| c.failing_rows), Some(3));
    let refusal = step.refusal.clone().expect("refused while rows would fail");
    assert!(
        refusal.starts_with("3 rows where `author` is NULL"),
        "{refusal}"
    );
    assert!(migration.sql().is_err());

    raw_sql(
        &db,
        "UPDATE notes SET author = 'unknown' WHERE author IS NULL",
    )
    .await
    .unwrap();
    let migration = diff(&db, &entities, &DiffOptions::new()).await;
    let (_, step) = migration.steps().next().expect("one step");
    assert_eq!(step.precheck.as_ref().map(|c| c.failing_rows), Some(0));
    apply(&db, &migration, &migrations_dir(&db, "not_null")).await;
    assert!(diff(&db, &entities, &DiffOptions::new()).await.is_empty());
    let refused = raw_sql(&db, "INSERT INTO notes (author, score) VALUES (NULL, 5)").await;
    assert!(refused.is_err(), "author is NOT NULL now");
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) FROM notes WHERE author = 'unknown'").await,
        3
    );
}

async fn new_not_null_columns_and_unique_keys_count_the_rows_they_fail_on(db: Db) {
    as_it_was::<NoteBefore>(
        &db,
        "INSERT INTO notes (author, slug, score) VALUES \
         ('Ann', 'a', 1), ('Bo', 'a', 2), ('Cy', 'b', 3), ('Di', 'b', 4), ('Ed', 'c', 5), \
         ('Fa', NULL, 6), ('Gu', NULL, 7)",
    )
    .await;
    let entities = [Declaration::of::<Note>()];
    let migration = diff(&db, &entities, &DiffOptions::new()).await;
    let counted: Vec<(Change, Option<u64>)> = migration
        .steps()
        .map(|(_, s)| {
            (
                s.change.clone(),
                s.precheck.as_ref().map(|c| c.failing_rows),
            )
        })
        .collect();
    assert!(
        counted.contains(&(
            Change::AddColumn {
                column: column("body")
            },
            Some(7)
        )),
        "{counted:?}"
    );
    // Rows with a NULL slug never clash.
    assert!(
        counted.contains(&(
            Change::AddUniqueKey {
                columns: vec![column("slug")]
            },
            Some(4)
        )),
        "{counted:?}"
    );
    assert_eq!(migration.refusals().len(), 2, "{:?}", migration.refusals());

    // Emptied of the rows, the same changes apply.
    raw_sql(&db, "DELETE FROM notes").await.unwrap();
    let migration = diff(&db, &entities, &DiffOptions::new()).await;
    assert!(
        migration.refusals().is_empty(),
        "{:?}",
        migration.refusals()
    );
    apply(&db, &migration, &migrations_dir(&db, "unique")).await;
    assert!(diff(&db, &entities, &DiffOptions::new()).await.is_empty());
    db.verify_all(&entities).await.expect("the table fits");
    raw_sql(
        &db,
        "INSERT INTO notes (author, slug, score, body) VALUES ('Ann', 'a', 1, 'x')",
    )
    .await
    .unwrap();
    let clash = raw_sql(
        &db,
        "INSERT INTO notes (author, slug, score, body) VALUES ('Bo', 'a', 2, 'y')",
    )
    .await;
    assert!(clash.is_err(), "slug is unique now");
}

async fn a_narrower_or_other_type_counts_the_values_it_fails_on(db: Db) {
    as_it_was::<NoteBefore>(
        &db,
        "INSERT INTO notes (author, score, tag) VALUES \
         ('Ann', 1, NULL), ('Bo', 5000000000, NULL), ('Cy', -5000000000, 'x')",
    )
    .await;
    let entities = [Declaration::of::<NoteNarrowed>()];
    let migration = diff(&db, &entities, &DiffOptions::new()).await;
    let counted: Vec<(String, Option<u64>)> = migration
        .steps()
        .filter_map(|(_, s)| match &s.change {
            Change::AlterType { column, .. } => {
                assert_eq!(s.class, ChangeClass::DataDependent);
                Some((column.clone(), s.precheck.as_ref().map(|c| c.failing_rows)))
            }
            _ => None,
        })
        .collect();
    // SQLite's integers are all 64-bit: nothing narrows there.
    let mut expected = vec![(column("tag"), Some(1))];
    if db.backend() != Backend::Sqlite {
        expected.insert(0, (column("score"), Some(2)));
    }
    assert_eq!(counted, expected);
    assert_eq!(migration.refusals().len(), expected.len());

    raw_sql(&db, "DELETE FROM notes WHERE author <> 'Ann'")
        .await
        .unwrap();
    let migration = diff(&db, &entities, &DiffOptions::new()).await;
    apply(&db, &migration, &migrations_dir(&db, "narrow")).await;
    assert!(diff(&db, &entities, &DiffOptions::new()).await.is_empty());
    db.verify_all(&entities).await.expect("the table fits");
    let repo = Repository::<NoteNarrowed>::new(&db);
    let notes = repo.find_all(Filter::all()).await.unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!((notes[0].score, notes[0].tag), (1, None));
}

async fn a_diff_writes_nothing_and_a_refused_migration_no_file(db: Db) {
    as_it_was::<NoteBefore>(&db, "INSERT INTO notes (author, score) VALUES (NULL, 1)").await;
    let before = columns(&db, "notes").await;
    let entities = [Declaration::of::<Note>(), Declaration::of::<Visit>()];
    let migration = diff(&db, &entities, &DiffOptions::new().allow_destructive()).await;
    assert!(!migration.refusals().is_empty());
    assert_eq!(
        columns(&db, "notes").await,
        before,
        "diffing changes nothing"
    );
    assert!(
        columns(&db, "visits").await.is_empty(),
        "nor creates anything"
    );
    let dir = migrations_dir(&db, "nothing");
    assert!(migration.write(&dir, "schema").is_err());
    assert!(!dir.exists());
    // An up-to-date schema writes no file either.
    let kept = [Declaration::of::<NoteBefore>()];
    let empty = diff(&db, &kept, &DiffOptions::new()).await;
    assert!(empty.is_empty());
    assert_eq!(empty.write(&dir, "schema").unwrap(), None);
}

/// A PostgreSQL enum type gets the declared labels it lacks; elsewhere enums are text and
/// nothing changes.
async fn enum_labels_are_added(db: Db) {
    db.create_schema::<TicketBefore>().await.unwrap();
    let entities = [Declaration::of::<Ticket>()];
    let migration = diff(&db, &entities, &DiffOptions::new()).await;
    if db.backend() != Backend::Postgres {
        assert!(migration.is_empty(), "{:?}", steps(&migration));
        return;
    }
    assert_eq!(
        steps(&migration),
        vec![(
            "tickets".to_owned(),
            ChangeClass::Safe,
            Change::AddEnumLabels {
                type_name: "ticket_state".to_owned(),
                labels: vec!["archived".to_owned()]
            }
        )]
    );
    apply(&db, &migration, &migrations_dir(&db, "enum")).await;
    assert!(diff(&db, &entities, &DiffOptions::new()).await.is_empty());
    let repo = Repository::<Ticket>::new(&db);
    let ticket = repo
        .insert(&Ticket {
            id: 0,
            state: TicketState::Archived,
        })
        .await
        .expect("the new label is written");
    assert_eq!(
        repo.get(ticket.id).await.unwrap().state,
        TicketState::Archived
    );
}

/// SQLite changes a column by copying the table; a table other tables reference (whose rows
/// the old copy's drop would delete or cascade to), or one with a kept column the copy would
/// lose, is refused instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_copies_a_table_only_when_nothing_is_lost() {
    let db = repo_tests::sqlite("copies_a_table_only_when_nothing_is_lost").await;
    as_it_was::<MemberBefore>(
        &db,
        "INSERT INTO members (email, name, joined_on) VALUES ('a@x', 'Ann', 1); \
         CREATE TABLE member_links (id INTEGER PRIMARY KEY, \
             member_id INTEGER REFERENCES members (id) ON DELETE CASCADE); \
         INSERT INTO member_links (member_id) VALUES (1)",
    )
    .await;
    let entities = [Declaration::of::<Member>()];
    let options = DiffOptions::new().keep_table("member_links");
    let migration = diff(&db, &entities, &options).await;
    let refusals = migration.refusals();
    assert!(
        refusals.iter().any(|r| r.contains("member_links")),
        "{refusals:?}"
    );
    assert!(migration.sql().is_err());

    raw_sql(
        &db,
        "DROP TABLE member_links; ALTER TABLE members ADD COLUMN legacy TEXT",
    )
    .await
    .unwrap();
    let options = DiffOptions::new().keep_column("members", "legacy");
    let migration = diff(&db, &entities, &options).await;
    let refusals = migration.refusals();
    assert!(
        refusals.iter().any(|r| r.contains("legacy")),
        "{refusals:?}"
    );

    // Without the kept column the copy loses nothing: the rows survive it.
    let options = DiffOptions::new().allow_destructive();
    let migration = diff(&db, &entities, &options).await;
    let sql = migration.sql().expect("nothing refused");
    assert!(sql.contains("members__rebuilt"), "{sql}");
    apply(&db, &migration, &migrations_dir(&db, "copy")).await;
    assert!(diff(&db, &entities, &options).await.is_empty());
    db.verify_all(&entities).await.expect("the table fits");
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) FROM members WHERE email = 'a@x' AND name = 'Ann' AND joined_on = 1"
        )
        .await,
        1
    );
}

/// Through `PgBouncer` in transaction mode the diff reads the same catalog and counts the same
/// rows as on the server directly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_through_a_transaction_pooler_diffs_the_same() {
    let test = "migration_pooler";
    let pooled = Db::connect(&format!(
        "{}&pooler=transaction",
        repo_tests::pgbouncer_fresh_url(test).await
    ))
    .await
    .expect("connect through PgBouncer");
    let url = repo_tests::postgres_url();
    let separator = if url.contains('?') { '&' } else { '?' };
    let direct = Db::connect(&format!(
        "{url}{separator}options=-c%20search_path%3Dt_{test}"
    ))
    .await
    .expect("connect to PostgreSQL");
    as_it_was::<NoteBefore>(
        &direct,
        "INSERT INTO notes (author, slug, score) VALUES (NULL, 'a', 1), ('Bo', 'a', 2)",
    )
    .await;
    let entities = [Declaration::of::<Note>(), Declaration::of::<Visit>()];
    let through_pooler = diff(&pooled, &entities, &DiffOptions::new()).await;
    let on_server = diff(&direct, &entities, &DiffOptions::new()).await;
    assert_eq!(through_pooler, on_server);
    let counts: Vec<u64> = through_pooler
        .steps()
        .filter_map(|(_, s)| s.precheck.as_ref().map(|c| c.failing_rows))
        .collect();
    // author NULL once, body for both rows, slug `a` twice.
    assert_eq!(counts, [1, 2, 2]);
}

/// `repo diff` from a binary that registers the entities: writes the migration, writes
/// nothing once the schema is up to date, and writes nothing (exit status 1) when a step is
/// refused or under `--check`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_repo_diff_writes_the_migration_or_nothing() {
    let url = repo_tests::sqlite_fresh_url("repo_diff_command");
    let db = Db::connect(&format!("{url}?mode=rwc")).await.unwrap();
    as_it_was::<MemberBefore>(
        &db,
        "INSERT INTO members (email, name, joined_on) VALUES ('a@x', 'Ann', 1)",
    )
    .await;
    let dir = migrations_dir(&db, "command");
    let entities = [Declaration::of::<Member>(), Declaration::of::<Visit>()];
    let command = |extra: &[&str]| {
        let mut args = vec!["repo", "diff", "--url", &url, "--out"];
        args.push(dir.to_str().unwrap());
        args.extend_from_slice(extra);
        args.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let status = |code: std::process::ExitCode| format!("{code:?}");
    let (success, failure) = (
        status(std::process::ExitCode::SUCCESS),
        status(std::process::ExitCode::FAILURE),
    );
    let files = || std::fs::read_dir(&dir).map_or(0, Iterator::count);

    let checked = repo_cli::run_with(command(&["--check"]), &entities).await;
    assert_eq!(
        status(checked),
        failure,
        "--check fails while the schema differs"
    );
    assert_eq!(files(), 0);
    raw_sql(&db, "CREATE TABLE scratch (x INTEGER)")
        .await
        .unwrap();
    let refused = repo_cli::run_with(command(&[]), &entities).await;
    assert_eq!(status(refused), failure, "dropping scratch is refused");
    assert_eq!(files(), 0);

    let written = repo_cli::run_with(command(&["--keep-table", "scratch"]), &entities).await;
    assert_eq!(status(written), success);
    assert_eq!(files(), 1);
    let migrator = sqlx::migrate::Migrator::new(dir.clone()).await.unwrap();
    migrator.run(db.sqlite_pool().unwrap()).await.unwrap();
    let again =
        repo_cli::run_with(command(&["--keep-table", "scratch", "--check"]), &entities).await;
    assert_eq!(
        status(again),
        success,
        "nothing differs after the migration"
    );
    assert_eq!(files(), 1);
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) FROM members WHERE nickname IS NULL").await,
        1
    );
}

/// `members` in a schema of its own (a PostgreSQL schema, a MariaDB database).
#[derive(Debug, Clone, Repository)]
#[repo(
    table = "members",
    schema = "repo_migration_sales",
    unique(email),
    no_new
)]
struct SalesMember {
    #[repo(primary_key, auto)]
    id: i64,
    email: String,
}

/// A declared schema is created with its table, and its undeclared tables are the ones a diff
/// drops (the connection's own schema is not looked at).
async fn a_table_in_a_schema_of_its_own(db: Db) {
    let drop = match db.backend() {
        Backend::Postgres => "DROP SCHEMA IF EXISTS repo_migration_sales CASCADE",
        _ => "DROP DATABASE IF EXISTS repo_migration_sales",
    };
    raw_sql(&db, drop).await.unwrap();
    raw_sql(&db, "CREATE TABLE unrelated (x INTEGER)")
        .await
        .unwrap();
    let entities = [Declaration::of::<SalesMember>()];
    let migration = diff(&db, &entities, &DiffOptions::new()).await;
    assert_eq!(
        steps(&migration),
        vec![(
            "repo_migration_sales.members".to_owned(),
            ChangeClass::Safe,
            Change::CreateTable
        )]
    );
    apply(&db, &migration, &migrations_dir(&db, "schema")).await;
    assert!(diff(&db, &entities, &DiffOptions::new()).await.is_empty());
    db.verify_all(&entities).await.expect("the table fits");
    let repo = Repository::<SalesMember>::new(&db);
    repo.insert(&SalesMember {
        id: 0,
        email: "a@x".to_owned(),
    })
    .await
    .unwrap();
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) FROM repo_migration_sales.members WHERE email = 'a@x'"
        )
        .await,
        1
    );
    raw_sql(&db, "CREATE TABLE repo_migration_sales.stray (x INTEGER)")
        .await
        .unwrap();
    let migration = diff(&db, &entities, &DiffOptions::new()).await;
    assert_eq!(
        steps(&migration),
        vec![(
            "repo_migration_sales.stray".to_owned(),
            ChangeClass::Destructive,
            Change::DropTable
        )]
    );
    assert_eq!(migration.refusals().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_table_in_a_schema_of_its_own() {
    a_table_in_a_schema_of_its_own(repo_tests::postgres("migration_own_schema").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_a_table_in_a_schema_of_its_own() {
    a_table_in_a_schema_of_its_own(repo_tests::mysql("migration_own_schema").await).await;
}

async fn an_audited_entity_brings_the_audit_table(db: Db) {
    let entities = [Declaration::of::<LedgerEntry>()];
    let migration = diff(&db, &entities, &DiffOptions::new()).await;
    let tables: Vec<String> = migration.tables().iter().map(|t| t.table.clone()).collect();
    assert_eq!(tables, ["ledger", "repo_audit"]);
    apply(&db, &migration, &migrations_dir(&db, "audit")).await;
    assert!(diff(&db, &entities, &DiffOptions::new()).await.is_empty());
    let clerk = db.with_actor("clerk");
    let repo = Repository::<LedgerEntry>::new(&clerk);
    repo.insert(&LedgerEntry { id: 0, amount: 5 })
        .await
        .unwrap();
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) FROM repo_audit WHERE actor = 'clerk'").await,
        1
    );
}

/// A soft-deleting entity with an index: made partial over the live rows, or ending with the
/// soft-delete column where the backend has no partial indexes.
#[derive(Debug, Clone, Repository)]
#[repo(table = "shelves", unique(code), index(aisle, position), no_new)]
struct Shelf {
    #[repo(primary_key, auto)]
    id: i64,
    code: String,
    aisle: i64,
    position: i64,
    #[repo(soft_delete)]
    deleted_at: Option<DateTime<Utc>>,
}

/// `shelves` as an earlier declaration made it: the same columns, the index whole-table.
#[derive(Debug, Clone, Repository)]
#[repo(table = "shelves", unique(code), index(aisle, position), no_new)]
struct ShelfWholeIndex {
    #[repo(primary_key, auto)]
    id: i64,
    code: String,
    aisle: i64,
    position: i64,
    deleted_at: Option<DateTime<Utc>>,
}

async fn a_soft_deleting_entitys_indexes_hold_its_live_rows(db: Db) {
    let entities = [Declaration::of::<Shelf>()];
    let migration = diff(&db, &entities, &DiffOptions::new()).await;
    apply(&db, &migration, &migrations_dir(&db, "live-rows")).await;
    assert!(diff(&db, &entities, &DiffOptions::new()).await.is_empty());
    db.verify_all(&entities).await.expect("the table fits");
    let (built, described) = match db.backend() {
        Backend::Postgres => (
            "SELECT COUNT(*) FROM pg_indexes WHERE tablename = 'shelves' \
             AND indexname = 'shelves_aisle_position_idx' \
             AND indexdef LIKE '%(aisle, \"position\") WHERE (deleted_at IS NULL)'",
            vec!["aisle", "position"],
        ),
        Backend::Sqlite => (
            "SELECT COUNT(*) FROM sqlite_master WHERE name = 'shelves_aisle_position_idx' \
             AND sql LIKE '%(\"aisle\", \"position\") WHERE \"deleted_at\" IS NULL'",
            vec!["aisle", "position"],
        ),
        _ => (
            "SELECT COUNT(*) FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'shelves' \
             AND INDEX_NAME = 'shelves_aisle_position_idx' \
             AND COLUMN_NAME = 'deleted_at' AND SEQ_IN_INDEX = 3",
            vec!["aisle", "position", "deleted_at"],
        ),
    };
    assert_eq!(scalar(&db, built).await, 1, "{built}");
    let only = ["shelves".to_owned()];
    let tables = db.describe_tables(None, Some(&only)).await.unwrap();
    assert_eq!(tables[0].indexes, vec![described], "the index is described");

    // Reads see what they saw before: live rows by default, every row with the deleted.
    let repo = Repository::<Shelf>::new(&db);
    for (code, position) in [("a1", 1), ("a2", 2), ("a3", 3)] {
        repo.insert(&Shelf {
            id: 0,
            code: code.to_owned(),
            aisle: 7,
            position,
            deleted_at: None,
        })
        .await
        .unwrap();
    }
    repo.delete_where(Shelf::POSITION.eq(2)).await.unwrap();
    let live = Shelf::AISLE.eq(7).and(Shelf::POSITION.gte(1));
    assert_eq!(repo.count(live.clone()).await.unwrap(), 2);
    assert_eq!(repo.with_deleted().count(live.clone()).await.unwrap(), 3);
    assert_eq!(repo.only_deleted().count(live).await.unwrap(), 1);

    // A table whose index an earlier declaration made whole-table is left as it is.
    raw_sql(&db, "DROP TABLE shelves").await.unwrap();
    db.create_schema::<ShelfWholeIndex>().await.unwrap();
    assert!(diff(&db, &entities, &DiffOptions::new()).await.is_empty());
}
