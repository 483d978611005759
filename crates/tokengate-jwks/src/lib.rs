//! # tokengate-jwks
//!
//! An issuer's verification keys over HTTPS, for
//! [tokengate](https://docs.rs/tokengate): a [`JwksSource`] fetches the
//! issuer's JWK Set (from its URL, or located by OpenID Connect / RFC 8414
//! discovery), parses it once per fetch, caches it, keeps it fresh in the
//! background, survives key rotation and endpoint outages, and resists
//! floods of tokens with made-up `kid`s.
//!
//! ```no_run
//! use std::time::Duration;
//! use tokengate_core::{Algorithm, Issuer, Validator};
//! use tokengate_jwks::JwksSource;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! // Inside a Tokio runtime. The first fetch starts now, in the background.
//! let keys = JwksSource::from_url("https://auth.example.com/.well-known/jwks.json")
//!     .cooldown(Duration::from_secs(30))
//!     .build()?;
//! let validator = Validator::builder()
//!     .issuer(
//!         Issuer::new("https://auth.example.com/")
//!             .audience("https://api.example.com")
//!             .algorithms([Algorithm::RS256, Algorithm::ES256])
//!             .key_source(keys),
//!     )
//!     .build()?;
//! # Ok(()) }
//! ```
//!
//! ## What it guarantees
//!
//! - **Transport**: `https://` only (loopback `http://` only when explicitly
//!   allowed), a request timeout, a response size cap, a bounded number of
//!   redirects each obeying the same rules, a `User-Agent` naming this crate.
//! - **Only configured URLs are fetched**: the JWK Set URL, or the
//!   `jwks_uri` of a discovery document whose `issuer` equals the configured
//!   one exactly. Nothing a token names (`jku`, `x5u`) is ever fetched; the
//!   validator never even tells the source what a token says beyond "a key
//!   is missing".
//! - **Key hygiene** (by [`tokengate_core::KeySet::parse_jwk_set`]): only
//!   signature keys whose `kty`/`crv`/`alg`/`use`/`key_ops` agree; a key that
//!   cannot be used is skipped with a warning; keys are parsed once per
//!   fetch. A set with no usable key counts as a failed fetch.
//! - **Freshness**: refresh after the issuer's `Cache-Control: max-age`
//!   (clamped to 60 s – 1 h by default), or, without one, after the
//!   configured default interval (300 s by default, used as given).
//! - **Removed keys**: a key the issuer removes from its set stops verifying
//!   at the next refresh, so within the refresh interval (≤ 1 h by default)
//!   while the endpoint answers, and within the refresh interval plus the
//!   maximum staleness (≤ 7 h by default) while it is down.
//! - **Unknown `kid`**: at most one fetch per cooldown (30 s by default),
//!   shared by all requests that need it; still unknown after it means
//!   refused (`invalid_token`), never accepted.
//! - **Outages**: failed refreshes keep the last good keys in use for up to
//!   the maximum staleness (6 h past their refresh time by default),
//!   retrying with exponential backoff; with no usable keys every token is
//!   refused with [`tokengate_core::Error::KeysUnavailable`] (503 with
//!   `Retry-After`). Each failure is a [`JwksFetchError`], reported by
//!   [`JwksSource::refresh_now`] and [`JwksStatus::last_error`].
//! - **Configuration mistakes** fail [`JwksBuilder::build`] with a
//!   [`JwksBuildError`], whose `Debug` output (what `?` in `main` prints)
//!   says how to fix it.
//!
//! The transport rules and discovery are public ([`transport`],
//! [`discovery`]) so that `tokengate-introspect` talks to the same
//! authorization server under exactly the same rules.
//!
//! See `docs/jwks.md` in the repository for the full guide.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

// The modules depend on each other without cycles:
// builder → {config, source}; source → {config, refresh};
// refresh → {config, fetch}; fetch → {config, discovery, transport};
// discovery → transport → config; issuer → {builder, source}; error is used by all.
mod builder;
mod config;
pub mod discovery;
mod error;
mod fetch;
mod issuer;
mod observe;
mod refresh;
mod source;
pub mod transport;

pub use builder::{
    DEFAULT_BACKOFF_INITIAL, DEFAULT_BACKOFF_MAX, DEFAULT_COOLDOWN, DEFAULT_MAX_REDIRECTS,
    DEFAULT_MAX_REFRESH_INTERVAL, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_MAX_STALENESS,
    DEFAULT_MIN_REFRESH_INTERVAL, DEFAULT_REFRESH_INTERVAL, DEFAULT_REQUEST_TIMEOUT, JwksBuilder, USER_AGENT,
};
pub use error::{JwksBuildError, JwksFetchError};
pub use issuer::IssuerDiscovery;
/// The HTTP client crate, re-exported so that a client passed to
/// [`JwksBuilder::http_client`] is of the same version.
pub use reqwest;
pub use source::{JwksSource, JwksStatus};
