//! How the writes of an audited entity (`#[repo(audit)]`) record themselves: each runs as a
//! group of statements that succeed or fail together (a transaction of its own on the pool, a
//! savepoint in a session), locks the rows it is about to change and reads them, writes, and
//! appends the difference to the audit log (see [`crate::audit`]).

use std::sync::Arc;

use sea_query::{Condition, Expr, ExprTrait as _, LockType, Value};

use super::audit_log::{self as audit, AuditEntry};
use super::{Repository, now};
use crate::dialect::Backend;
use crate::entity::{Audit, Entity, Fixed, Key as _};
use crate::error::{Error, Result};
use crate::exec::{Conn, Statement};
use crate::session::Session;
use crate::statements::{self, BulkKind};

/// Primary keys per statement when audited rows are written by key: well under every
/// backend's bind limit, for keys of up to four columns.
pub(crate) const KEYS_PER_STATEMENT: usize = 1_000;

/// The longest actor the log stores (MariaDB's `varchar(255)`; the same limit everywhere).
const MAX_ACTOR: usize = 255;

/// Where the statements of one audited write run, together.
pub(crate) enum Group<'a> {
    /// On the pool: a unit of work of its own.
    Own(Box<Session>),
    /// In the caller's session: a savepoint.
    Within(&'a Session, crate::session::Group<'a>),
}

impl<'a> Group<'a> {
    pub(crate) async fn open(conn: Conn<'a>) -> Result<Self> {
        match conn {
            Conn::Db(db) => Ok(Self::Own(Box::new(
                Session::begin_all_or_nothing(db.origin()).await?,
            ))),
            Conn::Session(session) => Ok(Self::Within(session, session.open_group().await?)),
        }
    }

    pub(crate) fn conn(&self) -> Conn<'_> {
        match self {
            Self::Own(session) => Conn::Session(session),
            Self::Within(session, _) => Conn::Session(session),
        }
    }

    /// Keep the group's writes if `result` is a success, else undo them all; the result.
    pub(crate) async fn close<T>(self, result: Result<T>) -> Result<T> {
        match self {
            Self::Own(session) => match result {
                Ok(value) => session.commit().await.map(|()| value),
                Err(error) => {
                    // The error matters more than a failed rollback, which dropping the
                    // session does anyway.
                    let _ = session.rollback().await;
                    Err(error)
                }
            },
            Self::Within(session, group) => {
                // A failure of the group's own matters more than one closing it.
                let closed = session.close_group(group, result.is_ok()).await;
                let value = result?;
                closed.map(|()| value)
            }
        }
    }
}

