//! Statement building, as SQL text per backend.

use super::*;
use crate::Conflict;
use crate::prelude::{DateTime, KeysetRequest, PageRequest, Utc};
use crate::value::compare_value;

#[derive(Debug, Clone, Copy, PartialEq, repo_core::DbEnum)]
enum Mood {
    Calm,
    Loud,
}

#[derive(Debug, Clone, repo_core::Repository)]
#[repo(table = "notes", unique(slug))]
struct Note {
    #[repo(primary_key, auto)]
    id: i64,
    slug: String,
    mood: Mood,
    stars: Option<i32>,
    #[repo(updated_at)]
    updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, repo_core::Repository)]
#[repo(table = "tags", unique(name))]
struct Tag {
    #[repo(primary_key)]
    code: String,
    name: String,
}

fn sql(backend: Backend, statement: &impl sea_query::QueryStatementWriter) -> String {
    Statement::build(statement, backend).sql().to_owned()
}

#[test]
fn pages_order_by_the_request_then_the_key_with_nulls_last() {
    let request = PageRequest::new(10).offset(20).order_by(Note::STARS.desc());
    let select = page::<Note>(Backend::Sqlite, Condition::all(), &request);
    assert_eq!(
        sql(Backend::Sqlite, &select),
        r#"SELECT "id", "slug", "mood", "stars", "updated_at" FROM "notes" WHERE TRUE ORDER BY "stars" DESC NULLS LAST, "id" DESC LIMIT ? OFFSET ?"#
    );
}

