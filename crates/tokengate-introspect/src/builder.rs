//! [`IntrospectionBuilder`]: the settings of an [`IntrospectionSource`],
//! checked once, at build time.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokengate_core::{Clock, SystemClock};
use tokengate_jwks::discovery::MetadataUrls;
use tokengate_jwks::transport::{self, Transport};

use crate::auth::ClientAuth;
use crate::error::IntrospectionBuildError;
use crate::source::{Endpoint, IntrospectionSource, Settings};

/// Deadline for one introspection, discovery included, from the request to
/// the answer: 5 s. The token is refused with 503 when it passes.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest response body read (64 KiB); a larger one is no answer (503).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// Redirects followed by the default HTTP client, each obeying the transport rules.
pub const DEFAULT_MAX_REDIRECTS: usize = 3;
/// Longest time an active answer is reused (never past its `exp`): 30 s.
pub const DEFAULT_CACHE_MAX_AGE: Duration = Duration::from_secs(30);
/// How long an inactive answer is reused: 5 s.
pub const DEFAULT_INACTIVE_MAX_AGE: Duration = Duration::from_secs(5);
/// Bound of the answer cache, in bytes of answers (estimated): 8 MiB.
pub const DEFAULT_CACHE_MAX_BYTES: u64 = 8 * 1024 * 1024;
/// `Retry-After` of a refusal when the endpoint failed without saying when to retry.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);
/// The `User-Agent` of the default HTTP client.
pub const USER_AGENT: &str = concat!("tokengate-introspect/", env!("CARGO_PKG_VERSION"));

/// Settings of an [`IntrospectionSource`]; made by
/// [`IntrospectionSource::from_url`] or [`IntrospectionSource::discover`],
/// checked by [`IntrospectionBuilder::build`].
///
/// The defaults are the secure ones: `https://` only, a 5 s deadline (the
/// 503 comes within it), a 64 KiB response cap, 3 redirects each obeying
/// the transport rules, active answers reused for at most 30 s (never past
/// their `exp`), inactive ones for 5 s, failures never.
#[must_use = "a builder does nothing until `build` is called"]
pub struct IntrospectionBuilder {
    requested: Requested,
    auth: Result<Option<ClientAuth>, &'static str>,
    allow_http_loopback: bool,
    request_timeout: Duration,
    max_response_bytes: usize,
    max_redirects: usize,
    client: Option<reqwest::Client>,
    cache_max_age: Duration,
    inactive_max_age: Duration,
    cache_max_bytes: u64,
    retry_after: Duration,
    clock: Arc<dyn Clock>,
}

/// Where the endpoint is, as given (checked by [`IntrospectionBuilder::build`]).
#[derive(Debug)]
enum Requested {
    Url(String),
    Discover { issuer: String },
}

impl IntrospectionSource {
    /// A source asking the introspection endpoint at `endpoint` (for example
    /// `https://auth.example.com/oauth2/introspect`). Checked by
    /// [`IntrospectionBuilder::build`].
    pub fn from_url(endpoint: &str) -> IntrospectionBuilder {
        IntrospectionBuilder::new(Requested::Url(endpoint.to_owned()))
    }

    /// A source that finds the `introspection_endpoint` in the issuer's
    /// metadata, exactly as `tokengate-jwks` finds `jwks_uri`: first OpenID
    /// Connect (`{issuer}/.well-known/openid-configuration`), then RFC 8414
    /// (`/.well-known/oauth-authorization-server` inserted before the
    /// issuer's path). A document is used only when its `issuer` equals
    /// `issuer` exactly, and the endpoint must obey the transport rules.
    ///
    /// Discovery happens at the first introspection (within its deadline)
    /// and is kept once it succeeds; after a failure it is retried with a
    /// backoff (1 s doubling to 60 s), tokens being refused with 503 meanwhile.
    pub fn discover(issuer: &str) -> IntrospectionBuilder {
        IntrospectionBuilder::new(Requested::Discover { issuer: issuer.to_owned() })
    }
}

impl IntrospectionBuilder {
    fn new(requested: Requested) -> Self {
        IntrospectionBuilder {
            requested,
            auth: Ok(None),
            allow_http_loopback: false,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_redirects: DEFAULT_MAX_REDIRECTS,
            client: None,
            cache_max_age: DEFAULT_CACHE_MAX_AGE,
            inactive_max_age: DEFAULT_INACTIVE_MAX_AGE,
            cache_max_bytes: DEFAULT_CACHE_MAX_BYTES,
            retry_after: DEFAULT_RETRY_AFTER,
            clock: Arc::new(SystemClock),
        }
    }

    /// Authenticates with `client_secret_basic` (RFC 6749 §2.3.1): an
    /// `Authorization: Basic` header with the form-urlencoded identifier and
    /// secret. The secret never appears in `Debug` output or in logs.
    pub fn client_secret_basic(mut self, client_id: &str, client_secret: &str) -> Self {
        self.auth = ClientAuth::basic(client_id, client_secret).map(Some);
        self
    }

    /// Authenticates with `client_secret_post`: `client_id` and
    /// `client_secret` in the form body. Prefer
    /// [`client_secret_basic`](IntrospectionBuilder::client_secret_basic)
    /// unless the server supports only this.
    pub fn client_secret_post(mut self, client_id: &str, client_secret: &str) -> Self {
        self.auth = ClientAuth::post(client_id, client_secret).map(Some);
        self
    }

