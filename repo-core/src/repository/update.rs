//! Updates that give back the rows they changed, on every backend: with `UPDATE … RETURNING`
//! where the backend has it, else by locking the matching rows, updating them by key and
//! reading them back, in one transaction.

use crate::entity::Writable;
use std::marker::PhantomData;

use sea_query::{
    Alias, Condition, Expr, ExprTrait as _, IntoCondition, IntoIden, LockBehavior, LockType, Query,
    SelectStatement, UnionType, UpdateStatement,
};

use super::{Repository, Traced as _, classify_error, now};
use crate::entity::Key as _;
use crate::error::Result;
use crate::exec::{Conn, Statement};
use crate::filter::Filter;
use crate::read_cache::Rows;
use futures_util::future::BoxFuture;

/// An `UPDATE` of entity `E`'s rows that returns the stored rows: build it with
/// [`Repository::update_returning`], add values and conditions as on a sea-query
/// `UpdateStatement`, run it with [`Repository::fetch_updated`] (or
/// [`fetch_updated_one`](Repository::fetch_updated_one), or [`claim`](Repository::claim)).
///
/// ```
/// use repo_core::prelude::*;
///
/// #[derive(Debug, Clone, Repository)]
/// #[repo(table = "counters")]
/// pub struct Counter {
///     #[repo(primary_key, auto)]
///     pub id: i64,
///     pub hits: i64,
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> repo_core::Result<()> {
/// let db = Db::connect("sqlite::memory:").await?;
/// db.create_schema::<Counter>().await?;
/// let repo = CounterRepository::new(&db);
/// let counter = repo.insert(&Counter { id: 0, hits: 1 }).await?;
///
/// let mut update = repo.update_returning();
/// update
///     .value(Counter::HITS, Counter::HITS.expr().add(1))
///     .cond_where(repo.condition(Counter::ID.eq(counter.id)));
/// let stored = repo.fetch_updated_one(update).await?;
/// assert_eq!(stored.map(|c| c.hits), Some(2));
/// # Ok(()) }
/// ```
pub struct UpdateReturning<E> {
    update: UpdateStatement,
    condition: Condition,
    _entity: PhantomData<fn() -> E>,
}

impl<E> std::fmt::Debug for UpdateReturning<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdateReturning")
            .field("update", &self.update)
            .field("condition", &self.condition)
            .finish()
    }
}

impl<E> Clone for UpdateReturning<E> {
    fn clone(&self) -> Self {
        Self {
            update: self.update.clone(),
            condition: self.condition.clone(),
            _entity: PhantomData,
        }
    }
}

impl<E> UpdateReturning<E> {
    /// Set `column` to `value` (a value or any sea-query expression, such as
    /// `Counter::HITS.expr().add(1)`). Backends evaluate every value against the row as it was
    /// before the update, except MySQL/MariaDB, which sees columns already set earlier in the
    /// same update: do not read a column this update also sets.
    pub fn value(&mut self, column: impl IntoIden, value: impl Into<Expr>) -> &mut Self {
        self.update.value(column, value);
        self
    }

    /// Apply a typed assignment of this entity's column, checked at compile time as
    /// [`update_where`](Repository::update_where)'s are: `update.set(Job::STATUS.set(Status::Done))`.
    pub fn set(&mut self, assignment: crate::filter::Assignment<E>) -> &mut Self {
        self.update.value(assignment.column, assignment.value);
        self
    }

    /// Only rows matching `condition` (added to earlier conditions with AND).
    pub fn cond_where(&mut self, condition: impl IntoCondition) -> &mut Self {
        let earlier = std::mem::replace(&mut self.condition, Condition::all());
        self.condition = earlier.add(condition.into_condition());
        self
    }

    /// Only rows where `expr` holds (added to earlier conditions with AND).
    pub fn and_where(&mut self, expr: Expr) -> &mut Self {
        self.cond_where(expr)
    }
}

/// What [`Repository::update_guarded`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Guarded<E> {
    /// The row matched the guard and was updated; as stored now.
    Updated(E),
    /// The row did not match the guard and was left as it is; as stored.
    Refused(E),
    /// No row matched the update's condition.
    Missing,
}

