//! Hostile input and same-answer-everywhere: sealed cursors read against declared types,
//! filters that mean the same on every backend, long lists, NULL and enum ordering, parameter
//! types that cannot poison a pooled connection, errors that keep their cause.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{NaiveDate, TimeZone as _};
use repo_core::prelude::*;
use repo_core::{Backend, Column, Order};
use repo_tests::on_every_backend;
use uuid::Uuid;

/// Declared in an order that is not alphabetical, so declaration order is observable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, DbEnum)]
pub enum Shelf {
    Zeta,
    Alpha,
    Middle,
}

const SHELVES: [Shelf; 3] = [Shelf::Zeta, Shelf::Alpha, Shelf::Middle];

#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "books", unique(isbn))]
pub struct Book {
    #[repo(primary_key, auto)]
    pub id: i64,
    pub isbn: String,
    pub title: String,
    pub shelf: Shelf,
    pub previous_shelf: Option<Shelf>,
    pub price_cents: i64,
    pub rating: Option<i32>,
    pub ratio: f64,
    pub available: bool,
    pub published: DateTime<Utc>,
    pub day: NaiveDate,
    pub external: Uuid,
    pub note: Option<String>,
}

const TITLES: [&str; 8] = [
    "The Book",
    "the book",
    "50% off",
    "5000 off",
    "a_b",
    "axb",
    r"back\slash",
    "Ünïcode Title",
];

fn book(i: usize) -> Book {
    Book {
        id: 0,
        isbn: format!("isbn-{i:04}"),
        title: TITLES[i % TITLES.len()].to_owned(),
        shelf: SHELVES[i % 3],
        previous_shelf: (!i.is_multiple_of(4)).then(|| SHELVES[(i / 2) % 3]),
        price_cents: ((i * 37) % 50) as i64 * 10,
        rating: (!i.is_multiple_of(5)).then_some((i % 7) as i32),
        ratio: (i % 9) as f64 / 4.0,
        available: i.is_multiple_of(2),
        published: Utc
            .with_ymd_and_hms(2020 + (i % 5) as i32, 1 + (i % 12) as u32, 1, 0, 0, 0)
            .unwrap()
            + chrono::Duration::microseconds((i * 1013) as i64),
        day: NaiveDate::from_ymd_opt(2024, 1 + (i % 12) as u32, 1 + (i % 28) as u32).unwrap(),
        external: Uuid::from_u128(0x1234_5678_9abc_def0_u128.wrapping_mul(i as u128 + 1)),
        note: (i % 3 != 1).then(|| format!("note {}", i % 6)),
    }
}

const ROWS: usize = 60;

async fn seed(db: &Db) -> Vec<Book> {
    db.create_schema::<Book>().await.unwrap();
    let repo = BookRepository::new(db);
    let books: Vec<Book> = (0..ROWS).map(book).collect();
    repo.bulk_insert(&books).await.unwrap();
    repo.find_all(Filter::all()).await.unwrap()
}

fn isbns(rows: &[Book]) -> Vec<String> {
    rows.iter().map(|b| b.isbn.clone()).collect()
}

fn expect(all: &[Book], keep: impl Fn(&Book) -> bool) -> Vec<String> {
    all.iter()
        .filter(|b| keep(b))
        .map(|b| b.isbn.clone())
        .collect()
}

