//! A unit of work: one transaction shared by every repository built on it.

use tokio::sync::{Mutex, MutexGuard};

use crate::db::{Backend, Db, Pool};
use crate::error::Result;

/// The transaction a [`Session`] holds.
#[derive(Debug)]
pub(crate) enum Tx {
    #[cfg(feature = "postgres")]
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
}

/// A unit of work: a transaction that several repositories share.
///
/// Build repositories with `XRepository::new(&session)`; every call they make runs in this
/// transaction, one at a time (a call waits while another holds the session, and a
/// [`stream`](crate::BaseRepository::stream) holds it until the stream is dropped).
/// [`commit`](Session::commit) makes the work durable; [`rollback`](Session::rollback) or simply
/// dropping the session undoes all of it. On SQLite the transaction starts `IMMEDIATE`, taking
/// the write lock at once, so concurrent sessions queue instead of failing with a deadlock.
///
/// An in-memory SQLite database has a single connection: while a session holds it, a
/// repository on the `Db` itself waits for it (and fails after the acquire timeout), so use the
/// session's repositories until it ends.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> repo_core::Result<()> {
/// let db = repo_core::Db::connect("sqlite::memory:").await?;
/// let session = db.begin().await?;
/// // ... repositories on &session ...
/// session.commit().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Session {
    backend: Backend,
    tx: Mutex<Tx>,
}

impl Session {
    pub(crate) async fn begin(db: &Db) -> Result<Self> {
        let tx = match &db.pool {
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => Tx::Postgres(pool.begin().await?),
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
        };
        Ok(Self {
            backend: db.backend(),
            tx: Mutex::new(tx),
        })
    }

    /// The backend of the session's database.
    #[must_use]
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Make every write of the session durable.
    pub async fn commit(self) -> Result<()> {
        match self.tx.into_inner() {
            #[cfg(feature = "postgres")]
            Tx::Postgres(tx) => tx.commit().await?,
            #[cfg(feature = "sqlite")]
            Tx::Sqlite(tx) => tx.commit().await?,
        }
        Ok(())
    }

    /// Undo every write of the session.
    pub async fn rollback(self) -> Result<()> {
        match self.tx.into_inner() {
            #[cfg(feature = "postgres")]
            Tx::Postgres(tx) => tx.rollback().await?,
            #[cfg(feature = "sqlite")]
            Tx::Sqlite(tx) => tx.rollback().await?,
        }
        Ok(())
    }

    pub(crate) async fn lock(&self) -> MutexGuard<'_, Tx> {
        self.tx.lock().await
    }
}
