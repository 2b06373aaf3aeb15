//! The stored-enum model of `#[derive(DbEnum)]`, checked across variants.

use heck::{ToKebabCase, ToLowerCamelCase, ToShoutySnakeCase, ToSnakeCase, ToUpperCamelCase};
use syn::{Data, DeriveInput, Fields, Ident};

use crate::attr;
use crate::ctxt::Ctxt;

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
            match attr::closest(&rule, RENAME_RULES) {
                Some(meant) => format!("unknown rename_all rule `{rule}`; did you mean `{meant}`?"),
                None => format!(
                    "unknown rename_all rule `{rule}`; expected one of: {}",
                    RENAME_RULES.join(", ")
                ),
            },
        );
    }
    if data.variants.is_empty() {
        cx.error_spanned_by(&input.ident, "#[derive(DbEnum)] needs at least one variant: a column of this type could hold no value");
        return None;
    }
    let mut variants: Vec<Variant> = Vec::new();
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
