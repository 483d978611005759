//! Why a request was refused, and what that means on the wire (RFC 6750).
//!
//! Every refusal is one [`Error`] whose variant names the cause precisely
//! enough to act on. The error itself knows its HTTP status, its RFC 6750
//! error code and its `error_description`; adapters never decide those.
//! The descriptions are fixed texts: they never contain the token, a claim
//! value taken from the token, or key material.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use crate::algorithm::Algorithm;
use crate::dpop::DpopProblem;
use crate::scopes::ScopeRequirement;

mod class;

pub use self::class::ErrorClass;

/// A part of a compact JWS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Part {
    /// The JOSE header (first segment).
    Header,
    /// The claims set (second segment).
    Claims,
    /// The signature (third segment).
    Signature,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Part::Header => "header",
            Part::Claims => "claims set",
            Part::Signature => "signature",
        })
    }
}

/// What is wrong with how the request presents its token (RFC 6750 `invalid_request`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum RequestProblem {
    /// `Authorization: Bearer` (or `DPoP`) with nothing after the scheme, or
    /// an empty `access_token` parameter.
    #[error("the request names a token but the token is empty")]
    EmptyToken,
    /// The token contains characters outside RFC 6750's `b64token` syntax.
    #[error("the bearer token contains characters outside the RFC 6750 b64token syntax")]
    InvalidCharacters,
    /// The `Authorization` header names the Bearer (or DPoP) scheme but does
    /// not follow it with a space and the token (a tab, a non-breaking
    /// space, a comma…).
    #[error("the Authorization header names its scheme but does not follow it with a space and the token")]
    MalformedCredentials,
    /// More than one `Authorization` header.
    #[error("the request carries more than one Authorization header")]
    MultipleAuthorizationHeaders,
    /// The token is presented in more than one way (header, query, form body),
    /// or more than once in one of them (RFC 6750 §2).
    #[error(
        "the request presents more than one access token (header, query or form body); use exactly one method"
    )]
    MultipleTokens,
    /// A form-body token (RFC 6750 §2.2) with a method whose request content
    /// has no defined semantics (`GET`, `HEAD`, `DELETE`…): only `POST`,
    /// `PUT` and `PATCH` may carry one.
    #[error(
        "an access token in the request body needs a POST, PUT or PATCH request; use the Authorization header"
    )]
    FormTokenMethod,
}

/// What is structurally wrong with a token, before any key is involved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum TokenProblem {
    /// Not three dot-separated segments.
    #[error("the token is not a JWS in compact serialization (three base64url segments separated by dots)")]
    NotCompact,
    /// Five segments: an encrypted token (JWE).
    #[error("encrypted tokens (JWE) are not accepted; send a signed JWT")]
    Encrypted,
    /// The JWS JSON serialization.
    #[error("the JWS JSON serialization is not accepted; send the compact form")]
    JsonSerialization,
    /// A character outside `[A-Za-z0-9_.-]`.
    #[error("the token contains characters outside the base64url alphabet")]
    InvalidCharacters,
    /// The signature segment is empty.
    #[error("the token has no signature")]
    MissingSignature,
    /// A segment is not canonical unpadded base64url.
    #[error("the token's {0} is not canonical unpadded base64url")]
    NonCanonicalBase64(Part),
    /// A segment does not hold a JSON object (or is nested too deeply).
    #[error("the token's {0} is not a JSON object (or is nested too deeply)")]
    InvalidJson(Part),
    /// A JSON object of the header or claims names one member twice.
    #[error("the token's {0} names a member more than once")]
    DuplicateMember(Part),
    /// A header member has the wrong JSON type.
    #[error("the token header's `{0}` member has the wrong type")]
    InvalidHeaderMember(&'static str),
    /// The header has no `alg`.
    #[error("the token header has no `alg`")]
    MissingAlgorithm,
}

