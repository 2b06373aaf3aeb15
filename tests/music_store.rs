//! An existing schema, created and filled by plain SQL as another application would: a music
//! store with text keys, `NUMERIC` money, `DATE` and `TIMESTAMP` columns, a column whose name
//! is not the field's, and a link table keyed by two columns. Every `BaseRepository` operation
//! is checked against plain-SQL reads of the same tables, on every backend.

use chrono::{NaiveDate, NaiveDateTime};
use futures_util::TryStreamExt as _;
use repo_core::prelude::*;
use repo_core::rust_decimal::Decimal;
use repo_core::{Backend, Declaration, Error, SchemaDifference};

repo_tests::on_every_backend!(
    existing_rows_read_as_plain_sql_wrote_them,
    one_link_of_a_composite_key_is_one_row,
    composite_keys_insert_update_upsert_and_bulk,
    composite_key_pages_and_filtered_writes,
    composite_key_cursors_refuse_edited_and_truncated_keys,
    money_dates_and_text_keys_through_every_operation,
    verify_accepts_the_schema_and_names_a_wrong_key,
    concurrent_bulk_upserts_of_links_never_lose_or_duplicate,
    concurrent_claims_of_composite_keys_take_each_row_once,
);

/// A genre, keyed by a text code the application chooses.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "genres")]
pub struct Genre {
    #[repo(primary_key)]
    pub code: String,
    pub name: String,
}

/// A track; its composer column is named `Composer` in the table.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "tracks")]
pub struct Track {
    #[repo(primary_key)]
    pub track_id: i64,
    pub name: String,
    pub genre_code: String,
    #[repo(column = "Composer")]
    pub composer: Option<String>,
    pub unit_price: Decimal,
    pub released: NaiveDate,
}

/// An invoice, its date a `TIMESTAMP` without time zone.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "invoices")]
pub struct Invoice {
    #[repo(primary_key)]
    pub invoice_id: i64,
    pub customer: String,
    pub invoice_date: NaiveDateTime,
    pub total: Decimal,
}

/// A track on a playlist: the key is the pair.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "playlist_track")]
pub struct PlaylistTrack {
    #[repo(primary_key)]
    pub playlist_id: i64,
    #[repo(primary_key)]
    pub track_id: i64,
    pub slot: i32,
    pub added_on: NaiveDate,
}

/// The same link table declared with a one-column key, which it does not have.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "playlist_track")]
pub struct WrongKeyLink {
    #[repo(primary_key)]
    pub playlist_id: i64,
    pub track_id: i64,
    pub slot: i32,
    pub added_on: NaiveDate,
}

const TRACKS: i64 = 12;

