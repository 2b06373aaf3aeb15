//! Turning driver errors into [`Error`]; the codes and message forms each backend uses are in
//! its backend file.

use sqlx::error::{DatabaseError, ErrorKind};

use crate::entity::Entity;
use crate::error::Error;

/// Classify a driver error raised on behalf of entity `E`.
pub(crate) fn classify<E: Entity>(error: sqlx::Error) -> Error {
    classify_for(
        E::NAME,
        &crate::schema::primary_key_name(E::TABLE),
        &crate::schema::constraint_from_message::<E>,
        error,
    )
}

/// Classify a driver error that no entity is known for.
pub(crate) fn classify_untyped(error: sqlx::Error) -> Error {
    classify_for(
        "row",
        "PRIMARY",
        &|message| crate::schema::unique_columns(message).join(", "),
        error,
    )
}

fn classify_for(
    entity: &'static str,
    primary_key: &str,
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
            return match source.downcast_ref::<crate::storage::InvalidValue>() {
                Some(invalid) => Error::validation("value", invalid.to_string()),
                None => Error::Database(error),
            };
        }
        _ => return Error::Database(error),
    };
    if crate::backend::is_timeout(db.as_ref()) {
        return Error::Timeout { source: error };
    }
    match db.kind() {
        ErrorKind::UniqueViolation => {
            let constraint = named(&**db, primary_key).unwrap_or_else(|| unique_name(db.message()));
            Error::Conflict {
                entity,
                constraint,
                source: error,
            }
        }
        ErrorKind::ForeignKeyViolation => Error::ForeignKey {
            entity,
            constraint: named(&**db, primary_key),
            source: error,
        },
        ErrorKind::NotNullViolation => Error::NotNull {
            entity,
            column: not_null_column(&**db),
            source: error,
        },
        ErrorKind::CheckViolation => Error::Check {
            entity,
            constraint: named(&**db, primary_key)
                .unwrap_or_else(|| after_colon(db.message()).to_owned()),
            source: error,
        },
        _ => Error::Database(error),
    }
}

/// The constraint the error names, in a field of its own or in its message; a primary key
/// the message calls `PRIMARY` gets `primary_key`, the name the generated schema gives it.
fn named(db: &dyn DatabaseError, primary_key: &str) -> Option<String> {
    match db.constraint() {
        Some(name) => Some(name.to_owned()),
        None => crate::backend::constraint_in_message(db).map(|name| {
            if name == "PRIMARY" {
                primary_key.to_owned()
            } else {
                name
            }
        }),
    }
}

/// The text after the last `": "` of a message (SQLite puts the subject there).
fn after_colon(message: &str) -> &str {
    message.rsplit(": ").next().unwrap_or(message).trim()
}

fn not_null_column(db: &dyn DatabaseError) -> String {
    if let Some(column) = crate::backend::not_null_column(db) {
        return column;
    }
    let subject = after_colon(db.message());
    subject.rsplit('.').next().unwrap_or(subject).to_owned()
}

/// A driver error as the framework's: classified as for no particular entity.
impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        classify_untyped(error)
    }
}
