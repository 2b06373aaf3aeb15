//! What the connected database says about a table's columns before anything is written to it:
//! their types as the driver sees them, and whether a trigger can change an inserted row. The
//! repository asks once per `Db` and entity, to tell whether the rows a write returns can
//! always be decoded (see [`DbField::decoding`](crate::DbField::decoding)).

use sqlx::TypeInfo as _;

use super::{Pool, Tx, dispatch};
use crate::field::Decoding;
use crate::row::Decodable;

/// One column of a table as the connected database describes it: the input of
/// [`DbField::decoding`](crate::DbField::decoding).
#[derive(Debug, Clone)]
pub struct ColumnInfo {
    inner: Described,
}

#[derive(Debug, Clone)]
enum Described {
    #[cfg(feature = "postgres")]
    Postgres(sqlx::postgres::PgTypeInfo),
    /// SQLite keeps any value in any column; the declared type only decides the conversions
    /// a stored value goes through (its affinity).
    #[cfg(feature = "sqlite")]
    Sqlite {
        declared: String,
        /// The column is the table's `INTEGER PRIMARY KEY`: the rowid, always an integer.
        rowid: bool,
    },
    #[cfg(feature = "mysql")]
    MySql(sqlx::mysql::MySqlTypeInfo),
}

/// How the framework stores a Rust type on SQLite, which has no column types of its own: the
/// storage class of the bound value, or `Any` when the type's reader accepts every class a
/// column's affinity can turn it into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stored {
    Integer,
    Real,
    Text,
    /// Text that never reads as a number (a timestamp, a UUID, an address): no affinity turns
    /// it into one.
    Label,
    /// A number read back whether the column holds it as an integer or a real.
    Number,
    Blob,
    Any,
}

/// Where every value of a compatible column type decodes.
#[derive(Debug, Clone, Copy)]
struct Total {
    postgres: bool,
    mysql: bool,
}

impl Total {
    const EVERYWHERE: Self = Self {
        postgres: true,
        mysql: true,
    };
    const NOWHERE: Self = Self {
        postgres: false,
        mysql: false,
    };
}

/// SQLite's type affinity of a declared column type (the rules of section 3.1 of "Datatypes In
/// SQLite").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Affinity {
    Integer,
    Text,
    Blob,
    Real,
    Numeric,
}

fn affinity(declared: &str) -> Affinity {
    let declared = declared.to_ascii_uppercase();
    if declared.contains("INT") {
        Affinity::Integer
    } else if ["CHAR", "CLOB", "TEXT"]
        .iter()
        .any(|t| declared.contains(t))
    {
        Affinity::Text
    } else if declared.contains("BLOB") || declared.trim().is_empty() {
        Affinity::Blob
    } else if ["REAL", "FLOA", "DOUB"]
        .iter()
        .any(|t| declared.contains(t))
    {
        Affinity::Real
    } else {
        Affinity::Numeric
    }
}

/// Whether a column of `affinity` stores a value of class `stored` as it was bound. TEXT
/// affinity turns numbers into text; INTEGER and NUMERIC turn numeric-looking text into numbers
/// and whole reals into integers; REAL turns integers into reals; a BLOB is never converted.
fn keeps(affinity: Affinity, stored: Stored) -> bool {
    match stored {
        Stored::Any | Stored::Blob | Stored::Label => true,
        Stored::Integer => matches!(
            affinity,
            Affinity::Integer | Affinity::Numeric | Affinity::Blob
        ),
        Stored::Real => matches!(affinity, Affinity::Real | Affinity::Blob),
        Stored::Number => affinity != Affinity::Text,
        Stored::Text => matches!(affinity, Affinity::Text | Affinity::Blob),
    }
}

