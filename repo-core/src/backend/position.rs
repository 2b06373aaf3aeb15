//! Where a server stands in the primary's log: PostgreSQL's WAL location (LSN), MariaDB's GTID
//! position. A replica that has replayed a position holds every commit before it, which is how
//! a read on a replica is made to see its caller's own writes.

use std::fmt;

use crate::error::{Error, Result};

/// A position in the primary's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Position {
    /// PostgreSQL: a WAL location, `pg_current_wal_lsn()` on the primary,
    /// `pg_last_wal_replay_lsn()` on a standby.
    Lsn(u64),
    /// MariaDB: one GTID per replication domain, sorted by domain (`@@gtid_binlog_pos` on the
    /// primary, `@@gtid_slave_pos` on a replica).
    Gtids(Vec<Gtid>),
}

/// A MariaDB global transaction id: `domain-server-sequence`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Gtid {
    pub(crate) domain: u32,
    pub(crate) server: u32,
    pub(crate) sequence: u64,
}

/// The most domains a position read from outside may name: a token is the caller's input.
const MOST_DOMAINS: usize = 64;

impl Position {
    /// Whether a server at `self` has replayed everything up to `other` (positions of
    /// different kinds cover nothing of each other).
    pub(crate) fn covers(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Lsn(at), Self::Lsn(wanted)) => at >= wanted,
            (Self::Gtids(at), Self::Gtids(wanted)) => wanted.iter().all(|want| {
                at.iter()
                    .any(|have| have.domain == want.domain && have.sequence >= want.sequence)
            }),
            _ => false,
        }
    }

    /// The later of the two, domain by domain.
    pub(crate) fn merge(&mut self, other: &Self) {
        match (self, other) {
            (Self::Lsn(at), Self::Lsn(other)) => *at = (*at).max(*other),
            (Self::Gtids(at), Self::Gtids(other)) => {
                for gtid in other {
                    match at.iter_mut().find(|have| have.domain == gtid.domain) {
                        Some(have) if have.sequence < gtid.sequence => *have = *gtid,
                        Some(_) => {}
                        None => at.push(*gtid),
                    }
                }
                at.sort_by_key(|gtid| gtid.domain);
            }
            (this, other) => *this = other.clone(),
        }
    }

    /// A PostgreSQL LSN as the server writes it: `16/B374D848`.
    pub(crate) fn parse_lsn(text: &str) -> Result<Self> {
        let bad = || Error::validation("position", format!("not a WAL location: {text:?}"));
        let (high, low) = text.trim().split_once('/').ok_or_else(bad)?;
        let hex = |part: &str| {
            if part.is_empty() || part.len() > 8 {
                return Err(bad());
            }
            u32::from_str_radix(part, 16).map_err(|_| bad())
        };
        Ok(Self::Lsn(
            (u64::from(hex(high)?) << 32) | u64::from(hex(low)?),
        ))
    }

    /// A MariaDB GTID position as the server writes it: `0-1-100,1-2-5`; `None` when empty (a
    /// server that has logged nothing).
    pub(crate) fn parse_gtids(text: &str) -> Result<Option<Self>> {
        let bad = || Error::validation("position", format!("not a GTID position: {text:?}"));
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        let mut gtids = Vec::new();
        for part in text.split(',') {
            let mut fields = part.trim().splitn(3, '-');
            let mut next = || fields.next().ok_or_else(bad);
            let (domain, server, sequence) = (next()?, next()?, next()?);
            let digits =
                |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
            if !(digits(domain) && digits(server) && digits(sequence)) {
                return Err(bad());
            }
            let gtid = Gtid {
                domain: domain.parse().map_err(|_| bad())?,
                server: server.parse().map_err(|_| bad())?,
                sequence: sequence.parse().map_err(|_| bad())?,
            };
            if gtids.iter().any(|g: &Gtid| g.domain == gtid.domain) || gtids.len() == MOST_DOMAINS {
                return Err(bad());
            }
            gtids.push(gtid);
        }
        gtids.sort_by_key(|gtid| gtid.domain);
        Ok(Some(Self::Gtids(gtids)))
    }
}

impl fmt::Display for Position {
    /// As the server writes it (which is also what it reads back).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Lsn(lsn) => write!(f, "{:X}/{:X}", lsn >> 32, lsn & 0xFFFF_FFFF),
            Self::Gtids(gtids) => {
                for (i, gtid) in gtids.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{}-{}-{}", gtid.domain, gtid.server, gtid.sequence)?;
                }
                Ok(())
            }
        }
    }
}

