//! # tokengate-core
//!
//! The framework-free core of [tokengate](https://docs.rs/tokengate): decides
//! whether a bearer token (an OAuth 2.0 / OpenID Connect JWT access token)
//! is good for this request. Web-framework adapters and the JWK Set fetcher
//! live in their own crates; everything they decide is decided here.
//!
//! A token is checked in this order (each step refuses with one [`Error`]):
//!
//! 1. **extraction** (RFC 6750, [`request`](RequestParts)): exactly one
//!    presentation, `b64token` syntax, the scheme (`Bearer`, or `DPoP`
//!    when configured);
//! 2. **the verified-token cache** ([`TokenCache`]): a token verified
//!    before skips steps 3–7 (never the ones after);
//! 3. **parsing**: size cap, compact form, canonical base64url, strict JSON
//!    (duplicate members refused), known `alg`, no unknown `crit`; a token
//!    that is not a JWS goes to the issuer's [`introspection`] source, if any;
//! 4. **issuer**: the token's `iss` picks one trusted [`Issuer`] (listed,
//!    or a tenant admitted by a rule, [`tenants`]); its algorithm
//!    allow-list and `typ` rules apply;
//! 5. **key** ([`keys`]): by (`kid`, `alg`) in that issuer's keys only, parsed once;
//! 6. **signature**: aws-lc-rs;
//! 7. **claims**: `exp`/`nbf`/`iat` with leeway, lifetime cap, `aud`,
//!    required claims, types of registered claims, custom checks;
//! 8. **time, again** on a cache hit: `exp`/`nbf` against the clock now;
//! 9. **binding** ([`dpop`]): a bound token needs its proof (RFC 9449);
//! 10. **revocation and single use** ([`store`]): revoked tokens refused;
//!     single-use tokens and DPoP proofs recorded atomically, once;
//! 11. **scopes** of the route;
//! 12. the result: [`Verified<C>`] with the claims as your own type; or a
//!     [`Refusal`], the RFC 6750 answer.
//!
//! Where each step lives:
//!
//! | module | decides |
//! | --- | --- |
//! | `request` | where the token is in a request ([`RequestParts`], [`TokenLocations`]) |
//! | `parse` | whether it is a well-formed compact JWS, and what its claims say |
//! | `issuer` | which issuer's rules and keys apply ([`Issuer`], [`TrustedIssuer`]) |
//! | [`keys`] | where keys come from and which one verifies ([`Key`], [`KeySet`], [`keys::KeySource`]) |
//! | `validator` | the order of the checks ([`Validator`]), its configuration and revocation API |
//! | [`store`] | single use and revocation ([`SingleUse`], [`store::ReplayStore`], [`store::RevocationStore`]) |
//! | `refusal` | how a refusal becomes HTTP ([`Refusal`], [`Challenge`]) |
//! | [`introspection`] | opaque tokens (RFC 7662): what an introspection source answers |
//! | [`dpop`] | sender-constrained tokens (RFC 9449): the proof, its key, its replay |
//! | [`tenants`] | issuers trusted by a rule and resolved on demand (multi-tenant APIs) |
//! | [`metadata`] | the RFC 9728 document that tells clients how to get a token |
//! | [`adapter`] | the one policy every framework adapter shares |
//!
//! See `docs/security.md` in the repository for why each check exists.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod adapter;
mod algorithm;
mod build_error;
mod cache;
mod clock;
pub mod dpop;
mod error;
pub mod introspection;
mod issuer;
pub mod keys;
pub mod metadata;
mod observe;
mod parse;
mod refusal;
mod request;
mod scopes;
mod sharing;
pub mod store;
pub mod tenants;
mod validator;
mod verdict;
mod verified;

pub use algorithm::{Algorithm, AlgorithmFamily, AlgorithmSet, UnknownAlgorithm};
pub use build_error::BuildError;
pub use cache::{DEFAULT_TOKEN_CACHE_BYTES, DEFAULT_TOKEN_CACHE_ENTRIES, TokenCache};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Error, ErrorClass, Part, RequestProblem, TokenProblem};
pub use issuer::{
    ClaimCheck, DEFAULT_LEEWAY, DEFAULT_MAX_LIFETIME, Issuer, MAX_LEEWAY, TokenTypes, TrustedIssuer,
};
pub use keys::{Key, KeyError, KeySet};
pub use parse::claims::{ClaimsView, MAX_NUMERIC_DATE, StandardClaims};
pub use parse::jws::DEFAULT_MAX_TOKEN_BYTES;
pub use refusal::{Challenge, DEFAULT_REALM, Refusal};
pub use request::{Presentation, RequestParts, Scheme, TokenLocations, extract_token};
pub use scopes::{ScopeRequirement, ScopeSpec, Scopes};
pub use sharing::{MAX_SHARING_LIMIT, TokenSharing};
pub use store::{MemoryReplayStore, MemoryRevocationStore, SingleUse, StoreError};
pub use validator::{Revoke, RevokeError, TOKEN_SIZE_LIMITS, Validator, ValidatorBuilder};
pub use verdict::{DEFAULT_VERDICT_QUEUE, Verdict};
pub use verified::Verified;
