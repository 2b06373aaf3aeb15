//! Keyset cursors: signed, opaque positions that clients hand back.
//!
//! A cursor crosses the network, so it is untrusted input. It carries the order it was made
//! under and the key values of the last row, as plain JSON (no type information), signed with
//! HMAC-SHA256 under the `Db`'s cursor key. Opening one checks the signature first, then reads
//! each value as the type the entity declares for that column: nothing in a cursor decides a
//! type, a cast or any SQL text.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use hmac::{KeyInit as _, Mac as _};
use sea_query::{OptionEnum, Value};
use serde_json::Value as Json;

use crate::entity::ColumnDef;
use crate::error::{Error, Result};

type Hmac = hmac::Hmac<sha2::Sha256>;

/// Bytes of the HMAC tag a cursor carries (128 bits).
const TAG_LEN: usize = 16;

/// An opaque position in a keyset-ordered result, from [`KeysetPage::next`](crate::KeysetPage).
///
/// It is URL-safe text; hand it to clients as is. It is signed with the `Db`'s cursor key
/// ([`DbOptions::cursor_key`](crate::DbOptions::cursor_key)): a cursor that was edited, forged,
/// issued by another `Db` without the same key, or made under another order or entity is an
/// [`Error::Validation`] on `cursor`, and nothing is sent to the database.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cursor(String);

impl Cursor {
    /// The cursor's text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Sign the key values of a row under `signature` (the entity and order).
    pub(crate) fn issue(key: &[u8], signature: &str, values: &[Value]) -> Self {
        let body = serde_json::json!({
            "k": signature,
            "v": values.iter().map(value_to_json).collect::<Vec<_>>(),
        })
        .to_string();
        let tag = mac(key, body.as_bytes()).finalize().into_bytes();
        Self(format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(body),
            URL_SAFE_NO_PAD.encode(&tag[..TAG_LEN])
        ))
    }

    /// The key values of the cursor, each read as the type `columns` declare.
    pub(crate) fn open(
        &self,
        key: &[u8],
        signature: &str,
        columns: &[&ColumnDef],
    ) -> Result<Vec<Value>> {
        let forged = || invalid("not a cursor issued by this service, or it was altered");
        let (body, tag) = self.0.split_once('.').ok_or_else(forged)?;
        let body = URL_SAFE_NO_PAD.decode(body).map_err(|_| forged())?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| forged())?;
        if tag.len() != TAG_LEN {
            return Err(forged());
        }
        mac(key, &body)
            .verify_truncated_left(&tag)
            .map_err(|_| forged())?;
        // Signed by us: what follows guards against our own bugs, not against forgery.
        let body: Json = serde_json::from_slice(&body).map_err(|_| forged())?;
        if body.get("k").and_then(Json::as_str) != Some(signature) {
            return Err(invalid("the cursor was issued for another order or entity"));
        }
        let values = body.get("v").and_then(Json::as_array).ok_or_else(forged)?;
        if values.len() != columns.len() {
            return Err(forged());
        }
        values
            .iter()
            .zip(columns)
            .map(|(json, column)| {
                json_to_value(json, column).ok_or_else(|| {
                    invalid(&format!(
                        "the cursor's value for `{}` is not a {}",
                        column.name,
                        kind_name(&(column.null_value)())
                    ))
                })
            })
            .collect()
    }
}

fn invalid(reason: &str) -> Error {
    Error::validation("cursor", reason.to_owned())
}

