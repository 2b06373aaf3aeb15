//! Timestamps and dates on SQLite and PostgreSQL: rows written by other writers read back and
//! compare as the same instant, order is chronological across years 1 to 9999, values outside
//! that range are refused before anything is written, and sub-second precision round-trips.

use chrono::{NaiveDate, TimeDelta};
use repo_core::prelude::*;
use repo_core::{Backend, Error, Statement};

repo_tests::on_every_backend!(
    rows_from_other_writers_read_back_and_match_filters,
    numbers_and_malformed_values_from_custom_queries,
    order_is_chronological_across_years,
    out_of_range_values_are_validation_errors_and_nothing_is_written,
    sub_second_precision_round_trips,
);

/// A row holding one instant and one date.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "moments")]
pub struct Moment {
    #[repo(primary_key, auto)]
    pub id: i64,
    pub label: String,
    pub at: DateTime<Utc>,
    pub on_day: Option<NaiveDate>,
}

fn moment(label: &str, at: DateTime<Utc>) -> Moment {
    Moment {
        id: 0,
        label: label.to_owned(),
        at,
        on_day: None,
    }
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, micro: u32) -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(y, mo, d)
        .and_then(|date| date.and_hms_micro_opt(h, mi, s, micro))
        .expect("a valid test instant")
        .and_utc()
}

/// Run hand-written SQL on the pool, as another writer would.
async fn raw(db: &Db, sql: &str) {
    repo_tests::raw_sql(db, sql).await.unwrap();
}

/// The stored text of every `at`, by label order (SQLite only).
async fn stored_text(db: &Db) -> Vec<String> {
    sqlx::query_scalar("SELECT at FROM moments ORDER BY label")
        .fetch_all(db.sqlite_pool().unwrap())
        .await
        .unwrap()
}

/// (label, SQL expression another writer stores, the instant it means), per backend.
fn stored_by_other_writers(backend: Backend) -> Vec<(&'static str, &'static str, DateTime<Utc>)> {
    let instant = utc(2024, 1, 1, 10, 20, 30, 0);
    match backend {
        Backend::Sqlite => vec![
            ("datetime", "datetime('2024-01-01 10:20:30')", instant),
            ("current", "CURRENT_TIMESTAMP", instant), // replaced below
            ("iso_z", "'2024-01-01T10:20:30Z'", instant),
            ("offset", "'2024-01-01T12:20:30.000+02:00'", instant),
            ("neg_offset", "'2024-01-01 08:20:30 -02:00'", instant),
            (
                "fraction3",
                "strftime('%Y-%m-%d %H:%M:%f', '2024-01-01 10:20:30.250')",
                instant + TimeDelta::milliseconds(250),
            ),
            (
                "fraction9",
                "'2024-01-01 10:20:30.123456789'",
                instant + TimeDelta::nanoseconds(123_456_789),
            ),
            (
                "minutes",
                "'2024-01-01 10:20'",
                utc(2024, 1, 1, 10, 20, 0, 0),
            ),
            ("bare_date", "'2024-01-01'", utc(2024, 1, 1, 0, 0, 0, 0)),
        ],
        // The session time zone is UTC; MariaDB reads no offsets in literals.
        Backend::MySql => vec![
            ("literal", "'2024-01-01 10:20:30'", instant),
            ("current", "CURRENT_TIMESTAMP", instant), // replaced below
            ("iso_t", "'2024-01-01T10:20:30'", instant),
            (
                "fraction3",
                "'2024-01-01 10:20:30.250'",
                instant + TimeDelta::milliseconds(250),
            ),
            (
                "minutes",
                "'2024-01-01 10:20'",
                utc(2024, 1, 1, 10, 20, 0, 0),
            ),
            ("bare_date", "'2024-01-01'", utc(2024, 1, 1, 0, 0, 0, 0)),
            (
                "converted",
                "CONVERT_TZ('2024-01-01 12:20:30', '+02:00', '+00:00')",
                instant,
            ),
        ],
        _ => vec![
            ("literal", "'2024-01-01 10:20:30+00'", instant),
            ("current", "CURRENT_TIMESTAMP", instant), // replaced below
            ("offset", "'2024-01-01T12:20:30.000+02:00'", instant),
            (
                "fraction3",
                "'2024-01-01 10:20:30.250Z'",
                instant + TimeDelta::milliseconds(250),
            ),
            (
                "minutes",
                "'2024-01-01 10:20Z'",
                utc(2024, 1, 1, 10, 20, 0, 0),
            ),
        ],
    }
}

