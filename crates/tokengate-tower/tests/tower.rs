//! The Tower layer over plain hyper (a body type other than axum's), with a
//! real HTTP client: success, every refusal class, optional mode, custom
//! rendering, the scope layer, and Tower's readiness/cloning rules.

mod common;

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use common::*;
use http_body_util::Full;
use hyper::body::Incoming;
use serde_json::json;
use tokengate_core::{Error, Issuer, Refusal, StandardClaims, Verified};
use tokengate_tower::{Mode, ScopeLayer, TokenLayer, refusal_response};
use tower::{Service, ServiceBuilder, ServiceExt};

type Req = http::Request<Incoming>;
type Res = http::Response<Full<Bytes>>;

/// Answers with who the token belongs to, or "anonymous".
async fn whoami(request: Req) -> Result<Res, Infallible> {
    let who = match request.extensions().get::<Verified<StandardClaims>>() {
        Some(verified) => format!("hello {}", verified.subject().unwrap_or("?")),
        None => "anonymous".to_owned(),
    };
    Ok(http::Response::new(Full::new(Bytes::from(who))))
}

async fn server(layer: TokenLayer) -> std::net::SocketAddr {
    serve_hyper(ServiceBuilder::new().layer(layer).service_fn(whoami)).await
}

#[tokio::test]
async fn valid_token_reaches_the_service_with_verified_in_the_extensions() {
    let fx = Fixture::new();
    let addr = server(TokenLayer::new(fx.validator.clone())).await;
    let answer = fetch(addr, "/", Some(&bearer(&fx.token(json!({}))))).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "hello alice"));
    assert_eq!(answer.www_authenticate, None);
}

#[tokio::test]
async fn every_refusal_class_is_answered_by_the_layer() {
    let fx = Fixture::new();
    let addr = server(TokenLayer::new(fx.validator.clone())).await;

    assert_no_token(&fetch(addr, "/", None).await);
    assert_no_token(&fetch(addr, "/", Some("Basic dXNlcjpwYXNz")).await);
    assert_refused(
        &fetch(addr, "/", Some("Bearer")).await,
        400,
        "invalid_request",
        "the request names a token but the token is empty",
    );
    assert_refused(
        &fetch(addr, "/", Some(&bearer(&fx.expired()))).await,
        401,
        "invalid_token",
        "the token has expired",
    );
    assert_refused(
        &fetch(addr, "/", Some(&bearer(&fx.forged()))).await,
        401,
        "invalid_token",
        "the token's signature is invalid",
    );
}

