//! Introspection for the cross-crate tests: an RFC 7662 endpoint served on
//! loopback by the test (axum), answering from a table, authenticating its
//! client and counting calls; and a real authorization server
//! (oidc-provider, npm) issuing opaque access tokens and introspecting them.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Response, Uri, header};
use base64::Engine as _;
use serde_json::{Value, json};

/// The resource server's credentials at the endpoint (`client_secret_basic`).
pub const CLIENT_ID: &str = "api";
pub const CLIENT_SECRET: &str = "api-secret";

/// How the endpoint answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The table's answer (`{"active": false}` for tokens it does not know).
    Serve,
    /// This status with a small JSON body.
    Status(u16),
}

struct Shared {
    calls: AtomicUsize,
    answers: Mutex<HashMap<String, Value>>,
    mode: Mutex<Mode>,
    delay: Mutex<Duration>,
}

/// An introspection endpoint on `127.0.0.1`; it runs as long as the test's runtime.
#[derive(Clone)]
pub struct IntrospectionEndpoint {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl IntrospectionEndpoint {
    pub async fn start() -> IntrospectionEndpoint {
        let shared = Arc::new(Shared {
            calls: AtomicUsize::new(0),
            answers: Mutex::new(HashMap::new()),
            mode: Mutex::new(Mode::Serve),
            delay: Mutex::new(Duration::ZERO),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new().fallback(introspect).with_state(shared.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        IntrospectionEndpoint { addr, shared }
    }

    /// `http://127.0.0.1:PORT/introspect`
    pub fn url(&self) -> String {
        format!("http://{}/introspect", self.addr)
    }

    /// The variables pointing a demo server at this endpoint, plus `extra`.
    pub fn vars(&self, extra: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
        let mut vars = vec![
            ("TOKENGATE_INTROSPECTION_URL", self.url()),
            ("TOKENGATE_CLIENT_ID", CLIENT_ID.to_owned()),
            ("TOKENGATE_CLIENT_SECRET", CLIENT_SECRET.to_owned()),
        ];
        vars.extend(extra.iter().map(|(name, value)| (*name, (*value).to_owned())));
        vars
    }

    /// Introspection calls so far.
    pub fn calls(&self) -> usize {
        self.shared.calls.load(Ordering::SeqCst)
    }

    /// The endpoint answers `answer` for `token`.
    pub fn answer(&self, token: &str, answer: Value) {
        self.shared.answers.lock().unwrap().insert(token.to_owned(), answer);
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.shared.mode.lock().unwrap() = mode;
    }

    /// Delays every answer (to hold calls in flight).
    pub fn set_delay(&self, delay: Duration) {
        *self.shared.delay.lock().unwrap() = delay;
    }
}

async fn introspect(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    if uri.path() != "/introspect" {
        return respond(404, json!({ "error": "not_found" }));
    }
    shared.calls.fetch_add(1, Ordering::SeqCst);
    let delay = *shared.delay.lock().unwrap();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let mode = *shared.mode.lock().unwrap();
    if let Mode::Status(status) = mode {
        return respond(status, json!({ "error": "server_error" }));
    }
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    if headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return respond(401, json!({ "error": "invalid_client" }));
    }
    let token =
        form_urlencoded::parse(&body).find(|(name, _)| name == "token").map(|(_, value)| value.into_owned());
    let answer = token.and_then(|token| shared.answers.lock().unwrap().get(&token).cloned());
    respond(200, answer.unwrap_or_else(|| json!({ "active": false })))
}

fn respond(status: u16, body: Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

/// A URL where nothing listens: an endpoint that is down.
pub fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}/introspect", listener.local_addr().unwrap())
}

/// oidc-provider (npm, from `tests/interop/node_modules`) issuing opaque
/// client-credentials access tokens for `https://api.test` (client `svc` /
/// `svc-secret`, scopes `read admin`), introspecting them for the resource
/// server's client `api` / `api-secret`, and revoking them for `svc`.
/// Killed on drop.
pub struct OpaqueTokenProvider {
    child: std::process::Child,
    /// The issuer URL (`http://127.0.0.1:PORT`).
    pub issuer: String,
}

/// The provider's script, run with `node --input-type=module` from
/// `tests/interop/`, where its packages are installed.
const PROVIDER_SCRIPT: &str = include_str!("opaque_provider.mjs");

impl OpaqueTokenProvider {
    /// Starts the provider; `Err` says why it cannot run here.
    pub fn start() -> Result<OpaqueTokenProvider, String> {
        use std::io::BufRead as _;
        use std::process::{Command, Stdio};
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("interop");
        if Command::new("node").arg("--version").output().is_err() {
            return Err("node is not on PATH".into());
        }
        if !dir.join("node_modules/oidc-provider").exists() {
            return Err(
                "tests/interop/node_modules/oidc-provider is missing: run tests/interop/install.sh".into()
            );
        }
        let mut child = Command::new("node")
            .args(["--input-type=module", "--eval", PROVIDER_SCRIPT])
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start node: {e}"))?;
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut provider = OpaqueTokenProvider { child, issuer: String::new() };
        let line = lines
            .recv_timeout(Duration::from_secs(8))
            .map_err(|_| "oidc-provider printed no `listening on` line".to_owned())?;
        provider.issuer =
            line.strip_prefix("listening on ").ok_or(format!("unexpected line `{line}`"))?.to_owned();
        Ok(provider)
    }

    /// Its introspection endpoint (also in its discovery document).
    pub fn introspection_endpoint(&self) -> String {
        format!("{}/token/introspection", self.issuer)
    }

    fn client() -> reqwest::Client {
        reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap()
    }

    /// An opaque client-credentials access token for `https://api.test` with `scope`.
    pub async fn token(&self, scope: &str) -> String {
        let response = Self::client()
            .post(format!("{}/token", self.issuer))
            .basic_auth("svc", Some("svc-secret"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("grant_type=client_credentials&scope={scope}&resource=https%3A%2F%2Fapi.test"))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "token endpoint: {}", response.status());
        let body: Value = response.json().await.unwrap();
        let token = body["access_token"].as_str().expect("an access token").to_owned();
        assert_eq!(token.matches('.').count(), 0, "an opaque token, not a JWT: {token}");
        token
    }

    /// Revokes `token` at the provider (RFC 7009).
    pub async fn revoke(&self, token: &str) {
        let response = Self::client()
            .post(format!("{}/token/revocation", self.issuer))
            .basic_auth("svc", Some("svc-secret"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("token={token}&token_type_hint=access_token"))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "revocation endpoint: {}", response.status());
    }
}

impl Drop for OpaqueTokenProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the provider, or says why not: skipped (printed), unless
/// `TOKENGATE_REQUIRE_INTEROP=1`, which makes it a failure.
pub fn opaque_provider_or_skip() -> Option<OpaqueTokenProvider> {
    match OpaqueTokenProvider::start() {
        Ok(provider) => Some(provider),
        Err(reason) if std::env::var_os("TOKENGATE_REQUIRE_INTEROP").is_some_and(|v| v == "1") => {
            panic!("oidc-provider is required (TOKENGATE_REQUIRE_INTEROP=1): {reason}")
        }
        Err(reason) => {
            eprintln!("!!!!!!!! SKIPPED: oidc-provider — {reason} !!!!!!!!");
            None
        }
    }
}
