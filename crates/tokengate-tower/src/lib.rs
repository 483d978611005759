//! # tokengate-tower
//!
//! [Tower](https://docs.rs/tower) middleware for
//! [tokengate](https://docs.rs/tokengate): bearer-token (JWT access token)
//! validation in front of any `http::Request<B>` service — axum routers,
//! hyper services, tonic, `tower::ServiceBuilder` stacks — and, with the
//! feature `axum`, extractors for handlers.
//!
//! | item | what it does |
//! | --- | --- |
//! | [`TokenLayer`] / [`TokenService`] | validates the token with a [`Validator`](tokengate_core::Validator); puts the [`Verified<C>`](tokengate_core::Verified) into the request extensions, or answers the refusal itself |
//! | [`Mode`] | required (default) or optional (anonymous requests pass; bad tokens are still refused) |
//! | [`ScopeLayer`] / [`ScopeService`] | a route's scope requirement (all-of / any-of) behind a `TokenLayer`: 403 `insufficient_scope` |
//! | [`MetadataService`] | serves the RFC 9728 protected-resource metadata document |
//! | [`FormBodyLayer`] | buffers form-encoded bodies so that RFC 6750 §2.2 body tokens are seen (and a token in both header and body is refused) |
//! | [`RenderRefusal`], [`JsonRefusal`], [`DeferToGate`], [`refusal_response`] | how refusals become responses; the default is exactly the RFC 6750 answer the core describes |
//! | `axum` module (feature `axum`) | extractors [`Auth<C>`](axum::Auth), `Option<Auth<C>>`, [`TokenScopes`](axum::TokenScopes), [`RequireScopes`](axum::RequireScopes), each with a rejection that renders itself |
//!
//! Nothing is decided here: which token a request presents, whether it is
//! valid, what a scope check or an extractor gets, and what a refusal looks
//! like all come from `tokengate-core` (its `adapter` module), so every
//! adapter answers identically.
//!
//! ```
//! use tokengate_core::{Validator, Verified};
//! use tokengate_tower::{ScopeLayer, TokenLayer};
//! use tower::ServiceBuilder;
//!
//! # fn demo(validator: Validator) {
//! let admin_only = ServiceBuilder::new()
//!     .layer(TokenLayer::new(validator))
//!     .layer(ScopeLayer::all_of(["admin"]))
//!     .service_fn(|request: http::Request<Vec<u8>>| async move {
//!         let who = request.extensions().get::<Verified>().and_then(|v| v.subject().map(str::to_owned));
//!         Ok::<_, std::convert::Infallible>(http::Response::new(format!("hello {who:?}").into_bytes()))
//!     });
//! # let _ = admin_only;
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod form;
mod grpc;
mod layer;
mod metadata;
mod render;
mod scope;

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod axum;

pub use form::{DEFAULT_FORM_LIMIT, FormBody, FormBodyFuture, FormBodyLayer, FormBodyService};
pub use grpc::{GrpcRefusal, grpc_refusal_response, grpc_status};
pub use layer::{ResponseFuture, TokenLayer, TokenService};
pub use metadata::MetadataService;
pub use render::{DeferToGate, JsonRefusal, RenderRefusal, refusal_response};
pub use scope::{ScopeFuture, ScopeLayer, ScopeService};
pub use tokengate_core::adapter::Mode;
