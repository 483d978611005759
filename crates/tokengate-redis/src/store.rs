//! [`RedisStore`]: the [`ReplayStore`] and [`RevocationStore`] over Redis.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::RedisError;
use tokengate_core::store::{
    ClientSighting, RecordKind, ReplayStore, Revocation, RevocationStore, StoreError, StoreFuture, TokenRef,
    TokenUse, UseOutcome,
};

use crate::builder::{ConnectError, RedisStoreBuilder, Topology, split_list};
use crate::connect::classify;
use crate::connection::Connection;
use crate::keys::{KeyLayout, USE_GROUPS};
use crate::scripts::{self, LuaScript};

/// A TTL at or above this (about 100 years) is no TTL: the record is kept
/// forever (Redis refuses `PX` values that overflow its clock).
const FOREVER_MS: u64 = 100 * 365 * 24 * 3600 * 1000;

/// What the builder settled, handed to the store.
pub(crate) struct Settings {
    pub(crate) layout: KeyLayout,
    pub(crate) timeout: Duration,
    pub(crate) retry_after: Duration,
    /// Seconds.
    pub(crate) clock_skew_allowance: u64,
    pub(crate) tls: bool,
}

/// Single-use records and revocations in Redis, shared by every validator
/// (in any process) connected to the same Redis (or Redis Cluster) with the
/// same key prefix.
///
/// Implements both [`ReplayStore`] and [`RevocationStore`]; give it to
/// [`ValidatorBuilder::stores`](tokengate_core::ValidatorBuilder::stores).
/// Cheap to clone: clones share one multiplexed, self-reconnecting
/// connection, and the rollback detection's counters.
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    connection: Connection,
    settings: Settings,
    use_script: LuaScript,
    cutoff_script: LuaScript,
    sighting_script: LuaScript,
    /// Per use group, its marker's and its counter's keys (formatted once).
    groups: Box<[(String, String)]>,
    /// Per use group, the highest counter value this instance has seen.
    seen: [AtomicU64; USE_GROUPS],
    /// For logging transitions only, not per request.
    healthy: AtomicBool,
    /// A sweep of the groups after a detected loss is running.
    sweeping: AtomicBool,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let settings = &self.inner.settings;
        f.debug_struct("RedisStore")
            .field("prefix", &settings.layout.prefix())
            .field("cluster", &self.inner.connection.is_cluster())
            .field("tls", &settings.tls)
            .field("timeout", &settings.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// A builder for a store on one Redis node at `url`:
    /// `redis://[[user]:password@]host[:port][/db]`, `rediss://…` for TLS,
    /// or `unix:///path/to/redis.sock`.
    pub fn builder(url: impl Into<String>) -> RedisStoreBuilder {
        RedisStoreBuilder::new(vec![url.into()], Topology::Single)
    }

    /// A builder for a store on a Redis Cluster reached through the seed
    /// URLs `urls` (any of the cluster's nodes; the client discovers the
    /// others), e.g. `["redis://10.0.0.5:7000", "redis://10.0.0.6:7000"]`.
    /// All seeds must use the same scheme (`redis://` or `rediss://`); the
    /// password, user name and TLS mode are those of the first.
    pub fn builder_from_urls<I, S>(urls: I) -> RedisStoreBuilder
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        RedisStoreBuilder::new(urls.into_iter().map(Into::into).collect(), Topology::Cluster)
    }

    /// A builder for a store on the master that the Redis Sentinels at
    /// `urls` monitor under `master` (Sentinel's `sentinel monitor <master> …`),
    /// e.g. `(["redis://10.0.0.5:26379", "redis://10.0.0.6:26379"], "tokens")`.
    ///
    /// The master's address is asked of the Sentinels at connection and again
    /// after any failure that may mean it changed (a broken connection, a
    /// timeout, `READONLY` from a master demoted to replica): through a
    /// failover, requests answer 503 until the new master is reached, and a
    /// spent `jti` is never accepted (records the old master had not yet
    /// replicated are caught by the [lost-data check](crate#lost-data-and-rollbacks)).
    /// The Sentinels' password is that of the first URL; the master's is
    /// [`RedisStoreBuilder::master_credentials`]. `rediss://` URLs use TLS
    /// to the Sentinels and the master alike.
    pub fn builder_from_sentinels<I, S>(urls: I, master: impl Into<String>) -> RedisStoreBuilder
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        RedisStoreBuilder::new(
            urls.into_iter().map(Into::into).collect(),
            Topology::Sentinel { master: master.into() },
        )
    }

    /// A builder from the comma-separated form used in configuration (e.g.
    /// `TOKENGATE_REDIS_URL`): one URL is a single node (as
    /// [`builder`](Self::builder)), several are the seeds of a Redis Cluster
    /// (as [`builder_from_urls`](Self::builder_from_urls)). Whitespace around
    /// each URL is ignored; a `,` inside one (in a password) must be written
    /// `%2C`.
    ///
    /// ```
    /// # use tokengate_redis::RedisStore;
    /// let single = RedisStore::builder_from_list("rediss://redis.internal:6380/");
    /// let cluster = RedisStore::builder_from_list("redis://10.0.0.5:7000, redis://10.0.0.6:7000");
    /// ```
    pub fn builder_from_list(list: &str) -> RedisStoreBuilder {
        let urls = split_list(list);
        let topology = if urls.len() > 1 { Topology::Cluster } else { Topology::Single };
        RedisStoreBuilder::new(urls, topology)
    }

    /// Connects to one node at `url` with the defaults; see [`RedisStoreBuilder::connect`].
    pub async fn connect(url: impl Into<String>) -> Result<RedisStore, ConnectError> {
        RedisStore::builder(url).connect().await
    }

    /// The key prefix.
    pub fn key_prefix(&self) -> &str {
        self.inner.settings.layout.prefix()
    }

    /// Where the keys live (for operations and tests).
    pub fn layout(&self) -> &KeyLayout {
        &self.inner.settings.layout
    }

    /// The Redis key of the record of `kind` for `value` of `issuer` (the
    /// arguments of [`RecordKey::new`](tokengate_core::store::RecordKey::new):
    /// a `jti`, a `sub`, or `""` for an issuer-wide cut-off), for operations
    /// and tests (`TTL`, `DEL`); see [`KeyLayout::key`].
    pub fn key(&self, kind: RecordKind, issuer: &str, value: &str) -> String {
        self.inner.settings.layout.key(kind, issuer, value)
    }

    /// The keys of the use groups' markers (see [`KeyLayout::marker`]).
    pub fn marker_keys(&self) -> Vec<String> {
        self.inner.groups.iter().map(|(marker, _)| marker.clone()).collect()
    }

    /// Whether the store runs on a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        self.inner.connection.is_cluster()
    }

    /// Sets every group's marker to now unless set, and reads every group's
    /// counter: the starting point of the rollback detection.
    pub(crate) async fn start(
        connection: Connection,
        settings: Settings,
    ) -> Result<RedisStore, ConnectError> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let init = LuaScript::new(scripts::INIT);
        let (budget, tls) = (settings.timeout * 2, settings.tls);
        let layout = &settings.layout;
        let groups = (0..USE_GROUPS).map(|group| (layout.marker(group), layout.counter(group))).collect();
        let store = RedisStore {
            inner: Arc::new(Inner {
                connection,
                settings,
                use_script: LuaScript::new(scripts::USE),
                cutoff_script: LuaScript::new(scripts::CUTOFF),
                sighting_script: LuaScript::new(scripts::SIGHTING),
                groups,
                seen: std::array::from_fn(|_| AtomicU64::new(0)),
                healthy: AtomicBool::new(true),
                sweeping: AtomicBool::new(false),
            }),
        };
        let mut connection = store.inner.connection.clone();
        for ((marker, counter), seen) in store.inner.groups.iter().zip(&store.inner.seen) {
            let answer =
                tokio::time::timeout(budget, init.run::<u64>(&mut connection, &[marker, counter], &[now]))
                    .await;
            match answer {
                Ok(Ok(value)) => seen.store(value, Ordering::Release),
                Ok(Err(error)) => return Err(classify(&error, tls)),
                Err(_) => return Err(ConnectError::Unreachable(format!("no answer within {budget:?}"))),
            }
        }
        Ok(store)
    }

    /// Runs one Redis operation under the timeout; any failure is 503.
    async fn run<T>(&self, operation: impl Future<Output = Result<T, RedisError>>) -> Result<T, StoreError> {
        let settings = &self.inner.settings;
        let unavailable = StoreError::Unavailable { retry_after: settings.retry_after };
        let result = tokio::time::timeout(settings.timeout, operation).await;
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
                        timeout = ?settings.timeout,
                        "Redis timed out: tokens needing it are refused with 503 until it answers"
                    );
                }
                Err(unavailable)
            }
        }
    }

    async fn record(&self, token: TokenUse<'_>) -> Result<UseOutcome, StoreError> {
        let inner = &*self.inner;
        let layout = &inner.settings.layout;
        let record = token.key();
        let group = layout.use_group(&record);
        let ((marker, counter), key) = (&inner.groups[group], layout.use_record(&record));
        let allowance = inner.settings.clock_skew_allowance;
        let seen = inner.seen[group].load(Ordering::Acquire);
        let ttl_ms = millis(token.ttl()).min(FOREVER_MS - 1);
        let args = [token.now, token.issued_at, ttl_ms, seen, allowance];
        let mut connection = inner.connection.clone();
        let (outcome, count, lost): (i64, u64, i64) =
            self.run(inner.use_script.run(&mut connection, &[marker, counter, &key], &args)).await?;
        inner.seen[group].fetch_max(count, Ordering::AcqRel);
        if lost != 0 {
            tracing::error!(
                group,
                marker = %marker,
                refused_before = token.now.saturating_add(allowance),
                "Redis lost single-use records (restart without persistence or from an older snapshot, \
                 failover to a replica that lagged, FLUSHALL): single-use tokens issued before the marker \
                 are refused as possibly replayed"
            );
            self.sweep(token.now);
        }
        Ok(match outcome {
            0 => UseOutcome::First,
            2 => UseOutcome::IssuedBeforeRecords,
            _ => UseOutcome::AlreadyUsed,
        })
    }

    /// After a detection in one group, runs the check in every group, in
    /// the background: a loss rarely spares the others, and each group
    /// would otherwise notice only at its next use, moving its marker then
    /// (and refusing fresh tokens within the allowance of that later
    /// moment). Best effort; one sweep at a time.
    fn sweep(&self, now: u64) {
        if self.inner.sweeping.swap(true, Ordering::AcqRel) {
            return;
        }
        let store = self.clone();
        tokio::spawn(async move {
            let inner = &*store.inner;
            let mut connection = inner.connection.clone();
            for (group, ((marker, counter), seen)) in inner.groups.iter().zip(&inner.seen).enumerate() {
                let args = [now, 0, 0, seen.load(Ordering::Acquire), inner.settings.clock_skew_allowance];
                let keys = [marker.as_str(), counter.as_str()];
                let check = inner.use_script.run::<(i64, u64, i64)>(&mut connection, &keys, &args);
                match tokio::time::timeout(inner.settings.timeout, check).await {
                    Ok(Ok((_, count, lost))) => {
                        seen.fetch_max(count, Ordering::AcqRel);
                        if lost != 0 {
                            tracing::error!(group, marker = %marker, "Redis lost single-use records in this group too");
                        }
                    }
                    Ok(Err(error)) => tracing::debug!(group, %error, "lost-data sweep: no answer"),
                    Err(_) => tracing::debug!(group, "lost-data sweep: timed out"),
                }
            }
            inner.sweeping.store(false, Ordering::Release);
        });
    }

    async fn sight(&self, sighting: ClientSighting) -> Result<u32, StoreError> {
        let inner = &*self.inner;
        let key = inner.settings.layout.sightings(&sighting.token);
        let ttl_ms = millis(sighting.ttl()).min(FOREVER_MS - 1);
        let args = [sighting.client, u64::from(sighting.kept()), ttl_ms];
        let mut connection = inner.connection.clone();
        let clients: u64 = self.run(inner.sighting_script.run(&mut connection, &[&key], &args)).await?;
        Ok(u32::try_from(clients).unwrap_or(u32::MAX))
    }

    async fn check(&self, token: TokenRef<'_>) -> Result<bool, StoreError> {
        // All in the issuer's hash slot: one MGET, one round trip, in a cluster too.
        let keys = self.inner.settings.layout.revocation_checks(token.issuer, token.subject, token.token_id);
        let jti_at = token.token_id.map(|_| keys.len() - 1);
        let mut connection = self.inner.connection.clone();
        let values: Vec<Option<u64>> =
            self.run(redis::cmd("MGET").arg(&keys).query_async(&mut connection)).await?;
        Ok(values.iter().enumerate().any(|(index, value)| match value {
            None => false,
            Some(_) if Some(index) == jti_at => true,
            Some(cutoff) => token.caught_by(*cutoff),
        }))
    }

    async fn insert(&self, revocation: Revocation<'_>, now: u64) -> Result<(), StoreError> {
        let (kind, issuer) = match revocation {
            Revocation::Token { issuer, .. } => (RecordKind::RevokedToken, issuer),
            Revocation::Subject { issuer, .. } => (RecordKind::RevokedSubject, issuer),
            Revocation::Issuer { issuer, .. } => (RecordKind::RevokedIssuer, issuer),
            _ => {
                tracing::error!(?revocation, "a kind of revocation this store does not know: refused");
                return Err(StoreError::Unavailable { retry_after: self.inner.settings.retry_after });
            }
        };
        let key = self.inner.settings.layout.revocation(kind, issuer, &revocation.key());
        // 0: kept forever (`keep_until` u64::MAX, or beyond what Redis can expire).
        let ttl_ms = match revocation.keep_until() {
            u64::MAX => 0,
            keep_until => Some(millis(Duration::from_secs(keep_until.saturating_sub(now).max(1))))
                .filter(|ms| *ms < FOREVER_MS)
                .unwrap_or(0),
        };
        let mut connection = self.inner.connection.clone();
        match revocation.cutoff() {
            None => {
                let mut set = redis::cmd("SET");
                set.arg(&key).arg(1);
                if ttl_ms != 0 {
                    set.arg("PX").arg(ttl_ms);
                }
                self.run(set.exec_async(&mut connection)).await
            }
            Some(cutoff) => {
                let script = &self.inner.cutoff_script;
                let _: i64 = self.run(script.run(&mut connection, &[&key], &[cutoff, ttl_ms])).await?;
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

    fn note_client(&self, sighting: ClientSighting) -> StoreFuture<'_, u32> {
        StoreFuture::boxed(self.sight(sighting))
    }

    fn counts_clients(&self) -> bool {
        true
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