/// Why a request was refused.
///
/// Match on the variant to act on the cause; use [`Error::status`],
/// [`Error::error_code`] and [`Error::challenge`] for the RFC 6750 answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ---- no token (401 without an error code, RFC 6750 §3.1) ----
    /// The request carries no bearer token (no `Authorization` header, or one
    /// with another scheme).
    #[error("the request carries no bearer token")]
    MissingToken,

    // ---- invalid_request (400) ----
    /// The token is presented in a way RFC 6750 does not allow.
    #[error("{0}")]
    MalformedRequest(RequestProblem),

    // ---- invalid_token (401) ----
    /// The token is longer than the configured limit.
    #[error("the token is longer than {limit} bytes")]
    TokenTooLarge {
        /// The configured limit, in bytes.
        limit: usize,
    },
    /// The token is not a well-formed compact JWS.
    #[error("{0}")]
    MalformedToken(TokenProblem),
    /// The header's `alg` is not an algorithm tokengate implements (this
    /// includes `none`, in any letter case).
    #[error("the token's `alg` is not a supported signature algorithm")]
    UnsupportedAlgorithm,
    /// The algorithm is known but not in the issuer's allow-list.
    #[error("the token is signed with {0}, which this API does not accept")]
    AlgorithmNotAllowed(Algorithm),
    /// The `typ` header names a type other than an access token.
    #[error("the token's `typ` header is not an accepted access-token type")]
    UnsupportedTokenType,
    /// The `crit` header names an extension tokengate does not understand.
    #[error("the token's `crit` header names an extension this API does not understand")]
    UnknownCriticalHeader,
    /// The `iss` claim names an issuer this API does not trust.
    #[error("the token's issuer is not trusted by this API")]
    UntrustedIssuer,
    /// No key of the issuer has the token's `kid` (or, without `kid`, no key
    /// fits its `alg`).
    #[error("no signing key of the issuer matches the token's `kid` and `alg`")]
    NoMatchingKey,
    /// The key named by `kid` cannot be used with the token's `alg`
    /// (its `kty`, `crv`, `alg` or `use` disagree).
    #[error("the key named by the token's `kid` cannot verify its `alg`")]
    KeyAlgorithmMismatch,
    /// The token has no `kid` and several keys of the issuer fit its `alg`.
    #[error("the token has no `kid` and the issuer has several keys for its `alg`")]
    AmbiguousKey,
    /// The signature does not verify.
    #[error("the token's signature is invalid")]
    InvalidSignature,
    /// `exp` is in the past (beyond the leeway).
    #[error("the token has expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("the token is not valid yet (`nbf` is in the future)")]
    NotYetValid,
    /// `iat` is in the future (beyond the leeway).
    #[error("the token was issued in the future (`iat`); check the issuer's clock")]
    IssuedInFuture,
    /// `iat` is older than the configured maximum token age.
    #[error("the token is older than this API accepts (`iat`)")]
    TooOld,
    /// `exp - iat` exceeds the configured maximum lifetime.
    #[error("the token's lifetime (`exp` - `iat`) is longer than this API accepts")]
    LifetimeTooLong,
    /// A required claim is absent.
    #[error("the token has no `{0}` claim, which this API requires")]
    MissingClaim(Cow<'static, str>),
    /// A claim has the wrong JSON type or an out-of-range value.
    #[error("the token's `{claim}` claim must be {expected}")]
    InvalidClaim {
        /// The claim's name.
        claim: Cow<'static, str>,
        /// What it must be, in words.
        expected: &'static str,
    },
    /// The `aud` claim does not name this API.
    #[error("the token's audience (`aud`) does not include this API")]
    WrongAudience,
    /// A claims check of the user's refused the token; the text is theirs.
    #[error("{0}")]
    ClaimCheckFailed(Cow<'static, str>),
    /// The claims do not deserialize into the API's claims type.
    #[error("the token's claims do not have the shape this API expects")]
    UnexpectedClaims,
    /// A single-use token (same `iss` and `jti`) was presented again before
    /// it expired.
    #[error("the token was already used; this API accepts it only once")]
    Replayed,
    /// A single-use token issued before the replay store's records begin (the
    /// server restarted, or its shared store lost its data): an earlier use
    /// cannot be ruled out, so it is refused.
    #[error(
        "the single-use token was issued before this API's record of used tokens begins; request a new token"
    )]
    PossiblyReplayed,
    /// The token was revoked: by its `jti`, by a cut-off for its subject
    /// ("log out everywhere"), or by an issuer-wide cut-off.
    #[error("the token has been revoked")]
    Revoked,
    /// More distinct clients presented the token than
    /// [`TokenSharing`](crate::TokenSharing) allows: it is refused for every
    /// client until it expires.
    #[error("the token was presented by more clients than this API allows; request a new token")]
    SharedToken,
    /// The authorization server says the token is not active (RFC 7662):
    /// expired, revoked, or never issued.
    #[error("the token is not active (the authorization server's introspection says so)")]
    InactiveToken,
    /// A token bound to a key (`cnf.jkt`) presented as a bearer token (RFC
    /// 9449 §7.2): it is good only with a proof of that key.
    #[error("the token is bound to a key (DPoP): send it with the DPoP scheme and a DPoP proof")]
    BoundTokenAsBearer,
    /// This API requires sender-constrained (DPoP) tokens; a bearer token is refused.
    #[error("this API accepts only DPoP-bound tokens, sent with the DPoP scheme and a DPoP proof")]
    DpopRequired,
    /// The `DPoP` scheme for an issuer or route where DPoP is off.
    #[error("this API does not accept the DPoP scheme here; send the token as a bearer token")]
    DpopNotAccepted,
    /// The `DPoP` scheme with a token bound to no key (no `cnf.jkt`).
    #[error("the token is not bound to a key (no `cnf.jkt`) and cannot be used with the DPoP scheme")]
    TokenNotBound,
    /// The proof is made with another key than the one the token is bound to
    /// (RFC 9449 §6; `invalid_token`, as §7.1 shows it).
    #[error("the DPoP proof's key is not the key the token is bound to")]
    DpopKeyMismatch,

    // ---- invalid_dpop_proof (401, RFC 9449 §7.1) ----
    /// The DPoP proof is missing, malformed, or fails a check of RFC 9449 §4.3.
    #[error("{0}")]
    InvalidDpopProof(DpopProblem),

    // ---- use_dpop_nonce (401, RFC 9449 §9) ----
    /// The proof carries no current server nonce: retry with this one (it is
    /// sent in the `DPoP-Nonce` header).
    #[error("this API requires a DPoP nonce: make a new proof with the nonce of the DPoP-Nonce header")]
    UseDpopNonce {
        /// The nonce to use.
        nonce: String,
    },

    // ---- insufficient_scope (403) ----
    /// The token is valid but lacks the scope the route requires.
    #[error("the token lacks the scope this resource requires ({0})")]
    InsufficientScope(ScopeRequirement),

    // ---- temporarily_unavailable (503) ----
    /// The issuer's keys have never been obtained (key endpoint down at
    /// start-up): nothing can be verified, so nothing is accepted.
    #[error("the issuer's signing keys are not available yet; retry later")]
    KeysUnavailable {
        /// When a retry has a chance to succeed.
        retry_after: Duration,
    },
    /// The authorization server could not be asked about an opaque token
    /// (down, timing out, refusing our credentials, answering garbage).
    #[error("the token cannot be checked with the authorization server now; retry later")]
    IntrospectionUnavailable {
        /// When a retry has a chance to succeed.
        retry_after: Duration,
    },
    /// The single-use or revocation store cannot be reached: a used or
    /// revoked token could not be told apart, so nothing is accepted.
    #[error("the token-state store is unavailable; retry later")]
    StoreUnavailable {
        /// When a retry has a chance to succeed.
        retry_after: Duration,
    },
    /// The replay store holds as many records as configured: new
    /// single-use tokens (and DPoP proofs, and — where token sharing is
    /// refused — tokens not seen before) are refused until records expire,
    /// rather than old records forgotten (which would let replays through).
    #[error("the single-use token store is full; retry later")]
    ReplayStoreFull {
        /// When the earliest record expires.
        retry_after: Duration,
    },
}
