//! `repo generate` on the Sakila sample database (`tests/sakila`), on each backend: the
//! catalog is read, entities are written, and the output must be byte for byte the modules
//! under `tests/sakila/generated/<backend>/`, which this test compiles (so generated code
//! builds, and `cargo fmt --check` proves it rustfmt-clean). Those entities then verify
//! against the live tables and read the rows plain SQL counts. `REPO_BLESS=1` rewrites the
//! committed modules from the output instead of comparing.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use repo_cli::generate::{Generated, Request, generate};
use repo_core::prelude::*;
use repo_core::{Error, SchemaDifference};
use repo_tests::{raw_sql, scalar};

#[path = "names/generated/mariadb/mod.rs"]
#[allow(dead_code, unused_imports, clippy::struct_field_names)]
mod mariadb_names;
#[path = "sakila/generated/mariadb/mod.rs"]
#[allow(dead_code, unused_imports, clippy::struct_field_names)]
mod mariadb_sakila;
#[path = "names/generated/postgres/mod.rs"]
#[allow(dead_code, unused_imports, clippy::struct_field_names)]
mod postgres_names;
#[path = "sakila/generated/postgres/mod.rs"]
#[allow(dead_code, unused_imports, clippy::struct_field_names)]
mod postgres_sakila;
#[path = "names/generated/sqlite/mod.rs"]
#[allow(dead_code, unused_imports, clippy::struct_field_names)]
mod sqlite_names;
#[path = "sakila/generated/sqlite/mod.rs"]
#[allow(dead_code, unused_imports, clippy::struct_field_names)]
mod sqlite_sakila;

