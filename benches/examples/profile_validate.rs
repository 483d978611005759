//! A fixed amount of validation work for instruction-level profiling:
//! `valgrind --tool=callgrind target/release/examples/profile_validate HS256 20000`
//! counts instructions, which stay the same whatever else the machine does.
//! A third argument `jsonwebtoken` runs raw `jsonwebtoken::decode` instead.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use serde_json::json;
use tokengate::{Algorithm, Issuer, KeySet, StandardClaims, Validator};
use tokengate_testkit::{SigningKey, now};

fn main() {
    let mut args = std::env::args().skip(1);
    let alg: Algorithm = args.next().as_deref().unwrap_or("HS256").parse().expect("an algorithm name");
    let iterations: u32 = args.next().as_deref().unwrap_or("10000").parse().expect("a count");
    let raw = args.next().as_deref() == Some("jsonwebtoken");
    let key = SigningKey::generate(alg).with_kid("key-2");
    let other = SigningKey::generate(alg).with_kid("key-1");
    let now = now();
    let token = key.token(&json!({
        "iss": "https://login.example.com/tenant-42/v2.0", "sub": "248289761001",
        "aud": ["https://api.example.com", "https://other.example.com"],
        "exp": now + 3600, "nbf": now - 10, "iat": now - 10,
        "jti": "b6f0c1a2-3d4e-4f50-9a8b-7c6d5e4f3a21", "client_id": "s6BhdRkqt3",
        "scope": "openid profile email read:orders write:orders",
        "email": "jane.doe@example.com", "name": "Jane Doe", "roles": ["admin", "billing"],
        "tenant": "tenant-42", "auth_time": now - 120, "acr": "urn:mace:incommon:iap:silver"
    }));
    let validator = Validator::builder()
        .issuer(
            Issuer::new("https://login.example.com/tenant-42/v2.0")
                .audience("https://api.example.com")
                .algorithms([alg])
                .keys(KeySet::new([other.verification_key(), key.verification_key()])),
        )
        .build()
        .expect("valid configuration");
    if raw {
        let _ = jsonwebtoken::crypto::CryptoProvider::install_default(
            &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER,
        );
        let decoding = match key.public_jwk() {
            Some(jwk) => jsonwebtoken::DecodingKey::from_jwk(&serde_json::from_value(jwk).unwrap()).unwrap(),
            None => jsonwebtoken::DecodingKey::from_secret(key.secret().unwrap()),
        };
        let keys = [("key-1".to_owned(), decoding.clone()), ("key-2".to_owned(), decoding)];
        let mut validation = jsonwebtoken::Validation::new(alg.name().parse().unwrap());
        validation.set_issuer(&["https://login.example.com/tenant-42/v2.0"]);
        validation.set_audience(&["https://api.example.com"]);
        for _ in 0..iterations {
            let header = jsonwebtoken::decode_header(&token).unwrap();
            let key = &keys.iter().find(|(kid, _)| Some(kid) == header.kid.as_ref()).unwrap().1;
            assert!(jsonwebtoken::decode::<StandardClaims>(&token, key, &validation).is_ok());
        }
        return;
    }
    for _ in 0..iterations {
        let future = pin!(validator.validate_token::<StandardClaims>(&token));
        match future.poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(result) => assert!(result.is_ok()),
            Poll::Pending => unreachable!("static keys never wait"),
        }
    }
}
