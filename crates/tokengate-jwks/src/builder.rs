//! [`JwksBuilder`]: the settings of a [`JwksSource`], turned into a checked
//! [`Config`] once, at build time.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokengate_core::keys::KeySource;
use tokengate_core::{Clock, SystemClock};

use crate::config::{self, Config, Target};
use crate::error::JwksBuildError;
use crate::source::JwksSource;

/// How long an unknown `kid` must wait after any fetch before it may cause another.
pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(30);
/// Refresh interval when the response has no usable `Cache-Control: max-age`.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(300);
/// Lower bound for an issuer's `Cache-Control: max-age` (one below it is raised to it).
pub const DEFAULT_MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(60);
/// Upper bound for an issuer's `Cache-Control: max-age` (one above it is
/// lowered to it): 1 hour, so that a key the issuer removed stops verifying
/// within the hour while the endpoint answers.
pub const DEFAULT_MAX_REFRESH_INTERVAL: Duration = Duration::from_secs(60 * 60);
/// How long past their refresh time the last good keys keep being used while
/// refreshes fail: 6 hours.
pub const DEFAULT_MAX_STALENESS: Duration = Duration::from_secs(6 * 60 * 60);
/// First retry delay after a failed fetch; it doubles on each further failure.
pub const DEFAULT_BACKOFF_INITIAL: Duration = Duration::from_secs(1);
/// Longest retry delay after repeated failures.
pub const DEFAULT_BACKOFF_MAX: Duration = Duration::from_secs(60);
/// Deadline for one HTTP request, from connecting to the end of the body.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest response body read (1 MiB); a larger one is refused.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// Redirects followed by the default HTTP client.
pub const DEFAULT_MAX_REDIRECTS: usize = 3;
/// The `User-Agent` of the default HTTP client.
pub const USER_AGENT: &str = concat!("tokengate-jwks/", env!("CARGO_PKG_VERSION"));

/// Settings of a [`JwksSource`]; made by [`JwksSource::from_url`] or
/// [`JwksSource::discover`], checked by [`JwksBuilder::build`].
///
/// The defaults are the secure ones: `https://` only, 5 s request timeout,
/// 1 MiB response cap, 3 redirects, 30 s unknown-`kid` cooldown, refresh per
/// `Cache-Control: max-age` clamped to 60 s – 1 h (every 300 s without
/// one), and the last good keys used for at most 6 h past their refresh
/// time when the endpoint fails.
///
/// # How long a removed key stays trusted
///
/// A key the issuer removes from its JWK Set stops verifying tokens:
/// - while the endpoint answers, at the next refresh: within the **refresh
///   interval** (the issuer's `max-age` clamped to
///   [`refresh_bounds`](JwksBuilder::refresh_bounds), else
///   [`default_refresh_interval`](JwksBuilder::default_refresh_interval)):
///   at most **1 h** with the defaults, plus the time the fetch takes;
/// - while refreshes fail (endpoint down, 5xx, garbage), when the last good
///   keys expire: within the refresh interval plus the
///   [`max_staleness`](JwksBuilder::max_staleness), at most **7 h** with the
///   defaults (1 h + 6 h). After that no key verifies until a fetch succeeds.
///
/// Lower both to shorten that window; a key known to be compromised calls
/// for a restart, or a [`JwksSource::refresh_now`] once the issuer has
/// removed it.
#[derive(Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct JwksBuilder {
    requested: Requested,
    allow_http_loopback: bool,
    cooldown: Duration,
    default_refresh_interval: Duration,
    min_refresh_interval: Duration,
    max_refresh_interval: Duration,
    max_staleness: Duration,
    backoff_initial: Duration,
    backoff_max: Duration,
    request_timeout: Duration,
    max_response_bytes: usize,
    max_redirects: usize,
    client: Option<reqwest::Client>,
    clock: Arc<dyn Clock>,
    /// The `source` metric label, instead of the URL (tenants: one fixed
    /// value, since tenants named by tokens must not each make a series).
    metrics_source: Option<&'static str>,
}