#[tokio::test]
async fn keys_unavailable_is_503_with_retry_after() {
    let fx = Fixture::new();
    let validator = validator_with(Issuer::new(ISSUER).key_source(NoKeys));
    let addr = server(TokenLayer::new(validator)).await;
    let answer = fetch(addr, "/", Some(&bearer(&fx.token(json!({}))))).await;
    assert_eq!(answer.status, 503);
    assert_eq!(
        answer.www_authenticate.as_deref(),
        Some(r#"Bearer realm="tokengate", error="temporarily_unavailable""#)
    );
    assert_eq!(answer.retry_after.as_deref(), Some("7"));
    assert_eq!(answer.json()["error"], "temporarily_unavailable");
}

#[tokio::test]
async fn optional_mode_lets_anonymous_requests_through_but_not_bad_tokens() {
    let fx = Fixture::new();
    let addr = server(TokenLayer::new(fx.validator.clone()).optional()).await;
    let anonymous = fetch(addr, "/", None).await;
    assert_eq!((anonymous.status, anonymous.body.as_str()), (200, "anonymous"));
    let other_scheme = fetch(addr, "/", Some("Basic dXNlcjpwYXNz")).await;
    assert_eq!((other_scheme.status, other_scheme.body.as_str()), (200, "anonymous"));
    let valid = fetch(addr, "/", Some(&bearer(&fx.token(json!({}))))).await;
    assert_eq!((valid.status, valid.body.as_str()), (200, "hello alice"));
    assert_refused(
        &fetch(addr, "/", Some(&bearer(&fx.expired()))).await,
        401,
        "invalid_token",
        "the token has expired",
    );
    assert_eq!(fetch(addr, "/", Some("Bearer a b")).await.status, 400);
    assert_eq!(TokenLayer::new(fx.validator.clone()).mode(Mode::Optional).get_mode(), Mode::Optional);
}

#[tokio::test]
async fn refusals_can_be_rendered_by_a_closure() {
    let fx = Fixture::new();
    let layer = TokenLayer::new(fx.validator.clone()).render_with(|error: &Error, refusal: Refusal| {
        let mut response: Res = refusal_response(refusal);
        response.headers_mut().insert("x-cause", format!("{:?}", error.class()).parse().unwrap());
        response
    });
    let addr = serve_hyper(ServiceBuilder::new().layer(layer).service_fn(whoami)).await;

    let expired =
        reqwest::Client::new().get(format!("http://{addr}/")).bearer_auth(fx.expired()).send().await.unwrap();
    assert_eq!(expired.status(), 401);
    assert_eq!(expired.headers()["x-cause"], "InvalidToken");
    assert!(expired.headers()["www-authenticate"].to_str().unwrap().contains("invalid_token"));

    // A renderer that ignores the contract entirely.
    let teapot = TokenLayer::new(fx.validator.clone()).render_with(|_: &Error, _: Refusal| {
        http::Response::builder().status(418).body(Full::new(Bytes::from_static(b"no"))).unwrap()
    });
    let addr = serve_hyper(ServiceBuilder::new().layer(teapot).service_fn(whoami)).await;
    let answer = fetch(addr, "/", None).await;
    assert_eq!((answer.status, answer.body.as_str()), (418, "no"));
}

#[tokio::test]
async fn scope_layer_all_of_and_any_of() {
    let fx = Fixture::new();
    let stack = |scopes: ScopeLayer| {
        ServiceBuilder::new().layer(TokenLayer::new(fx.validator.clone())).layer(scopes).service_fn(whoami)
    };
    let all = serve_hyper(stack(ScopeLayer::all_of(["read", "write"]))).await;
    let any = serve_hyper(stack(ScopeLayer::any_of(["read", "write"]))).await;
    let read = bearer(&fx.token(json!({ "scope": "read" })));
    let both = bearer(&fx.token(json!({ "scope": "write read" })));
    let none = bearer(&fx.token(json!({})));

    assert_eq!(fetch(all, "/", Some(&both)).await.status, 200);
    assert_insufficient_scope(&fetch(all, "/", Some(&read)).await, "read write", "all of: read, write");
    assert_eq!(fetch(any, "/", Some(&read)).await.status, 200);
    assert_insufficient_scope(&fetch(any, "/", Some(&none)).await, "read write", "one of: read, write");
    // The token layer still comes first.
    assert_no_token(&fetch(all, "/", None).await);
}

#[tokio::test]
async fn scope_layer_treats_anonymous_as_no_token_and_a_missing_token_layer_as_500() {
    let fx = Fixture::new();
    let optional = serve_hyper(
        ServiceBuilder::new()
            .layer(TokenLayer::new(fx.validator.clone()).optional())
            .layer(ScopeLayer::all_of(["admin"]))
            .service_fn(whoami),
    )
    .await;
    assert_no_token(&fetch(optional, "/", None).await);

    let alone =
        serve_hyper(ServiceBuilder::new().layer(ScopeLayer::all_of(["admin"])).service_fn(whoami)).await;
    let answer = fetch(alone, "/", Some(&bearer(&fx.token(json!({ "scope": "admin" }))))).await;
    assert_eq!(answer.status, 500);
    assert!(answer.body.contains("no token gate ran on this request"), "{}", answer.body);
}

#[tokio::test]
async fn custom_claims_types_go_into_the_extensions() {
    #[derive(Clone, serde::Deserialize)]
    struct Tenant {
        tenant: String,
    }
    let fx = Fixture::new();
    let service = ServiceBuilder::new()
        .layer(TokenLayer::new(fx.validator.clone()).claims::<Tenant>())
        .service_fn(|request: http::Request<Incoming>| async move {
            let tenant = request.extensions().get::<Verified<Tenant>>().unwrap().claims().tenant.clone();
            Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from(tenant))))
        });
    let addr = serve_hyper(service).await;
    let answer = fetch(addr, "/", Some(&bearer(&fx.token(json!({ "tenant": "acme" }))))).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "acme"));
    // Claims that do not fit the type are refused.
    assert_refused(
        &fetch(addr, "/", Some(&bearer(&fx.token(json!({}))))).await,
        401,
        "invalid_token",
        "the token's claims do not have the shape this API expects",
    );
}

