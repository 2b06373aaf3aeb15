//! `repo generate` on the Sakila sample database (`tests/sakila`), on each backend: the
//! catalog is read, entities are written, and the output must be byte for byte the modules
//! under `tests/sakila/generated/<backend>/`, which this test compiles (so generated code
//! builds, and `cargo fmt --check` proves it rustfmt-clean). Those entities then verify
//! against the live tables and read the rows plain SQL counts. `REPO_BLESS=1` rewrites the
//! committed modules from the output instead of comparing.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use repo_cli::generate::{Generated, Request, generate};
use repo_core::prelude::*;
use repo_core::{Error, SchemaDifference};
use repo_tests::{raw_sql, scalar};

#[path = "sakila/generated/mariadb/mod.rs"]
#[allow(dead_code, unused_imports, clippy::struct_field_names)]
mod mariadb_sakila;
#[path = "sakila/generated/postgres/mod.rs"]
#[allow(dead_code, unused_imports, clippy::struct_field_names)]
mod postgres_sakila;
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
/// modules of `backend` (or rewrite them under `REPO_BLESS=1`); the generation's warnings.
async fn generate_and_compare(db: &Db, backend: &str) -> Vec<String> {
    let started = Instant::now();
    let generated = generate(db, &Request::default())
        .await
        .expect("generate from Sakila");
    let took = started.elapsed();
    let again = generate(db, &Request::default()).await.expect("again");
    assert_eq!(generated, again, "two runs on one schema differ");
    // A few dozen catalog queries: far under the 2 s a hundred tables may take.
    assert!(took < Duration::from_secs(2), "generation took {took:?}");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sakila/generated")
        .join(backend);
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
    let warnings = generate_and_compare(&db, "postgres").await;
    // What could not be generated is named, with its type.
    assert!(
        warned(&warnings, "film.fulltext: type tsvector"),
        "{warnings:?}"
    );
    assert!(
        warned(&warnings, "film.special_features: type text[]"),
        "{warnings:?}"
    );
    assert!(warned(&warnings, "film_list: a view"), "{warnings:?}");
    assert!(
        warned(&warnings, "payment_p2007_01: no primary key"),
        "{warnings:?}"
    );
    // `fulltext` is NOT NULL without a default (a trigger fills it), which verify reports.
    let fulltext = SchemaDifference::UndeclaredRequiredColumn {
        column: "fulltext".into(),
    };
    verify(&db, &postgres_sakila::declarations(), &[("film", fulltext)]).await;

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
    let warnings = generate_and_compare(&db, "mariadb").await;
    assert!(
        warned(&warnings, "film.release_year: type year(4)"),
        "{warnings:?}"
    );
    assert!(
        warned(&warnings, "film.special_features: type set("),
        "{warnings:?}"
    );
    assert!(warned(&warnings, "staff_list: a view"), "{warnings:?}");
    verify(&db, &mariadb_sakila::declarations(), &[]).await;

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
    let warnings = generate_and_compare(&db, "sqlite").await;
    assert!(warned(&warnings, "customer_list: a view"), "{warnings:?}");
    verify(&db, &sqlite_sakila::declarations(), &[]).await;

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