fn schema(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => {
            "CREATE TABLE genres (code TEXT PRIMARY KEY, name TEXT NOT NULL);
             CREATE TABLE tracks (track_id BIGINT PRIMARY KEY, name TEXT NOT NULL,
                 genre_code TEXT NOT NULL REFERENCES genres (code), \"Composer\" TEXT,
                 unit_price NUMERIC(10,2) NOT NULL, released DATE NOT NULL);
             CREATE TABLE invoices (invoice_id BIGINT PRIMARY KEY, customer TEXT NOT NULL,
                 invoice_date TIMESTAMP NOT NULL, total NUMERIC(10,2) NOT NULL);
             CREATE TABLE playlist_track (playlist_id BIGINT NOT NULL,
                 track_id BIGINT NOT NULL REFERENCES tracks (track_id),
                 slot INTEGER NOT NULL, added_on DATE NOT NULL,
                 PRIMARY KEY (playlist_id, track_id));"
        }
        Backend::MySql => {
            "CREATE TABLE genres (code VARCHAR(32) PRIMARY KEY, name VARCHAR(200) NOT NULL);
             CREATE TABLE tracks (track_id BIGINT PRIMARY KEY, name VARCHAR(200) NOT NULL,
                 genre_code VARCHAR(32) NOT NULL REFERENCES genres (code), \"Composer\" VARCHAR(200),
                 unit_price DECIMAL(10,2) NOT NULL, released DATE NOT NULL,
                 FOREIGN KEY (genre_code) REFERENCES genres (code));
             CREATE TABLE invoices (invoice_id BIGINT PRIMARY KEY, customer VARCHAR(200) NOT NULL,
                 invoice_date DATETIME(6) NOT NULL, total DECIMAL(10,2) NOT NULL);
             CREATE TABLE playlist_track (playlist_id BIGINT NOT NULL, track_id BIGINT NOT NULL,
                 slot INTEGER NOT NULL, added_on DATE NOT NULL,
                 PRIMARY KEY (playlist_id, track_id),
                 FOREIGN KEY (track_id) REFERENCES tracks (track_id));"
        }
        _ => {
            "CREATE TABLE genres (code TEXT PRIMARY KEY, name TEXT NOT NULL);
             CREATE TABLE tracks (track_id INTEGER PRIMARY KEY, name TEXT NOT NULL,
                 genre_code TEXT NOT NULL REFERENCES genres (code), \"Composer\" TEXT,
                 unit_price TEXT NOT NULL, released TEXT NOT NULL);
             CREATE TABLE invoices (invoice_id INTEGER PRIMARY KEY, customer TEXT NOT NULL,
                 invoice_date TEXT NOT NULL, total TEXT NOT NULL);
             CREATE TABLE playlist_track (playlist_id INTEGER NOT NULL,
                 track_id INTEGER NOT NULL REFERENCES tracks (track_id),
                 slot INTEGER NOT NULL, added_on TEXT NOT NULL,
                 PRIMARY KEY (playlist_id, track_id));"
        }
    }
}

/// The store as plain SQL fills it: 3 genres, 12 tracks, 5 invoices; playlist 1 holds tracks
/// 1 to 8, playlist 2 tracks 1 to 5.
async fn store(db: &Db) {
    repo_tests::raw_sql(db, schema(db.backend())).await.unwrap();
    // SQLite keeps money as text; the others take numbers.
    let money = |amount: &str| {
        if db.backend() == Backend::Sqlite {
            format!("'{amount}'")
        } else {
            amount.to_owned()
        }
    };
    let mut sql = vec![
        "INSERT INTO genres (code, name) VALUES ('rock', 'Rock'), ('jazz', 'Jazz'), \
         ('metal', 'Metal')"
            .to_owned(),
    ];
    let genres = ["rock", "jazz", "metal"];
    let tracks: Vec<String> = (1..=TRACKS)
        .map(|id| {
            let composer = if id % 4 == 0 {
                "NULL".to_owned()
            } else {
                format!("'Composer {id}'")
            };
            let price = if id % 3 == 0 { "1.99" } else { "0.99" };
            format!(
                "({id}, 'Track {id}', '{}', {composer}, {}, '2001-0{}-1{}')",
                genres[(id % 3) as usize],
                money(price),
                1 + id % 9,
                id % 10
            )
        })
        .collect();
    sql.push(format!(
        "INSERT INTO tracks (track_id, name, genre_code, \"Composer\", unit_price, released) \
         VALUES {}",
        tracks.join(", ")
    ));
    sql.push(format!(
        "INSERT INTO invoices (invoice_id, customer, invoice_date, total) VALUES \
         (1, 'Ana', '2021-01-01 10:00:00', {}), (2, 'Bo', '2021-02-11 23:59:59.5', {}), \
         (3, 'Ana', '2021-03-05 08:30:00', {}), (4, 'Cy', '2022-07-14 12:00:00', {}), \
         (5, 'Bo', '2023-12-31 00:00:00', {})",
        money("3.98"),
        money("0.99"),
        money("13.86"),
        money("1.99"),
        money("5.94"),
    ));
    let mut links = Vec::new();
    for (playlist, last) in [(1, 8), (2, 5)] {
        for track in 1..=last {
            links.push(format!(
                "({playlist}, {track}, {track}, '2020-05-{track:02}')"
            ));
        }
    }
    sql.push(format!(
        "INSERT INTO playlist_track (playlist_id, track_id, slot, added_on) VALUES {}",
        links.join(", ")
    ));
    repo_tests::raw_sql(db, &sql.join(";\n")).await.unwrap();
}