fn mac(key: &[u8], body: &[u8]) -> Hmac {
    let mut mac = Hmac::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(body);
    mac
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for Cursor {
    fn from(text: String) -> Self {
        Self(text)
    }
}

impl From<&str> for Cursor {
    fn from(text: &str) -> Self {
        Self(text.to_owned())
    }
}

const DATETIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.f";

/// [`DATETIME_FORMAT`] parsed once: parsing it per value was most of the cost of turning a
/// timestamp into JSON (every audited row holds one).
static DATETIME_ITEMS: std::sync::LazyLock<Vec<chrono::format::Item<'static>>> =
    std::sync::LazyLock::new(|| chrono::format::StrftimeItems::new(DATETIME_FORMAT).collect());

fn datetime_text(v: &NaiveDateTime) -> String {
    v.format_with_items(DATETIME_ITEMS.iter()).to_string()
}

/// A bound value as plain JSON: what it is, never what type it claims to be.
pub(crate) fn value_to_json(value: &Value) -> Json {
    fn float(x: f64) -> Json {
        serde_json::Number::from_f64(x).map_or_else(|| Json::String(x.to_string()), Json::Number)
    }
    match value {
        Value::Bool(Some(v)) => Json::Bool(*v),
        Value::TinyInt(Some(v)) => Json::from(*v),
        Value::SmallInt(Some(v)) => Json::from(*v),
        Value::Int(Some(v)) => Json::from(*v),
        Value::BigInt(Some(v)) => Json::from(*v),
        Value::TinyUnsigned(Some(v)) => Json::from(*v),
        Value::SmallUnsigned(Some(v)) => Json::from(*v),
        Value::Unsigned(Some(v)) => Json::from(*v),
        Value::BigUnsigned(Some(v)) => Json::from(*v),
        Value::Float(Some(v)) => float(f64::from(*v)),
        Value::Double(Some(v)) => float(*v),
        Value::String(Some(v)) => Json::String(v.clone()),
        Value::Char(Some(v)) => Json::String(v.to_string()),
        Value::Enum(OptionEnum::Some(v)) => Json::String(v.value.to_string()),
        Value::Bytes(Some(v)) => Json::String(URL_SAFE_NO_PAD.encode(v)),
        Value::Json(Some(v)) => (**v).clone(),
        Value::ChronoDate(Some(v)) => Json::String(v.to_string()),
        Value::ChronoTime(Some(v)) => Json::String(v.to_string()),
        Value::ChronoDateTime(Some(v)) => Json::String(datetime_text(v)),
        Value::ChronoDateTimeUtc(Some(v)) => Json::String(datetime_text(&v.naive_utc())),
        Value::Uuid(Some(v)) => Json::String(v.to_string()),
        Value::IpNetwork(Some(v)) => Json::String(v.ip().to_string()),
        #[cfg(feature = "decimal")]
        Value::Decimal(Some(v)) => Json::String(v.to_string()),
        _ => Json::Null,
    }
}

/// Read `json` as a value of `column`'s declared type; `None` if it is not one.
fn json_to_value(json: &Json, column: &ColumnDef) -> Option<Value> {
    let typed_null = (column.null_value)();
    if json.is_null() {
        return (column.nullable)().then_some(typed_null);
    }
    let text = json.as_str();
    let float = || {
        json.as_f64()
            .or_else(|| text.and_then(|t| t.parse::<f64>().ok()))
    };
    Some(match typed_null {
        Value::Bool(_) => Value::Bool(Some(json.as_bool()?)),
        Value::TinyInt(_) => Value::TinyInt(Some(json.as_i64()?.try_into().ok()?)),
        Value::SmallInt(_) => Value::SmallInt(Some(json.as_i64()?.try_into().ok()?)),
        Value::Int(_) => Value::Int(Some(json.as_i64()?.try_into().ok()?)),
        Value::BigInt(_) => Value::BigInt(Some(json.as_i64()?)),
        Value::TinyUnsigned(_) => Value::TinyUnsigned(Some(json.as_u64()?.try_into().ok()?)),
        Value::SmallUnsigned(_) => Value::SmallUnsigned(Some(json.as_u64()?.try_into().ok()?)),
        Value::Unsigned(_) => Value::Unsigned(Some(json.as_u64()?.try_into().ok()?)),
        Value::BigUnsigned(_) => Value::BigUnsigned(Some(json.as_u64()?)),
        Value::Float(_) => Value::Float(Some(float()? as f32)),
        Value::Double(_) => Value::Double(Some(float()?)),
        Value::String(_) => Value::String(Some(text?.to_owned())),
        Value::Char(_) => {
            let mut chars = text?.chars();
            let c = chars.next()?;
            chars.next().is_none().then_some(())?;
            Value::Char(Some(c))
        }
        Value::Enum(OptionEnum::None(type_name)) => {
            // The label must be one the declared enum has; the type name is the declaration's.
            let (_, labels) = (column.enum_type)()?;
            let label = labels.iter().find(|label| Some(**label) == text)?;
            Value::Enum(OptionEnum::Some(Box::new(sea_query::Enum {
                type_name,
                value: Cow::Borrowed(label),
            })))
        }
        Value::Bytes(_) => Value::Bytes(Some(URL_SAFE_NO_PAD.decode(text?).ok()?)),
        Value::Json(_) => Value::Json(Some(Box::new(json.clone()))),
        Value::ChronoDate(_) => Value::ChronoDate(Some(text?.parse::<NaiveDate>().ok()?)),
        Value::ChronoTime(_) => Value::ChronoTime(Some(text?.parse::<NaiveTime>().ok()?)),
        Value::ChronoDateTime(_) => Value::ChronoDateTime(Some(
            NaiveDateTime::parse_from_str(text?, DATETIME_FORMAT).ok()?,
        )),
        Value::ChronoDateTimeUtc(_) => {
            Value::ChronoDateTimeUtc(Some(DateTime::<Utc>::from_naive_utc_and_offset(
                NaiveDateTime::parse_from_str(text?, DATETIME_FORMAT).ok()?,
                Utc,
            )))
        }
        Value::Uuid(_) => Value::Uuid(Some(text?.parse().ok()?)),
        Value::IpNetwork(_) => {
            Value::IpNetwork(Some(text?.parse::<std::net::IpAddr>().ok()?.into()))
        }
        #[cfg(feature = "decimal")]
        Value::Decimal(_) => Value::Decimal(Some(text?.parse().ok()?)),
        _ => return None,
    })
}

/// How a column's type is named in a cursor error.
fn kind_name(typed_null: &Value) -> &'static str {
    match typed_null {
        Value::Bool(_) => "boolean",
        Value::TinyInt(_)
        | Value::SmallInt(_)
        | Value::Int(_)
        | Value::BigInt(_)
        | Value::TinyUnsigned(_)
        | Value::SmallUnsigned(_)
        | Value::Unsigned(_)
        | Value::BigUnsigned(_) => "integer in the column's range",
        Value::Float(_) | Value::Double(_) => "number",
        Value::Enum(_) => "label of the column's enum",
        Value::ChronoDate(_)
        | Value::ChronoTime(_)
        | Value::ChronoDateTime(_)
        | Value::ChronoDateTimeUtc(_) => "time value",
        Value::Uuid(_) => "UUID",
        _ => "value of the column's type",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::ColumnRole;
    use sea_query::ColumnType;

    fn column(null_value: fn() -> Value, nullable: fn() -> bool) -> ColumnDef {
        ColumnDef {
            name: "c",
            field: "c",
            role: ColumnRole::Plain,
            auto: false,
            nullable,
            column_type: |_| ColumnType::Text,
            null_value,
            enum_type: || Some(("status", &["draft", "active"])),
            decoding: |_| crate::field::Decoding::Partial,
            on_conflict: crate::ConflictAction::Replace,
        }
    }

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn values_round_trip_as_their_declared_types() {
        let big = column(|| Value::BigInt(None), || false);
        let at = column(|| Value::ChronoDateTimeUtc(None), || false);
        let status = column(|| Value::Enum(OptionEnum::None("status".into())), || false);
        let now = DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap();
        let label = Value::Enum(OptionEnum::Some(Box::new(sea_query::Enum {
            type_name: "status".into(),
            value: Cow::Borrowed("active"),
        })));
        let values = vec![
            Value::BigInt(Some(-7)),
            Value::ChronoDateTimeUtc(Some(now)),
            label,
        ];
        let cursor = Cursor::issue(KEY, "t,a", &values);
        let opened = cursor.open(KEY, "t,a", &[&big, &at, &status]).unwrap();
        assert_eq!(opened, values);
    }

    #[test]
    fn an_edited_or_foreign_cursor_is_refused() {
        let big = column(|| Value::BigInt(None), || false);
        let cursor = Cursor::issue(KEY, "t,a", &[Value::BigInt(Some(1))]);
        assert!(
            cursor
                .open(b"another key, 16+ bytes", "t,a", &[&big])
                .is_err()
        );
        let (body, tag) = cursor.as_str().split_once('.').unwrap();
        let forged_body = URL_SAFE_NO_PAD.encode(r#"{"k":"t,a","v":[2]}"#);
        assert!(
            Cursor::from(format!("{forged_body}.{tag}"))
                .open(KEY, "t,a", &[&big])
                .is_err()
        );
        assert!(Cursor::from(body).open(KEY, "t,a", &[&big]).is_err());
        assert!(cursor.open(KEY, "t,b", &[&big]).is_err());
    }

    #[test]
    fn a_value_of_another_type_is_refused_even_when_signed() {
        let big = column(|| Value::BigInt(None), || false);
        let status = column(|| Value::Enum(OptionEnum::None("status".into())), || false);
        let text = Cursor::issue(KEY, "s", &[Value::String(Some("1".into()))]);
        assert!(text.open(KEY, "s", &[&big]).is_err());
        let unknown = Cursor::issue(KEY, "s", &[Value::String(Some("archived".into()))]);
        assert!(unknown.open(KEY, "s", &[&status]).is_err());
        let null = Cursor::issue(KEY, "s", &[Value::BigInt(None)]);
        assert!(null.open(KEY, "s", &[&big]).is_err());
    }
}
