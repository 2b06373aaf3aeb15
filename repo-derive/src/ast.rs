//! The entity and enum models the expansion works from, checked across fields.

use heck::{ToKebabCase, ToLowerCamelCase, ToShoutySnakeCase, ToSnakeCase, ToUpperCamelCase};
use syn::{Data, DeriveInput, Fields, Ident, Type, Visibility};

use crate::attr::{self, FieldAttrs};
use crate::ctxt::Ctxt;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Plain,
    PrimaryKey,
    CreatedAt,
    UpdatedAt,
}

pub struct Field<'a> {
    pub ident: &'a Ident,
    pub ty: &'a Type,
    pub column: String,
    pub role: Role,
    pub auto: bool,
    pub json: bool,
}

pub struct Entity<'a> {
    pub ident: &'a Ident,
    pub vis: &'a Visibility,
    pub table: String,
    pub fields: Vec<Field<'a>>,
    pub primary_key: usize,
    /// Unique keys and indexes as column names.
    pub unique: Vec<Vec<String>>,
    pub index: Vec<Vec<String>>,
}

fn not_a_struct(cx: &Ctxt, input: &DeriveInput, derive: &str, what: &str) {
    cx.error_spanned_by(&input.ident, format!("#[derive({derive})] works on {what}"));
}

pub fn entity<'a>(cx: &Ctxt, input: &'a DeriveInput) -> Option<Entity<'a>> {
    let attrs = attr::struct_attrs(cx, &input.attrs);
    let fields = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(fields) => &fields.named,
            Fields::Unnamed(fields) => {
                cx.error_spanned_by(
                    fields,
                    "#[derive(Repository)] needs named fields: each field is a column and needs a name",
                );
                return None;
            }
            Fields::Unit => {
                cx.error_spanned_by(
                    &input.ident,
                    "#[derive(Repository)] needs named fields: a unit struct has no columns",
                );
                return None;
            }
        },
        Data::Enum(_) => {
            not_a_struct(
                cx,
                input,
                "Repository",
                "structs with named fields, not enums (for a stored enum, use #[derive(DbEnum)])",
            );
            return None;
        }
        Data::Union(_) => {
            not_a_struct(
                cx,
                input,
                "Repository",
                "structs with named fields, not unions",
            );
            return None;
        }
    };
    if !input.generics.params.is_empty() {
        cx.error_spanned_by(
            &input.generics,
            "#[derive(Repository)] does not support generic entities: an entity maps one table",
        );
    }
    let table = match &attrs.table {
        Some(table) => table.value(),
        None => {
            cx.error_spanned_by(
                &input.ident,
                format!(
                    "missing table name; help: add #[repo(table = \"{}\")] to the struct",
                    input.ident.to_string().to_snake_case() + "s"
                ),
            );
            String::new()
        }
    };

    let mut model = Vec::new();
    let mut unique = Vec::new();
    let mut index = Vec::new();
    let mut primary_key: Option<usize> = None;
    let mut created_at = false;
    let mut updated_at = false;
    for field in fields {
        let ident = field.ident.as_ref().expect("named field");
        let fa: FieldAttrs = attr::field_attrs(cx, &field.attrs);
        let roles: Vec<(&Ident, Role)> = [
            (&fa.primary_key, Role::PrimaryKey),
            (&fa.created_at, Role::CreatedAt),
            (&fa.updated_at, Role::UpdatedAt),
        ]
        .into_iter()
        .filter_map(|(slot, role)| slot.as_ref().map(|i| (i, role)))
        .collect();
        if let [(first, _), (second, _), ..] = roles.as_slice() {
            cx.error_spanned_by(
                second,
                format!("`{second}` cannot be combined with `{first}` on one field"),
            );
        }
        let role = roles.first().map_or(Role::Plain, |(_, r)| *r);
        match role {
            Role::PrimaryKey => {
                if primary_key.is_some() {
                    cx.error_spanned_by(
                        fa.primary_key.as_ref(),
                        "a second `primary_key`: an entity has one primary key column (declare other keys with #[repo(unique(...))] on the struct)",
                    );
                } else {
                    primary_key = Some(model.len());
                }
            }
            Role::CreatedAt => {
                if std::mem::replace(&mut created_at, true) {
                    cx.error_spanned_by(
                        fa.created_at.as_ref(),
                        "a second `created_at` field: mark one field",
                    );
                }
            }
            Role::UpdatedAt => {
                if std::mem::replace(&mut updated_at, true) {
                    cx.error_spanned_by(
                        fa.updated_at.as_ref(),
                        "a second `updated_at` field: mark one field",
                    );
                }
            }
            Role::Plain => {}
        }
        if let Some(auto) = &fa.auto {
            if role != Role::PrimaryKey {
                cx.error_spanned_by(
                    auto,
                    "`auto` marks a database-generated primary key: write #[repo(primary_key, auto)]",
                );
            }
        }
        if let Some(json) = &fa.json {
            if role != Role::Plain {
                cx.error_spanned_by(
                    json,
                    "`json` cannot be combined with `primary_key`, `created_at` or `updated_at`",
                );
            }
        }
        let column = fa.column.as_ref().map_or_else(
            || ident.to_string().trim_start_matches("r#").to_owned(),
            syn::LitStr::value,
        );
        if let Some(previous) = model.iter().find(|f: &&Field| f.column == column) {
            let at: &dyn quote::ToTokens = match &fa.column {
                Some(lit) => lit,
                None => ident,
            };
            cx.error_spanned_by(
                at,
                format!(
                    "column `{column}` is already used by field `{}`; rename one with #[repo(column = \"...\")]",
                    previous.ident
                ),
            );
        }
        if fa.unique.is_some() {
            unique.push(vec![column.clone()]);
        }
        if fa.index.is_some() {
            index.push(vec![column.clone()]);
        }
        model.push(Field {
            ident,
            ty: &field.ty,
            column,
            role,
            auto: fa.auto.is_some(),
            json: fa.json.is_some(),
        });
    }

    let Some(primary_key) = primary_key else {
        cx.error_spanned_by(
            &input.ident,
            "no primary key; help: mark one field #[repo(primary_key)] (add `auto` if the database generates it)",
        );
        return None;
    };

    let resolve = |list: &attr::KeyList| -> Option<Vec<String>> {
        let mut columns = Vec::new();
        let mut ok = true;
        for name in &list.fields {
            match model.iter().find(|f| f.ident == name) {
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
                            model
                                .iter()
                                .map(|f| f.ident.to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(columns)
    };
    // Keys declared on the struct come first: the first is the upsert conflict target.
    let field_unique = std::mem::take(&mut unique);
    for list in &attrs.unique {
        if let Some(columns) = resolve(list) {
            if unique.contains(&columns) {
                cx.error_spanned_by(&list.keyword, "this unique key is declared twice");
            } else {
                unique.push(columns);
            }
        }
    }
    for columns in field_unique {
        if !unique.contains(&columns) {
            unique.push(columns);
        }
    }
    for list in &attrs.index {
        if let Some(columns) = resolve(list) {
            index.push(columns);
        }
    }

    Some(Entity {
        ident: &input.ident,
        vis: &input.vis,
        table,
        fields: model,
        primary_key,
        unique,
        index,
    })
}

pub struct Variant<'a> {
    pub ident: &'a Ident,
    pub label: String,
}

pub struct Enum<'a> {
    pub ident: &'a Ident,
    pub type_name: String,
    pub variants: Vec<Variant<'a>>,
}

