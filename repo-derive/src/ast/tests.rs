//! Unit tests of the models: what each reads from `parse_quote!` input, and the shapes no
//! model fits.

use syn::{DeriveInput, parse_quote};

use super::{Role, db_enum, entity};
use crate::ctxt::Ctxt;

/// The one error reading `input` as an entity yields.
fn single_error(input: &DeriveInput) -> String {
    let cx = Ctxt::default();
    let _ = entity(&cx, input);
    let errors: Vec<String> = cx
        .check()
        .err()
        .into_iter()
        .flatten()
        .map(|e| e.to_string())
        .collect();
    assert_eq!(errors.len(), 1, "expected one error, got {errors:#?}");
    errors.into_iter().next().unwrap_or_default()
}

#[test]
fn entity_model() {
    let input: DeriveInput = parse_quote! {
        #[repo(table = "widgets", unique(sku, batch), index(batch, status))]
        pub struct Widget {
            pub name: String,
            #[repo(primary_key, auto)]
            pub id: i64,
            pub sku: String,
            pub batch: i32,
            #[repo(column = "label", unique)]
            pub title: String,
            #[repo(index)]
            pub status: Status,
            #[repo(json)]
            pub size: Option<Dimensions>,
            #[repo(created_at)]
            pub created_at: DateTime<Utc>,
            #[repo(updated_at)]
            pub r#updated: DateTime<Utc>,
        }
    };
    let cx = Ctxt::default();
    let model = entity(&cx, &input);
    assert!(cx.check().is_ok());
    let model = model.expect("a model");
    assert_eq!(model.ident, "Widget");
    assert_eq!(model.table, "widgets");
    let columns: Vec<&str> = model.fields.iter().map(|f| f.column.as_str()).collect();
    assert_eq!(
        columns,
        [
            "name",
            "id",
            "sku",
            "batch",
            "label",
            "status",
            "size",
            "created_at",
            "updated"
        ]
    );
    assert_eq!(model.primary_key, [1]);
    assert!(model.fields[1].auto);
    assert_eq!(model.fields[1].role, Role::PrimaryKey);
    assert_eq!(model.fields[4].ident, "title");
    assert!(model.fields[6].json);
    assert_eq!(model.fields[7].role, Role::CreatedAt);
    assert_eq!(model.fields[8].role, Role::UpdatedAt);
    assert!(
        model
            .fields
            .iter()
            .filter(|f| f.role == Role::Plain)
            .all(|f| !f.auto)
    );
    // Struct keys first (the first is the upsert target), then field keys as columns.
    assert_eq!(model.unique, [vec!["sku", "batch"], vec!["label"]]);
    // Field indexes first, then the struct's.
    assert_eq!(model.index, [vec!["status"], vec!["batch", "status"]]);
}

#[test]
fn field_unique_repeating_a_struct_key_is_kept_once() {
    let input: DeriveInput = parse_quote! {
        #[repo(table = "widgets", unique(sku))]
        struct Widget {
            #[repo(primary_key)]
            id: uuid::Uuid,
            #[repo(unique)]
            sku: String,
        }
    };
    let cx = Ctxt::default();
    let model = entity(&cx, &input).expect("a model");
    assert!(cx.check().is_ok());
    assert_eq!(model.unique, [vec!["sku"]]);
    assert!(!model.fields[0].auto);
}

#[test]
fn version_and_soft_delete_roles() {
    let input: DeriveInput = parse_quote! {
        #[repo(table = "docs")]
        struct Doc {
            #[repo(primary_key, auto)]
            id: i64,
            #[repo(version)]
            version: i64,
            #[repo(soft_delete, column = "removed_at")]
            deleted_at: Option<DateTime<Utc>>,
        }
    };
    let cx = Ctxt::default();
    let model = entity(&cx, &input).expect("a model");
    assert!(cx.check().is_ok());
    assert_eq!(model.fields[1].role, Role::Version);
    assert_eq!(model.fields[2].role, Role::SoftDelete);
    assert_eq!(model.fields[2].column, "removed_at");
}

#[test]
fn shapes() {
    let cases: [(DeriveInput, &str); 4] = [
        (
            parse_quote! { #[repo(table = "w")] struct Widget(i64); },
            "needs named fields",
        ),
        (
            parse_quote! { #[repo(table = "w")] enum Widget { A } },
            "not enums",
        ),
        (
            parse_quote! { #[repo(table = "w")] union Widget { a: i64 } },
            "not unions",
        ),
        (
            parse_quote! {
                #[repo(table = "w")]
                struct Widget<T> { #[repo(primary_key)] id: i64, value: T }
            },
            "does not support generic entities",
        ),
    ];
    for (input, expected) in cases {
        let message = single_error(&input);
        assert!(message.contains(expected), "{message:?} lacks {expected:?}");
    }
}

#[test]
fn db_enum_labels() {
    let input: DeriveInput = parse_quote! {
        #[repo(rename_all = "SCREAMING_SNAKE_CASE")]
        enum WidgetStatus {
            InStock,
            #[repo(rename = "gone")]
            Retired,
        }
    };
    let cx = Ctxt::default();
    let model = db_enum(&cx, &input).expect("a model");
    assert!(cx.check().is_ok());
    assert_eq!(model.type_name, "widget_status");
    let labels: Vec<&str> = model.variants.iter().map(|v| v.label.as_str()).collect();
    assert_eq!(labels, ["IN_STOCK", "gone"]);
}