/// Where the keys are to be found, as given (checked by [`JwksBuilder::build`]).
#[derive(Debug)]
enum Requested {
    /// [`JwksSource::from_url`]
    JwksUrl(String),
    /// [`JwksSource::discover`]
    Discover { issuer: String },
}

impl JwksSource {
    /// A source fetching the JWK Set at `jwks_url` (for example
    /// `https://auth.example.com/.well-known/jwks.json`).
    ///
    /// The URL is checked by [`JwksBuilder::build`]. Use the URL your
    /// identity provider documents; never a URL taken from a token.
    pub fn from_url(jwks_url: &str) -> JwksBuilder {
        JwksBuilder::new(Requested::JwksUrl(jwks_url.to_owned()))
    }

    /// A source that locates the issuer's JWK Set by discovery: first
    /// OpenID Connect (`{issuer}/.well-known/openid-configuration`), then
    /// RFC 8414 (`/.well-known/oauth-authorization-server` inserted between
    /// the host and the issuer's path, RFC 8414 §3.1).
    ///
    /// A metadata document is used only when its `issuer` member equals
    /// `issuer` exactly (byte for byte, so give the issuer exactly as it
    /// appears in tokens' `iss`); otherwise its `jwks_uri` could point at
    /// another issuer's keys. The `jwks_uri` must obey the same transport
    /// rules as every other URL (`https://`, or loopback `http://` when allowed).
    pub fn discover(issuer: &str) -> JwksBuilder {
        JwksBuilder::new(Requested::Discover { issuer: issuer.to_owned() })
    }
}

impl JwksSource {
    /// Key sources for multi-tenant issuers
    /// ([`Tenants`](tokengate_core::tenants::Tenants)): each tenant's keys by
    /// discovery from its `iss`, with `configure` applied to every tenant's
    /// builder. Unless `configure` gives an HTTP client, the tenants share
    /// one (one connection pool and one set of root certificates, however
    /// many tenants).
    ///
    /// ```no_run
    /// use tokengate_core::tenants::Tenants;
    /// use tokengate_core::{Algorithm, Issuer};
    /// use tokengate_jwks::JwksSource;
    /// use std::time::Duration;
    ///
    /// let tenants = Tenants::new(
    ///     Tenants::pattern("https://login.microsoftonline.com/{}/v2.0"),
    ///     Issuer::any_issuer().audience("api://orders").algorithms([Algorithm::RS256]),
    ///     JwksSource::discover_per_tenant(|builder| builder.request_timeout(Duration::from_secs(3))),
    /// );
    /// # let _ = tenants;
    /// ```
    pub fn discover_per_tenant<F>(
        configure: F,
    ) -> impl Fn(&str) -> Result<Arc<dyn KeySource>, String> + Send + Sync + 'static
    where
        F: Fn(JwksBuilder) -> JwksBuilder + Send + Sync + 'static,
    {
        let shared_client = OnceLock::new();
        move |iss: &str| {
            let mut builder = configure(JwksSource::discover(iss));
            if builder.client.is_none() {
                let client = match shared_client.get() {
                    Some(client) => client,
                    None => {
                        let client = config::default_client(
                            USER_AGENT,
                            builder.request_timeout,
                            builder.max_redirects,
                            builder.allow_http_loopback,
                        )
                        .map_err(|error| error.to_string())?;
                        shared_client.get_or_init(|| client)
                    }
                };
                builder.client = Some(reqwest::Client::clone(client));
            }
            builder.metrics_source = Some("tenant");
            let source = builder.build().map_err(|error| error.to_string())?;
            Ok(Arc::new(source) as Arc<dyn KeySource>)
        }
    }
}

