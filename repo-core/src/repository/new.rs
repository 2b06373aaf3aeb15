//! Inserting new entities from their input type ([`Entity::New`], `NewX` for a derived
//! entity): the caller supplies what it knows, the database and the repository the rest.

use crate::entity::Writable;
use std::future::Future;

use super::{Repository, Traced as _};
use crate::error::Result;

impl<E: Writable> Repository<'_, E> {
    /// Insert the entity `new` describes; the stored row, with the key the database generated
    /// and the timestamps the repository set. As [`insert`](Repository::insert) of
    /// [`Entity::from_new`](crate::Entity::from_new).
    pub fn insert_new(&self, new: E::New) -> impl Future<Output = Result<E>> + Send + '_ {
        let entity = E::from_new(new);
        async move { self.insert(&entity).await }.traced::<E>("insert_new")
    }

    /// Insert every entity `new` describes, atomically; the number of rows inserted. As
    /// [`bulk_insert`](Repository::bulk_insert) of [`Entity::from_new`](crate::Entity::from_new) of each.
    pub fn bulk_insert_new(
        &self,
        new: impl IntoIterator<Item = E::New>,
    ) -> impl Future<Output = Result<u64>> + Send + '_ {
        let entities: Vec<E> = new.into_iter().map(E::from_new).collect();
        async move { self.bulk_insert(&entities).await }.traced::<E>("bulk_insert_new")
    }
}
