//! Writes that return rows (`INSERT … RETURNING`, `UPDATE … RETURNING`, an upsert, a claim)
//! decode those rows before the write may stand, so a call that fails to read what it wrote
//! leaves nothing written.
//!
//! Doing so costs a transaction (or a savepoint) around every such write. It is skipped where
//! the database shows, before anything is sent, that decoding cannot fail: once per `Db` and
//! entity the repository asks the connected database how the table's columns are typed (see
//! [`DbField::decoding`](crate::DbField::decoding)). A column that no value of which the field
//! reads refuses every write that returns rows before it is sent.

use std::sync::Arc;

use super::{Repository, classify_error, decode, record_rows};
use crate::backend::Table;
use crate::entity::{Entity, Key as _};
use crate::error::{Error, Result};
use crate::exec::Statement;
use crate::field::Decoding;
use crate::read_cache::Rows;

/// What a write returning rows of one entity may skip, as the connected database showed.
#[derive(Debug)]
pub(crate) struct ReturnedRows {
    /// A column no value of which its field decodes, and why.
    refused: Option<(&'static str, String)>,
    /// Every row an insert returns decodes: each column reads back what the entity wrote, a
    /// generated key reads every value, and no trigger changes a row before it is inserted.
    inserts: bool,
    /// Every row any write returns decodes: each column reads every value it can hold.
    writes: bool,
}

impl ReturnedRows {
    /// Nothing known: every write decodes before it stands.
    const UNKNOWN: Self = Self {
        refused: None,
        inserts: false,
        writes: false,
    };

    fn of<E: Entity>(table: &crate::backend::TableDescription) -> Self {
        if table.columns.len() != E::COLUMNS.len() {
            return Self::UNKNOWN;
        }
        let mut found = Self {
            refused: None,
            inserts: !table.changes_inserts,
            writes: true,
        };
        for ((column, info), not_null) in E::COLUMNS.iter().zip(&table.columns).zip(&table.not_null)
        {
            let mut decoding = (column.decoding)(info);
            // A NULL another writer stored fails a field that is not an `Option`.
            if !(column.nullable)() && !not_null && decoding == Decoding::Total {
                decoding = Decoding::OwnValues;
            }
            let generated = column.auto;
            match decoding {
                Decoding::Refused(reason) => {
                    found.refused.get_or_insert((column.name, reason));
                    found.inserts = false;
                    found.writes = false;
                }
                Decoding::Total => {}
                Decoding::OwnValues => {
                    // The database writes a generated key: no value of the caller's.
                    found.inserts &= !generated;
                    found.writes = false;
                }
                _ => {
                    found.inserts = false;
                    found.writes = false;
                }
            }
        }
        found
    }
}

impl ReturnedRows {
    /// Whether every row any write returns decodes.
    pub(crate) fn decode_any(&self) -> bool {
        self.writes
    }
}

impl<E: Entity> Repository<'_, E> {
    /// What the database showed about `E`'s table, asked on first use and kept for the `Db`.
    /// When the table cannot be described (it does not exist yet), nothing is known and
    /// nothing is kept: the write will say what is wrong.
    pub(crate) async fn returned_rows(&self) -> Arc<ReturnedRows> {
        let tables = &self.conn.settings().tables;
        if let Some(known) = tables.get::<E, ReturnedRows>() {
            return known;
        }
        let backend = self.backend();
        let (select, _) = backend.render(&crate::statements::select_all::<E>());
        let columns: Vec<&'static str> = E::COLUMNS.iter().map(|c| c.name).collect();
        let quoted = E::quoted_table();
        let table = Table {
            schema: E::SCHEMA,
            name: E::TABLE,
            quoted: &quoted,
            columns: &columns,
            select: &select,
        };
        match self.conn.describe(&table).await {
            Ok(description) => {
                let found = Arc::new(ReturnedRows::of::<E>(&description));
                tables.insert::<E, _>(Arc::clone(&found));
                found
            }
            Err(error) => {
                tracing::debug!(entity = E::NAME, %error, "table not described");
                Arc::new(ReturnedRows::UNKNOWN)
            }
        }
    }

    /// Run `statement`, a write returning rows of `E`, and decode them; `inserted`: an insert,
    /// whose rows hold what it wrote and what the database generated. Where a row might not
    /// decode, the write stands only once every row did (see the module docs).
    ///
    /// `built`: the framework built the statement, and it returns every row it changes, so
    /// the read cache forgets those rows alone; otherwise the whole table, and every cached
    /// table the text names.
    pub(crate) async fn fetch_written(
        &self,
        statement: Statement,
        inserted: bool,
        built: bool,
    ) -> Result<Vec<E>> {
        let guard = if built {
            self.writing()
        } else {
            self.writing_custom(statement.sql())
        };
        let result = self.fetch_written_unguarded(statement, inserted).await;
        let keys = match &result {
            Ok(rows) if built && guard.wants_keys() => Some(Rows::Keys(
                rows.iter().map(|row| row.id().key_values()).collect(),
            )),
            _ => None,
        };
        guard.done(keys).await;
        result
    }

    async fn fetch_written_unguarded(
        &self,
        statement: Statement,
        inserted: bool,
    ) -> Result<Vec<E>> {
        let found = self.returned_rows().await;
        if let Some((column, reason)) = &found.refused {
            return Err(Error::decode(
                *column,
                format!(
                    "{reason}, which {} cannot read as its declared type: nothing was written",
                    E::NAME
                ),
            ));
        }
        // Inside a unit undone whole when the call fails, a row that does not decode undoes
        // the write with it.
        let decodes = self.undone_whole
            || if inserted {
                found.inserts
            } else {
                found.writes
            };
        let rows = if decodes {
            let rows = self.conn.fetch_all_as(statement, classify_error::<E>).await;
            let rows = self.named(rows).await?;
            rows.iter().map(decode::<E>).collect::<Result<Vec<_>>>()?
        } else {
            let rows = self
                .conn
                .fetch_all_undoable(statement, classify_error::<E>, decode::<E>)
                .await;
            self.named(rows).await?
        };
        record_rows(rows.len() as u64);
        Ok(rows)
    }
}

/// Whether `statement` may write (anything but a plain `SELECT`).
pub(crate) fn writes(statement: &Statement) -> bool {
    !crate::session::is_read_only(statement.sql())
}
