//! The row model of `#[derive(FromRow)]`, checked across fields.

use syn::{Data, DeriveInput, Fields, Ident, Type};

use super::not_a_struct;
use crate::attr;
use crate::ctxt::Ctxt;

pub struct RowField<'a> {
    pub ident: &'a Ident,
    pub ty: &'a Type,
    pub column: String,
    pub json: bool,
}

pub struct Row<'a> {
    pub ident: &'a Ident,
    pub generics: &'a syn::Generics,
    pub fields: Vec<RowField<'a>>,
}

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
    let mut out: Vec<RowField> = Vec::new();
    for field in fields {
        let attrs = attr::row_field_attrs(cx, &field.attrs);
        let ident = field.ident.as_ref().expect("named fields have names");
        let column = attrs.column.as_ref().map_or_else(
            || ident.to_string().trim_start_matches("r#").to_owned(),
            syn::LitStr::value,
        );
        if let Some(other) = out.iter().find(|f| f.column == column) {
            let at: &dyn quote::ToTokens = match &attrs.column {
                Some(lit) => lit,
                None => ident,
            };
            cx.error_spanned_by(
                at,
                format!(
                    "fields `{}` and `{ident}` both read column `{column}`; give one #[repo(column = \"...\")]",
                    other.ident
                ),
            );
        }
        out.push(RowField {
            ident,
            ty: &field.ty,
            column,
            json: attrs.json.is_some(),
        });
    }
    Some(Row {
        ident: &input.ident,
        generics: &input.generics,
        fields: out,
    })
}
