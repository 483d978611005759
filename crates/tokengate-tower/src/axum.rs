//! axum extractors (feature `axum`), built on `axum-core`'s
//! [`FromRequestParts`]: each comes with a rejection that renders itself.
//!
//! | extractor | gives | refuses with |
//! | --- | --- | --- |
//! | [`Auth<C>`] | the [`Verified<C>`] of the request | 401 (anonymous request) |
//! | `Option<Auth<C>>` | `None` for an anonymous request | — |
//! | [`TokenScopes`] / `Option<TokenScopes>` | the granted [`Scopes`] | 401 (anonymous) |
//! | [`RequireScopes<Spec, C>`] | the `Verified<C>`, once the scopes of `Spec` are granted | 401, or 403 `insufficient_scope` |
//!
//! **The extractors read what [`TokenLayer`](crate::TokenLayer) found; they
//! never validate by themselves.** Validating is the layer's job, done once
//! per request, with its mode and renderer. An extractor used on a route
//! that no `TokenLayer` covers answers `500 Internal Server Error` with a
//! body naming the missing layer (and logs it), so the mistake shows on the
//! first request instead of silently letting requests through. The same
//! happens when the extractor asks for another claims type than the layer
//! produces (`Auth<MyClaims>` behind `TokenLayer::new(..)` without
//! `.claims::<MyClaims>()`).
//!
//! Rejections use the contract's rendering ([`refusal_response`]) with the
//! layer's validator (so its realm); a custom
//! [`RenderRefusal`](crate::RenderRefusal) on the layer does not apply to
//! them — match on [`AuthRejection::error`] (e.g. with `Result<Auth, AuthRejection>`
//! as the extractor) to answer differently.
//!
//! ```
//! use axum::{Json, Router, routing::get};
//! use tokengate_core::Validator;
//! use tokengate_tower::TokenLayer;
//! use tokengate_tower::axum::{Auth, RequireScopes, ScopeSpec};
//!
//! struct Admin;
//! impl ScopeSpec for Admin {
//!     const SCOPES: &'static [&'static str] = &["admin"];
//! }
//!
//! async fn me(Auth(token): Auth) -> String {
//!     format!("hello {}", token.subject().unwrap_or("anonymous"))
//! }
//!
//! async fn admin(RequireScopes(token, _): RequireScopes<Admin>) -> Json<serde_json::Value> {
//!     Json(serde_json::json!({ "ok": true, "sub": token.subject() }))
//! }
//!
//! # fn demo(validator: Validator) -> Router {
//! Router::new().route("/me", get(me)).route("/admin", get(admin)).layer(TokenLayer::new(validator))
//! # }
//! ```

use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

use axum_core::body::Body;
use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;
use http::{Extensions, StatusCode, header};
use tokengate_core::{Error, Refusal, Scopes, StandardClaims, Verified};

use crate::gate::{Gate, Missing};
use crate::render::refusal_response;

/// The verified token of the request, as a handler argument.
///
/// A wrapper, because `Verified` is defined in `tokengate-core`, which knows
/// nothing of axum. Dereferences to [`Verified<C>`]; `C` must be the claims
/// type of the [`TokenLayer`](crate::TokenLayer) ([`StandardClaims`] by default).
/// `Option<Auth<C>>` is `None` for an anonymous request let through by a
/// layer in [optional mode](crate::Mode::Optional).
#[derive(Clone, Debug)]
pub struct Auth<C = StandardClaims>(pub Verified<C>);

impl<C> Auth<C> {
    /// The verified token.
    pub fn into_inner(self) -> Verified<C> {
        self.0
    }
}

impl<C> Deref for Auth<C> {
    type Target = Verified<C>;
    fn deref(&self) -> &Verified<C> {
        &self.0
    }
}

impl<C> DerefMut for Auth<C> {
    fn deref_mut(&mut self) -> &mut Verified<C> {
        &mut self.0
    }
}

/// The token's `Verified<C>`, `None` when the request is anonymous.
fn verified<C: Clone + Send + Sync + 'static>(
    extensions: &Extensions,
) -> Result<Option<Verified<C>>, AuthRejection> {
    let gate = gate(extensions)?;
    if !gate.authenticated {
        return Ok(None);
    }
    match extensions.get::<Verified<C>>() {
        Some(verified) => Ok(Some(verified.clone())),
        None => Err(AuthRejection::misconfigured(Missing::ClaimsType {
            layer: gate.claims_type,
            wanted: std::any::type_name::<C>(),
        })),
    }
}

fn gate(extensions: &Extensions) -> Result<&Gate, AuthRejection> {
    Gate::of(extensions).ok_or_else(|| AuthRejection::misconfigured(Missing::Layer))
}

fn anonymous(extensions: &Extensions) -> AuthRejection {
    match gate(extensions) {
        Ok(gate) => AuthRejection::refused(gate, Error::MissingToken),
        Err(rejection) => rejection,
    }
}

impl<S, C> FromRequestParts<S> for Auth<C>
where
    S: Send + Sync,
    C: Clone + Send + Sync + 'static,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        verified(&parts.extensions)?.map(Auth).ok_or_else(|| anonymous(&parts.extensions))
    }
}

