//! `impl Entity` and the typed column constants.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::field::{FieldCode, field_checks, field_code};
use crate::ast::{Entity, Field};

const P: &str = "::repo_core::__private";

pub(super) fn private() -> TokenStream {
    P.parse().expect("valid path")
}

/// [`private`] with every token at `span`.
pub(super) fn private_at(span: Span) -> TokenStream {
    private()
        .into_iter()
        .map(|mut token| {
            token.set_span(span);
            token
        })
        .collect()
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
    if fields.is_empty() {
        // A read-only entity without a key: no `Id` value exists, so nothing is looked up by
        // key, and nothing that writes (the only callers of `id`) compiles for it.
        let p = private();
        let message = format!(
            "{} has no primary key: it is never read or written by key",
            model.ident
        );
        return Key {
            names: Vec::new(),
            id_type: quote!(#p::NoKey),
            id_value: quote!(::core::unreachable!(#message)),
            checks: Vec::new(),
        };
    }
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

/// The `Entity` constants that say how its rows are kept: `AUDIT`, `CACHE`, `READ_ONLY`
/// (each only when it differs from the trait's default).
fn policies(model: &Entity) -> TokenStream {
    let (audit, cache) = (audit_const(model), cache_const(model));
    let read_only = model.repo.read_only.as_ref().map(|_| {
        quote!(
            const READ_ONLY: bool = true;
        )
    });
    quote!(#audit #cache #read_only)
}

/// `impl Writable`: every entity's repository writes but a `read_only` one's.
fn writable(model: &Entity) -> TokenStream {
    let (p, entity) = (private(), model.ident);
    if model.repo.read_only.is_some() {
        return quote!();
    }
    quote! {
        #[automatically_derived]
        impl #p::Writable for #entity {}
    }
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
    let policies = policies(model);
    let from_values = from_values(&idents, &codes);
    let writable = writable(model);

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
            #policies

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

        #writable

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