impl<E: Writable> Repository<'_, E> {
    /// An update of this repository's rows that returns them, with `updated_at` (when the
    /// entity declares one) set to now and the version (when it declares one) plus 1, limited
    /// to the rows the repository's view sees (live rows of a soft-delete entity): add values
    /// and a condition, then run it with [`fetch_updated`](Repository::fetch_updated) or
    /// [`fetch_updated_one`](Repository::fetch_updated_one). Set neither of those columns
    /// again.
    #[must_use]
    pub fn update_returning(&self) -> UpdateReturning<E> {
        let mut sets = Vec::new();
        crate::statements::complete_sets::<E>(&mut sets, now());
        Self::updating(sets, self.visible())
    }

    /// An [`UpdateReturning`] setting `sets` on the rows matching `condition`.
    pub(crate) fn updating(
        sets: Vec<(&'static str, Expr)>,
        condition: Condition,
    ) -> UpdateReturning<E> {
        let mut update = Query::update();
        update.table(E::table()).values(sets);
        UpdateReturning {
            update,
            condition,
            _entity: PhantomData,
        }
    }

    /// Run `update`; the rows it changed, as stored, in no particular order. Atomic on every backend:
    /// where `UPDATE … RETURNING` is missing the rows are locked, updated by key and read back
    /// in one transaction (the caller's session, or one of its own).
    pub async fn fetch_updated(&self, update: UpdateReturning<E>) -> Result<Vec<E>> {
        // An audited update reads the rows before it changes them.
        if self.backend().capabilities().returning_on_update && !Self::audited() {
            let UpdateReturning {
                mut update,
                condition,
                ..
            } = update;
            update
                .cond_where(condition)
                .returning(Query::returning().columns(E::COLUMNS.iter().map(|c| c.name)));
            return self.fetch_changed(self.statement(&update)).await;
        }
        let mut select = crate::statements::key_select::<E>(update.condition.clone());
        select.lock(LockType::Update);
        self.update_by_key(vec![select], None, update.update).await
    }

    /// Like [`fetch_updated`](Repository::fetch_updated), for an update of at most one row
    /// (by key, say): that row as stored, if the condition matched it.
    pub async fn fetch_updated_one(&self, update: UpdateReturning<E>) -> Result<Option<E>> {
        Ok(self.fetch_updated(update).await?.into_iter().next())
    }

    /// Apply `update`, whose condition picks at most one row (by key, say), only if that row
    /// also matches `guard`: a state machine's allowed transitions, for example. Says whether
    /// the row was updated (as stored now), refused (as stored, unchanged), or not there.
    pub async fn update_guarded(
        &self,
        update: UpdateReturning<E>,
        guard: impl std::borrow::Borrow<Filter<E>>,
    ) -> Result<Guarded<E>> {
        let target = update.condition.clone();
        let mut guarded = update;
        guarded.cond_where(self.condition(guard));
        if let Some(row) = self.fetch_updated_one(guarded).await? {
            return Ok(Guarded::Updated(row));
        }
        let select = crate::statements::select_by_key::<E>(target);
        Ok(match self.fetch_entity(&select).await? {
            Some(current) => Guarded::Refused(current),
            None => Guarded::Missing,
        })
    }

    /// Claim up to `limit` rows matching `update`'s condition, lowest primary key first, and
    /// apply `update`'s values to them; the claimed rows as stored, in no particular order.
    /// Concurrent claims never
    /// take the same row: a row another claim holds is skipped (`FOR UPDATE SKIP LOCKED`),
    /// or, where writers are serialized (SQLite), the next claim sees this one's changes.
    pub async fn claim(&self, update: UpdateReturning<E>, limit: u64) -> Result<Vec<E>> {
        self.claim_in_turn(update, vec![Condition::all()], limit)
            .traced::<E>("claim")
            .await
    }

    /// [`claim`](Repository::claim) rows matching `update`'s condition and one of `choices`:
    /// rows of the first choice, then of the next for what is left of `limit`, and so on, each
    /// lowest key first. One statement (`… WHERE key IN (SELECT key FROM (<first choice>) UNION
    /// ALL … LIMIT n)`), or one transaction where `UPDATE … RETURNING` is missing. Each choice
    /// is a key-ordered scan of its own, so each can use an index an `OR` of them would defeat.
    pub(crate) async fn claim_in_turn(
        &self,
        update: UpdateReturning<E>,
        choices: Vec<Condition>,
        limit: u64,
    ) -> Result<Vec<E>> {
        crate::page::check_limit(limit)?;
        let capabilities = self.backend().capabilities();
        let UpdateReturning {
            update: mut statement,
            condition,
            ..
        } = update;
        let mut scans = choices.into_iter().map(|choice| {
            let mut select = crate::statements::key_select::<E>(condition.clone().add(choice));
            select.limit(limit);
            if capabilities.skip_locked {
                select.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
            }
            select
        });
        if !capabilities.returning_on_update || Self::audited() {
            return self
                .update_by_key(scans.collect(), Some(limit), statement)
                .await;
        }
        let keys = match (scans.next(), scans.len()) {
            (Some(only), 0) => only,
            (first, _) => {
                // A locking clause may not sit on an arm of a UNION itself, but may in a derived
                // table; PostgreSQL and SQLite run the arms in turn, as far as the LIMIT needs.
                let mut keys = Query::select();
                for (i, scan) in first.into_iter().chain(scans).enumerate() {
                    let mut arm = Query::select();
                    arm.columns(E::PRIMARY_KEY.iter().copied())
                        .from_subquery(scan, Alias::new(format!("claim_{i}")));
                    if i == 0 {
                        keys = arm;
                    } else {
                        keys.union(UnionType::All, arm);
                    }
                }
                keys.limit(limit);
                keys
            }
        };
        statement
            .and_where(crate::statements::key_expr::<E>().in_subquery(keys))
            .returning(Query::returning().columns(E::COLUMNS.iter().map(|c| c.name)));
        self.fetch_changed(self.statement(&statement)).await
    }

    /// The fallback without `UPDATE … RETURNING`, and the way of audited updates: in one
    /// transaction, lock the rows each of `selects` finds in turn (up to `limit` in all),
    /// update them by key, read them back (and record the change in the audit log).
    async fn update_by_key(
        &self,
        selects: Vec<SelectStatement>,
        limit: Option<u64>,
        update: UpdateStatement,
    ) -> Result<Vec<E>> {
        if Self::audited() {
            // A group of its own in a session too: the change and its entries stand or fall
            // together, and no other audited write interleaves.
            return super::audit::in_group!(self, |repo| repo.update_locked(
                selects.clone(),
                limit,
                update.clone()
            ));
        }
        self.atomically(move |repo| {
            let (selects, update) = (selects.clone(), update.clone());
            Box::pin(async move { repo.update_locked(selects, limit, update).await })
        })
        .await
    }

    /// [`update_by_key`](Repository::update_by_key)'s statements, in the transaction or group
    /// the caller opened.
    async fn update_locked(
        &self,
        selects: Vec<SelectStatement>,
        limit: Option<u64>,
        update: UpdateStatement,
    ) -> Result<Vec<E>> {
        let mut before: Vec<E> = Vec::new();
        for mut select in selects {
            if let Some(limit) = limit {
                let left = limit - before.len() as u64;
                if left == 0 {
                    break;
                }
                select.limit(left);
            }
            // Whole rows, so each key is read as the entity types it.
            select
                .clear_selects()
                .columns(E::COLUMNS.iter().map(|c| c.name));
            before.extend(self.fetch_entities(&select).await?);
        }
        let mut after = Vec::with_capacity(before.len());
        // By key, in chunks that stay under every backend's bind limit.
        for chunk in before.chunks(super::audit::KEYS_PER_STATEMENT) {
            let keys = crate::statements::keys_condition::<E>(
                chunk.iter().map(|row| row.id().key_values()).collect(),
            );
            let mut update = update.clone();
            update.cond_where(keys.clone());
            self.execute(&update).await?;
            let select = crate::statements::select_by_key::<E>(keys);
            let now = self.fetch_entities(&select).await?;
            if Self::audited() {
                if now.len() < chunk.len() {
                    return Err(super::audit::key_changed::<E>());
                }
                self.record(chunk, &now).await?;
            }
            after.extend(now);
        }
        Ok(after)
    }

    /// Run `work` atomically: on a pool as a unit of work of its own that
    /// [`Db::transaction`](crate::Db::transaction) runs again after a retryable failure; inside
    /// the caller's session as a group of statements (a savepoint) that a failure undoes, so
    /// the session goes on as before the call. Where the rows `work` reads back always decode
    /// and it runs inside a unit already undone whole, the group is left out.
    pub(crate) async fn atomically<T, F>(&self, work: F) -> Result<T>
    where
        F: for<'s> Fn(Repository<'s, E>) -> BoxFuture<'s, Result<T>> + Send + Sync,
    {
        match self.conn {
            Conn::Session(session) => {
                if self.undone_whole || self.returned_rows().await.decode_any() {
                    return work(self.in_unit(Conn::Session(session))).await;
                }
                let group = session.open_group().await?;
                let result = work(self.in_unit(Conn::Session(session))).await;
                // A failure of the work matters more than one closing the group.
                let closed = session.close_group(group, result.is_ok()).await;
                let value = result?;
                closed.map(|()| value)
            }
            Conn::Db(db) => {
                db.transaction(|session| work(self.in_unit(Conn::Session(session))))
                    .await
            }
        }
    }

    /// Run a write the framework built for the entity, which may change any row; rows
    /// affected, with errors named as the schema does.
    pub(crate) async fn execute_statement(&self, statement: Statement) -> Result<u64> {
        let guard = self.writing();
        let done = self.conn.execute_as(statement, classify_error::<E>).await;
        guard.done(None).await;
        self.named(done).await
    }

    /// [`execute_statement`](Repository::execute_statement) of a write that changes the row
    /// with primary key `key` alone.
    pub(crate) async fn execute_on_key(
        &self,
        statement: Statement,
        key: &[sea_query::Value],
    ) -> Result<u64> {
        let guard = self.writing();
        let done = self.conn.execute_as(statement, classify_error::<E>).await;
        let keys = guard.wants_keys().then(|| Rows::Keys(vec![key.to_vec()]));
        guard.done(keys).await;
        self.named(done).await
    }
}
