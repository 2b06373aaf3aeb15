//! The Redis tier, shared by every instance of a service: entries under keys that carry the
//! database's identity, each table's stamps (as the in-process tier keeps them, but in Redis),
//! and a channel on which every write is announced. Each step that must not interleave with
//! a write (read an entry at the current stamps; keep one only if the generation is the one
//! seen; bump the stamps, remove rows by key, follow cascades and announce) is one Lua script,
//! so it runs atomically in Redis.
//!
//! A Redis call that fails or takes longer than the timeout marks the tier down: reads go to
//! the database, and writes remember what Redis has not been told. A task pings Redis until it
//! answers, tells it what was missed (whole tables, and a new era that makes every entry
//! filled before unreachable), and only then serves from it again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::ConnectionManager;

use super::digest::Digest;
use crate::read_cache::{Entry, Rows, Written};

/// Reads `ARGV[1]`-namespaced stamps, creating a missing one from Redis's clock so that it
/// never repeats a value an evicted or flushed stamp once had.
const STAMP: &str = r"
local function stamp(k)
  local v = redis.call('GET', k)
  if not v then
    local t = redis.call('TIME')
    redis.call('SET', k, string.format('%d', t[1] * 1000000 + t[2]), 'NX')
    v = redis.call('GET', k)
  end
  return v
end
local function bump(k)
  stamp(k)
  return redis.call('INCR', k)
end
";

/// ARGV: namespace, table, kind (`q`, or the view of a row), digest. Returns the generation,
/// the entry's key, and the entry if there is one.
const READ: &str = r"
local era = stamp(ARGV[1] .. ':era')
local base = ARGV[1] .. ':t:' .. ARGV[2]
local g = stamp(base .. ':g')
local key
if ARGV[3] == 'q' then
  key = ARGV[1] .. ':' .. era .. ':' .. ARGV[2] .. ':q:' .. g .. ':' .. ARGV[4]
else
  key = ARGV[1] .. ':' .. era .. ':' .. ARGV[2] .. ':r' .. ARGV[3] .. ':' .. stamp(base .. ':e') .. ':' .. ARGV[4]
end
return {g, key, redis.call('GET', key)}
";

/// ARGV: namespace, table, generation seen, key, entry, time to live (ms).
const FILL: &str = r"
if redis.call('GET', ARGV[1] .. ':t:' .. ARGV[2] .. ':g') == ARGV[3] then
  redis.call('SET', ARGV[4], ARGV[5], 'PX', ARGV[6])
  return 1
end
return 0
";

/// ARGV: namespace, channel, the writes as JSON (`[{"t": table, "a": whole, "k": [digest]}]`),
/// and `1` to start a new era.
const INVALIDATE: &str = r#"
local ns = ARGV[1]
local writes = cjson.decode(ARGV[3])
if ARGV[4] == '1' then bump(ns .. ':era') end
local era = stamp(ns .. ':era')
local seen = {}
local queue = {}
for _, w in ipairs(writes) do
  local base = ns .. ':t:' .. w.t
  bump(base .. ':g')
  if w.a then
    bump(base .. ':e')
  else
    local e = stamp(base .. ':e')
    for _, d in ipairs(w.k) do
      for v = 0, 2 do
        redis.call('DEL', ns .. ':' .. era .. ':' .. w.t .. ':r' .. v .. ':' .. e .. ':' .. d)
      end
    end
  end
  if not seen[w.t] then
    seen[w.t] = true
    table.insert(queue, w.t)
  end
end
local cascaded = {}
while #queue > 0 do
  local t = table.remove(queue)
  for _, c in ipairs(redis.call('SMEMBERS', ns .. ':t:' .. t .. ':d')) do
    local base = ns .. ':t:' .. c
    bump(base .. ':g')
    bump(base .. ':e')
    table.insert(cascaded, c)
    if not seen[c] then
      seen[c] = true
      table.insert(queue, c)
    end
  end
end
local c = '[]'
if #cascaded > 0 then c = cjson.encode(cascaded) end
redis.call('PUBLISH', ARGV[2], '{"w":' .. ARGV[3] .. ',"c":' .. c .. ',"e":' .. ARGV[4] .. '}')
return 1
"#;