impl ColumnInfo {
    /// The column's type as the database names it (`numeric`, `BIGINT`, `VARCHAR`, the
    /// declared type on SQLite).
    #[must_use]
    pub fn type_name(&self) -> &str {
        match &self.inner {
            #[cfg(feature = "postgres")]
            Described::Postgres(info) => info.name(),
            #[cfg(feature = "sqlite")]
            Described::Sqlite { declared, .. } => declared,
            #[cfg(feature = "mysql")]
            Described::MySql(info) => info.name(),
        }
    }

    /// How `T`, read by its sqlx decoder, decodes this column: refused when the driver does not
    /// read this column type as `T`; else [`Decoding::Total`] where every value of the type
    /// decodes (`total`: on PostgreSQL, on MariaDB), or [`Decoding::OwnValues`]. On SQLite, by
    /// whether the column's affinity keeps a value stored as `stored` unchanged.
    fn driver<T: Decodable>(&self, stored: Stored, total: Total) -> Decoding {
        let _ = (stored, total);
        match &self.inner {
            #[cfg(feature = "postgres")]
            Described::Postgres(info) => self.by_type(
                <T as sqlx::Type<sqlx::Postgres>>::compatible(info),
                total.postgres,
            ),
            #[cfg(feature = "mysql")]
            Described::MySql(info) => self.by_type(
                <T as sqlx::Type<sqlx::MySql>>::compatible(info),
                total.mysql,
            ),
            #[cfg(feature = "sqlite")]
            Described::Sqlite { rowid: true, .. } if stored == Stored::Integer => Decoding::Total,
            #[cfg(feature = "sqlite")]
            Described::Sqlite { declared, .. } => {
                if keeps(affinity(declared), stored) {
                    Decoding::OwnValues
                } else {
                    Decoding::Partial
                }
            }
        }
    }

    fn by_type(&self, compatible: bool, total: bool) -> Decoding {
        match (compatible, total) {
            (false, _) => Decoding::Refused(format!(
                "the column is `{}` in the database",
                self.type_name()
            )),
            (true, true) => Decoding::Total,
            (true, false) => Decoding::OwnValues,
        }
    }

    /// An integer type of `bytes` bytes: every value decodes where the column is no wider
    /// (MariaDB reads any integer column as any integer type, failing on a value out of range).
    pub(crate) fn integer<T: Decodable>(&self, bytes: u32) -> Decoding {
        let mysql = match &self.inner {
            #[cfg(feature = "mysql")]
            Described::MySql(info) => mysql_integer_bytes(info.name()).is_some_and(|w| w <= bytes),
            #[allow(unreachable_patterns)]
            _ => true,
        };
        let total = Total {
            postgres: true,
            mysql,
        };
        self.driver::<T>(Stored::Integer, total)
    }

    /// An `i64`, read from an integer column of any width and from an exact number without
    /// digits after the point (see `Row::integer`).
    pub(crate) fn wide_integer(&self) -> Decoding {
        let name = self.type_name().to_owned();
        match &self.inner {
            #[cfg(feature = "postgres")]
            Described::Postgres(_) => match name.as_str() {
                "INT2" | "INT4" | "INT8" => Decoding::Total,
                // A scale of its own turns every value into one with digits after the point.
                "NUMERIC" => Decoding::Partial,
                _ => self.by_type(false, false),
            },
            #[cfg(feature = "mysql")]
            Described::MySql(_) => match mysql_integer_bytes(&name) {
                Some(bytes) if bytes <= 8 => Decoding::Total,
                Some(_) => Decoding::OwnValues,
                None if name == "DECIMAL" => Decoding::Partial,
                None => self.by_type(false, false),
            },
            #[cfg(feature = "sqlite")]
            Described::Sqlite { .. } => self.integer::<i64>(8),
        }
    }

