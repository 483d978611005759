//! The comparison servers of `benches/load.sh`, each serving `GET /me` with
//! the demo servers' JSON shape (`{"sub", "iss", "client_id", "scopes",
//! "jti", "exp"}`) on loopback:
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

use serde::{Deserialize, Serialize};

/// The body of `GET /me`, as the demo servers answer it.
#[derive(Clone, Debug, Serialize)]
struct Me {
    sub: Option<String>,
    iss: Option<String>,
    client_id: Option<String>,
    scopes: Vec<String>,
    jti: Option<String>,
    exp: Option<u64>,
}

impl Me {
    fn fixed() -> Me {
        Me {
            sub: Some("demo-user".into()),
            iss: Some("http://127.0.0.1".into()),
            client_id: Some("demo-client".into()),
            scopes: vec!["profile".into()],
            jti: None,
            exp: Some(4_000_000_000),
        }
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

fn announce(addr: SocketAddr) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening on http://{addr}");
    let _ = out.flush();
}

async fn open(addr: SocketAddr) -> std::io::Result<()> {
    use axum::routing::get;
    let app = axum::Router::new().route("/me", get(|| async { axum::Json(Me::fixed()) }));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    announce(listener.local_addr()?);
    axum::serve(listener, app).await
}

async fn open_axum07(addr: SocketAddr) -> std::io::Result<()> {
    use axum07::routing::get;
    let app = axum07::Router::new().route("/me", get(|| async { axum07::Json(Me::fixed()) }));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    announce(listener.local_addr()?);
    axum07::serve(listener, app).await
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
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| e.to_string())?;
    announce(listener.local_addr().map_err(|e| e.to_string())?);
    axum07::serve(listener, app).await.map_err(|e| e.to_string())
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
        axum::Json(Me {
            sub: token.subject().map(str::to_owned),
            iss: token.issuer().map(str::to_owned),
            client_id: token.client_id().map(str::to_owned),
            scopes: token.scopes().iter().map(str::to_owned).collect(),
            jti: token.token_id().map(str::to_owned),
            exp: token.expires_at(),
        })
    }

    let keys = JwksSource::from_url(jwks_url).allow_http_loopback(true).build().map_err(|e| e.to_string())?;
    let validator = Validator::builder()
        .issuer(Issuer::new(issuer).audience(audience).algorithms([Algorithm::ES256]).key_source(keys))
        .build()
        .map_err(|e| e.to_string())?;
    let app = axum::Router::new().route("/me", get(me)).layer(TokenLayer::new(validator));
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| e.to_string())?;
    announce(listener.local_addr().map_err(|e| e.to_string())?);
    axum::serve(listener, app).await.map_err(|e| e.to_string())
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
        ("open", []) => open(addr).await.map_err(|e| e.to_string()),
        ("open-axum07", []) => open_axum07(addr).await.map_err(|e| e.to_string()),
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