impl JwksBuilder {
    fn new(requested: Requested) -> Self {
        JwksBuilder {
            requested,
            allow_http_loopback: false,
            cooldown: DEFAULT_COOLDOWN,
            default_refresh_interval: DEFAULT_REFRESH_INTERVAL,
            min_refresh_interval: DEFAULT_MIN_REFRESH_INTERVAL,
            max_refresh_interval: DEFAULT_MAX_REFRESH_INTERVAL,
            max_staleness: DEFAULT_MAX_STALENESS,
            backoff_initial: DEFAULT_BACKOFF_INITIAL,
            backoff_max: DEFAULT_BACKOFF_MAX,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_redirects: DEFAULT_MAX_REDIRECTS,
            client: None,
            clock: Arc::new(SystemClock),
            metrics_source: None,
        }
    }

    /// Allows `http://` URLs whose host is loopback (`127.0.0.0/8`, `::1`,
    /// `localhost`), for tests and local demos. Default: `false`, only
    /// `https://`. An `http://` URL for any other host is refused even with
    /// this set, at build time and when a redirect or a discovered
    /// `jwks_uri` leads there: keys fetched in clear text over a network
    /// could be swapped by an attacker, who could then mint accepted tokens.
    pub fn allow_http_loopback(mut self, allow: bool) -> Self {
        self.allow_http_loopback = allow;
        self
    }

    /// A token with an unknown `kid` causes a fetch only if no fetch of any
    /// kind (start-up, background, an earlier unknown `kid`) started within
    /// this window. Default 30 s. This is what keeps a flood of forged
    /// tokens with random `kid`s from turning into a flood of requests to
    /// the issuer; a new key published by the issuer is picked up by the
    /// first token that needs it once the window has passed.
    pub fn cooldown(mut self, cooldown: Duration) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// The refresh interval when the response has no usable
    /// `Cache-Control: max-age` (absent, or with `no-store`/`no-cache`).
    /// Default 300 s. Used as given (rounded up to whole seconds): the
    /// [`refresh_bounds`](JwksBuilder::refresh_bounds) apply to what the
    /// issuer sends, not to this. Must be at least 1 s ([`build`](JwksBuilder::build)
    /// refuses zero). It is also how long, at most, a key the issuer removed
    /// keeps verifying when the issuer sends no `max-age`.
    pub fn default_refresh_interval(mut self, interval: Duration) -> Self {
        self.default_refresh_interval = interval;
        self
    }

    /// Bounds for a refresh interval taken from the issuer's
    /// `Cache-Control: max-age`: one below `min` is raised to it, one above
    /// `max` lowered to it. Default 60 s – 1 h: an issuer cannot make the
    /// source hammer it, nor keep a removed key alive for more than `max`.
    /// They do not apply to
    /// [`default_refresh_interval`](JwksBuilder::default_refresh_interval),
    /// which is yours. `min` must be above zero and not above `max`.
    pub fn refresh_bounds(mut self, min: Duration, max: Duration) -> Self {
        self.min_refresh_interval = min;
        self.max_refresh_interval = max;
        self
    }

    /// How long past their refresh time the last good keys keep being used
    /// while refreshes fail (endpoint down, 5xx, garbage). Default 6 h.
    /// After that the source holds no keys: every token is refused with
    /// [`tokengate_core::Error::KeysUnavailable`] (503) until a fetch
    /// succeeds. Longer keeps the API up through longer issuer outages;
    /// shorter limits how long a key the issuer has removed stays trusted
    /// while its endpoint cannot be reached: at most the refresh interval
    /// plus this (7 h with the defaults).
    pub fn max_staleness(mut self, max_staleness: Duration) -> Self {
        self.max_staleness = max_staleness;
        self
    }

