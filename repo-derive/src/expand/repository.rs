//! The repository newtype `XRepository<'a>`: construction, access to the generic repository,
//! and `BaseRepository`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::DeriveInput;

use crate::ast::Entity;

pub fn expand(model: &Entity) -> TokenStream {
    let entity = model.ident;
    let vis = model.vis;
    let repository = format_ident!("{}Repository", entity);
    let doc = format!(
        "The repository of [`{entity}`]: every [`BaseRepository`](::repo_core::BaseRepository) \
         operation, plus the custom queries the declaring crate adds as inherent methods.\n\n\
         An inherent method named like a generic operation (`update`, `claim`, ...) shadows it \
         without a warning. The generic one stays reachable through \
         [`repository()`](::repo_core::BaseRepository::repository), as \
         `repo.repository().claim(update, n)`, or as \
         `BaseRepository::update(&repo, &entity)` / `(*repo).claim(update, n)`."
    );
    quote! {
        #[doc = #doc]
        #[derive(Clone, Debug)]
        #vis struct #repository<'a>(::repo_core::__private::Repository<'a, #entity>);

        #[automatically_derived]
        impl<'a> #repository<'a> {
            /// A repository on a `&Db` (autocommit) or a `&Session` (unit of work).
            #vis fn new(conn: impl ::core::convert::Into<::repo_core::__private::Conn<'a>>) -> Self {
                Self(::repo_core::__private::Repository::new(conn))
            }

            /// This repository seeing soft-deleted rows too (`Repository::with_deleted`), with
            /// the custom queries.
            #[must_use]
            #vis fn with_deleted(&self) -> Self {
                Self(self.0.with_deleted())
            }

            /// This repository seeing only soft-deleted rows (`Repository::only_deleted`), with
            /// the custom queries.
            #[must_use]
            #vis fn only_deleted(&self) -> Self {
                Self(self.0.only_deleted())
            }

            /// This repository with its writes recorded in the audit log as made by `actor`
            /// (`Repository::acting_as`), with the custom queries.
            #[must_use]
            #vis fn acting_as(&self, actor: impl ::core::convert::Into<::std::string::String>) -> Self {
                Self(self.0.acting_as(actor))
            }
        }

        #[automatically_derived]
        impl<'a> ::core::ops::Deref for #repository<'a> {
            type Target = ::repo_core::__private::Repository<'a, #entity>;
            fn deref(&self) -> &Self::Target {
                &self.0
            }
        }

        #[automatically_derived]
        impl ::repo_core::__private::BaseRepository<#entity> for #repository<'_> {
            fn repository(&self) -> &::repo_core::__private::Repository<'_, #entity> {
                &self.0
            }
        }
    }
}

/// After an attribute error: the repository type alone, so uses of it do not pile up more errors.
pub fn stub(input: &DeriveInput) -> TokenStream {
    let entity = &input.ident;
    let vis = &input.vis;
    let repository = format_ident!("{}Repository", entity);
    quote! {
        #vis struct #repository<'a>(::core::marker::PhantomData<&'a ()>);
        impl<'a> #repository<'a> {
            #vis fn new<T>(_: T) -> Self {
                ::core::unreachable!()
            }
        }
    }
}
