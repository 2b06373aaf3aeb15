//! The code each field of an entity contributes: its value, its decoding, its column
//! definition and constant, the checks of its type, and its value in `from_new`.

use heck::ToShoutySnakeCase;
use proc_macro2::{Delimiter, Group, Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use super::entity::{private, private_at};
use crate::ast::{Field, OnConflict, Role};

/// The generated pieces of one field, each spanned at the field's type so a type that cannot
/// be stored (or a wrong `created_at`) is reported on that field.
pub(super) struct FieldCode {
    pub(super) to_value: TokenStream,
    /// How two entities order by the field, where it compares in place.
    pub(super) compare: Option<TokenStream>,
    pub(super) decode: TokenStream,
    /// The field read back from the value `to_value` made, bound to a variable named as the
    /// field: `None` when it cannot be.
    pub(super) from_value: TokenStream,
    pub(super) column_def: TokenStream,
    pub(super) column_const: TokenStream,
    pub(super) checks: TokenStream,
    /// The field's value in `from_new`: taken from the input, or a placeholder.
    pub(super) from_new: TokenStream,
}

/// The spans of the first and last tokens of `ty`: generated code that starts and ends with
/// them covers the whole type when rustc reports an error on it.
pub(super) fn outer_spans(ty: &syn::Type) -> (Span, Span) {
    let mut tokens = ty.to_token_stream().into_iter();
    let first = tokens.next().map_or_else(Span::call_site, |t| t.span());
    let last = tokens.last().map_or(first, |t| t.span());
    (first, last)
}

/// The type check of a field the database or the repository sets, and the field's value in
/// `from_new`. The placeholder of such a field is its type check; under `no_new`, where no
/// placeholder is built, the check runs in `__repo_field_checks` instead.
pub(super) fn placeholder(field: &Field, has_new: bool) -> (TokenStream, TokenStream) {
    let ident = field.ident;
    let ty = field.ty;
    let span = ty.span();
    let placeholder = match field.role {
        Role::CreatedAt | Role::UpdatedAt => Some(quote_spanned!(span=> timestamp_field::<#ty>())),
        Role::Version => Some(quote_spanned!(span=> version_field::<#ty>())),
        Role::SoftDelete => Some(quote_spanned!(span=> deleted_at_field::<#ty>())),
        _ if field.auto => Some(quote_spanned!(span=> generated_key_field::<#ty>())),
        _ => None,
    };
    let checks = match &placeholder {
        Some(placeholder) if !has_new => quote!(#placeholder;),
        _ => TokenStream::new(),
    };
    let from_new = match placeholder {
        Some(placeholder) if super::new::generated(field) => placeholder,
        _ => quote!(new.#ident),
    };
    (checks, from_new)
}

/// The declared conflict action of a field, and the check that its type takes the action.
pub(super) fn conflict_action(field: &Field) -> (TokenStream, TokenStream) {
    let p = private();
    let ty = field.ty;
    let span = ty.span();
    let action = field.on_conflict;
    let on_conflict = match action.unwrap_or(OnConflict::Replace) {
        OnConflict::Replace => quote!(#p::ConflictAction::Replace),
        OnConflict::Keep => quote!(#p::ConflictAction::Keep),
        OnConflict::Add => quote!(#p::ConflictAction::Add),
        OnConflict::Greatest => quote!(#p::ConflictAction::Greatest),
        OnConflict::Least => quote!(#p::ConflictAction::Least),
    };
    // Spanned at the field's type: a type the action cannot take is reported there.
    let scalar = quote_spanned!(span=> <#ty as #p::DbField>::Scalar);
    let check = match action {
        Some(OnConflict::Add) if !field.json => quote_spanned!(span=> numeric_field::<#scalar>();),
        Some(OnConflict::Greatest | OnConflict::Least) if !field.json => {
            quote_spanned!(span=> ordered_field::<#scalar>();)
        }
        _ => TokenStream::new(),
    };
    (on_conflict, check)
}

/// The functions whose bounds check the type of a field set on insert or merged on upsert.
pub(super) fn field_checks() -> TokenStream {
    let p = private();
    quote! {
        // The value of a field set on insert, until it is: bounded by the trait checking the
        // field's type.
        fn timestamp_field<T: #p::Timestamp>() -> T {
            T::PLACEHOLDER
        }
        fn generated_key_field<T: #p::AutoKey>() -> T {
            T::PLACEHOLDER
        }
        fn version_field<T: #p::VersionNumber>() -> T {
            T::PLACEHOLDER
        }
        fn deleted_at_field<T: #p::DeletedAt>() -> T {
            T::PLACEHOLDER
        }
        // The column types a declared conflict action takes.
        #[allow(dead_code)]
        fn numeric_field<T: #p::Numeric>() {}
        #[allow(dead_code)]
        fn ordered_field<T: #p::Ordered>() {}
        // A primary key column's type.
        fn key_part<T: #p::KeyPart>() {}
    }
}

/// `Some("old")` for `#[repo(renamed_from = "old")]`, else `None`.
fn renamed_from(field: &Field) -> TokenStream {
    let p = private();
    field.repo.renamed_from.as_ref().map_or_else(
        || quote!(#p::Option::None),
        |old| quote!(#p::Option::Some(#old)),
    )
}

/// What [`field_code`] knows of a `#[repo(json)]` field.
struct JsonField<'a> {
    entity: &'a syn::Ident,
    vis: &'a syn::Visibility,
    index: usize,
    field: &'a Field<'a>,
    role: TokenStream,
    const_ident: syn::Ident,
    doc: String,
    on_conflict: TokenStream,
    checks: TokenStream,
    from_new: TokenStream,
}

/// The code of a `#[repo(json)]` field: stored through `json::*`, its column constant typed
/// as JSON.
fn json_field_code(json: JsonField<'_>) -> FieldCode {
    let p = private();
    let JsonField {
        entity,
        vis,
        index,
        field,
        role,
        const_ident,
        doc,
        on_conflict,
        checks,
        from_new,
    } = json;
    let ident = field.ident;
    let ty = field.ty;
    let span = ty.span();
    let name = &field.column;
    let field_name = ident.to_string();
    let auto = field.auto;
    let renamed_from = renamed_from(field);
    FieldCode {
        to_value: quote_spanned!(span=> #p::json::to_value::<#ty>(&self.#ident, #field_name)?),
        compare: None,
        decode: quote_spanned!(span=> #p::json::decode::<#ty>(row, #index)?),
        from_value: quote_spanned!(span=> #p::json::from_value::<#ty>(#ident)?),
        column_def: quote! {
            #p::ColumnDef {
                name: #name,
                field: #field_name,
                role: #role,
                auto: #auto,
                nullable: #p::json::nullable::<#ty>,
                column_type: #p::json::column_type,
                null_value: || #p::Value::Json(#p::Option::None),
                enum_type: || #p::Option::None,
                decoding: #p::json::decoding,
                on_conflict: #on_conflict,
                renamed_from: #renamed_from,
            }
        },
        column_const: quote! {
            #[doc = #doc]
            #vis const #const_ident: #p::Column<#entity, #p::JsonValue> =
                #p::Column::new(#name, true);
        },
        checks,
        from_new,
    }
}

pub(super) fn field_code(
    entity: &syn::Ident,
    vis: &syn::Visibility,
    index: usize,
    field: &Field,
    has_new: bool,
) -> FieldCode {
    let p = private();
    let ident = field.ident;
    let ty = field.ty;
    let span = ty.span();
    let name = &field.column;
    let field_name = ident.to_string();
    let role = match field.role {
        Role::Plain => quote!(#p::ColumnRole::Plain),
        Role::PrimaryKey => quote!(#p::ColumnRole::PrimaryKey),
        Role::CreatedAt => quote!(#p::ColumnRole::CreatedAt),
        Role::UpdatedAt => quote!(#p::ColumnRole::UpdatedAt),
        Role::Version => quote!(#p::ColumnRole::Version),
        Role::SoftDelete => quote!(#p::ColumnRole::SoftDelete),
    };
    let auto = field.auto;
    let const_ident = format_ident!(
        "{}",
        field_name.trim_start_matches("r#").to_shouty_snake_case()
    );
    let doc = format!(
        "Column `{name}` of [`{entity}`]: filters, orders and assignments on `{field_name}`."
    );
    let (mut checks, from_new) = placeholder(field, has_new);
    let (on_conflict, check) = conflict_action(field);
    checks.extend(check);
    if field.json {
        json_field_code(JsonField {
            entity,
            vis,
            index,
            field,
            role,
            const_ident,
            doc,
            on_conflict,
            checks,
            from_new,
        })
    } else {
        // Every use of `DbField` carries the field type's span, so a type that cannot be stored
        // is one error on that type rather than one per use.
        let field_ty = quote_spanned!(span=> <#ty as #p::DbField>);
        let nullable = quote_spanned!(span=> || #field_ty::NULLABLE);
        let column_type = quote_spanned!(span=> #field_ty::column_type);
        let null_value = quote_spanned!(span=> #field_ty::null_value);
        let enum_type = quote_spanned!(span=> #field_ty::enum_type);
        let decoding = quote_spanned!(span=> #field_ty::decoding);
        let renamed_from = renamed_from(field);
        // The constant's type and value start and end with the type's own first and last
        // tokens, so rustc reports them on the whole type, like the uses above.
        let (first, last) = outer_spans(ty);
        let column = {
            let p = private_at(first);
            quote_spanned!(first=> #p::Column)
        };
        let scalar = quote_spanned!(last=> ::Scalar>);
        let const_ty = quote!(#column<#entity, #field_ty #scalar);
        let mut args = Group::new(
            Delimiter::Parenthesis,
            quote_spanned!(span=> #name, #field_ty::NULLABLE),
        );
        args.set_span(last);
        let const_value = quote_spanned!(span=> #column::new #args);
        FieldCode {
            to_value: quote_spanned!(span=> #field_ty::to_value(&self.#ident)),
            compare: Some(
                quote_spanned!(span=> #field_ty::compare_key(&self.#ident, &other.#ident)),
            ),
            decode: quote_spanned!(span=> #field_ty::decode(row, #index)?),
            from_value: quote_spanned!(span=> #field_ty::from_value(#ident)?),
            column_def: quote! {
                #p::ColumnDef {
                    name: #name,
                    field: #field_name,
                    role: #role,
                    auto: #auto,
                    nullable: #nullable,
                    column_type: #column_type,
                    null_value: #null_value,
                    enum_type: #enum_type,
                    decoding: #decoding,
                    on_conflict: #on_conflict,
                    renamed_from: #renamed_from,
                }
            },
            column_const: quote! {
                #[doc = #doc]
                #vis const #const_ident: #const_ty = #const_value;
            },
            checks,
            from_new,
        }
    }
}