/// Run `$body` (an async block using the repository `$repo` bound to the group) as one group
/// of statements of `$self`'s connection; on the pool, run it again after a retryable failure,
/// as [`Db::transaction`](crate::Db::transaction) does.
macro_rules! in_group {
    ($self:expr, |$repo:ident| $body:expr) => {{
        let this = $self;
        this.check_actor()?;
        let policy = match this.conn() {
            crate::exec::Conn::Db(db) => db.settings.retry,
            crate::exec::Conn::Session(_) => crate::retry::RetryPolicy::never(),
        };
        let (mut attempt, since) = (1, std::time::Instant::now());
        loop {
            let closed = match crate::repository::audit::Group::open(this.conn()).await {
                Ok(group) => {
                    let result = {
                        let $repo = this.in_unit(group.conn());
                        $body.await
                    };
                    group.close(result).await
                }
                Err(error) => Err(error),
            };
            match closed {
                Err(error)
                    if error.is_retryable()
                        && policy.may_retry(attempt, since, error.is_connection_lost()) =>
                {
                    let delay = policy.delay(attempt);
                    tracing::info!(
                        attempt,
                        delay_ms = delay.as_millis() as u64,
                        error = %error,
                        "audited write failed with a retryable error: running it again"
                    );
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                other => break other,
            }
        }
    }};
}
pub(crate) use in_group;

impl<E: crate::entity::Writable> Repository<'_, E> {
    /// Whether writes of `E` are audited.
    pub(crate) const fn audited() -> bool {
        !matches!(E::AUDIT, Audit::Off)
    }

    /// Refuse a write the audit log could not attribute, before anything is sent.
    pub(crate) fn check_actor(&self) -> Result<()> {
        let actor = self.actor();
        let named = actor.as_deref().is_some_and(|a| !a.trim().is_empty());
        if E::AUDIT == Audit::RequireActor && !named {
            return Err(Error::ActorRequired { entity: E::NAME });
        }
        // The log's column holds 255 characters on every backend.
        if actor.is_some_and(|a| a.chars().count() > MAX_ACTOR) {
            return Err(Error::validation(
                "actor",
                format!("an actor is at most {MAX_ACTOR} characters"),
            ));
        }
        Ok(())
    }

    /// [`lock_rows`](Repository::lock_rows) of the rows the conflict keys of `rows` (in lock
    /// order) meet, locked in that order: a read locking in primary-key order would hold a row
    /// the write of a concurrent batch waits for while it waits for a row that write has just
    /// inserted. One read per few hundred keys ordered by the key (a composite key is matched
    /// as an `OR` of conditions, which the statement builder nests one level per key); where a
    /// locking read locks in scan order rather than result order (MariaDB, which scans a small
    /// table in primary-key order), a write of a few rows, the kind many writers aim at the
    /// same rows with, reads them one lookup per key instead, in order, in a `UNION ALL` (a
    /// lookup costs the server more than a range read: larger writes keep the one read).
    pub(crate) async fn lock_conflict_rows(&self, rows: &[&E]) -> Result<Vec<E>> {
        const KEYS_PER_READ: usize = 200;
        let key = statements::conflict_key::<E>()?;
        let backend = self.backend();
        let lookups = !backend.capabilities().locks_in_result_order && rows.len() <= LOOKUPS_UP_TO;
        let per_read = if key.len() == 1 || lookups {
            rows.len().max(1)
        } else {
            KEYS_PER_READ
        };
        let mut locked = Vec::new();
        for piece in rows.chunks(per_read) {
            let statement = if lookups {
                lookups_in_order::<E>(backend, piece)?
            } else {
                let mut select = statements::select_all::<E>();
                select.cond_where(conflict_rows::<E>(piece)?);
                for column in key.iter().chain(E::PRIMARY_KEY) {
                    select.order_by(*column, sea_query::Order::Asc);
                }
                select.lock(LockType::Update);
                self.statement(&select)
            };
            locked.extend(self.fetch_entities_statement(statement).await?);
        }
        Ok(locked)
    }

    /// `chunk` (in lock order) split into runs whose conflict keys, read without locking, all
    /// met a stored row or all met none. Written run after run, a write takes every row lock
    /// in key order; locking the stored rows of the whole chunk first and inserting the new
    /// ones after would take a lower key's lock after a higher one's, and two writers doing
    /// so over the same keys deadlock. Only for a write of a few rows (the kind many writers
    /// aim at the same rows with) on a backend with row locks: a larger chunk is one run.
    pub(crate) async fn key_ordered_runs<'c, 'e>(
        &self,
        chunk: &'c [&'e E],
    ) -> Result<Vec<&'c [&'e E]>> {
        let capabilities = self.backend().capabilities();
        // `skip_locked`: a backend with row locks (SQLite serializes its writers instead).
        if chunk.len() < 2 || chunk.len() > LOOKUPS_UP_TO || !capabilities.skip_locked {
            return Ok(vec![chunk]);
        }
        let indexes: Vec<usize> = statements::conflict_key::<E>()?
            .iter()
            .filter_map(|column| E::column_index(column))
            .collect();
        let key_of =
            |row: &E| -> Result<Vec<Value>> { indexes.iter().map(|&i| row.value_at(i)).collect() };
        let mut select = statements::select_all::<E>();
        select.cond_where(conflict_rows::<E>(chunk)?);
        let mut stored = self
            .fetch_entities(&select)
            .await?
            .iter()
            .map(key_of)
            .collect::<Result<Vec<_>>>()?;
        stored.sort_by(|a, b| statements::compare_keys(a, b));
        let mut runs = Vec::new();
        let (mut start, mut previous) = (0, None);
        for (at, row) in chunk.iter().enumerate() {
            let key = key_of(row)?;
            let found = stored
                .binary_search_by(|stored| statements::compare_keys(stored, &key))
                .is_ok();
            if previous.is_some_and(|was| was != found) {
                runs.push(&chunk[start..at]);
                start = at;
            }
            previous = Some(found);
        }
        runs.push(&chunk[start..]);
        Ok(runs)
    }

    /// The rows matching `condition`, whatever the view, locked for the rest of the unit of
    /// work where the backend has row locks (else writers are serialized already).
    pub(crate) async fn lock_rows(&self, condition: Condition) -> Result<Vec<E>> {
        let mut select = statements::select_by_key::<E>(condition);
        // SQLite has no row locks (and needs none: its writers are serialized).
        select.lock(LockType::Update);
        self.fetch_entities(&select).await
    }

    /// Append to the audit log how `before` became `after` (see [`crate::audit`]).
    pub(crate) async fn record(&self, before: &[E], after: &[E]) -> Result<()> {
        self.record_snapshot(audit::snapshot(before)?, after).await
    }

    async fn record_snapshot(&self, before: audit::Snapshot, after: &[E]) -> Result<()> {
        let actor: Option<Arc<str>> = self.actor();
        let entries = audit::entries(before, after, actor.as_ref(), now())?;
        append(self.conn, &entries).await
    }

    /// [`record`](Repository::record) for an upsert, whose `before` holds the rows its
    /// conflict keys met when they were locked. A key that was free then may have been
    /// inserted by a concurrent writer before the upsert reached it (the upsert waited for
    /// that writer, then updated its row): the row's state before this write is then the one
    /// the log's own entries describe, read back here, so the entry is the update it was.
    pub(crate) async fn record_upsert(&self, before: &[E], after: &[E]) -> Result<()> {
        let mut old = audit::snapshot(before)?;
        let seen: std::collections::HashSet<&str> = old.iter().map(|(k, _)| k.as_str()).collect();
        let unseen: Vec<String> = after
            .iter()
            .map(audit::row_key::<E>)
            .filter(|key| !seen.contains(key.as_str()))
            .collect();
        if !unseen.is_empty() {
            let log = Repository::<AuditEntry>::new(self.conn);
            let mut history = Vec::new();
            for keys in unseen.chunks(KEYS_PER_STATEMENT) {
                let filter =
                    AuditEntry::of::<E>().and(AuditEntry::ENTITY_KEY.is_in(keys.iter().cloned()));
                history.extend(log.find_all(filter).await?);
            }
            old.extend(audit::replay::<E>(&history));
        }
        self.record_snapshot(old, after).await
    }

    /// Run `write` on the rows matching `scope` as an audited write: lock and read them,
    /// write them by key (`write` builds the statement for a condition on their keys), read
    /// them back and record the difference. The rows written (as the statements count them)
    /// and the rows as they are after. `removes`: the write deletes rows (else a row missing
    /// afterwards had its key changed, which the log could not follow: refused).
    pub(crate) async fn write_locked(
        &self,
        scope: Condition,
        write: &(dyn Fn(Condition) -> Result<Statement> + Sync),
        removes: bool,
    ) -> Result<(u64, Vec<E>)> {
        let before = self.lock_rows(scope).await?;
        let mut written = 0;
        let mut after = Vec::with_capacity(before.len());
        for chunk in before.chunks(KEYS_PER_STATEMENT) {
            let keys = statements::keys_condition::<E>(
                chunk.iter().map(|row| row.id().key_values()).collect(),
            );
            written += self.execute_statement(write(keys.clone())?).await?;
            let now = self
                .fetch_entities(&statements::select_by_key::<E>(keys))
                .await?;
            if !removes && now.len() < chunk.len() {
                return Err(key_changed::<E>());
            }
            self.record(chunk, &now).await?;
            after.extend(now);
        }
        Ok((written, after))
    }

    /// An audited bulk insert or upsert of `rows` (in lock order): per chunk (or run of a
    /// small chunk, see [`key_ordered_runs`](Repository::key_ordered_runs)), lock and read the
    /// rows its conflict keys meet, write it returning the stored rows, record the difference.
    /// The rows written and the stored rows.
    pub(crate) async fn bulk_audited(
        &self,
        rows: &[&E],
        kind: BulkKind,
        actions: &[crate::conflict::ConflictAction],
    ) -> Result<(u64, Vec<E>)> {
        let backend = self.backend();
        let per_chunk = statements::rows_per_statement::<E>(backend, kind);
        // Where rows travel as arrays, one text serves chunks of any size.
        let any_size = statements::column_arrays::<E>(backend).is_some();
        let upsert = (kind != BulkKind::Insert).then_some(statements::Upsert::Bump);
        let build = |n| statements::bulk_insert_statement::<E>(backend, n, upsert, true, actions);
        let full = if upsert.is_some() && actions == crate::conflict::declared::<E>() {
            std::borrow::Cow::Borrowed(self.cached(Fixed::BulkUpsertReturning))
        } else if any_size || rows.len() >= per_chunk {
            std::borrow::Cow::Owned(build(per_chunk))
        } else {
            std::borrow::Cow::Borrowed("")
        };
        let at = now();
        let mut stored = Vec::with_capacity(rows.len());
        for whole in rows.chunks(per_chunk) {
            let runs = match upsert {
                Some(_) => self.key_ordered_runs(whole).await?,
                None => vec![whole],
            };
            for chunk in runs {
                let before = match upsert {
                    Some(_) => self.lock_conflict_rows(chunk).await?,
                    None => Vec::new(),
                };
                let sql = if any_size || chunk.len() == per_chunk {
                    full.clone()
                } else {
                    std::borrow::Cow::Owned(build(chunk.len()))
                };
                let mut values = statements::chunk_values::<E>(backend, kind, chunk, at)?;
                if upsert.is_some() {
                    statements::name_existing_keys::<E>(backend, &mut values, chunk, &before)?;
                }
                let after = self
                    .fetch_changed(Statement::new(sql, values))
                    .await
                    .map_err(|e| match upsert {
                        Some(_) => crate::backend::upsert_errors::upsert_error::<E>(backend, e),
                        None => e,
                    })?;
                if upsert.is_some() {
                    self.record_upsert(&before, &after).await?;
                } else {
                    self.record(&before, &after).await?;
                }
                stored.extend(after);
            }
        }
        let written = if upsert.is_some() {
            rows.len() as u64
        } else {
            stored.len() as u64
        };
        Ok((written, stored))
    }
}

