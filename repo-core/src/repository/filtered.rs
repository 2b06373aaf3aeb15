//! Writes of [`Repository`] to every row a filter matches: `update_where`, `delete_where`, each
//! taking its row locks in key order where the backend can.

use super::Traced as _;
use crate::entity::Writable;
use sea_query::{Condition, ExprTrait as _};

use super::audit::in_group;
use super::{Repository, now, record_rows};
use crate::error::Result;
use crate::filter::{Assignment, Filter};
use crate::statements::{self, Statement};

impl<E: Writable> Repository<'_, E> {
    /// Set columns on every row matching `filter` (and `updated_at` to now, unless assigned;
    /// on a versioned entity the version plus 1, unless assigned); the number of rows changed.
    /// Soft-deleted rows are left alone unless the repository's view includes them. No
    /// assignment is a [`Error::Validation`](crate::Error::Validation).
    pub async fn update_where(
        &self,
        filter: Filter<E>,
        assignments: impl IntoIterator<Item = Assignment<E>>,
    ) -> Result<u64> {
        let assignments: Vec<Assignment<E>> = assignments.into_iter().collect();
        async {
            if Self::audited() {
                if assignments
                    .iter()
                    .any(|a| E::PRIMARY_KEY.contains(&a.column))
                {
                    return Err(super::audit::key_changed::<E>());
                }
                let update = statements::update_where::<E>(Condition::all(), assignments, now())?;
                let (backend, scope) = (self.backend(), self.within(filter));
                let write = |keys| {
                    let mut update = update.clone();
                    update.cond_where(keys);
                    Ok(Statement::build(&update, backend))
                };
                let n = in_group!(self, |repo| repo.write_locked(scope.clone(), &write, false))?.0;
                record_rows(n);
                return Ok(n);
            }
            let condition = self.in_key_order(self.within(filter));
            let update = statements::update_where::<E>(condition, assignments, now())?;
            let n = self.execute(&update).await?;
            record_rows(n);
            Ok(n)
        }
        .traced::<E>("update_where")
        .await
    }

    /// Delete every row matching `filter`; how many were deleted. On an entity with a
    /// soft-delete column: mark the live ones deleted now (and add 1 to their version), and
    /// count those; rows deleted already keep the time they were deleted.
    pub async fn delete_where(&self, filter: Filter<E>) -> Result<u64> {
        async {
            let n = self.delete_rows(self.condition(filter), true).await?;
            record_rows(n);
            Ok(n)
        }
        .traced::<E>("delete_where")
        .await
    }

    /// Delete the rows matching `condition` in this repository's view (soft-delete the live
    /// ones, on an entity with a soft-delete column); how many. `ordered`: take the row locks
    /// in key order (see [`in_key_order`](Repository::in_key_order)), for a filtered write.
    pub(super) async fn delete_rows(&self, condition: Condition, ordered: bool) -> Result<u64> {
        let (backend, view, at) = (self.backend(), self.view, now());
        if Self::audited() {
            let scope = statements::within::<E>(view, condition);
            let write = |keys| Ok(statements::delete_rows::<E>(backend, view, keys, at));
            // Soft deletes keep the rows; only a hard delete removes them.
            let removes = E::soft_delete_column().is_none();
            return Ok(in_group!(self, |repo| repo.write_locked(
                scope.clone(),
                &write,
                removes
            ))?
            .0);
        }
        let condition = if ordered {
            self.in_key_order(condition)
        } else {
            condition
        };
        let delete = statements::delete_rows::<E>(backend, view, condition, at);
        self.execute_statement(delete).await
    }

    /// `condition`, taking the row locks of a filtered write in primary key order where the
    /// backend can (see [`Capabilities::ordered_write_locks`](crate::Capabilities)), so
    /// concurrent filtered writes over the same rows queue instead of deadlocking.
    fn in_key_order(&self, condition: Condition) -> Condition {
        if !self.backend().capabilities().ordered_write_locks {
            return condition;
        }
        let mut locked = statements::key_select::<E>(condition);
        locked.lock(sea_query::LockType::Update);
        Condition::all().add(statements::key_expr::<E>().in_subquery(locked))
    }
}
