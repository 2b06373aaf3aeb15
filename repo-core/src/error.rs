//! The one error type every fallible call of the framework returns.

/// Result with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in a repository call.
///
/// Variants are structured so callers can match on them: a [`Conflict`](Error::Conflict) names
/// the constraint, a [`NotFound`](Error::NotFound) the entity and key. Bad input is reported as
/// [`Validation`](Error::Validation) before any statement is sent, so nothing is written.
///
/// Constraint violations ([`Conflict`](Error::Conflict), [`ForeignKey`](Error::ForeignKey),
/// [`NotNull`](Error::NotNull), [`Check`](Error::Check)) name the constraint or column as the
/// schema names it, on every backend; inside a [`Session`](crate::Session) they leave the
/// session usable with its earlier writes intact. The `Display` of every variant that wraps a
/// driver error ends with that error's own message, so a log line keeps the cause.
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
    #[error("{entity} conflicts with an existing row on `{constraint}`: {source}")]
    Conflict {
        /// Rust name of the entity.
        entity: &'static str,
        /// Name of the violated constraint, as the schema names it.
        constraint: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// A write refers to a row that does not exist, or deletes a row others refer to.
    #[error("{entity} violates foreign key `{}`: {source}", constraint.as_deref().unwrap_or("?"))]
    ForeignKey {
        /// Rust name of the entity.
        entity: &'static str,
        /// Name of the violated foreign key as the schema names it, when the database says
        /// which one it is (SQLite reports no name: the framework finds it when the table has
        /// exactly one foreign key).
        constraint: Option<String>,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// A write would store NULL in a NOT NULL column.
    #[error("{entity}: column `{column}` must not be NULL: {source}")]
    NotNull {
        /// Rust name of the entity.
        entity: &'static str,
        /// The column, as the schema names it.
        column: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// A write would violate a CHECK constraint.
    #[error("{entity} violates check `{constraint}`: {source}")]
    Check {
        /// Rust name of the entity.
        entity: &'static str,
        /// The constraint's name (SQLite names an unnamed check by its expression).
        constraint: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// The row changed since it was read (optimistic locking): it no longer holds the
    /// version the write expected, and nothing was written.
    #[error(
        "stale {entity} {key}: expected version {expected}, but it was changed by someone else \
         since it was read"
    )]
    StaleVersion {
        /// Rust name of the entity.
        entity: &'static str,
        /// The key of the row, rendered for humans (`id = 42`).
        key: String,
        /// The version the write expected the stored row to hold: the one the caller read.
        expected: i64,
    },
    /// An argument is not acceptable; nothing was sent to the database.
    #[error("invalid {field}: {reason}")]
    Validation {
        /// The argument or field at fault.
        field: String,
        /// What is wrong with it and what is expected.
        reason: String,
    },
    /// A stored value cannot be read as the declared Rust type (an enum label the enum does
    /// not know, a malformed timestamp, a type that does not match the declaration).
    #[error("cannot decode column `{column}`: {reason}")]
    Decode {
        /// The column, by name when the driver knows it, else by position.
        column: String,
        /// What was found and what was expected.
        reason: String,
    },
    /// The statement ran longer than the configured timeout and was cancelled.
    #[error("statement timed out: {source}")]
    Timeout {
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// An earlier statement of this [`Session`](crate::Session) failed in a way that aborts the
    /// whole unit of work; it was rolled back and nothing of it is written.
    #[error("the session was aborted by an earlier failure and rolled back: {cause}")]
    SessionAborted {
        /// The failure that aborted it.
        cause: String,
        /// Whether that failure was retryable (a deadlock, say): running the whole unit of
        /// work again may succeed.
        retryable: bool,
    },
    /// A write to an entity declared `#[repo(audit(require_actor))]` has no actor (or a blank
    /// one) to record:
    /// set one with [`Db::begin_as`](crate::Db::begin_as),
    /// [`Session::set_actor`](crate::Session::set_actor) or
    /// [`Db::with_actor`](crate::Db::with_actor). Nothing was written.
    #[error(
        "{entity} is audited with a required actor, and this write has none: open the unit of work with `db.begin_as(actor)` or call `session.set_actor(actor)`"
    )]
    ActorRequired {
        /// Rust name of the entity.
        entity: &'static str,
    },
    /// The table of `entity` does not fit its declaration ([`Db::verify`](crate::Db::verify)).
    #[error("{entity} does not match table `{table}`: {}", list(differences))]
    Schema {
        /// Rust name of the entity.
        entity: &'static str,
        /// The table it is stored in.
        table: &'static str,
        /// Every difference found.
        differences: Vec<crate::schema_difference::SchemaDifference>,
    },
    /// Several entities were checked ([`Db::verify_all`](crate::Db::verify_all)) and these
    /// failed, each a [`Schema`](Error::Schema) or the error that stopped its check.
    #[error("{}", list(errors))]
    Schemas {
        /// One error per entity that failed.
        errors: Vec<Error>,
    },
    /// A migration diff ([`Db::diff`](crate::Db::diff)) has steps it will not write: ones
    /// that drop data without the allowance, ones whose pre-check counted rows they would
    /// fail on, ones it does not plan (a primary key change). Nothing was written.
    #[error("the migration is refused: {}", list(refusals))]
    MigrationRefused {
        /// Each refused step: its table, its change and why.
        refusals: Vec<String>,
    },
    /// The connection was lost after a write was sent and before its outcome came back (an
    /// autocommit statement on the pool, or the `COMMIT` of a unit of work): it may have been
    /// applied, once, or not at all, and no one can tell from here. The framework never runs
    /// such a write again by itself; read the rows back (or make the write idempotent) to
    /// find out. Connection losses before anything could commit are retried instead (see
    /// [`Error::is_connection_lost`]).
    #[error(
        "the connection was lost after the write was sent: it may or may not have been \
         applied: {source}"
    )]
    OutcomeUnknown {
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// The database or driver failed.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
}

