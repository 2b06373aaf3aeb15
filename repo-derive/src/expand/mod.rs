//! Code generation, one file per generated piece. Each derive reads its model (`ast`), checks
//! it (`valid`), and generates from it only when neither reported an error; otherwise it emits
//! the errors together (with a stub repository for an entity, so no error cascades from them).

mod db_enum;
mod entity;
mod field;
mod new;
mod repository;
mod row;

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

use crate::ast;
use crate::ctxt::Ctxt;
use crate::valid;

pub fn derive_repository(input: &DeriveInput) -> TokenStream {
    let cx = Ctxt::default();
    let model = ast::entity(&cx, input);
    if let Some(model) = &model {
        valid::entity(&cx, model);
    }
    match (cx.check(), model) {
        (Ok(()), Some(model)) => {
            let new = model.new.as_ref().map(|new| new::expand(&model, new));
            let entity = entity::expand(&model, new.as_ref());
            let repository = repository::expand(&model);
            let (new_items, new_in_const) =
                new.map(|new| (new.items, new.in_const)).unwrap_or_default();
            quote! {
                #new_items
                #repository
                #[doc(hidden)]
                #[allow(non_upper_case_globals, unused_qualifications, clippy::all, clippy::pedantic)]
                const _: () = {
                    #new_in_const
                    #entity
                };
            }
        }
        (Err(error), _) => {
            let stub = repository::stub(input);
            let error = error.to_compile_error();
            quote!(#error #stub)
        }
        (Ok(()), None) => unreachable!("a missing model always reports an error"),
    }
}

pub fn derive_db_enum(input: &DeriveInput) -> TokenStream {
    let cx = Ctxt::default();
    let model = ast::db_enum(&cx, input);
    if let Some(model) = &model {
        valid::db_enum(&cx, model);
    }
    match (cx.check(), model) {
        (Ok(()), Some(model)) => {
            let body = db_enum::expand(&model);
            quote! {
                #[doc(hidden)]
                #[allow(non_upper_case_globals, unused_qualifications, clippy::all, clippy::pedantic)]
                const _: () = {
                    #body
                };
            }
        }
        (Err(error), _) => error.to_compile_error(),
        (Ok(()), None) => unreachable!("a missing model always reports an error"),
    }
}

pub fn derive_from_row(input: &DeriveInput) -> TokenStream {
    let cx = Ctxt::default();
    let model = ast::row(&cx, input);
    if let Some(model) = &model {
        valid::row(&cx, model);
    }
    match (cx.check(), model) {
        (Ok(()), Some(model)) => {
            let body = row::expand(&model);
            quote! {
                #[doc(hidden)]
                #[allow(non_upper_case_globals, unused_qualifications, clippy::all, clippy::pedantic)]
                const _: () = {
                    #body
                };
            }
        }
        (Err(error), _) => error.to_compile_error(),
        (Ok(()), None) => unreachable!("a missing model always reports an error"),
    }
}
