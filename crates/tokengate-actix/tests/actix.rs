//! A real actix-web server on 127.0.0.1 per test, driven by a real HTTP client.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::{Value, json};
use tokengate_actix::{Auth, RequireScopes, ScopeGate, ScopeSpec, TokenGate, TokenScopes};
use tokengate_core::keys::{KeySource, KeysFuture, KeysUnavailable, RefreshReason};
use tokengate_core::{Algorithm, Issuer, KeySet, Validator};
use tokengate_testkit::{SigningKey, now};

const ISS: &str = "https://issuer.test/";
const AUD: &str = "https://api.test";

struct Fixture {
    key: SigningKey,
    validator: Validator,
}

fn fixture() -> Fixture {
    let key = SigningKey::generate(Algorithm::ES256).with_kid("k");
    let validator = Validator::builder()
        .issuer(
            Issuer::new(ISS)
                .audience(AUD)
                .algorithms([Algorithm::ES256])
                .keys(KeySet::new([key.verification_key()])),
        )
        .build()
        .unwrap();
    Fixture { key, validator }
}

fn token(key: &SigningKey, scope: &str) -> String {
    key.token(&json!({ "iss": ISS, "aud": AUD, "sub": "alice", "exp": now() + 60, "scope": scope, "tenant": "acme" }))
}

/// Starts `app` on an ephemeral loopback port; returns its base URL.
macro_rules! serve {
    ($app:expr) => {{
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = HttpServer::new($app).workers(1).listen(listener).unwrap().run();
        actix_web::rt::spawn(server);
        format!("http://{addr}")
    }};
}

async fn get(url: &str, authorization: Option<&str>) -> (u16, Option<String>, Option<String>, String) {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let mut request = client.get(url);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await.unwrap();
    let header = |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
    let (challenge, retry) = (header("www-authenticate"), header("retry-after"));
    (response.status().as_u16(), challenge, retry, response.text().await.unwrap())
}

async fn me(Auth(token): Auth) -> HttpResponse {
    HttpResponse::Ok()
        .json(json!({ "sub": token.subject(), "scopes": token.scopes().iter().collect::<Vec<_>>() }))
}

async fn maybe(token: Option<Auth>) -> HttpResponse {
    HttpResponse::Ok()
        .body(token.and_then(|t| t.subject().map(str::to_owned)).unwrap_or_else(|| "anonymous".into()))
}

struct Admin;
impl ScopeSpec for Admin {
    const SCOPES: &'static [&'static str] = &["admin"];
}

async fn admin(RequireScopes(token, _): RequireScopes<Admin>) -> HttpResponse {
    HttpResponse::Ok().body(token.subject().unwrap_or_default().to_owned())
}

async fn scopes(TokenScopes(scopes): TokenScopes) -> HttpResponse {
    HttpResponse::Ok().body(scopes.iter().collect::<Vec<_>>().join(","))
}

