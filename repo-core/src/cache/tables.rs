//! The tables a cache knows: those whose reads it holds, and, for each table, the cached
//! tables whose rows change when it is written (foreign keys with a cascading action).

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;

use crate::read_cache::{CachedTable, Rows, TableId, Written};

#[derive(Default)]
pub(super) struct Tables {
    known: RwLock<HashMap<TableId, Vec<CachedTable>>>,
    /// By table: the tables whose rows a write to it may change.
    dependents: RwLock<HashMap<TableId, HashSet<TableId>>>,
}

impl Tables {
    pub(super) fn knows(&self, table: &CachedTable) -> bool {
        read(&self.known)
            .get(table.name)
            .is_some_and(|variants| variants.contains(table))
    }

    /// Learn `table`, written along whenever one of `parents` is.
    pub(super) fn learn(&self, table: CachedTable, parents: &[TableId]) {
        let mut known = write(&self.known);
        let variants = known.entry(table.id()).or_default();
        if !variants.contains(&table) {
            variants.push(table);
        }
        let mut dependents = write(&self.dependents);
        for parent in parents {
            dependents
                .entry(parent.clone())
                .or_default()
                .insert(table.id());
        }
    }

    /// Whether entities name `table` in more than one way (two schemas): then its rows
    /// written by key are forgotten whole, as each way names them apart.
    pub(super) fn named_apart(&self, table: &str) -> bool {
        read(&self.known).get(table).is_some_and(|v| v.len() > 1)
    }

    /// `written`, with every table a cascade from it may change, whole.
    pub(super) fn with_cascades(&self, written: &Written) -> Written {
        let dependents = read(&self.dependents);
        let mut out = Written::default();
        let mut queue: Vec<TableId> = Vec::new();
        for write in &written.tables {
            let rows = if self.named_apart(&write.table) {
                Rows::All
            } else {
                write.rows.clone()
            };
            out.add(write.table.clone(), write.schema, rows);
            queue.push(write.table.clone());
        }
        let mut seen: HashSet<TableId> = queue.iter().cloned().collect();
        while let Some(table) = queue.pop() {
            for dependent in dependents.get(&table).into_iter().flatten() {
                out.add(dependent.clone(), None, Rows::All);
                if seen.insert(dependent.clone()) {
                    queue.push(dependent.clone());
                }
            }
        }
        out
    }

    /// The known tables `sql` names (cached ones, and those a cached one cascades from): as
    /// a word, in any case, quoted or not. A table named in a string literal counts too (more
    /// misses, never a stale read).
    pub(super) fn named_in(&self, sql: &str) -> Vec<TableId> {
        let lower = sql.to_ascii_lowercase();
        let known = read(&self.known);
        let dependents = read(&self.dependents);
        let mut found: Vec<TableId> = known
            .keys()
            .chain(dependents.keys())
            .filter(|table| names(&lower, &table.to_ascii_lowercase()))
            .cloned()
            .collect();
        found.sort();
        found.dedup();
        found
    }
}

/// Whether `name` occurs in `sql` as a whole identifier.
fn names(sql: &str, name: &str) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    sql.match_indices(name).any(|(at, _)| {
        let before = sql[..at].chars().next_back();
        let after = sql[at + name.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::names;

    #[test]
    fn a_name_is_a_whole_identifier() {
        assert!(names("update \"orders\" set x = 1", "orders"));
        assert!(names("delete from orders where", "orders"));
        assert!(names("insert into sales.orders values", "orders"));
        assert!(names("update `orders` set", "orders"));
        assert!(!names("update orders_archive set", "orders"));
        assert!(!names("update old_orders set", "orders"));
    }
}
