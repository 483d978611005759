//! # tokengate-actix
//!
//! [actix-web](https://docs.rs/actix-web) middleware and extractors for
//! [tokengate](https://docs.rs/tokengate) bearer-token validation.
//!
//! | item | what it does |
//! | --- | --- |
//! | [`TokenGate`] | middleware (`App::wrap`, `Scope::wrap`, `Resource::wrap`) validating every request's token; puts the [`Verified<C>`](tokengate_core::Verified) into the request extensions or answers the refusal itself |
//! | [`Mode`] | required (default) or optional (anonymous requests pass; bad tokens are still refused) |
//! | [`ScopeGate`] | a route's scope requirement (all-of / any-of): 403 `insufficient_scope` |
//! | [`Auth<C>`], [`OptionalAuth<C>`], [`TokenScopes`], [`RequireScopes<Spec, C>`] | extractors, with [`AuthRejection`] rendering itself |
//! | [`resource_metadata`] | serves the RFC 9728 protected-resource metadata document |
//! | [`RenderRefusal`], [`JsonRefusal`], [`DeferToGate`], [`refusal_response`] | how refusals become responses; the default is the RFC 6750 answer the core describes |
//!
//! Nothing is decided here: which token a request presents, whether it is
//! valid, what a scope check or an extractor gets, and what a refusal looks
//! like all come from `tokengate-core` (its `adapter` module), through
//! [`ActixRequest`], so this adapter answers exactly like the Tower one.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod extract;
mod metadata;
mod middleware;
mod render;
mod request;
mod scope;

pub use extract::{Auth, AuthRejection, OptionalAuth, RequireScopes, ScopeSpec, TokenScopes};
pub use metadata::resource_metadata;
pub use middleware::{TokenGate, TokenGateMiddleware};
pub use render::{DeferToGate, JsonRefusal, RenderRefusal, refusal_response};
pub use request::ActixRequest;
pub use scope::{ScopeGate, ScopeGateMiddleware};
pub use tokengate_core::adapter::{DEFAULT_FORM_LIMIT, Mode};