#[test]
fn enum_orders_follow_declaration_where_enums_are_text() {
    let request = PageRequest::new(5).order_by(Note::MOOD.asc());
    let sqlite = sql(
        Backend::Sqlite,
        &page::<Note>(Backend::Sqlite, Condition::all(), &request),
    );
    assert!(sqlite.contains(r#"ORDER BY (CASE WHEN ("mood" = 'calm') THEN 0 WHEN ("mood" = 'loud') THEN 1 END) ASC, "id" ASC"#), "{sqlite}");
    let postgres = sql(
        Backend::Postgres,
        &page::<Note>(Backend::Postgres, Condition::all(), &request),
    );
    assert!(
        postgres.contains(r#"ORDER BY "mood" ASC, "id" ASC"#),
        "{postgres}"
    );
}

#[test]
fn update_where_sets_updated_at_unless_assigned_and_needs_an_assignment() {
    let now = DateTime::from_timestamp(0, 0).unwrap();
    let update = update_where::<Note>(Condition::all(), vec![Note::SLUG.set("x")], now).unwrap();
    assert_eq!(
        sql(Backend::Postgres, &update),
        r#"/*sz*/ UPDATE "notes" SET "slug" = $1, "updated_at" = $2 WHERE TRUE"#
    );
    assert!(update_where::<Note>(Condition::all(), Vec::new(), now).is_err());
}

#[test]
fn long_lists_are_one_parameter() {
    let filter = Note::STARS.is_in(0..1000);
    let postgres = Statement::build(
        &count::<Note>(filter.condition(Backend::Postgres)),
        Backend::Postgres,
    );
    assert_eq!(
        postgres.sql(),
        r#"/*a*/ SELECT COUNT(*) FROM "notes" WHERE "stars" = ANY($1)"#
    );
    let sqlite = Statement::build(
        &count::<Note>(filter.condition(Backend::Sqlite)),
        Backend::Sqlite,
    );
    assert_eq!(
        sqlite.sql(),
        r#"SELECT COUNT(*) FROM "notes" WHERE "stars" IN (SELECT value FROM json_each(?))"#
    );
    assert_eq!(sqlite.values().len(), 1);
}

#[test]
fn fixed_statements_and_bulk_chunks() {
    assert_eq!(
        build_fixed::<Note>(Backend::Postgres, Fixed::SelectById, View::Live),
        r#"/*i*/ SELECT "id", "slug", "mood", "stars", "updated_at" FROM "notes" WHERE "id" = $1"#
    );
    let upsert = build_fixed::<Note>(Backend::Sqlite, Fixed::Upsert, View::Live);
    assert!(upsert.starts_with(r#"INSERT INTO "notes" ("slug", "mood", "stars", "updated_at") VALUES (?, ?, ?, ?) ON CONFLICT ("slug") DO UPDATE SET"#), "{upsert}");
    let chunk = build_fixed::<Note>(Backend::Sqlite, Fixed::BulkInsert, View::Live);
    assert_eq!(
        chunk.matches('?').count(),
        Backend::Sqlite.max_bind_parameters() / 4 * 4
    );
}

/// The entity of the README's section on the audit log.
#[derive(Debug, Clone, repo_core::Repository)]
#[repo(table = "invoices", unique(number), audit(require_actor))]
struct Invoice {
    #[repo(primary_key, auto)]
    id: i64,
    number: String,
    cents: i64,
}

/// Column names holding the words the bulk text is cut at.
#[derive(Debug, Clone, repo_core::Repository)]
#[repo(table = "odd_names", unique(code))]
struct OddNames {
    #[repo(primary_key)]
    code: String,
    #[repo(column = "a RETURNING b")]
    returning: i64,
    #[repo(column = "c ON CONFLICT d")]
    conflict: i64,
}

#[test]
fn postgres_bulk_text_is_cut_after_its_values() {
    let pg = Backend::Postgres;
    assert_eq!(
        build_fixed::<OddNames>(pg, Fixed::BulkInsert, View::Live),
        r#"INSERT INTO "odd_names" ("code", "a RETURNING b", "c ON CONFLICT d") SELECT "u"."code", "u"."a RETURNING b", "u"."c ON CONFLICT d" FROM unnest($1::text[], $2::int8[], $3::int8[]) AS "u"("code", "a RETURNING b", "c ON CONFLICT d")"#
    );
    let upsert = build_fixed::<OddNames>(pg, Fixed::BulkUpsertReturning, View::Live);
    assert!(
        upsert.contains(r#"AS "u"("code", "a RETURNING b", "c ON CONFLICT d") ON CONFLICT ("code") DO UPDATE SET"#),
        "{upsert}"
    );
}

#[test]
fn postgres_bulk_statements_take_one_array_a_column() {
    let pg = Backend::Postgres;
    let expected = r#"INSERT INTO "notes" ("slug", "mood", "stars", "updated_at") SELECT "u"."slug", "u"."mood"::"mood", "u"."stars", "u"."updated_at" FROM unnest($1::text[], $2::text[], $3::int8[], $4::timestamptz[]) AS "u"("slug", "mood", "stars", "updated_at")"#;
    // The same text for every chunk size.
    assert_eq!(
        build_fixed::<Note>(pg, Fixed::BulkInsert, View::Live),
        expected
    );
    assert_eq!(build_insert::<Note>(pg, 3, BulkKind::Insert, &[]), expected);
    let upsert = build_fixed::<Note>(pg, Fixed::BulkUpsertReturning, View::Live);
    assert!(
        upsert.starts_with(&format!(
            r#"{expected} ON CONFLICT ("slug") DO UPDATE SET "mood" = "excluded"."mood""#
        )),
        "{upsert}"
    );
    assert!(upsert.ends_with(r#" RETURNING "id", "slug", "mood", "stars", "updated_at""#));
    // The README's audited bulk upsert.
    let readme = include_str!("../../../README.md");
    let invoices = build_fixed::<Invoice>(pg, Fixed::BulkUpsertReturning, View::Live);
    assert!(readme.contains(&invoices), "the README lacks\n{invoices}");
    // Rows pushed one after another become one array a column, in row order.
    let now = DateTime::from_timestamp(7, 0).unwrap();
    let note = |slug: &str, stars| Note {
        id: 0,
        slug: slug.to_owned(),
        mood: Mood::Loud,
        stars,
        updated_at: now,
    };
    let (a, b) = (note("a", Some(1)), note("b", None));
    let values = chunk_values::<Note>(pg, BulkKind::Insert, &[&a, &b], now).unwrap();
    assert_eq!(values.len(), 4);
    let Value::Array(sea_query::ArrayType::BigInt, Some(stars)) = &values[2] else {
        panic!("{:?}", values[2]);
    };
    assert_eq!(**stars, vec![Value::Int(Some(1)), Value::Int(None)]);
    let Value::Array(sea_query::ArrayType::String, Some(slugs)) = &values[0] else {
        panic!("{:?}", values[0]);
    };
    assert_eq!(**slugs, vec![Value::from("a"), Value::from("b")]);
    // Elsewhere, rows of values.
    let values = chunk_values::<Note>(Backend::Sqlite, BulkKind::Insert, &[&a, &b], now).unwrap();
    assert_eq!(values.len(), 8);
}

#[test]
fn keys_compare_in_place_as_their_values_compare() {
    use crate::DbField as _;
    let now = DateTime::from_timestamp(7, 0).unwrap();
    let note = |slug: &str, mood, stars| Note {
        id: 0,
        slug: slug.to_owned(),
        mood,
        stars,
        updated_at: now,
    };
    let notes = [
        note("b", Mood::Loud, Some(2)),
        note("a", Mood::Calm, None),
        note("", Mood::Loud, Some(-1)),
        note("a", Mood::Loud, Some(2)),
        note("ä", Mood::Calm, Some(i32::MAX)),
    ];
    for a in &notes {
        for b in &notes {
            for index in 0..Note::COLUMNS.len() {
                let by_value =
                    compare_value(&a.value_at(index).unwrap(), &b.value_at(index).unwrap());
                assert_eq!(
                    a.compare_at(b, index),
                    by_value,
                    "column {index}: {a:?} / {b:?}"
                );
            }
        }
    }
    assert_eq!(
        Some(1.5_f64).compare_key(&None),
        std::cmp::Ordering::Greater
    );
    assert_eq!(Some(-3_i64).compare_key(&Some(2)), std::cmp::Ordering::Less);
}

#[test]
fn typed_columns_are_identifiers() {
    let select = Query::select()
        .column(Note::SLUG)
        .from(Note::TABLE)
        .order_by(Note::STARS, sea_query::Order::Desc)
        .to_owned();
    assert_eq!(
        sql(Backend::Sqlite, &select),
        r#"SELECT "slug" FROM "notes" ORDER BY "stars" DESC"#
    );
}

#[test]
fn batches_are_written_in_key_order_and_duplicates_keep_the_last() {
    let note = |id, slug: &str| Note {
        id,
        slug: slug.into(),
        mood: Mood::Calm,
        stars: None,
        updated_at: Utc::now(),
    };
    let batch = [
        note(1, "b"),
        note(2, "a"),
        note(3, "b"),
        note(4, "c"),
        note(5, "b"),
    ];
    let ids = |dedupe| -> Vec<i64> {
        batch_in_lock_order(&batch, dedupe)
            .iter()
            .map(|n| n.id)
            .collect()
    };
    // In key order; of the rows sharing a key, the last one given.
    assert_eq!(ids(true), [2, 5, 4]);
    assert_eq!(ids(false), [2, 1, 3, 5, 4]);
    let _ = Mood::Loud;
}

#[test]
fn mariadb_upserts_guard_the_declared_key_and_return_rows() {
    // A generated primary key is looked up by the conflict key (NULL for a new row), so an
    // existing row is met on its primary key and InnoDB makes no tentative insert.
    let upsert = build_fixed::<Note>(Backend::MySql, Fixed::Upsert, View::Live);
    assert_eq!(
        upsert,
        "INSERT INTO `notes` (\"id\", `slug`, `mood`, `stars`, `updated_at`) \
         VALUES ((SELECT \"existing\".\"id\" FROM \"notes\" AS \"existing\" \
         WHERE \"existing\".\"slug\" = ?), ?, ?, ?, ?) \
         ON DUPLICATE KEY UPDATE `mood` = VALUES(`mood`), `stars` = VALUES(`stars`), \
         `updated_at` = VALUES(`updated_at`) \
         RETURNING \"id\", \"slug\", \"mood\", \"stars\", \"updated_at\""
    );
    // A bulk chunk binds that key itself, read and locked before the statement.
    let bulk = build_insert::<Note>(Backend::MySql, 2, BulkKind::Upsert, &declared::<Note>());
    assert!(
        bulk.starts_with(
            "INSERT INTO `notes` (\"id\", `slug`, `mood`, `stars`, `updated_at`) \
             VALUES (?, ?, ?, ?, ?), (?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE"
        ),
        "{bulk}"
    );
    let now = DateTime::from_timestamp(7, 0).unwrap();
    let note = |id, slug: &str| Note {
        id,
        slug: slug.to_owned(),
        mood: Mood::Calm,
        stars: None,
        updated_at: now,
    };
    let chunk = [note(0, "new"), note(0, "old"), note(0, "gone")];
    let chunk: Vec<&Note> = chunk.iter().collect();
    let mut values = chunk_values::<Note>(Backend::MySql, BulkKind::Upsert, &chunk, now).unwrap();
    assert_eq!(values.len(), 15);
    let stored = [note(41, "old"), note(7, "elsewhere")];
    name_existing_keys::<Note>(Backend::MySql, &mut values, &chunk, &stored).unwrap();
    let ids: Vec<&Value> = values.iter().step_by(5).collect();
    assert_eq!(
        ids,
        [
            &Value::BigInt(None),
            &Value::BigInt(Some(41)),
            &Value::BigInt(None)
        ]
    );
    assert_eq!(values[6], Value::from("old"));
    // A supplied primary key can clash too: each row takes the key of the row that already
    // has its conflict key, and a guard, first in the update list, refuses any other clash.
    let upsert = build_fixed::<Tag>(Backend::MySql, Fixed::Upsert, View::Live);
    assert_eq!(
        upsert,
        "INSERT INTO `tags` (`code`, `name`) SELECT COALESCE((SELECT \"existing\".\"code\" \
         FROM \"tags\" AS \"existing\" WHERE \"existing\".\"name\" = \"v\".\"name\"), \
         \"v\".\"code\"), \"v\".\"name\" FROM (SELECT ? AS \"code\", ? AS \"name\") AS \"v\" \
         ON DUPLICATE KEY UPDATE `code` = IF(\"tags\".\"name\" <=> VALUES(\"name\"), \
         \"tags\".\"code\", NULL), `name` = VALUES(`name`) RETURNING \"code\", \"name\""
    );
}

#[test]
fn mariadb_updates_have_no_returning_and_pages_no_row_values() {
    let update = build_fixed::<Note>(Backend::MySql, Fixed::Update, View::Live);
    assert!(!update.contains("RETURNING"), "{update}");
    let postgres = build_fixed::<Note>(Backend::Postgres, Fixed::Update, View::Live);
    assert!(postgres.contains("RETURNING"), "{postgres}");

    let request = KeysetRequest::new(10).order_by(Note::SLUG.desc());
    let after = crate::keys::after(
        &request.keys::<Note>().0,
        vec![Value::from("m"), Value::from(7_i64)],
        Backend::MySql,
    );
    let select = Query::select()
        .column("id")
        .from("notes")
        .cond_where(after)
        .to_owned();
    assert_eq!(
        sql(Backend::MySql, &select),
        "SELECT `id` FROM `notes` WHERE `slug` < ? OR (`slug` = ? AND `id` < ?)"
    );
}

#[test]
fn mariadb_spells_casts_and_null_safe_comparisons_its_way() {
    let select = Query::select()
        .expr(Note::STARS.sum())
        .from(Note::TABLE)
        .cond_where(Note::STARS.ne(3).condition(Backend::MySql))
        .to_owned();
    assert_eq!(
        sql(Backend::MySql, &select),
        "SELECT CAST(COALESCE(SUM(`stars`), 0) AS SIGNED) FROM `notes` WHERE NOT (`stars` <=> ?)"
    );
}

#[derive(Debug, Clone, repo_core::Repository)]
#[repo(table = "docs", unique(slug))]
struct Doc {
    #[repo(primary_key, auto)]
    id: i64,
    slug: String,
    #[repo(version)]
    version: i64,
    #[repo(soft_delete)]
    deleted_at: Option<DateTime<Utc>>,
    #[repo(updated_at)]
    updated_at: DateTime<Utc>,
}

fn doc(version: i64, deleted_at: Option<DateTime<Utc>>) -> Doc {
    Doc {
        id: 7,
        slug: "a".into(),
        version,
        deleted_at,
        updated_at: DateTime::UNIX_EPOCH,
    }
}

#[test]
fn versioned_updates_match_the_version_read_and_add_one() {
    assert_eq!(
        build_fixed::<Doc>(Backend::Postgres, Fixed::Update, View::Live),
        r#"/*szii*/ UPDATE "docs" SET "slug" = $1, "updated_at" = $2, "version" = "version" + 1 WHERE "id" = $3 AND "version" = $4 AND "deleted_at" IS NULL RETURNING "id", "slug", "version", "deleted_at", "updated_at""#
    );
    assert_eq!(
        build_fixed::<Doc>(Backend::MySql, Fixed::Update, View::Live),
        "UPDATE `docs` SET `slug` = ?, `updated_at` = ?, `version` = `version` + 1 \
         WHERE `id` = ? AND `version` = ? AND `deleted_at` IS NULL"
    );
    // Values in placeholder order: the columns set, the key, the version read.
    let now = DateTime::from_timestamp(60, 0).unwrap();
    let values = update_values(&doc(3, None), now).unwrap();
    assert_eq!(
        values,
        [
            Value::from("a"),
            Value::ChronoDateTimeUtc(Some(now)),
            Value::BigInt(Some(7)),
            Value::BigInt(Some(3)),
        ]
    );
}

#[test]
fn update_where_adds_one_to_versions_unless_assigned() {
    let now = DateTime::from_timestamp(0, 0).unwrap();
    let update = update_where::<Doc>(
        within::<Doc>(View::Live, Condition::all()),
        vec![Doc::SLUG.set("x")],
        now,
    )
    .unwrap();
    assert_eq!(
        sql(Backend::Postgres, &update),
        r#"/*sz*/ UPDATE "docs" SET "slug" = $1, "updated_at" = $2, "version" = "version" + 1 WHERE "deleted_at" IS NULL"#
    );
    let update = update_where::<Doc>(Condition::all(), vec![Doc::VERSION.set(9_i64)], now).unwrap();
    assert_eq!(
        sql(Backend::Sqlite, &update),
        r#"UPDATE "docs" SET "version" = ?, "updated_at" = ? WHERE TRUE"#
    );
}

#[test]
fn views_of_soft_deleted_rows() {
    let by_id = |view| build_fixed::<Doc>(Backend::Postgres, Fixed::SelectById, view);
    let select = r#"/*i*/ SELECT "id", "slug", "version", "deleted_at", "updated_at" FROM "docs" WHERE "id" = $1"#;
    assert_eq!(
        by_id(View::Live),
        format!(r#"{select} AND "deleted_at" IS NULL"#)
    );
    assert_eq!(by_id(View::All), select);
    assert_eq!(
        by_id(View::Deleted),
        format!(r#"{select} AND "deleted_at" IS NOT NULL"#)
    );
    // A filter of alternatives stays one term of the conjunction.
    let filter = Doc::SLUG.eq("a").or(Doc::SLUG.eq("b"));
    let either = count::<Doc>(within::<Doc>(View::Live, filter.condition(Backend::Sqlite)));
    assert_eq!(
        sql(Backend::Sqlite, &either),
        r#"SELECT COUNT(*) FROM "docs" WHERE ("slug" = ? OR "slug" = ?) AND "deleted_at" IS NULL"#
    );
    // An entity without a soft-delete column: every row is live, none is deleted.
    assert_eq!(
        build_fixed::<Note>(Backend::Sqlite, Fixed::SelectById, View::All),
        build_fixed::<Note>(Backend::Sqlite, Fixed::SelectById, View::Live)
    );
    let none = count::<Note>(within::<Note>(View::Deleted, Condition::all()));
    assert_eq!(
        sql(Backend::Sqlite, &none),
        r#"SELECT COUNT(*) FROM "notes" WHERE FALSE"#
    );
}

#[test]
fn soft_deletes_mark_live_rows_and_bind_in_order() {
    let delete = build_fixed::<Doc>(Backend::Postgres, Fixed::Delete, View::Live);
    assert_eq!(
        delete,
        r#"/*zzi*/ UPDATE "docs" SET "deleted_at" = $1, "updated_at" = $2, "version" = "version" + 1 WHERE "id" = $3 AND "deleted_at" IS NULL"#
    );
    let now = DateTime::from_timestamp(5, 0).unwrap();
    let values = soft_delete_values::<Doc>(vec![Value::BigInt(Some(7))], now);
    assert_eq!(values.len(), delete.matches('$').count());
    assert_eq!(values[2], Value::BigInt(Some(7)));
    // A delete by filter marks live rows; in the deleted-rows view it marks nothing: those
    // rows keep their time.
    let delete = delete_rows::<Doc>(
        Backend::Sqlite,
        View::Live,
        Doc::SLUG.eq("a").condition(Backend::Sqlite),
        now,
    );
    assert_eq!(
        delete.sql(),
        r#"UPDATE "docs" SET "deleted_at" = ?, "updated_at" = ?, "version" = "version" + 1 WHERE "slug" = ? AND "deleted_at" IS NULL"#
    );
    let delete = delete_rows::<Doc>(Backend::Sqlite, View::Deleted, Condition::all(), now);
    assert!(delete.sql().ends_with("WHERE FALSE"), "{}", delete.sql());
    let delete = delete_rows::<Note>(Backend::Sqlite, View::Live, Condition::all(), now);
    assert_eq!(delete.sql(), r#"DELETE FROM "notes" WHERE TRUE"#);
    // Purging reaches every row, or only the deleted ones in that view.
    let purge = delete_where::<Doc>(purgeable::<Doc>(View::Live, Condition::all()));
    assert_eq!(
        sql(Backend::Sqlite, &purge),
        r#"DELETE FROM "docs" WHERE TRUE"#
    );
    let purge = delete_where::<Doc>(purgeable::<Doc>(View::Deleted, Condition::all()));
    assert_eq!(
        sql(Backend::Sqlite, &purge),
        r#"DELETE FROM "docs" WHERE "deleted_at" IS NOT NULL"#
    );
    // No soft-delete column: a delete is a DELETE.
    assert_eq!(
        build_fixed::<Note>(Backend::Sqlite, Fixed::Delete, View::Live),
        r#"DELETE FROM "notes" WHERE "id" = ?"#
    );
}

#[test]
fn inserts_store_the_version_and_a_live_row() {
    let now = DateTime::from_timestamp(5, 0).unwrap();
    let mut values = Vec::new();
    insert_values(&doc(4, Some(now)), now, &mut values).unwrap();
    assert_eq!(values[1], Value::BigInt(Some(4)));
    assert_eq!(values[2], Value::ChronoDateTimeUtc(None));
}

#[test]
fn upserts_check_the_version_and_revive_deleted_rows() {
    assert_eq!(
        build_fixed::<Doc>(Backend::Postgres, Fixed::Upsert, View::Live),
        r#"/*sizz*/ INSERT INTO "docs" ("slug", "version", "deleted_at", "updated_at") VALUES ($1, $2, $3, $4) ON CONFLICT ("slug") DO UPDATE SET "version" = "docs"."version" + 1, "deleted_at" = "excluded"."deleted_at", "updated_at" = "excluded"."updated_at" WHERE "docs"."version" = "excluded"."version" OR "docs"."deleted_at" IS NOT NULL RETURNING "id", "slug", "version", "deleted_at", "updated_at""#
    );
    // Without a WHERE on the update, a guard fails the statement on another version.
    let mariadb = build_fixed::<Doc>(Backend::MySql, Fixed::Upsert, View::Live);
    assert!(
        mariadb.contains(
            "ON DUPLICATE KEY UPDATE `version` = IF(\"docs\".\"version\" = VALUES(\"version\") \
             OR \"docs\".\"deleted_at\" IS NOT NULL, \"docs\".\"version\" + 1, NULL), \
             `deleted_at` = VALUES(`deleted_at`)"
        ),
        "{mariadb}"
    );
    // Bulk upserts add 1 without checking.
    for backend in [Backend::Postgres, Backend::Sqlite] {
        let bulk = build_insert::<Doc>(backend, 2, BulkKind::Upsert, &declared::<Doc>());
        assert!(
            bulk.contains(r#"DO UPDATE SET "version" = "docs"."version" + 1, "#),
            "{bulk}"
        );
        assert!(!bulk.contains(" WHERE "), "{bulk}");
    }
    let bulk = build_insert::<Doc>(Backend::MySql, 2, BulkKind::Upsert, &declared::<Doc>());
    assert!(
        bulk.contains("ON DUPLICATE KEY UPDATE `version` = `docs`.`version` + 1, "),
        "{bulk}"
    );
}

/// The entity of the README's sections on versions and soft delete.
#[derive(Debug, Clone, repo_core::Repository)]
#[repo(table = "articles", unique(slug))]
struct Article {
    #[repo(primary_key, auto)]
    id: i64,
    slug: String,
    title: String,
    #[repo(version)]
    version: i64,
    #[repo(soft_delete)]
    deleted_at: Option<DateTime<Utc>>,
    #[repo(updated_at)]
    updated_at: DateTime<Utc>,
}

/// PostgreSQL text without the parameter-type comment the driver's statement cache needs.
fn postgres_text(sql: &str) -> &str {
    sql.split_once("*/ ").map_or(sql, |(_, text)| text)
}

#[test]
fn the_readme_shows_the_sql_postgres_runs() {
    let readme = include_str!("../../../README.md");
    let now = DateTime::from_timestamp(0, 0).unwrap();
    let pg = Backend::Postgres;
    let update = build_fixed::<Article>(pg, Fixed::Update, View::Live);
    let upsert = build_fixed::<Article>(pg, Fixed::Upsert, View::Live);
    let delete = build_fixed::<Article>(pg, Fixed::Delete, View::Live);
    let update_where = update_where::<Article>(
        within::<Article>(View::Live, Article::SLUG.eq("x").condition(pg)),
        vec![Article::TITLE.set("t")],
        now,
    )
    .unwrap();
    let update_where = sql(pg, &update_where);
    let find_all = select_by_key::<Article>(within::<Article>(
        View::Live,
        Article::TITLE.eq("x").condition(pg),
    ));
    let find_all = sql(pg, &find_all);
    let by_id = build_fixed::<Article>(pg, Fixed::SelectById, View::Live);
    let only_deleted = build_fixed::<Article>(pg, Fixed::SelectById, View::Deleted);
    for statement in [
        &update,
        &upsert,
        &delete,
        &update_where,
        &find_all,
        &by_id,
        &only_deleted,
    ] {
        let text = postgres_text(statement);
        assert!(readme.contains(text), "the README lacks\n{text}");
    }
}

/// The entity of the README's section on conflict actions.
#[derive(Debug, Clone, repo_core::Repository)]
#[repo(table = "tallies", unique(name))]
struct Tally {
    #[repo(primary_key, auto)]
    id: i64,
    name: String,
    #[repo(on_conflict = "add")]
    hits: i64,
    #[repo(on_conflict = "greatest")]
    peak: Option<i64>,
    #[repo(on_conflict = "keep")]
    first_note: Option<String>,
    note: Option<String>,
    #[repo(updated_at)]
    updated_at: DateTime<Utc>,
}

#[test]
fn declared_conflict_actions_on_postgres() {
    let upsert = build_fixed::<Tally>(Backend::Postgres, Fixed::Upsert, View::Live);
    let readme = include_str!("../../../README.md");
    assert!(
        readme.contains(postgres_text(&upsert)),
        "the README lacks\n{upsert}"
    );
    assert_eq!(
        postgres_text(&upsert),
        r#"INSERT INTO "tallies" ("name", "hits", "peak", "first_note", "note", "updated_at") VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT ("name") DO UPDATE SET "hits" = COALESCE("tallies"."hits" + "excluded"."hits", "tallies"."hits", "excluded"."hits"), "peak" = CASE WHEN "tallies"."peak" IS NULL OR "excluded"."peak" > "tallies"."peak" THEN "excluded"."peak" ELSE "tallies"."peak" END, "note" = "excluded"."note", "updated_at" = "excluded"."updated_at" RETURNING "id", "name", "hits", "peak", "first_note", "note", "updated_at""#
    );
    // Per call: `least` on peak, `replace` on hits; the other columns as declared.
    let actions = Conflict::<Tally>::new()
        .least(Tally::PEAK)
        .replace(Tally::HITS)
        .resolve()
        .unwrap();
    let upsert = build_insert_statement::<Tally>(
        Backend::Postgres,
        1,
        Some(Upsert::CheckAndBump),
        true,
        &actions,
    );
    assert!(
        upsert.contains(r#"DO UPDATE SET "peak" = CASE WHEN "tallies"."peak" IS NULL OR "excluded"."peak" < "tallies"."peak" THEN "excluded"."peak" ELSE "tallies"."peak" END, "hits" = "excluded"."hits", "note" = "excluded"."note", "updated_at""#),
        "{upsert}"
    );
    // A soft-deleted row is revived with the incoming values; the version comes first.
    let actions = Conflict::<Article>::new()
        .keep(Article::TITLE)
        .resolve()
        .unwrap();
    let upsert = build_insert_statement::<Article>(
        Backend::Postgres,
        1,
        Some(Upsert::CheckAndBump),
        true,
        &actions,
    );
    assert!(
        upsert.contains(r#"DO UPDATE SET "version" = "articles"."version" + 1, "title" = CASE WHEN "articles"."deleted_at" IS NOT NULL THEN "excluded"."title" ELSE "articles"."title" END, "deleted_at" = "excluded"."deleted_at""#),
        "{upsert}"
    );
    // Keys and columns the framework sets take no action.
    assert!(
        Conflict::<Article>::new()
            .keep(Article::SLUG)
            .resolve()
            .is_err()
    );
    assert!(
        Conflict::<Article>::new()
            .keep(Article::VERSION)
            .resolve()
            .is_err()
    );
    assert!(
        Conflict::<Article>::new()
            .keep(Article::UPDATED_AT)
            .resolve()
            .is_err()
    );
    assert!(Conflict::<Tally>::new().keep(Tally::ID).resolve().is_err());
}

#[test]
fn conflict_actions_on_sqlite_and_mariadb() {
    let bulk = build_fixed::<Tally>(Backend::Sqlite, Fixed::BulkUpsert, View::Live);
    assert_eq!(
        &bulk[bulk.find(" ON CONFLICT").unwrap()..],
        r#" ON CONFLICT ("name") DO UPDATE SET "hits" = COALESCE("tallies"."hits" + "excluded"."hits", "tallies"."hits", "excluded"."hits"), "peak" = CASE WHEN "tallies"."peak" IS NULL OR "excluded"."peak" > "tallies"."peak" THEN "excluded"."peak" ELSE "tallies"."peak" END, "note" = "excluded"."note", "updated_at" = "excluded"."updated_at""#
    );
    let upsert = build_fixed::<Tally>(Backend::MySql, Fixed::Upsert, View::Live);
    assert_eq!(
        &upsert[upsert.find("ON DUPLICATE").unwrap()..],
        "ON DUPLICATE KEY UPDATE `hits` = COALESCE(\"tallies\".\"hits\" + VALUES(\"hits\"), \
         \"tallies\".\"hits\", VALUES(\"hits\")), `peak` = CASE WHEN \"tallies\".\"peak\" IS NULL \
         OR VALUES(\"peak\") > \"tallies\".\"peak\" THEN VALUES(\"peak\") ELSE \"tallies\".\"peak\" END, \
         `note` = VALUES(`note`), `updated_at` = VALUES(`updated_at`) \
         RETURNING \"id\", \"name\", \"hits\", \"peak\", \"first_note\", \"note\", \"updated_at\""
    );
}
