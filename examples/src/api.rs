//! The API every demo server protects: its route table, the shapes of its
//! answers, and the validator built from a [`Config`].

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokengate_core::dpop::Dpop;
use tokengate_core::{
    AlgorithmSet, DEFAULT_TOKEN_CACHE_BYTES, Error, Issuer, Revoke, RevokeError, ScopeRequirement, SingleUse,
    StandardClaims, TokenCache, Validator, Verified,
};
use tokengate_introspect::{IntrospectionPolicy, IntrospectionSource};
use tokengate_jwks::JwksSource;
use tokengate_redis::RedisStore;

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
/// The scope requirement of `/admin`, for either adapter's `RequireScopes`
/// extractor.
#[derive(Debug)]
pub struct AdminScope;

impl tokengate_core::ScopeSpec for AdminScope {
    const SCOPES: &'static [&'static str] = &[ADMIN_SCOPE];
}

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
}

/// The contract's route table.
pub const ROUTES: [Route; 6] = [
    Route { method: "GET", path: HEALTH, access: Access::Public },
    Route { method: "GET", path: METADATA, access: Access::Public },
    Route { method: "GET", path: ME, access: Access::AnyToken },
    Route { method: "GET", path: ADMIN, access: Access::Scope(ADMIN_SCOPE) },
    Route { method: "POST", path: TRANSFER, access: Access::SingleUse(TRANSFER_SCOPE) },
    Route { method: "POST", path: REVOKE, access: Access::Scope(ADMIN_SCOPE) },
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
pub fn resource_metadata(config: &Config, trusted: &Trusted, dpop: Option<&Dpop>) -> Value {
    let mut document = json!({
        "resource": config.resource.as_deref().unwrap_or(&trusted.audience),
        "authorization_servers": [trusted.issuer],
        "scopes_supported": SCOPES_SUPPORTED,
        "bearer_methods_supported": ["header"],
    });
    if let Some(dpop) = dpop {
        let algs: Vec<&str> = dpop.proof_algorithms().iter().map(|alg| alg.name()).collect();
        document["dpop_signing_alg_values_supported"] = json!(algs);
        document["dpop_bound_access_tokens_required"] = json!(false);
    }
    document
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
        // As configured, unclamped; the bounds apply to the issuer's `max-age`
        // (60 s – 1 day, as the contract says; the library's default is 1 h).
        .default_refresh_interval(config.jwks_refresh)
        .refresh_bounds(Duration::from_secs(60), Duration::from_secs(24 * 3600))
        .build()
        .map_err(|e| ConfigError(format!("key set: {e}")))
}

/// The introspection source of `TOKENGATE_INTROSPECTION_URL`, when set:
/// `client_secret_basic` with `TOKENGATE_CLIENT_ID`/`TOKENGATE_CLIENT_SECRET`,
/// answers reused for at most `TOKENGATE_INTROSPECTION_CACHE_SECS` (never
/// past their `exp`), a 5 s deadline, loopback `http://` with
/// `TOKENGATE_INSECURE_HTTP=1`.
pub fn introspection_source(config: &Config) -> Result<Option<IntrospectionSource>, ConfigError> {
    let Some(introspection) = &config.introspection else { return Ok(None) };
    IntrospectionSource::from_url(introspection.url.as_str())
        .client_secret_basic(&introspection.client_id, &introspection.client_secret)
        .allow_http_loopback(config.insecure_http || config.trust == Trust::Demo)
        .cache_max_age(introspection.cache)
        .build()
        .map(Some)
        .map_err(|e| ConfigError(format!("TOKENGATE_INTROSPECTION_URL: {e}")))
}

/// The validator for `config`, trusting `trusted` with keys from `keys`
/// (and, with `TOKENGATE_INTROSPECTION_URL`, introspecting its opaque
/// tokens — or every token with `TOKENGATE_INTROSPECT_ALL=1`);
/// with DPoP on, proofs name `public_url` followed by the request's path.
///
/// With `store` (`TOKENGATE_REDIS_URL`), single-use records and revocations
/// live in Redis, shared by every instance pointed at it; otherwise in memory.
pub fn validator(
    config: &Config,
    trusted: &Trusted,
    public_url: &str,
    keys: JwksSource,
    store: Option<RedisStore>,
) -> Result<Validator, ConfigError> {
    let mut issuer = Issuer::new(&trusted.issuer)
        .audience(&trusted.audience)
        .algorithms(config.algorithms)
        .leeway(config.leeway)
        .key_source(keys);
    if let Some(introspection) = introspection_source(config)? {
        issuer = issuer.introspection(introspection);
        if config.introspection.as_ref().is_some_and(|i| i.all_tokens) {
            issuer = issuer.introspect(IntrospectionPolicy::AllTokens);
        }
    }
    // Every 401 challenge names the RFC 9728 document (the contract's last section).
    let metadata_url = format!("{}{METADATA}", public_url.trim_end_matches('/'));
    let mut builder = Validator::builder().issuer(issuer).resource_metadata(metadata_url);
    match config.token_cache {
        Some(0) => builder = builder.token_cache(None),
        Some(entries) => {
            builder = builder.token_cache(Some(TokenCache::bounded(entries, DEFAULT_TOKEN_CACHE_BYTES)))
        }
        None => {}
    }
    if config.dpop {
        // Bound tokens need proofs; plain bearer tokens still pass (the contract's DPoP section).
        // Proofs take the asymmetric part of the configured allow-list (the
        // library's default when that part is empty).
        let proof_algorithms: AlgorithmSet =
            config.algorithms.iter().filter(|alg| !alg.is_symmetric()).collect();
        let mut dpop = Dpop::new(public_url).window(config.dpop_window);
        if !proof_algorithms.is_empty() {
            dpop = dpop.algorithms(proof_algorithms);
        }
        builder = builder.dpop(dpop);
    }
    let builder = match store {
        Some(store) => builder.stores(store),
        None => builder,
    };
    builder.build().map_err(|e| ConfigError(e.to_string()))
}

/// Connects to `TOKENGATE_REDIS_URL`, when set. Unreachable at start-up is a
/// configuration error (later outages are answered 503 until Redis returns).
pub async fn redis_store(config: &Config) -> Result<Option<RedisStore>, ConfigError> {
    let Some(urls) = &config.redis_url else { return Ok(None) };
    // One URL: a single node; several: the seeds of a cluster.
    let mut builder = RedisStore::builder_from_list(urls);
    if let Some(ca) = &config.redis_ca {
        builder = builder.ca_certificate_file(ca);
    }
    builder
        .connect()
        .await
        .map(Some)
        .map_err(|e| ConfigError(format!("TOKENGATE_REDIS_URL: Redis unreachable or unusable: {e}")))
}

/// The claims type the demos use.
pub type Claims = StandardClaims;

/// The longest-lived token `POST /transfer` accepts. Generous, because the
/// contract sets no cap; the replay store's capacity bounds memory anyway.
pub const TRANSFER_MAX_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// Why a demo handler refused a request, for the framework to render.
#[derive(Debug)]
pub enum Failure {
    /// A token refusal: rendered with [`Validator::refusal`] (status,
    /// `WWW-Authenticate`, JSON body), like every other refusal.
    Refused(Error),
    /// The request body is not what the route takes: 400 with
    /// [`Failure::body`], and no challenge (the token was fine).
    BadBody(&'static str),
}

impl Failure {
    /// The JSON body of a [`Failure::BadBody`].
    pub fn body(description: &str) -> Value {
        json!({ "error": "invalid_request", "error_description": description })
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure::Refused(error)
    }
}

/// `POST /transfer`: a token granting `transfer`, with a `jti`, usable once
/// (on every instance sharing the replay store) until it expires.
pub async fn transfer(validator: &Validator, verified: &Verified<Claims>) -> Result<Value, Failure> {
    verified.require(&ScopeRequirement::scope(TRANSFER_SCOPE))?;
    validator.use_once(verified, &SingleUse::new().max_lifetime(TRANSFER_MAX_LIFETIME)).await?;
    Ok(json!({ "ok": true, "jti": verified.token_id() }))
}

/// The body of `POST /admin/revoke`: exactly one of `jti` and `sub`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeBody {
    jti: Option<String>,
    sub: Option<String>,
}

/// `POST /admin/revoke`: a token granting `admin`; the JSON body names a
/// `jti` (that token is refused from now on) or a `sub` (its tokens issued
/// at or before now are), on every instance sharing the revocation store.
pub async fn revoke(
    validator: &Validator,
    verified: &Verified<Claims>,
    body: &[u8],
) -> Result<Value, Failure> {
    verified.require(&ScopeRequirement::scope(ADMIN_SCOPE))?;
    const EXPECTED: &str =
        r#"the body must be a JSON object with exactly one of "jti" or "sub", a non-empty string"#;
    let body: RevokeBody = serde_json::from_slice(body).map_err(|_| Failure::BadBody(EXPECTED))?;
    let (revocation, answer) = match (body.jti, body.sub) {
        (Some(jti), None) if !jti.is_empty() => (Revoke::token_id(&jti), json!({ "ok": true, "jti": jti })),
        (None, Some(sub)) if !sub.is_empty() => (Revoke::subject(&sub), json!({ "ok": true, "sub": sub })),
        _ => return Err(Failure::BadBody(EXPECTED)),
    };
    validator.revoke(&revocation).await.map_err(|error| match error {
        // The store could not record it: 503, like any store outage.
        RevokeError::Store(_) => Failure::Refused(Error::StoreUnavailable {
            retry_after: error.retry_after().unwrap_or(Duration::from_secs(1)),
        }),
        // The demo trusts exactly one issuer, so it never has to name one;
        // a validator trusting several would take it from the request.
        _ => Failure::Refused(Error::UntrustedIssuer),
    })?;
    Ok(answer)
}
