//! Extractors (`FromRequest`), each with a rejection that renders itself.

use std::fmt;
use std::future::{Ready, ready};
use std::marker::PhantomData;
use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use tokengate_core::{Error, Scopes, StandardClaims, Validator, Verified};

use crate::middleware::{Gate, NO_GATE};
use crate::render::{misconfigured, refusal_response};

/// The request's verified token, as a [`TokenGate`](crate::TokenGate) found it.
///
/// **Extractors never validate by themselves**: that is the middleware's job,
/// done once per request. Used on a route no `TokenGate` covers, or with
/// another claims type than the gate's (`Auth<Mine>` needs
/// `TokenGate::new(v).claims::<Mine>()`), it answers 500 and logs why.
/// `Option<Auth<C>>` is `None` for anonymous requests of an optional gate.
#[derive(Clone, Debug)]
pub struct Auth<C = StandardClaims>(pub Verified<C>);

impl<C> Deref for Auth<C> {
    type Target = Verified<C>;
    fn deref(&self) -> &Verified<C> {
        &self.0
    }
}

impl<C: Clone + 'static> FromRequest for Auth<C> {
    type Error = AuthRejection;
    type Future = Ready<Result<Self, AuthRejection>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(verified::<C>(request).map(Auth))
    }
}

/// The granted scopes of the request's verified token.
#[derive(Clone, Debug)]
pub struct TokenScopes(pub Scopes);

impl FromRequest for TokenScopes {
    type Error = AuthRejection;
    type Future = Ready<Result<Self, AuthRejection>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let extensions = request.extensions();
        ready(match extensions.get::<Gate>() {
            None => Err(AuthRejection::misconfigured(NO_GATE.to_owned())),
            Some(gate) => match gate.scopes(&extensions) {
                Some(scopes) => Ok(TokenScopes(scopes.clone())),
                None => Err(AuthRejection::refused(Error::MissingToken, gate.validator.clone())),
            },
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

impl<Spec: ScopeSpec + 'static, C: Clone + 'static> FromRequest for RequireScopes<Spec, C> {
    type Error = AuthRejection;
    type Future = Ready<Result<Self, AuthRejection>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(verified::<C>(request).and_then(|verified| {
            if Spec::is_met_by(verified.scopes()) {
                return Ok(RequireScopes(verified, PhantomData));
            }
            let validator = request.extensions().get::<Gate>().map(|gate| gate.validator.clone());
            let error = Error::InsufficientScope(Spec::requirement());
            Err(AuthRejection::refused(error, validator.expect("verified implies a gate")))
        }))
    }
}

fn verified<C: Clone + 'static>(request: &HttpRequest) -> Result<Verified<C>, AuthRejection> {
    let extensions = request.extensions();
    let Some(gate) = extensions.get::<Gate>() else {
        return Err(AuthRejection::misconfigured(NO_GATE.to_owned()));
    };
    if !gate.authenticated {
        return Err(AuthRejection::refused(Error::MissingToken, gate.validator.clone()));
    }
    extensions.get::<Verified<C>>().cloned().ok_or_else(|| {
        AuthRejection::misconfigured(format!(
            "the TokenGate validates claims into `{}`, but `{}` was asked for: use `TokenGate::new(validator).claims::<{}>()`",
            gate.claims_type,
            std::any::type_name::<C>(),
            std::any::type_name::<C>(),
        ))
    })
}

/// Why an extractor found no usable token; renders itself as the refusal
/// (401/403, as the core describes it) or as a 500 for a misconfigured app.
#[derive(Debug)]
pub struct AuthRejection(Rejection);

#[derive(Debug)]
enum Rejection {
    Refused(Error, Validator),
    Misconfigured(String),
}

impl AuthRejection {
    fn refused(error: Error, validator: Validator) -> Self {
        AuthRejection(Rejection::Refused(error, validator))
    }

    fn misconfigured(message: String) -> Self {
        AuthRejection(Rejection::Misconfigured(message))
    }

    /// The refusal, when this is one (and not a misconfiguration).
    pub fn error(&self) -> Option<&Error> {
        match &self.0 {
            Rejection::Refused(error, _) => Some(error),
            Rejection::Misconfigured(_) => None,
        }
    }
}

impl fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Rejection::Refused(error, _) => error.fmt(f),
            Rejection::Misconfigured(message) => f.write_str(message),
        }
    }
}

impl ResponseError for AuthRejection {
    fn status_code(&self) -> StatusCode {
        match &self.0 {
            Rejection::Refused(error, _) => {
                StatusCode::from_u16(error.status().as_u16()).unwrap_or(StatusCode::UNAUTHORIZED)
            }
            Rejection::Misconfigured(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match &self.0 {
            Rejection::Refused(error, validator) => refusal_response(validator.refusal(error)),
            Rejection::Misconfigured(message) => misconfigured(message),
        }
    }
}
