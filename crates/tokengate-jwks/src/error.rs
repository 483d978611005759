//! Why a key source could not be built ([`JwksBuildError`]), and why one
//! fetch failed ([`JwksFetchError`]).
//!
//! None of them ever contains key material or a token.

use std::fmt;
use std::time::Duration;

use tokengate_core::KeyError;

/// Why [`JwksBuilder::build`](crate::JwksBuilder::build) refused the
/// configuration: a mistake to fix before the source can start.
///
/// The URL variants (`InvalidUrl`, `InsecureUrl`, `UnsupportedScheme`,
/// `CredentialsInUrl`) are the transport rules; a URL found later (a
/// discovered `jwks_uri`, where a custom client's redirects ended) that
/// breaks them fails that fetch with [`JwksFetchError::Refused`], which
/// carries one of them.
///
/// Its `Debug` output is the variant's name followed by its `Display` text,
/// so that `fn main() -> Result<(), Box<dyn Error>>` shows the explanation.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum JwksBuildError {
    /// A configured URL (or a `jwks_uri` read from discovery) does not parse.
    #[error("`{url}` is not a valid URL: {source}")]
    InvalidUrl {
        /// The text that was given.
        url: String,
        /// Why it does not parse.
        #[source]
        source: url::ParseError,
    },
    /// An `http://` URL for a host that is not loopback, or any `http://`
    /// URL without [`allow_http_loopback(true)`](crate::JwksBuilder::allow_http_loopback).
    /// Keys fetched in clear text could be replaced by anyone on the path,
    /// who could then mint tokens this API accepts.
    #[error(
        "`{url}` must use https:// (http:// is allowed only for loopback hosts, and only with allow_http_loopback(true))"
    )]
    InsecureUrl {
        /// The refused URL.
        url: String,
    },
    /// A URL with a scheme other than `https` (or `http`).
    #[error("`{url}` uses the scheme `{scheme}`; only https:// is supported")]
    UnsupportedScheme {
        /// The refused URL.
        url: String,
        /// Its scheme.
        scheme: String,
    },
    /// A URL with a user name or password in it: it would end up in logs.
    #[error(
        "`{host}`: URLs with embedded credentials are refused (they would be logged); use a custom reqwest::Client"
    )]
    CredentialsInUrl {
        /// The URL's host, the only part shown.
        host: String,
    },
    /// The issuer given to [`JwksSource::discover`](crate::JwksSource::discover)
    /// cannot be used to locate metadata (RFC 8414 §2: an `https` URL with
    /// no query or fragment).
    #[error("the issuer `{issuer}` cannot be used for discovery: {reason}")]
    InvalidIssuer {
        /// The configured issuer.
        issuer: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Inconsistent settings (for example a minimum refresh interval above
    /// the maximum, or a zero timeout).
    #[error("invalid JWKS configuration: {0}")]
    InvalidConfig(&'static str),
    /// [`JwksBuilder::build`](crate::JwksBuilder::build) was called outside
    /// a Tokio runtime; the background refresh needs one.
    #[error("JwksBuilder::build must be called inside a Tokio runtime")]
    NoRuntime,
    /// The default HTTP client could not be created.
    #[error("the HTTP client could not be created: {0}")]
    Client(#[source] reqwest::Error),
}

impl JwksBuildError {
    fn variant(&self) -> &'static str {
        match self {
            JwksBuildError::InvalidUrl { .. } => "InvalidUrl",
            JwksBuildError::InsecureUrl { .. } => "InsecureUrl",
            JwksBuildError::UnsupportedScheme { .. } => "UnsupportedScheme",
            JwksBuildError::CredentialsInUrl { .. } => "CredentialsInUrl",
            JwksBuildError::InvalidIssuer { .. } => "InvalidIssuer",
            JwksBuildError::InvalidConfig(_) => "InvalidConfig",
            JwksBuildError::NoRuntime => "NoRuntime",
            JwksBuildError::Client(_) => "Client",
        }
    }
}

impl fmt::Debug for JwksBuildError {
    /// `Variant: explanation`, for instance
    /// ``InsecureUrl: `http://x/jwks` must use https:// (…)``: what `?` in
    /// `main` prints, so the hint on how to fix it is not lost.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {self}", self.variant())
    }
}

/// Why one fetch of the key set (or of a discovery document) failed.
///
/// Reported by [`JwksSource::refresh_now`](crate::JwksSource::refresh_now)
/// and [`JwksStatus::last_error`](crate::JwksStatus::last_error). The source
/// keeps serving its last good keys (within the staleness limit) and retries
/// with backoff.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JwksFetchError {
    /// The request failed: connection refused, DNS, TLS, a redirect the
    /// default client refused (too many, or to a URL the transport rules
    /// refuse), a broken body.
    #[error("fetching `{url}` failed: {source}")]
    Request {
        /// The URL requested.
        url: String,
        /// What reqwest reported.
        #[source]
        source: reqwest::Error,
    },
    /// No complete answer within the request timeout.
    #[error("fetching `{url}` timed out after {timeout:?}")]
    Timeout {
        /// The URL requested.
        url: String,
        /// The configured request timeout.
        timeout: Duration,
    },
    /// The server answered with a status other than 2xx.
    #[error("`{url}` answered HTTP {status}")]
    Status {
        /// The URL requested.
        url: String,
        /// The HTTP status code.
        status: u16,
    },
    /// The response body is larger than the configured cap; it is not read
    /// further, so a hostile or broken endpoint cannot exhaust memory.
    #[error("the response from `{url}` is larger than {limit} bytes; refused")]
    TooLarge {
        /// The URL requested.
        url: String,
        /// The configured cap, in bytes.
        limit: usize,
    },
    /// The body is not a JWK Set (`{"keys": [...]}`).
    #[error("the document from `{url}` is not a JWK Set: {source}")]
    InvalidJwkSet {
        /// The URL requested.
        url: String,
        /// Why it was refused.
        #[source]
        source: KeyError,
    },
    /// The JWK Set holds no usable signature key (empty, or every key was
    /// skipped). Counted as a failed refresh: the previous keys are kept.
    #[error("the JWK Set from `{url}` has no usable signature key ({skipped} skipped)")]
    NoUsableKeys {
        /// The URL requested.
        url: String,
        /// How many keys were skipped as unusable.
        skipped: usize,
    },
    /// A discovery document that is not JSON, or lacks `issuer` or `jwks_uri`.
    #[error("the metadata document from `{url}` cannot be used: {reason}")]
    InvalidMetadata {
        /// The URL requested.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The discovery document names another issuer than the configured one
    /// (OpenID Connect Discovery §4.3, RFC 8414 §3.3): its `jwks_uri` is not
    /// used, since its keys could belong to someone else.
    #[error(
        "the metadata document from `{url}` names the issuer `{found}`, not the configured `{expected}`; it is not used"
    )]
    IssuerMismatch {
        /// The URL requested.
        url: String,
        /// The configured issuer.
        expected: String,
        /// The `issuer` the document names (truncated to 200 characters).
        found: String,
    },
    /// The answer led to a URL that breaks the transport rules, and it was
    /// not fetched: a discovery document's `jwks_uri`, or the URL a custom
    /// client's redirects ended at.
    #[error("`{url}` led to a URL that is refused: {source}")]
    Refused {
        /// The URL requested.
        url: String,
        /// The rule broken: [`JwksBuildError::InvalidUrl`],
        /// [`InsecureUrl`](JwksBuildError::InsecureUrl),
        /// [`UnsupportedScheme`](JwksBuildError::UnsupportedScheme) or
        /// [`CredentialsInUrl`](JwksBuildError::CredentialsInUrl), naming
        /// the refused URL.
        #[source]
        source: JwksBuildError,
    },
    /// Neither discovery document could be used; both failures are kept.
    #[error("discovery failed: {openid_configuration}; then: {oauth_authorization_server}")]
    Discovery {
        /// Why `{issuer}/.well-known/openid-configuration` failed.
        openid_configuration: Box<JwksFetchError>,
        /// Why the RFC 8414 `/.well-known/oauth-authorization-server` document failed.
        oauth_authorization_server: Box<JwksFetchError>,
    },
    /// The fetch was abandoned before it finished (its runtime shut down).
    #[error("the fetch was abandoned before it finished (the Tokio runtime shut down)")]
    Abandoned,
}

