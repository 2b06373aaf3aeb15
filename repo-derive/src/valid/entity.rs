//! The rules of an entity: a table, a primary key, fields whose roles and columns do not
//! clash, keys naming real fields, upsert actions a column can take, an input type name free
//! to use.

use heck::ToSnakeCase;
use quote::{ToTokens, format_ident};
use syn::{Ident, Type};

use crate::ast::{self, Entity, Field, ON_CONFLICT, OnConflict, Role};
use crate::attr::{KeyList, closest};
use crate::ctxt::Ctxt;

/// Check `model`, reporting every rule it breaks. Without a primary key only the table and
/// the fields are checked; the key lists, the upsert conflict key and the input type name wait
/// for one, so a struct still being written gets the errors that matter first.
pub fn entity(cx: &Ctxt, model: &Entity) {
    table(cx, model);
    let mut upsert_actions = Vec::new();
    for (i, field) in model.fields.iter().enumerate() {
        roles(cx, field);
        if field.role == Role::PrimaryKey {
            optional_key(cx, field);
        }
        let before = &model.fields[..i];
        second_role(cx, before, field);
        shared_column(cx, before, field);
        renamed_from(cx, &model.fields, field);
        if on_conflict(cx, field) {
            upsert_actions.push(field);
        }
    }
    if let Some(read_only) = &model.repo.read_only {
        read_only_rules(cx, model, read_only);
        // A view or a table without a key: read by its columns alone.
        if model.primary_key.is_empty() {
            keys(cx, model);
            return;
        }
    }
    if !primary_key(cx, model) {
        return;
    }
    keys(cx, model);
    if model.repo.read_only.is_none() {
        conflict_key(cx, model, &upsert_actions);
        new_type(cx, model);
    }
}

/// A read-only entity is never written: nothing that only writes means something on it.
fn read_only_rules(cx: &Ctxt, model: &Entity, read_only: &Ident) {
    let struct_level = [
        (
            model.repo.audit.is_some(),
            "audit",
            "a read-only entity is never written, so nothing is audited",
        ),
        (
            model.repo.cache.is_some(),
            "cache",
            "the rows of a view or a table written elsewhere change by writes the cache does not see; read them uncached",
        ),
        (
            model.repo.new.is_some() || model.repo.no_new.is_some(),
            "new",
            "a read-only entity has no input type: nothing is inserted",
        ),
    ];
    for (written, key, why) in struct_level {
        if written {
            cx.error_spanned_by(
                read_only,
                format!("`read_only` cannot be combined with `{key}`: {why}"),
            );
        }
    }
    for field in &model.fields {
        let set_by_writes = [
            (&field.repo.auto, "auto"),
            (&field.repo.created_at, "created_at"),
            (&field.repo.updated_at, "updated_at"),
            (&field.repo.version, "version"),
            (&field.repo.soft_delete, "soft_delete"),
        ];
        for (attribute, key) in set_by_writes {
            if let Some(ident) = attribute {
                cx.error_spanned_by(
                    ident,
                    format!("`{key}` is set by writes, and a `read_only` entity is never written; declare the field without it"),
                );
            }
        }
        if let Some(action) = &field.repo.on_conflict {
            cx.error_spanned_by(
                action,
                "`on_conflict` says what an upsert writes, and a `read_only` entity is never written",
            );
        }
        if let Some(old) = &field.repo.renamed_from {
            cx.error_spanned_by(
                old,
                "`renamed_from` tells a migration diff how to change the table, and the table of a `read_only` entity is changed elsewhere",
            );
        }
    }
}

/// The struct names its table.
fn table(cx: &Ctxt, model: &Entity) {
    // Written but invalid or misspelled: that error is reported already.
    if model.repo.table.is_none() && !model.repo.named.contains(&"table") {
        cx.error_spanned_by(
            model.ident,
            format!(
                "missing table name; help: add #[repo(table = \"{}\")] to the struct",
                model.ident.to_string().to_snake_case() + "s"
            ),
        );
    }
}

/// The keys of one field make sense together: one role, `auto` only on a primary key,
/// `json` only on a plain field.
fn roles(cx: &Ctxt, field: &Field) {
    match ast::role_keys(&field.repo).as_slice() {
        [(_, Role::PrimaryKey), (version, Role::Version), ..] => cx.error_spanned_by(
            version,
            "`version` cannot be on the primary key: a row keeps its key while its version \
             changes on every write; add a field such as #[repo(version)] version: i64",
        ),
        [(first, _), (second, _), ..] => cx.error_spanned_by(
            second,
            format!("`{second}` cannot be combined with `{first}` on one field"),
        ),
        _ => {}
    }
    // A `primary_key` written but invalid or misspelled is reported already.
    if let Some(auto) = &field.repo.auto
        && field.role != Role::PrimaryKey
        && !field.repo.named.contains(&"primary_key")
    {
        cx.error_spanned_by(
            auto,
            "`auto` marks a database-generated primary key: write #[repo(primary_key, auto)]",
        );
    }
    if let Some(json) = &field.repo.json
        && field.role != Role::Plain
    {
        cx.error_spanned_by(
            json,
            "`json` cannot be combined with `primary_key`, `created_at`, `updated_at`, `version` \
             or `soft_delete`",
        );
    }
}

