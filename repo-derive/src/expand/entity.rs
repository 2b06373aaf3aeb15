//! `impl Entity` and the typed column constants.

use heck::ToShoutySnakeCase;
use proc_macro2::{Delimiter, Group, Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::ast::{Entity, Field, OnConflict, Role};

const P: &str = "::repo_core::__private";

fn private() -> TokenStream {
    P.parse().expect("valid path")
}

/// [`private`] with every token at `span`.
fn private_at(span: Span) -> TokenStream {
    private()
        .into_iter()
        .map(|mut token| {
            token.set_span(span);
            token
        })
        .collect()
}

/// The generated pieces of one field, each spanned at the field's type so a type that cannot
/// be stored (or a wrong `created_at`) is reported on that field.
struct FieldCode {
    to_value: TokenStream,
    /// How two entities order by the field, where it compares in place.
    compare: Option<TokenStream>,
    decode: TokenStream,
    /// The field read back from the value `to_value` made, bound to a variable named as the
    /// field: `None` when it cannot be.
    from_value: TokenStream,
    column_def: TokenStream,
    column_const: TokenStream,
    checks: TokenStream,
    /// The field's value in `from_new`: taken from the input, or a placeholder.
    from_new: TokenStream,
}

/// The spans of the first and last tokens of `ty`: generated code that starts and ends with
/// them covers the whole type when rustc reports an error on it.
fn outer_spans(ty: &syn::Type) -> (Span, Span) {
    let mut tokens = ty.to_token_stream().into_iter();
    let first = tokens.next().map_or_else(Span::call_site, |t| t.span());
    let last = tokens.last().map_or(first, |t| t.span());
    (first, last)
}

/// The type check of a field the database or the repository sets, and the field's value in
/// `from_new`. The placeholder of such a field is its type check; under `no_new`, where no
/// placeholder is built, the check runs in `__repo_field_checks` instead.
fn placeholder(field: &Field, has_new: bool) -> (TokenStream, TokenStream) {
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
fn conflict_action(field: &Field) -> (TokenStream, TokenStream) {
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
fn field_checks() -> TokenStream {
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

fn field_code(
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

/// The primary key's code: its column names, the `Id` type and value (the field's, or a tuple
/// of the fields' for a composite key), and a check of each key field's type.
struct Key<'a> {
    names: Vec<&'a String>,
    id_type: TokenStream,
    id_value: TokenStream,
    checks: Vec<TokenStream>,
}

fn key<'a>(model: &'a Entity) -> Key<'a> {
    let fields: Vec<&Field> = model
        .primary_key
        .iter()
        .map(|&i| &model.fields[i])
        .collect();
    let idents: Vec<&syn::Ident> = fields.iter().map(|f| f.ident).collect();
    let types: Vec<&syn::Type> = fields.iter().map(|f| f.ty).collect();
    let (id_type, id_value) = match (idents.as_slice(), types.as_slice()) {
        ([ident], [ty]) => (
            quote!(#ty),
            quote!(::std::clone::Clone::clone(&self.#ident)),
        ),
        _ => (
            quote!((#(#types,)*)),
            quote!((#(::std::clone::Clone::clone(&self.#idents),)*)),
        ),
    };
    // Each key field's type is checked where it is written: NOT NULL, Clone, Debug.
    let checks = types
        .iter()
        .map(|ty| {
            let span = ty.span();
            quote_spanned!(span=> key_part::<#ty>();)
        })
        .collect();
    Key {
        names: fields.iter().map(|f| &f.column).collect(),
        id_type,
        id_value,
        checks,
    }
}

/// `const AUDIT` of an audited entity (the trait's default says "not audited").
fn audit_const(model: &Entity) -> TokenStream {
    let p = private();
    match model.audit {
        None => quote!(),
        Some(false) => quote!(const AUDIT: #p::Audit = #p::Audit::On;),
        Some(true) => quote!(const AUDIT: #p::Audit = #p::Audit::RequireActor;),
    }
}

/// `Entity::compare_at`: fields compared in place; a JSON field compares the values it
/// serializes to.
fn compare_at(codes: &[FieldCode]) -> TokenStream {
    let p = private();
    let (indexes, compares): (Vec<usize>, Vec<&TokenStream>) = codes
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.compare.as_ref().map(|compare| (i, compare)))
        .unzip();
    quote! {
        fn compare_at(&self, other: &Self, index: usize) -> ::std::cmp::Ordering {
            match index {
                #(#indexes => #compares,)*
                _ => <Self as #p::Entity>::value_at(self, index)
                    .ok()
                    .zip(<Self as #p::Entity>::value_at(other, index).ok())
                    .map_or(::std::cmp::Ordering::Equal, |(a, b)| #p::compare_value(&a, &b)),
            }
        }
    }
}

/// `Entity::from_values`: each field read back from its value, bound by the field's name.
fn from_values(idents: &[&syn::Ident], codes: &[FieldCode]) -> TokenStream {
    let p = private();
    let from_values = codes.iter().map(|c| &c.from_value);
    quote! {
        fn from_values(values: &[#p::Value]) -> #p::Option<Self> {
            let [#(#idents),*] = values else {
                return #p::Option::None;
            };
            #p::Option::Some(Self {
                #(#idents: #from_values,)*
            })
        }
    }
}

/// `const CACHE` of a cached entity (the trait's default says "not cached").
fn cache_const(model: &Entity) -> TokenStream {
    let p = private();
    let Some((capacity, ttl_secs)) = model.cache else {
        return quote!();
    };
    let option = |n: Option<u64>| {
        n.map_or_else(
            || quote!(#p::Option::None),
            |n| quote!(#p::Option::Some(#n)),
        )
    };
    let (capacity, ttl_secs) = (option(capacity), option(ttl_secs));
    quote!(
        const CACHE: #p::Option<#p::CachePolicy> =
            #p::Option::Some(#p::CachePolicy::new(#capacity, #ttl_secs));
    )
}

/// `Entity::SCHEMA`: the declared schema, if any.
fn schema(model: &Entity) -> TokenStream {
    let p = private();
    model.schema.as_ref().map_or_else(
        || quote!(#p::Option::None),
        |schema| quote!(#p::Option::Some(#schema)),
    )
}

/// `Entity::New`: the entity itself under `no_new`, else the generated type. Rustdoc shows
/// that by its name; compiled, it is reached through its module.
fn new_type(new: Option<&super::new::NewCode>) -> TokenStream {
    new.map_or_else(
        || {
            quote!(
                type New = Self;
            )
        },
        |new| {
            let (path, doc_path) = (&new.path, &new.doc_path);
            quote! {
                #[cfg(not(doc))]
                type New = #path;
                #[cfg(doc)]
                type New = #doc_path;
            }
        },
    )
}

pub fn expand(model: &Entity, new: Option<&super::new::NewCode>) -> TokenStream {
    let p = private();
    let entity = model.ident;
    let vis = model.vis;
    let name = entity.to_string();
    let table = &model.table;
    let schema = schema(model);
    let Key {
        names: key_names,
        id_type,
        id_value,
        checks: key_checks,
    } = key(model);
    let codes: Vec<FieldCode> = model
        .fields
        .iter()
        .enumerate()
        .map(|(i, f)| field_code(entity, vis, i, f, model.new.is_some()))
        .collect();
    let idents: Vec<&syn::Ident> = model.fields.iter().map(|f| f.ident).collect();
    let indexes: Vec<usize> = (0..model.fields.len()).collect();
    let to_values: Vec<&TokenStream> = codes.iter().map(|c| &c.to_value).collect();
    let compare_at = compare_at(&codes);
    let decodes: Vec<&TokenStream> = codes.iter().map(|c| &c.decode).collect();
    let column_defs: Vec<&TokenStream> = codes.iter().map(|c| &c.column_def).collect();
    let column_consts: Vec<&TokenStream> = codes.iter().map(|c| &c.column_const).collect();
    let checks: Vec<&TokenStream> = codes.iter().map(|c| &c.checks).collect();
    let new_type = new_type(new);
    let from_new = if model.new.is_some() {
        let values = codes.iter().map(|c| &c.from_new);
        quote!(Self { #(#idents: #values,)* })
    } else {
        quote!(new)
    };
    let unique = model.unique.iter().map(|key| quote!(&[#(#key),*]));
    let index = model.index.iter().map(|key| quote!(&[#(#key),*]));
    let field_checks = field_checks();
    let audit = audit_const(model);
    let cache = cache_const(model);
    let from_values = from_values(&idents, &codes);

    quote! {
        #[automatically_derived]
        impl #p::Entity for #entity {
            const NAME: &'static str = #name;
            const TABLE: &'static str = #table;
            const SCHEMA: #p::Option<&'static str> = #schema;
            const COLUMNS: &'static [#p::ColumnDef] = &[#(#column_defs),*];
            const PRIMARY_KEY: &'static [&'static str] = &[#(#key_names),*];
            const UNIQUE_KEYS: &'static [&'static [&'static str]] = &[#(#unique),*];
            const INDEXES: &'static [&'static [&'static str]] = &[#(#index),*];
            #audit
            #cache

            type Id = #id_type;

            fn id(&self) -> Self::Id {
                #id_value
            }

            fn push_values(&self, out: &mut ::std::vec::Vec<#p::Value>) -> #p::Result<()> {
                #(out.push(#to_values);)*
                Ok(())
            }

            #compare_at

            fn value_at(&self, index: usize) -> #p::Result<#p::Value> {
                Ok(match index {
                    #(#indexes => #to_values,)*
                    _ => return Err(#p::Error::validation(
                        "column",
                        ::std::format!("{} has no column at position {index}", #name),
                    )),
                })
            }

            fn decode(row: &#p::Row) -> #p::StdResult<Self, #p::SqlxError> {
                // A value that cannot be decoded is reported with its column's name.
                let fields = || -> #p::StdResult<Self, #p::SqlxError> {
                    Ok(Self {
                        #(#idents: #decodes,)*
                    })
                };
                fields().map_err(|error| row.name_column(error))
            }

            #from_values

            fn statements() -> &'static #p::StatementCache {
                static STATEMENTS: #p::StatementCache = #p::StatementCache::new();
                &STATEMENTS
            }

            #new_type

            fn from_new(new: Self::New) -> Self {
                #from_new
            }
        }

        // A private entity need not use every column constant.
        #[automatically_derived]
        #[allow(dead_code)]
        impl #entity {
            #(#column_consts)*
        }

        #field_checks

        #[allow(dead_code)]
        fn __repo_field_checks() {
            #(#checks)*
            #(#key_checks)*
        }
    }
}
