//! Column types of existing schemas on every backend: `NaiveDateTime`, `NaiveTime`,
//! `Decimal`, `u32`, `u64` and `IpAddr` round-trip through the repository (insert, read by id,
//! filters, keyset pages, bulk upserts), values written by plain SQL into native columns read
//! back exactly, and a `u64` a backend cannot hold is refused before anything is written.

use std::net::IpAddr;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use repo_core::prelude::*;
use repo_core::rust_decimal::Decimal;
use repo_core::{Backend, Cursor, DbField, Error, Row, sea_query};

repo_tests::on_every_backend!(
    every_new_type_round_trips_with_and_without_values,
    filters_compare_new_types,
    keyset_pages_follow_new_columns,
    bulk_upsert_writes_and_replaces_new_types,
    native_columns_written_by_plain_sql_read_back_exactly,
    u64_above_i64_max_is_refused_or_stored,
    long_in_lists_match_new_types,
    a_field_type_of_ones_own_round_trips_and_checks_reads,
    values_that_do_not_fit_the_field_are_decode_errors,
);

/// One row with every type added for existing schemas, nullable variants too.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "typed_rows")]
pub struct Typed {
    #[repo(primary_key)]
    pub id: i64,
    pub at: NaiveDateTime,
    pub at_opt: Option<NaiveDateTime>,
    pub starts: NaiveTime,
    pub starts_opt: Option<NaiveTime>,
    pub amount: Decimal,
    pub amount_opt: Option<Decimal>,
    pub small: u32,
    pub small_opt: Option<u32>,
    pub big: u64,
    pub big_opt: Option<u64>,
    pub ip: IpAddr,
    pub ip_opt: Option<IpAddr>,
}

/// A table created by plain SQL with each backend's native types.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "legacy_types")]
pub struct Legacy {
    #[repo(primary_key)]
    pub id: i64,
    pub at: NaiveDateTime,
    pub starts: NaiveTime,
    pub amount: Decimal,
    pub ip: Option<IpAddr>,
}

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, micro: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, mo, d)
        .and_then(|date| date.and_hms_micro_opt(h, mi, s, micro))
        .expect("a valid test timestamp")
}

fn time(h: u32, mi: u32, s: u32, micro: u32) -> NaiveTime {
    NaiveTime::from_hms_micro_opt(h, mi, s, micro).expect("a valid test time")
}

fn dec(text: &str) -> Decimal {
    text.parse().expect("a valid test decimal")
}

fn ip(text: &str) -> IpAddr {
    text.parse().expect("a valid test address")
}

/// Row `i`: every value differs by row and grows with `i` (as numbers and as times).
fn row(i: i64) -> Typed {
    let n = u32::try_from(i).unwrap();
    Typed {
        id: i,
        at: at(2024, 2, 29, 10, n / 60, n % 60, 123_456 + n),
        at_opt: Some(at(1999, 12, 31, 23, 59, 59, 500_000)),
        starts: time(8 + n / 60, n % 60, 0, 250_000),
        starts_opt: Some(time(23, 59, 59, 999_999)),
        amount: dec(&format!("{i}.30")),
        amount_opt: Some(dec("-0.0001")),
        small: u32::MAX - n,
        small_opt: Some(n),
        big: 1_000 + u64::from(n),
        big_opt: Some(i64::MAX as u64),
        ip: ip(&format!("10.0.{}.{}", i / 256, i % 256)),
        ip_opt: Some(ip("2001:db8::ff00:42:8329")),
    }
}

fn empty(i: i64) -> Typed {
    Typed {
        at_opt: None,
        starts_opt: None,
        amount_opt: None,
        small_opt: None,
        big_opt: None,
        ip_opt: None,
        ..row(i)
    }
}

