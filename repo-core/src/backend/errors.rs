//! What a driver error says, asked of the backend that raised it; and
//! [`Error::is_retryable`], which needs the driver's opinion of the error.

use crate::error::Error;

#[cfg(feature = "mysql")]
use super::mysql;
#[cfg(feature = "postgres")]
use super::postgres;

/// The column a NOT NULL violation names, where the driver reports it apart from the message.
pub(crate) fn not_null_column(db: &dyn sqlx::error::DatabaseError) -> Option<String> {
    #[cfg(feature = "postgres")]
    if let Some(column) = postgres::not_null_column(db) {
        return Some(column);
    }
    #[cfg(feature = "mysql")]
    if let Some(column) = mysql::not_null_column(db) {
        return Some(column);
    }
    let _ = db;
    None
}

/// The constraint an error names, where the driver leaves it in the message; a primary key
/// comes back as `PRIMARY` (the caller knows the table).
pub(crate) fn constraint_in_message(db: &dyn sqlx::error::DatabaseError) -> Option<String> {
    #[cfg(feature = "mysql")]
    if let Some(name) = mysql::constraint(db) {
        return Some(name);
    }
    let _ = db;
    None
}

/// Whether running the statement (or transaction) again may succeed: deadlocks, lock and
/// serialization failures, a busy database.
pub(crate) fn is_retryable(db: &dyn sqlx::error::DatabaseError) -> bool {
    #[cfg(feature = "mysql")]
    if let Some(retryable) = mysql::is_retryable(db) {
        return retryable;
    }
    db.code()
        .is_some_and(|code| RETRYABLE_CODES.contains(&&*code))
}

/// Whether a statement was cancelled by a timeout.
pub(crate) fn is_timeout(db: &dyn sqlx::error::DatabaseError) -> bool {
    #[cfg(feature = "mysql")]
    if let Some(timeout) = mysql::is_timeout(db) {
        return timeout;
    }
    db.code()
        .is_some_and(|code| TIMEOUT_CODES.contains(&&*code))
}

/// PostgreSQL SQLSTATEs and SQLite result codes that mean "run it again".
const RETRYABLE_CODES: &[&str] = &[
    "40P01", // PostgreSQL deadlock_detected
    "40001", // PostgreSQL serialization_failure
    "55P03", // PostgreSQL lock_not_available
    "5",     // SQLITE_BUSY
    "261",   // SQLITE_BUSY_RECOVERY
    "517",   // SQLITE_BUSY_SNAPSHOT
    "773",   // SQLITE_BUSY_TIMEOUT
    "6",     // SQLITE_LOCKED
    "262",   // SQLITE_LOCKED_SHAREDCACHE
];

/// Statement cancelled by a timeout: PostgreSQL `query_canceled`, SQLite `SQLITE_INTERRUPT`.
const TIMEOUT_CODES: &[&str] = &["57014", "9"];

/// The error of a `COMMIT` that failed: when the connection was lost, whether it committed
/// is unknown.
pub(crate) fn commit_failed(error: sqlx::Error, classify: fn(sqlx::Error) -> Error) -> Error {
    if is_connection_lost(&error) {
        Error::OutcomeUnknown { source: error }
    } else {
        classify(error)
    }
}

/// Whether the connection is gone: the link broke (an I/O or TLS failure, a reply the driver
/// could not read, SQLite's worker thread gone) or the server ended the session (shutting down,
/// restarting, the connection killed). Whatever the call had sent may or may not have run.
pub(crate) fn is_connection_lost(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            #[cfg(feature = "mysql")]
            if let Some(lost) = mysql::is_connection_lost(&**db) {
                return lost;
            }
            db.code().is_some_and(|code| {
                // PostgreSQL: class 08 (connection exception), and the server ending the
                // session: admin_shutdown, crash_shutdown, cannot_connect_now.
                code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03")
            })
        }
        _ => false,
    }
}

/// Whether a server refused the statement because it only reads: a PostgreSQL hot standby or
/// read-only transaction (SQLSTATE 25006), a MariaDB server with `read_only` (1290) or a
/// read-only transaction (1792). Nothing was written.
pub(crate) fn refused_as_read_only(error: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = error else {
        return false;
    };
    #[cfg(feature = "mysql")]
    if let Some(error) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        return matches!(error.number(), 1290 | 1792);
    }
    db.code().is_some_and(|code| code == "25006")
}

/// The driver's opinion of an [`Error`]: implemented here, beside the codes each backend uses,
/// rather than in `error.rs`, which knows no driver.
impl Error {
    /// Whether running the same unit of work again may succeed: a deadlock, a serialization
    /// failure, a lock timeout, a busy/locked SQLite database, or a connection lost before the
    /// unit of work sent its `COMMIT` (also when one of these aborted a session).
    /// [`Db::transaction`](crate::Db::transaction) retries exactly these. A write whose
    /// outcome is unknown ([`OutcomeUnknown`](Error::OutcomeUnknown)) is not one of them.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Database(sqlx::Error::Database(db)) if is_retryable(&**db) => true,
            Self::Database(error) => is_connection_lost(error),
            Self::SessionAborted { retryable, .. } => *retryable,
            _ => false,
        }
    }

    /// Whether the connection was lost (the link broke, the server restarted or ended the
    /// session) while nothing that could have committed was under way: running the call again
    /// on a fresh connection may succeed. A write cut off this way is an
    /// [`OutcomeUnknown`](Error::OutcomeUnknown) instead.
    #[must_use]
    pub fn is_connection_lost(&self) -> bool {
        matches!(self, Self::Database(error) if is_connection_lost(error))
    }

    /// Whether a server refused the statement because it only reads (see
    /// [`refused_as_read_only`]): on a pool that follows a multi-host URL's primary, the
    /// primary moved and nothing was written.
    pub(crate) fn refused_as_read_only(&self) -> bool {
        matches!(self, Self::Database(error) if refused_as_read_only(error))
    }
}
