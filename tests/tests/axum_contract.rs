//! `docs/demo-servers.md` against the axum demo server, run in-process
//! through the examples library (configuration → `prepare` → `router` →
//! `serve`) on 127.0.0.1, with its keys fetched over real HTTP from a
//! loopback issuer, and driven by a real HTTP client. One test per row of
//! the contract's route and refusal tables.
//!
//! The actix-web demo answers every row identically (`tests/parity.rs`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokengate::Algorithm;
use tokengate_demo_axum as axum_app;
use tokengate_examples::api::{ADMIN, HEALTH, ME, METADATA, REVOKE, ROUTES, TRANSFER};
use tokengate_examples::config::Config;
use tokengate_examples::demo::{DEMO_AUDIENCE, DemoIssuer};
use tokengate_examples::server::{Prepared, prepare};
use tokengate_testkit::{SigningKey, now};
use tokio::sync::oneshot;

/// A running demo server trusting a loopback issuer.
struct Server {
    addr: SocketAddr,
    idp: DemoIssuer,
    _prepared: Prepared,
    _stop: oneshot::Sender<()>,
}

/// Starts the server with the issuer's configuration plus `extra` variables.
async fn start_with(extra: &[(&str, &str)], jwks: Jwks) -> Server {
    let idp = DemoIssuer::start(tokengate::AlgorithmSet::ASYMMETRIC).await.unwrap();
    let mut vars: HashMap<String, String> = [
        ("TOKENGATE_ADDR", "127.0.0.1:0".to_owned()),
        ("TOKENGATE_ISSUER", idp.issuer().to_owned()),
        ("TOKENGATE_AUDIENCE", DEMO_AUDIENCE.to_owned()),
        ("TOKENGATE_INSECURE_HTTP", "1".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    match jwks {
        Jwks::Discovery => {}
        Jwks::Url => {
            vars.insert("TOKENGATE_JWKS_URL".into(), idp.jwks_url());
        }
        Jwks::Down => {
            let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
            vars.insert("TOKENGATE_JWKS_URL".into(), format!("http://{closed}/jwks.json"));
        }
    }
    for (k, v) in extra {
        vars.insert((*k).to_owned(), (*v).to_owned());
    }
    let config = Config::from_lookup(|name| vars.get(name).cloned()).unwrap();
    let listener = tokio::net::TcpListener::bind(config.addr).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let prepared = prepare(config, addr).await.unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let router = axum_app::router(&prepared);
    tokio::spawn(axum_app::serve(listener, router, async move {
        let _ = stopped.await;
    }));
    Server { addr, idp, _prepared: prepared, _stop: stop }
}

#[derive(Clone, Copy)]
enum Jwks {
    Discovery,
    Url,
    Down,
}

/// Starts the server and waits until its keys have arrived.
async fn start() -> Server {
    let server = start_with(&[], Jwks::Discovery).await;
    server.wait_for_keys().await;
    server
}

#[derive(Debug)]
struct Answer {
    addr: SocketAddr,
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    /// The `WWW-Authenticate` challenge, checked for the contract's
    /// `resource_metadata` attribute — last on a 401, absent otherwise —
    /// which is then taken off.
    fn challenge(&self) -> Option<&str> {
        let challenge = self.header("www-authenticate")?;
        let attribute =
            format!(r#", resource_metadata="http://{}/.well-known/oauth-protected-resource""#, self.addr);
        if self.status == 401 {
            Some(
                challenge.strip_suffix(&attribute).unwrap_or_else(|| panic!("no {attribute} in {challenge}")),
            )
        } else {
            assert!(!challenge.contains("resource_metadata"), "{challenge}");
            Some(challenge)
        }
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {:?}", self.body))
    }
}

impl Server {
    async fn send(&self, method: &str, path: &str, authorization: &[&str]) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = reqwest::Client::new().request(method, format!("http://{}{path}", self.addr));
        for value in authorization {
            request = request.header("authorization", *value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        Answer { addr: self.addr, status, headers, body: response.text().await.unwrap() }
    }

    async fn get(&self, path: &str, token: &str) -> Answer {
        self.send("GET", path, &[&format!("Bearer {token}")]).await
    }

    async fn post_json(&self, path: &str, token: &str, body: Value) -> Answer {
        let response = reqwest::Client::new()
            .post(format!("http://{}{path}", self.addr))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        Answer { addr: self.addr, status, headers, body: response.text().await.unwrap() }
    }

    async fn wait_for_keys(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let token = self.idp.valid_token();
        while self.get(ME, &token).await.status == 503 {
            assert!(Instant::now() < deadline, "the server never obtained the issuer's keys");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A token from the trusted issuer with `changes` applied to the demo's claims
    /// (a `null` member removes the claim).
    fn token(&self, changes: Value) -> String {
        let claims = json!({
            "iss": self.idp.issuer(), "aud": DEMO_AUDIENCE, "sub": "alice", "client_id": "app",
            "jti": "t-1", "iat": now(), "exp": now() + 300, "scope": "profile",
        });
        self.idp.key().token(&tokengate_tests::merged(claims, &changes))
    }

    fn token_with_header(&self, header: Value) -> String {
        let mut full = self.idp.key().header();
        full.as_object_mut().unwrap().extend(header.as_object().unwrap().clone());
        let claims =
            json!({ "iss": self.idp.issuer(), "aud": DEMO_AUDIENCE, "sub": "alice", "exp": now() + 300 });
        self.idp.key().token_with_header(&full, &claims)
    }
}

/// A JSON-bodied refusal: status, the whole `WWW-Authenticate`, the body.
fn assert_refusal(answer: &Answer, status: u16, code: &str, description: &str) {
    assert_eq!(answer.status, status, "{answer:?}");
    assert_eq!(
        answer.challenge(),
        Some(
            format!(r#"Bearer realm="tokengate", error="{code}", error_description="{description}""#)
                .as_str()
        ),
        "{answer:?}"
    );
    assert_eq!(answer.header("content-type"), Some("application/json"));
    assert_eq!(answer.json(), json!({ "error": code, "error_description": description }));
}

// ---------------------------------------------------------------- routes

#[tokio::test]
async fn route_health() {
    let server = start_with(&[], Jwks::Discovery).await;
    let answer = server.send("GET", HEALTH, &[]).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "ok"));
}

#[tokio::test]
async fn route_protected_resource_metadata() {
    let server = start_with(&[], Jwks::Discovery).await;
    let answer = server.send("GET", METADATA, &[]).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    assert_eq!(
        answer.json(),
        json!({
            "resource": DEMO_AUDIENCE,
            "authorization_servers": [server.idp.issuer()],
            "scopes_supported": ["admin", "transfer"],
            "bearer_methods_supported": ["header"],
        })
    );
    // TOKENGATE_RESOURCE overrides the audience.
    let server = start_with(&[("TOKENGATE_RESOURCE", "https://api.example/v1")], Jwks::Url).await;
    assert_eq!(server.send("GET", METADATA, &[]).await.json()["resource"], "https://api.example/v1");
}

#[tokio::test]
async fn route_me() {
    let server = start().await;
    let exp = now() + 300;
    let answer =
        server.get(ME, &server.token(json!({ "scope": "transfer admin", "exp": exp, "jti": "j-1" }))).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.header("content-type"), Some("application/json"));
    assert_eq!(
        answer.json(),
        json!({
            "sub": "alice", "iss": server.idp.issuer(), "client_id": "app",
            "scopes": ["admin", "transfer"], "jti": "j-1", "exp": exp,
        })
    );
    // Absent claims are null; scopes from `scp` or `permissions` count too.
    let sparse = server
        .get(
            ME,
            &server.token(
                json!({ "sub": null, "client_id": null, "jti": null, "scope": null, "scp": ["b", "a"] }),
            ),
        )
        .await;
    let body = sparse.json();
    assert_eq!(
        body,
        json!({ "sub": null, "iss": server.idp.issuer(), "client_id": null, "scopes": ["a", "b"], "jti": null, "exp": body["exp"] })
    );
    let permissions = server.get(ME, &server.token(json!({ "scope": null, "permissions": ["p"] }))).await;
    assert_eq!(permissions.json()["scopes"], json!(["p"]));
    // The token's `aud` may be an array containing the audience.
    let array = server.get(ME, &server.token(json!({ "aud": ["other", DEMO_AUDIENCE] }))).await;
    assert_eq!(array.status, 200);
}

#[tokio::test]
async fn route_admin() {
    let server = start().await;
    let answer = server.get(ADMIN, &server.token(json!({ "scope": "read admin" }))).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.json(), json!({ "ok": true }));
}

#[tokio::test]
async fn route_transfer_is_usable_once() {
    let server = start().await;
    let token = server.token(json!({ "scope": "transfer", "jti": "once" }));
    let first = server.send("POST", TRANSFER, &[&format!("Bearer {token}")]).await;
    assert_eq!(first.status, 200, "{first:?}");
    assert_eq!(first.json(), json!({ "ok": true, "jti": "once" }));
    let again = server.send("POST", TRANSFER, &[&format!("Bearer {token}")]).await;
    assert_eq!(again.status, 401);
    assert_eq!(
        again.challenge(),
        Some(
            r#"Bearer realm="tokengate", error="invalid_token", error_description="the token was already used; this API accepts it only once""#
        )
    );
    assert_eq!(again.json()["error"], "invalid_token");

    let no_jti = server.token(json!({ "scope": "transfer", "jti": null }));
    let answer = server.send("POST", TRANSFER, &[&format!("Bearer {no_jti}")]).await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.json()["error"], "invalid_token");
    let no_scope = server.token(json!({ "jti": "no-scope" }));
    let answer = server.send("POST", TRANSFER, &[&format!("Bearer {no_scope}")]).await;
    assert_eq!(answer.status, 403);
    assert!(answer.challenge().unwrap().ends_with(r#"scope="transfer""#));
}

#[tokio::test]
async fn route_revoke_by_jti_and_by_subject() {
    let server = start().await;
    let admin =
        format!("Bearer {}", server.token(json!({ "scope": "admin", "sub": "root", "jti": "admin-1" })));
    let post_json = |body: Value| {
        let client = reqwest::Client::new();
        client
            .post(format!("http://{}{REVOKE}", server.addr))
            .header("authorization", admin.clone())
            .json(&body)
            .send()
    };
    let victim = server.token(json!({ "jti": "victim" }));
    assert_eq!(server.get(ME, &victim).await.status, 200);
    let response = post_json(json!({ "jti": "victim" })).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({ "ok": true, "jti": "victim" }));
    let answer = server.get(ME, &victim).await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.json()["error"], "invalid_token");

    // The subject's cut-off is now plus the leeway (30 s): the issuer's clock
    // may run ahead, so a token issued a moment ago may carry a future `iat`.
    let earlier = server.token(json!({ "sub": "mallory", "jti": "m-1", "iat": now() - 1 }));
    let skewed = server.token(json!({ "sub": "mallory", "jti": "m-2", "iat": now() + 25 }));
    assert_eq!(server.get(ME, &earlier).await.status, 200);
    assert_eq!(server.get(ME, &skewed).await.status, 200);
    assert_eq!(post_json(json!({ "sub": "mallory" })).await.unwrap().status(), 200);
    assert_eq!(server.get(ME, &earlier).await.status, 401, "issued before the revocation");
    let answer = server.get(ME, &skewed).await;
    assert_eq!(answer.status, 401, "issued within the leeway of the revocation");
    assert_eq!(answer.json()["error_description"], "the token has been revoked");
    let other = server.token(json!({ "sub": "trudy", "jti": "t-1", "iat": now() + 25 }));
    assert_eq!(server.get(ME, &other).await.status, 200, "another subject");

    let bad = post_json(json!({ "who": "x" })).await.unwrap();
    assert_eq!(bad.status(), 400);
    assert_eq!(bad.json::<Value>().await.unwrap()["error"], "invalid_request");
    let reader = server.token(json!({ "jti": "reader" }));
    let forbidden = server.send("POST", REVOKE, &[&format!("Bearer {reader}")]).await;
    assert_eq!(forbidden.status, 403);
    assert_eq!(ROUTES.len(), 6);
}

#[tokio::test]
async fn route_revoke_by_subject_spares_tokens_issued_after_the_cutoff() {
    // With no leeway, the cut-off is the moment of the revocation.
    let server = start_with(&[("TOKENGATE_LEEWAY_SECS", "0")], Jwks::Discovery).await;
    server.wait_for_keys().await;
    let admin = server.token(json!({ "scope": "admin", "sub": "root", "jti": "admin-1" }));
    let before = server.token(json!({ "sub": "mallory", "jti": "m-1", "iat": now() }));
    assert_eq!(server.post_json(REVOKE, &admin, json!({ "sub": "mallory" })).await.status, 200);
    assert_eq!(server.get(ME, &before).await.status, 401);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let after = server.token(json!({ "sub": "mallory", "jti": "m-2", "iat": now() }));
    assert_eq!(server.get(ME, &after).await.status, 200, "issued after the revocation");
}

/// `TOKENGATE_TOKEN_CACHE`: `0` turns the verified-token cache off; a cached
/// token is refused once revoked, exactly as an uncached one.
#[tokio::test]
async fn token_cache_size_from_the_environment() {
    for (setting, cached) in [(None, true), (Some("0"), false), (Some("100"), true)] {
        let extra: Vec<(&str, &str)> = setting.map(|n| ("TOKENGATE_TOKEN_CACHE", n)).into_iter().collect();
        let server = start_with(&extra, Jwks::Discovery).await;
        server.wait_for_keys().await;
        let cache = server._prepared.validator.token_cache();
        assert_eq!(cache.is_some(), cached, "{setting:?}");
        let token = server.token(json!({ "sub": "carol", "jti": "c-1" }));
        for _ in 0..3 {
            assert_eq!(server.get(ME, &token).await.status, 200, "{setting:?}");
        }
        if let Some(cache) = cache {
            assert!(cache.entry_count() >= 1, "{setting:?}: the token is cached");
        }
        let admin = server.idp.admin_token();
        let revoke = server.post_json(REVOKE, &admin, json!({ "jti": "c-1" })).await;
        assert_eq!(revoke.status, 200, "{revoke:?}");
        let refused = server.get(ME, &token).await;
        assert_eq!(
            (refused.status, refused.json()["error"].as_str()),
            (401, Some("invalid_token")),
            "{setting:?}"
        );
    }
}

// ---------------------------------------------------------------- refusals

#[tokio::test]
async fn refusal_no_token_or_another_scheme() {
    let server = start().await;
    for (path, authorization) in [
        (ME, &[][..]),
        (ADMIN, &[][..]),
        (ME, &["Basic dXNlcjpwYXNz"][..]),
        (ME, &["Negotiate abc"][..]),
        (ME, &["Bearerabc"][..]),
    ] {
        let answer = server.send("GET", path, authorization).await;
        assert_eq!(answer.status, 401, "{path} {authorization:?}");
        assert_eq!(answer.challenge(), Some(r#"Bearer realm="tokengate""#));
        assert_eq!(answer.body, "", "an empty body");
    }
}

#[tokio::test]
async fn refusal_malformed_request() {
    let server = start().await;
    let token = server.idp.valid_token();
    let cases: [(&str, Vec<String>, &str); 5] = [
        (ME, vec!["Bearer".into()], "the request names a token but the token is empty"),
        (ME, vec!["Bearer    ".into()], "the request names a token but the token is empty"),
        (
            ME,
            vec!["Bearer a,b".into()],
            "the bearer token contains characters outside the RFC 6750 b64token syntax",
        ),
        (
            ME,
            vec![format!("Bearer {token}"), format!("Bearer {token}")],
            "the request carries more than one Authorization header",
        ),
        (
            "/me?access_token=abc",
            vec![format!("Bearer {token}")],
            "the request presents more than one access token (header, query or form body); use exactly one method",
        ),
    ];
    for (path, headers, description) in cases {
        let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
        assert_refusal(&server.send("GET", path, &headers).await, 400, "invalid_request", description);
    }
    // A token in the header and another in a form-encoded body.
    let answer = reqwest::Client::new()
        .get(format!("http://{}{ME}", server.addr))
        .bearer_auth(&token)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("x=1&access_token=abc")
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    let headers = answer.headers().clone();
    let answer = Answer { addr: server.addr, status, headers, body: answer.text().await.unwrap() };
    assert_refusal(
        &answer,
        400,
        "invalid_request",
        "the request presents more than one access token (header, query or form body); use exactly one method",
    );
}

#[tokio::test]
async fn refusal_invalid_token() {
    let server = start().await;
    let kid = server.idp.key().kid().unwrap().to_owned();
    let forger = SigningKey::generate(Algorithm::ES256).with_kid(kid.clone());
    let hmac = SigningKey::generate(Algorithm::HS256).with_kid(kid.clone());
    let unknown_kid = SigningKey::generate(Algorithm::ES256).with_kid("someone-else");
    let claims =
        json!({ "iss": server.idp.issuer(), "aud": DEMO_AUDIENCE, "sub": "alice", "exp": now() + 300 });
    // `alg: none` (with something in the signature slot, else "no signature").
    let none = format!(
        "{}.{}.AAAA",
        tokengate_testkit::b64(r#"{"alg":"none"}"#),
        tokengate_testkit::b64(claims.to_string())
    );

    let cases = [
        (
            "not.a-jwt".to_owned(),
            "the token is not a JWS in compact serialization (three base64url segments separated by dots)",
        ),
        (forger.token(&claims), "the token's signature is invalid"),
        (hmac.token(&claims), "the token is signed with HS256, which this API does not accept"),
        (none, "the token's `alg` is not a supported signature algorithm"),
        (unknown_kid.token(&claims), "no signing key of the issuer matches the token's `kid` and `alg`"),
        (server.token(json!({ "exp": now() - 3600 })), "the token has expired"),
        (server.token(json!({ "nbf": now() + 3600 })), "the token is not valid yet (`nbf` is in the future)"),
        (
            server.token(json!({ "iss": "https://evil.example" })),
            "the token's issuer is not trusted by this API",
        ),
        (
            server.token(json!({ "aud": "https://other.example" })),
            "the token's audience (`aud`) does not include this API",
        ),
        (server.token(json!({ "exp": null })), "the token has no `exp` claim, which this API requires"),
        (
            server.token(json!({ "scope": ["admin"] })),
            "the token's `scope` claim must be a space-separated string",
        ),
        (
            server.token_with_header(json!({ "typ": "id_token+jwt" })),
            "the token's `typ` header is not an accepted access-token type",
        ),
        (
            server.token_with_header(json!({ "crit": ["exp"], "exp": 1 })),
            "the token's `crit` header names an extension this API does not understand",
        ),
    ];
    for (token, description) in &cases {
        assert_refusal(&server.get(ME, token).await, 401, "invalid_token", description);
    }
    // The scheme is case-insensitive, and the admin route refuses the same way.
    assert_refusal(
        &server.send("GET", ADMIN, &[&format!("bEaReR {}", cases[5].0)]).await,
        401,
        "invalid_token",
        "the token has expired",
    );
    // Accepted `typ` values.
    for typ in ["JWT", "at+jwt", "application/AT+JWT"] {
        assert_eq!(
            server.get(ME, &server.token_with_header(json!({ "typ": typ }))).await.status,
            200,
            "{typ}"
        );
    }
}

#[tokio::test]
async fn refusal_insufficient_scope() {
    let server = start().await;
    for token in [server.idp.valid_token(), server.token(json!({ "scope": "transfer administrator" }))] {
        let answer = server.get(ADMIN, &token).await;
        assert_eq!(answer.status, 403);
        let description = "the token lacks the scope this resource requires (admin)";
        assert_eq!(
            answer.challenge(),
            Some(
                format!(
                    r#"Bearer realm="tokengate", error="insufficient_scope", error_description="{description}", scope="admin""#
                )
                .as_str()
            )
        );
        assert_eq!(answer.json(), json!({ "error": "insufficient_scope", "error_description": description }));
    }
}

#[tokio::test]
async fn refusal_keys_unavailable() {
    let server = start_with(&[], Jwks::Down).await;
    for path in [ME, ADMIN] {
        let answer = server.get(path, &server.idp.admin_token()).await;
        assert_eq!(answer.status, 503, "{answer:?}");
        assert_eq!(answer.challenge(), Some(r#"Bearer realm="tokengate", error="temporarily_unavailable""#));
        let retry_after: u64 = answer.header("retry-after").expect("Retry-After").parse().unwrap();
        assert!(retry_after >= 1);
        assert_eq!(answer.header("content-type"), Some("application/json"));
        assert_eq!(
            answer.json(),
            json!({
                "error": "temporarily_unavailable",
                "error_description": "the issuer's signing keys are not available yet; retry later",
            })
        );
    }
    // The public routes still answer.
    assert_eq!(server.send("GET", HEALTH, &[]).await.status, 200);
}

#[tokio::test]
async fn keys_from_a_configured_jwks_url() {
    let server = start_with(&[], Jwks::Url).await;
    server.wait_for_keys().await;
    assert_eq!(server.get(ME, &server.idp.valid_token()).await.status, 200);
}

#[tokio::test]
async fn algorithm_allow_list_from_the_environment() {
    // The issuer signs with ES256; an allow-list without it refuses its tokens.
    let server = start_with(&[("TOKENGATE_ALGORITHMS", "RS256,EdDSA")], Jwks::Url).await;
    let answer = server.get(ME, &server.idp.valid_token()).await;
    assert_refusal(
        &answer,
        401,
        "invalid_token",
        "the token is signed with ES256, which this API does not accept",
    );
}

/// SIGINT/SIGTERM end `serve`'s shutdown future; requests in flight then
/// still get their answer before `serve` returns.
#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish() {
    let idp = DemoIssuer::start(tokengate::AlgorithmSet::ASYMMETRIC).await.unwrap();
    let vars: HashMap<&str, String> = [
        ("TOKENGATE_ADDR", "127.0.0.1:0".to_owned()),
        ("TOKENGATE_ISSUER", idp.issuer().to_owned()),
        ("TOKENGATE_AUDIENCE", DEMO_AUDIENCE.to_owned()),
        ("TOKENGATE_INSECURE_HTTP", "1".to_owned()),
    ]
    .into();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let prepared = prepare(Config::from_lookup(|name| vars.get(name).cloned()).unwrap(), addr).await.unwrap();
    // The demo's routes plus a slow one, to have a request in flight.
    let started = std::sync::Arc::new(tokio::sync::Notify::new());
    let in_handler = started.clone();
    let router = axum_app::router(&prepared).route(
        "/slow",
        axum::routing::get(move || async move {
            in_handler.notify_one();
            tokio::time::sleep(Duration::from_millis(400)).await;
            "done"
        }),
    );
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(axum_app::serve(listener, router, async move {
        let _ = stopped.await;
    }));
    let slow = tokio::spawn(reqwest::get(format!("http://{addr}/slow")));
    started.notified().await;
    stop.send(()).unwrap();
    let response = slow.await.unwrap().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "done");
    tokio::time::timeout(Duration::from_secs(5), server).await.expect("serve returns").unwrap().unwrap();
    // And nothing listens any more.
    assert!(reqwest::get(format!("http://{addr}/health")).await.is_err());
}
