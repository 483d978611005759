//! The demo API as an actix-web app, protected by tokengate's actix
//! middleware and extractors. Same routes, same answers as the axum demo
//! (`tokengate-demo-axum`): both come from [`tokengate_examples::api`].
//! A package of its own, so that the actix demo builds no Tower layer,
//! and the axum demo no actix-web.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::net::TcpListener;
use std::time::Duration;

use actix_web::ResponseError as _;
use actix_web::dev::Server;
use actix_web::web::{self, ServiceConfig};
use actix_web::{HttpResponse, HttpServer};
use serde_json::Value;
use tokengate_actix::{Auth, AuthRejection, RequireScopes, TokenGate};
use tokengate_core::Validator;

use tokengate_examples::api::{
    self, ADMIN, Failure, HEALTH, HEALTH_BODY, ME, METADATA, Me, REVOKE, TRANSFER,
};
use tokengate_examples::server::Prepared;

/// The demo's routes (see [`api::ROUTES`]). Each protected resource is
/// wrapped on its own, so that unknown paths stay 404 (as with axum's
/// `route_layer`), and reads form bodies so that a token in both the header
/// and the body is refused.
pub fn routes(validator: Validator, metadata: Value) -> impl Fn(&mut ServiceConfig) + Clone + Send + 'static {
    move |config: &mut ServiceConfig| {
        let gate = || TokenGate::new(validator.clone()).claims::<api::Claims>().read_form_bodies();
        let metadata = metadata.clone();
        config
            .route(HEALTH, web::get().to(|| async { HEALTH_BODY }))
            .route(
                METADATA,
                web::get().to(move || {
                    let metadata = metadata.clone();
                    async move { HttpResponse::Ok().json(metadata) }
                }),
            )
            .app_data(web::Data::new(validator.clone()))
            .service(web::resource(ME).route(web::get().to(me)).wrap(gate()))
            .service(web::resource(ADMIN).route(web::get().to(admin)).wrap(gate()))
            .service(web::resource(TRANSFER).route(web::post().to(transfer)).wrap(gate()))
            .service(web::resource(REVOKE).route(web::post().to(revoke)).wrap(gate()));
    }
}

async fn me(Auth(token): Auth<api::Claims>) -> HttpResponse {
    HttpResponse::Ok().json(Me::of(&token))
}

async fn admin(_: RequireScopes<api::AdminScope, api::Claims>) -> HttpResponse {
    HttpResponse::Ok().json(api::admin_body())
}

async fn transfer(validator: web::Data<Validator>, Auth(token): Auth<api::Claims>) -> HttpResponse {
    answer(api::transfer(&validator, &token).await)
}

async fn revoke(
    validator: web::Data<Validator>,
    Auth(token): Auth<api::Claims>,
    body: web::Bytes,
) -> HttpResponse {
    answer(api::revoke(&validator, &token, &body).await)
}

/// A shared handler's outcome as an actix-web response.
fn answer(outcome: Result<Value, Failure>) -> HttpResponse {
    match outcome {
        Ok(body) => HttpResponse::Ok().json(body),
        // Rendered by the TokenGate in front, like every other refusal.
        Err(Failure::Refused(error)) => AuthRejection::from(error).error_response(),
        Err(Failure::BadBody(description)) => HttpResponse::BadRequest().json(Failure::body(description)),
    }
}

/// The actix-web server for `prepared` on `listener`: one worker per core,
/// graceful shutdown on SIGINT/SIGTERM (in-flight requests get `grace`).
pub fn server(prepared: &Prepared, listener: TcpListener, grace: Duration) -> std::io::Result<Server> {
    let routes = routes(prepared.validator.clone(), prepared.metadata.clone());
    Ok(HttpServer::new(move || actix_web::App::new().configure(routes.clone()))
        .shutdown_timeout(grace.as_secs())
        .listen(listener)?
        .run())
}
