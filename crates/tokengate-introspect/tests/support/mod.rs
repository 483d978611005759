//! A real RFC 7662 introspection endpoint on 127.0.0.1 for the tests: it
//! authenticates its client (`api` / `api-secret`, by `client_secret_basic`
//! or `client_secret_post`), answers from a table of tokens, counts calls,
//! records what it was sent, and misbehaves on request.

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
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, Response, Uri, header};
use base64::Engine as _;
use http_body::Frame;
use serde_json::{Value, json};
use tokengate_core::ManualClock;
use tokengate_introspect::{IntrospectionBuilder, IntrospectionSource};

pub const CLIENT_ID: &str = "api";
pub const CLIENT_SECRET: &str = "api-secret";
pub const PATH: &str = "/introspect";

/// How the endpoint answers.
#[derive(Clone, Debug, PartialEq)]
pub enum Mode {
    /// The table's answer for the token (`{"active": false}` for unknown ones).
    Serve,
    /// This status, with a small JSON body (and `Retry-After` when set).
    Status(u16, Option<&'static str>),
    /// Sleeps 10 s before answering (longer than any test's timeout).
    Hang,
    /// `200` with this body, as is.
    Body(&'static str),
    /// `200` with a 2 MiB body and a `Content-Length`.
    Oversized,
    /// `200` with a 2 MiB body sent chunked (no `Content-Length`).
    OversizedChunked,
    /// A `307` to this location.
    Redirect(String),
}

/// What one call carried.
#[derive(Clone, Debug)]
pub struct Seen {
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub form: HashMap<String, String>,
}

struct Behaviour {
    answers: HashMap<String, Value>,
    mode: Mode,
    delay: Duration,
    documents: HashMap<String, Value>,
    seen: Vec<Seen>,
}

struct Shared {
    calls: AtomicUsize,
    behaviour: Mutex<Behaviour>,
}

/// The test endpoint; its tasks end with the test's runtime.
#[derive(Clone)]
pub struct Endpoint {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Endpoint {
    pub async fn start() -> Endpoint {
        let shared = Arc::new(Shared {
            calls: AtomicUsize::new(0),
            behaviour: Mutex::new(Behaviour {
                answers: HashMap::new(),
                mode: Mode::Serve,
                delay: Duration::ZERO,
                documents: HashMap::new(),
                seen: Vec::new(),
            }),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let app = Router::new().fallback(handle).with_state(shared.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.expect("test endpoint") });
        Endpoint { addr, shared }
    }

    /// `http://127.0.0.1:PORT`: also the issuer, for discovery.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn url(&self) -> String {
        format!("{}{PATH}", self.base())
    }

    /// Introspection calls received (discovery documents not counted).
    pub fn calls(&self) -> usize {
        self.shared.calls.load(Ordering::SeqCst)
    }

    fn with<R>(&self, f: impl FnOnce(&mut Behaviour) -> R) -> R {
        f(&mut self.shared.behaviour.lock().unwrap())
    }

    /// The endpoint answers `answer` for `token`.
    pub fn answer(&self, token: &str, answer: Value) {
        self.with(|b| b.answers.insert(token.to_owned(), answer));
    }

    pub fn set_mode(&self, mode: Mode) {
        self.with(|b| b.mode = mode);
    }

    /// Delays every introspection answer.
    pub fn set_delay(&self, delay: Duration) {
        self.with(|b| b.delay = delay);
    }

    /// Serves a metadata document at `path`.
    pub fn serve_document(&self, path: &str, document: Value) {
        self.with(|b| b.documents.insert(path.to_owned(), document));
    }

    /// What every call carried, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.with(|b| b.seen.clone())
    }
}

/// The client authenticated by either method, with the right secret.
fn authenticated(seen: &Seen) -> bool {
    let basic = seen
        .authorization
        .as_deref()
        .and_then(|value| value.strip_prefix("Basic "))
        .and_then(|encoded| base64::engine::general_purpose::STANDARD.decode(encoded).ok())
        .is_some_and(|decoded| decoded == format!("{CLIENT_ID}:{CLIENT_SECRET}").as_bytes());
    let post = seen.form.get("client_id").map(String::as_str) == Some(CLIENT_ID)
        && seen.form.get("client_secret").map(String::as_str) == Some(CLIENT_SECRET);
    basic ^ post
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    if uri.path() != PATH {
        let document = shared.behaviour.lock().unwrap().documents.get(uri.path()).cloned();
        return match document {
            Some(document) => json(200, document.to_string()),
            None => json(404, "{}".into()),
        };
    }
    shared.calls.fetch_add(1, Ordering::SeqCst);
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let seen = Seen {
        authorization: header(header::AUTHORIZATION),
        content_type: header(header::CONTENT_TYPE),
        form: form_urlencoded::parse(&body).into_owned().collect(),
    };
    let (mode, delay, answer) = {
        let mut b = shared.behaviour.lock().unwrap();
        b.seen.push(seen.clone());
        let token = seen.form.get("token").cloned().unwrap_or_default();
        (b.mode.clone(), b.delay, b.answers.get(&token).cloned())
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    match mode {
        Mode::Serve if method != Method::POST => json(405, r#"{"error":"invalid_request"}"#.into()),
        Mode::Serve if !authenticated(&seen) => json(401, r#"{"error":"invalid_client"}"#.into()),
        Mode::Serve => json(200, answer.unwrap_or_else(|| json!({ "active": false })).to_string()),
        Mode::Status(status, retry_after) => {
            let mut response = json(status, r#"{"error":"server_error"}"#.into());
            if let Some(value) = retry_after {
                response.headers_mut().insert(header::RETRY_AFTER, value.parse().unwrap());
            }
            response
        }
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(10)).await;
            json(200, r#"{"active":true}"#.into())
        }
        Mode::Body(body) => json(200, body.into()),
        Mode::Oversized => {
            let mut body = String::from(r#"{"active":true,"padding":""#);
            body.extend(std::iter::repeat_n('a', 2 * 1024 * 1024));
            body.push_str("\"}");
            json(200, body)
        }
        Mode::OversizedChunked => Response::builder()
            .status(200)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::new(Chunks { left: 32 }))
            .unwrap(),
        Mode::Redirect(location) => {
            Response::builder().status(307).header(header::LOCATION, location).body(Body::empty()).unwrap()
        }
    }
}

fn json(status: u16, body: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap()
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

/// A source on `endpoint` (loopback http allowed, `client_secret_basic`) with `clock`.
pub fn source_on(endpoint: &Endpoint, clock: &ManualClock) -> IntrospectionBuilder {
    IntrospectionSource::from_url(&endpoint.url())
        .allow_http_loopback(true)
        .client_secret_basic(CLIENT_ID, CLIENT_SECRET)
        .clock(clock.clone())
}

/// An active answer for `sub`, expiring `exp`.
pub fn active(sub: &str, exp: u64) -> Value {
    json!({ "active": true, "sub": sub, "client_id": "app", "scope": "read", "exp": exp })
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