    /// An `f64`, read from a float or integer column of any width and from an exact number,
    /// as the nearest `f64` (see `Row::float`).
    pub(crate) fn wide_float(&self) -> Decoding {
        let name = self.type_name().to_owned();
        match &self.inner {
            #[cfg(feature = "postgres")]
            Described::Postgres(_) => match name.as_str() {
                "FLOAT4" | "FLOAT8" | "INT2" | "INT4" | "INT8" => Decoding::Total,
                // NaN, or more digits than a decimal holds, do not read.
                "NUMERIC" => Decoding::OwnValues,
                _ => self.by_type(false, false),
            },
            #[cfg(feature = "mysql")]
            Described::MySql(_) => match name.as_str() {
                "FLOAT" | "DOUBLE" => Decoding::Total,
                "DECIMAL" => Decoding::OwnValues,
                _ if mysql_integer_bytes(&name).is_some() => Decoding::Total,
                _ => self.by_type(false, false),
            },
            #[cfg(feature = "sqlite")]
            Described::Sqlite { .. } => self.driver::<f64>(Stored::Number, Total::NOWHERE),
        }
    }

    /// An unsigned integer, read from a signed one that must not be negative (or on MariaDB an
    /// unsigned column).
    pub(crate) fn unsigned(&self) -> Decoding {
        match &self.inner {
            #[cfg(feature = "mysql")]
            Described::MySql(info) if <u64 as sqlx::Type<sqlx::MySql>>::compatible(info) => {
                Decoding::OwnValues
            }
            _ => self.driver::<i64>(Stored::Integer, Total::NOWHERE),
        }
    }

    /// A boolean.
    pub(crate) fn boolean(&self) -> Decoding {
        self.driver::<bool>(Stored::Integer, Total::EVERYWHERE)
    }

    /// A binary floating point number.
    pub(crate) fn float<T: Decodable>(&self) -> Decoding {
        self.driver::<T>(Stored::Real, Total::EVERYWHERE)
    }

    /// Text, and on PostgreSQL the label of a native enum (see `Row::text`).
    pub(crate) fn text(&self) -> Decoding {
        if self.enum_labels().is_some() {
            return Decoding::Total;
        }
        self.driver::<String>(Stored::Text, Total::EVERYWHERE)
    }

    /// Bytes.
    pub(crate) fn bytes(&self) -> Decoding {
        self.driver::<Vec<u8>>(Stored::Blob, Total::EVERYWHERE)
    }

    /// A UUID (a `uuid` on PostgreSQL, 16 bytes elsewhere).
    pub(crate) fn uuid(&self) -> Decoding {
        self.driver::<uuid::Uuid>(Stored::Blob, Total::EVERYWHERE)
    }

    /// A date, time or timestamp of type `T`: SQLite text that no affinity converts; MariaDB
    /// can hold zero dates, which no date type reads.
    pub(crate) fn temporal<T: Decodable>(&self) -> Decoding {
        let total = Total {
            postgres: true,
            mysql: false,
        };
        self.driver::<T>(Stored::Label, total)
    }

    /// A timestamp of type `T`: on SQLite also read from the other forms SQLite's date
    /// functions write (integers, reals, text in several formats).
    pub(crate) fn timestamp<T: Decodable>(&self) -> Decoding {
        let total = Total {
            postgres: true,
            mysql: false,
        };
        self.driver::<T>(Stored::Any, total)
    }

    /// An integer type `T` read from a column and checked against a narrower range.
    pub(crate) fn ranged<T: Decodable>(&self) -> Decoding {
        self.driver::<T>(Stored::Integer, Total::NOWHERE)
    }

    /// A JSON document: any one reads back on PostgreSQL; elsewhere it is text to parse.
    pub(crate) fn json(&self) -> Decoding {
        let total = Total {
            postgres: true,
            mysql: false,
        };
        self.driver::<serde_json::Value>(Stored::Text, total)
    }

    /// An embedding: a `real[]` on PostgreSQL, a BLOB of whole floats elsewhere.
    pub(crate) fn floats(&self) -> Decoding {
        match &self.inner {
            #[cfg(feature = "postgres")]
            Described::Postgres(info) => self.by_type(
                <Vec<f32> as sqlx::Type<sqlx::Postgres>>::compatible(info),
                true,
            ),
            #[allow(unreachable_patterns)]
            _ => self.driver::<Vec<u8>>(Stored::Blob, Total::NOWHERE),
        }
    }

