//! Full validation cost, per algorithm, beside raw `jsonwebtoken` and the
//! signature-verification floor, on the same key, token and signing input.
//!
//! * `floor`: aws-lc-rs verification alone, public key parsed once
//!   (`ParsedPublicKey`) or HMAC key built once, signature pre-decoded.
//! * `jsonwebtoken`: what a hand-rolled service does: `decode_header`, a
//!   `kid` lookup in a two-key map of pre-built `DecodingKey`s, then
//!   `decode` with `iss`, `aud` and `exp` checks (aws-lc-rs backend).
//! * `tokengate`: `Validator::validate_token` with the same key set (two
//!   keys), issuer, audience and default checks.
//!
//! After the run, a table of each mean as a ratio to the floor is printed
//! (from criterion's own estimates).

use std::collections::HashMap;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use aws_lc_rs::{hmac, signature};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::Criterion;

mod common;
use serde_json::json;
use tokengate::{Algorithm, Issuer, KeySet, StandardClaims, Validator};
use tokengate_testkit::{SigningKey, now};

const ISS: &str = "https://login.example.com/tenant-42/v2.0";
const AUD: &str = "https://api.example.com";
const ALGORITHMS: [Algorithm; 5] =
    [Algorithm::HS256, Algorithm::RS256, Algorithm::PS256, Algorithm::ES256, Algorithm::EdDSA];

fn claims() -> serde_json::Value {
    let now = now();
    json!({
        "iss": ISS,
        "sub": "248289761001",
        "aud": [AUD, "https://other.example.com"],
        "exp": now + 3600,
        "nbf": now - 10,
        "iat": now - 10,
        "jti": "b6f0c1a2-3d4e-4f50-9a8b-7c6d5e4f3a21",
        "client_id": "s6BhdRkqt3",
        "scope": "openid profile email read:orders write:orders",
        "email": "jane.doe@example.com",
        "name": "Jane Doe",
        "roles": ["admin", "billing"],
        "tenant": "tenant-42",
        "auth_time": now - 120,
        "acr": "urn:mace:incommon:iap:silver"
    })
}

/// Polls a future that must complete without waiting (warm keys, no I/O).
fn ready<F: Future>(future: F) -> F::Output {
    match pin!(future).as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("validation with static keys must not wait"),
    }
}

/// Signature verification alone: `(signing input, signature) -> valid`.
type FloorVerify = Box<dyn Fn(&[u8], &[u8]) -> bool>;

struct Case {
    alg: Algorithm,
    token: String,
    validator: Validator,
    raw_keys: HashMap<String, jsonwebtoken::DecodingKey>,
    raw_validation: jsonwebtoken::Validation,
    floor: FloorVerify,
}

fn raw_decoding_key(key: &SigningKey) -> jsonwebtoken::DecodingKey {
    match key.public_jwk() {
        Some(jwk) => jsonwebtoken::DecodingKey::from_jwk(&serde_json::from_value(jwk).unwrap()).unwrap(),
        None => jsonwebtoken::DecodingKey::from_secret(key.secret().unwrap()),
    }
}

fn case(alg: Algorithm) -> Case {
    let key = SigningKey::generate(alg).with_kid("key-2");
    let other = SigningKey::generate(alg).with_kid("key-1");
    let token = key.token(&claims());
    let validator = Validator::builder()
        .issuer(
            Issuer::new(ISS)
                .audience(AUD)
                .algorithms([alg])
                .keys(KeySet::new([other.verification_key(), key.verification_key()])),
        )
        .build()
        .unwrap();

    let raw_keys =
        [&other, &key].iter().map(|k| (k.kid().unwrap().to_owned(), raw_decoding_key(k))).collect();
    let jwt_alg: jsonwebtoken::Algorithm = alg.name().parse().unwrap();
    let mut raw_validation = jsonwebtoken::Validation::new(jwt_alg);
    raw_validation.set_issuer(&[ISS]);
    raw_validation.set_audience(&[AUD]);
    raw_validation.set_required_spec_claims(&["exp", "iss", "aud"]);

    let floor: FloorVerify = match key.public_der() {
        None => {
            let hmac_key = hmac::Key::new(hmac::HMAC_SHA256, key.secret().unwrap());
            Box::new(move |msg, sig| hmac::verify(&hmac_key, msg, sig).is_ok())
        }
        Some(der) => {
            let algorithm: &'static dyn signature::VerificationAlgorithm = match alg {
                Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
                Algorithm::ES256 => &signature::ECDSA_P256_SHA256_FIXED,
                _ => &signature::ED25519,
            };
            let parsed = signature::ParsedPublicKey::new(algorithm, der).unwrap();
            Box::new(move |msg, sig| parsed.verify_sig(msg, sig).is_ok())
        }
    };
    Case { alg, token, validator, raw_keys, raw_validation, floor }
}

fn raw_jsonwebtoken(case: &Case, token: &str) -> jsonwebtoken::TokenData<StandardClaims> {
    let header = jsonwebtoken::decode_header(token).unwrap();
    let key = &case.raw_keys[header.kid.as_deref().unwrap()];
    jsonwebtoken::decode::<StandardClaims>(token, key, &case.raw_validation).unwrap()
}

fn bench(c: &mut Criterion) {
    // Explicit, as a careful user of raw jsonwebtoken must: its process-wide provider.
    let _ = jsonwebtoken::crypto::CryptoProvider::install_default(
        &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER,
    );
    for alg in ALGORITHMS {
        let case = case(alg);
        let (signing_input, signature) = case.token.rsplit_once('.').unwrap();
        let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
        assert!((case.floor)(signing_input.as_bytes(), &signature));
        assert!(ready(case.validator.validate_token::<StandardClaims>(&case.token)).is_ok());
        assert_eq!(raw_jsonwebtoken(&case, &case.token).claims.sub.as_deref(), Some("248289761001"));

        let mut group = c.benchmark_group(format!("validate-{}", case.alg));
        group.bench_function("floor", |b| {
            b.iter(|| assert!((case.floor)(black_box(signing_input.as_bytes()), black_box(&signature))))
        });
        group.bench_function("jsonwebtoken", |b| b.iter(|| raw_jsonwebtoken(&case, black_box(&case.token))));
        group.bench_function("tokengate", |b| {
            b.iter(|| ready(case.validator.validate_token::<StandardClaims>(black_box(&case.token))).unwrap())
        });
        group.finish();
    }
}

/// Prints each implementation's mean as a ratio to the floor, from the
/// estimates criterion just wrote.
fn print_ratios() {
    let mean = common::estimate;
    println!("\nratio to the signature floor (criterion's estimates; lower is better)");
    println!(
        "{:<8} {:>12} {:>14} {:>12} {:>14} {:>12}",
        "alg", "floor", "jsonwebtoken", "ratio", "tokengate", "ratio"
    );
    for alg in ALGORITHMS {
        let group = format!("validate-{alg}");
        let (Some(floor), Some(raw), Some(ours)) =
            (mean(&group, "floor"), mean(&group, "jsonwebtoken"), mean(&group, "tokengate"))
        else {
            continue;
        };
        println!(
            "{:<8} {:>10.2}µs {:>12.2}µs {:>11.2}× {:>12.2}µs {:>11.2}×",
            alg.name(),
            floor / 1e3,
            raw / 1e3,
            raw / floor,
            ours / 1e3,
            ours / floor
        );
    }
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion);
    criterion.final_summary();
    print_ratios();
}