/// One number read by plain SQL.
async fn scalar(db: &Db, sql: &str) -> i64 {
    if db.postgres_pool().is_some() {
        return repo_tests::scalar(db, sql).await;
    }
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    if let Some(pool) = db.mysql_pool() {
        sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await
    } else {
        let pool = db.sqlite_pool().expect("a SQLite pool");
        sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await
    }
    .unwrap_or_else(|e| panic!("{e}: {}", "plain SQL read"))
}

async fn links(db: &Db, condition: &str) -> i64 {
    scalar(
        db,
        &format!("SELECT COUNT(*) FROM playlist_track WHERE {condition}"),
    )
    .await
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a valid test date")
}

fn money(text: &str) -> Decimal {
    text.parse().expect("a decimal")
}

async fn existing_rows_read_as_plain_sql_wrote_them(db: Db) {
    store(&db).await;
    let tracks = TrackRepository::new(&db);
    let four = tracks.get(4).await.unwrap();
    assert_eq!(
        four,
        Track {
            track_id: 4,
            name: "Track 4".into(),
            genre_code: "jazz".into(),
            composer: None,
            unit_price: money("0.99"),
            released: date(2001, 5, 14),
        }
    );
    assert_eq!(tracks.get(3).await.unwrap().unit_price.to_string(), "1.99");
    assert_eq!(
        tracks.get(3).await.unwrap().composer.as_deref(),
        Some("Composer 3")
    );
    let invoice = InvoiceRepository::new(&db).get(2).await.unwrap();
    assert_eq!(
        invoice.invoice_date,
        date(2021, 2, 11)
            .and_hms_milli_opt(23, 59, 59, 500)
            .unwrap()
    );
    assert_eq!(invoice.total, money("0.99"));
    let genre = GenreRepository::new(&db).get("metal").await.unwrap();
    assert_eq!(genre.name, "Metal");
    let link = PlaylistTrackRepository::new(&db).get((2, 4)).await.unwrap();
    assert_eq!((link.slot, link.added_on), (4, date(2020, 5, 4)));

    // Counts and filters agree with plain SQL.
    assert_eq!(
        tracks.count(Filter::all()).await.unwrap() as i64,
        scalar(&db, "SELECT COUNT(*) FROM tracks").await
    );
    assert_eq!(
        tracks
            .count(Track::UNIT_PRICE.gt(money("1.00")))
            .await
            .unwrap() as i64,
        scalar(&db, "SELECT COUNT(*) FROM tracks WHERE track_id % 3 = 0").await
    );
    assert_eq!(
        tracks.count(Track::COMPOSER.is_null()).await.unwrap() as i64,
        scalar(
            &db,
            "SELECT COUNT(*) FROM tracks WHERE \"Composer\" IS NULL"
        )
        .await
    );
    let streamed: Vec<Track> = tracks
        .stream(Track::GENRE_CODE.eq("rock"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        streamed.len() as i64,
        scalar(&db, "SELECT COUNT(*) FROM tracks WHERE genre_code = 'rock'").await
    );
}

async fn one_link_of_a_composite_key_is_one_row(db: Db) {
    store(&db).await;
    let repo = PlaylistTrackRepository::new(&db);
    assert_eq!(links(&db, "1 = 1").await, 13);
    assert!(repo.delete((1, 3)).await.unwrap());
    assert_eq!(links(&db, "1 = 1").await, 12, "exactly one row deleted");
    assert_eq!(links(&db, "playlist_id = 1").await, 7);
    assert_eq!(
        links(&db, "track_id = 3").await,
        1,
        "the same track on playlist 2 stays"
    );
    assert!(!repo.delete((1, 3)).await.unwrap());
    assert_eq!(repo.find_by_id((1, 3)).await.unwrap(), None);

    let missing = repo.get((9, 9)).await.unwrap_err();
    match &missing {
        Error::NotFound { key, .. } => assert_eq!(key, "(playlist_id, track_id) = (9, 9)"),
        other => panic!("expected NotFound, got {other:?}"),
    }

    // Deleting the row an entity was read from: that row only.
    let link = repo.get((2, 5)).await.unwrap();
    repo.delete_entity(&link).await.unwrap();
    assert_eq!(links(&db, "1 = 1").await, 11);
    assert_eq!(links(&db, "playlist_id = 1 AND track_id = 5").await, 1);
}

async fn composite_keys_insert_update_upsert_and_bulk(db: Db) {
    store(&db).await;
    let repo = PlaylistTrackRepository::new(&db);
    let link = |playlist_id, track_id, slot| PlaylistTrack {
        playlist_id,
        track_id,
        slot,
        added_on: date(2024, 1, 1),
    };

    let inserted = repo.insert(&link(3, 1, 1)).await.unwrap();
    assert_eq!(inserted, link(3, 1, 1));
    assert_eq!(links(&db, "playlist_id = 3").await, 1);
    assert!(repo.insert(&link(2, 4, 0)).await.unwrap_err().is_conflict());
    assert_eq!(
        links(&db, "playlist_id = 2 AND track_id = 4 AND slot = 4").await,
        1
    );

    // Update: the row with both key values, no other.
    let mut moved = repo.get((1, 2)).await.unwrap();
    moved.slot = 80;
    assert_eq!(repo.update(&moved).await.unwrap().slot, 80);
    assert_eq!(links(&db, "slot = 80").await, 1);
    assert_eq!(
        links(&db, "playlist_id = 1 AND track_id = 2 AND slot = 80").await,
        1
    );
    assert_eq!(
        links(&db, "playlist_id = 2 AND track_id = 2 AND slot = 2").await,
        1
    );
    assert!(
        repo.update(&link(7, 7, 7))
            .await
            .unwrap_err()
            .is_not_found()
    );

    // Upsert on the composite key: one row replaced, one added.
    assert_eq!(repo.upsert(&link(2, 4, 44)).await.unwrap().slot, 44);
    assert_eq!(repo.upsert(&link(4, 1, 1)).await.unwrap().slot, 1);
    assert_eq!(
        links(&db, "playlist_id = 2 AND track_id = 4 AND slot = 44").await,
        1
    );
    assert_eq!(links(&db, "1 = 1").await, 15);

    // Bulk: upserted in one statement, the last of a repeated key winning; a row that breaks
    // a foreign key writes nothing.
    let batch = vec![link(5, 1, 1), link(5, 2, 2), link(2, 1, 91), link(5, 1, 11)];
    assert_eq!(repo.bulk_upsert(&batch).await.unwrap(), 3);
    assert_eq!(links(&db, "playlist_id = 5").await, 2);
    assert_eq!(
        links(&db, "playlist_id = 5 AND track_id = 1 AND slot = 11").await,
        1
    );
    assert_eq!(
        links(&db, "playlist_id = 2 AND track_id = 1 AND slot = 91").await,
        1
    );
    let broken = vec![link(6, 1, 1), link(6, 999, 2)];
    assert!(repo.bulk_insert(&broken).await.is_err());
    assert!(repo.bulk_upsert(&broken).await.is_err());
    assert_eq!(
        links(&db, "playlist_id = 6").await,
        0,
        "nothing half written"
    );
    assert_eq!(
        repo.bulk_insert(&[link(6, 1, 1), link(6, 2, 2)])
            .await
            .unwrap(),
        2
    );
    // The input type of an entity the database generates nothing for holds every field.
    let new = repo
        .insert_new(NewPlaylistTrack {
            playlist_id: 7,
            track_id: 1,
            slot: 1,
            added_on: date(2024, 1, 2),
        })
        .await
        .unwrap();
    assert_eq!((new.playlist_id, new.track_id), (7, 1));
    let added = repo
        .bulk_insert_new((2..=4).map(|track_id| NewPlaylistTrack {
            playlist_id: 7,
            track_id,
            slot: 0,
            added_on: date(2024, 1, 2),
        }))
        .await
        .unwrap();
    assert_eq!(added, 3);
    assert_eq!(links(&db, "playlist_id = 7").await, 4);
    let returned = repo
        .bulk_upsert_returning(&[link(6, 2, 22), link(6, 3, 3)])
        .await
        .unwrap();
    let mut keys: Vec<(i64, i64, i32)> = returned
        .iter()
        .map(|l| (l.playlist_id, l.track_id, l.slot))
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, [(6, 2, 22), (6, 3, 3)]);
    assert_eq!(links(&db, "playlist_id = 6").await, 3);
}