/// The text of a decimal as the backend's generated column holds it: MariaDB's
/// `DECIMAL(38,10)` has a fixed scale, the others keep the written one.
fn generated_scale(backend: Backend, written: &str, mariadb: &str) -> String {
    if backend == Backend::MySql {
        mariadb.to_owned()
    } else {
        written.to_owned()
    }
}

async fn every_new_type_round_trips_with_and_without_values(db: Db) {
    db.create_schema::<Typed>().await.unwrap();
    let repo = TypedRepository::new(&db);
    let full = row(1);
    let none = empty(2);
    assert_eq!(repo.insert(&full).await.unwrap(), full);
    assert_eq!(repo.insert(&none).await.unwrap(), none);

    let read = repo.get(1).await.unwrap();
    assert_eq!(read, full);
    assert_eq!(
        read.amount.to_string(),
        generated_scale(db.backend(), "1.30", "1.3000000000")
    );
    assert_eq!(
        read.amount_opt.unwrap().to_string(),
        generated_scale(db.backend(), "-0.0001", "-0.0001000000")
    );
    assert_eq!(read.at.and_utc().timestamp_subsec_micros(), 123_457);
    assert_eq!(repo.get(2).await.unwrap(), none);
}

async fn filters_compare_new_types(db: Db) {
    db.create_schema::<Typed>().await.unwrap();
    let repo = TypedRepository::new(&db);
    for i in 1..=5 {
        repo.insert(&row(i)).await.unwrap();
    }
    repo.insert(&empty(6)).await.unwrap();
    let ids = |rows: Vec<Typed>| {
        let mut ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        ids
    };
    let find = |filter: Filter<Typed>| {
        let repo = &repo;
        async move { ids(repo.find_all(filter).await.unwrap()) }
    };

    // Equality on each new column.
    assert_eq!(find(Typed::AT.eq(row(3).at)).await, [3]);
    assert_eq!(find(Typed::STARTS.eq(time(8, 4, 0, 250_000))).await, [4]);
    assert_eq!(find(Typed::AMOUNT.eq(dec("2.30"))).await, [2]);
    assert_eq!(find(Typed::SMALL.eq(u32::MAX - 5)).await, [5]);
    assert_eq!(find(Typed::BIG.eq(1_001_u64)).await, [1]);
    assert_eq!(find(Typed::IP.eq(ip("10.0.0.3"))).await, [3]);
    assert_eq!(
        find(Typed::IP_OPT.eq(ip("2001:db8::ff00:42:8329"))).await,
        [1, 2, 3, 4, 5]
    );
    assert_eq!(find(Typed::AT_OPT.is_null()).await, [6]);

    // Ranges.
    assert_eq!(
        find(Typed::AT.between(row(2).at, row(4).at)).await,
        [2, 3, 4]
    );
    assert_eq!(find(Typed::AT.gt(row(4).at)).await, [5, 6]);
    assert_eq!(find(Typed::AT.lt(at(2024, 2, 29, 10, 0, 2, 0))).await, [1]);
    assert_eq!(find(Typed::STARTS.lt(time(8, 3, 0, 0))).await, [1, 2]);
    assert_eq!(
        find(Typed::STARTS.between(time(8, 2, 0, 250_000), time(8, 3, 0, 250_000))).await,
        [2, 3]
    );
    assert_eq!(find(Typed::SMALL.gt(u32::MAX - 3)).await, [1, 2]);
    assert_eq!(find(Typed::BIG.between(1_002_u64, 1_003_u64)).await, [2, 3]);
    if db.backend() == Backend::Sqlite {
        // Exact decimals are text on SQLite: SQL compares them as text ("2.30" > "10"), so
        // no row is above 10 as a number, yet five are as text.
        assert_eq!(find(Typed::AMOUNT.gt(dec("10"))).await, [2, 3, 4, 5, 6]);
    } else {
        assert_eq!(find(Typed::AMOUNT.gt(dec("3.3"))).await, [4, 5, 6]);
        assert_eq!(find(Typed::AMOUNT.gt(dec("10"))).await, [0_i64; 0]);
        assert_eq!(
            find(Typed::AMOUNT.between(dec("1.5"), dec("3.30"))).await,
            [2, 3]
        );
    }
}

