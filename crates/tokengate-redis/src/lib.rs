//! # tokengate-redis
//!
//! Single-use token records and revocations shared by a fleet through Redis,
//! for [tokengate](https://docs.rs/tokengate): with one [`RedisStore`] behind
//! every instance, a single-use token is accepted **once across all of
//! them**, and a revocation made through one holds on all.
//!
//! ```no_run
//! use tokengate_core::{Algorithm, Issuer, KeySet, Validator};
//! use tokengate_redis::RedisStore;
//!
//! # async fn demo(keys: KeySet) -> Result<(), Box<dyn std::error::Error>> {
//! let store = RedisStore::builder("redis://127.0.0.1:6379/").key_prefix("payments:").connect().await?;
//! let validator = Validator::builder()
//!     .issuer(
//!         Issuer::new("https://auth.example.com/")
//!             .audience("https://api.example.com")
//!             .algorithms([Algorithm::ES256])
//!             .keys(keys),
//!     )
//!     .stores(store)
//!     .build()?;
//! # Ok(()) }
//! ```
//!
//! ## What it guarantees
//!
//! - **Atomic single use**: a use is one Lua script around
//!   `SET key 1 NX PX ttl`; of any number of concurrent presentations, on any
//!   number of instances, exactly one is first.
//! - **Bounded records**: each record expires in Redis when its token does
//!   (`exp` + leeway). Keys are a configurable prefix and a 128-bit hash of
//!   issuer and `jti`/`sub`, never token text.
//! - **Fail closed**: when Redis cannot be reached or does not answer within
//!   the timeout, tokens are refused with 503
//!   ([`Error::StoreUnavailable`](tokengate_core::Error::StoreUnavailable)),
//!   never accepted; a reply lost after Redis recorded a use spends the token
//!   without accepting it. The connection manager reconnects by itself, and
//!   service resumes when Redis returns, without rebuilding the validator.
//! - **Lost data**: if Redis loses its data (restart without persistence,
//!   `FLUSHALL`), the store notices that its marker key is gone and refuses
//!   single-use tokens issued before that moment
//!   ([`Error::PossiblyReplayed`](tokengate_core::Error::PossiblyReplayed)),
//!   so a token used before the loss is not accepted again after it.
//!   Revocations cannot be recovered that way: use Redis persistence if
//!   they must survive a Redis restart.
//!
//! Run Redis with `maxmemory-policy noeviction`: an evicted record would let
//! a replay through (Redis then answers writes with an error, which is
//! refused as 503). Single-node or primary/replica Redis only (no cluster).
//!
//! See `docs/single-use.md` in the repository for the full guide.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, RedisError, Script};
use tokengate_core::{
    RecordKey, RecordKind, ReplayStore, Revocation, RevocationStore, StoreError, StoreFuture, TokenRef,
    TokenUse, UseOutcome,
};

/// The default key prefix: every key this store writes starts with it.
pub const DEFAULT_KEY_PREFIX: &str = "tokengate:";
/// The default time one Redis operation may take before the request is
/// refused with 503.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);
/// The default `Retry-After` of a 503 caused by Redis.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);

/// Records a use unless one exists; detects lost data by the marker key.
/// KEYS: marker, use record. ARGV: now, iat, ttl in ms.
/// Returns 0 first use, 1 already used, 2 issued before the records begin.
const USE_SCRIPT: &str = r"
local since = redis.call('GET', KEYS[1])
if not since then
  redis.call('SET', KEYS[1], ARGV[1])
  since = ARGV[1]
end
if tonumber(ARGV[2]) < tonumber(since) then return 2 end
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[3]) then return 0 end
return 1
";

/// Sets a cut-off unless a later one is held. KEYS: cut-off. ARGV: cut-off, ttl in ms.
const CUTOFF_SCRIPT: &str = r"
local current = redis.call('GET', KEYS[1])
if current and tonumber(current) >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
";

/// Why [`RedisStoreBuilder::connect`] failed: a configuration error, reported
/// at start-up rather than discovered on the first request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The URL is not a Redis URL this build supports (`redis://`, `unix://`).
    #[error("invalid Redis URL: {0}")]
    InvalidUrl(String),
    /// Redis did not answer.
    #[error("Redis is unreachable: {0}")]
    Unreachable(String),
}

/// Configures a [`RedisStore`]; see [`RedisStore::builder`].
#[derive(Clone)]
pub struct RedisStoreBuilder {
    url: String,
    prefix: String,
    timeout: Duration,
    retry_after: Duration,
}