    /// An IP address: `inet` on PostgreSQL (a network with a prefix does not read as an
    /// address), text elsewhere.
    pub(crate) fn ip(&self) -> Decoding {
        match &self.inner {
            #[cfg(feature = "postgres")]
            Described::Postgres(info) => self.by_type(
                <std::net::IpAddr as sqlx::Type<sqlx::Postgres>>::compatible(info),
                false,
            ),
            #[allow(unreachable_patterns)]
            _ => self.driver::<String>(Stored::Label, Total::NOWHERE),
        }
    }

    /// An exact decimal: the database's decimal type (whose range may exceed the Rust type's);
    /// on SQLite whatever the affinity made of its text.
    #[cfg(feature = "decimal")]
    pub(crate) fn decimal(&self) -> Decoding {
        use rust_decimal::Decimal;
        match &self.inner {
            #[cfg(feature = "postgres")]
            Described::Postgres(info) => self.by_type(
                <Decimal as sqlx::Type<sqlx::Postgres>>::compatible(info),
                false,
            ),
            #[cfg(feature = "mysql")]
            Described::MySql(info) => self.by_type(
                <Decimal as sqlx::Type<sqlx::MySql>>::compatible(info),
                false,
            ),
            #[cfg(feature = "sqlite")]
            Described::Sqlite { .. } => Decoding::OwnValues,
        }
    }

    /// An enum stored by label: every value decodes where the column is a database enum type
    /// none of whose labels the Rust enum lacks.
    pub(crate) fn labels<T: Decodable>(&self, labels: &[&str]) -> Decoding {
        let numeric = labels
            .iter()
            .any(|label| label.trim().parse::<f64>().is_ok());
        let stored = if numeric { Stored::Text } else { Stored::Label };
        let known = self
            .enum_labels()
            .is_some_and(|found| found.iter().all(|f| labels.contains(&f.as_str())));
        let total = Total {
            postgres: known,
            mysql: false,
        };
        self.driver::<T>(stored, total)
    }

    /// The labels of the column's enum type, where the database has enum types (PostgreSQL).
    fn enum_labels(&self) -> Option<&[String]> {
        match &self.inner {
            #[cfg(feature = "postgres")]
            Described::Postgres(info) => match info.kind() {
                sqlx::postgres::PgTypeKind::Enum(labels) => Some(labels),
                _ => None,
            },
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }
}

/// The width in bytes of a MariaDB integer column type named `name` (`BIGINT`, `INT UNSIGNED`,
/// …), counting an unsigned type as one byte wider; `None` for other types.
#[cfg(feature = "mysql")]
fn mysql_integer_bytes(name: &str) -> Option<u32> {
    let unsigned = name.contains("UNSIGNED");
    let bytes = match name.split_whitespace().next()? {
        "TINYINT" => 1,
        "SMALLINT" => 2,
        "MEDIUMINT" => 3,
        "INT" => 4,
        "BIGINT" => 8,
        _ => return None,
    };
    Some(bytes + u32::from(unsigned))
}

/// What the database says about a table before a write that returns its rows.
#[derive(Debug)]
pub(crate) struct TableDescription {
    /// The entity's columns, in the order they were asked for.
    pub(crate) columns: Vec<ColumnInfo>,
    /// Whether each of those columns is NOT NULL.
    pub(crate) not_null: Vec<bool>,
    /// A trigger may change a row before it is inserted, so an insert can return values the
    /// caller did not write.
    pub(crate) changes_inserts: bool,
}

/// The request: `select` is `SELECT <columns> FROM <table>` in the backend's dialect.
pub(crate) struct Table<'a> {
    pub(crate) schema: Option<&'a str>,
    pub(crate) name: &'a str,
    /// The table's name quoted and qualified as PostgreSQL reads it.
    pub(crate) quoted: &'a str,
    pub(crate) columns: &'a [&'static str],
    pub(crate) select: &'a str,
}

