//! axum: `Router::layer` and `route_layer`, the extractors and their
//! rejections, optional mode, scope layer vs scope extractor — over real
//! HTTP on 127.0.0.1.

mod common;

use axum::Router;
use axum::routing::get;
use common::*;
use serde_json::json;
use tokengate_core::{Error, ErrorClass};
use tokengate_tower::axum::{Auth, AuthRejection, RequireScopes, ScopeSpec, TokenScopes};
use tokengate_tower::{FormBodyLayer, ScopeLayer, TokenLayer};

async fn me(Auth(token): Auth) -> String {
    format!("hello {}", token.subject().unwrap_or("?"))
}

async fn maybe(token: Option<Auth>) -> String {
    match token {
        Some(token) => format!("hello {}", token.subject().unwrap_or("?")),
        None => "anonymous".to_owned(),
    }
}

async fn scopes(TokenScopes(scopes): TokenScopes) -> String {
    scopes.iter().collect::<Vec<_>>().join(",")
}

struct Admin;
impl ScopeSpec for Admin {
    const SCOPES: &'static [&'static str] = &["admin"];
}

struct ReadOrWrite;
impl ScopeSpec for ReadOrWrite {
    const SCOPES: &'static [&'static str] = &["read", "write"];
    const ANY: bool = true;
}

async fn admin(RequireScopes(token, _): RequireScopes<Admin>) -> String {
    format!("admin {}", token.subject().unwrap_or("?"))
}

async fn read_or_write(_: RequireScopes<ReadOrWrite>) -> &'static str {
    "ok"
}

#[tokio::test]
async fn router_layer_and_the_verified_extractor() {
    let fx = Fixture::new();
    let addr = serve_axum(
        Router::new()
            .route("/me", get(me))
            .route("/scopes", get(scopes))
            .layer(TokenLayer::new(fx.validator.clone())),
    )
    .await;
    let answer = fetch(addr, "/me", Some(&bearer(&fx.token(json!({}))))).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "hello alice"));
    let answer = fetch(addr, "/scopes", Some(&bearer(&fx.token(json!({ "scope": "b a" }))))).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "a,b"));
    assert_no_token(&fetch(addr, "/me", None).await);
    assert_refused(
        &fetch(addr, "/me", Some(&bearer(&fx.expired()))).await,
        401,
        "invalid_token",
        "the token has expired",
    );
    // `Router::layer` covers unknown paths too: no token, no 404.
    assert_no_token(&fetch(addr, "/nowhere", None).await);
}

#[tokio::test]
async fn route_layer_protects_only_its_routes() {
    let fx = Fixture::new();
    let addr = serve_axum(
        Router::new()
            .route("/me", get(me))
            .route_layer(TokenLayer::new(fx.validator.clone()))
            .route("/health", get(|| async { "ok" })),
    )
    .await;
    let health = fetch(addr, "/health", None).await;
    assert_eq!((health.status, health.body.as_str()), (200, "ok"));
    assert_no_token(&fetch(addr, "/me", None).await);
    assert_eq!(fetch(addr, "/nowhere", None).await.status, 404);
    assert_eq!(fetch(addr, "/me", Some(&bearer(&fx.token(json!({}))))).await.status, 200);
}

#[tokio::test]
async fn optional_mode_and_option_extractors() {
    let fx = Fixture::new();
    let addr = serve_axum(
        Router::new()
            .route("/maybe", get(maybe))
            .route("/me", get(me))
            .route(
                "/scopes",
                get(|s: Option<TokenScopes>| async move { format!("{:?}", s.map(|s| s.len())) }),
            )
            .layer(TokenLayer::new(fx.validator.clone()).optional()),
    )
    .await;
    let anonymous = fetch(addr, "/maybe", None).await;
    assert_eq!((anonymous.status, anonymous.body.as_str()), (200, "anonymous"));
    let known = fetch(addr, "/maybe", Some(&bearer(&fx.token(json!({}))))).await;
    assert_eq!((known.status, known.body.as_str()), (200, "hello alice"));
    // A bad token is refused even where anonymous access is allowed.
    assert_refused(
        &fetch(addr, "/maybe", Some(&bearer(&fx.expired()))).await,
        401,
        "invalid_token",
        "the token has expired",
    );
    // `Auth` (not optional) on an anonymous request: the bare 401.
    assert_no_token(&fetch(addr, "/me", None).await);
    assert_eq!(fetch(addr, "/scopes", None).await.body, "None");
    assert_eq!(
        fetch(addr, "/scopes", Some(&bearer(&fx.token(json!({ "scope": "x y" }))))).await.body,
        "Some(2)"
    );
}

