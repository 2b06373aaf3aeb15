//! Random sequences of writes inside sessions, checked against an in-memory model of the
//! `accounts` table, on SQLite and PostgreSQL.
//!
//! Each case runs one to four sessions. Every operation's outcome (the stored row, the count,
//! or the error kind: a duplicate primary key or email is a `Conflict`, an update of a missing
//! id is `NotFound`) must be the model's; a conflict changes nothing and the session goes on; a
//! failing batch leaves none of its rows. Each session ends with a commit, a rollback or a
//! drop, and then the table, read on the pool, must equal the model.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use repo_core::prelude::*;
use repo_core::{Error, Session};
use repo_tests::entities::{Account, AccountRepository};

/// Cases per backend.
const CASES: u32 = 2_000;

/// A row as the operations name it: small id and email spaces, so both keys collide often.
#[derive(Debug, Clone, Copy)]
struct Row {
    id: u8,
    email: u8,
    balance: i64,
}

impl Row {
    fn account(self) -> Account {
        Account {
            id: format!("a{}", self.id),
            email: format!("e{}@x", self.email),
            name: format!("n{}.{}", self.id, self.balance),
            balance: self.balance,
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Insert(Row),
    Update(Row),
    Upsert(Row),
    Delete(u8),
    /// `update_where(balance >= at_least, balance = to)`.
    SetBalanceWhere {
        at_least: i64,
        to: i64,
    },
    /// `update_where(id IN ids, email = email)`: a conflict when it gives two rows one email.
    SetEmailWhere {
        ids: Vec<u8>,
        email: u8,
    },
    /// `delete_where(balance < below)`.
    DeleteWhere {
        below: i64,
    },
    BulkUpsert(Vec<Row>),
    /// `find_all` inside the session: it sees the session's own writes.
    Read,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Commit,
    Rollback,
    Drop,
}

#[derive(Debug, Clone)]
struct Plan {
    ops: Vec<Op>,
    end: End,
}

fn row() -> impl Strategy<Value = Row> {
    (0..6_u8, 0..6_u8, 0..10_i64).prop_map(|(id, email, balance)| Row { id, email, balance })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => row().prop_map(Op::Insert),
        2 => row().prop_map(Op::Update),
        2 => row().prop_map(Op::Upsert),
        1 => (0..6_u8).prop_map(Op::Delete),
        1 => (0..10_i64, 0..10_i64).prop_map(|(at_least, to)| Op::SetBalanceWhere { at_least, to }),
        1 => (prop::collection::vec(0..6_u8, 0..3), 0..6_u8)
            .prop_map(|(ids, email)| Op::SetEmailWhere { ids, email }),
        1 => (0..10_i64).prop_map(|below| Op::DeleteWhere { below }),
        2 => prop::collection::vec(row(), 0..5).prop_map(Op::BulkUpsert),
        1 => Just(Op::Read),
    ]
}

fn plan() -> impl Strategy<Value = Plan> {
    let end = prop_oneof![7 => Just(End::Commit), 2 => Just(End::Rollback), 1 => Just(End::Drop)];
    (prop::collection::vec(op(), 1..12), end).prop_map(|(ops, end)| Plan { ops, end })
}

fn case() -> impl Strategy<Value = Vec<Plan>> {
    prop::collection::vec(plan(), 1..4)
}

/// The table as the model holds it, by id.
type Model = BTreeMap<String, Account>;

/// What an operation must return.
#[derive(Debug, PartialEq)]
enum Outcome {
    Row(Account),
    Count(u64),
    Flag(bool),
    Rows(Vec<Account>),
    Conflict,
    NotFound,
}

fn email_owner<'m>(model: &'m Model, email: &str) -> Option<&'m Account> {
    model.values().find(|a| a.email == email)
}

fn model_insert(model: &mut Model, a: Account) -> Outcome {
    if model.contains_key(&a.id) || email_owner(model, &a.email).is_some() {
        return Outcome::Conflict;
    }
    model.insert(a.id.clone(), a.clone());
    Outcome::Row(a)
}

/// Upsert on the conflict key, the email: update the row that has it (its id stays), else
/// insert (a conflict when the id is taken).
fn model_upsert(model: &mut Model, a: Account) -> Outcome {
    if let Some(owner) = email_owner(model, &a.email).map(|o| o.id.clone()) {
        let stored = model.get_mut(&owner).expect("owner exists");
        stored.name = a.name;
        stored.balance = a.balance;
        return Outcome::Row(stored.clone());
    }
    model_insert(model, a)
}

