//! The rule of a custom query's row: each column read by one field.

use crate::ast::Row;
use crate::ctxt::Ctxt;

/// No two fields of a row read one column.
pub fn row(cx: &Ctxt, model: &Row) {
    for (i, field) in model.fields.iter().enumerate() {
        let Some(other) = model.fields[..i].iter().find(|f| f.column == field.column) else {
            continue;
        };
        let at: &dyn quote::ToTokens = match &field.repo.column {
            Some(lit) => lit,
            None => field.ident,
        };
        cx.error_spanned_by(
            at,
            format!(
                "fields `{}` and `{}` both read column `{}`; give one #[repo(column = \"...\")]",
                other.ident, field.ident, field.column
            ),
        );
    }
}
