//! Random interleavings of writes and reads over two `Db` instances sharing Redis (each with
//! its process tier in front), with sessions that commit and roll back, on SQLite, PostgreSQL
//! and MariaDB.
//!
//! After every operation each instance's cached reads are compared with what a `Db` without a
//! cache reads: the committed state. The instance that wrote must answer it at once; the other
//! one within the bound the README states (its process tier hears of the write through Redis),
//! and never answers an older state after it once answered the new one.

use std::cell::RefCell;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use repo_core::cache::CacheOptions;
use repo_core::prelude::*;
use repo_core::{Backend, DbOptions, Error};

/// Cases per backend.
const CASES: u32 = 1_000;

/// How long the other instance may answer the state before a write: the README's bound.
const BOUND: Duration = Duration::from_millis(500);

#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(
    table = "model_items",
    unique(sku),
    cache(capacity = 200, ttl_secs = 60)
)]
pub struct Item {
    #[repo(primary_key, auto)]
    pub id: i64,
    pub sku: String,
    pub qty: i32,
    pub ratio: f64,
}

fn new_item(sku: u8, qty: i32) -> NewItem {
    NewItem {
        sku: format!("s{sku}"),
        qty,
        ratio: f64::from(qty) / 7.0,
    }
}

#[derive(Debug, Clone)]
enum Write {
    Insert { sku: u8, qty: i32 },
    Update { sku: u8, qty: i32 },
    Upsert { sku: u8, qty: i32 },
    Delete { sku: u8 },
    UpdateWhere { below: i32, qty: i32 },
    DeleteWhere { above: i32 },
    BulkUpsert(Vec<(u8, i32)>),
}

#[derive(Debug, Clone, Copy)]
enum End {
    Commit,
    Rollback,
}

#[derive(Debug, Clone)]
enum Op {
    /// A write on the pool of instance `on`.
    Write { on: usize, write: Write },
    /// Writes in a session of instance `on`, reads inside it, and its end.
    Session {
        on: usize,
        writes: Vec<Write>,
        end: End,
    },
    /// Reads on instance `on`, each kind of cached read.
    Read { on: usize },
}

fn write() -> impl Strategy<Value = Write> {
    let sku = 0..5_u8;
    let qty = 0..6_i32;
    prop_oneof![
        3 => (sku.clone(), qty.clone()).prop_map(|(sku, qty)| Write::Insert { sku, qty }),
        3 => (sku.clone(), qty.clone()).prop_map(|(sku, qty)| Write::Update { sku, qty }),
        2 => (sku.clone(), qty.clone()).prop_map(|(sku, qty)| Write::Upsert { sku, qty }),
        1 => sku.clone().prop_map(|sku| Write::Delete { sku }),
        1 => (qty.clone(), qty.clone()).prop_map(|(below, qty)| Write::UpdateWhere { below, qty }),
        1 => qty.clone().prop_map(|above| Write::DeleteWhere { above }),
        1 => prop::collection::vec((sku, qty), 1..4).prop_map(Write::BulkUpsert),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let end = prop_oneof![Just(End::Commit), Just(End::Rollback)];
    prop_oneof![
        4 => (0..2_usize, write()).prop_map(|(on, write)| Op::Write { on, write }),
        2 => (0..2_usize, prop::collection::vec(write(), 1..4), end)
            .prop_map(|(on, writes, end)| Op::Session { on, writes, end }),
        2 => (0..2_usize).prop_map(|on| Op::Read { on }),
    ]
}

fn case() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(op(), 1..7)
}

#[derive(Default)]
struct Stats {
    cases: u64,
    writes: u64,
    sessions: u64,
    rollbacks: u64,
    refused: u64,
    late: u64,
    slowest: Duration,
}