/// A keyset cursor over a composite key: one edited, cut short or lengthened, or made for
/// another order, is refused, and a genuine one continues.
async fn composite_key_cursors_refuse_edited_and_truncated_keys(db: Db) {
    store(&db).await;
    let repo = PlaylistTrackRepository::new(&db);
    let request = KeysetRequest::new(4).order_by(PlaylistTrack::ADDED_ON.desc());
    let first = repo
        .find_keyset(Filter::all(), request.clone())
        .await
        .unwrap();
    let cursor = first.next.unwrap();
    for text in repo_tests::CursorBytes::of(&cursor).tampered() {
        let refused = repo
            .find_keyset(Filter::all(), request.clone().after(text.as_str()))
            .await;
        assert!(
            matches!(&refused, Err(Error::Validation { field, .. }) if field == "cursor"),
            "{text}: {refused:?}"
        );
    }
    // Made for another order.
    let other = KeysetRequest::new(4)
        .order_by(PlaylistTrack::ADDED_ON.asc())
        .after(cursor.clone());
    let refused = repo.find_keyset(Filter::all(), other).await;
    assert!(
        matches!(refused, Err(Error::Validation { .. })),
        "{refused:?}"
    );
    let next = repo
        .find_keyset(Filter::all(), request.after(cursor))
        .await
        .unwrap();
    assert_eq!(next.items.len(), 4);
    assert!(next.items.iter().all(|l| !first.items.contains(l)));
}

