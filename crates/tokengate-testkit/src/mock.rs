//! [`MockIssuer`]: an identity provider for your integration tests, on
//! loopback: OpenID Connect discovery and a JWK Set over real HTTP, tokens
//! signed with its keys (good ones and every kind of bad one), key rotation,
//! and failures on demand.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use tokengate_core::Algorithm;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::{SigningKey, jwk_set, now};

/// Where the mock serves its JWK Set.
pub const JWKS_PATH: &str = "/jwks.json";
/// Where it serves its OpenID Connect discovery document.
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";
/// The audience of its tokens unless configured otherwise.
pub const DEFAULT_AUDIENCE: &str = "https://api.tokengate.test";
/// The lifetime of its tokens unless claims say otherwise: one hour.
pub const TOKEN_LIFETIME_SECS: u64 = 3600;

/// How the mock's endpoints misbehave, when told to ([`MockIssuer::fail`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// Answer normally.
    #[default]
    None,
    /// Answer 500.
    ServerError,
    /// Never answer (the client's timeout fires).
    Hang,
    /// Answer 200 with a body that is not JSON.
    Garbage,
}

/// An issuer on `127.0.0.1`, for tests: point a validator (or a whole
/// service) at [`MockIssuer::issuer`] and it discovers the keys like it
/// would a real provider's.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use tokengate_testkit::MockIssuer;
/// let idp = MockIssuer::start().await?;
/// let token = idp.token(serde_json::json!({ "sub": "alice", "scope": "read" }));
/// // … a validator trusting idp.issuer() for idp.audience(), keys by discovery
/// //   (allow http on loopback), accepts `token`; `idp.expired_token()` is refused.
/// idp.rotate(); // new signing key, published beside the old one
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct MockIssuer {
    issuer: String,
    audience: String,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

#[derive(Debug)]
struct Shared {
    /// Published keys; the last one signs.
    keys: Mutex<Vec<Arc<SigningKey>>>,
    failure: Mutex<Failure>,
    jwks_fetches: AtomicUsize,
    discovery_fetches: AtomicUsize,
    alg: Algorithm,
    issuer: String,
}

impl Drop for MockIssuer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl MockIssuer {
    /// An ES256 issuer at `http://127.0.0.1:PORT`.
    pub async fn start() -> std::io::Result<MockIssuer> {
        MockIssuer::start_with(Algorithm::ES256).await
    }

    /// An issuer signing with `alg` (asymmetric: a JWK Set publishes no secret).
    pub async fn start_with(alg: Algorithm) -> std::io::Result<MockIssuer> {
        assert!(!alg.is_symmetric(), "a JWK Set never publishes an HMAC secret");
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let issuer = format!("http://{}", listener.local_addr()?);
        let shared = Arc::new(Shared {
            keys: Mutex::new(vec![Arc::new(SigningKey::generate(alg).with_kid(fresh_kid()))]),
            failure: Mutex::new(Failure::None),
            jwks_fetches: AtomicUsize::new(0),
            discovery_fetches: AtomicUsize::new(0),
            alg,
            issuer: issuer.clone(),
        });
        let app = Router::new()
            .route(JWKS_PATH, get(jwks))
            .route(DISCOVERY_PATH, get(discovery))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(MockIssuer { issuer, audience: DEFAULT_AUDIENCE.to_owned(), shared, server })
    }

    /// Tokens carry `aud` = `audience` (default [`DEFAULT_AUDIENCE`]).
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = audience.into();
        self
    }

    /// The issuer identifier (`iss`), also the base of its discovery URL.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The audience of its tokens.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The URL of its JWK Set.
    pub fn jwks_url(&self) -> String {
        format!("{}{JWKS_PATH}", self.issuer)
    }

    /// The key that signs its tokens now.
    pub fn signing_key(&self) -> Arc<SigningKey> {
        self.shared.keys().last().expect("an issuer always has a key").clone()
    }

    /// A token signed with the current key: `iss`, `aud`, `sub` ("alice"),
    /// `iat` (now), `exp` (in an hour) and a fresh `jti`, with the members of
    /// `claims` set on top (`null` removes one).
    pub fn token(&self, claims: Value) -> String {
        self.signing_key().token(&self.claims(claims))
    }

    /// A token that passes every default check.
    pub fn valid_token(&self) -> String {
        self.token(json!({}))
    }

    /// A token that expired an hour ago.
    pub fn expired_token(&self) -> String {
        let issued = now() - 2 * TOKEN_LIFETIME_SECS;
        self.token(json!({ "iat": issued, "exp": issued + TOKEN_LIFETIME_SECS }))
    }

    /// A token for another audience.
    pub fn wrong_audience_token(&self) -> String {
        self.token(json!({ "aud": "https://someone-else.test" }))
    }

    /// A token with the right `kid` and claims, signed by a key the issuer
    /// never published (a forgery).
    pub fn wrong_key_token(&self) -> String {
        let current = self.signing_key();
        let forger = SigningKey::generate(self.shared.alg).with_kid(current.kid().unwrap_or_default());
        forger.token(&self.claims(json!({})))
    }

    /// A DPoP-bound token (RFC 9449 §6.1): `cnf.jkt` is `client`'s thumbprint.
    pub fn bound_token(&self, client: &SigningKey, claims: Value) -> String {
        let jkt = client.jwk_thumbprint().expect("a DPoP key is asymmetric");
        let mut claims = claims;
        if let Value::Object(members) = &mut claims {
            members.insert("cnf".into(), json!({ "jkt": jkt }));
        }
        self.token(claims)
    }

    /// Rotates keys: a new key signs from now on, published beside the old
    /// ones. Returns its `kid`.
    pub fn rotate(&self) -> String {
        let key = Arc::new(SigningKey::generate(self.shared.alg).with_kid(fresh_kid()));
        let kid = key.kid().unwrap_or_default().to_owned();
        self.shared.keys().push(key);
        kid
    }

    /// Stops publishing every key but the current one.
    pub fn retire_old_keys(&self) {
        let mut keys = self.shared.keys();
        let current = keys.pop().expect("an issuer always has a key");
        *keys = vec![current];
    }

    /// Makes both endpoints misbehave (or behave again, with [`Failure::None`]).
    pub fn fail(&self, failure: Failure) {
        *self.shared.failure.lock().unwrap_or_else(PoisonError::into_inner) = failure;
    }

    /// How many times its JWK Set was fetched.
    pub fn jwks_fetches(&self) -> usize {
        self.shared.jwks_fetches.load(Ordering::Relaxed)
    }

    /// How many times its discovery document was fetched.
    pub fn discovery_fetches(&self) -> usize {
        self.shared.discovery_fetches.load(Ordering::Relaxed)
    }

    fn claims(&self, changes: Value) -> Value {
        let issued = now();
        let mut claims = json!({
            "iss": self.issuer,
            "aud": self.audience,
            "sub": "alice",
            "iat": issued,
            "exp": issued + TOKEN_LIFETIME_SECS,
            "jti": fresh_kid(),
        });
        if let (Some(members), Value::Object(changes)) = (claims.as_object_mut(), changes) {
            for (name, value) in changes {
                if value.is_null() {
                    members.remove(&name);
                } else {
                    members.insert(name, value);
                }
            }
        }
        claims
    }
}

