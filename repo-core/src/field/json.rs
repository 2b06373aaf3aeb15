//! Storage of `#[repo(json)]` fields: any serde type as a JSON document (`jsonb` on
//! PostgreSQL, text on SQLite). A JSON `null` is stored as SQL NULL and read back from it.

use sea_query::{ColumnType, Value};
use serde::{Serialize, de::DeserializeOwned};

use crate::dialect::Backend;
use crate::row::Row;

/// The bound value of a JSON field; a value serde cannot serialize is a
/// [`Validation`](crate::Error::Validation) error naming `field`.
pub fn to_value<T: Serialize>(value: &T, field: &str) -> crate::Result<Value> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::Null) => Ok(Value::Json(None)),
        Ok(json) => Ok(Value::Json(Some(Box::new(json)))),
        Err(e) => Err(crate::Error::validation(field, e.to_string())),
    }
}

/// A JSON field back from the value [`to_value`] made.
#[must_use]
pub fn from_value<T: DeserializeOwned>(value: &Value) -> Option<T> {
    match value {
        Value::Json(Some(json)) => serde_json::from_value((**json).clone()).ok(),
        Value::Json(None) => serde_json::from_value(serde_json::Value::Null).ok(),
        _ => None,
    }
}

/// Decode a JSON field.
pub fn decode<T: DeserializeOwned>(row: &Row, index: usize) -> Result<T, sqlx::Error> {
    let json: Option<serde_json::Value> = if row.is_null(index)? {
        None
    } else {
        Some(row.try_get(index)?)
    };
    serde_json::from_value(json.unwrap_or(serde_json::Value::Null)).map_err(|e| {
        sqlx::Error::ColumnDecode {
            index: index.to_string(),
            source: e.into(),
        }
    })
}

/// Whether the JSON field admits NULL (its type deserializes from `null`).
#[must_use]
pub fn nullable<T: DeserializeOwned>() -> bool {
    serde_json::from_value::<T>(serde_json::Value::Null).is_ok()
}

/// The column type of a JSON field.
#[must_use]
pub fn column_type(_: Backend) -> ColumnType {
    ColumnType::JsonBinary
}

/// How surely a JSON field decodes `column`: a document it wrote reads back; another may
/// not have the shape the field's type expects.
#[must_use]
pub fn decoding(column: &crate::row::ColumnInfo) -> crate::field::Decoding {
    match column.json() {
        crate::field::Decoding::Total => crate::field::Decoding::OwnValues,
        other => other,
    }
}
