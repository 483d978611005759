//! The demo API as an axum [`Router`], protected by tokengate's Tower layer
//! and axum extractors.

use std::future::Future;
use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;
use tokengate::tower::axum::{Auth, RequireScopes, ScopeSpec};
use tokengate::tower::{FormBodyLayer, TokenLayer};
use tokio::net::TcpListener;

use crate::api::{self, ADMIN, ADMIN_SCOPE, HEALTH, HEALTH_BODY, ME, METADATA, Me};
use crate::server::Prepared;

/// The scope requirement of `/admin`, for the [`RequireScopes`] extractor.
#[derive(Debug)]
pub struct AdminScope;

impl ScopeSpec for AdminScope {
    const SCOPES: &'static [&'static str] = &[ADMIN_SCOPE];
}

/// The demo's routes (see [`api::ROUTES`]): `/health` and the metadata
/// document are public; `/me` and `/admin` sit behind a [`TokenLayer`]
/// (with a [`FormBodyLayer`] in front of it).
pub fn router(prepared: &Prepared) -> Router {
    let protected = Router::new()
        .route(ME, get(me))
        .route(ADMIN, get(admin))
        // ROOM: `POST /transfer` (single-use `jti`) and `POST /admin/revoke`
        // arrive with the replay- and revocation-store issues; see `api::ROUTES`.
        .route_layer(TokenLayer::new(prepared.validator.clone()))
        // Added last, so it runs first: lets the token layer see form bodies,
        // so that a token in both the header and the body is refused (RFC 6750 §2).
        .route_layer(FormBodyLayer::new());
    Router::new()
        .route(HEALTH, get(|| async { HEALTH_BODY }))
        .route(METADATA, get(metadata))
        .with_state(Arc::new(prepared.metadata.clone()))
        .merge(protected)
}

async fn metadata(State(document): State<Arc<Value>>) -> Json<Value> {
    Json((*document).clone())
}

async fn me(Auth(token): Auth<api::Claims>) -> Json<Me> {
    Json(Me::of(&token))
}

async fn admin(_: RequireScopes<AdminScope, api::Claims>) -> Json<Value> {
    Json(api::admin_body())
}

/// Serves `router` on `listener` until `shutdown` completes, then lets
/// in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
}