async fn composite_key_pages_and_filtered_writes(db: Db) {
    store(&db).await;
    let repo = PlaylistTrackRepository::new(&db);
    // Every link shares its added_on with the same track on the other playlist: the key
    // breaks the ties, so keyset pages of 4 return each row once.
    let mut seen = Vec::new();
    let mut request = KeysetRequest::new(4).order_by(PlaylistTrack::ADDED_ON.desc());
    loop {
        let page = repo
            .find_keyset(Filter::all(), request.clone())
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|l| (l.playlist_id, l.track_id)));
        match page.next {
            Some(next) => request = request.after(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 13);
    let mut unique = seen.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), 13, "no row twice");
    assert_eq!(seen[0], (1, 8));
    assert_eq!(&seen[seen.len() - 2..], [(2, 1), (1, 1)]);

    let page = repo
        .find(
            PlaylistTrack::PLAYLIST_ID.eq(1),
            PageRequest::new(3)
                .offset(3)
                .order_by(PlaylistTrack::SLOT.desc()),
        )
        .await
        .unwrap();
    assert_eq!(page.total as i64, links(&db, "playlist_id = 1").await);
    let slots: Vec<i32> = page.items.iter().map(|l| l.slot).collect();
    assert_eq!(slots, [5, 4, 3]);
    assert!(repo.exists(PlaylistTrack::TRACK_ID.eq(8)).await.unwrap());
    assert_eq!(
        repo.find_one(PlaylistTrack::TRACK_ID.eq(8))
            .await
            .unwrap()
            .map(|l| l.playlist_id),
        Some(1)
    );

    let changed = repo
        .update_where(
            PlaylistTrack::PLAYLIST_ID.eq(2),
            [PlaylistTrack::ADDED_ON.set(date(2025, 1, 1))],
        )
        .await
        .unwrap();
    assert_eq!(changed, 5);
    let new_date = if db.backend() == Backend::Postgres {
        "added_on = DATE '2025-01-01'"
    } else {
        "added_on = '2025-01-01'"
    };
    assert_eq!(links(&db, new_date).await, 5);
    assert_eq!(
        repo.delete_where(PlaylistTrack::TRACK_ID.gt(6))
            .await
            .unwrap(),
        2
    );
    assert_eq!(links(&db, "1 = 1").await, 11);
    assert_eq!(links(&db, "track_id > 6").await, 0);
}