impl Shared {
    fn keys(&self) -> MutexGuard<'_, Vec<Arc<SigningKey>>> {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The configured misbehaviour, if any, as a response.
    async fn misbehave(&self) -> Option<Response> {
        let failure = *self.failure.lock().unwrap_or_else(PoisonError::into_inner);
        match failure {
            Failure::None => None,
            Failure::ServerError => Some(StatusCode::INTERNAL_SERVER_ERROR.into_response()),
            Failure::Garbage => {
                Some(([(header::CONTENT_TYPE, "application/json")], "<html>").into_response())
            }
            Failure::Hang => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Some(StatusCode::GATEWAY_TIMEOUT.into_response())
            }
        }
    }
}

async fn jwks(State(shared): State<Arc<Shared>>) -> Response {
    shared.jwks_fetches.fetch_add(1, Ordering::Relaxed);
    if let Some(failure) = shared.misbehave().await {
        return failure;
    }
    let keys = shared.keys().clone();
    Json(jwk_set(keys.iter().map(|key| &**key))).into_response()
}

async fn discovery(State(shared): State<Arc<Shared>>) -> Response {
    shared.discovery_fetches.fetch_add(1, Ordering::Relaxed);
    if let Some(failure) = shared.misbehave().await {
        return failure;
    }
    Json(json!({
        "issuer": shared.issuer,
        "jwks_uri": format!("{}{JWKS_PATH}", shared.issuer),
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [shared.alg.name()],
    }))
    .into_response()
}

/// 64 random bits as hex.
fn fresh_kid() -> String {
    let mut bytes = [0u8; 8];
    aws_lc_rs::rand::fill(&mut bytes).expect("random bytes");
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
