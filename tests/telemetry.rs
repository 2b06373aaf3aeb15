//! Every statement's span carries OpenTelemetry's database client attributes, as a child of
//! its repository call's span; metrics are recorded under the conventions' names; slow
//! statements are logged; `count_statements` counts; and no bound value reaches a span, an
//! event or a metric label. On every backend, with a capturing subscriber and recorder.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt as _;
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use repo_core::prelude::*;
use repo_core::telemetry::count_statements;
use repo_core::{Backend, Statement};
use repo_tests::spans::{Fields, SpanCapture, SpanRecord};

repo_tests::on_every_backend!(every_method_is_observed_in_the_conventions_names);

#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "telemetry_notes")]
pub struct Note {
    #[repo(primary_key)]
    pub code: String,
    pub body: String,
    pub rank: i32,
    #[repo(soft_delete)]
    pub deleted_at: Option<DateTime<Utc>>,
}

/// A value no span, event or label may show.
const SECRET: &str = "SECRET-7f3a";

fn note(code: &str, rank: i32) -> Note {
    Note {
        code: format!("{SECRET}-{code}"),
        body: format!("{SECRET} body of {code}"),
        rank,
        deleted_at: None,
    }
}

/// Every metric recorded in the process: name, labels, and the values (histograms), last
/// value (gauges) or total (counters).
#[derive(Default)]
struct Metrics {
    recorded: Mutex<Vec<Recorded>>,
}

/// A metric's name, labels and value.
type Recorded = (String, Vec<(String, String)>, f64);

struct Handle {
    metrics: &'static Metrics,
    key: Key,
}

impl Handle {
    fn push(&self, value: f64) {
        let labels = self
            .key
            .labels()
            .map(|label| (label.key().to_owned(), label.value().to_owned()))
            .collect();
        self.metrics
            .recorded
            .lock()
            .unwrap()
            .push((self.key.name().to_owned(), labels, value));
    }
}

impl metrics::HistogramFn for Handle {
    fn record(&self, value: f64) {
        self.push(value);
    }
}
impl metrics::GaugeFn for Handle {
    fn increment(&self, value: f64) {
        self.push(value);
    }
    fn decrement(&self, value: f64) {
        self.push(-value);
    }
    fn set(&self, value: f64) {
        self.push(value);
    }
}
impl metrics::CounterFn for Handle {
    fn increment(&self, value: u64) {
        self.push(value as f64);
    }
    fn absolute(&self, value: u64) {
        self.push(value as f64);
    }
}

struct Capturing(&'static Metrics);

impl Recorder for Capturing {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(Arc::new(Handle {
            metrics: self.0,
            key: key.clone(),
        }))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(Arc::new(Handle {
            metrics: self.0,
            key: key.clone(),
        }))
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(Arc::new(Handle {
            metrics: self.0,
            key: key.clone(),
        }))
    }
}

/// The process's recorder, installed once, before any `Db` of this binary connects.
fn recorded_metrics() -> &'static Metrics {
    static METRICS: OnceLock<&'static Metrics> = OnceLock::new();
    METRICS.get_or_init(|| {
        let metrics: &'static Metrics = Box::leak(Box::default());
        metrics::set_global_recorder(Capturing(metrics)).expect("one recorder per test binary");
        metrics
    })
}

fn system_of(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "postgresql",
        Backend::MySql => "mariadb",
        _ => "sqlite",
    }
}

/// Every method of `BaseRepository`, whose calls the test makes once each.
const METHODS: [&str; 27] = [
    "insert",
    "insert_new",
    "bulk_insert",
    "bulk_insert_new",
    "get",
    "find_by_id",
    "update",
    "upsert",
    "upsert_with",
    "bulk_upsert",
    "bulk_upsert_with",
    "bulk_upsert_returning",
    "bulk_upsert_returning_with",
    "find",
    "find_all",
    "find_one",
    "count",
    "exists",
    "update_where",
    "find_keyset",
    "delete",
    "restore",
    "delete_entity",
    "purge",
    "delete_where",
    "purge_where",
    "stream",
];

/// A note's key.
fn code(c: &str) -> String {
    format!("{SECRET}-{c}")
}

