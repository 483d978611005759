//! tokengate called directly from a hand-written server, without any
//! framework adapter: a bare hyper HTTP/1 service that validates each
//! request with [`Validator::validate_request`] and renders refusals from
//! [`Validator::refusal`].
//!
//! ```sh
//! cargo run --example custom_server     # prints a token and a curl line, then serves one port
//! ```

use std::convert::Infallible;

use http::{Request, Response};
use serde_json::json;
use tokengate::{Algorithm, Issuer, KeySet, StandardClaims, Validator};
use tokengate_testkit::{SigningKey, now};

/// The whole integration: validate, then answer or refuse.
async fn handle(
    validator: Validator,
    request: Request<hyper::body::Incoming>,
) -> Result<Response<String>, Infallible> {
    match validator.validate_request::<StandardClaims, _>(&request).await {
        Ok(verified) => Ok(Response::new(format!("hello {}\n", verified.subject().unwrap_or("?")))),
        // Status, `WWW-Authenticate`, `Retry-After` and the JSON body, as every adapter answers.
        Err(error) => Ok(validator.refusal(&error).into_response()),
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    // A local key stands in for your identity provider's.
    let key = SigningKey::generate(Algorithm::ES256).with_kid("demo");
    let validator = Validator::builder()
        .issuer(
            Issuer::new("https://issuer.example/")
                .audience("custom-api")
                .algorithms([Algorithm::ES256])
                .keys(KeySet::new([key.verification_key()])),
        )
        .build()
        .expect("a valid configuration");
    let token = key.token(&json!({
        "iss": "https://issuer.example/", "aud": "custom-api", "sub": "alice", "exp": now() + 3600,
    }));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("listening on http://{}", listener.local_addr()?);
    println!("curl -i -H 'Authorization: Bearer {token}' http://{}/", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let validator = validator.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| handle(validator.clone(), request));
            let io = hyper_util::rt::TokioIo::new(stream);
            if let Err(error) = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await
            {
                eprintln!("connection error: {error}");
            }
        });
    }
}
