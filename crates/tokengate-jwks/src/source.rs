//! The key source: lock-free reads, single-flight fetches, background refresh.
//!
//! Readers ([`KeySource::current`]) do one atomic load of the last good key
//! set (`ArcSwap`) and compare its deadline with the clock. Everything else
//! lives in a small `State` behind a `std` mutex that is only ever held for
//! a few instructions, never across an `.await`. A fetch runs in its own
//! task; whoever needs its result (the request that caused it, requests
//! arriving meanwhile, the background loop) waits on a `watch` channel, so
//! there is exactly one fetch in flight, and a caller that gives up (its
//! request was dropped) does not cancel it for the others.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use tokengate_core::{KeySet, KeySource, KeysFuture, KeysUnavailable, RefreshReason};
use tokio::runtime::Handle;
use tokio::sync::watch;
use url::Url;

use crate::builder::{Config, Target};
use crate::error::JwksError;
use crate::fetch::{self, Fetched};

/// The background loop looks at the clock at least this often, so a clock
/// that jumps (suspend, a test clock) is noticed within this delay.
const TICK: Duration = Duration::from_secs(1);

/// What a fetch hands to everyone waiting for it.
type Outcome = Result<Arc<KeySet>, Arc<JwksError>>;
type Flight = watch::Receiver<Option<Outcome>>;
/// What [`KeySource::refresh`] answers.
type Answer = Result<Arc<KeySet>, KeysUnavailable>;

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
/// - when refreshes fail, the last good keys keep verifying for the
///   configured maximum staleness, then the source holds no keys and every
///   token is refused with [`tokengate_core::Error::KeysUnavailable`] (503).
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
    pub last_error: Option<Arc<JwksError>>,
    /// Whether a fetch is in flight.
    pub fetching: bool,
}

struct Shared {
    config: Config,
    loaded: ArcSwapOption<Loaded>,
    state: Mutex<State>,
    runtime: Handle,
    background: Mutex<Option<tokio::task::AbortHandle>>,
}

/// The last good key set.
struct Loaded {
    keys: Arc<KeySet>,
    url: Url,
    fetched_at: u64,
    /// Last second at which these keys may verify a token.
    usable_until: u64,
}

#[derive(Default)]
struct State {
    in_flight: Option<Flight>,
    /// When the last fetch of any kind started (for the cooldown).
    last_fetch_started: Option<u64>,
    failures: u32,
    /// After a failure: no fetch before this (backoff).
    retry_at: u64,
    /// When the background loop fetches next.
    next_refresh_at: u64,
    last_error: Option<Arc<JwksError>>,
    /// The `jwks_uri` found by discovery (forgotten after a failed fetch).
    discovered: Option<Url>,
}

impl JwksSource {
    pub(crate) fn start(config: Config, runtime: Handle) -> JwksSource {
        let shared = Arc::new(Shared {
            config,
            loaded: ArcSwapOption::empty(),
            state: Mutex::new(State::default()),
            runtime,
            background: Mutex::new(None),
        });
        let now = shared.config.clock.now();
        let (_, sender) = shared.begin(&mut shared.lock(), now, "start-up");
        shared.launch(sender);
        let task = shared.runtime.spawn(background(Arc::downgrade(&shared)));
        *shared.background.lock().unwrap_or_else(PoisonError::into_inner) = Some(task.abort_handle());
        JwksSource { shared }
    }