fn apply(model: &mut Model, op: &Op) -> Outcome {
    match op {
        Op::Insert(r) => model_insert(model, r.account()),
        Op::Update(r) => {
            let a = r.account();
            if !model.contains_key(&a.id) {
                Outcome::NotFound
            } else if email_owner(model, &a.email).is_some_and(|o| o.id != a.id) {
                Outcome::Conflict
            } else {
                model.insert(a.id.clone(), a.clone());
                Outcome::Row(a)
            }
        }
        Op::Upsert(r) => model_upsert(model, r.account()),
        Op::Delete(id) => Outcome::Flag(model.remove(&format!("a{id}")).is_some()),
        Op::SetBalanceWhere { at_least, to } => {
            let mut n = 0;
            for a in model.values_mut().filter(|a| a.balance >= *at_least) {
                a.balance = *to;
                n += 1;
            }
            Outcome::Count(n)
        }
        Op::SetEmailWhere { ids, email } => {
            let ids: Vec<String> = ids.iter().map(|id| format!("a{id}")).collect();
            let email = format!("e{email}@x");
            let matched: Vec<String> = model
                .keys()
                .filter(|id| ids.contains(id))
                .cloned()
                .collect();
            match matched.as_slice() {
                [] => Outcome::Count(0),
                [id] => {
                    if email_owner(model, &email).is_some_and(|o| &o.id != id) {
                        Outcome::Conflict
                    } else {
                        model.get_mut(id).expect("matched").email = email;
                        Outcome::Count(1)
                    }
                }
                _ => Outcome::Conflict,
            }
        }
        Op::DeleteWhere { below } => {
            let before = model.len();
            model.retain(|_, a| a.balance >= *below);
            Outcome::Count((before - model.len()) as u64)
        }
        Op::BulkUpsert(rows) => {
            // One email once, the last row that has it, in batch order; then row by row,
            // all or nothing.
            let batch: Vec<Account> = rows
                .iter()
                .enumerate()
                .filter(|(i, r)| !rows[i + 1..].iter().any(|later| later.email == r.email))
                .map(|(_, r)| r.account())
                .collect();
            let mut working = model.clone();
            for a in &batch {
                if model_upsert(&mut working, a.clone()) == Outcome::Conflict {
                    return Outcome::Conflict;
                }
            }
            *model = working;
            Outcome::Count(batch.len() as u64)
        }
        Op::Read => Outcome::Rows(model.values().cloned().collect()),
    }
}

fn sorted(mut rows: Vec<Account>) -> Vec<Account> {
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    rows
}

/// What the repository returned, as an [`Outcome`]; any other error is reported as is.
fn outcome<T>(result: Result<T, Error>, ok: impl FnOnce(T) -> Outcome) -> Result<Outcome, Error> {
    match result {
        Ok(value) => Ok(ok(value)),
        Err(error) if error.is_conflict() => Ok(Outcome::Conflict),
        Err(error) if error.is_not_found() => Ok(Outcome::NotFound),
        Err(error) => Err(error),
    }
}

async fn run(repo: &AccountRepository<'_>, op: &Op) -> Result<Outcome, Error> {
    match op {
        Op::Insert(r) => outcome(repo.insert(&r.account()).await, Outcome::Row),
        Op::Update(r) => outcome(repo.update(&r.account()).await, Outcome::Row),
        Op::Upsert(r) => outcome(repo.upsert(&r.account()).await, Outcome::Row),
        Op::Delete(id) => outcome(repo.delete(format!("a{id}")).await, Outcome::Flag),
        Op::SetBalanceWhere { at_least, to } => outcome(
            repo.update_where(Account::BALANCE.gte(*at_least), [Account::BALANCE.set(*to)])
                .await,
            Outcome::Count,
        ),
        Op::SetEmailWhere { ids, email } => outcome(
            repo.update_where(
                Account::ID.is_in(ids.iter().map(|id| format!("a{id}"))),
                [Account::EMAIL.set(format!("e{email}@x"))],
            )
            .await,
            Outcome::Count,
        ),
        Op::DeleteWhere { below } => outcome(
            repo.delete_where(Account::BALANCE.lt(*below)).await,
            Outcome::Count,
        ),
        Op::BulkUpsert(rows) => {
            let batch: Vec<Account> = rows.iter().map(|r| r.account()).collect();
            outcome(repo.bulk_upsert(&batch).await, Outcome::Count)
        }
        Op::Read => outcome(repo.find_all(Filter::all()).await, |rows| {
            Outcome::Rows(sorted(rows))
        }),
    }
}

/// What the cases exercised, and how many disagreed with the model.
#[derive(Debug, Default)]
struct Stats {
    cases: u64,
    sessions: u64,
    ops: u64,
    conflicts: u64,
    not_found: u64,
    failed_batches: u64,
    commits: u64,
    rollbacks: u64,
    drops: u64,
    divergences: u64,
}

async fn run_case(db: &Db, plans: &[Plan], stats: &RefCell<Stats>) -> Result<(), TestCaseError> {
    stats.borrow_mut().cases += 1;
    let result = check_case(db, plans, stats).await;
    if result.is_err() {
        stats.borrow_mut().divergences += 1;
    }
    result
}