impl fmt::Debug for RedisStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may carry a password: never printed.
        f.debug_struct("RedisStoreBuilder")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("retry_after", &self.retry_after)
            .finish_non_exhaustive()
    }
}

impl RedisStoreBuilder {
    /// Every key starts with `prefix` (default [`DEFAULT_KEY_PREFIX`]), so
    /// several services can share one Redis. Services that must **not**
    /// share single-use records (each may accept the token once) need
    /// distinct prefixes; instances of one service need the same one.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long one Redis operation (connecting included) may take before the
    /// token is refused with 503 (default [`DEFAULT_TIMEOUT`]). It bounds the
    /// latency Redis can add to a request, outage or not.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The `Retry-After` of 503s caused by Redis (default [`DEFAULT_RETRY_AFTER`]).
    pub fn retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// Connects (inside a Tokio runtime), failing if Redis does not answer:
    /// an unreachable store at start-up is a configuration error. Later
    /// outages are survived: the connection is re-established by itself.
    pub async fn connect(self) -> Result<RedisStore, ConnectError> {
        let client = Client::open(self.url.as_str()).map_err(|e| ConnectError::InvalidUrl(e.to_string()))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(20))
            .set_max_delay(self.timeout);
        let manager =
            tokio::time::timeout(self.timeout * 4, ConnectionManager::new_with_config(client, config))
                .await
                .map_err(|_| ConnectError::Unreachable("timed out".to_owned()))?
                .map_err(|e| ConnectError::Unreachable(e.to_string()))?;
        let since_key = format!("{}since", self.prefix);
        let store = RedisStore {
            inner: Arc::new(Inner {
                manager,
                use_script: Script::new(USE_SCRIPT),
                cutoff_script: Script::new(CUTOFF_SCRIPT),
                since_key,
                prefix: self.prefix,
                timeout: self.timeout,
                retry_after: self.retry_after,
                healthy: AtomicBool::new(true),
            }),
        };
        // The records begin now unless they began earlier: a fresh Redis
        // vouches for no use before this moment.
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let mut connection = store.inner.manager.clone();
        let marked: Result<(), RedisError> = redis::cmd("SET")
            .arg(&store.inner.since_key)
            .arg(now)
            .arg("NX")
            .exec_async(&mut connection)
            .await;
        marked.map_err(|e| ConnectError::Unreachable(e.to_string()))?;
        Ok(store)
    }
}

