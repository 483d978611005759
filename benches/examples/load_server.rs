//! The comparison servers of `benches/load.sh`, each serving `GET /me` on
//! loopback with the demo servers' own answer type
//! (`tokengate_examples::api::Me`: `{"sub", "iss", "client_id", "scopes",
//! "jti", "exp"}`):
//!
//! ```sh
//! load_server open ADDR                                   # no token check (axum 0.8, as the demo)
//! load_server open-axum07 ADDR                            # no token check (axum 0.7, as jwt-authorizer)
//! load_server jwt-authorizer ADDR JWKS_URL ISSUER AUDIENCE  # jwt-authorizer 0.15 (axum 0.7)
//! load_server tokengate ADDR JWKS_URL ISSUER AUDIENCE     # tokengate's Tower layer alone (axum 0.8)
//! ```
//!
//! The `tokengate` variant is the library without the demo around it: one
//! route, one layer, the cache on (the default), so that the load test can
//! tell the library's cost from the demo's.
//!
//! Each prints `listening on http://ADDR` (as bound; port 0 picks one) once
//! it accepts connections, and serves until killed. The unprotected servers
//! answer fixed values of the same shape.

use std::net::SocketAddr;
use std::process::ExitCode;

use serde::Deserialize;
use tokengate_examples::api::Me;

/// What the unprotected servers answer: fixed values in the demo's own
/// `/me` shape.
fn fixed_me() -> Me {
    Me {
        sub: Some("demo-user".into()),
        iss: Some("http://127.0.0.1".into()),
        client_id: Some("demo-client".into()),
        scopes: vec!["profile".into()],
        jti: None,
        exp: Some(4_000_000_000),
    }
}

/// The claims jwt-authorizer deserializes for `/me`.
#[derive(Clone, Debug, Deserialize)]
struct Claims {
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    jti: Option<String>,
    #[serde(default)]
    exp: Option<u64>,
}

/// Binds `addr`, prints `listening on http://ADDR` once it accepts
/// connections, and serves `app` (axum 0.8).
async fn serve(addr: SocketAddr, app: axum::Router) -> Result<(), String> {
    let listener = bind(addr).await?;
    axum::serve(listener, app).await.map_err(|e| e.to_string())
}

/// The same on axum 0.7.
async fn serve07(addr: SocketAddr, app: axum07::Router) -> Result<(), String> {
    let listener = bind(addr).await?;
    axum07::serve(listener, app).await.map_err(|e| e.to_string())
}

async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, String> {
    use std::io::Write as _;
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| e.to_string())?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening on http://{bound}");
    let _ = out.flush();
    Ok(listener)
}

async fn jwt_authorizer(
    addr: SocketAddr,
    jwks_url: &str,
    issuer: &str,
    audience: &str,
) -> Result<(), String> {
    use axum07::routing::get;
    use jwt_authorizer::{IntoLayer as _, JwtAuthorizer, JwtClaims, Validation};

    async fn me(JwtClaims(claims): JwtClaims<Claims>) -> axum07::Json<Me> {
        let mut scopes: Vec<String> =
            claims.scope.as_deref().unwrap_or_default().split_whitespace().map(str::to_owned).collect();
        scopes.sort();
        axum07::Json(Me {
            sub: claims.sub,
            iss: claims.iss,
            client_id: claims.client_id,
            scopes,
            jti: claims.jti,
            exp: claims.exp,
        })
    }

    let authorizer = JwtAuthorizer::<Claims>::from_jwks_url(jwks_url)
        .validation(Validation::new().iss(&[issuer]).aud(&[audience]))
        .build()
        .await
        .map_err(|e| format!("jwt-authorizer: {e}"))?;
    let app = axum07::Router::new().route("/me", get(me)).layer(authorizer.into_layer());
    serve07(addr, app).await
}

async fn tokengate_alone(
    addr: SocketAddr,
    jwks_url: &str,
    issuer: &str,
    audience: &str,
) -> Result<(), String> {
    use axum::routing::get;
    use tokengate::jwks::JwksSource;
    use tokengate::{Algorithm, Issuer, StandardClaims, Validator};
    use tokengate_tower::TokenLayer;
    use tokengate_tower::axum::Auth;

    async fn me(Auth(token): Auth<StandardClaims>) -> axum::Json<Me> {
        axum::Json(Me::of(&token))
    }

    let keys = JwksSource::from_url(jwks_url).allow_http_loopback(true).build().map_err(|e| e.to_string())?;
    let validator = Validator::builder()
        .issuer(Issuer::new(issuer).audience(audience).algorithms([Algorithm::ES256]).key_source(keys))
        .build()
        .map_err(|e| e.to_string())?;
    let app = axum::Router::new().route("/me", get(me)).layer(TokenLayer::new(validator));
    serve(addr, app).await
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: load_server open|open-axum07 ADDR | load_server jwt-authorizer|tokengate ADDR JWKS_URL ISSUER AUDIENCE";
    let Some(addr) = args.get(1).and_then(|a| a.parse::<SocketAddr>().ok()) else {
        eprintln!("{usage}");
        return ExitCode::from(2);
    };
    if !addr.ip().is_loopback() {
        eprintln!("load_server listens on loopback only");
        return ExitCode::from(2);
    }
    let result = match (args[0].as_str(), &args[2..]) {
        ("open", []) => {
            let me = axum::routing::get(|| async { axum::Json(fixed_me()) });
            serve(addr, axum::Router::new().route("/me", me)).await
        }
        ("open-axum07", []) => {
            let me = axum07::routing::get(|| async { axum07::Json(fixed_me()) });
            serve07(addr, axum07::Router::new().route("/me", me)).await
        }
        ("jwt-authorizer", [jwks_url, issuer, audience]) => {
            jwt_authorizer(addr, jwks_url, issuer, audience).await
        }
        ("tokengate", [jwks_url, issuer, audience]) => {
            tokengate_alone(addr, jwks_url, issuer, audience).await
        }
        _ => {
            eprintln!("{usage}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}
