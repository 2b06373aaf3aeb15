//! libpq multi-host URLs, as high-availability PostgreSQL hands them out (`pg_auto_failover`,
//! Patroni, managed failover endpoints):
//! `postgres://app@10.0.0.1:5432,10.0.0.2:5432/app?target_session_attrs=read-write`.
//!
//! As libpq does, the hosts are tried in order and the first whose role fits
//! `target_session_attrs` is used; sqlx connects to one host, so the pool's connect options
//! name that one. After a failover (a call meets a lost connection, or a read-only server
//! where it wanted to write) the hosts are tried again, the pool's connect options move to the
//! host that fits now, and every connection opened before the move is closed when next lent
//! instead of being used.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// What `target_session_attrs` asks of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Any,
    ReadWrite,
    ReadOnly,
    Primary,
    Standby,
    PreferStandby,
}

impl Target {
    fn parse(value: &str) -> Result<Self> {
        Ok(match value {
            "any" => Self::Any,
            "read-write" => Self::ReadWrite,
            "read-only" => Self::ReadOnly,
            "primary" => Self::Primary,
            "standby" => Self::Standby,
            "prefer-standby" => Self::PreferStandby,
            other => {
                return Err(Error::validation(
                    "target_session_attrs",
                    format!(
                        "{other:?} is not one of any, read-write, read-only, primary, standby, \
                         prefer-standby"
                    ),
                ));
            }
        })
    }

    /// Whether a server in recovery (`standby`) or not, and read-only by default or not,
    /// fits.
    fn fits(self, standby: bool, read_only: bool) -> bool {
        match self {
            Self::Any | Self::PreferStandby => true,
            Self::ReadWrite => !standby && !read_only,
            Self::ReadOnly => standby || read_only,
            Self::Primary => !standby,
            Self::Standby => standby,
        }
    }
}

/// The hosts of a multi-host URL.
#[derive(Debug)]
pub(crate) struct Hosts {
    /// One single-host URL per host, in the URL's order, and the host's `host:port`.
    members: Vec<(String, String)>,
    pub(crate) target: Target,
    /// The host the pool connects to now (an index into `hosts`).
    current: AtomicU64,
    /// When the pool last moved to another host (nanoseconds after `started`, plus one; 0:
    /// never): connections older than that are closed when next lent.
    moved: AtomicU64,
    started: Instant,
    /// One search at a time.
    searching: tokio::sync::Mutex<()>,
    /// A call met a lost connection or a read-only server: search before the next connection
    /// is lent.
    stale: std::sync::atomic::AtomicBool,
    /// Whether the pool's connections cache prepared statements (not through a pooler).
    pub(crate) statement_cache: bool,
}

/// The most hosts a URL may name.
const MOST_HOSTS: usize = 16;
/// How long one host may take to connect and say what it is.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// The hosts of `url` when it names several or a `target_session_attrs`, with each host's own
/// URL (the parameter removed); `None` for a single-host URL without it.
pub(crate) fn read_url(url: &str) -> Result<Option<Hosts>> {
    let bad = |why: &str| Error::validation("url", why.to_owned());
    let Some((scheme, rest)) = url.split_once("://") else {
        return Ok(None);
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (userinfo, host_list) = match authority.rfind('@') {
        Some(at) => (&authority[..=at], &authority[at + 1..]),
        None => ("", authority),
    };
    let (path, query) = tail.split_once('?').unwrap_or((tail, ""));
    let mut target = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        match pair.split_once('=') {
            Some(("target_session_attrs", value)) => target = Some(Target::parse(value)?),
            _ => kept.push(pair),
        }
    }
    if !host_list.contains(',') && target.is_none() {
        return Ok(None);
    }
    let query = if kept.is_empty() {
        String::new()
    } else {
        format!("?{}", kept.join("&"))
    };
    let mut hosts = Vec::new();
    for host in host_list.split(',') {
        if host.is_empty() {
            return Err(bad("a multi-host URL names an empty host"));
        }
        // `[v6]:port`, `name:port` or a name alone (PostgreSQL's port).
        let with_port = match host.rfind(':') {
            Some(colon) if !host[colon..].contains(']') => {
                let port = &host[colon + 1..];
                if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) || port.len() > 5 {
                    return Err(bad("a host's port is not a number"));
                }
                host.to_owned()
            }
            _ => format!("{host}:5432"),
        };
        hosts.push((
            format!("{scheme}://{userinfo}{with_port}{path}{query}"),
            with_port,
        ));
    }
    if hosts.len() > MOST_HOSTS {
        return Err(bad("a multi-host URL names more than 16 hosts"));
    }
    Ok(Some(Hosts {
        members: hosts,
        target: target.unwrap_or(Target::Any),
        current: AtomicU64::new(0),
        moved: AtomicU64::new(0),
        started: Instant::now(),
        searching: tokio::sync::Mutex::new(()),
        stale: std::sync::atomic::AtomicBool::new(false),
        statement_cache: true,
    }))
}

