//! The unit-of-work contract of a `Session`, on SQLite and PostgreSQL, each rule asserted on the
//! rows a fresh repository reads back after the session ended:
//!
//! - a constraint violation undoes only its statement, and the session goes on;
//! - any other failure aborts the unit of work: later calls and `commit` fail with
//!   `Error::SessionAborted`, and nothing is written;
//! - `Validation`, `NotFound` and decode errors change nothing.

use std::collections::BTreeMap;

use futures_util::StreamExt as _;
use repo_core::prelude::*;
use repo_core::sea_query::{InsertStatement, UpdateStatement};
use repo_core::{Backend, Conn, Entity, Error, Row, Statement};
use repo_tests::entities::*;

repo_tests::on_every_backend!(
    conflict_in_the_middle_undoes_only_that_statement,
    not_null_check_and_foreign_key_violations_undo_only_their_statement,
    refused_upserts_are_conflicts_and_the_session_goes_on,
    unknown_column_in_a_custom_query_aborts_the_session,
    invalid_custom_write_aborts_the_session,
    bulk_write_failing_for_another_reason_aborts_the_session,
    validation_not_found_and_decode_errors_change_nothing,
    failing_row_in_the_middle_of_a_stream_aborts_the_session,
    abandoned_stream_whose_query_fails_never_commits_silently,
    constraint_violation_in_a_streamed_write_undoes_only_that_statement,
    commit_after_an_abort_fails_and_writes_nothing,
    dropped_session_writes_nothing,
);

fn account(id: &str, email: &str, balance: i64) -> Account {
    Account {
        id: id.to_owned(),
        email: email.to_owned(),
        name: format!("name of {id}"),
        balance,
    }
}

/// Every account in the database, read on the pool (outside any session), by id.
async fn stored_accounts(db: &Db) -> BTreeMap<String, Account> {
    AccountRepository::new(db)
        .find_all(Filter::all())
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.id.clone(), a))
        .collect()
}

fn ids(accounts: &BTreeMap<String, Account>) -> Vec<&str> {
    accounts.keys().map(String::as_str).collect()
}

#[track_caller]
fn assert_session_aborted<T: std::fmt::Debug>(result: Result<T, Error>) {
    match result {
        Err(Error::SessionAborted { cause, .. }) => assert!(!cause.is_empty()),
        other => panic!("expected SessionAborted, got {other:?}"),
    }
}

async fn conflict_in_the_middle_undoes_only_that_statement(db: Db) {
    db.create_schema::<Account>().await.unwrap();
    let session = db.begin().await.unwrap();
    let repo = AccountRepository::new(&session);
    repo.insert(&account("a1", "a1@x", 1)).await.unwrap();
    repo.insert(&account("a2", "a2@x", 2)).await.unwrap();

    // The same primary key, then the same unique email: each undone alone.
    match repo.insert(&account("a1", "other@x", 9)).await {
        Err(Error::Conflict { constraint, .. }) => assert_eq!(constraint, "accounts_pkey"),
        other => panic!("expected Conflict on the primary key, got {other:?}"),
    }
    match repo.insert(&account("a9", "a2@x", 9)).await {
        Err(Error::Conflict { constraint, .. }) => assert_eq!(constraint, "accounts_email_key"),
        other => panic!("expected Conflict on the email, got {other:?}"),
    }
    // Two failures in a row, the second right after the first.
    let mut clash = account("a2", "a2@x", 0);
    clash.email = "a1@x".into();
    assert!(repo.update(&clash).await.unwrap_err().is_conflict());
    assert!(
        repo.update_where(Account::ID.eq("a1"), [Account::EMAIL.set("a2@x")])
            .await
            .unwrap_err()
            .is_conflict()
    );
    assert!(!session.is_aborted().await);

    // Later writes of every kind go on, and see the earlier ones.
    repo.insert(&account("a3", "a3@x", 3)).await.unwrap();
    let mut a2 = repo.get("a2").await.unwrap();
    a2.balance = 20;
    repo.update(&a2).await.unwrap();
    repo.upsert(&account("a4", "a4@x", 4)).await.unwrap();
    assert_eq!(
        repo.update_where(Account::ID.eq("a1"), [Account::BALANCE.set(10_i64)])
            .await
            .unwrap(),
        1
    );
    assert!(repo.delete("a4").await.unwrap());
    assert_eq!(repo.count(Filter::all()).await.unwrap(), 3);
    session.commit().await.unwrap();

    let stored = stored_accounts(&db).await;
    assert_eq!(ids(&stored), ["a1", "a2", "a3"]);
    assert_eq!(stored["a1"].balance, 10);
    assert_eq!(stored["a1"].email, "a1@x");
    assert_eq!(stored["a2"].balance, 20);
    assert_eq!(stored["a2"].email, "a2@x");
    assert_eq!(stored["a3"], account("a3", "a3@x", 3));
}

