//! The stored-enum model of `#[derive(DbEnum)]`: its database type name and each variant's
//! label.

use heck::{ToKebabCase, ToLowerCamelCase, ToShoutySnakeCase, ToSnakeCase, ToUpperCamelCase};
use syn::{Data, DeriveInput, Fields, Ident};

use crate::attr::{self, EnumAttrs, VariantAttrs};
use crate::ctxt::Ctxt;

/// A variant and the label it is stored as.
pub struct Variant<'a> {
    pub ident: &'a Ident,
    pub label: String,
    /// The variant's `#[repo(...)]` as written.
    pub repo: VariantAttrs,
}

/// An enum deriving `DbEnum`.
pub struct Enum<'a> {
    pub ident: &'a Ident,
    pub type_name: String,
    /// Empty for an enum without variants.
    pub variants: Vec<Variant<'a>>,
    /// The enum's `#[repo(...)]` as written.
    pub repo: EnumAttrs,
}

/// The rules `rename_all = "..."` names.
pub const RENAME_RULES: &[&str] = &[
    "snake_case",
    "lowercase",
    "UPPERCASE",
    "SCREAMING_SNAKE_CASE",
    "kebab-case",
    "camelCase",
    "PascalCase",
];

/// `name` under a rule of [`RENAME_RULES`]; an unknown rule is `snake_case`.
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

/// The stored enum `input` declares; `None` (after reporting why) when it is no enum.
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
    let repo = attr::enum_attrs(cx, &input.attrs);
    if !input.generics.params.is_empty() {
        cx.error_spanned_by(
            &input.generics,
            "#[derive(DbEnum)] does not support generic enums",
        );
    }
    let rule = repo
        .rename_all
        .as_ref()
        .map_or_else(|| "snake_case".to_owned(), syn::LitStr::value);
    let mut variants = Vec::new();
    for variant in &data.variants {
        let va = attr::variant_attrs(cx, &variant.attrs);
        if !matches!(variant.fields, Fields::Unit) {
            cx.error_spanned_by(
                &variant.fields,
                format!(
                    "variant `{}` has fields; a DbEnum stores a label only: make it a unit variant",
                    variant.ident
                ),
            );
        }
        variants.push(Variant {
            ident: &variant.ident,
            label: va.rename.as_ref().map_or_else(
                || rename(&rule, &variant.ident.to_string()),
                syn::LitStr::value,
            ),
            repo: va,
        });
    }
    Some(Enum {
        ident: &input.ident,
        type_name: repo.type_name.as_ref().map_or_else(
            || input.ident.to_string().to_snake_case(),
            syn::LitStr::value,
        ),
        variants,
        repo,
    })
}
