//! The audit log (`#[repo(audit)]`) on every backend: each kind of write appends entries with
//! the actor and the changed columns, in the same transaction as the write; asserted on the
//! entries and rows the database holds afterwards.

use std::collections::HashMap;

use repo_core::prelude::*;
use repo_core::{AuditEntry, AuditOperation, AuditRepository, Filter};
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "invoices", unique(number), audit)]
pub struct Invoice {
    #[repo(primary_key, auto)]
    pub id: i64,
    pub number: String,
    pub cents: i64,
    pub status: String,
    #[repo(version)]
    pub version: i64,
    #[repo(soft_delete)]
    pub deleted_at: Option<DateTime<Utc>>,
    #[repo(updated_at)]
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "payouts", audit(require_actor))]
pub struct Payout {
    #[repo(primary_key)]
    pub id: String,
    pub cents: i64,
}

/// Audited, keyed by two columns.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "seats", audit)]
pub struct Seat {
    #[repo(primary_key)]
    pub row: i32,
    #[repo(primary_key)]
    pub number: i32,
    pub holder: Option<String>,
}

/// Not audited: writes leave the log alone.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "notes")]
pub struct Note {
    #[repo(primary_key, auto)]
    pub id: i64,
    pub text: String,
}

repo_tests::on_every_backend!(
    each_single_row_write_is_recorded_with_its_actor_and_diff,
    upsert_records_an_insert_then_an_update,
    bulk_writes_record_one_entry_per_row_across_chunks,
    filtered_writes_record_every_row_they_change,
    claims_and_returning_updates_are_recorded,
    a_rolled_back_unit_of_work_leaves_no_entry,
    a_failing_bulk_write_in_a_session_leaves_no_entry,
    a_required_actor_is_enforced_before_anything_is_written,
    sixteen_tasks_upserting_the_same_rows_leave_one_entry_per_write,
    hot_rows_upserted_by_sixteen_tasks_for_ten_rounds_all_succeed,
    sixteen_tasks_updating_the_same_rows_leave_a_chain_of_entries,
    the_log_is_read_by_entity_key_actor_and_time,
    unaudited_entities_write_no_entry,
    composite_keys_are_logged_as_arrays,
    concurrent_audited_writes_on_one_session_are_each_recorded,
    audited_writes_refuse_to_change_a_primary_key,
    keys_too_long_for_the_log_are_refused_on_every_backend,
    acting_as_names_the_actor_without_touching_the_session,
);

async fn setup(db: &Db) {
    db.create_schema::<Invoice>().await.unwrap();
    db.create_schema::<Payout>().await.unwrap();
    db.create_schema::<Note>().await.unwrap();
    db.create_schema::<Seat>().await.unwrap();
}

fn invoice(number: &str, cents: i64) -> NewInvoice {
    NewInvoice {
        number: number.into(),
        cents,
        status: "open".into(),
    }
}

fn full(number: &str, cents: i64) -> Invoice {
    Invoice {
        id: 0,
        number: number.into(),
        cents,
        status: "open".into(),
        version: 0,
        deleted_at: None,
        updated_at: repo_core::repository::now(),
    }
}

/// Every entry of the log, oldest first.
async fn log(db: &Db) -> Vec<AuditEntry> {
    AuditRepository::new(db)
        .find_all(Filter::all())
        .await
        .unwrap()
}

fn operations(entries: &[AuditEntry]) -> Vec<AuditOperation> {
    entries.iter().map(|e| e.operation).collect()
}

