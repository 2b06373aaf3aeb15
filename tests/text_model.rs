//! Text compares byte by byte on every backend: random operations over values that differ
//! only by trailing spaces or case (`"k0"`, `"k0 "`, `"k0  "`, `""`, `" "`, `"K0"`, …),
//! checked against an in-memory model, on SQLite, PostgreSQL and MariaDB.
//!
//! `name` is a unique key (the upsert conflict key; `VARCHAR(255)` on MariaDB) and `tag` plain
//! text (`LONGTEXT`). Two values are the same key, and an `eq` matches, only when their bytes
//! are equal, so `insert` of `"k0 "` beside `"k0"` succeeds and `NAME.eq("")` never matches
//! `" "`. Every operation's outcome (the stored row, a count, the rows found, or a `Conflict`)
//! must be the model's: `insert`, `upsert`, `bulk_insert`, `bulk_upsert`, and `count`,
//! `find_all`, `update_where` and `delete_where` under `eq`, `ne`, `is_in` and `not_in` (short
//! lists and long ones, which travel as one parameter), `like`, `not_like` and `ilike`.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::Instant;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use repo_core::prelude::*;
use repo_core::{Column, Error};

/// Cases per backend.
const CASES: u32 = 300;

/// The values of both columns: equal but for trailing spaces, leading spaces or case.
const TEXTS: [&str; 11] = [
    "", " ", "  ", "k0", "k0 ", "k0  ", "K0", "K0 ", " k0", "k1", "k1 ",
];

/// `like` patterns: trailing spaces and wildcards next to them.
const PATTERNS: [&str; 14] = [
    "", " ", "k0", "k0 ", "k0%", "k0_", "k0 %", "%", "_", "% ", "%0 ", "_0", " %", "K0%",
];

/// Values a long list adds, so that it travels as one parameter (over 256 values); none is
/// ever stored.
const LONG_LIST_FILLER: usize = 300;

#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "text_keys", unique(name))]
struct TextKey {
    #[repo(primary_key, auto)]
    id: i64,
    name: String,
    tag: String,
    n: i64,
}

#[derive(Debug, Clone, Copy)]
enum Col {
    Name,
    Tag,
}

impl Col {
    fn column(self) -> Column<TextKey, String> {
        match self {
            Self::Name => TextKey::NAME,
            Self::Tag => TextKey::TAG,
        }
    }

    fn of(self, row: &Stored) -> &str {
        match self {
            Self::Name => &row.0,
            Self::Tag => &row.1,
        }
    }
}

/// A filter, with indexes into [`TEXTS`] and [`PATTERNS`].
#[derive(Debug, Clone)]
enum Cond {
    Eq(Col, usize),
    Ne(Col, usize),
    In(Col, Vec<usize>, bool),
    NotIn(Col, Vec<usize>, bool),
    Like(Col, usize),
    NotLike(Col, usize),
    Ilike(Col, usize),
}

/// A row as the operations name it: indexes into [`TEXTS`].
#[derive(Debug, Clone, Copy)]
struct Row {
    name: usize,
    tag: usize,
    n: i64,
}

