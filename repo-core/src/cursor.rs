//! Keyset cursors: sealed, opaque positions that clients hand back.
//!
//! A cursor crosses the network, so it is untrusted input, and whoever holds it can read it,
//! so it must tell nothing. It carries the key values of the last row of a page as plain JSON (no
//! type information), encrypted and authenticated with XChaCha20-Poly1305 under a key derived
//! (HKDF-SHA256) from the `Db`'s cursor key; the entity and order it was made under are its
//! associated data. Opening one checks it as a whole first (an edited, forged or foreign
//! cursor, or one made under another order, fails), then reads each value as the type the
//! entity declares for that column: nothing in a cursor decides a type, a cast or any SQL
//! text.
//!
//! The text is base64url of `nonce (24 bytes) ‖ ciphertext ‖ tag (16 bytes)`; the plaintext
//! is padded with spaces to a multiple of 16 bytes, so its length tells the size of the key
//! values only to 16 bytes. A one-column integer key makes a cursor of 75 characters; a
//! `(timestamp, id)` key one of 118.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead as _, Payload};
use chacha20poly1305::{KeyInit as _, XChaCha20Poly1305, XNonce};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use sea_query::{OptionEnum, Value};
use serde_json::Value as Json;

use crate::entity::ColumnDef;
use crate::error::{Error, Result};

/// Bytes of the random nonce a cursor starts with: 192 bits (XChaCha20-Poly1305's), so nonces
/// drawn at random never repeat under one key however many cursors it seals.
const NONCE_LEN: usize = 24;

/// Bytes of the Poly1305 tag a cursor ends with.
const TAG_LEN: usize = 16;

/// The plaintext is padded to a multiple of this many bytes.
const PAD_TO: usize = 16;

/// What the sealing key is derived for: a key derived for anything else differs.
const KEY_INFO: &[u8] = b"repo-core keyset cursor v1";

/// The key cursors are sealed with, derived once per `Db` from its cursor key (of any length
/// from 16 bytes).
#[derive(Clone)]
pub(crate) struct CursorKey(XChaCha20Poly1305);

impl CursorKey {
    /// The sealing key for the secret `secret`.
    pub(crate) fn derive(secret: &[u8]) -> Self {
        let mut key = chacha20poly1305::Key::default();
        hkdf::Hkdf::<sha2::Sha256>::new(None, secret)
            .expand(KEY_INFO, &mut key)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        Self(XChaCha20Poly1305::new(&key))
    }
}

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey(..)")
    }
}

/// An opaque position in a keyset-ordered result, from [`KeysetPage::next`](crate::KeysetPage).
///
/// It is URL-safe text; hand it to clients as is. It is sealed (encrypted and authenticated)
/// with the `Db`'s cursor key ([`DbOptions::cursor_key`](crate::DbOptions::cursor_key)): it
/// shows neither the table, the order nor the values of the row it points after, and a
/// cursor that was edited, truncated, forged, sealed by another `Db` without the same key, or
/// made under another order or entity is an [`Error::Validation`] on `cursor`, and nothing
/// is sent to the database.
///
/// ```
/// # use repo_core::prelude::*;
/// # #[derive(Debug, Clone, Repository)]
/// # #[repo(table = "events")]
/// # pub struct Event { #[repo(primary_key, auto)] pub id: i64, pub kind: String }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> repo_core::Result<()> {
/// let db = Db::connect("sqlite::memory:").await?;
/// db.create_schema::<Event>().await?;
/// let repo = EventRepository::new(&db);
/// for kind in ["a", "b", "c"] {
///     repo.insert(&Event { id: 0, kind: kind.into() }).await?;
/// }
/// let request = || KeysetRequest::new(2).order_by(Event::KIND.desc());
/// let first = repo.find_keyset(Filter::all(), request()).await?;
/// let cursor = first.next.expect("a third row follows");
/// assert!(!cursor.as_str().contains("events"));
/// let rest = repo.find_keyset(Filter::all(), request().after(cursor)).await?;
/// assert_eq!(rest.items[0].kind, "a");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cursor(String);

