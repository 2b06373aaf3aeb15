//! The input type of new entities, `NewX`: every field of the entity but those the database
//! or the repository sets on insert (a generated key, timestamps, the version, which starts at
//! 0, and the soft-delete column, which starts empty).

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::ext::IdentExt as _;
use syn::{Ident, Visibility};

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
        impl ::core::fmt::Debug for __RepoNew #debug {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(#name)
                    #(.field(#names, &self.#idents))*
                    .finish()
            }
        }

        #[automatically_derived]
        impl ::core::clone::Clone for __RepoNew #clone {
            fn clone(&self) -> Self {
                Self { #(#idents: ::core::clone::Clone::clone(&self.#idents),)* }
            }
        }

        #[automatically_derived]
        impl ::core::cmp::PartialEq for __RepoNew #partial_eq {
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

/// What `#[derive(Repository)]` generates for the input type `NewX`.
pub struct NewCode {
    /// Items in the entity's scope: the struct, and where it is compiled (not documented) the
    /// module holding it and the glob import that names it.
    pub items: TokenStream,
    /// Items and checks for the derive's `const _` block, where `__RepoNew` names the type.
    pub in_const: TokenStream,
    /// `Entity::New` as compiled: the type's path through its module.
    pub path: TokenStream,
    /// `Entity::New` as documented: the type's name.
    pub doc_path: TokenStream,
}

/// `vis` for an item one module further in than the entity: the same places see it.
fn one_module_in(vis: &Visibility) -> TokenStream {
    match vis {
        Visibility::Public(_) => quote!(#vis),
        Visibility::Inherited => quote!(pub(super)),
        Visibility::Restricted(restricted) => {
            let path = &restricted.path;
            let first = path.segments.first().map(|s| s.ident.to_string());
            match first.as_deref() {
                Some("crate") => quote!(#vis),
                Some("self") => {
                    let rest = path.segments.iter().skip(1);
                    quote!(pub(in super #(::#rest)*))
                }
                _ => quote!(pub(in super::#path)),
            }
        }
    }
}

/// The input type `NewX`, generated so that a type of that name the crate has already wins and
/// the derive reports one error naming `new = "..."` and `no_new`, instead of rustc's
/// "defined multiple times" and a follow-up error per field.
///
/// Two items of one name in one scope always collide, but an item silently shadows a glob
/// import. So `NewX` is defined in a hidden module beside the entity and named by a glob import
/// of that module; the derive's own code names it by the module's path, and a trait check on
/// the bare name `NewX` fails, with the message, exactly when it names another type. A module
/// does not see the items of a function body the entity may be declared in, so the struct's
/// field types are projections through a marker type of the module, resolved by impls written
/// beside the entity, where every field type is in scope. Rustdoc gets the plain struct
/// instead (`cfg(doc)`): its page shows the field types as written.
pub fn expand(model: &Entity, new: &Ident) -> NewCode {
    let p: TokenStream = "::repo_core::__private".parse().expect("valid path");
    let entity = model.ident;
    let vis = model.vis;
    let doc = format!(
        "A new [`{entity}`] to insert with \
         [`insert_new`](::repo_core::BaseRepository::insert_new): {}. It implements `Debug`, \
         `Clone` and `PartialEq` when its field types do.",
        describe(model)
    );
    let fields: Vec<&Field> = model.fields.iter().filter(|f| !generated(f)).collect();
    let docs: Vec<Vec<&syn::Attribute>> = fields
        .iter()
        .map(|f| {
            f.attrs
                .iter()
                .filter(|a| a.path().is_ident("doc"))
                .collect()
        })
        .collect();
    let idents: Vec<&Ident> = fields.iter().map(|f| f.ident).collect();
    let tys: Vec<&syn::Type> = fields.iter().map(|f| f.ty).collect();
    let field_vis: Vec<&Visibility> = fields.iter().map(|f| f.vis).collect();
    let inner_vis: Vec<TokenStream> = field_vis.iter().map(|v| one_module_in(v)).collect();
    let indexes: Vec<usize> = (0..fields.len()).collect();
    let module = format_ident!("__repo_new_{}", entity.unraw());
    let marker = format_ident!("__{}Fields", new.unraw());
    let struct_vis = one_module_in(vis);

    let items = quote! {
        #[cfg(doc)]
        #[doc = #doc]
        // A private entity need not insert through its input type.
        #[allow(dead_code)]
        #vis struct #new {
            #(#(#docs)* #field_vis #idents: #tys,)*
        }

        #[cfg(not(doc))]
        #[doc(hidden)]
        #[allow(non_snake_case, unreachable_pub)]
        mod #module {
            #[doc = #doc]
            // The marker in the field types is only as visible as the entity's module.
            #[allow(dead_code, private_interfaces)]
            #struct_vis struct #new {
                #(#(#docs)* #inner_vis #idents: <#marker as #p::NewField<#indexes>>::Type,)*
            }

            #[doc(hidden)]
            #[allow(dead_code)]
            pub(super) struct #marker;
        }

        #[cfg(not(doc))]
        #[allow(unused_imports)]
        #vis use #module::*;
    };

    let name = new.to_string();
    let suggestion = if name == format!("Create{entity}") {
        format!("Insert{entity}")
    } else {
        format!("Create{entity}")
    };
    let message = format!(
        "a type `{name}` exists here already, so `#[derive(Repository)]` cannot give that name \
         to the input type of `{entity}`"
    );
    let label = format!("`{name}` is taken in this scope");
    let note = format!(
        "rename the generated type with #[repo(new = \"{suggestion}\")] (or any free name), or \
         go without it with #[repo(no_new)]: `insert_new` then takes `{entity}` itself"
    );
    let impls = trait_impls(new, &fields);
    let in_const = quote! {
        #[cfg(doc)]
        type __RepoNew = #new;
        #[cfg(not(doc))]
        type __RepoNew = #module::#new;

        #(
            #[cfg(not(doc))]
            impl #p::NewField<#indexes> for #module::#marker {
                type Type = #tys;
            }
        )*

        // Fails, with the hint, when `NewX` here names a type of the crate's own.
        #[cfg(not(doc))]
        #[diagnostic::on_unimplemented(message = #message, label = #label, note = #note)]
        trait GeneratedInputType {
            const CHECK: () = ();
        }
        #[cfg(not(doc))]
        #[diagnostic::do_not_recommend]
        impl GeneratedInputType for __RepoNew {}
        #[cfg(not(doc))]
        let () = <#new as GeneratedInputType>::CHECK;

        #impls
    };
    NewCode {
        items,
        in_const,
        path: quote!(#module::#new),
        doc_path: quote!(#new),
    }
}