async fn money_dates_and_text_keys_through_every_operation(db: Db) {
    store(&db).await;
    let tracks = TrackRepository::new(&db);
    let mut three = tracks.get(3).await.unwrap();
    three.unit_price = money("2.49");
    three.composer = None;
    tracks.update(&three).await.unwrap();
    let price = if db.backend() == Backend::Sqlite {
        "unit_price = '2.49'"
    } else {
        "unit_price = 2.49"
    };
    assert_eq!(
        scalar(
            &db,
            &format!("SELECT COUNT(*) FROM tracks WHERE {price} AND \"Composer\" IS NULL")
        )
        .await,
        1
    );
    let priced = tracks
        .find_all(Track::UNIT_PRICE.eq(money("2.49")))
        .await
        .unwrap();
    assert_eq!(priced.len(), 1);
    assert_eq!(priced[0].unit_price.scale(), 2);

    // Bulk upsert on the supplied key: replaced and added, exact amounts.
    let new_track = |id: i64, price: &str| Track {
        track_id: id,
        name: format!("Track {id}"),
        genre_code: "metal".into(),
        composer: Some("New".into()),
        unit_price: money(price),
        released: date(2024, 2, 29),
    };
    let written = tracks
        .bulk_upsert(&[new_track(1, "0.50"), new_track(13, "10.05")])
        .await
        .unwrap();
    assert_eq!(written, 2);
    assert_eq!(tracks.get(13).await.unwrap().unit_price, money("10.05"));
    assert_eq!(tracks.get(1).await.unwrap().released, date(2024, 2, 29));
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM tracks").await, TRACKS + 1);
    assert!(matches!(
        tracks
            .insert(&Track {
                genre_code: "polka".into(),
                ..new_track(14, "1.00")
            })
            .await
            .unwrap_err(),
        Error::ForeignKey { .. }
    ));

    // Text keys.
    let genres = GenreRepository::new(&db);
    genres
        .upsert(&Genre {
            code: "jazz".into(),
            name: "Jazz & Blues".into(),
        })
        .await
        .unwrap();
    assert_eq!(genres.get("jazz").await.unwrap().name, "Jazz & Blues");
    genres
        .insert(&Genre {
            code: "folk".into(),
            name: "Folk".into(),
        })
        .await
        .unwrap();
    assert!(genres.delete("folk").await.unwrap());
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM genres").await, 3);

    // Timestamps without time zone compare as written.
    let invoices = InvoiceRepository::new(&db);
    let in_2021 = invoices
        .find_all(Invoice::INVOICE_DATE.between(
            date(2021, 1, 1).and_hms_opt(0, 0, 0).unwrap(),
            date(2021, 12, 31).and_hms_opt(23, 59, 59).unwrap(),
        ))
        .await
        .unwrap();
    let mut ids: Vec<i64> = in_2021.iter().map(|i| i.invoice_id).collect();
    ids.sort_unstable();
    assert_eq!(ids, [1, 2, 3]);
    assert_eq!(
        invoices
            .count(
                Invoice::CUSTOMER
                    .eq("Bo")
                    .and(Invoice::TOTAL.gte(money("5.94")))
            )
            .await
            .unwrap(),
        1
    );
}

