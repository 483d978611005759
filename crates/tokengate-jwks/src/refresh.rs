//! Keeping the key set fresh: single-flight fetches, what each outcome
//! changes, and the background refresh loop.
//!
//! Everything but the last good key set lives in a small [`State`] behind a
//! `std` mutex that is only ever held for a few instructions, never across
//! an `.await`. A fetch runs in its own task; whoever needs its result (the
//! request that caused it, requests arriving meanwhile, the background
//! loop) waits on a `watch` channel, so there is exactly one fetch in
//! flight, and a caller that gives up (its request was dropped) does not
//! cancel it for the others.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use tokengate_core::KeySet;
use tokengate_core::keys::{KeysUnavailable, RefreshReason};
use tokio::runtime::Handle;
use tokio::sync::watch;
use url::Url;

use crate::config::{Config, Target};
use crate::error::JwksFetchError;
use crate::fetch::{self, Fetched};

/// The background loop looks at the clock at least this often, so a clock
/// that jumps (suspend, a test clock) is noticed within this delay.
const TICK: Duration = Duration::from_secs(1);

/// What a fetch hands to everyone waiting for it.
pub(crate) type Outcome = Result<Arc<KeySet>, Arc<JwksFetchError>>;
/// A fetch in flight, to wait for with [`join`].
pub(crate) type Flight = watch::Receiver<Option<Outcome>>;
/// What [`KeySource::refresh`](tokengate_core::keys::KeySource::refresh) answers.
pub(crate) type Answer = Result<Arc<KeySet>, KeysUnavailable>;

/// Everything the clones of one source share.
pub(crate) struct Shared {
    pub(crate) config: Config,
    /// The last good key set; read lock-free.
    pub(crate) loaded: ArcSwapOption<Loaded>,
    state: Mutex<State>,
    runtime: Handle,
    background: Mutex<Option<tokio::task::AbortHandle>>,
}

/// The last good key set.
pub(crate) struct Loaded {
    pub(crate) keys: Arc<KeySet>,
    pub(crate) url: Url,
    pub(crate) fetched_at: u64,
    /// Last second at which these keys may verify a token: `fetched_at` +
    /// the refresh interval + the maximum staleness.
    pub(crate) usable_until: u64,
}

#[derive(Default)]
pub(crate) struct State {
    in_flight: Option<Flight>,
    /// When the last fetch of any kind started (for the cooldown).
    last_fetch_started: Option<u64>,
    pub(crate) failures: u32,
    /// After a failure: no fetch before this (backoff).
    retry_at: u64,
    /// When the background loop fetches next.
    pub(crate) next_refresh_at: u64,
    pub(crate) last_error: Option<Arc<JwksFetchError>>,
    /// The `jwks_uri` found by discovery (forgotten after a failed fetch).
    pub(crate) discovered: Option<Url>,
}

impl State {
    pub(crate) fn fetching(&self) -> bool {
        self.in_flight.is_some()
    }
}

impl Shared {
    /// Starts the first fetch and the background loop.
    pub(crate) fn start(config: Config, runtime: Handle) -> Arc<Shared> {
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
        shared
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn current_at(&self, now: u64) -> Option<Arc<KeySet>> {
        self.loaded
            .load()
            .as_ref()
            .filter(|loaded| now <= loaded.usable_until)
            .map(|loaded| loaded.keys.clone())
    }

    pub(crate) fn current_or_unavailable(&self) -> Answer {
        let now = self.config.clock.now();
        match self.current_at(now) {
            Some(keys) => Ok(keys),
            None => {
                let retry_at = self.lock().retry_at;
                Err(KeysUnavailable { retry_after: retry_after(retry_at.saturating_sub(now)) })
            }
        }
    }

    /// The fetch in flight, or a new one regardless of cooldown and backoff.
    pub(crate) fn fetch_now(self: &Arc<Self>) -> Flight {
        let mut state = self.lock();
        if let Some(flight) = &state.in_flight {
            return flight.clone();
        }
        let now = self.config.clock.now();
        let (flight, sender) = self.begin(&mut state, now, "explicit refresh");
        drop(state);
        self.launch(sender);
        flight
    }

    /// What a refresh request gets: a fetch to wait for, or an answer now.
    pub(crate) fn decide(self: &Arc<Self>, reason: RefreshReason<'_>, now: u64) -> Result<Flight, Answer> {
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
                    let retry_after = retry_after(state.retry_at - now);
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

    async fn fetch(&self) -> Result<Fetched, JwksFetchError> {
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
    fn complete(&self, outcome: Result<Fetched, JwksFetchError>, sender: Sender) {
        let config = &self.config;
        let now = config.clock.now();
        let mut state = self.lock();
        let outcome = match outcome {
            Ok(fetched) => {
                let interval = config.refresh_interval(fetched.max_age);
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
                crate::observe::fetched(config, keys.len(), now);
                state.failures = 0;
                state.retry_at = 0;
                state.next_refresh_at = now.saturating_add(interval);
                state.last_error = None;
                Ok(keys)
            }
            Err(error) => {
                state.failures = state.failures.saturating_add(1);
                crate::observe::failed(config);
                let delay = config.backoff(state.failures);
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

    /// One look at the clock by the background loop; returns how long to
    /// sleep before the next.
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
    fn finish(mut self, outcome: Result<Fetched, JwksFetchError>) {
        if let Some(sender) = self.sender.take() {
            self.shared.complete(outcome, sender);
        }
    }
}

impl Drop for FlightGuard {
    fn drop(&mut self) {
        if let Some(sender) = self.sender.take() {
            self.shared.complete(Err(JwksFetchError::Abandoned), sender);
        }
    }
}

/// Waits for a fetch's outcome.
pub(crate) async fn join(mut flight: Flight) -> Outcome {
    match flight.wait_for(Option::is_some).await {
        Ok(outcome) => outcome.clone().unwrap_or_else(|| Err(Arc::new(JwksFetchError::Abandoned))),
        Err(_) => Err(Arc::new(JwksFetchError::Abandoned)),
    }
}

/// The background refresh: holds only a `Weak`, so it ends once the last
/// [`JwksSource`](crate::JwksSource) is dropped (it is also aborted then).
async fn background(shared: Weak<Shared>) {
    loop {
        let wait = match shared.upgrade() {
            Some(shared) => shared.background_step(),
            None => return,
        };
        tokio::time::sleep(wait).await;
    }
}

/// Seconds as a `Duration`, at least one second (for `Retry-After`).
fn retry_after(seconds: u64) -> Duration {
    Duration::from_secs(seconds.max(1))
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