/// A key field written `Option<T>`: key columns are NOT NULL.
fn optional_key(cx: &Ctxt, field: &Field) {
    if let Some(inner) = option_inner(field.ty) {
        let inner = quote::quote!(#inner).to_string().replace(' ', "");
        cx.error_spanned_by(
            field.ty,
            format!(
                "a primary key field cannot be an `Option`: key columns are NOT NULL; \
                 help: declare `{}: {inner}`",
                field.ident
            ),
        );
    }
}

/// The `T` of a field type written `Option<T>` (or `std::option::Option<T>`,
/// `core::option::Option<T>`). A type the derive cannot see through (an alias) is `None`: the
/// trait bounds of the generated code check it instead.
fn option_inner(ty: &Type) -> Option<&Type> {
    let ty = match ty {
        Type::Group(group) => &*group.elem,
        Type::Paren(paren) => &*paren.elem,
        other => other,
    };
    let Type::Path(path) = ty else {
        return None;
    };
    if path.qself.is_some() {
        return None;
    }
    let segments: Vec<&Ident> = path.path.segments.iter().map(|s| &s.ident).collect();
    let is_option = match segments.as_slice() {
        [option] => *option == "Option",
        [root, module, option] => {
            (*root == "std" || *root == "core") && *module == "option" && *option == "Option"
        }
        _ => false,
    };
    if !is_option {
        return None;
    }
    let syn::PathArguments::AngleBracketed(arguments) = &path.path.segments.last()?.arguments
    else {
        return None;
    };
    match arguments.args.first() {
        Some(syn::GenericArgument::Type(inner)) if arguments.args.len() == 1 => Some(inner),
        _ => None,
    }
}

/// One field at most per role the framework sets (`created_at`, `version`, ...).
fn second_role(cx: &Ctxt, before: &[Field], field: &Field) {
    if matches!(field.role, Role::Plain | Role::PrimaryKey) {
        return;
    }
    let Some(first) = before.iter().find(|f| f.role == field.role) else {
        return;
    };
    let key = ast::role_keys(&field.repo).first().map(|(key, _)| *key);
    cx.error_spanned_by(
        key,
        format!(
            "a second `{}` field: field `{}` is marked already; mark one field",
            field.role.attribute(),
            first.ident
        ),
    );
}

/// One field per column.
/// `renamed_from` names a column the table may still have: not the field's own column, not
/// one another field declares (that column is not gone).
fn renamed_from(cx: &Ctxt, fields: &[Field], field: &Field) {
    let Some(old) = &field.repo.renamed_from else {
        return;
    };
    let name = old.value();
    if name == field.column {
        cx.error_spanned_by(
            old,
            format!("`renamed_from` names the field's own column `{name}`; give the name the column had before"),
        );
    } else if let Some(other) = fields.iter().find(|f| f.column == name) {
        cx.error_spanned_by(
            old,
            format!(
                "column `{name}` is still declared, by field `{}`: a column renamed away is no longer declared",
                other.ident
            ),
        );
    }
}

fn shared_column(cx: &Ctxt, before: &[Field], field: &Field) {
    let Some(previous) = before.iter().find(|f| f.column == field.column) else {
        return;
    };
    let at: &dyn ToTokens = match &field.repo.column {
        Some(lit) => lit,
        None => field.ident,
    };
    cx.error_spanned_by(
        at,
        format!(
            "column `{}` is already used by field `{}`; rename one with #[repo(column = \"...\")]",
            field.column, previous.ident
        ),
    );
}

/// Whether the field declares an upsert action that may stand: a known one, on a field
/// an upsert writes, that the column's type can take.
fn on_conflict(cx: &Ctxt, field: &Field) -> bool {
    let Some(lit) = &field.repo.on_conflict else {
        return false;
    };
    let name = lit.value();
    let Some(action) = field.on_conflict else {
        cx.error_spanned_by(
            lit,
            match closest(&name, ON_CONFLICT) {
                Some(meant) => {
                    format!("unknown on_conflict action `{name}`; did you mean `{meant}`?")
                }
                None => format!(
                    "unknown on_conflict action `{name}`; expected one of: {}",
                    ON_CONFLICT.join(", ")
                ),
            },
        );
        return false;
    };
    let why = match field.role {
        Role::Plain => None,
        Role::PrimaryKey => Some("an upsert keeps the key of the row it meets"),
        Role::CreatedAt => Some("an upsert keeps the creation time of the row it meets"),
        Role::UpdatedAt => Some("an upsert sets it to the time of the write"),
        Role::Version => Some("an upsert adds 1 to it"),
        Role::SoftDelete => Some("an upsert clears it: the stored row is live"),
    };
    if let Some(why) = why {
        cx.error_spanned_by(
            lit,
            format!(
                "`on_conflict` cannot be on the `{}` field: {why}",
                field.role.attribute()
            ),
        );
        return false;
    }
    if field.json
        && matches!(
            action,
            OnConflict::Add | OnConflict::Greatest | OnConflict::Least
        )
    {
        cx.error_spanned_by(
            lit,
            format!("`on_conflict = \"{name}\"` cannot be on a `json` field: the database cannot compare or add JSON documents"),
        );
        return false;
    }
    true
}

/// The primary key: at least one field, at most four, `auto` only alone. Whether there is one.
fn primary_key(cx: &Ctxt, model: &Entity) -> bool {
    let key = &model.primary_key;
    if key.is_empty() {
        // A `primary_key` written but invalid or misspelled is reported already.
        if !model
            .fields
            .iter()
            .any(|f| f.repo.named.contains(&"primary_key"))
        {
            cx.error_spanned_by(
                model.ident,
                "no primary key; help: mark one field #[repo(primary_key)] (add `auto` if the database generates it), or several for a composite key; a view or a table without a key is declared #[repo(read_only)]",
            );
        }
        return false;
    }
    if key.len() > 1
        && let Some(auto) = key.iter().find_map(|&i| model.fields[i].repo.auto.as_ref())
    {
        cx.error_spanned_by(
            auto,
            "`auto` cannot be part of a composite primary key: the database generates a single-column key; declare the key columns without `auto`",
        );
    }
    if key.len() > 4 {
        cx.error_spanned_by(
            model.ident,
            "a composite primary key has at most four columns",
        );
    }
    true
}

/// The struct's `unique(...)` and `index(...)` lists name existing fields, each once, and no
/// unique key is declared twice.
fn keys(cx: &Ctxt, model: &Entity) {
    let mut unique = Vec::new();
    for list in &model.repo.unique {
        if let Some(key) = key(cx, &model.fields, list) {
            if unique.contains(&key) {
                cx.error_spanned_by(
                    &list.keyword,
                    format!(
                        "`unique({})` is declared twice; keep one",
                        join(&list.fields)
                    ),
                );
            } else {
                unique.push(key);
            }
        }
    }
    for list in &model.repo.index {
        key(cx, &model.fields, list);
    }
}

/// The columns of a key list such as `unique(a, b)`, or `None` after reporting a bad name.
fn key(cx: &Ctxt, fields: &[Field], list: &KeyList) -> Option<Vec<String>> {
    let mut columns = Vec::new();
    let mut ok = true;
    for name in &list.fields {
        match fields.iter().find(|f| f.ident == name) {
            Some(field) if columns.contains(&field.column) => {
                cx.error_spanned_by(
                    name,
                    format!("field `{name}` is listed twice in `{}(...)`", list.keyword),
                );
                ok = false;
            }
            Some(field) => columns.push(field.column.clone()),
            None => {
                cx.error_spanned_by(
                    name,
                    format!(
                        "`{}(...)` names no field `{name}`; fields are: {}",
                        list.keyword,
                        join(fields.iter().map(|f| f.ident))
                    ),
                );
                ok = false;
            }
        }
    }
    ok.then_some(columns)
}

fn join<T: ToString>(items: impl IntoIterator<Item = T>) -> String {
    items
        .into_iter()
        .map(|item| item.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// No upsert action on a column of the conflict key, which identifies the row an upsert
/// meets: nothing to keep, add or compare.
fn conflict_key(cx: &Ctxt, model: &Entity, upsert_actions: &[&Field]) {
    let conflict_key = model.unique.first().cloned().unwrap_or_else(|| {
        model
            .primary_key
            .iter()
            .map(|&i| model.fields[i].column.clone())
            .collect()
    });
    for field in upsert_actions {
        if let Some(lit) = &field.repo.on_conflict
            && conflict_key.contains(&field.column)
        {
            cx.error_spanned_by(
                lit,
                format!(
                    "`on_conflict` cannot be on `{}`: it is part of the upsert conflict key \
                     ({}), which an upsert matches rather than writes",
                    field.ident,
                    conflict_key.join(", ")
                ),
            );
        }
    }
}

/// `new = "..."` names a type the derive can generate: an identifier, not beside `no_new`,
/// neither the entity's name nor its repository's.
fn new_type(cx: &Ctxt, model: &Entity) {
    let entity = model.ident;
    let lit = match (&model.repo.new, &model.repo.no_new) {
        (Some(_), Some(no_new)) => {
            cx.error_spanned_by(
                no_new,
                "`no_new` and `new = \"...\"` contradict each other: keep one",
            );
            return;
        }
        (Some(lit), None) => lit,
        (None, _) => return,
    };
    let name = lit.value();
    // The model reads no name from a value that is not an identifier.
    let Some(ident) = &model.new else {
        cx.error_spanned_by(
            lit,
            format!(
                "`new` takes the name of the type to generate, as in #[repo(new = \"Create{entity}\")]; `{name}` is not a Rust identifier"
            ),
        );
        return;
    };
    if ident == entity || *ident == format_ident!("{}Repository", entity) {
        cx.error_spanned_by(
            lit,
            format!(
                "`new = \"{name}\"` is the name of the entity or of its repository; choose another name, as in #[repo(new = \"Create{entity}\")]"
            ),
        );
    }
}
