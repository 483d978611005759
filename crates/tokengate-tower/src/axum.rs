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
//! Rejections are rendered by the layer in front, with its validator and
//! its [`RenderRefusal`](crate::RenderRefusal), like every other refusal.
//! A handler can refuse the same way: [`AuthRejection`] is `From<Error>`,
//! so `validator.use_once(&token, &policy).await?` works in a handler
//! returning `Result<_, AuthRejection>`.
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
use http::Extensions;
use http::request::Parts;
use tokengate_core::adapter::{Gate, Rejection};
use tokengate_core::{Error, Scopes, StandardClaims, Verified};

/// The verified token of the request, as a handler argument.
///
/// A wrapper, because `Verified` is defined in `tokengate-core`, which knows
/// nothing of axum. Dereferences to [`Verified<C>`]; `C` must be the claims
/// type of the [`TokenLayer`](crate::TokenLayer) ([`StandardClaims`] by default).
/// `Option<Auth<C>>` is `None` for an anonymous request let through by a
/// layer in [optional mode](crate::Mode::Optional).
#[derive(Debug)]
pub struct Auth<C = StandardClaims>(pub Verified<C>);

impl<C> Clone for Auth<C> {
    fn clone(&self) -> Self {
        Auth(self.0.clone())
    }
}

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

/// The gate the layer left, or the misconfiguration of its absence.
fn gate(extensions: &Extensions) -> Result<&Gate, AuthRejection> {
    Ok(Gate::required(extensions.get())?)
}

impl<S, C> FromRequestParts<S> for Auth<C>
where
    S: Send + Sync,
    C: Send + Sync + 'static,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Auth(gate(&parts.extensions)?.require_verified()?))
    }
}

impl<S, C> OptionalFromRequestParts<S> for Auth<C>
where
    S: Send + Sync,
    C: Send + Sync + 'static,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(gate(&parts.extensions)?.verified()?.map(Auth))
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

impl<S: Send + Sync> FromRequestParts<S> for TokenScopes {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let gate = gate(&parts.extensions)?;
        gate.scopes()
            .map(|scopes| TokenScopes(scopes.clone()))
            .ok_or_else(|| gate.refuse(Error::MissingToken).into())
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for TokenScopes {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(gate(&parts.extensions)?.scopes().map(|scopes| TokenScopes(scopes.clone())))
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

impl<Spec, C> Clone for RequireScopes<Spec, C> {
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
    C: Send + Sync + 'static,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let gate = gate(&parts.extensions)?;
        let verified = gate.require_verified::<C>()?;
        if Spec::is_met_by(verified.scopes()) {
            Ok(RequireScopes(verified, PhantomData))
        } else {
            Err(gate.refuse(Error::InsufficientScope(Spec::requirement())).into())
        }
    }
}

/// Why an extractor of this module refused: a refusal of the request
/// (401 / 403, rendered by the layer in front), or a misconfigured server
/// (500). Also what a handler returns to refuse with an [`Error`]: it is
/// `From<Error>`. Dereferences to the core's [`Rejection`] (`status()`,
/// `error()`, `refusal()`).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct AuthRejection(#[from] Rejection);

impl Deref for AuthRejection {
    type Target = Rejection;
    fn deref(&self) -> &Rejection {
        &self.0
    }
}

impl From<Error> for AuthRejection {
    /// A refusal of the handler's, rendered by the [`TokenLayer`](crate::TokenLayer)
    /// in front with its validator and renderer.
    fn from(error: Error) -> Self {
        AuthRejection(Rejection::from(error))
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        self.0.into_response::<Body>()
    }
}