/// A write that changed a primary key: the log files a row under its key, and could not
/// tell the row under its new key from another one.
pub(crate) fn key_changed<E: Entity>() -> Error {
    Error::validation(
        "primary key",
        format!(
            "{} is audited: a write cannot change its primary key ({}); insert the row under \
             the new key and delete the old one",
            E::NAME,
            E::PRIMARY_KEY.join(", ")
        ),
    )
}

/// The most rows of a write locked one key lookup at a time where a locking read locks in
/// scan order, and split into runs of stored and new keys (see
/// [`Repository::key_ordered_runs`]): writes of a few rows, which many writers aim at the same
/// rows with; larger ones keep one read and one statement per chunk.
const LOOKUPS_UP_TO: usize = 64;

/// `SELECT * FROM ((<row 1 by its conflict key> FOR UPDATE) UNION ALL (…)) AS locked`: each
/// part a lookup of one key through its unique index, run (and locked) in the order of `rows`.
fn lookups_in_order<E: Entity>(backend: crate::dialect::Backend, rows: &[&E]) -> Result<Statement> {
    let mut sql = String::from("SELECT * FROM (");
    let mut values = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let mut select = statements::select_all::<E>();
        select.cond_where(conflict_rows::<E>(std::slice::from_ref(row))?);
        select.lock(LockType::Update);
        let (part, mut bound) = backend.render(&select);
        if i > 0 {
            sql.push_str(" UNION ALL ");
        }
        sql.push('(');
        sql.push_str(&part);
        sql.push(')');
        values.append(&mut bound);
    }
    sql.push_str(") AS locked");
    Ok(Statement::new(sql, values))
}