/// Run `write` through `items`; a refused write (a duplicate sku, a missing row) is fine: it
/// changes nothing, which the reads then check.
async fn run(items: &ItemRepository<'_>, write: &Write) -> Result<bool, TestCaseError> {
    let outcome = match write {
        Write::Insert { sku, qty } => items.insert_new(new_item(*sku, *qty)).await.map(drop),
        Write::Update { sku, qty } => match items.find_one(Item::SKU.eq(format!("s{sku}"))).await {
            Ok(Some(found)) => items.update(&Item { qty: *qty, ..found }).await.map(drop),
            Ok(None) => return Ok(false),
            Err(error) => Err(error),
        },
        Write::Upsert { sku, qty } => items
            .upsert(&Item::from_new(new_item(*sku, *qty)))
            .await
            .map(drop),
        Write::Delete { sku } => match items.find_one(Item::SKU.eq(format!("s{sku}"))).await {
            Ok(Some(found)) => items.delete(found.id).await.map(drop),
            Ok(None) => return Ok(false),
            Err(error) => Err(error),
        },
        Write::UpdateWhere { below, qty } => items
            .update_where(Item::QTY.lt(*below), [Item::QTY.set(*qty)])
            .await
            .map(drop),
        Write::DeleteWhere { above } => items.delete_where(Item::QTY.gt(*above)).await.map(drop),
        Write::BulkUpsert(rows) => {
            let mut rows: Vec<Item> = rows
                .iter()
                .map(|(sku, qty)| Item::from_new(new_item(*sku, *qty)))
                .collect();
            rows.sort_by(|a, b| a.sku.cmp(&b.sku));
            rows.dedup_by(|a, b| a.sku == b.sku);
            items.bulk_upsert(&rows).await.map(drop)
        }
    };
    match outcome {
        Ok(()) => Ok(true),
        Err(Error::Conflict { .. } | Error::NotFound { .. }) => Ok(false),
        Err(error) => Err(TestCaseError::fail(format!("{write:?}: {error}"))),
    }
}

/// What the reads answer: every row, a row by key, one by sku, a count, a page.
#[derive(Debug, PartialEq)]
struct Answers {
    all: Vec<Item>,
    by_key: Vec<Option<Item>>,
    by_sku: Option<Item>,
    count: u64,
    page: Vec<Item>,
}

async fn answers(items: &ItemRepository<'_>, keys: &[i64]) -> repo_core::Result<Answers> {
    let mut all = items.find_all(Filter::all()).await?;
    all.sort_by_key(|i| i.id);
    let mut by_key = Vec::new();
    for key in keys {
        by_key.push(items.find_by_id(*key).await?);
    }
    Ok(Answers {
        all,
        by_key,
        by_sku: items.find_one(Item::SKU.eq("s1")).await?,
        count: items.count(Item::QTY.gte(3)).await?,
        page: items
            .find(
                Filter::all(),
                PageRequest::new(2)
                    .order_by(Item::QTY.desc())
                    .order_by(Item::ID.asc()),
            )
            .await?
            .items,
    })
}

struct World {
    instances: [Db; 2],
    plain: Db,
}

impl World {
    async fn truth(&self, keys: &[i64]) -> Answers {
        answers(&ItemRepository::new(&self.plain), keys)
            .await
            .expect("reads without a cache")
    }

    /// Instance `wrote` answers the committed state at once, the other within [`BOUND`].
    async fn check(
        &self,
        wrote: usize,
        what: &str,
        stats: &RefCell<Stats>,
    ) -> Result<(), TestCaseError> {
        let mut keys: Vec<i64> = ItemRepository::new(&self.plain)
            .find_all(Filter::all())
            .await
            .expect("rows")
            .iter()
            .map(|i| i.id)
            .collect();
        keys.push(keys.iter().max().copied().unwrap_or(0) + 1);
        let truth = self.truth(&keys).await;
        let mine = answers(&ItemRepository::new(&self.instances[wrote]), &keys)
            .await
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&mine, &truth, "the instance that wrote, after {}", what);
        let other = &self.instances[1 - wrote];
        let started = Instant::now();
        loop {
            let theirs = answers(&ItemRepository::new(other), &keys)
                .await
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            if theirs == truth {
                let waited = started.elapsed();
                let mut stats = stats.borrow_mut();
                if waited > Duration::from_millis(1) {
                    stats.late += 1;
                }
                stats.slowest = stats.slowest.max(waited);
                break;
            }
            prop_assert!(
                started.elapsed() < BOUND,
                "the other instance, {:?} after {}: {:?}, the database: {:?}",
                started.elapsed(),
                what,
                theirs,
                truth
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // Once it answered the new state, it never answers an older one.
        let again = answers(&ItemRepository::new(other), &keys)
            .await
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&again, &truth, "the other instance again, after {}", what);
        Ok(())
    }
}

