//! The names a SQLite schema gives its constraints.
//!
//! SQLite reports a unique violation by its columns (`UNIQUE constraint failed: t.a, t.b`) and
//! a foreign-key violation by nothing at all, while PostgreSQL reports the constraint's name.
//! To report the same thing everywhere, the name is looked up in the schema when such an error
//! happens: a `CREATE UNIQUE INDEX` name, else a `CONSTRAINT name` clause of the table, else
//! the name PostgreSQL would have given the constraint (`{table}_{columns}_key`, `_pkey`,
//! `_fkey`).

use crate::error::Error;
use crate::exec::{Conn, Statement};

/// A token of a `CREATE TABLE` statement: an identifier (unquoted), or punctuation.
#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    Open,
    Close,
    Comma,
    Other,
}

fn tokens(sql: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '(' => out.push(Token::Open),
            ')' => out.push(Token::Close),
            ',' => out.push(Token::Comma),
            '"' | '`' | '[' | '\'' => {
                let end = if c == '[' { ']' } else { c };
                let mut word = String::new();
                while let Some(next) = chars.next() {
                    if next == end {
                        if chars.peek() == Some(&end) && end != ']' {
                            word.push(end);
                            chars.next();
                            continue;
                        }
                        break;
                    }
                    word.push(next);
                }
                out.push(if c == '\'' {
                    Token::Other
                } else {
                    Token::Word(word)
                });
            }
            c if c.is_alphanumeric() || c == '_' => {
                let mut word = String::from(c);
                while let Some(&next) = chars.peek() {
                    if next.is_alphanumeric() || next == '_' || next == '$' {
                        word.push(next);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push(Token::Word(word));
            }
            c if c.is_whitespace() => {}
            _ => out.push(Token::Other),
        }
    }
    out
}

fn is(token: Option<&Token>, keyword: &str) -> bool {
    matches!(token, Some(Token::Word(w)) if w.eq_ignore_ascii_case(keyword))
}

/// What a named constraint of a table covers.
#[derive(Debug, PartialEq)]
struct Named {
    name: String,
    kind: &'static str,
    columns: Vec<String>,
}

/// The named constraints (`CONSTRAINT name UNIQUE|PRIMARY KEY|FOREIGN KEY|REFERENCES …`) of a
/// `CREATE TABLE` statement, table-level and column-level.
fn named_constraints(create_table: &str) -> Vec<Named> {
    let tokens = tokens(create_table);
    let mut found = Vec::new();
    let mut depth = 0;
    let mut definition_start: Option<String> = None;
    let mut expect_definition = false;
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            Token::Open => {
                depth += 1;
                if depth == 1 {
                    expect_definition = true;
                }
            }
            Token::Close => depth -= 1,
            Token::Comma if depth == 1 => expect_definition = true,
            Token::Word(word) if depth == 1 => {
                if expect_definition {
                    definition_start = Some(word.clone());
                    expect_definition = false;
                }
                if word.eq_ignore_ascii_case("CONSTRAINT")
                    && let Some(Token::Word(name)) = tokens.get(i + 1)
                {
                    let mut j = i + 2;
                    let kind = if is(tokens.get(j), "UNIQUE") {
                        j += 1;
                        "unique"
                    } else if is(tokens.get(j), "PRIMARY") {
                        j += 2;
                        "primary"
                    } else if is(tokens.get(j), "FOREIGN") {
                        j += 2;
                        "foreign"
                    } else if is(tokens.get(j), "REFERENCES") {
                        "foreign"
                    } else {
                        i += 1;
                        continue;
                    };
                    let table_level = definition_start
                        .as_deref()
                        .is_some_and(|d| d.eq_ignore_ascii_case("CONSTRAINT"));
                    let columns = if table_level && tokens.get(j) == Some(&Token::Open) {
                        tokens[j + 1..]
                            .iter()
                            .take_while(|t| **t != Token::Close)
                            .filter_map(|t| match t {
                                Token::Word(w) => Some(w.clone()),
                                _ => None,
                            })
                            .collect()
                    } else {
                        definition_start.clone().into_iter().collect()
                    };
                    found.push(Named {
                        name: name.clone(),
                        kind,
                        columns,
                    });
                }
            }
            _ => {}
        }
        i += 1;
    }
    found
}