impl<S, C> OptionalFromRequestParts<S> for Auth<C>
where
    S: Send + Sync,
    C: Clone + Send + Sync + 'static,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(verified(&parts.extensions)?.map(Auth))
    }
}

/// The scopes the request's token grants, whatever the layer's claims type.
///
/// `Option<TokenScopes>` is `None` for an anonymous request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenScopes(pub Scopes);

impl Deref for TokenScopes {
    type Target = Scopes;
    fn deref(&self) -> &Scopes {
        &self.0
    }
}

fn scopes(extensions: &Extensions) -> Result<Option<TokenScopes>, AuthRejection> {
    let gate = gate(extensions)?;
    if !gate.authenticated {
        return Ok(None);
    }
    match gate.scopes(extensions) {
        Some(scopes) => Ok(Some(TokenScopes(scopes.clone()))),
        // Someone removed the `Verified` from the extensions.
        None => Err(AuthRejection::misconfigured(Missing::Layer)),
    }
}

impl<S: Send + Sync> FromRequestParts<S> for TokenScopes {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        scopes(&parts.extensions)?.ok_or_else(|| anonymous(&parts.extensions))
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for TokenScopes {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        scopes(&parts.extensions)
    }
}

/// A scope requirement named by a type, for [`RequireScopes`] (shared with
/// the actix-web adapter).
pub use tokengate_core::ScopeSpec;

/// The request's verified token, extracted only if it grants the scopes of
/// `Spec`: otherwise `403 insufficient_scope` with the `scope` attribute
/// (or `401` for an anonymous request).
///
/// The route-level alternative to [`ScopeLayer`](crate::ScopeLayer); both
/// answer identically. Destructure as `RequireScopes(verified, _)`.
pub struct RequireScopes<Spec, C = StandardClaims>(pub Verified<C>, pub PhantomData<fn() -> Spec>);

impl<Spec, C> RequireScopes<Spec, C> {
    /// The verified token.
    pub fn into_inner(self) -> Verified<C> {
        self.0
    }
}

impl<Spec, C> Deref for RequireScopes<Spec, C> {
    type Target = Verified<C>;
    fn deref(&self) -> &Verified<C> {
        &self.0
    }
}

impl<Spec, C: Clone> Clone for RequireScopes<Spec, C> {
    fn clone(&self) -> Self {
        RequireScopes(self.0.clone(), PhantomData)
    }
}

impl<Spec, C: fmt::Debug> fmt::Debug for RequireScopes<Spec, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RequireScopes").field(&self.0).field(&std::any::type_name::<Spec>()).finish()
    }
}

impl<S, Spec, C> FromRequestParts<S> for RequireScopes<Spec, C>
where
    S: Send + Sync,
    Spec: ScopeSpec,
    C: Clone + Send + Sync + 'static,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let extensions = &parts.extensions;
        let verified = verified::<C>(extensions)?.ok_or_else(|| anonymous(extensions))?;
        if Spec::is_met_by(verified.scopes()) {
            Ok(RequireScopes(verified, PhantomData))
        } else {
            Err(AuthRejection::refused(gate(extensions)?, Error::InsufficientScope(Spec::requirement())))
        }
    }
}

/// Why an extractor of this module refused: a refusal of the request
/// (401 / 403, rendered as the contract says), or a misconfigured server (500).
#[derive(Debug)]
pub struct AuthRejection {
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Refused { error: Error, refusal: Refusal },
    Misconfigured(Missing),
}

impl AuthRejection {
    fn refused(gate: &Gate, error: Error) -> Self {
        let refusal = gate.validator.refusal(&error);
        AuthRejection { kind: Kind::Refused { error, refusal } }
    }

    fn misconfigured(missing: Missing) -> Self {
        AuthRejection { kind: Kind::Misconfigured(missing) }
    }

    /// The response status.
    pub fn status(&self) -> StatusCode {
        match &self.kind {
            Kind::Refused { refusal, .. } => refusal.status,
            Kind::Misconfigured(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Why the request was refused; `None` for a misconfigured server.
    pub fn error(&self) -> Option<&Error> {
        match &self.kind {
            Kind::Refused { error, .. } => Some(error),
            Kind::Misconfigured(_) => None,
        }
    }

    /// The refusal as the core renders it; `None` for a misconfigured server.
    pub fn refusal(&self) -> Option<&Refusal> {
        match &self.kind {
            Kind::Refused { refusal, .. } => Some(refusal),
            Kind::Misconfigured(_) => None,
        }
    }
}

impl fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Refused { error, .. } => fmt::Display::fmt(error, f),
            Kind::Misconfigured(missing) => f.write_str(&missing.message()),
        }
    }
}

impl std::error::Error for AuthRejection {}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        match self.kind {
            Kind::Refused { refusal, .. } => refusal_response::<Body>(refusal),
            Kind::Misconfigured(missing) => {
                let message = format!("tokengate: {}", missing.message());
                tracing::error!("{message}");
                let mut response = Response::new(Body::from(message));
                *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    http::HeaderValue::from_static("text/plain; charset=utf-8"),
                );
                response
            }
        }
    }
}
