//! Configuration of a [`JwksSource`], checked once at build time.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokengate_core::{Clock, SystemClock};
use url::{Host, Url};

use crate::error::JwksError;
use crate::source::JwksSource;

/// How long an unknown `kid` must wait after any fetch before it may cause another.
pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(30);
/// Refresh interval when the response has no usable `Cache-Control: max-age`.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(300);
/// Lower bound for any refresh interval (a `max-age` below it is raised to it).
pub const DEFAULT_MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(60);
/// Upper bound for any refresh interval (a `max-age` above it is lowered to it).
pub const DEFAULT_MAX_REFRESH_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);
/// How long past their refresh time the last good keys keep being used while refreshes fail.
pub const DEFAULT_MAX_STALENESS: Duration = Duration::from_secs(24 * 60 * 60);
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

/// Where the key set is found.
#[derive(Clone, Debug)]
pub(crate) enum Target {
    /// A JWK Set URL, as configured.
    JwksUrl(Url),
    /// Discovery from this issuer (the exact configured string, and the
    /// two metadata URLs derived from it).
    Discover { issuer: String, openid_configuration: Url, oauth_authorization_server: Url },
}

/// Settings of a [`JwksSource`]; made by [`JwksSource::from_url`] or
/// [`JwksSource::discover`], checked by [`JwksBuilder::build`].
///
/// The defaults are the secure ones: `https://` only, 5 s request timeout,
/// 1 MiB response cap, 3 redirects, 30 s unknown-`kid` cooldown, refresh per
/// `Cache-Control: max-age` clamped to 60 s – 1 day (300 s without one), and
/// the last good keys used for at most 1 day past their refresh time when
/// the endpoint fails.
#[derive(Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct JwksBuilder {
    target: Result<String, String>,
    pub(crate) allow_http_loopback: bool,
    pub(crate) cooldown: Duration,
    pub(crate) default_refresh_interval: Duration,
    pub(crate) min_refresh_interval: Duration,
    pub(crate) max_refresh_interval: Duration,
    pub(crate) max_staleness: Duration,
    pub(crate) backoff_initial: Duration,
    pub(crate) backoff_max: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) max_response_bytes: usize,
    pub(crate) max_redirects: usize,
    pub(crate) client: Option<reqwest::Client>,
    pub(crate) clock: Arc<dyn Clock>,
}

/// The checked configuration, in whole seconds where the clock is involved.
#[derive(Debug)]
pub(crate) struct Config {
    pub(crate) target: Target,
    pub(crate) allow_http_loopback: bool,
    pub(crate) cooldown: u64,
    pub(crate) default_refresh_interval: u64,
    pub(crate) min_refresh_interval: u64,
    pub(crate) max_refresh_interval: u64,
    pub(crate) max_staleness: u64,
    pub(crate) backoff_initial: u64,
    pub(crate) backoff_max: u64,
    pub(crate) request_timeout: Duration,
    pub(crate) max_response_bytes: usize,
    pub(crate) client: reqwest::Client,
    pub(crate) clock: Arc<dyn Clock>,
}

impl JwksSource {
    /// A source fetching the JWK Set at `jwks_url` (for example
    /// `https://auth.example.com/.well-known/jwks.json`).
    ///
    /// The URL is checked by [`JwksBuilder::build`]. Use the URL your
    /// identity provider documents; never a URL taken from a token.
    pub fn from_url(jwks_url: &str) -> JwksBuilder {
        JwksBuilder::new(Ok(jwks_url.to_owned()))
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
        JwksBuilder::new(Err(issuer.to_owned()))
    }
}

impl JwksBuilder {
    fn new(target: Result<String, String>) -> Self {
        JwksBuilder {
            target,
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
    /// Default 300 s; clamped to the refresh bounds.
    pub fn default_refresh_interval(mut self, interval: Duration) -> Self {
        self.default_refresh_interval = interval;
        self
    }

    /// Bounds for every refresh interval, including one from
    /// `Cache-Control: max-age`. Default 60 s – 1 day: an issuer cannot make
    /// the source hammer it, nor keep a removed key alive for weeks.
    pub fn refresh_bounds(mut self, min: Duration, max: Duration) -> Self {
        self.min_refresh_interval = min;
        self.max_refresh_interval = max;
        self
    }

    /// How long past their refresh time the last good keys keep being used
    /// while refreshes fail (endpoint down, 5xx, garbage). Default 1 day.
    /// After that the source holds no keys: every token is refused with
    /// [`tokengate_core::Error::KeysUnavailable`] (503) until a fetch
    /// succeeds. Longer keeps the API up through longer issuer outages;
    /// shorter limits how long a key the issuer has revoked (but could not
    /// un-publish) stays trusted.
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
    pub fn build(self) -> Result<JwksSource, JwksError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| JwksError::NoRuntime)?;
        let config = self.into_config()?;
        Ok(JwksSource::start(config, runtime))
    }