async fn keyset_pages_follow_new_columns(db: Db) {
    db.create_schema::<Typed>().await.unwrap();
    let repo = TypedRepository::new(&db);
    // Times out of id order, two rows sharing a timestamp (broken by id).
    let stamps = [
        at(2024, 1, 1, 0, 0, 0, 1),
        at(1970, 1, 1, 0, 0, 0, 0),
        at(2024, 1, 1, 0, 0, 0, 0),
        at(2030, 6, 1, 12, 0, 0, 500_000),
        at(2024, 1, 1, 0, 0, 0, 1),
        at(1999, 12, 31, 23, 59, 59, 999_999),
        at(2024, 1, 1, 0, 0, 0, 10),
    ];
    let rows: Vec<Typed> = stamps
        .iter()
        .enumerate()
        .map(|(i, stamp)| Typed {
            at: *stamp,
            starts: stamp.time(),
            ..row(i as i64 + 1)
        })
        .collect();
    repo.bulk_insert(&rows).await.unwrap();

    let sorted = |key: &dyn Fn(&Typed) -> (NaiveDateTime, i64), reverse: bool| {
        let mut rows = rows.clone();
        rows.sort_by_key(|r| key(r));
        if reverse {
            rows.reverse();
        }
        rows
    };
    let cases = [
        (Typed::AT.asc(), sorted(&|r| (r.at, r.id), false)),
        (Typed::AT.desc(), sorted(&|r| (r.at, r.id), true)),
        (
            Typed::STARTS.asc(),
            sorted(&|r| (NaiveDate::MIN.and_time(r.starts), r.id), false),
        ),
    ];
    for (order, expected) in cases {
        let mut got = Vec::new();
        let mut cursor: Option<Cursor> = None;
        for _ in 0..10 {
            let page = repo
                .find_keyset(
                    Filter::all(),
                    KeysetRequest::new(3)
                        .order_by(order.clone())
                        .after_opt(cursor.take()),
                )
                .await
                .unwrap();
            got.extend(page.items);
            match page.next {
                Some(next) => cursor = Some(Cursor::from(next.to_string())),
                None => break,
            }
        }
        assert_eq!(got, expected, "{order:?}");
    }
}

async fn bulk_upsert_writes_and_replaces_new_types(db: Db) {
    db.create_schema::<Typed>().await.unwrap();
    let repo = TypedRepository::new(&db);
    let first: Vec<Typed> = (1..=3).map(row).collect();
    repo.bulk_upsert(&first).await.unwrap();
    let changed: Vec<Typed> = (2..=4)
        .map(|i| Typed {
            at: at(2001, 9, 9, 1, 46, 40, 0),
            starts: time(0, 0, 0, 1),
            amount: dec("99999.99"),
            small_opt: Some(0),
            big: 7,
            ip: ip("::1"),
            ip_opt: None,
            ..row(i)
        })
        .collect();
    repo.bulk_upsert(&changed).await.unwrap();
    let mut all = repo.find_all(Filter::all()).await.unwrap();
    all.sort_by_key(|r| r.id);
    let mut expected = vec![row(1)];
    expected.extend(changed);
    assert_eq!(all, expected);
    assert_eq!(
        all[1].amount.to_string(),
        generated_scale(db.backend(), "99999.99", "99999.9900000000")
    );
}