const RENAME_RULES: &[&str] = &[
    "snake_case",
    "lowercase",
    "UPPERCASE",
    "SCREAMING_SNAKE_CASE",
    "kebab-case",
    "camelCase",
    "PascalCase",
];

fn rename(rule: &str, name: &str) -> String {
    match rule {
        "lowercase" => name.to_lowercase(),
        "UPPERCASE" => name.to_uppercase(),
        "SCREAMING_SNAKE_CASE" => name.to_shouty_snake_case(),
        "kebab-case" => name.to_kebab_case(),
        "camelCase" => name.to_lower_camel_case(),
        "PascalCase" => name.to_upper_camel_case(),
        _ => name.to_snake_case(),
    }
}

pub fn db_enum<'a>(cx: &Ctxt, input: &'a DeriveInput) -> Option<Enum<'a>> {
    let Data::Enum(data) = &input.data else {
        let what = if matches!(input.data, Data::Struct(_)) {
            "structs"
        } else {
            "unions"
        };
        cx.error_spanned_by(
            &input.ident,
            format!("#[derive(DbEnum)] works on enums whose variants have no fields, not {what}"),
        );
        return None;
    };
    let attrs = attr::enum_attrs(cx, &input.attrs);
    if !input.generics.params.is_empty() {
        cx.error_spanned_by(
            &input.generics,
            "#[derive(DbEnum)] does not support generic enums",
        );
    }
    let rule = attrs
        .rename_all
        .as_ref()
        .map_or_else(|| "snake_case".to_owned(), syn::LitStr::value);
    if !RENAME_RULES.contains(&rule.as_str()) {
        cx.error_spanned_by(
            attrs.rename_all.as_ref(),
            format!(
                "unknown rename_all rule `{rule}`; expected one of: {}",
                RENAME_RULES.join(", ")
            ),
        );
    }
    if data.variants.is_empty() {
        cx.error_spanned_by(&input.ident, "#[derive(DbEnum)] needs at least one variant");
        return None;
    }
    let mut variants: Vec<Variant> = Vec::new();
    for variant in &data.variants {
        let va = attr::variant_attrs(cx, &variant.attrs);
        if !matches!(variant.fields, Fields::Unit) {
            cx.error_spanned_by(
                &variant.fields,
                format!(
                    "variant `{}` has fields; a DbEnum stores a label only",
                    variant.ident
                ),
            );
        }
        let label = va.rename.as_ref().map_or_else(
            || rename(&rule, &variant.ident.to_string()),
            syn::LitStr::value,
        );
        if let Some(other) = variants.iter().find(|v| v.label == label) {
            let at: &dyn quote::ToTokens = match &va.rename {
                Some(lit) => lit,
                None => &variant.ident,
            };
            cx.error_spanned_by(
                at,
                format!(
                    "variant `{}` is stored as `{label}`, like variant `{}`; give one #[repo(rename = \"...\")]",
                    variant.ident, other.ident
                ),
            );
        }
        variants.push(Variant {
            ident: &variant.ident,
            label,
        });
    }
    let type_name = attrs.type_name.as_ref().map_or_else(
        || input.ident.to_string().to_snake_case(),
        syn::LitStr::value,
    );
    Some(Enum {
        ident: &input.ident,
        type_name,
        variants,
    })
}
