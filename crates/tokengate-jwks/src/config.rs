//! The checked configuration of a [`JwksSource`](crate::JwksSource), and the
//! transport rules every URL it fetches must obey.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokengate_core::Clock;
use url::{Host, Url};

use crate::discovery::MetadataUrls;
use crate::error::JwksBuildError;
use crate::transport::Transport;

/// Where the key set is found.
#[derive(Clone, Debug)]
pub(crate) enum Target {
    /// A JWK Set URL, as configured.
    JwksUrl(Url),
    /// Discovery from this issuer (the exact configured string, and the
    /// two metadata URLs derived from it).
    Discover { issuer: String, openid_configuration: Url, oauth_authorization_server: Url },
}

/// The checked configuration, in whole seconds where the clock is involved.
#[derive(Debug)]
pub(crate) struct Config {
    pub(crate) target: Target,
    pub(crate) allow_http_loopback: bool,
    pub(crate) cooldown: u64,
    /// Used as is when a response has no usable `max-age` (at least 1).
    pub(crate) default_refresh_interval: u64,
    /// Bounds for an issuer's `max-age` only.
    pub(crate) min_refresh_interval: u64,
    pub(crate) max_refresh_interval: u64,
    pub(crate) max_staleness: u64,
    pub(crate) backoff_initial: u64,
    pub(crate) backoff_max: u64,
    pub(crate) request_timeout: Duration,
    pub(crate) max_response_bytes: usize,
    pub(crate) client: reqwest::Client,
    pub(crate) clock: Arc<dyn Clock>,
    /// The `source` metric label when not the URL (see `observe`).
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    pub(crate) metrics_source: Option<&'static str>,
}

impl Config {
    /// The refresh interval after a response with this usable `max-age`:
    /// the issuer's `max-age` clamped to the configured bounds, else the
    /// configured default, as is (the bounds limit what the issuer asks
    /// for, not what the operator chose).
    pub(crate) fn refresh_interval(&self, max_age: Option<u64>) -> u64 {
        match max_age {
            Some(max_age) => max_age.clamp(self.min_refresh_interval, self.max_refresh_interval),
            None => self.default_refresh_interval,
        }
    }

    /// The HTTP client with the transport rules it applies.
    pub(crate) fn transport(&self) -> Transport {
        Transport::new(
            self.client.clone(),
            self.allow_http_loopback,
            self.request_timeout,
            self.max_response_bytes,
        )
    }

    /// The retry delay after `failures` consecutive failures.
    pub(crate) fn backoff(&self, failures: u32) -> u64 {
        let doublings = failures.saturating_sub(1).min(63);
        self.backoff_initial.saturating_mul(1u64 << doublings).min(self.backoff_max)
    }
}

/// Whole seconds, rounded up (the clock has one-second resolution).
pub(crate) fn secs(duration: Duration) -> u64 {
    duration.as_secs().saturating_add(u64::from(duration.subsec_nanos() > 0))
}

/// The default HTTP client: this `user_agent`, the timeout, and a redirect
/// policy that follows at most `max_redirects` hops, each obeying the
/// transport rules ([`check_transport`]).
pub fn default_client(
    user_agent: &'static str,
    timeout: Duration,
    max_redirects: usize,
    allow_http_loopback: bool,
) -> Result<reqwest::Client, JwksBuildError> {
    let policy = reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() > max_redirects {
            attempt.error(RedirectRefused("too many redirects"))
        } else if check_transport(attempt.url(), allow_http_loopback).is_err() {
            attempt.error(RedirectRefused("redirect to a URL the transport rules refuse"))
        } else {
            attempt.follow()
        }
    });
    reqwest::Client::builder()
        .user_agent(user_agent)
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(policy)
        .build()
        .map_err(JwksBuildError::Client)
}

