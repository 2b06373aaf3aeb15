//! The `#[repo(...)]` grammar, parsed into typed values that keep their spans.

use proc_macro2::TokenStream;
use syn::meta::ParseNestedMeta;
use syn::{Attribute, Ident, LitStr, Token};

use crate::ctxt::Ctxt;

/// Where an attribute sits, to say where a misplaced key belongs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Struct,
    Field,
    Enum,
    Variant,
}

impl Place {
    fn keys(self) -> &'static [&'static str] {
        match self {
            Self::Struct => &["table", "unique", "index"],
            Self::Field => &[
                "primary_key",
                "auto",
                "column",
                "created_at",
                "updated_at",
                "json",
                "unique",
                "index",
            ],
            Self::Enum => &["type_name", "rename_all"],
            Self::Variant => &["rename"],
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Struct => "struct",
            Self::Field => "field",
            Self::Enum => "enum",
            Self::Variant => "variant",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Struct => "on the struct, as in #[repo(table = \"users\")]",
            Self::Field => "on a field, as in #[repo(primary_key)]",
            Self::Enum => "on an enum deriving DbEnum, as in #[repo(type_name = \"status\")]",
            Self::Variant => "on an enum variant, as in #[repo(rename = \"label\")]",
        }
    }
}

/// A list of field names, e.g. `unique(source_name, external_id)`.
pub struct KeyList {
    pub keyword: Ident,
    pub fields: Vec<Ident>,
}

#[derive(Default)]
pub struct StructAttrs {
    pub table: Option<LitStr>,
    pub unique: Vec<KeyList>,
    pub index: Vec<KeyList>,
}

#[derive(Default)]
pub struct FieldAttrs {
    pub primary_key: Option<Ident>,
    pub auto: Option<Ident>,
    pub column: Option<LitStr>,
    pub created_at: Option<Ident>,
    pub updated_at: Option<Ident>,
    pub json: Option<Ident>,
    pub unique: Option<Ident>,
    pub index: Option<Ident>,
}

#[derive(Default)]
pub struct EnumAttrs {
    pub type_name: Option<LitStr>,
    pub rename_all: Option<LitStr>,
}

#[derive(Default)]
pub struct VariantAttrs {
    pub rename: Option<LitStr>,
}

fn key_of(meta: &ParseNestedMeta) -> String {
    let path = &meta.path;
    path.get_ident().map_or_else(
        || quote::quote!(#path).to_string().replace(' ', ""),
        ToString::to_string,
    )
}

/// Consume whatever value an unusable key carries, so parsing can go on to the next key.
fn skip_value(meta: &ParseNestedMeta) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<syn::Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in meta.input);
        content.parse::<TokenStream>()?;
    }
    Ok(())
}

fn set_once<T>(cx: &Ctxt, slot: &mut Option<T>, value: T, ident: &Ident) {
    if slot.is_some() {
        cx.error_spanned_by(ident, format!("duplicate repo attribute `{ident}`"));
    } else {
        *slot = Some(value);
    }
}

fn flag(cx: &Ctxt, meta: &ParseNestedMeta, slot: &mut Option<Ident>) -> syn::Result<()> {
    let ident = meta
        .path
        .get_ident()
        .cloned()
        .expect("checked by the caller");
    if meta.input.peek(Token![=]) || meta.input.peek(syn::token::Paren) {
        cx.error_spanned_by(
            &meta.path,
            format!("`{ident}` takes no value: write #[repo({ident})]"),
        );
        skip_value(meta)?;
        return Ok(());
    }
    set_once(cx, slot, ident.clone(), &ident);
    Ok(())
}

fn string(
    cx: &Ctxt,
    meta: &ParseNestedMeta,
    slot: &mut Option<LitStr>,
    example: &str,
) -> syn::Result<()> {
    let ident = meta
        .path
        .get_ident()
        .cloned()
        .expect("checked by the caller");
    let help = format!("expected a string: #[repo({ident} = \"{example}\")]");
    if !meta.input.peek(Token![=]) {
        cx.error_spanned_by(&meta.path, help);
        skip_value(meta)?;
        return Ok(());
    }
    let expr: syn::Expr = meta.value()?.parse()?;
    match expr {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(lit),
            ..
        }) => {
            if lit.value().trim().is_empty() {
                cx.error_spanned_by(&lit, format!("`{ident}` cannot be empty: {help}"));
            } else {
                set_once(cx, slot, lit, &ident);
            }
        }
        other => cx.error_spanned_by(other, help),
    }
    Ok(())
}