async fn each_single_row_write_is_recorded_with_its_actor_and_diff(db: Db) {
    setup(&db).await;
    let session = db.begin_as("user-42").await.unwrap();
    let repo = InvoiceRepository::new(&session);
    let stored = repo.insert_new(invoice("A-1", 100)).await.unwrap();
    let mut changed = stored.clone();
    changed.cents = 250;
    let updated = repo.update(&changed).await.unwrap();
    assert!(repo.delete(stored.id).await.unwrap());
    repo.restore(stored.id).await.unwrap();
    assert!(repo.purge(stored.id).await.unwrap());
    session.commit().await.unwrap();

    let history = AuditRepository::new(&db)
        .history::<Invoice>(stored.id)
        .await
        .unwrap();
    assert_eq!(
        operations(&history),
        [
            AuditOperation::Insert,
            AuditOperation::Update,
            AuditOperation::SoftDelete,
            AuditOperation::Restore,
            AuditOperation::Delete
        ]
    );
    assert!(
        history
            .iter()
            .all(|e| e.actor.as_deref() == Some("user-42") && e.entity == "invoices")
    );
    assert!(
        history
            .iter()
            .all(|e| e.entity_key == stored.id.to_string())
    );

    let insert = &history[0];
    assert_eq!(insert.old_values, None);
    assert_eq!(insert.new_value("number"), Some(&json!("A-1")));
    assert_eq!(insert.new_value("cents"), Some(&json!(100)));

    let update = &history[1];
    assert_eq!(update.old_value("cents"), Some(&json!(100)));
    assert_eq!(update.new_value("cents"), Some(&json!(250)));
    assert_eq!(update.old_value("version"), Some(&json!(0)));
    assert_eq!(update.new_value("version"), Some(&json!(updated.version)));
    // Only what changed: the number stayed.
    assert_eq!(update.columns(), ["cents", "updated_at", "version"]);

    let soft = &history[2];
    assert_eq!(soft.old_value("deleted_at"), Some(&json!(null)));
    assert!(
        soft.new_value("deleted_at")
            .is_some_and(serde_json::Value::is_string)
    );
    assert_eq!(history[3].new_value("deleted_at"), Some(&json!(null)));
    let purge = &history[4];
    assert_eq!(purge.new_values, None);
    assert_eq!(purge.old_value("cents"), Some(&json!(250)));
    assert!(
        history
            .windows(2)
            .all(|w| w[0].changed_at <= w[1].changed_at)
    );
}

async fn upsert_records_an_insert_then_an_update(db: Db) {
    setup(&db).await;
    let service = db.with_actor("importer");
    let repo = InvoiceRepository::new(&service);
    let first = repo.upsert(&full("U-1", 10)).await.unwrap();
    let mut again = full("U-1", 30);
    again.version = first.version;
    let second = repo.upsert(&again).await.unwrap();
    assert_eq!(second.id, first.id);
    assert_eq!(second.cents, 30);

    let history = AuditRepository::new(&db)
        .history::<Invoice>(first.id)
        .await
        .unwrap();
    assert_eq!(
        operations(&history),
        [AuditOperation::Insert, AuditOperation::Update]
    );
    assert!(
        history
            .iter()
            .all(|e| e.actor.as_deref() == Some("importer"))
    );
    assert_eq!(history[1].old_value("cents"), Some(&json!(10)));
    assert_eq!(history[1].new_value("cents"), Some(&json!(30)));
    // A stale upsert writes nothing, and records nothing.
    let stale = repo.upsert(&full("U-1", 99)).await.unwrap_err();
    assert!(stale.is_stale_version(), "{stale}");
    assert_eq!(log(&db).await.len(), 2);
}

