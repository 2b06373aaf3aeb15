//! sqlx's `Type`, `Encode` and `Decode` for `#[derive(DbEnum)]` enums, on every enabled backend.
//!
//! A blanket `impl<T: DbEnum> sqlx::Decode<'_, Postgres> for T` is not allowed here (neither the
//! trait nor `T` is local), so the derive expands to one call of `impl_sqlx_for_db_enum!`
//! naming the enum; that macro is defined for the backends this crate was built with, so the
//! user's crate needs neither `cfg`s nor a direct sqlx dependency. The impls it writes delegate
//! to the generic functions of this module, which are also what
//! [`DbField`](crate::DbField)'s decoding of an enum runs: an enum decodes the same way in an
//! entity, in a `#[derive(FromRow)]` row and in a plain sqlx query.
//!
//! On PostgreSQL the type is the native enum type named [`DbEnum::TYPE_NAME`]; text columns
//! (`text`, `varchar`, `name`, or an enum cast with `::text`) decode too. On SQLite it is text.
//! A stored label the enum does not know is an [`UnknownLabel`] error, never a skipped row.

use crate::field::DbEnum;

/// A stored label that no variant of the enum has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownLabel {
    /// The label as stored.
    pub label: String,
    /// The Rust name of the enum.
    pub enum_name: &'static str,
    /// The labels the enum knows.
    pub labels: &'static [&'static str],
}

impl std::fmt::Display for UnknownLabel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` is not a label of enum {} (expected one of: {})",
            self.label,
            self.enum_name,
            self.labels.join(", ")
        )
    }
}

impl std::error::Error for UnknownLabel {}

/// The Rust name of `T`, without its module path.
fn short_type_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}

/// The variant of `T` stored as `label`.
pub fn parse_label<T: DbEnum>(label: &str) -> Result<T, UnknownLabel> {
    T::from_label(label).ok_or_else(|| UnknownLabel {
        label: label.to_owned(),
        enum_name: short_type_name::<T>(),
        labels: T::LABELS,
    })
}

/// The PostgreSQL side: the native enum type, with text accepted when decoding.
#[cfg(feature = "postgres")]
pub mod postgres {
    use sqlx::encode::IsNull;
    use sqlx::error::BoxDynError;
    use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef, Postgres};
    use sqlx::{Decode, Encode, Type};

    use crate::field::DbEnum;

    /// The enum type named [`DbEnum::TYPE_NAME`].
    #[must_use]
    pub fn type_info<T: DbEnum>() -> PgTypeInfo {
        PgTypeInfo::with_name(T::TYPE_NAME)
    }

    /// Whether a column of type `ty` decodes as `T`: its enum type, or any text type.
    #[must_use]
    pub fn compatible<T: DbEnum>(ty: &PgTypeInfo) -> bool {
        *ty == type_info::<T>() || <str as Type<Postgres>>::compatible(ty)
    }

    /// Write the label of `value` (the wire format of an enum is its label's text).
    pub fn encode<T: DbEnum>(value: &T, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <&str as Encode<'_, Postgres>>::encode_by_ref(&value.as_label(), buf)
    }

    /// Read a label and map it to its variant.
    pub fn decode<T: DbEnum>(value: PgValueRef<'_>) -> Result<T, BoxDynError> {
        let label = <&str as Decode<'_, Postgres>>::decode(value)?;
        Ok(super::parse_label(label)?)
    }
}

/// The SQLite side: the label as text.
#[cfg(feature = "sqlite")]
pub mod sqlite {
    use sqlx::encode::IsNull;
    use sqlx::error::BoxDynError;
    use sqlx::sqlite::{Sqlite, SqliteArgumentsBuffer, SqliteTypeInfo, SqliteValueRef};
    use sqlx::{Decode, Encode, Type};

    use crate::field::DbEnum;

    /// Text.
    #[must_use]
    pub fn type_info() -> SqliteTypeInfo {
        <str as Type<Sqlite>>::type_info()
    }

    /// Whether a column of type `ty` decodes as an enum: text.
    #[must_use]
    pub fn compatible(ty: &SqliteTypeInfo) -> bool {
        <str as Type<Sqlite>>::compatible(ty)
    }

    /// Write the label of `value`.
    pub fn encode<T: DbEnum>(
        value: &T,
        buf: &mut SqliteArgumentsBuffer,
    ) -> Result<IsNull, BoxDynError> {
        <&str as Encode<'_, Sqlite>>::encode_by_ref(&value.as_label(), buf)
    }

    /// Read a label and map it to its variant.
    pub fn decode<T: DbEnum>(value: SqliteValueRef<'_>) -> Result<T, BoxDynError> {
        let label = <&str as Decode<'_, Sqlite>>::decode(value)?;
        Ok(super::parse_label(label)?)
    }
}

/// The MySQL side: the label as text.
#[cfg(feature = "mysql")]
pub mod mysql {
    use sqlx::encode::IsNull;
    use sqlx::error::BoxDynError;
    use sqlx::mysql::{MySql, MySqlTypeInfo, MySqlValueRef};
    use sqlx::{Decode, Encode, Type};

    use crate::field::DbEnum;

    /// Text.
    #[must_use]
    pub fn type_info() -> MySqlTypeInfo {
        <str as Type<MySql>>::type_info()
    }

    /// Whether a column of type `ty` decodes as an enum: text (or a MySQL `ENUM` column).
    #[must_use]
    pub fn compatible(ty: &MySqlTypeInfo) -> bool {
        <str as Type<MySql>>::compatible(ty)
    }

    /// Write the label of `value`.
    pub fn encode<T: DbEnum>(value: &T, buf: &mut Vec<u8>) -> Result<IsNull, BoxDynError> {
        <&str as Encode<'_, MySql>>::encode_by_ref(&value.as_label(), buf)
    }

    /// Read a label and map it to its variant.
    pub fn decode<T: DbEnum>(value: MySqlValueRef<'_>) -> Result<T, BoxDynError> {
        let label = <&str as Decode<'_, MySql>>::decode(value)?;
        Ok(super::parse_label(label)?)
    }
}

/// Implement sqlx's `Type`, `Encode` and `Decode` for a `DbEnum` on every backend this crate
/// was built with. `#[derive(DbEnum)]` calls it; not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! impl_sqlx_for_db_enum {
    ($ty:ty) => {
        $crate::__impl_sqlx_for_db_enum_postgres!($ty);
        $crate::__impl_sqlx_for_db_enum_sqlite!($ty);
        $crate::__impl_sqlx_for_db_enum_mysql!($ty);
    };
}

