//! Why a key source could not be built, or why a fetch failed.

use std::time::Duration;

use tokengate_core::KeyError;

/// Why a [`JwksSource`](crate::JwksSource) could not be built, or why one
/// fetch of the key set (or of a discovery document) failed.
///
/// Build errors (`InvalidUrl`, `InsecureUrl`, `UnsupportedScheme`,
/// `CredentialsInUrl`, `InvalidIssuer`, `InvalidConfig`, `NoRuntime`,
/// `Client`) are configuration mistakes: fix the configuration. Every other
/// variant describes one failed refresh; the source keeps serving its last
/// good keys (within the staleness limit) and retries with backoff. None of
/// them ever contains key material or a token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JwksError {
    // ---- configuration (returned by `build`) ----
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

    // ---- one failed fetch ----
    /// The request failed: connection refused, DNS, TLS, a refused redirect,
    /// a broken body.
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
    /// Neither discovery document could be used; both failures are kept.
    #[error("discovery failed: {openid_configuration}; then: {oauth_authorization_server}")]
    Discovery {
        /// Why `{issuer}/.well-known/openid-configuration` failed.
        openid_configuration: Box<JwksError>,
        /// Why the RFC 8414 `/.well-known/oauth-authorization-server` document failed.
        oauth_authorization_server: Box<JwksError>,
    },
    /// The fetch was abandoned before it finished (its runtime shut down).
    #[error("the fetch was abandoned before it finished (the Tokio runtime shut down)")]
    Abandoned,
}

impl JwksError {
    /// Whether this error, or one of the discovery failures inside it, is an
    /// [`JwksError::IssuerMismatch`].
    pub fn is_issuer_mismatch(&self) -> bool {
        match self {
            JwksError::IssuerMismatch { .. } => true,
            JwksError::Discovery { openid_configuration, oauth_authorization_server } => {
                openid_configuration.is_issuer_mismatch() || oauth_authorization_server.is_issuer_mismatch()
            }
            _ => false,
        }
    }
}