fn sakila(file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sakila")
        .join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Load Sakila's schema and data (`<prefix>-schema.sql`, `<prefix>-data.sql`) on one
/// connection: SQLite's data file defers a foreign key inside a savepoint.
async fn load(db: &Db, prefix: &str) {
    let text = format!(
        "{}\n{}",
        sakila(&format!("{prefix}-schema.sql")),
        sakila(&format!("{prefix}-data.sql"))
    );
    if let Some(pool) = db.sqlite_pool() {
        let mut conn = pool.acquire().await.expect("a SQLite connection");
        sqlx::raw_sql(sqlx::AssertSqlSafe(text))
            .execute(&mut *conn)
            .await
            .expect("load Sakila");
    } else {
        raw_sql(db, &text).await.expect("load Sakila");
    }
}

/// Generate from `db` twice (the same bytes both times) and compare with the committed
/// modules in `dir` (under `tests/`; rewritten instead under `REPO_BLESS=1`); the
/// generation's warnings.
async fn generate_and_compare(db: &Db, dir: &str) -> Vec<String> {
    let started = Instant::now();
    let generated = generate(db, &Request::default())
        .await
        .expect("generate from Sakila");
    let took = started.elapsed();
    let again = generate(db, &Request::default()).await.expect("again");
    assert_eq!(generated, again, "two runs on one schema differ");
    // A few dozen catalog queries: far under the 2 s a hundred tables may take.
    assert!(took < Duration::from_secs(2), "generation took {took:?}");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    if std::env::var_os("REPO_BLESS").is_some() {
        let _ = std::fs::remove_dir_all(&dir);
        generated.write(&dir).expect("write the generated modules");
    }
    compare(&generated, &dir);
    generated.warnings
}

fn compare(generated: &Generated, dir: &PathBuf) {
    let mut committed: Vec<String> = std::fs::read_dir(dir)
        .expect("the committed modules")
        .map(|entry| {
            entry
                .expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    committed.sort();
    let written: Vec<String> = generated.files.keys().cloned().collect();
    assert_eq!(
        written,
        committed,
        "files generated vs committed in {}",
        dir.display()
    );
    for (name, text) in &generated.files {
        let on_disk = std::fs::read_to_string(dir.join(name)).expect("a committed module");
        assert!(
            *text == on_disk,
            "{name} differs from {} (rerun with REPO_BLESS=1 after checking the change):\n{text}",
            dir.display()
        );
    }
}

/// `verify_all` on the generated declarations: no difference but `allowed`.
async fn verify(
    db: &Db,
    declarations: &[repo_core::Declaration],
    allowed: &[(&str, SchemaDifference)],
) {
    let Err(error) = db.verify_all(declarations).await else {
        assert!(allowed.is_empty(), "expected {allowed:?}");
        return;
    };
    let Error::Schemas { errors } = error else {
        panic!("verify_all failed: {error}");
    };
    let mut found = Vec::new();
    for error in errors {
        match error {
            Error::Schema {
                table, differences, ..
            } => found.extend(differences.into_iter().map(|d| (table, d))),
            other => panic!("verify_all failed: {other}"),
        }
    }
    let allowed: Vec<(&str, SchemaDifference)> = allowed.to_vec();
    assert_eq!(
        found, allowed,
        "differences between the generated entities and Sakila"
    );
}

/// `Db::diff` of the generated declarations: nothing to change but leaving `kept` columns
/// (the ones generation leaves out) alone.
async fn diff_is_empty(db: &Db, declarations: &[repo_core::Declaration], kept: &[(&str, &str)]) {
    let options = kept
        .iter()
        .fold(repo_core::DiffOptions::new(), |options, (table, column)| {
            options.keep_column(*table, *column)
        });
    let migration = db
        .diff(declarations, &options)
        .await
        .expect("the diff runs");
    let steps: Vec<String> = migration
        .steps()
        .map(|(table, step)| format!("{table}: {}", step.change))
        .collect();
    assert!(
        steps.is_empty(),
        "the generated entities diff empty: {steps:?}"
    );
}

/// The views of Sakila read through their generated read-only entities: each counts what
/// plain SQL counts, pages sort, and keyset pages (which need a key) are refused.
macro_rules! read_views {
    ($db:expr, $module:ident, $($view:ident: $table:literal),+ $(,)?) => {{
        $(
            let counted = $module::$view::new($db).count(Filter::all()).await.unwrap();
            let sql = scalar($db, concat!("SELECT COUNT(*) FROM ", $table)).await;
            assert_eq!(i64::try_from(counted).unwrap(), sql, "rows of {}", $table);
        )+
    }};
}

async fn sales_by_store_pages<E>(
    repo: &repo_core::Repository<'_, E>,
    order: impl Fn() -> repo_core::Order<E>,
) where
    E: Entity + std::fmt::Debug,
{
    let page = repo
        .find(Filter::all(), PageRequest::new(10).order_by(order()))
        .await
        .unwrap();
    assert_eq!(page.total, 2);
    assert_eq!(page.items.len(), 2);
    let error = repo
        .find_keyset(
            Filter::all(),
            repo_core::KeysetRequest::new(1).order_by(order()),
        )
        .await
        .expect_err("a view has no key to break ties");
    assert!(
        matches!(&error, Error::Validation { field, .. } if field == "order"),
        "{error}"
    );
}

fn warned(warnings: &[String], needle: &str) -> bool {
    warnings.iter().any(|warning| warning.contains(needle))
}

#[tokio::test]
async fn postgres_sakila_generates_entities_that_verify_and_read() {
    use postgres_sakila::{
        Film, FilmActor, FilmActorRepository, FilmRepository, MpaaRating, Payment,
        PaymentRepository,
    };
    let db = repo_tests::postgres("sakila_generate").await;
    load(&db, "postgres").await;
    let warnings = generate_and_compare(&db, "sakila/generated/postgres").await;
    // What could not be generated is named, with its type.
    assert!(
        warned(&warnings, "film.fulltext: type tsvector"),
        "{warnings:?}"
    );
    assert!(
        warned(&warnings, "film.special_features: type text[]"),
        "{warnings:?}"
    );
    // `fulltext` is NOT NULL without a default (a trigger fills it), which verify reports.
    let fulltext = SchemaDifference::UndeclaredRequiredColumn {
        column: "fulltext".into(),
    };
    verify(&db, &postgres_sakila::declarations(), &[("film", fulltext)]).await;
    let left_out = [("film", "fulltext"), ("film", "special_features")];
    diff_is_empty(&db, &postgres_sakila::declarations(), &left_out).await;
    read_views!(
        &db,
        postgres_sakila,
        ActorInfoRepository: "actor_info",
        CustomerListRepository: "customer_list",
        FilmListRepository: "film_list",
        NicerButSlowerFilmListRepository: "nicer_but_slower_film_list",
        SalesByFilmCategoryRepository: "sales_by_film_category",
        SalesByStoreRepository: "sales_by_store",
        StaffListRepository: "staff_list",
        PaymentP200701Repository: "payment_p2007_01",
    );
    sales_by_store_pages(&postgres_sakila::SalesByStoreRepository::new(&db), || {
        postgres_sakila::SalesByStore::STORE.asc()
    })
    .await;

    let films = FilmRepository::new(&db);
    assert_eq!(films.count(Filter::all()).await.unwrap(), 1000);
    let pg13 = films
        .count(Film::RATING.eq(MpaaRating::Pg13))
        .await
        .unwrap();
    let sql = scalar(&db, "SELECT COUNT(*) FROM film WHERE rating = 'PG-13'").await;
    assert_eq!(i64::try_from(pg13).unwrap(), sql);
    let film = films.get(133).await.unwrap();
    assert_eq!(film.title, "CHAMBER ITALIAN");
    assert_eq!(film.rental_rate.to_string(), "4.99");
    let cast = FilmActorRepository::new(&db)
        .get((1, 1))
        .await
        .expect("actor 1 in film 1");
    assert_eq!((cast.actor_id, cast.film_id), (1, 1));
    let in_film: u64 = FilmActorRepository::new(&db)
        .count(FilmActor::FILM_ID.eq(1))
        .await
        .unwrap();
    let sql = scalar(&db, "SELECT COUNT(*) FROM film_actor WHERE film_id = 1").await;
    assert_eq!(i64::try_from(in_film).unwrap(), sql);
    let page = PaymentRepository::new(&db)
        .find(
            Payment::CUSTOMER_ID.eq(1),
            PageRequest::new(5).order_by(Payment::PAYMENT_DATE.desc()),
        )
        .await
        .unwrap();
    let sql = scalar(&db, "SELECT COUNT(*) FROM payment WHERE customer_id = 1").await;
    assert_eq!(i64::try_from(page.total).unwrap(), sql);
    assert_eq!(page.items.len(), 5);
    assert!(
        page.items
            .windows(2)
            .all(|w| w[0].payment_date >= w[1].payment_date)
    );
}

#[tokio::test]
async fn mysql_sakila_generates_entities_that_verify_and_read() {
    use mariadb_sakila::{
        Film, FilmActorRepository, FilmRating, FilmRepository, Payment, PaymentRepository,
    };
    let db = repo_tests::mysql("sakila_generate").await;
    load(&db, "mariadb").await;
    let warnings = generate_and_compare(&db, "sakila/generated/mariadb").await;
    assert!(
        warned(&warnings, "film.release_year: type year(4)"),
        "{warnings:?}"
    );
    assert!(
        warned(&warnings, "film.special_features: type set("),
        "{warnings:?}"
    );
    verify(&db, &mariadb_sakila::declarations(), &[]).await;
    let left_out = [("film", "special_features"), ("film", "release_year")];
    diff_is_empty(&db, &mariadb_sakila::declarations(), &left_out).await;
    read_views!(
        &db,
        mariadb_sakila,
        ActorInfoRepository: "actor_info",
        CustomerListRepository: "customer_list",
        FilmListRepository: "film_list",
        NicerButSlowerFilmListRepository: "nicer_but_slower_film_list",
        SalesByFilmCategoryRepository: "sales_by_film_category",
        SalesByStoreRepository: "sales_by_store",
        StaffListRepository: "staff_list",
    );
    sales_by_store_pages(&mariadb_sakila::SalesByStoreRepository::new(&db), || {
        mariadb_sakila::SalesByStore::STORE.asc()
    })
    .await;

    let films = FilmRepository::new(&db);
    assert_eq!(films.count(Filter::all()).await.unwrap(), 1000);
    let pg13 = films
        .count(Film::RATING.eq(FilmRating::Pg13))
        .await
        .unwrap();
    let sql = scalar(&db, "SELECT COUNT(*) FROM film WHERE rating = 'PG-13'").await;
    assert_eq!(i64::try_from(pg13).unwrap(), sql);
    let film = films.get(133_u32).await.unwrap();
    assert_eq!(film.title, "CHAMBER ITALIAN");
    assert_eq!(film.rental_rate.to_string(), "4.99");
    let cast = FilmActorRepository::new(&db)
        .get((1_u32, 1_u32))
        .await
        .unwrap();
    assert_eq!((cast.actor_id, cast.film_id), (1, 1));
    let page = PaymentRepository::new(&db)
        .find(
            Payment::CUSTOMER_ID.eq(1_u32),
            PageRequest::new(5).order_by(Payment::PAYMENT_DATE.desc()),
        )
        .await
        .unwrap();
    let sql = scalar(&db, "SELECT COUNT(*) FROM payment WHERE customer_id = 1").await;
    assert_eq!(i64::try_from(page.total).unwrap(), sql);
    assert!(
        page.items
            .windows(2)
            .all(|w| w[0].payment_date >= w[1].payment_date)
    );
}

#[tokio::test]
async fn sqlite_sakila_generates_entities_that_verify_and_read() {
    use sqlite_sakila::{Film, FilmActorRepository, FilmRepository, Payment, PaymentRepository};
    let db = repo_tests::sqlite("sakila_generate").await;
    load(&db, "sqlite").await;
    let warnings = generate_and_compare(&db, "sakila/generated/sqlite").await;
    // SQLite gives a view's computed columns no type: left out, and said so.
    assert!(
        warned(&warnings, "sales_by_store.store: type (none declared)"),
        "{warnings:?}"
    );
    verify(&db, &sqlite_sakila::declarations(), &[]).await;
    diff_is_empty(&db, &sqlite_sakila::declarations(), &[]).await;
    read_views!(
        &db,
        sqlite_sakila,
        CustomerListRepository: "customer_list",
        FilmListRepository: "film_list",
        SalesByFilmCategoryRepository: "sales_by_film_category",
        SalesByStoreRepository: "sales_by_store",
        StaffListRepository: "staff_list",
    );
    sales_by_store_pages(&sqlite_sakila::SalesByStoreRepository::new(&db), || {
        sqlite_sakila::SalesByStore::STORE_ID.asc()
    })
    .await;

    let films = FilmRepository::new(&db);
    assert_eq!(films.count(Filter::all()).await.unwrap(), 1000);
    let pg13 = films.count(Film::RATING.eq("PG-13")).await.unwrap();
    let sql = scalar(&db, "SELECT COUNT(*) FROM film WHERE rating = 'PG-13'").await;
    assert_eq!(i64::try_from(pg13).unwrap(), sql);
    let film = films.get(133).await.unwrap();
    assert_eq!(film.title, "CHAMBER ITALIAN");
    assert_eq!(film.rental_rate.to_string(), "4.99");
    let cast = FilmActorRepository::new(&db).get((1, 1)).await.unwrap();
    assert_eq!((cast.actor_id, cast.film_id), (1, 1));
    let page = PaymentRepository::new(&db)
        .find(
            Payment::CUSTOMER_ID.eq(1),
            PageRequest::new(5).order_by(Payment::PAYMENT_DATE.desc()),
        )
        .await
        .unwrap();
    let sql = scalar(&db, "SELECT COUNT(*) FROM payment WHERE customer_id = 1").await;
    assert_eq!(i64::try_from(page.total).unwrap(), sql);
    assert!(
        page.items
            .windows(2)
            .all(|w| w[0].payment_date >= w[1].payment_date)
    );
}

/// Names no Rust item can have as they are: spaces, a keyword, a leading digit, mixed case,
/// two columns that read as one name, enum labels that are not identifiers (one a case
/// variant of another), a field named like its struct; and a composite key.
const POSTGRES_NAMES: &str = r#"
CREATE TYPE "Ticket State" AS ENUM ('open', 'PG-13', 'it''s', 'Open');
CREATE TABLE "Order Items" (
    "ID" integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    "Order Total" numeric(10, 2) NOT NULL,
    "type" varchar(20) NOT NULL,
    "2fa" boolean,
    "FirstName" varchar(50),
    first_name varchar(50),
    state "Ticket State" NOT NULL,
    UNIQUE ("type", "FirstName")
);
CREATE INDEX order_items_total ON "Order Items" ("Order Total");
CREATE TABLE line (order_id integer NOT NULL, line smallint NOT NULL, note text, PRIMARY KEY (order_id, line));
"#;

const MARIADB_NAMES: &str = r"
CREATE TABLE `Order Items` (
    `ID` int NOT NULL AUTO_INCREMENT PRIMARY KEY,
    `Order Total` decimal(10, 2) NOT NULL,
    `type` varchar(20) NOT NULL,
    `2fa` tinyint(1),
    `FirstName` varchar(50),
    first_name varchar(50),
    state enum('open', 'PG-13', 'it''s', 'Open') NOT NULL,
    UNIQUE KEY order_items_kind (`type`, `FirstName`),
    KEY order_items_total (`Order Total`)
);
CREATE TABLE line (order_id int NOT NULL, line smallint NOT NULL, note text, PRIMARY KEY (order_id, line));
";

const SQLITE_NAMES: &str = r#"
CREATE TABLE "Order Items" (
    "ID" INTEGER PRIMARY KEY,
    "Order Total" NUMERIC NOT NULL,
    "type" VARCHAR(20) NOT NULL,
    "2fa" BOOLEAN,
    "FirstName" VARCHAR(50),
    first_name VARCHAR(50),
    state TEXT NOT NULL,
    UNIQUE ("type", "FirstName")
);
CREATE INDEX order_items_total ON "Order Items" ("Order Total");
CREATE TABLE line (order_id INTEGER NOT NULL, line SMALLINT NOT NULL, note TEXT, PRIMARY KEY (order_id, line));
"#;

/// The `Order Items` row the names tests insert, and how plain SQL reads it back.
const NAMES_READ_BACK: &str = "SELECT COUNT(*) FROM \"Order Items\" \
     WHERE \"Order Total\" = 12.5 AND \"type\" = 'gift' AND \"FirstName\" = 'Ann' \
       AND first_name = 'ann' AND \"2fa\" = TRUE";

/// Generate from the awkward-names tables of one backend, verify, insert through the
/// generated `NewOrderItems` and read back with plain SQL (`quote` quotes names there), `get`
/// and a filter on the renamed column; then the composite key of `line`.
macro_rules! awkward_names_round_trip {
    ($db:expr, $module:ident, $dir:literal, $ddl:expr, $state:expr, $quote:literal, $line:expr) => {{
        use $module::{Line, LineRepository, OrderItems, OrderItemsRepository};
        let db = $db;
        raw_sql(&db, $ddl).await.expect("create the tables");
        generate_and_compare(&db, $dir).await;
        verify(&db, &$module::declarations(), &[]).await;
        diff_is_empty(&db, &$module::declarations(), &[]).await;
        let stored = OrderItemsRepository::new(&db)
            .insert_new($module::order_items::NewOrderItems {
                order_total: "12.50".parse().unwrap(),
                type_: "gift".into(),
                x2fa: Some(true),
                first_name: Some("Ann".into()),
                first_name_2: Some("ann".into()),
                state: $state,
            })
            .await
            .unwrap();
        let quoted = |sql: &str| sql.replace('"', $quote);
        assert_eq!(scalar(&db, &quoted(NAMES_READ_BACK)).await, 1);
        let sql = format!(
            "SELECT COUNT(*) FROM \"Order Items\" WHERE \"ID\" = {} AND state = 'it''s'",
            stored.id
        );
        assert_eq!(scalar(&db, &quoted(&sql)).await, 1);
        let repo = OrderItemsRepository::new(&db);
        assert_eq!(repo.get(stored.id).await.unwrap(), stored);
        assert_eq!(repo.count(OrderItems::TYPE.eq("gift")).await.unwrap(), 1);
        let lines = LineRepository::new(&db);
        raw_sql(&db, "INSERT INTO line VALUES (7, 2, 'two')")
            .await
            .unwrap();
        assert_eq!(
            lines.get((7, 2)).await.unwrap().note.as_deref(),
            Some("two")
        );
        assert_eq!(lines.count(Line::LINE.eq($line)).await.unwrap(), 1);
    }};
}

#[tokio::test]
async fn postgres_awkward_names_generate_entities_that_verify_and_write() {
    awkward_names_round_trip!(
        repo_tests::postgres("names_generate").await,
        postgres_names,
        "names/generated/postgres",
        POSTGRES_NAMES,
        postgres_names::TicketState::ItS,
        "\"",
        2_i16
    );
}

#[tokio::test]
async fn mysql_awkward_names_generate_entities_that_verify_and_write() {
    awkward_names_round_trip!(
        repo_tests::mysql("names_generate").await,
        mariadb_names,
        "names/generated/mariadb",
        MARIADB_NAMES,
        mariadb_names::OrderItemsState::ItS,
        "`",
        2_i16
    );
}

#[tokio::test]
async fn sqlite_awkward_names_generate_entities_that_verify_and_write() {
    awkward_names_round_trip!(
        repo_tests::sqlite("names_generate").await,
        sqlite_names,
        "names/generated/sqlite",
        SQLITE_NAMES,
        "it's".to_owned(),
        "\"",
        2_i64
    );
}

/// A hundred tables of ten columns each: generated in under two seconds, the same twice.
#[tokio::test]
async fn postgres_a_hundred_tables_generate_fast_and_the_same_twice() {
    let db = repo_tests::postgres("hundred_generate").await;
    let mut ddl = String::new();
    for t in 0..100 {
        let _ = write!(
            ddl,
            "CREATE TABLE t{t:03} (id bigint PRIMARY KEY, name text NOT NULL, note text, \
             amount numeric(12, 2), at timestamptz NOT NULL, day date, flag boolean NOT NULL, \
             data jsonb, ref uuid, n integer); CREATE INDEX t{t:03}_name ON t{t:03} (name);"
        );
    }
    raw_sql(&db, &ddl).await.expect("create 100 tables");
    let started = Instant::now();
    let first = generate(&db, &Request::default()).await.unwrap();
    let took = started.elapsed();
    let second = generate(&db, &Request::default()).await.unwrap();
    assert!(took < Duration::from_secs(2), "100 tables took {took:?}");
    assert_eq!(first, second);
    assert_eq!(first.files.len(), 101, "a module per table and mod.rs");
    assert!(first.warnings.is_empty(), "{:?}", first.warnings);
    assert!(first.files["t042.rs"].contains("    #[repo(index)]\n    pub name: String,\n"));
    assert!(first.files["t042.rs"].contains("    pub amount: Option<Decimal>,\n"));
    // Asking for tables by name: only those, and a missing one is an error naming it.
    let only = Request {
        tables: Some(vec!["t007".into(), "t070".into()]),
        ..Request::default()
    };
    let two = generate(&db, &only).await.unwrap();
    assert_eq!(two.files.len(), 3);
    let missing = Request {
        tables: Some(vec!["t007".into(), "t100".into()]),
        ..Request::default()
    };
    let error = generate(&db, &missing)
        .await
        .expect_err("t100 does not exist");
    assert_eq!(error.to_string(), "no table or view named t100");
}

/// Names from the catalog are not ours to trust: a table and column whose names hold a line
/// break and Rust code stay inside the comments and string literals they are written into.
#[tokio::test]
async fn sqlite_names_holding_code_stay_in_comments_and_literals() {
    let db = repo_tests::sqlite("hostile_generate").await;
    let table = "t\n}\nfn injected() {}\n//";
    raw_sql(
        &db,
        &format!(
            "CREATE TABLE \"{table}\" (id INTEGER PRIMARY KEY, \"c\nfn column_code() {{}}\" GEOMETRY)"
        ),
    )
    .await
    .unwrap();
    let generated = generate(&db, &Request::default()).await.unwrap();
    let module = generated
        .files
        .iter()
        .find(|(name, _)| name.as_str() != "mod.rs")
        .map(|(_, text)| text)
        .expect("a module for the table");
    for line in module.lines() {
        assert!(
            !line.trim_start().starts_with("fn "),
            "a name wrote code:\n{module}"
        );
    }
    assert!(
        module.contains(r#"#[repo(table = "t\n}\nfn injected() {}\n//")]"#),
        "{module}"
    );
    assert!(
        module.contains(r"//! The `t\n}\nfn injected() {}\n//` table."),
        "{module}"
    );
    assert!(
        module.contains(r"// `c\nfn column_code() {}` (GEOMETRY)"),
        "{module}"
    );
}
