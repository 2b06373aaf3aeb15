//! The one error type every fallible call of the framework returns.

/// Result with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in a repository call.
///
/// Variants are structured so callers can match on them: a [`Conflict`](Error::Conflict) names the
/// constraint, a [`NotFound`](Error::NotFound) the entity and key. Bad input is reported as
/// [`Validation`](Error::Validation) before any statement is sent, so nothing is written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No row of `entity` has the given key.
    #[error("{entity} not found: {key}")]
    NotFound {
        /// Rust name of the entity.
        entity: &'static str,
        /// The key that was looked up, rendered for humans.
        key: String,
    },
    /// A write would violate a unique constraint (or the primary key).
    #[error("{entity} conflicts with an existing row on `{constraint}`")]
    Conflict {
        /// Rust name of the entity.
        entity: &'static str,
        /// Name of the violated constraint, as the schema names it.
        constraint: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// The row changed since it was read (optimistic locking).
    #[error("stale {entity} {key}: it was changed by someone else since it was read")]
    StaleVersion {
        /// Rust name of the entity.
        entity: &'static str,
        /// The key of the row, rendered for humans.
        key: String,
    },
    /// An argument is not acceptable; nothing was sent to the database.
    #[error("invalid {field}: {reason}")]
    Validation {
        /// The argument or field at fault.
        field: String,
        /// What is wrong with it and what is expected.
        reason: String,
    },
    /// The database or driver failed.
    #[error("database error")]
    Database(#[source] sqlx::Error),
}

impl Error {
    /// A [`Validation`](Error::Validation) error.
    pub fn validation(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Validation {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Whether this is a [`NotFound`](Error::NotFound).
    #[must_use]
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }

    /// Whether this is a [`Conflict`](Error::Conflict).
    #[must_use]
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Conflict { .. })
    }

    /// Whether this is a [`Validation`](Error::Validation).
    #[must_use]
    pub fn is_validation(&self) -> bool {
        matches!(self, Self::Validation { .. })
    }
}

impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        Self::Database(error)
    }
}
