//! `DatasetRepository` on SQLite and PostgreSQL: lookups, upserts, the guarded enrichment
//! workflow, statistics and the concurrent claim, each asserted on what the database holds.

use std::collections::{HashMap, HashSet};

use repo_core::prelude::*;
use repo_domain::*;

repo_tests::on_every_backend!(
    get_by_external_id_and_upsert,
    bulk_upsert_counts_and_updates,
    pending_selection_respects_source_status_and_attempts,
    enrichment_workflow_and_guards,
    guarded_transitions_write_nothing,
    stats_by_source_and_count_by_status,
    unknown_status_label_is_a_decode_error_not_a_missing_row,
    claim_hands_each_dataset_to_one_worker,
    thirty_two_workers_claim_twenty_thousand_datasets_once,
    expired_leases_are_taken_over_and_only_the_holder_finishes,
);

async fn setup(db: &Db) -> DatasetRepository<'_> {
    migrate(db).await.unwrap();
    DatasetRepository::new(db)
}

async fn get_by_external_id_and_upsert(db: Db) {
    let repo = setup(&db).await;
    assert_eq!(
        repo.get_by_external_id("kaggle", "o/d").await.unwrap(),
        None
    );
    let mut d = Dataset::new("kaggle", "o/d", "My Dataset");
    d.url = Some("https://kaggle.com/o/d".into());
    let first = repo.upsert(&d).await.unwrap();
    assert!(first.id > 0);

    d.title = "Renamed".into();
    d.description = Some("about".into());
    let second = repo.upsert(&d).await.unwrap();
    assert_eq!(
        second.id, first.id,
        "upsert updates the row of the same key"
    );

    let read = repo
        .get_by_external_id("kaggle", "o/d")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.title, "Renamed");
    assert_eq!(read.description.as_deref(), Some("about"));
    assert_eq!(read.url.as_deref(), Some("https://kaggle.com/o/d"));
    assert_eq!(
        repo.get_by_external_id("huggingface", "o/d").await.unwrap(),
        None,
        "the source is part of the key"
    );
}

async fn bulk_upsert_counts_and_updates(db: Db) {
    let repo = setup(&db).await;
    let many: Vec<Dataset> = (0..300)
        .map(|i| Dataset::new("kaggle", &format!("o/{i}"), &format!("t{i}")))
        .collect();
    assert_eq!(repo.bulk_upsert(&many).await.unwrap(), 300);
    let changed: Vec<Dataset> = (250..350)
        .map(|i| Dataset::new("kaggle", &format!("o/{i}"), &format!("new{i}")))
        .collect();
    assert_eq!(repo.bulk_upsert(&changed).await.unwrap(), 100);
    assert_eq!(repo.count(Filter::all()).await.unwrap(), 350);
    let d = repo
        .get_by_external_id("kaggle", "o/260")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.title, "new260");
    let d = repo
        .get_by_external_id("kaggle", "o/10")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.title, "t10");
}

async fn pending_selection_respects_source_status_and_attempts(db: Db) {
    let repo = setup(&db).await;
    let mut rows = Vec::new();
    for (i, (status, attempts)) in [
        (EnrichmentStatus::Minimal, 0),
        (EnrichmentStatus::Failed, 1),
        (EnrichmentStatus::Failed, 3),
        (EnrichmentStatus::Enriching, 0),
        (EnrichmentStatus::Enriched, 0),
        (EnrichmentStatus::Minimal, 0),
    ]
    .into_iter()
    .enumerate()
    {
        let mut d = Dataset::new("kaggle", &format!("k{i}"), "t");
        d.enrichment_status = status;
        d.enrichment_attempts = attempts;
        rows.push(repo.insert(&d).await.unwrap());
    }
    repo.insert(&Dataset::new("hf", "h0", "other source"))
        .await
        .unwrap();

    let pending = repo
        .get_pending_for_enrichment("kaggle", 100, 3)
        .await
        .unwrap();
    let ids: Vec<i64> = pending.iter().map(|d| d.id).collect();
    assert_eq!(ids, vec![rows[0].id, rows[1].id, rows[5].id]);
    let limited = repo
        .get_pending_for_enrichment("kaggle", 2, 3)
        .await
        .unwrap();
    assert_eq!(limited.len(), 2);
    assert_eq!(limited[0].id, rows[0].id);
    let stricter = repo
        .get_pending_for_enrichment("kaggle", 100, 1)
        .await
        .unwrap();
    assert_eq!(
        stricter.len(),
        2,
        "a failed dataset with 1 attempt is out at max 1"
    );
    let err = repo
        .get_pending_for_enrichment("kaggle", 0, 3)
        .await
        .unwrap_err();
    assert!(err.is_validation());
}

