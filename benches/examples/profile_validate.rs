//! A fixed amount of validation work for instruction-level profiling:
//! `valgrind --tool=callgrind --toggle-collect='*measured*' target/release/examples/profile_validate HS256 2000`
//! counts instructions, which stay the same whatever else the machine does.
//! A third argument `jsonwebtoken` runs raw `jsonwebtoken::decode` instead,
//! `floor` the bare aws-lc-rs signature check over the same signing input,
//! `cached` tokengate with its verified-token cache (a hit after the first);
//! without one, tokengate with the cache off (a full validation each time).

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
    let mode = args.next().unwrap_or_default();
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
        .token_cache((mode == "cached").then(tokengate::TokenCache::new))
        .build()
        .expect("valid configuration");
    if mode == "floor" {
        use aws_lc_rs::{hmac, signature};
        use base64::Engine as _;
        let (signing_input, sig) = token.rsplit_once('.').unwrap();
        let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(sig).unwrap();
        let verify: Box<dyn Fn() -> bool> = match key.public_der() {
            None => {
                let hmac_key = hmac::Key::new(hmac::HMAC_SHA256, key.secret().unwrap());
                Box::new(move || hmac::verify(&hmac_key, signing_input.as_bytes(), &sig).is_ok())
            }
            Some(der) => {
                let algorithm: &'static dyn signature::VerificationAlgorithm = match alg {
                    Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                    Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
                    Algorithm::ES256 => &signature::ECDSA_P256_SHA256_FIXED,
                    Algorithm::EdDSA => &signature::ED25519,
                    other => panic!("no floor for {other} here"),
                };
                let parsed = signature::ParsedPublicKey::new(algorithm, der).unwrap();
                Box::new(move || parsed.verify_sig(signing_input.as_bytes(), &sig).is_ok())
            }
        };
        measured(iterations, &|| assert!(verify()));
        return;
    }
    if mode == "jsonwebtoken" {
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
        measured(iterations, &|| {
            let header = jsonwebtoken::decode_header(&token).unwrap();
            let key = &keys.iter().find(|(kid, _)| Some(kid) == header.kid.as_ref()).unwrap().1;
            assert!(jsonwebtoken::decode::<StandardClaims>(&token, key, &validation).is_ok());
        });
        return;
    }
    measured(iterations, &|| {
        let future = pin!(validator.validate_token::<StandardClaims>(&token));
        match future.poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(result) => assert!(result.is_ok()),
            Poll::Pending => unreachable!("static keys never wait"),
        }
    });
}

/// The measured loop; profile only this with
/// `valgrind --tool=callgrind --toggle-collect='*measured*' ...`.
#[inline(never)]
fn measured(iterations: u32, work: &dyn Fn()) {
    for _ in 0..iterations {
        work();
    }
}
