//! Why [`ValidatorBuilder::build`](crate::ValidatorBuilder::build) refused a configuration.

use crate::algorithm::Algorithm;

/// A configuration the builder refuses, with what to change.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// No issuer was added.
    #[error("no issuer configured: add at least one with ValidatorBuilder::issuer")]
    NoIssuer,
    /// An issuer name is the empty string.
    #[error("an issuer name is empty; use Issuer::any_issuer() to waive the issuer check explicitly")]
    EmptyIssuer,
    /// The same issuer was added twice.
    #[error("issuer `{0}` is configured twice")]
    DuplicateIssuer(String),
    /// [`Issuer::any_issuer`](crate::Issuer::any_issuer) beside other issuers.
    #[error("Issuer::any_issuer() must be the only issuer of a validator")]
    AnyIssuerNotAlone,
    /// No audience and no explicit waiver.
    #[error(
        "issuer `{0}` has no audience: add one with Issuer::audience, or waive the check with Issuer::skip_audience_check"
    )]
    MissingAudience(String),
    /// An audience is the empty string.
    #[error("issuer `{0}` has an empty audience")]
    EmptyAudience(String),
    /// No algorithm allowed.
    #[error("issuer `{0}` allows no algorithm: list the ones it signs with in Issuer::algorithms")]
    NoAlgorithms(String),
    /// Symmetric and asymmetric algorithms allowed for one key source.
    #[error(
        "issuer `{0}` mixes symmetric (HS*) and asymmetric algorithms; that invites algorithm-confusion attacks"
    )]
    MixedAlgorithms(String),
    /// Neither keys nor an introspection source configured.
    #[error("issuer `{0}` has no keys: use Issuer::keys or Issuer::key_source (or Issuer::introspection)")]
    MissingKeys(String),
    /// A symmetric algorithm with a source that cannot hold secrets (a JWK Set).
    #[error(
        "issuer `{issuer}` allows {algorithm}, but its key source holds no HMAC secret (a JWK Set never provides one)"
    )]
    SymmetricWithoutSecret {
        /// The issuer.
        issuer: String,
        /// The symmetric algorithm.
        algorithm: Algorithm,
    },
    /// An allowed algorithm that no fixed key can verify.
    #[error(
        "issuer `{issuer}` allows {algorithm}, but none of its keys can verify it (wrong key type, or an HMAC secret too short)"
    )]
    NoKeyForAlgorithm {
        /// The issuer.
        issuer: String,
        /// The algorithm.
        algorithm: Algorithm,
    },
    /// [`Issuer::allow_missing_exp`](crate::Issuer::allow_missing_exp) under a
    /// lifetime cap: a token without `exp` has no lifetime to cap.
    #[error(
        "issuer `{0}` accepts tokens without `exp` but caps token lifetimes: add Issuer::unbounded_lifetime (and know that revocations are then kept forever)"
    )]
    MissingExpWithLifetimeCap(String),
    /// Leeway above [`MAX_LEEWAY`](crate::MAX_LEEWAY).
    #[error("issuer `{0}` has a leeway above the 300 s maximum")]
    LeewayTooLarge(String),
    /// More than one issuer introspects: an opaque token names no issuer, so
    /// which server to ask would be a guess.
    #[error("more than one issuer has an introspection source; an opaque token cannot say which to ask")]
    SeveralIntrospectingIssuers,
    /// The DPoP configuration cannot be used; the text says why.
    #[error("DPoP: {0}")]
    InvalidDpop(&'static str),
    /// A token-size limit outside [`TOKEN_SIZE_LIMITS`](crate::TOKEN_SIZE_LIMITS).
    #[error("the token size limit must be between 256 bytes and 1 MiB")]
    TokenSizeLimit,
    /// A [`TokenLocations`](crate::TokenLocations) header or cookie name
    /// that cannot be used (not a lower-case header name, not a cookie name,
    /// or a header with another meaning such as `authorization`).
    #[error("token locations: {0}")]
    TokenLocation(String),
    /// The verdict hook's queue has no room (a capacity of 0), or its
    /// thread could not be started; the text says which.
    #[error("verdict hook: {0}")]
    VerdictHook(String),
    /// [`TokenSharing`](crate::TokenSharing) cannot be used as configured: a
    /// limit out of range, a header that cannot name a client, or a replay
    /// store that does not count clients; the text says which.
    #[error("token sharing: {0}")]
    TokenSharing(String),
}
