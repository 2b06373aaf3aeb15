//! `ApiErrorRepository` on SQLite and PostgreSQL: logging, filtered pages, resolution,
//! statistics, cleanup, and the idempotent hourly roll-up, with time windows checked at both
//! ends.

use chrono::{Duration, DurationRound as _};
use repo_core::prelude::*;
use repo_core::repository::now;
use repo_domain::*;
use serde_json::json;
use uuid::Uuid;

repo_tests::on_every_backend!(
    log_and_get_by_id,
    get_errors_filters_and_pages,
    resolve_error_once,
    resolving_is_audited_with_the_actor,
    error_stats_follow_filters,
    delete_old_errors_only_resolved,
    roll_up_is_idempotent_and_windowed,
);

async fn setup(db: &Db) -> ApiErrorRepository<'_> {
    migrate(db).await.unwrap();
    ApiErrorRepository::new(db)
}

async fn backdate(repo: &ApiErrorRepository<'_>, id: Uuid, at: DateTime<Utc>) {
    let n = repo
        .update_where(ApiError::ID.eq(id), [ApiError::CREATED_AT.set(at)])
        .await
        .unwrap();
    assert_eq!(n, 1);
}

async fn log_and_get_by_id(db: Db) {
    let repo = setup(&db).await;
    let logged = repo
        .log_error(
            &ApiError::new("/api/generation", "POST", "Failed to start pipeline")
                .severity(ErrorSeverity::Error)
                .category(ErrorCategory::Application)
                .user("user-1")
                .status_code(500)
                .request("req-9")
                .stack("at main")
                .metadata(json!({"pipeline": "p-1"})),
        )
        .await
        .unwrap();
    assert!(!logged.id.is_nil());
    let read = repo.get_error_by_id(logged.id).await.unwrap().unwrap();
    assert_eq!(read, logged);
    assert_eq!(read.endpoint, "/api/generation");
    assert_eq!(read.status_code, Some(500));
    assert_eq!(read.metadata, json!({"pipeline": "p-1"}));
    assert!(!read.resolved);
    assert_eq!(repo.get_error_by_id(Uuid::new_v4()).await.unwrap(), None);
}

