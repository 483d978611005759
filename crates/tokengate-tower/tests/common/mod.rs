//! Shared test fixtures: a real key, a validator, tokens, and real servers on
//! 127.0.0.1 driven by reqwest.
#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokengate_core::keys::{KeySource, KeysFuture, KeysUnavailable, RefreshReason};
use tokengate_core::{Algorithm, Issuer, KeySet, Validator};
use tokengate_testkit::{SigningKey, now};
use tower::ServiceExt;

pub const ISSUER: &str = "https://issuer.test";
pub const AUDIENCE: &str = "https://api.test";

pub struct Fixture {
    pub key: SigningKey,
    pub validator: Validator,
}

impl Fixture {
    pub fn new() -> Self {
        let key = SigningKey::generate(Algorithm::ES256).with_kid("k");
        let validator = validator_with(Issuer::new(ISSUER).keys(KeySet::new([key.verification_key()])));
        Fixture { key, validator }
    }

    /// A token for this API, with `extra` claims merged in.
    pub fn token(&self, extra: Value) -> String {
        let mut claims = json!({ "iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "exp": now() + 300 });
        claims.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        self.key.token(&claims)
    }

    pub fn expired(&self) -> String {
        self.token(json!({ "exp": now() - 3600 }))
    }

    /// A token signed by another key with the same `kid`.
    pub fn forged(&self) -> String {
        SigningKey::generate(Algorithm::ES256).with_kid("k").token(&json!({
            "iss": ISSUER, "aud": AUDIENCE, "sub": "mallory", "exp": now() + 300
        }))
    }
}

pub fn validator_with(issuer: Issuer) -> Validator {
    Validator::builder().issuer(issuer.audience(AUDIENCE).algorithms([Algorithm::ES256])).build().unwrap()
}

/// A key source whose keys never arrive.
#[derive(Debug)]
pub struct NoKeys;

impl KeySource for NoKeys {
    fn current(&self) -> Option<std::sync::Arc<KeySet>> {
        None
    }
    fn refresh(&self, _: RefreshReason<'_>) -> KeysFuture<'_> {
        Box::pin(async { Err(KeysUnavailable { retry_after: Duration::from_secs(7) }) })
    }
}

/// Serves a tower service over plain hyper (request body: hyper's `Incoming`,
/// response body: `Full<Bytes>`) on 127.0.0.1:0.
pub async fn serve_hyper<S>(service: S) -> SocketAddr
where
    S: tower::Service<http::Request<Incoming>, Response = http::Response<Full<Bytes>>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let service = service.clone();
            tokio::spawn(async move {
                let hyper_service =
                    hyper::service::service_fn(move |request| service.clone().oneshot(request));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), hyper_service)
                    .await;
            });
        }
    });
    addr
}

/// Serves an axum router on 127.0.0.1:0.
pub async fn serve_axum(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

/// What a test asserts about an answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub www_authenticate: Option<String>,
    pub retry_after: Option<String>,
    pub content_type: Option<String>,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {:?}", self.body))
    }
}

pub async fn fetch(addr: SocketAddr, path: &str, authorization: Option<&str>) -> Answer {
    let mut request = reqwest::Client::new().get(format!("http://{addr}{path}"));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await.unwrap();
    let header = |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
    Answer {
        status: response.status().as_u16(),
        www_authenticate: header("www-authenticate"),
        retry_after: header("retry-after"),
        content_type: header("content-type"),
        body: response.text().await.unwrap(),
    }
}

pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// Asserts a refusal with a JSON body: status, challenge, body.
pub fn assert_refused(answer: &Answer, status: u16, code: &str, description: &str) {
    assert_eq!(answer.status, status, "{answer:?}");
    assert_eq!(
        answer.www_authenticate.as_deref(),
        Some(
            format!(r#"Bearer realm="tokengate", error="{code}", error_description="{description}""#)
                .as_str()
        ),
        "{answer:?}"
    );
    assert_eq!(answer.content_type.as_deref(), Some("application/json"));
    assert_eq!(answer.json(), json!({ "error": code, "error_description": description }));
}

/// Asserts the bare 401 of a request without a token.
pub fn assert_no_token(answer: &Answer) {
    assert_eq!(answer.status, 401, "{answer:?}");
    assert_eq!(answer.www_authenticate.as_deref(), Some(r#"Bearer realm="tokengate""#));
    assert_eq!(answer.body, "");
    assert_eq!(answer.content_type, None);
}

pub fn assert_insufficient_scope(answer: &Answer, scope: &str, display: &str) {
    assert_eq!(answer.status, 403, "{answer:?}");
    let description = format!("the token lacks the scope this resource requires ({display})");
    assert_eq!(
        answer.www_authenticate.as_deref(),
        Some(
            format!(
                r#"Bearer realm="tokengate", error="insufficient_scope", error_description="{description}", scope="{scope}""#
            )
            .as_str()
        ),
    );
    assert_eq!(answer.json(), json!({ "error": "insufficient_scope", "error_description": description }));
}
