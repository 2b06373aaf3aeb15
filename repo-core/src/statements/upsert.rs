//! Upserts where the backend writes them `ON DUPLICATE KEY UPDATE`, made to mean what they
//! mean elsewhere: conflicts resolve on the declared key only.

use sea_query::Expr;

use crate::dialect::Backend;
use crate::entity::Entity;

/// Where an upsert is `ON DUPLICATE KEY UPDATE`, a clash on any unique key updates the row it
/// clashes with, not only a clash on the declared conflict key. Other backends refuse the
/// other clashes; so does this guard, written first in the update list: it keeps the primary
/// key when the existing row has the incoming conflict key, and otherwise sets it to NULL,
/// which fails the statement (NOT NULL on the primary key) and writes nothing. A generated
/// key is set to [`REFUSED`] instead: MariaDB stores a NULL assigned to an `AUTO_INCREMENT`
/// column here as 0, without an error, so the clashing row would be updated (and renumbered).
/// `None` when the conflict key is the only key an incoming row can clash on.
pub(crate) fn duplicate_key_guard<E: Entity>(
    backend: Backend,
    key: &[&'static str],
) -> Option<Expr> {
    if backend.capabilities().upsert != crate::dialect::UpsertSyntax::OnDuplicateKey {
        return None;
    }
    let pk_can_clash = E::generated_key().is_none() && !E::is_primary_key(key);
    let other_unique_keys = E::UNIQUE_KEYS.iter().any(|unique| *unique != key);
    if !pk_can_clash && !other_unique_keys {
        return None;
    }
    let table = E::TABLE;
    // Qualified: in `INSERT … SELECT` a bare name could also be the selected row's column.
    let same_key: Vec<String> = key
        .iter()
        .map(|c| format!("\"{table}\".\"{c}\" <=> VALUES(\"{c}\")"))
        .collect();
    // The first key column stands for the key: NULL in any of them fails the statement.
    let refused = if E::generated_key().is_some() {
        format!("'{REFUSED}'")
    } else {
        "NULL".to_owned()
    };
    Some(Expr::cust(format!(
        "IF({}, \"{table}\".\"{}\", {refused})",
        same_key.join(" AND "),
        E::PRIMARY_KEY[0]
    )))
}

/// The text [`duplicate_key_guard`] assigns to a generated key to fail the statement: no
/// integer, so strict mode (which every session sets) refuses it, and the error quotes it.
pub(crate) const REFUSED: &str = "upsert refused: another unique key clashes";

/// Whether an upsert row binds its conflict key twice, first to look up the generated primary
/// key of the row that already has it (see [`resolve_conflict_key`]).
pub(crate) fn looks_up_generated_key<E: Entity>(backend: Backend) -> bool {
    let key = E::conflict_key().unwrap_or_default();
    backend.capabilities().upsert == crate::dialect::UpsertSyntax::OnDuplicateKey
        && E::generated_key().is_some()
        && !key.is_empty()
        && !E::is_primary_key(key)
}

/// The values an upsert row binds: [`insert_values`](super::insert_values), after the conflict
/// key's values where [`looks_up_generated_key`].
pub(crate) fn upsert_values<E: Entity>(
    backend: Backend,
    entity: &E,
    now: chrono::DateTime<chrono::Utc>,
    out: &mut Vec<sea_query::Value>,
) -> crate::error::Result<()> {
    let start = out.len();
    super::insert_values(entity, now, out)?;
    if looks_up_generated_key::<E>(backend) {
        let key = E::conflict_key().unwrap_or_default();
        for name in key {
            if let Some(index) = super::insert_columns::<E>().position(|c| c.name == *name) {
                out.push(out[start + index].clone());
            }
        }
        out[start..].rotate_right(key.len());
    }
    Ok(())
}

/// The values a bulk upsert row binds: [`insert_values`](super::insert_values), after a typed
/// NULL for the generated primary key where [`looks_up_generated_key`]: the bulk write names
/// there the key of the row that has the row's conflict key, read (and locked) before the
/// statement (see [`name_existing_keys`]).
pub(crate) fn bulk_upsert_values<E: Entity>(
    backend: Backend,
    entity: &E,
    now: chrono::DateTime<chrono::Utc>,
    out: &mut Vec<sea_query::Value>,
) -> crate::error::Result<()> {
    if let Some(pk) = E::generated_key().filter(|_| looks_up_generated_key::<E>(backend)) {
        out.push((pk.null_value)());
    }
    super::insert_values(entity, now, out)
}

/// How many values a bulk upsert row binds (see [`bulk_upsert_values`]).
pub(crate) fn bulk_upsert_width<E: Entity>(backend: Backend) -> usize {
    super::insert_columns::<E>().count() + usize::from(looks_up_generated_key::<E>(backend))
}

/// Where [`looks_up_generated_key`], put into `values` (rows from [`bulk_upsert_values`]) the
/// generated key of each row of `existing` (the stored rows the conflict keys of `chunk` met)
/// in front of the chunk's row with the same conflict key. A row left with NULL inserts, or,
/// if its key was stored since, updates that row through the statement's conflict clause.
pub(crate) fn name_existing_keys<E: Entity>(
    backend: Backend,
    values: &mut [sea_query::Value],
    chunk: &[&E],
    existing: &[E],
) -> crate::error::Result<()> {
    let width = bulk_upsert_width::<E>(backend);
    if existing.is_empty() {
        return Ok(());
    }
    let Some(pk) = E::generated_key()
        .filter(|_| looks_up_generated_key::<E>(backend))
        .and_then(|pk| E::column_index(pk.name))
    else {
        return Ok(());
    };
    let key: Vec<usize> = super::conflict_key::<E>()?
        .iter()
        .filter_map(|column| E::column_index(column))
        .collect();
    let key_of = |row: &E| -> crate::error::Result<Vec<sea_query::Value>> {
        key.iter().map(|&i| row.value_at(i)).collect()
    };
    let mut found = existing
        .iter()
        .map(|row| Ok((key_of(row)?, row.value_at(pk)?)))
        .collect::<crate::error::Result<Vec<_>>>()?;
    found.sort_by(|a, b| super::compare_keys(&a.0, &b.0));
    for (at, row) in chunk.iter().enumerate() {
        let wanted = key_of(row)?;
        if let Ok(i) = found.binary_search_by(|(key, _)| super::compare_keys(key, &wanted)) {
            values[at * width] = found[i].1.clone();
        }
    }
    Ok(())
}

/// An upsert's SQL where the conflict key is not the primary key, written so that `ON DUPLICATE
/// KEY` meets the primary key of the row that already has the incoming conflict key, if any.
/// Other SQL is returned as it is.
///
/// Where the primary key is supplied, this makes the conflict key decide, as it does elsewhere
/// (an existing row with that key is updated, whatever primary key the incoming row carries):
/// `INSERT … SELECT COALESCE((SELECT pk … WHERE key = v.key), v.pk), … FROM (SELECT ? AS a, …
/// UNION ALL SELECT …) AS v ON DUPLICATE KEY UPDATE …`.
///
/// Where the database generates it, each row names it, looked up by its conflict key (NULL for
/// a new row, which generates one): `INSERT INTO t (pk, …) VALUES ((SELECT pk … WHERE key = ?),
/// ?, …) ON DUPLICATE KEY UPDATE …`. Without it `InnoDB` inserts each existing row tentatively at
/// the end of the primary key, meets the conflict key, undoes the insert and keeps a gap lock
/// at the end of the table, on which concurrent upserts deadlock whatever order their rows are
/// in. `INSERT … SELECT` would hold the table's AUTO-INC lock to the end of the statement and
/// deadlock on that instead.
///
/// With `named_key` (bulk upserts), each row binds that primary key itself, read and locked
/// before the statement ([`name_existing_keys`]), instead of a subquery per row: `MariaDB` plans
/// and runs thousands of subqueries in one statement several times slower than the rows.
pub(crate) fn resolve_conflict_key<E: Entity>(
    backend: Backend,
    sql: String,
    named_key: bool,
) -> String {
    let key = E::conflict_key().unwrap_or_default();
    if backend.capabilities().upsert != crate::dialect::UpsertSyntax::OnDuplicateKey
        || key.is_empty()
        || E::is_primary_key(key)
    {
        return sql;
    }
    if let Some(pk) = E::generated_key().filter(|_| looks_up_generated_key::<E>(backend)) {
        // `INSERT INTO t (a, …) VALUES (?, …), … ON DUPLICATE KEY UPDATE …`
        let (Some((head, _)), Some(values_at), Some(update_at)) = (
            sql.split_once(" ("),
            sql.find(" VALUES "),
            sql.find(" ON DUPLICATE KEY UPDATE "),
        ) else {
            return sql;
        };
        let columns = &sql[head.len() + " (".len()..values_at];
        let values = &sql[values_at + " VALUES ".len()..update_at];
        let same_key: Vec<String> = key
            .iter()
            .map(|k| format!("\"existing\".\"{k}\" = ?"))
            .collect();
        let lookup = if named_key {
            "(?, ?".to_owned()
        } else {
            format!(
                "((SELECT \"existing\".\"{pk}\" FROM {from} AS \"existing\" WHERE {}), ?",
                same_key.join(" AND "),
                pk = pk.name,
                from = E::quoted_table(),
            )
        };
        return format!(
            "{head} (\"{}\", {columns} VALUES {}{}",
            pk.name,
            values.replace("(?", &lookup),
            &sql[update_at..],
        );
    }
    let (Some((head, rest)), Some(update_at)) = (
        sql.split_once(" VALUES "),
        sql.find(" ON DUPLICATE KEY UPDATE "),
    ) else {
        return sql;
    };
    let values = &rest[..update_at - head.len() - " VALUES ".len()];
    let tail = &sql[update_at..];
    let columns: Vec<&str> = super::insert_columns::<E>().map(|c| c.name).collect();
    let width = columns.len();
    let rows = values.matches('?').count() / width.max(1);
    let mut derived = String::new();
    for row in 0..rows {
        derived.push_str(if row == 0 {
            "SELECT "
        } else {
            " UNION ALL SELECT "
        });
        let fields: Vec<String> = columns
            .iter()
            .map(|c| {
                if row == 0 {
                    format!("? AS \"{c}\"")
                } else {
                    "?".to_owned()
                }
            })
            .collect();
        derived.push_str(&fields.join(", "));
    }
    let same_key: Vec<String> = key
        .iter()
        // `=`: as in a unique index, NULL matches no row.
        .map(|k| format!("\"existing\".\"{k}\" = \"v\".\"{k}\""))
        .collect();
    let selected: Vec<String> = columns
        .iter()
        .map(|c| {
            if E::PRIMARY_KEY.contains(c) {
                format!(
                    "COALESCE((SELECT \"existing\".\"{c}\" FROM {} AS \"existing\" \
                     WHERE {}), \"v\".\"{c}\")",
                    E::quoted_table(),
                    same_key.join(" AND ")
                )
            } else {
                format!("\"v\".\"{c}\"")
            }
        })
        .collect();
    format!(
        "{head} SELECT {} FROM ({derived}) AS \"v\"{tail}",
        selected.join(", ")
    )
}