async fn run_case(world: &World, ops: &[Op], stats: &RefCell<Stats>) -> Result<(), TestCaseError> {
    stats.borrow_mut().cases += 1;
    ItemRepository::new(&world.instances[0])
        .delete_where(Filter::all())
        .await
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    world.check(0, "emptying the table", stats).await?;
    for op in ops {
        match op {
            Op::Write { on, write } => {
                stats.borrow_mut().writes +=
                    u64::from(run(&ItemRepository::new(&world.instances[*on]), write).await?);
                world.check(*on, &format!("{write:?}"), stats).await?;
            }
            Op::Read { on } => world.check(*on, "reads", stats).await?,
            Op::Session { on, writes, end } => {
                let db = &world.instances[*on];
                let session = db
                    .begin()
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                let inside = ItemRepository::new(&session);
                for write in writes {
                    if !run(&inside, write).await? {
                        stats.borrow_mut().refused += 1;
                    }
                    // The session reads its own writes, cached or not.
                    let mut seen = inside
                        .find_all(Filter::all())
                        .await
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    seen.sort_by_key(|i| i.id);
                    let mut again = inside
                        .find_all(Filter::all())
                        .await
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    again.sort_by_key(|i| i.id);
                    prop_assert_eq!(seen, again, "a session's reads of its own writes");
                }
                // Meanwhile the pool reads the committed state (on SQLite the session holds
                // the only writer, and readers still see the last commit).
                world
                    .check(*on, "a write in an open session", stats)
                    .await?;
                stats.borrow_mut().sessions += 1;
                match end {
                    End::Commit => session
                        .commit()
                        .await
                        .map_err(|e| TestCaseError::fail(e.to_string()))?,
                    End::Rollback => {
                        stats.borrow_mut().rollbacks += 1;
                        session
                            .rollback()
                            .await
                            .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    }
                }
                world
                    .check(*on, &format!("a session's {end:?}"), stats)
                    .await?;
            }
        }
    }
    Ok(())
}

fn check_backend(backend: Backend) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let world = runtime.block_on(async {
        let mut url = repo_tests::fresh_url(backend, "cache_model").await;
        if backend == Backend::Postgres {
            // Visibility is what is checked; thousands of commits need not wait for the disk.
            url.push_str("%20-c%20synchronous_commit%3Doff");
        }
        let redis = repo_tests::redis_url().await;
        let options = || {
            DbOptions::new().cache(
                CacheOptions::in_process_and_redis(redis.clone())
                    .namespace(repo_tests::cache_namespace()),
            )
        };
        let plain = Db::connect(&url).await.expect("the database");
        plain.create_schema::<Item>().await.expect("the table");
        World {
            instances: [
                Db::connect_with(&url, options())
                    .await
                    .expect("instance one"),
                Db::connect_with(&url, options())
                    .await
                    .expect("instance two"),
            ],
            plain,
        }
    });
    let stats = RefCell::new(Stats::default());
    let started = Instant::now();
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&case(), |ops| {
        runtime.block_on(run_case(&world, &ops, &stats))
    });
    let hits: Vec<_> = world
        .instances
        .iter()
        .map(|db| runtime.block_on(db.cache().stats()))
        .collect();
    let stats = stats.into_inner();
    let report = format!(
        "{backend:?}: {} cases, {} writes that changed something, {} sessions ({} rolled back), \
         {} refused writes; the other instance answered late {} times, at most {:?} after the \
         write; cache: {:?}; {:.1} s",
        stats.cases,
        stats.writes,
        stats.sessions,
        stats.rollbacks,
        stats.refused,
        stats.late,
        stats.slowest,
        hits,
        started.elapsed().as_secs_f64()
    );
    println!("{report}");
    if let Err(failure) = result {
        panic!("{report}\n{failure}");
    }
    assert!(stats.cases >= u64::from(CASES));
    assert!(
        hits.iter().all(|s| s.local_hits > 0 && s.redis_hits > 0),
        "{hits:?}"
    );
}

#[test]
fn sqlite_two_instances_never_read_stale() {
    check_backend(Backend::Sqlite);
}

#[test]
fn postgres_two_instances_never_read_stale() {
    check_backend(Backend::Postgres);
}

#[test]
fn mysql_two_instances_never_read_stale() {
    check_backend(Backend::MySql);
}
