//! A real HTTP issuer on 127.0.0.1 for the tests: serves a JWK Set and
//! discovery documents, counts hits, and misbehaves on request; and the
//! helpers the test files share.

// Each test file uses only part of this module.
#![allow(dead_code)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Response, StatusCode, Uri, header};
use bytes::Bytes;
use http_body::Frame;
use serde_json::{Value, json};
use tokengate_core::keys::{KeySource as _, RefreshReason};
use tokengate_core::{Algorithm, Error, Issuer, ManualClock, StandardClaims, Validator};
use tokengate_jwks::{JwksBuilder, JwksSource};
use tokengate_testkit::{SigningKey, b64};

pub const AUDIENCE: &str = "https://api.test";

/// How the JWK Set endpoint answers.
#[derive(Clone, Debug, PartialEq)]
pub enum Mode {
    /// The current key set, with the configured `Cache-Control`.
    Serve,
    /// This status, with a small body.
    Status(u16),
    /// Sleeps 10 s before answering (longer than any test's timeout).
    Hang,
    /// `200` with a body that is not JSON.
    Garbage,
    /// `200` with a 2 MiB body and a `Content-Length`.
    Oversized,
    /// `200` with a 2 MiB body sent chunked (no `Content-Length`).
    OversizedChunked,
    /// A `302` to this location.
    Redirect(String),
}

struct Behaviour {
    jwks: Value,
    mode: Mode,
    cache_control: Option<String>,
    delay: Duration,
    /// Path → (status, document) for discovery documents.
    documents: HashMap<String, (u16, Value)>,
    user_agents: Vec<String>,
}

struct Shared {
    jwks_hits: AtomicUsize,
    discovery_hits: AtomicUsize,
    behaviour: Mutex<Behaviour>,
}

/// The test issuer; its tasks end with the test's runtime.
#[derive(Clone)]
pub struct TestIssuer {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl TestIssuer {
    pub async fn start(jwks: Value) -> TestIssuer {
        let shared = Arc::new(Shared {
            jwks_hits: AtomicUsize::new(0),
            discovery_hits: AtomicUsize::new(0),
            behaviour: Mutex::new(Behaviour {
                jwks,
                mode: Mode::Serve,
                cache_control: None,
                delay: Duration::ZERO,
                documents: HashMap::new(),
                user_agents: Vec::new(),
            }),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let app = Router::new().fallback(handle).with_state(shared.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.expect("test server") });
        TestIssuer { addr, shared }
    }

    /// `http://127.0.0.1:PORT`
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn jwks_url(&self) -> String {
        format!("{}/jwks", self.base())
    }

    pub fn jwks_hits(&self) -> usize {
        self.shared.jwks_hits.load(Ordering::SeqCst)
    }

    pub fn discovery_hits(&self) -> usize {
        self.shared.discovery_hits.load(Ordering::SeqCst)
    }

    fn with<R>(&self, f: impl FnOnce(&mut Behaviour) -> R) -> R {
        f(&mut self.shared.behaviour.lock().unwrap())
    }

    /// Rotation: replaces the published key set.
    pub fn publish(&self, jwks: Value) {
        self.with(|b| b.jwks = jwks);
    }

    pub fn set_mode(&self, mode: Mode) {
        self.with(|b| b.mode = mode);
    }

    pub fn set_cache_control(&self, value: Option<&str>) {
        self.with(|b| b.cache_control = value.map(str::to_owned));
    }

    /// Delays every JWK Set answer.
    pub fn set_delay(&self, delay: Duration) {
        self.with(|b| b.delay = delay);
    }

    /// Serves a discovery document (or an error status) at `path`.
    pub fn serve_document(&self, path: &str, status: u16, document: Value) {
        self.with(|b| b.documents.insert(path.to_owned(), (status, document)));
    }

    pub fn user_agents(&self) -> Vec<String> {
        self.with(|b| b.user_agents.clone())
    }
}

async fn handle(State(shared): State<Arc<Shared>>, uri: Uri, headers: HeaderMap) -> Response<Body> {
    let path = uri.path().to_owned();
    let user_agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    if path != "/jwks" {
        let document = {
            let mut b = shared.behaviour.lock().unwrap();
            b.user_agents.push(user_agent);
            b.documents.get(&path).cloned()
        };
        shared.discovery_hits.fetch_add(1, Ordering::SeqCst);
        return match document {
            Some((status, document)) => json_response(status, document.to_string().into(), None),
            None => json_response(404, "{}".into(), None),
        };
    }
    shared.jwks_hits.fetch_add(1, Ordering::SeqCst);
    let (mode, jwks, cache_control, delay) = {
        let mut b = shared.behaviour.lock().unwrap();
        b.user_agents.push(user_agent);
        (b.mode.clone(), b.jwks.clone(), b.cache_control.clone(), b.delay)
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    match mode {
        Mode::Serve => json_response(200, jwks.to_string().into(), cache_control),
        Mode::Status(status) => json_response(status, r#"{"error":"down"}"#.into(), None),
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(10)).await;
            json_response(200, jwks.to_string().into(), None)
        }
        Mode::Garbage => json_response(200, "<html>this is not JSON</html>".into(), None),
        Mode::Oversized => {
            let mut body = br#"{"keys":[],"padding":""#.to_vec();
            body.resize(2 * 1024 * 1024, b'a');
            body.extend_from_slice(b"\"}");
            json_response(200, body.into(), None)
        }
        Mode::OversizedChunked => Response::builder()
            .status(200)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::new(Chunks { left: 32 }))
            .unwrap(),
        Mode::Redirect(location) => {
            Response::builder().status(302).header(header::LOCATION, location).body(Body::empty()).unwrap()
        }
    }
}

fn json_response(status: u16, body: Bytes, cache_control: Option<String>) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(value) = cache_control {
        response.headers_mut().insert(header::CACHE_CONTROL, value.parse().unwrap());
    }
    response
}

