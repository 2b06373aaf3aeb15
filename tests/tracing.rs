//! Every repository call opens a span named after the entity and method, carrying the rows it
//! affected, and no bound value reaches the span.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use repo_core::prelude::*;
use repo_tests::entities::*;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;

repo_tests::on_every_backend!(spans_name_entity_method_and_rows);

type Fields = HashMap<String, String>;

/// Fields of every span, by span id, as they are created and recorded (not at close: a
/// driver may hold a span a little longer than the call that opened it).
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<HashMap<u64, Fields>>>);

struct Visitor<'a>(&'a mut Fields);

impl Visit for Visitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S> tracing_subscriber::Layer<S> for Capture
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        let mut fields = Fields::new();
        fields.insert("span".into(), attrs.metadata().name().into());
        attrs.record(&mut Visitor(&mut fields));
        self.0.lock().unwrap().insert(id.into_u64(), fields);
    }
    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        if let Some(fields) = self.0.lock().unwrap().get_mut(&id.into_u64()) {
            values.record(&mut Visitor(fields));
        }
    }
}

async fn spans_name_entity_method_and_rows(db: Db) {
    db.create_schema::<Widget>().await.unwrap();
    let capture = Capture::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(capture.clone()));

    let repo = WidgetRepository::new(&db);
    let mut secret = Widget::new("SECRET-SKU-1");
    secret.name = "SECRET-NAME".into();
    repo.insert(&secret).await.unwrap();
    let batch: Vec<Widget> = (2..5)
        .map(|i| Widget::new(&format!("SECRET-SKU-{i}")))
        .collect();
    repo.bulk_upsert(&batch).await.unwrap();
    repo.find(Widget::SKU.eq("SECRET-SKU-1"), PageRequest::new(10))
        .await
        .unwrap();
    repo.delete_where(Widget::SKU.like("SECRET-SKU-%"))
        .await
        .unwrap();

    let spans: Vec<Fields> = capture.0.lock().unwrap().values().cloned().collect();
    let find = |name: &str| {
        spans
            .iter()
            .find(|s| s.get("otel.name").map(String::as_str) == Some(name))
            .unwrap_or_else(|| panic!("no span {name} in {spans:?}"))
            .clone()
    };
    let insert = find("Widget.insert");
    assert_eq!(insert["span"], "repository");
    assert_eq!(insert["entity"], "Widget");
    assert_eq!(insert["method"], "insert");
    assert_eq!(insert["rows"], "1");
    assert_eq!(find("Widget.bulk_upsert")["rows"], "3");
    assert_eq!(find("Widget.find")["rows"], "1");
    assert_eq!(find("Widget.delete_where")["rows"], "4");
    for span in &spans {
        for value in span.values() {
            assert!(
                !value.contains("SECRET"),
                "a bound value leaked into a span: {span:?}"
            );
        }
    }
}
