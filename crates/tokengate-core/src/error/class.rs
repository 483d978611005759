//! What a refusal means on the wire: its RFC 6750 class (status and error
//! code), its description, its cause for logs, and its `Retry-After`.

use std::time::Duration;

use http::StatusCode;

use super::Error;

/// The RFC 6750 (and RFC 9449) class of a refusal, which decides status and
/// error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorClass {
    /// No credentials at all: 401 without an `error` attribute.
    NoToken,
    /// `invalid_request`: 400.
    InvalidRequest,
    /// `invalid_token`: 401.
    InvalidToken,
    /// `invalid_dpop_proof` (RFC 9449): 401.
    InvalidDpopProof,
    /// `use_dpop_nonce` (RFC 9449 §9): 401, with a `DPoP-Nonce` header.
    UseDpopNonce,
    /// `insufficient_scope`: 403.
    InsufficientScope,
    /// `temporarily_unavailable`: 503 with `Retry-After`.
    Unavailable,
}

impl ErrorClass {
    /// The RFC 6750 `error` code, if the class has one.
    pub const fn code(self) -> Option<&'static str> {
        match self {
            ErrorClass::NoToken => None,
            ErrorClass::InvalidRequest => Some("invalid_request"),
            ErrorClass::InvalidToken => Some("invalid_token"),
            ErrorClass::InvalidDpopProof => Some("invalid_dpop_proof"),
            ErrorClass::UseDpopNonce => Some("use_dpop_nonce"),
            ErrorClass::InsufficientScope => Some("insufficient_scope"),
            ErrorClass::Unavailable => Some("temporarily_unavailable"),
        }
    }

    /// The HTTP status.
    pub const fn status(self) -> StatusCode {
        match self {
            ErrorClass::NoToken
            | ErrorClass::InvalidToken
            | ErrorClass::InvalidDpopProof
            | ErrorClass::UseDpopNonce => StatusCode::UNAUTHORIZED,
            ErrorClass::InvalidRequest => StatusCode::BAD_REQUEST,
            ErrorClass::InsufficientScope => StatusCode::FORBIDDEN,
            ErrorClass::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl Error {
    /// A short, stable name of the cause (`expired`, `invalid_signature`,
    /// …): for logs and metric labels. It never carries a claim value.
    pub fn cause(&self) -> &'static str {
        match self {
            Error::MissingToken => "missing_token",
            Error::MalformedRequest(_) => "malformed_request",
            Error::TokenTooLarge { .. } => "token_too_large",
            Error::MalformedToken(_) => "malformed_token",
            Error::UnsupportedAlgorithm => "unsupported_algorithm",
            Error::AlgorithmNotAllowed(_) => "algorithm_not_allowed",
            Error::UnsupportedTokenType => "unsupported_token_type",
            Error::UnknownCriticalHeader => "unknown_critical_header",
            Error::UntrustedIssuer => "untrusted_issuer",
            Error::NoMatchingKey => "no_matching_key",
            Error::KeyAlgorithmMismatch => "key_algorithm_mismatch",
            Error::AmbiguousKey => "ambiguous_key",
            Error::InvalidSignature => "invalid_signature",
            Error::Expired => "expired",
            Error::NotYetValid => "not_yet_valid",
            Error::IssuedInFuture => "issued_in_future",
            Error::TooOld => "too_old",
            Error::LifetimeTooLong => "lifetime_too_long",
            Error::MissingClaim(_) => "missing_claim",
            Error::InvalidClaim { .. } => "invalid_claim",
            Error::WrongAudience => "wrong_audience",
            Error::ClaimCheckFailed(_) => "claim_check_failed",
            Error::UnexpectedClaims => "unexpected_claims",
            Error::Replayed => "replayed",
            Error::PossiblyReplayed => "possibly_replayed",
            Error::Revoked => "revoked",
            Error::SharedToken => "shared_token",
            Error::InactiveToken => "inactive_token",
            Error::BoundTokenAsBearer => "bound_token_as_bearer",
            Error::DpopRequired => "dpop_required",
            Error::DpopNotAccepted => "dpop_not_accepted",
            Error::TokenNotBound => "token_not_bound",
            Error::DpopKeyMismatch => "dpop_key_mismatch",
            Error::InvalidDpopProof(_) => "invalid_dpop_proof",
            Error::UseDpopNonce { .. } => "use_dpop_nonce",
            Error::InsufficientScope(_) => "insufficient_scope",
            Error::KeysUnavailable { .. } => "keys_unavailable",
            Error::IntrospectionUnavailable { .. } => "introspection_unavailable",
            Error::StoreUnavailable { .. } => "store_unavailable",
            Error::ReplayStoreFull { .. } => "replay_store_full",
        }
    }

    /// The RFC 6750 class of this refusal.
    pub fn class(&self) -> ErrorClass {
        // Exhaustive on purpose: a new variant must be given its class here.
        match self {
            Error::MissingToken => ErrorClass::NoToken,
            Error::MalformedRequest(_) => ErrorClass::InvalidRequest,
            Error::TokenTooLarge { .. }
            | Error::MalformedToken(_)
            | Error::UnsupportedAlgorithm
            | Error::AlgorithmNotAllowed(_)
            | Error::UnsupportedTokenType
            | Error::UnknownCriticalHeader
            | Error::UntrustedIssuer
            | Error::NoMatchingKey
            | Error::KeyAlgorithmMismatch
            | Error::AmbiguousKey
            | Error::InvalidSignature
            | Error::Expired
            | Error::NotYetValid
            | Error::IssuedInFuture
            | Error::TooOld
            | Error::LifetimeTooLong
            | Error::MissingClaim(_)
            | Error::InvalidClaim { .. }
            | Error::WrongAudience
            | Error::ClaimCheckFailed(_)
            | Error::UnexpectedClaims
            | Error::Replayed
            | Error::PossiblyReplayed
            | Error::Revoked
            | Error::SharedToken
            | Error::InactiveToken
            | Error::BoundTokenAsBearer
            | Error::DpopRequired
            | Error::DpopNotAccepted
            | Error::TokenNotBound
            | Error::DpopKeyMismatch => ErrorClass::InvalidToken,
            Error::InvalidDpopProof(_) => ErrorClass::InvalidDpopProof,
            Error::UseDpopNonce { .. } => ErrorClass::UseDpopNonce,
            Error::InsufficientScope(_) => ErrorClass::InsufficientScope,
            Error::KeysUnavailable { .. }
            | Error::IntrospectionUnavailable { .. }
            | Error::StoreUnavailable { .. }
            | Error::ReplayStoreFull { .. } => ErrorClass::Unavailable,
        }
    }

    /// The HTTP status to answer with (400, 401, 403 or 503).
    pub fn status(&self) -> StatusCode {
        self.class().status()
    }

    /// The RFC 6750 `error` code, or `None` when the request had no token.
    pub fn error_code(&self) -> Option<&'static str> {
        self.class().code()
    }

    /// A description a client developer can act on. Never contains the token.
    pub fn description(&self) -> String {
        self.to_string()
    }

    /// Whether the refusal is about the DPoP proof or key binding, so that
    /// its error attributes belong on the `DPoP` challenge, whatever the
    /// scheme of the request.
    pub fn concerns_dpop(&self) -> bool {
        matches!(
            self,
            Error::InvalidDpopProof(_)
                | Error::DpopKeyMismatch
                | Error::TokenNotBound
                | Error::UseDpopNonce { .. }
        )
    }

    /// How long the client should wait before retrying (503 refusals only).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::KeysUnavailable { retry_after }
            | Error::IntrospectionUnavailable { retry_after }
            | Error::StoreUnavailable { retry_after }
            | Error::ReplayStoreFull { retry_after } => Some(*retry_after),
            _ => None,
        }
    }
}
