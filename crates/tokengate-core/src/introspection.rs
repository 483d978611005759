//! Opaque tokens (RFC 7662): the authorization server says whether a token
//! is active, and what it grants; the answer then meets the same claim
//! rules as a JWT's claims, and handlers receive the same `Verified<C>`.
//!
//! The core defines what an [`Introspector`] answers; `tokengate-introspect`
//! implements it over HTTP (endpoint by configuration or discovery, client
//! authentication, a bounded cache, single flight).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// What an [`Introspector`] learned of a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Introspection {
    /// `"active": true`: the response's JSON object, as received (the
    /// validator reads it strictly, as it reads a JWT's claims set).
    Active(Arc<str>),
    /// Anything but `"active": true` — `false`, missing, of another type.
    Inactive,
}

/// The authorization server could not be asked (down, timing out, refusing
/// the server's own credentials, answering garbage): the token is refused
/// with 503 and `Retry-After`, never judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("token introspection is unavailable; retry in {retry_after:?}")]
pub struct IntrospectionUnavailable {
    /// When a retry has a chance to succeed.
    pub retry_after: Duration,
}

/// The future returned by [`Introspector::introspect`].
pub type IntrospectionFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Introspection, IntrospectionUnavailable>> + Send + 'a>>;

/// Asks an authorization server about tokens (RFC 7662): a source of
/// verification for opaque tokens, as a [`KeySource`](crate::keys::KeySource)
/// is for JWTs. Give it to [`Issuer::introspection`](crate::Issuer::introspection).
pub trait Introspector: Send + Sync + fmt::Debug + 'static {
    /// What the server says of `token`. [`Introspection::Active`] only for
    /// a response whose `active` member is the JSON value `true`.
    fn introspect<'a>(&'a self, token: &'a str) -> IntrospectionFuture<'a>;
}

/// Which of an issuer's tokens are introspected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum IntrospectionPolicy {
    /// Opaque tokens (not a compact JWS) are introspected; JWTs are verified
    /// locally with the issuer's keys.
    #[default]
    OpaqueTokens,
    /// Every token is introspected, JWTs too (revocation at the server
    /// takes effect at once, for a round trip per uncached token).
    AllTokens,
}