impl Hosts {
    /// The single-host URL of the host the pool connects to now.
    pub(crate) fn current_url(&self) -> &str {
        let current = usize::try_from(self.current.load(Ordering::Relaxed)).unwrap_or(0);
        &self.members[current.min(self.members.len() - 1)].0
    }

    /// Try the hosts in order (standbys first for `prefer-standby`) and pick the first that
    /// fits: its index. A connection error (`Io`, so that calls retry it as a lost connection
    /// within their reconnect window) when none does, naming what each host said.
    pub(crate) async fn find(&self) -> std::result::Result<usize, sqlx::Error> {
        let mut said = Vec::new();
        let mut fallback = None;
        for (i, (url, host)) in self.members.iter().enumerate() {
            match tokio::time::timeout(PROBE_TIMEOUT, probe(url)).await {
                Ok(Ok((standby, read_only))) => {
                    if self.target == Target::PreferStandby && !standby {
                        fallback.get_or_insert(i);
                        said.push(format!("{host}: primary"));
                        continue;
                    }
                    if self.target.fits(standby, read_only) {
                        return Ok(i);
                    }
                    said.push(format!(
                        "{host}: {}",
                        if standby {
                            "standby"
                        } else {
                            "read-only primary"
                        }
                    ));
                }
                Ok(Err(error)) => said.push(format!("{host}: {error}")),
                Err(_) => said.push(format!("{host}: no answer in {PROBE_TIMEOUT:?}")),
            }
        }
        if let Some(i) = fallback {
            return Ok(i);
        }
        Err(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            format!(
                "no host fits target_session_attrs={:?}: {}",
                self.target,
                said.join("; ")
            ),
        )))
    }

    /// Move to host `index`; whether it is another than before.
    pub(crate) fn move_to(&self, index: usize) -> bool {
        let index = index as u64;
        if self.current.swap(index, Ordering::Relaxed) == index {
            return false;
        }
        let now = u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX - 1);
        self.moved.store(now + 1, Ordering::Relaxed);
        true
    }

    /// Whether a connection `age` old was opened before the pool last moved host.
    pub(crate) fn opened_before_move(&self, age: Duration) -> bool {
        match self.moved.load(Ordering::Relaxed) {
            0 => false,
            at => {
                let since_move = self
                    .started
                    .elapsed()
                    .saturating_sub(Duration::from_nanos(at - 1));
                age >= since_move
            }
        }
    }

    /// Take note of `error`: a lost connection or a read-only server may mean the primary
    /// moved.
    pub(crate) fn observe(&self, error: &sqlx::Error) {
        if super::is_connection_lost(error) || super::refused_as_read_only(error) {
            self.stale.store(true, Ordering::Relaxed);
        }
    }

    /// Search the hosts again before the next connection is lent: a pool that connects
    /// later has not searched yet, and a replica pool that found a primary where it wanted
    /// a standby must look again.
    pub(crate) fn search_again(&self) {
        self.stale.store(true, Ordering::Relaxed);
    }

    /// Whether a call saw the primary may have moved since the last search.
    pub(crate) fn stale(&self) -> bool {
        self.stale.load(Ordering::Relaxed)
    }

    /// Before a connection is lent: when a call saw the primary may have moved, search the
    /// hosts again (one search at a time; the others wait for it) and move `pool` to the one
    /// that fits now. An error when none fits yet, so the call fails before it sends anything
    /// (and runs again within its retry policy) instead of waiting on a host that is gone.
    pub(crate) async fn follow<DB: super::Driver>(
        &self,
        pool: &sqlx::Pool<DB>,
    ) -> std::result::Result<(), sqlx::Error> {
        if !self.stale.load(Ordering::Relaxed) {
            return Ok(());
        }
        let _turn = self.searching.lock().await;
        if !self.stale.load(Ordering::Relaxed) {
            return Ok(());
        }
        let index = self.find().await?;
        self.stale.store(false, Ordering::Relaxed);
        if self.move_to(index) {
            tracing::warn!(host = %self.members[index].1, "following the primary to another host");
            DB::connect_to(pool, self.current_url(), self.statement_cache)?;
        }
        Ok(())
    }
}

