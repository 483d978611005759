//! # tokengate-introspect
//!
//! Opaque access tokens for [tokengate](https://docs.rs/tokengate): an
//! [`IntrospectionSource`] asks the authorization server whether a token is
//! active (RFC 7662 token introspection), and the validator applies the
//! issuer's claim rules (`exp`, `iss`, `aud`, scopes, required claims,
//! revocation, single use, DPoP binding) to the answer, exactly as it does
//! to a JWT's claims. Handlers receive the same `Verified<C>`.
//!
//! ```no_run
//! use std::time::Duration;
//! use tokengate_core::introspection::IntrospectionPolicy;
//! use tokengate_core::{Issuer, Validator};
//! use tokengate_introspect::IntrospectionSource;
//!
//! # fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let introspection = IntrospectionSource::discover("https://auth.example.com/")
//!     .client_secret_basic("my-api", "s3cret")
//!     .cache_max_age(Duration::from_secs(30))
//!     .build()?;
//! let validator = Validator::builder()
//!     .issuer(
//!         Issuer::new("https://auth.example.com/")
//!             .audience("https://api.example.com")
//!             .introspection(introspection)
//!             // Without keys, JWTs are introspected too; with keys, only
//!             // opaque tokens are, unless:
//!             .introspect(IntrospectionPolicy::OpaqueTokens),
//!     )
//!     .build()?;
//! # Ok(()) }
//! ```
//!
//! ## What it guarantees
//!
//! - **Only `"active": true` is active.** `active` false, missing, a string,
//!   `null`, `1`: inactive (401 `invalid_token`).
//! - **No answer is never a verdict.** Unreachable, slower than the deadline
//!   (5 s by default, discovery included), a non-2xx status (401/403
//!   included: the server refuses *this* server's credentials), a body over
//!   the size cap or that is not a JSON object: the token is refused with
//!   503 and `Retry-After`, neither accepted nor called invalid.
//! - **Transport**: the rules of `tokengate-jwks`, shared through
//!   [`tokengate_jwks::transport`]: `https://` only (loopback `http://` only
//!   when allowed), a deadline, a response size cap, a bounded number of
//!   redirects each obeying the same rules. Discovery is
//!   [`tokengate_jwks::discovery`]'s: the metadata document's `issuer` must
//!   equal the configured one exactly.
//! - **Client authentication**: `client_secret_basic` or
//!   `client_secret_post` (or a custom client doing mutual TLS). Secrets
//!   never appear in `Debug` output or logs; tokens never appear in logs
//!   (at most the first 16 hex digits of their SHA-256).
//! - **Cache**: bounded in bytes, keyed by the token's SHA-256 digest. An
//!   active answer is reused until its `exp` or for at most 30 s (the delay
//!   before a revocation at the server takes effect here), an inactive one
//!   for 5 s, a failure never. Expiry follows the source's [`Clock`](tokengate_core::Clock).
//! - **Single flight**: concurrent requests with one uncached token share
//!   one call, and its failure.
//!
//! See `docs/introspection.md` in the repository for the full guide.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

// builder → {auth, source}; source → {cache, call, auth}; call → auth;
// error is used by all.
mod auth;
mod builder;
mod cache;
mod call;
mod error;
mod source;

pub use builder::{
    DEFAULT_CACHE_MAX_AGE, DEFAULT_CACHE_MAX_BYTES, DEFAULT_INACTIVE_MAX_AGE, DEFAULT_MAX_REDIRECTS,
    DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_REQUEST_TIMEOUT, DEFAULT_RETRY_AFTER, IntrospectionBuilder,
    USER_AGENT,
};
pub use error::{IntrospectionBuildError, IntrospectionError};
/// The HTTP client crate, re-exported so that a client passed to
/// [`IntrospectionBuilder::http_client`] is of the same version.
pub use reqwest;
pub use source::{IntrospectionSource, IntrospectionStatus};
/// What the core expects of an introspection source, re-exported.
pub use tokengate_core::introspection::{
    Introspection, IntrospectionPolicy, IntrospectionUnavailable, Introspector,
};
