//! Code each backend file writes the same way, with its own types.

/// Run each of `$settings` (SQL text) on the new connection `$conn`; the first failure.
macro_rules! run_settings {
    ($conn:expr, $settings:expr) => {{
        let mut result = Ok(());
        for sql in $settings.iter() {
            if let Err(error) = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()))
                .execute(&mut *$conn)
                .await
            {
                result = Err(error);
                break;
            }
        }
        result
    }};
}
pub(crate) use run_settings;

/// `Db::postgres_pool()`, `Db::sqlite_pool()`, `Db::mysql_pool()`: the pool of each backend
/// compiled in, if it is the `Db`'s; written where `Db` is declared (`pool_accessors!();`).
macro_rules! pool_accessors {
    () => {
        $crate::backend::macros::pool_accessor!(
            "postgres",
            /// The PostgreSQL pool, for hand-written sqlx beside the repositories.
            postgres_pool,
            Postgres,
            ::sqlx::PgPool
        );
        $crate::backend::macros::pool_accessor!(
            "sqlite",
            /// The SQLite pool, for hand-written sqlx beside the repositories.
            sqlite_pool,
            Sqlite,
            ::sqlx::SqlitePool
        );
        $crate::backend::macros::pool_accessor!(
            "mysql",
            /// The MySQL/MariaDB pool, for hand-written sqlx beside the repositories.
            mysql_pool,
            MySql,
            ::sqlx::MySqlPool
        );
    };
}
pub(crate) use pool_accessors;

/// One accessor of [`pool_accessors`], compiled with its backend's feature `$feature`.
macro_rules! pool_accessor {
    ($feature:literal, $(#[$doc:meta])* $name:ident, $variant:ident, $pool:ty) => {
        #[cfg(feature = $feature)]
        impl Db {
            $(#[$doc])*
            #[must_use]
            pub fn $name(&self) -> Option<&$pool> {
                #[allow(irrefutable_let_patterns)]
                if let $crate::backend::Pool::$variant(conns) = &self.pool {
                    Some(&conns.pool)
                } else {
                    None
                }
            }
        }
    };
}
pub(crate) use pool_accessor;
