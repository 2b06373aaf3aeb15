//! The row model of `#[derive(FromRow)]`: each field and the column it reads.

use syn::{Data, DeriveInput, Fields, Ident, Type};

use super::{column_name, not_a_struct};
use crate::attr::{self, RowFieldAttrs};
use crate::ctxt::Ctxt;

/// A field of a row and the column it reads.
pub struct RowField<'a> {
    pub ident: &'a Ident,
    pub ty: &'a Type,
    pub column: String,
    pub json: bool,
    /// The field's `#[repo(...)]` as written.
    pub repo: RowFieldAttrs,
}

/// A struct deriving `FromRow`.
pub struct Row<'a> {
    pub ident: &'a Ident,
    pub generics: &'a syn::Generics,
    pub fields: Vec<RowField<'a>>,
}

/// The row `input` declares; `None` (after reporting why) when it is no struct with named
/// fields.
pub fn row<'a>(cx: &Ctxt, input: &'a DeriveInput) -> Option<Row<'a>> {
    let fields = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(fields) => &fields.named,
            Fields::Unnamed(fields) => {
                cx.error_spanned_by(
                    fields,
                    "#[derive(FromRow)] needs named fields: each field is read from the column of its name; decode by position into a tuple instead",
                );
                return None;
            }
            Fields::Unit => {
                cx.error_spanned_by(
                    &input.ident,
                    "#[derive(FromRow)] needs named fields: a unit struct reads no column",
                );
                return None;
            }
        },
        Data::Enum(_) => {
            not_a_struct(cx, input, "FromRow", "structs with named fields, not enums");
            return None;
        }
        Data::Union(_) => {
            not_a_struct(
                cx,
                input,
                "FromRow",
                "structs with named fields, not unions",
            );
            return None;
        }
    };
    let fields = fields
        .iter()
        .map(|field| {
            let repo = attr::row_field_attrs(cx, &field.attrs);
            let ident = field.ident.as_ref().expect("named fields have names");
            RowField {
                ident,
                ty: &field.ty,
                column: column_name(ident, repo.column.as_ref()),
                json: repo.json.is_some(),
                repo,
            }
        })
        .collect();
    Some(Row {
        ident: &input.ident,
        generics: &input.generics,
        fields,
    })
}