/// Why the default client's redirect policy stopped (reported by reqwest).
#[derive(Debug)]
pub(crate) struct RedirectRefused(&'static str);

impl std::fmt::Display for RedirectRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for RedirectRefused {}

/// Parses a URL and applies the transport rules ([`check_transport`]).
pub fn parse_url(text: &str, allow_http_loopback: bool) -> Result<Url, JwksBuildError> {
    let url =
        Url::parse(text).map_err(|source| JwksBuildError::InvalidUrl { url: text.to_owned(), source })?;
    check_transport(&url, allow_http_loopback)?;
    Ok(url)
}

/// `https://` always; `http://` only for loopback hosts, and only when
/// allowed; never a user name or password in the URL (it would be logged).
pub fn check_transport(url: &Url, allow_http_loopback: bool) -> Result<(), JwksBuildError> {
    if !url.username().is_empty() || url.password().is_some() {
        return Err(JwksBuildError::CredentialsInUrl { host: url.host_str().unwrap_or_default().to_owned() });
    }
    match url.scheme() {
        "https" if url.host().is_some() => Ok(()),
        "http" if allow_http_loopback && is_loopback(url) => Ok(()),
        "http" | "https" => Err(JwksBuildError::InsecureUrl { url: url.to_string() }),
        scheme => Err(JwksBuildError::UnsupportedScheme { url: url.to_string(), scheme: scheme.to_owned() }),
    }
}

/// `127.0.0.0/8`, `::1` or `localhost` (exactly, in any case).
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// The discovery target for `issuer`: the issuer checked, and its two
/// metadata URLs.
pub(crate) fn discovery_target(issuer: &str, allow_http_loopback: bool) -> Result<Target, JwksBuildError> {
    let (issuer, openid_configuration, oauth_authorization_server) =
        MetadataUrls::for_issuer(issuer, allow_http_loopback)?.into_parts();
    Ok(Target::Discover { issuer, openid_configuration, oauth_authorization_server })
}

#[cfg(test)]
mod tests {
    use tokengate_core::SystemClock;

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
            Err(JwksBuildError::UnsupportedScheme { .. })
        ));
        assert!(matches!(parse_url("file:///etc/jwks", true), Err(JwksBuildError::UnsupportedScheme { .. })));
        assert!(matches!(
            parse_url("https://user:pw@example.com/jwks", false),
            Err(JwksBuildError::CredentialsInUrl { .. })
        ));
        assert!(matches!(parse_url("not a url", false), Err(JwksBuildError::InvalidUrl { .. })));
    }

    #[test]
    fn issuers_with_query_or_fragment_are_refused() {
        assert!(matches!(
            discovery_target("https://a.example/?x=1", false),
            Err(JwksBuildError::InvalidIssuer { .. })
        ));
        assert!(matches!(
            discovery_target("https://a.example/#f", false),
            Err(JwksBuildError::InvalidIssuer { .. })
        ));
    }

    #[test]
    fn durations_round_up_to_whole_seconds() {
        assert_eq!(secs(Duration::from_millis(1)), 1);
        assert_eq!(secs(Duration::from_secs(30)), 30);
        assert_eq!(secs(Duration::ZERO), 0);
    }

    fn with_intervals(default: u64, min: u64, max: u64) -> Config {
        Config {
            target: Target::JwksUrl(Url::parse("https://auth.example.com/jwks").unwrap()),
            allow_http_loopback: false,
            cooldown: 30,
            default_refresh_interval: default,
            min_refresh_interval: min,
            max_refresh_interval: max,
            max_staleness: 0,
            backoff_initial: 1,
            backoff_max: 60,
            request_timeout: Duration::from_secs(5),
            max_response_bytes: 1024,
            client: reqwest::Client::new(),
            clock: Arc::new(SystemClock),
            metrics_source: None,
        }
    }

    #[test]
    fn the_bounds_clamp_the_issuers_max_age_but_not_the_configured_default() {
        let config = with_intervals(2, 60, 3600);
        assert_eq!(config.refresh_interval(None), 2);
        assert_eq!(config.refresh_interval(Some(2)), 60);
        assert_eq!(config.refresh_interval(Some(600)), 600);
        assert_eq!(config.refresh_interval(Some(86_400)), 3600);
        assert_eq!(with_intervals(7200, 60, 3600).refresh_interval(None), 7200);
    }

    #[test]
    fn backoff_doubles_up_to_its_maximum() {
        let config = with_intervals(300, 60, 3600);
        let delays: Vec<u64> = (1..=8).map(|failures| config.backoff(failures)).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(config.backoff(u32::MAX), 60);
    }
}