/// Where the writes a caller made stood in the primary's log: a replica that has replayed it
/// holds them. Read it with [`Db::consistency_token`](crate::Db::consistency_token), carry it
/// to the caller's next request (it is text: `to_string()` and `parse()`, or serde, so a web
/// application can keep it in a cookie or a header), and give it back with
/// [`Db::with_consistency_token`](crate::Db::with_consistency_token): reads on a replica then
/// see those writes (see the README section "Read replicas").
///
/// A token is not secret and not signed: one that was edited can only make its own reads wait
/// for a replica (up to [`DbOptions::replica_wait`](crate::DbOptions::replica_wait)) and then go
/// to the primary, or read from a replica that has not caught up with its writes. Text that is
/// not a token is an [`Error::Validation`] on `consistency_token`.
///
/// ```
/// use repo_core::ConsistencyToken;
/// let token: ConsistencyToken = "lsn:16/B374D848".parse()?;
/// assert_eq!(token.to_string(), "lsn:16/B374D848");
/// assert!("lsn:16/B374D848; DROP TABLE x".parse::<ConsistencyToken>().is_err());
/// # Ok::<(), repo_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyToken(pub(crate) Position);

/// The longest text read as a token: a position of [`MOST_DOMAINS`] GTIDs fits.
const LONGEST_TOKEN: usize = 5 + MOST_DOMAINS * 52;

impl fmt::Display for ConsistencyToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Position::Lsn(_) => write!(f, "lsn:{}", self.0),
            Position::Gtids(_) => write!(f, "gtid:{}", self.0),
        }
    }
}

impl std::str::FromStr for ConsistencyToken {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let bad = |why: &str| Error::validation("consistency_token", why.to_owned());
        if text.len() > LONGEST_TOKEN {
            return Err(bad("longer than any token"));
        }
        let position = if let Some(lsn) = text.strip_prefix("lsn:") {
            Position::parse_lsn(lsn).map_err(|_| bad("not a WAL location after `lsn:`"))?
        } else if let Some(gtids) = text.strip_prefix("gtid:") {
            Position::parse_gtids(gtids)
                .ok()
                .flatten()
                .ok_or_else(|| bad("not a GTID position after `gtid:`"))?
        } else {
            return Err(bad("a token starts with `lsn:` or `gtid:`"));
        };
        Ok(Self(position))
    }
}

impl serde::Serialize for ConsistencyToken {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ConsistencyToken {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsns_order_and_read_back() {
        let a = Position::parse_lsn("0/3000000").unwrap();
        let b = Position::parse_lsn("1/0").unwrap();
        assert!(b.covers(&a) && !a.covers(&b));
        assert_eq!(b.to_string(), "1/0");
        assert_eq!(
            Position::parse_lsn("16/B374D848").unwrap().to_string(),
            "16/B374D848"
        );
        for bad in ["", "16", "/1", "1/", "x/1", "123456789/0", "1/-1", "1/1/1"] {
            assert!(Position::parse_lsn(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn gtid_positions_cover_domain_by_domain() {
        let at = Position::parse_gtids("0-1-100,1-2-5").unwrap().unwrap();
        let want = Position::parse_gtids("1-2-5").unwrap().unwrap();
        assert!(at.covers(&want));
        let later = Position::parse_gtids("0-1-101").unwrap().unwrap();
        assert!(!at.covers(&later));
        let other_domain = Position::parse_gtids("7-1-1").unwrap().unwrap();
        assert!(!at.covers(&other_domain));
        let mut merged = at.clone();
        merged.merge(&later);
        merged.merge(&other_domain);
        assert_eq!(merged.to_string(), "0-1-101,1-2-5,7-1-1");
        assert_eq!(Position::parse_gtids("").unwrap(), None);
        for bad in [
            "0-1",
            "0-1-x",
            "0-1-1,0-2-2",
            "-1-1",
            "0-1-1;",
            "0-1-1 OR 1",
        ] {
            assert!(Position::parse_gtids(bad).is_err(), "{bad:?}");
        }
        assert!(!at.covers(&Position::Lsn(0)));
    }

    #[test]
    fn tokens_read_back_and_refuse_what_is_not_one() {
        for text in ["lsn:0/0", "lsn:FFFFFFFF/FFFFFFFF", "gtid:0-1-100,1-2-5"] {
            let token: ConsistencyToken = text.parse().unwrap();
            assert_eq!(token.to_string(), text);
            let json = serde_json::to_string(&token).unwrap();
            assert_eq!(
                serde_json::from_str::<ConsistencyToken>(&json).unwrap(),
                token
            );
        }
        let long = format!("gtid:{}", vec!["0-1-1"; 2000].join(","));
        for bad in ["", "lsn:", "gtid:", "lsn:1", "abc", "LSN:0/0", &long] {
            let error = bad.parse::<ConsistencyToken>().unwrap_err();
            assert!(
                matches!(&error, Error::Validation { field, .. } if field == "consistency_token"),
                "{bad:?}: {error:?}"
            );
        }
        assert!(serde_json::from_str::<ConsistencyToken>("\"lsn:zz\"").is_err());
    }
}
