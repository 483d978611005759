//! The introspection source: cache, single flight, the endpoint (given or
//! discovered), and what each outcome becomes.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use moka::ops::compute::Op;
use tokengate_core::Clock;
use tokengate_core::introspection::{
    Introspection, IntrospectionFuture, IntrospectionUnavailable, Introspector,
};
use tokengate_jwks::discovery::{self, MetadataUrls};
use tokengate_jwks::transport::Transport;
use tokio::sync::OnceCell;
use url::Url;

use crate::auth::ClientAuth;
use crate::cache::{self, AnswerCache, Cached, TokenDigest};
use crate::call::{self, Answer};
use crate::error::IntrospectionError;

/// Discovery backoff after failures: 1 s, doubling, at most 60 s.
const DISCOVERY_BACKOFF: (u64, u64) = (1, 60);

/// Asks an authorization server whether tokens are active (RFC 7662), with
/// a bounded cache and single flight; an
/// [`Introspector`](tokengate_core::introspection::Introspector) for
/// [`tokengate_core::Issuer::introspection`].
///
/// Cheap to clone (an `Arc` inside); clones share one cache.
///
/// What it answers for a token:
/// - [`Introspection::Active`] only when the response is a JSON object whose
///   `active` member is the JSON `true` (the validator then applies the
///   issuer's claim rules to it);
/// - [`Introspection::Inactive`] for any other JSON object (`active` false,
///   missing, `"true"`, `null`, `1`, …);
/// - [`IntrospectionUnavailable`] (503 with `Retry-After`) for everything
///   else: the endpoint unreachable or slower than the deadline, a non-2xx
///   status (401/403 included: the server refuses *our* credentials), a body
///   that is not a JSON object or is over the size cap. Never a verdict.
///
/// The cache is keyed by the token's SHA-256 digest, never the token. An
/// active answer is reused until its `exp` or the
/// [maximum age](crate::IntrospectionBuilder::cache_max_age), whichever
/// comes first; an inactive one for a
/// [short time](crate::IntrospectionBuilder::inactive_max_age); a failure
/// never. Concurrent requests with one uncached token share one call.
///
/// ```no_run
/// use tokengate_core::{Issuer, Validator};
/// use tokengate_introspect::IntrospectionSource;
///
/// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let introspection = IntrospectionSource::from_url("https://auth.example.com/oauth2/introspect")
///     .client_secret_basic("my-api", "s3cret")
///     .build()?;
/// let validator = Validator::builder()
///     .issuer(
///         Issuer::new("https://auth.example.com/")
///             .audience("https://api.example.com")
///             .introspection(introspection),
///     )
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct IntrospectionSource {
    shared: Arc<Shared>,
}

/// A snapshot of an [`IntrospectionSource`], for health checks and diagnostics.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct IntrospectionStatus {
    /// The endpoint: configured, or found by discovery (`None` until then).
    pub endpoint: Option<String>,
    /// Answers in the cache (approximate: the cache settles lazily).
    pub cached_answers: u64,
    /// Their estimated size, in bytes.
    pub cached_bytes: u64,
    /// Failed introspections since the last answer.
    pub consecutive_failures: u32,
    /// Why the last introspection failed, when the last one did.
    pub last_error: Option<Arc<IntrospectionError>>,
}

/// The checked configuration.
pub(crate) struct Settings {
    pub(crate) endpoint: Endpoint,
    pub(crate) transport: Transport,
    pub(crate) auth: Option<ClientAuth>,
    /// Seconds.
    pub(crate) cache_max_age: u64,
    /// Seconds.
    pub(crate) inactive_max_age: u64,
    pub(crate) cache_max_bytes: u64,
    pub(crate) retry_after: Duration,
    pub(crate) clock: Arc<dyn Clock>,
}

/// Where the endpoint is.
pub(crate) enum Endpoint {
    Fixed(Url),
    Discover(Box<Discovery>),
}

/// The discovered endpoint, once found; the backoff after failures.
pub(crate) struct Discovery {
    urls: MetadataUrls,
    found: OnceCell<Url>,
    /// (failures, no attempt before this second)
    backoff: Mutex<(u32, u64)>,
}