/// The scope layer and the scope extractor answer byte for byte alike.
#[tokio::test]
async fn scope_layer_and_scope_extractor_agree() {
    let fx = Fixture::new();
    let addr = serve_axum(
        Router::new()
            .route("/extractor", get(admin))
            .route("/layer", get(me).route_layer(ScopeLayer::all_of(["admin"])))
            .route("/any-extractor", get(read_or_write))
            .route("/any-layer", get(|| async { "ok" }).route_layer(ScopeLayer::any_of(["read", "write"])))
            .layer(TokenLayer::new(fx.validator.clone())),
    )
    .await;
    let user = bearer(&fx.token(json!({ "scope": "read" })));
    let admin = bearer(&fx.token(json!({ "scope": "admin" })));

    for path in ["/extractor", "/layer"] {
        assert_insufficient_scope(&fetch(addr, path, Some(&user)).await, "admin", "admin");
        assert_eq!(fetch(addr, path, Some(&admin)).await.status, 200);
        assert_no_token(&fetch(addr, path, None).await);
    }
    for path in ["/any-extractor", "/any-layer"] {
        assert_eq!(fetch(addr, path, Some(&user)).await.status, 200);
        assert_insufficient_scope(
            &fetch(addr, path, Some(&admin)).await,
            "read write",
            "one of: read, write",
        );
    }
    assert_eq!(fetch(addr, "/extractor", Some(&admin)).await.body, "admin alice");
}

#[tokio::test]
async fn extractors_without_the_layer_answer_500_naming_it() {
    let fx = Fixture::new();
    let addr = serve_axum(
        Router::new().route("/me", get(me)).route("/maybe", get(maybe)).route("/admin", get(admin)),
    )
    .await;
    for path in ["/me", "/maybe", "/admin"] {
        let answer = fetch(addr, path, Some(&bearer(&fx.token(json!({ "scope": "admin" }))))).await;
        assert_eq!(answer.status, 500, "{path}");
        assert!(answer.body.contains("no token gate ran on this request"), "{path}: {}", answer.body);
    }
}

#[tokio::test]
async fn claims_types_must_match_the_layer() {
    #[derive(Clone, serde::Deserialize)]
    struct Tenant {
        tenant: String,
    }
    let fx = Fixture::new();
    let addr = serve_axum(
        Router::new()
            .route("/tenant", get(|Auth(token): Auth<Tenant>| async move { token.claims().tenant.clone() }))
            .route("/standard", get(me))
            .layer(TokenLayer::new(fx.validator.clone()).claims::<Tenant>()),
    )
    .await;
    let token = bearer(&fx.token(json!({ "tenant": "acme" })));
    assert_eq!(fetch(addr, "/tenant", Some(&token)).await.body, "acme");
    let mismatch = fetch(addr, "/standard", Some(&token)).await;
    assert_eq!(mismatch.status, 500);
    assert!(
        mismatch.body.contains("Tenant") && mismatch.body.contains("StandardClaims"),
        "{}",
        mismatch.body
    );
}