    /// Retry delays after failed fetches: `initial`, doubling on each
    /// further failure, up to `max`. Default 1 s – 60 s. Applies to the
    /// background refresh and to requests arriving while no keys are held.
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.backoff_initial = initial;
        self.backoff_max = max;
        self
    }

    /// Deadline for one HTTP request, from connecting to the last body
    /// byte. Default 5 s. Also applied to a custom client.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Largest response body accepted, in bytes. Default 1 MiB. A larger
    /// body is refused (and not read further); also applied to a custom client.
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// How many redirects the default client follows (default 3; 0 follows
    /// none). Every hop must obey the transport rules of
    /// [`JwksBuilder::allow_http_loopback`]. Ignored with a custom client,
    /// whose own policy applies; the final URL is still checked.
    pub fn max_redirects(mut self, max: usize) -> Self {
        self.max_redirects = max;
        self
    }

    /// Uses your own `reqwest::Client` (proxies, extra root certificates,
    /// client certificates, your `User-Agent`). Its redirect policy is
    /// yours; the request timeout, the response size cap and the check of
    /// the final URL's scheme and host still apply.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// The clock used for refresh times, cooldown, backoff and staleness
    /// (whole seconds). Default: the system clock. Tests pass a
    /// [`tokengate_core::ManualClock`] to move time without sleeping.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Checks the configuration and starts the source: the first fetch
    /// starts in the background and is **not** waited for (a request
    /// arriving before it ends joins it). Must be called inside a Tokio
    /// runtime, on which the fetches and the background refresh run.
    ///
    /// Fails on a URL that does not parse, a non-`https` URL (except
    /// loopback `http://` when allowed), an issuer with a query or fragment,
    /// inconsistent durations, or no runtime.
    pub fn build(self) -> Result<JwksSource, JwksBuildError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| JwksBuildError::NoRuntime)?;
        let config = self.into_config()?;
        Ok(JwksSource::start(config, runtime))
    }

    fn into_config(self) -> Result<Config, JwksBuildError> {
        let allow = self.allow_http_loopback;
        let target = match &self.requested {
            Requested::JwksUrl(jwks_url) => Target::JwksUrl(config::parse_url(jwks_url, allow)?),
            Requested::Discover { issuer } => config::discovery_target(issuer, allow)?,
        };
        if self.request_timeout.is_zero() {
            return Err(JwksBuildError::InvalidConfig("the request timeout must not be zero"));
        }
        if self.max_response_bytes == 0 {
            return Err(JwksBuildError::InvalidConfig("the response size cap must not be zero"));
        }
        if self.min_refresh_interval > self.max_refresh_interval {
            return Err(JwksBuildError::InvalidConfig("the minimum refresh interval is above the maximum"));
        }
        if self.min_refresh_interval.is_zero() {
            return Err(JwksBuildError::InvalidConfig("the minimum refresh interval must not be zero"));
        }
        if self.default_refresh_interval.is_zero() {
            return Err(JwksBuildError::InvalidConfig("the default refresh interval must not be zero"));
        }
        if self.backoff_initial.is_zero() || self.backoff_initial > self.backoff_max {
            return Err(JwksBuildError::InvalidConfig(
                "the backoff must start above zero and not above its maximum",
            ));
        }
        let client = match self.client {
            Some(client) => client,
            None => config::default_client(USER_AGENT, self.request_timeout, self.max_redirects, allow)?,
        };
        Ok(Config {
            target,
            allow_http_loopback: allow,
            cooldown: config::secs(self.cooldown),
            default_refresh_interval: config::secs(self.default_refresh_interval),
            min_refresh_interval: config::secs(self.min_refresh_interval),
            max_refresh_interval: config::secs(self.max_refresh_interval),
            max_staleness: config::secs(self.max_staleness),
            backoff_initial: config::secs(self.backoff_initial),
            backoff_max: config::secs(self.backoff_max),
            request_timeout: self.request_timeout,
            max_response_bytes: self.max_response_bytes,
            client,
            clock: self.clock,
            metrics_source: self.metrics_source,
        })
    }
}