impl Endpoint {
    pub(crate) fn fixed(url: Url) -> Endpoint {
        Endpoint::Fixed(url)
    }

    pub(crate) fn discover(urls: MetadataUrls) -> Endpoint {
        Endpoint::Discover(Box::new(Discovery { urls, found: OnceCell::new(), backoff: Mutex::new((0, 0)) }))
    }
}

struct Shared {
    settings: Settings,
    cache: AnswerCache,
    failures: Mutex<Failures>,
}

#[derive(Default)]
struct Failures {
    consecutive: u32,
    last: Option<Arc<IntrospectionError>>,
}

impl IntrospectionSource {
    pub(crate) fn new(settings: Settings) -> IntrospectionSource {
        let cache = cache::new(settings.cache_max_bytes);
        IntrospectionSource { shared: Arc::new(Shared { settings, cache, failures: Mutex::default() }) }
    }

    /// A snapshot of the source's state.
    pub fn status(&self) -> IntrospectionStatus {
        let shared = &self.shared;
        let failures = shared.lock_failures();
        IntrospectionStatus {
            endpoint: shared.known_endpoint().map(Url::to_string),
            cached_answers: shared.cache.entry_count(),
            cached_bytes: shared.cache.weighted_size(),
            consecutive_failures: failures.consecutive,
            last_error: failures.last.clone(),
        }
    }

    /// Forgets every cached answer (for instance after a mass revocation at
    /// the authorization server): the next request with each token asks again.
    pub fn clear_cache(&self) {
        self.shared.cache.invalidate_all();
    }
}

impl Introspector for IntrospectionSource {
    /// A fresh cached answer, or the answer of the one call in flight for
    /// this token (started now if there is none), within the deadline.
    fn introspect<'a>(&'a self, token: &'a str) -> IntrospectionFuture<'a> {
        Box::pin(self.shared.answer(token))
    }
}

impl Shared {
    fn lock_failures(&self) -> MutexGuard<'_, Failures> {
        self.failures.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn known_endpoint(&self) -> Option<&Url> {
        match &self.settings.endpoint {
            Endpoint::Fixed(url) => Some(url),
            Endpoint::Discover(discovery) => discovery.found.get(),
        }
    }

    async fn answer(&self, token: &str) -> Result<Introspection, IntrospectionUnavailable> {
        let key = TokenDigest::of(token);
        if let Some(cached) = self.cache.get(&key).await {
            if cached.fresh_at(self.settings.clock.now()) {
                return Ok(cached.answer.clone());
            }
            // Stale by the source's clock (the cache's own eviction runs on
            // real time): drop this entry — not a fresher one another
            // request may have stored meanwhile — then ask again.
            self.cache
                .entry(key)
                .and_compute_with(|current| {
                    let stale = current.is_some_and(|entry| Arc::ptr_eq(entry.value(), &cached));
                    std::future::ready(if stale { Op::Remove } else { Op::Nop })
                })
                .await;
        }
        // One call per token at a time: requests arriving while it runs wait
        // for its outcome, failures included (which are not stored).
        match self.cache.try_get_with(key, self.fetch(token, key)).await {
            Ok(cached) => Ok(cached.answer.clone()),
            Err(error) => {
                Err(IntrospectionUnavailable { retry_after: error.retry_after(self.settings.retry_after) })
            }
        }
    }