async fn native_columns_written_by_plain_sql_read_back_exactly(db: Db) {
    let create = match db.backend() {
        Backend::Postgres => {
            "CREATE TABLE legacy_types (id BIGINT PRIMARY KEY, at TIMESTAMP NOT NULL, \
             starts TIME NOT NULL, amount NUMERIC(10,2) NOT NULL, ip INET)"
        }
        Backend::MySql => {
            "CREATE TABLE legacy_types (id BIGINT PRIMARY KEY, at DATETIME(6) NOT NULL, \
             starts TIME(6) NOT NULL, amount DECIMAL(10,2) NOT NULL, ip VARCHAR(45))"
        }
        _ => {
            "CREATE TABLE legacy_types (id INTEGER PRIMARY KEY, at TEXT NOT NULL, \
             starts TEXT NOT NULL, amount TEXT NOT NULL, ip TEXT)"
        }
    };
    repo_tests::raw_sql(&db, create).await.unwrap();
    let amount = if db.backend() == Backend::Sqlite {
        "'12.30'"
    } else {
        "12.30"
    };
    repo_tests::raw_sql(
        &db,
        &format!(
            "INSERT INTO legacy_types (id, at, starts, amount, ip) VALUES \
             (1, '2024-02-29 13:14:15.123456', '23:59:59.5', {amount}, '192.168.1.20'), \
             (2, '1999-12-31 00:00:00', '00:00:00', {amount}, '2001:db8::1'), \
             (3, '2000-01-01 12:00:00', '12:00:00', 0, NULL)"
        ),
    )
    .await
    .unwrap();

    let repo = LegacyRepository::new(&db);
    let one = repo.get(1).await.unwrap();
    assert_eq!(one.at, at(2024, 2, 29, 13, 14, 15, 123_456));
    assert_eq!(one.starts, time(23, 59, 59, 500_000));
    assert_eq!(one.amount.to_string(), "12.30");
    assert_eq!(one.amount.scale(), 2);
    assert_eq!(one.ip, Some(ip("192.168.1.20")));
    let two = repo.get(2).await.unwrap();
    assert_eq!(two.at, at(1999, 12, 31, 0, 0, 0, 0));
    assert_eq!(two.starts, NaiveTime::MIN);
    assert_eq!(two.ip, Some(ip("2001:db8::1")));
    let three = repo.get(3).await.unwrap();
    assert_eq!(three.amount, Decimal::ZERO);
    assert_eq!(three.ip, None);

    // Filters bind values the native columns compare with.
    let by = |filter: Filter<Legacy>| {
        let repo = &repo;
        async move {
            let mut ids: Vec<i64> = repo
                .find_all(filter)
                .await
                .unwrap()
                .iter()
                .map(|l| l.id)
                .collect();
            ids.sort_unstable();
            ids
        }
    };
    assert_eq!(by(Legacy::AMOUNT.eq(dec("12.30"))).await, [1, 2]);
    assert_eq!(by(Legacy::IP.eq(ip("2001:db8::1"))).await, [2]);
    assert_eq!(by(Legacy::AT.eq(one.at)).await, [1]);
    assert_eq!(by(Legacy::STARTS.gt(time(11, 0, 0, 0))).await, [1, 3]);
    assert_eq!(
        by(Legacy::AT.between(at(1999, 1, 1, 0, 0, 0, 0), at(2000, 1, 1, 12, 0, 0, 0))).await,
        [2, 3]
    );

    // A row written by the repository reads back through plain SQL in the documented form.
    let written = Legacy {
        id: 4,
        at: at(2024, 5, 1, 12, 0, 0, 250_000),
        starts: time(7, 30, 0, 0),
        amount: dec("5.05"),
        ip: Some(ip("::ffff:10.1.2.3")),
    };
    repo.insert(&written).await.unwrap();
    assert_eq!(repo.get(4).await.unwrap(), written);
    if let Some(pool) = db.sqlite_pool() {
        let stored: (String, String, String, String) =
            sqlx::query_as("SELECT at, starts, amount, ip FROM legacy_types WHERE id = 4")
                .fetch_one(pool)
                .await
                .unwrap();
        assert_eq!(
            stored,
            (
                "2024-05-01 12:00:00.25".to_owned(),
                "07:30:00".to_owned(),
                "5.05".to_owned(),
                "::ffff:10.1.2.3".to_owned()
            )
        );
    }
}

