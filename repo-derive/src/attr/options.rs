//! The struct keys that take options in parentheses: `audit(...)` and `cache(...)`.

use syn::Token;
use syn::meta::ParseNestedMeta;
use syn::parse::Parse;

use super::{set_once, skip_value};
use crate::ctxt::Ctxt;

/// `#[repo(audit)]` or `#[repo(audit(require_actor))]`.
pub struct AuditAttr {
    pub require_actor: bool,
}

/// `#[repo(cache)]` or `#[repo(cache(capacity = 10_000, ttl_secs = 300))]`.
pub struct CacheAttr {
    /// Rows kept in the process for the entity, if given.
    pub capacity: Option<syn::LitInt>,
    /// Seconds an entry lives at most, if given.
    pub ttl_secs: Option<syn::LitInt>,
}

const AUDIT_FORMS: &str = "#[repo(audit)] or #[repo(audit(require_actor))]";

pub(super) fn audit(
    cx: &Ctxt,
    meta: &ParseNestedMeta,
    slot: &mut Option<AuditAttr>,
) -> syn::Result<()> {
    let Some((keyword, options)) = keyword_options(cx, meta, AUDIT_FORMS)? else {
        return Ok(());
    };
    let mut require_actor = false;
    for option in options {
        match &option {
            syn::Meta::Path(path) if path.is_ident("require_actor") => require_actor = true,
            other => {
                let path = other.path();
                cx.error_spanned_by(
                    other,
                    format!(
                        "unknown audit option `{}`; the one option is `require_actor`: {AUDIT_FORMS}",
                        quote::quote!(#path).to_string().replace(' ', "")
                    ),
                );
            }
        }
    }
    set_once(cx, slot, AuditAttr { require_actor }, &keyword);
    Ok(())
}

const CACHE_FORMS: &str = "#[repo(cache)] or #[repo(cache(capacity = 10_000, ttl_secs = 300))]";

pub(super) fn cache(
    cx: &Ctxt,
    meta: &ParseNestedMeta,
    slot: &mut Option<CacheAttr>,
) -> syn::Result<()> {
    let Some((keyword, options)) = keyword_options(cx, meta, CACHE_FORMS)? else {
        return Ok(());
    };
    let mut found = CacheAttr {
        capacity: None,
        ttl_secs: None,
    };
    for option in options {
        let name = option.path().get_ident().map(ToString::to_string);
        let slot = match name.as_deref() {
            Some("capacity") => &mut found.capacity,
            Some("ttl_secs") => &mut found.ttl_secs,
            _ => {
                let path = option.path();
                cx.error_spanned_by(
                    path,
                    format!(
                        "unknown cache option `{}`; the options are `capacity` (rows kept in the process) and `ttl_secs` (seconds an entry lives at most): {CACHE_FORMS}",
                        quote::quote!(#path).to_string().replace(' ', "")
                    ),
                );
                continue;
            }
        };
        let name = name.unwrap_or_default();
        let syn::Meta::NameValue(pair) = &option else {
            cx.error_spanned_by(
                &option,
                format!("`{name}` takes a whole number: {CACHE_FORMS}"),
            );
            continue;
        };
        let mut value = &pair.value;
        while let syn::Expr::Group(group) = value {
            value = &group.expr;
        }
        let number = match value {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Int(number),
                ..
            }) => number,
            other => {
                cx.error_spanned_by(
                    other,
                    format!("`{name}` takes a whole number: {CACHE_FORMS}"),
                );
                continue;
            }
        };
        match number.base10_parse::<u64>() {
            Ok(0) => cx.error_spanned_by(
                number,
                format!("`{name}` must be at least 1: {CACHE_FORMS}"),
            ),
            Ok(_) if slot.is_some() => {
                cx.error_spanned_by(option.path(), format!("`{name}` is given twice; keep one"));
            }
            Ok(_) => *slot = Some(number.clone()),
            Err(error) => cx.error_spanned_by(number, format!("`{name}`: {error}")),
        }
    }
    set_once(cx, slot, found, &keyword);
    Ok(())
}

/// The head of a struct keyword that takes no value and, optionally, options in parentheses
/// (`audit`, `audit(require_actor)`): the keyword and its options. `None` when it was given a
/// value, which is reported against `forms` and skipped.
fn keyword_options(
    cx: &Ctxt,
    meta: &ParseNestedMeta,
    forms: &str,
) -> syn::Result<Option<(syn::Ident, Vec<syn::Meta>)>> {
    let keyword = meta
        .path
        .get_ident()
        .cloned()
        .expect("checked by the caller");
    if meta.input.peek(Token![=]) {
        cx.error_spanned_by(
            &meta.path,
            format!("`{keyword}` takes no value: write {forms}"),
        );
        skip_value(meta)?;
        return Ok(None);
    }
    let mut options = Vec::new();
    if meta.input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in meta.input);
        options.extend(content.parse_terminated(syn::Meta::parse, Token![,])?);
        if options.is_empty() {
            cx.error_spanned_by(
                &meta.path,
                format!("`{keyword}()` names no option: write {forms}"),
            );
        }
    }
    Ok(Some((keyword, options)))
}