async fn enrichment_workflow_and_guards(db: Db) {
    let repo = setup(&db).await;
    let d = repo
        .insert(&Dataset::new("kaggle", "w/1", "t"))
        .await
        .unwrap();

    let enriching = repo.mark_enriching(d.id).await.unwrap();
    assert_eq!(enriching.enrichment_status, EnrichmentStatus::Enriching);

    let failed = repo.mark_failed(d.id, "Dataset not found").await.unwrap();
    assert_eq!(failed.enrichment_status, EnrichmentStatus::Failed);
    assert_eq!(failed.enrichment_attempts, 1);
    assert_eq!(failed.last_error.as_deref(), Some("Dataset not found"));

    repo.mark_enriching(d.id).await.unwrap();
    let done = repo.mark_enriched(d.id, vec![0.1, 0.2, 0.3]).await.unwrap();
    assert_eq!(done.enrichment_status, EnrichmentStatus::Enriched);

    let read = repo.get(d.id).await.unwrap();
    assert_eq!(read.enrichment_status, EnrichmentStatus::Enriched);
    assert_eq!(read.embedding, Some(vec![0.1, 0.2, 0.3]));
    assert_eq!(
        read.enrichment_attempts, 1,
        "a success does not count as a failed attempt"
    );
    assert_eq!(read.last_error, None, "success clears the last error");
    let enriched_at = read.enriched_at.expect("enriched_at set");
    assert!(enriched_at >= read.created_at);
}

async fn guarded_transitions_write_nothing(db: Db) {
    let repo = setup(&db).await;
    let d = repo
        .insert(&Dataset::new("kaggle", "g/1", "t"))
        .await
        .unwrap();
    let before = repo.get(d.id).await.unwrap();

    let err = repo.mark_enriched(d.id, vec![1.0]).await.unwrap_err();
    assert!(
        matches!(&err, Error::Validation { field, reason } if field == "enrichment_status" && reason.contains("Minimal")),
        "{err:?}"
    );
    let err = repo.mark_failed(d.id, "x").await.unwrap_err();
    assert!(err.is_validation(), "{err:?}");
    assert_eq!(repo.get(d.id).await.unwrap(), before, "nothing was written");

    repo.mark_enriching(d.id).await.unwrap();
    repo.mark_enriched(d.id, vec![1.0]).await.unwrap();
    let after = repo.get(d.id).await.unwrap();
    assert!(repo.mark_enriching(d.id).await.unwrap_err().is_validation());
    assert!(
        repo.mark_enriched(d.id, vec![2.0])
            .await
            .unwrap_err()
            .is_validation()
    );
    assert_eq!(repo.get(d.id).await.unwrap(), after, "nothing was written");

    for err in [
        repo.mark_enriching(999_999).await.unwrap_err(),
        repo.mark_enriched(999_999, vec![1.0]).await.unwrap_err(),
        repo.mark_failed(999_999, "x").await.unwrap_err(),
    ] {
        assert!(err.is_not_found(), "{err:?}");
    }
    assert_eq!(repo.count(Filter::all()).await.unwrap(), 1);
}

async fn stats_by_source_and_count_by_status(db: Db) {
    let repo = setup(&db).await;
    let mut all = Vec::new();
    for (status, n) in [
        (EnrichmentStatus::Minimal, 5),
        (EnrichmentStatus::Enriching, 2),
        (EnrichmentStatus::Enriched, 7),
        (EnrichmentStatus::Failed, 1),
    ] {
        for i in 0..n {
            let mut d = Dataset::new("kaggle", &format!("{status:?}{i}"), "t");
            d.enrichment_status = status;
            all.push(d);
        }
    }
    let mut other = Dataset::new("hf", "x", "t");
    other.enrichment_status = EnrichmentStatus::Enriched;
    all.push(other);
    repo.bulk_insert(&all).await.unwrap();

    let stats = repo.get_stats_by_source("kaggle").await.unwrap();
    assert_eq!(stats.source, "kaggle");
    assert_eq!(stats.total, 15);
    assert_eq!(
        stats.by_status,
        StatusCounts {
            minimal: 5,
            enriching: 2,
            enriched: 7,
            failed: 1
        }
    );
    let empty = repo.get_stats_by_source("nowhere").await.unwrap();
    assert_eq!(empty.total, 0);
    assert_eq!(
        repo.count_by_status("kaggle", EnrichmentStatus::Enriched)
            .await
            .unwrap(),
        7
    );
    assert_eq!(
        repo.count_by_status("hf", EnrichmentStatus::Enriched)
            .await
            .unwrap(),
        1
    );
}