    /// Fetches now, ignoring the cooldown and the backoff (or joins the
    /// fetch already in flight), and reports the precise outcome. For
    /// operators and start-up checks (for example to fail fast on a
    /// misconfigured issuer); validation never needs it.
    pub async fn refresh_now(&self) -> Result<Arc<KeySet>, Arc<JwksError>> {
        let shared = &self.shared;
        let flight = {
            let mut state = shared.lock();
            match &state.in_flight {
                Some(flight) => flight.clone(),
                None => {
                    let now = shared.config.clock.now();
                    let (flight, sender) = shared.begin(&mut state, now, "explicit refresh");
                    drop(state);
                    shared.launch(sender);
                    flight
                }
            }
        };
        join(flight).await
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
            fetching: state.in_flight.is_some(),
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
                Ok(flight) => match join(flight).await {
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

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn current_at(&self, now: u64) -> Option<Arc<KeySet>> {
        self.loaded
            .load()
            .as_ref()
            .filter(|loaded| now <= loaded.usable_until)
            .map(|loaded| loaded.keys.clone())
    }

    fn current_or_unavailable(&self) -> Answer {
        let now = self.config.clock.now();
        match self.current_at(now) {
            Some(keys) => Ok(keys),
            None => {
                let retry_at = self.lock().retry_at;
                Err(KeysUnavailable { retry_after: fetch::retry_after(retry_at.saturating_sub(now)) })
            }
        }
    }

    /// What a refresh request gets: a fetch to wait for, or an answer now.
    fn decide(self: &Arc<Self>, reason: RefreshReason<'_>, now: u64) -> Result<Flight, Answer> {
        let mut state = self.lock();
        if let Some(flight) = &state.in_flight {
            return Ok(flight.clone());
        }
        let backing_off = state.failures > 0 && now < state.retry_at;
        let cause = match reason {
            RefreshReason::NoKeysYet => {
                if let Some(keys) = self.current_at(now) {
                    return Err(Ok(keys));
                }
                if backing_off {
                    let retry_after = fetch::retry_after(state.retry_at - now);
                    tracing::debug!(?retry_after, "no keys; backing off before the next fetch");
                    return Err(Err(KeysUnavailable { retry_after }));
                }
                "no keys yet"
            }
            RefreshReason::UnknownKey { kid } => {
                let cooling =
                    state.last_fetch_started.is_some_and(|t| now < t.saturating_add(self.config.cooldown));
                if cooling || backing_off {
                    drop(state);
                    tracing::debug!(
                        kid = ?kid.map(|k| k.chars().take(64).collect::<String>()),
                        cause = if cooling { "cooldown" } else { "backoff" },
                        "unknown kid: no fetch (cooldown hit)"
                    );
                    return Err(self.current_or_unavailable());
                }
                "unknown kid"
            }
        };
        let (flight, sender) = self.begin(&mut state, now, cause);
        drop(state);
        self.launch(sender);
        Ok(flight)
    }

    /// Marks a fetch as started; the caller launches it once the lock is released.
    fn begin(&self, state: &mut State, now: u64, cause: &'static str) -> (Flight, Sender) {
        debug_assert!(state.in_flight.is_none());
        let (sender, flight) = watch::channel(None);
        state.in_flight = Some(flight.clone());
        state.last_fetch_started = Some(now);
        tracing::debug!(cause, "starting JWK Set fetch");
        (flight, Sender(sender))
    }

    fn launch(self: &Arc<Self>, sender: Sender) {
        let guard = FlightGuard { shared: self.clone(), sender: Some(sender) };
        // If the runtime is gone the future is dropped unpolled, and the
        // guard reports the fetch as abandoned.
        self.runtime.spawn(async move {
            let outcome = guard.shared.fetch().await;
            guard.finish(outcome);
        });
    }

    async fn fetch(&self) -> Result<Fetched, JwksError> {
        let url = match &self.config.target {
            Target::JwksUrl(url) => url.clone(),
            Target::Discover { issuer, openid_configuration, oauth_authorization_server } => {
                let known = self.lock().discovered.clone();
                match known {
                    Some(url) => url,
                    None => {
                        let url = fetch::discover(
                            &self.config,
                            issuer,
                            openid_configuration,
                            oauth_authorization_server,
                        )
                        .await?;
                        tracing::info!(issuer = %issuer, jwks_uri = %url, "discovered the issuer's JWK Set URL");
                        self.lock().discovered = Some(url.clone());
                        url
                    }
                }
            }
        };
        fetch::jwk_set(&self.config, &url).await
    }

    /// Records a fetch's outcome, then wakes everyone waiting for it.
    fn complete(&self, outcome: Result<Fetched, JwksError>, sender: Sender) {
        let config = &self.config;
        let now = config.clock.now();
        let mut state = self.lock();
        let outcome = match outcome {
            Ok(fetched) => {
                let interval = fetch::refresh_interval(config, fetched.max_age);
                let keys = Arc::new(fetched.keys);
                let loaded = Loaded {
                    keys: keys.clone(),
                    url: fetched.url,
                    fetched_at: now,
                    usable_until: now.saturating_add(interval).saturating_add(config.max_staleness),
                };
                let previous = self.loaded.swap(Some(Arc::new(loaded)));
                log_changes(previous.as_deref(), &keys);
                if state.failures > 0 {
                    tracing::info!(after_failures = state.failures, "JWK Set fetch succeeded again");
                }
                tracing::info!(keys = keys.len(), next_refresh_in_secs = interval, "JWK Set fetched");
                state.failures = 0;
                state.retry_at = 0;
                state.next_refresh_at = now.saturating_add(interval);
                state.last_error = None;
                Ok(keys)
            }
            Err(error) => {
                state.failures = state.failures.saturating_add(1);
                let delay = fetch::backoff(config, state.failures);
                state.retry_at = now.saturating_add(delay);
                state.next_refresh_at = state.retry_at;
                state.discovered = None;
                let usable_until = self.loaded.load().as_ref().map(|l| l.usable_until);
                let serving_previous_keys = usable_until.is_some_and(|until| now <= until);
                // One event per failure, hence one per backoff step.
                tracing::warn!(
                    error = %error,
                    consecutive_failures = state.failures,
                    retry_in_secs = delay,
                    serving_previous_keys,
                    previous_keys_usable_for_secs = usable_until.map(|until| until.saturating_sub(now)),
                    "JWK Set fetch failed"
                );
                let error = Arc::new(error);
                state.last_error = Some(error.clone());
                Err(error)
            }
        };
        state.in_flight = None;
        drop(state);
        sender.0.send_replace(Some(outcome));
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Some(task) = self.background.get_mut().unwrap_or_else(PoisonError::into_inner).take() {
            task.abort();
        }
    }
}

struct Sender(watch::Sender<Option<Outcome>>);

/// Owns a running fetch; reports it abandoned if dropped before it finished.
struct FlightGuard {
    shared: Arc<Shared>,
    sender: Option<Sender>,
}

impl FlightGuard {
    fn finish(mut self, outcome: Result<Fetched, JwksError>) {
        if let Some(sender) = self.sender.take() {
            self.shared.complete(outcome, sender);
        }
    }
}

impl Drop for FlightGuard {
    fn drop(&mut self) {
        if let Some(sender) = self.sender.take() {
            self.shared.complete(Err(JwksError::Abandoned), sender);
        }
    }
}

async fn join(mut flight: Flight) -> Outcome {
    match flight.wait_for(Option::is_some).await {
        Ok(outcome) => outcome.clone().unwrap_or_else(|| Err(Arc::new(JwksError::Abandoned))),
        Err(_) => Err(Arc::new(JwksError::Abandoned)),
    }
}

/// The background refresh: holds only a `Weak`, so it ends once the last
/// [`JwksSource`] is dropped (it is also aborted then).
async fn background(shared: Weak<Shared>) {
    loop {
        let wait = match shared.upgrade() {
            Some(shared) => shared.background_step(),
            None => return,
        };
        tokio::time::sleep(wait).await;
    }
}

impl Shared {
    fn background_step(self: &Arc<Self>) -> Duration {
        let now = self.config.clock.now();
        let mut state = self.lock();
        if state.in_flight.is_some() {
            return TICK;
        }
        if now >= state.next_refresh_at {
            let cause = if state.failures > 0 { "retry after failure" } else { "scheduled refresh" };
            let (_, sender) = self.begin(&mut state, now, cause);
            drop(state);
            self.launch(sender);
            return TICK;
        }
        Duration::from_secs(state.next_refresh_at - now).min(TICK)
    }
}

fn log_changes(previous: Option<&Loaded>, keys: &KeySet) {
    let new: BTreeSet<&str> = keys.kids().collect();
    let Some(previous) = previous else {
        tracing::info!(kids = ?new, "JWK Set loaded");
        return;
    };
    let old: BTreeSet<&str> = previous.keys.kids().collect();
    let added: Vec<&str> = new.difference(&old).copied().collect();
    let removed: Vec<&str> = old.difference(&new).copied().collect();
    if added.is_empty() && removed.is_empty() && previous.keys.len() == keys.len() {
        tracing::debug!(kids = ?new, "JWK Set unchanged");
    } else {
        tracing::info!(?added, ?removed, keys = keys.len(), "JWK Set changed");
    }
}