/// Reading a table's description on one backend, on one of its connections.
pub(crate) trait Describe: sqlx::Database {
    async fn describe(
        connection: &mut Self::Connection,
        table: &Table<'_>,
    ) -> Result<TableDescription, sqlx::Error>;
}

/// Each column's NOT NULL, by name, and whether a row trigger may change an insert's values.
type Constraints = (Vec<(String, bool)>, bool);

/// A backend whose driver describes a statement's result columns when preparing it; the rest
/// from its catalog (`constraints`).
macro_rules! describe_with_prepare {
    ($db:ty, $variant:ident, $constraints:expr) => {
        impl Describe for $db {
            async fn describe(
                connection: &mut Self::Connection,
                table: &Table<'_>,
            ) -> Result<TableDescription, sqlx::Error> {
                use sqlx::{Column as _, Executor as _, Statement as _};
                let statement = (&mut *connection)
                    .prepare(sqlx::AssertSqlSafe(table.select.to_owned()).into_sql_str())
                    .await?;
                let columns = statement
                    .columns()
                    .iter()
                    .map(|column| ColumnInfo {
                        inner: Described::$variant(column.type_info().clone()),
                    })
                    .collect();
                let (nullability, changes_inserts): Constraints =
                    $constraints(&mut *connection, table).await?;
                Ok(TableDescription {
                    columns,
                    not_null: not_null(table, &nullability),
                    changes_inserts,
                })
            }
        }
    };
}

/// Whether each column of `table` is NOT NULL, from `(name, not null)` pairs.
fn not_null(table: &Table<'_>, found: &[(String, bool)]) -> Vec<bool> {
    table
        .columns
        .iter()
        .map(|name| {
            found
                .iter()
                .any(|(column, not_null)| column == name && *not_null)
        })
        .collect()
}

use sqlx::SqlSafeStr as _;

/// Each column's NOT NULL, and whether a `BEFORE INSERT … FOR EACH ROW` trigger (which may
/// change `NEW`) sits on the table.
#[cfg(feature = "postgres")]
async fn postgres_constraints(
    connection: &mut sqlx::PgConnection,
    table: &Table<'_>,
) -> Result<Constraints, sqlx::Error> {
    // tgtype bits: 1 row-level, 2 before, 4 insert.
    let rows: Vec<(String, bool, bool)> = sqlx::query_as(
        "SELECT a.attname::text, a.attnotnull, EXISTS (SELECT 1 FROM pg_trigger \
         WHERE tgrelid = to_regclass($1) AND NOT tgisinternal AND tgtype & 7 = 7) \
         FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 \
         AND NOT a.attisdropped",
    )
    .bind(table.quoted)
    .fetch_all(connection)
    .await?;
    let triggers = rows.first().is_some_and(|row| row.2);
    Ok((
        rows.into_iter().map(|(n, nn, _)| (n, nn)).collect(),
        triggers,
    ))
}

#[cfg(feature = "mysql")]
async fn mysql_constraints(
    connection: &mut sqlx::MySqlConnection,
    table: &Table<'_>,
) -> Result<Constraints, sqlx::Error> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT CAST(COLUMN_NAME AS CHAR), IS_NULLABLE = 'NO', (SELECT COUNT(*) \
         FROM information_schema.TRIGGERS t WHERE t.EVENT_OBJECT_SCHEMA = c.TABLE_SCHEMA \
         AND t.EVENT_OBJECT_TABLE = c.TABLE_NAME AND t.ACTION_TIMING = 'BEFORE' \
         AND t.EVENT_MANIPULATION = 'INSERT') \
         FROM information_schema.COLUMNS c \
         WHERE c.TABLE_SCHEMA = COALESCE(?, DATABASE()) AND c.TABLE_NAME = ?",
    )
    .bind(table.schema)
    .bind(table.name)
    .fetch_all(connection)
    .await?;
    let triggers = rows.first().is_some_and(|row| row.2 > 0);
    Ok((
        rows.into_iter().map(|(n, nn, _)| (n, nn != 0)).collect(),
        triggers,
    ))
}

