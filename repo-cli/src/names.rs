//! Rust names for database names: `snake_case` fields and modules, `UpperCamelCase` types and
//! variants, never a keyword, never twice in one scope.

use std::collections::BTreeSet;

use heck::{ToSnakeCase as _, ToUpperCamelCase as _};

/// Rust's keywords, strict and reserved (2024 edition), which no generated name may be.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "Self", "static", "struct", "super", "trait", "true", "try", "type",
    "typeof", "union", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Names already given in one scope.
#[derive(Debug, Default)]
pub(crate) struct Scope(BTreeSet<String>);

impl Scope {
    /// Take `name`, or `name` with the first free number after it (`name2`, `name3`, ...;
    /// `name_2` for a `snake_case` name).
    pub(crate) fn take(&mut self, name: &str) -> String {
        let mut candidate = name.to_owned();
        let separator = if name.chars().any(char::is_uppercase) {
            ""
        } else {
            "_"
        };
        let mut n = 2;
        while self.0.contains(&candidate) {
            candidate = format!("{name}{separator}{n}");
            n += 1;
        }
        self.0.insert(candidate.clone());
        candidate
    }

    /// Mark `name` as given.
    pub(crate) fn reserve(&mut self, name: &str) {
        self.0.insert(name.to_owned());
    }
}

/// A `snake_case` identifier for `name` (a column or table): `name` itself when it already is
/// one, else its words joined by `_`; `x` + it when it starts with a digit, `it_` when it is
/// a keyword.
pub(crate) fn snake(name: &str) -> String {
    let name = if is_snake_identifier(name) {
        name.to_owned()
    } else {
        identifier_chars(&name.to_snake_case(), '_')
    };
    fix(&name, "x", "_")
}

/// An `UpperCamelCase` identifier for `name` (a table, an enum type or label).
pub(crate) fn camel(name: &str) -> String {
    let words = identifier_chars(name, ' ');
    fix(&words.to_upper_camel_case(), "V", "_")
}

/// Whether `name` is what [`snake`] would keep as it is.
pub(crate) fn is_snake_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name != "_"
        && !KEYWORDS.contains(&name)
}

/// `name` with every character that cannot be in an identifier made `replacement`.
fn identifier_chars(name: &str, replacement: char) -> String {
    name.chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '_' {
                c
            } else {
                replacement
            }
        })
        .collect()
}

/// `name` made a usable identifier: `prefix` before a leading digit, `suffix` after a keyword,
/// `prefix` alone for nothing.
fn fix(name: &str, prefix: &str, suffix: &str) -> String {
    let name = name.trim_matches('_').to_owned();
    if name.is_empty() {
        prefix.to_owned() + "x"
    } else if name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("{prefix}{name}")
    } else if KEYWORDS.contains(&name.as_str()) {
        format!("{name}{suffix}")
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_database_names() {
        assert_eq!(snake("film_id"), "film_id");
        assert_eq!(snake("FirstName"), "first_name");
        assert_eq!(snake("type"), "type_");
        assert_eq!(snake("2fa code"), "x2fa_code");
        assert_eq!(snake("Order Total"), "order_total");
        assert_eq!(camel("film_actor"), "FilmActor");
        assert_eq!(camel("PG-13"), "Pg13");
        assert_eq!(camel("NC-17"), "Nc17");
        assert_eq!(camel("G"), "G");
        assert_eq!(camel("13+"), "V13");
        assert_eq!(camel("self"), "Self_");
        assert_eq!(camel("--"), "Vx");
    }

    #[test]
    fn scopes_number_repeated_names() {
        let mut scope = Scope::default();
        assert_eq!(scope.take("film"), "film");
        assert_eq!(scope.take("film"), "film_2");
        let mut types = Scope::default();
        assert_eq!(types.take("Film"), "Film");
        assert_eq!(types.take("Film"), "Film2");
    }
}