async fn check_case(db: &Db, plans: &[Plan], stats: &RefCell<Stats>) -> Result<(), TestCaseError> {
    let pool = AccountRepository::new(db);
    pool.delete_where(Filter::all())
        .await
        .map_err(|e| TestCaseError::fail(format!("reset: {e}")))?;
    let mut committed = Model::new();
    for (s, plan) in plans.iter().enumerate() {
        let session: Session = db
            .begin()
            .await
            .map_err(|e| TestCaseError::fail(format!("begin: {e}")))?;
        let repo = AccountRepository::new(&session);
        let mut working = committed.clone();
        for (i, op) in plan.ops.iter().enumerate() {
            let want = apply(&mut working, op);
            let got = run(&repo, op).await.map_err(|e| {
                TestCaseError::fail(format!("session {s}, op {i} {op:?}: unexpected error {e}"))
            })?;
            prop_assert_eq!(&got, &want, "session {}, op {} {:?}", s, i, op);
            let mut stats = stats.borrow_mut();
            stats.ops += 1;
            match (&got, op) {
                (Outcome::Conflict, Op::BulkUpsert(_)) => stats.failed_batches += 1,
                (Outcome::Conflict, _) => stats.conflicts += 1,
                (Outcome::NotFound, _) => stats.not_found += 1,
                _ => {}
            }
        }
        prop_assert!(!session.is_aborted().await, "session {} aborted", s);
        match plan.end {
            End::Commit => {
                session
                    .commit()
                    .await
                    .map_err(|e| TestCaseError::fail(format!("commit {s}: {e}")))?;
                committed = working;
                stats.borrow_mut().commits += 1;
            }
            End::Rollback => {
                session
                    .rollback()
                    .await
                    .map_err(|e| TestCaseError::fail(format!("rollback {s}: {e}")))?;
                stats.borrow_mut().rollbacks += 1;
            }
            End::Drop => {
                drop(session);
                stats.borrow_mut().drops += 1;
            }
        }
        stats.borrow_mut().sessions += 1;
        let stored = pool
            .find_all(Filter::all())
            .await
            .map_err(|e| TestCaseError::fail(format!("read back: {e}")))?;
        let want: Vec<Account> = committed.values().cloned().collect();
        prop_assert_eq!(
            sorted(stored),
            want,
            "table after session {} ({:?})",
            s,
            plan.end
        );
    }
    Ok(())
}

fn check_backend(
    name: &str,
    connect: fn(&'static str) -> futures_util::future::BoxFuture<'static, Db>,
) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let db = runtime.block_on(async {
        let db = connect("session_model").await;
        db.create_schema::<Account>().await.expect("accounts table");
        db
    });
    let stats = RefCell::new(Stats::default());
    let started = Instant::now();
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&case(), |plans| {
        runtime.block_on(run_case(&db, &plans, &stats))
    });
    let elapsed = started.elapsed();
    let stats = stats.into_inner();
    let mut report = String::new();
    let _ = write!(
        report,
        "{name}: {} cases ({} passing runs required), {} sessions ({} commits, {} rollbacks, \
         {} drops), {} operations: {} conflicts, {} not found, {} failed batches; \
         divergences from the model: {}; {:.1} s",
        stats.cases,
        CASES,
        stats.sessions,
        stats.commits,
        stats.rollbacks,
        stats.drops,
        stats.ops,
        stats.conflicts,
        stats.not_found,
        stats.failed_batches,
        stats.divergences,
        elapsed.as_secs_f64(),
    );
    println!("{report}");
    if let Err(failure) = result {
        panic!("{report}\n{failure}");
    }
    assert_eq!(stats.divergences, 0);
    assert!(stats.cases >= u64::from(CASES));
    assert!(stats.conflicts > 0 && stats.not_found > 0 && stats.failed_batches > 0);
}

#[test]
fn sqlite_sessions_match_the_model() {
    check_backend("sqlite", |name| Box::pin(repo_tests::sqlite(name)));
}

/// A fresh schema as every PostgreSQL test gets, on connections that commit without waiting
/// for the WAL flush: visibility and atomicity are what the model checks, and the thousands of
/// commits would otherwise each wait for the disk.
async fn postgres_without_commit_flush(name: &'static str) -> Db {
    repo_tests::postgres(name).await.close().await;
    let url = repo_tests::postgres_url();
    let separator = if url.contains('?') { '&' } else { '?' };
    Db::connect(&format!(
        "{url}{separator}options=-c%20search_path%3Dt_{name}%20-c%20synchronous_commit%3Doff"
    ))
    .await
    .expect("PostgreSQL")
}

#[test]
fn postgres_sessions_match_the_model() {
    check_backend("postgres", |name| {
        Box::pin(postgres_without_commit_flush(name))
    });
}

#[test]
fn mysql_sessions_match_the_model() {
    check_backend("mysql", |name| Box::pin(repo_tests::mysql(name)));
}
