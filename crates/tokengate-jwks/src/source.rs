//! The key source: lock-free reads of the last good key set, refreshes
//! delegated to [`crate::refresh`], and a status snapshot.
//!
//! Readers ([`KeySource::current`]) do one atomic load of the last good key
//! set (`ArcSwap`) and compare its deadline with the clock.

use std::fmt;
use std::sync::Arc;

use tokengate_core::KeySet;
use tokengate_core::keys::{KeySource, KeysFuture, RefreshReason};
use tokio::runtime::Handle;
use url::Url;

use crate::config::{Config, Target};
use crate::error::JwksFetchError;
use crate::refresh::{self, Shared};

/// An issuer's keys, fetched from its JWK Set over HTTPS, cached, and kept
/// fresh; a [`KeySource`] for [`tokengate_core::Issuer::key_source`].
///
/// Cheap to clone (an `Arc` inside); clones share one cache, one in-flight
/// fetch and one background refresh, which ends when the last clone (and
/// every validator holding one) is dropped.
///
/// Security behaviour:
/// - only the configured URL (or the `jwks_uri` of a discovery document
///   whose `issuer` matches exactly) is ever fetched; nothing a token names
///   (`jku`, `x5u`) is, and keys embedded in tokens (`jwk`, `x5c`) are never
///   used;
/// - a token with an unknown `kid` causes at most one fetch per cooldown,
///   shared by every request waiting for it; when the `kid` is still unknown
///   after it, the token is refused, never let through;
/// - a key the issuer removed stops verifying at the next refresh, within
///   the refresh interval (at most 1 h by default);
/// - when refreshes fail, the last good keys keep verifying for the
///   configured maximum staleness past their refresh time (so at most 7 h
///   after they were fetched, by default), then the source holds no keys
///   and every token is refused with
///   [`tokengate_core::Error::KeysUnavailable`] (503).
///
/// See [`JwksBuilder`](crate::JwksBuilder#how-long-a-removed-key-stays-trusted)
/// for the exact bounds.
///
/// ```no_run
/// use tokengate_core::{Algorithm, Issuer, Validator};
/// use tokengate_jwks::JwksSource;
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let keys = JwksSource::discover("https://auth.example.com/").build()?;
/// let validator = Validator::builder()
///     .issuer(
///         Issuer::new("https://auth.example.com/")
///             .audience("https://api.example.com")
///             .algorithms([Algorithm::RS256])
///             .key_source(keys),
///     )
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct JwksSource {
    shared: Arc<Shared>,
}

/// A snapshot of a [`JwksSource`], for health checks and diagnostics.
/// Times are in seconds since the Unix epoch, as the source's clock tells them.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct JwksStatus {
    /// The JWK Set URL: configured, or found by discovery (`None` until then).
    pub jwks_url: Option<String>,
    /// The `kid`s of the keys in use (empty when no keys are usable).
    pub kids: Vec<String>,
    /// How many keys are in use.
    pub key_count: usize,
    /// When the keys in use were fetched.
    pub fetched_at: Option<u64>,
    /// Until when the keys in use are used if refreshes keep failing.
    pub usable_until: Option<u64>,
    /// When the background refresh fetches next (or retries, after a failure).
    pub next_refresh_at: u64,
    /// Failed fetches since the last success.
    pub consecutive_failures: u32,
    /// Why the last fetch failed, when it did.
    pub last_error: Option<Arc<JwksFetchError>>,
    /// Whether a fetch is in flight.
    pub fetching: bool,
}

impl JwksSource {
    pub(crate) fn start(config: Config, runtime: Handle) -> JwksSource {
        JwksSource { shared: Shared::start(config, runtime) }
    }

    /// Fetches now, ignoring the cooldown and the backoff (or joins the
    /// fetch already in flight), and reports the precise outcome. For
    /// operators and start-up checks (for example to fail fast on a
    /// misconfigured issuer); validation never needs it.
    pub async fn refresh_now(&self) -> Result<Arc<KeySet>, Arc<JwksFetchError>> {
        refresh::join(self.shared.fetch_now()).await
    }

    /// A snapshot of the source's state.
    pub fn status(&self) -> JwksStatus {
        let shared = &self.shared;
        let now = shared.config.clock.now();
        let loaded = shared.loaded.load_full();
        let usable = loaded.as_ref().filter(|loaded| now <= loaded.usable_until);
        let state = shared.lock();
        let jwks_url = match &shared.config.target {
            Target::JwksUrl(url) => Some(url.to_string()),
            Target::Discover { .. } => {
                state.discovered.as_ref().or(loaded.as_ref().map(|l| &l.url)).map(Url::to_string)
            }
        };
        JwksStatus {
            jwks_url,
            kids: usable.map(|l| l.keys.kids().map(str::to_owned).collect()).unwrap_or_default(),
            key_count: usable.map_or(0, |l| l.keys.len()),
            fetched_at: loaded.as_ref().map(|l| l.fetched_at),
            usable_until: loaded.as_ref().map(|l| l.usable_until),
            next_refresh_at: state.next_refresh_at,
            consecutive_failures: state.failures,
            last_error: state.last_error.clone(),
            fetching: state.fetching(),
        }
    }
}

impl KeySource for JwksSource {
    /// The last good keys, unless they are past the maximum staleness.
    /// Lock-free: one atomic load and a clock read.
    fn current(&self) -> Option<Arc<KeySet>> {
        self.shared.current_at(self.shared.config.clock.now())
    }

    /// `NoKeysYet`: joins the fetch in flight, or starts one unless the
    /// backoff after failures forbids it; `Err` (503) when no keys result.
    /// `UnknownKey`: joins the fetch in flight, or starts one only if no
    /// fetch started within the cooldown (and the backoff allows it);
    /// otherwise answers the current keys at once.
    fn refresh(&self, reason: RefreshReason<'_>) -> KeysFuture<'_> {
        let shared = &self.shared;
        let now = shared.config.clock.now();
        // Decided (and any fetch launched) now, not when the future is first
        // polled: a dropped future cannot leave a fetch half-started.
        let decision = shared.decide(reason, now);
        Box::pin(async move {
            match decision {
                Err(answer) => answer,
                Ok(flight) => match refresh::join(flight).await {
                    Ok(keys) => Ok(keys),
                    Err(_) => shared.current_or_unavailable(),
                },
            }
        })
    }
}

impl fmt::Debug for JwksSource {
    /// Lock-free: the configured target and the `kid`s of the last good set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let loaded = self.shared.loaded.load();
        let kids: Vec<&str> = loaded.as_ref().map(|l| l.keys.kids().collect()).unwrap_or_default();
        let mut debug = f.debug_struct("JwksSource");
        match &self.shared.config.target {
            Target::JwksUrl(url) => debug.field("jwks_url", &url.as_str()),
            Target::Discover { issuer, .. } => debug.field("discover", issuer),
        };
        debug.field("kids", &kids).finish_non_exhaustive()
    }
}