    fn into_config(self) -> Result<Config, JwksError> {
        let allow = self.allow_http_loopback;
        let target = match &self.target {
            Ok(jwks_url) => Target::JwksUrl(parse_url(jwks_url, allow)?),
            Err(issuer) => discovery_target(issuer, allow)?,
        };
        if self.request_timeout.is_zero() {
            return Err(JwksError::InvalidConfig("the request timeout must not be zero"));
        }
        if self.max_response_bytes == 0 {
            return Err(JwksError::InvalidConfig("the response size cap must not be zero"));
        }
        if self.min_refresh_interval > self.max_refresh_interval {
            return Err(JwksError::InvalidConfig("the minimum refresh interval is above the maximum"));
        }
        if self.min_refresh_interval.is_zero() {
            return Err(JwksError::InvalidConfig("the minimum refresh interval must not be zero"));
        }
        if self.backoff_initial.is_zero() || self.backoff_initial > self.backoff_max {
            return Err(JwksError::InvalidConfig(
                "the backoff must start above zero and not above its maximum",
            ));
        }
        let client = match self.client {
            Some(client) => client,
            None => default_client(self.request_timeout, self.max_redirects, allow)?,
        };
        Ok(Config {
            target,
            allow_http_loopback: allow,
            cooldown: secs(self.cooldown),
            default_refresh_interval: secs(self.default_refresh_interval),
            min_refresh_interval: secs(self.min_refresh_interval),
            max_refresh_interval: secs(self.max_refresh_interval),
            max_staleness: secs(self.max_staleness),
            backoff_initial: secs(self.backoff_initial),
            backoff_max: secs(self.backoff_max),
            request_timeout: self.request_timeout,
            max_response_bytes: self.max_response_bytes,
            client,
            clock: self.clock,
        })
    }
}

/// Whole seconds, rounded up (the clock has one-second resolution).
fn secs(duration: Duration) -> u64 {
    duration.as_secs().saturating_add(u64::from(duration.subsec_nanos() > 0))
}

fn default_client(
    timeout: Duration,
    max_redirects: usize,
    allow: bool,
) -> Result<reqwest::Client, JwksError> {
    let policy = reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() > max_redirects {
            attempt.error(RedirectRefused("too many redirects"))
        } else if check_transport(attempt.url(), allow).is_err() {
            attempt.error(RedirectRefused("redirect to a URL the transport rules refuse"))
        } else {
            attempt.follow()
        }
    });
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(policy)
        .build()
        .map_err(JwksError::Client)
}