async fn bulk_writes_record_one_entry_per_row_across_chunks(db: Db) {
    setup(&db).await;
    let db = db.with_actor("batch");
    let repo = InvoiceRepository::new(&db);
    // More rows than one statement of any backend carries.
    let rows: Vec<Invoice> = (0..12_000).map(|i| full(&format!("B-{i:05}"), i)).collect();
    assert_eq!(repo.bulk_insert(&rows[..6_000]).await.unwrap(), 6_000);
    let changed: Vec<Invoice> = rows
        .iter()
        .map(|r| Invoice {
            cents: r.cents + 1_000_000,
            ..r.clone()
        })
        .collect();
    assert_eq!(repo.bulk_upsert(&changed).await.unwrap(), 12_000);

    let audit = AuditRepository::new(&db);
    let entries = audit.find_all(AuditEntry::of::<Invoice>()).await.unwrap();
    assert_eq!(entries.len(), 18_000);
    let count = |op| entries.iter().filter(|e| e.operation == op).count();
    assert_eq!(count(AuditOperation::Insert), 12_000);
    assert_eq!(count(AuditOperation::Update), 6_000);
    let stored: HashMap<String, Invoice> = repo
        .find_all(Filter::all())
        .await
        .unwrap()
        .into_iter()
        .map(|i| (i.id.to_string(), i))
        .collect();
    for entry in entries
        .iter()
        .filter(|e| e.operation == AuditOperation::Update)
    {
        let invoice = &stored[&entry.entity_key];
        assert_eq!(entry.new_value("cents"), Some(&json!(invoice.cents)));
        assert_eq!(
            entry.old_value("cents"),
            Some(&json!(invoice.cents - 1_000_000))
        );
        assert_eq!(entry.actor.as_deref(), Some("batch"));
    }
}

async fn filtered_writes_record_every_row_they_change(db: Db) {
    setup(&db).await;
    let db = db.with_actor("ops");
    let repo = InvoiceRepository::new(&db);
    for i in 0..5 {
        repo.insert_new(invoice(&format!("F-{i}"), i))
            .await
            .unwrap();
    }
    let n = repo
        .update_where(Invoice::CENTS.lt(3), [Invoice::STATUS.set("late")])
        .await
        .unwrap();
    assert_eq!(n, 3);
    assert_eq!(repo.delete_where(Invoice::CENTS.gte(3)).await.unwrap(), 2);
    assert_eq!(
        repo.only_deleted()
            .purge_where(Filter::all())
            .await
            .unwrap(),
        2
    );

    let audit = AuditRepository::new(&db);
    let updates = audit
        .find_all(AuditEntry::OPERATION.eq(AuditOperation::Update))
        .await
        .unwrap();
    assert_eq!(updates.len(), 3);
    for entry in &updates {
        assert_eq!(entry.old_value("status"), Some(&json!("open")));
        assert_eq!(entry.new_value("status"), Some(&json!("late")));
    }
    let soft = audit
        .find_all(AuditEntry::OPERATION.eq(AuditOperation::SoftDelete))
        .await
        .unwrap();
    let purged = audit
        .find_all(AuditEntry::OPERATION.eq(AuditOperation::Delete))
        .await
        .unwrap();
    let keys = |entries: &[AuditEntry]| {
        let mut keys: Vec<String> = entries.iter().map(|e| e.entity_key.clone()).collect();
        keys.sort();
        keys
    };
    assert_eq!(soft.len(), 2);
    assert_eq!(keys(&soft), keys(&purged));
    assert_eq!(repo.with_deleted().count(Filter::all()).await.unwrap(), 3);
}

async fn claims_and_returning_updates_are_recorded(db: Db) {
    setup(&db).await;
    let db = db.with_actor("worker-1");
    let repo = InvoiceRepository::new(&db);
    for i in 0..4 {
        repo.insert_new(invoice(&format!("C-{i}"), i))
            .await
            .unwrap();
    }
    let mut claim = repo.update_returning();
    claim
        .set(Invoice::STATUS.set("claimed"))
        .and_where(Invoice::STATUS.expr().eq("open"));
    let claimed = repo.claim(claim, 3).await.unwrap();
    assert_eq!(claimed.len(), 3);

    let audit = AuditRepository::new(&db);
    let updates = audit
        .find_all(AuditEntry::OPERATION.eq(AuditOperation::Update))
        .await
        .unwrap();
    let mut claimed_keys: Vec<String> = claimed.iter().map(|i| i.id.to_string()).collect();
    let mut logged: Vec<String> = updates.iter().map(|e| e.entity_key.clone()).collect();
    claimed_keys.sort();
    logged.sort();
    assert_eq!(logged, claimed_keys);
    assert!(
        updates
            .iter()
            .all(|e| e.new_value("status") == Some(&json!("claimed")))
    );
}