/// Give a SQLite constraint error of `table` the name the schema uses.
pub(crate) async fn name_sqlite_constraint(conn: &Conn<'_>, table: &str, error: Error) -> Error {
    match error {
        Error::Conflict {
            entity,
            constraint,
            source,
        } => {
            let columns = match &source {
                sqlx::Error::Database(db) => crate::schema::unique_columns(db.message()),
                _ => Vec::new(),
            };
            let constraint = unique_name(conn, table, &columns)
                .await
                .unwrap_or(constraint);
            Error::Conflict {
                entity,
                constraint,
                source,
            }
        }
        Error::ForeignKey {
            entity,
            constraint: None,
            source,
        } => Error::ForeignKey {
            entity,
            constraint: foreign_key_name(conn, table).await,
            source,
        },
        other => other,
    }
}

async fn schema_sql(conn: &Conn<'_>, table: &str) -> Option<String> {
    let row = conn
        .fetch_optional(Statement::new(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
            vec![table.into()],
        ))
        .await
        .ok()??;
    row.try_get::<String>(0).ok()
}

async fn unique_name(conn: &Conn<'_>, table: &str, columns: &[String]) -> Option<String> {
    // A unique index created on its own carries the name the schema gave it.
    let indexes = conn
        .fetch_all(Statement::new(
            "SELECT il.name, il.origin, \
             (SELECT group_concat(ii.name, ',') FROM \
               (SELECT name FROM pragma_index_info(il.name) ORDER BY seqno) ii) \
             FROM pragma_index_list(?) il WHERE il.\"unique\" = 1",
            vec![table.into()],
        ))
        .await
        .ok()?;
    let wanted = columns.join(",");
    let mut origin = None;
    for row in &indexes {
        let (name, kind, cols): (String, String, Option<String>) = (
            row.try_get(0).ok()?,
            row.try_get(1).ok()?,
            row.try_get(2).ok()?,
        );
        if cols.as_deref() == Some(wanted.as_str()) {
            if kind == "c" {
                return Some(name);
            }
            origin = Some(kind);
        }
    }
    let sql = schema_sql(conn, table).await?;
    let kind = if origin.as_deref() == Some("pk") {
        "primary"
    } else {
        "unique"
    };
    let named = named_constraints(&sql)
        .into_iter()
        .find(|n| n.kind == kind && n.columns.join(",") == wanted);
    Some(named.map_or_else(
        || {
            let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
            if kind == "primary" {
                crate::schema::primary_key_name(table)
            } else {
                crate::schema::unique_key_name(table, &columns)
            }
        },
        |n| n.name,
    ))
}

async fn foreign_key_name(conn: &Conn<'_>, table: &str) -> Option<String> {
    let keys = conn
        .fetch_all(Statement::new(
            "SELECT DISTINCT id, \"from\" FROM pragma_foreign_key_list(?)",
            vec![table.into()],
        ))
        .await
        .ok()?;
    let ids: std::collections::BTreeSet<i64> =
        keys.iter().filter_map(|r| r.try_get(0).ok()).collect();
    // Which of several foreign keys failed, SQLite does not say.
    if ids.len() != 1 {
        return None;
    }
    let columns: Vec<String> = keys.iter().filter_map(|r| r.try_get(1).ok()).collect();
    let sql = schema_sql(conn, table).await?;
    let named = named_constraints(&sql)
        .into_iter()
        .find(|n| n.kind == "foreign" && n.columns == columns);
    Some(named.map_or_else(|| format!("{table}_{}_fkey", columns.join("_")), |n| n.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_table_and_column_level_constraint_names() {
        let sql = r#"CREATE TABLE "books" (
            id integer CONSTRAINT books_id_pk PRIMARY KEY,
            isbn text NOT NULL CONSTRAINT "isbn unique" UNIQUE,
            shelf_id integer CONSTRAINT book_shelf REFERENCES shelves (id),
            a text, b text DEFAULT 'x, CONSTRAINT fake UNIQUE',
            CONSTRAINT books_a_b UNIQUE (a, "b"),
            CONSTRAINT books_check CHECK (length(a) > 0)
        )"#;
        let found = named_constraints(sql);
        let summary: Vec<(&str, &str, Vec<&str>)> = found
            .iter()
            .map(|n| {
                (
                    n.name.as_str(),
                    n.kind,
                    n.columns.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("books_id_pk", "primary", vec!["id"]),
                ("isbn unique", "unique", vec!["isbn"]),
                ("book_shelf", "foreign", vec!["shelf_id"]),
                ("books_a_b", "unique", vec!["a", "b"]),
            ]
        );
    }
}
