//! Unit tests of the rules, run on `parse_quote!` input through both passes as the derives
//! run them: each mistake is reported once, with the message the user sees.

use syn::{DeriveInput, parse_quote};

use crate::ast;
use crate::ctxt::Ctxt;

/// The messages of every error `input` yields as an entity, read and checked, in order.
fn entity_errors(input: &DeriveInput) -> Vec<String> {
    let cx = Ctxt::default();
    let model = ast::entity(&cx, input);
    if let Some(model) = &model {
        super::entity(&cx, model);
    }
    match cx.check() {
        Ok(()) => {
            assert!(model.is_some(), "no model and no error");
            Vec::new()
        }
        Err(error) => error.into_iter().map(|e| e.to_string()).collect(),
    }
}

fn single_error(input: &DeriveInput) -> String {
    let errors = entity_errors(input);
    assert_eq!(errors.len(), 1, "expected one error, got {errors:#?}");
    errors.into_iter().next().unwrap_or_default()
}

#[test]
fn an_optional_key_field_is_one_error_naming_the_type_to_declare() {
    let composite: DeriveInput = parse_quote! {
        #[repo(table = "links")]
        struct Link {
            #[repo(primary_key)]
            playlist_id: i64,
            #[repo(primary_key)]
            track_id: Option<i64>,
        }
    };
    assert_eq!(
        single_error(&composite),
        "a primary key field cannot be an `Option`: key columns are NOT NULL; \
         help: declare `track_id: i64`"
    );
    let single: DeriveInput = parse_quote! {
        #[repo(table = "codes")]
        struct Code {
            #[repo(primary_key)]
            code: ::std::option::Option<String>,
        }
    };
    assert!(single_error(&single).ends_with("declare `code: String`"));
    // An alias is not seen through here: the generated code's trait bounds report it.
    let alias: DeriveInput = parse_quote! {
        #[repo(table = "codes")]
        struct Code {
            #[repo(primary_key)]
            code: MaybeCode,
            note: Option<String>,
        }
    };
    assert!(entity_errors(&alias).is_empty());
}