async fn a_rolled_back_unit_of_work_leaves_no_entry(db: Db) {
    setup(&db).await;
    let session = db.begin_as("user-1").await.unwrap();
    let repo = InvoiceRepository::new(&session);
    let stored = repo.insert_new(invoice("R-1", 1)).await.unwrap();
    repo.bulk_upsert(&[full("R-2", 2), full("R-3", 3)])
        .await
        .unwrap();
    repo.delete(stored.id).await.unwrap();
    session.rollback().await.unwrap();
    assert!(log(&db).await.is_empty());
    let all = InvoiceRepository::new(&db).with_deleted();
    assert_eq!(all.count(Filter::all()).await.unwrap(), 0);
}

async fn a_failing_bulk_write_in_a_session_leaves_no_entry(db: Db) {
    setup(&db).await;
    let session = db.begin_as("user-2").await.unwrap();
    let repo = InvoiceRepository::new(&session);
    repo.insert_new(invoice("S-1", 1)).await.unwrap();
    // The second chunk fails on the unique number: nothing of the bulk insert stays, neither
    // rows nor entries, and the session goes on.
    let mut rows: Vec<Invoice> = (0..10_000)
        .map(|i| full(&format!("S-{:05}", i + 10), i))
        .collect();
    rows.push(full("S-1", 5));
    let error = repo.bulk_insert(&rows).await.unwrap_err();
    assert!(error.is_conflict(), "{error}");
    // A single-row write that fails leaves no entry either.
    let error = repo.insert_new(invoice("S-1", 9)).await.unwrap_err();
    assert!(error.is_conflict(), "{error}");
    repo.insert_new(invoice("S-2", 2)).await.unwrap();
    session.commit().await.unwrap();

    let entries = log(&db).await;
    let numbers: Vec<_> = entries
        .iter()
        .map(|e| e.new_value("number").cloned())
        .collect();
    assert_eq!(numbers, [Some(json!("S-1")), Some(json!("S-2"))]);
    assert_eq!(
        InvoiceRepository::new(&db)
            .count(Filter::all())
            .await
            .unwrap(),
        2
    );
}

async fn a_required_actor_is_enforced_before_anything_is_written(db: Db) {
    setup(&db).await;
    let repo = PayoutRepository::new(&db);
    let payout = Payout {
        id: "p1".into(),
        cents: 10,
    };
    let error = repo.insert(&payout).await.unwrap_err();
    assert!(
        matches!(error, Error::ActorRequired { entity: "Payout" }),
        "{error}"
    );
    let error = repo
        .bulk_upsert(std::slice::from_ref(&payout))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::ActorRequired { .. }), "{error}");
    assert_eq!(repo.count(Filter::all()).await.unwrap(), 0);

    let session = db.begin().await.unwrap();
    let in_session = PayoutRepository::new(&session);
    let error = in_session.insert(&payout).await.unwrap_err();
    assert!(matches!(error, Error::ActorRequired { .. }), "{error}");
    session.set_actor("clerk");
    in_session.insert(&payout).await.unwrap();
    session.clear_actor();
    let error = in_session
        .update_where(Payout::ID.eq("p1"), [Payout::CENTS.set(20)])
        .await
        .unwrap_err();
    assert!(matches!(error, Error::ActorRequired { .. }), "{error}");

    // A blank actor names nobody; an overlong one does not fit the log.
    session.set_actor("  ");
    let error = in_session.delete("p1").await.unwrap_err();
    assert!(matches!(error, Error::ActorRequired { .. }), "{error}");
    session.set_actor("x".repeat(256));
    let error = in_session.delete("p1").await.unwrap_err();
    assert!(error.is_validation(), "{error}");
    session.commit().await.unwrap();

    let stored = repo.get("p1").await.unwrap();
    assert_eq!(stored.cents, 10);
    let entries = log(&db).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].actor.as_deref(), Some("clerk"));
    assert_eq!(entries[0].entity_key, "\"p1\"");
    let admin = db.with_actor("admin");
    let as_admin = PayoutRepository::new(&admin);
    assert!(as_admin.delete("p1").await.unwrap());
    assert_eq!(log(&db).await.len(), 2);
}

