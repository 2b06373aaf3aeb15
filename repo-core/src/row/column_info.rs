//! Columns as the connected database describes them, and how surely each field type decodes
//! them ([`DbField::decoding`](crate::DbField::decoding)): asked once per `Db` and entity
//! before a write that returns rows.

use sqlx::TypeInfo as _;

use crate::row::Decodable;

/// How surely a field type decodes the values of a column: see [`DbField::decoding`](crate::DbField::decoding).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decoding {
    /// Every value the column can hold decodes.
    Total,
    /// What this type writes reads back as it was written; a value stored by others (a label
    /// an older version of the enum did not have, text in another format) may not decode.
    OwnValues,
    /// Even a value this type writes may come back in a form it cannot decode (the database
    /// converts it, as SQLite's column affinity turns numeric text into a number).
    Partial,
    /// No value of the column decodes as this type (a `NUMERIC` column under an `f64` field):
    /// why, in the database's terms.
    Refused(String),
}

impl Decoding {
    /// The weaker of two answers: how surely both decode.
    #[must_use]
    pub fn and(self, other: Self) -> Self {
        fn rank(d: &Decoding) -> u8 {
            match d {
                Decoding::Refused(_) => 0,
                Decoding::Partial => 1,
                Decoding::OwnValues => 2,
                Decoding::Total => 3,
            }
        }
        if rank(&other) < rank(&self) {
            other
        } else {
            self
        }
    }
}

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

impl ColumnInfo {
    /// A PostgreSQL column of type `info`.
    #[cfg(feature = "postgres")]
    pub(crate) fn postgres(info: sqlx::postgres::PgTypeInfo) -> Self {
        Self {
            inner: Described::Postgres(info),
        }
    }

    /// A MariaDB column of type `info`.
    #[cfg(feature = "mysql")]
    pub(crate) fn mysql(info: sqlx::mysql::MySqlTypeInfo) -> Self {
        Self {
            inner: Described::MySql(info),
        }
    }

    /// A SQLite column declared `declared`; `rowid` when it is the table's `INTEGER PRIMARY
    /// KEY`.
    #[cfg(feature = "sqlite")]
    pub(crate) fn sqlite(declared: String, rowid: bool) -> Self {
        Self {
            inner: Described::Sqlite { declared, rowid },
        }
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