async fn every_method_is_observed_in_the_conventions_names(db: Db) {
    let backend = db.backend();
    db.close().await;
    let metrics = recorded_metrics();
    let system = system_of(backend);
    let url = repo_tests::fresh_url(backend, &format!("telemetry_{system}")).await;
    let db = Db::connect_with(
        &url,
        DbOptions::new()
            .max_connections(3)
            .record_query_text(true)
            .slow_statement_threshold(Some(Duration::ZERO)),
    )
    .await
    .unwrap();
    db.create_schema::<Note>().await.unwrap();
    let (capture, _guard) = SpanCapture::install();

    let repo = NoteRepository::new(&db);
    call_every_method(&repo).await;
    let spans = capture.spans();
    check_statement_spans(&spans, backend);
    let events = capture.events();
    check_slow_statements_and_secrets(&spans, &events);
    check_metrics(metrics, system, &namespace_of(&url, backend));
    check_counting(&repo).await;
    db.close().await;
}

async fn call_every_method(repo: &NoteRepository<'_>) {
    // Every method of `BaseRepository`, each once.
    repo.insert(&note("a", 1)).await.unwrap();
    repo.insert_new(NewNote {
        code: code("b"),
        body: format!("{SECRET} b"),
        rank: 2,
    })
    .await
    .unwrap();
    repo.bulk_insert(&[note("c", 3), note("d", 4)])
        .await
        .unwrap();
    repo.bulk_insert_new([NewNote {
        code: code("e"),
        body: SECRET.into(),
        rank: 5,
    }])
    .await
    .unwrap();
    assert_eq!(repo.get(code("a")).await.unwrap().rank, 1);
    assert!(repo.find_by_id(code("b")).await.unwrap().is_some());
    let mut a = repo.get(code("a")).await.unwrap();
    a.rank = 10;
    repo.update(&a).await.unwrap();
    repo.upsert(&note("f", 6)).await.unwrap();
    repo.upsert_with(&note("f", 7), Conflict::new())
        .await
        .unwrap();
    repo.bulk_upsert(&[note("g", 8)]).await.unwrap();
    repo.bulk_upsert_with(&[note("g", 9)], Conflict::new())
        .await
        .unwrap();
    repo.bulk_upsert_returning(&[note("h", 10)]).await.unwrap();
    repo.bulk_upsert_returning_with(&[note("h", 11)], Conflict::new())
        .await
        .unwrap();
    let secret_filter = || Note::BODY.ne(format!("{SECRET} never"));
    let page = repo
        .find(secret_filter(), PageRequest::new(3))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 3);
    assert_eq!(repo.find_all(secret_filter()).await.unwrap().len(), 8);
    assert!(
        repo.find_one(Note::CODE.eq(code("c")))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(repo.count(secret_filter()).await.unwrap(), 8);
    assert!(repo.exists(Note::CODE.eq(code("d"))).await.unwrap());
    assert_eq!(
        repo.update_where(Note::CODE.eq(code("c")), [Note::RANK.set(30)])
            .await
            .unwrap(),
        1
    );
    repo.find_keyset(
        secret_filter(),
        KeysetRequest::new(2).order_by(Note::RANK.desc()),
    )
    .await
    .unwrap();
    assert!(repo.delete(code("d")).await.unwrap());
    repo.restore(code("d")).await.unwrap();
    let e = repo.get(code("e")).await.unwrap();
    repo.delete_entity(&e).await.unwrap();
    assert!(repo.purge(code("e")).await.unwrap());
    assert_eq!(
        repo.delete_where(Note::CODE.eq(code("f"))).await.unwrap(),
        1
    );
    assert_eq!(repo.purge_where(Note::CODE.eq(code("f"))).await.unwrap(), 1);
    // A failing call: the key is taken.
    let conflict = repo.insert(&note("a", 1)).await.unwrap_err();
    assert!(conflict.is_conflict(), "{conflict}");
    // A custom statement.
    let mut select = repo.select();
    select.and_where(Note::BODY.expr().ne(format!("{SECRET} custom")));
    let custom = repo.fetch_entities(&select).await.unwrap();
    assert_eq!(custom.len(), 6);
    let streamed: Vec<Note> = repo.stream(secret_filter()).try_collect().await.unwrap();
    assert_eq!(streamed.len(), 6);
}