impl Row {
    fn entity(self) -> TextKey {
        TextKey {
            id: 0,
            name: TEXTS[self.name].to_owned(),
            tag: TEXTS[self.tag].to_owned(),
            n: self.n,
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Insert(Row),
    Upsert(Row),
    BulkInsert(Vec<Row>),
    BulkUpsert(Vec<Row>),
    Count(Cond),
    Find(Cond),
    /// `update_where(cond, tag = TEXTS[i])`.
    SetTag(Cond, usize),
    /// `update_where(cond, name = TEXTS[i])`: a conflict when two rows would share it.
    SetName(Cond, usize),
    Delete(Cond),
}

fn col() -> impl Strategy<Value = Col> {
    prop_oneof![3 => Just(Col::Name), 1 => Just(Col::Tag)]
}

fn text() -> impl Strategy<Value = usize> {
    0..TEXTS.len()
}

fn cond() -> impl Strategy<Value = Cond> {
    let list = || prop::collection::vec(text(), 0..4);
    prop_oneof![
        4 => (col(), text()).prop_map(|(c, t)| Cond::Eq(c, t)),
        2 => (col(), text()).prop_map(|(c, t)| Cond::Ne(c, t)),
        2 => (col(), list(), any::<bool>()).prop_map(|(c, l, long)| Cond::In(c, l, long)),
        1 => (col(), list(), any::<bool>()).prop_map(|(c, l, long)| Cond::NotIn(c, l, long)),
        2 => (col(), 0..PATTERNS.len()).prop_map(|(c, p)| Cond::Like(c, p)),
        1 => (col(), 0..PATTERNS.len()).prop_map(|(c, p)| Cond::NotLike(c, p)),
        1 => (col(), 0..PATTERNS.len()).prop_map(|(c, p)| Cond::Ilike(c, p)),
    ]
}

fn row() -> impl Strategy<Value = Row> {
    (text(), text(), 0..10_i64).prop_map(|(name, tag, n)| Row { name, tag, n })
}

fn op() -> impl Strategy<Value = Op> {
    let rows = || prop::collection::vec(row(), 0..5);
    prop_oneof![
        4 => row().prop_map(Op::Insert),
        3 => row().prop_map(Op::Upsert),
        1 => rows().prop_map(Op::BulkInsert),
        2 => rows().prop_map(Op::BulkUpsert),
        3 => cond().prop_map(Op::Count),
        2 => cond().prop_map(Op::Find),
        1 => (cond(), text()).prop_map(|(c, t)| Op::SetTag(c, t)),
        1 => (cond(), text()).prop_map(|(c, t)| Op::SetName(c, t)),
        1 => cond().prop_map(Op::Delete),
    ]
}

fn case() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(op(), 1..16)
}

/// A stored row as the test compares it: name, tag, n (the generated id differs by backend).
type Stored = (String, String, i64);

/// The table as the model holds it, by name (byte order).
type Model = BTreeMap<String, Stored>;

/// What an operation must return.
#[derive(Debug, PartialEq)]
enum Outcome {
    Row(Stored),
    Count(u64),
    Rows(Vec<Stored>),
    Conflict,
}

fn stored(e: &TextKey) -> Stored {
    (e.name.clone(), e.tag.clone(), e.n)
}

/// `value LIKE pattern` with `%` and `_` as wildcards, comparing characters exactly.
fn like(value: &str, pattern: &str) -> bool {
    fn matches(value: &[char], pattern: &[char]) -> bool {
        match pattern.split_first() {
            None => value.is_empty(),
            Some(('%', rest)) => (0..=value.len()).any(|i| matches(&value[i..], rest)),
            Some(('_', rest)) => !value.is_empty() && matches(&value[1..], rest),
            Some((c, rest)) => value.first() == Some(c) && matches(&value[1..], rest),
        }
    }
    let value: Vec<char> = value.chars().collect();
    let pattern: Vec<char> = pattern.chars().collect();
    matches(&value, &pattern)
}

fn holds(cond: &Cond, row: &Stored) -> bool {
    match cond {
        Cond::Eq(c, t) => c.of(row) == TEXTS[*t],
        Cond::Ne(c, t) => c.of(row) != TEXTS[*t],
        Cond::In(c, list, _) => list.iter().any(|t| c.of(row) == TEXTS[*t]),
        Cond::NotIn(c, list, _) => !list.iter().any(|t| c.of(row) == TEXTS[*t]),
        Cond::Like(c, p) => like(c.of(row), PATTERNS[*p]),
        Cond::NotLike(c, p) => !like(c.of(row), PATTERNS[*p]),
        Cond::Ilike(c, p) => like(
            &c.of(row).to_ascii_lowercase(),
            &PATTERNS[*p].to_ascii_lowercase(),
        ),
    }
}

fn list_values(list: &[usize], long: bool) -> Vec<String> {
    let mut values: Vec<String> = list.iter().map(|t| TEXTS[*t].to_owned()).collect();
    if long {
        values.extend((0..LONG_LIST_FILLER).map(|i| format!("filler {i}")));
    }
    values
}

fn filter(cond: &Cond) -> Filter<TextKey> {
    match cond {
        Cond::Eq(c, t) => c.column().eq(TEXTS[*t]),
        Cond::Ne(c, t) => c.column().ne(TEXTS[*t]),
        Cond::In(c, list, long) => c.column().is_in(list_values(list, *long)),
        Cond::NotIn(c, list, long) => c.column().not_in(list_values(list, *long)),
        Cond::Like(c, p) => c.column().like(PATTERNS[*p]),
        Cond::NotLike(c, p) => c.column().not_like(PATTERNS[*p]),
        Cond::Ilike(c, p) => c.column().ilike(PATTERNS[*p]),
    }
}

fn model_insert(model: &mut Model, row: Stored) -> Outcome {
    if model.contains_key(&row.0) {
        return Outcome::Conflict;
    }
    model.insert(row.0.clone(), row.clone());
    Outcome::Row(row)
}

fn model_upsert(model: &mut Model, row: Stored) -> Outcome {
    model.insert(row.0.clone(), row.clone());
    Outcome::Row(row)
}

fn matching(model: &Model, cond: &Cond) -> Vec<String> {
    model
        .values()
        .filter(|row| holds(cond, row))
        .map(|row| row.0.clone())
        .collect()
}

fn apply(model: &mut Model, op: &Op) -> Outcome {
    match op {
        Op::Insert(r) => model_insert(model, stored(&r.entity())),
        Op::Upsert(r) => model_upsert(model, stored(&r.entity())),
        Op::BulkInsert(rows) => {
            let mut working = model.clone();
            for r in rows {
                if model_insert(&mut working, stored(&r.entity())) == Outcome::Conflict {
                    return Outcome::Conflict;
                }
            }
            *model = working;
            Outcome::Count(rows.len() as u64)
        }
        Op::BulkUpsert(rows) => {
            // Rows sharing a name collapse to the last one given: one write per name.
            let mut names = std::collections::BTreeSet::new();
            for r in rows {
                names.insert(TEXTS[r.name]);
                model_upsert(model, stored(&r.entity()));
            }
            Outcome::Count(names.len() as u64)
        }
        Op::Count(cond) => Outcome::Count(matching(model, cond).len() as u64),
        Op::Find(cond) => Outcome::Rows(
            model
                .values()
                .filter(|row| holds(cond, row))
                .cloned()
                .collect(),
        ),
        Op::SetTag(cond, t) => {
            let names = matching(model, cond);
            for name in &names {
                TEXTS[*t].clone_into(&mut model.get_mut(name).expect("matched").1);
            }
            Outcome::Count(names.len() as u64)
        }
        Op::SetName(cond, t) => {
            let to = TEXTS[*t];
            match matching(model, cond).as_slice() {
                [] => Outcome::Count(0),
                [name] if name == to => Outcome::Count(1),
                [_] if model.contains_key(to) => Outcome::Conflict,
                [name] => {
                    let mut row = model.remove(name).expect("matched");
                    to.clone_into(&mut row.0);
                    model.insert(to.to_owned(), row);
                    Outcome::Count(1)
                }
                _ => Outcome::Conflict,
            }
        }
        Op::Delete(cond) => {
            let names = matching(model, cond);
            for name in &names {
                model.remove(name);
            }
            Outcome::Count(names.len() as u64)
        }
    }
}

/// What the repository returned, as an [`Outcome`]; any other error is reported as is.
fn outcome<T>(result: Result<T, Error>, ok: impl FnOnce(T) -> Outcome) -> Result<Outcome, Error> {
    match result {
        Ok(value) => Ok(ok(value)),
        Err(error) if error.is_conflict() => Ok(Outcome::Conflict),
        Err(error) => Err(error),
    }
}

fn sorted(rows: &[TextKey]) -> Vec<Stored> {
    let mut rows: Vec<Stored> = rows.iter().map(stored).collect();
    rows.sort();
    rows
}

async fn run(repo: &TextKeyRepository<'_>, op: &Op) -> Result<Outcome, Error> {
    let entities = |rows: &[Row]| rows.iter().map(|r| r.entity()).collect::<Vec<_>>();
    match op {
        Op::Insert(r) => outcome(repo.insert(&r.entity()).await, |e| Outcome::Row(stored(&e))),
        Op::Upsert(r) => outcome(repo.upsert(&r.entity()).await, |e| Outcome::Row(stored(&e))),
        Op::BulkInsert(rows) => outcome(repo.bulk_insert(&entities(rows)).await, Outcome::Count),
        Op::BulkUpsert(rows) => outcome(repo.bulk_upsert(&entities(rows)).await, Outcome::Count),
        Op::Count(cond) => outcome(repo.count(filter(cond)).await, Outcome::Count),
        Op::Find(cond) => outcome(repo.find_all(filter(cond)).await, |rows| {
            Outcome::Rows(sorted(&rows))
        }),
        Op::SetTag(cond, t) => outcome(
            repo.update_where(filter(cond), [TextKey::TAG.set(TEXTS[*t])])
                .await,
            Outcome::Count,
        ),
        Op::SetName(cond, t) => outcome(
            repo.update_where(filter(cond), [TextKey::NAME.set(TEXTS[*t])])
                .await,
            Outcome::Count,
        ),
        Op::Delete(cond) => outcome(repo.delete_where(filter(cond)).await, Outcome::Count),
    }
}

/// What the cases exercised.
#[derive(Debug, Default)]
struct Stats {
    cases: u64,
    ops: u64,
    conflicts: u64,
    /// Reads and filtered writes that matched at least one row.
    matched: u64,
    divergences: u64,
}

async fn check_case(db: &Db, ops: &[Op], stats: &RefCell<Stats>) -> Result<(), TestCaseError> {
    let repo = TextKeyRepository::new(db);
    repo.delete_where(Filter::all())
        .await
        .map_err(|e| TestCaseError::fail(format!("reset: {e}")))?;
    let mut model = Model::new();
    for (i, op) in ops.iter().enumerate() {
        let want = apply(&mut model, op);
        let got = run(&repo, op)
            .await
            .map_err(|e| TestCaseError::fail(format!("op {i} {op:?}: unexpected error {e}")))?;
        prop_assert_eq!(&got, &want, "op {} {:?}", i, op);
        let mut stats = stats.borrow_mut();
        stats.ops += 1;
        match got {
            Outcome::Conflict => stats.conflicts += 1,
            Outcome::Count(n) if n > 0 && !matches!(op, Op::BulkInsert(_) | Op::BulkUpsert(_)) => {
                stats.matched += 1;
            }
            Outcome::Rows(rows) if !rows.is_empty() => stats.matched += 1,
            _ => {}
        }
    }
    let stored = repo
        .find_all(Filter::all())
        .await
        .map_err(|e| TestCaseError::fail(format!("read back: {e}")))?;
    let want: Vec<Stored> = model.into_values().collect();
    prop_assert_eq!(sorted(&stored), want, "table at the end");
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
        let db = connect("text_model").await;
        db.create_schema::<TextKey>()
            .await
            .expect("text_keys table");
        db
    });
    let stats = RefCell::new(Stats::default());
    let started = Instant::now();
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&case(), |ops| {
        stats.borrow_mut().cases += 1;
        let result = runtime.block_on(check_case(&db, &ops, &stats));
        if result.is_err() {
            stats.borrow_mut().divergences += 1;
        }
        result
    });
    let stats = stats.into_inner();
    let report = format!(
        "{name}: {} cases, {} operations: {} conflicts, {} matching reads or writes; \
         divergences from the model: {}; {:.1} s",
        stats.cases,
        stats.ops,
        stats.conflicts,
        stats.matched,
        stats.divergences,
        started.elapsed().as_secs_f64(),
    );
    println!("{report}");
    if let Err(failure) = result {
        panic!("{report}\n{failure}");
    }
    assert_eq!(stats.divergences, 0);
    assert!(stats.cases >= u64::from(CASES));
    assert!(stats.conflicts > 0 && stats.matched > 0);
}

#[test]
fn sqlite_text_matches_the_model() {
    check_backend("sqlite", |name| Box::pin(repo_tests::sqlite(name)));
}

#[test]
fn postgres_text_matches_the_model() {
    check_backend("postgres", |name| Box::pin(repo_tests::postgres(name)));
}

#[test]
fn mysql_text_matches_the_model() {
    check_backend("mysql", |name| Box::pin(repo_tests::mysql(name)));
}
