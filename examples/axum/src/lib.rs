//! The demo API as an axum [`Router`], protected by tokengate's Tower layer
//! and axum extractors. Same routes, same answers as the actix-web demo
//! (`tokengate-demo-actix`): both come from [`tokengate_examples::api`].
//! A package of its own, so that the axum demo builds no actix-web.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::future::Future;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::Value;
use tokengate_core::Validator;
use tokengate_tower::axum::{Auth, AuthRejection, RequireScopes};
use tokengate_tower::{FormBodyLayer, TokenLayer};
use tokio::net::TcpListener;

use tokengate_examples::api::{
    self, ADMIN, Failure, HEALTH, HEALTH_BODY, ME, METADATA, Me, REVOKE, TRANSFER,
};
use tokengate_examples::server::Prepared;

/// The demo's routes (see [`api::ROUTES`]): `/health` and the metadata
/// document are public; `/me` and `/admin` sit behind a [`TokenLayer`]
/// (with a [`FormBodyLayer`] in front of it).
pub fn router(prepared: &Prepared) -> Router {
    let protected = Router::new()
        .route(ME, get(me))
        .route(ADMIN, get(admin))
        .route(TRANSFER, post(transfer))
        .route(REVOKE, post(revoke))
        .with_state(prepared.validator.clone())
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

async fn admin(_: RequireScopes<api::AdminScope, api::Claims>) -> Json<Value> {
    Json(api::admin_body())
}

async fn transfer(State(validator): State<Validator>, Auth(token): Auth<api::Claims>) -> Response {
    answer(api::transfer(&validator, &token).await)
}

async fn revoke(State(validator): State<Validator>, Auth(token): Auth<api::Claims>, body: Bytes) -> Response {
    answer(api::revoke(&validator, &token, &body).await)
}

/// A shared handler's outcome as an axum response.
fn answer(outcome: Result<Value, Failure>) -> Response {
    match outcome {
        Ok(body) => Json(body).into_response(),
        // Rendered by the TokenLayer in front, like every other refusal.
        Err(Failure::Refused(error)) => AuthRejection::from(error).into_response(),
        Err(Failure::BadBody(description)) => {
            (StatusCode::BAD_REQUEST, Json(Failure::body(description))).into_response()
        }
    }
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