/// Single-use records and revocations in Redis, shared by every validator
/// (in any process) connected to the same Redis with the same key prefix.
///
/// Implements both [`ReplayStore`] and [`RevocationStore`]; give it to
/// [`ValidatorBuilder::stores`](tokengate_core::ValidatorBuilder::stores).
/// Cheap to clone: clones share one multiplexed, self-reconnecting connection.
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    manager: ConnectionManager,
    use_script: Script,
    cutoff_script: Script,
    since_key: String,
    prefix: String,
    timeout: Duration,
    retry_after: Duration,
    /// For logging transitions only, not per request.
    healthy: AtomicBool,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.inner.prefix)
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// A builder for a store at `url` (`redis://[:password@]host[:port][/db]`).
    pub fn builder(url: impl Into<String>) -> RedisStoreBuilder {
        RedisStoreBuilder {
            url: url.into(),
            prefix: DEFAULT_KEY_PREFIX.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            retry_after: DEFAULT_RETRY_AFTER,
        }
    }

    /// Connects to `url` with the defaults; see [`RedisStoreBuilder::connect`].
    pub async fn connect(url: impl Into<String>) -> Result<RedisStore, ConnectError> {
        RedisStore::builder(url).connect().await
    }

    /// The key prefix.
    pub fn key_prefix(&self) -> &str {
        &self.inner.prefix
    }

    /// The Redis key of a record (for operations and tests: `TTL`, `DEL`).
    pub fn key(&self, kind: RecordKind, key: &RecordKey) -> String {
        let kind = match kind {
            RecordKind::Use => "use",
            RecordKind::RevokedToken => "revoked:jti",
            RecordKind::RevokedSubject => "revoked:sub",
            _ => "revoked:iss",
        };
        format!("{}{kind}:{}", self.inner.prefix, key.to_hex())
    }

    /// The key of the marker whose value is the moment the records begin.
    pub fn marker_key(&self) -> &str {
        &self.inner.since_key
    }

    /// Runs one Redis operation under the timeout; any failure is 503.
    async fn run<T>(&self, operation: impl Future<Output = Result<T, RedisError>>) -> Result<T, StoreError> {
        let unavailable = StoreError::Unavailable { retry_after: self.inner.retry_after };
        let result = tokio::time::timeout(self.inner.timeout, operation).await;
        let healthy = &self.inner.healthy;
        match result {
            Ok(Ok(value)) => {
                if !healthy.swap(true, Ordering::Relaxed) {
                    tracing::info!("Redis answers again: single-use and revocation checks resume");
                }
                Ok(value)
            }
            Ok(Err(error)) => {
                if healthy.swap(false, Ordering::Relaxed) {
                    tracing::warn!(%error, "Redis failed: tokens needing it are refused with 503 until it answers");
                }
                Err(unavailable)
            }
            Err(_) => {
                if healthy.swap(false, Ordering::Relaxed) {
                    tracing::warn!(
                        timeout = ?self.inner.timeout,
                        "Redis timed out: tokens needing it are refused with 503 until it answers"
                    );
                }
                Err(unavailable)
            }
        }
    }

    async fn record(&self, token: TokenUse<'_>) -> Result<UseOutcome, StoreError> {
        let key = self.key(RecordKind::Use, &token.key());
        let ttl_ms = millis(token.ttl());
        let mut connection = self.inner.manager.clone();
        let mut invocation = self.inner.use_script.prepare_invoke();
        invocation.key(&self.inner.since_key).key(&key).arg(token.now).arg(token.issued_at).arg(ttl_ms);
        let answer: i64 = self.run(invocation.invoke_async(&mut connection)).await?;
        Ok(match answer {
            0 => UseOutcome::First,
            2 => UseOutcome::IssuedBeforeRecords,
            _ => UseOutcome::AlreadyUsed,
        })
    }

    async fn check(&self, token: TokenRef<'_>) -> Result<bool, StoreError> {
        let mut keys = Vec::with_capacity(3);
        keys.push(
            self.key(RecordKind::RevokedIssuer, &RecordKey::new(RecordKind::RevokedIssuer, token.issuer, "")),
        );
        if let Some(sub) = token.subject {
            let key = RecordKey::new(RecordKind::RevokedSubject, token.issuer, sub);
            keys.push(self.key(RecordKind::RevokedSubject, &key));
        }
        let jti_at = keys.len();
        if let Some(jti) = token.token_id {
            keys.push(
                self.key(
                    RecordKind::RevokedToken,
                    &RecordKey::new(RecordKind::RevokedToken, token.issuer, jti),
                ),
            );
        }
        let mut connection = self.inner.manager.clone();
        let values: Vec<Option<u64>> =
            self.run(redis::cmd("MGET").arg(&keys).query_async(&mut connection)).await?;
        Ok(values.iter().enumerate().any(|(index, value)| match value {
            None => false,
            Some(_) if index == jti_at => true,
            Some(cutoff) => token.caught_by(*cutoff),
        }))
    }

    async fn insert(&self, revocation: Revocation<'_>, now: u64) -> Result<(), StoreError> {
        let kind = match revocation {
            Revocation::Token { .. } => RecordKind::RevokedToken,
            Revocation::Subject { .. } => RecordKind::RevokedSubject,
            _ => RecordKind::RevokedIssuer,
        };
        let key = self.key(kind, &revocation.key());
        let ttl_ms = millis(Duration::from_secs(revocation.keep_until().saturating_sub(now).max(1)));
        let mut connection = self.inner.manager.clone();
        match revocation.cutoff() {
            None => {
                let mut set = redis::cmd("SET");
                set.arg(&key).arg(1).arg("PX").arg(ttl_ms);
                self.run(set.exec_async(&mut connection)).await
            }
            Some(cutoff) => {
                let mut invocation = self.inner.cutoff_script.prepare_invoke();
                invocation.key(&key).arg(cutoff).arg(ttl_ms);
                let _: i64 = self.run(invocation.invoke_async(&mut connection)).await?;
                Ok(())
            }
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl ReplayStore for RedisStore {
    fn record_use<'a>(&'a self, token: TokenUse<'a>) -> StoreFuture<'a, UseOutcome> {
        StoreFuture::boxed(self.record(token))
    }
}

impl RevocationStore for RedisStore {
    fn is_revoked<'a>(&'a self, token: TokenRef<'a>) -> StoreFuture<'a, bool> {
        StoreFuture::boxed(self.check(token))
    }

    fn revoke<'a>(&'a self, revocation: Revocation<'a>, now: u64) -> StoreFuture<'a, ()> {
        StoreFuture::boxed(self.insert(revocation, now))
    }
}