async fn rows_from_other_writers_read_back_and_match_filters(db: Db) {
    db.create_schema::<Moment>().await.unwrap();
    let repo = MomentRepository::new(&db);
    let instant = utc(2024, 1, 1, 10, 20, 30, 0);
    let rows = stored_by_other_writers(db.backend());
    for (label, expr, _) in &rows {
        let expr = if *label == "current" {
            // The current time to the whole second, as SQLite's datetime('now') writes it.
            match db.backend() {
                Backend::Sqlite => "datetime('now')",
                Backend::MySql => "CURRENT_TIMESTAMP",
                _ => "date_trunc('second', CURRENT_TIMESTAMP)",
            }
        } else {
            expr
        };
        raw(
            &db,
            &format!("INSERT INTO moments (label, at) VALUES ('{label}', {expr})"),
        )
        .await;
    }

    let read = repo
        .find_all(Filter::all())
        .await
        .expect("every form another writer stores is readable");
    assert_eq!(read.len(), rows.len());
    let now = repo_core::repository::now();
    for (label, _, expected) in &rows {
        let row = read.iter().find(|m| m.label == *label).unwrap();
        if *label == "current" {
            assert!(
                (now - row.at).num_seconds().abs() < 60 && row.at.timestamp_subsec_nanos() == 0,
                "{label}: {} is the current second",
                row.at
            );
        } else {
            assert_eq!(row.at, *expected, "{label}");
        }
    }

    // SQLite's datetime() / CURRENT_TIMESTAMP text is the stored form of a whole second: an
    // `eq` filter on the same instant finds the row, as it does on PostgreSQL.
    let first = rows[0].0;
    let found = repo.find_all(Moment::AT.eq(instant)).await.unwrap();
    assert!(found.iter().any(|m| m.label == first), "{found:?}");
    let current = read.iter().find(|m| m.label == "current").unwrap();
    let found = repo.find_all(Moment::AT.eq(current.at)).await.unwrap();
    assert_eq!(
        found.iter().map(|m| m.label.as_str()).collect::<Vec<_>>(),
        ["current"]
    );
    assert_eq!(
        repo.count(Moment::AT.gt(instant).and(Moment::LABEL.eq("fraction3")))
            .await
            .unwrap(),
        1,
        "a stored fraction compares after the whole second"
    );
}

async fn numbers_and_malformed_values_from_custom_queries(db: Db) {
    db.create_schema::<Moment>().await.unwrap();
    let repo = MomentRepository::new(&db);
    let instant = utc(2024, 1, 1, 10, 20, 30, 0);
    repo.insert(&moment("row", instant)).await.unwrap();
    let select_as_at = |expr: &str| {
        Statement::new(
            format!("SELECT id, label, {expr} AS at, on_day FROM moments WHERE label = 'row'"),
            vec![],
        )
    };

    // A SQLite timestamp column has text affinity, so numbers reach the decoder from
    // expressions: unix seconds as INTEGER, julian day numbers as REAL.
    let numbers: &[&str] = match db.backend() {
        Backend::Sqlite => &[
            "1704104430",
            "unixepoch('2024-01-01 10:20:30')",
            "julianday('2024-01-01 10:20:30')",
            "datetime(1704104430, 'unixepoch')",
        ],
        Backend::MySql => &["FROM_UNIXTIME(1704104430)"],
        _ => &["to_timestamp(1704104430)"],
    };
    for expr in numbers {
        let read = repo
            .fetch_entities_statement(select_as_at(expr))
            .await
            .unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].at, instant, "{expr}");
    }

    // Text that is no timestamp is a Decode error (on SQLite naming the column and the value).
    match repo
        .fetch_entities_statement(select_as_at("'next tuesday'"))
        .await
    {
        Err(Error::Decode { column, reason }) => {
            if db.backend() == Backend::Sqlite {
                assert_eq!(column, "at");
                assert!(reason.contains("next tuesday"), "{reason}");
            }
        }
        other => panic!("expected a Decode error, got {other:?}"),
    }
    if db.backend() == Backend::Sqlite {
        raw(
            &db,
            "INSERT INTO moments (label, at) VALUES ('bad', 'next tuesday')",
        )
        .await;
        match repo.find_all(Moment::LABEL.eq("bad")).await {
            Err(Error::Decode { column, reason }) => {
                assert_eq!(column, "at");
                assert!(reason.contains("next tuesday"), "{reason}");
            }
            other => panic!("expected a Decode error, got {other:?}"),
        }
    }
}