/// Connect to `url` alone and ask the server whether it is a standby and read-only by default.
async fn probe(url: &str) -> std::result::Result<(bool, bool), sqlx::Error> {
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(url).await?;
    let answer: std::result::Result<(bool, String), sqlx::Error> = sqlx::query_as(
        "SELECT pg_is_in_recovery(), current_setting('default_transaction_read_only')",
    )
    .fetch_one(&mut conn)
    .await;
    let _ = conn.close().await;
    let (standby, read_only) = answer?;
    Ok((standby, read_only == "on"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_host_urls_become_one_url_per_host() {
        let hosts = read_url(
            "postgresql://postgres@127.0.0.1:5441,127.0.0.1:5442/postgres?target_session_attrs=read-write&sslmode=disable",
        )
        .unwrap()
        .unwrap();
        assert_eq!(hosts.target, Target::ReadWrite);
        let urls: Vec<&str> = hosts.members.iter().map(|(url, _)| url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "postgresql://postgres@127.0.0.1:5441/postgres?sslmode=disable",
                "postgresql://postgres@127.0.0.1:5442/postgres?sslmode=disable"
            ]
        );
        let hosts = read_url("postgres://u:p@a,[::1]:6000,b:7/db")
            .unwrap()
            .unwrap();
        assert_eq!(hosts.target, Target::Any);
        let names: Vec<&str> = hosts
            .members
            .iter()
            .map(|(_, host)| host.as_str())
            .collect();
        assert_eq!(names, ["a:5432", "[::1]:6000", "b:7"]);
        assert!(read_url("postgres://u@a:5432/db").unwrap().is_none());
        assert!(
            read_url("postgres://u@a:5432/db?target_session_attrs=primary")
                .unwrap()
                .is_some()
        );
        for bad in [
            "postgres://u@a,,b/db",
            "postgres://u@a:x,b/db",
            "postgres://u@a,b/db?target_session_attrs=leader",
        ] {
            assert!(
                matches!(read_url(bad), Err(Error::Validation { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn targets_fit_roles_as_libpq_says() {
        assert!(Target::ReadWrite.fits(false, false));
        assert!(!Target::ReadWrite.fits(true, true));
        assert!(!Target::ReadWrite.fits(false, true));
        assert!(Target::Primary.fits(false, true));
        assert!(Target::Standby.fits(true, true) && !Target::Standby.fits(false, false));
        assert!(Target::ReadOnly.fits(false, true) && Target::ReadOnly.fits(true, true));
        assert!(Target::Any.fits(true, false));
    }
}