async fn sixteen_tasks_upserting_the_same_rows_leave_one_entry_per_write(db: Db) {
    setup(&db).await;
    let numbers: Vec<String> = (0..40).map(|i| format!("X-{i:02}")).collect();
    let mut tasks = Vec::new();
    for task in 0..16_i64 {
        let db = db.with_actor(format!("task-{task}"));
        // Overlapping windows: each row is written by several tasks.
        let window: Vec<Invoice> = numbers
            .iter()
            .skip((task as usize * 2) % 20)
            .take(20)
            .map(|n| full(n, task))
            .collect();
        tasks.push(tokio::spawn(async move {
            InvoiceRepository::new(&db)
                .bulk_upsert(&window)
                .await
                .unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let entries = log(&db).await;
    assert_eq!(entries.len(), 16 * 20);
    // Per row, the newest entry describes the row as stored.
    let stored = InvoiceRepository::new(&db)
        .find_all(Filter::all())
        .await
        .unwrap();
    for invoice in stored {
        let key = invoice.id.to_string();
        let last = entries.iter().rev().find(|e| e.entity_key == key).unwrap();
        assert_eq!(last.new_value("cents"), Some(&json!(invoice.cents)));
        assert_eq!(
            last.actor.as_deref(),
            Some(format!("task-{}", invoice.cents).as_str())
        );
        let chain: Vec<&AuditEntry> = entries.iter().filter(|e| e.entity_key == key).collect();
        assert_eq!(invoice.version, chain.len() as i64 - 1);
        // The first writer inserted the row; every later one saw what the one before it left,
        // even a writer that found no row when it looked and met one another task had just
        // inserted.
        assert_eq!(chain[0].operation, AuditOperation::Insert, "{key}");
        for pair in chain.windows(2) {
            assert_eq!(pair[1].operation, AuditOperation::Update, "{key}");
            assert_eq!(
                pair[0].new_value("version"),
                pair[1].old_value("version"),
                "{key}"
            );
        }
    }
}

/// Hot rows, round after round, under the default retry policy: sixteen tasks upsert the same
/// row, then overlapping windows of rows. Every call succeeds (MariaDB's deadlocks between
/// such writers are rare enough for the policy's attempts), and each write leaves its entry.
async fn hot_rows_upserted_by_sixteen_tasks_for_ten_rounds_all_succeed(db: Db) {
    setup(&db).await;
    let mut writes = 0;
    for round in 0..10 {
        let numbers: Vec<String> = (0..40).map(|i| format!("H{round}-{i:02}")).collect();
        let mut tasks = Vec::new();
        for task in 0..16_i64 {
            let db = db.with_actor(format!("task-{task}"));
            let hot = full(&numbers[0], task);
            let window: Vec<Invoice> = numbers
                .iter()
                .skip(1 + (task as usize * 2) % 19)
                .take(20)
                .map(|n| full(n, task))
                .collect();
            tasks.push(tokio::spawn(async move {
                let repo = InvoiceRepository::new(&db);
                // A bulk upsert bumps the version whatever the row holds (`upsert` would
                // check it: optimistic locking).
                repo.bulk_upsert(std::slice::from_ref(&hot)).await?;
                repo.bulk_upsert(&window).await
            }));
        }
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        writes += 16 * 21;
        let hot = InvoiceRepository::new(&db)
            .find_one(Invoice::NUMBER.eq(numbers[0].as_str()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            hot.version, 15,
            "round {round}: sixteen writes of the hot row"
        );
    }
    assert_eq!(log(&db).await.len(), writes);
}

async fn sixteen_tasks_updating_the_same_rows_leave_a_chain_of_entries(db: Db) {
    setup(&db).await;
    let repo = InvoiceRepository::new(&db);
    for i in 0..30 {
        repo.insert_new(invoice(&format!("Q-{i:02}"), i))
            .await
            .unwrap();
    }
    let mut tasks = Vec::new();
    for task in 0..16 {
        let db = db.with_actor(format!("task-{task}"));
        tasks.push(tokio::spawn(async move {
            let repo = InvoiceRepository::new(&db);
            let status = format!("by-{task}");
            let n = repo
                .update_where(Invoice::CENTS.lt(100), [Invoice::STATUS.set(status)])
                .await
                .unwrap();
            assert_eq!(n, 30);
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let audit = AuditRepository::new(&db);
    let updates = audit
        .find_all(AuditEntry::OPERATION.eq(AuditOperation::Update))
        .await
        .unwrap();
    assert_eq!(updates.len(), 16 * 30);
    // Per row, each entry starts where the one before it ended: no write was missed or
    // recorded out of order.
    for invoice in repo.find_all(Filter::all()).await.unwrap() {
        let key = invoice.id.to_string();
        let chain: Vec<&AuditEntry> = updates.iter().filter(|e| e.entity_key == key).collect();
        assert_eq!(chain.len(), 16);
        assert_eq!(chain[0].old_value("status"), Some(&json!("open")));
        for pair in chain.windows(2) {
            assert_eq!(pair[0].new_value("status"), pair[1].old_value("status"));
        }
        let last = chain.last().unwrap();
        assert_eq!(last.new_value("status"), Some(&json!(invoice.status)));
        assert_eq!(invoice.version, 16);
    }
}

async fn the_log_is_read_by_entity_key_actor_and_time(db: Db) {
    setup(&db).await;
    let before = repo_core::repository::now();
    let (ann, bob) = (db.with_actor("ann"), db.with_actor("bob"));
    let (ann, bob) = (InvoiceRepository::new(&ann), InvoiceRepository::new(&bob));
    let a = ann.insert_new(invoice("L-1", 1)).await.unwrap();
    let b = bob.insert_new(invoice("L-2", 2)).await.unwrap();
    let mut changed = a.clone();
    changed.cents = 5;
    bob.update(&changed).await.unwrap();
    let after = repo_core::repository::now();

    let audit = AuditRepository::new(&db);
    let by_bob = audit.find_all(AuditEntry::ACTOR.eq("bob")).await.unwrap();
    assert_eq!(by_bob.len(), 2);
    let of_a = audit.history::<Invoice>(a.id).await.unwrap();
    assert_eq!(
        of_a.iter().map(|e| e.actor.as_deref()).collect::<Vec<_>>(),
        [Some("ann"), Some("bob")]
    );
    let of_b = audit
        .find_all(AuditEntry::of_row::<Invoice>(b.id).and(AuditEntry::ACTOR.eq("bob")))
        .await
        .unwrap();
    assert_eq!(of_b.len(), 1);
    let in_window = audit
        .count(AuditEntry::CHANGED_AT.between(before, after))
        .await
        .unwrap();
    assert_eq!(in_window, 3);
    let later = audit.count(AuditEntry::CHANGED_AT.gt(after)).await.unwrap();
    assert_eq!(later, 0);
    let page = audit
        .find(
            AuditEntry::of::<Invoice>(),
            PageRequest::new(2).order_by(AuditEntry::ID.desc()),
        )
        .await
        .unwrap();
    assert_eq!(page.total, 3);
    assert_eq!(page.items[0].new_value("cents"), Some(&json!(5)));
}

async fn unaudited_entities_write_no_entry(db: Db) {
    setup(&db).await;
    let someone = db.with_actor("someone");
    let repo = NoteRepository::new(&someone);
    let note = repo
        .insert_new(NewNote {
            text: "hello".into(),
        })
        .await
        .unwrap();
    repo.delete(note.id).await.unwrap();
    assert!(log(&db).await.is_empty());
}

async fn composite_keys_are_logged_as_arrays(db: Db) {
    setup(&db).await;
    let db = db.with_actor("box-office");
    let repo = SeatRepository::new(&db);
    let seats: Vec<Seat> = (1..=3)
        .flat_map(|row| {
            (1..=4).map(move |number| Seat {
                row,
                number,
                holder: None,
            })
        })
        .collect();
    assert_eq!(repo.bulk_upsert(&seats).await.unwrap(), 12);
    let sold = repo
        .update_where(Seat::ROW.eq(2), [Seat::HOLDER.set("ann")])
        .await
        .unwrap();
    assert_eq!(sold, 4);
    assert!(repo.delete((3, 4)).await.unwrap());

    let audit = AuditRepository::new(&db);
    let history = audit.history::<Seat>((2, 3)).await.unwrap();
    assert_eq!(
        operations(&history),
        [AuditOperation::Insert, AuditOperation::Update]
    );
    assert_eq!(history[1].entity_key, "[2,3]");
    assert_eq!(history[1].old_value("holder"), Some(&json!(null)));
    assert_eq!(history[1].new_value("holder"), Some(&json!("ann")));
    let gone = audit.history::<Seat>((3, 4)).await.unwrap();
    assert_eq!(
        operations(&gone),
        [AuditOperation::Insert, AuditOperation::Delete]
    );
    assert_eq!(gone[1].old_value("number"), Some(&json!(4)));
    assert_eq!(
        audit.count(AuditEntry::of::<Seat>()).await.unwrap(),
        12 + 4 + 1
    );
}

async fn concurrent_audited_writes_on_one_session_are_each_recorded(db: Db) {
    setup(&db).await;
    let session = db.begin_as("clerk").await.unwrap();
    let repo = InvoiceRepository::new(&session);
    let a = repo.insert_new(invoice("J-1", 1)).await.unwrap();
    let b = repo.insert_new(invoice("J-2", 2)).await.unwrap();
    let (mut a2, mut b2) = (a.clone(), b.clone());
    a2.cents = 10;
    b2.cents = 20;
    let mut missing = b.clone();
    missing.id = -1;
    // Two audited writes and a failing one, interleaved on one session.
    let (ra, rb, rm) = tokio::join!(repo.update(&a2), repo.update(&b2), repo.update(&missing));
    ra.unwrap();
    rb.unwrap();
    assert!(rm.unwrap_err().is_not_found());
    session.commit().await.unwrap();

    let stored = InvoiceRepository::new(&db);
    assert_eq!(stored.get(a.id).await.unwrap().cents, 10);
    assert_eq!(stored.get(b.id).await.unwrap().cents, 20);
    let audit = AuditRepository::new(&db);
    for (id, was, now) in [(a.id, 1, 10), (b.id, 2, 20)] {
        let history = audit.history::<Invoice>(id).await.unwrap();
        assert_eq!(history.len(), 2, "{history:?}");
        assert_eq!(history[1].old_value("cents"), Some(&json!(was)));
        assert_eq!(history[1].new_value("cents"), Some(&json!(now)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_cancelled_audited_write_in_a_session_keeps_the_session_from_committing() {
    let db = repo_tests::sqlite("a_cancelled_audited_write").await;
    a_cancelled_audited_write_in_a_session_keeps_the_session_from_committing(db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_cancelled_audited_write_in_a_session_keeps_the_session_from_committing() {
    let db = repo_tests::postgres("a_cancelled_audited_write").await;
    a_cancelled_audited_write_in_a_session_keeps_the_session_from_committing(db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_a_cancelled_audited_write_in_a_session_keeps_the_session_from_committing() {
    let db = repo_tests::mysql("a_cancelled_audited_write").await;
    a_cancelled_audited_write_in_a_session_keeps_the_session_from_committing(db).await;
}

async fn a_cancelled_audited_write_in_a_session_keeps_the_session_from_committing(db: Db) {
    setup(&db).await;
    let rows: Vec<Invoice> = (0..3_000).map(|i| full(&format!("K-{i:05}"), i)).collect();
    let mut refused = 0;
    // Cancelled at different points of its work: before it starts, between its statements,
    // after it ends. Whatever commits holds every row with its entry, or neither.
    for micros in [1, 100, 500, 2_000, 10_000, 50_000, 1_000_000] {
        let session = db.begin_as("clerk").await.unwrap();
        let repo = InvoiceRepository::new(&session);
        let limit = std::time::Duration::from_micros(micros);
        let _ = tokio::time::timeout(limit, repo.bulk_upsert(&rows)).await;
        match session.commit().await {
            Ok(()) => {}
            Err(Error::SessionAborted { .. }) => refused += 1,
            Err(other) => panic!("{other}"),
        }
        let stored = InvoiceRepository::new(&db)
            .with_deleted()
            .count(Filter::all())
            .await
            .unwrap();
        let entries = AuditRepository::new(&db)
            .count(AuditEntry::of::<Invoice>())
            .await
            .unwrap();
        assert!(stored == 0 || stored == 3_000, "{micros} µs: {stored} rows");
        assert_eq!(entries, stored, "{micros} µs: every row with its entry");
        if stored > 0 {
            InvoiceRepository::new(&db)
                .purge_where(Filter::all())
                .await
                .unwrap();
            AuditRepository::new(&db)
                .purge_where(Filter::all())
                .await
                .unwrap();
        }
    }
    // The last run (a second) finishes its write and commits it.
    assert!(refused <= 6, "{refused}");
}

async fn audited_writes_refuse_to_change_a_primary_key(db: Db) {
    setup(&db).await;
    let db = db.with_actor("ops");
    let repo = SeatRepository::new(&db);
    repo.insert(&Seat {
        row: 1,
        number: 1,
        holder: None,
    })
    .await
    .unwrap();
    let error = repo
        .update_where(Seat::ROW.eq(1), [Seat::NUMBER.set(9)])
        .await
        .unwrap_err();
    assert!(error.is_validation(), "{error}");
    let mut update = repo.update_returning();
    update
        .set(Seat::NUMBER.set(9))
        .cond_where(repo.condition(Seat::ROW.eq(1)));
    let error = repo.fetch_updated(update).await.unwrap_err();
    assert!(error.is_validation(), "{error}");
    let seats = repo.find_all(Filter::all()).await.unwrap();
    assert_eq!(seats.len(), 1);
    assert_eq!((seats[0].row, seats[0].number), (1, 1));
    assert_eq!(log(&db).await.len(), 1);
}

async fn keys_too_long_for_the_log_are_refused_on_every_backend(db: Db) {
    setup(&db).await;
    let db = db.with_actor("ops");
    let repo = PayoutRepository::new(&db);
    // The table holds it (255 characters on MariaDB), the log does not: as JSON it is 256.
    let long = Payout {
        id: "p".repeat(254),
        cents: 1,
    };
    let error = repo.insert(&long).await.unwrap_err();
    assert!(error.is_validation(), "{error}");
    assert_eq!(repo.count(Filter::all()).await.unwrap(), 0);
    let fits = Payout {
        id: "p".repeat(253),
        cents: 1,
    };
    repo.insert(&fits).await.unwrap();
    assert_eq!(log(&db).await.len(), 1);
}

async fn acting_as_names_the_actor_without_touching_the_session(db: Db) {
    setup(&db).await;
    let session = db.begin_as("clerk").await.unwrap();
    let repo = InvoiceRepository::new(&session);
    let as_ann = repo.acting_as("ann");
    let invoice = as_ann.insert_new(invoice("Z-1", 1)).await.unwrap();
    repo.delete(invoice.id).await.unwrap();
    assert_eq!(session.actor().as_deref(), Some("clerk"));
    session.commit().await.unwrap();
    let actors: Vec<Option<String>> = log(&db).await.into_iter().map(|e| e.actor).collect();
    assert_eq!(actors, [Some("ann".to_owned()), Some("clerk".to_owned())]);
}
