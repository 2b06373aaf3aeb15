//! What names a cached read: a SHA-256 digest of the table's qualified name and the row's key
//! values, or of the statement and its values, over an encoding of the values this crate
//! defines (so every instance and version of a service names a read alike).

use sea_query::{OptionEnum, Value};
use sha2::{Digest as _, Sha256};

/// The first 16 bytes of a SHA-256 digest: collisions are out of reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct Digest([u8; 16]);

impl Digest {
    /// The digest as 32 lowercase hex digits.
    pub(super) fn hex(self) -> String {
        use std::fmt::Write as _;
        self.0.iter().fold(String::with_capacity(32), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
    }

    /// The digest written as [`hex`](Digest::hex) writes it.
    pub(super) fn from_hex(text: &str) -> Option<Self> {
        if text.len() != 32 {
            return None;
        }
        let mut bytes = [0u8; 16];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Self(bytes))
    }

    fn of(hasher: Sha256) -> Self {
        let full = hasher.finalize();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&full[..16]);
        Self(bytes)
    }
}

/// The digest of the row of `table` (qualified as the entity declares it) with primary key
/// `key`.
pub(super) fn row(table: &str, key: &[Value]) -> Digest {
    let mut hasher = Sha256::new();
    text(&mut hasher, b'r', table);
    for value in key {
        encode(&mut hasher, value);
    }
    Digest::of(hasher)
}

/// The digest of the statement `sql` with `values`, reading `table`.
pub(super) fn query(table: &str, sql: &str, values: &[Value]) -> Digest {
    let mut hasher = Sha256::new();
    text(&mut hasher, b'q', table);
    text(&mut hasher, b's', sql);
    for value in values {
        encode(&mut hasher, value);
    }
    Digest::of(hasher)
}

fn text(hasher: &mut Sha256, tag: u8, text: &str) {
    bytes(hasher, tag, text.as_bytes());
}

/// A tag, the length, the bytes: no two sequences of values encode alike.
fn bytes(hasher: &mut Sha256, tag: u8, bytes: &[u8]) {
    hasher.update([tag]);
    hasher.update((bytes.len() as u64).to_le_bytes());
    hasher.update(bytes);
}

fn number(hasher: &mut Sha256, tag: u8, n: impl Into<i128>) {
    hasher.update([tag]);
    hasher.update(n.into().to_le_bytes());
}

/// Encode one value. NULL of any type is one value; numbers are encoded by type, as
/// statements bind them by type.
fn encode(hasher: &mut Sha256, value: &Value) {
    if !value.is_some() {
        hasher.update([0]);
        return;
    }
    match value {
        Value::Bool(Some(b)) => number(hasher, 1, i128::from(*b)),
        Value::TinyInt(Some(n)) => number(hasher, 2, *n),
        Value::SmallInt(Some(n)) => number(hasher, 3, *n),
        Value::Int(Some(n)) => number(hasher, 4, *n),
        Value::BigInt(Some(n)) => number(hasher, 5, *n),
        Value::TinyUnsigned(Some(n)) => number(hasher, 6, *n),
        Value::SmallUnsigned(Some(n)) => number(hasher, 7, *n),
        Value::Unsigned(Some(n)) => number(hasher, 8, *n),
        Value::BigUnsigned(Some(n)) => number(hasher, 9, *n),
        Value::Float(Some(x)) => number(hasher, 10, x.to_bits()),
        Value::Double(Some(x)) => number(hasher, 11, x.to_bits()),
        Value::String(Some(s)) => text(hasher, 12, s),
        Value::Char(Some(c)) => number(hasher, 13, u32::from(*c)),
        Value::Bytes(Some(b)) => bytes(hasher, 14, b),
        Value::Json(Some(json)) => text(hasher, 15, &json.to_string()),
        Value::ChronoDate(Some(d)) => text(hasher, 16, &d.to_string()),
        Value::ChronoTime(Some(t)) => text(hasher, 17, &t.format("%H:%M:%S%.f").to_string()),
        Value::ChronoDateTime(Some(t)) => text(hasher, 18, &t.format("%+").to_string()),
        Value::ChronoDateTimeUtc(Some(t)) => text(hasher, 19, &t.to_rfc3339()),
        Value::Uuid(Some(u)) => bytes(hasher, 20, u.as_bytes()),
        Value::Enum(OptionEnum::Some(e)) => {
            text(hasher, 21, &e.type_name);
            text(hasher, 21, &e.value);
        }
        Value::Array(_, Some(items)) => {
            number(hasher, 22, items.len() as u64);
            for item in items.iter() {
                encode(hasher, item);
            }
        }
        // Every other type by its debug text, which names the type.
        other => text(hasher, 255, &format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_of_other_types_or_order_differ() {
        let a = row(
            "t",
            &[Value::BigInt(Some(1)), Value::String(Some("x".into()))],
        );
        let b = row("t", &[Value::Int(Some(1)), Value::String(Some("x".into()))]);
        let c = row(
            "t",
            &[Value::String(Some("x".into())), Value::BigInt(Some(1))],
        );
        let d = row(
            "u",
            &[Value::BigInt(Some(1)), Value::String(Some("x".into()))],
        );
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
        assert_eq!(
            a,
            row(
                "t",
                &[Value::BigInt(Some(1)), Value::String(Some("x".into()))]
            )
        );
    }

    #[test]
    fn text_boundaries_count() {
        let a = query("t", "SELECT", &[Value::String(Some("ab".into()))]);
        let b = query("t", "SELECTa", &[Value::String(Some("b".into()))]);
        assert_ne!(a, b);
    }

    #[test]
    fn hex_round_trips() {
        let d = row("t", &[Value::BigInt(Some(7))]);
        assert_eq!(Digest::from_hex(&d.hex()), Some(d));
        assert_eq!(Digest::from_hex("zz"), None);
    }
}
