//! The built-in demo issuer: a fresh key pair whose JWK Set and OpenID
//! discovery document are served over real HTTP on loopback, and the tokens
//! the demo prints.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use tokengate_core::{Algorithm, AlgorithmSet};
use tokengate_testkit::{SigningKey, jwk_set, now};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::api::{ADMIN_SCOPE, TRANSFER_SCOPE, Trusted};

/// The audience of the demo's tokens.
pub const DEMO_AUDIENCE: &str = "https://api.tokengate.demo";
/// Where the demo issuer serves its JWK Set.
pub const JWKS_PATH: &str = "/jwks.json";
/// Where the demo issuer serves its OpenID Connect discovery document.
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";
/// Lifetime of the demo's valid tokens.
pub const TOKEN_LIFETIME_SECS: u64 = 3600;

/// A running demo issuer; it stops when dropped.
#[derive(Debug)]
pub struct DemoIssuer {
    key: Arc<SigningKey>,
    issuer: String,
    jwks_fetches: Arc<AtomicUsize>,
    server: JoinHandle<()>,
}

impl Drop for DemoIssuer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl DemoIssuer {
    /// Generates a key pair (ES256 when `algorithms` allows it, else the first
    /// asymmetric algorithm it allows) and serves its JWK Set and discovery
    /// document on `127.0.0.1:0`. The issuer is `http://127.0.0.1:PORT`.
    pub async fn start(algorithms: AlgorithmSet) -> std::io::Result<DemoIssuer> {
        let alg = if algorithms.contains(Algorithm::ES256) {
            Algorithm::ES256
        } else {
            algorithms.iter().find(|alg| !alg.is_symmetric()).unwrap_or(Algorithm::ES256)
        };
        let key = Arc::new(SigningKey::generate(alg).with_kid(format!("demo-{}", random_hex())));
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let issuer = format!("http://{}", listener.local_addr()?);

        let discovery = json!({
            "issuer": issuer,
            "jwks_uri": format!("{issuer}{JWKS_PATH}"),
            "response_types_supported": ["token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [alg.name()],
        });
        let jwks = jwk_set([&*key]);
        let jwks_fetches = Arc::new(AtomicUsize::new(0));
        let counter = jwks_fetches.clone();
        let app = Router::new()
            .route(
                JWKS_PATH,
                get(move || {
                    counter.fetch_add(1, Ordering::Relaxed);
                    let jwks = jwks.clone();
                    async move { Json(jwks) }
                }),
            )
            .route(DISCOVERY_PATH, get(move || async move { Json(discovery) }));
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(%error, "demo issuer stopped");
            }
        });
        Ok(DemoIssuer { key, issuer, jwks_fetches, server })
    }

    /// The issuer identifier (`iss`), also the base of its discovery URL.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// How many times its JWK Set was fetched.
    pub fn jwks_fetches(&self) -> usize {
        self.jwks_fetches.load(Ordering::Relaxed)
    }

    /// The URL of its JWK Set.
    pub fn jwks_url(&self) -> String {
        format!("{}{JWKS_PATH}", self.issuer)
    }

    /// What a server configured against it trusts.
    pub fn trusted(&self) -> Trusted {
        Trusted { issuer: self.issuer.clone(), audience: DEMO_AUDIENCE.to_owned() }
    }

    /// The signing key.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// A token with the demo's `iss`, `aud`, `sub`, `client_id`, `iat`, and
    /// `exp` one hour from now, plus the members of `extra` (which win).
    pub fn token(&self, extra: Value) -> String {
        let issued = now();
        let mut claims = json!({
            "iss": self.issuer,
            "aud": DEMO_AUDIENCE,
            "sub": "demo-user",
            "client_id": "demo-client",
            "iat": issued,
            "exp": issued + TOKEN_LIFETIME_SECS,
        });
        if let (Some(claims), Value::Object(extra)) = (claims.as_object_mut(), extra) {
            claims.extend(extra);
        }
        self.key.token(&claims)
    }

    /// A valid token without special scopes.
    pub fn valid_token(&self) -> String {
        self.token(json!({ "scope": "profile" }))
    }

    /// A valid token with scope `admin`.
    pub fn admin_token(&self) -> String {
        self.token(json!({ "scope": ADMIN_SCOPE, "sub": "demo-admin" }))
    }

    /// A valid single-use token: scope `transfer` and a fresh `jti`.
    pub fn transfer_token(&self) -> String {
        self.token(json!({ "scope": TRANSFER_SCOPE, "jti": random_hex() }))
    }

    /// A token that expired an hour ago.
    pub fn expired_token(&self) -> String {
        let issued = now() - 2 * TOKEN_LIFETIME_SECS;
        self.token(json!({ "scope": "profile", "iat": issued, "exp": issued + TOKEN_LIFETIME_SECS }))
    }

    /// The ready-to-paste `curl` lines printed after `listening on`, for a
    /// server reachable at `base_url` (no trailing slash).
    pub fn curl_lines(&self, base_url: &str) -> Vec<String> {
        let curl = |comment: &str, method: &str, path: &str, token: &str| {
            let method = if method == "GET" { String::new() } else { format!("-X {method} ") };
            [
                format!("# {comment}"),
                format!("curl -i {method}{base_url}{path} -H 'Authorization: Bearer {token}'"),
            ]
        };
        let mut lines = vec![format!("demo issuer {} (JWK Set {})", self.issuer, self.jwks_url())];
        lines.extend(curl("a valid token: 200 with who you are", "GET", crate::api::ME, &self.valid_token()));
        lines.extend(curl(
            "an admin token: 200 {\"ok\":true}",
            "GET",
            crate::api::ADMIN,
            &self.admin_token(),
        ));
        lines.extend(curl(
            "a single-use transfer token (scope transfer, a jti): POST /transfer accepts it once",
            "POST",
            crate::api::TRANSFER,
            &self.transfer_token(),
        ));
        lines.extend(curl(
            "an expired token: 401 invalid_token",
            "GET",
            crate::api::ME,
            &self.expired_token(),
        ));
        lines
    }
}

/// 64 random bits as hex (the process's randomly keyed SipHash of the time).
fn random_hex() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    format!("{:016x}", RandomState::new().hash_one(nanos))
}