/// The rows whose conflict key (see [`Entity::conflict_key`]) one of `rows` holds.
pub(crate) fn conflict_rows<E: Entity>(rows: &[&E]) -> Result<Condition> {
    let key = statements::conflict_key::<E>()?;
    let indexes: Vec<usize> = key
        .iter()
        .filter_map(|column| E::column_index(column))
        .collect();
    let mut keys: Vec<Vec<Value>> = Vec::with_capacity(rows.len());
    for row in rows {
        keys.push(
            indexes
                .iter()
                .map(|&i| row.value_at(i))
                .collect::<Result<_>>()?,
        );
    }
    if let [column] = key {
        return Ok(Condition::all().add(Expr::col(*column).is_in(keys.into_iter().flatten())));
    }
    Ok(keys.into_iter().fold(Condition::any(), |any, values| {
        let all = key
            .iter()
            .zip(values)
            .fold(Condition::all(), |all, (column, value)| {
                all.add(Expr::col(*column).eq(value))
            });
        any.add(all)
    }))
}

/// `INSERT INTO "repo_audit" (…) VALUES (…), …` of `rows` entries. Written directly: its shape
/// never changes, and rendering thousands of rows of placeholders through the statement
/// builder on every call cost more than the rest of the log's own work.
fn insert_sql(backend: Backend, rows: usize) -> String {
    use std::fmt::Write as _;
    let columns: Vec<&str> = statements::insert_columns::<AuditEntry>()
        .map(|c| c.name)
        .collect();
    let mut sql = String::with_capacity(128 + rows * columns.len() * 6);
    let _ = write!(sql, "INSERT INTO {} (", AuditEntry::quoted_table());
    for (i, column) in columns.iter().enumerate() {
        let separator = if i == 0 { "" } else { ", " };
        let _ = write!(sql, "{separator}\"{column}\"");
    }
    sql.push_str(") VALUES ");
    let numbered = backend.capabilities().numbered_placeholders;
    let mut n = 0;
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for i in 0..columns.len() {
            n += 1;
            let separator = if i == 0 { "" } else { ", " };
            if numbered {
                let _ = write!(sql, "{separator}${n}");
            } else {
                let _ = write!(sql, "{separator}?");
            }
        }
        sql.push(')');
    }
    sql
}

