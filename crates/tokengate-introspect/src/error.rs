//! Why a source could not be built ([`IntrospectionBuildError`]), and why
//! one introspection failed ([`IntrospectionError`]).
//!
//! None of them ever contains a token or a client secret.

use std::fmt;
use std::time::Duration;

use tokengate_jwks::{JwksBuildError, JwksFetchError};

/// Why [`IntrospectionBuilder::build`](crate::IntrospectionBuilder::build)
/// refused the configuration: a mistake to fix before the source can be used.
///
/// Its `Debug` output is the variant's name followed by its `Display` text,
/// so that `fn main() -> Result<(), Box<dyn Error>>` shows the explanation.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum IntrospectionBuildError {
    /// The endpoint URL (or the issuer given to
    /// [`IntrospectionSource::discover`](crate::IntrospectionSource::discover))
    /// breaks the transport rules shared with `tokengate-jwks` (`https://`
    /// only; loopback `http://` only when allowed; no credentials in the
    /// URL), or the HTTP client could not be created. The inner error says which.
    #[error("{0}")]
    Transport(#[source] JwksBuildError),
    /// No client authentication: RFC 7662 §2.1 requires the resource server
    /// to authenticate. Use
    /// [`client_secret_basic`](crate::IntrospectionBuilder::client_secret_basic),
    /// [`client_secret_post`](crate::IntrospectionBuilder::client_secret_post),
    /// or a custom [`http_client`](crate::IntrospectionBuilder::http_client)
    /// that authenticates by itself (mutual TLS, a default `Authorization` header).
    #[error(
        "introspection needs client authentication: call client_secret_basic or client_secret_post, \
         or give an http_client that authenticates by itself (mutual TLS)"
    )]
    NoClientAuthentication,
    /// Unusable client credentials (an empty identifier or secret).
    #[error("invalid client credentials: {0}")]
    InvalidCredentials(&'static str),
    /// Inconsistent settings (a zero timeout, a zero size cap or cache bound).
    #[error("invalid introspection configuration: {0}")]
    InvalidConfig(&'static str),
}

impl IntrospectionBuildError {
    fn variant(&self) -> &'static str {
        match self {
            IntrospectionBuildError::Transport(_) => "Transport",
            IntrospectionBuildError::NoClientAuthentication => "NoClientAuthentication",
            IntrospectionBuildError::InvalidCredentials(_) => "InvalidCredentials",
            IntrospectionBuildError::InvalidConfig(_) => "InvalidConfig",
        }
    }
}

impl fmt::Debug for IntrospectionBuildError {
    /// `Variant: explanation` (for `Transport`, the inner variant's name too).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IntrospectionBuildError::Transport(inner) => write!(f, "Transport({inner:?})"),
            _ => write!(f, "{}: {self}", self.variant()),
        }
    }
}

impl From<JwksBuildError> for IntrospectionBuildError {
    fn from(error: JwksBuildError) -> Self {
        IntrospectionBuildError::Transport(error)
    }
}

/// Why one introspection gave no answer. The token is then refused with
/// 503 and `Retry-After` ([`tokengate_core::Error::IntrospectionUnavailable`]),
/// never judged: none of these says anything about the token.
///
/// Each failure is logged (with at most a short SHA-256 prefix of the
/// token) and kept as [`IntrospectionStatus::last_error`](crate::IntrospectionStatus::last_error).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IntrospectionError {
    /// The HTTP exchange failed: connection refused, DNS, TLS, a redirect
    /// the transport rules refuse, the HTTP deadline, a body above the size
    /// cap ([`JwksFetchError::Request`], [`Timeout`](JwksFetchError::Timeout),
    /// [`TooLarge`](JwksFetchError::TooLarge), [`Refused`](JwksFetchError::Refused)).
    #[error("introspection request failed: {0}")]
    Http(#[source] JwksFetchError),
    /// The introspection endpoint could not be discovered (no usable
    /// metadata document naming an `introspection_endpoint`).
    #[error("introspection endpoint discovery failed: {0}")]
    Discovery(#[source] JwksFetchError),
    /// Discovery failed recently; it is retried after a backoff.
    #[error("introspection endpoint discovery failed recently; next attempt in {retry_in:?}")]
    DiscoveryBackoff {
        /// How long until discovery is tried again.
        retry_in: Duration,
    },
    /// The endpoint refused this server's own credentials (401 or 403):
    /// a configuration problem on our side, not a verdict on the token.
    #[error("`{url}` refused this server's client credentials (HTTP {status})")]
    CredentialsRefused {
        /// The introspection endpoint.
        url: String,
        /// 401 or 403.
        status: u16,
    },
    /// Any other status than 2xx.
    #[error("`{url}` answered HTTP {status}")]
    Status {
        /// The introspection endpoint.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The server's `Retry-After` (delta-seconds), when it sent one.
        retry_after: Option<Duration>,
    },
    /// A 2xx answer that is not a JSON object (not UTF-8, not JSON, an
    /// array, a duplicate member).
    #[error("`{url}` answered something that is not an introspection response: {reason}")]
    InvalidResponse {
        /// The introspection endpoint.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No answer (discovery included) within the request timeout.
    #[error("no introspection answer within {timeout:?}")]
    Timeout {
        /// The configured request timeout.
        timeout: Duration,
    },
}

/// The shortest and longest `Retry-After` taken from the server.
const RETRY_AFTER_BOUNDS: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(60));

impl IntrospectionError {
    /// When a retry has a chance to succeed: the server's own `Retry-After`
    /// (clamped to 1–60 s), the discovery backoff, else `default`.
    pub fn retry_after(&self, default: Duration) -> Duration {
        match self {
            IntrospectionError::Status { retry_after: Some(delay), .. } => {
                (*delay).clamp(RETRY_AFTER_BOUNDS.0, RETRY_AFTER_BOUNDS.1)
            }
            IntrospectionError::DiscoveryBackoff { retry_in } => (*retry_in).max(RETRY_AFTER_BOUNDS.0),
            _ => default,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_error_debug_carries_the_explanation() {
        let error = IntrospectionBuildError::NoClientAuthentication;
        assert!(format!("{error:?}").starts_with("NoClientAuthentication: introspection needs client"));
        let error =
            IntrospectionBuildError::from(JwksBuildError::InsecureUrl { url: "http://x/introspect".into() });
        let debug = format!("{error:?}");
        assert!(
            debug.starts_with("Transport(InsecureUrl: `http://x/introspect` must use https://"),
            "{debug}"
        );
        assert!(error.to_string().contains("allow_http_loopback(true)"), "{error}");
    }

    #[test]
    fn retry_after_follows_the_server_within_bounds() {
        let default = Duration::from_secs(1);
        let status = |retry_after| IntrospectionError::Status { url: "u".into(), status: 503, retry_after };
        assert_eq!(status(None).retry_after(default), default);
        assert_eq!(status(Some(Duration::from_secs(7))).retry_after(default), Duration::from_secs(7));
        assert_eq!(status(Some(Duration::from_secs(3600))).retry_after(default), Duration::from_secs(60));
        assert_eq!(status(Some(Duration::ZERO)).retry_after(default), Duration::from_secs(1));
        let backoff = IntrospectionError::DiscoveryBackoff { retry_in: Duration::from_secs(4) };
        assert_eq!(backoff.retry_after(default), Duration::from_secs(4));
        assert_eq!(IntrospectionError::Timeout { timeout: default }.retry_after(default), default);
    }
}