/// One table's writes as the channel announces them.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(super) struct Announced {
    /// The table.
    pub(super) t: String,
    /// Whether any row may have changed.
    pub(super) a: bool,
    /// Else, the digests of the rows changed.
    #[serde(default, deserialize_with = "lenient_list")]
    pub(super) k: Vec<String>,
}

/// A message of the channel: the writes, and the tables they cascaded into.
#[derive(Debug, serde::Deserialize)]
pub(super) struct Message {
    pub(super) w: Vec<Announced>,
    #[serde(default, deserialize_with = "lenient_list")]
    pub(super) c: Vec<String>,
    /// 1 when every entry was forgotten (a new era).
    #[serde(default)]
    pub(super) e: u8,
}

/// A list, or `{}`: how Lua's JSON encoder writes an empty one.
fn lenient_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum List {
        Items(Vec<String>),
        Empty(serde::de::IgnoredAny),
    }
    Ok(match List::deserialize(d)? {
        List::Items(items) => items,
        List::Empty(_) => Vec::new(),
    })
}

use serde::Deserialize as _;

/// What the Redis tier holds for a read.
pub(super) enum Found {
    Hit(Entry),
    /// No entry: fill `key` if the generation is still `generation`.
    Miss {
        generation: String,
        key: String,
    },
}

/// The Redis tier of one database.
pub(super) struct Shared {
    client: redis::Client,
    connection: ConnectionManager,
    /// Prefix of every key: the format, the namespace chosen, the database's identity.
    namespace: String,
    timeout: Duration,
    up: AtomicBool,
    recovering: AtomicBool,
    /// What Redis has not been told while it was down.
    missed: Mutex<Written>,
    read: redis::Script,
    fill: redis::Script,
    invalidate: redis::Script,
}

/// A Redis call failed (or took too long).
pub(super) struct Down;

impl Shared {
    /// The tier on the Redis at `url`; nothing is sent until the first read.
    pub(super) fn new(url: &str, namespace: String, timeout: Duration) -> redis::RedisResult<Self> {
        let client = redis::Client::open(url)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let connection = ConnectionManager::new_lazy_with_config(client.clone(), config)?;
        Ok(Self {
            client,
            connection,
            namespace,
            timeout,
            up: AtomicBool::new(true),
            recovering: AtomicBool::new(false),
            missed: Mutex::new(Written::default()),
            read: redis::Script::new(&format!("{STAMP}{READ}")),
            fill: redis::Script::new(FILL),
            invalidate: redis::Script::new(&format!("{STAMP}{INVALIDATE}")),
        })
    }

    pub(super) fn client(&self) -> &redis::Client {
        &self.client
    }

    /// How long a Redis call may take.
    pub(super) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The channel writes are announced on.
    pub(super) fn channel(&self) -> String {
        format!("{}:written", self.namespace)
    }

    pub(super) fn is_up(&self) -> bool {
        self.up.load(Ordering::SeqCst)
    }

    async fn call<T: redis::FromRedisValue>(
        &self,
        invocation: redis::ScriptInvocation<'_>,
    ) -> Result<T, Down> {
        let mut connection = self.connection.clone();
        match tokio::time::timeout(self.timeout, invocation.invoke_async(&mut connection)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => {
                tracing::debug!(%error, "Redis call failed");
                Err(Down)
            }
            Err(_) => {
                tracing::debug!("Redis call timed out");
                Err(Down)
            }
        }
    }

    /// The entry of the read `kind`/`digest` of `table`, or how to fill it.
    pub(super) async fn read(
        &self,
        table: &str,
        kind: &str,
        digest: Digest,
    ) -> Result<Found, Down> {
        let mut invocation = self.read.prepare_invoke();
        invocation
            .arg(&self.namespace)
            .arg(table)
            .arg(kind)
            .arg(digest.hex());
        let (generation, key, payload): (String, String, Option<Vec<u8>>) =
            self.call(invocation).await?;
        Ok(
            match payload.and_then(|p| serde_json::from_slice(&p).ok()) {
                Some(entry) => Found::Hit(entry),
                None => Found::Miss { generation, key },
            },
        )
    }

