//! Every repository call opens a span named after the entity and method, carrying the rows it
//! affected, and no bound value reaches the span.

use repo_core::prelude::*;
use repo_tests::entities::*;
use repo_tests::spans::{Fields, SpanCapture};

repo_tests::on_every_backend!(spans_name_entity_method_and_rows);

async fn spans_name_entity_method_and_rows(db: Db) {
    db.create_schema::<Widget>().await.unwrap();
    let (capture, _guard) = SpanCapture::install();

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

    let spans: Vec<Fields> = capture
        .spans()
        .into_values()
        .map(|span| {
            let mut fields = span.fields;
            fields.insert("span".into(), span.name);
            fields
        })
        .collect();
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
