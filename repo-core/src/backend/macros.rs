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

/// `Db::$name()`: the pool of the backend `$variant`, if that is the `Db`'s.
macro_rules! pool_accessor {
    ($(#[$doc:meta])* $name:ident, $variant:ident, $pool:ty) => {
        impl crate::Db {
            $(#[$doc])*
            #[must_use]
            pub fn $name(&self) -> Option<&$pool> {
                #[allow(irrefutable_let_patterns)]
                if let super::Pool::$variant(pool) = &self.pool {
                    Some(pool)
                } else {
                    None
                }
            }
        }
    };
}
pub(crate) use pool_accessor;