impl JwksFetchError {
    /// Whether this error, or one of the discovery failures inside it, is an
    /// [`JwksFetchError::IssuerMismatch`].
    pub fn is_issuer_mismatch(&self) -> bool {
        match self {
            JwksFetchError::IssuerMismatch { .. } => true,
            JwksFetchError::Discovery { openid_configuration, oauth_authorization_server } => {
                openid_configuration.is_issuer_mismatch() || oauth_authorization_server.is_issuer_mismatch()
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_error_debug_carries_the_explanation() {
        let error = JwksBuildError::InsecureUrl { url: "http://x/jwks".into() };
        assert_eq!(
            format!("{error:?}"),
            "InsecureUrl: `http://x/jwks` must use https:// (http:// is allowed only for loopback hosts, \
             and only with allow_http_loopback(true))"
        );
        // What `?` in `fn main() -> Result<(), Box<dyn Error>>` prints.
        let boxed: Box<dyn std::error::Error> = Box::new(error);
        assert!(format!("{boxed:?}").contains("allow_http_loopback(true)"), "{boxed:?}");

        assert_eq!(
            format!("{:?}", JwksBuildError::NoRuntime),
            format!("NoRuntime: {}", JwksBuildError::NoRuntime)
        );
        let config = JwksBuildError::InvalidConfig("the request timeout must not be zero");
        assert_eq!(
            format!("{config:?}"),
            "InvalidConfig: invalid JWKS configuration: the request timeout must not be zero"
        );
        let issuer = JwksBuildError::InvalidIssuer { issuer: "https://a/?q".into(), reason: "no query" };
        assert_eq!(
            format!("{issuer:?}"),
            "InvalidIssuer: the issuer `https://a/?q` cannot be used for discovery: no query"
        );
    }

    #[test]
    fn a_refused_url_in_a_fetch_error_shows_the_rule() {
        let error = JwksFetchError::Refused {
            url: "https://a.example/.well-known/openid-configuration".into(),
            source: JwksBuildError::InsecureUrl { url: "http://keys.example/jwks".into() },
        };
        let text = error.to_string();
        assert!(text.starts_with("`https://a.example/.well-known/openid-configuration` led to"), "{text}");
        assert!(text.contains("`http://keys.example/jwks` must use https://"), "{text}");
        assert!(format!("{error:?}").contains("InsecureUrl: "), "{error:?}");
    }
}
