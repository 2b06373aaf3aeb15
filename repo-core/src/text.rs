//! Text matching on `String` columns: `like`, `ilike`, and literal `contains`,
//! `starts_with`, `ends_with`, the same on every backend.

use sea_query::{Expr, ExprTrait as _, IntoCondition as _};

use crate::filter::{Column, Filter, custom};

/// Escape `%`, `_` and `\` so `text` matches itself in a `LIKE … ESCAPE '\'` pattern.
#[must_use]
pub fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

impl<E> Column<E, String> {
    /// `column LIKE pattern`, case-sensitive on every backend: `%` matches any run of
    /// characters, `_` one character, and `\` makes the next character literal (`\%`).
    #[must_use]
    pub fn like(self, pattern: impl Into<String>) -> Filter<E> {
        Filter::from_condition(like(self.expr(), pattern.into()))
    }

    /// Every row whose value does not match `pattern` (as [`like`](Column::like)), including
    /// rows holding NULL.
    #[must_use]
    pub fn not_like(self, pattern: impl Into<String>) -> Filter<E> {
        self.like(pattern).not()
    }

    /// `column LIKE pattern` ignoring case: both sides are lower-cased (PostgreSQL lower-cases
    /// every letter; SQLite only ASCII letters).
    #[must_use]
    pub fn ilike(self, pattern: impl Into<String>) -> Filter<E> {
        let (column, pattern) = (self.name(), pattern.into());
        Filter::rendered(move |backend| {
            custom(
                backend,
                &format!(
                    "LOWER($1) LIKE LOWER($2) ESCAPE {}",
                    backend.string_literal("\\")
                ),
                [Expr::col(column), Expr::val(pattern.clone())],
            )
            .into_condition()
        })
    }

    /// Values containing `text` literally (`%`, `_` and `\` in it have no special meaning).
    #[must_use]
    pub fn contains(self, text: &str) -> Filter<E> {
        self.like(format!("%{}%", escape_like(text)))
    }

    /// Values starting with `text` literally.
    #[must_use]
    pub fn starts_with(self, text: &str) -> Filter<E> {
        self.like(format!("{}%", escape_like(text)))
    }

    /// Values ending with `text` literally.
    #[must_use]
    pub fn ends_with(self, text: &str) -> Filter<E> {
        self.like(format!("%{}", escape_like(text)))
    }
}

fn like(expr: Expr, pattern: String) -> Expr {
    expr.like(sea_query::LikeExpr::new(pattern).escape('\\'))
}