#[cfg(feature = "postgres")]
describe_with_prepare!(sqlx::Postgres, Postgres, postgres_constraints);
#[cfg(feature = "mysql")]
describe_with_prepare!(sqlx::MySql, MySql, mysql_constraints);

#[cfg(feature = "sqlite")]
impl Describe for sqlx::Sqlite {
    /// SQLite's declared types, from `pragma_table_info`. A trigger cannot change what an
    /// insert returns there: `RETURNING` reports the row the statement itself wrote.
    async fn describe(
        connection: &mut Self::Connection,
        table: &Table<'_>,
    ) -> Result<TableDescription, sqlx::Error> {
        let declared: Vec<(String, String, bool, i64)> =
            sqlx::query_as("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?, ?)")
                .bind(table.name)
                .bind(table.schema.unwrap_or("main"))
                .fetch_all(&mut *connection)
                .await?;
        let key_columns = declared.iter().filter(|column| column.3 > 0).count();
        let columns = table
            .columns
            .iter()
            .map(|name| {
                declared
                    .iter()
                    .find(|(column, ..)| column == name)
                    .map(|(_, declared, _, pk)| ColumnInfo {
                        inner: Described::Sqlite {
                            declared: declared.clone(),
                            rowid: *pk > 0
                                && key_columns == 1
                                && declared.eq_ignore_ascii_case("INTEGER"),
                        },
                    })
                    .ok_or_else(|| sqlx::Error::ColumnNotFound((*name).to_owned()))
            })
            .collect::<Result<_, _>>()?;
        let nullability: Vec<(String, bool)> =
            declared.into_iter().map(|(n, _, nn, _)| (n, nn)).collect();
        Ok(TableDescription {
            columns,
            not_null: not_null(table, &nullability),
            changes_inserts: false,
        })
    }
}

impl Pool {
    /// The description of `table`, read on a connection of the pool.
    pub(crate) async fn describe(
        &self,
        table: &Table<'_>,
    ) -> Result<TableDescription, sqlx::Error> {
        dispatch!(Pool, self, |pool, D| {
            let mut connection = pool.acquire().await?;
            <D as Describe>::describe(&mut connection, table).await
        })
    }
}

impl Tx {
    /// The description of `table`, read inside the transaction.
    pub(crate) async fn describe(
        &mut self,
        table: &Table<'_>,
    ) -> Result<TableDescription, sqlx::Error> {
        dispatch!(Tx, self, |tx, D| <D as Describe>::describe(
            &mut **tx, table
        )
        .await)
    }
}

#[cfg(test)]
mod tests {
    use super::{Affinity, Stored, affinity, keeps};

    #[test]
    fn affinity_follows_sqlite_rules() {
        for (declared, expected) in [
            ("INTEGER", Affinity::Integer),
            ("BIGINT", Affinity::Integer),
            ("VARCHAR(20)", Affinity::Text),
            ("text", Affinity::Text),
            ("BLOB", Affinity::Blob),
            ("", Affinity::Blob),
            ("DOUBLE PRECISION", Affinity::Real),
            ("NUMERIC(10,2)", Affinity::Numeric),
            ("DECIMAL", Affinity::Numeric),
            ("TIMESTAMP", Affinity::Numeric),
            ("BOOLEAN", Affinity::Numeric),
        ] {
            assert_eq!(affinity(declared), expected, "{declared}");
        }
        assert!(keeps(Affinity::Numeric, Stored::Integer));
        assert!(!keeps(Affinity::Numeric, Stored::Real));
        assert!(!keeps(Affinity::Text, Stored::Integer));
        assert!(keeps(Affinity::Text, Stored::Text));
        assert!(!keeps(Affinity::Integer, Stored::Text));
        assert!(keeps(Affinity::Real, Stored::Real));
    }
}