async fn claim_hands_each_dataset_to_one_worker(db: Db) {
    let repo = setup(&db).await;
    let rows: Vec<Dataset> = (0..10)
        .map(|i| Dataset::new("kaggle", &format!("c{i}"), "t"))
        .collect();
    repo.bulk_insert(&rows).await.unwrap();
    let mut exhausted = Dataset::new("kaggle", "spent", "t");
    exhausted.enrichment_status = EnrichmentStatus::Failed;
    exhausted.enrichment_attempts = 3;
    repo.insert(&exhausted).await.unwrap();

    let a = repo
        .claim_pending_for_enrichment("kaggle", 4, 3, "w-a")
        .await
        .unwrap();
    let b = repo
        .claim_pending_for_enrichment("kaggle", 4, 3, "w-b")
        .await
        .unwrap();
    let c = repo
        .claim_pending_for_enrichment("kaggle", 4, 3, "w-c")
        .await
        .unwrap();
    let d = repo
        .claim_pending_for_enrichment("kaggle", 4, 3, "w-d")
        .await
        .unwrap();
    assert_eq!((a.len(), b.len(), c.len(), d.len()), (4, 4, 2, 0));
    assert!(
        a.iter()
            .all(|x| x.enrichment_status == EnrichmentStatus::Enriching
                && x.claimed_by.as_deref() == Some("w-a"))
    );
    assert!(a.windows(2).all(|w| w[0].id < w[1].id), "oldest first");
    assert!(a.last().unwrap().id < b[0].id);
    let stored = repo.find_all(Dataset::CLAIMED_BY.eq("w-b")).await.unwrap();
    let mut stored_ids: Vec<i64> = stored.iter().map(|x| x.id).collect();
    stored_ids.sort_unstable();
    assert_eq!(stored_ids, b.iter().map(|x| x.id).collect::<Vec<_>>());
    assert_eq!(
        repo.count_by_status("kaggle", EnrichmentStatus::Enriching)
            .await
            .unwrap(),
        10
    );
    let spent = repo
        .get_by_external_id("kaggle", "spent")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(spent.claimed_by, None, "out of attempts: never claimed");
}

async fn thirty_two_workers_claim_twenty_thousand_datasets_once(db: Db) {
    const DATASETS: usize = 20_000;
    const WORKERS: usize = 32;
    let repo = setup(&db).await;
    let rows: Vec<Dataset> = (0..DATASETS)
        .map(|i| Dataset::new("kaggle", &format!("big/{i}"), "t"))
        .collect();
    assert_eq!(repo.bulk_insert(&rows).await.unwrap(), DATASETS as u64);

    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for w in 0..WORKERS {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let worker = format!("worker-{w}");
            let repo = DatasetRepository::new(&db);
            let mut got = Vec::new();
            loop {
                let batch = repo
                    .claim_pending_for_enrichment("kaggle", 25, 3, &worker)
                    .await
                    .unwrap();
                if batch.is_empty() {
                    break;
                }
                got.extend(batch.into_iter().map(|d| d.id));
                tokio::task::yield_now().await;
            }
            (worker, got)
        }));
    }
    let mut owner: HashMap<i64, String> = HashMap::new();
    let mut workers_with_work = 0;
    let mut per_worker = Vec::new();
    for task in tasks {
        let (worker, ids) = task.await.unwrap();
        if !ids.is_empty() {
            workers_with_work += 1;
        }
        per_worker.push(ids.len());
        for id in ids {
            if let Some(previous) = owner.insert(id, worker.clone()) {
                panic!("dataset {id} claimed by {previous} and {worker}");
            }
        }
    }
    assert_eq!(owner.len(), DATASETS, "every dataset claimed exactly once");
    assert!(workers_with_work > 1, "the work was shared");
    let elapsed = started.elapsed().as_secs_f64();
    eprintln!(
        "{:?}: {WORKERS} workers claimed {DATASETS} datasets in {elapsed:.2} s \
         ({:.0} datasets/s); per worker min {} max {}",
        db.backend(),
        DATASETS as f64 / elapsed,
        per_worker.iter().min().unwrap(),
        per_worker.iter().max().unwrap(),
    );

    let stored = repo.find_all(Filter::all()).await.unwrap();
    assert_eq!(stored.len(), DATASETS);
    let mut seen = HashSet::new();
    for d in &stored {
        assert_eq!(d.enrichment_status, EnrichmentStatus::Enriching);
        assert_eq!(d.claimed_by.as_ref(), owner.get(&d.id), "dataset {}", d.id);
        assert!(seen.insert(d.id));
    }
    assert!(
        repo.get_pending_for_enrichment("kaggle", 10, 3)
            .await
            .unwrap()
            .is_empty(),
        "none left behind"
    );
}