/// A line of an account, in a table created by hand with a foreign key, a named CHECK and a
/// NOT NULL column the Rust type allows to be `None`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "account_lines")]
struct AccountLine {
    #[repo(primary_key)]
    id: i64,
    account_id: String,
    qty: i64,
    note: Option<String>,
}

const ACCOUNT_LINES: &str = "CREATE TABLE account_lines (\
    id BIGINT PRIMARY KEY, \
    account_id TEXT NOT NULL REFERENCES accounts (id), \
    qty BIGINT NOT NULL CONSTRAINT account_lines_qty_positive CHECK (qty > 0), \
    note TEXT NOT NULL)";

/// `ACCOUNT_LINES` as MariaDB writes it: constraints at table level, keys of bounded text.
const ACCOUNT_LINES_MYSQL: &str = "CREATE TABLE account_lines (\
    id BIGINT PRIMARY KEY, \
    account_id VARCHAR(255) NOT NULL, \
    qty BIGINT NOT NULL, \
    note TEXT NOT NULL, \
    CONSTRAINT account_lines_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts (id), \
    CONSTRAINT account_lines_qty_positive CHECK (qty > 0))";

fn line(id: i64, account_id: &str, qty: i64, note: Option<&str>) -> AccountLine {
    AccountLine {
        id,
        account_id: account_id.to_owned(),
        qty,
        note: note.map(str::to_owned),
    }
}

async fn not_null_check_and_foreign_key_violations_undo_only_their_statement(db: Db) {
    db.create_schema::<Account>().await.unwrap();
    let ddl = if db.backend() == Backend::MySql {
        ACCOUNT_LINES_MYSQL
    } else {
        ACCOUNT_LINES
    };
    Conn::Db(&db)
        .execute(Statement::new(ddl, vec![]))
        .await
        .unwrap();
    let session = db.begin().await.unwrap();
    let accounts = AccountRepository::new(&session);
    let lines = AccountLineRepository::new(&session);
    accounts.insert(&account("a1", "a1@x", 1)).await.unwrap();
    lines
        .insert(&line(1, "a1", 1, Some("first")))
        .await
        .unwrap();

    match lines.insert(&line(2, "nobody", 1, Some("x"))).await {
        Err(Error::ForeignKey {
            entity, constraint, ..
        }) => {
            assert_eq!(entity, "AccountLine");
            if db.backend() != Backend::Sqlite {
                assert_eq!(constraint.as_deref(), Some("account_lines_account_id_fkey"));
            }
        }
        other => panic!("expected ForeignKey, got {other:?}"),
    }
    match lines.insert(&line(3, "a1", 0, Some("x"))).await {
        Err(Error::Check { constraint, .. }) => {
            assert_eq!(constraint, "account_lines_qty_positive");
        }
        other => panic!("expected Check, got {other:?}"),
    }
    match lines.insert(&line(4, "a1", 1, None)).await {
        Err(Error::NotNull { column, .. }) => assert_eq!(column, "note"),
        other => panic!("expected NotNull, got {other:?}"),
    }
    // The same violations through other kinds of write.
    match lines
        .update_where(AccountLine::ID.eq(1_i64), [AccountLine::QTY.set(-5_i64)])
        .await
    {
        Err(Error::Check { constraint, .. }) => {
            assert_eq!(constraint, "account_lines_qty_positive");
        }
        other => panic!("expected Check, got {other:?}"),
    }
    match accounts.delete("a1").await {
        Err(Error::ForeignKey { entity, .. }) => assert_eq!(entity, "Account"),
        other => panic!("expected ForeignKey deleting a referenced account, got {other:?}"),
    }
    match lines
        .bulk_insert(&[line(5, "a1", 1, Some("ok")), line(6, "a1", 0, Some("bad"))])
        .await
    {
        Err(Error::Check { constraint, .. }) => {
            assert_eq!(constraint, "account_lines_qty_positive");
        }
        other => panic!("expected Check from the batch, got {other:?}"),
    }
    assert!(!session.is_aborted().await);

    lines
        .insert(&line(7, "a1", 7, Some("after")))
        .await
        .unwrap();
    accounts.insert(&account("a2", "a2@x", 2)).await.unwrap();
    session.commit().await.unwrap();

    assert_eq!(ids(&stored_accounts(&db).await), ["a1", "a2"]);
    let stored = AccountLineRepository::new(&db)
        .find_all(Filter::all())
        .await
        .unwrap();
    assert_eq!(
        stored,
        [
            line(1, "a1", 1, Some("first")),
            line(7, "a1", 7, Some("after"))
        ]
    );
}

