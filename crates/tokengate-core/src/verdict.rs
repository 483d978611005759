//! Verdict hooks: every validation's outcome handed to your code — an audit
//! log, anomaly detection — off the request's critical path.
//!
//! A verdict is queued (a bounded queue, never waited on) and the hook runs
//! on a thread of its own, so a slow hook delays no request; when the queue
//! is full, verdicts are dropped and counted ([`Validator::verdicts_dropped`](crate::Validator::verdicts_dropped)).
//! The thread ends when the validator (every clone of it) is dropped.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::time::Duration;

use crate::algorithm::Algorithm;
use crate::error::Error;

/// How many verdicts may wait for the hook before new ones are dropped,
/// unless configured otherwise.
pub const DEFAULT_VERDICT_QUEUE: usize = 4_096;

/// One validation's outcome, as a verdict hook sees it. Carries no token,
/// key or secret: the token is named by a short hash of it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verdict {
    /// `Ok(())`: accepted; `Err`: why it was refused.
    pub outcome: Result<(), Error>,
    /// The first 8 bytes of the token's SHA-256, in hex: enough to tell
    /// tokens apart in a log, useless to present.
    pub token_hash: String,
    /// `iss` of an accepted token.
    pub issuer: Option<String>,
    /// `sub` of an accepted token.
    pub subject: Option<String>,
    /// `jti` of an accepted token.
    pub token_id: Option<String>,
    /// `client_id` (or `azp`) of an accepted token.
    pub client_id: Option<String>,
    /// The signature algorithm of an accepted JWT.
    pub algorithm: Option<Algorithm>,
    /// The `kid` of an accepted JWT.
    pub key_id: Option<String>,
    /// When it was decided (seconds since the Unix epoch, by the validator's clock).
    pub at: u64,
    /// How long the validation took.
    pub elapsed: Duration,
}

/// A registered hook (its `Debug` says only that there is one).
#[derive(Clone)]
pub(crate) struct VerdictHook(pub(crate) Arc<dyn Fn(&Verdict) + Send + Sync>);

impl std::fmt::Debug for VerdictHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VerdictHook(..)")
    }
}

/// The hook's end of the queue, held by the validator.
pub(crate) struct VerdictSink {
    queue: SyncSender<Verdict>,
    dropped: Arc<AtomicU64>,
}

impl VerdictSink {
    /// Starts the hook's thread.
    pub(crate) fn start(VerdictHook(hook): VerdictHook, capacity: usize) -> std::io::Result<VerdictSink> {
        let (queue, verdicts) = mpsc::sync_channel::<Verdict>(capacity);
        std::thread::Builder::new().name("tokengate-verdicts".into()).spawn(move || {
            for verdict in verdicts {
                // A panicking hook loses its verdict, not the thread.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook(&verdict)));
            }
        })?;
        Ok(VerdictSink { queue, dropped: Arc::new(AtomicU64::new(0)) })
    }

    /// Queues `verdict`, or drops it when the queue is full.
    pub(crate) fn send(&self, verdict: Verdict) {
        match self.queue.try_send(verdict) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                if self.dropped.fetch_add(1, Ordering::Relaxed) == 0 {
                    tracing::warn!("verdict hook too slow: its queue is full, verdicts are being dropped");
                }
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// The first 8 bytes of SHA-256 of the token, in hex: enough to correlate
/// log lines and verdicts of one token, nothing to replay it with.
pub(crate) fn short_hash(token: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    crate::store::hex(&digest.as_ref()[..8])
}