/// The spans of every method's statements, of the failed one and of a custom statement.
fn check_statement_spans(spans: &HashMap<u64, SpanRecord>, backend: Backend) {
    let system = system_of(backend);
    let statements_of = |method: &str| -> Vec<SpanRecord> {
        let calls: Vec<u64> = spans
            .iter()
            .filter(|(_, span)| {
                span.name == "repository"
                    && span.fields.get("method").map(String::as_str) == Some(method)
            })
            .map(|(id, _)| *id)
            .collect();
        assert!(!calls.is_empty(), "no span for the call {method}");
        // Statements under the call, directly or through a call it makes (`insert_new`
        // inserts).
        let under_call = |span: &SpanRecord| {
            let mut parent = span.parent;
            while let Some(id) = parent {
                if calls.contains(&id) {
                    return true;
                }
                parent = spans.get(&id).and_then(|span| span.parent);
            }
            false
        };
        spans
            .values()
            .filter(|span| span.name == "statement" && under_call(span))
            .cloned()
            .collect()
    };
    for method in METHODS {
        let statements = statements_of(method);
        for statement in &statements {
            let field = |name: &str| statement.fields.get(name).cloned().unwrap_or_default();
            assert_eq!(field("db.system.name"), system, "{method}: {statement:?}");
            assert!(!field("db.namespace").is_empty(), "{method}: {statement:?}");
            assert!(!field("server.address").is_empty(), "{method}");
        }
        // Besides catalog reads (the first write learns the table's indexes), the call's
        // statements are on its table.
        let statements: Vec<&SpanRecord> = statements
            .iter()
            .filter(|span| {
                span.fields
                    .get("db.query.summary")
                    .is_some_and(|summary| summary.contains("telemetry_notes"))
            })
            .collect();
        assert!(
            !statements.is_empty(),
            "{method} sent no statement on its table"
        );
        for statement in statements {
            let field = |name: &str| statement.fields.get(name).cloned().unwrap_or_default();
            assert_eq!(field("db.collection.name"), "telemetry_notes", "{method}");
            let operation = field("db.operation.name");
            assert!(
                ["SELECT", "INSERT", "UPDATE", "DELETE"].contains(&operation.as_str()),
                "{method}: operation {operation}"
            );
            let summary = field("db.query.summary");
            assert!(
                summary.starts_with(&operation) && summary.contains("telemetry_notes"),
                "{method}: summary {summary}"
            );
            assert_eq!(field("otel.name"), summary, "{method}");
            assert_eq!(field("otel.kind"), "client");
            assert!(
                field("db.query.text").contains("telemetry_notes"),
                "{method}"
            );
            assert!(!field("server.address").is_empty(), "{method}");
            if backend != Backend::Sqlite {
                assert!(!field("server.port").is_empty(), "{method}: {statement:?}");
            }
            // Only the second insert failed (its key was taken).
            let failed = field("error.type");
            assert!(
                failed.is_empty() || (method == "insert" && failed == "conflict"),
                "{method} failed: {statement:?}"
            );
        }
    }
    // Reads say how many rows they returned.
    let count = statements_of("find_all");
    assert_eq!(count[0].fields["db.response.returned_rows"], "8");
    check_failed_and_custom_spans(spans);
}

/// The span of the failed insert, and of the custom statement.
fn check_failed_and_custom_spans(spans: &HashMap<u64, SpanRecord>) {
    // The failing insert: its error's kind and the database's code.
    let failed: Vec<&SpanRecord> = spans
        .values()
        .filter(|span| span.fields.get("error.type").map(String::as_str) == Some("conflict"))
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(!failed[0].fields["db.response.status_code"].is_empty());
    // The custom statement: a span with its summary, outside any repository call.
    let custom_span = spans
        .values()
        .find(|span| {
            span.name == "statement"
                && span
                    .fields
                    .get("db.query.text")
                    .is_some_and(|text| text.contains("<>"))
                && span.parent.is_none()
        })
        .expect("the custom statement's span");
    assert_eq!(
        custom_span.fields["db.query.summary"],
        "SELECT telemetry_notes"
    );
    assert!(!custom_span.fields.contains_key("db.collection.name"));
}