/// A generated key and a second unique key: an upsert on `name` whose `code` another row
/// has is refused (on MariaDB by the upsert's guard, elsewhere by the unique index).
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "badges", unique(name))]
struct Badge {
    #[repo(primary_key, auto)]
    id: i64,
    name: String,
    #[repo(unique)]
    code: String,
    points: i64,
}

/// [`Badge`], audited: its upserts run as a group of statements in the session.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "audited_badges", unique(name), audit)]
struct AuditedBadge {
    #[repo(primary_key, auto)]
    id: i64,
    name: String,
    #[repo(unique)]
    code: String,
    points: i64,
}

fn badge(name: &str, code: &str, points: i64) -> Badge {
    Badge {
        id: 0,
        name: name.to_owned(),
        code: code.to_owned(),
        points,
    }
}

/// `(name, code, points)` of every row of `table`, by name, read by plain SQL.
async fn badge_rows(db: &Db, table: &str) -> Vec<(String, String, i64)> {
    let text = format!("SELECT name, code, points FROM {table} ORDER BY name");
    let sql = sqlx::AssertSqlSafe(text.clone());
    if db.postgres_pool().is_some() {
        repo_tests::pg_query_as(db, &text).await
    } else if let Some(pool) = db.mysql_pool() {
        sqlx::query_as(sql).fetch_all(pool).await
    } else {
        sqlx::query_as(sql)
            .fetch_all(db.sqlite_pool().expect("a SQLite pool"))
            .await
    }
    .expect("plain SQL read")
}

#[track_caller]
fn assert_conflict<T: std::fmt::Debug>(result: Result<T, Error>) {
    match result {
        Err(Error::Conflict { .. }) => {}
        other => panic!("expected Conflict, got {other:?}"),
    }
}