#[actix_web::test]
async fn required_mode_answers_every_refusal_like_the_core() {
    let f = fixture();
    let validator = f.validator.clone();
    let base =
        serve!(move || App::new().route("/me", web::get().to(me)).wrap(TokenGate::new(validator.clone())));

    let (status, challenge, _, body) = get(&format!("{base}/me"), None).await;
    assert_eq!((status, challenge.as_deref(), body.as_str()), (401, Some(r#"Bearer realm="tokengate""#), ""));

    let (status, challenge, _, body) = get(&format!("{base}/me"), Some("Bearer")).await;
    assert_eq!(status, 400);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(
        challenge.unwrap(),
        format!(
            r#"Bearer realm="tokengate", error="invalid_request", error_description="{}""#,
            body["error_description"].as_str().unwrap()
        )
    );

    let (status, challenge, _, body) = get(&format!("{base}/me"), Some("Bearer a.b.c")).await;
    assert_eq!(status, 401);
    assert!(challenge.unwrap().contains(r#"error="invalid_token""#));
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["error"], "invalid_token");

    let good = token(&f.key, "read");
    let (status, _, _, body) = get(&format!("{base}/me"), Some(&format!("Bearer {good}"))).await;
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), json!({ "sub": "alice", "scopes": ["read"] }));
}

#[actix_web::test]
async fn optional_mode_lets_anonymous_requests_through_but_not_bad_tokens() {
    let f = fixture();
    let validator = f.validator.clone();
    let base = serve!(move || App::new()
        .route("/", web::get().to(maybe))
        .wrap(TokenGate::new(validator.clone()).optional()));
    assert_eq!(get(&base, None).await.3, "anonymous");
    assert_eq!(get(&base, Some(&format!("Bearer {}", token(&f.key, "")))).await.3, "alice");
    assert_eq!(get(&base, Some("Bearer a.b.c")).await.0, 401);
}

#[actix_web::test]
async fn scope_middleware_and_extractor_agree() {
    let f = fixture();
    let validator = f.validator.clone();
    let base = serve!(move || {
        App::new()
            .service(
                web::resource("/gate")
                    .wrap(ScopeGate::all_of(["admin"]))
                    .route(web::get().to(|| async { "ok" })),
            )
            .route("/extractor", web::get().to(admin))
            .route("/scopes", web::get().to(scopes))
            .wrap(TokenGate::new(validator.clone()))
    });
    let reader = format!("Bearer {}", token(&f.key, "read"));
    let admin_token = format!("Bearer {}", token(&f.key, "read admin"));
    for path in ["gate", "extractor"] {
        let (status, challenge, _, body) = get(&format!("{base}/{path}"), Some(&reader)).await;
        assert_eq!(status, 403, "{path}");
        assert_eq!(
            challenge.as_deref(),
            Some(
                r#"Bearer realm="tokengate", error="insufficient_scope", error_description="the token lacks the scope this resource requires (admin)", scope="admin""#
            ),
            "{path}"
        );
        assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["error"], "insufficient_scope");
        assert_eq!(get(&format!("{base}/{path}"), Some(&admin_token)).await.0, 200, "{path}");
    }
    assert_eq!(get(&format!("{base}/scopes"), Some(&admin_token)).await.3, "admin,read");
}

#[actix_web::test]
async fn extractors_without_the_gate_or_with_another_claims_type_are_a_500() {
    #[derive(Clone, serde::Deserialize)]
    struct Tenant {
        tenant: String,
    }
    async fn tenant(Auth(token): Auth<Tenant>) -> HttpResponse {
        HttpResponse::Ok().body(token.claims().tenant.clone())
    }
    let f = fixture();
    let validator = f.validator.clone();
    let base = serve!(move || {
        App::new()
            .route("/bare", web::get().to(me))
            .service(
                web::scope("/typed")
                    .route("/ok", web::get().to(tenant))
                    .wrap(TokenGate::new(validator.clone()).claims::<Tenant>()),
            )
            .service(
                web::scope("/mismatch")
                    .route("/x", web::get().to(tenant))
                    .wrap(TokenGate::new(validator.clone())),
            )
    });
    let bearer = format!("Bearer {}", token(&f.key, ""));
    let (status, _, _, body) = get(&format!("{base}/bare"), Some(&bearer)).await;
    assert_eq!(status, 500);
    assert!(body.contains("no token gate ran on this request"), "{body}");
    let (status, _, _, body) = get(&format!("{base}/mismatch/x"), Some(&bearer)).await;
    assert_eq!(status, 500);
    assert!(body.contains("Tenant") && body.contains("StandardClaims"), "{body}");
    let (status, _, _, body) = get(&format!("{base}/typed/ok"), Some(&bearer)).await;
    assert_eq!((status, body.as_str()), (200, "acme"));
}

#[actix_web::test]
async fn custom_rendering_replaces_the_default() {
    let f = fixture();
    let validator = f.validator.clone();
    let base = serve!(move || {
        App::new().route("/me", web::get().to(me)).wrap(TokenGate::new(validator.clone()).render_with(
            |error: &tokengate_core::Error, refusal: tokengate_core::Refusal| {
                HttpResponse::build(actix_web::http::StatusCode::from_u16(refusal.status.as_u16()).unwrap())
                    .insert_header(("x-refused", error.error_code().unwrap_or("no_token")))
                    .body("go away")
            },
        ))
    });
    let client = reqwest::Client::new();
    let response =
        client.get(format!("{base}/me")).header("authorization", "Bearer x.y.z").send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["x-refused"], "invalid_token");
    assert_eq!(response.text().await.unwrap(), "go away");
}