/// A service that must be driven to readiness before each call, and whose
/// readiness belongs to one instance (like a concurrency-limit permit).
#[derive(Clone, Default)]
struct Strict {
    ready: bool,
    calls: Arc<AtomicUsize>,
    polls: Arc<AtomicUsize>,
}

impl Service<http::Request<String>> for Strict {
    type Response = http::Response<String>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        self.ready = true;
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Request<String>) -> Self::Future {
        assert!(self.ready, "called without poll_ready");
        self.ready = false;
        self.calls.fetch_add(1, Ordering::SeqCst);
        std::future::ready(Ok(http::Response::new("inner".to_owned())))
    }
}

fn request(authorization: Option<&str>) -> http::Request<String> {
    let mut builder = http::Request::get("/");
    if let Some(value) = authorization {
        builder = builder.header("authorization", value);
    }
    builder.body(String::new()).unwrap()
}

#[tokio::test]
async fn poll_ready_and_clone_follow_tower_rules() {
    let fx = Fixture::new();
    let inner = Strict::default();
    let (calls, polls) = (inner.calls.clone(), inner.polls.clone());
    let mut service = TokenLayer::new(fx.validator.clone()).layer_service(inner);

    // The ready instance is the one called, even though the call happens
    // later, from the response future (the `Strict` service asserts it).
    let token = bearer(&fx.token(json!({})));
    let future = service.ready().await.unwrap().call(request(Some(&token)));
    // A second request can be made ready and called before the first future runs.
    let second = service.ready().await.unwrap().call(request(Some(&token)));
    assert_eq!(calls.load(Ordering::SeqCst), 0, "nothing is called before validation");
    assert_eq!(future.await.unwrap().into_body(), "inner");
    assert_eq!(second.await.unwrap().into_body(), "inner");
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    // Refusals never call the inner service.
    for authorization in [None, Some(bearer(&fx.expired()))] {
        let response = service.ready().await.unwrap().call(request(authorization.as_deref())).await.unwrap();
        assert_eq!(response.status(), 401);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    // Clones share the configuration but not readiness.
    let mut clone = service.clone();
    let response = clone.ready().await.unwrap().call(request(Some(&token))).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(polls.load(Ordering::SeqCst) >= 5);
}

#[test]
fn futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let fx = Fixture::new();
    let mut service = TokenLayer::new(fx.validator.clone()).layer_service(Strict::default());
    let future = service.call(request(None));
    assert_send(&future);
    assert_send(&service);
    let mut scoped = ScopeLayer::all_of(["a"]).layer_service(Strict::default());
    assert_send(&scoped.call(request(None)));
}

/// `Layer::layer` under a shorter name.
trait LayerService<S>: tower::Layer<S> {
    fn layer_service(&self, inner: S) -> Self::Service {
        self.layer(inner)
    }
}
impl<L: tower::Layer<S>, S> LayerService<S> for L {}

#[tokio::test]
async fn the_validators_realm_is_used_by_every_refusal() {
    let fx = Fixture::new();
    let validator = tokengate_core::Validator::builder()
        .issuer(
            Issuer::new(ISSUER)
                .audience(AUDIENCE)
                .algorithms([tokengate_core::Algorithm::ES256])
                .keys(tokengate_core::KeySet::new([fx.key.verification_key()])),
        )
        .realm("shop")
        .build()
        .unwrap();
    let addr = serve_hyper(
        ServiceBuilder::new()
            .layer(TokenLayer::new(validator))
            .layer(ScopeLayer::all_of(["admin"]))
            .service_fn(whoami),
    )
    .await;
    assert_eq!(fetch(addr, "/", None).await.www_authenticate.as_deref(), Some(r#"Bearer realm="shop""#));
    let forbidden = fetch(addr, "/", Some(&bearer(&fx.token(json!({}))))).await;
    assert_eq!(forbidden.status, 403);
    assert!(
        forbidden.www_authenticate.unwrap().starts_with(r#"Bearer realm="shop", error="insufficient_scope""#)
    );
}
