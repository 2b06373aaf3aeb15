//! SQL text as MariaDB spells it, where sea-query's MySQL builder writes something else: pure
//! text rewriting, compiled whether or not the `mysql` feature is (statements render for every
//! backend).

/// The collation of text in the generated schema (tables, and databases it creates): bytes
/// compared as they are, NO PAD, so trailing spaces count (`'k0' <> 'k0 '`, `'' <> ' '`) in
/// equality, unique keys and `IN` as on PostgreSQL and SQLite. `utf8mb4_bin` compares bytes
/// too, but is PAD SPACE: `'k0' = 'k0 '`, and a unique key refuses the second.
pub(crate) const COLLATION: &str = "utf8mb4_nopad_bin";

/// DDL as the MySQL builder wrote it, with the `IF NOT EXISTS` it leaves out of `CREATE
/// INDEX` (MariaDB reads it).
pub(crate) fn if_not_exists(ddl: String) -> String {
    for prefix in ["CREATE INDEX ", "CREATE UNIQUE INDEX "] {
        if let Some(rest) = ddl.strip_prefix(prefix)
            && !rest.starts_with("IF NOT EXISTS")
        {
            return format!("{prefix}IF NOT EXISTS {rest}");
        }
    }
    ddl
}

/// `sql` with the `RETURNING` clause sea-query's MySQL builder leaves out of every statement,
/// taken from the statement as `standard` renders it (its identifiers in double quotes, which
/// the session reads as identifiers): MariaDB has `INSERT … RETURNING` and `DELETE …
/// RETURNING`, and an `UPDATE … RETURNING` then fails loudly instead of returning nothing.
pub(crate) fn with_returning(sql: String, standard: impl FnOnce() -> String) -> String {
    let writes = ["INSERT ", "DELETE ", "UPDATE ", "REPLACE "]
        .iter()
        .any(|verb| sql.starts_with(verb));
    if !writes {
        return sql;
    }
    let standard = standard();
    match standard.rfind(" RETURNING ") {
        Some(at) => sql + &standard[at..],
        None => sql,
    }
}

/// Cast targets in standard SQL and MariaDB's names for them.
const CAST_TYPES: [(&str, &str); 5] = [
    ("BIGINT", "SIGNED"),
    ("INTEGER", "SIGNED"),
    ("DOUBLE PRECISION", "DOUBLE"),
    ("REAL", "DOUBLE"),
    ("TEXT", "CHAR"),
];

/// SQL as the MySQL builder wrote it, with the cast targets MariaDB spells differently
/// (`CAST(x AS BIGINT)` is `CAST(x AS SIGNED)` there): the aggregates cast to `BIGINT` and
/// `DOUBLE PRECISION`, and custom queries written for the other backends read the same.
pub(crate) fn cast_types(sql: String) -> String {
    if !sql.contains(" AS ") && !sql.contains(" as ") {
        return sql;
    }
    let mut sql = sql;
    for (standard, mariadb) in CAST_TYPES {
        for spelling in [standard.to_owned(), standard.to_lowercase()] {
            let pattern = format!(" AS {spelling})");
            if sql.contains(&pattern) {
                sql = sql.replace(&pattern, &format!(" AS {mariadb})"));
            }
        }
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spells_cast_types_as_mariadb_does() {
        assert_eq!(
            cast_types(
                "SELECT CAST(SUM(`a`) AS BIGINT), CAST(AVG(`a`) AS DOUBLE PRECISION), \
                 CAST(`b` AS text), `c` AS text"
                    .into()
            ),
            "SELECT CAST(SUM(`a`) AS SIGNED), CAST(AVG(`a`) AS DOUBLE), CAST(`b` AS CHAR), \
             `c` AS text"
        );
    }
}
