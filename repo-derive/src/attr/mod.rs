//! The `#[repo(...)]` grammar, parsed into typed values that keep their spans.

use proc_macro2::TokenStream;
use syn::meta::ParseNestedMeta;
use syn::parse::Parse;
use syn::{Attribute, Ident, LitStr, Token};

use crate::ctxt::Ctxt;

mod options;

pub use options::{AuditAttr, CacheAttr};
use options::{audit, cache};

/// Where an attribute sits, to say where a misplaced key belongs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Struct,
    Field,
    Enum,
    Variant,
    /// A field of a `#[derive(FromRow)]` struct.
    RowField,
}

impl Place {
    fn keys(self) -> &'static [&'static str] {
        match self {
            Self::Struct => &[
                "table",
                "schema",
                "unique",
                "index",
                "new",
                "no_new",
                "audit",
                "cache",
                "read_only",
            ],
            Self::Field => &[
                "primary_key",
                "auto",
                "column",
                "created_at",
                "updated_at",
                "version",
                "soft_delete",
                "json",
                "unique",
                "index",
                "on_conflict",
                "renamed_from",
            ],
            Self::Enum => &["type_name", "rename_all"],
            Self::Variant => &["rename"],
            Self::RowField => &["column", "json"],
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Struct => "struct",
            Self::Field => "field",
            Self::Enum => "enum",
            Self::Variant => "variant",
            Self::RowField => "row field",
        }
    }

    /// [`name`](Self::name) after its indefinite article.
    fn with_article(self) -> &'static str {
        match self {
            Self::Struct => "a struct",
            Self::Field => "a field",
            Self::Enum => "an enum",
            Self::Variant => "a variant",
            Self::RowField => "a row field",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Struct => "on the struct, as in #[repo(table = \"users\")]",
            Self::Field => "on a field, as in #[repo(primary_key)]",
            Self::Enum => "on an enum deriving DbEnum, as in #[repo(type_name = \"status\")]",
            Self::Variant => "on an enum variant, as in #[repo(rename = \"label\")]",
            Self::RowField => "on a field of a FromRow struct, as in #[repo(column = \"name\")]",
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
    pub schema: Option<LitStr>,
    pub unique: Vec<KeyList>,
    pub index: Vec<KeyList>,
    /// The name of the generated input type, instead of `NewX`.
    pub new: Option<LitStr>,
    /// No input type: the entity itself is what `insert_new` takes.
    pub no_new: Option<Ident>,
    /// `audit` or `audit(require_actor)`: every write appends to the audit log.
    pub audit: Option<AuditAttr>,
    /// `cache` or `cache(capacity = …, ttl_secs = …)`: reads are served from the `Db`'s cache.
    pub cache: Option<CacheAttr>,
    /// `read_only`: a view or a table the repository only reads; the primary key may be left
    /// out.
    pub read_only: Option<Ident>,
    /// Keys written, valid or not, and the keys misspelled ones were taken for: a key named
    /// here but unset already has its error.
    pub named: Vec<&'static str>,
}

#[derive(Default)]
pub struct FieldAttrs {
    pub primary_key: Option<Ident>,
    pub auto: Option<Ident>,
    pub column: Option<LitStr>,
    pub created_at: Option<Ident>,
    pub updated_at: Option<Ident>,
    pub version: Option<Ident>,
    pub soft_delete: Option<Ident>,
    pub json: Option<Ident>,
    pub unique: Option<Ident>,
    pub index: Option<Ident>,
    /// What an upsert writes to the column of an existing row.
    pub on_conflict: Option<LitStr>,
    /// The column's name before a rename, for migration diffs.
    pub renamed_from: Option<LitStr>,
    /// As in [`StructAttrs::named`].
    pub named: Vec<&'static str>,
}

#[derive(Default)]
pub struct RowFieldAttrs {
    pub column: Option<LitStr>,
    pub json: Option<Ident>,
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
pub(super) fn skip_value(meta: &ParseNestedMeta) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<syn::Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in meta.input);
        content.parse::<TokenStream>()?;
    }
    Ok(())
}

