//! The request, inner service and validator shared by `benches/tower_layer.rs`
//! and `examples/profile_adapter.rs`: one token of `alg`, one issuer, the
//! verified-token cache on (the default).

use std::convert::Infallible;
use std::hint::black_box;
use std::task::{Context, Poll};

use http::{Request, Response};
use serde_json::json;
use tokengate::{Algorithm, Issuer, KeySet, StandardClaims, Validator, Verified};
use tokengate_testkit::{SigningKey, now};
use tower_service::Service;

use super::peers::ready;

const ISS: &str = "https://login.example.com/tenant-42/v2.0";
const AUD: &str = "https://api.example.com";

/// A validator trusting one issuer, and an `Authorization` value it accepts.
pub fn case(alg: Algorithm) -> (Validator, String) {
    let key = SigningKey::generate(alg).with_kid("k1");
    let validator = Validator::builder()
        .issuer(Issuer::new(ISS).audience(AUD).algorithms([alg]).keys(KeySet::new([key.verification_key()])))
        .build()
        .unwrap();
    let token = key.token(&json!({
        "iss": ISS, "aud": AUD, "sub": "248289761001", "client_id": "app",
        "scope": "orders:read orders:write", "iat": now(), "exp": now() + 3600,
    }));
    (validator, format!("Bearer {token}"))
}

/// `GET /orders/42`, with `authorization` when given.
pub fn request(authorization: Option<&str>) -> Request<()> {
    let mut builder = Request::get("https://api.example.com/orders/42").header("accept", "application/json");
    if let Some(value) = authorization {
        builder = builder.header("authorization", value);
    }
    builder.body(()).unwrap()
}

/// The inner service: reads the verified subject, answers an empty body.
#[derive(Clone)]
pub struct Inner;

impl Service<Request<()>> for Inner {
    type Response = Response<String>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Response<String>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<()>) -> Self::Future {
        black_box(request.extensions().get::<Verified<StandardClaims>>().map(|v| v.subject().is_some()));
        std::future::ready(Ok(Response::new(String::new())))
    }
}

/// One request through `service`; its status.
pub fn call<S: Service<Request<()>, Response = Response<String>>>(
    service: &mut S,
    request: Request<()>,
) -> u16
where
    S::Error: std::fmt::Debug,
{
    ready(std::future::poll_fn(|cx| service.poll_ready(cx))).unwrap();
    ready(service.call(request)).unwrap().status().as_u16()
}