/// A key source whose endpoint never answers: every token gets 503.
#[derive(Debug)]
struct NoKeys;

impl KeySource for NoKeys {
    fn current(&self) -> Option<std::sync::Arc<KeySet>> {
        None
    }
    fn refresh(&self, _: RefreshReason<'_>) -> KeysFuture<'_> {
        Box::pin(async { Err(KeysUnavailable { retry_after: Duration::from_secs(7) }) })
    }
}

#[actix_web::test]
async fn keys_unavailable_is_a_503_with_retry_after() {
    let f = fixture();
    let validator = Validator::builder()
        .issuer(Issuer::new(ISS).audience(AUD).algorithms([Algorithm::ES256]).key_source(NoKeys))
        .build()
        .unwrap();
    let base =
        serve!(move || App::new().route("/me", web::get().to(me)).wrap(TokenGate::new(validator.clone())));
    let (status, challenge, retry, body) =
        get(&format!("{base}/me"), Some(&format!("Bearer {}", token(&f.key, "")))).await;
    assert_eq!(status, 503);
    assert_eq!(challenge.as_deref(), Some(r#"Bearer realm="tokengate", error="temporarily_unavailable""#));
    assert_eq!(retry.as_deref(), Some("7"));
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["error"], "temporarily_unavailable");
}

#[actix_web::test]
async fn form_bodies_are_seen_when_read_and_handed_on_unchanged() {
    let f = fixture();
    let body_tokens = Validator::builder()
        .issuer(
            Issuer::new(ISS)
                .audience(AUD)
                .algorithms([Algorithm::ES256])
                .keys(KeySet::new([f.key.verification_key()])),
        )
        .token_locations(tokengate_core::TokenLocations { form_body: true, ..Default::default() })
        .build()
        .unwrap();
    let header_only = f.validator.clone();
    let base = serve!(move || {
        App::new()
            .service(
                web::resource("/body")
                    .route(web::post().to(|body: String| async move { body }))
                    .wrap(TokenGate::new(body_tokens.clone()).form_body_limit(1024)),
            )
            .service(
                web::resource("/header")
                    .route(web::post().to(|body: String| async move { body }))
                    .wrap(TokenGate::new(header_only.clone()).read_form_bodies()),
            )
    });
    let client = reqwest::Client::new();
    let good = token(&f.key, "");
    let post = |path: &str, auth: Option<String>, body: String| {
        let mut request = client
            .post(format!("{base}/{path}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        request.send()
    };
    let form = format!("amount=5&access_token={good}");
    let response = post("body", None, form.clone()).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), form, "the handler still reads the body");

    for path in ["body", "header"] {
        let response = post(path, Some(format!("Bearer {good}")), form.clone()).await.unwrap();
        assert_eq!(response.status(), 400, "{path}: a token in both places");
        assert!(
            response.headers()["www-authenticate"].to_str().unwrap().contains(r#"error="invalid_request""#)
        );
    }
    let response = post("body", None, format!("access_token={good}&pad={}", "x".repeat(2000))).await.unwrap();
    assert_eq!(response.status(), 413);
    let response = post("header", None, form).await.unwrap();
    assert_eq!(response.status(), 401, "body tokens are not accepted unless the validator allows them");
}