pub(super) fn set_once<T>(cx: &Ctxt, slot: &mut Option<T>, value: T, ident: &Ident) {
    if slot.is_some() {
        cx.error_spanned_by(ident, format!("`{ident}` is given twice; keep one"));
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
    let example = format!("#[repo({ident} = \"{example}\")]");
    if !meta.input.peek(Token![=]) {
        cx.error_spanned_by(&meta.path, format!("`{ident}` takes a string: {example}"));
        skip_value(meta)?;
        return Ok(());
    }
    let mut expr: syn::Expr = meta.value()?.parse()?;
    // A string passed through a `macro_rules!` fragment (`$table:literal`) arrives wrapped in
    // an invisible group.
    while let syn::Expr::Group(group) = expr {
        expr = *group.expr;
    }
    match expr {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(lit),
            ..
        }) => {
            if lit.value().trim().is_empty() {
                cx.error_spanned_by(&lit, format!("`{ident}` cannot be empty: {example}"));
            } else {
                set_once(cx, slot, lit, &ident);
            }
        }
        other => cx.error_spanned_by(
            other,
            format!("`{ident}` takes a string in double quotes: {example}"),
        ),
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
    let content;
    syn::parenthesized!(content in meta.input);
    let items = content.parse_terminated(syn::Expr::parse, Token![,])?;
    let mut fields = Vec::new();
    for item in items {
        let field = match &item {
            syn::Expr::Path(path) if path.attrs.is_empty() && path.qself.is_none() => {
                path.path.get_ident()
            }
            _ => None,
        };
        let Some(field) = field else {
            cx.error_spanned_by(
                &item,
                format!(
                    "expected a field name in `{keyword}(...)`, as in #[repo({keyword}(field_a, field_b))]"
                ),
            );
            return Ok(None);
        };
        fields.push(field.clone());
    }
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
/// Returns the keys named, as in [`StructAttrs::named`].
fn parse_repo_attrs(
    cx: &Ctxt,
    attrs: &[Attribute],
    place: Place,
    mut handle: impl FnMut(&str, &ParseNestedMeta) -> syn::Result<()>,
) -> Vec<&'static str> {
    let mut named = Vec::new();
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
            let known = place.keys().iter().find(|k| **k == key);
            if let (Some(known), Some(_)) = (known, meta.path.get_ident()) {
                named.push(*known);
                return handle(&key, &meta);
            }
            // A row field is a field too: an entity's field key on it is unknown, not misplaced.
            let home = [Place::Struct, Place::Field, Place::Enum, Place::Variant]
                .into_iter()
                .filter(|_| place != Place::RowField)
                .find(|p| *p != place && p.keys().contains(&key.as_str()));
            let message = match (home, closest(&key, place.keys())) {
                (Some(home), _) => format!(
                    "`{key}` belongs {}, not on {}",
                    home.describe(),
                    place.with_article()
                ),
                (None, Some(meant)) => {
                    named.push(meant);
                    format!(
                        "unknown repo {} attribute `{key}`; did you mean `{meant}`?",
                        place.name()
                    )
                }
                (None, None) => format!(
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
    named
}

/// The candidate `word` is most likely a misspelling of, if any is close enough.
pub fn closest(word: &str, candidates: &[&'static str]) -> Option<&'static str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

/// Edits (insertion, deletion, substitution, swap of neighbours) turning `a` into `b`.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // d[i][j]: distance between the first i chars of a and the first j chars of b.
    let mut d = vec![vec![0; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

pub fn struct_attrs(cx: &Ctxt, attrs: &[Attribute]) -> StructAttrs {
    let mut out = StructAttrs::default();
    out.named = parse_repo_attrs(cx, attrs, Place::Struct, |key, meta| {
        match key {
            "table" => string(cx, meta, &mut out.table, "users")?,
            "schema" => string(cx, meta, &mut out.schema, "sales")?,
            "unique" => out.unique.extend(key_list(cx, meta)?),
            "new" => string(cx, meta, &mut out.new, "CreateWidget")?,
            "no_new" => flag(cx, meta, &mut out.no_new)?,
            "audit" => audit(cx, meta, &mut out.audit)?,
            "cache" => cache(cx, meta, &mut out.cache)?,
            "read_only" => flag(cx, meta, &mut out.read_only)?,
            _ => out.index.extend(key_list(cx, meta)?),
        }
        Ok(())
    });
    out
}

pub fn field_attrs(cx: &Ctxt, attrs: &[Attribute]) -> FieldAttrs {
    let mut out = FieldAttrs::default();
    out.named = parse_repo_attrs(cx, attrs, Place::Field, |key, meta| match key {
        "primary_key" => flag(cx, meta, &mut out.primary_key),
        "auto" => flag(cx, meta, &mut out.auto),
        "column" => string(cx, meta, &mut out.column, "column_name"),
        "created_at" => flag(cx, meta, &mut out.created_at),
        "updated_at" => flag(cx, meta, &mut out.updated_at),
        "version" => flag(cx, meta, &mut out.version),
        "soft_delete" => flag(cx, meta, &mut out.soft_delete),
        "json" => flag(cx, meta, &mut out.json),
        "unique" => flag(cx, meta, &mut out.unique),
        "on_conflict" => string(cx, meta, &mut out.on_conflict, "keep"),
        "renamed_from" => string(cx, meta, &mut out.renamed_from, "old_name"),
        _ => flag(cx, meta, &mut out.index),
    });
    out
}

pub fn row_field_attrs(cx: &Ctxt, attrs: &[Attribute]) -> RowFieldAttrs {
    let mut out = RowFieldAttrs::default();
    parse_repo_attrs(cx, attrs, Place::RowField, |key, meta| match key {
        "column" => string(cx, meta, &mut out.column, "column_name"),
        _ => flag(cx, meta, &mut out.json),
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

#[cfg(test)]
mod tests {
    use super::{closest, edit_distance};

    #[test]
    fn edit_distance_counts_swaps_as_one() {
        assert_eq!(edit_distance("table", "table"), 0);
        assert_eq!(edit_distance("tabel", "table"), 1);
        assert_eq!(edit_distance("colum", "column"), 1);
        assert_eq!(edit_distance("", "json"), 4);
    }

    #[test]
    fn closest_needs_a_near_miss() {
        let keys = &["table", "unique", "index"];
        assert_eq!(closest("tabel", keys), Some("table"));
        assert_eq!(closest("uniqe", keys), Some("unique"));
        assert_eq!(closest("name", keys), None);
        assert_eq!(closest("x", keys), None);
    }
}
