//! `impl FromDbRow`: each field read by column name through `DbField`, as entity fields are.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::ast::Row;

pub fn expand(model: &Row) -> TokenStream {
    let p = quote!(::repo_core::__private);
    let ident = model.ident;
    let (impl_generics, ty_generics, where_clause) = model.generics.split_for_impl();
    let fields = model.fields.iter().map(|field| {
        let name = field.ident;
        let column = &field.column;
        let ty = field.ty;
        let span = ty.span();
        let decode = if field.json {
            quote_spanned!(span=> #p::json::decode::<#ty>(row, index))
        } else {
            quote_spanned!(span=> <#ty as #p::DbField>::decode(row, index))
        };
        quote! {
            #name: {
                let index = row.index_of(#column)?;
                #decode.map_err(|error| row.name_column(error))?
            }
        }
    });
    quote! {
        #[automatically_derived]
        impl #impl_generics #p::FromDbRow for #ident #ty_generics #where_clause {
            fn from_db_row(row: &#p::Row) -> #p::StdResult<Self, #p::SqlxError> {
                #p::StdResult::Ok(Self {
                    #(#fields,)*
                })
            }
        }
    }
}
