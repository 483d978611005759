//! Extractors (`FromRequest`), each with a rejection that renders itself.

use std::fmt;
use std::future::{Ready, ready};
use std::marker::PhantomData;
use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use tokengate_core::adapter::{Gate, Rejection};
use tokengate_core::{Error, Scopes, StandardClaims, Verified};

use crate::render::from_http;

/// The request's verified token, as a [`TokenGate`](crate::TokenGate) found it.
///
/// **Extractors never validate by themselves**: that is the middleware's job,
/// done once per request. Used on a route no `TokenGate` covers, or with
/// another claims type than the gate's (`Auth<Mine>` needs
/// `TokenGate::new(v).claims::<Mine>()`), it answers 500 and logs why.
///
/// For routes behind an optional gate, use [`OptionalAuth`], not
/// `Option<Auth<C>>`: actix-web turns every error of an `Option<T>`
/// extractor into `None`, so a misconfigured route would look anonymous.
#[derive(Debug)]
pub struct Auth<C = StandardClaims>(pub Verified<C>);

impl<C> Clone for Auth<C> {
    fn clone(&self) -> Self {
        Auth(self.0.clone())
    }
}

impl<C> Deref for Auth<C> {
    type Target = Verified<C>;
    fn deref(&self) -> &Verified<C> {
        &self.0
    }
}

/// The gate the middleware left, or the misconfiguration of its absence.
fn with_gate<T>(
    request: &HttpRequest,
    read: impl FnOnce(&Gate) -> Result<T, Rejection>,
) -> Ready<Result<T, AuthRejection>> {
    let extensions = request.extensions();
    ready(Gate::required(extensions.get()).and_then(read).map_err(AuthRejection))
}

impl<C: Send + Sync + 'static> FromRequest for Auth<C> {
    type Error = AuthRejection;
    type Future = Ready<Result<Self, AuthRejection>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        with_gate(request, |gate| gate.require_verified().map(Auth))
    }
}

/// The request's verified token, or `None` for an anonymous request let
/// through by an optional [`TokenGate`](crate::TokenGate); a misconfigured
/// route still answers 500 (unlike `Option<Auth<C>>`, see [`Auth`]).
#[derive(Debug)]
pub struct OptionalAuth<C = StandardClaims>(pub Option<Verified<C>>);

impl<C: Send + Sync + 'static> FromRequest for OptionalAuth<C> {
    type Error = AuthRejection;
    type Future = Ready<Result<Self, AuthRejection>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        with_gate(request, |gate| gate.verified().map(OptionalAuth))
    }
}

/// The granted scopes of the request's verified token.
#[derive(Clone, Debug)]
pub struct TokenScopes(pub Scopes);

impl FromRequest for TokenScopes {
    type Error = AuthRejection;
    type Future = Ready<Result<Self, AuthRejection>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        with_gate(request, |gate| {
            gate.scopes()
                .map(|scopes| TokenScopes(scopes.clone()))
                .ok_or_else(|| gate.refuse(Error::MissingToken))
        })
    }
}

/// A scope requirement named by a type, for [`RequireScopes`] (shared with
/// the Tower adapter).
pub use tokengate_core::ScopeSpec;

/// The verified token, once the scopes of `Spec` are granted; 403
/// `insufficient_scope` (with the `scope` attribute) otherwise.
pub struct RequireScopes<Spec, C = StandardClaims>(pub Verified<C>, pub PhantomData<Spec>);

impl<Spec, C: fmt::Debug> fmt::Debug for RequireScopes<Spec, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RequireScopes").field(&self.0).finish()
    }
}

impl<Spec: ScopeSpec, C: Send + Sync + 'static> FromRequest for RequireScopes<Spec, C> {
    type Error = AuthRejection;
    type Future = Ready<Result<Self, AuthRejection>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        with_gate(request, |gate| {
            let verified = gate.require_verified::<C>()?;
            if Spec::is_met_by(verified.scopes()) {
                Ok(RequireScopes(verified, PhantomData))
            } else {
                Err(gate.refuse(Error::InsufficientScope(Spec::requirement())))
            }
        })
    }
}

/// Why an extractor found no usable token: a refusal (401/403, rendered by
/// the [`TokenGate`](crate::TokenGate) in front) or a misconfigured app
/// (500). Also what a handler returns to refuse with an [`Error`]: it is
/// `From<Error>`, and a `ResponseError`. Dereferences to the core's
/// [`Rejection`] (`error()`, `refusal()`).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct AuthRejection(#[from] Rejection);

impl AuthRejection {
    /// The response status, in actix-web's type.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status().as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl Deref for AuthRejection {
    type Target = Rejection;
    fn deref(&self) -> &Rejection {
        &self.0
    }
}

impl From<Error> for AuthRejection {
    /// A refusal of the handler's, rendered by the [`TokenGate`](crate::TokenGate)
    /// in front with its validator and renderer.
    fn from(error: Error) -> Self {
        AuthRejection(Rejection::from(error))
    }
}

impl ResponseError for AuthRejection {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        from_http(self.0.clone().into_response())
    }
}