async fn refused_upserts_are_conflicts_and_the_session_goes_on(db: Db) {
    db.create_schema::<Badge>().await.unwrap();
    db.create_schema::<AuditedBadge>().await.unwrap();
    let session = db.begin().await.unwrap();
    let repo = BadgeRepository::new(&session);
    repo.insert(&badge("a", "ca", 1)).await.unwrap();
    repo.upsert(&badge("b", "cb", 2)).await.unwrap();

    // A new name with another row's code, and an existing name taking another row's code.
    assert_conflict(repo.upsert(&badge("c", "ca", 3)).await);
    assert!(!session.is_aborted().await);
    assert_conflict(repo.upsert(&badge("a", "cb", 4)).await);
    // Bulk: the clash comes after rows that the same statement writes first.
    let batch = [
        badge("d", "cd", 5),
        badge("e", "cb", 6),
        badge("a", "ca", 7),
    ];
    assert_conflict(repo.bulk_upsert(&batch).await);
    assert_conflict(repo.bulk_upsert_returning(&batch).await);
    assert!(!session.is_aborted().await);

    // The session goes on, and sees its earlier writes.
    repo.upsert(&badge("a", "ca", 10)).await.unwrap();
    repo.bulk_upsert(&[badge("b", "cb", 20), badge("f", "cf", 30)])
        .await
        .unwrap();
    assert_eq!(repo.count(Filter::all()).await.unwrap(), 3);

    // The same in an audited write: the upsert and its log entry are one group.
    let audited = AuditedBadgeRepository::new(&session);
    let entry = |name: &str, code: &str, points| AuditedBadge {
        id: 0,
        name: name.to_owned(),
        code: code.to_owned(),
        points,
    };
    audited.upsert(&entry("a", "ca", 1)).await.unwrap();
    assert_conflict(audited.upsert(&entry("b", "ca", 2)).await);
    assert_conflict(
        audited
            .bulk_upsert(&[entry("c", "cc", 3), entry("d", "ca", 4)])
            .await,
    );
    assert!(!session.is_aborted().await);
    audited.upsert(&entry("e", "ce", 5)).await.unwrap();
    session.commit().await.unwrap();

    let row = |name: &str, code: &str, points| (name.to_owned(), code.to_owned(), points);
    assert_eq!(
        badge_rows(&db, "badges").await,
        [row("a", "ca", 10), row("b", "cb", 20), row("f", "cf", 30)]
    );
    assert_eq!(
        badge_rows(&db, "audited_badges").await,
        [row("a", "ca", 1), row("e", "ce", 5)]
    );
    let logged = repo_core::AuditRepository::new(&db)
        .count(Filter::all())
        .await
        .unwrap();
    assert_eq!(logged, 2, "one entry per kept audited write");
}

/// Writes that succeed, to prove an abort discards them.
async fn write_some(repo: &AccountRepository<'_>) {
    repo.insert(&account("w1", "w1@x", 1)).await.unwrap();
    repo.upsert(&account("w2", "w2@x", 2)).await.unwrap();
    repo.bulk_upsert(&[account("w3", "w3@x", 3), account("w4", "w4@x", 4)])
        .await
        .unwrap();
}

async fn unknown_column_in_a_custom_query_aborts_the_session(db: Db) {
    db.create_schema::<Account>().await.unwrap();
    db.create_schema::<Widget>().await.unwrap();
    let session = db.begin().await.unwrap();
    let accounts = AccountRepository::new(&session);
    write_some(&accounts).await;
    // A conflict first: it must not keep the later abort from discarding everything.
    assert!(
        accounts
            .insert(&account("w1", "w1@x", 1))
            .await
            .unwrap_err()
            .is_conflict()
    );

    let widgets = WidgetRepository::new(&session);
    match widgets
        .fetch_entities_statement(Statement::new("SELECT nope FROM widgets", vec![]))
        .await
    {
        Err(Error::Database(_)) => {}
        other => panic!("expected a database error, got {other:?}"),
    }
    assert!(session.is_aborted().await);
    assert_session_aborted(accounts.insert(&account("w5", "w5@x", 5)).await);
    assert_session_aborted(accounts.find_all(Filter::all()).await);
    assert_session_aborted(widgets.count(Filter::all()).await);
    assert_session_aborted(session.commit().await);

    assert!(stored_accounts(&db).await.is_empty());
}