    /// Keep `entry` under `key` if `table`'s generation is still `generation`.
    pub(super) async fn fill(
        &self,
        table: &str,
        generation: &str,
        key: &str,
        entry: &Entry,
        ttl: Duration,
    ) -> Result<(), Down> {
        // Only what reads back as itself is shared: a value JSON cannot carry (a NaN, a type
        // whose text loses something) stays out of Redis, and its readers go to the database.
        let Ok(payload) = serde_json::to_vec(entry) else {
            return Ok(());
        };
        if serde_json::from_slice::<Entry>(&payload).ok().as_ref() != Some(entry) {
            tracing::debug!(
                table,
                "not shared through Redis: the entry does not read back as itself"
            );
            return Ok(());
        }
        let mut invocation = self.fill.prepare_invoke();
        invocation
            .arg(&self.namespace)
            .arg(table)
            .arg(generation)
            .arg(key)
            .arg(payload)
            .arg(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1));
        self.call::<i64>(invocation).await.map(drop)
    }

    /// Tell Redis, and through it every instance, what `written` changed (`digests`: of the
    /// rows written by key, table by table in `written`'s order). `new_era`: forget every
    /// entry too.
    pub(super) async fn invalidate(
        &self,
        written: &Written,
        digests: &[Vec<Digest>],
        new_era: bool,
    ) -> Result<(), Down> {
        let announced: Vec<Announced> = written
            .tables
            .iter()
            .zip(digests)
            .map(|(write, digests)| Announced {
                t: write.table.to_string(),
                a: matches!(write.rows, Rows::All),
                k: digests.iter().map(|d| d.hex()).collect(),
            })
            .collect();
        let Ok(message) = serde_json::to_string(&announced) else {
            return Err(Down);
        };
        let mut invocation = self.invalidate.prepare_invoke();
        invocation
            .arg(&self.namespace)
            .arg(self.channel())
            .arg(message)
            .arg(if new_era { "1" } else { "0" });
        self.call::<i64>(invocation).await.map(drop)
    }

    /// Note in Redis that a write to each of `parents` may change rows of `table`.
    pub(super) async fn register(&self, table: &str, parents: &[Arc<str>]) -> Result<(), Down> {
        if parents.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for parent in parents {
            pipe.sadd(format!("{}:t:{parent}:d", self.namespace), table)
                .ignore();
        }
        let mut connection = self.connection.clone();
        match tokio::time::timeout(self.timeout, pipe.query_async::<()>(&mut connection)).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(Down),
        }
    }

    /// Redis failed: serve from the database until it answers again, and remember `missed`
    /// (the writes it was not told of) to tell it then.
    pub(super) fn went_down(self: &Arc<Self>, missed: Option<&Written>) {
        // Under the lock `recover` ends under: a failure either is seen by it, or starts a
        // recovery of its own.
        let mut known = self.missed();
        if let Some(missed) = missed {
            for write in &missed.tables {
                known.add(write.table.clone(), None, Rows::All);
            }
        }
        self.up.store(false, Ordering::SeqCst);
        if self.recovering.swap(true, Ordering::SeqCst) {
            return;
        }
        drop(known);
        let shared = Arc::clone(self);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { shared.recover().await });
        } else {
            self.recovering.store(false, Ordering::SeqCst);
        }
    }

    fn missed(&self) -> std::sync::MutexGuard<'_, Written> {
        self.missed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Ping Redis until it answers, tell it what it missed, and serve from it again.
    async fn recover(&self) {
        let mut wait = Duration::from_millis(50);
        loop {
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(1));
            let mut connection = self.connection.clone();
            let ping = redis::cmd("PING");
            let answer = ping.query_async::<String>(&mut connection);
            if !matches!(tokio::time::timeout(self.timeout, answer).await, Ok(Ok(_))) {
                continue;
            }
            let missed = std::mem::take(&mut *self.missed());
            if !missed.is_empty() {
                let digests = vec![Vec::new(); missed.tables.len()];
                if self.invalidate(&missed, &digests, true).await.is_err() {
                    self.missed().extend(missed);
                    continue;
                }
            }
            {
                // Writes that failed while this ran were added to `missed`: tell them first.
                let known = self.missed();
                if !known.is_empty() {
                    continue;
                }
                self.up.store(true, Ordering::SeqCst);
                self.recovering.store(false, Ordering::SeqCst);
            }
            tracing::info!("Redis answers again: the shared cache serves reads");
            return;
        }
    }
}