async fn like_and_text_matching_are_literal_and_case_sensitive(db: Db) {
    let all = seed(&db).await;
    let repo = BookRepository::new(&db);
    let find = |f: Filter<Book>| {
        let repo = repo.clone();
        async move { isbns(&repo.find_all(f).await.unwrap()) }
    };
    assert_eq!(
        find(Book::TITLE.like("The%")).await,
        expect(&all, |b| b.title.starts_with("The"))
    );
    assert_eq!(
        find(Book::TITLE.ilike("the%")).await,
        expect(&all, |b| b.title.to_lowercase().starts_with("the"))
    );
    assert_eq!(
        find(Book::TITLE.contains("0%")).await,
        expect(&all, |b| b.title.contains("0%"))
    );
    assert_eq!(
        find(Book::TITLE.starts_with("a_")).await,
        expect(&all, |b| b.title.starts_with("a_"))
    );
    assert_eq!(
        find(Book::TITLE.ends_with(r"\slash")).await,
        expect(&all, |b| b.title.ends_with(r"\slash"))
    );
    assert_eq!(
        find(Book::TITLE.like(r"50\% off")).await,
        expect(&all, |b| b.title == "50% off")
    );
    assert_eq!(
        find(Book::NOTE.not_like("note 1%")).await,
        expect(&all, |b| !b
            .note
            .as_deref()
            .is_some_and(|n| n.starts_with("note 1")))
    );
}