async fn invalid_custom_write_aborts_the_session(db: Db) {
    db.create_schema::<Account>().await.unwrap();
    let session = db.begin().await.unwrap();
    let accounts = AccountRepository::new(&session);
    write_some(&accounts).await;
    let bad: UpdateStatement = Query::update()
        .table(Account::TABLE)
        .value("no_such_column", 1_i64)
        .and_where(Expr::col("id").eq("w1"))
        .to_owned();
    match accounts.execute(&bad).await {
        Err(Error::Database(_)) => {}
        other => panic!("expected a database error, got {other:?}"),
    }
    assert!(session.is_aborted().await);
    assert_session_aborted(
        accounts
            .update_where(Filter::all(), [Account::BALANCE.set(0_i64)])
            .await,
    );
    assert_session_aborted(session.commit().await);

    assert!(stored_accounts(&db).await.is_empty());
}

async fn bulk_write_failing_for_another_reason_aborts_the_session(db: Db) {
    db.create_schema::<Account>().await.unwrap();
    // No `labels` table: the batch fails, and not on a constraint.
    let session = db.begin().await.unwrap();
    let accounts = AccountRepository::new(&session);
    write_some(&accounts).await;
    let labels = LabelRepository::new(&session);
    let batch = [Label {
        name: "l".into(),
        uses: 1,
        created_at: DateTime::UNIX_EPOCH,
    }];
    match labels.bulk_upsert(&batch).await {
        Err(Error::Database(_)) => {}
        other => panic!("expected a database error, got {other:?}"),
    }
    assert!(session.is_aborted().await);
    assert_session_aborted(accounts.insert(&account("w5", "w5@x", 5)).await);
    assert_session_aborted(accounts.bulk_insert(&[account("w6", "w6@x", 6)]).await);
    assert_session_aborted(session.commit().await);

    assert!(stored_accounts(&db).await.is_empty());
}

/// `SELECT` of every widget column, with `status` replaced by a label the enum does not know.
fn widgets_with_unknown_status() -> Statement {
    let columns: Vec<String> = Widget::COLUMNS
        .iter()
        .map(|c| {
            if c.name == "status" {
                "'no_such_status' AS status".to_owned()
            } else {
                format!("\"{}\"", c.name)
            }
        })
        .collect();
    Statement::new(
        format!("SELECT {} FROM widgets", columns.join(", ")),
        vec![],
    )
}

