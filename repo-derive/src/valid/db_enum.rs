//! The rules of a stored enum: a known `rename_all` rule, at least one variant, distinct
//! labels.

use crate::ast::{Enum, RENAME_RULES};
use crate::attr::closest;
use crate::ctxt::Ctxt;

/// A stored enum names a known `rename_all` rule, has variants, and no two share a label.
pub fn db_enum(cx: &Ctxt, model: &Enum) {
    if let Some(rule) = &model.repo.rename_all
        && !RENAME_RULES.contains(&rule.value().as_str())
    {
        let name = rule.value();
        cx.error_spanned_by(
            rule,
            match closest(&name, RENAME_RULES) {
                Some(meant) => format!("unknown rename_all rule `{name}`; did you mean `{meant}`?"),
                None => format!(
                    "unknown rename_all rule `{name}`; expected one of: {}",
                    RENAME_RULES.join(", ")
                ),
            },
        );
    }
    if model.variants.is_empty() {
        cx.error_spanned_by(
            model.ident,
            "#[derive(DbEnum)] needs at least one variant: a column of this type could hold no value",
        );
        return;
    }
    for (i, variant) in model.variants.iter().enumerate() {
        let Some(other) = model.variants[..i]
            .iter()
            .find(|v| v.label == variant.label)
        else {
            continue;
        };
        let at: &dyn quote::ToTokens = match &variant.repo.rename {
            Some(lit) => lit,
            None => variant.ident,
        };
        cx.error_spanned_by(
            at,
            format!(
                "variant `{}` is stored as `{}`, like variant `{}`; give one #[repo(rename = \"...\")]",
                variant.ident, variant.label, other.ident
            ),
        );
    }
}