impl Cursor {
    /// The cursor's text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Seal the key values of a row under `signature` (the entity and order).
    pub(crate) fn issue(key: &CursorKey, signature: &str, values: &[Value]) -> Result<Self> {
        let mut body = serde_json::to_vec(&values.iter().map(value_to_json).collect::<Vec<_>>())
            .expect("JSON values serialize");
        // Trailing whitespace is still the same JSON.
        body.resize(body.len().next_multiple_of(PAD_TO), b' ');
        let mut nonce = XNonce::default();
        getrandom::fill(&mut nonce[..])
            .map_err(|e| invalid(&format!("no random nonce available: {e}")))?;
        let sealed = key
            .0
            .encrypt(
                &nonce,
                Payload {
                    msg: &body,
                    aad: signature.as_bytes(),
                },
            )
            .expect("a cursor is far below XChaCha20-Poly1305's message limit");
        let mut text = Vec::with_capacity(NONCE_LEN + sealed.len());
        text.extend_from_slice(&nonce);
        text.extend_from_slice(&sealed);
        Ok(Self(URL_SAFE_NO_PAD.encode(text)))
    }

    /// The key values of the cursor, each read as the type `columns` declare.
    pub(crate) fn open(
        &self,
        key: &CursorKey,
        signature: &str,
        columns: &[&ColumnDef],
    ) -> Result<Vec<Value>> {
        let refused =
            || invalid("not a cursor of this order issued by this service, or it was altered");
        let sealed = URL_SAFE_NO_PAD.decode(&self.0).map_err(|_| refused())?;
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return Err(refused());
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce = XNonce::try_from(nonce).map_err(|_| refused())?;
        let body = key
            .0
            .decrypt(
                &nonce,
                Payload {
                    msg: ciphertext,
                    aad: signature.as_bytes(),
                },
            )
            .map_err(|_| refused())?;
        // Sealed by us: what follows guards against our own bugs, not against forgery.
        let values: Vec<Json> = serde_json::from_slice(&body).map_err(|_| refused())?;
        if values.len() != columns.len() {
            return Err(refused());
        }
        values
            .iter()
            .zip(columns)
            .map(|(json, column)| {
                json_to_value(json, column).ok_or_else(|| {
                    invalid(&format!(
                        "the cursor's value for `{}` is not {}",
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

/// How a column's type is named in a cursor error, with its article.
fn kind_name(typed_null: &Value) -> &'static str {
    match typed_null {
        Value::Bool(_) => "a boolean",
        Value::TinyInt(_)
        | Value::SmallInt(_)
        | Value::Int(_)
        | Value::BigInt(_)
        | Value::TinyUnsigned(_)
        | Value::SmallUnsigned(_)
        | Value::Unsigned(_)
        | Value::BigUnsigned(_) => "an integer in the column's range",
        Value::Float(_) | Value::Double(_) => "a number",
        Value::Enum(_) => "a label of the column's enum",
        Value::ChronoDate(_)
        | Value::ChronoTime(_)
        | Value::ChronoDateTime(_)
        | Value::ChronoDateTimeUtc(_) => "a time value",
        Value::Uuid(_) => "a UUID",
        _ => "a value of the column's type",
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
            renamed_from: None,
        }
    }

    fn key() -> CursorKey {
        CursorKey::derive(b"0123456789abcdef0123456789abcdef")
    }

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
        let cursor = Cursor::issue(&key(), "t,a", &values).unwrap();
        let opened = cursor.open(&key(), "t,a", &[&big, &at, &status]).unwrap();
        assert_eq!(opened, values);
    }

    /// The cursor's bytes hold no trace of the signature or the values: not as text, not as
    /// base64 of any alignment, and two cursors of one position differ.
    #[test]
    fn a_cursor_shows_nothing_of_its_position() {
        let values = [
            Value::String(Some("secret-title".into())),
            Value::BigInt(Some(4242)),
        ];
        let cursor = Cursor::issue(&key(), "books,title:a,id:a", &values).unwrap();
        let bytes = URL_SAFE_NO_PAD.decode(cursor.as_str()).unwrap();
        for needle in ["books", "title", "secret-title", "4242"] {
            let text = cursor.as_str();
            assert!(!text.contains(needle), "{needle} in {text}");
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{needle} in the decoded cursor"
            );
            for shift in 0..3 {
                let shifted = URL_SAFE_NO_PAD.encode(format!("{}{needle}", " ".repeat(shift)));
                let core = &shifted[(shift * 4).div_ceil(3)..shifted.len() - 1];
                assert!(
                    core.len() < 3 || !text.contains(core),
                    "{needle} as base64 in {text}"
                );
            }
        }
        let again = Cursor::issue(&key(), "books,title:a,id:a", &values).unwrap();
        assert_ne!(cursor, again, "a fresh nonce each time");
        assert_eq!(cursor.as_str().len(), again.as_str().len());
    }

    /// The sizes the module documentation gives.
    #[test]
    fn cursor_sizes() {
        let id = |n| Value::BigInt(Some(n));
        for n in [5, 123_456_789_012] {
            let cursor = Cursor::issue(&key(), "events,id:a", &[id(n)]).unwrap();
            assert_eq!(cursor.as_str().len(), 75, "{n}");
        }
        let at = DateTime::from_timestamp_micros(1_714_566_600_123_456).unwrap();
        let values = [Value::ChronoDateTimeUtc(Some(at)), id(12_345)];
        let cursor = Cursor::issue(&key(), "events,created_at:a,id:a", &values).unwrap();
        assert_eq!(cursor.as_str().len(), 118);
    }

    #[test]
    fn an_edited_or_foreign_cursor_is_refused() {
        let big = column(|| Value::BigInt(None), || false);
        let cursor = Cursor::issue(&key(), "t,a", &[Value::BigInt(Some(1))]).unwrap();
        assert!(cursor.open(&key(), "t,a", &[&big]).is_ok());
        let other_key = CursorKey::derive(b"another key, 16+ bytes");
        assert!(cursor.open(&other_key, "t,a", &[&big]).is_err());
        assert!(cursor.open(&key(), "t,b", &[&big]).is_err());
        let bytes = URL_SAFE_NO_PAD.decode(cursor.as_str()).unwrap();
        for at in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0x01;
            let text = URL_SAFE_NO_PAD.encode(&flipped);
            assert!(
                Cursor::from(text).open(&key(), "t,a", &[&big]).is_err(),
                "byte {at}"
            );
        }
        for len in [0, 1, NONCE_LEN, NONCE_LEN + TAG_LEN, bytes.len() - 1] {
            let text = URL_SAFE_NO_PAD.encode(&bytes[..len]);
            assert!(
                Cursor::from(text).open(&key(), "t,a", &[&big]).is_err(),
                "{len} bytes"
            );
        }
        assert!(
            Cursor::from("not base64!")
                .open(&key(), "t,a", &[&big])
                .is_err()
        );
    }

    #[test]
    fn a_value_of_another_type_is_refused_even_when_sealed() {
        let big = column(|| Value::BigInt(None), || false);
        let status = column(|| Value::Enum(OptionEnum::None("status".into())), || false);
        let text = Cursor::issue(&key(), "s", &[Value::String(Some("1".into()))]).unwrap();
        let error = text.open(&key(), "s", &[&big]).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("is not an integer in the column's range"),
            "{error}"
        );
        let unknown = Cursor::issue(&key(), "s", &[Value::String(Some("archived".into()))]);
        assert!(unknown.unwrap().open(&key(), "s", &[&status]).is_err());
        let null = Cursor::issue(&key(), "s", &[Value::BigInt(None)]).unwrap();
        assert!(null.open(&key(), "s", &[&big]).is_err());
        let two = Cursor::issue(
            &key(),
            "s",
            &[Value::BigInt(Some(1)), Value::BigInt(Some(2))],
        );
        assert!(two.unwrap().open(&key(), "s", &[&big]).is_err());
    }
}