async fn validation_not_found_and_decode_errors_change_nothing(db: Db) {
    db.create_schema::<Account>().await.unwrap();
    db.create_schema::<Widget>().await.unwrap();
    let session = db.begin().await.unwrap();
    let accounts = AccountRepository::new(&session);
    let widgets = WidgetRepository::new(&session);
    accounts.insert(&account("a1", "a1@x", 1)).await.unwrap();
    widgets.insert(&Widget::new("W-1")).await.unwrap();

    // NotFound: an update, a get.
    assert!(
        accounts
            .update(&account("ghost", "ghost@x", 0))
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(accounts.get("ghost").await.unwrap_err().is_not_found());
    // Validation: rejected before anything is sent.
    assert!(
        accounts
            .update_where(Filter::all(), [])
            .await
            .unwrap_err()
            .is_validation()
    );
    assert!(
        accounts
            .find(Filter::all(), PageRequest::new(0))
            .await
            .unwrap_err()
            .is_validation()
    );
    // Decode: the statement ran, the row cannot be read as a Widget.
    match widgets
        .fetch_entities_statement(widgets_with_unknown_status())
        .await
    {
        Err(Error::Decode { column, reason }) => {
            // Named by position: entities decode their columns by index.
            let position = Widget::column_index("status").unwrap().to_string();
            assert!(column == "status" || column == position, "{column}");
            assert!(reason.contains("no_such_status"), "{reason}");
        }
        other => panic!("expected Decode, got {other:?}"),
    }
    assert!(!session.is_aborted().await);

    accounts.insert(&account("a2", "a2@x", 2)).await.unwrap();
    widgets.insert(&Widget::new("W-2")).await.unwrap();
    session.commit().await.unwrap();

    assert_eq!(ids(&stored_accounts(&db).await), ["a1", "a2"]);
    let skus: Vec<String> = WidgetRepository::new(&db)
        .find_all(Filter::all())
        .await
        .unwrap()
        .into_iter()
        .map(|w| w.sku)
        .collect();
    assert_eq!(skus, ["W-1", "W-2"]);
}

/// Every account's id and balance, in storage order; the row with balance 3 fails (the absolute
/// value of the smallest 64-bit integer overflows on both backends).
fn balances_failing_at_three() -> Statement {
    Statement::new(
        "SELECT id, CASE WHEN balance = 3 \
         THEN abs(balance - balance - 9223372036854775807 - 1) ELSE balance END AS b \
         FROM accounts",
        vec![],
    )
}

async fn failing_row_in_the_middle_of_a_stream_aborts_the_session(db: Db) {
    db.create_schema::<Account>().await.unwrap();
    let session = db.begin().await.unwrap();
    let accounts = AccountRepository::new(&session);
    for balance in 1..=5 {
        let id = format!("s{balance}");
        accounts
            .insert(&account(&id, &format!("{id}@x"), balance))
            .await
            .unwrap();
    }
    let results: Vec<Result<Row, Error>> = Conn::Session(&session)
        .fetch(balances_failing_at_three())
        .collect()
        .await;
    let (rows, failures): (Vec<_>, Vec<_>) = results.iter().partition(|r| r.is_ok());
    assert_eq!(rows.len(), 2, "the rows before the failing one arrive");
    assert_eq!(failures.len(), 1, "then the failure ends the stream");
    assert!(
        matches!(results.last(), Some(Err(Error::Database(_)))),
        "{results:?}"
    );
    assert!(session.is_aborted().await);
    let streamed: Vec<_> = accounts.stream(Filter::all()).collect().await;
    assert_eq!(streamed.len(), 1);
    assert_session_aborted(streamed.into_iter().next().unwrap());
    assert_session_aborted(session.commit().await);

    assert!(stored_accounts(&db).await.is_empty());
}

async fn abandoned_stream_whose_query_fails_never_commits_silently(db: Db) {
    db.create_schema::<Account>().await.unwrap();
    let session = db.begin().await.unwrap();
    let accounts = AccountRepository::new(&session);
    for balance in 1..=5 {
        let id = format!("s{balance}");
        accounts
            .insert(&account(&id, &format!("{id}@x"), balance))
            .await
            .unwrap();
    }
    {
        // Read the first row only, then drop the stream before the failing row is read.
        let mut rows = Conn::Session(&session).fetch(balances_failing_at_three());
        assert!(rows.next().await.unwrap().is_ok());
    }
    if db.backend() == Backend::Sqlite {
        // SQLite computes rows as they are read: the failing row never ran, nothing failed.
        session.commit().await.unwrap();
        assert_eq!(stored_accounts(&db).await.len(), 5);
    } else {
        // PostgreSQL ran the whole query, and its failure aborted the transaction: commit
        // must say so rather than report success for a transaction the server rolled back.
        assert_session_aborted(session.commit().await);
        assert!(stored_accounts(&db).await.is_empty());
    }
}

fn insert_account_returning_id(backend: Backend, account: &Account) -> Statement {
    let insert: InsertStatement = Query::insert()
        .into_table(Account::TABLE)
        .columns(["id", "email", "display_name", "balance"])
        .values_panic([
            Expr::val(account.id.as_str()),
            Expr::val(account.email.as_str()),
            Expr::val(account.name.as_str()),
            Expr::val(account.balance),
        ])
        .returning_col("id")
        .to_owned();
    Statement::build(&insert, backend)
}

async fn constraint_violation_in_a_streamed_write_undoes_only_that_statement(db: Db) {
    db.create_schema::<Account>().await.unwrap();
    let session = db.begin().await.unwrap();
    let accounts = AccountRepository::new(&session);
    accounts.insert(&account("a1", "a1@x", 1)).await.unwrap();
    let conn = Conn::Session(&session);

    let written: Vec<_> = conn
        .fetch(insert_account_returning_id(
            db.backend(),
            &account("a2", "a2@x", 2),
        ))
        .collect()
        .await;
    assert_eq!(written.len(), 1);
    assert!(written[0].is_ok());
    let clash: Vec<_> = conn
        .fetch(insert_account_returning_id(
            db.backend(),
            &account("a1", "again@x", 0),
        ))
        .collect()
        .await;
    assert!(
        matches!(clash.as_slice(), [Err(Error::Conflict { .. })]),
        "{clash:?}"
    );
    assert!(!session.is_aborted().await);

    accounts.insert(&account("a3", "a3@x", 3)).await.unwrap();
    session.commit().await.unwrap();
    assert_eq!(ids(&stored_accounts(&db).await), ["a1", "a2", "a3"]);
}

async fn commit_after_an_abort_fails_and_writes_nothing(db: Db) {
    db.create_schema::<Account>().await.unwrap();
    db.create_schema::<Widget>().await.unwrap();
    AccountRepository::new(&db)
        .insert(&account("before", "before@x", 0))
        .await
        .unwrap();

    let session = db.begin().await.unwrap();
    let accounts = AccountRepository::new(&session);
    let widgets = WidgetRepository::new(&session);
    write_some(&accounts).await;
    widgets.insert(&Widget::new("W-1")).await.unwrap();
    accounts
        .update_where(Account::ID.eq("before"), [Account::BALANCE.set(99_i64)])
        .await
        .unwrap();
    assert!(accounts.delete("w1").await.unwrap());
    let bad = Statement::new("UPDATE accounts SET balance = nope", vec![]);
    assert!(matches!(
        Conn::Session(&session).execute(bad).await,
        Err(Error::Database(_))
    ));
    assert!(session.is_aborted().await);
    // Every kind of call now fails the same way, on every repository of the session.
    assert_session_aborted(accounts.get("w2").await);
    assert_session_aborted(accounts.delete("w2").await);
    assert_session_aborted(accounts.upsert(&account("w9", "w9@x", 9)).await);
    assert_session_aborted(accounts.bulk_upsert(&[account("w9", "w9@x", 9)]).await);
    assert_session_aborted(widgets.find_all(Filter::all()).await);
    assert_session_aborted(session.commit().await);

    let stored = stored_accounts(&db).await;
    assert_eq!(ids(&stored), ["before"]);
    assert_eq!(stored["before"].balance, 0);
    let widgets = WidgetRepository::new(&db);
    assert_eq!(widgets.count(Filter::all()).await.unwrap(), 0);

    // The pool is clean: the next session works.
    let session = db.begin().await.unwrap();
    AccountRepository::new(&session)
        .insert(&account("next", "next@x", 1))
        .await
        .unwrap();
    session.commit().await.unwrap();
    assert_eq!(ids(&stored_accounts(&db).await), ["before", "next"]);
}

async fn dropped_session_writes_nothing(db: Db) {
    db.create_schema::<Account>().await.unwrap();
    {
        let session = db.begin().await.unwrap();
        let accounts = AccountRepository::new(&session);
        write_some(&accounts).await;
        // A caught conflict on the way does not change what a drop means.
        assert!(
            accounts
                .insert(&account("w1", "w1@x", 1))
                .await
                .unwrap_err()
                .is_conflict()
        );
        accounts.insert(&account("w5", "w5@x", 5)).await.unwrap();
    }
    assert!(stored_accounts(&db).await.is_empty());
    {
        // Aborted, then dropped.
        let session = db.begin().await.unwrap();
        let accounts = AccountRepository::new(&session);
        write_some(&accounts).await;
        let bad = Statement::new("SELECT nope FROM accounts", vec![]);
        assert!(Conn::Session(&session).fetch_all(bad).await.is_err());
    }
    assert!(stored_accounts(&db).await.is_empty());

    // After a rollback following a conflict, too, nothing stays.
    let session = db.begin().await.unwrap();
    let accounts = AccountRepository::new(&session);
    write_some(&accounts).await;
    assert!(
        accounts
            .insert(&account("w9", "w1@x", 1))
            .await
            .unwrap_err()
            .is_conflict()
    );
    session.rollback().await.unwrap();
    assert!(stored_accounts(&db).await.is_empty());
}