async fn order_is_chronological_across_years(db: Db) {
    db.create_schema::<Moment>().await.unwrap();
    let repo = MomentRepository::new(&db);
    let chronological = [
        ("a", utc(1, 1, 1, 0, 0, 0, 0)),
        ("b", utc(999, 6, 1, 12, 0, 0, 0)),
        ("c", utc(2024, 1, 1, 0, 0, 0, 0)),
        ("d", utc(2024, 1, 1, 0, 0, 0, 1)),
        ("e", utc(2024, 1, 1, 0, 0, 0, 250_000)),
        ("f", utc(2024, 1, 1, 0, 0, 0, 500_000)),
        ("g", utc(2024, 1, 1, 0, 0, 1, 0)),
        ("h", utc(9999, 12, 31, 23, 59, 59, 999_999)),
    ];
    // Insert out of order, so key order is not time order.
    for i in [4, 7, 0, 2, 6, 1, 5, 3] {
        let (label, at) = chronological[i];
        repo.insert(&moment(label, at)).await.unwrap();
    }

    let mut ascending = Vec::new();
    let mut offset = 0;
    loop {
        let page = repo
            .find(
                Filter::all(),
                PageRequest::new(3)
                    .offset(offset)
                    .order_by(Moment::AT.asc()),
            )
            .await
            .unwrap();
        assert_eq!(page.total, 8);
        ascending.extend(page.items.iter().map(|m| (m.label.clone(), m.at)));
        if !page.has_next() {
            break;
        }
        offset += 3;
    }
    let expected: Vec<_> = chronological
        .iter()
        .map(|(l, at)| ((*l).to_owned(), *at))
        .collect();
    assert_eq!(ascending, expected);

    let descending = repo
        .find(
            Filter::all(),
            PageRequest::new(8).order_by(Moment::AT.desc()),
        )
        .await
        .unwrap();
    let labels: Vec<_> = descending.items.iter().map(|m| m.label.as_str()).collect();
    assert_eq!(labels, ["h", "g", "f", "e", "d", "c", "b", "a"]);

    let after = repo
        .find_all(Moment::AT.gt(utc(2024, 1, 1, 0, 0, 0, 0)))
        .await
        .unwrap();
    let mut labels: Vec<_> = after.iter().map(|m| m.label.as_str()).collect();
    labels.sort_unstable();
    assert_eq!(labels, ["d", "e", "f", "g", "h"]);
    assert_eq!(
        repo.count(Moment::AT.lt(utc(1000, 1, 1, 0, 0, 0, 0)))
            .await
            .unwrap(),
        2
    );

    if db.backend() == Backend::Sqlite {
        assert_eq!(
            stored_text(&db).await,
            [
                "0001-01-01 00:00:00",
                "0999-06-01 12:00:00",
                "2024-01-01 00:00:00",
                "2024-01-01 00:00:00.000001",
                "2024-01-01 00:00:00.25",
                "2024-01-01 00:00:00.5",
                "2024-01-01 00:00:01",
                "9999-12-31 23:59:59.999999",
            ]
        );
    }
}

fn assert_out_of_range<T: std::fmt::Debug>(result: repo_core::Result<T>, what: &str) {
    match result {
        Err(Error::Validation { field, reason }) => {
            assert_eq!(field, "value", "{what}");
            assert!(
                reason.contains("outside years 1 to 9999"),
                "{what}: {reason}"
            );
        }
        other => panic!("{what}: expected a Validation error, got {other:?}"),
    }
}

