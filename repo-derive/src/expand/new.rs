//! The input type of new entities, `NewX`: every field of the entity but those the database
//! or the repository sets on insert (a generated key, timestamps, the version, which starts at
//! 0, and the soft-delete column, which starts empty).

use proc_macro2::TokenStream;
use quote::quote;
use syn::Ident;

use crate::ast::{Entity, Field, Role};

/// Whether the field is left out of `NewX`: set by the database or the repository.
pub fn generated(field: &Field) -> bool {
    match field.role {
        Role::PrimaryKey => field.auto,
        Role::CreatedAt | Role::UpdatedAt | Role::Version | Role::SoftDelete => true,
        Role::Plain => false,
    }
}

/// `Debug`, `Clone` and `PartialEq` for `NewX`, each holding exactly when every field type
/// implements the trait: then the entity, whose fields include these, can derive it too.
///
/// A derive cannot see the other derives of the entity, so it cannot copy them; and an
/// unconditional `#[derive(Clone)]` would not compile for a field type without `Clone`. Each
/// bound is written under a `for<'..>` binder, which makes rustc treat it as a condition of
/// the impl rather than reject a bound on a concrete type that does not hold.
fn trait_impls(new: &Ident, fields: &[&Field]) -> TokenStream {
    let idents: Vec<&Ident> = fields.iter().map(|f| f.ident).collect();
    let names: Vec<String> = idents
        .iter()
        .map(|i| i.to_string().trim_start_matches("r#").to_owned())
        .collect();
    let name = new.to_string();
    let bounds = |bound: TokenStream| {
        let tys = fields.iter().map(|f| f.ty);
        (!fields.is_empty()).then(|| quote!(where #(for<'__repo> #tys: #bound,)*))
    };
    let eq = if fields.is_empty() {
        quote!(true)
    } else {
        quote!(#(::core::cmp::PartialEq::eq(&self.#idents, &other.#idents))&&*)
    };
    let debug = bounds(quote!(::core::fmt::Debug));
    let clone = bounds(quote!(::core::clone::Clone));
    let partial_eq = bounds(quote!(::core::cmp::PartialEq));
    quote! {
        #[automatically_derived]
        impl ::core::fmt::Debug for #new #debug {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(#name)
                    #(.field(#names, &self.#idents))*
                    .finish()
            }
        }

        #[automatically_derived]
        impl ::core::clone::Clone for #new #clone {
            fn clone(&self) -> Self {
                Self { #(#idents: ::core::clone::Clone::clone(&self.#idents),)* }
            }
        }

        #[automatically_derived]
        impl ::core::cmp::PartialEq for #new #partial_eq {
            fn eq(&self, other: &Self) -> bool {
                #eq
            }
        }
    }
}

fn describe(entity: &Entity) -> String {
    let names = |role: &dyn Fn(&Field) -> bool| -> Vec<String> {
        entity
            .fields
            .iter()
            .filter(|f| generated(f) && role(f))
            .map(|f| format!("`{}`", f.ident.to_string().trim_start_matches("r#")))
            .collect()
    };
    let key = names(&|f| f.role == Role::PrimaryKey);
    // Timestamps, the version (new rows start at 0) and the soft-delete column (empty).
    let managed = names(&|f| f.role != Role::PrimaryKey);
    let mut parts = Vec::new();
    if let [key] = key.as_slice() {
        parts.push(format!("the key {key}, which the database generates"));
    }
    match managed.as_slice() {
        [] => {}
        [one] => parts.push(format!("{one}, which the repository sets")),
        [init @ .., last] => parts.push(format!(
            "{} and {last}, which the repository sets",
            init.join(", ")
        )),
    }
    if parts.is_empty() {
        "every field, since the application sets them all".to_owned()
    } else {
        format!("every field but {}", parts.join(", and "))
    }
}

pub fn expand(model: &Entity, new: &Ident) -> TokenStream {
    let entity = model.ident;
    let vis = model.vis;
    let doc = format!(
        "A new [`{entity}`] to insert with \
         [`insert_new`](::repo_core::BaseRepository::insert_new): {}. It implements `Debug`, \
         `Clone` and `PartialEq` when its field types do.",
        describe(model)
    );
    let fields: Vec<&Field> = model.fields.iter().filter(|f| !generated(f)).collect();
    let declarations = fields.iter().map(|f| {
        let docs = f.attrs.iter().filter(|a| a.path().is_ident("doc"));
        let (vis, ident, ty) = (f.vis, f.ident, f.ty);
        quote!(#(#docs)* #vis #ident: #ty)
    });
    let impls = trait_impls(new, &fields);
    quote! {
        #[doc = #doc]
        // A private entity need not insert through its input type.
        #[allow(dead_code)]
        #vis struct #new {
            #(#declarations,)*
        }

        #impls
    }
}