#[derive(Debug)]
struct RedirectRefused(&'static str);

impl std::fmt::Display for RedirectRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for RedirectRefused {}

/// Parses a configured URL and applies the transport rules.
pub(crate) fn parse_url(text: &str, allow_http_loopback: bool) -> Result<Url, JwksError> {
    let url = Url::parse(text).map_err(|source| JwksError::InvalidUrl { url: text.to_owned(), source })?;
    check_transport(&url, allow_http_loopback)?;
    Ok(url)
}

/// `https://` always; `http://` only for loopback hosts, and only when allowed.
pub(crate) fn check_transport(url: &Url, allow_http_loopback: bool) -> Result<(), JwksError> {
    if !url.username().is_empty() || url.password().is_some() {
        return Err(JwksError::CredentialsInUrl { host: url.host_str().unwrap_or_default().to_owned() });
    }
    match url.scheme() {
        "https" if url.host().is_some() => Ok(()),
        "http" if allow_http_loopback && is_loopback(url) => Ok(()),
        "http" | "https" => Err(JwksError::InsecureUrl { url: url.to_string() }),
        scheme => Err(JwksError::UnsupportedScheme { url: url.to_string(), scheme: scheme.to_owned() }),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

fn discovery_target(issuer: &str, allow: bool) -> Result<Target, JwksError> {
    let invalid = |reason| JwksError::InvalidIssuer { issuer: issuer.to_owned(), reason };
    let url = parse_url(issuer, allow)?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("an issuer identifier has no query or fragment (RFC 8414 §2)"));
    }
    // OpenID Connect Discovery §4: remove a terminating "/", append the suffix.
    let openid = format!("{}/.well-known/openid-configuration", issuer.strip_suffix('/').unwrap_or(issuer));
    let openid_configuration = parse_url(&openid, allow)?;
    // RFC 8414 §3.1: insert the well-known segment between host and path,
    // after removing a terminating "/" from the path.
    let mut oauth_authorization_server = url.clone();
    let path = url.path().strip_suffix('/').unwrap_or(url.path());
    oauth_authorization_server.set_path(&format!("/.well-known/oauth-authorization-server{path}"));
    Ok(Target::Discover { issuer: issuer.to_owned(), openid_configuration, oauth_authorization_server })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata_urls(issuer: &str) -> (String, String) {
        match discovery_target(issuer, false).unwrap() {
            Target::Discover { openid_configuration, oauth_authorization_server, .. } => {
                (openid_configuration.to_string(), oauth_authorization_server.to_string())
            }
            Target::JwksUrl(_) => unreachable!(),
        }
    }

    #[test]
    fn metadata_urls_follow_oidc_discovery_and_rfc_8414() {
        assert_eq!(
            metadata_urls("https://auth.example.com"),
            (
                "https://auth.example.com/.well-known/openid-configuration".into(),
                "https://auth.example.com/.well-known/oauth-authorization-server".into()
            )
        );
        assert_eq!(
            metadata_urls("https://auth.example.com/"),
            (
                "https://auth.example.com/.well-known/openid-configuration".into(),
                "https://auth.example.com/.well-known/oauth-authorization-server".into()
            )
        );
        assert_eq!(
            metadata_urls("https://example.com/issuer1"),
            (
                "https://example.com/issuer1/.well-known/openid-configuration".into(),
                "https://example.com/.well-known/oauth-authorization-server/issuer1".into()
            )
        );
        assert_eq!(
            metadata_urls("https://example.com/tenants/a/"),
            (
                "https://example.com/tenants/a/.well-known/openid-configuration".into(),
                "https://example.com/.well-known/oauth-authorization-server/tenants/a".into()
            )
        );
    }

    #[test]
    fn transport_rules() {
        let ok = |u: &str, allow| parse_url(u, allow).is_ok();
        assert!(ok("https://auth.example.com/jwks", false));
        assert!(!ok("http://127.0.0.1:8080/jwks", false));
        assert!(ok("http://127.0.0.1:8080/jwks", true));
        assert!(ok("http://127.8.9.10/jwks", true));
        assert!(ok("http://[::1]:3000/jwks", true));
        assert!(ok("http://localhost:3000/jwks", true));
        assert!(ok("http://LOCALHOST/jwks", true));
        assert!(!ok("http://example.com/jwks", true));
        assert!(!ok("http://10.0.0.1/jwks", true));
        assert!(!ok("http://[::2]/jwks", true));
        assert!(!ok("http://localhost.example.com/jwks", true));
        assert!(!ok("http://127.0.0.1.nip.io/jwks", true));
        assert!(matches!(
            parse_url("ftp://example.com/jwks", true),
            Err(JwksError::UnsupportedScheme { .. })
        ));
        assert!(matches!(parse_url("file:///etc/jwks", true), Err(JwksError::UnsupportedScheme { .. })));
        assert!(matches!(
            parse_url("https://user:pw@example.com/jwks", false),
            Err(JwksError::CredentialsInUrl { .. })
        ));
        assert!(matches!(parse_url("not a url", false), Err(JwksError::InvalidUrl { .. })));
    }

    #[test]
    fn issuers_with_query_or_fragment_are_refused() {
        assert!(matches!(
            discovery_target("https://a.example/?x=1", false),
            Err(JwksError::InvalidIssuer { .. })
        ));
        assert!(matches!(
            discovery_target("https://a.example/#f", false),
            Err(JwksError::InvalidIssuer { .. })
        ));
    }

    #[test]
    fn durations_round_up_to_whole_seconds() {
        assert_eq!(secs(Duration::from_millis(1)), 1);
        assert_eq!(secs(Duration::from_secs(30)), 30);
        assert_eq!(secs(Duration::ZERO), 0);
    }
}