impl Error {
    /// The variant's name in snake case (`conflict`, `not_found`, `outcome_unknown`, …): what
    /// the statement spans and metrics carry as `error.type`, stable across releases.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "not_found",
            Self::Conflict { .. } => "conflict",
            Self::ForeignKey { .. } => "foreign_key",
            Self::NotNull { .. } => "not_null",
            Self::Check { .. } => "check",
            Self::StaleVersion { .. } => "stale_version",
            Self::Validation { .. } => "validation",
            Self::Decode { .. } => "decode",
            Self::Timeout { .. } => "timeout",
            Self::SessionAborted { .. } => "session_aborted",
            Self::ActorRequired { .. } => "actor_required",
            Self::Schema { .. } => "schema",
            Self::Schemas { .. } => "schemas",
            Self::MigrationRefused { .. } => "migration_refused",
            Self::OutcomeUnknown { .. } => "outcome_unknown",
            Self::Database(_) => "database",
        }
    }

    /// The database's own code for the failure (an SQLSTATE; a MariaDB error number; a SQLite
    /// result code), when the database answered with one.
    pub(crate) fn status_code(&self) -> Option<String> {
        let (Self::Conflict { source, .. }
        | Self::ForeignKey { source, .. }
        | Self::NotNull { source, .. }
        | Self::Check { source, .. }
        | Self::Timeout { source }
        | Self::OutcomeUnknown { source }
        | Self::Database(source)) = self
        else {
            return None;
        };
        match source {
            sqlx::Error::Database(db) => db.code().map(std::borrow::Cow::into_owned),
            _ => None,
        }
    }

    /// A [`Validation`](Error::Validation) error.
    pub fn validation(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Validation {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// A [`Decode`](Error::Decode) error.
    pub fn decode(column: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Decode {
            column: column.into(),
            reason: reason.into(),
        }
    }

    /// This error, except that a [`ForeignKey`](Error::ForeignKey) violation becomes
    /// `missing()`: for writes whose only reference is to a row the caller names, where a
    /// missing row is the caller's [`NotFound`](Error::NotFound), not a constraint.
    #[must_use]
    pub fn or_missing_reference(self, missing: impl FnOnce() -> Self) -> Self {
        match self {
            Self::ForeignKey { .. } => missing(),
            other => other,
        }
    }

    /// Whether this is a [`NotFound`](Error::NotFound).
    #[must_use]
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }

    /// Whether this is a [`StaleVersion`](Error::StaleVersion).
    #[must_use]
    pub fn is_stale_version(&self) -> bool {
        matches!(self, Self::StaleVersion { .. })
    }

    /// Whether this is a [`Conflict`](Error::Conflict).
    #[must_use]
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Conflict { .. })
    }

    /// Whether this is an [`OutcomeUnknown`](Error::OutcomeUnknown): a write whose connection
    /// was lost before its outcome came back.
    #[must_use]
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, Self::OutcomeUnknown { .. })
    }

    /// Whether this is a [`Validation`](Error::Validation).
    #[must_use]
    pub fn is_validation(&self) -> bool {
        matches!(self, Self::Validation { .. })
    }

    /// Whether this is a constraint violation: [`Conflict`](Error::Conflict),
    /// [`ForeignKey`](Error::ForeignKey), [`NotNull`](Error::NotNull) or [`Check`](Error::Check).
    #[must_use]
    pub fn is_constraint_violation(&self) -> bool {
        matches!(
            self,
            Self::Conflict { .. }
                | Self::ForeignKey { .. }
                | Self::NotNull { .. }
                | Self::Check { .. }
        )
    }
}

/// Items joined with `; `.
fn list<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
