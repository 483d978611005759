//! The master that a set of Redis Sentinels names, followed across failovers.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::sentinel::SentinelClient;
use redis::{
    AsyncConnectionConfig, Cmd, ErrorKind, Pipeline, RedisError, RedisFuture, RedisResult, ServerErrorKind,
    Value,
};

/// A multiplexed connection to the current master, cheap to clone (clones
/// share it). The master is asked of the Sentinels on first use and again
/// after any failure that may mean it changed (the connection broke, a
/// timeout, `READONLY` from a node demoted to replica, `MASTERDOWN`): a
/// failover costs the requests in flight at that moment (503), never a
/// write to the old master, and the next request reaches the new one.
#[derive(Clone)]
pub(crate) struct SentinelConnection {
    inner: Arc<Inner>,
}

struct Inner {
    /// Asked one caller at a time: concurrent first requests share one lookup.
    sentinels: tokio::sync::Mutex<SentinelClient>,
    current: Mutex<Option<MultiplexedConnection>>,
    config: AsyncConnectionConfig,
    /// Bounds a lookup (every Sentinel tried, then the master's `ROLE` check).
    timeout: Duration,
}

impl SentinelConnection {
    /// Connects to the master the Sentinels name now.
    pub(crate) async fn connect(sentinels: SentinelClient, timeout: Duration) -> RedisResult<Self> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout));
        let connection = SentinelConnection {
            inner: Arc::new(Inner {
                sentinels: tokio::sync::Mutex::new(sentinels),
                current: Mutex::new(None),
                config,
                timeout,
            }),
        };
        connection.master().await?;
        Ok(connection)
    }

    fn current(&self) -> std::sync::MutexGuard<'_, Option<MultiplexedConnection>> {
        self.inner.current.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The master's connection, asking the Sentinels when there is none.
    async fn master(&self) -> RedisResult<MultiplexedConnection> {
        if let Some(connection) = self.current().clone() {
            return Ok(connection);
        }
        let mut sentinels = self.inner.sentinels.lock().await;
        // Another request may have found the master while this one waited.
        if let Some(connection) = self.current().clone() {
            return Ok(connection);
        }
        let lookup = async {
            // Checks with `ROLE` that the node named considers itself master.
            let client = sentinels.async_get_client().await?;
            client.get_multiplexed_async_connection_with_config(&self.inner.config).await
        };
        let connection = tokio::time::timeout(self.inner.timeout, lookup).await.map_err(|_| {
            RedisError::from(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "no master from the Redis Sentinels in time",
            ))
        })??;
        *self.current() = Some(connection.clone());
        Ok(connection)
    }

    /// Forgets the master after an error that may mean it is no longer
    /// master (or no longer reachable).
    fn after(&self, error: &RedisError) {
        let master_changed = matches!(
            error.kind(),
            ErrorKind::Server(ServerErrorKind::ReadOnly | ServerErrorKind::MasterDown)
        );
        if master_changed || error.is_io_error() || error.is_timeout() || error.is_connection_dropped() {
            *self.current() = None;
        }
    }
}

impl ConnectionLike for SentinelConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            let mut connection = self.master().await?;
            let answer = connection.req_packed_command(cmd).await;
            if let Err(error) = &answer {
                self.after(error);
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
            let mut connection = self.master().await?;
            let answer = connection.req_packed_commands(pipeline, offset, count).await;
            if let Err(error) = &answer {
                self.after(error);
            }
            answer
        })
    }

    fn get_db(&self) -> i64 {
        self.current().as_ref().map_or(0, ConnectionLike::get_db)
    }
}
