//! The master that a set of Redis Sentinels names, followed across failovers.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::sentinel::SentinelClient;
use redis::{
    AsyncConnectionConfig, Cmd, ErrorKind, Pipeline, RedisError, RedisFuture, RedisResult, ServerErrorKind,
    Value,
};
use tokio::sync::watch;

/// A multiplexed connection to the current master, cheap to clone (clones
/// share it). The master is asked of the Sentinels on first use and again
/// after any failure that may mean it changed (the connection broke, a
/// timeout, `READONLY` from a node demoted to replica, `MASTERDOWN`): a
/// failover costs the requests made until the new master is found (503),
/// and the next ones reach it. (Under a network partition the old master
/// may still take writes for a while; the lost-data check catches what
/// they lose.)
#[derive(Clone)]
pub(crate) struct SentinelConnection {
    inner: Arc<Inner>,
}

struct Inner {
    sentinels: tokio::sync::Mutex<SentinelClient>,
    /// The master's connection and its generation (one per lookup).
    current: Mutex<Option<(u64, MultiplexedConnection)>>,
    generation: AtomicU64,
    /// Whether a lookup task is running: at most one at a time.
    looking: AtomicBool,
    /// Bumped when a lookup ends; its error's kind and text, if it failed.
    looked_up: watch::Sender<(u64, Option<(ErrorKind, String)>)>,
    config: AsyncConnectionConfig,
    /// A lookup's budget: every Sentinel tried (redis's own per-Sentinel
    /// timeouts apply), then the master's `ROLE` check.
    lookup_timeout: Duration,
}

impl SentinelConnection {
    /// Connects to the master the Sentinels name now. `timeout` is the
    /// store's per-operation timeout: commands on the master time out a
    /// little before it, so that a hung master is forgotten, not just
    /// abandoned by the request; a lookup may take four times it, in a task
    /// of its own that a request giving up does not cancel.
    pub(crate) async fn connect(sentinels: SentinelClient, timeout: Duration) -> RedisResult<Self> {
        let response_timeout = timeout - timeout / 10;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(response_timeout))
            .set_response_timeout(Some(response_timeout));
        let connection = SentinelConnection {
            inner: Arc::new(Inner {
                sentinels: tokio::sync::Mutex::new(sentinels),
                current: Mutex::new(None),
                generation: AtomicU64::new(0),
                looking: AtomicBool::new(false),
                looked_up: watch::channel((0, None)).0,
                config,
                lookup_timeout: timeout * 4,
            }),
        };
        connection.master().await?;
        Ok(connection)
    }

    /// The master's connection; without one, waits for a lookup (starting
    /// one unless one is running) and answers its error if it fails.
    async fn master(&self) -> RedisResult<(u64, MultiplexedConnection)> {
        // The common case, a master held, subscribes to nothing.
        if let Some(current) = self.inner.current().clone() {
            return Ok(current);
        }
        // Subscribed before `current` is read again, so that a lookup
        // finishing in between is seen either way.
        let mut looked_up = self.inner.looked_up.subscribe();
        loop {
            if let Some(current) = self.inner.current().clone() {
                return Ok(current);
            }
            self.start_lookup();
            if looked_up.changed().await.is_err() {
                return Err(RedisError::from((ErrorKind::Io, "the Sentinel lookup stopped")));
            }
            if let (_, Some((kind, text))) = &*looked_up.borrow_and_update() {
                return Err(RedisError::from((*kind, "Sentinel lookup", text.clone())));
            }
        }
    }

    /// Starts a lookup task unless one is running.
    fn start_lookup(&self) {
        if self.inner.looking.swap(true, Ordering::AcqRel) {
            return;
        }
        let inner = self.inner.clone();
        tokio::spawn(async move {
            let outcome = tokio::time::timeout(inner.lookup_timeout, inner.look_up()).await;
            let error = match outcome {
                Ok(Ok(connection)) => {
                    let generation = inner.generation.fetch_add(1, Ordering::AcqRel) + 1;
                    *inner.current() = Some((generation, connection));
                    None
                }
                Ok(Err(error)) => Some((error.kind(), error.to_string())),
                Err(_) => Some((
                    ErrorKind::Io,
                    format!("no master from the Redis Sentinels within {:?}", inner.lookup_timeout),
                )),
            };
            inner.looking.store(false, Ordering::Release);
            inner.looked_up.send_modify(|(count, last)| {
                *count += 1;
                *last = error;
            });
        });
    }

    /// Forgets the master of `generation` after an error that may mean it
    /// is no longer master (or no longer reachable); a newer one is kept.
    fn after(&self, generation: u64, error: &RedisError) {
        let master_changed = matches!(
            error.kind(),
            ErrorKind::Server(ServerErrorKind::ReadOnly | ServerErrorKind::MasterDown)
        );
        if master_changed || error.is_io_error() || error.is_timeout() || error.is_connection_dropped() {
            let mut current = self.inner.current();
            if current.as_ref().is_some_and(|(held, _)| *held == generation) {
                *current = None;
            }
        }
    }
}

impl Inner {
    fn current(&self) -> MutexGuard<'_, Option<(u64, MultiplexedConnection)>> {
        self.current.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn look_up(&self) -> RedisResult<MultiplexedConnection> {
        let mut sentinels = self.sentinels.lock().await;
        // Checks with `ROLE` that the node named considers itself master.
        let client = sentinels.async_get_client().await?;
        client.get_multiplexed_async_connection_with_config(&self.config).await
    }
}

impl ConnectionLike for SentinelConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            let (generation, mut connection) = self.master().await?;
            let answer = connection.req_packed_command(cmd).await;
            if let Err(error) = &answer {
                self.after(generation, error);
            }
            answer
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            let (generation, mut connection) = self.master().await?;
            let answer = connection.req_packed_commands(pipeline, offset, count).await;
            if let Err(error) = &answer {
                self.after(generation, error);
            }
            answer
        })
    }

    fn get_db(&self) -> i64 {
        self.inner.current().as_ref().map_or(0, |(_, connection)| connection.get_db())
    }
}