async fn u64_above_i64_max_is_refused_or_stored(db: Db) {
    db.create_schema::<Typed>().await.unwrap();
    let repo = TypedRepository::new(&db);
    let huge = Typed {
        big: u64::MAX,
        big_opt: Some(i64::MAX as u64 + 1),
        ..row(1)
    };
    let result = repo.insert(&huge).await;
    let bulk = repo.bulk_upsert(std::slice::from_ref(&huge)).await;
    if db.backend() == Backend::MySql {
        assert_eq!(result.unwrap(), huge);
        assert_eq!(repo.get(1).await.unwrap(), huge);
        bulk.unwrap();
        assert_eq!(
            repo.find_all(Typed::BIG.eq(u64::MAX)).await.unwrap(),
            [huge]
        );
        assert_eq!(repo.count(Typed::BIG.gt(i64::MAX as u64)).await.unwrap(), 1);
    } else {
        for result in [result.map(drop), bulk.map(drop)] {
            match result {
                Err(Error::Validation { reason, .. }) => {
                    assert!(reason.contains("18446744073709551615"), "{reason}");
                }
                other => panic!("expected a validation error, got {other:?}"),
            }
        }
        assert_eq!(repo.count(Filter::all()).await.unwrap(), 0);
        // A filter value that cannot be stored is refused too.
        assert!(matches!(
            repo.count(Typed::BIG.eq(u64::MAX)).await,
            Err(Error::Validation { .. })
        ));
        // The largest value that fits is stored.
        let fits = Typed {
            big: i64::MAX as u64,
            ..row(2)
        };
        repo.insert(&fits).await.unwrap();
        assert_eq!(repo.get(2).await.unwrap(), fits);
    }
}

/// Lists longer than `INLINE_LIST_LIMIT` travel as one array or JSON parameter: each new type
/// keeps its stored form there too.
async fn long_in_lists_match_new_types(db: Db) {
    db.create_schema::<Typed>().await.unwrap();
    let repo = TypedRepository::new(&db);
    let rows: Vec<Typed> = (1..=4).map(row).collect();
    repo.bulk_insert(&rows).await.unwrap();
    let long = repo_core::filter::INLINE_LIST_LIMIT as i64 + 10;
    let ids = |rows: Vec<Typed>| {
        let mut ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        ids
    };
    // Rows 2 to `long`: three of them exist.
    let all: Vec<Typed> = (2..long).map(row).collect();
    let filters = [
        Typed::AT.is_in(all.iter().map(|r| r.at)),
        Typed::STARTS.is_in(all.iter().map(|r| r.starts)),
        Typed::AMOUNT.is_in(all.iter().map(|r| r.amount)),
        Typed::SMALL.is_in(all.iter().map(|r| r.small)),
        Typed::BIG.is_in(all.iter().map(|r| r.big)),
        Typed::IP.is_in(all.iter().map(|r| r.ip)),
    ];
    for filter in filters {
        assert_eq!(
            ids(repo.find_all(filter.clone()).await.unwrap()),
            [2, 3, 4],
            "{filter:?}"
        );
    }
    if db.backend() == Backend::Postgres {
        let refused = repo
            .count(Typed::BIG.is_in((0..long as u64).map(|i| u64::MAX - i)))
            .await;
        assert!(
            matches!(refused, Err(Error::Validation { .. })),
            "{refused:?}"
        );
    }
}

/// Money as whole cents, a newtype over `i64` (the route the README documents).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cents(pub i64);

impl DbField for Cents {
    type Scalar = Self;
    fn to_value(&self) -> sea_query::Value {
        self.0.to_value()
    }
    fn null_value() -> sea_query::Value {
        i64::null_value()
    }
    fn decode(row: &Row, index: usize) -> Result<Self, sqlx::Error> {
        i64::decode(row, index).map(Cents)
    }
    fn column_type(backend: Backend) -> sea_query::ColumnType {
        i64::column_type(backend)
    }
}