#[test]
fn missing_table_suggests_one() {
    let message = single_error(&parse_quote! {
        struct WidgetPart {
            #[repo(primary_key)]
            id: i64,
        }
    });
    assert!(message.contains("missing table name"), "{message}");
    assert!(
        message.contains(r#"#[repo(table = "widget_parts")]"#),
        "{message}"
    );
}

#[test]
fn misspelled_keys_report_once_with_a_suggestion() {
    let message = single_error(&parse_quote! {
        #[repo(tabel = "widgets")]
        struct Widget {
            #[repo(primary_key)]
            id: i64,
        }
    });
    assert!(message.contains("did you mean `table`?"), "{message}");

    let message = single_error(&parse_quote! {
        #[repo(table = "widgets")]
        struct Widget {
            #[repo(primary_ky, auto)]
            id: i64,
        }
    });
    assert!(message.contains("did you mean `primary_key`?"), "{message}");
}

#[test]
fn invalid_table_values_report_once() {
    for input in [
        parse_quote! {
            #[repo(table = "")]
            struct Widget { #[repo(primary_key)] id: i64 }
        },
        parse_quote! {
            #[repo(table = widgets)]
            struct Widget { #[repo(primary_key)] id: i64 }
        },
        parse_quote! {
            #[repo(table)]
            struct Widget { #[repo(primary_key)] id: i64 }
        },
    ] {
        let message = single_error(&input);
        assert!(message.starts_with("`table`"), "{message}");
        assert!(message.contains(r#"#[repo(table = "users")]"#), "{message}");
    }
}

#[test]
fn key_errors() {
    let cases: [(DeriveInput, &str); 7] = [
        (
            parse_quote! {
                #[repo(table = "widgets")]
                struct Widget { id: i64 }
            },
            "no primary key",
        ),
        (
            parse_quote! {
                #[repo(table = "widgets")]
                struct Widget { #[repo(primary_key, auto)] id: i64, #[repo(primary_key)] sku: String }
            },
            "`auto` cannot be part of a composite primary key",
        ),
        (
            parse_quote! {
                #[repo(table = "widgets", unique(sku))]
                struct Widget { #[repo(primary_key)] id: i64, name: String }
            },
            "`unique(...)` names no field `sku`; fields are: id, name",
        ),
        (
            parse_quote! {
                #[repo(table = "widgets", index(name, name))]
                struct Widget { #[repo(primary_key)] id: i64, name: String }
            },
            "field `name` is listed twice in `index(...)`",
        ),
        (
            parse_quote! {
                #[repo(table = "widgets", unique())]
                struct Widget { #[repo(primary_key)] id: i64 }
            },
            "`unique()` names no field",
        ),
        (
            parse_quote! {
                #[repo(table = "widgets")]
                struct Widget { #[repo(primary_key)] id: i64, #[repo(auto)] serial: i64 }
            },
            "`auto` marks a database-generated primary key",
        ),
        (
            parse_quote! {
                #[repo(table = "widgets")]
                struct Widget {
                    #[repo(primary_key)] id: i64,
                    #[repo(column = "label")] name: String,
                    #[repo(column = "label")] title: String,
                }
            },
            "column `label` is already used by field `name`",
        ),
    ];
    for (input, expected) in cases {
        let message = single_error(&input);
        assert!(message.contains(expected), "{message:?} lacks {expected:?}");
    }
}

#[test]
fn version_and_soft_delete_errors() {
    let cases: [(DeriveInput, &str); 4] = [
        (
            parse_quote! {
                #[repo(table = "docs")]
                struct Doc { #[repo(primary_key, version)] id: i64 }
            },
            "`version` cannot be on the primary key",
        ),
        (
            parse_quote! {
                #[repo(table = "docs")]
                struct Doc {
                    #[repo(primary_key)] id: i64,
                    #[repo(version)] a: i64,
                    #[repo(version)] b: i64,
                }
            },
            "a second `version` field: field `a` is marked already",
        ),
        (
            parse_quote! {
                #[repo(table = "docs")]
                struct Doc {
                    #[repo(primary_key)] id: i64,
                    #[repo(soft_delete)] a: Option<DateTime<Utc>>,
                    #[repo(soft_delete)] b: Option<DateTime<Utc>>,
                }
            },
            "a second `soft_delete` field: field `a` is marked already",
        ),
        (
            parse_quote! {
                #[repo(table = "docs")]
                struct Doc {
                    #[repo(primary_key)] id: i64,
                    #[repo(version, soft_delete)] a: i64,
                }
            },
            "`soft_delete` cannot be combined with `version` on one field",
        ),
    ];
    for (input, expected) in cases {
        let message = single_error(&input);
        assert!(message.contains(expected), "{message:?} lacks {expected:?}");
    }
}

#[test]
fn misplaced_keys_name_their_place() {
    let message = single_error(&parse_quote! {
        #[repo(table = "widgets", primary_key)]
        struct Widget { #[repo(primary_key)] id: i64 }
    });
    assert!(
        message.contains("`primary_key` belongs on a field"),
        "{message}"
    );

    let message = single_error(&parse_quote! {
        #[repo(table = "widgets")]
        struct Widget { #[repo(primary_key, table = "x")] id: i64 }
    });
    assert!(
        message.contains("`table` belongs on the struct"),
        "{message}"
    );
}

#[test]
fn every_error_is_collected() {
    let errors = entity_errors(&parse_quote! {
        #[repo(table = "widgets", colour = "red")]
        struct Widget {
            #[repo(primary_key)]
            id: i64,
            #[repo(created_at)]
            a: DateTime<Utc>,
            #[repo(created_at)]
            b: DateTime<Utc>,
        }
    });
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(errors[0].contains("unknown repo struct attribute `colour`"));
    assert!(errors[1].contains("a second `created_at` field: field `a`"));
}

#[test]
fn db_enum_errors() {
    let cases: [(DeriveInput, &str); 5] = [
        (
            parse_quote! { enum Status { Active, #[repo(rename = "active")] Live } },
            "variant `Live` is stored as `active`, like variant `Active`",
        ),
        (
            parse_quote! { #[repo(rename_all = "snake-case")] enum Status { Active } },
            "did you mean `snake_case`?",
        ),
        (
            parse_quote! { enum Status {} },
            "needs at least one variant",
        ),
        (
            parse_quote! { enum Status { Active, Retired(i64) } },
            "variant `Retired` has fields",
        ),
        (parse_quote! { struct Status { a: i64 } }, "not structs"),
    ];
    for (input, expected) in cases {
        let cx = Ctxt::default();
        if let Some(model) = ast::db_enum(&cx, &input) {
            super::db_enum(&cx, &model);
        }
        let errors: Vec<String> = cx
            .check()
            .err()
            .into_iter()
            .flatten()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert!(
            errors[0].contains(expected),
            "{errors:?} lacks {expected:?}"
        );
    }
}

#[test]
fn row_columns_are_read_once() {
    let input: DeriveInput = parse_quote! {
        struct Total {
            name: String,
            #[repo(column = "name")]
            label: String,
        }
    };
    let cx = Ctxt::default();
    if let Some(model) = ast::row(&cx, &input) {
        super::row(&cx, &model);
    }
    let errors: Vec<String> = cx
        .check()
        .err()
        .into_iter()
        .flatten()
        .map(|e| e.to_string())
        .collect();
    assert_eq!(
        errors,
        ["fields `name` and `label` both read column `name`; give one #[repo(column = \"...\")]"]
    );
}