async fn out_of_range_values_are_validation_errors_and_nothing_is_written(db: Db) {
    db.create_schema::<Moment>().await.unwrap();
    let repo = MomentRepository::new(&db);
    let year_10000 = utc(10000, 1, 1, 0, 0, 0, 0);
    let year_0 = utc(0, 12, 31, 23, 59, 59, 0);

    assert_out_of_range(
        repo.insert(&moment("future", year_10000)).await,
        "insert 10000",
    );
    assert_out_of_range(repo.insert(&moment("past", year_0)).await, "insert 0");
    let mut dated = moment("dated", utc(2024, 1, 1, 0, 0, 0, 0));
    dated.on_day = NaiveDate::from_ymd_opt(10000, 1, 1);
    assert_out_of_range(repo.insert(&dated).await, "insert date 10000");
    dated.on_day = NaiveDate::from_ymd_opt(0, 1, 1);
    assert_out_of_range(repo.insert(&dated).await, "insert date 0");
    assert_out_of_range(
        repo.bulk_insert(&[
            moment("ok", utc(2024, 1, 1, 0, 0, 0, 0)),
            moment("future", year_10000),
        ])
        .await,
        "bulk insert",
    );
    assert_eq!(
        repo.count(Filter::all()).await.unwrap(),
        0,
        "nothing written"
    );

    let kept = repo
        .insert(&moment("kept", utc(2024, 1, 1, 0, 0, 0, 0)))
        .await
        .unwrap();
    assert_out_of_range(
        repo.find(
            Moment::AT.gt(year_10000),
            PageRequest::new(10).order_by(Moment::AT.asc()),
        )
        .await,
        "find",
    );
    assert_out_of_range(repo.count(Moment::AT.lt(year_0)).await, "count");
    assert_out_of_range(
        repo.update(&Moment {
            at: year_10000,
            ..kept.clone()
        })
        .await,
        "update",
    );
    assert_out_of_range(
        repo.update_where(Filter::all(), vec![Moment::AT.set(year_0)])
            .await,
        "update_where",
    );
    assert_eq!(
        repo.find_all(Filter::all()).await.unwrap(),
        [kept],
        "the one valid row is unchanged"
    );

    // The edges of the range are stored and read back.
    let first = utc(1, 1, 1, 0, 0, 0, 0);
    let last = utc(9999, 12, 31, 23, 59, 59, 999_999);
    let mut edge = moment("edge", first);
    edge.on_day = NaiveDate::from_ymd_opt(9999, 12, 31);
    let edge = repo.insert(&edge).await.unwrap();
    assert_eq!(repo.get(edge.id).await.unwrap(), edge);
    let edge = repo.insert(&moment("edge2", last)).await.unwrap();
    assert_eq!(repo.get(edge.id).await.unwrap().at, last);
}

async fn sub_second_precision_round_trips(db: Db) {
    db.create_schema::<Moment>().await.unwrap();
    let repo = MomentRepository::new(&db);
    let base = utc(2024, 2, 29, 23, 59, 59, 0);
    let cases = [
        ("a_whole", base, "2024-02-29 23:59:59"),
        (
            "b_half",
            base + TimeDelta::milliseconds(500),
            "2024-02-29 23:59:59.5",
        ),
        (
            "c_micro",
            base + TimeDelta::microseconds(1),
            "2024-02-29 23:59:59.000001",
        ),
        (
            "d_all_digits",
            base + TimeDelta::microseconds(123_456),
            "2024-02-29 23:59:59.123456",
        ),
        (
            "e_tens",
            base + TimeDelta::microseconds(120_000),
            "2024-02-29 23:59:59.12",
        ),
    ];
    for (label, at, _) in &cases {
        let stored = repo.insert(&moment(label, *at)).await.unwrap();
        assert_eq!(stored.at, *at, "{label}: insert returns it");
        assert_eq!(repo.get(stored.id).await.unwrap().at, *at, "{label}: read");
        assert_eq!(
            repo.count(Moment::AT.eq(*at)).await.unwrap(),
            1,
            "{label}: eq finds exactly it"
        );
    }
    if db.backend() == Backend::Sqlite {
        let expected: Vec<_> = cases.iter().map(|(_, _, text)| *text).collect();
        assert_eq!(stored_text(&db).await, expected);
    }
}
