//! `BaseRepository<E>`: the operations every generated repository has, forwarding to
//! [`Repository`].

use std::future::Future;

use futures_core::stream::BoxStream;

use super::Repository;
use crate::conflict::Conflict;
use crate::entity::{Entity, Writable};
use crate::error::Result;
use crate::filter::{Assignment, Filter};
use crate::page::{KeysetPage, KeysetRequest, Page, PageRequest};

/// The operations every repository has, implemented once over [`Repository`].
///
/// Generated repositories implement it by returning their inner [`Repository`]; write generic
/// code against it (`fn f(r: &impl BaseRepository<Dataset>)`). See [`Repository`] for what
/// each operation guarantees.
pub trait BaseRepository<E: Entity>: Send + Sync {
    /// The generic repository doing the work.
    fn repository(&self) -> &Repository<'_, E>;

    /// See [`Repository::find_by_id`].
    fn find_by_id(&self, id: impl Into<E::Id>) -> impl Future<Output = Result<Option<E>>> + Send {
        self.repository().find_by_id(id)
    }
    /// See [`Repository::get`].
    fn get(&self, id: impl Into<E::Id>) -> impl Future<Output = Result<E>> + Send {
        self.repository().get(id)
    }
    /// See [`Repository::insert`].
    fn insert(&self, entity: &E) -> impl Future<Output = Result<E>> + Send
    where
        E: Writable,
    {
        self.repository().insert(entity)
    }
    /// See [`Repository::update`].
    fn update(&self, entity: &E) -> impl Future<Output = Result<E>> + Send
    where
        E: Writable,
    {
        self.repository().update(entity)
    }
    /// See [`Repository::delete`].
    fn delete(&self, id: impl Into<E::Id>) -> impl Future<Output = Result<bool>> + Send
    where
        E: Writable,
    {
        self.repository().delete(id)
    }
    /// See [`Repository::delete_entity`].
    fn delete_entity(&self, entity: &E) -> impl Future<Output = Result<()>> + Send
    where
        E: Writable,
    {
        self.repository().delete_entity(entity)
    }
    /// See [`Repository::restore`].
    fn restore(&self, id: impl Into<E::Id>) -> impl Future<Output = Result<E>> + Send
    where
        E: Writable,
    {
        self.repository().restore(id)
    }
    /// See [`Repository::purge`].
    fn purge(&self, id: impl Into<E::Id>) -> impl Future<Output = Result<bool>> + Send
    where
        E: Writable,
    {
        self.repository().purge(id)
    }
    /// See [`Repository::purge_where`].
    fn purge_where(&self, filter: Filter<E>) -> impl Future<Output = Result<u64>> + Send
    where
        E: Writable,
    {
        self.repository().purge_where(filter)
    }
    /// See [`Repository::upsert`].
    fn upsert(&self, entity: &E) -> impl Future<Output = Result<E>> + Send
    where
        E: Writable,
    {
        self.repository().upsert(entity)
    }
    /// See [`Repository::upsert_with`].
    fn upsert_with(
        &self,
        entity: &E,
        conflict: Conflict<E>,
    ) -> impl Future<Output = Result<E>> + Send
    where
        E: Writable,
    {
        self.repository().upsert_with(entity, conflict)
    }
    /// See [`Repository::bulk_insert`].
    fn bulk_insert(&self, entities: &[E]) -> impl Future<Output = Result<u64>> + Send
    where
        E: Writable,
    {
        self.repository().bulk_insert(entities)
    }
    /// See [`Repository::bulk_upsert`].
    fn bulk_upsert(&self, entities: &[E]) -> impl Future<Output = Result<u64>> + Send
    where
        E: Writable,
    {
        self.repository().bulk_upsert(entities)
    }
    /// See [`Repository::bulk_upsert_returning`].
    fn bulk_upsert_returning(&self, entities: &[E]) -> impl Future<Output = Result<Vec<E>>> + Send
    where
        E: Writable,
    {
        self.repository().bulk_upsert_returning(entities)
    }
    /// See [`Repository::bulk_upsert_with`].
    fn bulk_upsert_with(
        &self,
        entities: &[E],
        conflict: Conflict<E>,
    ) -> impl Future<Output = Result<u64>> + Send
    where
        E: Writable,
    {
        self.repository().bulk_upsert_with(entities, conflict)
    }
    /// See [`Repository::bulk_upsert_returning_with`].
    fn bulk_upsert_returning_with(
        &self,
        entities: &[E],
        conflict: Conflict<E>,
    ) -> impl Future<Output = Result<Vec<E>>> + Send
    where
        E: Writable,
    {
        self.repository()
            .bulk_upsert_returning_with(entities, conflict)
    }
    /// See [`Repository::insert_new`].
    fn insert_new(&self, new: E::New) -> impl Future<Output = Result<E>> + Send
    where
        E: Writable,
    {
        self.repository().insert_new(new)
    }
    /// See [`Repository::bulk_insert_new`].
    fn bulk_insert_new(
        &self,
        new: impl IntoIterator<Item = E::New>,
    ) -> impl Future<Output = Result<u64>> + Send
    where
        E: Writable,
    {
        self.repository().bulk_insert_new(new)
    }
    /// See [`Repository::find`].
    fn find(
        &self,
        filter: Filter<E>,
        page: PageRequest<E>,
    ) -> impl Future<Output = Result<Page<E>>> + Send {
        self.repository().find(filter, page)
    }
    /// See [`Repository::find_all`].
    fn find_all(&self, filter: Filter<E>) -> impl Future<Output = Result<Vec<E>>> + Send {
        self.repository().find_all(filter)
    }
    /// See [`Repository::find_one`].
    fn find_one(&self, filter: Filter<E>) -> impl Future<Output = Result<Option<E>>> + Send {
        self.repository().find_one(filter)
    }
    /// See [`Repository::count`].
    fn count(&self, filter: Filter<E>) -> impl Future<Output = Result<u64>> + Send {
        self.repository().count(filter)
    }
    /// See [`Repository::exists`].
    fn exists(&self, filter: Filter<E>) -> impl Future<Output = Result<bool>> + Send {
        self.repository().exists(filter)
    }
    /// See [`Repository::update_where`].
    fn update_where(
        &self,
        filter: Filter<E>,
        assignments: impl IntoIterator<Item = Assignment<E>>,
    ) -> impl Future<Output = Result<u64>> + Send
    where
        E: Writable,
    {
        let assignments: Vec<Assignment<E>> = assignments.into_iter().collect();
        self.repository().update_where(filter, assignments)
    }
    /// See [`Repository::delete_where`].
    fn delete_where(&self, filter: Filter<E>) -> impl Future<Output = Result<u64>> + Send
    where
        E: Writable,
    {
        self.repository().delete_where(filter)
    }
    /// See [`Repository::stream`].
    fn stream(&self, filter: Filter<E>) -> BoxStream<'_, Result<E>> {
        self.repository().stream(filter)
    }
    /// See [`Repository::find_keyset`].
    fn find_keyset(
        &self,
        filter: Filter<E>,
        request: KeysetRequest<E>,
    ) -> impl Future<Output = Result<KeysetPage<E>>> + Send {
        self.repository().find_keyset(filter, request)
    }
}

impl<E: Entity> BaseRepository<E> for Repository<'_, E> {
    fn repository(&self) -> &Repository<'_, E> {
        self
    }
}
