//! The audit log: who changed which row of an audited entity, when, and from what to what.
//!
//! Declare an entity `#[repo(audit)]` and every write its repository makes (insert, update,
//! upsert, delete, soft delete, restore, purge, the bulk and filtered forms of each, claims and
//! [`UpdateReturning`](crate::UpdateReturning) updates) appends one [`AuditEntry`] per changed
//! row to the `repo_audit` table, in the same transaction as the write: a write that rolls
//! back leaves no entry, and an entry never describes a write that did not happen. Bulk writes
//! append one multi-row insert per chunk.
//!
//! The actor is whoever the unit of work says it is: [`Db::begin_as`](crate::Db::begin_as),
//! [`Session::set_actor`](crate::Session::set_actor), or, for calls on the pool,
//! [`Db::with_actor`](crate::Db::with_actor). `#[repo(audit(require_actor))]` makes a write
//! without one an [`Error::ActorRequired`](crate::Error::ActorRequired), before anything is
//! written.
//!
//! [`Db::create_schema`](crate::Db::create_schema) of an audited entity creates the table
//! too ([`Db::create_audit_schema`](crate::Db::create_audit_schema) alone); with versioned
//! migrations, create it from [`create_statements`] or write the same DDL by hand.
//!
//! Writes of statements a caller renders and runs itself
//! ([`Repository::execute`](crate::Repository::execute) and the other `fetch_*` tools) are not
//! audited: only the repository's operations know what they change.

use crate::db::Db;
use crate::dialect::Backend;
use crate::entity::Entity;
use crate::error::Result;
pub use crate::repository::audit_log::{AuditEntry, AuditEntryRepository, AuditOperation};
use serde_json::Value as Json;

/// The repository of the audit log: [`AuditEntryRepository`], under the name users look for.
/// Read it like any other: `audit.find_all(AuditEntry::of::<Order>().and(AuditEntry::ACTOR.eq("u1")))`.
pub type AuditRepository<'a> = AuditEntryRepository<'a>;

impl AuditEntry {
    /// The value of `column` before the write, if the entry records it.
    #[must_use]
    pub fn old_value(&self, column: &str) -> Option<&Json> {
        self.old_values.as_ref()?.get(column)
    }

    /// The value of `column` after the write, if the entry records it.
    #[must_use]
    pub fn new_value(&self, column: &str) -> Option<&Json> {
        self.new_values.as_ref()?.get(column)
    }

    /// The columns the entry records a value of, before or after.
    #[must_use]
    pub fn columns(&self) -> Vec<&str> {
        let mut columns: Vec<&str> = [&self.old_values, &self.new_values]
            .into_iter()
            .flatten()
            .filter_map(Json::as_object)
            .flat_map(|values| values.keys().map(String::as_str))
            .collect();
        columns.sort_unstable();
        columns.dedup();
        columns
    }
}

impl AuditEntryRepository<'_> {
    /// Every entry of the row of `E` with primary key `id`, oldest first.
    pub async fn history<E: Entity>(&self, id: impl Into<E::Id>) -> Result<Vec<AuditEntry>> {
        self.find_all(AuditEntry::of_row::<E>(id)).await
    }
}

/// The statements that create the audit table and its indexes; each is idempotent.
#[must_use]
pub fn create_statements(backend: Backend) -> Vec<String> {
    crate::schema::create_statements::<AuditEntry>(backend)
}

impl Db {
    /// Create the audit table if it does not exist ([`create_schema`](Db::create_schema) of an
    /// audited entity does it too).
    pub async fn create_audit_schema(&self) -> Result<()> {
        self.create_schema::<AuditEntry>().await
    }
}