/// One warning per statement (the threshold is zero), and no bound value anywhere.
fn check_slow_statements_and_secrets(spans: &HashMap<u64, SpanRecord>, events: &[Fields]) {
    // Every statement was slower than the zero threshold: one warning each, naming its call.
    let slow: Vec<&Fields> = events
        .iter()
        .filter(|event| event["target"] == "repo_core::slow_statement")
        .collect();
    let statement_spans = spans.values().filter(|s| s.name == "statement").count();
    assert_eq!(slow.len(), statement_spans);
    let get = slow
        .iter()
        .find(|event| event.get("method").map(String::as_str) == Some("get"))
        .expect("a slow-statement warning for get");
    assert_eq!(get["level"], "WARN");
    assert_eq!(get["entity"], "Note");
    assert_eq!(get["db.query.summary"], "SELECT telemetry_notes");
    assert_eq!(get["db.response.returned_rows"], "1");

    // Nothing bound to a statement shows anywhere.
    for span in spans.values() {
        for value in span.fields.values() {
            assert!(!value.contains(SECRET), "a bound value in a span: {span:?}");
        }
    }
    for event in events {
        for value in event.values() {
            assert!(
                !value.contains(SECRET),
                "a bound value in an event: {event:?}"
            );
        }
    }
}

/// Metrics under the conventions' names and this backend's labels.
fn check_metrics(metrics: &Metrics, system: &str, namespace: &str) {
    // Metrics, under the conventions' names and this backend's labels.
    let recorded = metrics.recorded.lock().unwrap().clone();
    let ours = |name: &str| -> Vec<(Vec<(String, String)>, f64)> {
        recorded
            .iter()
            .filter(|(metric, labels, _)| {
                metric == name
                    && labels.iter().any(|(key, value)| {
                        (key == "db.system.name" && value == system)
                            || (key == "db.client.connection.pool.name"
                                && value.contains(namespace))
                    })
            })
            .map(|(_, labels, value)| (labels.clone(), *value))
            .collect()
    };
    let durations = ours("db.client.operation.duration");
    let notes: Vec<_> = durations
        .iter()
        .filter(|(labels, _)| {
            labels.contains(&("db.collection.name".into(), "telemetry_notes".into()))
        })
        .collect();
    assert!(
        notes.len() >= METHODS.len(),
        "{} durations of telemetry_notes",
        notes.len()
    );
    assert!(
        notes
            .iter()
            .all(|(_, seconds)| *seconds >= 0.0 && *seconds < 60.0)
    );
    assert!(
        notes
            .iter()
            .any(|(labels, _)| labels.contains(&("error.type".into(), "conflict".into())))
    );
    assert!(
        !ours("db.client.response.returned_rows").is_empty()
            && !ours("repo.affected_rows").is_empty()
    );
    let max = ours("db.client.connection.max");
    assert!(
        max.iter()
            .any(|(_, value)| (*value - 3.0).abs() < f64::EPSILON),
        "{max:?}"
    );
    assert!(!ours("db.client.connection.wait_time").is_empty());
    let used = ours("db.client.connection.count");
    assert!(
        used.iter()
            .any(|(labels, _)| labels
                .contains(&("db.client.connection.state".into(), "idle".into())))
    );
    for (name, labels, _) in &recorded {
        for (key, value) in labels {
            assert!(
                !value.contains(SECRET) && !key.contains(SECRET),
                "a bound value in a label of {name}"
            );
        }
    }
    drop(recorded);
}

async fn check_counting(repo: &NoteRepository<'_>) {
    // count_statements: one read per note is as many statements as notes.
    let codes = ["a", "b", "c"];
    let (read, sent) = count_statements(async {
        for c in codes {
            repo.get(code(c)).await?;
        }
        Ok::<_, Error>(())
    })
    .await;
    read.unwrap();
    assert_eq!(sent.len(), codes.len());
    assert!(
        sent.summaries()
            .iter()
            .all(|s| s == "SELECT telemetry_notes")
    );
    let (raw, sent) = count_statements(repo.conn().execute(Statement::new(
        "DELETE FROM telemetry_notes WHERE rank < 0",
        Vec::new(),
    )))
    .await;
    assert_eq!(raw.unwrap(), 0);
    assert_eq!(sent.summaries(), ["DELETE telemetry_notes"]);
}

/// What the framework reports as `db.namespace` for `url`.
fn namespace_of(url: &str, backend: Backend) -> String {
    let path = if backend == Backend::Sqlite {
        url.trim_start_matches("sqlite:").trim_start_matches("//")
    } else {
        url.rsplit_once('/').map_or("", |(_, path)| path)
    };
    path.split('?').next().unwrap_or_default().to_owned()
}
