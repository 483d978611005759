//! Parity of the two adapters where they used to drift: the same small API
//! built with the Tower layer on axum and with the actix-web middleware,
//! served on 127.0.0.1, gets the same requests and must answer identically —
//! misconfigured routes (an extractor or a scope check with no gate in
//! front), optional mode (anonymous, malformed, invalid), the one
//! form-detection rule, form tokens with a method that takes no body, cookie
//! and custom-header tokens, and
//! refusals made behind the gate (a handler's `?`, an extractor) rendered by
//! the gate with the validator's realm and the gate's renderer.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use axum::routing::{get, post};
use serde_json::json;
use support::{Answer, Request, send};
use tokengate::actix::{OptionalAuth, ScopeGate, TokenGate};
use tokengate::tower::axum::{Auth, AuthRejection};
use tokengate::tower::{FormBodyLayer, ScopeLayer, TokenLayer};
use tokengate::{Algorithm, Error, Issuer, Refusal, RequestProblem, TokenLocations, TokenSharing, Validator};
use tokengate_testkit::{SigningKey, now};
use tokengate_tests::{AUD, ISS, issuer};

const REALM: &str = "parity";

/// What both apps answer on each route.
mod answers {
    use tokengate::{StandardClaims, Verified};

    pub fn who(verified: Option<&Verified<StandardClaims>>) -> String {
        verified.and_then(|v| v.subject().map(str::to_owned)).unwrap_or_else(|| "anonymous".to_owned())
    }
}

/// The test issuer, trusting `key`.
fn trusting(key: &SigningKey) -> Issuer {
    issuer(&[Algorithm::ES256], &[key])
}

fn validator(key: &SigningKey) -> Validator {
    Validator::builder()
        .issuer(trusting(key))
        .token_locations(TokenLocations {
            form_body: true,
            header: Some("x-api-token"),
            cookie: Some("tg_token"),
            ..Default::default()
        })
        .realm(REALM)
        .build()
        .unwrap()
}