    /// One introspection within the deadline, recorded and logged.
    async fn fetch(&self, token: &str, key: TokenDigest) -> Result<Arc<Cached>, Arc<IntrospectionError>> {
        let timeout = self.settings.transport.request_timeout();
        let outcome = match tokio::time::timeout(timeout, self.call(token)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(IntrospectionError::Timeout { timeout }),
        };
        let now = self.settings.clock.now();
        match outcome {
            Ok(answer) => {
                let recovered = std::mem::take(&mut *self.lock_failures()).consecutive;
                if recovered > 0 {
                    tracing::info!(after_failures = recovered, "token introspection answers again");
                }
                let (answer, valid_until) = match answer {
                    Answer::Active { json, exp } => {
                        let mut until = now.saturating_add(self.settings.cache_max_age);
                        match exp {
                            Some(Ok(exp)) => until = until.min(exp),
                            // Not a NumericDate: the validator refuses it; never reused.
                            Some(Err(())) => until = now,
                            None => {}
                        }
                        (Introspection::Active(json), until)
                    }
                    Answer::Inactive => {
                        (Introspection::Inactive, now.saturating_add(self.settings.inactive_max_age))
                    }
                };
                tracing::debug!(
                    token_sha256 = %key.short(),
                    active = matches!(answer, Introspection::Active(_)),
                    reuse_for_secs = valid_until.saturating_sub(now),
                    "token introspected"
                );
                Ok(Arc::new(Cached::new(answer, now, valid_until)))
            }
            Err(error) => {
                let error = Arc::new(error);
                let consecutive = {
                    let mut failures = self.lock_failures();
                    failures.consecutive = failures.consecutive.saturating_add(1);
                    failures.last = Some(error.clone());
                    failures.consecutive
                };
                tracing::warn!(
                    token_sha256 = %key.short(),
                    error = %error,
                    consecutive_failures = consecutive,
                    "token introspection failed; the token is refused with 503 (not judged)"
                );
                Err(error)
            }
        }
    }

    /// The endpoint (discovering it first if needed), then the exchange.
    async fn call(&self, token: &str) -> Result<Answer, IntrospectionError> {
        let settings = &self.settings;
        let url = match &settings.endpoint {
            Endpoint::Fixed(url) => url,
            Endpoint::Discover(discovery) => {
                discovery.endpoint(&settings.transport, &*settings.clock).await?
            }
        };
        call::introspect(&settings.transport, settings.auth.as_ref(), url, token).await
    }
}

impl Discovery {
    /// The discovered endpoint; discovery runs once at a time, and not
    /// again during the backoff after a failure.
    async fn endpoint(&self, transport: &Transport, clock: &dyn Clock) -> Result<&Url, IntrospectionError> {
        self.found
            .get_or_try_init(|| async {
                let now = clock.now();
                let retry_at = self.lock().1;
                if now < retry_at {
                    return Err(IntrospectionError::DiscoveryBackoff {
                        retry_in: Duration::from_secs(retry_at - now),
                    });
                }
                match discovery::discover(transport, &self.urls, "introspection_endpoint").await {
                    Ok(url) => {
                        tracing::info!(issuer = %self.urls.issuer(), introspection_endpoint = %url,
                            "discovered the issuer's introspection endpoint");
                        *self.lock() = (0, 0);
                        Ok(url)
                    }
                    Err(error) => {
                        let mut backoff = self.lock();
                        backoff.0 = backoff.0.saturating_add(1);
                        let doublings = (backoff.0 - 1).min(16);
                        let delay = (DISCOVERY_BACKOFF.0 << doublings).min(DISCOVERY_BACKOFF.1);
                        backoff.1 = now.saturating_add(delay);
                        Err(IntrospectionError::Discovery(error))
                    }
                }
            })
            .await
    }

    fn lock(&self) -> MutexGuard<'_, (u32, u64)> {
        self.backoff.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for IntrospectionSource {
    /// The endpoint (or the issuer being discovered) and the client; never
    /// the secret, never a token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let settings = &self.shared.settings;
        let mut debug = f.debug_struct("IntrospectionSource");
        match &settings.endpoint {
            Endpoint::Fixed(url) => debug.field("endpoint", &url.as_str()),
            Endpoint::Discover(discovery) => debug
                .field("discover", &discovery.urls.issuer())
                .field("endpoint", &discovery.found.get().map(Url::as_str)),
        };
        debug
            .field("client_auth", &settings.auth)
            .field("cache_max_age_secs", &settings.cache_max_age)
            .field("inactive_max_age_secs", &settings.inactive_max_age)
            .finish_non_exhaustive()
    }
}