#[cfg(feature = "postgres")]
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_sqlx_for_db_enum_postgres {
    ($ty:ty) => {
        impl $crate::__private::sqlx::Type<$crate::__private::sqlx::postgres::Postgres> for $ty {
            fn type_info() -> $crate::__private::sqlx::postgres::PgTypeInfo {
                $crate::__private::db_enum::postgres::type_info::<Self>()
            }
            fn compatible(ty: &$crate::__private::sqlx::postgres::PgTypeInfo) -> bool {
                $crate::__private::db_enum::postgres::compatible::<Self>(ty)
            }
        }
        impl $crate::__private::sqlx::Encode<'_, $crate::__private::sqlx::postgres::Postgres>
            for $ty
        {
            fn encode_by_ref(
                &self,
                buf: &mut $crate::__private::sqlx::postgres::PgArgumentBuffer,
            ) -> $crate::__private::StdResult<
                $crate::__private::sqlx::encode::IsNull,
                $crate::__private::sqlx::error::BoxDynError,
            > {
                $crate::__private::db_enum::postgres::encode(self, buf)
            }
        }
        impl<'r> $crate::__private::sqlx::Decode<'r, $crate::__private::sqlx::postgres::Postgres>
            for $ty
        {
            fn decode(
                value: $crate::__private::sqlx::postgres::PgValueRef<'r>,
            ) -> $crate::__private::StdResult<Self, $crate::__private::sqlx::error::BoxDynError>
            {
                $crate::__private::db_enum::postgres::decode(value)
            }
        }
    };
}

#[cfg(not(feature = "postgres"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_sqlx_for_db_enum_postgres {
    ($ty:ty) => {};
}

#[cfg(feature = "sqlite")]
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_sqlx_for_db_enum_sqlite {
    ($ty:ty) => {
        impl $crate::__private::sqlx::Type<$crate::__private::sqlx::sqlite::Sqlite> for $ty {
            fn type_info() -> $crate::__private::sqlx::sqlite::SqliteTypeInfo {
                $crate::__private::db_enum::sqlite::type_info()
            }
            fn compatible(ty: &$crate::__private::sqlx::sqlite::SqliteTypeInfo) -> bool {
                $crate::__private::db_enum::sqlite::compatible(ty)
            }
        }
        impl $crate::__private::sqlx::Encode<'_, $crate::__private::sqlx::sqlite::Sqlite> for $ty {
            fn encode_by_ref(
                &self,
                buf: &mut $crate::__private::sqlx::sqlite::SqliteArgumentsBuffer,
            ) -> $crate::__private::StdResult<
                $crate::__private::sqlx::encode::IsNull,
                $crate::__private::sqlx::error::BoxDynError,
            > {
                $crate::__private::db_enum::sqlite::encode(self, buf)
            }
        }
        impl<'r> $crate::__private::sqlx::Decode<'r, $crate::__private::sqlx::sqlite::Sqlite>
            for $ty
        {
            fn decode(
                value: $crate::__private::sqlx::sqlite::SqliteValueRef<'r>,
            ) -> $crate::__private::StdResult<Self, $crate::__private::sqlx::error::BoxDynError>
            {
                $crate::__private::db_enum::sqlite::decode(value)
            }
        }
    };
}

#[cfg(not(feature = "sqlite"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_sqlx_for_db_enum_sqlite {
    ($ty:ty) => {};
}

#[cfg(feature = "mysql")]
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_sqlx_for_db_enum_mysql {
    ($ty:ty) => {
        impl $crate::__private::sqlx::Type<$crate::__private::sqlx::mysql::MySql> for $ty {
            fn type_info() -> $crate::__private::sqlx::mysql::MySqlTypeInfo {
                $crate::__private::db_enum::mysql::type_info()
            }
            fn compatible(ty: &$crate::__private::sqlx::mysql::MySqlTypeInfo) -> bool {
                $crate::__private::db_enum::mysql::compatible(ty)
            }
        }
        impl $crate::__private::sqlx::Encode<'_, $crate::__private::sqlx::mysql::MySql> for $ty {
            fn encode_by_ref(
                &self,
                buf: &mut $crate::__private::Vec<u8>,
            ) -> $crate::__private::StdResult<
                $crate::__private::sqlx::encode::IsNull,
                $crate::__private::sqlx::error::BoxDynError,
            > {
                $crate::__private::db_enum::mysql::encode(self, buf)
            }
        }
        impl<'r> $crate::__private::sqlx::Decode<'r, $crate::__private::sqlx::mysql::MySql>
            for $ty
        {
            fn decode(
                value: $crate::__private::sqlx::mysql::MySqlValueRef<'r>,
            ) -> $crate::__private::StdResult<Self, $crate::__private::sqlx::error::BoxDynError>
            {
                $crate::__private::db_enum::mysql::decode(value)
            }
        }
    };
}

#[cfg(not(feature = "mysql"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_sqlx_for_db_enum_mysql {
    ($ty:ty) => {};
}