#[tokio::test]
async fn rejections_can_be_handled_by_the_handler() {
    let fx = Fixture::new();
    let handler = |token: Result<RequireScopes<Admin>, AuthRejection>| async move {
        match token {
            Ok(_) => "admin".to_owned(),
            Err(rejection) => {
                assert_eq!(rejection.error().map(Error::class), Some(ErrorClass::InsufficientScope));
                assert_eq!(rejection.refusal().unwrap().status, 403);
                format!("{} {rejection}", rejection.status().as_u16())
            }
        }
    };
    let addr =
        serve_axum(Router::new().route("/", get(handler)).layer(TokenLayer::new(fx.validator.clone()))).await;
    let answer = fetch(addr, "/", Some(&bearer(&fx.token(json!({}))))).await;
    assert_eq!(answer.body, "403 the token lacks the scope this resource requires (admin)");
}

#[tokio::test]
async fn form_body_layer_shows_form_tokens_to_the_token_layer() {
    let fx = Fixture::new();
    let router = |validator| {
        Router::new()
            .route("/", axum::routing::post(me))
            .route_layer(TokenLayer::new(validator))
            .route_layer(FormBodyLayer::limit(4096))
    };
    let header_only = serve_axum(router(fx.validator.clone())).await;
    let with_body = serve_axum(router(
        tokengate_core::Validator::builder()
            .issuer(
                tokengate_core::Issuer::new(ISSUER)
                    .audience(AUDIENCE)
                    .algorithms([tokengate_core::Algorithm::ES256])
                    .keys(tokengate_core::KeySet::new([fx.key.verification_key()])),
            )
            .token_locations(tokengate_core::TokenLocations { form_body: true, ..Default::default() })
            .build()
            .unwrap(),
    ))
    .await;
    let token = fx.token(json!({}));
    let post = |addr: std::net::SocketAddr, header: Option<String>, body: String| async move {
        let mut request = reqwest::Client::new()
            .post(format!("http://{addr}/"))
            .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
            .body(body);
        if let Some(header) = header {
            request = request.header("authorization", header);
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    };

    // Header and body: refused whether or not body tokens are accepted.
    for addr in [header_only, with_body] {
        let (status, body) = post(addr, Some(bearer(&token)), format!("access_token={token}")).await;
        assert_eq!(status, 400, "{body}");
        assert!(body.contains("more than one access token"), "{body}");
        // The body reaches the handler intact otherwise.
        let (status, body) = post(addr, Some(bearer(&token)), "a=1".to_owned()).await;
        assert_eq!((status, body.as_str()), (200, "hello alice"));
    }
    // Body only: a token where enabled, no token where not.
    assert_eq!(post(with_body, None, format!("access_token={token}")).await, (200, "hello alice".to_owned()));
    assert_eq!(post(header_only, None, format!("access_token={token}")).await.0, 401);
    // Over the limit.
    assert_eq!(post(header_only, Some(bearer(&token)), "a".repeat(5000)).await.0, 413);
}

#[tokio::test]
async fn custom_rendering_under_axum() {
    let fx = Fixture::new();
    let layer = TokenLayer::new(fx.validator.clone()).render_with(
        |error: &Error, refusal: tokengate_core::Refusal| {
            let mut response = tokengate_tower::refusal_response::<axum::body::Body>(refusal);
            response.headers_mut().insert("cache-control", "no-store".parse().unwrap());
            response.headers_mut().insert("x-cause", format!("{:?}", error.class()).parse().unwrap());
            response
        },
    );
    let addr = serve_axum(Router::new().route("/me", get(me)).layer(layer)).await;
    let response = reqwest::Client::new()
        .get(format!("http://{addr}/me"))
        .bearer_auth(fx.expired())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["x-cause"], "InvalidToken");
    assert_eq!(
        response.headers()["www-authenticate"],
        r#"Bearer realm="tokengate", error="invalid_token", error_description="the token has expired""#
    );
    // Accepted requests are untouched.
    let ok = fetch(addr, "/me", Some(&bearer(&fx.token(json!({}))))).await;
    assert_eq!((ok.status, ok.body.as_str()), (200, "hello alice"));
}