/// A status label written by something newer than this code (added to the PostgreSQL type, or
/// past the CHECK of SQLite or MariaDB) makes reads and statistics fail naming the column and the label,
/// rather than leaving the dataset out of the counts.
async fn unknown_status_label_is_a_decode_error_not_a_missing_row(db: Db) {
    let repo = setup(&db).await;
    let kept = repo
        .insert(&Dataset::new("kaggle", "k0", "t"))
        .await
        .unwrap();
    let odd = repo
        .insert(&Dataset::new("kaggle", "k1", "t"))
        .await
        .unwrap();
    let update = format!(
        "UPDATE datasets SET enrichment_status = 'archived' WHERE id = {}",
        odd.id
    );
    if db.postgres_pool().is_some() {
        // Two transactions: a label added in one cannot be used in it.
        repo_tests::raw_sql(&db, "ALTER TYPE enrichment_status ADD VALUE 'archived'")
            .await
            .unwrap();
        repo_tests::raw_sql(&db, &update).await.unwrap();
    } else if let Some(pool) = db.mysql_pool() {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "SET check_constraint_checks = OFF; {update}; SET check_constraint_checks = ON"
        )))
        .execute(pool)
        .await
        .unwrap();
    } else {
        let pool = db.sqlite_pool().unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "PRAGMA ignore_check_constraints = ON; {update}; PRAGMA ignore_check_constraints = OFF"
        )))
        .execute(pool)
        .await
        .unwrap();
    }

    let is_decode_error = |result: Result<_, Error>| match result {
        Err(Error::Decode { column, reason }) => {
            assert_eq!(column, "enrichment_status", "{reason}");
            assert!(reason.contains("`archived`"), "{reason}");
        }
        other => panic!("expected a decode error, got {other:?}"),
    };
    is_decode_error(repo.get_stats_by_source("kaggle").await.map(|_| ()));
    is_decode_error(repo.find_all(Filter::all()).await.map(|_| ()));
    is_decode_error(repo.get(odd.id).await.map(|_| ()));
    assert_eq!(repo.get(kept.id).await.unwrap().id, kept.id);
}

/// A worker claims datasets and dies. While its lease lives nobody else gets them; once it has
/// run out another worker takes them over (the lost attempt counted), and only that worker can
/// finish them: the dead one, coming back, is refused and writes nothing.
async fn expired_leases_are_taken_over_and_only_the_holder_finishes(db: Db) {
    let repo = setup(&db).await;
    for i in 0..3 {
        repo.insert(&Dataset::new("kaggle", &format!("lease/{i}"), "t"))
            .await
            .unwrap();
    }
    let lease = chrono::TimeDelta::milliseconds(400);
    let first = repo
        .claim_pending_for_enrichment_leased("kaggle", 10, 3, "dies", lease)
        .await
        .unwrap();
    assert_eq!(first.len(), 3);
    assert!(
        first
            .iter()
            .all(|d| d.claimed_by.as_deref() == Some("dies"))
    );
    assert!(first.iter().all(|d| d.claimed_at.is_some()));

    // The lease is live: nothing to take.
    let early = repo
        .claim_pending_for_enrichment_leased("kaggle", 10, 3, "takes_over", lease)
        .await
        .unwrap();
    assert!(early.is_empty(), "{early:?}");

    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let later = repo
        .claim_pending_for_enrichment_leased("kaggle", 10, 3, "takes_over", lease)
        .await
        .unwrap();
    assert_eq!(
        later.iter().map(|d| d.id).collect::<Vec<_>>(),
        first.iter().map(|d| d.id).collect::<Vec<_>>()
    );
    for dataset in &later {
        assert_eq!(dataset.claimed_by.as_deref(), Some("takes_over"));
        assert_eq!(dataset.enrichment_attempts, 1, "the lost attempt counts");
        assert_eq!(dataset.enrichment_status, EnrichmentStatus::Enriching);
    }

    // The dead worker comes back: refused, nothing written.
    let id = later[0].id;
    match repo.mark_enriched_by(id, "dies", vec![1.0]).await {
        Err(Error::Validation { field, .. }) => assert_eq!(field, "claimed_by"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(repo.mark_failed_by(id, "dies", "late").await.is_err());
    assert_eq!(repo.get(id).await.unwrap(), later[0]);

    // The holder finishes.
    let done = repo
        .mark_enriched_by(id, "takes_over", vec![1.0])
        .await
        .unwrap();
    assert_eq!(done.enrichment_status, EnrichmentStatus::Enriched);
    let failed = repo
        .mark_failed_by(later[1].id, "takes_over", "upstream")
        .await
        .unwrap();
    assert_eq!(failed.enrichment_attempts, 2);
    assert!(matches!(
        repo.mark_enriched_by(-1, "takes_over", vec![]).await,
        Err(Error::NotFound { .. })
    ));
}
