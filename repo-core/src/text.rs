//! Text matching on `String` columns: `like`, `ilike`, and literal `contains`,
//! `starts_with`, `ends_with`, the same on every backend.
//!
//! Patterns use `\` as the escape character. One that ends in a lone `\` (an escape with
//! nothing after it, such as `like("C:\\")`) matches a literal backslash there, on every
//! backend: the framework escapes that backslash before sending the pattern, where PostgreSQL
//! would refuse the statement, SQLite match no row and MariaDB take the backslash literally.

use sea_query::{Expr, ExprTrait as _, IntoCondition as _};

use crate::dialect::custom;
use crate::filter::{Column, Filter, escape_like};

impl<E> Column<E, String> {
    /// `column LIKE pattern`, case-sensitive on every backend: `%` matches any run of
    /// characters, `_` one character, and `\` makes the next character literal (`\%`). A
    /// lone `\` at the end of the pattern matches a backslash (`r"C:\"` matches `C:\`).
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
    /// every letter; SQLite only ASCII letters). The pattern reads as in
    /// [`like`](Column::like), a lone `\` at its end included.
    #[must_use]
    pub fn ilike(self, pattern: impl Into<String>) -> Filter<E> {
        let (column, pattern) = (self.name(), close_dangling_escape(pattern.into()));
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
    expr.like(sea_query::LikeExpr::new(close_dangling_escape(pattern)).escape('\\'))
}

/// `pattern` with a lone trailing escape character escaped, so it matches a backslash on every
/// backend. The trailing run of backslashes is read in pairs (`\\` is one literal backslash):
/// an odd run ends in a lone one.
fn close_dangling_escape(mut pattern: String) -> String {
    let run = pattern.bytes().rev().take_while(|&b| b == b'\\').count();
    if run % 2 == 1 {
        pattern.push('\\');
    }
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lone_trailing_escape_is_escaped() {
        assert_eq!(close_dangling_escape(r"C:\".into()), r"C:\\");
        assert_eq!(close_dangling_escape(r"C:\\\".into()), r"C:\\\\");
        assert_eq!(close_dangling_escape(r"\".into()), r"\\");
        // Already complete: an escaped backslash, an escaped `%`, no escape at all.
        assert_eq!(close_dangling_escape(r"C:\\".into()), r"C:\\");
        assert_eq!(close_dangling_escape(r"50\%".into()), r"50\%");
        assert_eq!(close_dangling_escape("a%".into()), "a%");
        assert_eq!(close_dangling_escape(String::new()), "");
    }

    #[test]
    fn escaped_text_never_dangles() {
        for text in [r"C:\", r"\\", r"%\_\", ""] {
            let escaped = escape_like(text);
            assert_eq!(close_dangling_escape(escaped.clone()), escaped);
        }
    }
}
