//! The API every demo server protects: its route table, the shapes of its
//! answers, and the validator built from a [`Config`].

use serde::Serialize;
use serde_json::{Value, json};
use tokengate::jwks::JwksSource;
use tokengate::{Issuer, StandardClaims, Validator, Verified};

use crate::config::{Config, ConfigError, Trust};

/// `GET /health`.
pub const HEALTH: &str = "/health";
/// `GET /.well-known/oauth-protected-resource` (RFC 9728).
pub const METADATA: &str = "/.well-known/oauth-protected-resource";
/// `GET /me`.
pub const ME: &str = "/me";
/// `GET /admin`.
pub const ADMIN: &str = "/admin";
/// `POST /transfer`.
pub const TRANSFER: &str = "/transfer";
/// `POST /admin/revoke`.
pub const REVOKE: &str = "/admin/revoke";

/// The scope `/admin` and `/admin/revoke` require.
pub const ADMIN_SCOPE: &str = "admin";
/// The scope `/transfer` requires.
pub const TRANSFER_SCOPE: &str = "transfer";
/// `scopes_supported` of the metadata document.
pub const SCOPES_SUPPORTED: [&str; 2] = [ADMIN_SCOPE, TRANSFER_SCOPE];

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone, no token.
    Public,
    /// Any valid access token.
    AnyToken,
    /// A valid token granting this scope.
    Scope(&'static str),
    /// A valid token granting this scope and carrying a `jti`, usable once.
    SingleUse(&'static str),
}

/// One row of the contract's route table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The path.
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// `None` when the demos serve it; otherwise what it waits for. Such
    /// routes are not registered yet (they answer 404).
    pub pending: Option<&'static str>,
}

/// The contract's route table.
pub const ROUTES: [Route; 6] = [
    Route { method: "GET", path: HEALTH, access: Access::Public, pending: None },
    Route { method: "GET", path: METADATA, access: Access::Public, pending: None },
    Route { method: "GET", path: ME, access: Access::AnyToken, pending: None },
    Route { method: "GET", path: ADMIN, access: Access::Scope(ADMIN_SCOPE), pending: None },
    // ROOM: single-use `jti` records come with the replay-store issue.
    Route {
        method: "POST",
        path: TRANSFER,
        access: Access::SingleUse(TRANSFER_SCOPE),
        pending: Some("single-use jti (replay store)"),
    },
    // ROOM: revocation comes with the revocation-store issue.
    Route {
        method: "POST",
        path: REVOKE,
        access: Access::Scope(ADMIN_SCOPE),
        pending: Some("revocation store"),
    },
];

/// The body of `GET /health`.
pub const HEALTH_BODY: &str = "ok";

/// The JSON body of `GET /me`: `{"sub", "iss", "client_id", "scopes", "jti", "exp"}`,
/// absent claims as `null`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Me {
    /// `sub`.
    pub sub: Option<String>,
    /// `iss`.
    pub iss: Option<String>,
    /// `client_id`.
    pub client_id: Option<String>,
    /// The granted scopes, sorted.
    pub scopes: Vec<String>,
    /// `jti`.
    pub jti: Option<String>,
    /// `exp`.
    pub exp: Option<u64>,
}

impl Me {
    /// What `/me` reports about `verified`.
    pub fn of<C>(verified: &Verified<C>) -> Me {
        Me {
            sub: verified.subject().map(str::to_owned),
            iss: verified.issuer().map(str::to_owned),
            client_id: verified.client_id().map(str::to_owned),
            scopes: verified.scopes().iter().map(str::to_owned).collect(),
            jti: verified.token_id().map(str::to_owned),
            exp: verified.expires_at(),
        }
    }
}

/// The JSON body of `GET /admin`.
pub fn admin_body() -> Value {
    json!({ "ok": true })
}

/// The issuer and audience a server ends up trusting (the demo issuer's in
/// demo mode).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trusted {
    /// The expected `iss`.
    pub issuer: String,
    /// The expected `aud`.
    pub audience: String,
}

/// The RFC 9728 protected-resource metadata document of `GET /.well-known/oauth-protected-resource`.
pub fn resource_metadata(config: &Config, trusted: &Trusted) -> Value {
    json!({
        "resource": config.resource.as_deref().unwrap_or(&trusted.audience),
        "authorization_servers": [trusted.issuer],
        "scopes_supported": SCOPES_SUPPORTED,
        "bearer_methods_supported": ["header"],
    })
}

/// The key source for `config`: a [`JwksSource`] fetching the JWK Set URL
/// when configured, else the issuer's discovery document. Must be called
/// inside a Tokio runtime: the first fetch starts now, in the background;
/// until keys arrive, requests get 503.
pub fn key_source(config: &Config, trusted: &Trusted) -> Result<JwksSource, ConfigError> {
    let builder = match &config.trust {
        Trust::Issuer { jwks_url: Some(url), .. } => JwksSource::from_url(url.as_str()),
        Trust::Issuer { jwks_url: None, .. } | Trust::Demo => JwksSource::discover(&trusted.issuer),
    };
    builder
        // The demo issuer always runs on loopback http.
        .allow_http_loopback(config.insecure_http || config.trust == Trust::Demo)
        .cooldown(config.jwks_cooldown)
        .default_refresh_interval(config.jwks_refresh)
        .build()
        .map_err(|e| ConfigError(format!("key set: {e}")))
}

/// The validator for `config`, trusting `trusted` with keys from `keys`.
pub fn validator(config: &Config, trusted: &Trusted, keys: JwksSource) -> Result<Validator, ConfigError> {
    Validator::builder()
        .issuer(
            Issuer::new(&trusted.issuer)
                .audience(&trusted.audience)
                .algorithms(config.algorithms)
                .leeway(config.leeway)
                .key_source(keys),
        )
        .build()
        .map_err(|e| ConfigError(e.to_string()))
}

/// The claims type the demos use.
pub type Claims = StandardClaims;