    /// Allows `http://` URLs whose host is loopback (`127.0.0.0/8`, `::1`,
    /// `localhost`), for tests and local demos. Default `false`: only
    /// `https://`. Any other `http://` URL is refused even with this set —
    /// at build time, and when a redirect or a discovered endpoint leads
    /// there: the request carries the token and this server's credentials.
    pub fn allow_http_loopback(mut self, allow: bool) -> Self {
        self.allow_http_loopback = allow;
        self
    }

    /// Deadline for one introspection, from the request (discovery
    /// included, when it is still to be done) to the last byte of the
    /// answer. Default 5 s. When it passes, the token is refused with 503
    /// (`Retry-After`) — within this deadline, not after it.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Largest response body accepted, in bytes (default 64 KiB). A larger
    /// answer is not read further and counts as no answer (503).
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// How many redirects the default client follows (default 3; 0 follows
    /// none), each obeying the transport rules. A `307`/`308` re-sends the
    /// form body (with the token, and with `client_secret_post` the secret);
    /// the `Authorization` header is dropped when the redirect leaves the
    /// endpoint's host. Ignored with a custom client.
    pub fn max_redirects(mut self, max: usize) -> Self {
        self.max_redirects = max;
        self
    }

    /// Uses your own `reqwest::Client` (proxies, extra roots, mutual TLS).
    /// Its redirect policy is yours; the deadline, the size cap and the
    /// check of the final URL still apply. A client that authenticates by
    /// itself (mutual TLS) needs no `client_secret_*`.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Longest time an active answer is reused, never past its `exp`.
    /// Default 30 s. This is also how long a token revoked at the
    /// authorization server may still be accepted here; `Duration::ZERO`
    /// asks the server on every request (concurrent requests with one token
    /// still share one call).
    pub fn cache_max_age(mut self, max_age: Duration) -> Self {
        self.cache_max_age = max_age;
        self
    }

    /// How long an inactive answer is reused (default 5 s): a burst of
    /// requests with a dead token costs one call per interval, while a
    /// token that becomes active (rare) waits at most this long.
    pub fn inactive_max_age(mut self, max_age: Duration) -> Self {
        self.inactive_max_age = max_age;
        self
    }

    /// Bound of the answer cache, in bytes of answers (each entry counts its
    /// response text plus a fixed overhead). Default 8 MiB. The least
    /// useful entries are evicted first when it is full.
    pub fn cache_max_bytes(mut self, max_bytes: u64) -> Self {
        self.cache_max_bytes = max_bytes;
        self
    }

    /// `Retry-After` of the 503 when the endpoint fails without naming a
    /// delay (a server's own `Retry-After` on 429/503 is used, clamped to
    /// 1–60 s). Default 1 s.
    pub fn retry_after(mut self, delay: Duration) -> Self {
        self.retry_after = delay;
        self
    }

    /// The clock deciding whether a cached answer is still usable (whole
    /// seconds) and the discovery backoff. Default: the system clock. Tests
    /// pass a [`tokengate_core::ManualClock`].
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Checks the configuration and makes the source. Nothing is fetched
    /// yet (no runtime is needed here): discovery and every introspection
    /// happen when a token needs them, on the caller's Tokio runtime.
    ///
    /// Fails on an endpoint or issuer that breaks the transport rules, no
    /// client authentication, empty credentials, or a zero deadline, size
    /// cap or cache bound.
    pub fn build(self) -> Result<IntrospectionSource, IntrospectionBuildError> {
        let allow = self.allow_http_loopback;
        let endpoint = match &self.requested {
            Requested::Url(url) => Endpoint::fixed(transport::parse_url(url, allow)?),
            Requested::Discover { issuer } => Endpoint::discover(MetadataUrls::for_issuer(issuer, allow)?),
        };
        let auth = self.auth.map_err(IntrospectionBuildError::InvalidCredentials)?;
        if auth.is_none() && self.client.is_none() {
            return Err(IntrospectionBuildError::NoClientAuthentication);
        }
        if self.request_timeout.is_zero() {
            return Err(IntrospectionBuildError::InvalidConfig("the request timeout must not be zero"));
        }
        if self.max_response_bytes == 0 {
            return Err(IntrospectionBuildError::InvalidConfig("the response size cap must not be zero"));
        }
        if self.cache_max_bytes == 0 {
            return Err(IntrospectionBuildError::InvalidConfig(
                "the cache bound must not be zero (use cache_max_age(Duration::ZERO) not to reuse answers)",
            ));
        }
        if self.retry_after.is_zero() {
            return Err(IntrospectionBuildError::InvalidConfig("the Retry-After delay must not be zero"));
        }
        let client = match self.client {
            Some(client) => client,
            None => transport::default_client(USER_AGENT, self.request_timeout, self.max_redirects, allow)?,
        };
        Ok(IntrospectionSource::new(Settings {
            endpoint,
            transport: Transport::new(client, allow, self.request_timeout, self.max_response_bytes),
            auth,
            cache_max_age: self.cache_max_age.as_secs(),
            inactive_max_age: self.inactive_max_age.as_secs(),
            cache_max_bytes: self.cache_max_bytes,
            retry_after: self.retry_after,
            clock: self.clock,
        }))
    }
}

impl fmt::Debug for IntrospectionBuilder {
    /// Everything but the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntrospectionBuilder")
            .field("requested", &self.requested)
            .field("auth", &self.auth)
            .field("allow_http_loopback", &self.allow_http_loopback)
            .field("request_timeout", &self.request_timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("max_redirects", &self.max_redirects)
            .field("custom_client", &self.client.is_some())
            .field("cache_max_age", &self.cache_max_age)
            .field("inactive_max_age", &self.inactive_max_age)
            .field("cache_max_bytes", &self.cache_max_bytes)
            .finish_non_exhaustive()
    }
}