/// The API on axum.
async fn serve_axum(validator: Validator) -> SocketAddr {
    use axum::Router;
    async fn me(Auth(token): Auth) -> String {
        answers::who(Some(&token))
    }
    async fn maybe(token: Option<Auth>) -> String {
        answers::who(token.as_ref().map(|auth| &auth.0))
    }
    async fn spend(Auth(_): Auth) -> Result<String, AuthRejection> {
        Err(Error::Replayed)?
    }
    let mark = |error: &Error, refusal: Refusal| {
        let mut response = tokengate::tower::refusal_response::<axum::body::Body>(refusal);
        response.headers_mut().insert("x-refused", error.class().code().unwrap_or("none").parse().unwrap());
        response
    };
    let gated = Router::new()
        .route("/me", get(me))
        .route("/form", post(me).get(me))
        .route("/spend", post(spend))
        .route_layer(TokenLayer::new(validator.clone()))
        .route_layer(FormBodyLayer::new());
    let optional = Router::new()
        .route("/maybe", get(maybe))
        .route("/maybe-admin", get(maybe).route_layer(ScopeLayer::all_of(["admin"])))
        .route_layer(TokenLayer::new(validator.clone()).optional());
    let rendered = Router::new()
        .route("/rendered", get(me).route_layer(ScopeLayer::all_of(["admin"])))
        .route_layer(TokenLayer::new(validator.clone()).render_with(mark));
    let bare = Router::new()
        .route("/bare", get(me))
        .route("/bare-scope", get(|| async { "unreachable" }).route_layer(ScopeLayer::all_of(["admin"])));
    let app = gated.merge(optional).merge(rendered).merge(bare);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// The same API on actix-web.
fn serve_actix(validator: Validator) -> SocketAddr {
    use actix_web::{App, HttpResponse, HttpServer, web};
    use tokengate::actix::{Auth, AuthRejection};
    async fn me(Auth(token): Auth) -> String {
        answers::who(Some(&token))
    }
    async fn maybe(OptionalAuth(token): OptionalAuth) -> String {
        answers::who(token.as_ref())
    }
    async fn spend(Auth(_): Auth) -> Result<String, AuthRejection> {
        Err(Error::Replayed)?
    }
    fn mark(error: &Error, refusal: Refusal) -> HttpResponse {
        let mut response = tokengate::actix::refusal_response(refusal);
        let code = error.class().code().unwrap_or("none");
        response.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static("x-refused"),
            actix_web::http::header::HeaderValue::from_str(code).unwrap(),
        );
        response
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = HttpServer::new(move || {
        let gate = || TokenGate::new(validator.clone()).read_form_bodies();
        let optional = || TokenGate::new(validator.clone()).optional();
        App::new()
            .service(web::resource("/me").route(web::get().to(me)).wrap(gate()))
            .service(web::resource("/form").route(web::post().to(me)).route(web::get().to(me)).wrap(gate()))
            .service(web::resource("/spend").route(web::post().to(spend)).wrap(gate()))
            .service(web::resource("/maybe").route(web::get().to(maybe)).wrap(optional()))
            .service(
                web::resource("/maybe-admin")
                    .route(web::get().to(maybe))
                    .wrap(ScopeGate::all_of(["admin"]))
                    .wrap(optional()),
            )
            .service(
                web::resource("/rendered")
                    .route(web::get().to(me))
                    .wrap(ScopeGate::all_of(["admin"]))
                    .wrap(TokenGate::new(validator.clone()).render_with(mark)),
            )
            .service(web::resource("/bare").route(web::get().to(me)))
            .service(
                web::resource("/bare-scope")
                    .route(web::get().to(|| async { "unreachable" }))
                    .wrap(ScopeGate::all_of(["admin"])),
            )
    })
    .workers(1)
    .shutdown_timeout(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    addr
}

/// Sends `request` to both and asserts identical answers (and the same
/// `x-refused` header); returns one.
async fn same(axum: SocketAddr, actix: SocketAddr, label: &str, request: Request) -> Answer {
    let (a, b) = (send(axum, &request).await, send(actix, &request).await);
    assert_eq!(a, b, "{label}: axum (left) and actix (right) differ");
    a
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_adapters_decide_every_shared_rule_identically() {
    let key = SigningKey::generate(Algorithm::ES256).with_kid("k");
    let token = |scope: &str| {
        key.token(&json!({ "iss": ISS, "aud": AUD, "sub": "alice", "exp": now() + 300, "scope": scope }))
    };
    let (user, admin) = (token("read"), token("admin"));
    let validator = validator(&key);
    let (axum, actix) = (serve_axum(validator.clone()).await, serve_actix(validator));
    for addr in [axum, actix] {
        support::wait_until_listening(addr, Duration::from_secs(10)).await;
    }
    let form = |body: String| Request::post("/form").form(body);
    let expired = key.token(&json!({ "iss": ISS, "aud": AUD, "sub": "alice", "exp": now() - 3600 }));

    let rows: Vec<(&str, Request, u16)> = vec![
        // Misconfigured routes: one answer everywhere, 500 naming the mistake.
        ("extractor without a gate", Request::get("/bare").bearer(&user), 500),
        ("extractor without a gate, no token", Request::get("/bare"), 500),
        ("scope check without a gate", Request::get("/bare-scope").bearer(&admin), 500),
        // Optional mode.
        ("optional, anonymous", Request::get("/maybe"), 200),
        ("optional, valid", Request::get("/maybe").bearer(&user), 200),
        ("optional, invalid token", Request::get("/maybe").bearer(&expired), 401),
        ("optional, Bearer without token", Request::get("/maybe").header("authorization", "Bearer"), 400),
        (
            "optional, tab after Bearer",
            Request::get("/maybe").header("authorization", format!("Bearer\t{user}")),
            400,
        ),
        (
            "optional, another scheme",
            Request::get("/maybe").header("authorization", "Basic dXNlcjpwYXNz"),
            200,
        ),
        ("optional, anonymous on a scoped route", Request::get("/maybe-admin"), 401),
        ("optional, scoped route without the scope", Request::get("/maybe-admin").bearer(&user), 403),
        ("optional, scoped route", Request::get("/maybe-admin").bearer(&admin), 200),
        // Form detection: one exact rule for the media type.
        ("form token", form(format!("access_token={user}")), 200),
        (
            "form token, media type in other case with parameters",
            Request::post("/form")
                .header("content-type", "Application/X-WWW-Form-URLEncoded; charset=UTF-8")
                .body(format!("access_token={user}")),
            200,
        ),
        ("header and form token", form(format!("access_token={user}")).bearer(&user), 400),
        (
            "not a form: a longer media type",
            Request::post("/form")
                .header("content-type", "application/x-www-form-urlencodedx")
                .body(format!("access_token={user}"))
                .bearer(&user),
            200,
        ),
        // A cookie and a custom header, where enabled: once, and alone.
        ("cookie token", Request::get("/me").header("cookie", format!("theme=dark; tg_token={user}")), 200),
        ("expired cookie token", Request::get("/me").header("cookie", format!("tg_token={expired}")), 401),
        (
            "cookie twice",
            Request::get("/me").header("cookie", format!("tg_token={user}; tg_token={admin}")),
            400,
        ),
        (
            "cookie and header token",
            Request::get("/me").header("cookie", format!("tg_token={user}")).bearer(&user),
            400,
        ),
        ("custom header token", Request::get("/me").header("x-api-token", user.clone()), 200),
        (
            "custom header and cookie",
            Request::get("/me")
                .header("x-api-token", user.clone())
                .header("cookie", format!("tg_token={user}")),
            400,
        ),
        (
            "custom header with a scheme",
            Request::get("/me").header("x-api-token", format!("Bearer {user}")),
            400,
        ),
        ("an unrelated cookie is no token", Request::get("/me").header("cookie", "session=abc"), 401),
        // RFC 6750 §2.2: never with GET.
        ("form token on GET", Request::get("/form").form(format!("access_token={user}")), 400),
        // Refusals made behind the gate are the gate's, with its realm.
        ("handler refusing with ?", Request::post("/spend").bearer(&user), 401),
        ("custom renderer, scope refusal", Request::get("/rendered").bearer(&user), 403),
        ("custom renderer, gate refusal", Request::get("/rendered").bearer(&expired), 401),
    ];
    for (label, request, status) in rows {
        let answer = same(axum, actix, label, request).await;
        assert_eq!(answer.status, status, "{label}: {answer:?}");
        if status == 500 {
            let body = answer.body.as_str().unwrap_or_default();
            assert!(body.contains("no token gate ran on this request"), "{label}: {body}");
            assert_eq!(answer.content_type.as_deref(), Some("text/plain; charset=utf-8"), "{label}");
            assert_eq!(answer.challenge, None, "{label}: not a refusal of the client's token");
        }
        if let Some(challenge) = &answer.challenge {
            assert_eq!(challenge["realm"], REALM, "{label}: the validator's realm");
        }
    }
    assert_eq!(same(axum, actix, "anonymous body", Request::get("/maybe")).await.body, json!("anonymous"));
    let spent = same(axum, actix, "spend", Request::post("/spend").bearer(&user)).await;
    assert_eq!(spent.body["error_description"], Error::Replayed.to_string());
    let get_form =
        same(axum, actix, "GET form", Request::get("/form").form(format!("access_token={user}"))).await;
    assert_eq!(
        get_form.body["error_description"],
        Error::MalformedRequest(RequestProblem::FormTokenMethod).to_string()
    );
    // The gate's renderer renders the scope gate's refusal too.
    for addr in [axum, actix] {
        for (token, code) in [(&user, "insufficient_scope"), (&expired, "invalid_token")] {
            let response = reqwest::Client::new()
                .get(format!("http://{addr}/rendered"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            let marked = response.headers().get("x-refused").map(|v| v.to_str().unwrap().to_owned());
            assert_eq!(marked.as_deref(), Some(code), "{addr}");
        }
    }
}

/// Token-sharing detection reads the client from the configured header in
/// both adapters: one store, one count, the same refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_adapters_count_the_clients_of_a_token_alike() {
    let key = SigningKey::generate(Algorithm::ES256).with_kid("k");
    let validator = Validator::builder()
        .issuer(trusting(&key))
        .realm(REALM)
        .token_sharing(TokenSharing::refuse_above(2).client_header("x-real-ip"))
        .build()
        .unwrap();
    let (axum, actix) = (serve_axum(validator.clone()).await, serve_actix(validator));
    for addr in [axum, actix] {
        support::wait_until_listening(addr, Duration::from_secs(10)).await;
    }
    let token = |jti: &str| {
        key.token(&json!({ "iss": ISS, "aud": AUD, "sub": "alice", "exp": now() + 300, "jti": jti }))
    };
    let (shared, other) = (token("shared"), token("other"));
    let from = |token: &str, ip: Option<&str>| {
        let request = Request::get("/me").bearer(token);
        match ip {
            Some(ip) => request.header("x-real-ip", ip),
            None => request,
        }
    };
    for (label, request, status) in [
        ("first client", from(&shared, Some("10.0.0.1")), 200),
        ("first client again", from(&shared, Some("10.0.0.1")), 200),
        ("second client", from(&shared, Some("10.0.0.2")), 200),
        ("third client", from(&shared, Some("10.0.0.3")), 401),
        ("first client, once the token is shared", from(&shared, Some("10.0.0.1")), 401),
        // Without the header, a request is one client of its own ("unknown").
        ("another token, no client header", from(&other, None), 200),
        ("another token, a first address", from(&other, Some("10.0.0.1")), 200),
        ("another token, no client header again", from(&other, None), 200),
        ("another token, a second address: three clients", from(&other, Some("10.0.0.2")), 401),
    ] {
        let answer = same(axum, actix, label, request).await;
        assert_eq!(answer.status, status, "{label}: {answer:?}");
        if status == 401 {
            assert_eq!(answer.body["error_description"], Error::SharedToken.to_string(), "{label}");
            let challenge = answer.challenge.as_ref().expect("a challenge");
            assert_eq!(challenge["error"], "invalid_token", "{label}");
        }
    }
}

/// RFC 9728: both adapters serve the metadata document at the well-known
/// path and at its path-suffixed form, unprotected, and every 401 challenge
/// names it (`resource_metadata`), while other refusals do not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_adapters_serve_resource_metadata_and_name_it_in_challenges() {
    use tokengate::metadata::{ResourceMetadata, WELL_KNOWN_PATH};
    const DOCUMENT: &str = "https://api.test/.well-known/oauth-protected-resource/v1";
    let key = SigningKey::generate(Algorithm::ES256).with_kid("k");
    let validator = Validator::builder().issuer(trusting(&key)).resource_metadata(DOCUMENT).build().unwrap();
    let metadata =
        ResourceMetadata::new("https://api.test/v1", &validator).scopes_supported(["read", "admin"]);

    let axum_app = metadata.paths().iter().fold(
        axum::Router::new()
            .route("/v1/me", get(|Auth(token): Auth| async move { answers::who(Some(&token)) }))
            .route("/v1/admin", get(|| async { "admin" }).route_layer(ScopeLayer::all_of(["admin"])))
            .route_layer(TokenLayer::new(validator.clone())),
        |router, path| router.route_service(path, tokengate::tower::MetadataService::new(metadata.clone())),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let axum = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, axum_app).await });

    let actix = {
        use actix_web::{App, HttpServer, web};
        use tokengate::actix::Auth;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let metadata = metadata.clone();
        let server = HttpServer::new(move || {
            App::new().configure(tokengate::actix::resource_metadata(metadata.clone())).service(
                web::scope("/v1")
                    .route(
                        "/me",
                        web::get().to(|Auth(token): Auth| async move { answers::who(Some(&token)) }),
                    )
                    .service(
                        web::resource("/admin")
                            .route(web::get().to(|| async { "admin" }))
                            .wrap(ScopeGate::all_of(["admin"])),
                    )
                    .wrap(TokenGate::new(validator.clone())),
            )
        })
        .workers(1)
        .shutdown_timeout(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        addr
    };
    support::wait_until_listening(actix, Duration::from_secs(10)).await;

    for path in [WELL_KNOWN_PATH.to_owned(), format!("{WELL_KNOWN_PATH}/v1")] {
        let answer = same(axum, actix, "metadata", Request::get(&path)).await;
        assert_eq!(answer.status, 200, "{path}");
        assert_eq!(answer.content_type.as_deref(), Some("application/json"));
        assert_eq!(
            answer.body,
            json!({
                "resource": "https://api.test/v1",
                "authorization_servers": [ISS],
                "bearer_methods_supported": ["header"],
                "scopes_supported": ["read", "admin"],
            }),
            "{path}"
        );
    }
    let user =
        key.token(&json!({ "iss": ISS, "aud": AUD, "sub": "alice", "exp": now() + 60, "scope": "read" }));
    let expired = key.token(&json!({ "iss": ISS, "aud": AUD, "sub": "alice", "exp": now() - 3600 }));
    for (label, request, status) in [
        ("no token", Request::get("/v1/me"), 401),
        ("expired", Request::get("/v1/me").bearer(&expired), 401),
        ("insufficient scope", Request::get("/v1/admin").bearer(&user), 403),
        ("fine", Request::get("/v1/me").bearer(&user), 200),
    ] {
        let answer = same(axum, actix, label, request).await;
        assert_eq!(answer.status, status, "{label}");
        // On every challenge line of a 401, and only there (checked by `send`).
        let expected = (status == 401).then_some(DOCUMENT);
        assert_eq!(answer.resource_metadata.as_deref(), expected, "{label}: {answer:?}");
    }
}