fn key_list(cx: &Ctxt, meta: &ParseNestedMeta) -> syn::Result<Option<KeyList>> {
    let keyword = meta
        .path
        .get_ident()
        .cloned()
        .expect("checked by the caller");
    if !meta.input.peek(syn::token::Paren) {
        cx.error_spanned_by(
            &meta.path,
            format!("`{keyword}` on the struct lists fields: #[repo({keyword}(field_a, field_b))]"),
        );
        skip_value(meta)?;
        return Ok(None);
    }
    let mut fields = Vec::new();
    meta.parse_nested_meta(|inner| {
        match inner.path.get_ident() {
            Some(field) if inner.input.is_empty() || inner.input.peek(Token![,]) => {
                fields.push(field.clone());
            }
            _ => {
                cx.error_spanned_by(
                    &inner.path,
                    format!("expected a field name in `{keyword}(...)`, as in #[repo({keyword}(field_a, field_b))]"),
                );
                skip_value(&inner)?;
            }
        }
        Ok(())
    })?;
    if fields.is_empty() {
        cx.error_spanned_by(
            &keyword,
            format!("`{keyword}()` names no field: #[repo({keyword}(field_a, field_b))]"),
        );
        return Ok(None);
    }
    Ok(Some(KeyList { keyword, fields }))
}

/// Run `handle` on every key of every `#[repo(...)]` in `attrs`; report keys unknown here.
fn parse_repo_attrs(
    cx: &Ctxt,
    attrs: &[Attribute],
    place: Place,
    mut handle: impl FnMut(&str, &ParseNestedMeta) -> syn::Result<()>,
) {
    for attr in attrs.iter().filter(|a| a.path().is_ident("repo")) {
        if let syn::Meta::Path(path) = &attr.meta {
            cx.error_spanned_by(
                path,
                "empty repo attribute: write #[repo(key = value, ...)]",
            );
            continue;
        }
        let result = attr.parse_nested_meta(|meta| {
            let key = key_of(&meta);
            if place.keys().contains(&key.as_str()) && meta.path.get_ident().is_some() {
                return handle(&key, &meta);
            }
            let home = [Place::Struct, Place::Field, Place::Enum, Place::Variant]
                .into_iter()
                .find(|p| *p != place && p.keys().contains(&key.as_str()));
            let message = match home {
                Some(home) => format!(
                    "`{key}` belongs {}, not on a {}",
                    home.describe(),
                    place.name()
                ),
                None => format!(
                    "unknown repo {} attribute `{key}`; expected one of: {}",
                    place.name(),
                    place.keys().join(", ")
                ),
            };
            cx.error_spanned_by(&meta.path, message);
            skip_value(&meta)
        });
        if let Err(error) = result {
            cx.syn_error(error);
        }
    }
}

pub fn struct_attrs(cx: &Ctxt, attrs: &[Attribute]) -> StructAttrs {
    let mut out = StructAttrs::default();
    parse_repo_attrs(cx, attrs, Place::Struct, |key, meta| {
        match key {
            "table" => string(cx, meta, &mut out.table, "users")?,
            "unique" => out.unique.extend(key_list(cx, meta)?),
            _ => out.index.extend(key_list(cx, meta)?),
        }
        Ok(())
    });
    out
}

pub fn field_attrs(cx: &Ctxt, attrs: &[Attribute]) -> FieldAttrs {
    let mut out = FieldAttrs::default();
    parse_repo_attrs(cx, attrs, Place::Field, |key, meta| match key {
        "primary_key" => flag(cx, meta, &mut out.primary_key),
        "auto" => flag(cx, meta, &mut out.auto),
        "column" => string(cx, meta, &mut out.column, "column_name"),
        "created_at" => flag(cx, meta, &mut out.created_at),
        "updated_at" => flag(cx, meta, &mut out.updated_at),
        "json" => flag(cx, meta, &mut out.json),
        "unique" => flag(cx, meta, &mut out.unique),
        _ => flag(cx, meta, &mut out.index),
    });
    out
}

pub fn enum_attrs(cx: &Ctxt, attrs: &[Attribute]) -> EnumAttrs {
    let mut out = EnumAttrs::default();
    parse_repo_attrs(cx, attrs, Place::Enum, |key, meta| match key {
        "type_name" => string(cx, meta, &mut out.type_name, "status"),
        _ => string(cx, meta, &mut out.rename_all, "snake_case"),
    });
    out
}

pub fn variant_attrs(cx: &Ctxt, attrs: &[Attribute]) -> VariantAttrs {
    let mut out = VariantAttrs::default();
    parse_repo_attrs(cx, attrs, Place::Variant, |_, meta| {
        string(cx, meta, &mut out.rename, "label")
    });
    out
}