/// A body of `left` 64 KiB chunks with no announced length.
struct Chunks {
    left: usize,
}

impl http_body::Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        self.left -= 1;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![b' '; 64 * 1024])))))
    }
}

/// Logs to the test output when `RUST_LOG` is set.
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .try_init();
}

pub fn es256(kid: &str) -> SigningKey {
    SigningKey::generate(Algorithm::ES256).with_kid(kid)
}

/// A source on `issuer`'s JWK Set URL (loopback http allowed) with `clock`.
pub fn source_on(issuer: &TestIssuer, clock: &ManualClock) -> JwksBuilder {
    JwksSource::from_url(&issuer.jwks_url()).allow_http_loopback(true).clock(clock.clone())
}

/// A source on `issuer`'s JWK Set URL, with the given clock, whose
/// start-up fetch has completed (and was the only one).
pub async fn ready_source(issuer: &TestIssuer, clock: &ManualClock) -> JwksSource {
    ready(source_on(issuer, clock), issuer).await
}

/// Builds `builder` (a source on `issuer`) and waits for its start-up
/// fetch, which must succeed and be the only one.
pub async fn ready(builder: JwksBuilder, issuer: &TestIssuer) -> JwksSource {
    let source = builder.build().expect("build");
    // Joins the start-up fetch (or sees its keys); never starts another.
    source.refresh(RefreshReason::NoKeysYet).await.expect("first fetch");
    assert_eq!(issuer.jwks_hits(), 1);
    source
}

/// Validates `token`, keeping only the outcome.
pub async fn validate(validator: &Validator, token: &str) -> Result<(), Error> {
    validator.validate_token::<StandardClaims>(token).await.map(|_| ())
}

/// A validator trusting `issuer` with keys from `source`, on `clock`.
pub fn validator(
    issuer: &str,
    source: impl tokengate_core::keys::KeySource,
    clock: &ManualClock,
) -> Validator {
    Validator::builder()
        .issuer(Issuer::new(issuer).audience(AUDIENCE).algorithms([Algorithm::ES256]).key_source(source))
        .clock(clock.clone())
        .build()
        .expect("validator")
}

/// A valid access token for `issuer`, good for 12 hours of `clock` time:
/// longer than any test moves the clock while validating, shorter than the
/// validator's default maximum token lifetime.
pub fn token(key: &SigningKey, issuer: &str, clock: &ManualClock) -> String {
    use tokengate_core::Clock as _;
    key.token(&json!({
        "iss": issuer,
        "aud": AUDIENCE,
        "sub": "alice",
        "iat": clock.now(),
        "exp": clock.now() + 12 * 3600,
    }))
}

/// A forged token naming `kid`, with a signature that was never computed:
/// what an attacker sends to make the source fetch.
pub fn forged_token(kid: &str, issuer: &str, clock: &ManualClock) -> String {
    use tokengate_core::Clock as _;
    let header = json!({ "alg": "ES256", "typ": "JWT", "kid": kid });
    let claims = json!({ "iss": issuer, "aud": AUDIENCE, "exp": clock.now() + 3600 });
    format!("{}.{}.{}", b64(header.to_string()), b64(claims.to_string()), b64([7u8; 64]))
}

/// Polls `condition` every 10 ms for at most `limit`.
pub async fn eventually(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    condition()
}
