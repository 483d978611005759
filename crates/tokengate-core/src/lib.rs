//! # tokengate-core
//!
//! The framework-free core of [tokengate](https://docs.rs/tokengate): decides
//! whether a bearer token (an OAuth 2.0 / OpenID Connect JWT access token)
//! is good for this request. Web-framework adapters and the JWK Set fetcher
//! live in their own crates; everything they decide is decided here.
//!
//! A token is checked in this order (each step refuses with one [`Error`]):
//!
//! 1. **extraction** (RFC 6750): exactly one presentation, `b64token` syntax;
//! 2. **parsing**: size cap, compact form, canonical base64url, strict JSON
//!    (duplicate members refused), known `alg`, no unknown `crit`;
//! 3. **issuer**: the token's `iss` picks one trusted [`Issuer`]; its
//!    algorithm allow-list and `typ` rules apply;
//! 4. **key**: by (`kid`, `alg`) in that issuer's keys only, parsed once;
//! 5. **signature**: aws-lc-rs;
//! 6. **claims**: `exp`/`nbf`/`iat` with leeway, `aud`, required claims,
//!    types of registered claims, scopes, custom checks;
//! 7. **revocation and single use** ([`RevocationStore`], [`ReplayStore`]):
//!    revoked tokens refused; single-use tokens recorded atomically, once;
//! 8. the result: [`Verified<C>`] with the claims as your own type.
//!
//! See `docs/security.md` in the repository for why each check exists.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod algorithm;
mod challenge;
mod claims;
mod clock;
mod error;
mod extract;
mod issuer;
mod json;
mod jws;
mod keys;
mod scopes;
mod store;
mod validator;
mod verified;

pub use algorithm::{Algorithm, AlgorithmFamily, AlgorithmSet, UnknownAlgorithm};
pub use challenge::{Challenge, DEFAULT_REALM, Refusal};
pub use claims::{ClaimsView, MAX_NUMERIC_DATE, StandardClaims};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Error, ErrorClass, Part, RequestProblem, TokenProblem};
pub use extract::{RequestParts, TokenLocations, extract_token};
pub use issuer::{ClaimCheck, DEFAULT_LEEWAY, Issuer, MAX_LEEWAY, TokenTypes};
pub use jws::DEFAULT_MAX_TOKEN_BYTES;
pub use keys::{
    Key, KeyError, KeySet, KeySource, KeysFuture, KeysUnavailable, MIN_RSA_BITS, RefreshReason, SkippedKey,
    StaticKeys,
};
pub use scopes::{ScopeRequirement, ScopeSpec, Scopes};
pub use store::{
    DEFAULT_REPLAY_CAPACITY, DEFAULT_REVOCATION_CAPACITY, DEFAULT_REVOCATION_RETENTION,
    DEFAULT_SINGLE_USE_MAX_LIFETIME, MemoryReplayStore, MemoryRevocationStore, RecordKey, RecordKind,
    ReplayStore, Revocation, RevocationStore, SingleUse, StoreError, StoreFuture, TokenRef, TokenUse,
    UseOutcome,
};
pub use validator::{BuildError, Revoke, RevokeError, TOKEN_SIZE_LIMITS, Validator, ValidatorBuilder};
pub use verified::Verified;