/// Insert `entries` into the audit log: one statement per chunk (of arrays on PostgreSQL,
/// else of rows under the bind limit).
async fn append(conn: Conn<'_>, entries: &[AuditEntry]) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let log = Repository::<AuditEntry>::new(conn);
    let backend = conn.backend();
    let at = now();
    if statements::column_arrays::<AuditEntry>(backend).is_some() {
        // One array a column (PostgreSQL): one cached text for every number of entries.
        let per_chunk = statements::rows_per_statement::<AuditEntry>(backend, BulkKind::Insert);
        let entries: Vec<&AuditEntry> = entries.iter().collect();
        for chunk in entries.chunks(per_chunk) {
            let values = statements::chunk_values(backend, BulkKind::Insert, chunk, at)?;
            let sql = log.cached(Fixed::BulkInsert);
            log.execute_statement(Statement::new(sql, values)).await?;
        }
        return Ok(());
    }
    let width = BulkKind::Insert.width::<AuditEntry>(backend);
    let per_chunk = (backend.max_bind_parameters() / width).max(1);
    for chunk in entries.chunks(per_chunk) {
        let sql = insert_sql(backend, chunk.len());
        let mut values = Vec::with_capacity(chunk.len() * width);
        for entry in chunk {
            statements::insert_values(entry, at, &mut values)?;
        }
        log.execute_statement(Statement::new(sql, values)).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::insert_sql;
    use crate::dialect::Backend;

    #[test]
    fn the_log_insert_numbers_or_marks_its_placeholders() {
        let columns = r#"INSERT INTO "repo_audit" ("entity", "entity_key", "operation", "actor", "changed_at", "old_values", "new_values") VALUES "#;
        assert_eq!(
            insert_sql(Backend::Postgres, 2),
            format!("{columns}($1, $2, $3, $4, $5, $6, $7), ($8, $9, $10, $11, $12, $13, $14)")
        );
        assert_eq!(
            insert_sql(Backend::Sqlite, 1),
            format!("{columns}(?, ?, ?, ?, ?, ?, ?)")
        );
    }
}
