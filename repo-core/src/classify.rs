//! Turning driver errors into [`Error`]: the one place that knows each backend's codes.

use sqlx::error::{DatabaseError, ErrorKind};

use crate::entity::Entity;
use crate::error::Error;

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

pub(crate) fn is_retryable(db: &dyn DatabaseError) -> bool {
    db.code()
        .is_some_and(|code| RETRYABLE_CODES.contains(&&*code))
}

/// Classify a driver error raised on behalf of entity `E`.
pub(crate) fn classify<E: Entity>(error: sqlx::Error) -> Error {
    classify_for(E::NAME, &crate::schema::constraint_from_message::<E>, error)
}

/// Classify a driver error that no entity is known for.
pub(crate) fn classify_untyped(error: sqlx::Error) -> Error {
    classify_for("row", &|message| unique_columns(message).join(", "), error)
}

fn classify_for(
    entity: &'static str,
    unique_name: &dyn Fn(&str) -> String,
    error: sqlx::Error,
) -> Error {
    let db = match &error {
        sqlx::Error::Database(db) => db,
        sqlx::Error::ColumnDecode { index, source } => {
            return Error::decode(index.trim_matches('"'), source.to_string());
        }
        sqlx::Error::Decode(source) => return Error::decode("?", source.to_string()),
        // A value refused while binding (a timestamp outside years 1 to 9999): it never reached
        // the database, so nothing was written.
        sqlx::Error::Encode(source) => {
            return match source.downcast_ref::<crate::bind::InvalidValue>() {
                Some(invalid) => Error::validation("value", invalid.to_string()),
                None => Error::Database(error),
            };
        }
        _ => return Error::Database(error),
    };
    if db
        .code()
        .is_some_and(|code| TIMEOUT_CODES.contains(&&*code))
    {
        return Error::Timeout { source: error };
    }
    match db.kind() {
        ErrorKind::UniqueViolation => {
            let constraint = db
                .constraint()
                .map_or_else(|| unique_name(db.message()), str::to_owned);
            Error::Conflict {
                entity,
                constraint,
                source: error,
            }
        }
        ErrorKind::ForeignKeyViolation => Error::ForeignKey {
            entity,
            constraint: db.constraint().map(str::to_owned),
            source: error,
        },
        ErrorKind::NotNullViolation => Error::NotNull {
            entity,
            column: not_null_column(&**db),
            source: error,
        },
        ErrorKind::CheckViolation => Error::Check {
            entity,
            constraint: db
                .constraint()
                .map_or_else(|| after_colon(db.message()).to_owned(), str::to_owned),
            source: error,
        },
        _ => Error::Database(error),
    }
}

/// The text after the last `": "` of a message (SQLite puts the subject there).
fn after_colon(message: &str) -> &str {
    message.rsplit(": ").next().unwrap_or(message).trim()
}

/// The columns a SQLite unique violation lists (`UNIQUE constraint failed: t.a, t.b`).
pub(crate) fn unique_columns(message: &str) -> Vec<String> {
    after_colon(message)
        .split(", ")
        .map(|c| c.rsplit('.').next().unwrap_or(c).trim().to_owned())
        .collect()
}

fn not_null_column(db: &dyn DatabaseError) -> String {
    if let Some(column) = crate::backend::not_null_column(db) {
        return column;
    }
    let subject = after_colon(db.message());
    subject.rsplit('.').next().unwrap_or(subject).to_owned()
}
