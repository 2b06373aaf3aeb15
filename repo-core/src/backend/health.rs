//! What a pool knows of its connections' health: when it last saw one lost. A server that
//! restarted, or a link that broke, leaves the pool's idle connections dead without a word; a
//! write sent on one would fail with an outcome no one can know. So a connection idle since
//! before the last loss seen, or idle for long, is pinged before it is lent, and a dead one is
//! closed and another taken.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The health of one pool's connections.
#[derive(Debug)]
pub(crate) struct Health {
    started: Instant,
    /// When a connection was last seen lost: nanoseconds after `started`, plus one (0: never).
    last_loss: AtomicU64,
    /// Connections idle this long are pinged whether or not a loss was seen.
    ping_idle_after: Duration,
}

impl Health {
    pub(crate) fn new(ping_idle_after: Duration) -> Arc<Self> {
        Arc::new(Self {
            started: Instant::now(),
            last_loss: AtomicU64::new(0),
            ping_idle_after,
        })
    }

    /// A connection was just seen lost.
    pub(crate) fn lost(&self) {
        let now = u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX - 1);
        self.last_loss.store(now + 1, Ordering::Relaxed);
    }

    /// Take note of `error`, if it says the connection was lost.
    pub(crate) fn observe(&self, error: &sqlx::Error) {
        if super::is_connection_lost(error) {
            self.lost();
        }
    }

    /// Whether a connection idle for `idle_for` must be pinged before it is lent: it was idle
    /// when the last loss was seen, or has been idle for long.
    pub(crate) fn suspect(&self, idle_for: Duration) -> bool {
        if idle_for >= self.ping_idle_after {
            return true;
        }
        match self.last_loss.load(Ordering::Relaxed) {
            0 => false,
            at => {
                let since_loss = self
                    .started
                    .elapsed()
                    .saturating_sub(Duration::from_nanos(at - 1));
                idle_for >= since_loss
            }
        }
    }
}

/// A pool's `before_acquire` hook: ping a suspect connection; a dead one is closed and the
/// pool lends another.
macro_rules! ping_suspects {
    ($health:expr) => {{
        let health = std::sync::Arc::clone(&$health);
        move |conn, meta: sqlx::pool::PoolConnectionMetadata| {
            let health = std::sync::Arc::clone(&health);
            Box::pin(async move {
                if health.suspect(meta.idle_for) {
                    use sqlx::Connection as _;
                    if let Err(error) = conn.ping().await {
                        health.lost();
                        return Err(error);
                    }
                }
                Ok(true)
            })
        }
    }};
}
pub(crate) use ping_suspects;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_idle_since_the_last_loss_are_suspect() {
        let health = Health::new(Duration::from_hours(1));
        assert!(!health.suspect(Duration::from_mins(1)));
        health.lost();
        std::thread::sleep(Duration::from_millis(20));
        // Idle since before the loss: suspect; taken back since: not.
        assert!(health.suspect(Duration::from_secs(1)));
        assert!(!health.suspect(Duration::from_millis(1)));
        assert!(health.suspect(Duration::from_hours(1)));
    }
}
