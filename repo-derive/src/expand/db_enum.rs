//! `impl DbEnum`: labels both ways and the PostgreSQL type name; and sqlx's `Type`, `Encode`
//! and `Decode`, written by a macro of `repo_core` that knows which backends it was built with.

use proc_macro2::TokenStream;
use quote::quote;

use crate::ast::Enum;

pub fn expand(model: &Enum) -> TokenStream {
    let ident = model.ident;
    let type_name = &model.type_name;
    let labels: Vec<&String> = model.variants.iter().map(|v| &v.label).collect();
    let variants: Vec<&syn::Ident> = model.variants.iter().map(|v| v.ident).collect();
    quote! {
        #[automatically_derived]
        impl ::repo_core::__private::DbEnum for #ident {
            const TYPE_NAME: &'static str = #type_name;
            const LABELS: &'static [&'static str] = &[#(#labels),*];
            fn as_label(&self) -> &'static str {
                match self {
                    #(Self::#variants => #labels,)*
                }
            }
            fn from_label(label: &str) -> ::repo_core::__private::Option<Self> {
                match label {
                    #(#labels => ::repo_core::__private::Option::Some(Self::#variants),)*
                    _ => ::repo_core::__private::Option::None,
                }
            }
        }

        ::repo_core::__private::impl_sqlx_for_db_enum!(#ident);
    }
}