/// A pattern ending in a lone `\` (an escape with nothing to escape) matches a backslash there,
/// on every backend: PostgreSQL would refuse the statement and SQLite match nothing.
async fn a_pattern_ending_in_the_escape_character_matches_a_backslash(db: Db) {
    let mut all = seed(&db).await;
    let repo = BookRepository::new(&db);
    for (i, title) in [r"C:\", r"C:\x", "C:", r"C:\\", r"c:\"]
        .into_iter()
        .enumerate()
    {
        let path = Book {
            isbn: format!("path-{i}"),
            title: title.to_owned(),
            ..book(i)
        };
        all.push(repo.insert(&path).await.unwrap());
    }
    let find = |f: Filter<Book>| {
        let repo = repo.clone();
        async move { isbns(&repo.find_all(f).await.unwrap()) }
    };
    assert_eq!(
        find(Book::TITLE.like(r"C:\")).await,
        expect(&all, |b| b.title == r"C:\")
    );
    assert_eq!(
        find(Book::TITLE.like(r"%\")).await,
        expect(&all, |b| b.title.ends_with('\\'))
    );
    // An escaped backslash, then a lone one.
    assert_eq!(
        find(Book::TITLE.like(r"C:\\\")).await,
        expect(&all, |b| b.title == r"C:\\")
    );
    // Not dangling: an escaped backslash.
    assert_eq!(
        find(Book::TITLE.like(r"C:\\")).await,
        expect(&all, |b| b.title == r"C:\")
    );
    assert_eq!(
        find(Book::TITLE.not_like(r"C:\")).await,
        expect(&all, |b| b.title != r"C:\")
    );
    assert_eq!(
        find(Book::TITLE.ilike(r"c:\")).await,
        expect(&all, |b| b.title.eq_ignore_ascii_case(r"C:\"))
    );
    assert_eq!(
        find(Book::TITLE.ilike(r"%:\")).await,
        expect(&all, |b| b.title.eq_ignore_ascii_case(r"C:\"))
    );
    // The literal forms need no escape of their own.
    assert_eq!(
        find(Book::TITLE.ends_with(r":\")).await,
        expect(&all, |b| b.title.ends_with(r":\"))
    );
    // A filtered write means the same as the read.
    assert_eq!(
        repo.delete_where(Book::TITLE.like(r"C:\")).await.unwrap(),
        1
    );
    assert_eq!(repo.count(Book::TITLE.like(r"C:%")).await.unwrap(), 3);
}

async fn negations_are_complements_including_nulls(db: Db) {
    let all = seed(&db).await;
    let repo = BookRepository::new(&db);
    let find = |f: Filter<Book>| {
        let repo = repo.clone();
        async move { isbns(&repo.find_all(f).await.unwrap()) }
    };
    assert_eq!(
        find(Book::RATING.ne(3)).await,
        expect(&all, |b| b.rating != Some(3))
    );
    assert_eq!(
        find(Book::RATING.eq(3).not()).await,
        expect(&all, |b| b.rating != Some(3))
    );
    assert_eq!(
        find(Book::RATING.gt(2).not()).await,
        expect(&all, |b| b.rating.is_none_or(|r| r <= 2))
    );
    assert_eq!(
        find(Book::PREVIOUS_SHELF.not_in([Shelf::Alpha])).await,
        expect(&all, |b| b.previous_shelf != Some(Shelf::Alpha))
    );
    assert_eq!(
        find(Book::RATING.is_in(Vec::<i32>::new())).await,
        Vec::<String>::new()
    );
    assert_eq!(
        find(Book::RATING.not_in(Vec::<i32>::new())).await,
        expect(&all, |_| true)
    );
}

async fn enums_compare_and_sort_by_declaration_order(db: Db) {
    let all = seed(&db).await;
    let repo = BookRepository::new(&db);
    let find = |f: Filter<Book>| {
        let repo = repo.clone();
        async move { isbns(&repo.find_all(f).await.unwrap()) }
    };
    assert_eq!(
        find(Book::SHELF.gt(Shelf::Zeta)).await,
        expect(&all, |b| b.shelf > Shelf::Zeta)
    );
    assert_eq!(
        find(Book::SHELF.lte(Shelf::Alpha)).await,
        expect(&all, |b| b.shelf <= Shelf::Alpha)
    );
    assert_eq!(
        find(Book::SHELF.between(Shelf::Alpha, Shelf::Middle)).await,
        expect(&all, |b| b.shelf >= Shelf::Alpha)
    );
    let page = repo
        .find(
            Filter::all(),
            PageRequest::new(ROWS as u64).order_by(Book::SHELF.desc()),
        )
        .await
        .unwrap();
    let mut sorted = all.clone();
    // Ties broken by id in the order's direction.
    sorted.sort_by(|a, b| b.shelf.cmp(&a.shelf).then(b.id.cmp(&a.id)));
    assert_eq!(isbns(&page.items), isbns(&sorted));
}

/// The order a page must have: `key` ascending or descending, NULLs where asked, then id in
/// the same direction.
fn sorted_by<K: Ord + Clone>(
    all: &[Book],
    key: impl Fn(&Book) -> Option<K>,
    descending: bool,
    nulls_first: bool,
) -> Vec<String> {
    let mut rows = all.to_vec();
    rows.sort_by(|a, b| {
        let by_key = match (key(a), key(b)) {
            (None, None) => std::cmp::Ordering::Equal,
            (None, Some(_)) if nulls_first => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some(_), None) if nulls_first => std::cmp::Ordering::Greater,
            (Some(_), None) => std::cmp::Ordering::Less,
            (Some(x), Some(y)) if descending => y.cmp(&x),
            (Some(x), Some(y)) => x.cmp(&y),
        };
        by_key.then(if descending {
            b.id.cmp(&a.id)
        } else {
            a.id.cmp(&b.id)
        })
    });
    isbns(&rows)
}

async fn nulls_sort_last_unless_asked_in_pages_and_keyset(db: Db) {
    let all = seed(&db).await;
    let repo = BookRepository::new(&db);
    let cases: Vec<(Order<Book>, bool, bool)> = vec![
        (Book::RATING.asc(), false, false),
        (Book::RATING.desc(), true, false),
        (Book::RATING.asc().nulls_first(), false, true),
        (Book::RATING.desc().nulls_first(), true, true),
    ];
    for (order, descending, nulls_first) in cases {
        let want = sorted_by(&all, |b| b.rating, descending, nulls_first);
        let page = repo
            .find(
                Filter::all(),
                PageRequest::new(ROWS as u64).order_by(order.clone()),
            )
            .await
            .unwrap();
        assert_eq!(isbns(&page.items), want, "find {order:?}");
        // Keyset pages break ties as offset pages do.
        let paged = keyset_all(&repo, Filter::all(), order.clone(), 7).await;
        assert_eq!(paged, want, "keyset {order:?}");
    }
}

async fn keyset_all(
    repo: &BookRepository<'_>,
    filter: Filter<Book>,
    order: Order<Book>,
    limit: u64,
) -> Vec<String> {
    let mut seen = Vec::new();
    let mut after: Option<Cursor> = None;
    loop {
        let page = repo
            .find_keyset(
                filter.clone(),
                KeysetRequest::new(limit)
                    .order_by(order.clone())
                    .after_opt(after.clone()),
            )
            .await
            .unwrap();
        seen.extend(isbns(&page.items));
        match page.next {
            Some(next) => after = Some(next),
            None => return seen,
        }
        assert!(seen.len() <= ROWS, "keyset pages do not end");
    }
}

/// Every column type the entity has, as a keyset order: pages visit every row once, and a
/// cursor with any byte edited, cut short, forged, or that another `Db` issued, is refused
/// before any SQL runs.
async fn cursors_of_every_type_page_correctly_and_refuse_tampering(db: Db) {
    let all = seed(&db).await;
    let repo = BookRepository::new(&db);
    let orders: Vec<Order<Book>> = vec![
        Book::ISBN.asc(),
        Book::TITLE.desc(),
        Book::SHELF.asc(),
        Book::PREVIOUS_SHELF.desc(),
        Book::PRICE_CENTS.asc(),
        Book::RATING.asc(),
        Book::RATIO.desc(),
        Book::AVAILABLE.asc(),
        Book::PUBLISHED.desc(),
        Book::DAY.asc(),
        Book::EXTERNAL.asc(),
        Book::NOTE.asc().nulls_first(),
    ];
    let other = Db::connect("sqlite::memory:").await.unwrap();
    for order in orders {
        let mut seen = keyset_all(&repo, Filter::all(), order.clone(), 9).await;
        assert_eq!(seen.len(), ROWS, "{order:?} visits every row once");
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), ROWS, "{order:?} visits no row twice");

        let first = repo
            .find_keyset(Filter::all(), KeysetRequest::new(5).order_by(order.clone()))
            .await
            .unwrap();
        let cursor = first.next.unwrap();
        // Every edit a client can make without the key, junk, and a cursor of the old signed
        // format (readable JSON and an HMAC) holding a value that would have fitted.
        let mut hostile = repo_tests::CursorBytes::of(&cursor).tampered();
        let old_body = URL_SAFE_NO_PAD.encode(r#"{"k":"books,isbn:a,id:a","v":["isbn-0000",1]}"#);
        hostile.push(format!("{old_body}.{}", URL_SAFE_NO_PAD.encode([0u8; 16])));
        hostile.push(old_body);
        hostile.push("x' OR 1=1 --".to_owned());
        hostile.push(String::new());
        for text in hostile {
            match repo
                .find_keyset(
                    Filter::all(),
                    KeysetRequest::new(5)
                        .order_by(order.clone())
                        .after(text.as_str()),
                )
                .await
            {
                Err(Error::Validation { field, .. }) => assert_eq!(field, "cursor"),
                other => panic!("{order:?}: cursor {text:?} gave {other:?}"),
            }
        }
        // A cursor issued by another Db (another key) is refused there.
        other.create_schema::<Book>().await.unwrap();
        let elsewhere = BookRepository::new(&other)
            .find_keyset(
                Filter::all(),
                KeysetRequest::new(5)
                    .order_by(order.clone())
                    .after(cursor.clone()),
            )
            .await;
        assert!(
            matches!(elsewhere, Err(Error::Validation { .. })),
            "{elsewhere:?}"
        );
    }
    assert_eq!(all.len(), ROWS);
}

/// With one key set on both, a cursor issued by one `Db` continues on another.
#[tokio::test]
async fn a_shared_cursor_key_works_across_pools() {
    let key = b"a key of the service, 32 bytes!!".to_vec();
    let options = || DbOptions::new().cursor_key(key.clone());
    let first = Db::connect_with("sqlite::memory:", options())
        .await
        .unwrap();
    let second = Db::connect_with("sqlite::memory:", options())
        .await
        .unwrap();
    let stranger = Db::connect("sqlite::memory:").await.unwrap();
    for db in [&first, &second, &stranger] {
        seed(db).await;
    }
    let request = || KeysetRequest::new(10).order_by(Book::PRICE_CENTS.asc());
    let page = BookRepository::new(&first)
        .find_keyset(Filter::all(), request())
        .await
        .unwrap();
    let cursor = page.next.unwrap();
    let there = BookRepository::new(&second)
        .find_keyset(Filter::all(), request().after(cursor.clone()))
        .await
        .unwrap();
    let here = BookRepository::new(&first)
        .find_keyset(Filter::all(), request().after(cursor.clone()))
        .await
        .unwrap();
    assert_eq!(isbns(&there.items), isbns(&here.items));
    assert!(matches!(
        BookRepository::new(&stranger)
            .find_keyset(Filter::all(), request().after(cursor))
            .await,
        Err(Error::Validation { .. })
    ));
    assert!(matches!(
        Db::connect_with(
            "sqlite::memory:",
            DbOptions::new().cursor_key(b"short".to_vec())
        )
        .await,
        Err(Error::Validation { .. })
    ));
}

async fn lists_of_any_length(db: Db) {
    let all = seed(&db).await;
    let repo = BookRepository::new(&db);
    // More values than either backend's bind limit, with the real ones among them.
    let mut prices: Vec<i64> = (100_000..140_000).collect();
    prices.extend([10, 20, 30]);
    let got = isbns(
        &repo
            .find_all(Book::PRICE_CENTS.is_in(prices.clone()))
            .await
            .unwrap(),
    );
    assert_eq!(got, expect(&all, |b| [10, 20, 30].contains(&b.price_cents)));
    let got = isbns(
        &repo
            .find_all(Book::PRICE_CENTS.not_in(prices))
            .await
            .unwrap(),
    );
    assert_eq!(
        got,
        expect(&all, |b| ![10, 20, 30].contains(&b.price_cents))
    );
    let many_isbns: Vec<String> = (0..40_000).map(|i| format!("isbn-{i:04}")).collect();
    assert_eq!(
        repo.count(Book::ISBN.is_in(many_isbns)).await.unwrap(),
        ROWS as u64
    );
    let uuids: Vec<Uuid> = all
        .iter()
        .take(3)
        .map(|b| b.external)
        .chain((0..1000).map(|_| Uuid::new_v4()))
        .collect();
    assert_eq!(repo.count(Book::EXTERNAL.is_in(uuids)).await.unwrap(), 3);
    let days: Vec<NaiveDate> = (0..400)
        .map(|d| NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + chrono::Duration::days(d))
        .collect();
    assert_eq!(
        repo.count(Book::DAY.is_in(days)).await.unwrap(),
        ROWS as u64
    );
    let stamps: Vec<DateTime<Utc>> = all
        .iter()
        .map(|b| b.published)
        .chain((0..500).map(|s| Utc.timestamp_opt(s, 0).unwrap()))
        .collect();
    assert_eq!(
        repo.count(Book::PUBLISHED.is_in(stamps)).await.unwrap(),
        ROWS as u64
    );
    let shelves: Vec<Shelf> = (0..300).map(|i| SHELVES[i % 2]).collect();
    assert_eq!(
        isbns(&repo.find_all(Book::SHELF.is_in(shelves)).await.unwrap()),
        expect(&all, |b| b.shelf != Shelf::Middle)
    );
}

/// A custom condition binding an `i32` where a typed column bound an `i64`, on the same SQL
/// text, used to reuse the other's prepared statement on a pooled connection and fail.
async fn parameter_types_never_share_a_prepared_statement(db: Db) {
    let all = seed(&db).await;
    let repo = BookRepository::new(&db);
    for round in 0..20 {
        let typed = repo.count(Book::PRICE_CENTS.gt(200)).await.unwrap();
        let raw32 = repo
            .count(Filter::from_condition(Expr::col("price_cents").gt(250_i32)))
            .await
            .unwrap();
        let raw_float = repo
            .count(Filter::from_condition(
                Expr::col("price_cents").gt(250.5_f64),
            ))
            .await
            .unwrap();
        assert_eq!(
            typed,
            all.iter().filter(|b| b.price_cents > 200).count() as u64,
            "{round}"
        );
        assert_eq!(
            raw32,
            all.iter().filter(|b| b.price_cents > 250).count() as u64
        );
        assert_eq!(
            raw_float,
            all.iter().filter(|b| b.price_cents > 250).count() as u64
        );
    }
}

async fn errors_keep_their_cause(db: Db) {
    seed(&db).await;
    let repo = BookRepository::new(&db);
    let err = repo.insert(&book(3)).await.unwrap_err();
    assert!(
        matches!(&err, Error::Conflict { constraint, .. } if constraint == "books_isbn_key"),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("books_isbn_key"), "{text}");
    assert!(
        text.len() > "Book conflicts with an existing row on `books_isbn_key`: ".len(),
        "{text}"
    );
    let err = repo
        .count(Filter::from_condition(Expr::col("no_such_column").eq(1)))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("database error: "), "{text}");
    assert!(text.contains("no_such_column"), "{text}");
}

on_every_backend!(
    like_and_text_matching_are_literal_and_case_sensitive,
    a_pattern_ending_in_the_escape_character_matches_a_backslash,
    negations_are_complements_including_nulls,
    enums_compare_and_sort_by_declaration_order,
    nulls_sort_last_unless_asked_in_pages_and_keyset,
    cursors_of_every_type_page_correctly_and_refuse_tampering,
    lists_of_any_length,
    parameter_types_never_share_a_prepared_statement,
    errors_keep_their_cause,
    constraint_errors_name_what_the_schema_names,
);

/// The same filtered, ordered pages on PostgreSQL and SQLite over the same data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_rows_on_every_backend() {
    let sqlite = repo_tests::sqlite("same_rows_on_every_backend").await;
    let postgres = repo_tests::postgres("same_rows_on_every_backend").await;
    seed(&sqlite).await;
    seed(&postgres).await;
    let since = Utc.with_ymd_and_hms(2022, 6, 1, 0, 0, 0).unwrap();
    let queries: Vec<(Filter<Book>, Vec<Order<Book>>)> = vec![
        (Book::TITLE.like("%o%"), vec![Book::RATING.asc()]),
        (Book::TITLE.ilike("THE%"), vec![Book::NOTE.desc()]),
        (
            Book::NOTE.ne("note 2"),
            vec![Book::SHELF.asc(), Book::RATING.desc().nulls_first()],
        ),
        (
            Book::SHELF.gte(Shelf::Alpha),
            vec![Book::PREVIOUS_SHELF.asc()],
        ),
        (Book::PUBLISHED.gt(since), vec![Book::PUBLISHED.desc()]),
        (
            Book::RATING.is_null() | Book::PRICE_CENTS.lt(100),
            vec![Book::TITLE.asc()],
        ),
        (
            Book::TITLE.contains("%").not(),
            vec![Book::RATIO.asc(), Book::DAY.desc()],
        ),
    ];
    for (i, (filter, orders)) in queries.into_iter().enumerate() {
        let mut pages = Vec::new();
        for db in [&sqlite, &postgres] {
            let repo = BookRepository::new(db);
            let mut request = PageRequest::new(11).offset(5);
            for order in &orders {
                request = request.order_by(order.clone());
            }
            let page = repo.find(filter.clone(), request).await.unwrap();
            pages.push((page.total, isbns(&page.items)));
        }
        assert_eq!(pages[0], pages[1], "query {i}: SQLite vs PostgreSQL");
        assert!(!pages[0].1.is_empty(), "query {i} selects rows");
    }
    let _: Column<Book, String> = Book::TITLE;
}

/// A table created by plain SQL with named constraints and a column the entity leaves out.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "tomes")]
pub struct Tome {
    #[repo(primary_key)]
    pub id: i64,
    pub code: String,
    pub shelf_id: Option<i64>,
    pub qty: i32,
}

async fn run_sql(db: &Db, sql: &str) {
    repo_tests::raw_sql(db, sql).await.unwrap();
}

/// Every kind of constraint violation is typed and names the constraint as the schema does.
async fn constraint_errors_name_what_the_schema_names(db: Db) {
    let ddl = if db.backend() == Backend::MySql {
        // Named constraints at table level, the form MariaDB accepts for each of them.
        "CREATE TABLE shelves (id BIGINT PRIMARY KEY);
         INSERT INTO shelves (id) VALUES (1);
         CREATE TABLE tomes (
             id BIGINT PRIMARY KEY,
             code VARCHAR(64) NOT NULL,
             shelf_id BIGINT,
             qty INTEGER NOT NULL,
             CONSTRAINT tomes_code_unique UNIQUE (code),
             CONSTRAINT tomes_shelf FOREIGN KEY (shelf_id) REFERENCES shelves (id),
             CONSTRAINT qty_positive CHECK (qty > 0)
         );"
    } else {
        "CREATE TABLE shelves (id BIGINT PRIMARY KEY);
         INSERT INTO shelves (id) VALUES (1);
         CREATE TABLE tomes (
             id BIGINT PRIMARY KEY,
             code TEXT NOT NULL CONSTRAINT tomes_code_unique UNIQUE,
             shelf_id BIGINT CONSTRAINT tomes_shelf REFERENCES shelves (id),
             qty INTEGER NOT NULL CONSTRAINT qty_positive CHECK (qty > 0)
         );"
    };
    run_sql(&db, ddl).await;
    let repo = TomeRepository::new(&db);
    let tome = |id: i64, code: &str, shelf_id: Option<i64>, qty: i32| Tome {
        id,
        code: code.into(),
        shelf_id,
        qty,
    };
    repo.insert(&tome(1, "a", Some(1), 1)).await.unwrap();
    match repo.insert(&tome(2, "a", None, 1)).await {
        Err(Error::Conflict { constraint, .. }) => assert_eq!(constraint, "tomes_code_unique"),
        other => panic!("{other:?}"),
    }
    match repo.insert(&tome(1, "b", None, 1)).await {
        Err(Error::Conflict { constraint, .. }) => assert_eq!(constraint, "tomes_pkey"),
        other => panic!("{other:?}"),
    }
    match repo.insert(&tome(3, "c", Some(99), 1)).await {
        Err(Error::ForeignKey {
            constraint, source, ..
        }) => {
            assert_eq!(constraint.as_deref(), Some("tomes_shelf"), "{source:?}");
        }
        other => panic!("{other:?}"),
    }
    match repo.insert(&tome(4, "d", None, 0)).await {
        Err(Error::Check { constraint, .. }) => assert_eq!(constraint, "qty_positive"),
        other => panic!("{other:?}"),
    }
    run_sql(
        &db,
        "ALTER TABLE tomes ADD COLUMN label TEXT NOT NULL DEFAULT 'x'",
    )
    .await;
    run_sql(
        &db,
        "CREATE TABLE notes (id BIGINT PRIMARY KEY, body TEXT NOT NULL)",
    )
    .await;
    let err = repo
        .execute(
            &Query::insert()
                .into_table("notes")
                .columns(["id", "body"])
                .values_panic([Expr::val(1), Expr::val(Option::<String>::None)])
                .to_owned(),
        )
        .await
        .unwrap_err();
    match &err {
        Error::NotNull { column, .. } => assert_eq!(column, "body"),
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("body"), "{err}");
    assert_eq!(repo.count(Filter::all()).await.unwrap(), 1);
}