async fn verify_accepts_the_schema_and_names_a_wrong_key(db: Db) {
    store(&db).await;
    db.verify_all(&[
        Declaration::of::<Genre>(),
        Declaration::of::<Track>(),
        Declaration::of::<Invoice>(),
        Declaration::of::<PlaylistTrack>(),
    ])
    .await
    .unwrap();
    match db.verify::<WrongKeyLink>().await.unwrap_err() {
        Error::Schema { differences, .. } => assert!(
            differences.iter().any(|d| matches!(
                d,
                SchemaDifference::PrimaryKey { declared, found }
                    if declared == &["playlist_id"] && found.len() == 2
            )),
            "{differences:?}"
        ),
        other => panic!("expected a schema error, got {other:?}"),
    }
}

/// 16 tasks upsert the same 40 links of one playlist, each in its own order: every call
/// succeeds, and the table holds each link once, as one writer's batch wrote it.
async fn concurrent_bulk_upserts_of_links_never_lose_or_duplicate(db: Db) {
    store(&db).await;
    let mut tasks = Vec::new();
    for writer in 0..16_i32 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let batch: Vec<PlaylistTrack> = (0..40_i64)
                .map(|i| (i * 7 + i64::from(writer) * 3) % 40)
                .map(|i| PlaylistTrack {
                    playlist_id: 10 + i / TRACKS,
                    track_id: 1 + i % TRACKS,
                    slot: writer,
                    added_on: date(2024, 3, 1),
                })
                .collect();
            PlaylistTrackRepository::new(&db).bulk_upsert(&batch).await
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().expect("no error"), 40);
    }
    assert_eq!(links(&db, "playlist_id >= 10").await, 40);
    let slots = PlaylistTrackRepository::new(&db)
        .find_all(PlaylistTrack::PLAYLIST_ID.gte(10))
        .await
        .unwrap();
    assert!(
        slots.iter().all(|l| l.slot == slots[0].slot),
        "one writer's batch, not a mix"
    );
}

/// 16 workers claim links of a composite key two at a time (`slot` 0 marks a claimed link):
/// each of the 13 links is claimed by exactly one worker, and `fetch_updated` changes only the
/// rows its condition names.
async fn concurrent_claims_of_composite_keys_take_each_row_once(db: Db) {
    store(&db).await;
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let repo = PlaylistTrackRepository::new(&db);
            let mut mine = Vec::new();
            loop {
                let mut update = repo.update_returning();
                update
                    .value(PlaylistTrack::SLOT, 0)
                    .cond_where(repo.condition(PlaylistTrack::SLOT.gt(0)));
                let claimed = repo.claim(update, 2).await.expect("a claim");
                if claimed.is_empty() {
                    return mine;
                }
                mine.extend(claimed.iter().map(|l| (l.playlist_id, l.track_id)));
            }
        }));
    }
    let mut claimed = Vec::new();
    for task in tasks {
        claimed.extend(task.await.unwrap());
    }
    claimed.sort_unstable();
    let total = claimed.len();
    claimed.dedup();
    assert_eq!((total, claimed.len()), (13, 13), "each link claimed once");
    assert_eq!(links(&db, "slot = 0").await, 13);

    let repo = PlaylistTrackRepository::new(&db);
    let mut update = repo.update_returning();
    update.value(PlaylistTrack::SLOT, 5).cond_where(
        repo.condition(
            PlaylistTrack::PLAYLIST_ID
                .eq(2)
                .and(PlaylistTrack::TRACK_ID.lt(3)),
        ),
    );
    let changed = repo.fetch_updated(update).await.unwrap();
    assert_eq!(changed.len(), 2);
    assert_eq!(links(&db, "slot = 5").await, 2);
    assert_eq!(
        links(&db, "slot = 5 AND playlist_id = 2 AND track_id < 3").await,
        2
    );
}