/// Text that must hold an `@`, checked on every read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(pub String);

impl DbField for Email {
    type Scalar = Self;
    fn to_value(&self) -> sea_query::Value {
        self.0.to_value()
    }
    fn null_value() -> sea_query::Value {
        String::null_value()
    }
    fn decode(row: &Row, index: usize) -> Result<Self, sqlx::Error> {
        let text = String::decode(row, index)?;
        if text.contains('@') {
            Ok(Self(text))
        } else {
            Err(sqlx::Error::ColumnDecode {
                index: index.to_string(),
                source: format!("`{text}` is not an email address").into(),
            })
        }
    }
    fn column_type(backend: Backend) -> sea_query::ColumnType {
        String::column_type(backend)
    }
}

#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "invoices", index(total))]
pub struct Invoice {
    #[repo(primary_key)]
    pub id: i64,
    pub customer: Email,
    pub total: Cents,
    pub discount: Option<Cents>,
}

async fn a_field_type_of_ones_own_round_trips_and_checks_reads(db: Db) {
    db.create_schema::<Invoice>().await.unwrap();
    let repo = InvoiceRepository::new(&db);
    let invoice = |id: i64, total: i64, discount: Option<i64>| Invoice {
        id,
        customer: Email(format!("c{id}@example.com")),
        total: Cents(total),
        discount: discount.map(Cents),
    };
    let rows = [
        invoice(1, 1250, None),
        invoice(2, 9999, Some(1000)),
        invoice(3, 405, None),
    ];
    repo.bulk_upsert(&rows).await.unwrap();
    assert_eq!(repo.get(2).await.unwrap(), rows[1]);
    let large = repo
        .find(
            Invoice::TOTAL.gte(Cents(1000)),
            PageRequest::new(10).order_by(Invoice::TOTAL.desc()),
        )
        .await
        .unwrap();
    assert_eq!(large.items, [rows[1].clone(), rows[0].clone()]);
    assert_eq!(
        repo.count(Invoice::DISCOUNT.eq(Cents(1000))).await.unwrap(),
        1
    );
    assert_eq!(
        repo.find_all(Invoice::CUSTOMER.eq(Email("c3@example.com".into())))
            .await
            .unwrap(),
        [rows[2].clone()]
    );

    // A row another program wrote that the type refuses is a decode error naming the column.
    repo_tests::raw_sql(
        &db,
        "INSERT INTO invoices (id, customer, total, discount) VALUES (4, 'nobody', 1, NULL)",
    )
    .await
    .unwrap();
    match repo.get(4).await {
        Err(Error::Decode { column, reason }) => {
            assert_eq!(column, "customer");
            assert!(reason.contains("nobody"), "{reason}");
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
}

async fn values_that_do_not_fit_the_field_are_decode_errors(db: Db) {
    db.create_schema::<Typed>().await.unwrap();
    let repo = TypedRepository::new(&db);
    repo.insert(&row(1)).await.unwrap();
    repo.insert(&row(2)).await.unwrap();
    repo_tests::raw_sql(&db, "UPDATE typed_rows SET small = 4294967296 WHERE id = 1")
        .await
        .unwrap();
    assert!(
        matches!(repo.get(1).await, Err(Error::Decode { ref column, .. }) if column == "small"),
        "a u32 column holding 2^32"
    );
    if db.backend() != Backend::MySql {
        // MariaDB's BIGINT UNSIGNED cannot hold a negative number at all.
        repo_tests::raw_sql(&db, "UPDATE typed_rows SET big = -1 WHERE id = 2")
            .await
            .unwrap();
        assert!(
            matches!(repo.get(2).await, Err(Error::Decode { ref column, .. }) if column == "big"),
            "a u64 column holding -1"
        );
    }
}
