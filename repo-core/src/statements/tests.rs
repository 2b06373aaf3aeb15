//! Statement building, as SQL text per backend.

use super::*;
use crate::prelude::{DateTime, KeysetRequest, PageRequest, Utc};

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
        r#"SELECT "id", "slug", "mood", "stars", "updated_at" FROM "notes" WHERE TRUE ORDER BY "stars" DESC NULLS LAST, "id" ASC LIMIT ? OFFSET ?"#
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
        build_fixed::<Note>(Backend::Postgres, Fixed::SelectById),
        r#"/*i*/ SELECT "id", "slug", "mood", "stars", "updated_at" FROM "notes" WHERE "id" = $1"#
    );
    let upsert = build_fixed::<Note>(Backend::Sqlite, Fixed::Upsert);
    assert!(upsert.starts_with(r#"INSERT INTO "notes" ("slug", "mood", "stars", "updated_at") VALUES (?, ?, ?, ?) ON CONFLICT ("slug") DO UPDATE SET"#), "{upsert}");
    let chunk = build_fixed::<Note>(Backend::Sqlite, Fixed::BulkInsert);
    assert_eq!(
        chunk.matches('?').count(),
        Backend::Sqlite.max_bind_parameters() / 4 * 4
    );
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
            .unwrap()
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
    let upsert = build_fixed::<Note>(Backend::MySql, Fixed::Upsert);
    assert_eq!(
        upsert,
        "INSERT INTO `notes` (`slug`, `mood`, `stars`, `updated_at`) VALUES (?, ?, ?, ?) \
         ON DUPLICATE KEY UPDATE `mood` = VALUES(`mood`), `stars` = VALUES(`stars`), \
         `updated_at` = VALUES(`updated_at`) \
         RETURNING \"id\", \"slug\", \"mood\", \"stars\", \"updated_at\""
    );
    // A supplied primary key can clash too: the guard comes first in the update list.
    let upsert = build_fixed::<Tag>(Backend::MySql, Fixed::Upsert);
    assert!(
        upsert.contains(
            "ON DUPLICATE KEY UPDATE `code` = IF(\"name\" <=> VALUES(\"name\"), \"code\", NULL), "
        ),
        "{upsert}"
    );
}

#[test]
fn mariadb_updates_have_no_returning_and_pages_no_row_values() {
    let update = build_fixed::<Note>(Backend::MySql, Fixed::Update);
    assert!(!update.contains("RETURNING"), "{update}");
    let postgres = build_fixed::<Note>(Backend::Postgres, Fixed::Update);
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
