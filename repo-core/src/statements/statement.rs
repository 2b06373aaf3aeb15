//! A statement ready to run: SQL text in a backend's dialect and its bound values, built from a
//! sea-query statement or written by hand.

use std::borrow::Cow;

use sea_query::{QueryStatementWriter, Value};

use crate::dialect::Backend;

/// A sea-query statement a [`Repository`](crate::repository::Repository) runs as it is: a
/// `SelectStatement`, `InsertStatement`, `UpdateStatement`, `DeleteStatement` or `WithQuery`
/// (every sea-query `QueryStatementWriter` that is `Sync`), taken by
/// [`fetch_entities`](crate::Repository::fetch_entities), [`fetch_rows`](crate::Repository::fetch_rows),
/// [`execute`](crate::Repository::execute) and the like.
///
/// An [`UpdateReturning`](crate::UpdateReturning) is not one: it needs the framework to run
/// it (`UPDATE … RETURNING`, or lock, update and read back where the backend lacks it), so
/// passing it here does not compile and the message names
/// [`fetch_updated`](crate::Repository::fetch_updated) instead.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a statement `fetch_entities`, `fetch_rows` or `execute` can run",
    label = "not a sea-query statement",
    note = "an `UpdateReturning` runs with `repo.fetch_updated(update)` (the changed rows), `repo.fetch_updated_one(update)` or `repo.claim(update, limit)`"
)]
pub trait RunnableStatement: Sync {
    /// The statement rendered for `backend`, as [`Statement::build`] renders it.
    fn to_statement(&self, backend: Backend) -> Statement;
}

impl<T: QueryStatementWriter + Sync> RunnableStatement for T {
    fn to_statement(&self, backend: Backend) -> Statement {
        Statement::build(self, backend)
    }
}

/// SQL text with its bound values, ready to run.
#[derive(Debug, Clone)]
pub struct Statement {
    sql: Cow<'static, str>,
    values: Vec<Value>,
}

impl Statement {
    /// A statement from SQL text (placeholders in the backend's style) and its values.
    pub fn new(sql: impl Into<Cow<'static, str>>, values: Vec<Value>) -> Self {
        Self {
            sql: sql.into(),
            values,
        }
    }

    /// Render a sea-query statement for `backend`.
    ///
    /// Where a prepared statement fixes its parameter types (PostgreSQL), the text starts with
    /// a comment naming them, because the driver caches prepared statements by text: a custom
    /// condition comparing a column with an `i32` in one call and an `f64` in another must not
    /// reuse the other's statement.
    pub fn build(statement: &impl QueryStatementWriter, backend: Backend) -> Self {
        let (sql, values) = backend.render(statement);
        Self::new(backend.with_type_signature(sql, &values), values)
    }

    /// The SQL text.
    #[must_use]
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// Append `LIMIT n` as literal text to a query that has no LIMIT yet. Fixed limits are
    /// cheaper as literals: SQLite re-plans a cached statement whose LIMIT is a parameter.
    #[must_use]
    pub fn with_literal_limit(mut self, n: u64) -> Self {
        use std::fmt::Write as _;
        let _ = write!(self.sql.to_mut(), " LIMIT {n}");
        self
    }

    /// The bound values.
    #[must_use]
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// The text and the values, to run.
    pub(crate) fn into_text_and_values(self) -> (Cow<'static, str>, Vec<Value>) {
        (self.sql, self.values)
    }
}