async fn get_errors_filters_and_pages(db: Db) {
    let repo = setup(&db).await;
    let t = now();
    let mut ids = Vec::new();
    for i in 0..6 {
        let e = repo
            .log_error(
                &ApiError::new(if i < 4 { "/a" } else { "/b" }, "GET", &format!("e{i}"))
                    .severity(if i % 2 == 0 {
                        ErrorSeverity::Error
                    } else {
                        ErrorSeverity::Warning
                    })
                    .category(ErrorCategory::Database)
                    .user(if i < 3 { "u1" } else { "u2" }),
            )
            .await
            .unwrap();
        backdate(&repo, e.id, t - Duration::minutes(i64::from(i) * 10)).await;
        ids.push(e.id);
    }
    let errors = repo
        .get_errors(&ErrorFilters {
            severity: Some(ErrorSeverity::Error),
            ..ErrorFilters::default()
        })
        .await
        .unwrap();
    assert_eq!(errors.total, 3);
    let got: Vec<Uuid> = errors.items.iter().map(|e| e.id).collect();
    assert_eq!(got, vec![ids[0], ids[2], ids[4]], "newest first");

    let page = repo
        .get_errors(&ErrorFilters {
            endpoint: Some("/a".into()),
            limit: 2,
            offset: 2,
            ..ErrorFilters::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total, 4);
    assert_eq!(
        page.items.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![ids[2], ids[3]]
    );

    let window = repo
        .get_errors(&ErrorFilters {
            start_date: Some(t - Duration::minutes(30)),
            end_date: Some(t - Duration::minutes(10)),
            ..ErrorFilters::default()
        })
        .await
        .unwrap();
    assert_eq!(
        window.items.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![ids[2], ids[3]],
        "start included, end excluded, outside rows left out"
    );
    let user = repo
        .get_errors(&ErrorFilters {
            user_id: Some("u2".into()),
            category: Some(ErrorCategory::Database),
            resolved: Some(false),
            ..ErrorFilters::default()
        })
        .await
        .unwrap();
    assert_eq!(user.total, 3);
    let none = repo
        .get_errors(&ErrorFilters {
            resolved: Some(true),
            ..ErrorFilters::default()
        })
        .await
        .unwrap();
    assert_eq!(none.total, 0);
    let bad = repo
        .get_errors(&ErrorFilters {
            limit: 0,
            ..ErrorFilters::default()
        })
        .await
        .unwrap_err();
    assert!(bad.is_validation());
}

async fn resolve_error_once(db: Db) {
    let repo = setup(&db).await;
    let e = repo
        .log_error(&ApiError::new("/x", "GET", "boom"))
        .await
        .unwrap();
    let resolved = repo
        .resolve_error(e.id, "alice", "restarted the worker")
        .await
        .unwrap();
    assert!(resolved.resolved);
    let read = repo.get(e.id).await.unwrap();
    assert_eq!(read.resolved_by.as_deref(), Some("alice"));
    assert_eq!(read.resolution.as_deref(), Some("restarted the worker"));
    assert!(read.resolved_at.unwrap() >= read.created_at);

    let err = repo.resolve_error(e.id, "bob", "again").await.unwrap_err();
    assert!(err.is_validation(), "{err:?}");
    assert_eq!(repo.get(e.id).await.unwrap(), read, "first resolution kept");
    let err = repo
        .resolve_error(Uuid::new_v4(), "bob", "x")
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}

async fn resolving_is_audited_with_the_actor(db: Db) {
    use repo_core::{AuditEntry, AuditOperation, AuditRepository};
    let repo = setup(&db).await;
    let first = repo
        .log_error(&ApiError::new("/x", "GET", "boom"))
        .await
        .unwrap();
    let second = repo
        .log_error(&ApiError::new("/y", "GET", "bang"))
        .await
        .unwrap();
    // On the pool without an actor: the one who resolves it.
    repo.resolve_error(first.id, "alice", "restarted")
        .await
        .unwrap();
    // Refused: nothing written, nothing recorded.
    repo.resolve_error(first.id, "bob", "again")
        .await
        .unwrap_err();
    // In a unit of work with an actor: that actor.
    let session = db.begin_as("ops-bot").await.unwrap();
    ApiErrorRepository::new(&session)
        .resolve_error(second.id, "carol", "rolled back")
        .await
        .unwrap();
    session.commit().await.unwrap();

    let audit = AuditRepository::new(&db);
    let history = audit.history::<ApiError>(first.id).await.unwrap();
    let operations: Vec<AuditOperation> = history.iter().map(|e| e.operation).collect();
    assert_eq!(operations, [AuditOperation::Insert, AuditOperation::Update]);
    assert_eq!(history[0].actor, None);
    let resolution = &history[1];
    assert_eq!(resolution.actor.as_deref(), Some("alice"));
    assert_eq!(resolution.old_value("resolved"), Some(&json!(false)));
    assert_eq!(resolution.new_value("resolved"), Some(&json!(true)));
    assert_eq!(resolution.new_value("resolved_by"), Some(&json!("alice")));
    let by_bot = audit
        .find_all(AuditEntry::ACTOR.eq("ops-bot"))
        .await
        .unwrap();
    assert_eq!(by_bot.len(), 1);
    assert_eq!(by_bot[0].entity_key, format!("\"{}\"", second.id));
    assert_eq!(by_bot[0].new_value("resolved_by"), Some(&json!("carol")));

    // Cleanup is recorded too, row by row.
    let removed = repo
        .delete_old_errors(now() + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(removed, 2);
    let deletes = audit
        .count(AuditEntry::OPERATION.eq(AuditOperation::Delete))
        .await
        .unwrap();
    assert_eq!(deletes, 2);
}

async fn error_stats_follow_filters(db: Db) {
    let repo = setup(&db).await;
    let t = now();
    for (endpoint, severity, category, resolved) in [
        ("/a", ErrorSeverity::Error, ErrorCategory::Database, false),
        ("/a", ErrorSeverity::Error, ErrorCategory::Network, true),
        (
            "/a",
            ErrorSeverity::Critical,
            ErrorCategory::Database,
            false,
        ),
        (
            "/b",
            ErrorSeverity::Warning,
            ErrorCategory::Validation,
            false,
        ),
    ] {
        let e = repo
            .log_error(
                &ApiError::new(endpoint, "GET", "m")
                    .severity(severity)
                    .category(category),
            )
            .await
            .unwrap();
        if resolved {
            repo.resolve_error(e.id, "ops", "fixed").await.unwrap();
        }
    }
    let old = repo
        .log_error(&ApiError::new("/old", "GET", "m"))
        .await
        .unwrap();
    backdate(&repo, old.id, t - Duration::days(2)).await;

    let stats = repo
        .get_error_stats(&ErrorFilters {
            start_date: Some(t - Duration::days(1)),
            ..ErrorFilters::default()
        })
        .await
        .unwrap();
    assert_eq!(stats.total, 4, "the old error is outside the window");
    assert_eq!(stats.resolved, 1);
    assert_eq!(stats.unresolved, 3);
    assert_eq!(
        stats.by_severity,
        vec![
            (ErrorSeverity::Critical, 1),
            (ErrorSeverity::Error, 2),
            (ErrorSeverity::Warning, 1)
        ]
    );
    assert_eq!(
        stats.by_category,
        vec![
            (ErrorCategory::Validation, 1),
            (ErrorCategory::Database, 2),
            (ErrorCategory::Network, 1)
        ]
    );
    assert_eq!(
        stats.top_endpoints,
        vec![("/a".to_owned(), 3), ("/b".to_owned(), 1)]
    );

    let all = repo
        .get_error_stats(&ErrorFilters::default())
        .await
        .unwrap();
    assert_eq!(all.total, 5);
    let only_a = repo
        .get_error_stats(&ErrorFilters {
            endpoint: Some("/a".into()),
            severity: Some(ErrorSeverity::Error),
            ..ErrorFilters::default()
        })
        .await
        .unwrap();
    assert_eq!(only_a.total, 2);
    assert_eq!(only_a.resolved, 1);
}

async fn delete_old_errors_only_resolved(db: Db) {
    let repo = setup(&db).await;
    let t = now();
    let mut made = Vec::new();
    for (age_days, resolved) in [(40, true), (40, false), (5, true)] {
        let e = repo
            .log_error(&ApiError::new("/x", "GET", "m"))
            .await
            .unwrap();
        if resolved {
            repo.resolve_error(e.id, "ops", "done").await.unwrap();
        }
        backdate(&repo, e.id, t - Duration::days(age_days)).await;
        made.push(e.id);
    }
    let deleted = repo
        .delete_old_errors(t - Duration::days(30))
        .await
        .unwrap();
    assert_eq!(deleted, 1);
    assert_eq!(repo.get_error_by_id(made[0]).await.unwrap(), None);
    assert!(repo.get_error_by_id(made[1]).await.unwrap().is_some());
    assert!(repo.get_error_by_id(made[2]).await.unwrap().is_some());
}

async fn roll_up_is_idempotent_and_windowed(db: Db) {
    let repo = setup(&db).await;
    let hour = Duration::hours(1);
    let h0 = now().duration_trunc(hour).unwrap() - Duration::hours(5);
    let h1 = h0 + hour;
    // Hour h0: three errors on /a (two users + one anonymous), one on /b.
    // Hour h1: two on /a. Hour h0 - 1 and h1 + 2: outside the window.
    let plan = [
        (h0 + Duration::minutes(1), "/a", Some("u1")),
        (h0 + Duration::minutes(20), "/a", Some("u2")),
        (h0 + Duration::minutes(59), "/a", None),
        (h0 + Duration::minutes(30), "/b", Some("u1")),
        (h1, "/a", Some("u1")),
        (h1 + Duration::minutes(45), "/a", Some("u1")),
        (h0 - Duration::minutes(1), "/a", Some("u9")),
        (h1 + Duration::hours(2), "/a", Some("u9")),
    ];
    for (at, endpoint, user) in plan {
        let mut e = ApiError::new(endpoint, "GET", "m").category(ErrorCategory::Network);
        if let Some(user) = user {
            e = e.user(user);
        }
        let e = repo.log_error(&e).await.unwrap();
        backdate(&repo, e.id, at).await;
    }

    // A window inside h0 .. h1 covers both whole hours.
    let written = repo
        .roll_up_aggregations(h0 + Duration::minutes(10), h1 + Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(written, 3);
    let filters = AggregationFilters::default();
    let first = repo.get_aggregations(&filters).await.unwrap();
    let got: Vec<(DateTime<Utc>, &str, i64, i64)> = first
        .iter()
        .map(|a| (a.hour, a.endpoint.as_str(), a.error_count, a.unique_users))
        .collect();
    assert_eq!(
        got,
        vec![(h0, "/a", 3, 2), (h0, "/b", 1, 1), (h1, "/a", 2, 1)]
    );
    assert!(
        first
            .iter()
            .all(|a| a.severity == ErrorSeverity::Error && a.category == ErrorCategory::Network)
    );
    if let Some(pool) = db.sqlite_pool() {
        // The SQLite hour bucket is the stored text of the hour: whole seconds, no fraction.
        let differing: i64 = repo_core::sqlx::query_scalar(
            "SELECT COUNT(*) FROM error_aggregations \
             WHERE hour <> strftime('%Y-%m-%d %H:00:00', hour) OR hour LIKE '%.%'",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        assert_eq!(differing, 0);
    }

    repo.roll_up_aggregations(h0 + Duration::minutes(10), h1 + Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(
        repo.get_aggregations(&filters).await.unwrap(),
        first,
        "running it twice changes nothing"
    );

    let only_h1 = repo
        .get_aggregations(&AggregationFilters {
            start_date: Some(h1),
            end_date: Some(h1 + hour),
            endpoint: Some("/a".into()),
            ..AggregationFilters::default()
        })
        .await
        .unwrap();
    assert_eq!(only_h1.len(), 1);
    assert_eq!(only_h1[0].error_count, 2);
    assert!(
        repo.get_aggregations(&AggregationFilters {
            severity: Some(ErrorSeverity::Critical),
            ..AggregationFilters::default()
        })
        .await
        .unwrap()
        .is_empty()
    );
    assert!(
        repo.roll_up_aggregations(h1, h0)
            .await
            .unwrap_err()
            .is_validation()
    );
}
