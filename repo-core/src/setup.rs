//! Creating and dropping an entity's table on the connected database, with its PostgreSQL enum
//! types and indexes (and, for an audited entity, the audit log's table): for tests and
//! prototypes. Production schemas belong in versioned migrations.

use crate::db::Db;
use crate::entity::Entity;
use crate::error::Result;
use crate::exec::Conn;
use crate::repository::audit_log::AuditEntry;
use crate::repository::{Repository, classify_error};
use crate::schema::{create_statements, drop_statements};
use crate::statements::Statement;

impl Db {
    /// Create `E`'s enum types, table and indexes if they do not exist.
    /// An audited entity's (`#[repo(audit)]`) needs the audit table too: it is created
    /// along, just as idempotently.
    pub async fn create_schema<E: Entity>(&self) -> Result<()> {
        if E::AUDIT != crate::entity::Audit::Off {
            let audit = create_statements::<AuditEntry>(self.backend());
            run::<AuditEntry>(Conn::Db(self), audit).await?;
        }
        run::<E>(Conn::Db(self), create_statements::<E>(self.backend())).await
    }

    /// Drop `E`'s table if it exists.
    pub async fn drop_schema<E: Entity>(&self) -> Result<()> {
        run::<E>(Conn::Db(self), drop_statements::<E>(self.backend())).await
    }
}

/// Run `statements`, which create or drop `E`'s table: what was learnt about the table is
/// forgotten, and so is every cached read of it.
async fn run<E: Entity>(conn: Conn<'_>, statements: Vec<String>) -> Result<()> {
    let guard = Repository::<E>::new(conn).writing();
    let mut result = Ok(());
    for sql in statements {
        result = conn
            .execute_as(Statement::new(sql, Vec::new()), classify_error::<E>)
            .await
            .map(drop);
        if result.is_err() {
            break;
        }
    }
    conn.settings().tables.forget::<E>();
    guard.done(None).await;
    result
}
